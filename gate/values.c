/* SPDX-License-Identifier: MIT */
/*
 * Runbook values (doc/runbook.md, "Values"): durations, sizes, RFC 3339
 * timestamps and HH:MM times.  Strict on purpose: a value that is not
 * exactly one of the documented forms is refused, because a guess could
 * loosen a gate ("30" seconds or minutes?).
 */
#include "values.h"

#include <stdio.h>
#include <string.h>

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits into *out; returns the number of digits.  A number too big for
 * 64 bits is read to its end and saturates at UINT64_MAX: the caller says
 * "over the limit", not "invalid", for a huge but well-formed value. */
static int parse_uint(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;
	int n = 0;
	for (; is_digit(*s); s++, n++) {
		unsigned d = (unsigned)(*s - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	*sp = s;
	*out = v;
	return n;
}

static const struct {
	const char *unit;
	uint64_t ms;
} duration_units[] = {
	/* "ms" before "m": the longest unit that matches wins. */
	{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
};

/* Units must appear from the largest to the smallest, each once: "1h30m"
 * yes, "30m1h" and "1m1m" no (they are most likely typos).  The whole
 * value is checked for its form first, then against GATE_DURATION_MAX_MS
 * (so a huge number with a typo in its unit is "invalid", not "too big").
 * Every product and sum stays below 2^63: n is compared with the limit
 * before it is multiplied. */
int parse_duration_ms(const char *s, int64_t *out)
{
	if (!s || !*s)
		return -1;
	uint64_t total = 0, last_unit = UINT64_MAX;
	int too_big = 0;
	while (*s) {
		uint64_t n;
		int nd = parse_uint(&s, &n);
		if (nd <= 0)
			return -1;
		size_t u, nu = sizeof(duration_units) / sizeof(duration_units[0]);
		for (u = 0; u < nu; u++) {
			size_t len = strlen(duration_units[u].unit);
			if (!strncmp(s, duration_units[u].unit, len) &&
			    !(len == 1 && s[0] == 'm' && s[1] == 's'))
				break;
		}
		if (u == nu)
			return -1; /* bare number or unknown unit */
		uint64_t mul = duration_units[u].ms;
		if (mul >= last_unit)
			return -1;
		last_unit = mul;
		s += strlen(duration_units[u].unit);
		if (too_big || n > (uint64_t)GATE_DURATION_MAX_MS / mul) {
			too_big = 1;
			continue;
		}
		total += n * mul; /* each term and the sum < 2 * the limit */
		if (total > (uint64_t)GATE_DURATION_MAX_MS)
			too_big = 1;
	}
	if (too_big)
		return GATE_VALUE_TOO_BIG;
	*out = (int64_t)total;
	return 0;
}

static const struct {
	const char *unit;
	uint64_t mul;
} size_units[] = {
	{"B", 1},
	{"kB", 1000ULL},
	{"MB", 1000ULL * 1000},
	{"GB", 1000ULL * 1000 * 1000},
	{"TB", 1000ULL * 1000 * 1000 * 1000},
	{"KiB", 1024ULL},
	{"MiB", 1024ULL * 1024},
	{"GiB", 1024ULL * 1024 * 1024},
	{"TiB", 1024ULL * 1024 * 1024 * 1024},
};

/* Checked for its form, then against GATE_SIZE_MAX_BYTES. */
int parse_size_bytes(const char *s, uint64_t *out)
{
	if (!s)
		return -1;
	uint64_t n;
	if (parse_uint(&s, &n) <= 0)
		return -1;
	uint64_t mul = 0;
	if (!*s)
		mul = 1;
	for (size_t i = 0; !mul && i < sizeof(size_units) / sizeof(size_units[0]); i++)
		if (!strcmp(s, size_units[i].unit))
			mul = size_units[i].mul;
	if (!mul)
		return -1;
	if (n > GATE_SIZE_MAX_BYTES / mul)
		return GATE_VALUE_TOO_BIG;
	*out = n * mul;
	return 0;
}

/* Exactly `n` digits as an int. */
static int fixed_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no time zone or libc state is involved. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
int parse_rfc3339_ms(const char *s, int64_t *out)
{
	int Y, M, D, h, m, sec, ms = 0;
	if (!s || fixed_digits(s, 4, &Y) || s[4] != '-' || fixed_digits(s + 5, 2, &M) ||
	    s[7] != '-' || fixed_digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') ||
	    fixed_digits(s + 11, 2, &h) || s[13] != ':' || fixed_digits(s + 14, 2, &m) ||
	    s[16] != ':' || fixed_digits(s + 17, 2, &sec))
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || m > 59 || sec > 59)
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (!is_digit(*p))
			return -1;
		/* Milliseconds; finer digits (up to ns) are truncated. */
		int nfrac = 0;
		for (; is_digit(*p); p++, nfrac++)
			if (nfrac < 3)
				ms = ms * 10 + (*p - '0');
		if (nfrac > 9)
			return -1;
		for (int i = nfrac; i < 3; i++)
			ms *= 10;
	}
	int offset_min = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (fixed_digits(p + 1, 2, &oh) || p[3] != ':' || fixed_digits(p + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1; /* a timestamp without a zone is ambiguous */
	}
	if (*p)
		return -1;
	int64_t days = days_from_civil(Y, M, D);
	int64_t secs = days * 86400 + h * 3600 + m * 60 + sec - offset_min * 60;
	*out = secs * 1000 + ms;
	return 0;
}

int parse_hhmm(const char *s, int *minutes)
{
	int h, m;
	if (!s || fixed_digits(s, 2, &h) || s[2] != ':' || fixed_digits(s + 3, 2, &m) || s[5] ||
	    h > 23 || m > 59)
		return -1;
	*minutes = h * 60 + m;
	return 0;
}
