/* SPDX-License-Identifier: MIT */
/*
 * The order of a `gate run` after an allow (hold_run.h, gate(1) "THE
 * ORDER OF A RUN"):
 *
 *   state file (none left over; its lock taken when there is maintenance)
 *   -> take the locks, in the order written, each tried again under
 *   --wait -> re-check -> confirm -> maintenance on, item by item, each
 *   undo record in the state file before the item changes anything ->
 *   decided (the audit record) -> exec -> maintenance off, in reverse
 *   (always, once an item began) -> finished (the result's record) ->
 *   release the locks, in reverse.
 *
 * Any step that fails blocks, and what was done is undone, in reverse:
 * items ended, locks let go.  A stop signal (*hs->stop) keeps the next
 * step from beginning; the command itself gets the signal from exec.c
 * and maintenance is turned off after it.  While locks are held, a
 * keepalive thread calls each lock's keepalive as often as it asks.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hold_impl.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"

/* ---- the session ---- */

void hold_session_init(struct hold_session *hs, const struct runbook *rb, const char *user,
                       const char *host, const char *state_dir)
{
	memset(hs, 0, sizeof(*hs));
	hs->rb = rb;
	hs->who.runbook = xstrdup(rb->name ? rb->name : "?");
	hs->who.user = xstrdup(user ? user : "?");
	hs->who.host = xstrdup(host ? host : "?");
	hs->who.pid = (long)getpid();
	hs->who.since_ms = gate_now_ms();
	hs->state_dir = xstrdup(state_dir);
	hs->retry_ms = HOLD_RETRY_MS;
	hs->report = json_object();
	hs->priv = xcalloc(1, sizeof(*hs->priv));
	hs->priv->state_lock_fd = -1;
	hs->priv->state_path = hold_state_path(state_dir, hs->who.runbook);
	hs->priv->handles = xcalloc(rb->nlocks + 1, sizeof(*hs->priv->handles));
	hs->priv->undo = xcalloc(rb->nmaint + 1, sizeof(*hs->priv->undo));
	hs->priv->begun = xcalloc(rb->nmaint + 1, sizeof(*hs->priv->begun));
}

void hold_session_release(struct hold_session *hs)
{
	if (!hs || !hs->priv)
		return;
	struct hold_private *p = hs->priv;
	hold_state_end(hs);
	for (size_t i = 0; i < hs->rb->nmaint; i++)
		json_decref(p->undo[i]);
	free(p->undo);
	free(p->begun);
	free(p->handles);
	free(p->state_path);
	free(p);
	free((char *)hs->who.runbook);
	free((char *)hs->who.user);
	free((char *)hs->who.host);
	free(hs->state_dir);
	strv_free(hs->reasons);
	json_decref(hs->report);
	memset(hs, 0, sizeof(*hs));
}

void hold_block(struct hold_session *hs, const char *fmt, ...)
{
	va_list ap;
	char *line;
	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = xstrdup("gate: out of memory");
	va_end(ap);
	hs->reasons = xrealloc(hs->reasons, (hs->nreasons + 2) * sizeof(*hs->reasons));
	hs->reasons[hs->nreasons++] = line;
	hs->reasons[hs->nreasons] = NULL;
}

/* ---- the report ---- */

json_t *hold_report_list(struct hold_session *hs, const char *key)
{
	json_t *a = json_object_get(hs->report, key);
	if (!a) {
		a = json_array();
		json_object_set_new(hs->report, key, a);
	}
	return a;
}

const char *hold_state_name(enum hold_state st, int probe)
{
	switch (st) {
	case HOLD_TAKEN:
		return probe ? "free" : "taken";
	case HOLD_BUSY:
		return "busy";
	default:
		return "error";
	}
}

json_t *hold_entry(const struct rb_hold *h, const char *state, const struct hold_result *res)
{
	json_t *e = json_pack("{s:s, s:s, s:s}", "kind", h->lock ? h->lock->name : h->maint->name,
	                      "label", h->label, "state", state);
	json_object_set_new(e, "holder",
	                    res && res->holder ? json_string(res->holder) : json_null());
	json_object_set_new(e, "message",
	                    res && res->message ? json_string(res->message) : json_null());
	json_object_set_new(e, "details",
	                    res && res->details ? json_deep_copy(res->details) : json_object());
	return e;
}

