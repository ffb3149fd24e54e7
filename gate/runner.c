/* SPDX-License-Identifier: MIT */
/* The runner.  Every check attempt runs in its own child process (its own
 * process group, so a tool it started dies with it; started by
 * kit/spawn.h) and sends back one JSON document {status, summary,
 * details} over a pipe.  Nothing a check started outlives it, nor gate:
 * the group is killed at the deadline, when the check ends (what it left
 * in the background), and when gate is stopped by SIGINT, SIGTERM, SIGHUP
 * or SIGQUIT; if gate dies any other way (SIGKILL), the check gets a
 * parent-death signal and kills its group itself.  The parent runs a
 * single poll() loop on one monotonic clock: it starts attempts (at most
 * `jobs` at once), reads their pipes, reaps them through pidfds, kills a
 * process group at its deadline, schedules retries, and gives up on what
 * has not started when the overall deadline passes.  Whatever a module
 * does (hang, crash, write garbage), the result is a plain `error` and the
 * runner returns by the overall deadline plus a short grace.  The checks
 * of a module whose `run` is thread-safe (module ABI 1.2) that start
 * together share one child instead, a thread each (runner_host.c). */
#include "runner.h"
#include "runner_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/io.h"
#include "kit/spawn.h"
#include "kit/strbuf.h"
#include "kit/text.h"
#include "kit/timefmt.h"
#include "redact.h"
#include "runbook.h"

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

void runner_set_result(struct runner *r, struct job *j, enum check_status st, const char *summary,
                       json_t *details)
{
	struct check_result *res = &r->ev->results[j->idx];
	free(res->summary);
	json_decref(res->details);
	/* Nothing a module says reaches a report unredacted. */
	res->summary = redact_string(summary ? summary : "");
	res->details = details ? details : json_object();
	redact_json(res->details);
	res->status = res->raw_status = st;
	res->attempts = j->attempts;
	res->timed_out = 0;
}

/* ---- the child ---- */

/* What the check child is given: the runner as it was at the fork, its
 * job, and the pipes' ends. */
struct child_arg {
	struct runner *r;
	struct job *j;
	int wfd;      /* the result pipe's write end */
	int rfd, efd; /* the parent's read ends: not the child's business */
};

/* The runner's descriptors, which the check has no use for. */
void runner_child_close(struct runner *r)
{
	if (r->sigfd >= 0)
		close(r->sigfd);
	for (size_t k = 0; k < r->njobs; k++) {
		struct job *o = &r->jobs[k];
		if (o->state == JOB_RUNNING) {
			if (o->fd >= 0)
				close(o->fd);
			if (o->efd >= 0)
				close(o->efd);
			if (!o->host)
				spawn_release(&o->sp); /* the child's copy of the runner */
		}
	}
	host_child_close(r);
}

/* The result as one JSON document on wfd; 0 when it was written.  A
 * tool's message in Latin-1 must not cost the whole result: JSON strings
 * are UTF-8, so a summary that is not is made safe text first. */
int runner_child_send(int wfd, struct gate_result *res)
{
	res->summary[sizeof(res->summary) - 1] = '\0';
	json_t *summary = json_string(res->summary);
	if (!summary) {
		char *safe = text_safe(res->summary, TEXT_KEEP_NEWLINE | TEXT_KEEP_TAB);
		summary = json_string(safe);
		free(safe);
	}
	json_t *doc = json_pack("{s:i,s:o,s:O?}", "status", (int)res->status, "summary", summary,
	                        "details", json_is_object(res->details) ? res->details : NULL);
	char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int rc = s && write_full(wfd, s, strlen(s)) == 0 ? 0 : -1;
	free(s);
	json_decref(doc);
	return rc;
}

/* The check child (kit/spawn.h sets it up: its own process group, the
 * death signal that takes the group along, stdin /dev/null, stdout and
 * stderr into the pipe the parent reads, default signal handlers, an
 * empty mask).  Runs the module and sends its result. */
