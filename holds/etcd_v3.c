/* SPDX-License-Identifier: MIT */
/* etcd v3 JSON gateway: request bodies and the reading of answers
 * (etcd_v3.h).  Pure: no I/O, no clock. */
#include "etcd_v3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/hold.h"
#include "kit/alloc.h"
#include "kit/text.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = b64_alphabet[(v >> 18) & 63];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64_alphabet[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *at = c ? strchr(b64_alphabet, c) : NULL;
	return at ? (int)(at - b64_alphabet) : -1;
}

int etcd_unb64(const char *s, char **out, size_t *len)
{
	size_t n = strlen(s);
	*out = NULL;
	if (n % 4)
		return -1;
	unsigned char *buf = xmalloc(n / 4 * 3 + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i += 4) {
		int last = i + 4 == n;
		int pad = (last && s[i + 3] == '=') + (last && s[i + 2] == '=' && s[i + 3] == '=');
		int v[4];
		for (int k = 0; k < 4; k++)
			v[k] = k >= 4 - pad ? 0 : b64_value(s[i + k]);
		if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0) {
			free(buf);
			return -1;
		}
		unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
		             (unsigned)v[3];
		buf[j++] = (unsigned char)(w >> 16);
		if (pad < 2)
			buf[j++] = (unsigned char)(w >> 8);
		if (pad < 1)
			buf[j++] = (unsigned char)w;
	}
	buf[j] = '\0';
	*out = (char *)buf;
	*len = j;
	return 0;
}

int etcd_int64(const json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s)
		return -1;
	const char *d = s[0] == '-' ? s + 1 : s;
	if (!*d || strspn(d, "0123456789") != strlen(d))
		return -1;
	errno = 0;
	long long x = strtoll(s, NULL, 10);
	if (errno)
		return -1;
	*out = (int64_t)x;
	return 0;
}

char *etcd_prefix_end(const char *prefix)
{
	char *end = xstrdup(prefix);
	size_t n = strlen(end);
	/* Carry past 0xff bytes; all 0xff (or empty) means "to the end": "\0". */
	while (n > 0 && (unsigned char)end[n - 1] == 0xff)
		end[--n] = '\0';
	if (n > 0)
		end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
	return end;
}

/* ---- requests ---- */

static json_t *b64_string(const char *s)
{
	char *b = etcd_b64(s, strlen(s));
	json_t *j = json_string(b);
	free(b);
	return j;
}

static json_t *i64_string(int64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return json_string(buf);
}

json_t *etcd_req_grant(int64_t ttl_s)
{
	return json_pack("{s:o}", "TTL", i64_string(ttl_s));
}

json_t *etcd_req_lease(int64_t id, int keys)
{
	json_t *j = json_pack("{s:o}", "ID", i64_string(id));
	if (keys)
		json_object_set_new(j, "keys", json_true());
	return j;
}

json_t *etcd_req_create(const char *key, const char *value, int64_t lease)
{
	return json_pack("{s:[{s:o, s:s, s:s, s:s}], s:[{s:{s:o, s:o, s:o}}], s:[{s:{s:o}}]}",
	                 "compare", "key", b64_string(key), "result", "EQUAL", "target", "CREATE",
	                 "create_revision", "0", "success", "request_put", "key", b64_string(key),
	                 "value", b64_string(value), "lease", i64_string(lease), "failure",
	                 "request_range", "key", b64_string(key));
}

json_t *etcd_req_range_prefix(const char *prefix)
{
	char *end = etcd_prefix_end(prefix);
	json_t *j = json_pack("{s:o, s:o}", "key", b64_string(prefix), "range_end",
	                      b64_string(end));
	free(end);
	return j;
}

json_t *etcd_req_delete_if(const char *key, int64_t lease, int64_t mod_revision)
{
	json_t *cmp = lease ? json_pack("{s:o, s:s, s:s, s:o}", "key", b64_string(key), "result",
	                                "EQUAL", "target", "LEASE", "lease", i64_string(lease))
	                    : json_pack("{s:o, s:s, s:s, s:o}", "key", b64_string(key), "result",
	                                "EQUAL", "target", "MOD", "mod_revision",
	                                i64_string(mod_revision));
	return json_pack("{s:[o], s:[{s:{s:o}}]}", "compare", cmp, "success",
	                 "request_delete_range", "key", b64_string(key));
}

json_t *etcd_req_auth(const char *user, const char *password)
{
	return json_pack("{s:s, s:s}", "name", user, "password", password);
}

/* ---- answers ---- */

int etcd_has_header(const json_t *doc)
{
	return json_is_object(json_object_get(doc, "header"));
}

int etcd_answer_error(const json_t *doc, int *code, char *msg, size_t msglen)
{
	const char *e = json_string_value(json_object_get(doc, "error"));
	json_t *c = json_object_get(doc, "code");
	if (!e || !json_is_integer(c))
		return 0;
	*code = (int)json_integer_value(c);
	char *safe = text_safe(e, TEXT_ONE_LINE);
	snprintf(msg, msglen, "%s (code %d)", safe, *code);
	free(safe);
	return 1;
}

