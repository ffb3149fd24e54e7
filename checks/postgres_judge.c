/* SPDX-License-Identifier: MIT */
/* The postgres checks' judges (postgres_judge.h): facts + parameters ->
 * status, summary and details.  No I/O and no clock.  The rules, and what
 * PostgreSQL 15 was seen to do that they follow, are in checks/postgres.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/timefmt.h"
#include "postgres_judge.h"

/* ---- formatting for summaries ---- */

/* "512 B", "16 MiB", "2.7 MB": binary units when the value is a whole
 * number of them (as runbooks usually write limits), decimal otherwise. */
static const char *fmt_bytes(char *buf, size_t len, double b)
{
	static const struct {
		double unit;
		const char *name;
	} bin[] = {{1099511627776.0, "TiB"},
	           {1073741824.0, "GiB"},
	           {1048576.0, "MiB"},
	           {1024.0, "KiB"}};
	static const struct {
		double unit;
		const char *name;
	} dec[] = {{1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "kB"}};
	double a = fabs(b);
	if (a < 1000) {
		snprintf(buf, len, "%.0f B", b);
		return buf;
	}
	for (size_t i = 0; i < 4; i++)
		if (a >= bin[i].unit && fmod(a, bin[i].unit) == 0) {
			snprintf(buf, len, "%.0f %s", b / bin[i].unit, bin[i].name);
			return buf;
		}
	for (size_t i = 0; i < 4; i++)
		if (a >= dec[i].unit || i == 3) {
			snprintf(buf, len, "%.1f %s", b / dec[i].unit, dec[i].name);
			char *dot = strstr(buf, ".0 ");
			if (dot)
				memmove(dot, dot + 2, strlen(dot + 2) + 1);
			return buf;
		}
	return buf;
}

/* An age the server measured, in seconds: "250ms", "2.5s", "12m05s". */
static const char *fmt_age(char *buf, size_t len, double s)
{
	double ms = isnan(s) ? 0 : s * 1000;
	if (ms > 9e15)
		ms = 9e15;
	if (ms < -9e15)
		ms = -9e15;
	fmt_duration_approx((int64_t)ms, buf, len);
	return buf;
}

/* A limit from the runbook, in its own syntax: "30s", "15m". */
static const char *fmt_limit(char *buf, size_t len, int64_t ms)
{
	fmt_duration_ms(ms, buf, len);
	return buf;
}

/* snprintf into buf, truncating on purpose (summaries are bounded). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
setf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ---- problems: collected, joined into the summary ---- */

struct problems {
	char text[GATE_SUMMARY_MAX];
	size_t n;
	json_t *list; /* every problem, also those that did not fit */
};

