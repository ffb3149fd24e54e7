/* SPDX-License-Identifier: MIT */
/* policy_decide (gate/policy.c), table-driven with an injected clock
 * (ev->now_ms): what allows, what blocks, overrides applied / refused /
 * unknown, windows (inside, outside, crossing midnight, next opening),
 * freezes, a failed required audit, and the order of the reasons.  The
 * windows' local facts come from window_facts_at (gate/window.c) or are
 * written out by hand; every decision asserts that the policy left TZ as
 * it was (the same string at the same address). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "policy.h"
#include "window.h"
#include "kit/alloc.h"

#define MAXC 5

struct ck {
	const char *id;
	enum rb_severity sev;
	enum check_status st;
	int overridable;
	const char *summary;
};

struct row {
	const char *name;
	struct ck checks[MAXC];
	const char *overrides[3];
	int audit_failed;
	int allow;
	const char *reasons[MAXC + 2];
};

#define B RB_SEVERITY_BLOCK
#define W RB_SEVERITY_WARN
#define PASS CHECK_PASS
#define FAIL CHECK_FAIL
#define ERR CHECK_ERROR
#define SKIP CHECK_SKIP

static const struct row rows[] = {
	{"all pass allows",
         {{"a", B, PASS, 0, "ok"}, {"b", B, PASS, 0, "ok"}},
         {NULL},
         0,
         1,
         {NULL}},
	{"one blocking fail blocks",
         {{"a", B, PASS, 0, "ok"}, {"b", B, FAIL, 0, "1 of 2 required replicas streaming"}},
         {NULL},
         0,
         0,
         {"b: 1 of 2 required replicas streaming", NULL}},
	{"one blocking error blocks",
         {{"a", B, ERR, 0, "timeout after 10s"}, {"b", B, PASS, 0, "ok"}},
         {NULL},
         0,
         0,
         {"a: timeout after 10s", NULL}},
	{"one blocking skip blocks",
         {{"a", B, SKIP, 0, "dependency failed"}, {"b", B, PASS, 0, "ok"}},
         {NULL},
         0,
         0,
         {"a: skipped: dependency failed", NULL}},
	{"warn failure allows",
         {{"a", B, PASS, 0, "ok"}, {"disk", W, FAIL, 0, "DISK WARNING"}},
         {NULL},
         0,
         1,
         {NULL}},
	{"warn error and skip allow",
         {{"a", B, PASS, 0, "ok"}, {"w1", W, ERR, 0, "x"}, {"w2", W, SKIP, 0, "y"}},
         {NULL},
         0,
         1,
         {NULL}},
	{"only warn checks: no blocking check blocks",
         {{"disk", W, PASS, 0, "ok"}},
         {NULL},
         0,
         0,
         {"gate: the runbook has no blocking check, so nothing vouches for the change", NULL}},
	{"summary missing: the status stands in",
         {{"a", B, ERR, 0, NULL}},
         {NULL},
         0,
         0,
         {"a: error", NULL}},
	{"override applied to an overridable failing check",
         {{"a", B, PASS, 0, "ok"}, {"disk", B, FAIL, 1, "92% used"}},
         {"disk", NULL},
         0,
         1,
         {NULL}},
	{"override applied to an overridable erroring check",
         {{"a", B, PASS, 0, "ok"}, {"disk", B, ERR, 1, "timeout"}},
         {"disk", NULL},
         0,
         1,
         {NULL}},
	{"override refused on a non-overridable check",
         {{"a", B, PASS, 0, "ok"}, {"replicas", B, FAIL, 0, "0 streaming"}},
         {"replicas", NULL},
         0,
         0,
         {"replicas: 0 streaming (override refused: not overridable)", NULL}},
	{"override naming no check changes nothing",
         {{"a", B, PASS, 0, "ok"}, {"b", B, FAIL, 1, "bad"}},
         {"nosuch", NULL},
         0,
         0,
         {"b: bad", NULL}},
	{"override of one check leaves the other blocking",
         {{"a", B, FAIL, 1, "first"}, {"b", B, FAIL, 1, "second"}},
         {"b", NULL},
         0,
         0,
         {"a: first", NULL}},
	{"override does not waive a skip",
         {{"a", B, SKIP, 1, "not run"}},
         {"a", NULL},
         0,
         0,
         {"a: skipped: not run", NULL}},
	{"audit failure blocks an otherwise clean run",
         {{"a", B, PASS, 0, "ok"}},
         {NULL},
         1,
         0,
         {"audit: the required audit record could not be written", NULL}},
	{"reasons in runbook order, audit last",
         {{"c", B, FAIL, 0, "third"},
          {"a", B, ERR, 0, "first"},
          {"w", W, FAIL, 0, "warn"},
          {"b", B, SKIP, 0, "second"}},
         {NULL},
         1,
         0,
         {"c: third", "a: first", "b: skipped: second",
          "audit: the required audit record could not be written", NULL}},
};

struct fixture {
	struct runbook rb;
	struct rb_check checks[MAXC];
	struct rb_window windows[3];
	struct rb_freeze freezes[3];
	struct eval ev;
	struct window_facts wf;
};

static void fixture_init(struct fixture *f, const struct ck *cks, int64_t now_ms)
{
	memset(f, 0, sizeof(*f));
	f->rb.name = "rb";
	f->rb.path = "rb.yaml";
	f->rb.checks = f->checks;
	for (size_t i = 0; i < MAXC && cks && cks[i].id; i++) {
		f->checks[i].id = (char *)cks[i].id;
		f->checks[i].type = "exec";
		f->checks[i].severity = cks[i].sev;
		f->checks[i].overridable = cks[i].overridable;
		f->rb.nchecks++;
	}
	f->rb.windows = f->windows;
	f->rb.freezes = f->freezes;
}

static void fixture_eval(struct fixture *f, const struct ck *cks, int64_t now_ms)
{
	eval_init(&f->ev, &f->rb, EVAL_MODE_CHECK);
	f->ev.now_ms = now_ms;
	for (size_t i = 0; i < f->rb.nchecks; i++) {
		f->ev.results[i].status = f->ev.results[i].raw_status = cks[i].st;
		f->ev.results[i].summary = cks[i].summary ? xstrdup(cks[i].summary) : NULL;
		f->ev.results[i].details = json_object();
		f->ev.results[i].attempts = 1;
	}
}

/* Decide with facts already in f->wf: the policy reads no environment. */
static void decide_with(struct fixture *f, const struct window_facts *wf)
{
	const char *before = getenv("TZ");
	char *saved = before ? xstrdup(before) : NULL;
	policy_decide(&f->ev, wf);
	const char *after = getenv("TZ");
	assert_ptr_equal(after, before);
	if (saved)
		assert_string_equal(after, saved);
	free(saved);
}

