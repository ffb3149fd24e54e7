/* SPDX-License-Identifier: MIT */
/*
 * gate serve's runbooks (gate/cli_serve.h): their snapshots, the cache,
 * and the evaluations.
 *
 * Each evaluation is a child process: this program re-executed as
 * `gate check --format json --no-color COPY` (checks/lib/proc.h, through
 * kit/spawn.h) with a deadline, and its report is what is served.  Why a
 * child and not the runner in a thread of the server: the runner, its
 * check children, its signal handling and the audit then stay exactly
 * those of `gate check` (the report is byte for byte the one gate check
 * prints), a check that crashes or hangs takes down one child, never the
 * server, and a child is killed at its deadline with everything it
 * started.  The cost, measured on the bench machine (bench/serve/README.md):
 * about 12 ms per evaluation of a runbook of one `exec true` check
 * (20 runs of `gate check --format json` took 0.24 s), against the
 * checks' own seconds over a network; and every answer within the
 * minimum interval comes from the cache, without a child.
 *
 * The copy: every (re)load copies the runbook and the files it includes
 * into a private directory (mode 0700, the same absolute path under it, so
 * that a relative include resolves to its copy) and loads the copy as
 * `gate check` will; only then does it replace the version served.  A
 * runbook edited into something invalid therefore keeps being evaluated
 * as it was last loaded, until a reload succeeds.  An include by absolute
 * path (a shipped policy) is read where it is, at each evaluation.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checks/lib/proc.h"
#include "cli.h"
#include "cli_serve.h"
#include "msg.h"
#include "registry.h"
#include "runbook.h"
#include "serve_metrics.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/io.h"
#include "kit/strbuf.h"

/* What a child may take beyond the runbook's `timeout` (the checks' own
 * deadline) to load, decide, probe the locks, write the audit and the
 * report; and what a request may wait beyond that for a child to be
 * killed and reaped. */
#define SERVE_CHILD_GRACE_MS 10000
#define SERVE_WAIT_GRACE_MS 5000

/* ---- names ---- */

static char *name_of(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n > 5 && !strcmp(base + n - 5, ".yaml"))
		n -= 5;
	else if (n > 4 && !strcmp(base + n - 4, ".yml"))
		n -= 4;
	return xstrndup(base, n);
}

struct serve_rb *serve_find(struct serve *sv, const char *name)
{
	for (size_t i = 0; i < sv->nrbs; i++)
		if (!strcmp(sv->rbs[i].name, name))
			return &sv->rbs[i];
	return NULL;
}

/* ---- snapshots ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* With the lock held (or before any thread). */
static void snap_unref(struct serve_snap *s)
{
	if (!s || --s->refs > 0)
		return;
	rm_tree(s->dir);
	free(s->dir);
	free(s->path);
	free(s);
}

static char *abs_path(const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	char *cwd = getcwd(NULL, 0);
	char *r = xasprintf("%s/%s", cwd ? cwd : ".", p);
	free(cwd);
	return r;
}

/* mkdir -p of path's directory, each new one mode 0700. */
static int mkdirs_for(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = strchr(p + 1, '/'); s && rc == 0; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	free(p);
	return rc;
}

/* Copy src to dst (a new file, mode 0600): 0, or -1 with errno. */
static int copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (in < 0)
		return -1;
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = out < 0 ? -1 : 0;
	char buf[65536];
	size_t total = 0;
	while (rc == 0) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		total += (size_t)n;
		if (total > RUNBOOK_MAX_FILE_SIZE + 1 || write_full(out, buf, (size_t)n) < 0)
			rc = -1; /* the loader refuses it anyway */
	}
	int e = errno;
	close(in);
	if (out >= 0 && close(out) < 0 && rc == 0)
		rc = -1, e = errno;
	errno = e;
	return rc;
}

