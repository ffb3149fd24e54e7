/* SPDX-License-Identifier: MIT */
/* proc_run (checks/lib/proc.c): running external tools from checks with
 * captured output, exit codes, signals, ENOENT, deadlines that kill the
 * tool, tools that die with their parent, and bounded capture.  What a
 * tool leaves in the background stays in the caller's process group,
 * which the runner kills when the check ends (test_runner.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/proc.h"

#define ARGV(...) ((char *const[]){__VA_ARGS__, NULL})

static void test_captures_stdout_and_stderr(void **state)
{
	struct proc_result r;
	assert_int_equal(
		proc_run(ARGV("sh", "-c", "printf 'hello\\nworld'; printf oops >&2"), NULL, &r), 0);
	assert_true(r.started);
	assert_true(r.exited);
	assert_int_equal(r.exit_code, 0);
	assert_false(r.signaled);
	assert_false(r.timed_out);
	assert_string_equal(r.out, "hello\nworld");
	assert_int_equal(r.out_len, 11);
	assert_string_equal(r.err, "oops");
	assert_int_equal(r.err_len, 4);
	assert_false(r.out_truncated);
	proc_result_release(&r);
}

static void test_exit_codes(void **state)
{
	static const int codes[] = {0, 1, 2, 3, 7, 126, 255};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char script[32];
		snprintf(script, sizeof(script), "exit %d", codes[i]);
		struct proc_result r;
		assert_int_equal(proc_run(ARGV("sh", "-c", script), NULL, &r), 0);
		assert_true(r.exited);
		assert_int_equal(r.exit_code, codes[i]);
		assert_string_equal(r.out, "");
		proc_result_release(&r);
	}
}

static void test_killed_by_signal(void **state)
{
	static const int sigs[] = {SIGSEGV, SIGTERM, SIGKILL, SIGABRT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		char script[48];
		snprintf(script, sizeof(script), "kill -%d $$", sigs[i]);
		struct proc_result r;
		assert_int_equal(proc_run(ARGV("sh", "-c", script), NULL, &r), 0);
		assert_true(r.started);
		assert_false(r.exited);
		assert_true(r.signaled);
		assert_int_equal(r.term_signal, sigs[i]);
		assert_false(r.timed_out);
		char want[64];
		snprintf(want, sizeof(want), "sh: killed by signal %d", sigs[i]);
		assert_string_equal(proc_describe(&r, "sh"), want);
		proc_result_release(&r);
	}
}

static void test_not_installed(void **state)
{
	struct proc_result r;
	assert_int_equal(proc_run(ARGV("/usr/lib/nagios/plugins/check_nonexistent_xyz"), NULL, &r),
	                 -1);
	assert_false(r.started);
	assert_int_equal(r.exec_errno, ENOENT);
	assert_non_null(r.out);
	assert_non_null(r.err);
	assert_string_equal(proc_describe(&r, "/usr/lib/nagios/plugins/check_nonexistent_xyz"),
	                    "/usr/lib/nagios/plugins/check_nonexistent_xyz: not installed "
	                    "(not found on PATH)");
	proc_result_release(&r);

	/* searched in PATH too */
	assert_int_equal(proc_run(ARGV("gate-no-such-tool-xyz", "--version"), NULL, &r), -1);
	assert_int_equal(r.exec_errno, ENOENT);
	proc_result_release(&r);
}

static void test_not_executable(void **state)
{
	char path[] = "/tmp/gate-test-proc-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\necho hi\n", 18), 18);
	close(fd);
	chmod(path, 0644);
	struct proc_result r;
	assert_int_equal(proc_run(ARGV(path), NULL, &r), -1);
	assert_false(r.started);
	assert_int_equal(r.exec_errno, EACCES);
	assert_non_null(strstr(proc_describe(&r, "x"), "cannot be executed"));
	proc_result_release(&r);
	unlink(path);
}

