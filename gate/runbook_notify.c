/* SPDX-License-Identifier: MIT */
/*
 * The runbook loader's `notify:` (runbook_impl.h, gate/notify.h,
 * doc/runbook.md "Notifications"): a list of maps
 *
 *   {url: URL, events: [block, allow, result], format: json|chat,
 *    timeout: DUR, headers: {NAME: VALUE}}
 *
 * converted by a parameter table as a check's `with:` is
 * (runbook_params.c): unknown keys are errors, the URL and the header
 * values may take ${env:NAME} and then are secrets of the runbook (a
 * webhook's URL is often its key).  Only the top-level runbook may have
 * it.  Nothing here sends anything: that is gate/notify.c's, after a run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notify.h"
#include "runbook_impl.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"

static const struct gate_param notify_params[] = {
	{"url", GATE_P_STRING, GATE_PF_REQUIRED | GATE_PF_SECRET, NULL, NULL,
         "Where to POST: an http:// or https:// URL.  May be ${env:NAME} (then a secret)."},
	{"events", GATE_P_STRING_LIST, 0, "[block, allow, result]", NULL,
         "Which of block, allow and result (the command's end) are sent."},
	{"format", GATE_P_ENUM, 0, "json", "json|chat",
         "json: the report and the event; chat: {\"text\": ...} for Slack or Mattermost."},
	{"timeout", GATE_P_DURATION, 0, "5s", NULL, "How long one POST may take (at most 10s)."},
	{"headers", GATE_P_STRING_MAP, 0, NULL, NULL,
         "Extra request headers; values may be ${env:NAME} secrets."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static int fail(const char **param, const char *name, char *msg, size_t len, const char *text)
{
	*param = name;
	snprintf(msg, len, "%s", text);
	return -1;
}

/* http:// or https://, a host, no blank or control character anywhere.
 * The transport parses it for real; this refuses what is plainly not a
 * web address, with no quote of the value (it may be a secret). */
static const char *url_problem(const char *u)
{
	size_t skip;
	if (!strncasecmp(u, "http://", 7))
		skip = 7;
	else if (!strncasecmp(u, "https://", 8))
		skip = 8;
	else
		return "expected an http:// or https:// URL";
	for (const unsigned char *p = (const unsigned char *)u; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return "the URL has a blank or a control character";
	const char *host = u + skip, *at = host + strcspn(host, "/?#");
	const char *userinfo_end = memchr(host, '@', (size_t)(at - host));
	if (userinfo_end)
		host = userinfo_end + 1;
	if (host == at || *host == ':')
		return "the URL has no host";
	return NULL;
}

/* RFC 9110 token characters, for a header's name. */
static int is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
			return 0;
	return 1;
}

static int validate_events(const json_t *ev, const char **param, char *msg, size_t len)
{
	unsigned seen = 0;
	size_t i;
	json_t *e;
	if (!json_array_size(ev))
		return fail(param, "events", msg, len, "name at least one of block, allow, result");
	json_array_foreach(ev, i, e) {
		const char *s = json_string_value(e);
		int k = -1;
		for (int j = NOTIFY_BLOCK; j <= NOTIFY_RESULT; j++)
			if (s && !strcmp(s, notify_event_name((enum notify_event)j)))
				k = j;
		if (k < 0) {
			*param = "events";
			snprintf(msg, len,
			         "unknown event '%.64s' (expected block, allow or result)",
			         s ? s : "");
			return -1;
		}
		if (seen & NOTIFY_EVENT_BIT(k)) {
			*param = "events";
			snprintf(msg, len, "'%s' is named twice", s);
			return -1;
		}
		seen |= NOTIFY_EVENT_BIT(k);
	}
	return 0;
}

static int validate_notify(const json_t *p, const char **param, char *msg, size_t len)
{
	const char *why = url_problem(json_string_value(json_object_get(p, "url")));
	if (why)
		return fail(param, "url", msg, len, why);
	if (validate_events(json_object_get(p, "events"), param, msg, len) < 0)
		return -1;
	json_int_t t = json_integer_value(json_object_get(p, "timeout"));
	if (t <= 0 || t > NOTIFY_MAX_TIMEOUT_MS)
		return fail(param, "timeout", msg, len,
		            "must be greater than 0 and at most 10s (a notification never holds "
		            "the command back long)");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)json_object_get(p, "headers"), k, v) {
		if (!is_token(k)) {
			*param = "headers";
			snprintf(msg, len, "'%.64s' is not a header name", k);
			return -1;
		}
		for (const unsigned char *c = (const unsigned char *)json_string_value(v); c && *c;
		     c++)
			if ((*c < ' ' && *c != '\t') || *c == 0x7f) {
				*param = "headers";
				snprintf(msg, len,
				         "the value of header '%s' has a control character", k);
				return -1;
			}
	}
	return 0;
}

static unsigned events_of(const json_t *ev)
{
	unsigned bits = 0;
	size_t i;
	json_t *e;
	json_array_foreach(ev, i, e)
		for (int j = NOTIFY_BLOCK; j <= NOTIFY_RESULT; j++)
			if (!strcmp(json_string_value(e), notify_event_name((enum notify_event)j)))
				bits |= NOTIFY_EVENT_BIT(j);
	return bits;
}

static int load_item(struct loader *L, const struct file_rec *f, const struct yt_node *n,
                     size_t idx, struct rb_notify *out)
{
	if (yt_expect(n, YT_MAPPING, L->err) < 0)
		return -1;
	char *what = xasprintf("notify %zu", idx + 1);
	struct rb_param_owner o = {what, "notification", "notify", notify_params, validate_notify};
	json_t *p = NULL;
	int rc = rb_convert_params(L, &o, n, n, &p);
	free(what);
	if (rc == 0) {
		out->url = xstrdup(json_string_value(json_object_get(p, "url")));
		out->events = events_of(json_object_get(p, "events"));
		out->chat = !strcmp(json_string_value(json_object_get(p, "format")), "chat");
		out->timeout_ms = json_integer_value(json_object_get(p, "timeout"));
		out->pos = rb_pos_of(L, f, n);
		size_t nh = 0;
		const char *k;
		json_t *v;
		out->headers = rb_grow1(NULL, 0, sizeof(*out->headers));
		json_object_foreach(json_object_get(p, "headers"), k, v)
			rb_strv_push(&out->headers, &nh,
			             xasprintf("%s: %s", k, json_string_value(v)));
	}
	json_decref(p);
	return rc;
}

int rb_load_notify(struct loader *L, const struct file_rec *f)
{
	struct runbook *rb = L->rb;
	const struct yt_node *v = yt_map_get(f->doc.root, "notify");
	if (!v || yt_is_null(v))
		return 0;
	if (yt_expect(v, YT_SEQUENCE, L->err) < 0)
		return -1;
	rb->notify = xcalloc(v->nitems + 1, sizeof(*rb->notify));
	for (size_t i = 0; i < v->nitems; i++) {
		/* counted first: a half-loaded item is released too */
		rb->nnotify = i + 1;
		if (load_item(L, f, v->items[i], i, &rb->notify[i]) < 0)
			return -1;
	}
	return 0;
}

void rb_notify_release(struct runbook *rb)
{
	for (size_t i = 0; rb->notify && i < rb->nnotify; i++) {
		free(rb->notify[i].url);
		strv_free(rb->notify[i].headers);
	}
	free(rb->notify);
}