/* An int64 member that must be there. */
static int member_i64(const json_t *o, const char *name, int64_t *out, char *err, size_t errlen)
{
	if (etcd_int64(json_object_get(o, name), out) == 0)
		return 0;
	snprintf(err, errlen, "%s is missing or not an integer", name);
	return -1;
}

/* An int64 member etcd leaves out when it is 0. */
static int member_i64_or0(const json_t *o, const char *name, int64_t *out, char *err, size_t errlen)
{
	*out = 0;
	if (!json_object_get(o, name))
		return 0;
	return member_i64(o, name, out, err, errlen);
}

static int need_header(const json_t *doc, const char *what, char *err, size_t errlen)
{
	if (etcd_has_header(doc))
		return 0;
	snprintf(err, errlen, "not an etcd %s answer (no header)", what);
	return -1;
}

int etcd_parse_grant(const json_t *doc, int64_t *id, int64_t *ttl, char *err, size_t errlen)
{
	if (need_header(doc, "lease grant", err, errlen) < 0 ||
	    member_i64(doc, "ID", id, err, errlen) < 0 ||
	    member_i64(doc, "TTL", ttl, err, errlen) < 0)
		return -1;
	if (*id == 0 || *ttl <= 0) {
		snprintf(err, errlen, "lease grant gave ID %lld with TTL %lld", (long long)*id,
		         (long long)*ttl);
		return -1;
	}
	return 0;
}

void etcd_kvs_free(struct etcd_kv *kvs, size_t n)
{
	for (size_t i = 0; kvs && i < n; i++) {
		free(kvs[i].key);
		free(kvs[i].value);
	}
	free(kvs);
}

static int read_kv(const json_t *o, struct etcd_kv *kv, char *err, size_t errlen)
{
	memset(kv, 0, sizeof(*kv));
	const char *k = json_string_value(json_object_get(o, "key"));
	json_t *v = json_object_get(o, "value");
	size_t klen;
	if (!k || etcd_unb64(k, &kv->key, &klen) < 0 || strlen(kv->key) != klen) {
		snprintf(err, errlen, "a key is missing or not base64 text");
		return -1;
	}
	/* An empty value is left out like any default. */
	if (v ? !json_is_string(v) ||
	                    etcd_unb64(json_string_value(v), &kv->value, &kv->value_len) < 0
	      : !(kv->value = xstrdup(""))) {
		snprintf(err, errlen, "the value of a key is not base64");
		return -1;
	}
	if (member_i64_or0(o, "lease", &kv->lease, err, errlen) < 0 ||
	    member_i64(o, "create_revision", &kv->create_revision, err, errlen) < 0 ||
	    member_i64(o, "mod_revision", &kv->mod_revision, err, errlen) < 0)
		return -1;
	return 0;
}

/* The pairs of a range answer (or a txn's response_range). */
static int read_kvs(const json_t *r, struct etcd_kv **kvs, size_t *n, char *err, size_t errlen)
{
	json_t *arr = json_object_get(r, "kvs");
	int64_t count = 0;
	*kvs = NULL;
	*n = 0;
	if (member_i64_or0(r, "count", &count, err, errlen) < 0)
		return -1;
	if (arr && !json_is_array(arr)) {
		snprintf(err, errlen, "kvs is not a list");
		return -1;
	}
	size_t len = json_array_size(arr);
	if ((int64_t)len != count) {
		/* A limit or a range that went wrong: the holders would be
		 * incomplete. */
		snprintf(err, errlen, "range lists %zu keys but counts %lld", len,
		         (long long)count);
		return -1;
	}
	if (!len)
		return 0;
	*kvs = xcalloc(len, sizeof(**kvs));
	for (size_t i = 0; i < len; i++) {
		if (read_kv(json_array_get(arr, i), &(*kvs)[i], err, errlen) < 0) {
			etcd_kvs_free(*kvs, i + 1);
			*kvs = NULL;
			*n = 0;
			return -1;
		}
		*n = i + 1;
	}
	return 0;
}

int etcd_parse_range(const json_t *doc, struct etcd_kv **kvs, size_t *n, char *err, size_t errlen)
{
	*kvs = NULL;
	*n = 0;
	if (need_header(doc, "range", err, errlen) < 0)
		return -1;
	return read_kvs(doc, kvs, n, err, errlen);
}

/* The failure branch of a create: one response_range with the holder. */
static enum etcd_txn_outcome create_lost(const json_t *doc, int64_t lease, struct etcd_kv *holder,
                                         char *err, size_t errlen)
{
	json_t *resp = json_object_get(doc, "responses");
	json_t *rr = json_object_get(json_array_get(resp, 0), "response_range");
	struct etcd_kv *kvs;
	size_t n;
	if (json_array_size(resp) != 1 || !json_is_object(rr)) {
		snprintf(err, errlen, "a failed create did not read the slot back");
		return ETCD_TXN_ERROR;
	}
	if (read_kvs(rr, &kvs, &n, err, errlen) < 0)
		return ETCD_TXN_ERROR;
	if (n != 1) {
		/* The compare and the range run in one revision: a key that
		 * failed "absent" must be there. */
		snprintf(err, errlen, "a failed create read %zu keys back, expected 1", n);
		etcd_kvs_free(kvs, n);
		return ETCD_TXN_ERROR;
	}
	*holder = kvs[0];
	free(kvs);
	if (lease && holder->lease == lease) {
		free(holder->key);
		free(holder->value);
		memset(holder, 0, sizeof(*holder));
		return ETCD_TXN_WON;
	}
	return ETCD_TXN_LOST;
}