/* Whether pid has gone (or is a zombie nobody reaped yet). */
static int pid_gone(pid_t pid)
{
	char p[64], buf[512];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return 1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait (up to 1 s) for pid to be gone. */
static int wait_gone(pid_t pid)
{
	for (int i = 0; i < 100; i++) {
		if (pid_gone(pid))
			return 1;
		usleep(10000);
	}
	return 0;
}

/* A process the tool left behind is in our process group (where the
 * runner's kill of a check's group reaches it); the test ends it. */
static void assert_in_our_group_and_kill(pid_t pid)
{
	assert_true(pid > 1);
	pid_t pgid = getpgid(pid);
	kill(pid, SIGKILL); /* first: a failed assertion must not leave it running */
	assert_true(wait_gone(pid));
	assert_int_equal(pgid, getpgrp());
}

static void test_deadline_kills_the_tool(void **state)
{
	/* The shell starts a background sleep (a grandchild of ours), prints
	 * its PID and waits: the shell dies at the deadline. */
	struct proc_opts o = {.timeout_ms = 300};
	struct proc_result r;
	int64_t t0 = now_ms();
	assert_int_equal(proc_run(ARGV("sh", "-c", "sleep 30 & echo $!; wait"), &o, &r), 0);
	int64_t took = now_ms() - t0;
	assert_true(r.timed_out);
	assert_true(r.signaled);
	assert_int_equal(r.term_signal, SIGKILL);
	/* upper bounds: long before the 30 s sleep, whatever the load */
	assert_true(took >= 280 && took < 10000);
	assert_true(r.duration_ms >= 280 && r.duration_ms < 10000);
	assert_non_null(strstr(proc_describe(&r, "sh"), "sh: timed out after"));
	assert_in_our_group_and_kill((pid_t)atoi(r.out));
	proc_result_release(&r);
}

static void test_grandchild_holding_the_pipes(void **state)
{
	/* The child exits at once but leaves a grandchild holding stdout:
	 * proc_run returns soon after the child's exit (not at the 10 s
	 * deadline, not after 30 s), with the child's real status. */
	struct proc_opts o = {.timeout_ms = 10000};
	struct proc_result r;
	int64_t t0 = now_ms();
	assert_int_equal(proc_run(ARGV("sh", "-c", "sleep 30 & echo $!; exit 5"), &o, &r), 0);
	int64_t took = now_ms() - t0;
	assert_true(took < 9000); /* before the 10 s deadline, however loaded */
	assert_false(r.timed_out);
	assert_true(r.exited);
	assert_int_equal(r.exit_code, 5);
	assert_in_our_group_and_kill((pid_t)atoi(r.out));
	proc_result_release(&r);
}

static void test_background_process_stays_in_our_group(void **state)
{
	/* A grandchild that let go of the pipes is still in the caller's
	 * group (not one of its own that a group kill would miss). */
	struct proc_opts o = {.timeout_ms = 10000};
	struct proc_result r;
	assert_int_equal(proc_run(ARGV("sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"), &o, &r),
	                 0);
	assert_false(r.timed_out);
	assert_true(r.exited);
	assert_int_equal(r.exit_code, 0);
	assert_in_our_group_and_kill((pid_t)atoi(r.out));
	proc_result_release(&r);
}

/* A process (a check, here a fork of the test) runs a tool (with opts)
 * and is SIGKILLed: the tool goes too (parent-death signal), though its
 * parent could not kill it. */
static void dies_with_its_parent(const struct proc_opts *opts)
{
	char pidfile[] = "/tmp/gate-test-proc-XXXXXX";
	int fd = mkstemp(pidfile);
	assert_true(fd >= 0);
	close(fd);
	unlink(pidfile); /* the tool's mv makes it (as another user, too) */
	char script[256];
	snprintf(script, sizeof(script), "echo $$ >%s.tmp && mv %s.tmp %s && exec sleep 30",
	         pidfile, pidfile, pidfile);
	pid_t check = fork();
	assert_true(check >= 0);
	if (check == 0) {
		struct proc_result r;
		proc_run(ARGV("sh", "-c", script), opts, &r);
		_exit(0);
	}
	pid_t tool = 0;
	for (int i = 0; i < 1000 && tool <= 0; i++) {
		FILE *f = fopen(pidfile, "r");
		if (f) {
			if (fscanf(f, "%d", &tool) != 1)
				tool = 0;
			fclose(f);
		}
		if (tool <= 0)
			usleep(10000);
	}
	kill(check, SIGKILL);
	waitpid(check, NULL, 0);
	unlink(pidfile);
	assert_true(tool > 1);
	int died = 0;
	for (int i = 0; i < 10 && !died; i++) /* up to 10 s on a busy machine */
		died = wait_gone(tool);
	if (!died)
		kill(tool, SIGKILL);
	assert_true(died);
}

static void test_tool_dies_with_its_parent(void **state)
{
	(void)state;
	dies_with_its_parent(NULL);
}

/* As another user (root only): its uid, gid, groups and directory are
 * set, and the parent-death signal still holds (a change of credentials
 * clears it: it must be set after). */
static void test_runs_as_another_user(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	const gid_t groups[] = {65534};
	const struct spawn_ids ids = {.uid = 65534, .gid = 65534, .groups = groups, .ngroups = 1};
	struct proc_opts o = {.ids = &ids, .cwd = "/"};
	struct proc_result r;
	assert_int_equal(proc_run(ARGV("sh", "-c", "id -u; id -g; id -G; pwd"), &o, &r), 0);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(r.out, "65534\n65534\n65534\n/\n");
	proc_result_release(&r);
	o.cwd = "/nonexistent-gate-dir";
	assert_int_equal(proc_run(ARGV("true"), &o, &r), -1);
	assert_int_equal(r.exec_errno, ENOENT);
	proc_result_release(&r);
	o.cwd = NULL;
	dies_with_its_parent(&o);
}

static void test_child_closing_its_pipes_is_bounded(void **state)
{
	/* EOF on both pipes while the child runs on: the deadline still
	 * holds (no unbounded waitpid). */
	struct proc_opts o = {.timeout_ms = 400};
	struct proc_result r;
	int64_t t0 = now_ms();
	assert_int_equal(proc_run(ARGV("sh", "-c", "exec >&- 2>&-; sleep 30"), &o, &r), 0);
	assert_true(now_ms() - t0 < 2000);
	assert_true(r.timed_out);
	assert_true(r.signaled);
	assert_int_equal(r.term_signal, SIGKILL);
	proc_result_release(&r);
}

static void test_no_timeout_when_fast(void **state)
{
	struct proc_opts o = {.timeout_ms = 5000};
	struct proc_result r;
	assert_int_equal(proc_run(ARGV("sh", "-c", "sleep 0.1; echo done"), &o, &r), 0);
	assert_false(r.timed_out);
	assert_true(r.exited);
	assert_string_equal(r.out, "done\n");
	assert_true(r.duration_ms >= 90 && r.duration_ms < 4000);
	proc_result_release(&r);
}

static void test_truncation(void **state)
{
	/* 200000 bytes on stdout, 5000 on stderr; keep 1000 and 100.  The
	 * child must not block on a full pipe: it runs to completion. */
	struct proc_opts o = {.timeout_ms = 10000, .max_out = 1000, .max_err = 100};
	struct proc_result r;
	assert_int_equal(proc_run(ARGV("sh", "-c",
	                               "head -c 200000 /dev/zero | tr '\\0' a; "
	                               "head -c 5000 /dev/zero | tr '\\0' e >&2; exit 4"),
	                          &o, &r),
	                 0);
	assert_true(r.exited);
	assert_int_equal(r.exit_code, 4);
	assert_false(r.timed_out);
	assert_int_equal(r.out_len, 1000);
	assert_int_equal(strlen(r.out), 1000);
	assert_true(r.out_truncated);
	assert_int_equal(r.out[999], 'a');
	assert_int_equal(r.err_len, 100);
	assert_true(r.err_truncated);
	proc_result_release(&r);

	/* exactly at the limit is not truncated */
	struct proc_opts o2 = {.max_out = 5};
	assert_int_equal(proc_run(ARGV("printf", "12345"), &o2, &r), 0);
	assert_string_equal(r.out, "12345");
	assert_false(r.out_truncated);
	proc_result_release(&r);
}

static void test_env_add_and_replace(void **state)
{
	setenv("GATE_TEST_REPLACED", "old", 1);
	char *const add[] = {"GATE_TEST_NEW=new value", "GATE_TEST_REPLACED=new", NULL};
	struct proc_opts o = {.env_add = add};
	struct proc_result r;
	assert_int_equal(proc_run(ARGV("sh", "-c",
	                               "echo \"$GATE_TEST_NEW|$GATE_TEST_REPLACED\"; "
	                               "env | grep -c '^GATE_TEST_REPLACED='"),
	                          &o, &r),
	                 0);
	assert_string_equal(r.out, "new value|new\n1\n");
	proc_result_release(&r);
	/* our own environment is untouched */
	assert_string_equal(getenv("GATE_TEST_REPLACED"), "old");
	assert_null(getenv("GATE_TEST_NEW"));
}

static void test_stdin_is_dev_null(void **state)
{
	struct proc_opts o = {.timeout_ms = 3000};
	struct proc_result r;
	assert_int_equal(proc_run(ARGV("cat"), &o, &r), 0);
	assert_false(r.timed_out);
	assert_true(r.exited);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(r.out, "");
	proc_result_release(&r);
}

static void test_no_fd_leaks_into_the_tool(void **state)
{
	/* A library's socket opened without O_CLOEXEC stays ours. */
	int fd = open("/dev/null", O_RDONLY);
	assert_true(fd > 2);
	char script[96];
	snprintf(script, sizeof(script), "[ -e /dev/fd/%d ] && echo leaked || echo closed", fd);
	struct proc_result r;
	assert_int_equal(proc_run(ARGV("sh", "-c", script), NULL, &r), 0);
	assert_string_equal(r.out, "closed\n");
	proc_result_release(&r);
	/* still open here */
	assert_int_equal(fcntl(fd, F_GETFD), 0);
	close(fd);
}

struct stream_ud {
	size_t bytes;
	int calls;
};

static int on_out(const char *buf, size_t n, void *ud)
{
	struct stream_ud *s = ud;
	s->bytes += n;
	s->calls++;
	return s->bytes >= 10000; /* enough: stop and kill */
}

static void test_streaming_callback_can_stop(void **state)
{
	struct stream_ud s = {0};
	struct proc_opts o = {.timeout_ms = 10000, .on_stdout = on_out, .ud = &s};
	struct proc_result r;
	int64_t t0 = now_ms();
	assert_int_equal(proc_run(ARGV("yes"), &o, &r), 0);
	assert_true(now_ms() - t0 < 5000);
	assert_true(s.bytes >= 10000);
	assert_true(r.signaled);
	assert_false(r.timed_out);
	assert_string_equal(r.out, ""); /* streamed, not kept */
	proc_result_release(&r);
}

static void test_tail(void **state)
{
	char *t = proc_tail("  first\nsecond line\n\n", 1000);
	assert_string_equal(t, "first\nsecond line");
	free(t);
	t = proc_tail("abcdefghij\n", 4);
	assert_string_equal(t, "hij");
	free(t);
	t = proc_tail(NULL, 10);
	assert_string_equal(t, "");
	free(t);
}

static void test_release_accepts_null(void **state)
{
	proc_result_release(NULL);
	struct proc_result r = {0};
	proc_result_release(&r);
	proc_result_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captures_stdout_and_stderr),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_killed_by_signal),
		cmocka_unit_test(test_not_installed),
		cmocka_unit_test(test_not_executable),
		cmocka_unit_test(test_deadline_kills_the_tool),
		cmocka_unit_test(test_grandchild_holding_the_pipes),
		cmocka_unit_test(test_background_process_stays_in_our_group),
		cmocka_unit_test(test_tool_dies_with_its_parent),
		cmocka_unit_test(test_runs_as_another_user),
		cmocka_unit_test(test_child_closing_its_pipes_is_bounded),
		cmocka_unit_test(test_no_timeout_when_fast),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_env_add_and_replace),
		cmocka_unit_test(test_stdin_is_dev_null),
		cmocka_unit_test(test_no_fd_leaks_into_the_tool),
		cmocka_unit_test(test_streaming_callback_can_stop),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_release_accepts_null),
	};
	return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
