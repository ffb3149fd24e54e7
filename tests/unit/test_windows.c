/* SPDX-License-Identifier: MIT */
/*
 * Maintenance windows with an injected clock, table-driven (curl's
 * unit1303 style): {window, now, expected, comment}.  Time zones are
 * real tzdata (Europe/Berlin and America/New_York around their 2026 DST
 * changes); windows without a zone use the machine's zone, set per test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gate/runbook.h"
#include "gate/window.h"

#define MON (1u << 0)
#define TUE (1u << 1)
#define WED (1u << 2)
#define THU (1u << 3)
#define FRI (1u << 4)
#define SAT (1u << 5)
#define SUN (1u << 6)
#define ALL 0x7fu

static int64_t at(const char *rfc3339)
{
	int64_t ms;
	if (parse_rfc3339_ms(rfc3339, &ms) < 0) {
		print_error("bad timestamp in test: %s\n", rfc3339);
		fail();
	}
	return ms;
}

static struct rb_window win(unsigned days, const char *start, const char *end, const char *tz)
{
	struct rb_window w;
	memset(&w, 0, sizeof(w));
	w.days = days;
	parse_hhmm(start, &w.start_min);
	parse_hhmm(end, &w.end_min);
	w.timezone = (char *)tz;
	return w;
}

struct contains_case {
	unsigned days;
	const char *start, *end, *tz;
	const char *now;
	int inside;
	const char *comment;
};

static const struct contains_case contains_cases[] = {
	/* Weekend nights in Berlin, winter (CET = UTC+1). */
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-11-28T00:30:00Z", 1, "sat 01:30 CET"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-11-27T23:59:59Z", 0,
         "sat 00:59 CET: not yet"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-11-28T00:00:00Z", 1,
         "sat 01:00 CET: start is inside"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-11-28T03:59:59Z", 1,
         "sat 04:59:59 CET"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-11-28T04:00:00Z", 0,
         "sat 05:00 CET: end is outside"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-11-28T03:30:00Z", 1,
         "04:30 CET in winter"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-11-30T00:30:00Z", 0, "monday"},
	/* Summer (CEST = UTC+2): the same UTC instant is an hour later. */
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-07-04T03:30:00Z", 0,
         "05:30 CEST in summer"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-07-04T23:30:00Z", 1, "sun 01:30 CEST"},
	/* The spring-forward night: 02:00-03:00 does not exist. */
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-03-29T00:00:00Z", 1,
         "01:00 CET on DST day"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-03-29T01:00:00Z", 1,
         "03:00 CEST right after the jump"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-03-29T02:59:59Z", 1, "04:59:59 CEST"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-03-29T03:00:00Z", 0,
         "05:00 CEST: closed (only 3 real hours)"},
	/* The fall-back night: 02:00-03:00 happens twice, both are inside. */
	{SUN, "02:00", "03:00", "Europe/Berlin", "2026-10-25T00:30:00Z", 1,
         "02:30 CEST, first pass"},
	{SUN, "02:00", "03:00", "Europe/Berlin", "2026-10-25T01:30:00Z", 1,
         "02:30 CET, second pass"},
	{SUN, "02:00", "03:00", "Europe/Berlin", "2026-10-25T02:00:00Z", 0, "03:00 CET"},
	{SUN, "02:00", "03:00", "Europe/Berlin", "2026-10-24T23:59:59Z", 0, "01:59:59 CEST"},
	/* Business hours in New York. */
	{MON | TUE | WED | THU | FRI, "09:00", "17:00", "America/New_York", "2026-11-30T14:00:00Z",
         1, "mon 09:00 EST"},
	{MON | TUE | WED | THU | FRI, "09:00", "17:00", "America/New_York", "2026-11-30T13:59:59Z",
         0, "mon 08:59 EST"},
	{MON | TUE | WED | THU | FRI, "09:00", "17:00", "America/New_York", "2026-07-06T13:00:00Z",
         1, "mon 09:00 EDT"},
	{MON | TUE | WED | THU | FRI, "09:00", "17:00", "America/New_York", "2026-07-06T21:00:00Z",
         0, "mon 17:00 EDT"},
	{MON | TUE | WED | THU | FRI, "09:00", "17:00", "America/New_York", "2026-11-28T15:00:00Z",
         0, "saturday"},
	{MON | TUE | WED | THU | FRI, "09:00", "17:00", "America/New_York", "2026-12-01T02:00:00Z",
         0, "mon 21:00 EST is tue in UTC"},
	/* Crossing midnight: the day is the day the window starts. */
	{FRI, "22:00", "02:00", "UTC", "2026-11-27T23:00:00Z", 1, "fri 23:00"},
	{FRI, "22:00", "02:00", "UTC", "2026-11-28T01:59:00Z", 1, "sat 01:59, opened friday"},
	{FRI, "22:00", "02:00", "UTC", "2026-11-28T02:00:00Z", 0, "sat 02:00"},
	{FRI, "22:00", "02:00", "UTC", "2026-11-28T23:00:00Z", 0,
         "sat 23:00: saturday is not listed"},
	{FRI, "22:00", "02:00", "UTC", "2026-11-27T01:00:00Z", 0,
         "fri 01:00: thursday's night is not listed"},
	{FRI, "22:00", "02:00", "UTC", "2026-11-27T21:59:00Z", 0, "fri 21:59"},
	/* end == start: 24 hours from start. */
	{MON, "06:00", "06:00", "UTC", "2026-11-30T06:00:00Z", 1, "mon 06:00"},
	{MON, "06:00", "06:00", "UTC", "2026-12-01T05:59:00Z", 1, "tue 05:59"},
	{MON, "06:00", "06:00", "UTC", "2026-12-01T06:00:00Z", 0, "tue 06:00"},
	{MON, "06:00", "06:00", "UTC", "2026-11-30T05:59:00Z", 0, "mon 05:59"},
	/* Every day. */
	{ALL, "00:00", "23:59", "UTC", "2026-11-25T12:00:00Z", 1, "any day noon"},
	{ALL, "00:00", "23:59", "UTC", "2026-11-25T23:59:30Z", 0, "the last minute is outside"},
	/* No days at all: never inside. */
	{0, "00:00", "00:00", "UTC", "2026-11-25T12:00:00Z", 0, "no days"},
};

