/* SPDX-License-Identifier: MIT */
/* The exec check's whole judgement (exec_judge, checks/exec_judge.c) of a
 * run: how it ended (the header exec_facts_read reads: "exit 2 ms 3.1",
 * "signal 11", "timeout 9", "errno 2"), then after a line "%%" what it
 * printed on stdout, then after another its stderr; as recorded by
 * tests/tools/record-exec.sh.  A header that does not read is judged as
 * "exit N", N from its first byte.  Judged as a Nagios plugin (warning:
 * fail and pass) and by the exit protocol; besides the judge's promises
 * (fuzz.h), the summary is valid UTF-8 on one line, and a status other
 * than 0 never passes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/exec_nagios.h"
#include "fuzz.h"
#include "kit/text.h"

static void judge(const struct proc_result *pr, int nagios, int warning_passes)
{
	struct exec_judge_params jp = {"/usr/lib/nagios/plugins/check_fuzz", nagios, warning_passes,
	                               2000};
	struct gate_result res;
	fuzz_result_init(&res);
	exec_judge(pr, &jp, &res);
	json_t *valid = json_string(res.summary);
	if (!valid || strchr(res.summary, '\n'))
		abort();
	json_decref(valid);
	int ok_exit = pr->started && pr->exited && !pr->timed_out &&
	              (pr->exit_code == 0 || (nagios && warning_passes && pr->exit_code == 1));
	if (res.status == GATE_PASS && !ok_exit)
		abort();
	fuzz_result_check(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 3, &fp);
	struct proc_result pr;
	if (exec_facts_read(fp.part[0], fp.part[1], fp.part[2], &pr) != 0) {
		memset(&pr, 0, sizeof(pr));
		pr.started = pr.exited = 1;
		pr.exit_code = size ? data[0] % 8 : 0;
		pr.out = fp.part[1];
		pr.err = fp.part[2];
	}
	judge(&pr, 1, 0);
	judge(&pr, 1, 1);
	judge(&pr, 0, 0);
	fuzz_parts_free(&fp);
	return 0;
}
