/* SPDX-License-Identifier: MIT */
/* Private to the postgres family (checks/postgres*.c): the facts each
 * check type fetches, as plain structs, and the pure judges from facts +
 * parameters to a result.  No libpq here: the unit tests
 * (tests/unit/test_postgres_judge.c) and the fuzz target
 * (fuzz/fuzz_postgres_judge.c) judge facts recorded from real servers
 * (tests/data/recorded/postgres/, tests/tools/record-postgres.sh).
 *
 * SQL NULL is kept: a NULL string is NULL, a NULL integer PG_NULL_INT, a
 * NULL float NAN, a NULL boolean -1.  The judges need no clock: every age
 * is the server's now() minus a time, measured by the query. */
#ifndef GATE_CHECKS_POSTGRES_JUDGE_H
#define GATE_CHECKS_POSTGRES_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gate/module.h"

#define PG_NULL_INT INT64_MIN

/* What every fetch says about itself. */
struct pg_fetched {
	char *server;           /* "127.0.0.1:5432" (the socket dir, or "postgres") */
	int64_t server_version; /* PQserverVersion (150010), 0 unknown; shown nowhere */
	int64_t taken_at_ms;    /* wall clock when fetched; never judged */
	char *error;            /* why the fetch stopped (redacted), NULL if it did not */
	char *sqlstate;         /* of a failed query after connecting, else NULL */
};

/* ---- postgres.replication ---- */

/* One row of pg_stat_replication, the columns of the query in order. */
struct pg_walsender {
	char *application_name, *state, *sync_state;
	int64_t lag_bytes;   /* pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) */
	double replay_lag_s; /* replay_lag */
	int caught_up;       /* replay_lsn = sent_lsn */
	double reply_age_s;  /* now() - reply_time */
	int64_t pid;
	char *client_addr, *replay_lsn, *sent_lsn;
};

/* One sample. */
struct pg_replication_facts {
	struct pg_fetched f;
	int in_recovery; /* -1: not known (its query failed) */
	int have_rows;   /* pg_stat_replication was read */
	size_t n;
	struct pg_walsender *rows;
	char *inactive_slots; /* "a, b": inactive physical slots; NULL none (or unreadable) */
};

/* One sample of postgres.replication: status, summary and details. */
void pg_replication_judge(const struct pg_replication_facts *f, const json_t *params,
                          struct gate_result *res);
/* Do `samples` samples `interval_ms` apart fit in left_ms?  1 if so. */
int pg_samples_fit(int64_t samples, int64_t interval_ms, int64_t left_ms);

/* ---- postgres.replica ---- */

/* pg_stat_wal_receiver and the standby's LSNs, the columns in order. */
struct pg_wal_receiver {
	char *cluster_name, *receive_lsn, *replay_lsn;
	int64_t replay_bytes; /* pg_wal_lsn_diff(receive, replay) */
	char *pause_state;    /* pg_get_wal_replay_pause_state() */
	double last_xact_replay_age_s;
	int64_t pid; /* of the WAL receiver; NULL: there is none */
	char *status;
	double receive_age_s; /* now() - last_msg_receipt_time */
	char *sender_host;
	int64_t sender_port;
	char *slot_name;
};

struct pg_replica_facts {
	struct pg_fetched f;
	int in_recovery; /* -1: not known */
	char *cluster_name;
	int have_receiver; /* the receiver query ran (only in recovery) */
	struct pg_wal_receiver w;
};

void pg_replica_judge(const struct pg_replica_facts *f, const json_t *params,
                      struct gate_result *res);

/* ---- postgres.archiver ---- */

/* pg_stat_archiver and the settings, the columns in order. */
struct pg_archiver_stat {
	char *archive_mode;
	int in_recovery, has_command, has_library;
	int64_t archived_count;
	char *last_archived_wal;
	double last_archived_age_s;
	int64_t failed_count;
	char *last_failed_wal;
	double last_failed_age_s;
	int failing; /* last_failed_time > last_archived_time */
	char *last_archived_time, *last_failed_time;
};

/* The .ready files of pg_ls_archive_statusdir(). */
struct pg_archive_ready {
	int64_t count;
	double oldest_age_s;
};

struct pg_archiver_facts {
	struct pg_fetched f;
	int have_stat;
	struct pg_archiver_stat s;
	int have_ready;
	struct pg_archive_ready r;
};

void pg_archiver_judge(const struct pg_archiver_facts *f, const json_t *params,
                       struct gate_result *res);

/* ---- postgres.slots ---- */

struct pg_slot {
	char *slot_name, *slot_type;
	int active;
	char *wal_status;
	int64_t safe_wal_size;
	int64_t retained_bytes; /* current (or replayed) LSN - restart_lsn */
	int64_t active_pid;
};

struct pg_slots_facts {
	struct pg_fetched f;
	int have_slots;
	size_t n;
	struct pg_slot *rows;
};

void pg_slots_judge(const struct pg_slots_facts *f, const json_t *params, struct gate_result *res);

/* ---- facts as JSON (postgres_facts.c) ---- */

/* A column of a facts struct: its name, kind and place.  The fetch fills
 * structs from query results in this order (postgres_fetch.c). */
enum pg_kind { PG_STR, PG_INT, PG_REAL, PG_BOOL };
struct pg_field {
	const char *name;
	enum pg_kind kind;
	size_t off;
};
extern const struct pg_field pg_walsender_fields[], pg_wal_receiver_fields[],
	pg_archiver_stat_fields[], pg_archive_ready_fields[], pg_slot_fields[];
/* Every field NULL. */
void pg_fields_clear(void *s, const struct pg_field *fl);
void pg_fields_free(void *s, const struct pg_field *fl);
size_t pg_fields_count(const struct pg_field *fl);

/* Which check type a facts document is for ("postgres.replica"), the
 * union of the four, and conversion both ways.  pg_facts_from_json
 * refuses (-1 with msg) anything that is not what a fetch writes: a
 * missing or unknown field, a wrong type, an error without a query that
 * stopped (or the reverse); the facts are cleared then. */
enum pg_type { PG_REPLICATION, PG_REPLICA, PG_ARCHIVER, PG_SLOTS };
struct pg_facts {
	enum pg_type type;
	union {
		struct pg_replication_facts replication;
		struct pg_replica_facts replica;
		struct pg_archiver_facts archiver;
		struct pg_slots_facts slots;
	} u;
};
const char *pg_type_name(enum pg_type t);
/* The struct pg_fetched every member starts with. */
struct pg_fetched *pg_facts_fetched(struct pg_facts *pf);
/* Facts of type t with nothing known yet (every field NULL). */
void pg_facts_init(struct pg_facts *pf, enum pg_type t);
json_t *pg_facts_to_json(const struct pg_facts *pf);
int pg_facts_from_json(const json_t *doc, struct pg_facts *pf, char *msg, size_t len);
void pg_facts_free(struct pg_facts *pf);
/* Judge any facts (the type says which judge). */
void pg_judge(const struct pg_facts *pf, const json_t *params, struct gate_result *res);
/* Judge a facts document; one that pg_facts_from_json refuses is an error. */
void pg_judge_json(const json_t *doc, const json_t *params, struct gate_result *res);

#endif
