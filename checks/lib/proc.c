/* SPDX-License-Identifier: MIT */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* After the child exited, how long a grandchild may keep its pipes open
 * before we stop reading and kill what is left of the group. */
#define PROC_EXIT_GRACE_MS 200

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct sink {
	char *buf;
	size_t len, alloc, max;
	int truncated;
};

static void sink_add(struct sink *s, const char *p, size_t n)
{
	if (s->len >= s->max) {
		if (n)
			s->truncated = 1;
		return;
	}
	if (n > s->max - s->len) {
		n = s->max - s->len;
		s->truncated = 1;
	}
	if (s->len + n + 1 > s->alloc) {
		size_t na = s->alloc ? s->alloc : 4096;
		while (na < s->len + n + 1)
			na *= 2;
		char *nb = realloc(s->buf, na);
		if (!nb) {
			s->truncated = 1;
			return;
		}
		s->buf = nb;
		s->alloc = na;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
}

static char *sink_take(struct sink *s, size_t *len)
{
	if (!s->buf) {
		s->buf = calloc(1, 1);
		if (!s->buf)
			abort();
	}
	*len = s->len;
	return s->buf;
}

/* Build environ + additions (additions replace same-named variables). */
static char **build_env(char *const *add)
{
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	while (add && add[k])
		k++;
	char **env = calloc(n + k + 1, sizeof(*env));
	if (!env)
		abort();
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int replaced = 0;
		for (size_t j = 0; j < k; j++) {
			const char *eq = strchr(add[j], '=');
			size_t nl = eq ? (size_t)(eq - add[j]) : strlen(add[j]);
			if (!strncmp(environ[i], add[j], nl) && environ[i][nl] == '=')
				replaced = 1;
		}
		if (!replaced)
			env[o++] = environ[i];
	}
	for (size_t j = 0; j < k; j++)
		env[o++] = add[j];
	return env;
}

struct spawn_args {
	char *const *argv;
	char **env;
	int outw, errw;         /* the pipes' write ends, for stdout and stderr */
	pid_t parent;           /* the caller, for the death-signal race check */
	int maxfd;              /* for closing fds where close_range is missing */
	const sigset_t *mask;   /* the caller's signal mask, for the tool */
	volatile int exec_errno; /* written by the child when it cannot exec */
};

/* The child, between vfork and exec.  It borrows the caller's memory
 * until then, so it only makes system calls and writes a->exec_errno;
 * every signal is blocked (no handler of the caller can run here) until
 * the handlers are back to SIG_DFL. */
__attribute__((noreturn)) static void spawn_child(struct spawn_args *a)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* fails harmlessly for libc's own */
	/* The tool dies with the thread that started it, even when that
	 * one is SIGKILLed; if it is already gone, do not start at all. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != a->parent) {
		a->exec_errno = ESRCH;
		_exit(127);
	}
	int nul = open("/dev/null", O_RDONLY);
	if (nul < 0 || (nul != 0 && dup2(nul, 0) < 0) || dup2(a->outw, 1) < 0 ||
	    dup2(a->errw, 2) < 0) {
		a->exec_errno = errno;
		_exit(127);
	}
	/* No other descriptor: a check may hold sockets a library opened
	 * without O_CLOEXEC. */
	if (close_range(3, ~0u, 0) < 0)
		for (int fd = 3; fd < a->maxfd; fd++)
			close(fd);
	sigprocmask(SIG_SETMASK, a->mask, NULL);
	/* glibc's execvpe searches PATH without allocating (safe in a vfork
	 * child) and leaves execvp's errno: EACCES if a candidate was not
	 * executable and none ran. */
	execvpe(a->argv[0], a->argv, a->env);
	a->exec_errno = errno;
	_exit(127);
}

/* vfork: the child shares our memory until it execs, so nothing of
 * gate's address space is copied for each tool (bench/core: this was the
 * largest cost of `exec` checks).  posix_spawn would be as fast but
 * cannot set a parent-death signal.  All signals stay blocked around it. */
static pid_t spawn(struct spawn_args *a, int *err)
{
	sigset_t all, cur;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &cur);
	a->mask = &cur;
	a->exec_errno = 0;
	pid_t pid = vfork();
	if (pid == 0)
		spawn_child(a);
	*err = pid < 0 ? errno : a->exec_errno;
	sigprocmask(SIG_SETMASK, &cur, NULL);
	a->mask = NULL;
	return pid;
}

