/* SPDX-License-Identifier: MIT */
/* backup.basebackup's judge (bk_bb_judge,
 * checks/backup_basebackup_judge.c) on one complete directory.  Input,
 * parts after a line "%%": its backup_label, then pg_verifybackup's exit
 * code, stdout and stderr. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "checks/backup_judge.h"
#include "fuzz.h"

static json_t *params;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	params = json_pack("{s:s,s:I}", "path", "/var/backups/base*", "max_age",
	                   (json_int_t)86400000 * 365 * 100);
	if (!params)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 4, &fp);
	char *argv[] = {"pg_verifybackup", "--", "/var/backups/base1", NULL};
	struct bk_bb_dir dir = {
		.path = "/var/backups/base1",
		.manifest = 1,
		.label_file = 1,
		.label = fp.part[0],
	};
	struct bk_bb_facts f = {
		.pattern = "/var/backups/base*",
		.ndirs = 1,
		.dirs = &dir,
		.manifest_mtime = 1795574574,
		.size = 1 << 30,
		.verify = 1,
		.verify_argv = argv,
		.verify_pr = {.started = 1,
	                      .exited = 1,
	                      .exit_code = atoi(fp.part[1]),
	                      .out = fp.part[2],
	                      .err = fp.part[3]},
	};
	struct gate_result res;
	fuzz_result_init(&res);
	bk_bb_judge(&f, params, (int64_t)time(NULL), &res);
	fuzz_result_check(&res);
	fuzz_parts_free(&fp);
	return 0;
}
