/* SPDX-License-Identifier: MIT */
/* The I/O half of the etcd lock (holds/lock_etcd.c): POST a JSON body to
 * etcd v3's gateway (/v3/...) over libcurl (checks/http_fetch.h), trying
 * the endpoints in turn, with TLS and the login of the lock's parameters.
 *
 * An endpoint that cannot be reached, does not answer in time, or answers
 * something that is neither a 200 with JSON nor an etcd error object is
 * skipped, and the next one is tried with what is left of the deadline
 * (shared among the endpoints not yet tried, so one that hangs cannot eat
 * the others' time).  The endpoint that answered is tried first next time.
 * An etcd error ({"error", "code"}) is an answer: it is not tried
 * elsewhere.  With `user`, a token from /v3/auth/authenticate goes in the
 * Authorization header, and is fetched again once when etcd says it is
 * invalid (code 16).  Nothing here prints; no message holds the password,
 * the token or a URL's password. */
#ifndef GATE_HOLDS_ETCD_CLIENT_H
#define GATE_HOLDS_ETCD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct etcd_client {
	char **urls; /* the endpoints, as written */
	size_t nurls;
	size_t first; /* the endpoint tried first: the last that answered */
	char *ca_file, *cert_file, *key_file;
	char *user, *password; /* password: a secret, wiped at release */
	char *token;           /* a secret, wiped at release */
};

/* A copy of what the lock's params say about reaching etcd (etcd, ca_file,
 * cert_file, key_file, user, password). */
void etcd_client_init(struct etcd_client *c, const json_t *params);
void etcd_client_release(struct etcd_client *c);

enum etcd_call_result {
	ETCD_CALL_FAILED = -1, /* no endpoint answered: err says why, each */
	ETCD_CALL_OK = 0,      /* 200 with a JSON answer */
	ETCD_CALL_REFUSED = 1, /* an etcd error: *code, err says it */
};

/* POST body to path ("/v3/kv/txn") before deadline_ms (gate_mono_ms).  On
 * OK, *answer is the caller's reference. */
enum etcd_call_result etcd_call(struct etcd_client *c, const char *path, const json_t *body,
                                int64_t deadline_ms, json_t **answer, int *code, char *err,
                                size_t errlen);

#endif
