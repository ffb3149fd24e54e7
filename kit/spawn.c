/* SPDX-License-Identifier: MIT */
/* Starting a process the one way (spawn.h). */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"

extern char **environ;

/* Without pidfds (kernels before 5.3), how often a wait with a deadline
 * looks whether the child has exited. */
#define SPAWN_POLL_MS 10
/* How long a wait whose deadline passed waits for SIGKILL to work. */
#define SPAWN_KILL_GRACE_MS 100

/* What the child sends when it cannot go on. */
struct spawn_report {
	int step;
	int error;
};

/* What the child needs, computed by the parent: between fork and exec the
 * child may only make system calls (sysconf, getpid's caching, malloc are
 * not for it). */
struct child_ctx {
	const struct spawn_opts *o;
	int repfd;   /* the report pipe's write end */
	int repread; /* its read end, the parent's */
	pid_t parent;
	int maxfd;            /* where close_range is missing */
	const sigset_t *mask; /* the child's signal mask */
};

/* The group a function child leads, for its death handler (written in a
 * forked child only, never in a vfork one). */
static pid_t death_group;

static void on_parent_death(int sig)
{
	kill(-death_group, SIGKILL);
	_exit(128 + sig);
}

__attribute__((noreturn)) static void child_fail(const struct child_ctx *c, int step)
{
	struct spawn_report rep = {step, errno};
	(void)write_full(c->repfd, &rep, sizeof(rep));
	_exit(127);
}

static void child_signals(const struct spawn_opts *o)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction cur;
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (o->keep_ignored && sig != o->reset_signal && sigaction(sig, NULL, &cur) == 0 &&
		    cur.sa_handler == SIG_IGN)
			continue;
		sigaction(sig, &dfl, NULL); /* fails harmlessly for libc's own */
	}
}

/* The parent-death signal, set only while the parent is still there. */
static void child_death_signal(const struct child_ctx *c)
{
	const struct spawn_opts *o = c->o;
	if (!o->death_signal)
		return;
	if (o->death_kills_group) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_parent_death;
		sigfillset(&sa.sa_mask);
		death_group = getpgrp();
		sigaction(o->death_signal, &sa, NULL);
	}
	if (prctl(PR_SET_PDEATHSIG, o->death_signal) < 0)
		child_fail(c, SPAWN_DEATH_SIGNAL);
	if (getppid() != c->parent) {
		errno = ESRCH;
		child_fail(c, SPAWN_DEATH_SIGNAL);
	}
}

/* Another user's credentials, and the working directory.  Raw system
 * calls: libc's setuid() signals every thread of the caller, which a
 * vfork child must not do. */
static void child_ids(const struct child_ctx *c)
{
	const struct spawn_ids *id = c->o->ids;
	if (id && (syscall(SYS_setgroups, id->ngroups, id->groups) < 0 ||
	           syscall(SYS_setresgid, id->gid, id->gid, id->gid) < 0 ||
	           syscall(SYS_setresuid, id->uid, id->uid, id->uid) < 0))
		child_fail(c, SPAWN_IDS);
	if (c->o->cwd && chdir(c->o->cwd) < 0)
		child_fail(c, SPAWN_CWD);
}

/* want (a descriptor, SPAWN_INHERIT, SPAWN_DEVNULL) as fd target. */
static int child_fd(int want, int target, int flags)
{
	if (want == SPAWN_INHERIT)
		return 0;
	int fd = want == SPAWN_DEVNULL ? open("/dev/null", flags) : want;
	if (fd < 0)
		return -1;
	if (fd == target)
		return fcntl(fd, F_SETFD, 0) < 0 ? -1 : 0;
	if (dup2(fd, target) < 0)
		return -1;
	if (want == SPAWN_DEVNULL)
		close(fd);
	return 0;
}

