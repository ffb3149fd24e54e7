/* SPDX-License-Identifier: MIT */
/* pgBackRest `repo-ls --output=json` of a WAL directory read into the
 * segment names it lists (bk_pgbr_wal_names, checks/backup_wal.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/backup.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size);
	char why[JSON_ERROR_TEXT_LENGTH];
	json_t *names = bk_pgbr_wal_names(text, why, sizeof(why));
	if (names) {
		const char *k;
		json_t *v;
		json_object_foreach(names, k, v) {
			/* a segment name, for a listed file of that segment */
			if (strlen(k) != 24 || strspn(k, "0123456789ABCDEF") != 24 ||
			    strncmp(json_string_value(v), k, 24))
				abort();
		}
		json_decref(names);
	} else if (!memchr(why, '\0', sizeof(why))) {
		abort();
	}
	free(text);
	return 0;
}