int64_t hold_deadline(void)
{
	return gate_mono_ms() + HOLD_STEP_TIMEOUT_MS;
}

static int stopped(const struct hold_session *hs)
{
	return hs->stop && *hs->stop;
}

/* ---- the keepalive thread ---- */

struct hold_keeper {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop, started;
	struct hold_session *hs;
	const struct hold_steps *steps;
	size_t nheld;   /* locks [0, nheld) are held */
	int64_t *next;  /* per lock: the next keepalive (monotonic ms), INT64_MAX: none */
	int64_t *every; /* per lock: keepalive_ms */
	char **lost;    /* per lock: why it was lost */
};

/* A fork (the re-check's check children) never happens while a keepalive
 * is inside its library (libcurl, libpq, OpenSSL): a child forked then
 * would inherit that library's locks held by a thread it does not have,
 * and hang.  The keepalive holds fork_mu; pthread_atfork makes fork wait
 * for it.  (vfork + exec, the tools' way, runs nothing in between.) */
static pthread_mutex_t fork_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void fork_prepare(void)
{
	pthread_mutex_lock(&fork_mu);
}
static void fork_after(void)
{
	pthread_mutex_unlock(&fork_mu);
}
static void fork_guard_install(void)
{
	pthread_atfork(fork_prepare, fork_after, fork_after);
}

/* Keep the locks whose time has come; called with k->mu held. */
static void keep_due(struct hold_keeper *k, int64_t now)
{
	const struct runbook *rb = k->hs->rb;
	for (size_t i = 0; i < k->nheld && !k->stop; i++) {
		if (k->next[i] > now)
			continue;
		char msg[512] = "";
		const struct lock_kind *kind = rb->locks[i].lock;
		void *handle = k->hs->priv->handles[i];
		pthread_mutex_unlock(&k->mu);
		pthread_mutex_lock(&fork_mu);
		int rc = kind->keepalive(handle, msg, sizeof(msg));
		pthread_mutex_unlock(&fork_mu);
		pthread_mutex_lock(&k->mu);
		if (rc == 0) {
			k->next[i] = gate_mono_ms() + k->every[i];
			continue;
		}
		k->next[i] = INT64_MAX;
		k->lost[i] = xstrdup(msg[0] ? msg : "the lock is no longer held");
		if (k->steps->lost) {
			pthread_mutex_unlock(&k->mu);
			k->steps->lost(k->steps->ctx, &rb->locks[i], msg[0] ? msg : "lost");
			pthread_mutex_lock(&k->mu);
		}
	}
}

static void *keeper_main(void *arg)
{
	struct hold_keeper *k = arg;
	pthread_mutex_lock(&k->mu);
	while (!k->stop) {
		int64_t now = gate_mono_ms(), first = INT64_MAX;
		for (size_t i = 0; i < k->nheld; i++)
			if (k->next[i] < first)
				first = k->next[i];
		if (first <= now) {
			keep_due(k, now);
			continue;
		}
		if (first == INT64_MAX)
			first = now + 3600 * 1000;
		struct timespec ts = {(time_t)(first / 1000), (long)(first % 1000) * 1000000L};
		pthread_cond_timedwait(&k->cv, &k->mu, &ts);
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

static struct hold_keeper *keeper_new(struct hold_session *hs, const struct hold_steps *steps)
{
	size_t n = hs->rb->nlocks + 1;
	struct hold_keeper *k = xcalloc(1, sizeof(*k));
	k->hs = hs;
	k->steps = steps;
	k->next = xcalloc(n, sizeof(*k->next));
	k->every = xcalloc(n, sizeof(*k->every));
	k->lost = xcalloc(n, sizeof(*k->lost));
	pthread_mutex_init(&k->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cv, &ca);
	pthread_condattr_destroy(&ca);
	return k;
}

/* Lock i is held: keep it alive from now on, as its kind asks.  The
 * thread starts with the first lock that needs it, every signal blocked
 * (they are the main thread's).  -1 when it cannot start. */
static int keeper_add(struct hold_keeper *k, size_t i)
{
	const struct rb_hold *h = &k->hs->rb->locks[i];
	int64_t every = h->lock->keepalive_ms && h->lock->keepalive
	                        ? h->lock->keepalive_ms(h->params)
	                        : 0;
	pthread_mutex_lock(&k->mu);
	k->every[i] = every;
	k->next[i] = every > 0 ? gate_mono_ms() + every : INT64_MAX;
	k->nheld = i + 1;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	if (every <= 0 || k->started)
		return 0;
	pthread_once(&fork_once, fork_guard_install);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&k->thread, NULL, keeper_main, k);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	k->started = 1;
	return 0;
}

/* Stop the thread; a lost lock goes into its report entry. */
static void keeper_free(struct hold_keeper *k, json_t *locks)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = 1;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	if (k->started)
		pthread_join(k->thread, NULL);
	for (size_t i = 0; i < k->hs->rb->nlocks; i++) {
		json_t *e = json_array_get(locks, i);
		if (k->lost[i] && e)
			json_object_set_new(e, "lost", json_string(k->lost[i]));
		free(k->lost[i]);
	}
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	free(k->next);
	free(k->every);
	free(k->lost);
	free(k);
}