static int child_run(void *arg)
{
	const struct child_arg *a = arg;
	const struct rb_check *c = &a->r->rb->checks[a->j->idx];
	runner_child_close(a->r);
	close(a->rfd);
	close(a->efd);
	struct gate_run_env env = {
		.abi_version = GATE_ABI_VERSION,
		.check_id = c->id,
		.timeout_ms = a->j->deadline - gate_mono_ms(),
		.deadline_ms = a->j->deadline,
		.verbose = a->r->opts->verbose,
	};
	if (env.timeout_ms < 1)
		env.timeout_ms = 1;
	struct gate_result res;
	memset(&res, 0, sizeof(res));
	res.status = GATE_ERROR;
	snprintf(res.summary, sizeof(res.summary), "module returned no result");
	res.details = json_object();
	c->ct->run(c->params, &env, &res);
	int rc = runner_child_send(a->wfd, &res) == 0 ? 0 : 1;
	/* The exit status counts (0 or the result is void): nothing of ours
	 * left for a leak checker to hold against it. */
	json_decref(res.details);
	_exit(rc);
}

/* ---- the parent ---- */

/* pipe2 or fork failed.  Out of fds or processes while others run: wait
 * for one of them to end and try again (10,000 checks "all at once" must
 * not turn into 10,000 errors).  Otherwise the attempt is an error. */
void runner_cannot_start(struct runner *r, struct job *j, const char *what, int err)
{
	if ((err == EMFILE || err == ENFILE || err == EAGAIN || err == ENOMEM) && r->running > 0) {
		j->attempts--;
		r->saturated = 1;
		return;
	}
	char msg[160];
	snprintf(msg, sizeof(msg), "cannot start check: %s: %s", what, strerror(err));
	runner_set_result(r, j, CHECK_ERROR, msg, NULL);
	j->state = JOB_DONE;
	r->done++;
}

void runner_attempt_begin(struct runner *r, struct job *j, int64_t now)
{
	const struct rb_check *c = &r->rb->checks[j->idx];
	j->attempts++;
	if (j->attempts == 1)
		j->first_start = now;
	j->start = now;
	int64_t own = now + (c->timeout_ms > 0 ? c->timeout_ms : CHECK_DEFAULT_TIMEOUT_MS);
	j->deadline = min64(own, r->overall_deadline);
	j->deadline_is_overall = own > r->overall_deadline;
	j->overflow = 0;
	strbuf_release(&j->out);
	strbuf_release(&j->err);
	j->err_cut = 0;
}

static void start_attempt(struct runner *r, struct job *j, int64_t now)
{
	runner_attempt_begin(r, j, now);
	int pfd[2], efd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		runner_cannot_start(r, j, "pipe", errno);
		return;
	}
	if (pipe2(efd, O_CLOEXEC) < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		runner_cannot_start(r, j, "pipe", e);
		return;
	}
	/* Its own process group: the parent kills the whole group (and any
	 * tool the module started) at the deadline.  If gate itself dies,
	 * the check goes with it, and the group with the check.  No stdin;
	 * anything a module prints goes with its result, never into the
	 * report on stdout. */
	sigset_t none;
	sigemptyset(&none);
	struct child_arg arg = {r, j, pfd[1], pfd[0], efd[0]};
	struct spawn_opts so = {.fn = child_run,
	                        .arg = &arg,
	                        .in = SPAWN_DEVNULL,
	                        .out = efd[1],
	                        .err = efd[1],
	                        .group = SPAWN_GROUP_NEW,
	                        .death_signal = RUNNER_DEATH_SIGNAL,
	                        .death_kills_group = 1,
	                        .mask = &none};
	int started = spawn_start(&j->sp, &so) == 0;
	close(pfd[1]);
	close(efd[1]);
	if (!started) {
		close(pfd[0]);
		close(efd[0]);
		spawn_release(&j->sp);
		runner_cannot_start(r, j, spawn_step_name(j->sp.failed), j->sp.error);
		return;
	}
	fcntl(efd[0], F_SETFL, O_NONBLOCK);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	j->efd = efd[0];
	j->fd = pfd[0];
	j->state = JOB_RUNNING;
	r->running++;
}