static void problems_init(struct problems *p)
{
	p->text[0] = '\0';
	p->n = 0;
	p->list = json_array();
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
problem(struct problems *p, const char *fmt, ...)
{
	char one[GATE_SUMMARY_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(one, sizeof(one), fmt, ap);
	va_end(ap);
	json_array_append_new(p->list, json_string(one));
	size_t used = strlen(p->text);
	if (p->n == 0)
		snprintf(p->text, sizeof(p->text), "%s", one);
	else if (used + strlen(one) + 2 < sizeof(p->text) - 24)
		setf(p->text + used, sizeof(p->text) - used, "; %s", one);
	else if (!strstr(p->text, "; and more"))
		snprintf(p->text + used, sizeof(p->text) - used, "; and more");
	p->n++;
}

/* ---- shared ---- */

static json_t *str_or_null(const char *v)
{
	return v ? json_string(v) : json_null();
}

static json_t *int_or_null(int64_t v)
{
	return v != PG_NULL_INT ? json_integer(v) : json_null();
}

static json_t *real_or_null(double v)
{
	return !isnan(v) ? json_real(v) : json_null();
}

static const char *server_of(const struct pg_fetched *f)
{
	return f->server ? f->server : "postgres";
}

static int in_list(const json_t *list, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (json_is_string(v) && name && !strcmp(json_string_value(v), name))
			return 1;
	return 0;
}

/* The fetch stopped: its error (saying what to grant, when `hint` and the
 * server refused permission).  Facts that stop without saying why are an
 * error too, never a pass. */
static void fetch_error(const struct pg_fetched *f, int hint, struct gate_result *res)
{
	if (!f->error)
		gate_result_set(res, GATE_ERROR, "%s: incomplete facts", server_of(f));
	else if (hint && f->sqlstate && !strcmp(f->sqlstate, "42501"))
		gate_result_set(res, GATE_ERROR, "%s (the role needs pg_monitor or superuser)",
		                f->error);
	else
		gate_result_set(res, GATE_ERROR, "%s", f->error);
}

/* ================= postgres.replication ================= */

struct repl_limits {
	int64_t min_streaming, min_sync, max_lag_bytes, max_replay_lag_ms, max_reply_age_ms;
	const json_t *standbys, *ignore;
};

/* Judge one walsender.  Its problems go into the returned details
 * object's "problems"; *ok says whether it passes every condition. */
static json_t *judge_walsender(const struct pg_walsender *w, const char *name,
                               const struct repl_limits *L, int *ok)
{
	double reply = w->reply_age_s, rlag = w->replay_lag_s;
	int64_t lag = w->lag_bytes;
	char b1[32], b2[32];
	struct problems mine;
	problems_init(&mine);

	if (w->state && strcmp(w->state, "streaming"))
		problem(&mine, "%s: state %s, not streaming", name, w->state);
	if (isnan(reply))
		problem(&mine, "%s: no reply from the standby yet", name);
	else if (reply * 1000 > (double)L->max_reply_age_ms)
		problem(&mine, "%s: last reply %s ago (max %s)", name,
		        fmt_age(b1, sizeof(b1), reply),
		        fmt_limit(b2, sizeof(b2), L->max_reply_age_ms));
	/* Lag in bytes is the primary measure.  A row that replies but has
	 * no replay position is a WAL streamer, not a replica. */
	if (!isnan(reply) && lag == PG_NULL_INT)
		problem(&mine, "%s: no replay position (a WAL streamer? list it in ignore)", name);
	else if (lag != PG_NULL_INT && (double)lag > (double)L->max_lag_bytes)
		problem(&mine, "%s: replay %s behind (max %s)", name,
		        fmt_bytes(b1, sizeof(b1), (double)lag),
		        fmt_bytes(b2, sizeof(b2), (double)L->max_lag_bytes));
	/* replay_lag NULL with everything sent replayed is an idle system: 0.
	 * NULL while replay is behind what was sent is not knowing. */
	double replay_lag_s = isnan(rlag) ? 0 : rlag;
	if (isnan(rlag) && !isnan(reply) && lag != PG_NULL_INT && w->caught_up != 1)
		problem(&mine, "%s: replay_lag unknown and replay behind what was sent", name);
	else if (replay_lag_s * 1000 > (double)L->max_replay_lag_ms)
		problem(&mine, "%s: replay lag %s (max %s)", name,
		        fmt_age(b1, sizeof(b1), replay_lag_s),
		        fmt_limit(b2, sizeof(b2), L->max_replay_lag_ms));

	*ok = mine.n == 0 && w->state;
	return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o}", "application_name", name, "state",
	                 str_or_null(w->state), "sync_state", str_or_null(w->sync_state),
	                 "lag_bytes", int_or_null(lag), "replay_lag_s",
	                 !isnan(rlag) ? json_real(rlag)
	                              : (w->caught_up == 1 ? json_real(0) : json_null()),
	                 "reply_age_s", real_or_null(reply), "pass", *ok, "problems", mine.list,
	                 "client_addr", str_or_null(w->client_addr));
}

static int is_sync(const json_t *row)
{
	const char *s = json_string_value(json_object_get(row, "sync_state"));
	return s && (!strcmp(s, "sync") || !strcmp(s, "quorum"));
}

static int named(const json_t *row, const char *name)
{
	return name && !strcmp(json_string_value(json_object_get(row, "application_name")), name);
}

/* Why each name in `standbys` is not among the passing replicas. */
static void standbys_verdict(const struct repl_limits *L, const json_t *replicas,
                             struct problems *why)
{
	size_t k, j, m;
	json_t *v, *row, *p;
	json_array_foreach(L->standbys, k, v) {
		const char *want = json_string_value(v);
		int present = 0, passes = 0;
		json_array_foreach(replicas, j, row)
			if (named(row, want)) {
				present = 1;
				passes |= json_is_true(json_object_get(row, "pass"));
			}
		if (passes)
			continue;
		if (!present) {
			problem(why, "%s: not streaming (no row in pg_stat_replication)",
			        want ? want : "?");
			continue;
		}
		json_array_foreach(replicas, j, row)
			if (named(row, want))
				json_array_foreach(json_object_get(row, "problems"), m, p)
					problem(why, "%s", json_string_value(p));
	}
}