/* ---- locks ---- */

/* Wait until `until` (monotonic ms) or a stop signal; 0, or -1 when stopped. */
static int pause_until(const struct hold_session *hs, int64_t until)
{
	while (!stopped(hs)) {
		int64_t now = gate_mono_ms();
		if (now >= until)
			return 0;
		gate_sleep_until(now + (until - now < 100 ? until - now : 100));
	}
	return -1;
}

/* Lock i, tried until taken, an error, or (busy) the wait is over. */
static int take_lock(struct hold_session *hs, const struct hold_steps *steps, size_t i)
{
	const struct rb_hold *h = &hs->rb->locks[i];
	int64_t t0 = gate_mono_ms();
	for (int attempt = 1;; attempt++) {
		struct hold_result res = {0};
		void *handle = NULL;
		h->lock->take(h->params, &hs->who, hold_deadline(), &handle, &res);
		int64_t next = gate_mono_ms() + hs->retry_ms;
		int again = res.state == HOLD_BUSY && next <= hs->wait_until_ms && !stopped(hs);
		if (!again || res.state == HOLD_TAKEN) {
			json_t *e = hold_entry(h, hold_state_name(res.state, 0), &res);
			json_object_set_new(e, "attempts", json_integer(attempt));
			json_object_set_new(e, "waited_ms", json_integer(gate_mono_ms() - t0));
			json_array_append_new(hold_report_list(hs, "locks"), e);
		}
		if (res.state == HOLD_TAKEN) {
			hs->priv->handles[i] = handle;
			hold_result_release(&res);
			return 0;
		}
		if (res.state == HOLD_BUSY && again && steps->waiting)
			steps->waiting(steps->ctx, h, res.holder);
		if (!again) {
			if (res.state == HOLD_BUSY)
				hold_block(hs, "maintenance in progress: %s (lock %zu: %s)%s",
				           res.holder ? res.holder : "an unknown holder", i + 1,
				           h->label, stopped(hs) ? "; gate was stopped" : "");
			else
				hold_block(hs, "lock %zu (%s): %s", i + 1, h->label,
				           res.message ? res.message : "cannot be taken");
			hold_result_release(&res);
			return -1;
		}
		hold_result_release(&res);
		if (pause_until(hs, next) < 0) {
			hold_block(hs, "lock %zu (%s): gate was stopped while waiting for it",
			           i + 1, h->label);
			return -1;
		}
	}
}

static int take_locks(struct hold_session *hs, const struct hold_steps *steps)
{
	for (size_t i = 0; i < hs->rb->nlocks; i++) {
		if (stopped(hs)) {
			hold_block(hs, "gate was stopped before lock %zu (%s)", i + 1,
			           hs->rb->locks[i].label);
			return -1;
		}
		if (take_lock(hs, steps, i) < 0)
			return -1;
		if (keeper_add(hs->priv->keeper, i) < 0) {
			hold_block(hs, "lock %zu (%s): cannot start the thread that keeps it",
			           i + 1, hs->rb->locks[i].label);
			return -1;
		}
	}
	return 0;
}

