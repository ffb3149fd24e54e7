/* SPDX-License-Identifier: MIT */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void gate_error_set(struct gate_error *err, const char *file, int line, int col, const char *fmt,
                    ...)
{
	if (!err || err->set)
		return;
	err->set = 1;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = line;
	err->col = col;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

const char *gate_error_format(const struct gate_error *err, char *buf, size_t len)
{
	if (err->file[0] && err->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s", err->file, err->line, err->col, err->msg);
	else if (err->file[0])
		snprintf(buf, len, "%s: %s", err->file, err->msg);
	else
		snprintf(buf, len, "%s", err->msg);
	return buf;
}
