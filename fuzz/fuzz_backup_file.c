/* SPDX-License-Identifier: MIT */
/* backup.file's judge (bk_file_judge, checks/backup_file_judge.c) on a
 * file db.dump of 4 KiB modified a minute ago.  Input, parts after a line
 * "%%": its sidecar db.dump.sha256, the file's digest (the first 64
 * characters of the part), then the restore test's exit code, stdout and
 * stderr. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks/backup_judge.h"
#include "fuzz.h"

static json_t *params;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	params = json_pack("{s:s,s:I,s:[ss]}", "path", "/var/backups/*.dump", "max_age",
	                   (json_int_t)86400000, "restore_test", "pg_restore", "{path}");
	if (!params)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 5, &fp);
	char *argv[] = {"pg_restore", "/var/backups/db.dump", NULL};
	struct bk_file_facts f = {
		.pattern = "/var/backups/*.dump",
		.nmatch = 1,
		.nregular = 1,
		.path = "/var/backups/db.dump",
		.size = 4096,
		.mtime = 1795574574,
		.sidecar = 1,
		.sidecar_text = fp.part[0],
		.hashed = 1,
		.hashed_bytes = 4096,
		.sha256_impl = "fuzz",
		.restore_argv = argv,
		.restore = {.started = 1,
	                    .exited = 1,
	                    .exit_code = atoi(fp.part[2]),
	                    .out = fp.part[3],
	                    .err = fp.part[4]},
	};
	memcpy(f.sha256, fp.part[1], fp.len[1] < 64 ? fp.len[1] : 64);
	struct gate_result res;
	fuzz_result_init(&res);
	bk_file_judge(&f, params, 1795574574 + 60, &res);
	fuzz_result_check(&res);
	fuzz_parts_free(&fp);
	return 0;
}
