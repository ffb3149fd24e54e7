/* SPDX-License-Identifier: MIT */
/* Development aid: run one built-in check type directly, without the
 * runbook loader or the runner, and print its result as JSON.
 *
 *   gate-runcheck TYPE 'PARAMS-JSON' [TIMEOUT_MS]
 *
 * PARAMS-JSON must already be normalised (durations in ms, sizes in bytes)
 * and holds no defaults: the real path is `gate check`.  Exit: 0 pass,
 * 1 fail, 2 error, 3 skip, 64 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks/builtin.h"
#include "gate/module.h"

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: gate-runcheck TYPE PARAMS-JSON [TIMEOUT_MS]\n");
		return 64;
	}
	const struct gate_check_type *ct = NULL;
	const struct gate_module *const *mods = gate_builtin_modules;
	for (size_t m = 0; mods[m] && !ct; m++)
		for (size_t i = 0; i < mods[m]->ntypes; i++)
			if (!strcmp(mods[m]->types[i].name, argv[1]))
				ct = &mods[m]->types[i];
	if (!ct) {
		fprintf(stderr, "gate-runcheck: unknown type '%s'\n", argv[1]);
		return 64;
	}
	json_error_t je;
	json_t *params = json_loads(argv[2], 0, &je);
	if (!json_is_object(params)) {
		fprintf(stderr, "gate-runcheck: params: %s\n", je.text);
		return 64;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t timeout = argc > 3 ? atoll(argv[3]) : 30000;
	struct gate_run_env env = {GATE_ABI_VERSION, "dev", timeout,
	                           (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout, 0};
	struct gate_result res = {GATE_ERROR, "module returned no result", json_object()};
	ct->run(params, &env, &res);
	json_t *out = json_pack("{s:i,s:s,s:O}", "status", (int)res.status, "summary", res.summary,
	                        "details", res.details);
	char *s = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
	puts(s);
	free(s);
	json_decref(out);
	json_decref(res.details);
	json_decref(params);
	return (int)res.status;
}
