/* SPDX-License-Identifier: MIT */
/* The postgres lock kind, `{postgres: CONNINFO, key: NAME}` (gate/hold.h,
 * doc/runbook.md): a PostgreSQL advisory lock on a session kept open for
 * the command's whole run.
 *
 *  - take: connect (checks/lib/pgconn: every wait bounded by the
 *    deadline), then in one statement set the session's application_name
 *    to the holder text (lock_postgres_judge.h: "gate: RUNBOOK by
 *    USER@HOST pid PID since TIME", fitted to 63 bytes) and try
 *    pg_try_advisory_lock on the key's id.  Taken: the session stays open
 *    until release.  Not taken: the holders are read from pg_locks and
 *    pg_stat_activity on the same session, which is then closed.
 *  - The session also sets, for itself, idle_session_timeout to 0 (a
 *    server-wide idle limit must not end it) and the server's TCP
 *    keepalives to 10 s + 3 x 5 s, so that a holder whose host vanished
 *    (power cut, network gone) frees the lock in about 25 s, not after the
 *    kernel's two hours (doc/facts.md).
 *  - probe reads pg_locks and takes nothing: even a lock taken and let go
 *    at once could make a concurrent take see it busy.
 *  - keepalive (every 5 s): the session must still answer `SELECT 1`
 *    within 4 s; a session that ended (server restart, terminated
 *    backend, network) took the lock with it: reported lost.
 *  - release: pg_advisory_unlock, then close (closing alone frees it).
 *  - No force_release: the server frees the lock when its session ends.
 * Every message is redacted (pgconn keeps the conninfo's password out). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/hold.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "lib/pgconn.h"
#include "lock_postgres_judge.h"

#define KEEPALIVE_MS 5000
#define KEEPALIVE_ANSWER_MS 4000
#define RELEASE_MS 5000

struct pglock {
	struct pgconn c;
	int64_t id;
	char *key;
};

static const char *param(const json_t *params, const char *name)
{
	const char *s = json_string_value(json_object_get(params, name));
	return s ? s : "";
}

static json_t *base_details(const json_t *params, int64_t id, const struct pgconn *c)
{
	uint32_t classid, objid;
	pglock_key_parts(id, &classid, &objid);
	char idtext[24];
	snprintf(idtext, sizeof(idtext), "%" PRId64, id);
	return json_pack("{s:s, s:s, s:s, s:I, s:I}", "server", c->where, "key",
	                 param(params, "key"), "lock_id", idtext, "classid", (json_int_t)classid,
	                 "objid", (json_int_t)objid);
}

static void set_error(struct hold_result *res, const char *what, const char *key,
                      const struct pgconn *c)
{
	res->state = HOLD_ERROR;
	res->message = xasprintf("%s advisory lock '%s': %s", what, key,
	                         c->err[0] ? c->err : "unknown error");
}

/* Read who holds the lock (on an open session) into res. */
static void read_holders(struct pgconn *c, const char *key, int64_t id, int taking,
                         struct hold_result *res)
{
	char *sql = pglock_holders_sql(id);
	PGresult *r = pgconn_query(c, sql);
	free(sql);
	if (!r) {
		if (taking) { /* pg_try_advisory_lock said it is taken */
			res->state = HOLD_BUSY;
			res->holder = xasprintf("an unknown holder (%s)", c->err);
		} else {
			set_error(res, "cannot probe", key, c);
		}
		return;
	}
	char *holder, *message;
	json_t *rows;
	res->state = pglock_judge_holders(pgconn_val(r, 0, 0), &holder, &message, &rows);
	PQclear(r);
	res->holder = holder;
	if (message) {
		res->message = xasprintf("cannot tell who holds advisory lock '%s': %s", key,
		                         message);
		free(message);
	}
	if (rows)
		json_object_set_new(res->details, "holders", rows);
	if (taking && res->state == HOLD_TAKEN) {
		/* let go between the try and the look: still not ours */
		res->state = HOLD_BUSY;
		res->holder = xstrdup("a holder that let go just now");
	}
	if (res->state == HOLD_ERROR && taking) {
		res->state = HOLD_BUSY;
		res->holder = xstrdup("an unknown holder");
	}
}