/* Why the sample fails, from the judged rows: names in `standbys` first,
 * then the counts.  Empty `why` means it passes. */
static void replication_verdict(const struct pg_replication_facts *f, const struct repl_limits *L,
                                const json_t *replicas, int64_t npass, int64_t nsync,
                                struct problems *why)
{
	size_t k, j, m;
	json_t *v, *row, *p;
	standbys_verdict(L, replicas, why);
	if (npass < L->min_streaming) {
		/* "1 of 2 required replicas pass: <why each other one does not>" */
		struct problems all;
		problems_init(&all);
		json_array_foreach(why->list, k, v)
			problem(&all, "%s", json_string_value(v));
		json_array_foreach(replicas, j, row)
			json_array_foreach(json_object_get(row, "problems"), m, p)
				if (!in_list(all.list, json_string_value(p)))
					problem(&all, "%s", json_string_value(p));
		if (json_array_size(replicas) == 0 && all.n == 0)
			problem(&all, "no replica connected (pg_stat_replication is empty)");
		/* Without `standbys` gate cannot name who is missing; the
		 * inactive physical slots usually do. */
		if (f->inactive_slots)
			problem(&all, "inactive slots: %s", f->inactive_slots);
		char lead[GATE_SUMMARY_MAX];
		setf(lead, sizeof(lead), "%lld of %lld required replicas pass%s%s",
		     (long long)npass, (long long)L->min_streaming, all.n ? ": " : "", all.text);
		json_decref(why->list);
		json_decref(all.list);
		problems_init(why);
		problem(why, "%s", lead);
	}
	if (nsync < L->min_sync)
		problem(why,
		        "%lld of %lld required synchronous replicas (sync_state sync or quorum) "
		        "pass",
		        (long long)nsync, (long long)L->min_sync);
}

/* The names in `standbys` that are not among the passing replicas. */
static json_t *missing_standbys(const struct repl_limits *L, const json_t *replicas)
{
	json_t *missing = json_array(), *v, *row;
	size_t k, j;
	json_array_foreach(L->standbys, k, v) {
		int passes = 0;
		json_array_foreach(replicas, j, row)
			if (named(row, json_string_value(v)))
				passes |= json_is_true(json_object_get(row, "pass"));
		if (!passes)
			json_array_append(missing, v);
	}
	return missing;
}

struct repl_tally {
	json_t *replicas, *ignored, *failing;
	int64_t npass, nsync;
	int unreadable;
	double worst_lag;
};

/* Judge every walsender not in `ignore`. */
static void judge_walsenders(const struct pg_replication_facts *f, const struct repl_limits *L,
                             struct repl_tally *t)
{
	char name[96];
	for (size_t i = 0; i < f->n; i++) {
		const struct pg_walsender *w = &f->rows[i];
		if (w->application_name && *w->application_name)
			snprintf(name, sizeof(name), "%s", w->application_name);
		else if (w->pid != PG_NULL_INT)
			snprintf(name, sizeof(name), "pid %lld", (long long)w->pid);
		else
			snprintf(name, sizeof(name), "pid ?");
		if (in_list(L->ignore, w->application_name)) {
			json_array_append_new(t->ignored, json_string(name));
			continue;
		}
		/* Without pg_read_all_stats the row is there but every column
		 * but pid is NULL: that is not knowing, never a pass. */
		if (!w->state)
			t->unreadable = 1;
		int ok;
		json_t *row = judge_walsender(w, name, L, &ok);
		if (ok) {
			t->npass++;
			t->nsync += is_sync(row);
		} else {
			json_array_extend(t->failing, json_object_get(row, "problems"));
		}
		if (w->lag_bytes != PG_NULL_INT && (double)w->lag_bytes > t->worst_lag)
			t->worst_lag = (double)w->lag_bytes;
		json_array_append_new(t->replicas, row);
	}
}

