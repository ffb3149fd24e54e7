/* SPDX-License-Identifier: MIT */
/*
 * An out-of-tree gate check module, built only against the installed
 * <gate/module.h> (see the Makefile and README.md).  It exports exactly one
 * symbol, `gate_module`.
 *
 *   example.file_absent  pass when no file matches a path (a "maintenance
 *                        in progress" flag, a stale lock file)
 *   example.sleep        sleep, then pass (a stand-in for a slow check)
 *   example.crash        crash on purpose (proves a crashing module blocks)
 *
 * Build with -DEXAMPLE_ABI_MAJOR=2 to get a module gate must refuse.
 */
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <gate/module.h>

#ifndef EXAMPLE_ABI_MAJOR
#define EXAMPLE_ABI_MAJOR GATE_ABI_MAJOR
#endif

/* ---- example.file_absent ---- */

static const struct gate_param file_absent_params[] = {
	{"path", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "a glob; the check fails while anything matches it"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static void file_absent_run(const json_t *params, const struct gate_run_env *env,
                            struct gate_result *res)
{
	const char *pattern = gate_param_str(params, "path");
	glob_t g;
	int rc = glob(pattern, GLOB_NOSORT, NULL, &g);
	if (rc == GLOB_NOMATCH) {
		gate_result_set(res, GATE_PASS, "nothing matches %s", pattern);
		return;
	}
	if (rc != 0) {
		/* Could not tell (unreadable directory...): an error, never a pass. */
		gate_result_set(res, GATE_ERROR, "cannot search %s", pattern);
		return;
	}
	json_t *found = json_array();
	for (size_t i = 0; i < g.gl_pathc && i < 20; i++)
		json_array_append_new(found, json_string(g.gl_pathv[i]));
	json_object_set_new(res->details, "matches", found);
	gate_result_set(res, GATE_FAIL, "%zu file%s match %s (first: %s)", g.gl_pathc,
	                g.gl_pathc == 1 ? "" : "s", pattern, g.gl_pathv[0]);
	globfree(&g);
}

/* ---- example.sleep ---- */

static const struct gate_param sleep_params[] = {
	{"duration", GATE_P_DURATION, 0, "1s", NULL, "how long to sleep before passing"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static void sleep_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	int64_t ms = gate_param_int(params, "duration", 1000);
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	json_object_set_new(res->details, "slept_ms", json_integer(ms));
	gate_result_set(res, GATE_PASS, "slept %lld ms", (long long)ms);
}

/* ---- example.crash ---- */

static const struct gate_param no_params[] = {
	{NULL, 0, 0, NULL, NULL, NULL},
};

static void crash_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	raise(SIGSEGV);
}

static const struct gate_check_type example_types[] = {
	{"example.file_absent", "no file matches a glob (a flag or lock file is absent)",
         "Passes when nothing matches `path`, fails while something does (the matches\n"
         "are listed in the details), and is an error when the search itself fails.",
         file_absent_params, NULL, file_absent_run},
	{"example.sleep", "sleep for a while, then pass (a slow check for testing)", NULL,
         sleep_params, NULL, sleep_run},
	{"example.crash", "crash with SIGSEGV (proves that a crashing module blocks)", NULL,
         no_params, NULL, crash_run},
};

/* GATE_MODULE_DEFINE with the ABI major overridable for the refusal test. */
GATE_EXPORT const struct gate_module gate_module = {
	GATE_MKVERSION(EXAMPLE_ABI_MAJOR, GATE_ABI_MINOR), "example", "1.0", example_types,
	sizeof(example_types) / sizeof(example_types[0]),  NULL,      0,
};
