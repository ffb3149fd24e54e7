/* SPDX-License-Identifier: MIT */
/* maintenance: {patroni: URL}: the Patroni cluster paused while the
 * command runs, as `patronictl pause` does it (PATCH /config
 * {"pause": true} to a member's REST API), verified in GET /cluster, and
 * resumed after as `patronictl resume` does ({"pause": null}).  A cluster
 * that was already paused is left paused and never resumed.
 *
 * begin reads /cluster, records {"resume": true|false} before it changes
 * anything, pauses, and waits (bounded by the deadline: a member's HA loop
 * may take a loop_wait) until /cluster says paused; if it never does, it
 * resumes and fails.  end resumes when the record says so, and checks that
 * /cluster no longer says paused; it is idempotent.  The pure parts are in
 * maint_judge.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builtin.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "checks/lib/url.h"
#include "maint_http.h"
#include "maint_judge.h"

/* How much of begin's time is kept back for resuming after a failed
 * verification. */
#define PATRONI_UNDO_RESERVE_MS 3000
#define PATRONI_POLL_MAX_MS 500

static const struct gate_param patroni_params[] = {
	{"patroni", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "a Patroni member's REST API base URL (http://host:8008); a user:password in it is "
         "sent as Basic auth (restapi.authentication) and never shown"},
	{"ca_file", GATE_P_STRING, 0, NULL, NULL,
         "PEM CA certificates for an https REST API (default: the system's)"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

struct pat {
	const char *url; /* as written: may hold a password */
	char *shown;     /* the same, password masked */
	const char *ca_file;
};

static void pat_init(struct pat *p, const json_t *params)
{
	p->url = gate_param_str(params, "patroni");
	p->shown = url_redact_password(p->url);
	p->ca_file = gate_param_str(params, "ca_file");
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
set_result(struct hold_result *res, enum hold_state st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	res->state = st;
	free(res->message);
	res->message = xstrdup(buf);
}

/* One exchange with the member: 0 with the answer when its status is 200,
 * else -1 with err; *sent says whether the request may have had an effect
 * (any answer of 200, or no answer after it was sent). */
static int exchange(const struct pat *p, const char *method, const char *path, const char *body,
                    int64_t deadline, struct mhttp_response *rs, int *sent, char *err,
                    size_t errlen)
{
	char *url = mhttp_join(p->url, path);
	struct mhttp_request rq = {url, method, body, p->ca_file, deadline};
	int ret = -1;
	if (mhttp_do(&rq, rs) < 0) {
		snprintf(err, errlen, "%s %s: %s", method, path, rs->err);
		*sent = rs->sent;
	} else if (rs->status != 200) {
		char t[200];
		maint_answer_text(rs->body, rs->len, t, sizeof(t));
		snprintf(err, errlen, "%s %s answered status %ld: %s", method, path, rs->status, t);
		*sent = 0;
	} else {
		*sent = 1;
		ret = 0;
	}
	free(url);
	return ret;
}

/* GET /cluster: *paused, or -1 with err. */
static int read_pause(const struct pat *p, int64_t deadline, int *paused, char *err, size_t errlen)
{
	struct mhttp_response rs;
	int sent, ret = -1;
	if (exchange(p, "GET", "/cluster", NULL, deadline, &rs, &sent, err, errlen) == 0) {
		char e[300];
		*paused = patroni_pause_state(rs.body, rs.len, e, sizeof(e));
		if (*paused < 0)
			snprintf(err, errlen, "%s", e);
		else
			ret = 0;
	}
	mhttp_release(&rs);
	return ret;
}

/* PATCH /config with pause or resume; the answer must show it.  *sent as
 * for exchange. */
static int patch_pause(const struct pat *p, int pause, int64_t deadline, int *sent, char *err,
                       size_t errlen)
{
	struct mhttp_response rs;
	int ret = -1;
	if (exchange(p, "PATCH", "/config", patroni_pause_body(pause), deadline, &rs, sent, err,
	             errlen) == 0) {
		char e[300];
		int now = patroni_config_pause(rs.body, rs.len, e, sizeof(e));
		if (now < 0)
			snprintf(err, errlen, "PATCH /config: %s", e);
		else if (now != pause)
			snprintf(err, errlen, "PATCH /config answered with pause %s",
			         now ? "still true" : "not set");
		else
			ret = 0;
	}
	mhttp_release(&rs);
	return ret;
}

/* Poll /cluster until its pause state is want, until the deadline. */
static int wait_pause(const struct pat *p, int want, int64_t until, int64_t *took, char *err,
                      size_t errlen)
{
	int64_t start = gate_mono_ms(), pause_ms = 50;
	for (;;) {
		int paused = -1;
		if (read_pause(p, until, &paused, err, errlen) == 0 && paused == want) {
			*took = gate_mono_ms() - start;
			return 0;
		}
		if (paused >= 0)
			snprintf(err, errlen, "/cluster %s after %lld ms",
			         want ? "does not report pause" : "still reports pause",
			         (long long)(gate_mono_ms() - start));
		int64_t next = gate_mono_ms() + pause_ms;
		if (next >= until)
			return -1;
		gate_sleep_until(next);
		pause_ms = pause_ms * 2 > PATRONI_POLL_MAX_MS ? PATRONI_POLL_MAX_MS : pause_ms * 2;
	}
}

static json_t *details(const struct pat *p, int paused_before)
{
	return json_pack("{s:s, s:b, s:b}", "url", p->shown, "paused_before", paused_before,
	                 "resume", !paused_before);
}

static void patroni_describe(const json_t *params, int64_t deadline_ms, struct hold_result *res)
{
	struct pat p;
	pat_init(&p, params);
	char err[512];
	int paused;
	if (read_pause(&p, deadline_ms, &paused, err, sizeof(err)) < 0) {
		set_result(res, HOLD_ERROR,
		           "cannot tell whether the Patroni cluster at %s is paused: %s", p.shown,
		           err);
	} else {
		if (paused)
			set_result(res, HOLD_TAKEN,
			           "the Patroni cluster at %s is already paused: it would be left "
			           "paused, not resumed",
			           p.shown);
		else
			set_result(res, HOLD_TAKEN,
			           "pause the Patroni cluster at %s (it is not paused now)",
			           p.shown);
		res->details = details(&p, paused);
	}
	free(p.shown);
}

/* The pause was sent but not seen: resume, and say how that went. */
static void undo_failed_pause(const struct pat *p, const char *why, int64_t deadline,
                              struct hold_result *res)
{
	int64_t until = deadline - gate_mono_ms() < 2000 ? gate_mono_ms() + 2000 : deadline;
	char err[512];
	int sent;
	if (patch_pause(p, 0, until, &sent, err, sizeof(err)) == 0)
		set_result(res, HOLD_ERROR,
		           "cannot pause the Patroni cluster at %s: %s; resumed it", p->shown, why);
	else
		set_result(res, HOLD_ERROR,
		           "cannot pause the Patroni cluster at %s: %s; resuming failed too: %s "
		           "(the recorded undo resumes it: gate maintenance resume)",
		           p->shown, why, err);
}

/* long: read, record, pause, verify, undo on failure: one sequence that
 * reads best in one place. */
static void patroni_begin(const json_t *params, const struct hold_who *who, int64_t deadline_ms,
                          hold_record_fn record, void *ctx, json_t **undo, struct hold_result *res)
{
	(void)who;
	struct pat p;
	pat_init(&p, params);
	char err[512];
	int paused, sent;
	*undo = NULL;
	if (read_pause(&p, deadline_ms, &paused, err, sizeof(err)) < 0) {
		set_result(res, HOLD_ERROR, "cannot read the Patroni cluster at %s: %s", p.shown,
		           err);
		goto out;
	}
	json_t *u = patroni_undo(!paused, p.shown);
	if (record(ctx, u) < 0) {
		json_decref(u);
		set_result(res, HOLD_ERROR,
		           "cannot record the undo for the Patroni cluster at %s: nothing changed",
		           p.shown);
		goto out;
	}
	res->details = details(&p, paused);
	if (paused) {
		*undo = u;
		set_result(res, HOLD_TAKEN,
		           "the Patroni cluster at %s is already paused: left paused, not resumed",
		           p.shown);
		goto out;
	}
	int64_t left = deadline_ms - gate_mono_ms();
	int64_t verify_until = deadline_ms - (left / 3 < PATRONI_UNDO_RESERVE_MS
	                                              ? left / 3
	                                              : PATRONI_UNDO_RESERVE_MS);
	int64_t took = 0;
	if (patch_pause(&p, 1, verify_until, &sent, err, sizeof(err)) < 0) {
		if (sent)
			undo_failed_pause(&p, err, deadline_ms, res);
		else
			set_result(res, HOLD_ERROR, "cannot pause the Patroni cluster at %s: %s",
			           p.shown, err);
		json_decref(u);
		goto out;
	}
	if (wait_pause(&p, 1, verify_until, &took, err, sizeof(err)) < 0) {
		undo_failed_pause(&p, err, deadline_ms, res);
		json_decref(u);
		goto out;
	}
	*undo = u;
	json_object_set_new(res->details, "verify_ms", json_integer(took));
	set_result(res, HOLD_TAKEN,
	           "paused the Patroni cluster at %s (/cluster said so after %lld ms)", p.shown,
	           (long long)took);
out:
	free(p.shown);
}

static void patroni_end(const json_t *params, const json_t *undo, int64_t deadline_ms,
                        struct hold_result *res)
{
	struct pat p;
	pat_init(&p, params);
	char err[512];
	int sent;
	int64_t took = 0;
	int resume = patroni_undo_resume(undo);
	if (resume < 0)
		set_result(res, HOLD_ERROR,
		           "the undo record for the Patroni cluster at %s has no \"resume\"",
		           p.shown);
	else if (!resume)
		set_result(res, HOLD_TAKEN,
		           "the Patroni cluster at %s was paused before: left paused, not resumed",
		           p.shown);
	else if (patch_pause(&p, 0, deadline_ms, &sent, err, sizeof(err)) < 0)
		set_result(res, HOLD_ERROR, "cannot resume the Patroni cluster at %s: %s", p.shown,
		           err);
	else if (wait_pause(&p, 0, deadline_ms, &took, err, sizeof(err)) < 0)
		set_result(res, HOLD_ERROR, "resumed the Patroni cluster at %s, but %s", p.shown,
		           err);
	else
		set_result(res, HOLD_TAKEN, "resumed the Patroni cluster at %s", p.shown);
	if (resume >= 0)
		res->details = json_pack("{s:s, s:b}", "url", p.shown, "resumed", resume);
	free(p.shown);
}

static int patroni_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	const char *url = gate_param_str(params, "patroni");
	if (url && strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)) {
		*param = "patroni";
		snprintf(msg, msglen, "must start with http:// or https://");
		return -1;
	}
	return 0;
}

const struct maint_kind hold_maint_patroni = {
	.name = "patroni",
	.summary = "pause the Patroni cluster (as patronictl pause does) while the command runs, "
		   "verified in /cluster, and resume it after; a cluster already paused is left so",
	.params = patroni_params,
	.validate = patroni_validate,
	.describe = patroni_describe,
	.begin = patroni_begin,
	.end = patroni_end,
	.left = "cluster left paused",
};
