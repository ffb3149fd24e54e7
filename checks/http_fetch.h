/* SPDX-License-Identifier: MIT */
/* Private to the http family (checks/http*.c): one bounded HTTP exchange
 * over libcurl (the fetch), URL helpers, JSON pointers and the family's
 * check types.
 * Nothing here prints; every failure comes back as a message for the
 * check's summary. */
#ifndef GATE_CHECKS_HTTP_FETCH_H
#define GATE_CHECKS_HTTP_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gate/module.h"
#include "lib/url.h" /* url_redact_password: every URL shown */

/* Why an exchange produced no usable response.  The message in
 * http_response.err says the same in words. */
enum http_failure {
	HTTP_OK = 0,
	HTTP_F_CONNECT_TIMEOUT, /* no TCP connection within the connect timeout */
	HTTP_F_REFUSED,         /* the connection was refused or unreachable */
	HTTP_F_TLS,             /* TLS handshake or certificate verification */
	HTTP_F_NO_ANSWER,       /* connected, but no response byte in time */
	HTTP_F_SLOW,            /* the response started but did not finish in time */
	HTTP_F_TOO_BIG,         /* the body is larger than max_body */
	HTTP_F_OTHER,           /* DNS, bad URL, protocol error... */
};

struct http_request {
	const char *url;
	const char *method;    /* "GET" (default when NULL), "HEAD", "POST" */
	const json_t *headers; /* object name -> string value, or NULL; values are secret */
	const char *body;      /* POST body, or NULL */
	int tls_verify;        /* verify peer and host name */
	const char *ca_file;   /* NULL: the system's CA bundle */
	size_t max_body;       /* 0: no limit */
	int follow_redirects;
	int64_t deadline_ms;   /* gate_mono_ms(): the exchange ends before this */
	const char *cert_file; /* PEM client certificate, or NULL (the etcd lock) */
	const char *key_file;  /* its private key, or NULL */
};

/* What one exchange gave: all a judge of the answer gets (http_judge.h). */
struct http_response {
	enum http_failure failure;
	char err[384]; /* what went wrong (no secret), when failure != HTTP_OK */
	long status;   /* HTTP status; 0 when none was received */
	char *body;    /* NUL-terminated (never NULL after http_fetch) */
	size_t body_len;
	char *location; /* redirect target of a 3xx not followed, or NULL */
	double total_ms;
	double connect_ms;
};

/* The deadline an exchange of this attempt must end by: the earlier of the
 * attempt's timeout and the core's deadline, less a margin so that our own
 * message ("connected, but no response...") wins over the core's kill. */
int64_t http_attempt_deadline(const struct gate_run_env *env);

/* One exchange.  Returns 0 with a status and body, or -1 with
 * rs->failure/rs->err set.  A status outside 2xx is not a failure here:
 * callers judge it. */
int http_fetch(const struct http_request *rq, struct http_response *rs);
void http_response_release(struct http_response *rs);

/* GET rq->url and parse its JSON answer (status 200 required; rq gives
 * TLS, headers, max_body and the deadline; redirects are not followed).
 * 0 with *doc (the caller's reference), or -1 with a message in err. */
int http_get_json(const struct http_request *rq, json_t **doc, char *err, size_t errlen);
/* GET rq->url as http_get_json does, but any status is an answer: 0 with
 * *status and *doc, the body parsed with json_flags (jansson's) or NULL
 * when it is not JSON (the parser's message then in err); -1 with err when
 * the exchange failed. */
int http_get_answer(const struct http_request *rq, size_t json_flags, long *status, json_t **doc,
                    char *err, size_t errlen);

/* Append "?name=value" (or "&name=value" once sb holds a '?') to sb, the
 * value percent-encoded (RFC 3986: all but unreserved characters). */
struct strbuf;
void http_query_add(struct strbuf *sb, const char *name, const char *value);

/* url itself when it already ends in path (an API's endpoint), else
 * url + path as http_join_url joins them.  Caller frees. */
char *http_endpoint(const char *url, const char *path);
/* base + suffix, without doubling the '/' between them.  Caller frees. */
char *http_join_url(const char *base, const char *suffix);

/* RFC 6901: the value at pointer inside doc, or NULL when absent.
 * *bad is set to 1 when the pointer itself is malformed. */
json_t *http_json_pointer(json_t *doc, const char *pointer, int *bad);

/* Does url start with http:// or https:// (any case)? */
int http_url_scheme_ok(const char *url);

/* Append to buf (of size len, NUL-terminated) without overflowing; the end
 * is marked with "..." when it did not fit.  Returns 0 while it fits. */
int http_buf_append(char *buf, size_t len, const char *s);
/* res's status, and its summary "HEAD: LIST" (HEAD from fmt), the list cut
 * to fit as http_buf_append cuts. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void http_result_list(struct gate_result *res, enum gate_status st, const char *list,
                      const char *fmt, ...);

/* The family's check types (checks/http.c, http_prom.c, http_alertmanager.c,
 * http_promql.c, http_patroni.c). */
extern const struct gate_param http_check_params[];
void http_check_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res);
int http_check_validate(const json_t *params, const char **param, char *msg, size_t msglen);

extern const struct gate_param prom_alerts_params[];
void prom_alerts_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res);
int prom_alerts_validate(const json_t *params, const char **param, char *msg, size_t msglen);

extern const struct gate_param am_alerts_params[];
void am_alerts_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res);
int am_alerts_validate(const json_t *params, const char **param, char *msg, size_t msglen);

extern const struct gate_param promql_params[];
void promql_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res);
int promql_validate(const json_t *params, const char **param, char *msg, size_t msglen);

extern const struct gate_param patroni_cluster_params[];
void patroni_cluster_run(const json_t *params, const struct gate_run_env *env,
                         struct gate_result *res);
int patroni_cluster_validate(const json_t *params, const char **param, char *msg, size_t msglen);

#endif
