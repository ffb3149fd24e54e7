/* SPDX-License-Identifier: MIT */
/* Lock kind etcd: one of K slots of a fleet-wide semaphore on etcd v3,
 * through its JSON gateway (doc/runbook.md, lock kind etcd).
 *
 * Slot I of group G is the key PREFIX G "/slot-" I (PREFIX defaults to
 * /gate/locks/).  take grants a lease of `ttl`, then tries slot 0, 1, ...
 * K-1, each in a transaction that creates the key, holding the holder
 * (hold_who_json) and attached to the lease, only if it does not exist;
 * the first that succeeds is ours.  While the command runs the core calls
 * keepalive every ttl/3; a host that dies stops renewing and etcd deletes
 * the slot when the lease expires (after the TTL, doc/facts.md).  All
 * slots taken: the lease is revoked and the answer is busy, naming every
 * holder.  release deletes the key only while it is still ours (a
 * transaction comparing its lease) and revokes the lease.
 *
 * The pure half (bodies, answers) is holds/etcd_v3.c; the HTTP, the
 * endpoints, TLS and the login, holds/etcd_client.c; force_release,
 * holds/lock_etcd_force.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "checks/http_fetch.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"
#include "lock_etcd.h"

static const struct gate_param etcd_params[] = {
	{"etcd", GATE_P_STRING_LIST, GATE_PF_REQUIRED, NULL, NULL,
         "etcd v3 client URLs (http://127.0.0.1:2379), tried in order until one answers"},
	{"group", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "the semaphore: runbooks (on any host) naming the same group share its slots"},
	{"slots", GATE_P_INT, 0, "1", NULL, "how many may hold the group at once (1 to 1000)"},
	{"ttl", GATE_P_DURATION, 0, "30s", NULL,
         "the lease's time to live, renewed every ttl/3 while the command runs: a holder "
         "that dies frees its slot after it (2s to 24h, whole seconds)"},
	{"prefix", GATE_P_STRING, 0, ETCD_DEFAULT_PREFIX, NULL,
         "where the groups live: slot I of group G is the key PREFIX G/slot-I"},
	{"ca_file", GATE_P_STRING, 0, NULL, NULL,
         "PEM CA certificates for https endpoints (default: the system's)"},
	{"cert_file", GATE_P_STRING, 0, NULL, NULL, "PEM client certificate for https endpoints"},
	{"key_file", GATE_P_STRING, 0, NULL, NULL, "the client certificate's private key"},
	{"user", GATE_P_STRING, 0, NULL, NULL, "etcd user to log in as (etcd auth enabled)"},
	{"password", GATE_P_STRING, GATE_PF_SECRET, NULL, NULL, "that user's password"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static int bad(const char **param, const char *name, char *msg, size_t msglen, const char *why)
{
	*param = name;
	snprintf(msg, msglen, "%s", why);
	return -1;
}

static int group_ok(const char *g)
{
	return g && *g && strlen(g) <= 128 &&
	       strspn(g, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	               strlen(g);
}

static int etcd_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	json_t *urls = json_object_get(params, "etcd"), *u;
	size_t i;
	if (!json_array_size(urls))
		return bad(param, "etcd", msg, msglen, "needs at least one URL");
	json_array_foreach(urls, i, u) {
		if (!http_url_scheme_ok(json_string_value(u)))
			return bad(param, "etcd", msg, msglen,
			           "each URL must start with http:// or https://");
	}
	if (!group_ok(gate_param_str(params, "group")))
		return bad(param, "group", msg, msglen,
		           "must be 1 to 128 letters, digits, '.', '_' or '-'");
	int64_t slots = gate_param_int(params, "slots", 1);
	if (slots < 1 || slots > 1000)
		return bad(param, "slots", msg, msglen, "must be 1 to 1000");
	int64_t ttl = gate_param_int(params, "ttl", ETCD_DEFAULT_TTL_MS);
	if (ttl < 2000 || ttl > 24 * 3600 * 1000)
		return bad(param, "ttl", msg, msglen, "must be 2s to 24h");
	const char *prefix = gate_param_str(params, "prefix");
	if (prefix && (prefix[0] != '/' || prefix[strlen(prefix) - 1] != '/'))
		return bad(param, "prefix", msg, msglen, "must start and end with '/'");
	if (gate_param_given(params, "key_file") && !gate_param_given(params, "cert_file"))
		return bad(param, "key_file", msg, msglen, "needs cert_file");
	if (gate_param_given(params, "user") != gate_param_given(params, "password"))
		return bad(param, gate_param_given(params, "user") ? "user" : "password", msg,
		           msglen, "user and password go together");
	return 0;
}

void etcd_cfg_read(const json_t *params, struct etcd_lock_cfg *cfg)
{
	const char *prefix = gate_param_str(params, "prefix");
	cfg->group = gate_param_str(params, "group");
	if (!cfg->group)
		cfg->group = "";
	cfg->group_prefix = xasprintf("%s%s/", prefix ? prefix : ETCD_DEFAULT_PREFIX, cfg->group);
	cfg->slots = (long)gate_param_int(params, "slots", 1);
	cfg->ttl_s = (gate_param_int(params, "ttl", ETCD_DEFAULT_TTL_MS) + 999) / 1000;
}

void etcd_cfg_release(struct etcd_lock_cfg *cfg)
{
	free(cfg->group_prefix);
	cfg->group_prefix = NULL;
}

char *etcd_slot_key(const struct etcd_lock_cfg *cfg, long i)
{
	return xasprintf("%sslot-%ld", cfg->group_prefix, i);
}

/* One call whose answer must be a 200: -1 with err otherwise. */
static int call_ok(struct etcd_client *c, const char *path, json_t *body, int64_t deadline_ms,
                   json_t **doc, char *err, size_t errlen)
{
	int code;
	enum etcd_call_result r = etcd_call(c, path, body, deadline_ms, doc, &code, err, errlen);
	json_decref(body);
	return r == ETCD_CALL_OK ? 0 : -1;
}