/* Copy rb's files into a new snapshot directory; NULL with *why set. */
static struct serve_snap *snap_create(struct serve *sv, const struct runbook *rb, char **why)
{
	struct serve_snap *s = xcalloc(1, sizeof(*s));
	s->refs = 1;
	s->dir = xasprintf("%s/%u", sv->snap_root, ++sv->snap_no);
	int rc = mkdir(s->dir, 0700);
	for (size_t i = 0; rc == 0 && rb->files && rb->files[i]; i++) {
		char *src = abs_path(rb->files[i]);
		char *dst = xasprintf("%s%s", s->dir, src);
		/* a file included twice under two names is copied twice */
		rc = mkdirs_for(dst) < 0 || (copy_file(src, dst) < 0 && errno != EEXIST) ? -1 : 0;
		if (rc < 0)
			*why = xasprintf("cannot copy %s into %s: %s", src, s->dir,
			                 strerror(errno));
		free(src);
		free(dst);
	}
	if (rc == 0 && !rb->files)
		*why = xstrdup("the loader named no file"), rc = -1;
	if (rc < 0 && !*why)
		*why = xasprintf("cannot create %s: %s", s->dir, strerror(errno));
	char *top = abs_path(rb->path);
	s->path = xasprintf("%s%s", s->dir, top);
	free(top);
	if (rc < 0) {
		snap_unref(s);
		return NULL;
	}
	return s;
}

/* ---- loading ---- */

static char *load_runbook(struct runbook *rb, const char *path, struct gate_registry *reg)
{
	struct runbook_load_opts lo = {NULL, 0, 1}; /* checks will run: trusted files only */
	struct gate_error err = {0};
	char buf[2048];
	memset(rb, 0, sizeof(*rb));
	if (runbook_load(rb, path, &lo, reg, &err) == 0)
		return NULL;
	runbook_release(rb);
	return xstrdup(gate_error_format(&err, buf, sizeof(buf)));
}

/* Load one runbook and its copy; on success the copy is served from now. */
static int load_one(struct serve *sv, struct serve_rb *r, struct gate_registry *reg)
{
	struct runbook rb, copy;
	struct serve_snap *snap = NULL;
	char *why = load_runbook(&rb, r->path, reg);
	int loaded = !why;
	if (!why) {
		snap = snap_create(sv, &rb, &why);
		char *cwhy = snap ? load_runbook(&copy, snap->path, reg) : NULL;
		if (snap && !cwhy)
			runbook_release(&copy);
		if (cwhy) {
			why = xasprintf("its copy in %s: %s", snap->dir, cwhy);
			free(cwhy);
		}
	}
	if (!why && (rb.command || rb.nlocks || rb.nmaint))
		msg_note("serve: %s: served for its checks only: gate serve runs no command, "
		         "takes no lock and turns no maintenance on",
		         r->name);
	for (size_t i = 0; !why && rb.warnings && rb.warnings[i]; i++)
		msg_warn("serve: %s: %s", r->name, rb.warnings[i]);
	pthread_mutex_lock(&sv->lock);
	r->gen++; /* a reload drops the cache */
	if (!why) {
		snap_unref(r->snap);
		r->snap = snap;
		snap = NULL;
		r->valid = 1;
		r->timeout_ms = rb.timeout_ms > 0 ? rb.timeout_ms : RUNBOOK_DEFAULT_TIMEOUT_MS;
		free(r->load_error);
		r->load_error = NULL;
	} else {
		r->valid = 0;
		r->reload_failures++;
		free(r->load_error);
		r->load_error = why;
		if (r->snap)
			msg_error("serve: %s: %s (the last valid version is still served)", r->name,
			          why);
		else
			msg_error("serve: %s: %s (answered 503 until a reload succeeds)", r->name,
			          why);
	}
	snap_unref(snap);
	pthread_mutex_unlock(&sv->lock);
	if (loaded)
		runbook_release(&rb);
	return why ? -1 : 0;
}

size_t serve_load_all(struct serve *sv)
{
	struct cli_opts o;
	struct gate_registry reg;
	cli_opts_init(&o);
	cli_registry_load(&reg, &o);
	size_t failed = 0;
	for (size_t i = 0; i < sv->nrbs; i++)
		failed += load_one(sv, &sv->rbs[i], &reg) < 0;
	registry_release(&reg);
	cli_opts_release(&o);
	return failed;
}