static void read_output(struct job *j)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(j->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(j->fd);
			j->fd = -1;
			return;
		}
		if (j->out.len + (size_t)n > RUNNER_MAX_OUTPUT) {
			j->overflow = 1;
			close(j->fd);
			j->fd = -1;
			return;
		}
		strbuf_add(&j->out, buf, (size_t)n);
	}
}

int runner_drain(int *fd, struct strbuf *sb, int eof)
{
	char buf[4096];
	int cut = 0;
	while (*fd >= 0) {
		ssize_t n = read(*fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && !eof)
			return cut;
		if (n <= 0)
			break;
		size_t room = RUNNER_MAX_STDERR - sb->len;
		if ((size_t)n > room)
			cut = 1;
		strbuf_add(sb, buf, (size_t)n < room ? (size_t)n : room);
	}
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return cut;
}

static void read_stderr(struct job *j, int eof)
{
	if (runner_drain(&j->efd, &j->err, eof))
		j->err_cut = 1;
}

/* The attempt is judged: what the check printed goes with its result. */
static void attach_stderr(struct runner *r, struct job *j)
{
	read_stderr(j, 1);
	if (!j->err.len)
		return;
	struct check_result *res = &r->ev->results[j->idx];
	if (!res->details)
		res->details = json_object();
	/* bytes, maybe not UTF-8, maybe with NULs: made valid text first */
	struct strbuf sb = STRBUF_INIT;
	text_safe_addn(&sb, j->err.buf, j->err.len, TEXT_KEEP_NEWLINE | TEXT_KEEP_TAB);
	if (j->err_cut)
		strbuf_adds(&sb, "\n[... cut]");
	char *red = redact_string(sb.buf);
	json_object_set_new(res->details, "check_output", json_string(red));
	free(red);
	strbuf_release(&sb);
	strbuf_release(&j->err);
}

/* Killed, with its group, and reaped (or left behind, kit/spawn.h). */
static void kill_job(struct job *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	if (!j->host) /* a host is killed when its last job is over */
		spawn_wait(&j->sp, 0);
}

static enum check_status map_status(json_int_t s, int *ok)
{
	*ok = 1;
	switch (s) {
	case GATE_PASS:
		return CHECK_PASS;
	case GATE_FAIL:
		return CHECK_FAIL;
	case GATE_ERROR:
		return CHECK_ERROR;
	case GATE_SKIP:
		return CHECK_SKIP;
	default:
		*ok = 0;
		return CHECK_ERROR;
	}
}

/* What the child sent, if it is exactly one result as child_run writes
 * it: an object with an integer status, a string summary and optionally
 * an object of details, nothing else (no key twice, nothing after it).
 * Else NULL, with what was wrong in why. */
static json_t *parse_result(const struct strbuf *out, char *why, size_t whylen)
{
	json_error_t je;
	json_t *doc = json_loadb(out->buf, out->len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		snprintf(why, whylen, "module sent an unparsable result: %s", je.text);
		return NULL;
	}
	const char *k;
	json_t *v;
	if (!json_is_object(doc)) {
		snprintf(why, whylen, "module sent a malformed result: not an object");
		goto bad;
	}
	json_object_foreach(doc, k, v) {
		if (strcmp(k, "status") && strcmp(k, "summary") && strcmp(k, "details")) {
			snprintf(why, whylen, "module sent a malformed result: unknown member");
			goto bad;
		}
	}
	if (!json_is_integer(json_object_get(doc, "status"))) {
		snprintf(why, whylen, "module sent a malformed result: no integer status");
		goto bad;
	}
	if (!json_is_string(json_object_get(doc, "summary"))) {
		snprintf(why, whylen, "module sent a malformed result: no summary");
		goto bad;
	}
	v = json_object_get(doc, "details");
	if (v && !json_is_object(v)) {
		snprintf(why, whylen, "module sent a malformed result: details not an object");
		goto bad;
	}
	return doc;
bad:
	json_decref(doc);
	return NULL;
}