static void test_contains(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < sizeof(contains_cases) / sizeof(contains_cases[0]); i++) {
		const struct contains_case *c = &contains_cases[i];
		struct rb_window w = win(c->days, c->start, c->end, c->tz);
		int got = window_contains(&w, at(c->now));
		if (got != c->inside) {
			print_error("case %zu (%s): %s-%s %s at %s: got %d\n", i, c->comment,
			            c->start, c->end, c->tz, c->now, got);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* Without a zone, the machine's local zone (TZ) applies; the window's
 * own zone never leaks into the process. */
static void test_local_zone(void **state)
{
	(void)state;
	struct rb_window local = win(MON, "09:00", "17:00", NULL);
	struct rb_window berlin = win(MON, "09:00", "17:00", "Europe/Berlin");
	setenv("TZ", "America/New_York", 1);
	tzset();
	assert_true(window_contains(&local, at("2026-11-30T14:30:00Z")));   /* 09:30 EST */
	assert_true(window_contains(&berlin, at("2026-11-30T14:30:00Z")));  /* 15:30 CET */
	assert_false(window_contains(&berlin, at("2026-11-30T16:30:00Z"))); /* 17:30 CET */
	assert_true(window_contains(&berlin, at("2026-11-30T08:30:00Z")));
	assert_string_equal(getenv("TZ"), "America/New_York");
	assert_false(window_contains(&local, at("2026-11-30T08:30:00Z"))); /* 03:30 EST */
	setenv("TZ", "UTC", 1);
	tzset();
	assert_true(window_contains(&local, at("2026-11-30T09:30:00Z")));
	assert_false(window_contains(&local, at("2026-11-30T17:30:00Z")));
}

struct next_case {
	unsigned days;
	const char *start, *end, *tz;
	const char *now;
	const char *next; /* NULL: -1 */
	const char *comment;
};

static const struct next_case next_cases[] = {
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-11-25T12:00:00Z",
         "2026-11-28T00:00:00Z", "wed -> sat 01:00 CET"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-11-28T00:00:00Z",
         "2026-11-28T00:00:00Z", "at the start: now"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-11-28T00:00:01Z",
         "2026-11-29T00:00:00Z", "just after: sunday"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-03-28T12:00:00Z",
         "2026-03-29T00:00:00Z", "sat noon -> sun 01:00 CET"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-03-29T00:30:00Z",
         "2026-04-03T23:00:00Z", "next sat is in CEST"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-10-24T12:00:00Z",
         "2026-10-24T23:00:00Z", "sun 01:00 CEST before fall-back"},
	{SAT | SUN, "01:00", "05:00", "Europe/Berlin", "2026-10-25T12:00:00Z",
         "2026-10-31T00:00:00Z", "next sat in CET"},
	{MON | TUE | WED | THU | FRI, "09:00", "17:00", "America/New_York", "2026-11-27T22:00:00Z",
         "2026-11-30T14:00:00Z", "fri evening -> mon 09:00 EST"},
	{MON, "09:00", "17:00", "America/New_York", "2026-03-03T15:00:00Z", "2026-03-09T13:00:00Z",
         "across spring forward: EDT"},
	{FRI, "22:00", "02:00", "UTC", "2026-11-27T23:00:00Z", "2026-12-04T22:00:00Z",
         "inside: the next start"},
	{0, "01:00", "02:00", "UTC", "2026-11-27T23:00:00Z", NULL, "no days: never"},
};

static void test_next_open(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < sizeof(next_cases) / sizeof(next_cases[0]); i++) {
		const struct next_case *c = &next_cases[i];
		struct rb_window w = win(c->days, c->start, c->end, c->tz);
		int64_t got = windows_next_open(&w, 1, at(c->now));
		int64_t want = c->next ? at(c->next) : -1;
		if (got != want) {
			print_error("case %zu (%s): got %lld want %lld\n", i, c->comment,
			            (long long)got, (long long)want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);

	/* Several windows: the earliest. */
	struct rb_window ws[] = {
		win(SAT, "01:00", "05:00", "Europe/Berlin"),
		win(THU, "23:00", "01:00", "UTC"),
		win(0, "00:00", "01:00", NULL),
	};
	assert_int_equal(windows_next_open(ws, 3, at("2026-11-25T12:00:00Z")),
	                 at("2026-11-26T23:00:00Z"));
	assert_int_equal(windows_next_open(ws, 0, at("2026-11-25T12:00:00Z")), -1);

	/* A start inside the spring-forward gap (02:30 does not exist on
	 * 2026-03-29 in Berlin) still opens that night, at or after the
	 * jump, and the window then holds. */
	struct rb_window gap = win(SUN, "02:30", "04:00", "Europe/Berlin");
	int64_t n = windows_next_open(&gap, 1, at("2026-03-28T12:00:00Z"));
	assert_true(n >= at("2026-03-29T01:00:00Z"));
	assert_true(n <= at("2026-03-29T01:30:00Z"));
	assert_true(window_contains(&gap, n));
}

/* The weekday and zone abbreviation of an instant in a zone: what the
 * policy names the next opening by.  TZ is as it was afterwards. */
static void test_local_day(void **state)
{
	(void)state;
	static const struct {
		const char *now, *zone;
		int wday;
		const char *abbr;
	} cases[] = {
		{"2026-11-28T00:00:00Z", "Europe/Berlin", 5, "CET"},    /* sat 01:00 */
		{"2026-11-28T00:00:00Z", "America/New_York", 4, "EST"}, /* fri 19:00 */
		{"2026-07-04T23:30:00Z", "Europe/Berlin", 6, "CEST"},   /* sun 01:30 */
		{"2026-11-26T16:00:00Z", "Asia/Tokyo", 4, "JST"},       /* fri 01:00 */
		{"2026-11-26T16:00:00Z", NULL, 3, "UTC"},               /* the process's TZ=UTC */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char abbr[64] = "";
		assert_int_equal(
			window_local_day(at(cases[i].now), cases[i].zone, abbr, sizeof(abbr)),
			cases[i].wday);
		assert_string_equal(abbr, cases[i].abbr);
		assert_string_equal(getenv("TZ"), "UTC");
	}
	assert_int_equal(window_local_day(at("2026-11-28T00:00:00Z"), "Europe/Berlin", NULL, 0), 5);
}

/* The facts the policy is given: the first window containing now, else
 * the first of the windows opening earliest, and its local day. */
static void test_facts(void **state)
{
	(void)state;
	struct rb_window ws[] = {
		win(MON, "01:00", "02:00", "UTC"),
		win(FRI, "10:00", "11:00", "Asia/Tokyo"),       /* fri 01:00 UTC */
		win(THU, "20:00", "21:00", "America/New_York"), /* fri 01:00 UTC too */
		win(ALL, "00:00", "00:00", NULL),               /* always */
	};
	struct window_facts wf;
	window_facts_at(ws, 3, at("2026-11-26T01:30:00Z"), &wf); /* a Thursday */
	assert_int_equal(wf.inside, -1);
	assert_int_equal(wf.next, 1); /* Tokyo and New York open together: the first */
	assert_int_equal(wf.next_open_ms, at("2026-11-27T01:00:00Z"));
	assert_int_equal(wf.next_wday, 4);
	assert_string_equal(wf.next_abbr, "JST");

	window_facts_at(ws, 4, at("2026-11-26T01:30:00Z"), &wf);
	assert_int_equal(wf.inside, 3);
	assert_int_equal(wf.next, -1);
	assert_int_equal(wf.next_open_ms, -1);

	window_facts_at(ws, 1, at("2026-11-30T01:30:00Z"), &wf);
	assert_int_equal(wf.inside, 0);

	struct rb_window never = win(0, "01:00", "02:00", "UTC");
	window_facts_at(&never, 1, at("2026-11-30T01:30:00Z"), &wf);
	assert_int_equal(wf.inside, -1);
	assert_int_equal(wf.next, -1);
	assert_int_equal(wf.next_wday, -1);
	assert_string_equal(wf.next_abbr, "");

	window_facts_at(NULL, 0, at("2026-11-30T01:30:00Z"), &wf);
	assert_int_equal(wf.inside, -1);
	assert_int_equal(wf.next, -1);
	assert_string_equal(getenv("TZ"), "UTC");
}

static int setup(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contains),  cmocka_unit_test(test_local_zone),
		cmocka_unit_test(test_next_open), cmocka_unit_test(test_local_day),
		cmocka_unit_test(test_facts),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
