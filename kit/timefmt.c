/* SPDX-License-Identifier: MIT */
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void gate_format_time(int64_t epoch_ms, char *buf, size_t len)
{
	time_t t = (time_t)(epoch_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(epoch_ms % 1000));
}
void check_fmt_timeout(int64_t ms, char *buf, size_t len)
{
	if (ms >= 1000)
		ms = (ms + 50) / 100 * 100;
	if (ms < 1000)
		snprintf(buf, len, "%lldms", (long long)ms);
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
}

void fmt_duration_ms(int64_t ms, char *buf, size_t len)
{
	if (!len)
		return;
	size_t off = 0;
	uint64_t v;
	if (ms < 0) {
		off += (size_t)snprintf(buf, len, "-");
		v = (uint64_t)0 - (uint64_t)ms;
	} else {
		v = (uint64_t)ms;
	}
#define APPEND(...)                                                                 \
	do {                                                                        \
		if (off < len)                                                      \
			off += (size_t)snprintf(buf + off, len - off, __VA_ARGS__); \
	} while (0)
	if (v < 1000) {
		APPEND("%llums", (unsigned long long)v);
		return;
	}
	uint64_t d = v / 86400000, h = v / 3600000 % 24, m = v / 60000 % 60;
	uint64_t s = v / 1000 % 60, frac = v % 1000;
	if (d)
		APPEND("%llud", (unsigned long long)d);
	if (h)
		APPEND("%lluh", (unsigned long long)h);
	if (m)
		APPEND("%llum", (unsigned long long)m);
	if (s || frac) {
		if (frac) {
			/* "2.5s", "1.25s": trailing zeros trimmed. */
			char f[4];
			snprintf(f, sizeof(f), "%03llu", (unsigned long long)frac);
			for (int i = 2; i > 0 && f[i] == '0'; i--)
				f[i] = '\0';
			APPEND("%llu.%ss", (unsigned long long)s, f);
		} else {
			APPEND("%llus", (unsigned long long)s);
		}
	}
#undef APPEND
}

void fmt_duration_approx(int64_t ms, char *buf, size_t len)
{
	const char *sign = "";
	uint64_t v = (uint64_t)ms;
	if (ms < 0) {
		sign = "-";
		v = (uint64_t)0 - (uint64_t)ms;
	}
	uint64_t d = v / 86400000, h = v / 3600000 % 24, m = v / 60000 % 60, s = v / 1000 % 60;
	if (v < 1000)
		snprintf(buf, len, "%s%llums", sign, (unsigned long long)v);
	else if (v < 10000)
		snprintf(buf, len, "%s%llu.%llus", sign, (unsigned long long)(v / 1000),
		         (unsigned long long)(v % 1000 / 100));
	else if (v < 60000)
		snprintf(buf, len, "%s%llus", sign, (unsigned long long)s);
	else if (v < 3600000)
		snprintf(buf, len, "%s%llum%02llus", sign, (unsigned long long)m,
		         (unsigned long long)s);
	else if (v < 86400000)
		snprintf(buf, len, "%s%lluh%02llum", sign, (unsigned long long)(v / 3600000),
		         (unsigned long long)m);
	else
		snprintf(buf, len, "%s%llud%02lluh", sign, (unsigned long long)d,
		         (unsigned long long)h);
}

void fmt_utc_s(int64_t epoch_s, char *buf, size_t len)
{
	time_t t = (time_t)epoch_s;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "@%lld", (long long)epoch_s);
}

void fmt_size_iec(uint64_t b, char *buf, size_t len)
{
	static const char *unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	if (b < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)b);
		return;
	}
	double v = (double)b / 1024.0;
	int u = 0;
	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, len, v < 10 ? "%.2f %s" : "%.1f %s", v, unit[u]);
}