/* The CLI's way: the window module works out the facts at ev.now_ms. */
static void decide(struct fixture *f)
{
	window_facts_at(f->rb.windows, f->rb.nwindows, f->ev.now_ms, &f->wf);
	decide_with(f, &f->wf);
}

static void set_overrides(struct eval *ev, const char *const *ids)
{
	size_t n = 0;
	while (n < 3 && ids[n])
		n++;
	ev->overrides = xcalloc(n + 1, sizeof(*ev->overrides));
	for (size_t i = 0; i < n; i++)
		ev->overrides[i].id = ids[i];
	ev->noverrides = n;
	ev->override_reason = "approved by the DBA on call";
}

static void test_table(void **state)
{
	for (size_t t = 0; t < sizeof(rows) / sizeof(rows[0]); t++) {
		const struct row *r = &rows[t];
		struct fixture f;
		fixture_init(&f, r->checks, 0);
		fixture_eval(&f, r->checks, 1795656600000);
		set_overrides(&f.ev, r->overrides);
		f.ev.audit_failed = r->audit_failed;
		decide(&f);
		print_message("row: %s\n", r->name);
		assert_int_equal(f.ev.allow, r->allow);
		size_t n = 0;
		while (r->reasons[n])
			n++;
		assert_int_equal(f.ev.nreasons, n);
		for (size_t i = 0; i < n; i++)
			assert_string_equal(f.ev.reasons[i], r->reasons[i]);
		assert_null(f.ev.reasons ? f.ev.reasons[n] : NULL);
		/* no window or freeze configured: no pseudo-check */
		assert_int_equal(f.ev.nresults, f.rb.nchecks);
		eval_release(&f.ev);
	}
}