int runner_output_ok(const struct job *j)
{
	char why[256];
	json_t *doc = j->overflow || !j->out.len ? NULL : parse_result(&j->out, why, sizeof(why));
	int ok = 0;
	if (doc)
		map_status(json_integer_value(json_object_get(doc, "status")), &ok);
	json_decref(doc);
	return ok;
}

/* The attempt ended on its own (EOF and exit): judge what it sent.  A
 * result counts only from a child that exited 0 after writing exactly
 * one well-formed result; anything else is an error that says why. */
void runner_judge_output(struct runner *r, struct job *j, const struct spawn *sp)
{
	int st = sp->status;
	if (sp->failed) { /* set up wrong, the module never ran */
		char msg[160];
		snprintf(msg, sizeof(msg), "cannot start check: %s: %s",
		         spawn_step_name(sp->failed), strerror(sp->error));
		runner_set_result(r, j, CHECK_ERROR, msg, NULL);
		return;
	}
	if (j->overflow) {
		runner_set_result(r, j, CHECK_ERROR, "module wrote more than 1 MiB of result",
		                  NULL);
		return;
	}
	if (WIFSIGNALED(st)) {
		int sig = WTERMSIG(st);
		const char *abbrev = sigabbrev_np(sig);
		char msg[128];
		snprintf(msg, sizeof(msg), "module crashed: killed by signal %d (SIG%s)", sig,
		         abbrev ? abbrev : "?");
		runner_set_result(r, j, CHECK_ERROR, msg, NULL);
		return;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "module exited with status %d %s",
		         WIFEXITED(st) ? WEXITSTATUS(st) : -1,
		         j->out.len ? "after its result (the result does not count)"
		                    : "without a result");
		runner_set_result(r, j, CHECK_ERROR, msg, NULL);
		return;
	}
	if (j->out.len == 0) {
		runner_set_result(r, j, CHECK_ERROR, "module exited with status 0 without a result",
		                  NULL);
		return;
	}
	char why[256];
	json_t *doc = parse_result(&j->out, why, sizeof(why));
	if (!doc) {
		runner_set_result(r, j, CHECK_ERROR, why, NULL);
		return;
	}
	json_t *jst = json_object_get(doc, "status");
	int ok;
	enum check_status cs = map_status(json_integer_value(jst), &ok);
	if (!ok) {
		char msg[96];
		snprintf(msg, sizeof(msg), "module returned unknown status %lld",
		         (long long)json_integer_value(jst));
		json_decref(doc);
		runner_set_result(r, j, CHECK_ERROR, msg, NULL);
		return;
	}
	json_t *jdet = json_object_get(doc, "details");
	json_t *details = jdet ? json_incref(jdet) : json_object();
	runner_set_result(r, j, cs, json_string_value(json_object_get(doc, "summary")), details);
	json_decref(doc);
}

static void judge_timeout(struct runner *r, struct job *j)
{
	char took[32], overall[32], msg[160];
	/* The budget it had, not the poll latency on top of it. */
	fmt_duration_ms(j->deadline - j->start, took, sizeof(took));
	if (j->deadline_is_overall) {
		fmt_duration_ms(r->timeout_ms, overall, sizeof(overall));
		snprintf(msg, sizeof(msg), "timed out after %s: overall deadline of %s passed",
		         took, overall);
	} else {
		snprintf(msg, sizeof(msg), "timed out after %s", took);
	}
	runner_set_result(r, j, CHECK_ERROR, msg, NULL);
	r->ev->results[j->idx].timed_out = 1;
}

/* An attempt is over: keep its result, and retry while time allows. */
void runner_attempt_over(struct runner *r, struct job *j, int64_t now)
{
	const struct rb_check *c = &r->rb->checks[j->idx];
	struct check_result *res = &r->ev->results[j->idx];
	attach_stderr(r, j); /* whichever way it ended */
	host_job_over(r, j);
	strbuf_release(&j->out);
	r->running--;
	r->saturated = 0;
	res->duration_ms = (double)(now - j->first_start);
	int64_t delay = c->retry_delay_ms >= 0 ? c->retry_delay_ms : CHECK_DEFAULT_RETRY_DELAY_MS;
	int again = (res->status == CHECK_FAIL || res->status == CHECK_ERROR) &&
	            j->attempts <= c->retries && now + delay < r->overall_deadline;
	if (again) {
		j->state = JOB_PENDING;
		j->not_before = now + delay;
	} else {
		j->state = JOB_DONE;
		r->done++;
	}
}

