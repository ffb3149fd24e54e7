/* SPDX-License-Identifier: MIT */
/* The postgres checks' fetches (postgres_fetch.h): each query's columns
 * are, in order, the fields of its facts struct (postgres_facts.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/alloc.h"
#include "kit/clock.h"
#include "postgres_fetch.h"

/* Fill the fields of s from row `row` of r, column i into field i. */
static void fill(void *s, const struct pg_field *fl, const PGresult *r, int row)
{
	for (int i = 0; fl[i].name; i++) {
		const char *v = pgconn_val(r, row, i);
		void *at = (char *)s + fl[i].off;
		if (!v)
			continue;
		switch (fl[i].kind) {
		case PG_STR:
			*(char **)at = xstrdup(v);
			break;
		case PG_INT:
			*(int64_t *)at = strtoll(v, NULL, 10);
			break;
		case PG_REAL:
			*(double *)at = strtod(v, NULL);
			break;
		case PG_BOOL:
			*(int *)at = v[0] == 't';
			break;
		}
	}
}

/* Where and when the facts come from. */
static void stamp(const struct pgconn *c, struct pg_fetched *f)
{
	free(f->server);
	f->server = xstrdup(c->where);
	f->server_version = c->conn ? PQserverVersion(c->conn) : 0;
	f->taken_at_ms = gate_now_ms();
}

/* The n statements of sql, sent in one message (one round trip): their
 * results into r[0..n-1]; how many succeeded.  When fewer than n did, the
 * error (and SQLSTATE) go into f. */
static int query(struct pgconn *c, const char *sql, PGresult **r, int n, struct pg_fetched *f)
{
	int k = pgconn_query_n(c, sql, r, n);
	if (k < n) {
		f->error = xstrdup(c->err);
		f->sqlstate = c->sqlstate[0] ? xstrdup(c->sqlstate) : NULL;
	}
	return k;
}

int pg_fetch_connect(struct pgconn *c, const char *conninfo, int64_t deadline_ms,
                     struct pg_fetched *f)
{
	/* the session's set-up goes with the first query (one round trip) */
	int rc = pgconn_connect(c, conninfo, deadline_ms);
	stamp(c, f);
	if (rc < 0)
		f->error = xstrdup(c->err);
	return rc;
}

/* ---- postgres.replication ---- */

/* Whether the server is in recovery and, to say who is missing when the
 * judge cannot name it, the inactive physical slots; then one row per
 * walsender (on a standby, where pg_current_wal_lsn() fails, none is read:
 * the judge stops at in_recovery).  replay_lag counts as 0 when the
 * walsender has cleared it, which it does only once the standby has
 * replayed all it was sent (replay_lsn = sent_lsn); lag bytes are judged
 * separately.  One message, one round trip; the
 * walsenders last: a sample ends with them (t1000 waits for the session
 * to be idle after a query naming pg_stat_replication to bring a fault in
 * between samples). */
static const char replication_sql[] =
	"SELECT pg_is_in_recovery(), (SELECT string_agg(slot_name, ', ' ORDER BY slot_name)"
	" FROM pg_replication_slots WHERE slot_type = 'physical' AND NOT active);"
	" SELECT application_name, state, sync_state,"
	" pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,"
	" extract(epoch FROM replay_lag)::float8,"
	" (replay_lsn IS NOT NULL AND replay_lsn = sent_lsn),"
	" extract(epoch FROM now() - reply_time)::float8,"
	" pid, client_addr::text, replay_lsn::text, sent_lsn::text"
	" FROM pg_stat_replication WHERE NOT pg_is_in_recovery()"
	" ORDER BY application_name, pid";

void pg_fetch_replication(struct pgconn *c, struct pg_replication_facts *f)
{
	stamp(c, &f->f);
	PGresult *r[2];
	int k = query(c, replication_sql, r, 2, &f->f);
	if (k < 1)
		return;
	f->in_recovery = pgconn_val(r[0], 0, 0) && pgconn_val(r[0], 0, 0)[0] == 't';
	const char *v = pgconn_val(r[0], 0, 1);
	f->inactive_slots = v && !f->in_recovery ? xstrdup(v) : NULL;
	PQclear(r[0]);
	if (k < 2 || f->in_recovery) {
		if (k == 2)
			PQclear(r[1]);
		if (f->in_recovery) { /* what the walsender query said is not judged */
			free(f->f.error);
			free(f->f.sqlstate);
			f->f.error = f->f.sqlstate = NULL;
		}
		return;
	}
	f->n = (size_t)PQntuples(r[1]);
	f->rows = xcalloc(f->n ? f->n : 1, sizeof(*f->rows));
	for (size_t i = 0; i < f->n; i++) {
		pg_fields_clear(&f->rows[i], pg_walsender_fields);
		fill(&f->rows[i], pg_walsender_fields, r[1], (int)i);
	}
	f->have_rows = 1;
	PQclear(r[1]);
}

