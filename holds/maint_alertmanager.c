/* SPDX-License-Identifier: MIT */
/* maintenance: {alertmanager: URL, matchers: [...], duration: 2h}: an
 * Alertmanager silence (API v2) for the command's run, expired when the
 * command ends.
 *
 * begin records its intent first ({"silence": null, "token": T, ...}),
 * then POSTs the silence, whose comment carries "gate-token T", and then
 * records its ID.  end expires the recorded ID (DELETE
 * /api/v2/silence/ID, and reads it back expired); from an intent alone (a
 * gate killed between the POST and the second record) it finds the
 * silences by the token in GET /api/v2/silences and expires those.  It is
 * idempotent: an expired or unknown silence is done.  A silence outlives
 * a gate killed with SIGKILL only until its endsAt (now + duration).  The
 * pure parts are in maint_alertmanager_judge.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "builtin.h"
#include "checks/lib/url.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/timefmt.h"
#include "maint_http.h"
#include "maint_judge.h"

static const struct gate_param am_params[] = {
	{"alertmanager", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "an Alertmanager base URL (http://host:9093); a user:password in it is sent as Basic "
         "auth and never shown"},
	{"matchers", GATE_P_STRING_LIST, GATE_PF_REQUIRED, NULL, NULL,
         "what to silence, as amtool writes matchers: 'alertname=\"X\"', 'cluster!=\"b\"', "
         "'severity=~\"warn|crit\"', 'job!~\"x.*\"'"},
	{"duration", GATE_P_DURATION, 0, "2h", NULL,
         "how long the silence lasts if gate cannot expire it (gate expires it when the command "
         "ends)"},
	{"comment", GATE_P_STRING, 0, NULL, NULL,
         "added to the silence's comment (which names the runbook, user, host and pid)"},
	{"ca_file", GATE_P_STRING, 0, NULL, NULL,
         "PEM CA certificates for an https Alertmanager (default: the system's)"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

struct am {
	const char *url; /* as written: may hold a password */
	char *shown;
	const char *ca_file;
};

static void am_init(struct am *a, const json_t *params)
{
	a->url = gate_param_str(params, "alertmanager");
	a->shown = url_redact_password(a->url);
	a->ca_file = gate_param_str(params, "ca_file");
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

/* One exchange: 0 with any status, -1 with err (no answer). */
static int exchange(const struct am *a, const char *method, const char *path, const char *body,
                    int64_t deadline, struct mhttp_response *rs, char *err, size_t errlen)
{
	char *url = mhttp_join(a->url, path);
	struct mhttp_request rq = {url, method, body, a->ca_file, deadline};
	int ret = mhttp_do(&rq, rs);
	if (ret < 0)
		snprintf(err, errlen, "%s %s: %s", method, path, rs->err);
	free(url);
	return ret;
}

/* Expire one silence and read it back expired.  0 when it is expired or
 * unknown (nothing to expire), -1 with err. */
static int expire_id(const struct am *a, const char *id, int64_t deadline, char *err, size_t errlen)
{
	char *path = xasprintf("/api/v2/silence/%s", id);
	struct mhttp_response del, get;
	char e[300], state[32] = "";
	int ret = -1;
	int dok = exchange(a, "DELETE", path, NULL, deadline, &del, err, errlen);
	if (dok == 0 && del.status != 200)
		am_error_text(del.status, del.body, del.len, e, sizeof(e));
	if (exchange(a, "GET", path, NULL, deadline, &get, err, errlen) < 0) {
		/* err says why */
	} else if (get.status == 404) {
		ret = 0; /* unknown: nothing to expire */
	} else if (get.status != 200) {
		am_error_text(get.status, get.body, get.len, e, sizeof(e));
		snprintf(err, errlen, "GET %s: %s", path, e);
	} else if (am_silence_state(get.body, get.len, state, sizeof(state), e, sizeof(e)) < 0) {
		snprintf(err, errlen, "GET %s: %s", path, e);
	} else if (strcmp(state, "expired")) {
		if (dok == 0 && del.status != 200)
			snprintf(err, errlen, "DELETE %s: %s; the silence is still %s", path, e,
			         state);
		else
			snprintf(err, errlen, "the silence is still %s after DELETE %s", state,
			         path);
	} else {
		ret = 0;
	}
	mhttp_release(&del);
	mhttp_release(&get);
	free(path);
	return ret;
}

/* Expire every silence whose comment holds the token: *n of them.  0 or
 * -1 with err. */
static int expire_token(const struct am *a, const char *token, int64_t deadline, size_t *n,
                        char *err, size_t errlen)
{
	struct mhttp_response rs;
	char e[300];
	*n = 0;
	if (exchange(a, "GET", "/api/v2/silences", NULL, deadline, &rs, err, errlen) < 0) {
		mhttp_release(&rs);
		return -1;
	}
	json_t *ids = NULL;
	if (rs.status != 200) {
		am_error_text(rs.status, rs.body, rs.len, e, sizeof(e));
		snprintf(err, errlen, "GET /api/v2/silences: %s", e);
	} else if (!(ids = am_silences_with_token(rs.body, rs.len, token, e, sizeof(e)))) {
		snprintf(err, errlen, "GET /api/v2/silences: %s", e);
	}
	mhttp_release(&rs);
	if (!ids)
		return -1;
	size_t i;
	json_t *id;
	int ret = 0;
	json_array_foreach(ids, i, id) {
		if (expire_id(a, json_string_value(id), deadline, err, errlen) < 0)
			ret = -1;
		else
			(*n)++;
	}
	json_decref(ids);
	return ret;
}

/* 16 hex digits, unique enough to find our silence among all others. */
static void new_token(char *out, size_t len)
{
	unsigned char r[8];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		uint64_t x = (uint64_t)gate_now_ms() ^ ((uint64_t)getpid() << 40) ^
		             (uint64_t)gate_mono_ms() << 20;
		memcpy(r, &x, sizeof(r));
	}
	snprintf(out, len, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
	         r[6], r[7]);
}

