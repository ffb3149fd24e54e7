/* SPDX-License-Identifier: MIT */
/* A restore-rehearsal type for the tests of `gate rehearse` (t3130,
 * t3140), built by the test with GATE_MODULE_DEFINE's fields set by hand
 * (module ABI 1.1: `rehearsals`).  rh.restore reports details.rehearsal
 * as the real types do, with the identity it is given (`backup`, a JSON
 * object such as a pgBackRest backup's), and then:
 *   mode pass | fail | error: that result;
 *   mode crash: SIGSEGV;
 *   mode hang: it makes a scratch directory under scratch_dir (with a
 *     file in it), starts a long-lived "server" (sleep) in the check's process
 *     group (as a real scratch server) and a guardian in a session of its own that, when the check
 *     process is gone (its pipe closes), kills the server and removes the
 *     directory -- the way a real scratch server is guarded -- writes the
 *     directory's path to scratch_dir/current, and waits forever; the
 *     guardian first waits guard_delay (a slow cleanup).
 * rh.plain is an ordinary check (gate rehearse does not run it). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gate/module.h>

static const struct gate_param rh_params[] = {
	{"mode", GATE_P_ENUM, 0, "pass", "pass|fail|error|crash|hang", "what happens"},
	{"backup", GATE_P_JSON, 0, NULL, NULL, "the identity reported"},
	{"scratch_dir", GATE_P_STRING, 0, NULL, NULL, "hang: where the scratch dir goes"},
	{"stanza", GATE_P_STRING, 0, NULL, NULL, "the source, as the real types name it"},
	{"path", GATE_P_STRING, 0, NULL, NULL, "the source, as the real types name it"},
	{"guard_delay", GATE_P_DURATION, 0, "0s", NULL, "hang: the guardian waits this long"},
	{"password", GATE_P_STRING, GATE_PF_SECRET, NULL, NULL, "a secret"},
	{"conninfo", GATE_P_STRING, 0, NULL, NULL, "a conninfo"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4096];
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void hang(const char *parent, int64_t delay_ms)
{
	char dir[4096], f[4200];
	snprintf(dir, sizeof(dir), "%s/gate-rehearsal-XXXXXX", parent);
	if (!mkdtemp(dir))
		return;
	snprintf(f, sizeof(f), "%s/data", dir);
	close(open(f, O_CREAT | O_WRONLY, 0600));
	pid_t server = fork();
	if (server == 0) {
		execlp("sleep", "sleep", "3600", (char *)NULL);
		_exit(127);
	}
	int pfd[2];
	if (pipe(pfd) < 0)
		return;
	pid_t g = fork();
	if (g == 0) {
		setsid();
		close(pfd[1]);
		char c;
		while (read(pfd[0], &c, 1) > 0)
			;
		struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000};
		while (nanosleep(&ts, &ts) < 0)
			;
		kill(server, SIGKILL);
		rm_dir(dir);
		_exit(0);
	}
	close(pfd[0]);
	snprintf(f, sizeof(f), "%s/current", parent);
	FILE *cur = fopen(f, "w");
	if (cur) {
		fprintf(cur, "%s %d %d\n", dir, (int)server, (int)g);
		fclose(cur);
	}
	for (;;)
		pause();
}

static void rh_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	const char *mode = gate_param_str(params, "mode");
	json_t *b = json_object_get(params, "backup");
	json_t *reh = json_pack("{s:O,s:[{s:s,s:s,s:{s:i},s:i,s:b}],s:{s:i,s:i,s:i},s:s}", "backup",
	                        b ? b : json_null(), "probes", "name", "rows", "sql",
	                        "select count(*) from t", "expect", "min", 1, "value", 5, "ok",
	                        strcmp(mode, "fail") != 0, "phases_ms", "restore", 12, "start", 3,
	                        "probes", 1, "scratch_dir", "/var/tmp/gate-rehearsal-test");
	json_object_set_new(res->details, "rehearsal", reh);
	/* the attempt's budget, for the tests of the default timeouts */
	json_object_set_new(res->details, "timeout_ms", json_integer(env->timeout_ms));
	if (!strcmp(mode, "pass"))
		gate_result_set(res, GATE_PASS, "backup restored in 0.1 s; 1 probe passed");
	else if (!strcmp(mode, "fail"))
		gate_result_set(res, GATE_FAIL,
		                "probe 'rows' (select count(*) from t): 5 is below min 1000");
	else if (!strcmp(mode, "error"))
		gate_result_set(res, GATE_ERROR, "scratch filesystem /x has 1 MiB free");
	else if (!strcmp(mode, "crash"))
		raise(SIGSEGV);
	else if (!strcmp(mode, "hang"))
		hang(gate_param_str(params, "scratch_dir"),
		     gate_param_int(params, "guard_delay", 0));
}

static void plain_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	(void)params, (void)env;
	gate_result_set(res, GATE_PASS, "plain");
}

static const struct gate_check_type types[] = {
	{"rh.restore", "a rehearsal for tests", NULL, rh_params, NULL, rh_run},
	{"rh.plain", "not a rehearsal", NULL, rh_params, NULL, plain_run},
};
static const char *const rehearsals[] = {"rh.restore", NULL};

GATE_EXPORT const struct gate_module gate_module = {
	.abi_version = GATE_ABI_VERSION,
	.name = "rh",
	.version = "1",
	.types = types,
	.ntypes = 2,
	.rehearsals = rehearsals,
};
