/* SPDX-License-Identifier: MIT */
/* The runner's shared children (runner_impl.h).  A module that declares
 * its `run` thread-safe (ABI 1.2, GATE_MF_THREADED_RUN) gets the first
 * attempts of its checks that are ready together started in one child, a
 * "host", one thread per check, instead of one forked child each: one fork
 * of the big parent, one set of copy-on-write faults, the module's
 * libraries set up and their symbols bound once (bench/profile/).
 *
 * Each check keeps what makes it a check of its own: its own result pipe
 * (the thread writes its result and closes it), its own deadline (past it
 * the check is a timeout and its pipe is closed; the host goes on for the
 * others), its own result.  A result counts when it is exactly one
 * well-formed document at that pipe's EOF; a check whose pipe ends
 * without one is judged by how the host ended (a crash is "module
 * crashed" for each check that had not sent its result).  The host's
 * process group is killed and reaped when its last check is over, so
 * nothing it started outlives its checks.  What the host prints goes to
 * the checks of it that end in error. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/text.h"
#include "redact.h"
#include "runbook.h"
#include "runner_impl.h"

struct host {
	struct host *next;
	struct spawn sp;
	int efd;           /* read end of its stdout+stderr, -1 at EOF */
	struct strbuf err; /* what came through efd (at most RUNNER_MAX_STDERR) */
	size_t running;    /* its jobs whose attempt is not over */
};

/* What the host child is given. */
struct host_arg {
	struct runner *r;
	struct job **jobs;
	int *wfd, *rfd; /* each job's result pipe */
	size_t n;
	int efd; /* the parent's read end of the output pipe */
};

/* One check, in one thread of the host. */
struct host_call {
	const struct rb_check *c;
	struct gate_run_env env;
	int wfd;
	pthread_t th;
	int started;
};

static int threaded(const struct runner *r, const struct job *j)
{
	const struct gate_module *m = r->rb->checks[j->idx].mod;
	return m && GATE_ABI_VERSION_MAJOR(m->abi_version) == GATE_ABI_MAJOR &&
	       GATE_ABI_VERSION_MINOR(m->abi_version) >= 2 && (m->flags & GATE_MF_THREADED_RUN);
}

/* A job that may join a host started for `lead` now. */
static int joins(const struct runner *r, const struct job *lead, const struct job *j, int64_t now)
{
	return j->state == JOB_PENDING && j->attempts == 0 && j->not_before <= now &&
	       r->rb->checks[j->idx].mod == r->rb->checks[lead->idx].mod;
}

/* ---- the child ---- */

static void *host_thread(void *arg)
{
	struct host_call *hc = arg;
	struct gate_result res;
	memset(&res, 0, sizeof(res));
	res.status = GATE_ERROR;
	snprintf(res.summary, sizeof(res.summary), "module returned no result");
	res.details = json_object();
	hc->env.timeout_ms = hc->env.deadline_ms - gate_mono_ms();
	if (hc->env.timeout_ms < 1)
		hc->env.timeout_ms = 1;
	hc->c->ct->run(hc->c->params, &hc->env, &res);
	/* a result that cannot be written is none: EOF without it */
	runner_child_send(hc->wfd, &res);
	close(hc->wfd);
	json_decref(res.details);
	return NULL;
}

