/* SPDX-License-Identifier: MIT */
/* pg_verifybackup's answer judged (bk_judge_verifybackup,
 * checks/backup_basebackup_judge.c).  Input: its exit code, then (each after a
 * line "%%") its stdout and its stderr. */
#include <stdint.h>
#include <stdlib.h>

#include "checks/backup.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 3, &fp);
	struct proc_result pr = {
		.started = 1,
		.exited = 1,
		.exit_code = atoi(fp.part[0]),
		.out = fp.part[1],
		.out_len = fp.len[1],
		.err = fp.part[2],
		.err_len = fp.len[2],
	};
	struct gate_result res;
	fuzz_result_init(&res);
	struct bk_verdict v;
	bk_verdict_init(&v, res.details);
	json_t *vd = json_object();
	json_object_set_new(res.details, "verify", vd);
	bk_judge_verifybackup(&pr, "/var/backups/pg/base1", &v, vd);
	bk_verdict_finish(&v, &res, "verified");
	fuzz_result_check(&res);
	fuzz_parts_free(&fp);
	return 0;
}
