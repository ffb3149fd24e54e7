/* SPDX-License-Identifier: MIT */
/* Saying a check's timeout the way the runbook wrote it. */
#ifndef GATE_CHECKS_TIMEFMT_H
#define GATE_CHECKS_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* "3s", "1.5s", "250ms".  The core hands a module what is left of its
 * budget (1998 ms for a "timeout: 2s"), so whole seconds and above are
 * rounded to 100 ms. */
void check_fmt_timeout(int64_t ms, char *buf, size_t len);

#endif