/* EOF and exit both seen: the attempt ended on its own. */
static void finish_if_over(struct runner *r, struct job *j, int64_t now)
{
	if (j->state != JOB_RUNNING || j->fd >= 0)
		return;
	if (j->host) {
		host_finish_if_over(r, j, now);
		return;
	}
	if (!j->sp.reaped && j->sp.pidfd < 0)
		spawn_reap(&j->sp, 1); /* no pidfd: EOF means it is exiting */
	if (!j->sp.reaped)
		return;
	runner_judge_output(r, j, &j->sp);
	runner_attempt_over(r, j, now);
}

static void give_up_unstarted(struct runner *r, struct job *j)
{
	if (j->attempts == 0) {
		char overall[32], msg[128];
		fmt_duration_ms(r->timeout_ms, overall, sizeof(overall));
		snprintf(msg, sizeof(msg), "not run: overall deadline of %s passed", overall);
		runner_set_result(r, j, CHECK_ERROR, msg, NULL);
	}
	/* A retry that can no longer start keeps the last attempt's result. */
	j->state = JOB_DONE;
	r->done++;
}

static void report_progress(struct runner *r, int64_t now)
{
	if (!r->opts->progress)
		return;
	const char **ids = xcalloc(r->running + 1, sizeof(*ids));
	int64_t *ms = xcalloc(r->running + 1, sizeof(*ms));
	size_t n = 0;
	for (size_t k = 0; k < r->njobs && n < r->running; k++) {
		struct job *j = &r->jobs[k];
		if (j->state == JOB_RUNNING) {
			ids[n] = r->rb->checks[j->idx].id;
			ms[n] = now - j->first_start;
			n++;
		}
	}
	struct runner_progress p = {r->done, r->njobs, ids, ms, n};
	r->opts->progress(&p, r->opts->progress_ud);
	free(ids);
	free(ms);
}

/* Deadlines first: an attempt past its deadline is killed, whatever it
 * is doing; past the overall deadline nothing new starts. */
static void enforce_deadlines(struct runner *r, int64_t now)
{
	for (size_t k = 0; k < r->njobs; k++) {
		struct job *j = &r->jobs[k];
		if (j->state == JOB_RUNNING && now >= j->deadline) {
			kill_job(j);
			judge_timeout(r, j);
			runner_attempt_over(r, j, now);
		}
	}
	if (now < r->overall_deadline)
		return;
	for (size_t k = 0; k < r->njobs; k++)
		if (r->jobs[k].state == JOB_PENDING)
			give_up_unstarted(r, &r->jobs[k]);
}

static void start_ready(struct runner *r, int64_t now)
{
	size_t limit = r->opts->jobs > 0 ? (size_t)r->opts->jobs : r->njobs;
	for (size_t k = 0; k < r->njobs && r->running < limit && !r->saturated; k++) {
		struct job *j = &r->jobs[k];
		if (j->state == JOB_PENDING && j->not_before <= now &&
		    !host_start(r, j, now, limit))
			start_attempt(r, j, now);
	}
}

/* How long poll() may sleep: until the next deadline, retry, or
 * progress tick, whichever comes first. */
static int poll_timeout(const struct runner *r, int64_t now)
{
	size_t limit = r->opts->jobs > 0 ? (size_t)r->opts->jobs : r->njobs;
	int64_t next = r->overall_deadline;
	if (r->opts->progress)
		next = min64(next, r->next_progress);
	for (size_t k = 0; k < r->njobs; k++) {
		const struct job *j = &r->jobs[k];
		if (j->state == JOB_RUNNING)
			next = min64(next, j->deadline);
		else if (j->state == JOB_PENDING && r->running < limit && !r->saturated)
			next = min64(next, j->not_before);
	}
	int64_t wait = next - now;
	if (wait < 0)
		wait = 0;
	return wait > 60000 ? 60000 : (int)wait;
}

