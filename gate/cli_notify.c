/* SPDX-License-Identifier: MIT */
/* Notifications, the face of them (gate/notify.h): the program's
 * transport (notify/webhook.h) handed to the core, who and where, and a
 * warning for each one that failed.  Only gate run and gate hook run
 * call these: a dry run, lint, serve or rehearse never notifies. */
#include <stdlib.h>

#include "cli.h"
#include "msg.h"
#include "notify/webhook.h"
#include "kit/strbuf.h"

struct notify_job *cli_notify_start(struct cli_session *s, enum notify_event e)
{
	if (!s->have_rb || !s->have_ev || !s->rb.nnotify)
		return NULL;
	char *user = cli_user_name(), *host = cli_host_name();
	struct notify_who who = {user, host};
	struct notify_job *j = notify_start(&gate_notify_webhook, &s->ev, e, &who);
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
