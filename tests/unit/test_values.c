/* SPDX-License-Identifier: MIT */
/* Runbook values, table-driven: durations, sizes, RFC 3339 timestamps,
 * HH:MM and the duration formatter. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "kit/timefmt.h"
#include "gate/runbook.h"

/* ok: 1 parsed, 0 not a duration (-1), TOO_BIG over the limit (-2). */
#define TOO_BIG 2

struct dur_case {
	const char *in;
	int ok;
	int64_t ms;
};

static const struct dur_case dur_cases[] = {
	{"500ms", 1, 500},
	{"90s", 1, 90000},
	{"15m", 1, 900000},
	{"2h", 1, 7200000},
	{"1d", 1, 86400000},
	{"1h30m", 1, 5400000},
	{"1d2h3m4s5ms", 1, 93784005},
	{"0s", 1, 0},
	{"1m30s", 1, 90000},
	{"30", 0, 0}, /* bare number: ambiguous */
	{"", 0, 0},
	{"s", 0, 0},
	{"1.5h", 0, 0}, /* no fractions */
	{"-5s", 0, 0},
	{"5 s", 0, 0},
	{"5S", 0, 0},
	{"1w", 0, 0},
	{"30m1h", 0, 0}, /* units from largest to smallest */
	{"1m1m", 0, 0},  /* each once */
	{"1h30", 0, 0},  /* trailing bare number */
	/* The limit: one year, however it is written. */
	{"365d", 1, 31536000000LL},
	{"364d23h59m59s999ms", 1, 31535999999LL},
	{"31536000000ms", 1, 31536000000LL},
	{"525600m", 1, 31536000000LL},
	{"365d1ms", TOO_BIG, 0}, /* the limit + 1 */
	{"31536000001ms", TOO_BIG, 0},
	{"366d", TOO_BIG, 0},
	{"364d24h", 1, 31536000000LL},
	{"364d24h1ms", TOO_BIG, 0}, /* over in the sum */
	{"8760h1s", TOO_BIG, 0},
	/* Far over: no product or sum may wrap around into range (it did:
	 * 106751991167d was accepted and overflowed every deadline). */
	{"9223372036854775807ms", TOO_BIG, 0},
	{"9223372036854775808ms", TOO_BIG, 0},
	{"106751991167d", TOO_BIG, 0},
	{"106751991168d", TOO_BIG, 0},          /* 64-bit overflow in the multiplication */
	{"213503982335d", TOO_BIG, 0},          /* wraps to a small value mod 2^64 */
	{"106751991167d8h", TOO_BIG, 0},        /* 64-bit overflow in the sum */
	{"18446744073709551616ms", TOO_BIG, 0}, /* 2^64 wraps to 0 */
	{"99999999999999999999999s", TOO_BIG, 0},
	{"99999999999999999999999999999999999999999999999999d", TOO_BIG, 0},
	{"1d99999999999999999999999ms", TOO_BIG, 0},
	/* Form before size: a huge number with a bad unit is invalid. */
	{"99999999999999999999999x", 0, 0},
	{"99999999999999999999999", 0, 0},
	{"366d1d", 0, 0},
};

static void test_durations(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dur_cases) / sizeof(dur_cases[0]); i++) {
		const struct dur_case *c = &dur_cases[i];
		int64_t ms = -1;
		int rc = parse_duration_ms(c->in, &ms);
		int want = c->ok == 1 ? 0 : c->ok == TOO_BIG ? GATE_VALUE_TOO_BIG : -1;
		if (rc != want || (rc == 0 && ms != c->ms) || (rc && ms != -1)) {
			print_error("duration '%s': rc %d ms %lld\n", c->in, rc, (long long)ms);
			fail();
		}
	}
}

struct size_case {
	const char *in;
	int ok;
	uint64_t bytes;
};

static const struct size_case size_cases[] = {
	{"512", 1, 512},
	{"0", 1, 0},
	{"512kB", 1, 512000},
	{"64MB", 1, 64000000},
	{"1GB", 1, 1000000000},
	{"2TB", 1, 2000000000000ULL},
	{"64MiB", 1, 67108864},
	{"1GiB", 1, 1073741824},
	{"16KiB", 1, 16384},
	{"10B", 1, 10},
	{"1KB", 0, 0}, /* ambiguous: kB or KiB? */
	{"1kb", 0, 0},
	{"1mib", 0, 0},
	{"", 0, 0},
	{"MiB", 0, 0},
	{"1.5GiB", 0, 0},
	{"-1", 0, 0},
	{"1 MiB", 0, 0},
	/* The limit: 1 PiB. */
	{"1125899906842624", 1, 1125899906842624ULL},
	{"1024TiB", 1, 1125899906842624ULL},
	{"1048576GiB", 1, 1125899906842624ULL},
	{"1125TB", 1, 1125000000000000ULL},
	{"1125899906842kB", 1, 1125899906842000ULL},
	{"1125899906842625", TOO_BIG, 0}, /* the limit + 1 */
	{"1025TiB", TOO_BIG, 0},
	{"1125899906843kB", TOO_BIG, 0},
	{"1126TB", TOO_BIG, 0},
	{"18446744073709551615", TOO_BIG, 0},
	{"18446744073709551616", TOO_BIG, 0},
	{"17179869184GiB", TOO_BIG, 0}, /* 64-bit overflow in the multiplication */
	{"16777216TiB", TOO_BIG, 0},    /* 2^64: wraps to 0 */
	{"99999999999999999999999999999999MiB", TOO_BIG, 0},
	{"99999999999999999999999999999999XiB", 0, 0},
};