int proc_run(char *const *argv, const struct proc_opts *opts,
             struct proc_result *res)
{
	struct proc_opts dflt = {0};
	if (!opts)
		opts = &dflt;
	memset(res, 0, sizeof(*res));
	struct sink so = {.max = opts->max_out ? opts->max_out : 4u << 20};
	struct sink se = {.max = opts->max_err ? opts->max_err : 64u << 10};
	int64_t t0 = mono_ms();
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};

	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		res->exec_errno = errno;
		goto fail_fds;
	}
	/* The tool gets default signal handlers, the caller's signal mask,
	 * /dev/null as stdin, the pipes as stdout/stderr, and no other
	 * descriptor.  It stays in the caller's process group: the runner
	 * kills a check's group at its deadline, when gate is stopped by a
	 * signal, and when the check ends, and that takes the tool and
	 * whatever it started along.  And it dies with its parent
	 * (PR_SET_PDEATHSIG; cleared when it execs a setuid program). */
	long maxfd = sysconf(_SC_OPEN_MAX);
	struct spawn_args sa = {
		.argv = argv,
		.env = build_env(opts->env_add),
		.outw = outp[1],
		.errw = errp[1],
		.parent = getpid(),
		.maxfd = maxfd < 0 || maxfd > 65536 ? 65536 : (int)maxfd,
	};
	int spawn_errno = 0;
	pid_t pid = spawn(&sa, &spawn_errno);
	free(sa.env);
	close(outp[1]);
	outp[1] = -1;
	close(errp[1]);
	errp[1] = -1;
	if (pid > 0 && spawn_errno) {
		/* It never ran: reap the child that could not exec. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (pid < 0 || spawn_errno) {
		res->exec_errno = spawn_errno ? spawn_errno : EAGAIN;
		goto fail_fds;
	}
	res->started = 1;

	/* Wait for three things: EOF on both pipes and the child's exit
	 * (through a pidfd), all bounded by the deadline.  A grandchild may
	 * keep the pipes open after the child exited (a tool that starts
	 * something in the background): we then give the pipes a short grace
	 * and stop.  A child may also close its pipes and keep running: the
	 * pidfd bounds that wait too. */
	int pidfd = (int)pidfd_open(pid, 0);
	int64_t deadline = opts->timeout_ms > 0 ? t0 + opts->timeout_ms : -1;
	int64_t grace_end = -1;
	int open_out = 1, open_err = 1, stop = 0, exited = pidfd < 0;
	char buf[65536];
	while ((open_out || open_err || !exited) && !stop) {
		struct pollfd pf[3];
		int np = 0;
		if (open_out)
			pf[np++] = (struct pollfd){.fd = outp[0], .events = POLLIN};
		if (open_err)
			pf[np++] = (struct pollfd){.fd = errp[0], .events = POLLIN};
		if (!exited)
			pf[np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		int64_t now = mono_ms();
		if (deadline >= 0 && now >= deadline) {
			res->timed_out = 1;
			break;
		}
		if (grace_end >= 0 && now >= grace_end)
			break;
		int64_t until = deadline;
		if (grace_end >= 0 && (until < 0 || grace_end < until))
			until = grace_end;
		int wait = -1;
		if (until >= 0)
			wait = until - now > 1000000 ? 1000000 : (int)(until - now);
		int r = poll(pf, (nfds_t)np, wait);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < np; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pf[i].fd == pidfd) {
				exited = 1;
				grace_end = mono_ms() + PROC_EXIT_GRACE_MS;
				continue;
			}
			ssize_t n = read(pf[i].fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			int is_out = pf[i].fd == outp[0];
			if (n <= 0) {
				if (is_out)
					open_out = 0;
				else
					open_err = 0;
				continue;
			}
			if (is_out && opts->on_stdout) {
				if (opts->on_stdout(buf, (size_t)n, opts->ud))
					stop = 1;
			} else {
				sink_add(is_out ? &so : &se, buf, (size_t)n);
			}
		}
	}
	/* Kill the tool: at the deadline, when told to stop, or if it only
	 * closed its pipes.  What it started in the background lives in the
	 * check's process group and ends with the check (the runner kills
	 * that group before it reaps the check). */
	kill(pid, SIGKILL);
	if (pidfd >= 0)
		close(pidfd);
	int st = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, 0);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
	}
	if (WIFEXITED(st)) {
		res->exited = 1;
		res->exit_code = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		res->signaled = 1;
		res->term_signal = WTERMSIG(st);
	}
	close(outp[0]);
	close(errp[0]);
	res->out = sink_take(&so, &res->out_len);
	res->out_truncated = so.truncated;
	res->err = sink_take(&se, &res->err_len);
	res->err_truncated = se.truncated;
	res->duration_ms = (double)(mono_ms() - t0);
	return 0;

fail_fds:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	res->out = sink_take(&so, &res->out_len);
	res->err = sink_take(&se, &res->err_len);
	res->duration_ms = (double)(mono_ms() - t0);
	return -1;
}

void proc_result_release(struct proc_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

char *proc_tail(const char *s, size_t max)
{
	if (!s)
		s = "";
	size_t len = strlen(s);
	const char *p = len > max ? s + len - max : s;
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	size_t n = strlen(p);
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\t' ||
	             p[n - 1] == '\r'))
		n--;
	char *r = malloc(n + 1);
	if (!r)
		abort();
	memcpy(r, p, n);
	r[n] = '\0';
	return r;
}

const char *proc_describe(const struct proc_result *res, const char *tool)
{
	static char buf[256];
	if (!res->started) {
		if (res->exec_errno == ENOENT)
			snprintf(buf, sizeof(buf), "%s: not installed (not found on PATH)", tool);
		else
			snprintf(buf, sizeof(buf), "%s: cannot be executed: %s", tool,
			         strerror(res->exec_errno));
	} else if (res->timed_out) {
		snprintf(buf, sizeof(buf), "%s: timed out after %.1fs (killed)", tool,
		         res->duration_ms / 1000.0);
	} else if (res->signaled) {
		snprintf(buf, sizeof(buf), "%s: killed by signal %d", tool, res->term_signal);
	} else {
		snprintf(buf, sizeof(buf), "%s: exited %d", tool, res->exit_code);
	}
	return buf;
}
