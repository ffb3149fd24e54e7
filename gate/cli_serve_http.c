/* SPDX-License-Identifier: MIT */
/*
 * gate serve's endpoints on libmicrohttpd (gate(1), SERVE):
 *
 *   GET /v1/runbooks/NAME  the JSON report of `gate check --format json`
 *                          (200), or 503 with {"runbook", "decision":
 *                          "block", "error"} when there is none
 *   GET /healthz/NAME      200 "allow", or 503 "block: REASON"
 *   GET /healthz           200 "ok": the server answers (the watchdog's)
 *   GET /metrics           the Prometheus exposition (serve_metrics.h)
 *
 * Unknown paths 404, other methods than GET and HEAD 405.
 *
 * A thread per connection: a request waits for its runbook's evaluation
 * (gate/cli_serve_eval.c bounds that wait), and a waiting request must
 * not hold up another runbook's or /metrics.  The response is queued on
 * the handler's second call (on the first, the connection could not be
 * reused: every answer carried "Connection: close").
 */
#include <string.h>

#include <microhttpd.h>

#include "cli_serve.h"
#include "kit/alloc.h"

/* A connection's idle time before it is closed (not a request's: a
 * request waiting for its evaluation is not idle). */
#define SERVE_IDLE_TIMEOUT_S 60
/* At most this many connections, each a thread. */
#define SERVE_MAX_CONNECTIONS 1000

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type,
                               char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body,
	                                                         MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define TEXT "text/plain; charset=utf-8"
#define JSON "application/json"

static enum MHD_Result runbook_report(struct serve *sv, struct MHD_Connection *c,
                                      struct serve_rb *rb)
{
	struct serve_answer a;
	serve_answer(sv, rb, &a);
	enum MHD_Result ret;
	if (a.report) {
		ret = respond(c, MHD_HTTP_OK, JSON, a.report);
		a.report = NULL;
	} else {
		json_t *o = json_pack("{s:s, s:s, s:s}", "runbook", rb->name, "decision", "block",
		                      "error", a.reason);
		char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(o);
		char *body = xasprintf("%s\n", text ? text : "{}");
		free(text);
		ret = respond(c, MHD_HTTP_SERVICE_UNAVAILABLE, JSON, body);
	}
	serve_answer_release(&a);
	return ret;
}

static enum MHD_Result runbook_health(struct serve *sv, struct MHD_Connection *c,
                                      struct serve_rb *rb)
{
	struct serve_answer a;
	serve_answer(sv, rb, &a);
	enum MHD_Result ret = a.allow ? respond(c, MHD_HTTP_OK, TEXT, xstrdup("allow\n"))
	                              : respond(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT,
	                                        xasprintf("block: %s\n", a.reason));
	serve_answer_release(&a);
	return ret;
}

static enum MHD_Result route(struct serve *sv, struct MHD_Connection *c, const char *url)
{
	static const char v1[] = "/v1/runbooks/", hz[] = "/healthz/";
	struct serve_rb *rb = NULL;
	if (!strcmp(url, "/metrics"))
		return respond(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		               serve_metrics_text(sv));
	if (!strcmp(url, "/healthz")) {
		/* the lock taken and let go: the server is not stuck */
		pthread_mutex_lock(&sv->lock);
		pthread_mutex_unlock(&sv->lock);
		return respond(c, MHD_HTTP_OK, TEXT, xstrdup("ok\n"));
	}
	if (!strncmp(url, v1, sizeof(v1) - 1) && (rb = serve_find(sv, url + sizeof(v1) - 1)))
		return runbook_report(sv, c, rb);
	if (!strncmp(url, hz, sizeof(hz) - 1) && (rb = serve_find(sv, url + sizeof(hz) - 1)))
		return runbook_health(sv, c, rb);
	return respond(c, MHD_HTTP_NOT_FOUND, TEXT, xstrdup("not found\n"));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
	static int marker;
	(void)version;
	(void)upload;
	if (!*con_cls) {
		*con_cls = &marker; /* the headers: answer on the next call */
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* a body is read and ignored */
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT,
		               xstrdup("method not allowed\n"));
	return route(cls, c, url);
}

struct MHD_Daemon *serve_http_start(struct serve *sv, int listen_fd, const struct sockaddr *addr,
                                    socklen_t addrlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	                 MHD_USE_POLL | MHD_USE_ERROR_LOG;
	(void)addrlen;
	if (listen_fd >= 0)
		return MHD_start_daemon(flags, 0, NULL, NULL, handler, sv, MHD_OPTION_LISTEN_SOCKET,
		                        listen_fd, MHD_OPTION_CONNECTION_TIMEOUT,
		                        (unsigned)SERVE_IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
		                        (unsigned)SERVE_MAX_CONNECTIONS, MHD_OPTION_END);
	if (addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* MHD_OPTION_SOCK_ADDR: the address given, never every interface */
	return MHD_start_daemon(flags, 0, NULL, NULL, handler, sv, MHD_OPTION_SOCK_ADDR, addr,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_IDLE_TIMEOUT_S,
	                        MHD_OPTION_CONNECTION_LIMIT, (unsigned)SERVE_MAX_CONNECTIONS,
	                        MHD_OPTION_END);
}

int serve_http_listen_fd(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	return i ? i->listen_fd : -1;
}

void serve_http_stop(struct MHD_Daemon *d)
{
	if (d)
		MHD_stop_daemon(d);
}
