/* SPDX-License-Identifier: MIT */
/*
 * The policy: results + runbook + time + overrides in, decision out.
 *
 * Fail closed by construction: ev->allow is cleared on entry and set in
 * exactly one place, at the end, when every condition for an allow has
 * been seen to hold.  Anything unexpected (a blocking runbook check with
 * no result, a status outside the enum, no blocking check at all) simply
 * never reaches that line.
 *
 * No I/O, no clock and no environment: the time is ev->now_ms, and what
 * the windows are at that time (inside one? when and on which local day
 * does the next open?) comes in as values, struct window_facts, worked
 * out by the window module (window.h), the one place that does local-time
 * arithmetic.  Durations and timestamps are written by kit/timefmt.h.
 *
 * policy_decide() may be called again on the same evaluation (the CLI does
 * so after a required audit record failed and set ev->audit_failed): the
 * pseudo-checks are appended once, applied overrides stay applied, and the
 * reasons are rebuilt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"
#include "kit/timefmt.h"

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* "sat,sun 01:00-05:00 Europe/Berlin" */
static char *window_text(const struct rb_window *w)
{
	struct strbuf sb = STRBUF_INIT;
	if ((w->days & 0x7f) == 0x7f) {
		strbuf_adds(&sb, "daily");
	} else {
		const char *sep = "";
		for (int d = 0; d < 7; d++) {
			if (w->days & (1u << d)) {
				strbuf_addf(&sb, "%s%s", sep, day_names[d]);
				sep = ",";
			}
		}
	}
	strbuf_addf(&sb, " %02d:%02d-%02d:%02d %s", w->start_min / 60, w->start_min % 60,
	            w->end_min / 60, w->end_min % 60, w->timezone ? w->timezone : "local time");
	return strbuf_detach(&sb);
}

