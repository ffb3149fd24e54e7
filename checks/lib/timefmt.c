/* SPDX-License-Identifier: MIT */
#include "timefmt.h"

#include <stdio.h>

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
