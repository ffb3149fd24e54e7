/* SPDX-License-Identifier: MIT */
/* The first error of an operation, with its position.  Library code
 * (runbook, registry, hooks) fills one and returns -1; only the CLI prints.
 * The first error wins: gate_error_set() does nothing once one is set. */
#ifndef GATE_ERROR_H
#define GATE_ERROR_H

#include <limits.h>
#include <stddef.h>

struct gate_error {
	int set;
	char file[PATH_MAX]; /* "" when not about a file */
	int line, col;       /* 1-based; 0 when unknown */
	char msg[1024];      /* lowercase, no trailing period */
};

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
void gate_error_set(struct gate_error *err, const char *file, int line,
                    int col, const char *fmt, ...);

/* "file:line:col: msg", "file: msg" or "msg" into buf. */
const char *gate_error_format(const struct gate_error *err, char *buf, size_t len);

#endif
