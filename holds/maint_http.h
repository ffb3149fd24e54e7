/* SPDX-License-Identifier: MIT */
/* Private to the maintenance kinds (holds/maint_*.c): one bounded HTTP
 * exchange over libcurl with a JSON body, for the methods the checks never
 * send (PATCH, DELETE).  Nothing here prints; a failure comes back as a
 * message that names the server by host and port only (never a URL's
 * password). */
#ifndef GATE_HOLDS_MAINT_HTTP_H
#define GATE_HOLDS_MAINT_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct mhttp_request {
	const char *url;     /* may hold user:password (sent as Basic auth) */
	const char *method;  /* "GET", "POST", "PATCH", "DELETE" */
	const char *body;    /* JSON, sent as application/json; NULL: none */
	const char *ca_file; /* NULL: the system's CA bundle */
	int64_t deadline_ms; /* gate_mono_ms(): the exchange ends before this */
};

struct mhttp_response {
	long status; /* 0 when no answer came */
	char *body;  /* NUL-terminated, never NULL after mhttp_do */
	size_t len;
	int sent;      /* the request may have reached the server (not refused,
	                * not a connect timeout): its effect is unknown */
	char err[384]; /* why there is no answer, when mhttp_do returns -1 */
	double ms;     /* how long the exchange took */
};

/* One exchange, redirects not followed.  0 with a status (any: callers
 * judge it) or -1 with err. */
int mhttp_do(const struct mhttp_request *rq, struct mhttp_response *rs);
void mhttp_release(struct mhttp_response *rs);

/* base + path without doubling the '/'.  Caller frees. */
char *mhttp_join(const char *base, const char *path);

#endif
