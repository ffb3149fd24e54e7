/* SPDX-License-Identifier: MIT */
/* exec_command(): statuses as a shell reports them, exec errors over the
 * CLOEXEC pipe, no fd leaks into the command, signals forwarded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gate/exec.h"

struct row {
	const char *argv[6];
	int want;
	int want_errno;
};

static const struct row rows[] = {
	{{"true"}, 0, 0},
	{{"false"}, 1, 0},
	{{"sh", "-c", "exit 7"}, 7, 0},
	{{"sh", "-c", "kill -TERM $$"}, 128 + SIGTERM, 0},
	{{"sh", "-c", "kill -KILL $$"}, 128 + SIGKILL, 0},
	{{"gate-no-such-command-xyz"}, 127, ENOENT},
	{{"/nonexistent/dir/cmd"}, 127, ENOENT},
	{{"/etc/passwd"}, 126, EACCES},
	{{"/etc"}, 126, EACCES},
};

static void test_statuses(void **state)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int e = -1;
		double ms = -1;
		int st = exec_command((char *const *)rows[i].argv, &e, &ms);
		print_message("%-28s -> %d (errno %d, %.1f ms)\n", rows[i].argv[0], st, e, ms);
		assert_int_equal(st, rows[i].want);
		assert_int_equal(e, rows[i].want_errno);
		assert_true(ms >= 0);
	}
}

static void test_no_fd_leak(void **state)
{
	int fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
	assert_true(fd > 2);
	char script[128];
	snprintf(script, sizeof(script), "test ! -e /proc/self/fd/%d", fd);
	const char *argv[] = {"sh", "-c", script, NULL};
	assert_int_equal(exec_command((char *const *)argv, NULL, NULL), 0);
	/* The check itself can fail: the same script sees fd 1. */
	const char *argv2[] = {"sh", "-c", "test ! -e /proc/self/fd/1", NULL};
	assert_int_equal(exec_command((char *const *)argv2, NULL, NULL), 1);
	close(fd);
}

static void test_runs_once(void **state)
{
	char path[] = "/tmp/gate-test-exec-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char script[256];
	snprintf(script, sizeof(script), "echo ran >> %s", path);
	const char *argv[] = {"sh", "-c", script, NULL};
	assert_int_equal(exec_command((char *const *)argv, NULL, NULL), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4);
	unlink(path);
}

/* SIGTERM sent to gate reaches the command, whose trap decides the status;
 * gate itself survives to return it. */
static void test_forwards_sigterm(void **state)
{
	pid_t self = getpid();
	pid_t killer = fork();
	if (killer == 0) {
		usleep(300 * 1000);
		kill(self, SIGTERM);
		_exit(0);
	}
	const char *argv[] = {"sh", "-c",
	                      "trap 'exit 42' TERM; i=0; while [ $i -lt 50 ]; do sleep 0.1; "
	                      "i=$((i+1)); done; exit 3",
	                      NULL};
	int st = exec_command((char *const *)argv, NULL, NULL);
	waitpid(killer, NULL, 0);
	assert_int_equal(st, 42);
	/* Our own disposition is back to what it was (default). */
	struct sigaction sa;
	sigaction(SIGTERM, NULL, &sa);
	assert_true(sa.sa_handler == SIG_DFL);
}

/* An ignored signal stays ignored for the command (nohup semantics). */
static void test_ignored_stays_ignored(void **state)
{
	signal(SIGHUP, SIG_IGN);
	const char *argv[] = {"sh", "-c", "kill -HUP $$; exit 5", NULL};
	assert_int_equal(exec_command((char *const *)argv, NULL, NULL), 5);
	signal(SIGHUP, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_no_fd_leak),
		cmocka_unit_test(test_runs_once),
		cmocka_unit_test(test_forwards_sigterm),
		cmocka_unit_test(test_ignored_stays_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