int serve_init(struct serve *sv, char **paths, size_t n, int64_t min_interval_ms)
{
	memset(sv, 0, sizeof(*sv));
	sv->cancel[0] = sv->cancel[1] = -1;
	sv->min_interval_ms = min_interval_ms;
	sv->rbs = xcalloc(n, sizeof(*sv->rbs));
	pthread_mutex_init(&sv->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sv->idle, &ca);
	for (size_t i = 0; i < n; i++) {
		struct serve_rb *r = &sv->rbs[i];
		r->path = xstrdup(paths[i]);
		r->name = name_of(paths[i]);
		pthread_cond_init(&r->done, &ca);
		sv->nrbs++;
		struct serve_rb *dup = NULL;
		for (size_t j = 0; j < i && !dup; j++)
			dup = !strcmp(sv->rbs[j].name, r->name) ? &sv->rbs[j] : NULL;
		if (dup || !*r->name) {
			pthread_condattr_destroy(&ca);
			if (dup)
				msg_error("serve: %s and %s have the same name '%s' (the file name "
				          "without .yaml names a runbook's URLs)",
				          dup->path, r->path, r->name);
			else
				msg_error("serve: %s: no name (the file name names its URLs)",
				          r->path);
			return -1;
		}
	}
	pthread_condattr_destroy(&ca);
	const char *rt = getenv("RUNTIME_DIRECTORY"), *tmp = getenv("TMPDIR");
	char *base = rt && *rt ? xstrndup(rt, strcspn(rt, ":"))
	                       : xstrdup(tmp && *tmp ? tmp : "/tmp");
	sv->snap_root = xasprintf("%s/gate-serve.XXXXXX", base);
	free(base);
	if (!mkdtemp(sv->snap_root)) {
		msg_error("serve: cannot create %s: %s", sv->snap_root, strerror(errno));
		free(sv->snap_root);
		sv->snap_root = NULL;
		return -1;
	}
	if (pipe2(sv->cancel, O_CLOEXEC) < 0) {
		msg_error("serve: pipe: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- evaluations ---- */

static void result_release(struct serve_result *r)
{
	free(r->report);
	json_decref(r->json);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

static int fresh(const struct serve *sv, const struct serve_rb *r, int64_t now)
{
	return r->have_res && r->res.gen == r->gen && now - r->res.end_ms < sv->min_interval_ms;
}

struct flight {
	struct serve *sv;
	struct serve_rb *rb;
	struct serve_snap *snap;
	unsigned gen;
	int64_t timeout_ms;
};

/* s with every occurrence of from replaced by to (new string). */
static char *replace_all(const char *s, const char *from, const char *to)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(from);
	for (const char *p; n && (p = strstr(s, from)); s = p + n) {
		strbuf_add(&sb, s, (size_t)(p - s));
		strbuf_adds(&sb, to);
	}
	strbuf_adds(&sb, s);
	return strbuf_detach(&sb);
}

/* The report of a child that ended with status code, or res->error. */
static void judge_child(struct flight *f, struct proc_result *pr, struct serve_result *res)
{
	char what[128];
	if (!pr->started)
		snprintf(what, sizeof(what), "could not be started: %s", strerror(pr->exec_errno));
	else if (pr->timed_out)
		snprintf(what, sizeof(what), "did not end within %.0fs and was killed",
		         (double)(f->timeout_ms + SERVE_CHILD_GRACE_MS) / 1000.0);
	else if (pr->signaled)
		snprintf(what, sizeof(what), "was killed by signal %d", pr->term_signal);
	else
		snprintf(what, sizeof(what), "exited %d", pr->exit_code);
	if (!pr->started || pr->timed_out || !pr->exited ||
	    (pr->exit_code != EXIT_ALLOWED && pr->exit_code != EXIT_BLOCKED)) {
		int stopping = pr->timed_out && f->sv->stopping;
		char *tail = proc_tail(pr->err, 300);
		char *shown = replace_all(tail, f->snap->dir, "");
		res->error = stopping ? xstrdup("gate serve is stopping")
		             : *shown ? xasprintf("gate check %s: %s", what, shown)
		                      : xasprintf("gate check %s", what);
		free(tail);
		free(shown);
		return;
	}
	json_error_t jerr;
	json_t *j = json_loads(pr->out, 0, &jerr);
	const char *decision = json_string_value(json_object_get(j, "decision"));
	if (!json_is_object(j) || !decision) {
		json_decref(j);
		res->error = xasprintf("gate check %s, and its report is not a JSON report", what);
		return;
	}
	/* Any doubt blocks: an allow is an exit 0 that says allow. */
	res->allow = pr->exit_code == EXIT_ALLOWED && !strcmp(decision, "allow");
	/* The report names the runbook as given, not its copy (the text
	 * as gate check wrote it, so only that field is replaced). */
	json_t *copy = json_string(f->snap->path), *given = json_string(f->rb->path);
	char *a = json_dumps(copy, JSON_ENCODE_ANY), *b = json_dumps(given, JSON_ENCODE_ANY);
	char *from = xasprintf("\"runbook_path\": %s", a),
	     *to = xasprintf("\"runbook_path\": %s", b);
	res->report = replace_all(pr->out, from, to);
	json_object_set(j, "runbook_path", given);
	res->json = j;
	free(a);
	free(b);
	free(from);
	free(to);
	json_decref(copy);
	json_decref(given);
}

static void *flight_main(void *arg)
{
	struct flight *f = arg;
	struct serve *sv = f->sv;
	struct serve_rb *rb = f->rb;
	char *argv[] = {"/proc/self/exe", "check",       "--format", "json",
	                "--no-color",     f->snap->path, NULL};
	sigset_t none; /* the child's: gate check's own, not the server's blocked signals */
	sigemptyset(&none);
	struct proc_opts po = {.timeout_ms = f->timeout_ms + SERVE_CHILD_GRACE_MS,
	                       .max_out = 64u << 20,
	                       .mask = &none,
	                       .cancel_fd = &sv->cancel[0]};
	struct proc_result pr;
	int64_t t0 = gate_mono_ms();
	proc_run(argv, &po, &pr);
	struct serve_result res = {0};
	judge_child(f, &pr, &res);
	res.end_ms = gate_mono_ms();
	res.at_s = (double)gate_now_ms() / 1000.0;
	res.duration_s = (double)(res.end_ms - t0) / 1000.0;
	res.gen = f->gen;

	pthread_mutex_lock(&sv->lock);
	char *tail = proc_tail(pr.err, 4000);
	char *err = replace_all(tail, f->snap->dir, "");
	free(tail);
	if (*err && (!rb->last_stderr || strcmp(err, rb->last_stderr)))
		msg_note("serve: %s: gate check said: %s", rb->name, err);
	free(rb->last_stderr);
	rb->last_stderr = err;
	if (res.error && !sv->stopping)
		msg_error("serve: %s: %s (blocked)", rb->name, res.error);
	result_release(&rb->res);
	rb->res = res;
	rb->have_res = 1;
	rb->evaluations++;
	rb->failures += !res.report;
	rb->running = 0;
	pthread_cond_broadcast(&rb->done);
	snap_unref(f->snap);
	if (--sv->flights == 0)
		pthread_cond_broadcast(&sv->idle);
	pthread_mutex_unlock(&sv->lock);
	proc_result_release(&pr);
	free(f);
	return NULL;
}

/* With the lock held: start an evaluation of r in a thread of its own
 * (it outlives the request that asked: its result is cached). */
static int start_flight(struct serve *sv, struct serve_rb *r)
{
	if (sv->stopping || !r->snap)
		return -1;
	struct flight *f = xcalloc(1, sizeof(*f));
	*f = (struct flight){sv, r, r->snap, r->gen, r->timeout_ms};
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	int rc = pthread_create(&t, &at, flight_main, f);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		free(f);
		return -1;
	}
	r->snap->refs++;
	r->running = 1;
	sv->flights++;
	return 0;
}

void serve_kick_stale_locked(struct serve *sv)
{
	int64_t now = gate_mono_ms();
	for (size_t i = 0; i < sv->nrbs; i++) {
		struct serve_rb *r = &sv->rbs[i];
		if (!r->running && !fresh(sv, r, now))
			start_flight(sv, r);
	}
}

static void answer_from(struct serve_answer *out, const struct serve_result *res)
{
	out->allow = res->allow && res->report;
	out->report = res->report ? xstrdup(res->report) : NULL;
	const char *why = res->error;
	if (!why) {
		const json_t *reasons = json_object_get(res->json, "reasons");
		why = json_string_value(json_array_get(reasons, 0));
	}
	out->reason = xstrdup(why ? why : out->allow ? "allowed" : "blocked");
}

static void timespec_at(struct timespec *ts, int64_t mono_ms)
{
	ts->tv_sec = (time_t)(mono_ms / 1000);
	ts->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

int serve_answer(struct serve *sv, struct serve_rb *r, struct serve_answer *out)
{
	memset(out, 0, sizeof(*out));
	int64_t asked = gate_mono_ms();
	int rc = -1;
	pthread_mutex_lock(&sv->lock);
	int64_t bound = asked + r->timeout_ms + SERVE_CHILD_GRACE_MS + SERVE_WAIT_GRACE_MS;
	for (;;) {
		int64_t now = gate_mono_ms();
		if (!r->snap) {
			out->reason = xasprintf("the runbook is invalid: %s",
			                        r->load_error ? r->load_error : "not loaded");
			break;
		}
		/* fresh, or ended after the request came (of this load) */
		if (fresh(sv, r, now) ||
		    (r->have_res && r->res.gen == r->gen && r->res.end_ms >= asked)) {
			answer_from(out, &r->res);
			rc = 0;
			break;
		}
		if (sv->stopping) {
			out->reason = xstrdup("gate serve is stopping");
			break;
		}
		if (!r->running && start_flight(sv, r) < 0) {
			out->reason = xstrdup("cannot start an evaluation");
			break;
		}
		if (now >= bound) {
			out->reason = xstrdup("no evaluation ended in time");
			break;
		}
		struct timespec ts;
		timespec_at(&ts, bound);
		pthread_cond_timedwait(&r->done, &sv->lock, &ts);
	}
	pthread_mutex_unlock(&sv->lock);
	return rc;
}

void serve_answer_release(struct serve_answer *a)
{
	free(a->report);
	free(a->reason);
	memset(a, 0, sizeof(*a));
}

char *serve_metrics_text(struct serve *sv)
{
	struct strbuf sb = STRBUF_INIT;
	pthread_mutex_lock(&sv->lock);
	serve_kick_stale_locked(sv);
	struct serve_metrics_rb *m = xcalloc(sv->nrbs ? sv->nrbs : 1, sizeof(*m));
	for (size_t i = 0; i < sv->nrbs; i++) {
		const struct serve_rb *r = &sv->rbs[i];
		m[i] = (struct serve_metrics_rb){
			.name = r->name,
			.valid = r->valid,
			.evaluated = r->have_res,
			/* an evaluation of what a reload replaced never allows */
			.allow = r->have_res && r->res.gen == r->gen && r->res.allow &&
		                 r->res.report,
			.report = r->res.json,
			.at_s = r->res.at_s,
			.duration_s = r->res.duration_s,
			.evaluations = r->evaluations,
			.evaluation_failures = r->failures,
			.reload_failures = r->reload_failures,
			.running = r->running,
		};
	}
	serve_metrics_render(&sb, m, sv->nrbs, GATE_VERSION);
	pthread_mutex_unlock(&sv->lock);
	free(m);
	return strbuf_detach(&sb);
}

void serve_stop(struct serve *sv)
{
	pthread_mutex_lock(&sv->lock);
	sv->stopping = 1;
	if (sv->cancel[1] >= 0)
		write_full(sv->cancel[1], "x", 1); /* every proc_run wait ends: killed */
	for (size_t i = 0; i < sv->nrbs; i++)
		pthread_cond_broadcast(&sv->rbs[i].done);
	struct timespec ts;
	timespec_at(&ts, gate_mono_ms() + SERVE_CHILD_GRACE_MS);
	while (sv->flights > 0)
		if (pthread_cond_timedwait(&sv->idle, &sv->lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&sv->lock);
}

void serve_release(struct serve *sv)
{
	if (sv->flights > 0)
		return; /* an evaluation thread outlived serve_stop: left to exit() */
	for (size_t i = 0; i < sv->nrbs; i++) {
		struct serve_rb *r = &sv->rbs[i];
		snap_unref(r->snap);
		result_release(&r->res);
		free(r->name);
		free(r->path);
		free(r->load_error);
		free(r->last_stderr);
		pthread_cond_destroy(&r->done);
	}
	free(sv->rbs);
	rm_tree(sv->snap_root);
	free(sv->snap_root);
	for (int i = 0; i < 2; i++)
		if (sv->cancel[i] >= 0)
			close(sv->cancel[i]);
	pthread_cond_destroy(&sv->idle);
	pthread_mutex_destroy(&sv->lock);
	memset(sv, 0, sizeof(*sv));
}