int etcd_revoke(struct etcd_client *c, int64_t lease, int64_t deadline_ms, char *err, size_t errlen)
{
	json_t *body = etcd_req_lease(lease, 0), *doc = NULL;
	int code = 0;
	enum etcd_call_result r = etcd_call(c, "/v3/lease/revoke", body, deadline_ms, &doc, &code,
	                                    err, errlen);
	json_decref(body);
	if (r == ETCD_CALL_OK && !etcd_has_header(doc)) {
		snprintf(err, errlen, "lease revoke: not an etcd answer");
		r = ETCD_CALL_FAILED;
	}
	json_decref(doc);
	if (r == ETCD_CALL_REFUSED && code == ETCD_CODE_NOT_FOUND)
		return 1;
	return r == ETCD_CALL_OK ? 0 : -1;
}

int etcd_read_slots(struct etcd_client *c, const struct etcd_lock_cfg *cfg, int64_t deadline_ms,
                    struct etcd_kv **held, char *err, size_t errlen)
{
	json_t *doc = NULL;
	struct etcd_kv *kvs = NULL;
	size_t n = 0;
	*held = NULL;
	if (call_ok(c, "/v3/kv/range", etcd_req_range_prefix(cfg->group_prefix), deadline_ms, &doc,
	            err, errlen) < 0)
		return -1;
	int ret = etcd_parse_range(doc, &kvs, &n, err, errlen);
	json_decref(doc);
	if (ret < 0)
		return -1;
	*held = xcalloc((size_t)cfg->slots, sizeof(**held));
	for (size_t i = 0; i < n; i++) {
		long s = etcd_slot_of(kvs[i].key, cfg->group_prefix);
		/* Other keys, and slots beyond `slots` (a group that had more),
		 * stand in nobody's way: take never tries them. */
		if (s < 0 || s >= cfg->slots)
			continue;
		(*held)[s] = kvs[i];
		memset(&kvs[i], 0, sizeof(kvs[i]));
	}
	etcd_kvs_free(kvs, n);
	return 0;
}