enum etcd_txn_outcome etcd_parse_create(const json_t *doc, int64_t lease, struct etcd_kv *holder,
                                        char *err, size_t errlen)
{
	memset(holder, 0, sizeof(*holder));
	if (need_header(doc, "transaction", err, errlen) < 0)
		return ETCD_TXN_ERROR;
	json_t *ok = json_object_get(doc, "succeeded");
	if (ok && !json_is_true(ok)) {
		/* false is a default and is left out: a present false is not
		 * what etcd writes. */
		snprintf(err, errlen, "succeeded is present but not true");
		return ETCD_TXN_ERROR;
	}
	if (!ok)
		return create_lost(doc, lease, holder, err, errlen);
	json_t *resp = json_object_get(doc, "responses");
	if (json_array_size(resp) != 1 ||
	    !json_is_object(json_object_get(json_array_get(resp, 0), "response_put"))) {
		snprintf(err, errlen, "a won create has no put response");
		return ETCD_TXN_ERROR;
	}
	return ETCD_TXN_WON;
}

int etcd_parse_keepalive(const json_t *doc, int64_t id, int64_t *ttl, char *err, size_t errlen)
{
	json_t *r = json_object_get(doc, "result");
	int64_t got;
	*ttl = 0;
	if (!etcd_has_header(r)) {
		snprintf(err, errlen, "not an etcd keepalive answer (no result header)");
		return -1;
	}
	if (member_i64(r, "ID", &got, err, errlen) < 0)
		return -1;
	if (got != id) {
		snprintf(err, errlen, "keepalive answered for lease %lld, not %lld", (long long)got,
		         (long long)id);
		return -1;
	}
	if (member_i64_or0(r, "TTL", ttl, err, errlen) < 0)
		return -1;
	if (*ttl <= 0) {
		snprintf(err, errlen, "lease %lld is gone (expired or revoked)", (long long)id);
		return 1;
	}
	return 0;
}

int etcd_parse_delete(const json_t *doc, int64_t *deleted, char *err, size_t errlen)
{
	*deleted = 0;
	if (need_header(doc, "transaction", err, errlen) < 0)
		return -1;
	json_t *ok = json_object_get(doc, "succeeded");
	if (!ok)
		return 0;
	json_t *dr = json_object_get(json_array_get(json_object_get(doc, "responses"), 0),
	                             "response_delete_range");
	if (!json_is_true(ok) || !json_is_object(dr)) {
		snprintf(err, errlen, "a delete transaction has no delete response");
		return -1;
	}
	return member_i64_or0(dr, "deleted", deleted, err, errlen);
}

int etcd_parse_timetolive(const json_t *doc, const char *key, int64_t *ttl, size_t *nkeys,
                          int *only_key, char *err, size_t errlen)
{
	json_t *keys = json_object_get(doc, "keys");
	*nkeys = 0;
	*only_key = 0;
	if (need_header(doc, "timetolive", err, errlen) < 0 ||
	    member_i64(doc, "TTL", ttl, err, errlen) < 0)
		return -1;
	if (keys && !json_is_array(keys)) {
		snprintf(err, errlen, "keys is not a list");
		return -1;
	}
	*nkeys = json_array_size(keys);
	if (*nkeys == 1) {
		char *k = NULL;
		size_t n;
		const char *s = json_string_value(json_array_get(keys, 0));
		*only_key = s && etcd_unb64(s, &k, &n) == 0 && n == strlen(key) && !strcmp(k, key);
		free(k);
	}
	return 0;
}

int etcd_parse_auth(const json_t *doc, char **token, char *err, size_t errlen)
{
	const char *t = json_string_value(json_object_get(doc, "token"));
	*token = NULL;
	if (need_header(doc, "authenticate", err, errlen) < 0)
		return -1;
	if (!t || !*t || strpbrk(t, "\r\n")) {
		snprintf(err, errlen, "authenticate gave no usable token");
		return -1;
	}
	*token = xstrdup(t);
	return 0;
}

long etcd_slot_of(const char *key, const char *group_prefix)
{
	size_t n = strlen(group_prefix);
	if (strncmp(key, group_prefix, n) || strncmp(key + n, "slot-", 5))
		return -1;
	const char *d = key + n + 5;
	size_t len = strlen(d);
	if (!len || len > 6 || strspn(d, "0123456789") != len || (d[0] == '0' && len > 1))
		return -1;
	return strtol(d, NULL, 10);
}

char *etcd_holder_text(const struct etcd_kv *kv)
{
	json_t *j = kv->value ? json_loadb(kv->value, kv->value_len, 0, NULL) : NULL;
	char *t = hold_who_text_json(j);
	json_decref(j);
	return t ? t : xstrdup("an unknown holder");
}