static void child_stdio(const struct child_ctx *c)
{
	const struct spawn_opts *o = c->o;
	if (child_fd(o->in, 0, O_RDONLY) < 0 || child_fd(o->out, 1, O_WRONLY) < 0 ||
	    child_fd(o->err, 2, O_WRONLY) < 0)
		child_fail(c, SPAWN_STDIO);
	/* The caller's descriptors are in place: their own numbers go. */
	const int given[] = {o->in, o->out, o->err};
	for (int i = 0; i < 3; i++)
		if (given[i] > 2 && given[i] != c->repfd)
			close(given[i]);
	/* Everything else is close-on-exec: a library may have opened a
	 * socket without O_CLOEXEC.  (Only marked, not closed: a function
	 * child may still use what a library of the caller's holds.) */
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = 3; fd < c->maxfd; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* The child, between fork (or vfork: it borrows the caller's memory until
 * it execs) and exec.  Every signal is blocked until the mask is set. */
__attribute__((noreturn)) static void child_main(const struct child_ctx *c)
{
	const struct spawn_opts *o = c->o;
	close(c->repread); /* the parent's: and a free slot for /dev/null */
	if (o->group == SPAWN_GROUP_NEW && setpgid(0, 0) < 0)
		child_fail(c, SPAWN_GROUP);
	if (o->group > 0 && setpgid(0, o->group) < 0)
		child_fail(c, SPAWN_GROUP);
	child_signals(o);
	child_ids(c);
	child_death_signal(c);
	child_stdio(c);
	if (o->core_limit)
		setrlimit(RLIMIT_CORE, o->core_limit);
	sigprocmask(SIG_SETMASK, c->mask, NULL);
	if (o->argv) {
		/* glibc's execvpe searches PATH without allocating, and
		 * leaves execvp's errno: EACCES if a candidate was not
		 * executable and none ran. */
		execvpe(o->argv[0], o->argv, o->envp ? o->envp : environ);
		child_fail(c, SPAWN_EXEC);
	}
	close(c->repfd); /* set up: the parent reads EOF */
	_exit(o->fn(o->arg));
}

/* vfork for a program: the child only makes system calls until it execs,
 * and nothing of the caller's address space is copied (bench/core: it
 * was the largest cost of `exec` checks; posix_spawn cannot set a
 * parent-death signal).  fork for a function, which runs on. */
__attribute__((noinline)) static pid_t fork_child(const struct child_ctx *c)
{
	pid_t pid;
	if (c->o->argv)
		pid = vfork();
	else
		pid = fork();
	if (pid == 0)
		child_main(c);
	return pid;
}

static int failed(struct spawn *sp, enum spawn_step step, int err)
{
	sp->failed = step;
	sp->error = err;
	errno = err;
	return -1;
}

/* A report from the child, or 0 at EOF (it execs, or runs the function)
 * or, on a non-blocking fd, when there is none yet. */
static int read_report(int fd, struct spawn_report *rep)
{
	size_t got = 0;
	while (got < sizeof(*rep)) {
		ssize_t n = read(fd, (char *)rep + got, sizeof(*rep) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got == sizeof(*rep);
}

int spawn_start(struct spawn *sp, const struct spawn_opts *o)
{
	memset(sp, 0, sizeof(*sp));
	sp->pidfd = sp->report_fd = -1;
	if ((o->argv ? !o->argv[0] : !o->fn) ||
	    (o->death_kills_group && (o->argv || o->group != SPAWN_GROUP_NEW)))
		return failed(sp, SPAWN_EXEC, EINVAL);
	int rp[2];
	if (pipe2(rp, O_CLOEXEC) < 0)
		return failed(sp, SPAWN_PIPE, errno);
	if (rp[1] <= 2) { /* stdin or stdout was closed: keep it clear of 0-2 */
		int hi = fcntl(rp[1], F_DUPFD_CLOEXEC, 3);
		close(rp[1]);
		if (hi < 0) {
			close(rp[0]);
			return failed(sp, SPAWN_PIPE, errno);
		}
		rp[1] = hi;
	}
	long maxfd = sysconf(_SC_OPEN_MAX);
	sigset_t all, old;
	struct child_ctx c = {o,
	                      rp[1],
	                      rp[0],
	                      getpid(),
	                      maxfd < 0 || maxfd > 65536 ? 65536 : (int)maxfd,
	                      o->mask ? o->mask : &old};
	if (!o->argv)
		fflush(NULL); /* nothing buffered is written twice by the child */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork_child(&c);
	int fork_errno = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(rp[1]);
	if (pid < 0) {
		close(rp[0]);
		return failed(sp, SPAWN_FORK, fork_errno);
	}
	sp->pid = pid;
	if (o->group == SPAWN_GROUP_NEW) {
		setpgid(pid, pid); /* also here: fails once it has exec'd, harmlessly */
		sp->group = pid;
	}
	sp->pidfd = (int)pidfd_open(pid, 0);
	if (!o->argv) {
		/* Waiting here for a forked child to be scheduled would
		 * start checks one by one: its report is read when it is
		 * reaped. */
		fcntl(rp[0], F_SETFL, O_NONBLOCK);
		sp->report_fd = rp[0];
		return 0;
	}
	/* vfork: it has exec'd, or failed, by now. */
	struct spawn_report rep;
	int bad = read_report(rp[0], &rep);
	close(rp[0]);
	if (bad) {
		spawn_reap(sp, 1); /* it never ran */
		return failed(sp, rep.step, rep.error);
	}
	return 0;
}

const char *spawn_step_name(enum spawn_step step)
{
	static const char *const names[] = {
		[SPAWN_OK] = "start",
		[SPAWN_PIPE] = "pipe",
		[SPAWN_FORK] = "fork",
		[SPAWN_GROUP] = "setpgid",
		[SPAWN_DEATH_SIGNAL] = "parent-death signal",
		[SPAWN_STDIO] = "stdio",
		[SPAWN_EXEC] = "exec",
		[SPAWN_IDS] = "setuid",
		[SPAWN_CWD] = "chdir",
	};
	return (unsigned)step < sizeof(names) / sizeof(names[0]) ? names[step] : "start";
}

void spawn_kill(struct spawn *sp)
{
	if (sp->pid <= 0 || sp->reaped)
		return;
	if (sp->group > 0)
		kill(-sp->group, SIGKILL);
	kill(sp->pid, SIGKILL);
}

static void reaped(struct spawn *sp, int status)
{
	sp->reaped = 1;
	sp->status = status;
	struct spawn_report rep;
	if (sp->report_fd >= 0 && read_report(sp->report_fd, &rep)) {
		sp->failed = rep.step;
		sp->error = rep.error;
	}
	spawn_release(sp);
}

int spawn_reap(struct spawn *sp, int block)
{
	if (sp->reaped || sp->pid <= 0)
		return 1;
	if (sp->group > 0) {
		/* Exited but not yet reaped: what it left in its group dies
		 * now, while the group's id cannot be reused. */
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		int w;
		do
			w = waitid(P_PID, (id_t)sp->pid, &si,
			           WEXITED | WNOWAIT | (block ? 0 : WNOHANG));
		while (w < 0 && errno == EINTR);
		if (w == 0 && si.si_pid == sp->pid)
			kill(-sp->group, SIGKILL);
		else if (w == 0)
			return 0; /* still running */
	}
	int st;
	pid_t p;
	do
		p = waitpid(sp->pid, &st, block ? 0 : WNOHANG);
	while (p < 0 && errno == EINTR);
	if (p == 0)
		return 0;
	if (p < 0) {
		/* Counted as reaped, with a status nobody can take for a
		 * success: exit 127, as a shell says "could not run". */
		int e = errno;
		reaped(sp, 127 << 8);
		errno = e;
		return -1;
	}
	reaped(sp, st);
	return 1;
}

/* Reap it if it exits by until_ms: 1 reaped, 0 not by then, -1 error. */
static int wait_until(struct spawn *sp, int64_t until_ms)
{
	while (!sp->reaped) {
		int64_t left = until_ms - gate_mono_ms();
		if (left <= 0)
			return 0;
		int wait = left > 60000 ? 60000 : (int)left;
		if (sp->pidfd < 0) {
			int r = spawn_reap(sp, 0);
			if (r != 0)
				return r;
			poll(NULL, 0, wait < SPAWN_POLL_MS ? wait : SPAWN_POLL_MS);
			continue;
		}
		struct pollfd pf = {.fd = sp->pidfd, .events = POLLIN};
		int r = poll(&pf, 1, wait);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0)
			return spawn_reap(sp, 1);
	}
	return 1;
}

int spawn_wait(struct spawn *sp, int64_t deadline_ms)
{
	if (sp->reaped || sp->pid <= 0)
		return 0;
	if (deadline_ms < 0)
		return spawn_reap(sp, 1) < 0 ? -1 : 0;
	int r = wait_until(sp, deadline_ms);
	if (r != 0)
		return r < 0 ? -1 : 0;
	/* SIGKILL cannot be caught, so the wait is short, unless it sits in
	 * an uninterruptible sleep (a dead NFS server): then it is left
	 * behind rather than holding up the caller. */
	spawn_kill(sp);
	r = wait_until(sp, gate_mono_ms() + SPAWN_KILL_GRACE_MS);
	if (r <= 0 && !sp->reaped)
		reaped(sp, SIGKILL); /* as if killed and reaped */
	return 1;
}

void spawn_release(struct spawn *sp)
{
	if (sp->pidfd >= 0)
		close(sp->pidfd);
	if (sp->report_fd >= 0)
		close(sp->report_fd);
	sp->pidfd = sp->report_fd = -1;
}