/* ---- stop signals ---- */

/* The signals that stop gate from a terminal or a supervisor.  While
 * checks run they are read from a signalfd instead of killing gate at
 * once: gate first kills every check it started (and so everything they
 * started), then dies of the same signal.  Only those that would have
 * killed gate: an ignored one stays ignored, a handled or blocked one is
 * left to its owner. */
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

static void stop_signals_catch(struct runner *r)
{
	r->sigfd = -1;
	sigemptyset(&r->stop);
	sigprocmask(SIG_SETMASK, NULL, &r->oldmask);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
		struct sigaction cur;
		int sig = stop_signals[i];
		if (sigaction(sig, NULL, &cur) == 0 && cur.sa_handler == SIG_DFL &&
		    !sigismember(&r->oldmask, sig))
			sigaddset(&r->stop, sig);
	}
	sigprocmask(SIG_BLOCK, &r->stop, NULL);
	r->sigfd = signalfd(-1, &r->stop, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r->sigfd < 0)
		sigprocmask(SIG_SETMASK, &r->oldmask, NULL); /* the death signal still holds */
}

static void stop_signals_release(struct runner *r)
{
	if (r->sigfd < 0)
		return;
	close(r->sigfd);
	r->sigfd = -1;
	/* One that came after the last poll is still pending: it is
	 * delivered here, and does what it would have done anyway. */
	sigprocmask(SIG_SETMASK, &r->oldmask, NULL);
}

/* A stop signal came: kill every running check's group, reap them, and
 * die of the signal.  Should gate survive that (it cannot, the signal's
 * action is the default one), every check not done is an error. */
static void stop_all(struct runner *r, int sig)
{
	for (size_t k = 0; k < r->njobs; k++)
		if (r->jobs[k].state == JOB_RUNNING && !r->jobs[k].host)
			spawn_kill(&r->jobs[k].sp);
	host_kill_all(r);
	for (size_t k = 0; k < r->njobs; k++)
		if (r->jobs[k].state == JOB_RUNNING)
			kill_job(&r->jobs[k]);
	host_reap_all(r);
	stop_signals_release(r);
	if (!r->opts->stopped_by || !(*r->opts->stopped_by = sig))
		raise(sig); /* unless the caller asked to be told (runner.h) */
	char msg[64];
	snprintf(msg, sizeof(msg), "interrupted by SIG%s", sigabbrev_np(sig) ?: "?");
	for (size_t k = 0; k < r->njobs; k++) {
		struct job *j = &r->jobs[k];
		if (j->state == JOB_DONE)
			continue;
		if (j->state == JOB_RUNNING)
			r->running--;
		runner_set_result(r, j, CHECK_ERROR, msg, NULL);
		j->state = JOB_DONE;
		r->done++;
	}
}

static void read_stop_signal(struct runner *r)
{
	struct signalfd_siginfo si;
	ssize_t n = read(r->sigfd, &si, sizeof(si));
	if (n == (ssize_t)sizeof(si))
		stop_all(r, (int)si.ssi_signo);
}

