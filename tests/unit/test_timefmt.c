/* SPDX-License-Identifier: MIT */
/* kit/timefmt.c: times and durations for people and reports, table by
 * table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "kit/timefmt.h"

static void test_approx(void **state)
{
	static const struct {
		int64_t ms;
		const char *want;
	} rows[] = {
		{0, "0ms"},
		{999, "999ms"},
		{1000, "1.0s"},
		{1550, "1.5s"},
		{9999, "9.9s"},
		{10000, "10s"},
		{59999, "59s"},
		{60000, "1m00s"},
		{725000, "12m05s"},
		{3599999, "59m59s"},
		{3600000, "1h00m"},
		{11100000, "3h05m"},
		{86400000, "1d00h"},
		{183600000, "2d03h"},
		{-40000, "-40s"},
		{-1500, "-1.5s"},
		{INT64_MIN, "-106751991167d07h"},
	};
	char buf[64];
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		fmt_duration_approx(rows[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, rows[i].want);
	}
	/* Truncated to the buffer, always terminated. */
	fmt_duration_approx(183600000, buf, 3);
	assert_string_equal(buf, "2d");
}

static void test_exact(void **state)
{
	static const struct {
		int64_t ms;
		const char *want;
	} rows[] = {
		{0, "0ms"},         {250, "250ms"},      {2500, "2.5s"}, {1250, "1.25s"},
		{5400000, "1h30m"}, {183600000, "2d3h"}, {-5000, "-5s"},
	};
	char buf[64];
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		fmt_duration_ms(rows[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, rows[i].want);
	}
}

static void test_utc(void **state)
{
	char buf[32];
	fmt_utc_s(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	fmt_utc_s(1795000000, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-18T11:06:40Z");
	gate_format_time(1795000000123, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-18T11:06:40.123Z");
	check_fmt_timeout(1998, buf, sizeof(buf));
	assert_string_equal(buf, "2s");
	check_fmt_timeout(250, buf, sizeof(buf));
	assert_string_equal(buf, "250ms");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_approx),
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_utc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