static void am_describe(const json_t *params, int64_t deadline_ms, struct hold_result *res)
{
	struct am a;
	am_init(&a, params);
	char err[512], dur[32];
	json_t *m = am_matchers_parse(json_object_get(params, "matchers"), err, sizeof(err));
	struct mhttp_response rs = {0};
	fmt_duration_ms(gate_param_int(params, "duration", 7200000), dur, sizeof(dur));
	if (!m) {
		set_result(res, HOLD_ERROR, "matchers: %s", err);
	} else if (exchange(&a, "GET", "/api/v2/status", NULL, deadline_ms, &rs, err, sizeof(err)) <
	           0) {
		set_result(res, HOLD_ERROR, "cannot reach Alertmanager at %s: %s", a.shown, err);
	} else if (rs.status != 200) {
		am_error_text(rs.status, rs.body, rs.len, err, sizeof(err));
		set_result(res, HOLD_ERROR, "Alertmanager at %s: GET /api/v2/status: %s", a.shown,
		           err);
	} else {
		char *mt = am_matchers_text(m);
		set_result(res, HOLD_TAKEN, "silence %s for %s at %s", mt, dur, a.shown);
		res->details = json_pack("{s:s, s:s, s:s}", "url", a.shown, "matchers", mt,
		                         "duration", dur);
		free(mt);
	}
	mhttp_release(&rs);
	json_decref(m);
	free(a.shown);
}

/* The POST did not give an ID, though the silence may exist: expire what
 * carries the token, and say how that went. */
static void undo_failed_post(const struct am *a, const char *token, const char *why,
                             int64_t deadline, struct hold_result *res)
{
	int64_t until = deadline - gate_mono_ms() < 2000 ? gate_mono_ms() + 2000 : deadline;
	char err[512];
	size_t n;
	if (expire_token(a, token, until, &n, err, sizeof(err)) == 0)
		set_result(res, HOLD_ERROR,
		           "cannot silence at %s: %s; %zu silence(s) with its token expired",
		           a->shown, why, n);
	else
		set_result(res, HOLD_ERROR,
		           "cannot silence at %s: %s; a silence may remain (gate-token %s): %s",
		           a->shown, why, token, err);
}

/* POST the silence: 0 with *id; -1 with res set (and anything created
 * expired). */
static int post_silence(const struct am *a, const char *body, const char *token, int64_t deadline,
                        char **id, struct hold_result *res)
{
	struct mhttp_response rs;
	char err[512];
	int ret = -1;
	if (exchange(a, "POST", "/api/v2/silences", body, deadline, &rs, err, sizeof(err)) < 0) {
		if (rs.sent)
			undo_failed_post(a, token, err, deadline, res);
		else
			set_result(res, HOLD_ERROR, "cannot silence at %s: %s", a->shown, err);
	} else if (rs.status != 200) {
		am_error_text(rs.status, rs.body, rs.len, err, sizeof(err));
		set_result(res, HOLD_ERROR, "Alertmanager at %s refused the silence: %s", a->shown,
		           err);
	} else if (am_silence_id(rs.body, rs.len, id, err, sizeof(err)) < 0) {
		undo_failed_post(a, token, err, deadline, res);
	} else {
		ret = 0;
	}
	mhttp_release(&rs);
	return ret;
}

/* long: the intent, the silence, its record and the undo of each failure
 * read best as one sequence. */
