/* SPDX-License-Identifier: MIT */
/* kit/spawn: the one way gate starts a process.  Exec failures come back
 * with their errno, a deadline kills the whole group (a grandchild too),
 * descriptors not passed do not reach the child, the parent-death signal
 * is the one asked for, and a function runs in a child with the signal
 * state and descriptors it was given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit/clock.h"
#include "kit/spawn.h"

#define ARGV(...) ((char *const[]){__VA_ARGS__, NULL})

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

/* Up to 10 s (a loaded machine): pid gone?  If not, it is killed here, so
 * a failed assertion leaves nothing running. */
static int wait_gone(pid_t pid)
{
	for (int i = 0; i < 1000; i++) {
		if (pid_gone(pid))
			return 1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	return 0;
}

/* Everything fd gives until EOF. */
static char *read_all(int fd)
{
	static char buf[4096];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/* One line from fd (a pid a child printed), without waiting for EOF. */
static long read_line_num(int fd)
{
	char buf[64];
	size_t len = 0;
	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = '\0';
	return atol(buf);
}

static void assert_no_child_left(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_exec_failure_has_its_errno(void **state)
{
	static const struct {
		const char *cmd;
		int err;
	} rows[] = {
		{"gate-no-such-command-xyz", ENOENT}, /* searched in PATH */
		{"/nonexistent/dir/cmd", ENOENT},
		{"/etc/passwd", EACCES}, /* not executable */
		{"/etc", EACCES},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct spawn sp;
		struct spawn_opts o = {.argv = ARGV((char *)rows[i].cmd),
		                       .in = SPAWN_DEVNULL,
		                       .out = SPAWN_INHERIT,
		                       .err = SPAWN_INHERIT};
		errno = 0;
		assert_int_equal(spawn_start(&sp, &o), -1);
		assert_int_equal(errno, rows[i].err);
		assert_int_equal(sp.failed, SPAWN_EXEC);
		assert_int_equal(sp.error, rows[i].err);
		assert_string_equal(spawn_step_name(sp.failed), "exec");
		spawn_release(&sp);
		assert_no_child_left(); /* the child that could not exec is reaped */
	}
}

static int fn_never(void *arg)
{
	return 0; /* the test fails if this runs: its status would be 0 */
}

static void test_setup_failures_are_reported(void **state)
{
	struct spawn sp;
	/* stdout from a descriptor that is not open */
	struct spawn_opts o = {
		.argv = ARGV("true"), .in = SPAWN_INHERIT, .out = 900, .err = SPAWN_INHERIT};
	assert_int_equal(spawn_start(&sp, &o), -1);
	assert_int_equal(sp.failed, SPAWN_STDIO);
	assert_int_equal(sp.error, EBADF);
	spawn_release(&sp);
	/* a group that does not exist in our session */
	struct spawn_opts g = {.argv = ARGV("true"),
	                       .in = SPAWN_INHERIT,
	                       .out = SPAWN_INHERIT,
	                       .err = SPAWN_INHERIT,
	                       .group = 1};
	assert_int_equal(spawn_start(&sp, &g), -1);
	assert_int_equal(sp.failed, SPAWN_GROUP);
	spawn_release(&sp);
	assert_no_child_left();
	/* a function child is not waited for: what went wrong is known
	 * when it is reaped */
	struct spawn_opts f = {
		.fn = fn_never, .in = SPAWN_INHERIT, .out = 900, .err = SPAWN_INHERIT};
	assert_int_equal(spawn_start(&sp, &f), 0);
	assert_int_equal(spawn_wait(&sp, -1), 0);
	assert_true(WIFEXITED(sp.status));
	assert_int_equal(WEXITSTATUS(sp.status), 127);
	assert_int_equal(sp.failed, SPAWN_STDIO);
	assert_int_equal(sp.error, EBADF);
	assert_int_equal(sp.report_fd, -1);
	spawn_release(&sp);
	/* nothing to run */
	struct spawn_opts none = {.in = SPAWN_INHERIT, .out = SPAWN_INHERIT, .err = SPAWN_INHERIT};
	assert_int_equal(spawn_start(&sp, &none), -1);
	assert_int_equal(sp.error, EINVAL);
}

static void test_statuses(void **state)
{
	struct spawn sp;
	struct spawn_opts o = {.argv = ARGV("sh", "-c", "exit 7"),
	                       .in = SPAWN_DEVNULL,
	                       .out = SPAWN_INHERIT,
	                       .err = SPAWN_INHERIT};
	assert_int_equal(spawn_start(&sp, &o), 0);
	assert_true(sp.pid > 0);
	assert_int_equal(spawn_wait(&sp, -1), 0);
	assert_true(WIFEXITED(sp.status));
	assert_int_equal(WEXITSTATUS(sp.status), 7);
	spawn_release(&sp);

	o.argv = ARGV("sh", "-c", "kill -TERM $$");
	assert_int_equal(spawn_start(&sp, &o), 0);
	assert_int_equal(spawn_wait(&sp, gate_mono_ms() + 60000), 0);
	assert_true(WIFSIGNALED(sp.status));
	assert_int_equal(WTERMSIG(sp.status), SIGTERM);
	spawn_release(&sp);
	assert_no_child_left();
}

static void test_deadline_kills_the_group(void **state)
{
	/* The shell starts a grandchild, says its pid, and waits for it:
	 * at the deadline both die, though the grandchild is not ours. */
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	struct spawn sp;
	struct spawn_opts o = {.argv = ARGV("sh", "-c", "sleep 30 & echo $!; wait"),
	                       .in = SPAWN_DEVNULL,
	                       .out = p[1],
	                       .err = SPAWN_INHERIT,
	                       .group = SPAWN_GROUP_NEW};
	assert_int_equal(spawn_start(&sp, &o), 0);
	close(p[1]);
	assert_int_equal(sp.group, sp.pid);
	pid_t grandchild = (pid_t)read_line_num(p[0]);
	assert_true(grandchild > 1);
	assert_int_equal(getpgid(grandchild), sp.pid);
	int64_t t0 = gate_mono_ms();
	assert_int_equal(spawn_wait(&sp, t0 + 300), 1);
	int64_t took = gate_mono_ms() - t0;
	assert_true(took >= 290 && took < 10000); /* long before the 30 s sleep */
	assert_true(WIFSIGNALED(sp.status));
	assert_int_equal(WTERMSIG(sp.status), SIGKILL);
	assert_true(wait_gone(grandchild));
	close(p[0]);
	spawn_release(&sp);
}

static void test_leftovers_die_when_the_leader_is_reaped(void **state)
{
	/* The leader exits at once; what it left in its group goes when
	 * it is reaped, before the deadline. */
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	struct spawn sp;
	struct spawn_opts o = {.argv = ARGV("sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"),
	                       .in = SPAWN_DEVNULL,
	                       .out = p[1],
	                       .err = SPAWN_INHERIT,
	                       .group = SPAWN_GROUP_NEW};
	assert_int_equal(spawn_start(&sp, &o), 0);
	close(p[1]);
	pid_t left = (pid_t)read_line_num(p[0]);
	assert_true(left > 1);
	assert_int_equal(spawn_wait(&sp, gate_mono_ms() + 60000), 0);
	assert_true(WIFEXITED(sp.status));
	assert_int_equal(WEXITSTATUS(sp.status), 0);
	assert_true(wait_gone(left));
	close(p[0]);
	spawn_release(&sp);
}

static void test_only_given_descriptors_reach_the_program(void **state)
{
	int leak = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
	assert_true(leak > 2);
	int p[2];
	assert_int_equal(pipe(p), 0); /* no O_CLOEXEC either */
	char script[160];
	snprintf(script, sizeof(script),
	         "test -e /proc/self/fd/%d && echo leaked; test -e /proc/self/fd/%d && echo pipe; "
	         "echo out; test -e /proc/self/fd/1",
	         leak, p[1]);
	struct spawn sp;
	struct spawn_opts o = {.argv = ARGV("sh", "-c", script),
	                       .in = SPAWN_DEVNULL,
	                       .out = p[1],
	                       .err = SPAWN_INHERIT};
	assert_int_equal(spawn_start(&sp, &o), 0);
	close(p[1]);
	assert_string_equal(read_all(p[0]), "out\n");
	assert_int_equal(spawn_wait(&sp, -1), 0);
	assert_int_equal(WEXITSTATUS(sp.status), 0); /* the test itself can fail */
	close(p[0]);
	/* ours is untouched */
	assert_int_equal(fcntl(leak, F_GETFD), 0);
	close(leak);
	spawn_release(&sp);
}

/* Started by an intermediate process that is then SIGKILLed: the
 * program gets the death signal asked for (SIGTERM here: its trap says
 * so on the pipe). */
static void test_parent_death_signal(void **state)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t mid = fork();
	assert_true(mid >= 0);
	if (mid == 0) {
		struct spawn sp;
		struct spawn_opts o = {.argv = ARGV("sh", "-c",
		                                    "trap 'echo TERM; exit 0' TERM; echo $$; while "
		                                    ":; do sleep 0.05; done"),
		                       .in = SPAWN_DEVNULL,
		                       .out = p[1],
		                       .err = SPAWN_INHERIT,
		                       .death_signal = SIGTERM};
		if (spawn_start(&sp, &o) < 0)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	pid_t tool = (pid_t)read_line_num(p[0]);
	assert_true(tool > 1);
	kill(mid, SIGKILL);
	waitpid(mid, NULL, 0);
	/* Without the death signal the tool never ends: fail, and kill it,
	 * rather than hang on the pipe (60 s: far beyond any load). */
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	if (poll(&pf, 1, 60000) <= 0) {
		kill(tool, SIGKILL);
		fail_msg("the tool got no death signal");
	}
	assert_string_equal(read_all(p[0]), "TERM\n"); /* EOF: the tool ended */
	assert_true(wait_gone(tool));
	close(p[0]);
}

struct fn_arg {
	int leak;
	int value;
};

/* In the child: what it sees, as bits of its exit status. */
static int fn_probe(void *arg)
{
	struct fn_arg *a = arg;
	struct sigaction sa;
	sigset_t cur;
	int bits = 0;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	bits |= sigismember(&cur, SIGUSR1) ? 1 : 0; /* the mask asked for */
	sigaction(SIGUSR2, NULL, &sa);
	bits |= sa.sa_handler == SIG_DFL ? 2 : 0; /* our handler is gone */
	sigaction(SIGHUP, NULL, &sa);
	bits |= sa.sa_handler == SIG_IGN ? 4 : 0; /* ignored, kept or not */
	sigaction(SIGPIPE, NULL, &sa);
	bits |= sa.sa_handler == SIG_DFL ? 8 : 0; /* reset_signal */
	bits |= (fcntl(a->leak, F_GETFD) & FD_CLOEXEC) ? 16 : 0;
	bits |= getpgrp() == getpid() ? 32 : 0;
	if (printf("value %d\n", a->value) < 0 || fflush(stdout) != 0)
		return 127;
	return bits;
}

static void on_usr2(int sig)
{
}

static void test_function_mode(void **state)
{
	int leak = open("/dev/null", O_RDONLY);
	assert_true(leak > 2);
	signal(SIGUSR2, on_usr2);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	struct fn_arg a = {leak, 42};
	for (int keep = 0; keep <= 1; keep++) {
		int p[2];
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		struct spawn sp;
		struct spawn_opts o = {.fn = fn_probe,
		                       .arg = &a,
		                       .in = SPAWN_DEVNULL,
		                       .out = p[1],
		                       .err = SPAWN_INHERIT,
		                       .group = SPAWN_GROUP_NEW,
		                       .keep_ignored = keep,
		                       .reset_signal = SIGPIPE,
		                       .mask = &usr1};
		assert_int_equal(spawn_start(&sp, &o), 0);
		close(p[1]);
		assert_string_equal(read_all(p[0]), "value 42\n");
		close(p[0]);
		assert_int_equal(spawn_wait(&sp, gate_mono_ms() + 60000), 0);
		assert_true(WIFEXITED(sp.status));
		assert_int_equal(WEXITSTATUS(sp.status), 1 | 2 | (keep ? 4 : 0) | 8 | 16 | 32);
		spawn_release(&sp);
	}
	signal(SIGUSR2, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	/* ours is untouched */
	assert_int_equal(fcntl(leak, F_GETFD), 0);
	close(leak);
	assert_no_child_left();
}

/* A function child that started a program in its group, then waits. */
static int fn_starts_one(void *arg)
{
	struct spawn sp;
	struct spawn_opts o = {.argv = ARGV("sh", "-c", "echo $$; exec sleep 30"),
	                       .in = SPAWN_DEVNULL,
	                       .out = SPAWN_INHERIT,
	                       .err = SPAWN_INHERIT};
	printf("%d\n", (int)getpid());
	fflush(stdout);
	if (spawn_start(&sp, &o) < 0)
		return 1;
	for (;;)
		pause();
}

static void test_function_child_takes_its_group_along(void **state)
{
	/* An intermediate (gate) starts a function child with its own group
	 * and dies of SIGKILL: the child kills its group, the program it
	 * started included. */
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t mid = fork();
	assert_true(mid >= 0);
	if (mid == 0) {
		struct spawn sp;
		struct spawn_opts o = {.fn = fn_starts_one,
		                       .in = SPAWN_DEVNULL,
		                       .out = p[1],
		                       .err = SPAWN_INHERIT,
		                       .group = SPAWN_GROUP_NEW,
		                       .death_signal = SIGRTMIN + 1,
		                       .death_kills_group = 1};
		if (spawn_start(&sp, &o) < 0)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	pid_t child = (pid_t)read_line_num(p[0]);
	pid_t tool = (pid_t)read_line_num(p[0]);
	assert_true(child > 1 && tool > 1);
	assert_int_equal(getpgid(tool), child);
	kill(mid, SIGKILL);
	waitpid(mid, NULL, 0);
	assert_true(wait_gone(tool));
	assert_true(wait_gone(child));
	close(p[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_failure_has_its_errno),
		cmocka_unit_test(test_setup_failures_are_reported),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_deadline_kills_the_group),
		cmocka_unit_test(test_leftovers_die_when_the_leader_is_reaped),
		cmocka_unit_test(test_only_given_descriptors_reach_the_program),
		cmocka_unit_test(test_parent_death_signal),
		cmocka_unit_test(test_function_mode),
		cmocka_unit_test(test_function_child_takes_its_group_along),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
