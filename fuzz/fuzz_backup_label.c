/* SPDX-License-Identifier: MIT */
/* A backup_label file as backup.basebackup reads it
 * (checks/backup_basebackup_judge.c): the values it takes out
 * (bk_label_value) and START TIME as a time (bk_parse_start_time), which
 * is also tried on the whole input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks/backup.h"
#include "fuzz.h"
#include "kit/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *label = fuzz_strdup(data, size);
	static const char *const keys[] = {"START TIME", "START WAL LOCATION", "LABEL",
	                                   "CHECKPOINT LOCATION", "START TIMELINE"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char val[64];
		memset(val, 0x55, sizeof(val));
		if (bk_label_value(label, keys[i], val, sizeof(val)) &&
		    !memchr(val, '\0', sizeof(val)))
			abort();
		time_t t;
		if (i == 0 && bk_label_value(label, keys[i], val, sizeof(val)))
			(void)bk_parse_start_time(val, &t);
	}
	time_t t;
	(void)bk_parse_start_time(label, &t);
	char out[40];
	if (bk_parse_start_time(label, &t) == 0)
		fmt_utc_s(t, out, sizeof(out));
	free(label);
	return 0;
}