static void test_override_bookkeeping(void **state)
{
	static const struct ck cks[] = {{"disk", B, FAIL, 1, "92% used"},
	                                {"replicas", B, ERR, 0, "refused"},
	                                {"backup", B, PASS, 1, "fresh"},
	                                {NULL, 0, 0, 0, NULL}};
	static const char *const ids[] = {"disk", "replicas", "nosuch"};
	struct fixture f;
	fixture_init(&f, cks, 0);
	fixture_eval(&f, cks, 0);
	set_overrides(&f.ev, ids);
	decide(&f);
	assert_false(f.ev.allow);

	struct check_result *disk = &f.ev.results[0], *rep = &f.ev.results[1];
	assert_int_equal(disk->status, CHECK_OVERRIDDEN);
	assert_int_equal(disk->raw_status, CHECK_FAIL);
	assert_true(disk->overridden);
	assert_true(f.ev.overrides[0].applied);
	assert_null(f.ev.overrides[0].note);

	assert_int_equal(rep->status, CHECK_ERROR);
	assert_true(rep->override_refused);
	assert_false(f.ev.overrides[1].applied);
	assert_non_null(strstr(f.ev.overrides[1].note, "not overridable"));

	assert_false(f.ev.overrides[2].applied);
	assert_string_equal(f.ev.overrides[2].note, "no check with this id");

	/* Deciding again (after an audit failure, say) keeps the applied
	 * override, appends nothing and rebuilds the reasons. */
	f.ev.audit_failed = 1;
	snprintf(f.ev.audit_error, sizeof(f.ev.audit_error),
	         "cannot write audit log /x: Permission denied");
	decide(&f);
	assert_false(f.ev.allow);
	assert_int_equal(disk->status, CHECK_OVERRIDDEN);
	assert_int_equal(f.ev.nreasons, 2);
	assert_string_equal(f.ev.reasons[0],
	                    "replicas: refused (override refused: not overridable)");
	assert_string_equal(f.ev.reasons[1], "audit: cannot write audit log /x: Permission denied");
	eval_release(&f.ev);
}

/* A blocking runbook check whose result the runner never filled in (left
 * as eval_init made it) or that is missing altogether blocks. */
static void test_missing_result_blocks(void **state)
{
	static const struct ck cks[] = {
		{"a", B, PASS, 0, "ok"}, {"b", B, PASS, 0, "ok"}, {NULL, 0, 0, 0, NULL}};
	struct fixture f;
	fixture_init(&f, cks, 0);
	eval_init(&f.ev, &f.rb, EVAL_MODE_RUN);
	f.ev.results[0].status = CHECK_PASS;
	/* results[1] untouched: eval_init's fail-closed CHECK_ERROR */
	decide(&f);
	assert_false(f.ev.allow);
	assert_int_equal(f.ev.nreasons, 1);
	assert_string_equal(f.ev.reasons[0], "b: error");
	eval_release(&f.ev);

	fixture_init(&f, cks, 0);
	fixture_eval(&f, cks, 0);
	f.ev.nresults = 1; /* the runner "lost" check b */
	decide(&f);
	assert_false(f.ev.allow);
	assert_string_equal(f.ev.reasons[0], "b: no result (the check did not run)");
	f.ev.nresults = 2;
	eval_release(&f.ev);
}

