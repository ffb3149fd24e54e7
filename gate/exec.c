/* SPDX-License-Identifier: MIT */
/* The wrapped command, the way git's run-command starts a child: all
 * signals blocked around fork(); in the child only async-signal-safe
 * calls, handlers back to SIG_DFL, the mask restored, every fd above 2
 * closed, then execvp.  An exec failure travels back as errno over a
 * CLOEXEC pipe, so the parent can tell "not found" from "not executable"
 * without guessing from the status.  Should gate die while the command
 * runs, even of SIGKILL, the command gets SIGTERM (PR_SET_PDEATHSIG), as
 * if gate had forwarded it; the kernel clears that when the command is a
 * setuid or setgid program (sudo), which then outlives a killed gate. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kit/io.h"

/* The signals a person or a supervisor uses to stop a maintenance
 * command: gate passes them on instead of dying and orphaning it. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

static volatile sig_atomic_t child_pid;

/* The core limit gate was started with, for the wrapped command. */
static struct rlimit start_core_limit;
static int have_start_core_limit;

int exec_forbid_core_dumps(void)
{
	struct rlimit rl;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || getrlimit(RLIMIT_CORE, &rl) < 0)
		return -1;
	start_core_limit = rl;
	have_start_core_limit = 1;
	/* Only the soft limit: the hard one stays, so that the command can
	 * be given its limit back without privileges. */
	rl.rlim_cur = 0;
	return setrlimit(RLIMIT_CORE, &rl);
}

static void forward_signal(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	/* A signal from the terminal (Ctrl-C, Ctrl-\) already reached the
	 * command, which shares our foreground process group: sending it a
	 * second time would cancel twice (sudo makes the same distinction). */
	if (si && si->si_code == SI_KERNEL)
		return;
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

static double mono_ms_f(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* close_range(first, last) where the kernel has it (5.9+); else a loop up
 * to maxfd, which the parent computed (sysconf is not async-signal-safe). */
static void close_fds(unsigned first, unsigned last, int maxfd)
{
	if (first > last || close_range(first, last, 0) == 0)
		return;
	for (unsigned fd = first; fd <= last && fd < (unsigned)maxfd; fd++)
		close((int)fd);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_exec(char *const *argv, int errfd, const sigset_t *oldmask, int maxfd,
                       pid_t parent)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction cur;
		if (sigaction(sig, NULL, &cur) < 0)
			continue;
		/* Keep what the user ignored (nohup); undo our handlers. */
		if (cur.sa_handler != SIG_IGN && cur.sa_handler != SIG_DFL)
			sigaction(sig, &dfl, NULL);
	}
	/* Not SIGKILL: what a person or a supervisor stopping gate would
	 * have sent on; the command may clean up.  Do not start it at all
	 * if gate is already gone. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent) {
		int e = ESRCH;
		(void)write_full(errfd, &e, sizeof(e));
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	/* Nothing of gate's leaks into the command but stdin/out/err. */
	if (errfd > 3)
		close_fds(3, (unsigned)errfd - 1, maxfd);
	close_fds((unsigned)errfd + 1, ~0u, maxfd);
	/* The command is the user's: its core limit is the user's (a plain
	 * syscall; the exec makes it dumpable again by itself). */
	if (have_start_core_limit)
		setrlimit(RLIMIT_CORE, &start_core_limit);
	execvp(argv[0], argv);
	int e = errno;
	(void)write_full(errfd, &e, sizeof(e));
	_exit(127);
}

/* 0 when the exec succeeded (EOF), else the child's errno. */
static int read_exec_errno(int fd)
{
	int e = 0;
	size_t got = 0;
	while (got < sizeof(e)) {
		ssize_t n = read(fd, (char *)&e + got, sizeof(e) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got == sizeof(e) ? (e ? e : EIO) : 0;
}

static int wait_child(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return 127; /* cannot happen for our own child: stay closed */
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 127;
}

int exec_command(char *const *argv, int *exec_errno, double *duration_ms)
{
	double t0 = mono_ms_f();
	int dummy_errno;
	if (!exec_errno)
		exec_errno = &dummy_errno;
	*exec_errno = 0;
	if (duration_ms)
		*duration_ms = 0;
	if (!argv || !argv[0] || !argv[0][0]) {
		*exec_errno = ENOENT;
		return 127;
	}

	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		*exec_errno = errno;
		return 126;
	}

	sigset_t all, oldmask;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &oldmask);

	/* Forwarding handlers, installed while everything is blocked; a
	 * signal the caller ignores stays ignored (for us and the command). */
	struct sigaction fwd, old[NFORWARDED];
	int installed[NFORWARDED] = {0};
	memset(&fwd, 0, sizeof(fwd));
	fwd.sa_sigaction = forward_signal;
	fwd.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&fwd.sa_mask);
	for (size_t i = 0; i < NFORWARDED; i++) {
		if (sigaction(forwarded[i], NULL, &old[i]) == 0 &&
		    old[i].sa_handler != SIG_IGN &&
		    sigaction(forwarded[i], &fwd, NULL) == 0)
			installed[i] = 1;
	}

	long maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		child_exec(argv, pfd[1], &oldmask, (int)maxfd, parent);
	int fork_errno = errno;
	child_pid = pid > 0 ? pid : 0;
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	close(pfd[1]);

	int status;
	if (pid < 0) {
		*exec_errno = fork_errno;
		status = 126;
	} else {
		int e = read_exec_errno(pfd[0]);
		status = wait_child(pid);
		if (e) {
			*exec_errno = e;
			status = e == ENOENT ? 127 : 126;
		}
	}
	close(pfd[0]);

	sigprocmask(SIG_SETMASK, &all, NULL);
	child_pid = 0;
	for (size_t i = 0; i < NFORWARDED; i++)
		if (installed[i])
			sigaction(forwarded[i], &old[i], NULL);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);

	if (duration_ms)
		*duration_ms = mono_ms_f() - t0;
	return status;
}
