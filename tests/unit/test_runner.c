/* SPDX-License-Identifier: MIT */
/* The runner, table-driven: check types defined here that pass, fail,
 * hang, crash, write garbage or too much, and the results the runner must
 * turn them into.  Real child processes, real deadlines (short ones). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gate/eval.h"
#include "gate/redact.h"
#include "gate/runbook.h"
#include "gate/runner.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"
#include "lib/proc.h"

/* ---- test check types (run in the runner's child) ---- */

static void t_pass(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	json_object_set_new(res->details, "check_id", json_string(env->check_id));
	json_object_set_new(res->details, "budget_ok",
	                    json_boolean(env->timeout_ms > 0 && env->deadline_ms > gate_mono_ms()));
	gate_result_set(res, GATE_PASS, "all good");
}

static void t_fail(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	gate_result_set(res, GATE_FAIL, "it is false");
}

static void t_nothing(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
}

static void t_hang(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	/* Ignores every catchable signal and sleeps: only SIGKILL ends it. */
	for (int s = 1; s < 32; s++)
		signal(s, SIG_IGN);
	for (;;)
		pause();
}

static void t_crash(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	raise(SIGSEGV);
}

static void t_exit3(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	_exit(3);
}

/* The result pipe: the one write-only FIFO among the child's fds. */
static int result_fd(void)
{
	for (int fd = 3; fd < 256; fd++) {
		struct stat st;
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_ACCMODE) == O_WRONLY && fstat(fd, &st) == 0 &&
		    S_ISFIFO(st.st_mode))
			return fd;
	}
	_exit(1);
}

static void t_garbage(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	const char g[] = "{\"status\": 0, \"summ";
	if (write(result_fd(), g, sizeof(g) - 1) < 0)
		_exit(1);
	_exit(0);
}

static void t_huge(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	static char buf[65536];
	memset(buf, ' ', sizeof(buf));
	int fd = result_fd();
	for (int i = 0; i < 40; i++) /* 2.5 MiB of whitespace, then silence */
		if (write(fd, buf, sizeof(buf)) < 0)
			_exit(1);
	pause();
}

static void t_badstatus(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	gate_result_set(res, GATE_PASS, "sure");
	res->status = (enum gate_status)7;
}

static void t_secret(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	json_object_set_new(res->details, "conninfo",
	                    json_string("host=db password=hunter22 user=x"));
	gate_result_set(res, GATE_FAIL, "cannot connect to host=db password=hunter22");
}

static void t_latin1(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	gate_result_set(res, GATE_FAIL,
	                "Pr\xfc"
	                "fung fehlgeschlagen");
}

/* Results that parse but must not count (write_doc writes them raw). */
static void write_doc(const char *doc)
{
	if (write(result_fd(), doc, strlen(doc)) < 0)
		_exit(1);
}

static void t_passexit1(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	write_doc("{\"status\":0,\"summary\":\"fine\",\"details\":{}}");
	_exit(1);
}

static void t_dupkeys(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	write_doc("{\"status\":1,\"summary\":\"broken\",\"status\":0}");
	_exit(0);
}

/* Prints on its own: escapes, a password, bytes that are not UTF-8. */
static void t_noisy(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	fputs("warming up\n", stdout);
	fflush(stdout);
	fputs("\x1b[2J\x1b[1AALLOWED password=hunter22 \xff\n", stderr);
	gate_result_set(res, GATE_PASS, "all good");
}

static void t_twodocs(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	/* One of its own, then the runner's child writes the real one. */
	write_doc("{\"status\":0,\"summary\":\"fine\"}");
	gate_result_set(res, GATE_FAIL, "it is false");
}

static void t_trailing(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	write_doc("{\"status\":0,\"summary\":\"fine\"} and more");
	_exit(0);
}

static void t_extrakey(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	write_doc("{\"status\":0,\"summary\":\"fine\",\"override\":true}");
	_exit(0);
}