static int host_child(void *arg)
{
	const struct host_arg *a = arg;
	/* A check past its deadline has its pipe closed by gate while its
	 * thread may still write a result: that write must fail (EPIPE) for
	 * that check alone, not raise SIGPIPE and end every check of the
	 * child.  Tools started with kit/spawn get SIG_DFL back. */
	signal(SIGPIPE, SIG_IGN);
	runner_child_close(a->r);
	close(a->efd);
	for (size_t i = 0; i < a->n; i++)
		close(a->rfd[i]);
	struct host_call *calls = xcalloc(a->n, sizeof(*calls));
	for (size_t i = 0; i < a->n; i++) {
		struct host_call *hc = &calls[i];
		hc->c = &a->r->rb->checks[a->jobs[i]->idx];
		hc->env = (struct gate_run_env){.abi_version = GATE_ABI_VERSION,
		                                .check_id = hc->c->id,
		                                .deadline_ms = a->jobs[i]->deadline,
		                                .verbose = a->r->opts->verbose};
		hc->wfd = a->wfd[i];
		int e = pthread_create(&hc->th, NULL, host_thread, hc);
		hc->started = e == 0;
		if (!e)
			continue;
		/* no thread: this check is an error, the others run */
		struct gate_result res = {GATE_ERROR, "", NULL};
		snprintf(res.summary, sizeof(res.summary), "cannot start check: thread: %s",
		         strerror(e));
		runner_child_send(hc->wfd, &res);
		close(hc->wfd);
	}
	for (size_t i = 0; i < a->n; i++)
		if (calls[i].started)
			pthread_join(calls[i].th, NULL);
	free(calls);
	_exit(0);
}

/* ---- the parent ---- */

static void host_free(struct runner *r, struct host *h)
{
	for (struct host **p = &r->hosts; *p; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			break;
		}
	spawn_release(&h->sp);
	if (h->efd >= 0)
		close(h->efd);
	strbuf_release(&h->err);
	free(h);
}

/* Start hosted: pipes, one child, each job RUNNING in it.  -1 when the
 * child could not be started (each job is then told, as one would be). */
static int host_spawn(struct runner *r, struct job **js, size_t n, int64_t now)
{
	struct host_arg a = {r, js, xcalloc(n, sizeof(int)), xcalloc(n, sizeof(int)), 0, -1};
	int efd[2] = {-1, -1}, err = 0;
	const char *what = "pipe";
	for (size_t i = 0; i < n; i++)
		runner_attempt_begin(r, js[i], now);
	for (size_t i = 0; i < n; i++, a.n++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			err = errno;
			break;
		}
		a.rfd[i] = p[0];
		a.wfd[i] = p[1];
	}
	struct host *h = xcalloc(1, sizeof(*h));
	h->efd = -1;
	if (!err && pipe2(efd, O_CLOEXEC) < 0)
		err = errno;
	if (!err) {
		a.efd = efd[0];
		sigset_t none;
		sigemptyset(&none);
		struct spawn_opts so = {.fn = host_child,
		                        .arg = &a,
		                        .in = SPAWN_DEVNULL,
		                        .out = efd[1],
		                        .err = efd[1],
		                        .group = SPAWN_GROUP_NEW,
		                        .death_signal = RUNNER_DEATH_SIGNAL,
		                        .death_kills_group = 1,
		                        .mask = &none};
		if (spawn_start(&h->sp, &so) != 0) {
			what = spawn_step_name(h->sp.failed);
			err = h->sp.error;
		}
		close(efd[1]);
	}
	for (size_t i = 0; i < a.n; i++)
		close(a.wfd[i]);
	for (size_t i = 0; i < n; i++) {
		if (err) {
			if (i < a.n)
				close(a.rfd[i]);
			runner_cannot_start(r, js[i], what, err);
			continue;
		}
		fcntl(a.rfd[i], F_SETFL, O_NONBLOCK);
		js[i]->fd = a.rfd[i];
		js[i]->efd = -1;
		js[i]->host = h;
		js[i]->state = JOB_RUNNING;
		r->running++;
		h->running++;
	}
	free(a.rfd);
	free(a.wfd);
	if (err) {
		if (efd[0] >= 0)
			close(efd[0]);
		spawn_release(&h->sp);
		free(h);
		return -1;
	}
	fcntl(efd[0], F_SETFL, O_NONBLOCK);
	h->efd = efd[0];
	h->next = r->hosts;
	r->hosts = h;
	return 0;
}

