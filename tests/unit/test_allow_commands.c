/* SPDX-License-Identifier: MIT */
/*
 * allow_commands, table-driven (curl's unit1303 style): {pattern, argv,
 * expected, comment}.  A pattern is matched word by word against the argv:
 * fnmatch per argument, a `*` inside a word never crosses into the next
 * argument, and only a lone trailing `*` word matches any further arguments
 * (zero or more).  Rows marked "was allowed" are commands the old matcher
 * (the argv joined by spaces, one fnmatch) let through.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gate/runbook.h"

#define ARGV(...) ((char *const[]){__VA_ARGS__, NULL})

struct row {
	const char *pattern;
	char *const *argv;
	int allowed;
	const char *comment;
};

static const struct row rows[] = {
	{"apt-get install *", ARGV("apt-get", "install", "pkg1", "pkg2"), 1,
         "trailing * takes any further arguments"},
	{"apt-get install *", ARGV("apt-get", "install"), 1, "trailing * takes zero arguments too"},
	{"apt-get install *", ARGV("apt-get", "remove", "pkg1"), 0, "a literal word must match"},
	{"apt-get install *", ARGV("apt-get"), 0, "missing literal word"},
	{"apt-get *", ARGV("apt-get"), 1, "the command alone, no arguments"},
	{"apt-get *  ", ARGV("apt-get", "-y", "install", "x"), 1,
         "blanks after the trailing * do not matter"},
	{"pg_ctl * start", ARGV("pg_ctl", "/x", "start"), 1,
         "a * word in the middle: exactly one argument"},
	{"pg_ctl * start", ARGV("pg_ctl", "-D", "/x", "stop", "start"), 0,
         "was allowed: * spanned three arguments"},
	{"pg_ctl * start", ARGV("pg_ctl", "start"), 0, "a * word in the middle needs an argument"},
	{"echo a*", ARGV("echo", "abc"), 1, "a * inside a word"},
	{"echo a*", ARGV("echo", "a b"), 1,
         "a * inside a word stays inside one argument, blanks and all"},
	{"echo a*", ARGV("echo", "a", "b"), 0, "was allowed: a* reached into the next argument"},
	{"echo a*", ARGV("echo", "a", "rm -rf /"), 0, "was allowed: the same, more dangerous"},
	{"echo a b", ARGV("echo", "a b"), 0, "was allowed: two words are two arguments"},
	{"echo  a", ARGV("echo", "a"), 1, "runs of blanks separate words"},
	{"systemctl restart postgresql@*", ARGV("systemctl", "restart", "postgresql@15-main"), 1,
         "a unit glob"},
	{"systemctl restart postgresql@*", ARGV("systemctl", "restart", "postgresql@15", "sshd"), 0,
         "was allowed: a second unit"},
	{"systemctl restart postgresql@*", ARGV("systemctl", "stop", "postgresql@15-main"), 0,
         "another verb"},
	{"rm -f /tmp/x", ARGV("rm", "-f", "/tmp/x"), 1, "an exact command"},
	{"rm -f /tmp/x", ARGV("rm", "-f", "/tmp/x", "/etc/passwd"), 0,
         "an exact command takes no more arguments"},
	{"rm -f /tmp/x", ARGV("rm", "-f"), 0, "nor fewer"},
	{"true", ARGV("true"), 1, "one word"},
	{"true", ARGV("true", "x"), 0, "one word, no arguments"},
	{"*", ARGV("anything", "at", "all"), 1, "a lone * allows every command"},
	{"* x", ARGV("cmd", "x"), 1, "a leading * word is one argument"},
	{"* x", ARGV("cmd", "y", "x"), 0, "was allowed: a leading * word is one argument only"},
	{"ls *", ARGV("ls", ""), 1, "an empty argument is an argument the trailing * takes"},
	{"ls ?", ARGV("ls", ""), 0, "? needs a character"},
	{"ls [ab]", ARGV("ls", "b"), 1, "bracket expressions per argument"},
	{"", ARGV("true"), 0, "an empty pattern allows nothing"},
	{"   ", ARGV("true"), 0, "a blank pattern allows nothing"},
};

static void test_rows(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		int got = runbook_pattern_matches(r->pattern, r->argv);
		if (got != r->allowed) {
			print_error("row %zu: '%s' against [%s ...]: got %d, want %d (%s)\n", i,
			            r->pattern, r->argv[0], got, r->allowed, r->comment);
			bad = 1;
		}
	}
	assert_false(bad);
}

/* The list: any pattern may allow; none present allows all; [] allows none. */
static void test_list(void **state)
{
	(void)state;
	struct runbook rb;
	memset(&rb, 0, sizeof(rb));
	assert_true(runbook_command_allowed(&rb, ARGV("anything")));
	char *none[] = {NULL};
	rb.allow_commands = none;
	assert_false(runbook_command_allowed(&rb, ARGV("true")));
	char *two[] = {"apt-get install *", "true", NULL};
	rb.allow_commands = two;
	assert_true(runbook_command_allowed(&rb, ARGV("true")));
	assert_true(runbook_command_allowed(&rb, ARGV("apt-get", "install", "x")));
	assert_false(runbook_command_allowed(&rb, ARGV("false")));
	assert_false(runbook_command_allowed(&rb, ARGV("true", "x")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