/* ---- take ---- */

struct etcd_hold {
	struct etcd_client c;
	char *key;
	long slot;
	int64_t lease;
	int64_t ttl_ms;     /* as granted */
	int64_t every_ms;   /* keepalive interval */
	int64_t last_ok_ms; /* the last renewal etcd confirmed (monotonic) */
};

static void hold_free(struct etcd_hold *h)
{
	if (!h)
		return;
	etcd_client_release(&h->c);
	free(h->key);
	free(h);
}

/* "cannot STEP: WHY" */
static void res_error(struct hold_result *res, const char *step, const char *why)
{
	res->state = HOLD_ERROR;
	res->message = xasprintf("cannot %s: %s", step, why);
}

/* "slots K of K taken: A; B" and the holders for the details. */
static void res_busy(struct hold_result *res, const struct etcd_lock_cfg *cfg,
                     const struct etcd_kv *held)
{
	struct strbuf sb = {0};
	json_t *list = json_array();
	res->state = HOLD_BUSY;
	for (long i = 0; i < cfg->slots; i++) {
		char *t = etcd_holder_text(&held[i]);
		strbuf_addf(&sb, "%s%s", i ? "; " : "", t);
		json_array_append_new(list,
		                      json_pack("{s:I, s:s}", "slot", (json_int_t)i, "holder", t));
		if (!i)
			res->holder = t;
		else
			free(t);
	}
	res->message = xasprintf("slots %ld of %ld taken: %s", cfg->slots, cfg->slots, sb.buf);
	/* The core shows the holder; with several, it names them all. */
	if (cfg->slots > 1) {
		free(res->holder);
		res->holder = xstrdup(res->message);
	}
	res->details = json_pack("{s:s, s:I, s:o}", "group", cfg->group, "slots",
	                         (json_int_t)cfg->slots, "holders", list);
	strbuf_release(&sb);
}

static int grant(struct etcd_hold *h, int64_t ttl_s, int64_t deadline_ms, char *err, size_t errlen)
{
	json_t *doc = NULL;
	int64_t ttl = 0;
	if (call_ok(&h->c, "/v3/lease/grant", etcd_req_grant(ttl_s), deadline_ms, &doc, err,
	            errlen) < 0)
		return -1;
	int ret = etcd_parse_grant(doc, &h->lease, &ttl, err, errlen);
	json_decref(doc);
	h->ttl_ms = ttl * 1000;
	/* etcd may grant more than asked (its minimum): renew by what it gave. */
	h->every_ms = h->ttl_ms / 3;
	return ret;
}

/* Try to create slot i for h's lease. */
static enum etcd_txn_outcome try_slot(struct etcd_hold *h, const char *key, const char *value,
                                      int64_t deadline_ms, struct etcd_kv *holder, char *err,
                                      size_t errlen)
{
	json_t *doc = NULL;
	if (call_ok(&h->c, "/v3/kv/txn", etcd_req_create(key, value, h->lease), deadline_ms, &doc,
	            err, errlen) < 0)
		return ETCD_TXN_ERROR;
	enum etcd_txn_outcome r = etcd_parse_create(doc, h->lease, holder, err, errlen);
	json_decref(doc);
	return r;
}

static void res_taken(struct hold_result *res, const struct etcd_lock_cfg *cfg,
                      const struct etcd_hold *h)
{
	char lease[32];
	snprintf(lease, sizeof(lease), "%lld", (long long)h->lease);
	res->state = HOLD_TAKEN;
	res->message = xasprintf("slot %ld of %ld of group %s (key %s)", h->slot + 1, cfg->slots,
	                         cfg->group, h->key);
	res->details = json_pack("{s:s, s:I, s:I, s:s, s:s, s:I}", "group", cfg->group, "slot",
	                         (json_int_t)h->slot, "slots", (json_int_t)cfg->slots, "key",
	                         h->key, "lease", lease, "ttl_s", (json_int_t)(h->ttl_ms / 1000));
}

