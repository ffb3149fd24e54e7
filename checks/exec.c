/* SPDX-License-Identifier: MIT */
/* The exec check family: run a command (argv, no shell) and judge it by
 * the Nagios plugin protocol or by its exit status alone.  This file
 * runs the command; how it ended, what it printed and how long it took
 * are the facts the judge (checks/exec_judge.c) decides from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "gate/module.h"
#include "exec_nagios.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "lib/proc.h"

#define EXEC_MAX_OUT (1u << 20)  /* stdout kept from a plugin */
#define EXEC_MAX_ERR (64u << 10) /* stderr kept */

/* The budget for the command: up to the core's deadline, less a margin so
 * that we kill it and say "timed out" before the core kills us. */
static int64_t exec_budget_ms(const struct gate_run_env *env)
{
	int64_t left = env->timeout_ms;
	if (env->deadline_ms > 0)
		left = env->deadline_ms - gate_mono_ms();
	if (left <= 0)
		return env->deadline_ms > 0 || env->timeout_ms > 0 ? 1 : 0;
	int64_t margin = left / 10;
	if (margin > 200)
		margin = 200;
	if (margin < 20)
		margin = left > 40 ? 20 : 0;
	return left - margin > 0 ? left - margin : 1;
}

/* ---- parameters ---- */

static const struct gate_param exec_params[] = {
	{"command", GATE_P_STRING_LIST, GATE_PF_REQUIRED, NULL, NULL,
         "The command as an argv list (no shell); argv[0] is searched in PATH."},
	{"protocol", GATE_P_ENUM, 0, "nagios", "nagios|exit",
         "nagios: exit 0 OK passes, 1 WARNING fails (see warning), 2 CRITICAL "
         "fails, 3 UNKNOWN or anything else is an error. exit: 0 passes, "
         "anything else fails."},
	{"warning", GATE_P_ENUM, 0, "fail", "fail|pass",
         "What a Nagios WARNING (exit 1) is: fail (any doubt blocks), or pass, "
         "with the warning kept in the summary and details. Protocol nagios only."},
	{"env", GATE_P_STRING_MAP, 0, NULL, NULL, "Extra environment variables for the command."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static int exec_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	const json_t *cmd = json_object_get(params, "command");
	if (!json_is_array(cmd) || json_array_size(cmd) == 0) {
		*param = "command";
		snprintf(msg, msglen, "must be a non-empty list (argv[0] is the program)");
		return -1;
	}
	size_t i;
	const json_t *v;
	json_array_foreach(cmd, i, v) {
		if (!json_is_string(v)) {
			*param = "command";
			snprintf(msg, msglen, "element %zu is not a string", i);
			return -1;
		}
	}
	if (json_string_length(json_array_get(cmd, 0)) == 0) {
		*param = "command";
		snprintf(msg, msglen, "argv[0] is empty");
		return -1;
	}
	const json_t *env = json_object_get(params, "env");
	if (env) {
		const char *k;
		json_object_foreach((json_t *)env, k, v) {
			if (!*k || strchr(k, '=')) {
				*param = "env";
				snprintf(msg, msglen, "invalid variable name '%s'", k);
				return -1;
			}
			if (!json_is_string(v)) {
				*param = "env";
				snprintf(msg, msglen, "value of %s is not a string", k);
				return -1;
			}
		}
	}
	return 0;
}

/* argv from `command` (borrowed strings), "NAME=VALUE" strings from
 * `env` (owned); both NULL-terminated. */
static void exec_argv_env(const json_t *params, char ***argv, char ***env_add)
{
	const json_t *cmd = json_object_get(params, "command");
	size_t argc = json_array_size(cmd);
	*argv = xcalloc(argc + 1, sizeof(**argv));
	for (size_t i = 0; i < argc; i++) {
		const char *a = json_string_value(json_array_get(cmd, i));
		(*argv)[i] = (char *)(a ? a : "");
	}
	const json_t *envmap = json_object_get(params, "env");
	size_t nenv = json_is_object(envmap) ? json_object_size(envmap) : 0;
	*env_add = xcalloc(nenv + 1, sizeof(**env_add));
	size_t k = 0;
	const char *name;
	const json_t *v;
	if (nenv)
		json_object_foreach((json_t *)envmap, name, v) {
			const char *val = json_string_value(v);
			(*env_add)[k++] = xasprintf("%s=%s", name, val ? val : "");
		}
}

static void exec_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	if (!json_array_size(json_object_get(params, "command"))) {
		gate_result_set(res, GATE_ERROR, "command: empty");
		return;
	}
	const char *protocol = gate_param_str(params, "protocol");
	const char *warning = gate_param_str(params, "warning");
	char **argv, **env_add;
	exec_argv_env(params, &argv, &env_add);
	struct proc_opts opts = {
		.timeout_ms = exec_budget_ms(env),
		.max_out = EXEC_MAX_OUT,
		.max_err = EXEC_MAX_ERR,
		.env_add = env_add,
	};
	struct proc_result pr;
	proc_run(argv, &opts, &pr);
	struct exec_judge_params jp = {
		.tool = argv[0],
		.nagios = !protocol || strcmp(protocol, "exit") != 0,
		.warning_passes = warning && !strcmp(warning, "pass"),
		.timeout_ms = env->timeout_ms,
	};
	exec_judge(&pr, &jp, res);
	proc_result_release(&pr);
	for (size_t i = 0; env_add[i]; i++)
		free(env_add[i]);
	free(env_add);
	free(argv);
}

static const struct gate_check_type exec_types[] = {
	{
		"exec",
		"run a command; judge it as a Nagios plugin or by its exit status",
		"Runs `command` (an argv list, no shell) with the check's deadline; "
		"the whole process group is killed when it runs out. With protocol "
		"nagios (Monitoring Plugins), the first output line is the summary "
		"and performance data after `|` is parsed into details; a WARNING "
		"fails unless `warning: pass`; with protocol exit, exit status 0 "
		"passes. A command that is not installed, is killed by a signal or "
		"times out is an error.",
		exec_params,
		exec_validate,
		exec_run,
	},
};

GATE_FAMILY_MODULE(exec) = {
	.abi_version = GATE_ABI_VERSION,
	.name = "exec",
	.version = "1.0.0",
	.types = exec_types,
	.ntypes = sizeof(exec_types) / sizeof(exec_types[0]),
};
