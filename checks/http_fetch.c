/* SPDX-License-Identifier: MIT */
/* One bounded HTTP exchange for the http family, over libcurl.
 *
 * Every wait is bounded: a total timeout (CURLOPT_TIMEOUT_MS) ending a
 * little before the core's deadline, and a shorter connect timeout.  When
 * the total timeout fires, curl's timers say which phase was stuck, so the
 * summary can tell "never accepted" from "accepted and never answered" from
 * "answered too slowly". */
#include "http_fetch.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"
#include "kit/text.h"
#include "lib/url.h"

/* What our own timeouts leave to the core's kill, so that our message wins. */
#define HTTP_DEADLINE_MARGIN_MS 100
/* A connection to a live server takes milliseconds; SYNs that go unanswered
 * for this long mean nobody will accept. */
#define HTTP_CONNECT_TIMEOUT_MAX_MS 5000
#define HTTP_MAX_REDIRECTS 10

int64_t http_attempt_deadline(const struct gate_run_env *env)
{
	int64_t now = gate_mono_ms();
	int64_t end = env->timeout_ms > 0 ? now + env->timeout_ms : INT64_MAX;
	if (env->deadline_ms > 0 && env->deadline_ms < end)
		end = env->deadline_ms;
	int64_t budget = end - now;
	/* Short budgets keep most of their time: a quarter goes to the margin. */
	int64_t margin = budget / 4 < HTTP_DEADLINE_MARGIN_MS ? budget / 4
	                                                      : HTTP_DEADLINE_MARGIN_MS;
	return end - (margin > 0 ? margin : 0);
}

int http_buf_append(char *buf, size_t len, const char *s)
{
	size_t used = strlen(buf), n = strlen(s);
	if (used + n < len) {
		memcpy(buf + used, s, n + 1);
		return 0;
	}
	if (len < 4)
		return -1;
	/* Keep what fits and mark the cut, without splitting a UTF-8 sequence. */
	size_t room = len - 1 - used;
	if (room >= 3) {
		size_t keep = text_cut(s, n, room - 3);
		memcpy(buf + used, s, keep);
		memcpy(buf + used + keep, "...", 4);
	} else {
		memcpy(buf + len - 4, "...", 4);
	}
	return -1;
}

void http_result_list(struct gate_result *res, enum gate_status st, const char *list,
                      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->summary, sizeof(res->summary), fmt, ap);
	va_end(ap);
	res->status = st;
	http_buf_append(res->summary, sizeof(res->summary), ": ");
	http_buf_append(res->summary, sizeof(res->summary), list);
}

int http_url_scheme_ok(const char *url)
{
	return url && (!strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8));
}

char *http_endpoint(const char *url, const char *path)
{
	size_t ul = strlen(url), pl = strlen(path);
	if (ul >= pl && !strcmp(url + ul - pl, path))
		return xstrdup(url);
	return http_join_url(url, path);
}

char *http_join_url(const char *base, const char *suffix)
{
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	return xasprintf("%.*s%s", (int)bl, base, suffix);
}

/* RFC 6901 reference token: "~1" is '/', "~0" is '~'; any other '~' is bad. */
static int unescape_token(const char *s, size_t n, char *out)
{
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '~') {
			out[j++] = s[i];
			continue;
		}
		if (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1'))
			return -1;
		out[j++] = s[i + 1] == '0' ? '~' : '/';
		i++;
	}
	out[j] = '\0';
	return 0;
}