/* The sample's status and summary, from the tally and the verdict. */
static void replication_result(const struct pg_replication_facts *f, const struct repl_limits *L,
                               const struct repl_tally *t, const struct problems *why,
                               struct gate_result *res)
{
	char b1[32];
	size_t k;
	json_t *v;
	if (t->unreadable) {
		gate_result_set(res, GATE_ERROR,
		                "%s: cannot read pg_stat_replication (the role needs pg_monitor or "
		                "superuser)",
		                server_of(&f->f));
	} else if (why->n) {
		gate_result_set(res, GATE_FAIL, "%s", why->text);
	} else {
		struct problems others; /* replicas beyond what is required that fail */
		problems_init(&others);
		json_array_foreach(t->failing, k, v)
			problem(&others, "%s", json_string_value(v));
		gate_result_set(
			res, GATE_PASS,
			"%lld of %zu replicas pass (min %lld), replay at most %s behind%s%s",
			(long long)t->npass, json_array_size(t->replicas),
			(long long)L->min_streaming, fmt_bytes(b1, sizeof(b1), t->worst_lag),
			others.n ? "; not passing: " : "", others.text);
		json_decref(others.list);
	}
}

void pg_replication_judge(const struct pg_replication_facts *f, const json_t *params,
                          struct gate_result *res)
{
	struct repl_limits L = {
		gate_param_int(params, "min_streaming", 1),
		gate_param_int(params, "min_sync", 0),
		gate_param_int(params, "max_lag_bytes", 16 << 20),
		gate_param_int(params, "max_replay_lag", 60000),
		gate_param_int(params, "max_reply_age", 30000),
		json_object_get(params, "standbys"),
		json_object_get(params, "ignore"),
	};
	json_object_set_new(res->details, "server", json_string(server_of(&f->f)));
	if (f->in_recovery < 0) {
		fetch_error(&f->f, 0, res);
		return;
	}
	json_object_set_new(res->details, "in_recovery", json_boolean(f->in_recovery));
	if (f->in_recovery) {
		gate_result_set(res, GATE_FAIL, "%s: in recovery (a standby), not a primary",
		                server_of(&f->f));
		return;
	}
	if (!f->have_rows) {
		fetch_error(&f->f, 0, res);
		return;
	}

	json_t *dflt_ignore = NULL;
	if (!L.ignore) /* the runbook loader fills defaults; gate-runcheck does not */
		L.ignore = dflt_ignore = json_pack("[ss]", "barman_receive_wal", "pg_receivewal");
	struct repl_tally t = {json_array(), json_array(), json_array(), 0, 0, 0, 0};
	judge_walsenders(f, &L, &t);
	struct problems why;
	problems_init(&why);
	replication_verdict(f, &L, t.replicas, t.npass, t.nsync, &why);
	json_object_set_new(res->details, "replicas", t.replicas);
	json_object_set_new(res->details, "passing", json_integer(t.npass));
	json_object_set_new(res->details, "streaming", json_integer(t.npass));
	json_object_set_new(res->details, "sync", json_integer(t.nsync));
	json_object_set_new(res->details, "ignored", t.ignored);
	json_object_set_new(res->details, "missing", missing_standbys(&L, t.replicas));
	json_object_set_new(res->details, "problems", t.failing);
	replication_result(f, &L, &t, &why, res);
	json_decref(why.list);
	json_decref(dflt_ignore);
}

int pg_samples_fit(int64_t samples, int64_t interval_ms, int64_t left_ms)
{
	if (interval_ms < 0)
		interval_ms = 0;
	/* Divided, not multiplied: samples has no upper bound of its own,
	 * and samples x interval could overflow. */
	return !(samples > 1 &&
	         (left_ms <= 0 ||
	          (interval_ms > 0 &&
	           samples - 1 >= left_ms / interval_ms + (left_ms % interval_ms != 0))));
}

/* ================= postgres.replica ================= */

