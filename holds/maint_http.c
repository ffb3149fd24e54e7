/* SPDX-License-Identifier: MIT */
/* One bounded HTTP exchange for the maintenance kinds (maint_http.h).
 * Every wait ends before the caller's deadline (CURLOPT_TIMEOUT_MS), the
 * connection attempt sooner; the answer's size is capped. */
#include "maint_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "kit/alloc.h"
#include "kit/clock.h"

#define MHTTP_CONNECT_MAX_MS 5000
#define MHTTP_MAX_BODY (16u * 1024 * 1024)

struct sink {
	char *buf;
	size_t len, alloc;
	int too_big;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;
	if (s->len + n > MHTTP_MAX_BODY) {
		s->too_big = 1;
		return 0;
	}
	if (s->len + n + 1 > s->alloc) {
		size_t want = s->alloc ? s->alloc : 4096;
		while (want < s->len + n + 1)
			want *= 2;
		s->buf = xrealloc(s->buf, want);
		s->alloc = want;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

char *mhttp_join(const char *base, const char *path)
{
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	return xasprintf("%.*s%s", (int)bl, base, path);
}

/* "host:port" of the URL, for messages (never the userinfo). */
static void hostport(const char *url, char *out, size_t len)
{
	snprintf(out, len, "the server");
	CURLU *u = xnonnull(curl_url());
	char *host = NULL, *port = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		snprintf(out, len, "%s:%s", host, port);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

static int curl_ready(void)
{
	static int ready;
	if (!ready && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		ready = 1;
	return ready;
}

/* What a failed exchange means, in words, and whether the request may
 * have reached the server. */
static void describe(CURL *c, CURLcode rc, const char *errbuf, const char *url,
                     const struct sink *sink, struct mhttp_response *rs)
{
	char hp[300];
	long oserr = 0;
	curl_off_t connect_us = 0;
	hostport(url, hp, sizeof(hp));
	curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us);
	rs->sent = connect_us > 0;
	const char *why = *errbuf ? errbuf : curl_easy_strerror(rc);
	if (sink->too_big)
		snprintf(rs->err, sizeof(rs->err), "the answer of %s is larger than %u bytes", hp,
		         MHTTP_MAX_BODY);
	else if (rc == CURLE_OPERATION_TIMEDOUT && connect_us <= 0)
		snprintf(rs->err, sizeof(rs->err), "connect to %s timed out", hp);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(rs->err, sizeof(rs->err), "%s did not answer in time (%.0f ms)", hp,
		         rs->ms);
	else if (rc == CURLE_COULDNT_CONNECT &&
	         curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK && oserr > 0)
		snprintf(rs->err, sizeof(rs->err), "cannot connect to %s: %s", hp,
		         strerror((int)oserr));
	else
		snprintf(rs->err, sizeof(rs->err), "request to %s failed: %s", hp, why);
}

static void set_options(CURL *c, const struct mhttp_request *rq, long timeout_ms,
                        struct curl_slist *hdrs, struct sink *sink, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                 timeout_ms < MHTTP_CONNECT_MAX_MS ? timeout_ms : MHTTP_CONNECT_MAX_MS);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MHTTP_MAX_BODY);
	if (rq->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, rq->ca_file);
	if (strcmp(rq->method, "GET"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	if (rq->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(rq->body));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
	}
}

int mhttp_do(const struct mhttp_request *rq, struct mhttp_response *rs)
{
	memset(rs, 0, sizeof(*rs));
	struct sink sink = {0};
	char errbuf[CURL_ERROR_SIZE] = "";
	int64_t start = gate_mono_ms(), timeout_ms = rq->deadline_ms - start;
	int ret = -1;
	CURL *c = NULL;
	struct curl_slist *hdrs = NULL;
	if (timeout_ms < 1) {
		snprintf(rs->err, sizeof(rs->err), "no time left for the request");
	} else if (!rq->url ||
	           (strncasecmp(rq->url, "http://", 7) && strncasecmp(rq->url, "https://", 8))) {
		snprintf(rs->err, sizeof(rs->err), "the URL must start with http:// or https://");
	} else if (!curl_ready() || !(c = curl_easy_init())) {
		snprintf(rs->err, sizeof(rs->err), "libcurl could not initialise");
	} else {
		hdrs = xnonnull(curl_slist_append(NULL, "User-Agent: gate/0.1"));
		/* Alertmanager answers 415 to a body of any other type. */
		if (rq->body)
			hdrs = xnonnull(curl_slist_append(hdrs, "Content-Type: application/json"));
		hdrs = xnonnull(curl_slist_append(hdrs, "Accept: application/json"));
		set_options(c, rq, (long)timeout_ms, hdrs, &sink, errbuf);
		CURLcode rc = curl_easy_perform(c);
		rs->ms = (double)(gate_mono_ms() - start);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
		if (rc == CURLE_OK)
			ret = 0;
		else
			describe(c, rc, errbuf, rq->url, &sink, rs);
	}
	if (ret == 0)
		rs->sent = 1;
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	rs->body = sink.buf ? sink.buf : xcalloc(1, 1);
	rs->len = sink.len;
	return ret;
}

void mhttp_release(struct mhttp_response *rs)
{
	if (!rs)
		return;
	free(rs->body);
	rs->body = NULL;
	rs->len = 0;
}