static void t_notobject(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	write_doc("[0, \"fine\"]");
	_exit(0);
}

/* A tool that leaves a process in the background; its pid in details. */
static void t_leftover(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	struct proc_result pr;
	struct proc_opts o = {.timeout_ms = 5000};
	proc_run((char *const[]){"sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!", NULL}, &o, &pr);
	json_object_set_new(res->details, "pid", json_integer(atoi(pr.out)));
	proc_result_release(&pr);
	gate_result_set(res, GATE_PASS, "started one");
}

static void t_sleep300(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	usleep(300 * 1000);
	gate_result_set(res, GATE_PASS, "slept");
}

/* A barrier: passes once three checks have arrived in the directory
 * $GATE_TEST_BARRIER, fails when it waited 4 s alone.  Proves checks run
 * at once without timing them. */
static void t_barrier(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	const char *dir = getenv("GATE_TEST_BARRIER");
	char path[512];
	snprintf(path, sizeof(path), "%s/%d", dir, (int)getpid());
	close(open(path, O_WRONLY | O_CREAT, 0600));
	for (int waited = 0; waited < 4000; waited += 10) {
		int n = 0;
		DIR *d = opendir(dir);
		for (struct dirent *e; d && (e = readdir(d));)
			n += e->d_name[0] != '.';
		if (d)
			closedir(d);
		if (n >= 3) {
			gate_result_set(res, GATE_PASS, "met the others");
			return;
		}
		usleep(10 * 1000);
	}
	gate_result_set(res, GATE_FAIL, "alone");
}

/* Fails until a counter file (path in params "file") reaches 2 writes. */
static void t_flaky(const json_t *p, const struct gate_run_env *env, struct gate_result *res)
{
	const char *f = gate_param_str(p, "file");
	FILE *fp = fopen(f, "a+");
	fputc('x', fp);
	long n = ftell(fp);
	fclose(fp);
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
	T("pass", t_pass),           T("fail", t_fail),           T("nothing", t_nothing),
	T("hang", t_hang),           T("crash", t_crash),         T("exit3", t_exit3),
	T("garbage", t_garbage),     T("huge", t_huge),           T("badstatus", t_badstatus),
	T("secret", t_secret),       T("sleep300", t_sleep300),   T("flaky", t_flaky),
	T("latin1", t_latin1),       T("passexit1", t_passexit1), T("dupkeys", t_dupkeys),
	T("twodocs", t_twodocs),     T("trailing", t_trailing),   T("extrakey", t_extrakey),
	T("notobject", t_notobject), T("leftover", t_leftover),   T("noisy", t_noisy),
	T("barrier", t_barrier),
};

static const struct gate_check_type *type_named(const char *n)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(types[i].name, n))
			return &types[i];
	return NULL;
}

/* ---- a runbook built in memory ---- */

static void rb_make(struct runbook *rb, size_t n)
{
	memset(rb, 0, sizeof(*rb));
	rb->name = "unit";
	rb->timeout_ms = 10000;
	rb->checks = calloc(n, sizeof(*rb->checks));
	rb->nchecks = n;
}

static struct rb_check *rb_set(struct runbook *rb, size_t i, const char *id, const char *type,
                               int64_t timeout_ms)
{
	struct rb_check *c = &rb->checks[i];
	c->id = (char *)id;
	c->type = (char *)type;
	c->timeout_ms = timeout_ms;
	c->retry_delay_ms = 50;
	c->ct = type_named(type);
	c->params = json_object();
	return c;
}

static void rb_free(struct runbook *rb)
{
	for (size_t i = 0; i < rb->nchecks; i++)
		json_decref(rb->checks[i].params);
	free(rb->checks);
}

