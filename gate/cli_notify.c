/* SPDX-License-Identifier: MIT */
/* Notifications, the face of them (gate/notify.h): the program's
 * transport (notify/webhook.c, gate's part part-notify.so, gate/part.h,
 * loaded when there is something to send) handed to the core, who and
 * where, and a warning for each one that failed.  Only gate run and gate
 * hook run call these: a dry run, lint, serve or rehearse never notifies. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "msg.h"
#include "part.h"
#include "kit/strbuf.h"

/* Why part-notify.so could not be loaded: every message fails with it. */
static char part_error[480];

static void send_none(const struct notify_msg *m, size_t n, int64_t deadline_ms,
                      struct notify_outcome *out)
{
	for (size_t i = 0; i < n; i++) {
		out[i] = (struct notify_outcome){0};
		snprintf(out[i].error, sizeof(out[i].error), "not sent: %s", part_error);
	}
}

/* What sends when the part cannot be loaded: nothing, each message a
 * failure recorded as any other (no URL shown: the core shows "***"). */
static const struct notify_transport no_transport = {"none", NULL, send_none};

/* The transport, loading the part the first time (from the main thread
 * only: part_error is written once, before any sender thread reads it). */
static const struct notify_transport *transport(void)
{
	static const struct notify_transport *t;
	if (t)
		return t;
	struct gate_error err = {0};
	t = gate_part_load("notify", &err);
	if (t && t->send)
		return t;
	snprintf(part_error, sizeof(part_error), "gate's %.460s",
	         err.set ? err.msg : "part-notify.so has no sender");
	return t = &no_transport;
}

/* Whether an item of the runbook asks for event e. */
static int wanted(const struct runbook *rb, enum notify_event e)
{
	for (size_t i = 0; i < rb->nnotify; i++)
		if (rb->notify[i].events & NOTIFY_EVENT_BIT(e))
			return 1;
	return 0;
}

struct notify_job *cli_notify_start(struct cli_session *s, enum notify_event e)
{
	if (!s->have_rb || !s->have_ev || !wanted(&s->rb, e))
		return NULL;
	char *user = cli_user_name(), *host = cli_host_name();
	struct notify_who who = {user, host};
	struct notify_job *j = notify_start(transport(), &s->ev, e, &who);
	free(user);
	free(host);
	return j;
}

void cli_notify_finish(struct cli_session *s, struct notify_job *job)
{
	char **failed = NULL;
	if (!job)
		return;
	notify_finish(job, &s->ev, &failed);
	/* never quiet: a page that did not go out is news to the operator */
	for (size_t i = 0; failed && failed[i]; i++)
		msg_warn("notification failed: %s", failed[i]);
	strv_free(failed);
}

void cli_notify(struct cli_session *s, enum notify_event e)
{
	cli_notify_finish(s, cli_notify_start(s, e));
}