/* ---- postgres.replica ---- */

/* The WAL receiver's facts (pg_wal_receiver_fields, in order), then
 * whether the server is in recovery: one statement.  On a primary
 * pg_get_wal_replay_pause_state() fails, so it is only asked in recovery
 * (CASE evaluates it only then: it is volatile, never folded early). */
static const char replica_sql[] =
	"SELECT current_setting('cluster_name'),"
	" pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text,"
	" pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint,"
	" CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END,"
	" extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,"
	" w.pid, w.status, extract(epoch FROM now() - w.last_msg_receipt_time)::float8,"
	" w.sender_host, w.sender_port, w.slot_name, pg_is_in_recovery()"
	" FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS w ON true";

/* The column after the receiver's fields. */
#define REPLICA_IN_RECOVERY_COL 12

void pg_fetch_replica(struct pgconn *c, struct pg_replica_facts *f)
{
	stamp(c, &f->f);
	PGresult *r;
	if (query(c, replica_sql, &r, 1, &f->f) < 1)
		return;
	const char *rec = pgconn_val(r, 0, REPLICA_IN_RECOVERY_COL);
	f->in_recovery = rec && rec[0] == 't';
	const char *cn = pgconn_val(r, 0, 0);
	f->cluster_name = cn ? xstrdup(cn) : NULL;
	if (f->in_recovery) {
		fill(&f->w, pg_wal_receiver_fields, r, 0);
		f->have_receiver = 1;
	}
	PQclear(r);
}

/* ---- postgres.archiver ---- */

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

/* What waits to be archived.  Needs pg_monitor: sent in the same message
 * as archiver_sql, after it, so that without it the statistics still come. */
static const char archiver_ready_sql[] =
	"SELECT count(*), extract(epoch FROM now() - min(modification))::float8"
	" FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'";

void pg_fetch_archiver(struct pgconn *c, struct pg_archiver_facts *f)
{
	stamp(c, &f->f);
	char sql[sizeof(archiver_sql) + sizeof(archiver_ready_sql) + 2];
	snprintf(sql, sizeof(sql), "%s; %s", archiver_sql, archiver_ready_sql);
	PGresult *r[2];
	int k = query(c, sql, r, 2, &f->f);
	if (k >= 1) {
		fill(&f->s, pg_archiver_stat_fields, r[0], 0);
		f->have_stat = 1;
		PQclear(r[0]);
	}
	if (k >= 2) {
		fill(&f->r, pg_archive_ready_fields, r[1], 0);
		f->have_ready = 1;
		PQclear(r[1]);
	}
}

/* ---- postgres.slots ---- */

static const char slots_sql[] =
	"SELECT slot_name, slot_type, active, wal_status, safe_wal_size,"
	" pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
	"                 ELSE pg_current_wal_lsn() END, restart_lsn)::bigint,"
	" active_pid"
	" FROM pg_replication_slots ORDER BY slot_name";

void pg_fetch_slots(struct pgconn *c, struct pg_slots_facts *f)
{
	stamp(c, &f->f);
	PGresult *r;
	if (query(c, slots_sql, &r, 1, &f->f) < 1)
		return;
	f->n = (size_t)PQntuples(r);
	f->rows = xcalloc(f->n ? f->n : 1, sizeof(*f->rows));
	for (size_t i = 0; i < f->n; i++) {
		pg_fields_clear(&f->rows[i], pg_slot_fields);
		fill(&f->rows[i], pg_slot_fields, r, (int)i);
	}
	f->have_slots = 1;
	PQclear(r);
}

void pg_fetch(enum pg_type t, struct pgconn *c, const char *conninfo, int64_t deadline_ms,
              struct pg_facts *pf)
{
	pg_facts_init(pf, t);
	if (pg_fetch_connect(c, conninfo, deadline_ms, pg_facts_fetched(pf)) < 0)
		return;
	switch (t) {
	case PG_REPLICATION:
		pg_fetch_replication(c, &pf->u.replication);
		break;
	case PG_REPLICA:
		pg_fetch_replica(c, &pf->u.replica);
		break;
	case PG_ARCHIVER:
		pg_fetch_archiver(c, &pf->u.archiver);
		break;
	case PG_SLOTS:
		pg_fetch_slots(c, &pf->u.slots);
		break;
	}
}