/* Undoing a failed take may run a little past the take's deadline (one
 * that hung on etcd has none left): at most ETCD_CLEANUP_MS. */
static int64_t cleanup_deadline(int64_t deadline_ms)
{
	int64_t floor = gate_mono_ms() + ETCD_CLEANUP_MS;
	return deadline_ms > floor ? deadline_ms : floor;
}

/* Slot after slot; 1 when one was won (h->slot, h->key), 0 when all are
 * taken (held[] names the holders), -1 with err. */
static int take_first_free(struct etcd_hold *h, const struct etcd_lock_cfg *cfg, const char *value,
                           int64_t deadline_ms, struct etcd_kv *held, char *err, size_t errlen)
{
	for (long i = 0; i < cfg->slots; i++) {
		char *key = etcd_slot_key(cfg, i);
		enum etcd_txn_outcome r = try_slot(h, key, value, deadline_ms, &held[i], err,
		                                   errlen);
		if (r == ETCD_TXN_WON) {
			h->key = key;
			h->slot = i;
			return 1;
		}
		free(key);
		if (r == ETCD_TXN_ERROR)
			return -1;
	}
	return 0;
}

static void etcd_take(const json_t *params, const struct hold_who *who, int64_t deadline_ms,
                      void **handle, struct hold_result *res)
{
	struct etcd_lock_cfg cfg;
	struct etcd_hold *h = xcalloc(1, sizeof(*h));
	char err[1024] = "";
	etcd_cfg_read(params, &cfg);
	etcd_client_init(&h->c, params);
	*handle = NULL;
	if (grant(h, cfg.ttl_s, deadline_ms, err, sizeof(err)) < 0) {
		res_error(res, "grant a lease", err);
		goto out;
	}
	json_t *who_j = hold_who_json(who);
	char *value = json_dumps(who_j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(who_j);
	struct etcd_kv *held = xcalloc((size_t)cfg.slots, sizeof(*held));
	int won = take_first_free(h, &cfg, value, deadline_ms, held, err, sizeof(err));
	free(value);
	if (won > 0) {
		h->last_ok_ms = gate_mono_ms();
		res_taken(res, &cfg, h);
		*handle = h;
		h = NULL;
	} else {
		if (won < 0)
			res_error(res, "take a slot", err);
		else
			res_busy(res, &cfg, held);
		/* Nothing of ours may stay: the lease goes (and with it a slot
		 * whose answer was lost); if etcd cannot be told, it expires. */
		etcd_revoke(&h->c, h->lease, cleanup_deadline(deadline_ms), err, sizeof(err));
	}
	etcd_kvs_free(held, (size_t)cfg.slots);
out:
	hold_free(h);
	etcd_cfg_release(&cfg);
}

/* ---- probe ---- */

static void etcd_probe(const json_t *params, int64_t deadline_ms, struct hold_result *res)
{
	struct etcd_lock_cfg cfg;
	struct etcd_client c;
	struct etcd_kv *held = NULL;
	char err[1024] = "";
	etcd_cfg_read(params, &cfg);
	etcd_client_init(&c, params);
	if (etcd_read_slots(&c, &cfg, deadline_ms, &held, err, sizeof(err)) < 0) {
		res_error(res, "read the slots", err);
		goto out;
	}
	long taken = 0;
	for (long i = 0; i < cfg.slots; i++)
		taken += held[i].key != NULL;
	if (taken == cfg.slots) {
		res_busy(res, &cfg, held);
		goto out;
	}
	struct strbuf sb = {0};
	json_t *list = json_array();
	for (long i = 0; i < cfg.slots; i++) {
		if (!held[i].key)
			continue;
		char *t = etcd_holder_text(&held[i]);
		strbuf_addf(&sb, "%s%s", sb.len ? "; " : "", t);
		json_array_append_new(list,
		                      json_pack("{s:I, s:s}", "slot", (json_int_t)i, "holder", t));
		free(t);
	}
	res->state = HOLD_TAKEN;
	res->message = xasprintf("%ld of %ld slots of group %s free%s%s", cfg.slots - taken,
	                         cfg.slots, cfg.group, taken ? "; held by: " : "",
	                         taken ? sb.buf : "");
	res->details = json_pack("{s:s, s:I, s:I, s:o}", "group", cfg.group, "slots",
	                         (json_int_t)cfg.slots, "free", (json_int_t)(cfg.slots - taken),
	                         "holders", list);
	strbuf_release(&sb);
out:
	etcd_kvs_free(held, held ? (size_t)cfg.slots : 0);
	etcd_client_release(&c);
	etcd_cfg_release(&cfg);
}

/* ---- keepalive, release ---- */

static int64_t etcd_keepalive_ms(const json_t *params)
{
	return gate_param_int(params, "ttl", ETCD_DEFAULT_TTL_MS) / 3;
}

/* One renewal.  A renewal that fails is not yet a loss while the lease may
 * still live; it is one when the next renewal would come too late. */
static int etcd_keepalive(void *handle, char *msg, size_t msglen)
{
	struct etcd_hold *h = handle;
	int64_t now = gate_mono_ms(), ttl = 0;
	json_t *doc = NULL;
	char err[1024] = "";
	int r = call_ok(&h->c, "/v3/lease/keepalive", etcd_req_lease(h->lease, 0),
	                now + (h->every_ms > 1000 ? h->every_ms : 1000), &doc, err, sizeof(err));
	if (r == 0)
		r = etcd_parse_keepalive(doc, h->lease, &ttl, err, sizeof(err));
	json_decref(doc);
	if (r == 0) {
		h->last_ok_ms = gate_mono_ms();
		return 0;
	}
	if (r == 1) {
		snprintf(msg, msglen, "etcd slot %s lost: %s", h->key, err);
		return -1;
	}
	int64_t since = gate_mono_ms() - h->last_ok_ms;
	if (since + h->every_ms < h->ttl_ms)
		return 0;
	snprintf(msg, msglen,
	         "etcd slot %s may be lost: its lease was not renewed for %lld ms (ttl %lld s): "
	         "%s",
	         h->key, (long long)since, (long long)(h->ttl_ms / 1000), err);
	return -1;
}

static int etcd_release(void *handle, char *msg, size_t msglen)
{
	struct etcd_hold *h = handle;
	int64_t deadline = gate_mono_ms() + ETCD_RELEASE_MS, deleted = 0;
	json_t *doc = NULL;
	char err[1024] = "", rerr[1024] = "";
	int ret = 0;
	/* Only while it is ours: a slot lost and taken by another stays. */
	int d = call_ok(&h->c, "/v3/kv/txn", etcd_req_delete_if(h->key, h->lease, 0), deadline,
	                &doc, err, sizeof(err));
	if (d == 0)
		d = etcd_parse_delete(doc, &deleted, err, sizeof(err));
	json_decref(doc);
	int r = etcd_revoke(&h->c, h->lease, deadline, rerr, sizeof(rerr));
	if (r < 0) {
		snprintf(msg, msglen,
		         "cannot revoke the lease of %s (it expires within %lld s): %s", h->key,
		         (long long)(h->ttl_ms / 1000), rerr);
		ret = -1;
	} else if (r == 1 || (d == 0 && deleted == 0)) {
		snprintf(msg, msglen, "etcd slot %s was no longer ours when released (%s)", h->key,
		         r == 1 ? "its lease was gone: expired or revoked" : "it had been removed");
		ret = -1;
	}
	hold_free(h);
	return ret;
}

const struct lock_kind hold_lock_etcd = {
	.name = "etcd",
	.summary = "one of K slots of a fleet-wide semaphore on etcd v3, freed by its lease's "
		   "TTL when the holder dies",
	.params = etcd_params,
	.validate = etcd_validate,
	.take = etcd_take,
	.probe = etcd_probe,
	.keepalive_ms = etcd_keepalive_ms,
	.keepalive = etcd_keepalive,
	.release = etcd_release,
	.force_release = etcd_force_release,
};
