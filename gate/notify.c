/* SPDX-License-Identifier: MIT */
/*
 * Notifications (gate/notify.h): the bodies, built from the report (so
 * redacted as the report is), and the send of one event's notifications
 * through the transport the program passes in, in a thread of its own so
 * that an allow's notifications do not hold the command back.
 */
#include "notify.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "report.h"
#include "report_impl.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"
#include "kit/text.h"
#include "kit/timefmt.h"

const char *notify_event_name(enum notify_event e)
{
	switch (e) {
	case NOTIFY_BLOCK:
		return "block";
	case NOTIFY_ALLOW:
		return "allow";
	case NOTIFY_RESULT:
		return "result";
	}
	return NULL;
}

/* ---- the bodies ---- */

/* "SIGTERM" for a status of 128+15, as a shell reports a death by signal;
 * NULL for any other status. */
static char *signal_of(int status)
{
	if (status <= 128 || status >= 128 + 65)
		return NULL;
	const char *abbrev = sigabbrev_np(status - 128);
	return abbrev ? xasprintf("SIG%s", abbrev) : xasprintf("signal %d", status - 128);
}

static json_t *result_json(const struct eval *ev)
{
	char *sig = signal_of(ev->exit_status);
	json_t *r = json_pack("{s:i, s:s?, s:f}", "exit_status", ev->exit_status, "signal", sig,
	                      "duration_ms", ev->command_duration_ms);
	free(sig);
	return r;
}

/* Slack takes &, < and > as its markup (<!channel> pages a channel):
 * they are written as entities, so a check's words never become one. */
static void chat_add(struct strbuf *sb, const char *s)
{
	char *safe = text_safe(s ? s : "", TEXT_ONE_LINE);
	for (const char *p = safe; *p; p++) {
		if (*p == '&')
			strbuf_adds(sb, "&amp;");
		else if (*p == '<')
			strbuf_adds(sb, "&lt;");
		else if (*p == '>')
			strbuf_adds(sb, "&gt;");
		else
			strbuf_add(sb, p, 1);
	}
	free(safe);
}

/* `the command`, shell-quoted and redacted as the text report shows it */
static void chat_command(struct strbuf *sb, const struct eval *ev)
{
	char *line = report_command_line(ev);
	strbuf_adds(sb, "`");
	chat_add(sb, line ? line : "");
	strbuf_adds(sb, "`");
	free(line);
}

static void chat_reasons(struct strbuf *sb, const json_t *report)
{
	const json_t *reasons = json_object_get(report, "reasons");
	size_t n = json_array_size(reasons);
	for (size_t i = 0; i < n && i < NOTIFY_CHAT_REASONS; i++) {
		strbuf_adds(sb, i ? "; " : "\n");
		chat_add(sb, json_string_value(json_array_get(reasons, i)));
	}
	if (n > NOTIFY_CHAT_REASONS)
		strbuf_addf(sb, "; and %zu more", n - NOTIFY_CHAT_REASONS);
}

/* One line or two: what happened, where, to which runbook; the reasons
 * of a block or the command's end.  From the report: redacted. */
static char *chat_text(const json_t *report, const struct eval *ev, enum notify_event e,
                       const struct notify_who *who)
{
	struct strbuf sb = STRBUF_INIT;
	char dur[32];
	strbuf_adds(&sb, "gate: ");
	chat_add(&sb, json_string_value(json_object_get(report, "runbook")));
	strbuf_adds(&sb, " on ");
	chat_add(&sb, who->host);
	if (e == NOTIFY_BLOCK) {
		strbuf_adds(&sb, " is blocked (");
		chat_add(&sb, who->user);
		strbuf_adds(&sb, ")");
		chat_reasons(&sb, report);
	} else if (e == NOTIFY_ALLOW) {
		strbuf_adds(&sb, " is allowed (");
		chat_add(&sb, who->user);
		strbuf_adds(&sb, ")");
		if (ev->mode == EVAL_MODE_RUN && ev->command && ev->command[0]) {
			strbuf_adds(&sb, ": running ");
			chat_command(&sb, ev);
		}
	} else {
		char *sig = signal_of(ev->exit_status);
		strbuf_adds(&sb, ": ");
		chat_command(&sb, ev);
		if (sig)
			strbuf_addf(&sb, " ended by %s (status %d)", sig, ev->exit_status);
		else
			strbuf_addf(&sb, " exited %d%s", ev->exit_status,
			            ev->exit_status ? " (failed)" : "");
		fmt_duration_ms((int64_t)ev->command_duration_ms, dur, sizeof(dur));
		strbuf_addf(&sb, " after %s", dur);
		free(sig);
	}
	sb.len = text_cut(sb.buf, sb.len, NOTIFY_CHAT_MAX);
	sb.buf[sb.len] = '\0';
	return strbuf_detach(&sb);
}

