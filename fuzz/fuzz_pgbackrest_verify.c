/* SPDX-License-Identifier: MIT */
/* pgBackRest `verify --output=text --verbose` judged for one backup
 * (bk_pgbr_judge_verify, checks/backup_pgbackrest_verify.c).  Input: the backup's
 * label, then (each after a line "%%") verify's stdout and its stderr at
 * --log-level-stderr=info.  Stanza demo. */
#include <stdint.h>
#include <stdlib.h>

#include "checks/backup.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 3, &fp);
	struct gate_result res;
	fuzz_result_init(&res);
	struct bk_verdict v;
	bk_verdict_init(&v, res.details);
	json_t *vd = json_object();
	json_object_set_new(res.details, "verify", vd);
	bk_pgbr_judge_verify("demo", fp.part[0], fp.part[1], fp.part[2], &v, vd);
	bk_verdict_finish(&v, &res, "verified");
	fuzz_result_check(&res);
	fuzz_parts_free(&fp);
	return 0;
}
