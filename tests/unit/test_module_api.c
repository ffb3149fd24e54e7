/* SPDX-License-Identifier: MIT */
/* The documented module API version (gate/MODULE-API.md, last changelog
 * row) must be the header's: hand-kept docs drift. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/module.h"

static void test_changelog_matches_header(void **state)
{
	(void)state;
	const char *src = getenv("GATE_SOURCE_DIR");
	assert_non_null(src);
	char path[4096];
	snprintf(path, sizeof(path), "%s/gate/MODULE-API.md", src);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[4096], last[32] = "";
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		if (sscanf(line, "| %u.%u |", &maj, &min) == 2)
			snprintf(last, sizeof(last), "%u.%u", maj, min);
	}
	fclose(f);
	char want[32];
	snprintf(want, sizeof(want), "%d.%d", GATE_ABI_MAJOR, GATE_ABI_MINOR);
	assert_string_equal(last, want);
}

static void test_version_macros(void **state)
{
	(void)state;
	assert_int_equal(GATE_ABI_VERSION_MAJOR(GATE_ABI_VERSION), GATE_ABI_MAJOR);
	assert_int_equal(GATE_ABI_VERSION_MINOR(GATE_ABI_VERSION), GATE_ABI_MINOR);
	assert_int_equal(GATE_MKVERSION(2, 3), 0x20003);
	/* statuses are ABI: their numbers never change */
	assert_int_equal(GATE_PASS, 0);
	assert_int_equal(GATE_FAIL, 1);
	assert_int_equal(GATE_ERROR, 2);
	assert_int_equal(GATE_SKIP, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changelog_matches_header),
		cmocka_unit_test(test_version_macros),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
