/* SPDX-License-Identifier: MIT */
/* The postgres check family: postgres.replication (on the primary),
 * postgres.replica (on a standby), postgres.archiver and postgres.slots.
 *
 * What PostgreSQL 15 really shows, and where well-known tools go wrong, was
 * verified on real servers (tests t1000-t1040); the rules below follow it:
 *  - lag in bytes is the primary measure; replay_lag is NULL on an idle,
 *    caught-up system, which is 0 and not "unknown";
 *  - now() - pg_last_xact_replay_timestamp() is never judged (it grows on
 *    an idle, healthy replica); it is only shown in details;
 *  - a standby without a WAL receiver row is not streaming, whatever its
 *    receive and replay LSNs say;
 *  - WAL streamers (pg_receivewal, barman) in pg_stat_replication are not
 *    replicas;
 *  - pg_stat_archiver.failed_count never resets: compare the times.
 * Every query is a read, in a read-only session (lib/pgconn.c).
 *
 * Beyond checks.md (extensions, none loosens it):
 *  - replay_lag NULL counts as 0 when replay_lsn = sent_lsn (the walsender
 *    clears it only then); NULL while replay is behind what was sent fails
 *    as unknown.  Lag bytes against the current LSN are judged either way.
 *  - postgres.replication names inactive physical slots when fewer than
 *    min_streaming replicas pass (without `standbys`, the usual way to
 *    learn who is missing); replicas beyond min_streaming that fail are
 *    named in a passing summary.
 *  - postgres.archiver also fails on a standby whose archive_mode is not
 *    `always`, and when archive_command and archive_library are both empty.
 *  - postgres.slots with no `slots` and no physical slot at all fails:
 *    nothing to judge is not a pass.
 *  - A role without pg_monitor sees NULL columns or "permission denied":
 *    that is an error that says what to grant, never a pass.
 *  - connect_timeout in the conninfo applies when shorter than the check's
 *    timeout; the check stops a little before the core's deadline so its
 *    own message ("no answer within 2.7s") is what the report shows. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/module.h"
#include "lib/pgconn.h"

/* ---- formatting for summaries ---- */

/* "512 B", "16 MiB", "2.7 MB": binary units when the value is a whole
 * number of them (as runbooks usually write limits), decimal otherwise. */
