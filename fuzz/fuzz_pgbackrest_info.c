/* SPDX-License-Identifier: MIT */
/* The whole pgbackrest.backup check (checks/backup_pgbackrest.c) with
 * pgbackrest answered from memory instead of run: the input is
 * `info --output=json`, then (each after a line "%%") verify's stdout,
 * verify's stderr and `repo-ls --output=json` of the WAL directories.
 * Judged for stanza demo with verify and require_wal on, no conninfo (so
 * nothing is run and nothing is connected to). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/backup.h"
#include "kit/alloc.h"
#include "fuzz.h"

static struct fuzz_parts fp;
static json_t *params;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	params = json_pack("{s:s,s:i,s:[sss],s:b,s:b,s:i}", "stanza", "demo", "max_age",
	                   (json_int_t)86400000 * 365 * 100, "types", "full", "diff", "incr",
	                   "verify", 1, "require_wal", 1, "repo", 0);
	if (!params)
		abort();
	return 0;
}

/* pgbackrest [options] COMMAND: the answer of that command, exit 0. */
static int answer(char *const *argv, const struct gate_run_env *env, size_t max_out,
                  struct proc_result *pr)
{
	(void)env;
	(void)max_out;
	memset(pr, 0, sizeof(*pr));
	pr->started = pr->exited = 1;
	const char *out = "", *err = "";
	for (size_t i = 1; argv[i]; i++) {
		if (!strcmp(argv[i], "info"))
			out = fp.part[0];
		else if (!strcmp(argv[i], "verify"))
			out = fp.part[1], err = fp.part[2];
		else if (!strcmp(argv[i], "repo-ls"))
			out = fp.part[3];
	}
	pr->out = xstrdup(out);
	pr->out_len = strlen(out);
	pr->err = xstrdup(err);
	pr->err_len = strlen(err);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_split(data, size, 4, &fp);
	struct gate_run_env env = fuzz_env();
	struct gate_result res;
	fuzz_result_init(&res);
	bk_pgbackrest_run_with(params, &env, &res, answer);
	fuzz_result_check(&res);
	fuzz_parts_free(&fp);
	return 0;
}