/* Results in another order than the runbook's are still matched by id. */
static void test_results_out_of_order(void **state)
{
	static const struct ck cks[] = {
		{"a", B, PASS, 0, "ok"}, {"b", B, FAIL, 1, "bad"}, {NULL, 0, 0, 0, NULL}};
	static const char *const ov[] = {"b", NULL};
	struct fixture f;
	fixture_init(&f, cks, 0);
	fixture_eval(&f, cks, 0);
	struct check_result tmp = f.ev.results[0];
	f.ev.results[0] = f.ev.results[1];
	f.ev.results[1] = tmp;
	set_overrides(&f.ev, ov);
	decide(&f);
	assert_true(f.ev.allow);
	assert_int_equal(f.ev.results[0].status, CHECK_OVERRIDDEN);
	eval_release(&f.ev);
}

static void test_no_runbook_blocks(void **state)
{
	struct eval ev;
	eval_init(&ev, NULL, EVAL_MODE_CHECK);
	policy_decide(&ev, NULL);
	assert_false(ev.allow);
	assert_int_equal(ev.nreasons, 1);
	eval_release(&ev);
}

/* --- windows --------------------------------------------------------- */

#define DAY(d) (1u << (d))         /* 0 = mon */
#define T_THU_0130 1795656600000LL /* 2026-11-26T01:30:00Z, a Thursday */
#define T_SAT_0000 1795824000000LL /* 2026-11-28T00:00:00Z */
#define T_FRI_2330 1795822200000LL /* 2026-11-27T23:30:00Z */
#define T_SAT_0100 1795827600000LL
#define T_SAT_0300 1795834800000LL

struct wrow {
	const char *name;
	struct rb_window w[2];
	size_t nw;
	int64_t now;
	int window_overrides;
	enum check_status want;
	const char *summary;
};

static const struct wrow wrows[] = {
	{"outside: next opening named in the window's zone",
         {{DAY(5) | DAY(6), 60, 300, "Europe/Berlin", 0, {0}}},
         1,
         T_THU_0130,
         0,
         CHECK_FAIL,
         "outside every maintenance window; next opens sat 01:00 Europe/Berlin (in 1d22h)"},
	{"inside (Berlin 01:00 on Saturday is 00:00 UTC)",
         {{DAY(5) | DAY(6), 60, 300, "Europe/Berlin", 0, {0}}},
         1,
         T_SAT_0000,
         0,
         CHECK_PASS,
         "inside maintenance window sat,sun 01:00-05:00 Europe/Berlin"},
	{"crossing midnight, before midnight",
         {{DAY(4), 22 * 60, 2 * 60, "UTC", 0, {0}}},
         1,
         T_FRI_2330,
         0,
         CHECK_PASS,
         "inside maintenance window fri 22:00-02:00 UTC"},
	{"crossing midnight, after midnight (the day it started counts)",
         {{DAY(4), 22 * 60, 2 * 60, "UTC", 0, {0}}},
         1,
         T_SAT_0100,
         0,
         CHECK_PASS,
         "inside maintenance window fri 22:00-02:00 UTC"},
	{"crossing midnight, after its end",
         {{DAY(4), 22 * 60, 2 * 60, "UTC", 0, {0}}},
         1,
         T_SAT_0300,
         0,
         CHECK_FAIL,
         "outside every maintenance window; next opens fri 22:00 UTC (in 6d19h)"},
	{"the earliest of two windows is named",
         {{DAY(0), 60, 120, "UTC", 0, {0}}, {DAY(4), 600, 660, "Asia/Tokyo", 0, {0}}},
         2,
         T_THU_0130,
         0,
         CHECK_FAIL,
         "outside every maintenance window; next opens fri 10:00 Asia/Tokyo (in 23h30m)"},
	{"overridable windows: --override window waives",
         {{DAY(5), 60, 300, "UTC", 1, {0}}},
         1,
         T_THU_0130,
         1,
         CHECK_OVERRIDDEN,
         NULL},
	{"one window not overridable: refused",
         {{DAY(5), 60, 300, "UTC", 1, {0}}, {DAY(6), 60, 300, "UTC", 0, {0}}},
         2,
         T_THU_0130,
         1,
         CHECK_FAIL,
         NULL},
};

