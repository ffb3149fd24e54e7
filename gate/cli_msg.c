/* SPDX-License-Identifier: MIT */
#include "msg.h"

#include <stdarg.h>
#include <stdio.h>

GATE_PRINTF(2, 0)
static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "gate: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void msg_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("error: ", fmt, ap);
	va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void msg_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void msg_gate_error(const struct gate_error *err)
{
	char buf[2048];
	msg_error("%s", gate_error_format(err, buf, sizeof(buf)));
}