static int64_t run(struct eval *ev, struct runbook *rb, int jobs, int64_t timeout_ms)
{
	eval_init(ev, rb, EVAL_MODE_CHECK);
	struct runner_opts o = {.jobs = jobs, .timeout_ms = timeout_ms};
	int64_t t0 = gate_mono_ms();
	assert_int_equal(runner_run(ev, &o), 0);
	return gate_mono_ms() - t0;
}

/* ---- the table ---- */

struct row {
	const char *type;
	int64_t timeout_ms;
	enum check_status want;
	const char *summary; /* substring */
	int timed_out;
	int64_t max_ms; /* the whole run must end within this */
};

/* An upper bound only says the run ended: a loaded machine (or ASan)
 * may take seconds longer than the deadline needs. */
#define SLACK_MS 10000

static const struct row rows[] = {
	{"pass", 2000, CHECK_PASS, "all good", 0, 2000 + SLACK_MS},
	{"fail", 2000, CHECK_FAIL, "it is false", 0, 2000 + SLACK_MS},
	{"nothing", 2000, CHECK_ERROR, "module returned no result", 0, 2000 + SLACK_MS},
	{"hang", 300, CHECK_ERROR, "timed out after 300ms", 1, 300 + SLACK_MS},
	{"crash", 2000, CHECK_ERROR, "module crashed: killed by signal 11 (SIGSEGV)", 0,
         2000 + SLACK_MS},
	{"exit3", 2000, CHECK_ERROR, "module exited with status 3 without a result", 0,
         2000 + SLACK_MS},
	{"garbage", 2000, CHECK_ERROR, "unparsable result", 0, 2000 + SLACK_MS},
	{"huge", 2000, CHECK_ERROR, "more than 1 MiB", 0, 2000 + SLACK_MS},
	{"badstatus", 2000, CHECK_ERROR, "unknown status 7", 0, 2000 + SLACK_MS},
	/* A result counts only from a child that exited 0 after writing
	 * exactly one well-formed result. */
	{"passexit1", 2000, CHECK_ERROR, "module exited with status 1 after its result", 0,
         2000 + SLACK_MS},
	{"dupkeys", 2000, CHECK_ERROR, "unparsable result: duplicate object key", 0,
         2000 + SLACK_MS},
	{"twodocs", 2000, CHECK_ERROR, "unparsable result: end of file expected", 0,
         2000 + SLACK_MS},
	{"trailing", 2000, CHECK_ERROR, "unparsable result: end of file expected", 0,
         2000 + SLACK_MS},
	{"extrakey", 2000, CHECK_ERROR, "malformed result: unknown member", 0, 2000 + SLACK_MS},
	{"notobject", 2000, CHECK_ERROR, "malformed result: not an object", 0, 2000 + SLACK_MS},
	/* Not UTF-8: the result survives, the odd byte is shown escaped
	 * (kit/text.h), the rest as it was. */
	{"latin1", 2000, CHECK_FAIL, "Pr\\xfcfung fehlgeschlagen", 0, 2000 + SLACK_MS},
};

static void test_table(void **state)
{
	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		const struct row *r = &rows[k];
		struct runbook rb;
		struct eval ev;
		rb_make(&rb, 1);
		rb_set(&rb, 0, "c", r->type, r->timeout_ms);
		int64_t took = run(&ev, &rb, 0, 10000);
		struct check_result *res = &ev.results[0];
		print_message("%-10s -> %s: %s (%lld ms)\n", r->type,
		              check_status_name(res->status), res->summary, (long long)took);
		assert_int_equal(res->status, r->want);
		assert_non_null(strstr(res->summary, r->summary));
		assert_int_equal(res->timed_out, r->timed_out);
		assert_int_equal(res->attempts, 1);
		assert_true(json_is_object(res->details));
		assert_true(took <= r->max_ms);
		eval_release(&ev);
		rb_free(&rb);
	}
}