/* The receiver's numbers, shown whether or not they pass. */
static void replica_details(const struct pg_wal_receiver *w, json_t *d)
{
	json_object_set_new(d, "receive_lsn", str_or_null(w->receive_lsn));
	json_object_set_new(d, "replay_lsn", str_or_null(w->replay_lsn));
	json_object_set_new(d, "replay_bytes", int_or_null(w->replay_bytes));
	json_object_set_new(d, "pause_state", str_or_null(w->pause_state));
	json_object_set_new(d, "receiver_status", str_or_null(w->status));
	json_object_set_new(d, "receive_age_s", real_or_null(w->receive_age_s));
	json_object_set_new(d, "slot_name", str_or_null(w->slot_name));
	if (w->sender_host) {
		char sender[160];
		if (w->sender_port != PG_NULL_INT)
			snprintf(sender, sizeof(sender), "%s:%lld", w->sender_host,
			         (long long)w->sender_port);
		else
			snprintf(sender, sizeof(sender), "%s:?", w->sender_host);
		json_object_set_new(d, "sender", json_string(sender));
	}
	/* shown, never judged: it grows on an idle, caught-up replica */
	json_object_set_new(d, "last_xact_replay_age_s", real_or_null(w->last_xact_replay_age_s));
}

void pg_replica_judge(const struct pg_replica_facts *f, const json_t *params,
                      struct gate_result *res)
{
	int64_t max_age = gate_param_int(params, "max_receive_age", 60000);
	int64_t max_bytes = gate_param_int(params, "max_replay_bytes", 16 << 20);
	int allow_paused = gate_param_bool(params, "allow_paused", 0);
	const struct pg_wal_receiver *w = &f->w;
	json_object_set_new(res->details, "server", json_string(server_of(&f->f)));
	if (f->in_recovery < 0) {
		fetch_error(&f->f, 1, res);
		return;
	}
	char name[128];
	const char *cn = f->cluster_name;
	snprintf(name, sizeof(name), "%s", cn && *cn ? cn : server_of(&f->f));
	json_object_set_new(res->details, "name", json_string(name));
	json_object_set_new(res->details, "in_recovery", json_boolean(f->in_recovery));
	if (!f->in_recovery) {
		gate_result_set(res, GATE_FAIL, "%s: not a standby (pg_is_in_recovery() is false)",
		                name);
		return;
	}
	if (!f->have_receiver) {
		fetch_error(&f->f, 1, res);
		return;
	}
	replica_details(w, res->details);
	if (w->pid != PG_NULL_INT && !w->status) {
		gate_result_set(res, GATE_ERROR,
		                "%s: cannot read pg_stat_wal_receiver (the role needs pg_monitor "
		                "or superuser)",
		                name);
		return;
	}
	struct problems why;
	problems_init(&why);
	char b1[32], b2[32];
	if (w->pid == PG_NULL_INT)
		problem(&why, "%s: not streaming (no WAL receiver: pg_stat_wal_receiver is empty)",
		        name);
	else if (strcmp(w->status, "streaming"))
		problem(&why, "%s: WAL receiver is %s, not streaming", name, w->status);
	else if (isnan(w->receive_age_s))
		problem(&why, "%s: no message from the primary yet", name);
	else if (w->receive_age_s * 1000 > (double)max_age)
		problem(&why, "%s: last message from the primary %s ago (max %s)", name,
		        fmt_age(b1, sizeof(b1), w->receive_age_s),
		        fmt_limit(b2, sizeof(b2), max_age));
	if (w->pause_state && strcmp(w->pause_state, "not paused") && !allow_paused)
		problem(&why, "%s: replay %s (pg_get_wal_replay_pause_state())", name,
		        !strcmp(w->pause_state, "paused") ? "paused" : "pause requested");
	if (w->replay_bytes == PG_NULL_INT)
		problem(&why, "%s: no WAL received by streaming (receive LSN unknown)", name);
	else if ((double)w->replay_bytes > (double)max_bytes)
		problem(&why, "%s: replay %s behind receive (max %s)", name,
		        fmt_bytes(b1, sizeof(b1), (double)w->replay_bytes),
		        fmt_bytes(b2, sizeof(b2), (double)max_bytes));
	json_object_set_new(res->details, "problems", why.list);
	if (why.n) {
		gate_result_set(res, GATE_FAIL, "%s", why.text);
		return;
	}
	char port[24] = "?";
	if (w->sender_port != PG_NULL_INT)
		snprintf(port, sizeof(port), "%lld", (long long)w->sender_port);
	gate_result_set(res, GATE_PASS,
	                "%s: streaming from %s:%s, last message %s ago, replay %s behind receive",
	                name, w->sender_host ? w->sender_host : "?", port,
	                fmt_age(b1, sizeof(b1), w->receive_age_s),
	                fmt_bytes(b2, sizeof(b2), (double)w->replay_bytes));
}

