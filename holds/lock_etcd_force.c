/* SPDX-License-Identifier: MIT */
/* `gate lock release RUNBOOK --reason TEXT` for the etcd lock: remove the
 * group's stale slots (doc/runbook.md, lock kind etcd).
 *
 * A slot is removed only when this host can tell it is stale, or when the
 * operator names it; a live holder's slot is never removed otherwise:
 *   - its key has no lease (gate never writes one: nothing would free it);
 *   - its lease is gone (etcd is about to delete the key anyway);
 *   - its holder ran on this host (the value's host is our host name) and
 *     that pid no longer runs here;
 *   - the operator named it: params "force_slot": I (the I of slot-I).  It
 *     is not a runbook key (the loader refuses it): the core adds it for
 *     an operator who named the slot on the command line.
 * The key is deleted in a transaction that compares its mod_revision with
 * the one read, so a slot taken again in between stays; then its lease is
 * revoked when this key is the only one attached to it (a gate lease
 * holds exactly one), so the holder's keepalive learns it lost the slot. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit/alloc.h"
#include "kit/strbuf.h"
#include "lock_etcd.h"

/* Why slot kv is stale, or NULL when it may be live. */
static const char *stale_why(struct etcd_client *c, const struct etcd_kv *kv, int named,
                             int64_t deadline_ms, int64_t *lease_alone, char *err, size_t errlen)
{
	*lease_alone = 0;
	if (!kv->lease)
		return named ? "named by the operator" : "it has no lease";
	json_t *body = etcd_req_lease(kv->lease, 1), *doc = NULL;
	int code;
	enum etcd_call_result r = etcd_call(c, "/v3/lease/timetolive", body, deadline_ms, &doc,
	                                    &code, err, errlen);
	json_decref(body);
	int64_t ttl = 0;
	size_t nkeys = 0;
	int only = 0;
	if (r == ETCD_CALL_OK &&
	    etcd_parse_timetolive(doc, kv->key, &ttl, &nkeys, &only, err, errlen) == 0 && only)
		*lease_alone = kv->lease;
	json_decref(doc);
	if (named)
		return "named by the operator";
	if (r == ETCD_CALL_OK && ttl < 0)
		return "its lease is gone";
	char host[256] = "";
	const char *h = NULL;
	json_int_t pid = 0;
	json_t *who = json_loadb(kv->value, kv->value_len, 0, NULL);
	gethostname(host, sizeof(host) - 1);
	int mine = json_unpack(who, "{s:s, s:I}", "host", &h, "pid", &pid) == 0 && *host &&
	           !strcmp(h, host) && pid > 0 && pid <= 0x7fffffff;
	json_decref(who);
	if (mine && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return "its holder's pid no longer runs on this host";
	return NULL;
}

/* Delete kv while unchanged; revoke its lease when it holds only kv. */
static int remove_slot(struct etcd_client *c, const struct etcd_kv *kv, int64_t lease_alone,
                       int64_t deadline, char *err, size_t errlen)
{
	int64_t deleted = 0;
	json_t *body = etcd_req_delete_if(kv->key, 0, kv->mod_revision), *doc = NULL;
	int code;
	enum etcd_call_result r = etcd_call(c, "/v3/kv/txn", body, deadline, &doc, &code, err,
	                                    errlen);
	json_decref(body);
	int ret = r == ETCD_CALL_OK ? etcd_parse_delete(doc, &deleted, err, errlen) : -1;
	json_decref(doc);
	if (ret < 0)
		return -1;
	if (!deleted) {
		snprintf(err, errlen, "it changed while being released: left as it is");
		return -1;
	}
	if (lease_alone && etcd_revoke(c, lease_alone, deadline, err, errlen) < 0)
		return -1;
	return 0;
}

struct force_tally {
	struct strbuf done, kept;
	json_t *released, *live;
	char *first_live;
	int failed;
};

/* Judge and, when stale or named, remove slot i. */
static void force_one(struct etcd_client *c, const struct etcd_kv *kv, long i, int named,
                      int64_t deadline_ms, struct force_tally *t)
{
	char err[1024] = "";
	int64_t lease_alone;
	char *who = etcd_holder_text(kv);
	const char *why = stale_why(c, kv, named, deadline_ms, &lease_alone, err, sizeof(err));
	if (!why) {
		strbuf_addf(&t->kept, "%sslot-%ld held by %s", t->kept.len ? "; " : "", i, who);
		json_array_append_new(
			t->live, json_pack("{s:I, s:s}", "slot", (json_int_t)i, "holder", who));
		if (!t->first_live)
			t->first_live = xstrdup(who);
	} else if (remove_slot(c, kv, lease_alone, deadline_ms, err, sizeof(err)) < 0) {
		strbuf_addf(&t->done, "%sslot-%ld (%s) not released: %s", t->done.len ? "; " : "",
		            i, who, err);
		t->failed = 1;
	} else {
		strbuf_addf(&t->done, "%sreleased slot-%ld (%s: %s)", t->done.len ? "; " : "", i,
		            who, why);
		json_array_append_new(t->released,
		                      json_pack("{s:I, s:s, s:s}", "slot", (json_int_t)i, "holder",
		                                who, "why", why));
	}
	free(who);
}

static void force_result(struct hold_result *res, const struct etcd_lock_cfg *cfg,
                         struct force_tally *t)
{
	size_t released = json_array_size(t->released);
	if (t->failed) {
		res->state = HOLD_ERROR;
		res->message = xasprintf("group %s: %s", cfg->group, t->done.buf);
	} else if (released) {
		res->state = HOLD_TAKEN;
		res->message = xasprintf("group %s: %s%s%s", cfg->group, t->done.buf,
		                         t->kept.len ? "; kept live " : "",
		                         t->kept.len ? t->kept.buf : "");
	} else if (t->kept.len) {
		res->state = HOLD_BUSY;
		res->holder = t->first_live;
		t->first_live = NULL;
		res->message = xasprintf("group %s: nothing released: %s is live (a holder on "
		                         "another host, or a running process here; name the slot "
		                         "to remove it)",
		                         cfg->group, t->kept.buf);
	} else {
		res->state = HOLD_TAKEN;
		res->message = xasprintf("group %s has no holder: nothing to release", cfg->group);
	}
	res->details = json_pack("{s:s, s:O, s:O}", "group", cfg->group, "released", t->released,
	                         "live", t->live);
}

int etcd_force_release(const json_t *params, int64_t deadline_ms, struct hold_result *res)
{
	struct etcd_lock_cfg cfg;
	struct etcd_client c;
	struct etcd_kv *held = NULL;
	struct force_tally t = {{0}, {0}, json_array(), json_array(), NULL, 0};
	char err[1024] = "";
	etcd_cfg_read(params, &cfg);
	etcd_client_init(&c, params);
	int64_t named = gate_param_int(params, "force_slot", -1);
	if (gate_param_given(params, "force_slot") && (named < 0 || named >= cfg.slots)) {
		res->state = HOLD_ERROR;
		res->message = xasprintf("force_slot %lld is not a slot of group %s (0 to %ld)",
		                         (long long)named, cfg.group, cfg.slots - 1);
	} else if (etcd_read_slots(&c, &cfg, deadline_ms, &held, err, sizeof(err)) < 0) {
		res->state = HOLD_ERROR;
		res->message = xasprintf("cannot read the slots: %s", err);
	} else {
		for (long i = 0; i < cfg.slots; i++)
			if (held[i].key)
				force_one(&c, &held[i], i, i == named, deadline_ms, &t);
		force_result(res, &cfg, &t);
	}
	strbuf_release(&t.done);
	strbuf_release(&t.kept);
	json_decref(t.released);
	json_decref(t.live);
	free(t.first_live);
	etcd_kvs_free(held, held ? (size_t)cfg.slots : 0);
	etcd_client_release(&c);
	etcd_cfg_release(&cfg);
	return res->state == HOLD_ERROR ? -1 : 0;
}