/* In reverse; a failure is said, the lock then frees itself. */
static void release_locks(struct hold_session *hs, const struct hold_steps *steps)
{
	json_t *locks = json_object_get(hs->report, "locks");
	for (size_t i = hs->rb->nlocks; i-- > 0;) {
		void *handle = hs->priv->handles[i];
		if (!handle)
			continue;
		char msg[512] = "";
		const struct rb_hold *h = &hs->rb->locks[i];
		int rc = h->lock->release(handle, msg, sizeof(msg));
		hs->priv->handles[i] = NULL;
		json_t *e = json_array_get(locks, i);
		if (e)
			json_object_set_new(e, "released", json_boolean(rc == 0));
		if (rc == 0)
			continue;
		if (e)
			json_object_set_new(e, "release_error", json_string(msg));
		if (steps->note) {
			char *note = xasprintf("lock %zu (%s): %s", i + 1, h->label, msg);
			steps->note(steps->ctx, note);
			free(note);
		}
	}
}

/* ---- maintenance mode ---- */

struct record_ctx {
	struct hold_session *hs;
	size_t i;
	json_t *last; /* the last undo record handed to record() */
};

/* hold_record_fn: the item's undo record, in the state file before the
 * item changes anything. */
static int record_undo(void *ctx, const json_t *undo)
{
	struct record_ctx *rc = ctx;
	json_decref(rc->last);
	rc->last = undo ? json_deep_copy(undo) : NULL;
	return hold_state_set(rc->hs, rc->i, undo);
}

static int begin_item(struct hold_session *hs, size_t i)
{
	struct hold_private *p = hs->priv;
	const struct rb_hold *h = &hs->rb->maint[i];
	/* In the state file before begin: a run killed inside begin leaves
	 * a trace even if the kind had not recorded anything yet. */
	if (hold_state_set(hs, i, NULL) < 0)
		return -1;
	struct record_ctx rc = {hs, i, NULL};
	struct hold_result res = {0};
	json_t *undo = NULL;
	p->begun[i] = 1;
	h->maint->begin(h->params, &hs->who, hold_deadline(), record_undo, &rc, &undo, &res);
	json_t *e = hold_entry(h, res.state == HOLD_TAKEN ? "on" : "error", &res);
	json_array_append_new(hold_report_list(hs, "maintenance"), e);
	if (res.state != HOLD_TAKEN) {
		hold_block(hs, "maintenance item %zu (%s): %s", i + 1, h->label,
		           res.message ? res.message : "cannot be turned on");
		if (undo || rc.last) {
			/* It had recorded an undo: what it did may not all be
			 * undone (a PATCH answered 502 after Patroni applied it).
			 * Kept on the books, so that maintenance off (end is
			 * idempotent) or a later resume undoes it. */
			p->begun[i] = 2;
			p->undo[i] = undo ? undo : json_incref(rc.last);
			json_decref(rc.last);
			hold_result_release(&res);
			hold_state_set(hs, i, p->undo[i]);
			return -1;
		}
		/* Nothing recorded: nothing was changed (gate/hold.h). */
		p->begun[i] = 0;
		json_decref(undo);
		json_decref(rc.last);
		hold_result_release(&res);
		hold_state_clear(hs, i, NULL);
		return -1;
	}
	p->begun[i] = 2;
	/* {} when the kind recorded nothing: null in the state file means only
	 * "begin had not recorded yet", never "nothing to undo". */
	p->undo[i] = undo ? undo : rc.last ? json_incref(rc.last) : json_object();
	json_decref(rc.last);
	json_object_set(e, "undo", p->undo[i]);
	hold_result_release(&res);
	return hold_state_set(hs, i, p->undo[i]);
}

static int maint_on(struct hold_session *hs)
{
	for (size_t i = 0; i < hs->rb->nmaint; i++) {
		if (stopped(hs)) {
			hold_block(hs, "gate was stopped before maintenance item %zu (%s)", i + 1,
			           hs->rb->maint[i].label);
			return -1;
		}
		if (begin_item(hs, i) < 0)
			return -1;
	}
	return 0;
}

/* Every item that began, in reverse, also after a stop signal; one that
 * cannot be turned off stays in the state file, with why. */