/* ================= postgres.archiver ================= */

static void archiver_details(const struct pg_archiver_stat *s, json_t *d)
{
	json_object_set_new(d, "archive_mode", str_or_null(s->archive_mode));
	json_object_set_new(d, "in_recovery", json_boolean(s->in_recovery == 1));
	json_object_set_new(d, "archived_count", int_or_null(s->archived_count));
	json_object_set_new(d, "last_archived_wal", str_or_null(s->last_archived_wal));
	json_object_set_new(d, "last_archived_time", str_or_null(s->last_archived_time));
	json_object_set_new(d, "last_archived_age_s", real_or_null(s->last_archived_age_s));
	json_object_set_new(d, "failed_count", int_or_null(s->failed_count));
	json_object_set_new(d, "last_failed_wal", str_or_null(s->last_failed_wal));
	json_object_set_new(d, "last_failed_time", str_or_null(s->last_failed_time));
}

/* What pg_stat_archiver and the settings say is wrong. */
static void archiver_stat_verdict(const struct pg_archiver_stat *s, int have_max_age,
                                  int64_t max_age, struct problems *why)
{
	char b1[32], b2[32];
	const char *mode = s->archive_mode;
	if (!mode || !strcmp(mode, "off"))
		problem(why, "archiving is off (archive_mode = off)");
	else if (s->in_recovery == 1 && strcmp(mode, "always"))
		problem(why, "a standby does not archive with archive_mode = %s", mode);
	else if (s->has_command == 0 && s->has_library == 0)
		problem(why,
		        "archive_command and archive_library are both empty: nothing is archived");
	if (!s->last_archived_wal)
		problem(why, "nothing has ever been archived");
	if (s->failing == 1) {
		char last[128] = "";
		if (s->last_archived_wal)
			setf(last, sizeof(last), " (%s)", s->last_archived_wal);
		problem(why, "archiving fails: %s failed %s ago, after the last success%s",
		        s->last_failed_wal ? s->last_failed_wal : "a segment",
		        fmt_age(b1, sizeof(b1),
		                isnan(s->last_failed_age_s) ? 0 : s->last_failed_age_s),
		        last);
	}
	if (have_max_age && !isnan(s->last_archived_age_s) &&
	    s->last_archived_age_s * 1000 > (double)max_age)
		problem(why, "last WAL archived %s ago (max %s)",
		        fmt_age(b1, sizeof(b1), s->last_archived_age_s),
		        fmt_limit(b2, sizeof(b2), max_age));
}

void pg_archiver_judge(const struct pg_archiver_facts *f, const json_t *params,
                       struct gate_result *res)
{
	int64_t max_ready = gate_param_int(params, "max_ready", 10);
	int64_t max_ready_age = gate_param_int(params, "max_ready_age", 900000);
	const struct pg_archiver_stat *s = &f->s;
	const struct pg_archive_ready *r = &f->r;
	struct problems why;
	problems_init(&why);
	char b1[32], b2[32];
	json_object_set_new(res->details, "server", json_string(server_of(&f->f)));
	if (!f->have_stat) {
		fetch_error(&f->f, 1, res);
		goto out;
	}
	archiver_details(s, res->details);
	archiver_stat_verdict(s, gate_param_given(params, "max_age"),
	                      gate_param_int(params, "max_age", 0), &why);
	if (!f->have_ready) {
		fetch_error(&f->f, 1, res);
		goto out;
	}
	json_object_set_new(res->details, "ready", int_or_null(r->count));
	json_object_set_new(res->details, "oldest_ready_age_s", real_or_null(r->oldest_age_s));
	if (r->count != PG_NULL_INT && r->count > max_ready)
		problem(&why, "%lld WAL segment%s waiting to be archived (max %lld)",
		        (long long)r->count, r->count != 1 ? "s" : "", (long long)max_ready);
	if (!isnan(r->oldest_age_s) && r->oldest_age_s * 1000 > (double)max_ready_age)
		problem(&why, "oldest WAL segment waiting to be archived is %s old (max %s)",
		        fmt_age(b1, sizeof(b1), r->oldest_age_s),
		        fmt_limit(b2, sizeof(b2), max_ready_age));
	if (why.n)
		gate_result_set(res, GATE_FAIL, "%s: %s", server_of(&f->f), why.text);
	else
		gate_result_set(res, GATE_PASS, "%s: archiving works: last %s %s ago, %lld waiting",
		                server_of(&f->f), s->last_archived_wal ? s->last_archived_wal : "",
		                fmt_age(b1, sizeof(b1),
		                        isnan(s->last_archived_age_s) ? 0 : s->last_archived_age_s),
		                r->count != PG_NULL_INT ? (long long)r->count : 0LL);
out:
	json_object_set_new(res->details, "problems", why.list);
}

