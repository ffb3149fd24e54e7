/* SPDX-License-Identifier: MIT */
/* kit/text.c: text from outside made safe to print.  Rows
 * of {input, flags, expected}; then the JSON variant, which must keep the
 * document's meaning. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "kit/strbuf.h"
#include "kit/text.h"

struct row {
	const char *in;
	unsigned flags;
	const char *want;
	const char *comment;
};

#define ONE TEXT_ONE_LINE
#define KEEP (TEXT_KEEP_NEWLINE | TEXT_KEEP_TAB)

static const struct row rows[] = {
	{"", 0, "", "empty"},
	{"replica lag 3s", 0, "replica lag 3s", "plain ASCII unchanged"},
	{"caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x94\x92", 0,
         "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x94\x92", "valid UTF-8 unchanged"},
	{"C:\\path\\x1b", 0, "C:\\path\\x1b", "backslashes left alone"},
	/* C0 and DEL */
	{"\x1b[32mALLOWED\x1b[0m", 0, "\\x1b[32mALLOWED\\x1b[0m", "ANSI colour"},
	{"\x1b]0;title\x07", ONE, "\\x1b]0;title\\x07", "OSC title with BEL"},
	{"ok\rALLOWED", ONE, "ok\\x0dALLOWED", "a lone CR is escaped in every mode"},
	{"ok\rALLOWED", KEEP, "ok\\x0dALLOWED", "also when newlines are kept"},
	{"a\x7f"
         "b",
         0, "a\\x7fb", "DEL"},
	{"a\x01\x02\x1f", ONE, "a\\x01\\x02\\x1f", "other C0"},
	{"bs\bx", KEEP, "bs\\x08x", "backspace"},
	/* newlines and tabs by mode */
	{"one\ntwo", 0, "one\\x0atwo", "newline escaped by default"},
	{"one\ntwo", ONE, "one two", "newline is a space on one line"},
	{"one\r\ntwo", ONE, "one two", "CRLF is one space on one line"},
	{"one\r\ntwo", KEEP, "one\ntwo", "CRLF kept as a newline"},
	{"one\ntwo\n", KEEP, "one\ntwo\n", "newlines kept"},
	{"a\tb", 0, "a\\x09b", "tab escaped by default"},
	{"a\tb", ONE, "a b", "tab is a space on one line"},
	{"a\tb", TEXT_KEEP_TAB, "a\tb", "tab kept"},
	{"x\n\x1b[1AALLOWED", ONE, "x \\x1b[1AALLOWED", "cursor up after a newline"},
	/* C1 as UTF-8, bidi controls, separators */
	{"\xc2\x9b"
         "31m",
         0, "\\u009b31m", "CSI as U+009B"},
	{"\xc2\x80\xc2\x85\xc2\x9f", 0, "\\u0080\\u0085\\u009f", "C1 range ends and NEL"},
	{"\xc2\xa0", 0, "\xc2\xa0", "U+00A0 is printable"},
	{"\xe2\x80\xae"
         "dekcolb",
         0, "\\u202edekcolb", "right-to-left override"},
	{"\xe2\x81\xa6x\xe2\x81\xa9", 0, "\\u2066x\\u2069", "isolates"},
	{"a\xe2\x80\xa8"
         "b\xe2\x80\xa9",
         ONE, "a\\u2028b\\u2029", "line and paragraph separators"},
	/* not UTF-8 */
	{"\x9b"
         "31m",
         0, "\\x9b31m", "a raw C1 byte (CSI in an 8-bit terminal)"},
	{"lat\xe9n", 0, "lat\\xe9n", "Latin-1"},
	{"\xc0\xaf", 0, "\\xc0\\xaf", "overlong"},
	{"\xed\xa0\x80", 0, "\\xed\\xa0\\x80", "surrogate"},
	{"\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80", "above U+10FFFF"},
	{"\xe2\x80", 0, "\\xe2\\x80", "truncated at the end"},
	{"\xe2(x", 0, "\\xe2(x", "broken in the middle, the rest kept"},
};

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = text_safe(rows[i].in, rows[i].flags);
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("row %zu (%s): got '%s', want '%s'", i, rows[i].comment, got,
			         rows[i].want);
		/* escaping is idempotent: a second pass changes nothing */
		char *again = text_safe(got, rows[i].flags);
		assert_string_equal(again, got);
		assert_true(text_is_safe(got, rows[i].flags));
		free(again);
		free(got);
	}
}

/* Whatever the input, the output has no byte a terminal acts on. */
static void test_every_byte(void **state)
{
	(void)state;
	char in[512];
	size_t n = 0;
	for (int b = 1; b < 256; b++) {
		in[n++] = (char)b;
		in[n++] = (char)b; /* pairs, so valid sequences are not formed by chance alone */
	}
	in[n] = '\0';
	const unsigned flags[] = {0, ONE, KEEP};
	for (size_t f = 0; f < 3; f++) {
		char *got = text_safe(in, flags[f]);
		for (const unsigned char *p = (const unsigned char *)got; *p; p++) {
			if (*p == '\n' && (flags[f] & TEXT_KEEP_NEWLINE))
				continue;
			if (*p == '\t' && (flags[f] & TEXT_KEEP_TAB))
				continue;
			assert_true(*p >= 0x20 && *p < 0x7f);
		}
		free(got);
	}
}

static void test_addn_nul(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	text_safe_addn(&sb, "a\0b", 3, 0);
	assert_string_equal(sb.buf, "a\\x00b");
	strbuf_release(&sb);
	char *e = text_safe(NULL, 0);
	assert_string_equal(e, "");
	free(e);
}

static void test_json(void **state)
{
	(void)state;
	const char *v = "\x1b[31m\xc2\x9b"
			"x\x7f\xe2\x80\xae"
			"caf\xc3\xa9\n";
	json_t *s = json_pack("{s:s}", "summary", v);
	char *dump = json_dumps(s, JSON_INDENT(2));
	struct strbuf sb = STRBUF_INIT;
	text_safe_json(&sb, dump);
	/* no DEL, C1 or bidi byte left; indentation newlines kept */
	assert_null(strstr(sb.buf, "\x7f"));
	assert_null(strstr(sb.buf, "\xc2\x9b"));
	assert_null(strstr(sb.buf, "\xe2\x80\xae"));
	assert_non_null(strstr(sb.buf, "\\u009b"));
	assert_non_null(strstr(sb.buf, "\\u007f"));
	assert_non_null(strstr(sb.buf, "\\u202e"));
	assert_non_null(strstr(sb.buf, "caf\xc3\xa9"));
	assert_non_null(strchr(sb.buf, '\n'));
	for (const unsigned char *p = (const unsigned char *)sb.buf; *p; p++)
		assert_true(*p >= 0x20 || *p == '\n');
	/* and it still means the same */
	json_error_t je;
	json_t *back = json_loads(sb.buf, 0, &je);
	assert_non_null(back);
	assert_string_equal(json_string_value(json_object_get(back, "summary")), v);
	json_decref(back);
	strbuf_release(&sb);
	free(dump);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_addn_nul),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
