/* SPDX-License-Identifier: MIT */
/*
 * Webhooks over libcurl (webhook.h): every message of one event POSTed at
 * once on a curl multi handle, each within its own timeout and all before
 * the deadline the core gives; whatever has not answered then is given
 * up.  Only http and https, no redirect followed (a 3xx is a failure: the
 * body is not sent on to where a server points), the answer's body read
 * and dropped.  An error names the host and port, never the path, the
 * query, the userinfo or a header (a webhook's key lives there).
 */
#include "webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "checks/lib/url.h"
#include "kit/alloc.h"
#include "kit/clock.h"

/* What a POST waits for at most to connect, inside its timeout. */
#define WEBHOOK_CONNECT_MAX_MS 3000

/* "https://user:***@host:8443/..." -> "https://user:***@host:8443/...":
 * userinfo's password masked (url.h), nothing kept after the authority. */
static char *shown_url(const char *url)
{
	char *red = url_redact_password(url);
	char *sep = strstr(red, "://");
	if (sep) {
		char *rest = sep + 3 + strcspn(sep + 3, "/?#");
		if (*rest && strcmp(rest, "/")) {
			*rest = '\0';
			char *cut = xasprintf("%s/...", red);
			free(red);
			return cut;
		}
	}
	return red;
}

static void host_port(const char *url, char *out, size_t len)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	snprintf(out, len, "the server");
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		snprintf(out, len, "%s:%s", host, port);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

static size_t drop_body(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

struct one {
	CURL *c;
	struct curl_slist *hdrs;
	int64_t start_ms;
	int done;
};

static void start_one(CURLM *multi, struct one *o, const struct notify_msg *m, int64_t left_ms)
{
	long timeout = (long)(m->timeout_ms < left_ms ? m->timeout_ms : left_ms);
	if (timeout < 1)
		timeout = 1;
	o->start_ms = gate_mono_ms();
	o->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	for (const char *const *h = m->headers; h && *h; h++)
		o->hdrs = curl_slist_append(o->hdrs, *h);
	o->c = curl_easy_init();
	if (!o->c)
		return;
	curl_easy_setopt(o->c, CURLOPT_URL, m->url);
	curl_easy_setopt(o->c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(o->c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* A name still being resolved when the POST is given up: its resolver
	 * thread is left behind, not joined (libcurl otherwise waits for the
	 * system resolver's own retries, a minute against a silent DNS server,
	 * past the notifications' deadline). */
	curl_easy_setopt(o->c, CURLOPT_QUICK_EXIT, 1L);
#endif
	curl_easy_setopt(o->c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(o->c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(o->c, CURLOPT_CONNECTTIMEOUT_MS,
	                 timeout < WEBHOOK_CONNECT_MAX_MS ? timeout : WEBHOOK_CONNECT_MAX_MS);
	curl_easy_setopt(o->c, CURLOPT_HTTPHEADER, o->hdrs);
	curl_easy_setopt(o->c, CURLOPT_USERAGENT, "gate/" GATE_VERSION);
	curl_easy_setopt(o->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)m->len);
	curl_easy_setopt(o->c, CURLOPT_POSTFIELDS, m->body);
	curl_easy_setopt(o->c, CURLOPT_WRITEFUNCTION, drop_body);
	curl_easy_setopt(o->c, CURLOPT_PRIVATE, (void *)o);
	curl_multi_add_handle(multi, o->c);
}

static void finish_one(struct one *o, const struct notify_msg *m, CURLcode rc,
                       struct notify_outcome *out)
{
	char hp[160];
	long oserr = 0;
	o->done = 1;
	out->duration_ms = (double)(gate_mono_ms() - o->start_ms);
	host_port(m->url, hp, sizeof(hp));
	if (rc == CURLE_OK) {
		curl_easy_getinfo(o->c, CURLINFO_RESPONSE_CODE, &out->http_status);
		out->ok = out->http_status >= 200 && out->http_status < 300;
		if (!out->ok)
			snprintf(out->error, sizeof(out->error), "%s answered HTTP %ld", hp,
			         out->http_status);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(out->error, sizeof(out->error), "%s did not answer within %lld ms", hp,
		         (long long)m->timeout_ms);
	} else if (rc == CURLE_COULDNT_CONNECT &&
	           curl_easy_getinfo(o->c, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK && oserr > 0) {
		snprintf(out->error, sizeof(out->error), "cannot connect to %s: %s", hp,
		         strerror((int)oserr));
	} else {
		snprintf(out->error, sizeof(out->error), "POST to %s failed: %s", hp,
		         curl_easy_strerror(rc));
	}
}

static void drive(CURLM *multi, struct one *ones, const struct notify_msg *m,
                  struct notify_outcome *out, int64_t deadline_ms)
{
	int running = 1;
	while (running) {
		curl_multi_perform(multi, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(multi, &left))) {
			struct one *o = NULL;
			if (msg->msg != CURLMSG_DONE ||
			    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&o) !=
			            CURLE_OK ||
			    !o)
				continue;
			size_t i = (size_t)(o - ones);
			finish_one(o, &m[i], msg->data.result, &out[i]);
		}
		int64_t wait = deadline_ms - gate_mono_ms();
		if (!running || wait <= 0)
			break;
		curl_multi_poll(multi, NULL, 0, (int)(wait < 1000 ? wait : 1000), NULL);
	}
}

static void send_all(const struct notify_msg *m, size_t n, int64_t deadline_ms,
                     struct notify_outcome *out)
{
	static int ready;
	if (!ready && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		ready = 1;
	CURLM *multi = ready ? curl_multi_init() : NULL;
	struct one *ones = xcalloc(n ? n : 1, sizeof(*ones));
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		if (multi)
			start_one(multi, &ones[i], &m[i], deadline_ms - gate_mono_ms());
	}
	if (multi)
		drive(multi, ones, m, out, deadline_ms);
	for (size_t i = 0; i < n; i++) {
		if (!ones[i].done) {
			char hp[160];
			host_port(m[i].url, hp, sizeof(hp));
			out[i].duration_ms = (double)(gate_mono_ms() - ones[i].start_ms);
			if (ones[i].c)
				snprintf(out[i].error, sizeof(out[i].error),
				         "%s did not answer before the notifications' deadline",
				         hp);
			else
				snprintf(out[i].error, sizeof(out[i].error),
				         "POST to %s could not be started", hp);
		}
		if (ones[i].c) {
			curl_multi_remove_handle(multi, ones[i].c);
			curl_easy_cleanup(ones[i].c);
		}
		curl_slist_free_all(ones[i].hdrs);
	}
	free(ones);
	curl_multi_cleanup(multi);
}

const struct notify_transport gate_notify_webhook = {
	.name = "libcurl",
	.shown_url = shown_url,
	.send = send_all,
};
