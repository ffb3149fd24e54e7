/* SPDX-License-Identifier: MIT */
/* Times, durations and sizes written for people and reports. */
#ifndef GATE_KIT_TIMEFMT_H
#define GATE_KIT_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* RFC 3339 UTC with milliseconds: "2026-11-25T10:00:00.123Z". */
void gate_format_time(int64_t epoch_ms, char *buf, size_t len);

/* A check's timeout the way the runbook wrote it: "3s", "1.5s", "250ms".
 * The core hands a module what is left of its budget (1998 ms for a
 * "timeout: 2s"), so whole seconds and above are rounded to 100 ms. */
void check_fmt_timeout(int64_t ms, char *buf, size_t len);

/* "2026-11-25T10:00:00Z": RFC 3339 UTC to the second ("@N" when the
 * system cannot say it). */
void fmt_utc_s(int64_t epoch_s, char *buf, size_t len);

/* A duration exactly, in the runbook's own syntax, read back by
 * parse_duration_ms: "250ms", "2.5s", "1h30m", "2d3h", "-5s". */
void fmt_duration_ms(int64_t ms, char *buf, size_t len);

/* A duration for people, to its two largest units: "250ms", "1.5s",
 * "40s", "12m05s", "3h05m", "2d03h", "-40s" (truncated, never rounded up
 * past what is known). */
void fmt_duration_approx(int64_t ms, char *buf, size_t len);

/* A size for people, in IEC units: "812 B", "5.30 MiB", "1.02 GiB",
 * "34.5 GiB". */
void fmt_size_iec(uint64_t bytes, char *buf, size_t len);

#endif