static void test_check_output_kept_safe(void **state)
{
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 1);
	rb_set(&rb, 0, "n", "noisy", 2000);
	run(&ev, &rb, 0, 10000);
	assert_int_equal(ev.results[0].status, CHECK_PASS);
	const char *out = json_string_value(json_object_get(ev.results[0].details, "check_output"));
	assert_non_null(out);
	print_message("check_output: %s\n", out);
	assert_non_null(strstr(out, "warming up\n"));
	assert_non_null(strstr(out, "\\x1b[2J\\x1b[1AALLOWED"));
	assert_non_null(strstr(out, "\\xff"));
	assert_null(strstr(out, "hunter22"));
	assert_null(strchr(out, 0x1b));
	eval_release(&ev);
	rb_free(&rb);
}

static void test_details_and_env(void **state)
{
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 1);
	rb_set(&rb, 0, "backup-fresh", "pass", 2000);
	run(&ev, &rb, 0, 10000);
	json_t *d = ev.results[0].details;
	assert_string_equal(json_string_value(json_object_get(d, "check_id")), "backup-fresh");
	assert_true(json_is_true(json_object_get(d, "budget_ok")));
	eval_release(&ev);
	rb_free(&rb);
}

static void test_unavailable_never_runs(void **state)
{
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 1);
	struct rb_check *c = rb_set(&rb, 0, "x", "example.gone", 2000);
	c->ct = NULL;
	c->unavailable = "module /m/example.so: built for module ABI 2.0, this gate provides 1.0";
	run(&ev, &rb, 0, 10000);
	assert_int_equal(ev.results[0].status, CHECK_ERROR);
	assert_string_equal(ev.results[0].summary, c->unavailable);
	assert_int_equal(ev.results[0].attempts, 0);
	eval_release(&ev);
	rb_free(&rb);
}

static void test_overall_deadline(void **state)
{
	/* -j 1: the hanging check holds the only slot until the overall
	 * deadline; the second never starts. */
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 2);
	rb_set(&rb, 0, "h", "hang", 30000);
	rb_set(&rb, 1, "p", "pass", 30000);
	int64_t took = run(&ev, &rb, 1, 400);
	print_message("overall 400ms: %lld ms; %s / %s\n", (long long)took, ev.results[0].summary,
	              ev.results[1].summary);
	assert_true(took >= 400 && took <= 400 + SLACK_MS);
	assert_int_equal(ev.results[0].status, CHECK_ERROR);
	assert_int_equal(ev.results[0].timed_out, 1);
	assert_non_null(strstr(ev.results[0].summary, "overall deadline of 400ms passed"));
	assert_int_equal(ev.results[1].status, CHECK_ERROR);
	assert_string_equal(ev.results[1].summary, "not run: overall deadline of 400ms passed");
	assert_int_equal(ev.results[1].attempts, 0);
	eval_release(&ev);
	rb_free(&rb);
}

static void test_parallel_and_serial(void **state)
{
	char tmpl[] = "/tmp/gate-test-barrier-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	setenv("GATE_TEST_BARRIER", tmpl, 1);
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 3);
	rb_set(&rb, 0, "a", "barrier", 20000);
	rb_set(&rb, 1, "b", "barrier", 20000);
	rb_set(&rb, 2, "c", "barrier", 20000);
	/* all at once: the three meet */
	run(&ev, &rb, 0, 60000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ev.results[i].status, CHECK_PASS);
	eval_release(&ev);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -f %s/*", tmpl);
	assert_int_equal(system(cmd), 0);
	/* -j 1: the first waits alone, so one at a time */
	run(&ev, &rb, 1, 60000);
	assert_int_equal(ev.results[0].status, CHECK_FAIL);
	assert_string_equal(ev.results[0].summary, "alone");
	eval_release(&ev);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
	assert_int_equal(system(cmd), 0);
	unsetenv("GATE_TEST_BARRIER");
	rb_free(&rb);
}