/* An array index: "0" or digits without a leading zero. */
static int parse_index(const char *tok, size_t *idx)
{
	if (!*tok || (tok[0] == '0' && tok[1]) || strlen(tok) > 9)
		return -1;
	for (const char *p = tok; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	*idx = (size_t)strtoul(tok, NULL, 10);
	return 0;
}

json_t *http_json_pointer(json_t *doc, const char *pointer, int *bad)
{
	*bad = 0;
	if (!pointer || !*pointer)
		return doc;
	if (pointer[0] != '/') {
		*bad = 1;
		return NULL;
	}
	char *tok = xmalloc(strlen(pointer) + 1);
	json_t *cur = doc;
	const char *p = pointer;
	while (cur && *p == '/') {
		p++;
		size_t n = strcspn(p, "/");
		if (unescape_token(p, n, tok) < 0) {
			*bad = 1;
			cur = NULL;
			break;
		}
		p += n;
		if (json_is_object(cur)) {
			cur = json_object_get(cur, tok);
		} else if (json_is_array(cur)) {
			size_t idx;
			cur = parse_index(tok, &idx) == 0 ? json_array_get(cur, idx) : NULL;
		} else {
			cur = NULL;
		}
	}
	free(tok);
	return cur;
}

/* ---- the exchange ---- */

struct sink {
	char *buf;
	size_t len, alloc;
	size_t max; /* 0: unlimited */
	int too_big;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;
	if (s->max && s->len + n > s->max) {
		/* Stop receiving now: max_body bounds memory and time, not only
		 * the verdict. */
		s->too_big = 1;
		return 0;
	}
	if (s->len + n + 1 > s->alloc) {
		size_t want = s->alloc ? s->alloc : 16384;
		while (want < s->len + n + 1)
			want *= 2;
		char *nb = realloc(s->buf, want);
		if (!nb)
			return 0;
		s->buf = nb;
		s->alloc = want;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

/* "host:port" of the URL, for messages (never the userinfo). */
static void url_hostport(const char *url, char *out, size_t len)
{
	snprintf(out, len, "the server");
	CURLU *u = curl_url();
	if (!u)
		return;
	char *host = NULL, *port = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		snprintf(out, len, "%s:%s", host, port);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

static double info_ms(CURL *c, CURLINFO what)
{
	curl_off_t us = 0;
	if (curl_easy_getinfo(c, what, &us) != CURLE_OK)
		return 0;
	return (double)us / 1000.0;
}

/* Set the failure and its message (a long message is cut, not an error). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
failf(struct http_response *rs, enum http_failure f, const char *fmt, ...)
{
	va_list ap;
	rs->failure = f;
	va_start(ap, fmt);
	vsnprintf(rs->err, sizeof(rs->err), fmt, ap);
	va_end(ap);
}

/* Turn a curl failure into one of our failures and a message that says
 * which phase failed. */
static void describe_failure(CURL *c, CURLcode rc, const char *curl_err,
                             const struct http_request *rq, const struct sink *sink,
                             int64_t timeout_ms, struct http_response *rs)
{
	char hp[300];
	url_hostport(rq->url, hp, sizeof(hp));
	const char *why = *curl_err ? curl_err : curl_easy_strerror(rc);
	double connect = info_ms(c, CURLINFO_CONNECT_TIME_T);
	double appconnect = info_ms(c, CURLINFO_APPCONNECT_TIME_T);
	double first = info_ms(c, CURLINFO_STARTTRANSFER_TIME_T);
	int https = !strncasecmp(rq->url, "https://", 8);
	long oserr = 0;

	if (sink->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		failf(rs, HTTP_F_TOO_BIG,
		      "response body from %s is larger than max_body (%zu bytes)", hp,
		      rq->max_body);
		return;
	}
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		if (connect <= 0) {
			failf(rs, HTTP_F_CONNECT_TIMEOUT,
			      "connect to %s timed out: not accepted within %.0f ms", hp,
			      rs->total_ms);
		} else if (https && appconnect <= 0) {
			failf(rs, HTTP_F_TLS, "TLS handshake with %s timed out after %.0f ms", hp,
			      rs->total_ms);
		} else if (first <= 0) {
			failf(rs, HTTP_F_NO_ANSWER,
			      "connected to %s, but no response within %lld ms", hp,
			      (long long)timeout_ms);
		} else {
			failf(rs, HTTP_F_SLOW,
			      "response from %s too slow: started after %.0f ms, "
			      "incomplete after %lld ms (%zu body bytes received)",
			      hp, first, (long long)timeout_ms, sink->len);
		}
		return;
	case CURLE_COULDNT_CONNECT:
		/* curl says only "Couldn't connect to server": the system's
		 * reason ("Connection refused") is what names the fault. */
		if (curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK && oserr > 0)
			failf(rs, HTTP_F_REFUSED, "cannot connect to %s: %s", hp,
			      strerror((int)oserr));
		else
			failf(rs, HTTP_F_REFUSED, "cannot connect to %s: %s", hp, why);
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		failf(rs, HTTP_F_TLS, "TLS with %s failed: %s", hp, why);
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
		failf(rs, HTTP_F_OTHER, "cannot resolve %s: %s", hp, why);
		return;
	default:
		failf(rs, HTTP_F_OTHER, "request to %s failed: %s", hp, why);
		return;
	}
}

/* "Name: value" lines; a header value never leaves this function except
 * towards the server.  -1 with rs->err on a value that would split the
 * request (a line break). */
static int build_headers(const json_t *headers, struct curl_slist **out, struct http_response *rs)
{
	const char *name;
	json_t *v;
	*out = curl_slist_append(NULL, "User-Agent: gate/"
	                               "0.1");
	json_object_foreach((json_t *)headers, name, v) {
		const char *val = json_string_value(v);
		if (!val) {
			snprintf(rs->err, sizeof(rs->err), "header %s: value is not a string",
			         name);
			return -1;
		}
		if (strpbrk(name, ":\r\n ") || strpbrk(val, "\r\n")) {
			snprintf(rs->err, sizeof(rs->err),
			         "header %s: name or value contains a line break or ':'", name);
			return -1;
		}
		size_t n = strlen(name) + strlen(val) + 3;
		char *line = xmalloc(n);
		/* "Name;" is curl's way to send a header with an empty value. */
		if (*val)
			snprintf(line, n, "%s: %s", name, val);
		else
			snprintf(line, n, "%s;", name);
		struct curl_slist *nl = xnonnull(curl_slist_append(*out, line));
		/* Wipe our copy: the secret lives on only in curl's list. */
		explicit_bzero(line, n);
		free(line);
		*out = nl;
	}
	return 0;
}

static void wipe_slist(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/* libcurl's global state, set up once in the process (the check's child). */
static int curl_ready(void)
{
	static int ready;
	if (!ready && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		ready = 1;
	return ready;
}

/* The request as curl options: the body goes to sink, curl's own words
 * about a failure to errbuf. */
static void set_options(CURL *c, const struct http_request *rq, int64_t timeout_ms,
                        struct curl_slist *hdrs, struct sink *sink, char *errbuf)
{
	long connect_ms = timeout_ms < HTTP_CONNECT_TIMEOUT_MAX_MS ? (long)timeout_ms
	                                                           : HTTP_CONNECT_TIMEOUT_MAX_MS;
	const char *method = rq->method ? rq->method : "GET";

	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, rq->tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, rq->tls_verify ? 2L : 0L);
	if (rq->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, rq->ca_file);
	if (rq->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, rq->cert_file);
	if (rq->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, rq->key_file);
	/* A HEAD answer's Content-Length describes a body never sent. */
	if (rq->max_body && strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rq->max_body);
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "POST")) {
		const char *b = rq->body ? rq->body : "";
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(b));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, b);
	}
}

