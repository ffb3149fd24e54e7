/* SPDX-License-Identifier: MIT */
/*
 * Maintenance windows: is a moment inside one, and when does the next one
 * open.  A window is wall-clock time in its IANA zone, so the question is
 * answered with that zone's rules (DST included) through the C library:
 * TZ is switched for the call and restored afterwards.  gate evaluates
 * windows from one thread, so the process-wide TZ is safe to borrow.
 * This is the only code that does so: the policy gets the answers as
 * values (struct window_facts).
 */
#include "window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kit/alloc.h"

struct tz_saved {
	char *old;
	int switched;
};

static void tz_enter(struct tz_saved *sv, const char *zone)
{
	sv->old = NULL;
	sv->switched = 0;
	if (!zone)
		return; /* the machine's local zone */
	const char *cur = getenv("TZ");
	sv->old = cur ? xstrdup(cur) : NULL;
	sv->switched = 1;
	setenv("TZ", zone, 1);
	tzset();
}

static void tz_leave(struct tz_saved *sv)
{
	if (!sv->switched)
		return;
	if (sv->old)
		setenv("TZ", sv->old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(sv->old);
	sv->old = NULL;
}

/* Monday = 0 ... Sunday = 6, as the days bitmask. */
static int monday_based(int tm_wday)
{
	return (tm_wday + 6) % 7;
}

static int day_set(unsigned days, int mday)
{
	return (days >> mday) & 1u;
}

/* The days bitmask names the day a window *starts*: a Saturday 22:00-02:00
 * window covers Sunday 01:00.  end <= start means the window crosses
 * midnight (end == start: a full 24 hours). */
static int contains_local(const struct rb_window *w, int wday, int minute)
{
	int yesterday = (wday + 6) % 7;
	if (w->start_min < w->end_min)
		return day_set(w->days, wday) && minute >= w->start_min && minute < w->end_min;
	return (day_set(w->days, wday) && minute >= w->start_min) ||
	       (day_set(w->days, yesterday) && minute < w->end_min);
}

/* Whole seconds, rounded down (also before 1970). */
static time_t to_time_t(int64_t ms)
{
	return (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
}

int window_contains(const struct rb_window *w, int64_t now_ms)
{
	struct tz_saved sv;
	time_t t = to_time_t(now_ms);
	struct tm tm;
	tz_enter(&sv, w->timezone);
	int ok = localtime_r(&t, &tm) != NULL;
	tz_leave(&sv);
	if (!ok)
		return 0; /* cannot tell: outside (fail closed) */
	return contains_local(w, monday_based(tm.tm_wday), tm.tm_hour * 60 + tm.tm_min);
}

/* Earliest start of w at or after now, within 8 days, or -1.  Called with
 * the window's zone already in effect. */
static int64_t next_start_local(const struct rb_window *w, int64_t now_ms)
{
	time_t t = to_time_t(now_ms);
	struct tm today;
	if (!localtime_r(&t, &today))
		return -1;
	int wday = monday_based(today.tm_wday);
	int64_t best = -1;
	/* Today and the next 8 days.  A start that falls into a DST gap is
	 * normalised forward by mktime (02:30 on a spring-forward day opens
	 * at 03:30), which is when the wall clock first passes it. */
	for (int d = 0; d <= 8; d++) {
		if (!day_set(w->days, (wday + d) % 7))
			continue;
		struct tm c = today;
		c.tm_mday += d;
		c.tm_hour = w->start_min / 60;
		c.tm_min = w->start_min % 60;
		c.tm_sec = 0;
		c.tm_isdst = -1;
		time_t s = mktime(&c);
		if (s == (time_t)-1)
			continue;
		int64_t ms = (int64_t)s * 1000;
		if (ms >= now_ms && (best < 0 || ms < best))
			best = ms;
	}
	return best;
}

int64_t windows_next_open(const struct rb_window *w, size_t n, int64_t now_ms)
{
	int64_t best = -1;
	for (size_t i = 0; i < n; i++) {
		if (!w[i].days)
			continue;
		struct tz_saved sv;
		tz_enter(&sv, w[i].timezone);
		int64_t s = next_start_local(&w[i], now_ms);
		tz_leave(&sv);
		if (s >= 0 && (best < 0 || s < best))
			best = s;
	}
	return best;
}

int window_local_day(int64_t ms, const char *zone, char *abbr, size_t len)
{
	struct tz_saved sv;
	time_t t = to_time_t(ms);
	struct tm tm;
	tz_enter(&sv, zone);
	int ok = localtime_r(&t, &tm) != NULL;
	if (ok && abbr)
		snprintf(abbr, len, "%s", tm.tm_zone ? tm.tm_zone : "local time");
	tz_leave(&sv);
	return ok ? monday_based(tm.tm_wday) : -1;
}

void window_facts_at(const struct rb_window *w, size_t n, int64_t now_ms, struct window_facts *out)
{
	memset(out, 0, sizeof(*out));
	out->inside = out->next = -1;
	out->next_open_ms = -1;
	out->next_wday = -1;
	for (size_t i = 0; i < n && out->inside < 0; i++)
		if (window_contains(&w[i], now_ms))
			out->inside = (long)i;
	if (out->inside >= 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int64_t s = windows_next_open(&w[i], 1, now_ms);
		if (s >= 0 && (out->next_open_ms < 0 || s < out->next_open_ms)) {
			out->next_open_ms = s;
			out->next = (long)i;
		}
	}
	if (out->next >= 0)
		out->next_wday = window_local_day(out->next_open_ms, w[out->next].timezone,
		                                  out->next_abbr, sizeof(out->next_abbr));
}