static const char *fmt_bytes(char *buf, size_t len, double b)
{
	static const struct { double unit; const char *name; } bin[] = {
		{1099511627776.0, "TiB"}, {1073741824.0, "GiB"}, {1048576.0, "MiB"}, {1024.0, "KiB"}};
	static const struct { double unit; const char *name; } dec[] = {
		{1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "kB"}};
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

/* "50 ms", "0.4 s", "75 s", "15 min", "2 h" */
static const char *fmt_secs(char *buf, size_t len, double s)
{
	if (s > 0 && s < 0.1)
		snprintf(buf, len, "%.0f ms", s * 1000);
	else if (s < 10)
		snprintf(buf, len, "%.1f s", s);
	else if (s < 120)
		snprintf(buf, len, "%.0f s", s);
	else if (s < 7200)
		snprintf(buf, len, "%.1f min", s / 60);
	else
		snprintf(buf, len, "%.1f h", s / 3600);
	char *dot = strstr(buf, ".0 ");
	if (dot)
		memmove(dot, dot + 2, strlen(dot + 2) + 1);
	return buf;
}

/* snprintf into buf, truncating on purpose (summaries are bounded). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void setf(char *buf, size_t len, const char *fmt, ...)
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
static void problem(struct problems *p, const char *fmt, ...)
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

/* ---- shared plumbing ---- */

#define CONNINFO_DOC                                                                  \
	"a libpq conninfo (host=... port=...), postgresql:// URI or service=NAME. "  \
	"Passwords come from ~/.pgpass (PGPASSFILE), PGPASSWORD or the service file "   \
	"and are never shown. connect_timeout, if set, applies when shorter than the " \
	"check's timeout, which bounds every wait."

/* Stop a little before the core's deadline, so our own message (what timed
 * out) is what the report shows, not the core's "timeout". */
static int64_t own_deadline(const struct gate_run_env *env)
{
	int64_t margin = env->timeout_ms / 10;
	if (margin > 300)
		margin = 300;
	return env->deadline_ms - margin;
}

/* Connect; on failure the result is an error saying why (redacted). */
static int connect_or_error(struct pgconn *c, const json_t *params,
                            const struct gate_run_env *env, struct gate_result *res)
{
	if (pgconn_open(c, gate_param_str(params, "conninfo"), own_deadline(env)) < 0) {
		gate_result_set(res, GATE_ERROR, "%s", c->err);
		json_object_set_new(res->details, "server", json_string(c->where));
		return -1;
	}
	json_object_set_new(res->details, "server", json_string(c->where));
	return 0;
}

/* A query that must succeed; else the result is an error.  A permission
 * problem says what to grant. */
static PGresult *query_or_error(struct pgconn *c, const char *sql, struct gate_result *res)
{
	PGresult *r = pgconn_query(c, sql);
	if (r)
		return r;
	if (!strcmp(c->sqlstate, "42501"))
		gate_result_set(res, GATE_ERROR, "%s (the role needs pg_monitor or superuser)", c->err);
	else
		gate_result_set(res, GATE_ERROR, "%s", c->err);
	return NULL;
}

static json_t *json_num_or_null(const char *v)
{
	return v ? json_real(strtod(v, NULL)) : json_null();
}

static json_t *json_int_or_null(const char *v)
{
	return v ? json_integer(strtoll(v, NULL, 10)) : json_null();
}

static json_t *json_str_or_null(const char *v)
{
	return v ? json_string(v) : json_null();
}

static int is_true(const char *v)
{
	return v && v[0] == 't';
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

/* Validate what the parameter table cannot: the conninfo must parse, and
 * counts must be sensible. */
static int validate_conninfo(const json_t *params, const char **param, char *msg, size_t len)
{
	const char *ci = gate_param_str(params, "conninfo");
	if (ci && pgconn_check_conninfo(ci, msg, len) < 0) {
		*param = "conninfo";
		return -1;
	}
	return 0;
}

static int validate_min(const json_t *params, const char *name, int64_t min,
                        const char **param, char *msg, size_t len)
{
	if (gate_param_given(params, name) && gate_param_int(params, name, min) < min) {
		*param = name;
		snprintf(msg, len, "%s must be at least %lld", name, (long long)min);
		return -1;
	}
	return 0;
}

/* ================= postgres.replication ================= */

static const struct gate_param replication_params[] = {
	{"conninfo", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
	 "The primary: " CONNINFO_DOC},
	{"min_streaming", GATE_P_INT, 0, "1", NULL,
	 "Replicas that must pass every condition below."},
	{"standbys", GATE_P_STRING_LIST, 0, NULL, NULL,
	 "application_names that must each be among the passing replicas."},
	{"ignore", GATE_P_STRING_LIST, 0, "[barman_receive_wal, pg_receivewal]", NULL,
	 "application_names that are not replicas (WAL streamers); not judged."},
	{"max_lag_bytes", GATE_P_SIZE, 0, "16MiB", NULL,
	 "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn): how far behind replay is, in bytes."},
	{"max_replay_lag", GATE_P_DURATION, 0, "60s", NULL,
	 "replay_lag; taken as 0 when the replica has replayed everything sent (PostgreSQL sets it NULL on an idle system)."},
	{"max_reply_age", GATE_P_DURATION, 0, "30s", NULL,
	 "now() - reply_time: when the replica last reported."},
	{"min_sync", GATE_P_INT, 0, "0", NULL,
	 "Passing replicas with sync_state sync or quorum."},
	{"samples", GATE_P_INT, 0, "1", NULL,
	 "Take the measurement this many times, sample_interval apart; every sample must pass."},
	{"sample_interval", GATE_P_DURATION, 0, "2s", NULL,
	 "Time between two samples."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static int replication_validate(const json_t *params, const char **param, char *msg, size_t len)
{
	if (validate_conninfo(params, param, msg, len) < 0 ||
	    validate_min(params, "min_streaming", 0, param, msg, len) < 0 ||
	    validate_min(params, "min_sync", 0, param, msg, len) < 0 ||
	    validate_min(params, "samples", 1, param, msg, len) < 0)
		return -1;
	if (gate_param_int(params, "samples", 1) > 1 &&
	    gate_param_int(params, "sample_interval", 2000) <= 0) {
		*param = "sample_interval";
		snprintf(msg, len, "sample_interval must be above 0 when samples > 1");
		return -1;
	}
	return 0;
}

/* One row per walsender.  replay_lag counts as 0 when the walsender has
 * cleared it, which it does only once the standby has replayed all it was
 * sent (replay_lsn = sent_lsn); lag bytes are judged separately. */
static const char replication_sql[] =
	"SELECT application_name, state, sync_state,"
	" pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,"
	" extract(epoch FROM replay_lag)::float8,"
	" (replay_lsn IS NOT NULL AND replay_lsn = sent_lsn),"
	" extract(epoch FROM now() - reply_time)::float8,"
	" pid, client_addr::text, replay_lsn::text, sent_lsn::text"
	" FROM pg_stat_replication ORDER BY application_name, pid";

struct repl_limits {
	int64_t min_streaming, min_sync, max_lag_bytes, max_replay_lag_ms, max_reply_age_ms;
	const json_t *standbys, *ignore;
};

/* Judge one row of pg_stat_replication (replication_sql's columns).  Its
 * problems go into the returned details object's "problems"; *ok says
 * whether it passes every condition. */
static json_t *judge_replica(const PGresult *r, int i, const char *name,
                             const struct repl_limits *L, int *ok)
{
	const char *state = pgconn_val(r, i, 1), *sync = pgconn_val(r, i, 2);
	const char *lag = pgconn_val(r, i, 3), *rlag = pgconn_val(r, i, 4);
	const char *caught = pgconn_val(r, i, 5), *reply = pgconn_val(r, i, 6);
	char b1[32], b2[32];
	struct problems mine;
	problems_init(&mine);

	if (state && strcmp(state, "streaming"))
		problem(&mine, "%s: state %s, not streaming", name, state);
	if (!reply)
		problem(&mine, "%s: no reply from the standby yet", name);
	else if (strtod(reply, NULL) * 1000 > (double)L->max_reply_age_ms)
		problem(&mine, "%s: last reply %s ago (max %s)", name,
		        fmt_secs(b1, sizeof(b1), strtod(reply, NULL)),
		        fmt_secs(b2, sizeof(b2), (double)L->max_reply_age_ms / 1000));
	/* Lag in bytes is the primary measure.  A row that replies but has
	 * no replay position is a WAL streamer, not a replica. */
	if (reply && !lag)
		problem(&mine, "%s: no replay position (a WAL streamer? list it in ignore)", name);
	else if (lag && strtod(lag, NULL) > (double)L->max_lag_bytes)
		problem(&mine, "%s: replay %s behind (max %s)", name,
		        fmt_bytes(b1, sizeof(b1), strtod(lag, NULL)),
		        fmt_bytes(b2, sizeof(b2), (double)L->max_lag_bytes));
	/* replay_lag NULL with everything sent replayed is an idle system: 0.
	 * NULL while replay is behind what was sent is not knowing. */
	double replay_lag_s = rlag ? strtod(rlag, NULL) : 0;
	if (!rlag && reply && lag && !is_true(caught))
		problem(&mine, "%s: replay_lag unknown and replay behind what was sent", name);
	else if (replay_lag_s * 1000 > (double)L->max_replay_lag_ms)
		problem(&mine, "%s: replay lag %s (max %s)", name,
		        fmt_secs(b1, sizeof(b1), replay_lag_s),
		        fmt_secs(b2, sizeof(b2), (double)L->max_replay_lag_ms / 1000));

	*ok = mine.n == 0 && state;
	return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o}",
	                 "application_name", name,
	                 "state", json_str_or_null(state),
	                 "sync_state", json_str_or_null(sync),
	                 "lag_bytes", json_int_or_null(lag),
	                 "replay_lag_s", rlag ? json_real(replay_lag_s)
	                                      : (is_true(caught) ? json_real(0) : json_null()),
	                 "reply_age_s", json_num_or_null(reply),
	                 "pass", *ok,
	                 "problems", mine.list,
	                 "client_addr", json_str_or_null(pgconn_val(r, i, 8)));
}

static int is_sync(const json_t *row)
{
	const char *s = json_string_value(json_object_get(row, "sync_state"));
	return s && (!strcmp(s, "sync") || !strcmp(s, "quorum"));
}

/* Why the sample fails, from the judged rows: names in `standbys` first,
 * then the counts.  Empty `why` means it passes. */
static void replication_verdict(struct pgconn *c, const struct repl_limits *L,
                                const json_t *replicas, int64_t npass, int64_t nsync,
                                struct problems *why)
{
	size_t k, j;
	json_t *v, *row;
	json_array_foreach(L->standbys, k, v) {
		const char *want = json_string_value(v);
		int present = 0, passes = 0;
		json_array_foreach(replicas, j, row)
			if (!strcmp(json_string_value(json_object_get(row, "application_name")), want)) {
				present = 1;
				passes |= json_is_true(json_object_get(row, "pass"));
			}
		if (passes)
			continue;
		if (!present) {
			problem(why, "%s: not streaming (no row in pg_stat_replication)", want);
			continue;
		}
		json_array_foreach(replicas, j, row)
			if (!strcmp(json_string_value(json_object_get(row, "application_name")), want)) {
				size_t m;
				json_t *p;
				json_array_foreach(json_object_get(row, "problems"), m, p)
					problem(why, "%s", json_string_value(p));
			}
	}
	if (npass < L->min_streaming) {
		/* "1 of 2 required replicas pass: <why each other one does not>" */
		struct problems all;
		problems_init(&all);
		json_array_foreach(why->list, k, v)
			problem(&all, "%s", json_string_value(v));
		json_array_foreach(replicas, j, row) {
			size_t m;
			json_t *p;
			json_array_foreach(json_object_get(row, "problems"), m, p)
				if (!in_list(all.list, json_string_value(p)))
					problem(&all, "%s", json_string_value(p));
		}
		if (json_array_size(replicas) == 0 && all.n == 0)
			problem(&all, "no replica connected (pg_stat_replication is empty)");
		/* Without `standbys` gate cannot name who is missing; the
		 * inactive physical slots usually do. */
		PGresult *sl = pgconn_query(c, "SELECT string_agg(slot_name, ', ' ORDER BY slot_name)"
		                               " FROM pg_replication_slots"
		                               " WHERE slot_type = 'physical' AND NOT active");
		const char *inactive = sl ? pgconn_val(sl, 0, 0) : NULL;
		if (inactive)
			problem(&all, "inactive slots: %s", inactive);
		PQclear(sl);
		char lead[GATE_SUMMARY_MAX];
		setf(lead, sizeof(lead), "%lld of %lld required replicas pass%s%s",
		     (long long)npass, (long long)L->min_streaming, all.n ? ": " : "", all.text);
		json_decref(why->list);
		json_decref(all.list);
		problems_init(why);
		problem(why, "%s", lead);
	}
	if (nsync < L->min_sync)
		problem(why, "%lld of %lld required synchronous replicas (sync_state sync or quorum) pass",
		        (long long)nsync, (long long)L->min_sync);
}

/* Judge one sample.  Returns GATE_PASS/GATE_FAIL/GATE_ERROR with the
 * summary set; fills `details`. */
static enum gate_status replication_sample(struct pgconn *c, const struct repl_limits *L,
                                           json_t *details, char *summary, size_t slen)
{
	PGresult *r = pgconn_query(c, "SELECT pg_is_in_recovery()");
	if (!r) {
		setf(summary, slen, "%s", c->err);
		return GATE_ERROR;
	}
	int recovery = is_true(pgconn_val(r, 0, 0));
	PQclear(r);
	json_object_set_new(details, "in_recovery", json_boolean(recovery));
	if (recovery) {
		setf(summary, slen, "%s: in recovery (a standby), not a primary", c->where);
		return GATE_FAIL;
	}
	if (!(r = pgconn_query(c, replication_sql))) {
		setf(summary, slen, "%s", c->err);
		return GATE_ERROR;
	}

	json_t *replicas = json_array(), *ignored = json_array(), *failing = json_array();
	int64_t npass = 0, nsync = 0;
	int unreadable = 0;
	double worst_lag = 0;
	char name[96], b1[32];
	for (int i = 0; i < PQntuples(r); i++) {
		const char *app = pgconn_val(r, i, 0), *pid = pgconn_val(r, i, 7);
		const char *lag = pgconn_val(r, i, 3);
		if (app && *app)
			snprintf(name, sizeof(name), "%s", app);
		else
			snprintf(name, sizeof(name), "pid %s", pid ? pid : "?");
		if (in_list(L->ignore, app)) {
			json_array_append_new(ignored, json_string(name));
			continue;
		}
		/* Without pg_read_all_stats the row is there but every column
		 * but pid is NULL: that is not knowing, never a pass. */
		if (!pgconn_val(r, i, 1))
			unreadable = 1;
		int ok;
		json_t *row = judge_replica(r, i, name, L, &ok);
		if (ok) {
			npass++;
			nsync += is_sync(row);
		} else {
			json_array_extend(failing, json_object_get(row, "problems"));
		}
		if (lag && strtod(lag, NULL) > worst_lag)
			worst_lag = strtod(lag, NULL);
		json_array_append_new(replicas, row);
	}
	PQclear(r);

	struct problems why;
	problems_init(&why);
	replication_verdict(c, L, replicas, npass, nsync, &why);
	json_t *missing = json_array();
	size_t k;
	json_t *v;
	json_array_foreach(L->standbys, k, v) {
		size_t j;
		json_t *row;
		int passes = 0;
		json_array_foreach(replicas, j, row)
			if (!strcmp(json_string_value(json_object_get(row, "application_name")),
			            json_string_value(v)))
				passes |= json_is_true(json_object_get(row, "pass"));
		if (!passes)
			json_array_append(missing, v);
	}
	json_object_set_new(details, "replicas", replicas);
	json_object_set_new(details, "passing", json_integer(npass));
	json_object_set_new(details, "streaming", json_integer(npass));
	json_object_set_new(details, "sync", json_integer(nsync));
	json_object_set_new(details, "ignored", ignored);
	json_object_set_new(details, "missing", missing);
	json_object_set_new(details, "problems", failing);

	enum gate_status st = GATE_PASS;
	if (unreadable) {
		setf(summary, slen, "%s: cannot read pg_stat_replication (the role needs pg_monitor or superuser)",
		     c->where);
		st = GATE_ERROR;
	} else if (why.n) {
		setf(summary, slen, "%s", why.text);
		st = GATE_FAIL;
	} else {
		struct problems others; /* replicas beyond what is required that fail */
		problems_init(&others);
		json_array_foreach(failing, k, v)
			problem(&others, "%s", json_string_value(v));
		setf(summary, slen, "%lld of %zu replicas pass (min %lld), replay at most %s behind%s%s",
		     (long long)npass, json_array_size(replicas), (long long)L->min_streaming,
		     fmt_bytes(b1, sizeof(b1), worst_lag), others.n ? "; not passing: " : "",
		     others.text);
		json_decref(others.list);
	}
	json_decref(why.list);
	return st;
}

static void replication_run(const json_t *params, const struct gate_run_env *env,
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
	json_t *dflt_ignore = NULL;
	if (!L.ignore) /* the runbook loader fills defaults; gate-runcheck does not */
		L.ignore = dflt_ignore = json_pack("[ss]", "barman_receive_wal", "pg_receivewal");
	int64_t samples = gate_param_int(params, "samples", 1);
	int64_t interval = gate_param_int(params, "sample_interval", 2000);
	if (samples < 1)
		samples = 1;
	int64_t deadline = own_deadline(env);
	/* Divided, not multiplied: samples has no upper bound of its own,
	 * and samples x interval could overflow. */
	int64_t left = deadline - pgconn_mono_ms();
	if (interval < 0)
		interval = 0;
	if (samples > 1 && (left <= 0 || (interval > 0 && samples - 1 >= left / interval +
	                                                           (left % interval != 0)))) {
		gate_result_set(res, GATE_ERROR,
		                "%lld samples %lld ms apart do not fit in the check's %lld ms timeout",
		                (long long)samples, (long long)interval, (long long)env->timeout_ms);
		json_decref(dflt_ignore);
		return;
	}
	struct pgconn c;
	if (connect_or_error(&c, params, env, res) < 0) {
		pgconn_close(&c);
		json_decref(dflt_ignore);
		return;
	}
	int64_t next = pgconn_mono_ms();
	for (int64_t s = 1; s <= samples; s++) {
		if (s > 1 && pgconn_sleep_until(next, deadline) < 0) {
			gate_result_set(res, GATE_ERROR, "ran out of time before sample %lld of %lld",
			                (long long)s, (long long)samples);
			break;
		}
		next = pgconn_mono_ms() + interval;
		char summary[GATE_SUMMARY_MAX];
		json_t *d = json_object();
		enum gate_status st = replication_sample(&c, &L, d, summary, sizeof(summary));
		json_object_update(res->details, d);
		json_decref(d);
		json_object_set_new(res->details, "samples_taken", json_integer(s));
		if (st != GATE_PASS || s == samples) {
			if (samples > 1 && st != GATE_PASS)
				gate_result_set(res, st, "sample %lld of %lld: %s", (long long)s,
				                (long long)samples, summary);
			else
				gate_result_set(res, st, "%s", summary);
			break;
		}
	}
	pgconn_redact(&c, res->summary, sizeof(res->summary));
	pgconn_close(&c);
	json_decref(dflt_ignore);
}

/* ================= postgres.replica ================= */

static const struct gate_param replica_params[] = {
	{"conninfo", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
	 "The standby: " CONNINFO_DOC},
	{"max_receive_age", GATE_P_DURATION, 0, "60s", NULL,
	 "now() - pg_stat_wal_receiver.last_msg_receipt_time; no receiver row, or a status other than streaming, fails. An idle link reaches wal_receiver_timeout/2 (30 s) before a keepalive."},
	{"max_replay_bytes", GATE_P_SIZE, 0, "16MiB", NULL,
	 "pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()): WAL received but not yet replayed."},
	{"allow_paused", GATE_P_BOOL, 0, "false", NULL,
	 "Replay paused (pg_get_wal_replay_pause_state()) fails unless true."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static const char replica_sql[] =
	"SELECT current_setting('cluster_name'),"
	" pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text,"
	" pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint,"
	" pg_get_wal_replay_pause_state(),"
	" extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,"
	" w.pid, w.status, extract(epoch FROM now() - w.last_msg_receipt_time)::float8,"
	" w.sender_host, w.sender_port, w.slot_name"
	" FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS w ON true";

static void replica_run(const json_t *params, const struct gate_run_env *env,
                        struct gate_result *res)
{
	int64_t max_age = gate_param_int(params, "max_receive_age", 60000);
	int64_t max_bytes = gate_param_int(params, "max_replay_bytes", 16 << 20);
	int allow_paused = gate_param_bool(params, "allow_paused", 0);
	struct pgconn c;
	PGresult *r = NULL;
	if (connect_or_error(&c, params, env, res) < 0)
		goto out;
	if (!(r = query_or_error(&c, "SELECT pg_is_in_recovery(), current_setting('cluster_name')", res)))
		goto out;
	const char *cn = pgconn_val(r, 0, 1);
	char name[128];
	snprintf(name, sizeof(name), "%s", cn && *cn ? cn : c.where);
	json_object_set_new(res->details, "name", json_string(name));
	if (!is_true(pgconn_val(r, 0, 0))) {
		json_object_set_new(res->details, "in_recovery", json_false());
		gate_result_set(res, GATE_FAIL, "%s: not a standby (pg_is_in_recovery() is false)", name);
		goto out;
	}
	json_object_set_new(res->details, "in_recovery", json_true());
	PQclear(r);
	if (!(r = query_or_error(&c, replica_sql, res)))
		goto out;

	const char *recv = pgconn_val(r, 0, 1), *replay = pgconn_val(r, 0, 2);
	const char *gap = pgconn_val(r, 0, 3), *pause = pgconn_val(r, 0, 4);
	const char *xact_age = pgconn_val(r, 0, 5), *wpid = pgconn_val(r, 0, 6);
	const char *wstatus = pgconn_val(r, 0, 7), *age = pgconn_val(r, 0, 8);
	const char *shost = pgconn_val(r, 0, 9), *sport = pgconn_val(r, 0, 10);
	json_object_set_new(res->details, "receive_lsn", json_str_or_null(recv));
	json_object_set_new(res->details, "replay_lsn", json_str_or_null(replay));
	json_object_set_new(res->details, "replay_bytes", json_int_or_null(gap));
	json_object_set_new(res->details, "pause_state", json_str_or_null(pause));
	json_object_set_new(res->details, "receiver_status", json_str_or_null(wstatus));
	json_object_set_new(res->details, "receive_age_s", json_num_or_null(age));
	json_object_set_new(res->details, "slot_name", json_str_or_null(pgconn_val(r, 0, 11)));
	if (shost) {
		char sender[160];
		snprintf(sender, sizeof(sender), "%s:%s", shost, sport ? sport : "?");
		json_object_set_new(res->details, "sender", json_string(sender));
	}
	/* shown, never judged: it grows on an idle, caught-up replica */
	json_object_set_new(res->details, "last_xact_replay_age_s", json_num_or_null(xact_age));

	if (wpid && !wstatus) {
		gate_result_set(res, GATE_ERROR,
		                "%s: cannot read pg_stat_wal_receiver (the role needs pg_monitor or superuser)", name);
		goto out;
	}
	struct problems why;
	problems_init(&why);
	char b1[32], b2[32];
	if (!wpid)
		problem(&why, "%s: not streaming (no WAL receiver: pg_stat_wal_receiver is empty)", name);
	else if (strcmp(wstatus, "streaming"))
		problem(&why, "%s: WAL receiver is %s, not streaming", name, wstatus);
	else if (!age)
		problem(&why, "%s: no message from the primary yet", name);
	else if (strtod(age, NULL) * 1000 > (double)max_age)
		problem(&why, "%s: last message from the primary %s ago (max %s)", name,
		        fmt_secs(b1, sizeof(b1), strtod(age, NULL)),
		        fmt_secs(b2, sizeof(b2), (double)max_age / 1000));
	if (pause && strcmp(pause, "not paused") && !allow_paused)
		problem(&why, "%s: replay %s (pg_get_wal_replay_pause_state())", name,
		        !strcmp(pause, "paused") ? "paused" : "pause requested");
	if (!gap)
		problem(&why, "%s: no WAL received by streaming (receive LSN unknown)", name);
	else if (strtod(gap, NULL) > (double)max_bytes)
		problem(&why, "%s: replay %s behind receive (max %s)", name,
		        fmt_bytes(b1, sizeof(b1), strtod(gap, NULL)),
		        fmt_bytes(b2, sizeof(b2), (double)max_bytes));
	json_object_set_new(res->details, "problems", why.list);
	if (why.n)
		gate_result_set(res, GATE_FAIL, "%s", why.text);
	else
		gate_result_set(res, GATE_PASS, "%s: streaming from %s:%s, last message %s ago, replay %s behind receive",
		                name, shost ? shost : "?", sport ? sport : "?",
		                fmt_secs(b1, sizeof(b1), strtod(age, NULL)),
		                fmt_bytes(b2, sizeof(b2), strtod(gap, NULL)));
out:
	PQclear(r);
	pgconn_redact(&c, res->summary, sizeof(res->summary));
	pgconn_close(&c);
}

/* ================= postgres.archiver ================= */

static const struct gate_param archiver_params[] = {
	{"conninfo", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
	 "The primary: " CONNINFO_DOC},
	{"max_ready", GATE_P_INT, 0, "10", NULL,
	 "WAL segments waiting to be archived (.ready files, from pg_ls_archive_statusdir(); needs pg_monitor or superuser)."},
	{"max_ready_age", GATE_P_DURATION, 0, "15m", NULL,
	 "Age of the oldest waiting .ready file (its modification time): the archiver is behind by that much."},
	{"max_age", GATE_P_DURATION, 0, NULL, NULL,
	 "When set, now() - last_archived_time must be under it (for systems with archive_timeout)."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static int archiver_validate(const json_t *params, const char **param, char *msg, size_t len)
{
	if (validate_conninfo(params, param, msg, len) < 0 ||
	    validate_min(params, "max_ready", 0, param, msg, len) < 0)
		return -1;
	return 0;
}

/* archive_command's value is never read (it may hold credentials); only
 * whether it is empty. */
static const char archiver_sql[] =
	"SELECT current_setting('archive_mode'), pg_is_in_recovery(),"
	" (SELECT setting <> '' FROM pg_settings WHERE name = 'archive_command'),"
	" (SELECT setting <> '' FROM pg_settings WHERE name = 'archive_library'),"
	" a.archived_count, a.last_archived_wal,"
	" extract(epoch FROM now() - a.last_archived_time)::float8,"
	" a.failed_count, a.last_failed_wal,"
	" extract(epoch FROM now() - a.last_failed_time)::float8,"
	" a.last_failed_time > coalesce(a.last_archived_time, '-infinity'),"
	" a.last_archived_time::text, a.last_failed_time::text"
	" FROM pg_stat_archiver AS a";

static const char archiver_ready_sql[] =
	"SELECT count(*), extract(epoch FROM now() - min(modification))::float8"
	" FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'";

static void archiver_run(const json_t *params, const struct gate_run_env *env,
                         struct gate_result *res)
{
	int64_t max_ready = gate_param_int(params, "max_ready", 10);
	int64_t max_ready_age = gate_param_int(params, "max_ready_age", 900000);
	int have_max_age = gate_param_given(params, "max_age");
	int64_t max_age = gate_param_int(params, "max_age", 0);
	struct pgconn c;
	PGresult *r = NULL;
	struct problems why;
	problems_init(&why);
	char b1[32], b2[32];
	if (connect_or_error(&c, params, env, res) < 0)
		goto out;
	if (!(r = query_or_error(&c, archiver_sql, res)))
		goto out;
	const char *mode = pgconn_val(r, 0, 0);
	int recovery = is_true(pgconn_val(r, 0, 1));
	const char *has_cmd = pgconn_val(r, 0, 2), *has_lib = pgconn_val(r, 0, 3);
	const char *count = pgconn_val(r, 0, 4), *last_wal = pgconn_val(r, 0, 5);
	const char *last_age = pgconn_val(r, 0, 6), *failed_wal = pgconn_val(r, 0, 8);
	const char *failed_age = pgconn_val(r, 0, 9), *failing = pgconn_val(r, 0, 10);
	json_object_set_new(res->details, "archive_mode", json_str_or_null(mode));
	json_object_set_new(res->details, "in_recovery", json_boolean(recovery));
	json_object_set_new(res->details, "archived_count", json_int_or_null(count));
	json_object_set_new(res->details, "last_archived_wal", json_str_or_null(last_wal));
	json_object_set_new(res->details, "last_archived_time", json_str_or_null(pgconn_val(r, 0, 11)));
	json_object_set_new(res->details, "last_archived_age_s", json_num_or_null(last_age));
	json_object_set_new(res->details, "failed_count", json_int_or_null(pgconn_val(r, 0, 7)));
	json_object_set_new(res->details, "last_failed_wal", json_str_or_null(failed_wal));
	json_object_set_new(res->details, "last_failed_time", json_str_or_null(pgconn_val(r, 0, 12)));

	if (!mode || !strcmp(mode, "off"))
		problem(&why, "archiving is off (archive_mode = off)");
	else if (recovery && strcmp(mode, "always"))
		problem(&why, "a standby does not archive with archive_mode = %s", mode);
	else if (has_cmd && has_lib && !is_true(has_cmd) && !is_true(has_lib))
		problem(&why, "archive_command and archive_library are both empty: nothing is archived");
	if (!last_wal)
		problem(&why, "nothing has ever been archived");
	if (is_true(failing)) {
		char last[128] = "";
		if (last_wal)
			setf(last, sizeof(last), " (%s)", last_wal);
		problem(&why, "archiving fails: %s failed %s ago, after the last success%s",
		        failed_wal ? failed_wal : "a segment",
		        fmt_secs(b1, sizeof(b1), failed_age ? strtod(failed_age, NULL) : 0), last);
	}
	if (have_max_age && last_age && strtod(last_age, NULL) * 1000 > (double)max_age)
		problem(&why, "last WAL archived %s ago (max %s)",
		        fmt_secs(b1, sizeof(b1), strtod(last_age, NULL)),
		        fmt_secs(b2, sizeof(b2), (double)max_age / 1000));
	/* the pass summary below names the last segment: kept past PQclear */
	char last_wal_kept[64];
	double last_age_s = last_age ? strtod(last_age, NULL) : 0;
	setf(last_wal_kept, sizeof(last_wal_kept), "%s", last_wal ? last_wal : "");
	PQclear(r);
	r = NULL;

	if (!(r = query_or_error(&c, archiver_ready_sql, res)))
		goto out;
	const char *nready = pgconn_val(r, 0, 0), *ready_age = pgconn_val(r, 0, 1);
	json_object_set_new(res->details, "ready", json_int_or_null(nready));
	json_object_set_new(res->details, "oldest_ready_age_s", json_num_or_null(ready_age));
	if (nready && strtoll(nready, NULL, 10) > max_ready)
		problem(&why, "%s WAL segment%s waiting to be archived (max %lld)",
		        nready, strcmp(nready, "1") ? "s" : "", (long long)max_ready);
	if (ready_age && strtod(ready_age, NULL) * 1000 > (double)max_ready_age)
		problem(&why, "oldest WAL segment waiting to be archived is %s old (max %s)",
		        fmt_secs(b1, sizeof(b1), strtod(ready_age, NULL)),
		        fmt_secs(b2, sizeof(b2), (double)max_ready_age / 1000));
	if (why.n)
		gate_result_set(res, GATE_FAIL, "%s: %s", c.where, why.text);
	else
		gate_result_set(res, GATE_PASS, "%s: archiving works: last %s %s ago, %s waiting",
		                c.where, last_wal_kept, fmt_secs(b1, sizeof(b1), last_age_s),
		                nready ? nready : "0");
out:
	json_object_set_new(res->details, "problems", why.list);
	PQclear(r);
	pgconn_redact(&c, res->summary, sizeof(res->summary));
	pgconn_close(&c);
}

/* ================= postgres.slots ================= */

static const struct gate_param slots_params[] = {
	{"conninfo", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
	 "The primary: " CONNINFO_DOC},
	{"slots", GATE_P_STRING_LIST, 0, NULL, NULL,
	 "Slot names that must exist (and are judged); by default every physical slot is judged, and there must be one."},
	{"require_active", GATE_P_BOOL, 0, "true", NULL,
	 "Each judged slot must be in use (active)."},
	{"min_safe_wal_size", GATE_P_SIZE, 0, "1GiB", NULL,
	 "When safe_wal_size is not NULL (max_slot_wal_keep_size is set): WAL that may still be written before the slot is lost."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static const char slots_sql[] =
	"SELECT slot_name, slot_type, active, wal_status, safe_wal_size,"
	" pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
	"                 ELSE pg_current_wal_lsn() END, restart_lsn)::bigint,"
	" active_pid"
	" FROM pg_replication_slots ORDER BY slot_name";

static void slots_run(const json_t *params, const struct gate_run_env *env,
                      struct gate_result *res)
{
	const json_t *want = json_object_get(params, "slots");
	int require_active = gate_param_bool(params, "require_active", 1);
	int64_t min_safe = gate_param_int(params, "min_safe_wal_size", (int64_t)1 << 30);
	struct pgconn c;
	PGresult *r = NULL;
	struct problems why;
	problems_init(&why);
	json_t *list = json_array();
	char b1[32], b2[32];
	if (connect_or_error(&c, params, env, res) < 0)
		goto out;
	if (!(r = query_or_error(&c, slots_sql, res)))
		goto out;
	int judged = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = pgconn_val(r, i, 0), *type = pgconn_val(r, i, 1);
		const char *active = pgconn_val(r, i, 2), *wal = pgconn_val(r, i, 3);
		const char *safe = pgconn_val(r, i, 4), *retained = pgconn_val(r, i, 5);
		int judge = want ? in_list(want, name) : (type && !strcmp(type, "physical"));
		json_array_append_new(list, json_pack("{s:s?,s:s?,s:b,s:o,s:o,s:o,s:b}",
		                                      "slot_name", name, "slot_type", type,
		                                      "active", is_true(active),
		                                      "wal_status", json_str_or_null(wal),
		                                      "safe_wal_size", json_int_or_null(safe),
		                                      "retained_bytes", json_int_or_null(retained),
		                                      "judged", judge));
		if (!judge)
			continue;
		judged++;
		if (require_active && !is_true(active))
			problem(&why, "slot %s is inactive%s%s%s", name,
			        retained ? " (retaining " : "",
			        retained ? fmt_bytes(b1, sizeof(b1), strtod(retained, NULL)) : "",
			        retained ? ")" : "");
		if (!wal)
			problem(&why, "slot %s has never reserved WAL (wal_status NULL)", name);
		else if (!strcmp(wal, "lost") || !strcmp(wal, "unreserved"))
			problem(&why, "slot %s: wal_status %s (the WAL it needs is %s)", name, wal,
			        !strcmp(wal, "lost") ? "gone" : "about to be removed");
		if (safe && strtod(safe, NULL) < (double)min_safe)
			problem(&why, "slot %s: %s of WAL left before it is lost (min %s)", name,
			        fmt_bytes(b1, sizeof(b1), strtod(safe, NULL)),
			        fmt_bytes(b2, sizeof(b2), (double)min_safe));
	}
	size_t k;
	json_t *v;
	json_array_foreach(want, k, v) {
		int found = 0;
		for (int i = 0; i < PQntuples(r); i++)
			if (!strcmp(PQgetvalue(r, i, 0), json_string_value(v)))
				found = 1;
		if (!found)
			problem(&why, "slot %s does not exist", json_string_value(v));
	}
	if (!want && judged == 0)
		problem(&why, "%s: no physical replication slots", c.where);
	if (why.n)
		gate_result_set(res, GATE_FAIL, "%s", why.text);
	else
		gate_result_set(res, GATE_PASS, "%d slot%s %s, WAL reserved", judged,
		                judged == 1 ? "" : "s", require_active ? "active" : "present");
out:
	json_object_set_new(res->details, "slots", list);
	json_object_set_new(res->details, "problems", why.list);
	PQclear(r);
	pgconn_redact(&c, res->summary, sizeof(res->summary));
	pgconn_close(&c);
}

/* ================= the module ================= */

static const struct gate_check_type postgres_types[] = {
	{"postgres.replication",
	 "replicas of a primary stream and keep up (pg_stat_replication)",
	 "Run against the primary. Each replica in pg_stat_replication (WAL streamers in `ignore` aside) passes when its state is streaming, its replay is at most max_lag_bytes and max_replay_lag behind and it replied within max_reply_age. Fails when fewer than min_streaming replicas (or min_sync synchronous ones) pass, when a name in `standbys` is not among them, or when the server is in recovery.",
	 replication_params, replication_validate, replication_run},
	{"postgres.replica",
	 "a standby streams from its primary and replays (pg_stat_wal_receiver)",
	 "Run against a standby. Passes when it is in recovery, its WAL receiver is streaming and heard from the primary within max_receive_age, replay is not paused and at most max_replay_bytes behind what was received. A standby without a WAL receiver is not streaming, whatever its LSNs say.",
	 replica_params, validate_conninfo, replica_run},
	{"postgres.archiver",
	 "WAL archiving works and keeps up (pg_stat_archiver, archive_status)",
	 "Run against the primary. Fails when archive_mode is off, nothing was ever archived, the last failure is later than the last success (failed_count never resets and is not judged), or too many or too old .ready files wait.",
	 archiver_params, archiver_validate, archiver_run},
	{"postgres.slots",
	 "replication slots exist, are active and keep their WAL (pg_replication_slots)",
	 "Run against the primary. Each judged slot must exist, be active (require_active), have wal_status reserved or extended, and, when max_slot_wal_keep_size applies, at least min_safe_wal_size of safe_wal_size.",
	 slots_params, validate_conninfo, slots_run},
};

const struct gate_module gate_builtin_postgres = {
	GATE_ABI_VERSION, "postgres", "1.0.0", postgres_types,
	sizeof(postgres_types) / sizeof(postgres_types[0]),
};