int host_start(struct runner *r, struct job *j, int64_t now, size_t limit)
{
	if (j->attempts != 0 || !threaded(r, j))
		return 0;
	struct job **js = xcalloc(r->njobs, sizeof(*js));
	size_t n = 0;
	for (size_t k = 0; k < r->njobs && r->running + n < limit; k++)
		if (&r->jobs[k] == j || (n && joins(r, j, &r->jobs[k], now)))
			js[n++] = &r->jobs[k];
	if (n < 2) { /* alone: its own child, as always */
		free(js);
		return 0;
	}
	host_spawn(r, js, n, now);
	free(js);
	return 1;
}

static void read_host_output(struct host *h, int eof)
{
	runner_drain(&h->efd, &h->err, eof);
}

void host_finish_if_over(struct runner *r, struct job *j, int64_t now)
{
	struct host *h = j->host;
	if (runner_output_ok(j)) {
		/* its thread sent its result and closed its pipe: that it
		 * exited 0 is all a result needs; the host goes on */
		struct spawn done;
		memset(&done, 0, sizeof(done));
		runner_judge_output(r, j, &done);
	} else {
		/* no result (or a broken one): how the host ended says why */
		if (!h->sp.reaped && h->sp.pidfd < 0)
			spawn_reap(&h->sp, 1);
		if (!h->sp.reaped)
			return;
		runner_judge_output(r, j, &h->sp);
	}
	runner_attempt_over(r, j, now);
}

void host_job_over(struct runner *r, struct job *j)
{
	struct host *h = j->host;
	if (!h)
		return;
	j->host = NULL;
	struct check_result *res = &r->ev->results[j->idx];
	if (res->status == CHECK_ERROR)
		read_host_output(h, h->sp.reaped);
	if (res->status == CHECK_ERROR && h->err.len) {
		struct strbuf sb = STRBUF_INIT;
		text_safe_addn(&sb, h->err.buf, h->err.len, TEXT_KEEP_NEWLINE | TEXT_KEEP_TAB);
		char *red = redact_string(sb.buf);
		if (!res->details)
			res->details = json_object();
		json_object_set_new(res->details, "check_output", json_string(red));
		free(red);
		strbuf_release(&sb);
	}
	if (--h->running > 0)
		return;
	/* its last check is over: nothing it started outlives it */
	spawn_wait(&h->sp, 0);
	host_free(r, h);
}

size_t host_count(const struct runner *r)
{
	size_t n = 0;
	for (const struct host *h = r->hosts; h; h = h->next)
		n++;
	return n;
}

size_t host_poll_fds(struct runner *r, struct pollfd *pfds)
{
	size_t n = 0;
	for (struct host *h = r->hosts; h; h = h->next) {
		pfds[n++] = (struct pollfd){.fd = h->sp.reaped ? -1 : h->sp.pidfd,
		                            .events = POLLIN};
		pfds[n++] = (struct pollfd){.fd = h->efd, .events = POLLIN};
	}
	return n;
}

void host_events(struct runner *r, const struct pollfd *pfds, size_t n)
{
	size_t i = 0;
	for (struct host *h = r->hosts; h && i + 1 < n; h = h->next, i += 2) {
		if (pfds[i].revents && pfds[i].fd >= 0 && pfds[i].fd == h->sp.pidfd)
			spawn_reap(&h->sp, 0);
		if (pfds[i + 1].revents && pfds[i + 1].fd >= 0 && pfds[i + 1].fd == h->efd)
			read_host_output(h, 0);
	}
}

void host_kill_all(struct runner *r)
{
	for (struct host *h = r->hosts; h; h = h->next)
		spawn_kill(&h->sp);
}

void host_reap_all(struct runner *r)
{
	for (size_t k = 0; k < r->njobs; k++)
		r->jobs[k].host = NULL;
	while (r->hosts) {
		spawn_wait(&r->hosts->sp, 0);
		host_free(r, r->hosts);
	}
}

void host_child_close(struct runner *r)
{
	for (struct host *h = r->hosts; h; h = h->next) {
		if (h->efd >= 0)
			close(h->efd);
		spawn_release(&h->sp);
	}
}