static void am_begin(const json_t *params, const struct hold_who *who, int64_t deadline_ms,
                     hold_record_fn record, void *ctx, json_t **undo, struct hold_result *res)
{
	struct am a;
	am_init(&a, params);
	char err[512], token[24], dur[32], ends[40];
	*undo = NULL;
	int64_t duration = gate_param_int(params, "duration", 7200000);
	json_t *m = am_matchers_parse(json_object_get(params, "matchers"), err, sizeof(err));
	if (!m) {
		set_result(res, HOLD_ERROR, "matchers: %s", err);
		free(a.shown);
		return;
	}
	new_token(token, sizeof(token));
	char *comment = am_comment(who, token, gate_param_str(params, "comment"));
	char *by = xasprintf("gate %s@%s", who->user ? who->user : "?",
	                     who->host ? who->host : "?");
	char *mt = am_matchers_text(m), *id = NULL;
	json_t *u = am_undo(NULL, token, a.shown, comment);
	int64_t now = gate_now_ms();
	char *body = am_silence_body(m, now, duration, by, comment);
	fmt_duration_ms(duration, dur, sizeof(dur));
	gate_format_time(now + duration, ends, sizeof(ends));
	if (!body) {
		set_result(res, HOLD_ERROR, "cannot write the silence for %s", a.shown);
	} else if (record(ctx, u) < 0) {
		set_result(res, HOLD_ERROR,
		           "cannot record the undo for the silence at %s: nothing changed",
		           a.shown);
	} else if (post_silence(&a, body, token, deadline_ms, &id, res) < 0) {
		/* res says what happened */
	} else {
		json_decref(u);
		u = am_undo(id, token, a.shown, comment);
		if (record(ctx, u) < 0) {
			int64_t until = deadline_ms - gate_mono_ms() < 2000 ? gate_mono_ms() + 2000
			                                                    : deadline_ms;
			int gone = expire_id(&a, id, until, err, sizeof(err)) == 0;
			set_result(res, HOLD_ERROR, "cannot record silence %s at %s; %s%s", id,
			           a.shown, gone ? "expired it" : "expiring it failed too: ",
			           gone ? "" : err);
		} else {
			*undo = json_incref(u);
			set_result(res, HOLD_TAKEN, "silenced %s for %s at %s (silence %s)", mt,
			           dur, a.shown, id);
			res->details = json_pack("{s:s, s:s, s:s, s:s}", "url", a.shown, "silence",
			                         id, "matchers", mt, "ends_at", ends);
		}
	}
	json_decref(u);
	json_decref(m);
	free(body);
	free(id);
	free(mt);
	free(by);
	free(comment);
	free(a.shown);
}

static void am_end(const json_t *params, const json_t *undo, int64_t deadline_ms,
                   struct hold_result *res)
{
	struct am a;
	am_init(&a, params);
	const char *id, *token;
	char err[512];
	size_t n = 0;
	if (am_undo_read(undo, &id, &token) < 0) {
		set_result(res, HOLD_ERROR,
		           "the undo record for the silence at %s has neither a silence ID nor a "
		           "token",
		           a.shown);
	} else if (id && expire_id(&a, id, deadline_ms, err, sizeof(err)) < 0) {
		set_result(res, HOLD_ERROR, "cannot expire silence %s at %s: %s", id, a.shown, err);
	} else if (id) {
		set_result(res, HOLD_TAKEN, "expired silence %s at %s", id, a.shown);
		res->details = json_pack("{s:s, s:s}", "url", a.shown, "silence", id);
	} else if (expire_token(&a, token, deadline_ms, &n, err, sizeof(err)) < 0) {
		set_result(res, HOLD_ERROR,
		           "cannot expire the silences with gate-token %s at %s: %s", token,
		           a.shown, err);
	} else {
		set_result(res, HOLD_TAKEN, "expired %zu silence(s) with gate-token %s at %s", n,
		           token, a.shown);
		res->details = json_pack("{s:s, s:s, s:I}", "url", a.shown, "token", token,
		                         "expired", (json_int_t)n);
	}
	free(a.shown);
}

static int am_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	const char *url = gate_param_str(params, "alertmanager");
	json_t *m;
	if (url && strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)) {
		*param = "alertmanager";
		snprintf(msg, msglen, "must start with http:// or https://");
		return -1;
	}
	if (gate_param_given(params, "matchers")) {
		m = am_matchers_parse(json_object_get(params, "matchers"), msg, msglen);
		if (!m) {
			*param = "matchers";
			return -1;
		}
		json_decref(m);
	}
	if (gate_param_int(params, "duration", 7200000) <= 0) {
		*param = "duration";
		snprintf(msg, msglen, "must be more than 0");
		return -1;
	}
	return 0;
}

const struct maint_kind hold_maint_alertmanager = {
	.name = "alertmanager",
	.summary = "an Alertmanager silence (API v2) for the command's run, naming the runbook, "
		   "user and host; expired when the command ends",
	.params = am_params,
	.validate = am_validate,
	.describe = am_describe,
	.begin = am_begin,
	.end = am_end,
	.left = "silence left active",
};
