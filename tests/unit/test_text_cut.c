/* SPDX-License-Identifier: MIT */
/* kit/text.c text_cut: how much of a text fits a bound without ending
 * inside a UTF-8 sequence.  Rows of {text, max, bytes kept}. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "kit/text.h"

struct row {
	const char *s;
	size_t max;
	size_t want;
	const char *comment;
};

static const struct row rows[] = {
	{"", 0, 0, "empty fits in nothing"},
	{"abc", 3, 3, "exactly fits"},
	{"abc", 10, 3, "fits with room"},
	{"abcdef", 4, 4, "ASCII cut anywhere"},
	{"abcdef", 0, 0, "no room at all"},
	{"caf\xc3\xa9!", 4, 3, "cut inside the two-byte e-acute: backs off before it"},
	{"caf\xc3\xa9!", 5, 5, "cut right after the e-acute keeps it"},
	{"a\xe2\x80\x94z", 2, 1, "inside a three-byte dash, after its first byte"},
	{"a\xe2\x80\x94z", 3, 1, "inside a three-byte dash, after its second byte"},
	{"a\xe2\x80\x94z", 4, 4, "after the dash"},
	{"\xf0\x9f\x94\x92x", 3, 0, "inside a four-byte emoji at the start: nothing kept"},
	{"\xf0\x9f\x94\x92x", 4, 4, "the whole emoji"},
	{"ab\x80\x80\x80"
         "c",
         3, 1, "stray continuation bytes: cut before the byte they follow"},
	{"ab\xff"
         "cd",
         3, 3, "an invalid lead byte is a byte like any other"},
};

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		size_t got = text_cut(r->s, strlen(r->s), r->max);
		if (got != r->want)
			fail_msg("row %zu (%s): kept %zu, want %zu", i, r->comment, got, r->want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