/* Run the exchange set up on c and gather what it gave into rs: timings,
 * status, the redirect target, or the failure. */
static int perform(CURL *c, const struct http_request *rq, int64_t timeout_ms,
                   const struct sink *sink, const char *errbuf, struct http_response *rs)
{
	CURLcode rc = curl_easy_perform(c);
	rs->total_ms = info_ms(c, CURLINFO_TOTAL_TIME_T);
	rs->connect_ms = info_ms(c, CURLINFO_CONNECT_TIME_T);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
	if (rc != CURLE_OK) {
		describe_failure(c, rc, errbuf, rq, sink, timeout_ms, rs);
		return -1;
	}
	char *loc = NULL;
	if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
		rs->location = xstrdup(loc);
	return 0;
}

/* One request, redirects not followed (http_fetch follows them itself). */
static int fetch_once(const struct http_request *rq, struct http_response *rs)
{
	memset(rs, 0, sizeof(*rs));
	struct sink sink = {.max = rq->max_body};
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *c = NULL;
	int ret = -1;
	int64_t timeout_ms = rq->deadline_ms - gate_mono_ms();
	if (timeout_ms < 1) {
		failf(rs, HTTP_F_OTHER, "no time left for the request");
	} else if (!http_url_scheme_ok(rq->url)) {
		failf(rs, HTTP_F_OTHER, "url must start with http:// or https://");
	} else if (!curl_ready() || !(c = curl_easy_init())) {
		failf(rs, HTTP_F_OTHER, "libcurl could not initialise");
	} else if (build_headers(rq->headers, &hdrs, rs) < 0) {
		rs->failure = HTTP_F_OTHER;
	} else {
		set_options(c, rq, timeout_ms, hdrs, &sink, errbuf);
		ret = perform(c, rq, timeout_ms, &sink, errbuf, rs);
	}
	wipe_slist(hdrs);
	curl_easy_cleanup(c);
	rs->body = sink.buf ? sink.buf : xcalloc(1, 1);
	rs->body_len = sink.len;
	return ret;
}