/* The statement that names the session, keeps it alive and tries. */
static char *take_sql(struct pgconn *c, const struct hold_who *who, int64_t id)
{
	char *app = pglock_appname(who);
	char *lit = PQescapeLiteral(c->conn, app, strlen(app));
	free(app);
	if (!lit)
		return NULL;
	char *sql = xasprintf("SELECT set_config('application_name', %s, false),"
	                      " set_config('tcp_keepalives_idle', '10', false),"
	                      " set_config('tcp_keepalives_interval', '5', false),"
	                      " set_config('tcp_keepalives_count', '3', false),%s"
	                      " pg_try_advisory_lock(%" PRId64 "), pg_backend_pid(),"
	                      " current_database(), pg_is_in_recovery()",
	                      lit,
	                      PQserverVersion(c->conn) >= 140000
	                              ? " set_config('idle_session_timeout', '0', false),"
	                              : "",
	                      id);
	PQfreemem(lit);
	return sql;
}

static void note_taken(struct hold_result *res, const char *key, int64_t id, const struct pgconn *c,
                       const PGresult *r, int ncol)
{
	const char *pid = pgconn_val(r, 0, ncol - 3), *db = pgconn_val(r, 0, ncol - 2);
	res->state = HOLD_TAKEN;
	res->message = xasprintf("advisory lock '%s' (id %" PRId64 ") on %s, database %s, "
	                         "server session pid %s",
	                         key, id, c->where, db ? db : "?", pid ? pid : "?");
	json_object_set_new(res->details, "database", json_string(db ? db : ""));
	json_object_set_new(res->details, "session_pid", json_integer(pid ? atol(pid) : 0));
	json_object_set_new(res->details, "standby", json_false());
}

static int in_recovery(const PGresult *r, int ncol)
{
	const char *v = pgconn_val(r, 0, ncol - 1);
	return !v || strcmp(v, "f") != 0; /* unknown counts as a standby */
}

/* Advisory locks are never WAL-logged: one taken on a standby excludes
 * nobody on the primary or on another standby, so two gates of one
 * cluster pointed at different servers would both hold "the" lock.  The
 * lock is let go at once and the take is an error (it blocks). */
static void refuse_standby(struct hold_result *res, const char *key, struct pglock *h)
{
	char *sql = xasprintf("SELECT pg_advisory_unlock(%" PRId64 ")", h->id);
	PQclear(pgconn_query(&h->c, sql));
	free(sql);
	res->state = HOLD_ERROR;
	res->message = xasprintf("cannot take advisory lock '%s' on %s: the server is a standby "
	                         "(in recovery); a lock there excludes no gate that uses the "
	                         "primary: point the lock at the primary",
	                         key, h->c.where);
	json_object_set_new(res->details, "standby", json_true());
}

static void pg_take(const json_t *params, const struct hold_who *who, int64_t deadline_ms,
                    void **handle, struct hold_result *res)
{
	const char *key = param(params, "key");
	struct pglock *h = xcalloc(1, sizeof(*h));
	*handle = NULL;
	if (pglock_key_id(key, &h->id) < 0) {
		res->state = HOLD_ERROR;
		res->message = xasprintf("cannot take advisory lock '%s': no SHA-256", key);
		free(h);
		return;
	}
	int ok = pgconn_open(&h->c, param(params, "postgres"), deadline_ms) == 0;
	res->details = base_details(params, h->id, &h->c);
	char *sql = ok ? take_sql(&h->c, who, h->id) : NULL;
	PGresult *r = sql ? pgconn_query(&h->c, sql) : NULL;
	free(sql);
	int ncol = r ? PQnfields(r) : 0;
	const char *got = ncol >= 4 ? pgconn_val(r, 0, ncol - 4) : NULL;
	if (!got) {
		set_error(res, "cannot take", key, &h->c);
	} else if (!strcmp(got, "t") && in_recovery(r, ncol)) {
		refuse_standby(res, key, h);
	} else if (!strcmp(got, "t")) {
		note_taken(res, key, h->id, &h->c, r, ncol);
		h->key = xstrdup(key);
		*handle = h;
	} else {
		read_holders(&h->c, key, h->id, 1, res);
	}
	PQclear(r);
	if (!*handle) {
		pgconn_close(&h->c);
		free(h);
	}
}