static void test_retries(void **state)
{
	char tmpl[] = "/tmp/gate-test-runner-XXXXXX";
	int fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	close(fd);
	unlink(tmpl);
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 2);
	struct rb_check *c = rb_set(&rb, 0, "flaky", "flaky", 2000);
	json_object_set_new(c->params, "file", json_string(tmpl));
	c->retries = 2;
	c = rb_set(&rb, 1, "fail", "fail", 2000);
	c->retries = 2;
	int64_t took = run(&ev, &rb, 0, 10000);
	assert_int_equal(ev.results[0].status, CHECK_PASS);
	assert_int_equal(ev.results[0].attempts, 2);
	assert_string_equal(ev.results[0].summary, "passed on attempt 2");
	assert_int_equal(ev.results[1].status, CHECK_FAIL);
	assert_int_equal(ev.results[1].attempts, 3);
	assert_true(took >= 100); /* two retry delays of 50ms */
	eval_release(&ev);

	/* A retry that would start after the overall deadline does not. */
	rb.checks[1].retry_delay_ms = 5000;
	run(&ev, &rb, 0, 1000);
	assert_int_equal(ev.results[1].status, CHECK_FAIL);
	assert_int_equal(ev.results[1].attempts, 1);
	eval_release(&ev);
	unlink(tmpl);
	rb_free(&rb);
}

static void test_redacted(void **state)
{
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 1);
	rb_set(&rb, 0, "s", "secret", 2000);
	run(&ev, &rb, 0, 10000);
	assert_null(strstr(ev.results[0].summary, "hunter22"));
	char *d = json_dumps(ev.results[0].details, 0);
	assert_null(strstr(d, "hunter22"));
	free(d);
	eval_release(&ev);
	rb_free(&rb);
}

static void test_nothing_left_behind(void **state)
{
	/* What a check's tool left in the background ends with the check. */
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 1);
	rb_set(&rb, 0, "bg", "leftover", 5000);
	run(&ev, &rb, 0, 10000);
	assert_int_equal(ev.results[0].status, CHECK_PASS);
	pid_t pid = (pid_t)json_integer_value(json_object_get(ev.results[0].details, "pid"));
	assert_true(pid > 1);
	int gone = 0;
	for (int i = 0; i < 1000 && !gone; i++) { /* up to 10 s on a busy machine */
		char path[64], buf[512] = "";
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		FILE *f = fopen(path, "r");
		if (f) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);
			buf[n] = '\0';
			fclose(f);
		}
		const char *rp = strrchr(buf, ')');
		gone = !f || (rp && (rp[2] == 'Z' || rp[2] == 'X'));
		if (!gone)
			usleep(10000);
	}
	if (!gone)
		kill(pid, SIGKILL);
	assert_true(gone);
	eval_release(&ev);
	rb_free(&rb);
}

static int progress_calls, progress_final_done;
static void on_progress(const struct runner_progress *p, void *ud)
{
	progress_calls++;
	progress_final_done = p->done == p->total;
	for (size_t i = 0; i < p->nrunning; i++)
		assert_string_equal(p->running_ids[i], "slow");
}

static void test_progress(void **state)
{
	struct runbook rb;
	struct eval ev;
	rb_make(&rb, 1);
	rb_set(&rb, 0, "slow", "hang", 700);
	eval_init(&ev, &rb, EVAL_MODE_CHECK);
	struct runner_opts o = {.timeout_ms = 5000, .progress = on_progress};
	runner_run(&ev, &o);
	/* ~250 ms ticks over 700 ms, plus the final call. */
	assert_true(progress_calls >= 3 && progress_calls <= 5);
	assert_true(progress_final_done);
	eval_release(&ev);
	rb_free(&rb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_details_and_env),
		cmocka_unit_test(test_check_output_kept_safe),
		cmocka_unit_test(test_unavailable_never_runs),
		cmocka_unit_test(test_overall_deadline),
		cmocka_unit_test(test_parallel_and_serial),
		cmocka_unit_test(test_retries),
		cmocka_unit_test(test_redacted),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_nothing_left_behind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