char *notify_body(const struct eval *ev, enum notify_event e, int chat,
                  const struct notify_who *who)
{
	json_t *report = report_json(ev);
	json_t *body;
	/* what became of earlier notifications is the audit's, not theirs */
	json_object_del(report, "notifications");
	if (chat) {
		char *text = chat_text(report, ev, e, who);
		body = json_pack("{s:s}", "text", text);
		free(text);
	} else {
		body = json_incref(report);
		json_object_set_new(body, "event", json_string(notify_event_name(e)));
		json_object_set_new(body, "user", json_string(who->user ? who->user : ""));
		json_object_set_new(body, "host", json_string(who->host ? who->host : ""));
		if (e == NOTIFY_RESULT && ev->have_exit_status)
			json_object_set_new(body, "result", result_json(ev));
	}
	json_decref(report);
	/* every string once more: the user and host names, the chat text */
	redact_json(body);
	char *s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(body);
	return s ? s : xstrdup("{}");
}

/* ---- sending ---- */

struct notify_job {
	const struct notify_transport *t;
	const struct runbook *rb;
	enum notify_event e;
	size_t n;
	size_t *item; /* the rb->notify index of each message */
	struct notify_msg *msgs;
	char **bodies;
	struct notify_outcome *out;
	int64_t deadline_ms;
	pthread_t thread;
	int threaded;
};

static void *job_main(void *arg)
{
	struct notify_job *j = arg;
	j->t->send(j->msgs, j->n, j->deadline_ms, j->out);
	return NULL;
}

struct notify_job *notify_start(const struct notify_transport *t, const struct eval *ev,
                                enum notify_event e, const struct notify_who *who)
{
	const struct runbook *rb = ev->rb;
	size_t n = 0;
	for (size_t i = 0; t && rb && i < rb->nnotify; i++)
		n += (rb->notify[i].events & NOTIFY_EVENT_BIT(e)) != 0;
	if (!n)
		return NULL;
	struct notify_job *j = xcalloc(1, sizeof(*j));
	j->t = t;
	j->rb = rb;
	j->e = e;
	j->item = xcalloc(n, sizeof(*j->item));
	j->msgs = xcalloc(n, sizeof(*j->msgs));
	j->bodies = xcalloc(n, sizeof(*j->bodies));
	j->out = xcalloc(n, sizeof(*j->out));
	j->deadline_ms = gate_mono_ms() + NOTIFY_TOTAL_CAP_MS;
	for (size_t i = 0; i < rb->nnotify; i++) {
		const struct rb_notify *it = &rb->notify[i];
		if (!(it->events & NOTIFY_EVENT_BIT(e)))
			continue;
		char **b = &j->bodies[j->n];
		*b = notify_body(ev, e, it->chat, who);
		j->item[j->n] = i;
		j->msgs[j->n] = (struct notify_msg){it->url, (const char *const *)it->headers, *b,
		                                    strlen(*b), it->timeout_ms};
		j->n++;
	}
	/* The sender gets no signal: the stop signals and the command's
	 * forwarding stay the main thread's. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	j->threaded = pthread_create(&j->thread, NULL, job_main, j) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!j->threaded)
		job_main(j);
	return j;
}

/* doc/report.md, "notifications" */
static json_t *outcome_json(const struct notify_job *j, size_t i, const char *shown,
                            const char *why)
{
	const struct notify_outcome *o = &j->out[i];
	json_t *x = json_object();
	json_object_set_new(x, "event", json_string(notify_event_name(j->e)));
	json_object_set_new(x, "notify", json_integer((json_int_t)j->item[i] + 1));
	json_object_set_new(x, "url", json_string(shown));
	json_object_set_new(x, "ok", json_boolean(o->ok));
	json_object_set_new(x, "http_status",
	                    o->http_status ? json_integer(o->http_status) : json_null());
	json_object_set_new(x, "duration_ms",
	                    json_real((double)(int64_t)(o->duration_ms * 10) / 10));
	json_object_set_new(x, "error", why ? json_string(why) : json_null());
	return x;
}

static void push_line(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

int notify_finish(struct notify_job *j, struct eval *ev, char ***failed)
{
	if (failed)
		*failed = NULL;
	if (!j)
		return 0;
	if (j->threaded)
		pthread_join(j->thread, NULL);
	size_t nfail = 0;
	if (!ev->notifications)
		ev->notifications = json_array();
	for (size_t i = 0; i < j->n; i++) {
		char *url = j->t->shown_url ? j->t->shown_url(j->msgs[i].url) : xstrdup("***");
		char *shown = redact_string(url);
		free(url);
		char *why = j->out[i].ok ? NULL
		                         : redact_string(j->out[i].error[0] ? j->out[i].error
		                                                            : "failed");
		json_array_append_new(ev->notifications, outcome_json(j, i, shown, why));
		if (why && failed)
			push_line(failed, &nfail,
			          xasprintf("notify %zu (%s): %s: %s", j->item[i] + 1, shown,
			                    notify_event_name(j->e), why));
		else if (why)
			nfail++;
		free(why);
		free(shown);
	}
	for (size_t i = 0; i < j->n; i++)
		free(j->bodies[i]);
	free(j->bodies);
	free(j->item);
	free(j->msgs);
	free(j->out);
	free(j);
	return (int)nfail;
}

int notify_send(const struct notify_transport *t, struct eval *ev, enum notify_event e,
                const struct notify_who *who, char ***failed)
{
	return notify_finish(notify_start(t, ev, e, who), ev, failed);
}
