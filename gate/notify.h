/* SPDX-License-Identifier: MIT */
/*
 * Notifications (the runbook's `notify:`, doc/runbook.md "Notifications";
 * the bodies in doc/report.md "Notifications"): after `gate run` or `gate
 * hook run` decides, and after the wrapped command ends, a POST to each
 * URL that asked for the event.  Only those two commands notify: a dry
 * run, lint, serve or rehearse never does (an on-call look must not page
 * anyone).
 *
 * The core builds the bodies (pure: notify_body) and collects what
 * happened; the sending is a transport the program passes in (struct
 * notify_transport: notify/webhook.c, libcurl), so the core names no
 * transport and links no HTTP library.  A notification never changes a
 * decision: what went wrong is in ev->notifications (the report's and
 * the audit records' "notifications") and in the returned count, for the
 * CLI to warn about.  Nothing here prints or exits.
 */
#ifndef GATE_NOTIFY_H
#define GATE_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "eval.h"

enum notify_event { NOTIFY_BLOCK = 0, NOTIFY_ALLOW = 1, NOTIFY_RESULT = 2 };
#define NOTIFY_EVENT_BIT(e) (1u << (e))
#define NOTIFY_EVENTS_ALL 0x7u

/* One URL's wait (its `timeout:`), and the bound on all of one event's
 * notifications together: they are sent in parallel, and whatever has
 * not answered by then is abandoned. */
#define NOTIFY_DEFAULT_TIMEOUT_MS (5 * 1000)
#define NOTIFY_MAX_TIMEOUT_MS (10 * 1000)
#define NOTIFY_TOTAL_CAP_MS (10 * 1000)
/* A chat text's bound, and how many reasons it lists. */
#define NOTIFY_CHAT_MAX 3000
#define NOTIFY_CHAT_REASONS 5

/* "block", "allow", "result"; NULL for anything else. */
const char *notify_event_name(enum notify_event e);

/* Who asks and where, for the bodies. */
struct notify_who {
	const char *user;
	const char *host;
};

/* The body of a notification of event e (the final decision is in ev; a
 * result after ev->have_exit_status): with chat, {"text": "..."}; else
 * the JSON report (report_json: already redacted) plus "event", "user",
 * "host" and, for a result, "result" {exit_status, signal, duration_ms}.
 * Pure; compact JSON, free() it. */
char *notify_body(const struct eval *ev, enum notify_event e, int chat,
                  const struct notify_who *who);

/* ---- the transport (the program passes one in) ---- */

/* One POST.  url and headers may hold secrets: the transport never shows
 * them (an error names no URL: the core says which notification it was). */
struct notify_msg {
	const char *url;
	const char *const *headers; /* NULL-terminated "Name: value" lines */
	const char *body;           /* JSON */
	size_t len;
	int64_t timeout_ms;
};

struct notify_outcome {
	int ok;             /* a 2xx answer came */
	long http_status;   /* 0: no answer */
	double duration_ms; /* until the answer, or until it was given up */
	char error[512];    /* when !ok: why, with no URL or header in it */
};

struct notify_transport {
	const char *name; /* "libcurl" */
	/* The URL as messages show it: the password of its userinfo masked,
	 * nothing after the host (a webhook's path or query is often its
	 * key).  malloc'd. */
	char *(*shown_url)(const char *url);
	/* POST every message, all in parallel, each within its timeout_ms
	 * and all before deadline_ms (gate_mono_ms()); out[i] for m[i].
	 * Never longer than that; called from any one thread at a time. */
	void (*send)(const struct notify_msg *m, size_t n, int64_t deadline_ms,
	             struct notify_outcome *out);
};

/* ---- sending ---- */

/* A send of one event's notifications, possibly under way in a thread of
 * its own (notify_start), so that the command need not wait for it. */
struct notify_job;

/* The runbook's notifications of event e, built from ev now, sent by t
 * in a thread of its own (all signals blocked in it); NULL when no
 * `notify:` item asks for e.  The caller must notify_finish() it. */
struct notify_job *notify_start(const struct notify_transport *t, const struct eval *ev,
                                enum notify_event e, const struct notify_who *who);
/* Wait for the job (never past its cap), append what happened to
 * ev->notifications and return how many failed; *failed (may be NULL)
 * gets one malloc'd line per failure ("notify 2 (https://host/…):
 * HTTP 500"), NULL-terminated, free with strv_free.  NULL job: 0. */
int notify_finish(struct notify_job *job, struct eval *ev, char ***failed);
/* notify_start + notify_finish. */
int notify_send(const struct notify_transport *t, struct eval *ev, enum notify_event e,
                const struct notify_who *who, char ***failed);

#endif
