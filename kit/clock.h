/* SPDX-License-Identifier: MIT */
/* The two clocks gate reads.  Every deadline, in the core and in the
 * checks, is a CLOCK_MONOTONIC time in milliseconds from gate_mono_ms(). */
#ifndef GATE_KIT_CLOCK_H
#define GATE_KIT_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds: every deadline in gate uses this clock. */
int64_t gate_mono_ms(void);
/* CLOCK_REALTIME in milliseconds since the epoch. */
int64_t gate_now_ms(void);

/* Sleep until the monotonic time until_ms, again after EINTR. */
void gate_sleep_until(int64_t until_ms);

#endif