static void test_windows(void **state)
{
	static const struct ck cks[] = {{"a", B, PASS, 0, "ok"}, {NULL, 0, 0, 0, NULL}};
	for (size_t t = 0; t < sizeof(wrows) / sizeof(wrows[0]); t++) {
		const struct wrow *r = &wrows[t];
		print_message("window row: %s\n", r->name);
		struct fixture f;
		fixture_init(&f, cks, 0);
		memcpy(f.windows, r->w, sizeof(r->w));
		f.rb.nwindows = r->nw;
		fixture_eval(&f, cks, r->now);
		static const char *const ov[] = {"window", NULL};
		static const char *const none[] = {NULL};
		set_overrides(&f.ev, r->window_overrides ? ov : none);
		decide(&f);

		assert_int_equal(f.ev.nresults, 2);
		struct check_result *w = &f.ev.results[1];
		assert_string_equal(w->id, "window");
		assert_string_equal(w->type, "window");
		assert_int_equal(w->severity, RB_SEVERITY_BLOCK);
		assert_int_equal(w->status, r->want);
		assert_non_null(w->details);
		if (r->summary)
			assert_string_equal(w->summary, r->summary);
		int allow = r->want == CHECK_PASS || r->want == CHECK_OVERRIDDEN;
		assert_int_equal(f.ev.allow, allow);
		if (!allow) {
			assert_int_equal(f.ev.nreasons, 1);
			assert_memory_equal(f.ev.reasons[0], "window: ", 8);
		}
		if (r->want == CHECK_FAIL && !r->window_overrides) {
			assert_non_null(json_object_get(w->details, "next_open"));
		}
		eval_release(&f.ev);
	}
}

/* The zones are worked out by the window module with whatever TZ the
 * process has; the same facts give the same decision, and the policy
 * leaves TZ alone (decide_with asserts it).  Rows: a TZ far from the
 * windows' zones, TZ unset, and TZ = the window's own zone. */
static void test_zones_whatever_tz(void **state)
{
	static const struct ck cks[] = {{"a", B, PASS, 0, "ok"}, {NULL, 0, 0, 0, NULL}};
	static const char *const tzs[] = {"Pacific/Kiritimati", NULL, "Asia/Tokyo", "UTC"};
	const char *orig = getenv("TZ");
	char *saved = orig ? xstrdup(orig) : NULL;
	for (size_t i = 0; i < sizeof(tzs) / sizeof(tzs[0]); i++) {
		if (tzs[i])
			setenv("TZ", tzs[i], 1);
		else
			unsetenv("TZ");
		struct fixture f;
		fixture_init(&f, cks, 0);
		f.windows[0] = (struct rb_window){DAY(0), 60, 120, "UTC", 0, {0}};
		f.windows[1] = (struct rb_window){DAY(4), 600, 660, "Asia/Tokyo", 0, {0}};
		f.rb.nwindows = 2;
		fixture_eval(&f, cks, T_THU_0130);
		decide(&f);
		print_message("TZ=%s\n", tzs[i] ? tzs[i] : "(unset)");
		assert_string_equal(f.ev.results[1].summary,
		                    "outside every maintenance window; next opens fri 10:00 "
		                    "Asia/Tokyo (in 23h30m)");
		assert_string_equal(
			json_string_value(json_object_get(f.ev.results[1].details, "next_open")),
			"2026-11-27T01:00:00Z");
		const char *now_tz = getenv("TZ");
		if (tzs[i])
			assert_string_equal(now_tz, tzs[i]);
		else
			assert_null(now_tz);
		eval_release(&f.ev);
	}
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	free(saved);
}

/* Facts written by hand: the policy says what it is given (the weekday
 * and the zone's abbreviation of a window without a zone), whatever the
 * process's TZ is; and without facts a runbook with windows blocks. */
struct frow {
	const char *name;
	struct window_facts wf;
	int use_wf;
	enum check_status want;
	const char *summary;
};

