/* SPDX-License-Identifier: MIT */
/* Who holds a lock, said the same way by every kind (gate/hold.h). */
#include <stdlib.h>
#include <string.h>

#include "gate/hold.h"
#include "kit/alloc.h"
#include "kit/text.h"
#include "kit/timefmt.h"

static char *who_text(const char *runbook, const char *user, const char *host, long long pid,
                      const char *since)
{
	/* A holder comes back from a file or a server: made safe to print. */
	char *r = text_safe(runbook, TEXT_ONE_LINE), *u = text_safe(user, TEXT_ONE_LINE);
	char *h = text_safe(host, TEXT_ONE_LINE), *s = text_safe(since, TEXT_ONE_LINE);
	char *t = xasprintf("%s by %s@%s pid %lld since %s", r, u, h, pid, s);
	free(r);
	free(u);
	free(h);
	free(s);
	return t;
}

char *hold_who_text(const struct hold_who *w)
{
	char since[32];
	fmt_utc_s(w->since_ms / 1000, since, sizeof(since));
	return who_text(w->runbook ? w->runbook : "?", w->user ? w->user : "?",
	                w->host ? w->host : "?", (long long)w->pid, since);
}

json_t *hold_who_json(const struct hold_who *w)
{
	char since[32];
	fmt_utc_s(w->since_ms / 1000, since, sizeof(since));
	return json_pack("{s:s, s:s, s:s, s:I, s:s}", "runbook", w->runbook ? w->runbook : "?",
	                 "user", w->user ? w->user : "?", "host", w->host ? w->host : "?", "pid",
	                 (json_int_t)w->pid, "since", since);
}

char *hold_who_text_json(const json_t *j)
{
	const char *runbook, *user, *host, *since;
	json_int_t pid;
	if (!json_is_object(j) ||
	    json_unpack((json_t *)j, "{s:s, s:s, s:s, s:I, s:s}", "runbook", &runbook, "user",
	                &user, "host", &host, "pid", &pid, "since", &since) != 0)
		return NULL;
	return who_text(runbook, user, host, (long long)pid, since);
}

void hold_result_release(struct hold_result *r)
{
	free(r->holder);
	free(r->message);
	json_decref(r->details);
	memset(r, 0, sizeof(*r));
}