static void maint_off(struct hold_session *hs, const struct hold_steps *steps)
{
	struct hold_private *p = hs->priv;
	json_t *list = json_object_get(hs->report, "maintenance");
	for (size_t i = hs->rb->nmaint; i-- > 0;) {
		if (!p->begun[i])
			continue;
		const struct rb_hold *h = &hs->rb->maint[i];
		struct hold_result res = {0};
		if (p->undo[i])
			h->maint->end(h->params, p->undo[i], hold_deadline(), &res);
		else /* begin never returned; cannot happen in one thread */
			res.state = HOLD_TAKEN;
		json_t *e = json_array_get(list, i);
		if (e)
			json_object_set_new(
				e, "end",
				hold_entry(h, res.state == HOLD_TAKEN ? "off" : "error", &res));
		const char *why = res.state == HOLD_TAKEN ? NULL
		                  : res.message           ? res.message
		                                          : "cannot be turned off";
		hold_state_clear(hs, i, why);
		p->begun[i] = 0;
		if (why && steps->note) {
			char *note = xasprintf("maintenance item %zu (%s) is still on: %s; 'gate "
			                       "maintenance resume %s' tries again",
			                       i + 1, h->label, why, hs->rb->name);
			steps->note(steps->ctx, note);
			free(note);
		}
		hold_result_release(&res);
	}
}

/* ---- confirmation ---- */

static int confirm(struct hold_session *hs, const struct hold_steps *steps)
{
	static const char *const modes[] = {"none", "hostname", "ssh"};
	char how[256] = "";
	int rc = -1;
	if (steps->confirm)
		rc = steps->confirm(steps->ctx, hs, how, sizeof(how));
	else
		hold_block(hs, "confirm: %s: gate cannot ask here", modes[hs->rb->confirm]);
	json_object_set_new(hs->report, "confirm",
	                    json_pack("{s:s, s:b, s:s}", "mode", modes[hs->rb->confirm],
	                              "confirmed", rc == 0, "how", rc == 0 ? how : "refused"));
	return rc;
}

/* ---- the run ---- */

/* Everything up to the decision; 0 when the command may run. */
static int prepare(struct hold_session *hs, const struct hold_steps *steps)
{
	const struct runbook *rb = hs->rb;
	json_object_set_new(hs->report, "state_file",
	                    rb->nmaint ? json_string(hs->priv->state_path) : json_null());
	if ((rb->nmaint ? hold_state_begin(hs) : hold_state_look(hs)) < 0)
		return -1;
	if (take_locks(hs, steps) < 0)
		return -1;
	if (stopped(hs)) {
		hold_block(hs, "gate was stopped while taking the locks");
		return -1;
	}
	if (rb->recheck && (!steps->recheck || steps->recheck(steps->ctx, hs) < 0)) {
		if (!hs->nreasons)
			hold_block(hs, "recheck: the re-check blocks");
		return -1;
	}
	if (stopped(hs)) {
		hold_block(hs, "gate was stopped before the confirmation");
		return -1;
	}
	if (rb->confirm != RB_CONFIRM_NONE && confirm(hs, steps) < 0)
		return -1;
	if (maint_on(hs) < 0)
		return -1;
	if (stopped(hs)) {
		hold_block(hs, "gate was stopped before the command");
		return -1;
	}
	return 0;
}

int hold_run(struct hold_session *hs, const struct hold_steps *steps)
{
	hs->priv->keeper = keeper_new(hs, steps);
	int ok = prepare(hs, steps) == 0 && !hs->nreasons;
	/* A stop signal that came while the decision was audited and shown:
	 * the command does not start (gate then dies of the signal). */
	if (ok && steps->decided(steps->ctx, hs) && !stopped(hs)) {
		hs->status = steps->exec(steps->ctx);
		hs->ran = 1;
	}
	maint_off(hs, steps);
	keeper_free(hs->priv->keeper, json_object_get(hs->report, "locks"));
	hs->priv->keeper = NULL;
	if (hs->ran && steps->finished)
		steps->finished(steps->ctx, hs);
	release_locks(hs, steps);
	hold_state_end(hs);
	if (!ok)
		steps->decided(steps->ctx, hs);
	return hs->ran;
}
