/* SPDX-License-Identifier: MIT */
/*
 * Text from outside (a server's answer, a tool's output, a label, even a
 * runbook's strings) made safe to print: nothing in it may move the
 * cursor, recolour the screen, rewrite a line or forge one.  Every report
 * renderer and every message goes through here.
 *
 * Escaped visibly, so the operator sees that something was there:
 *  - C0 controls and DEL as "\x1b", "\x0d", "\x7f";
 *  - C1 controls (U+0080-U+009F), the bidirectional controls (U+061C,
 *    U+200E-U+200F, U+202A-U+202E, U+2066-U+2069) and the line and
 *    paragraph separators (U+2028, U+2029) as "\u009b", "\u202e";
 *  - each byte that is not part of valid UTF-8 as "\xff" (a lone 0x9b
 *    byte is a CSI to a terminal in an 8-bit locale).
 * Backslashes are left as they are.  Never prints; never fails.
 */
#ifndef GATE_KIT_TEXT_H
#define GATE_KIT_TEXT_H

#include <stddef.h>

#include "strbuf.h"

enum {
	/* '\n' (and "\r\n") stays a newline: multi-line bodies */
	TEXT_KEEP_NEWLINE = 1 << 0,
	/* '\t' stays a tab */
	TEXT_KEEP_TAB = 1 << 1,
	/* '\n', "\r\n" and '\t' each become one space: a text on one line
	 * of a line-based format (a summary in a report line) */
	TEXT_ONE_LINE = 1 << 2,
};

/* Append s, made safe, to sb. */
void text_safe_add(struct strbuf *sb, const char *s, unsigned flags);
/* The same for the first n bytes of s (NULs among them are escaped). */
void text_safe_addn(struct strbuf *sb, const char *s, size_t n, unsigned flags);
/* The code point of the valid UTF-8 sequence at s (at most `left` bytes),
 * its length in *len; -1 when s does not start one (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF).  The one decoder every
 * renderer uses. */
long text_utf8_decode(const char *s, size_t left, size_t *len);
/* A safe copy of s (NULL: ""); free() it. */
char *text_safe(const char *s, unsigned flags);
/* 1 when text_safe(s, flags) would be s itself. */
int text_is_safe(const char *s, unsigned flags);

/* JSON text as jansson writes it (valid UTF-8, C0 controls inside strings
 * already escaped) with DEL, C1, bidirectional controls and separators
 * written as JSON escapes ("\u009b"): the document parses to the same
 * values, and no such byte reaches a terminal.  Appended to sb. */
void text_safe_json(struct strbuf *sb, const char *json);

/* s (NULL: "") made valid UTF-8 and nothing more: each byte that is not
 * part of valid UTF-8 written as "\xff" (the rule above), everything else,
 * controls included, left as it is (a tool's output kept in a report's
 * JSON, escaped by the renderer that prints it).  free() it. */
char *text_utf8_valid(const char *s);

/* How many bytes of s (n bytes long) to keep to fit in max bytes without
 * ending inside a UTF-8 sequence: n when it fits, else at most max, backed
 * off over continuation bytes.  For cutting a text to a bound. */
size_t text_cut(const char *s, size_t n, size_t max);

#endif
