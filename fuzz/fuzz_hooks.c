/* SPDX-License-Identifier: MIT */
/* .gate/hooks.yaml (gate/hooks.c) and what Git writes on a hook's stdin.
 * Input: the hooks.yaml text, then optionally a line "%%" and the ref
 * updates (pre-push or pre-receive lines).  The file is loaded as `gate
 * hook run` and `gate lint` load it; the updates are parsed for both
 * hooks and matched against every hook's rules. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "gate/hooks.h"
#include "sandbox.h"

static char path[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_dir_make("hooks");
	fuzz_mkdir(".gate");
	snprintf(path, sizeof(path), "%s/.gate/hooks.yaml", fuzz_dir);
	return 0;
}

static const char *const hook_names[] = {"pre-push", "pre-receive", "update"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 2, &fp);
	fuzz_write(".gate/hooks.yaml", fp.part[0], fp.len[0]);

	struct gate_error lerr = {0};
	int lint = hooks_lint_file(path, &lerr);
	if (lint < 0 && !lerr.set)
		abort();

	struct hooks_config hc;
	struct gate_error err = {0};
	int rc = hooks_load(&hc, path, &err);
	if (rc < 0 && !err.set)
		abort();
	for (size_t h = 0; h < 2; h++) {
		struct ref_update *u = NULL;
		size_t n = 0;
		struct gate_error uerr = {0};
		if (hooks_parse_updates(hook_names[h], fp.part[1], &u, &n, &uerr) < 0) {
			if (!uerr.set || u || n)
				abort();
			continue;
		}
		for (size_t k = 0; rc == 0 && k < sizeof(hook_names) / sizeof(hook_names[0]); k++) {
			const struct hook_set *set = hooks_find(&hc, hook_names[k]);
			struct hook_match *m = NULL;
			size_t nm = 0;
			hooks_match(set, u, n, &m, &nm);
			for (size_t i = 0; i < nm; i++)
				free(hooks_runbook_path("/srv/git/app.git", m[i].runbook));
			hook_matches_free(m, nm);
		}
		ref_updates_free(u, n);
	}
	hooks_config_release(&hc);
	fuzz_parts_free(&fp);
	return 0;
}
