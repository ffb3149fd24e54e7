/* SPDX-License-Identifier: MIT */
/*
 * Maintenance windows at a moment: the one place gate does local-time
 * arithmetic.  A window is wall-clock time in its IANA zone, so these
 * answers follow that zone's rules (DST included).
 *
 * The policy does not call these: the caller (gate/main.c) asks for the
 * facts at the evaluation's time with window_facts_at() and hands them to
 * policy_decide(), which reads no clock, no zone and no environment.
 */
#ifndef GATE_WINDOW_H
#define GATE_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "runbook.h"

/* Is now_ms inside w?  0 also when the C library cannot tell (closed). */
int window_contains(const struct rb_window *w, int64_t now_ms);
/* Epoch ms of the next start of any window at or after now_ms (searching
 * up to 8 days), or -1. */
int64_t windows_next_open(const struct rb_window *w, size_t n, int64_t now_ms);
/* The weekday (monday = 0 ... sunday = 6) of the instant ms in zone (NULL:
 * the machine's), or -1; abbr (may be NULL) gets the zone's abbreviation
 * at that instant ("CET", "local time" when there is none). */
int window_local_day(int64_t ms, const char *zone, char *abbr, size_t len);

/* What the policy needs to know about a runbook's windows at one time. */
struct window_facts {
	long inside; /* the first window (runbook order) containing now, or -1 */
	/* When no window contains now: */
	int64_t next_open_ms; /* the earliest opening within 8 days, or -1 */
	long next;            /* the window opening then (the first of equals), or -1 */
	int next_wday;        /* its weekday then in its zone, monday = 0, or -1 */
	char next_abbr[64];   /* its zone's abbreviation then ("CET"), or "" */
};

void window_facts_at(const struct rb_window *w, size_t n, int64_t now_ms, struct window_facts *out);

#endif