/* ================= postgres.slots ================= */

/* Judge one slot into why. */
static void judge_slot(const struct pg_slot *s, int require_active, int64_t min_safe,
                       struct problems *why)
{
	char b1[32], b2[32];
	const char *name = s->slot_name ? s->slot_name : "?";
	if (require_active && s->active != 1)
		problem(why, "slot %s is inactive%s%s%s", name,
		        s->retained_bytes != PG_NULL_INT ? " (retaining " : "",
		        s->retained_bytes != PG_NULL_INT
		                ? fmt_bytes(b1, sizeof(b1), (double)s->retained_bytes)
		                : "",
		        s->retained_bytes != PG_NULL_INT ? ")" : "");
	if (!s->wal_status)
		problem(why, "slot %s has never reserved WAL (wal_status NULL)", name);
	else if (!strcmp(s->wal_status, "lost") || !strcmp(s->wal_status, "unreserved"))
		problem(why, "slot %s: wal_status %s (the WAL it needs is %s)", name, s->wal_status,
		        !strcmp(s->wal_status, "lost") ? "gone" : "about to be removed");
	if (s->safe_wal_size != PG_NULL_INT && (double)s->safe_wal_size < (double)min_safe)
		problem(why, "slot %s: %s of WAL left before it is lost (min %s)", name,
		        fmt_bytes(b1, sizeof(b1), (double)s->safe_wal_size),
		        fmt_bytes(b2, sizeof(b2), (double)min_safe));
}

void pg_slots_judge(const struct pg_slots_facts *f, const json_t *params, struct gate_result *res)
{
	const json_t *want = json_object_get(params, "slots");
	int require_active = gate_param_bool(params, "require_active", 1);
	int64_t min_safe = gate_param_int(params, "min_safe_wal_size", (int64_t)1 << 30);
	struct problems why;
	problems_init(&why);
	json_t *list = json_array();
	json_object_set_new(res->details, "server", json_string(server_of(&f->f)));
	if (!f->have_slots) {
		fetch_error(&f->f, 1, res);
		goto out;
	}
	int judged = 0;
	for (size_t i = 0; i < f->n; i++) {
		const struct pg_slot *s = &f->rows[i];
		int judge = want ? in_list(want, s->slot_name)
		                 : (s->slot_type && !strcmp(s->slot_type, "physical"));
		json_array_append_new(list,
		                      json_pack("{s:s?,s:s?,s:b,s:o,s:o,s:o,s:b}", "slot_name",
		                                s->slot_name, "slot_type", s->slot_type, "active",
		                                s->active == 1, "wal_status",
		                                str_or_null(s->wal_status), "safe_wal_size",
		                                int_or_null(s->safe_wal_size), "retained_bytes",
		                                int_or_null(s->retained_bytes), "judged", judge));
		if (!judge)
			continue;
		judged++;
		judge_slot(s, require_active, min_safe, &why);
	}
	size_t k;
	json_t *v;
	json_array_foreach(want, k, v) {
		const char *name = json_string_value(v);
		int found = 0;
		for (size_t i = 0; i < f->n; i++)
			if (name && !strcmp(f->rows[i].slot_name ? f->rows[i].slot_name : "", name))
				found = 1;
		if (!found)
			problem(&why, "slot %s does not exist", name ? name : "?");
	}
	if (!want && judged == 0)
		problem(&why, "%s: no physical replication slots", server_of(&f->f));
	if (why.n)
		gate_result_set(res, GATE_FAIL, "%s", why.text);
	else
		gate_result_set(res, GATE_PASS, "%d slot%s %s, WAL reserved", judged,
		                judged == 1 ? "" : "s", require_active ? "active" : "present");
out:
	json_object_set_new(res->details, "slots", list);
	json_object_set_new(res->details, "problems", why.list);
}
