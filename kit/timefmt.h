/* SPDX-License-Identifier: MIT */
/* Times and durations written for people and reports. */
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

#endif
