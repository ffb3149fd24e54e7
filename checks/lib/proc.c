/* SPDX-License-Identifier: MIT */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
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
	char **env = build_env(opts->env_add);
	/* posix_spawn (clone with CLONE_VM|CLONE_VFORK in glibc) instead of
	 * fork: a check's process is a copy of gate with ~40 libraries
	 * mapped, and copying its page tables for every tool it runs was
	 * the largest cost of `exec` checks (bench/core).  The child gets
	 * default signal handlers, the caller's signal mask, its own process
	 * group (killed as a whole at the deadline), /dev/null as stdin, the
	 * pipes as stdout/stderr, and no other descriptor (a check may hold
	 * sockets a library opened without O_CLOEXEC).  glibc reports a
	 * failed exec (ENOENT: not installed) as posix_spawnp's result. */
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all, cur;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, NULL, &cur);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setsigmask(&at, &cur);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
	                                  POSIX_SPAWN_SETPGROUP);
	pid_t pid = -1;
	int spawn_errno = posix_spawnp(&pid, argv[0], &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	close(outp[1]);
	outp[1] = -1;
	close(errp[1]);
	errp[1] = -1;
	if (spawn_errno) {
		res->exec_errno = spawn_errno;
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
	/* Kill the whole group: at the deadline, when told to stop, and
	 * whatever the child left running behind it.  The child is not
	 * reaped yet, so its process group id cannot have been reused. */
	kill(-pid, SIGKILL);
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