static void wait_events(struct runner *r, int64_t now)
{
	size_t cap = 3 * r->njobs + 2 + 2 * host_count(r);
	struct pollfd *pfds = xcalloc(cap, sizeof(*pfds));
	struct job **owner = xcalloc(cap, sizeof(*owner));
	nfds_t n = 0;
	if (r->sigfd >= 0) {
		pfds[n] = (struct pollfd){.fd = r->sigfd, .events = POLLIN};
		owner[n++] = NULL;
	}
	for (size_t k = 0; k < r->njobs; k++) {
		struct job *j = &r->jobs[k];
		if (j->state != JOB_RUNNING)
			continue;
		if (j->fd >= 0) {
			pfds[n] = (struct pollfd){.fd = j->fd, .events = POLLIN};
			owner[n++] = j;
		}
		if (j->sp.pidfd >= 0 && !j->sp.reaped) {
			pfds[n] = (struct pollfd){.fd = j->sp.pidfd, .events = POLLIN};
			owner[n++] = j;
		}
		if (j->efd >= 0) {
			pfds[n] = (struct pollfd){.fd = j->efd, .events = POLLIN};
			owner[n++] = j;
		}
	}
	nfds_t nh = (nfds_t)host_poll_fds(r, pfds + n);
	int rc = poll(pfds, n + nh, poll_timeout(r, now));
	if (rc > 0)
		host_events(r, pfds + n, nh);
	if (rc > 0 && r->sigfd >= 0 && pfds[0].revents) {
		read_stop_signal(r);
		if (r->done == r->njobs)
			rc = 0; /* nothing left to read */
	}
	for (nfds_t i = 0; rc > 0 && i < n; i++) {
		struct job *j = owner[i];
		if (!j || !pfds[i].revents || j->state != JOB_RUNNING)
			continue;
		if (pfds[i].fd == j->fd) {
			read_output(j);
			if (j->overflow) {
				kill_job(j);
				runner_judge_output(r, j, &j->sp);
				runner_attempt_over(r, j, gate_mono_ms());
			}
		} else if (pfds[i].fd == j->sp.pidfd) {
			spawn_reap(&j->sp, 0);
		} else if (pfds[i].fd == j->efd) {
			read_stderr(j, 0);
		}
	}
	int64_t t = gate_mono_ms();
	for (size_t k = 0; k < r->njobs; k++)
		finish_if_over(r, &r->jobs[k], t);
	free(pfds);
	free(owner);
}

int runner_run(struct eval *ev, const struct runner_opts *opts)
{
	struct runner r;
	memset(&r, 0, sizeof(r));
	r.ev = ev;
	r.rb = ev->rb;
	r.opts = opts;
	r.njobs = ev->rb->nchecks;
	r.jobs = xcalloc(r.njobs + 1, sizeof(*r.jobs));
	r.t0 = gate_mono_ms();
	int64_t timeout = opts->timeout_ms > 0     ? opts->timeout_ms
	                  : ev->rb->timeout_ms > 0 ? ev->rb->timeout_ms
	                                           : RUNBOOK_DEFAULT_TIMEOUT_MS;
	r.timeout_ms = timeout;
	r.overall_deadline = r.t0 + timeout;
	r.next_progress = r.t0 + RUNNER_PROGRESS_MS;
	stop_signals_catch(&r);

	for (size_t k = 0; k < r.njobs; k++) {
		struct job *j = &r.jobs[k];
		const struct rb_check *c = &ev->rb->checks[k];
		j->idx = k;
		j->fd = j->efd = j->sp.pidfd = -1;
		j->not_before = r.t0;
		j->state = JOB_PENDING;
		if (!c->ct) {
			/* The module providing the type could not be loaded:
			 * never run, never a pass. */
			char *msg = c->unavailable ? xstrdup(c->unavailable)
			                           : xasprintf("check type '%s' is not available",
			                                       c->type);
			runner_set_result(&r, j, CHECK_ERROR, msg, NULL);
			free(msg);
			j->state = JOB_DONE;
			r.done++;
		}
	}

	while (r.done < r.njobs) {
		int64_t now = gate_mono_ms();
		enforce_deadlines(&r, now);
		start_ready(&r, now);
		if (r.done == r.njobs)
			break;
		if (opts->progress && now >= r.next_progress) {
			report_progress(&r, now);
			r.next_progress = now + RUNNER_PROGRESS_MS;
		}
		wait_events(&r, now);
	}
	report_progress(&r, gate_mono_ms());
	host_reap_all(&r); /* none is left: their last jobs are over */
	stop_signals_release(&r);

	for (size_t k = 0; k < r.njobs; k++) {
		strbuf_release(&r.jobs[k].out);
		strbuf_release(&r.jobs[k].err);
		if (r.jobs[k].efd >= 0)
			close(r.jobs[k].efd);
	}
	free(r.jobs);
	return 0;
}