static struct check_result *append_pseudo(struct eval *ev, const char *id)
{
	ev->results = xrealloc(ev->results, (ev->nresults + 1) * sizeof(*ev->results));
	struct check_result *r = &ev->results[ev->nresults++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->type = id;
	r->severity = RB_SEVERITY_BLOCK;
	r->attempts = 1;
	r->details = json_object();
	return r;
}

static void set_status(struct check_result *r, enum check_status st)
{
	r->status = r->raw_status = st;
}

/* The `window` pseudo-check: pass inside any window; otherwise fail and
 * name the next opening, in the zone of the window that opens first.
 * wf: the windows at ev->now_ms (window_facts_at); without it nothing
 * says the time is inside a window, so the check fails. */
static void add_window_result(struct eval *ev, const struct window_facts *wf)
{
	const struct runbook *rb = ev->rb;
	struct check_result *r = append_pseudo(ev, "window");
	r->description = "maintenance windows";
	json_t *list = json_array();
	for (size_t i = 0; i < rb->nwindows; i++) {
		char *t = window_text(&rb->windows[i]);
		json_array_append_new(list, json_string(t));
		free(t);
	}
	json_object_set_new(r->details, "windows", list);

	if (wf && wf->inside >= 0 && (size_t)wf->inside < rb->nwindows) {
		char *t = window_text(&rb->windows[wf->inside]);
		set_status(r, CHECK_PASS);
		r->summary = xasprintf("inside maintenance window %s", t);
		free(t);
		return;
	}

	set_status(r, CHECK_FAIL);
	if (!wf) {
		r->summary = xstrdup("the maintenance windows were not evaluated");
		return;
	}
	if (wf->next < 0 || (size_t)wf->next >= rb->nwindows || wf->next_open_ms < 0) {
		r->summary = xstrdup(
			"outside every maintenance window; none opens in the next 8 days");
		return;
	}
	const struct rb_window *first = &rb->windows[wf->next];
	int64_t next = wf->next_open_ms;
	int wd = wf->next_wday;
	char in[64], utc[32];
	fmt_duration_approx(next - ev->now_ms, in, sizeof(in));
	fmt_utc_s(next / 1000, utc, sizeof(utc));
	char *when = xasprintf("%s %02d:%02d %s", wd >= 0 && wd < 7 ? day_names[wd] : "?",
	                       first->start_min / 60, first->start_min % 60,
	                       first->timezone ? first->timezone : wf->next_abbr);
	r->summary = xasprintf("outside every maintenance window; next opens %s (in %s)", when, in);
	json_object_set_new(r->details, "next_open", json_string(utc));
	json_object_set_new(r->details, "next_open_local", json_string(when));
	json_object_set_new(r->details, "opens_in", json_string(in));
	free(when);
}

/* The `freeze` pseudo-check: fail inside any freeze, naming the one that
 * ends last (that is when changes may resume). */
static void add_freeze_result(struct eval *ev)
{
	const struct runbook *rb = ev->rb;
	struct check_result *r = append_pseudo(ev, "freeze");
	r->description = "change freezes";
	const struct rb_freeze *last = NULL;
	size_t nactive = 0;
	for (size_t i = 0; i < rb->nfreezes; i++) {
		const struct rb_freeze *f = &rb->freezes[i];
		if (ev->now_ms >= f->from_ms && ev->now_ms < f->to_ms) {
			nactive++;
			if (!last || f->to_ms > last->to_ms)
				last = f;
		}
	}
	if (!last) {
		set_status(r, CHECK_PASS);
		r->summary = xstrdup("no change freeze in effect");
		return;
	}
	char end[32], in[64], more[64] = "";
	fmt_utc_s(last->to_ms / 1000, end, sizeof(end));
	fmt_duration_approx(last->to_ms - ev->now_ms, in, sizeof(in));
	if (nactive > 1)
		snprintf(more, sizeof(more), " (and %zu more)", nactive - 1);
	set_status(r, CHECK_FAIL);
	r->summary = xasprintf("inside change freeze%s%s%s until %s (ends in %s)%s",
	                       last->reason ? " \"" : "", last->reason ? last->reason : "",
	                       last->reason ? "\"" : "", end, in, more);
	char from[32];
	fmt_utc_s(last->from_ms / 1000, from, sizeof(from));
	json_object_set_new(r->details, "from", json_string(from));
	json_object_set_new(r->details, "to", json_string(end));
	json_object_set_new(r->details, "reason",
	                    last->reason ? json_string(last->reason) : json_null());
	json_object_set_new(r->details, "active_freezes", json_integer((json_int_t)nactive));
}

static const struct rb_check *rb_check_by_id(const struct runbook *rb, const char *id)
{
	for (size_t i = 0; rb && i < rb->nchecks; i++)
		if (strcmp(rb->checks[i].id, id) == 0)
			return &rb->checks[i];
	return NULL;
}

/* May --override waive this result?  Runbook checks: their `overridable`.
 * window: every window is overridable; freeze: every active one is. */
static int result_overridable(const struct eval *ev, size_t idx)
{
	const struct runbook *rb = ev->rb;
	const struct check_result *r = &ev->results[idx];
	if (idx < rb->nchecks) {
		const struct rb_check *c = strcmp(rb->checks[idx].id, r->id) == 0
		                                   ? &rb->checks[idx]
		                                   : rb_check_by_id(rb, r->id);
		return c && c->overridable;
	}
	if (strcmp(r->id, "window") == 0) {
		for (size_t i = 0; i < rb->nwindows; i++)
			if (!rb->windows[i].overridable)
				return 0;
		return rb->nwindows > 0;
	}
	if (strcmp(r->id, "freeze") == 0) {
		size_t nactive = 0;
		for (size_t i = 0; i < rb->nfreezes; i++) {
			const struct rb_freeze *f = &rb->freezes[i];
			if (ev->now_ms >= f->from_ms && ev->now_ms < f->to_ms) {
				nactive++;
				if (!f->overridable)
					return 0;
			}
		}
		return nactive > 0;
	}
	return 0;
}

static void apply_override(struct eval *ev, struct eval_override *o)
{
	if (o->applied)
		return; /* a second policy_decide(): already done */
	for (size_t i = 0; i < ev->nresults; i++) {
		struct check_result *r = &ev->results[i];
		if (strcmp(r->id, o->id) != 0)
			continue;
		if (r->status != CHECK_FAIL && r->status != CHECK_ERROR) {
			o->note = r->status == CHECK_PASS
			                  ? "the check passed; nothing to override"
			                  : "only a failing or erroring check can be overridden";
			return;
		}
		if (!result_overridable(ev, i)) {
			r->override_refused = 1;
			o->note = "not overridable: the runbook does not mark it overridable: true";
			return;
		}
		r->raw_status = r->status;
		r->status = CHECK_OVERRIDDEN;
		r->overridden = 1;
		o->applied = 1;
		o->note = NULL;
		return;
	}
	o->note = "no check with this id";
}

static char *reason_line(const struct check_result *r)
{
	const char *summary = r->summary && *r->summary ? r->summary : check_status_name(r->status);
	if (r->status == CHECK_SKIP)
		return xasprintf("%s: skipped: %s", r->id, summary);
	if (r->override_refused)
		return xasprintf("%s: %s (override refused: not overridable)", r->id, summary);
	return xasprintf("%s: %s", r->id, summary);
}

static void add_reason(struct eval *ev, char *line)
{
	ev->reasons = xrealloc(ev->reasons, (ev->nreasons + 2) * sizeof(*ev->reasons));
	ev->reasons[ev->nreasons++] = line;
	ev->reasons[ev->nreasons] = NULL;
}

/* The result of runbook check `idx`: at the same index (the runner keeps
 * runbook order), else searched for. */
static const struct check_result *result_by_id(const struct eval *ev, size_t idx, const char *id)
{
	if (idx < ev->nresults && strcmp(ev->results[idx].id, id) == 0)
		return &ev->results[idx];
	for (size_t i = 0; i < ev->nresults; i++)
		if (strcmp(ev->results[i].id, id) == 0)
			return &ev->results[i];
	return NULL;
}

void policy_decide(struct eval *ev, const struct window_facts *wf)
{
	ev->allow = 0;
	strv_free(ev->reasons);
	ev->reasons = NULL;
	ev->nreasons = 0;

	const struct runbook *rb = ev->rb;
	if (!rb) {
		add_reason(ev, xstrdup("gate: no runbook was evaluated"));
		return;
	}

	/* Pseudo-checks, once, after the runbook's checks. */
	if (ev->nresults <= rb->nchecks) {
		if (rb->nwindows > 0)
			add_window_result(ev, wf);
		if (rb->nfreezes > 0)
			add_freeze_result(ev);
	}

	for (size_t i = 0; i < ev->noverrides; i++)
		apply_override(ev, &ev->overrides[i]);

	int ok = 1;
	size_t nblocking = 0;

	/* A blocking runbook check that has no result at all blocks: the
	 * policy does not trust the runner to have run everything. */
	for (size_t i = 0; i < rb->nchecks; i++) {
		const struct rb_check *c = &rb->checks[i];
		if (c->severity != RB_SEVERITY_BLOCK)
			continue;
		nblocking++;
		if (!result_by_id(ev, i, c->id)) {
			ok = 0;
			add_reason(ev, xasprintf("%s: no result (the check did not run)", c->id));
		}
	}

	for (size_t i = 0; i < ev->nresults; i++) {
		const struct check_result *r = &ev->results[i];
		if (r->severity == RB_SEVERITY_WARN)
			continue; /* reported, never decisive */
		if (r->status == CHECK_PASS || r->status == CHECK_OVERRIDDEN)
			continue;
		ok = 0;
		add_reason(ev, reason_line(r));
	}

	if (nblocking == 0) {
		ok = 0;
		add_reason(ev, xstrdup("gate: the runbook has no blocking check, so nothing "
		                       "vouches for the change"));
	}
	if (ev->audit_failed) {
		ok = 0;
		add_reason(
			ev,
			ev->audit_error[0]
				? xasprintf("audit: %s", ev->audit_error)
				: xstrdup("audit: the required audit record could not be written"));
	}

	for (size_t i = 0; i < ev->nhold_reasons; i++) {
		ok = 0;
		add_reason(ev, xstrdup(ev->hold_reasons[i]));
	}

	if (ok && nblocking > 0 && !ev->audit_failed)
		ev->allow = 1;
}
