/* SPDX-License-Identifier: MIT */
/* Messages to the user on stderr, git style: "gate: error: ...",
 * lowercase, no trailing period.  CLI layer only. */
#ifndef GATE_MSG_H
#define GATE_MSG_H

#include "error.h"

#if defined(__GNUC__)
#define GATE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GATE_PRINTF(a, b)
#endif

void msg_error(const char *fmt, ...) GATE_PRINTF(1, 2);
void msg_warn(const char *fmt, ...) GATE_PRINTF(1, 2);
void msg_note(const char *fmt, ...) GATE_PRINTF(1, 2);
/* "gate: error: file:line:col: msg" */
void msg_gate_error(const struct gate_error *err);

#endif
