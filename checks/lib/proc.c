/* SPDX-License-Identifier: MIT */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/spawn.h"
#include "kit/strbuf.h"

extern char **environ;

/* After the child exited, how long a grandchild may keep its pipes open
 * before we stop reading and kill what is left of the group. */
#define PROC_EXIT_GRACE_MS 200

/* What a tool wrote on one pipe, at most max bytes of it. */
struct sink {
	struct strbuf sb;
	size_t max;
	int truncated;
};

static void sink_add(struct sink *s, const char *p, size_t n)
{
	size_t room = s->max - s->sb.len;
	if (n > room) {
		n = room;
		s->truncated = 1;
	}
	strbuf_add(&s->sb, p, n);
}

/* Build environ + additions (additions replace same-named variables). */
static char **build_env(char *const *add)
{
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	while (add && add[k])
		k++;
	char **env = xcalloc(n + k + 1, sizeof(*env));
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

/* The reading side of a running tool. */
struct capture {
	const struct proc_opts *opts;
	int fd[2]; /* stdout, stderr: -1 once at EOF */
	struct sink sink[2];
	int stop; /* on_stdout said enough */
};

/* Read what one pipe has; at EOF it is closed. */
static void capture_read(struct capture *c, int i)
{
	char buf[65536];
	ssize_t n = read(c->fd[i], buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(c->fd[i]);
		c->fd[i] = -1;
	} else if (i == 0 && c->opts->on_stdout) {
		if (c->opts->on_stdout(buf, (size_t)n, c->opts->ud))
			c->stop = 1;
	} else {
		sink_add(&c->sink[i], buf, (size_t)n);
	}
}

/* Wait for three things: EOF on both pipes and the tool's exit (through
 * its pidfd), all bounded by the deadline.  A grandchild may keep the
 * pipes open after the tool exited (a tool that starts something in the
 * background): the pipes then get a short grace, and no more.  A tool
 * may also close its pipes and keep running: the pidfd bounds that wait
 * too.  1 when the deadline passed. */
static int capture_run(struct capture *c, const struct spawn *sp, int64_t deadline)
{
	int64_t grace_end = -1;
	int exited = sp->pidfd < 0;
	while ((c->fd[0] >= 0 || c->fd[1] >= 0 || !exited) && !c->stop) {
		struct pollfd pf[3];
		int np = 0, who[3];
		for (int i = 0; i < 2; i++)
			if (c->fd[i] >= 0) {
				who[np] = i;
				pf[np++] = (struct pollfd){.fd = c->fd[i], .events = POLLIN};
			}
		if (!exited) {
			who[np] = 2;
			pf[np++] = (struct pollfd){.fd = sp->pidfd, .events = POLLIN};
		}
		int64_t now = gate_mono_ms();
		if (deadline >= 0 && now >= deadline)
			return 1;
		if (grace_end >= 0 && now >= grace_end)
			return 0;
		int64_t until = deadline;
		if (grace_end >= 0 && (until < 0 || grace_end < until))
			until = grace_end;
		int wait = until < 0 ? -1 : until - now > 1000000 ? 1000000 : (int)(until - now);
		int r = poll(pf, (nfds_t)np, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return 0;
		for (int k = 0; k < np; k++) {
			if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (who[k] == 2) {
				exited = 1;
				grace_end = gate_mono_ms() + PROC_EXIT_GRACE_MS;
			} else {
				capture_read(c, who[k]);
			}
		}
	}
	return 0;
}

/* Fill res from what was captured; -1 (not started) or 0. */
static int finish(struct proc_result *res, struct capture *c, int64_t t0, int rc)
{
	for (int i = 0; i < 2; i++)
		if (c->fd[i] >= 0)
			close(c->fd[i]);
	res->out_len = c->sink[0].sb.len;
	res->out = strbuf_detach(&c->sink[0].sb);
	res->out_truncated = c->sink[0].truncated;
	res->err_len = c->sink[1].sb.len;
	res->err = strbuf_detach(&c->sink[1].sb);
	res->err_truncated = c->sink[1].truncated;
	res->duration_ms = (double)(gate_mono_ms() - t0);
	return rc;
}

int proc_run(char *const *argv, const struct proc_opts *opts, struct proc_result *res)
{
	struct proc_opts dflt = {0};
	if (!opts)
		opts = &dflt;
	memset(res, 0, sizeof(*res));
	struct capture c = {.opts = opts, .fd = {-1, -1}};
	c.sink[0] = (struct sink){STRBUF_INIT, opts->max_out ? opts->max_out : 4u << 20, 0};
	c.sink[1] = (struct sink){STRBUF_INIT, opts->max_err ? opts->max_err : 64u << 10, 0};
	int64_t t0 = gate_mono_ms();
	int outp[2], errp[2];
	if (pipe2(outp, O_CLOEXEC) < 0) {
		res->exec_errno = errno;
		return finish(res, &c, t0, -1);
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		res->exec_errno = errno;
		close(outp[0]);
		close(outp[1]);
		return finish(res, &c, t0, -1);
	}
	c.fd[0] = outp[0];
	c.fd[1] = errp[0];
	/* The tool gets default signal handlers, the caller's signal mask,
	 * /dev/null as stdin, the pipes as stdout/stderr, and no other
	 * descriptor.  It stays in the caller's process group: the runner
	 * kills a check's group at its deadline, when gate is stopped by a
	 * signal, and when the check ends, and that takes the tool and
	 * whatever it started along.  And it dies with its parent. */
	char **env = build_env(opts->env_add);
	struct spawn_opts so = {.argv = argv,
	                        .envp = env,
	                        .in = SPAWN_DEVNULL,
	                        .out = outp[1],
	                        .err = errp[1],
	                        .death_signal = SIGKILL,
	                        .ids = opts->ids,
	                        .cwd = opts->cwd};
	struct spawn sp;
	int started = spawn_start(&sp, &so) == 0;
	free(env);
	close(outp[1]);
	close(errp[1]);
	if (!started) {
		res->exec_errno = sp.error;
		spawn_release(&sp);
		return finish(res, &c, t0, -1);
	}
	res->started = 1;
	res->timed_out = capture_run(&c, &sp, opts->timeout_ms > 0 ? t0 + opts->timeout_ms : -1);
	/* Kill the tool: at the deadline, when told to stop, or if it only
	 * closed its pipes.  What it started in the background lives in the
	 * check's process group and ends with the check (the runner kills
	 * that group before it reaps the check). */
	spawn_kill(&sp);
	spawn_reap(&sp, 1);
	spawn_release(&sp);
	if (WIFEXITED(sp.status)) {
		res->exited = 1;
		res->exit_code = WEXITSTATUS(sp.status);
	} else if (WIFSIGNALED(sp.status)) {
		res->signaled = 1;
		res->term_signal = WTERMSIG(sp.status);
	}
	return finish(res, &c, t0, 0);
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
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	return xstrndup(p, n);
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