static const struct frow frows[] = {
	{"inside the second window",
         {1, -1, -1, -1, ""},
         1,
         CHECK_PASS,
         "inside maintenance window sat 22:00-02:00 local time"},
	{"next opening in a local zone, named by its abbreviation",
         {-1, T_THU_0130 + 2 * 3600000, 1, 5, "CET"},
         1,
         CHECK_FAIL,
         "outside every maintenance window; next opens sat 22:00 CET (in 2h00m)"},
	{"weekday unknown",
         {-1, T_THU_0130 + 90000, 0, -1, ""},
         1,
         CHECK_FAIL,
         "outside every maintenance window; next opens ? 01:00 UTC (in 1m30s)"},
	{"none opens",
         {-1, -1, -1, -1, ""},
         1,
         CHECK_FAIL,
         "outside every maintenance window; none opens in the next 8 days"},
	{"a window index out of range is none",
         {7, -1, 9, 2, "X"},
         1,
         CHECK_FAIL,
         "outside every maintenance window; none opens in the next 8 days"},
	{"no facts at all: fail closed",
         {0},
         0,
         CHECK_FAIL,
         "the maintenance windows were not evaluated"},
};

static void test_window_facts_given(void **state)
{
	static const struct ck cks[] = {{"a", B, PASS, 0, "ok"}, {NULL, 0, 0, 0, NULL}};
	const char *orig = getenv("TZ");
	char *saved = orig ? xstrdup(orig) : NULL;
	setenv("TZ", "America/New_York", 1);
	for (size_t t = 0; t < sizeof(frows) / sizeof(frows[0]); t++) {
		const struct frow *r = &frows[t];
		print_message("facts row: %s\n", r->name);
		struct fixture f;
		fixture_init(&f, cks, 0);
		f.windows[0] = (struct rb_window){DAY(3), 60, 120, "UTC", 0, {0}};
		f.windows[1] = (struct rb_window){DAY(5), 22 * 60, 2 * 60, NULL, 0, {0}};
		f.rb.nwindows = 2;
		fixture_eval(&f, cks, T_THU_0130);
		decide_with(&f, r->use_wf ? &r->wf : NULL);
		assert_string_equal(getenv("TZ"), "America/New_York");
		assert_int_equal(f.ev.results[1].status, r->want);
		assert_string_equal(f.ev.results[1].summary, r->summary);
		assert_int_equal(f.ev.allow, r->want == CHECK_PASS);
		eval_release(&f.ev);
	}
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	free(saved);
}

/* --- freezes --------------------------------------------------------- */

#define T_DEC20 1797724800000LL
#define T_JAN04 1799020800000LL
#define T_DEC24_10 1798106400000LL

