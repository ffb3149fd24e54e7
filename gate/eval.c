/* SPDX-License-Identifier: MIT */
/* One evaluation: allocation and names.  Ownership: the eval owns
 * `command` (a strv), `results` with every result's `summary` (malloc'd)
 * and `details`, `reasons` (a strv) and the `overrides` array (whose ids
 * point into argv and are not freed). */
#include "eval.h"

#include <stdlib.h>
#include <string.h>

#include "kit/alloc.h"
#include "kit/strbuf.h"

void eval_init(struct eval *ev, const struct runbook *rb, enum eval_mode mode)
{
	memset(ev, 0, sizeof(*ev));
	ev->rb = rb;
	ev->mode = mode;
	size_t n = rb ? rb->nchecks : 0;
	/* Two spare slots: the policy appends the window and freeze
	 * pseudo-checks after the runbook's checks. */
	ev->results = xcalloc(n + 2, sizeof(*ev->results));
	ev->nresults = n;
	for (size_t i = 0; i < n; i++) {
		const struct rb_check *c = &rb->checks[i];
		struct check_result *r = &ev->results[i];
		r->id = c->id;
		r->type = c->type;
		r->severity = c->severity;
		/* Fail closed: a result nobody filled in is an error. */
		r->status = r->raw_status = CHECK_ERROR;
		r->hint = c->hint;
		r->description = c->description;
	}
	/* Only policy_decide() may make this allow. */
	ev->allow = 0;
}

void eval_release(struct eval *ev)
{
	if (!ev)
		return;
	if (ev->results) {
		for (size_t i = 0; i < ev->nresults; i++) {
			free(ev->results[i].summary);
			json_decref(ev->results[i].details);
		}
		free(ev->results);
	}
	strv_free(ev->reasons);
	strv_free(ev->command);
	free(ev->overrides);
	strv_free(ev->hold_reasons);
	json_decref(ev->holds);
	json_decref(ev->recheck);
	json_decref(ev->notifications);
	memset(ev, 0, sizeof(*ev));
}

const char *check_status_name(enum check_status st)
{
	switch (st) {
	case CHECK_PASS:
		return "pass";
	case CHECK_FAIL:
		return "fail";
	case CHECK_ERROR:
		return "error";
	case CHECK_SKIP:
		return "skip";
	case CHECK_OVERRIDDEN:
		return "overridden";
	}
	return "error";
}

const char *eval_mode_name(enum eval_mode m)
{
	switch (m) {
	case EVAL_MODE_RUN:
		return "run";
	case EVAL_MODE_CHECK:
		return "check";
	case EVAL_MODE_DRY_RUN:
		return "dry-run";
	case EVAL_MODE_REHEARSE:
		return "rehearse";
	}
	return "check";
}
