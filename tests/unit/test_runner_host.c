/* SPDX-License-Identifier: MIT */
/* The runner's shared child (gate/runner_host.c, module ABI 1.2
 * GATE_MF_THREADED_RUN): the checks of a module that declares its `run`
 * thread-safe run as threads of one child; each keeps its own result and
 * deadline; a crash costs only the checks that had not sent a result; a
 * 1.0 or 1.1 module, -j 1, and a retry keep a child per attempt.  Real
 * child processes, real deadlines (short ones). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gate/eval.h"
#include "gate/runbook.h"
#include "gate/runner.h"
#include "kit/clock.h"

/* ---- test check types ---- */

/* Passes, saying which process it ran in. */
static void t_pid(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	(void)p;
	json_object_set_new(res->details, "pid", json_integer(getpid()));
	json_object_set_new(res->details, "check_id", json_string(env->check_id));
	gate_result_set(res, GATE_PASS, "ran in %d", (int)getpid());
}

static void t_fail(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	(void)p;
	(void)env;
	json_object_set_new(res->details, "pid", json_integer(getpid()));
	gate_result_set(res, GATE_FAIL, "it is false");
}

/* Never returns (a thread that hangs; the others go on). */
static void t_hang(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	(void)p;
	(void)env;
	(void)res;
	for (;;)
		pause();
}

/* Says something, then takes the whole child down after 300 ms. */
static void t_crash(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	(void)p;
	(void)env;
	(void)res;
	fputs("about to crash\n", stderr);
	fflush(stderr);
	usleep(300 * 1000);
	raise(SIGSEGV);
}

/* Passes after 3 s (unless the child dies first). */
static void t_slow(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	(void)p;
	(void)env;
	sleep(3);
	gate_result_set(res, GATE_PASS, "slow but fine");
}

/* Returns 1 s after its deadline, when gate has given up on it and closed
 * its result pipe: the write that follows must cost only this check. */
static void t_late(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	(void)p;
	while (gate_mono_ms() < env->deadline_ms + 1000)
		usleep(50 * 1000);
	gate_result_set(res, GATE_PASS, "too late");
}

/* Errors until a counter file (params "file") has 2 writes. */
static void t_flaky(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	(void)env;
	FILE *fp = fopen(gate_param_str(p, "file"), "a+");
	fputc('x', fp);
	long n = ftell(fp);
	fclose(fp);
	json_object_set_new(res->details, "pid", json_integer(getpid()));
	if (n >= 2)
		gate_result_set(res, GATE_PASS, "passed on attempt %ld", n);
	else
		gate_result_set(res, GATE_ERROR, "not yet (attempt %ld)", n);
}

#define T(n, fn)                                        \
	{                                               \
		n, "test type " n, NULL, NULL, NULL, fn \
	}
static const struct gate_check_type types[] = {
	T("pid", t_pid),   T("fail", t_fail),   T("hang", t_hang), T("crash", t_crash),
	T("slow", t_slow), T("flaky", t_flaky), T("late", t_late),
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

/* The same types, as modules of each ABI. */
static const struct gate_module mod12 = {.abi_version = GATE_MKVERSION(1, 2),
                                         .name = "threaded",
                                         .version = "1",
                                         .types = types,
                                         .ntypes = NTYPES,
                                         .flags = GATE_MF_THREADED_RUN};
static const struct gate_module mod12_plain = {.abi_version = GATE_MKVERSION(1, 2),
                                               .name = "plain",
                                               .version = "1",
                                               .types = types,
                                               .ntypes = NTYPES};
/* A 1.1 module has no flags field: whatever lies there is not read. */
static const struct gate_module mod11 = {.abi_version = GATE_MKVERSION(1, 1),
                                         .name = "old",
                                         .version = "1",
                                         .types = types,
                                         .ntypes = NTYPES,
                                         .flags = GATE_MF_THREADED_RUN};
static const struct gate_module mod10 = {.abi_version = GATE_MKVERSION(1, 0),
                                         .name = "older",
                                         .version = "1",
                                         .types = types,
                                         .ntypes = NTYPES,
                                         .flags = GATE_MF_THREADED_RUN};

static const struct gate_check_type *type_named(const char *n)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (!strcmp(types[i].name, n))
			return &types[i];
	return NULL;
}