/* Scheme, host and port, for comparing origins; "" when unparsable. */
static void url_origin(const char *url, char *out, size_t len)
{
	out[0] = '\0';
	CURLU *u = curl_url();
	if (!u)
		return;
	char *scheme = NULL, *host = NULL, *port = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		snprintf(out, len, "%s://%s:%s", scheme, host, port);
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

static int same_origin(const char *a, const char *b)
{
	char oa[512], ob[512];
	url_origin(a, oa, sizeof(oa));
	url_origin(b, ob, sizeof(ob));
	return *oa && !strcmp(oa, ob);
}

/* Redirects are followed here rather than by curl, so that the headers,
 * which may hold secrets, go only to the origin the runbook named: curl
 * itself would drop only Authorization and Cookie on another host. */
int http_fetch(const struct http_request *rq, struct http_response *rs)
{
	if (!rq->follow_redirects)
		return fetch_once(rq, rs);
	struct http_request hop = *rq;
	char *url = xstrdup(rq->url);
	double total = 0;
	int ret;
	for (int n = 0;; n++) {
		hop.url = url;
		ret = fetch_once(&hop, rs);
		total += rs->total_ms;
		if (ret < 0 || rs->status < 300 || rs->status > 399 || !rs->location)
			break;
		if (n == HTTP_MAX_REDIRECTS) {
			failf(rs, HTTP_F_OTHER, "more than %d redirects", HTTP_MAX_REDIRECTS);
			ret = -1;
			break;
		}
		if (!http_url_scheme_ok(rs->location)) {
			failf(rs, HTTP_F_OTHER, "redirected to a URL that is not http(s)");
			ret = -1;
			break;
		}
		if (hop.headers && !same_origin(rq->url, rs->location))
			hop.headers = NULL;
		/* 303 (and 301/302 after a POST) go on with GET, as curl and
		 * browsers do; 307/308 repeat the request as it was. */
		const char *m = hop.method ? hop.method : "GET";
		if ((rs->status == 303 && strcmp(m, "HEAD")) ||
		    ((rs->status == 301 || rs->status == 302) && !strcmp(m, "POST"))) {
			hop.method = "GET";
			hop.body = NULL;
		}
		char *next = xstrdup(rs->location);
		free(url);
		url = next;
		http_response_release(rs);
	}
	rs->total_ms = total;
	free(url);
	return ret;
}

void http_response_release(struct http_response *rs)
{
	if (!rs)
		return;
	free(rs->body);
	free(rs->location);
	rs->body = rs->location = NULL;
}

int http_get_answer(const struct http_request *req, size_t json_flags, long *status, json_t **doc,
                    char *err, size_t errlen)
{
	struct http_request rq = *req;
	struct http_response rs;
	rq.method = "GET";
	rq.body = NULL;
	rq.follow_redirects = 0;
	*doc = NULL;
	*status = 0;
	err[0] = '\0';
	if (http_fetch(&rq, &rs) < 0) {
		snprintf(err, errlen, "%s", rs.err);
		http_response_release(&rs);
		return -1;
	}
	*status = rs.status;
	json_error_t je;
	*doc = json_loadb(rs.body, rs.body_len, json_flags, &je);
	if (!*doc)
		snprintf(err, errlen, "%s at line %d", je.text, je.line);
	http_response_release(&rs);
	return 0;
}

int http_get_json(const struct http_request *rq, json_t **doc, char *err, size_t errlen)
{
	long status;
	char why[256];
	if (http_get_answer(rq, 0, &status, doc, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	char *shown = url_redact_password(rq->url);
	int ret = -1;
	if (status != 200)
		snprintf(err, errlen, "%s answered status %ld, expected 200", shown, status);
	else if (!*doc)
		snprintf(err, errlen, "%s answered something that is not JSON: %s", shown, why);
	else
		ret = 0;
	if (ret < 0) {
		json_decref(*doc);
		*doc = NULL;
	}
	free(shown);
	return ret;
}

void http_query_add(struct strbuf *sb, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	strbuf_adds(sb, sb->buf && strchr(sb->buf, '?') ? "&" : "?");
	strbuf_adds(sb, name);
	strbuf_adds(sb, "=");
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			strbuf_add(sb, (const char *)p, 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			strbuf_add(sb, e, 3);
		}
	}
}