static void test_sizes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		const struct size_case *c = &size_cases[i];
		uint64_t b = 0;
		int rc = parse_size_bytes(c->in, &b);
		int want = c->ok == 1 ? 0 : c->ok == TOO_BIG ? GATE_VALUE_TOO_BIG : -1;
		if (rc != want || (rc == 0 && b != c->bytes) || (rc && b != 0)) {
			print_error("size '%s': rc %d bytes %llu\n", c->in, rc,
			            (unsigned long long)b);
			fail();
		}
	}
}

struct ts_case {
	const char *in;
	int ok;
	int64_t ms;
};

static const struct ts_case ts_cases[] = {
	{"1970-01-01T00:00:00Z", 1, 0},
	{"2026-12-20T00:00:00Z", 1, 1797724800000LL},
	{"2026-12-20T01:00:00+01:00", 1, 1797724800000LL},
	{"2026-12-19T19:00:00-05:00", 1, 1797724800000LL},
	{"2026-12-20T00:00:00.5Z", 1, 1797724800500LL},
	{"2026-12-20T00:00:00.123456789Z", 1, 1797724800123LL},
	{"2026-12-20t00:00:00z", 1, 1797724800000LL},
	{"2024-02-29T12:00:00Z", 1, 1709208000000LL},
	{"1969-12-31T23:59:59Z", 1, -1000},
	{"2023-02-29T12:00:00Z", 0, 0}, /* not a leap year */
	{"2026-12-20", 0, 0},
	{"2026-12-20T00:00:00", 0, 0}, /* no zone: ambiguous */
	{"2026-12-20 00:00:00Z", 0, 0},
	{"2026-13-01T00:00:00Z", 0, 0},
	{"2026-12-32T00:00:00Z", 0, 0},
	{"2026-12-20T24:00:00Z", 0, 0},
	{"2026-12-20T00:60:00Z", 0, 0},
	{"2026-12-20T00:00:60Z", 0, 0},
	{"2026-12-20T00:00:00+0100", 0, 0},
	{"2026-12-20T00:00:00.Z", 0, 0},
	{"2026-12-20T00:00:00Zjunk", 0, 0},
	{"", 0, 0},
};

static void test_timestamps(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ts_cases) / sizeof(ts_cases[0]); i++) {
		const struct ts_case *c = &ts_cases[i];
		int64_t ms = 42;
		int rc = parse_rfc3339_ms(c->in, &ms);
		if ((rc == 0) != c->ok || (c->ok && ms != c->ms)) {
			print_error("timestamp '%s': rc %d ms %lld\n", c->in, rc, (long long)ms);
			fail();
		}
	}
}

static void test_hhmm(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int min; /* -1: invalid */
	} cases[] = {
		{"00:00", 0},     {"01:00", 60}, {"23:59", 1439}, {"12:30", 750},
		{"24:00", -1},    {"1:00", -1},  {"01:60", -1},   {"0100", -1},
		{"01:00:00", -1}, {"", -1},      {"aa:bb", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int m = -7;
		int rc = parse_hhmm(cases[i].in, &m);
		if (cases[i].min < 0) {
			assert_int_equal(rc, -1);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(m, cases[i].min);
		}
	}
}

static void test_format(void **state)
{
	(void)state;
	static const struct {
		int64_t ms;
		const char *out;
	} cases[] = {
		{0, "0ms"},       {500, "500ms"},
		{1000, "1s"},     {2500, "2.5s"},
		{1250, "1.25s"},  {1001, "1.001s"},
		{90000, "1m30s"}, {5400000, "1h30m"},
		{86400000, "1d"}, {93784005, "1d2h3m4.005s"},
		{-1500, "-1.5s"}, {120000, "2m"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		fmt_duration_ms(cases[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].out);
		/* What is printed parses back (whole units only). */
		int64_t back;
		if (cases[i].ms >= 0 && !strchr(buf, '.')) {
			assert_int_equal(parse_duration_ms(buf, &back), 0);
			assert_int_equal(back, cases[i].ms);
		}
	}
	char small[4];
	fmt_duration_ms(93784005, small, sizeof(small)); /* truncates, no overflow */
	assert_int_equal(strlen(small), 3);
	fmt_duration_ms(INT64_MIN, small, sizeof(small));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),  cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_timestamps), cmocka_unit_test(test_hhmm),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