static void rb_make(struct runbook *rb, size_t n)
{
	memset(rb, 0, sizeof(*rb));
	rb->name = "unit";
	rb->timeout_ms = 20000;
	rb->checks = calloc(n, sizeof(*rb->checks));
	rb->nchecks = n;
}

static struct rb_check *rb_set(struct runbook *rb, size_t i, const char *id, const char *type,
                               int64_t timeout_ms, const struct gate_module *mod)
{
	struct rb_check *c = &rb->checks[i];
	c->id = (char *)id;
	c->type = (char *)type;
	c->timeout_ms = timeout_ms;
	c->retry_delay_ms = 50;
	c->ct = type_named(type);
	c->mod = mod;
	c->params = json_object();
	return c;
}

static void rb_free(struct runbook *rb)
{
	for (size_t i = 0; i < rb->nchecks; i++)
		json_decref(rb->checks[i].params);
	free(rb->checks);
}

static int64_t run(struct eval *ev, struct runbook *rb, int jobs)
{
	eval_init(ev, rb, EVAL_MODE_CHECK);
	struct runner_opts o = {.jobs = jobs, .timeout_ms = 20000};
	int64_t t0 = gate_mono_ms();
	assert_int_equal(runner_run(ev, &o), 0);
	return gate_mono_ms() - t0;
}

static json_int_t pid_of(const struct eval *ev, size_t i)
{
	return json_integer_value(json_object_get(ev->results[i].details, "pid"));
}

/* Gone, or a zombie nobody reaps: its group was killed. */
static int gone(json_int_t pid)
{
	for (int i = 0; i < 1000; i++) { /* up to 10 s on a busy machine */
		char path[64], buf[512] = "";
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		FILE *f = fopen(path, "r");
		if (!f)
			return 1;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		const char *rp = strrchr(buf, ')');
		if (rp && (rp[2] == 'Z' || rp[2] == 'X'))
			return 1;
		usleep(10000);
	}
	return 0;
}

/* ---- tests ---- */

static void test_one_child_for_the_module(void **state)
{
	(void)state;
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 4);
	rb_set(&rb, 0, "a", "pid", 5000, &mod12);
	rb_set(&rb, 1, "b", "fail", 5000, &mod12);
	rb_set(&rb, 2, "c", "pid", 5000, &mod12);
	rb_set(&rb, 3, "d", "pid", 5000, &mod12);
	run(&ev, &rb, 0);
	/* one child, not gate: every check ran in it, each judged alone */
	json_int_t host = pid_of(&ev, 0);
	assert_true(host > 1 && host != getpid());
	for (size_t i = 1; i < 4; i++)
		assert_int_equal(pid_of(&ev, i), host);
	assert_int_equal(ev.results[0].status, CHECK_PASS);
	assert_int_equal(ev.results[1].status, CHECK_FAIL);
	assert_string_equal(ev.results[1].summary, "it is false");
	assert_int_equal(ev.results[2].status, CHECK_PASS);
	assert_string_equal(json_string_value(json_object_get(ev.results[3].details, "check_id")),
	                    "d");
	assert_true(gone(host));
	eval_release(&ev);
	rb_free(&rb);
}

/* A 1.0 or 1.1 module, one without the flag, and -j 1: a child per check. */
static void test_a_child_per_check_otherwise(void **state)
{
	(void)state;
	const struct gate_module *mods[] = {&mod11, &mod10, &mod12_plain};
	for (size_t m = 0; m < 4; m++) {
		struct runbook rb;
		struct eval ev;
		rb_make(&rb, 3);
		for (size_t i = 0; i < 3; i++)
			rb_set(&rb, i,
			       i == 0   ? "a"
			       : i == 1 ? "b"
			                : "c",
			       "pid", 5000, m < 3 ? mods[m] : &mod12);
		run(&ev, &rb, m < 3 ? 0 : 1);
		for (size_t i = 0; i < 3; i++) {
			assert_int_equal(ev.results[i].status, CHECK_PASS);
			for (size_t k = 0; k < i; k++)
				assert_int_not_equal(pid_of(&ev, i), pid_of(&ev, k));
		}
		eval_release(&ev);
		rb_free(&rb);
	}
}

