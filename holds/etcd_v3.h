/* SPDX-License-Identifier: MIT */
/* The pure half of the etcd lock (holds/lock_etcd.c): the request bodies of
 * etcd v3's JSON gateway (/v3/...) and the reading of its answers.  No I/O,
 * no clock: the unit tests (tests/unit/test_hold_etcd.c) and the fuzz
 * target (fuzz/fuzz_etcd.c) call these with answers recorded from a real
 * etcd (tests/data/recorded/holds/etcd/).
 *
 * What the gateway really answers (doc/facts.md, etcd): keys and values
 * are standard base64; every int64 (lease IDs, TTLs, revisions, counts)
 * is a JSON string, and lease IDs are above 2^53, so they are read with
 * strtoll, never through a double; fields holding a default (false, 0,
 * empty) are left out, so a lost transaction has no "succeeded" and an
 * empty range no "kvs"; a keepalive on a lost lease answers 200 without a
 * "TTL"; errors are {"error": ..., "code": N}.  Anything else is an error
 * here: a reader that does not understand an answer fails closed. */
#ifndef GATE_HOLDS_ETCD_V3_H
#define GATE_HOLDS_ETCD_V3_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* gRPC status codes etcd puts in "code" (the ones the lock tells apart). */
#define ETCD_CODE_INVALID_ARGUMENT 3 /* bad base64, bad JSON, bad login */
#define ETCD_CODE_NOT_FOUND 5        /* "requested lease not found" */
#define ETCD_CODE_PERMISSION 7       /* "permission denied" */
#define ETCD_CODE_UNAUTHENTICATED 16 /* "invalid auth token" */

/* One key-value pair of a range answer; key and value decoded (value may
 * hold any byte; both are NUL-terminated for convenience). */
struct etcd_kv {
	char *key;
	char *value;
	size_t value_len;
	int64_t lease; /* 0: none */
	int64_t create_revision;
	int64_t mod_revision;
};
void etcd_kvs_free(struct etcd_kv *kvs, size_t n);

/* Standard base64 with padding; caller frees. */
char *etcd_b64(const void *data, size_t len);
/* Strict: only the standard alphabet, padding where it belongs.  0 with a
 * NUL-terminated malloc'd *out (and *len), -1 otherwise. */
int etcd_unb64(const char *s, char **out, size_t *len);

/* An int64 as the gateway sends it: a string of decimal digits (an
 * optional '-'), or a JSON integer.  A real, an empty string, a sign alone
 * or trailing text is -1. */
int etcd_int64(const json_t *v, int64_t *out);

/* The end of a prefix range: the prefix with its last byte plus one
 * ("/gate/locks/g/" -> "/gate/locks/g0").  Caller frees. */
char *etcd_prefix_end(const char *prefix);

/* ---- request bodies (each a new reference) ---- */
json_t *etcd_req_grant(int64_t ttl_s);
/* {"ID": "N"} for keepalive and revoke; with keys, for timetolive. */
json_t *etcd_req_lease(int64_t id, int keys);
/* Put key=value with the lease only if the key does not exist (its
 * create_revision is 0); else read it (the failure branch names the
 * holder). */
json_t *etcd_req_create(const char *key, const char *value, int64_t lease);
json_t *etcd_req_range_prefix(const char *prefix);
/* Delete key only if its lease is `lease` (release), or, with lease 0,
 * only if its mod_revision is still `mod_revision` (force_release). */
json_t *etcd_req_delete_if(const char *key, int64_t lease, int64_t mod_revision);
json_t *etcd_req_auth(const char *user, const char *password);

/* ---- answers ---- */

/* Is doc an error answer?  1 with *code and the message (made safe to
 * print) in msg; 0 when it is not. */
int etcd_answer_error(const json_t *doc, int *code, char *msg, size_t msglen);

/* lease/grant: 0 with the lease's ID and granted TTL (s), -1 with err. */
int etcd_parse_grant(const json_t *doc, int64_t *id, int64_t *ttl, char *err, size_t errlen);

enum etcd_txn_outcome {
	ETCD_TXN_ERROR = -1,
	ETCD_TXN_WON = 0,  /* the key was created (or already held by our lease:
	                    * an earlier attempt's answer was lost) */
	ETCD_TXN_LOST = 1, /* someone holds it: *holder is their pair */
};
/* kv/txn of etcd_req_create for our lease.  On LOST, *holder is filled
 * (etcd_kvs_free(holder, 1) frees it). */
enum etcd_txn_outcome etcd_parse_create(const json_t *doc, int64_t lease, struct etcd_kv *holder,
                                        char *err, size_t errlen);

/* kv/range: 0 with *kvs (n pairs, NULL when none), -1 with err. */
int etcd_parse_range(const json_t *doc, struct etcd_kv **kvs, size_t *n, char *err, size_t errlen);

/* lease/keepalive for lease id: 0 renewed (*ttl > 0), 1 lost (no TTL: the
 * lease expired or was revoked), -1 not understood. */
int etcd_parse_keepalive(const json_t *doc, int64_t id, int64_t *ttl, char *err, size_t errlen);

/* kv/txn of etcd_req_delete_if: 0 with *deleted (0 when the compare
 * failed: the key is gone or someone else's), -1 not understood. */
int etcd_parse_delete(const json_t *doc, int64_t *deleted, char *err, size_t errlen);

/* lease/timetolive with keys: 0 with *ttl (-1: the lease is gone) and
 * *nkeys, the keys attached; *only_key is 1 when exactly `key` is. */
int etcd_parse_timetolive(const json_t *doc, const char *key, int64_t *ttl, size_t *nkeys,
                          int *only_key, char *err, size_t errlen);

/* auth/authenticate: 0 with a malloc'd token (a secret), -1 with err. */
int etcd_parse_auth(const json_t *doc, char **token, char *err, size_t errlen);

/* Is doc a gateway answer at all (an object with a "header")? */
int etcd_has_header(const json_t *doc);

/* ---- slots ---- */

/* The slot index of key under group_prefix ("PREFIX/GROUP/"), when the
 * rest is "slot-N" with N a decimal number without a leading zero; -1
 * otherwise. */
long etcd_slot_of(const char *key, const char *group_prefix);

/* Who holds a slot, from its value as take wrote it (hold_who_json); "an
 * unknown holder" when the value is not such an object.  Caller frees. */
char *etcd_holder_text(const struct etcd_kv *kv);

#endif