static void test_freeze(void **state)
{
	static const struct ck cks[] = {{"a", B, PASS, 0, "ok"}, {NULL, 0, 0, 0, NULL}};
	struct fixture f;

	/* inside: fail, with reason and end */
	fixture_init(&f, cks, 0);
	f.freezes[0] = (struct rb_freeze){T_DEC20, T_JAN04, "year-end change freeze", 0, {0}};
	f.rb.nfreezes = 1;
	fixture_eval(&f, cks, T_DEC24_10);
	decide(&f);
	assert_false(f.ev.allow);
	assert_int_equal(f.ev.nresults, 2);
	assert_string_equal(f.ev.results[1].id, "freeze");
	assert_int_equal(f.ev.results[1].status, CHECK_FAIL);
	assert_string_equal(f.ev.results[1].summary,
	                    "inside change freeze \"year-end change freeze\" until "
	                    "2027-01-04T00:00:00Z (ends in 10d14h)");
	assert_string_equal(f.ev.reasons[0],
	                    "freeze: inside change freeze \"year-end change freeze\" until "
	                    "2027-01-04T00:00:00Z (ends in 10d14h)");
	eval_release(&f.ev);

	/* before and at its end ([from, to)): pass */
	int64_t outside[] = {T_DEC20 - 1, T_JAN04};
	for (size_t i = 0; i < 2; i++) {
		fixture_init(&f, cks, 0);
		f.freezes[0] = (struct rb_freeze){T_DEC20, T_JAN04, "year-end", 0, {0}};
		f.rb.nfreezes = 1;
		fixture_eval(&f, cks, outside[i]);
		decide(&f);
		assert_true(f.ev.allow);
		assert_int_equal(f.ev.results[1].status, CHECK_PASS);
		eval_release(&f.ev);
	}

	/* at its first millisecond: fail */
	fixture_init(&f, cks, 0);
	f.freezes[0] = (struct rb_freeze){T_DEC20, T_JAN04, NULL, 0, {0}};
	f.rb.nfreezes = 1;
	fixture_eval(&f, cks, T_DEC20);
	decide(&f);
	assert_false(f.ev.allow);
	eval_release(&f.ev);

	/* overridable freeze: --override freeze waives it */
	static const char *const ov[] = {"freeze", NULL};
	fixture_init(&f, cks, 0);
	f.freezes[0] = (struct rb_freeze){T_DEC20, T_JAN04, "year-end", 1, {0}};
	f.rb.nfreezes = 1;
	fixture_eval(&f, cks, T_DEC24_10);
	set_overrides(&f.ev, ov);
	decide(&f);
	assert_true(f.ev.allow);
	assert_int_equal(f.ev.results[1].status, CHECK_OVERRIDDEN);
	assert_int_equal(f.ev.results[1].raw_status, CHECK_FAIL);
	eval_release(&f.ev);

	/* two active freezes, one not overridable: refused, still blocks */
	fixture_init(&f, cks, 0);
	f.freezes[0] = (struct rb_freeze){T_DEC20, T_JAN04, "year-end", 1, {0}};
	f.freezes[1] = (struct rb_freeze){
		T_DEC24_10 - 3600000, T_DEC24_10 + 3600000, "incident", 0, {0}};
	f.rb.nfreezes = 2;
	fixture_eval(&f, cks, T_DEC24_10);
	set_overrides(&f.ev, ov);
	decide(&f);
	assert_false(f.ev.allow);
	assert_true(f.ev.results[1].override_refused);
	assert_non_null(strstr(f.ev.results[1].summary, "(and 1 more)"));
	eval_release(&f.ev);
}

/* Window and freeze both fail: reasons are runbook checks first, then
 * window, then freeze. */
static void test_pseudo_order(void **state)
{
	static const struct ck cks[] = {{"z", B, FAIL, 0, "bad"}, {NULL, 0, 0, 0, NULL}};
	struct fixture f;
	fixture_init(&f, cks, 0);
	f.windows[0] = (struct rb_window){DAY(5), 60, 300, "UTC", 0, {0}};
	f.rb.nwindows = 1;
	f.freezes[0] = (struct rb_freeze){T_THU_0130 - 1000, T_THU_0130 + 1000, "x", 0, {0}};
	f.rb.nfreezes = 1;
	fixture_eval(&f, cks, T_THU_0130);
	decide(&f);
	assert_int_equal(f.ev.nresults, 3);
	assert_string_equal(f.ev.results[1].id, "window");
	assert_string_equal(f.ev.results[2].id, "freeze");
	assert_int_equal(f.ev.nreasons, 3);
	assert_string_equal(f.ev.reasons[0], "z: bad");
	assert_memory_equal(f.ev.reasons[1], "window: ", 8);
	assert_memory_equal(f.ev.reasons[2], "freeze: ", 8);
	eval_release(&f.ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_override_bookkeeping),
		cmocka_unit_test(test_missing_result_blocks),
		cmocka_unit_test(test_results_out_of_order),
		cmocka_unit_test(test_no_runbook_blocks),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_zones_whatever_tz),
		cmocka_unit_test(test_window_facts_given),
		cmocka_unit_test(test_freeze),
		cmocka_unit_test(test_pseudo_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