static void test_own_deadline_each(void **state)
{
	(void)state;
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 3);
	rb_set(&rb, 0, "hangs", "hang", 500, &mod12);
	rb_set(&rb, 1, "fine", "pid", 5000, &mod12);
	rb_set(&rb, 2, "slow", "slow", 10000, &mod12);
	int64_t took = run(&ev, &rb, 0);
	/* the hung one is a timeout at its own deadline; the slow one, in
	 * the same child, still passes after it */
	assert_int_equal(ev.results[0].status, CHECK_ERROR);
	assert_true(ev.results[0].timed_out);
	assert_string_equal(ev.results[0].summary, "timed out after 500ms");
	assert_int_equal(ev.results[1].status, CHECK_PASS);
	assert_int_equal(ev.results[2].status, CHECK_PASS);
	assert_string_equal(ev.results[2].summary, "slow but fine");
	assert_true(took >= 3000 && took < 9000);
	/* the hung thread's child is killed once its last check is over */
	assert_true(gone(pid_of(&ev, 1)));
	eval_release(&ev);
	rb_free(&rb);
}

static void test_late_result_costs_only_its_check(void **state)
{
	(void)state;
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 2);
	rb_set(&rb, 0, "late", "late", 500, &mod12);
	rb_set(&rb, 1, "slow", "slow", 10000, &mod12);
	run(&ev, &rb, 0);
	/* the late one's result is written at 1.5 s to a pipe gate closed at
	 * 0.5 s (EPIPE, never SIGPIPE for the shared child); the slow one,
	 * still running then, passes at 3 s */
	assert_int_equal(ev.results[0].status, CHECK_ERROR);
	assert_true(ev.results[0].timed_out);
	assert_int_equal(ev.results[1].status, CHECK_PASS);
	assert_string_equal(ev.results[1].summary, "slow but fine");
	eval_release(&ev);
	rb_free(&rb);
}

static void test_crash_costs_only_what_was_not_sent(void **state)
{
	(void)state;
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 3);
	rb_set(&rb, 0, "quick", "pid", 5000, &mod12);
	rb_set(&rb, 1, "crash", "crash", 5000, &mod12);
	rb_set(&rb, 2, "slow", "slow", 10000, &mod12);
	int64_t took = run(&ev, &rb, 0);
	assert_int_equal(ev.results[0].status, CHECK_PASS); /* sent before the crash */
	for (size_t i = 1; i < 3; i++) {
		assert_int_equal(ev.results[i].status, CHECK_ERROR);
		assert_string_equal(ev.results[i].summary,
		                    "module crashed: killed by signal 11 (SIGSEGV)");
		const char *out = json_string_value(
			json_object_get(ev.results[i].details, "check_output"));
		assert_non_null(out);
		assert_non_null(strstr(out, "about to crash"));
	}
	assert_null(json_object_get(ev.results[0].details, "check_output"));
	assert_true(took < 2900); /* not the slow check's 3 s: the crash ended it */
	eval_release(&ev);
	rb_free(&rb);
}

static void test_retry_runs_alone(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/gate-test-host-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char file[600];
	snprintf(file, sizeof(file), "%s/count", tmpl);
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 2);
	struct rb_check *c = rb_set(&rb, 0, "flaky", "flaky", 5000, &mod12);
	c->retries = 1;
	json_object_set_new(c->params, "file", json_string(file));
	rb_set(&rb, 1, "other", "pid", 5000, &mod12);
	run(&ev, &rb, 0);
	assert_int_equal(ev.results[0].status, CHECK_PASS);
	assert_string_equal(ev.results[0].summary, "passed on attempt 2");
	assert_int_equal(ev.results[0].attempts, 2);
	/* the first attempt shared a child with "other"; the retry had its own */
	assert_int_not_equal(pid_of(&ev, 0), pid_of(&ev, 1));
	assert_int_equal(ev.results[1].status, CHECK_PASS);
	eval_release(&ev);
	rb_free(&rb);
	unlink(file);
	rmdir(tmpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_child_for_the_module),
		cmocka_unit_test(test_a_child_per_check_otherwise),
		cmocka_unit_test(test_own_deadline_each),
		cmocka_unit_test(test_late_result_costs_only_its_check),
		cmocka_unit_test(test_crash_costs_only_what_was_not_sent),
		cmocka_unit_test(test_retry_runs_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