static void pg_probe(const json_t *params, int64_t deadline_ms, struct hold_result *res)
{
	const char *key = param(params, "key");
	int64_t id;
	struct pgconn c;
	if (pglock_key_id(key, &id) < 0) {
		res->state = HOLD_ERROR;
		res->message = xasprintf("cannot probe advisory lock '%s': no SHA-256", key);
		return;
	}
	int ok = pgconn_open(&c, param(params, "postgres"), deadline_ms) == 0;
	res->details = base_details(params, id, &c);
	PGresult *r = ok ? pgconn_query(&c, "SELECT pg_is_in_recovery()") : NULL;
	const char *rec = r ? pgconn_val(r, 0, 0) : NULL;
	if (!rec) {
		set_error(res, "cannot probe", key, &c);
	} else if (strcmp(rec, "f") != 0) {
		res->state = HOLD_ERROR;
		res->message = xasprintf("cannot probe advisory lock '%s' on %s: the server is a "
		                         "standby (in recovery); the lock is taken on the primary",
		                         key, c.where);
		json_object_set_new(res->details, "standby", json_true());
	} else {
		read_holders(&c, key, id, 0, res);
	}
	PQclear(r);
	if (res->state == HOLD_TAKEN)
		res->message = xasprintf("advisory lock '%s' is free on %s", key, c.where);
	pgconn_close(&c);
}

static int64_t pg_keepalive_ms(const json_t *params)
{
	(void)params;
	return KEEPALIVE_MS;
}

static int pg_keepalive(void *handle, char *msg, size_t msglen)
{
	struct pglock *h = handle;
	PGresult *r = NULL;
	if (PQstatus(h->c.conn) == CONNECTION_OK) {
		h->c.deadline_ms = gate_mono_ms() + KEEPALIVE_ANSWER_MS;
		r = pgconn_query(&h->c, "SELECT 1");
	} else {
		snprintf(h->c.err, sizeof(h->c.err), "%s: the connection is closed", h->c.where);
	}
	if (r) {
		PQclear(r);
		return 0;
	}
	snprintf(msg, msglen, "advisory lock '%s' lost: its session ended (%s)", h->key, h->c.err);
	return -1;
}

static int pg_release(void *handle, char *msg, size_t msglen)
{
	struct pglock *h = handle;
	if (!h)
		return 0;
	char sql[64];
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%" PRId64 ")", h->id);
	h->c.deadline_ms = gate_mono_ms() + RELEASE_MS;
	PGresult *r = PQstatus(h->c.conn) == CONNECTION_OK ? pgconn_query(&h->c, sql) : NULL;
	const char *v = pgconn_val(r, 0, 0);
	int rc = v && !strcmp(v, "t") ? 0 : -1;
	if (rc < 0)
		snprintf(msg, msglen,
		         "advisory lock '%s': %s; the server frees it when the session ends",
		         h->key,
		         v             ? "this session did not hold it any more"
		         : h->c.err[0] ? h->c.err
		                       : "the connection was closed");
	PQclear(r);
	pgconn_close(&h->c);
	free(h->key);
	free(h);
	return rc;
}

static int pg_validate(const json_t *params, const char **p, char *msg, size_t msglen)
{
	if (pgconn_check_conninfo(param(params, "postgres"), msg, msglen) < 0) {
		*p = "postgres";
		return -1;
	}
	if (!*param(params, "key")) {
		*p = "key";
		snprintf(msg, msglen, "the lock's key must not be empty");
		return -1;
	}
	return 0;
}

static const struct gate_param pg_params[] = {
	{"postgres", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "The server that keeps the lock: a libpq conninfo (host=... port=...), postgresql:// "
         "URI or service=NAME; its password is never shown. Every gate that must exclude this "
         "one uses the same server and database."},
	{"key", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "The lock's name; the advisory lock's id is the first 8 bytes of SHA-256(key), "
         "big-endian, signed."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

const struct lock_kind hold_lock_postgres = {
	.name = "postgres",
	.summary = "a PostgreSQL advisory lock on a session held open while the command runs",
	.params = pg_params,
	.validate = pg_validate,
	.take = pg_take,
	.probe = pg_probe,
	.keepalive_ms = pg_keepalive_ms,
	.keepalive = pg_keepalive,
	.release = pg_release,
	.force_release = NULL,
};
