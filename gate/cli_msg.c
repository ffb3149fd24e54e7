/* SPDX-License-Identifier: MIT */
#include "msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kit/alloc.h"
#include "kit/strbuf.h"
#include "kit/text.h"

/* A message often echoes text from outside (a server's answer, a value
 * of a file being linted): one line, every control escaped (kit/text.h),
 * so it cannot forge a line or drive the terminal. */
GATE_PRINTF(2, 0)
static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	char *raw = xmalloc(n > 0 ? (size_t)n + 1 : 1);
	if (n < 0 || vsnprintf(raw, (size_t)n + 1, fmt, ap) < 0)
		raw[0] = '\0';
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "gate: %s", prefix);
	text_safe_add(&sb, raw, TEXT_KEEP_TAB);
	strbuf_adds(&sb, "\n");
	fputs(sb.buf, stderr);
	strbuf_release(&sb);
	free(raw);
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
