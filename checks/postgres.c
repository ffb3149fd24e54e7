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
 * Each check type is a fetch (postgres_fetch.c: queries into the facts of
 * postgres_judge.h) and a pure judge (postgres_judge.c); this file holds
 * the parameter tables, the runs that join the two, and the module.
 *
 * Beyond doc/checks.md (extensions, none loosens it):
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
#include <stdio.h>

#include "builtin.h"
#include "gate/module.h"
#include "kit/clock.h"
#include "postgres_fetch.h"
#include "postgres_judge.h"

/* ---- shared plumbing ---- */

#define CONNINFO_DOC                                                                   \
	"a libpq conninfo (host=... port=...), postgresql:// URI or service=NAME. "    \
	"Passwords come from ~/.pgpass (PGPASSFILE), PGPASSWORD or the service file "  \
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

/* Connect, fetch the facts of type t, judge them, and redact the summary
 * (a server's message may quote the conninfo). */
static void run_once(enum pg_type t, const json_t *params, const struct gate_run_env *env,
                     struct gate_result *res)
{
	struct pgconn c;
	struct pg_facts pf;
	pg_fetch(t, &c, gate_param_str(params, "conninfo"), own_deadline(env), &pf);
	pg_judge(&pf, params, res);
	pgconn_redact(&c, res->summary, sizeof(res->summary));
	pgconn_close(&c);
	pg_facts_free(&pf);
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

static int validate_min(const json_t *params, const char *name, int64_t min, const char **param,
                        char *msg, size_t len)
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
	{"conninfo", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL, "The primary: " CONNINFO_DOC},
	{"min_streaming", GATE_P_INT, 0, "1", NULL,
         "Replicas that must pass every condition below."},
	{"standbys", GATE_P_STRING_LIST, 0, NULL, NULL,
         "application_names that must each be among the passing replicas."},
	{"ignore", GATE_P_STRING_LIST, 0, "[barman_receive_wal, pg_receivewal]", NULL,
         "application_names that are not replicas (WAL streamers); not judged."},
	{"max_lag_bytes", GATE_P_SIZE, 0, "16MiB", NULL,
         "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn): how far behind replay is, in bytes."},
	{"max_replay_lag", GATE_P_DURATION, 0, "60s", NULL,
         "replay_lag; taken as 0 when the replica has replayed everything sent (PostgreSQL sets it "
         "NULL on an idle system)."},
	{"max_reply_age", GATE_P_DURATION, 0, "30s", NULL,
         "now() - reply_time: when the replica last reported."},
	{"min_sync", GATE_P_INT, 0, "0", NULL, "Passing replicas with sync_state sync or quorum."},
	{"samples", GATE_P_INT, 0, "1", NULL,
         "Take the measurement this many times, sample_interval apart; every sample must pass."},
	{"sample_interval", GATE_P_DURATION, 0, "2s", NULL, "Time between two samples."},
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

/* Judge one sample into res; 1 when sampling stops with it (it does not
 * pass, or it is the last). */
static int replication_sample(const struct pg_replication_facts *f, const json_t *params, int64_t s,
                              int64_t samples, struct gate_result *res)
{
	struct gate_result one = {GATE_ERROR, "", json_object()};
	pg_replication_judge(f, params, &one);
	json_object_update(res->details, one.details);
	json_decref(one.details);
	json_object_set_new(res->details, "samples_taken", json_integer(s));
	if (one.status == GATE_PASS && s < samples)
		return 0;
	if (samples > 1 && one.status != GATE_PASS)
		gate_result_set(res, one.status, "sample %lld of %lld: %s", (long long)s,
		                (long long)samples, one.summary);
	else
		gate_result_set(res, one.status, "%s", one.summary);
	return 1;
}

static void replication_run(const json_t *params, const struct gate_run_env *env,
                            struct gate_result *res)
{
	int64_t samples = gate_param_int(params, "samples", 1);
	int64_t interval = gate_param_int(params, "sample_interval", 2000);
	if (samples < 1)
		samples = 1;
	if (interval < 0)
		interval = 0;
	int64_t deadline = own_deadline(env);
	if (!pg_samples_fit(samples, interval, deadline - gate_mono_ms())) {
		gate_result_set(
			res, GATE_ERROR,
			"%lld samples %lld ms apart do not fit in the check's %lld ms timeout",
			(long long)samples, (long long)interval, (long long)env->timeout_ms);
		return;
	}
	struct pgconn c;
	struct pg_facts pf;
	pg_facts_init(&pf, PG_REPLICATION);
	if (pg_fetch_connect(&c, gate_param_str(params, "conninfo"), deadline,
	                     &pf.u.replication.f) < 0) {
		pg_replication_judge(&pf.u.replication, params, res);
		goto out;
	}
	int64_t next = gate_mono_ms();
	for (int64_t s = 1; s <= samples; s++) {
		if (s > 1 && next > deadline) {
			gate_result_set(res, GATE_ERROR,
			                "ran out of time before sample %lld of %lld", (long long)s,
			                (long long)samples);
			break;
		}
		if (s > 1)
			gate_sleep_until(next);
		next = gate_mono_ms() + interval;
		pg_facts_free(&pf);
		pg_facts_init(&pf, PG_REPLICATION);
		pg_fetch_replication(&c, &pf.u.replication);
		if (replication_sample(&pf.u.replication, params, s, samples, res))
			break;
	}
out:
	pgconn_redact(&c, res->summary, sizeof(res->summary));
	pgconn_close(&c);
	pg_facts_free(&pf);
}

/* ================= postgres.replica ================= */

static const struct gate_param replica_params[] = {
	{"conninfo", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL, "The standby: " CONNINFO_DOC},
	{"max_receive_age", GATE_P_DURATION, 0, "60s", NULL,
         "now() - pg_stat_wal_receiver.last_msg_receipt_time; no receiver row, or a status other "
         "than streaming, fails. An idle link reaches wal_receiver_timeout/2 (30 s) before a "
         "keepalive."},
	{"max_replay_bytes", GATE_P_SIZE, 0, "16MiB", NULL,
         "pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()): WAL received but "
         "not yet replayed."},
	{"allow_paused", GATE_P_BOOL, 0, "false", NULL,
         "Replay paused (pg_get_wal_replay_pause_state()) fails unless true."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static void replica_run(const json_t *params, const struct gate_run_env *env,
                        struct gate_result *res)
{
	run_once(PG_REPLICA, params, env, res);
}

/* ================= postgres.archiver ================= */

static const struct gate_param archiver_params[] = {
	{"conninfo", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL, "The primary: " CONNINFO_DOC},
	{"max_ready", GATE_P_INT, 0, "10", NULL,
         "WAL segments waiting to be archived (.ready files, from pg_ls_archive_statusdir(); needs "
         "pg_monitor or superuser)."},
	{"max_ready_age", GATE_P_DURATION, 0, "15m", NULL,
         "Age of the oldest waiting .ready file (its modification time): the archiver is behind by "
         "that much."},
	{"max_age", GATE_P_DURATION, 0, NULL, NULL,
         "When set, now() - last_archived_time must be under it (for systems with "
         "archive_timeout)."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static int archiver_validate(const json_t *params, const char **param, char *msg, size_t len)
{
	if (validate_conninfo(params, param, msg, len) < 0 ||
	    validate_min(params, "max_ready", 0, param, msg, len) < 0)
		return -1;
	return 0;
}

static void archiver_run(const json_t *params, const struct gate_run_env *env,
                         struct gate_result *res)
{
	run_once(PG_ARCHIVER, params, env, res);
}

/* ================= postgres.slots ================= */

static const struct gate_param slots_params[] = {
	{"conninfo", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL, "The primary: " CONNINFO_DOC},
	{"slots", GATE_P_STRING_LIST, 0, NULL, NULL,
         "Slot names that must exist (and are judged); by default every physical slot is judged, "
         "and there must be one."},
	{"require_active", GATE_P_BOOL, 0, "true", NULL,
         "Each judged slot must be in use (active)."},
	{"min_safe_wal_size", GATE_P_SIZE, 0, "1GiB", NULL,
         "When safe_wal_size is not NULL (max_slot_wal_keep_size is set): WAL that may still be "
         "written before the slot is lost."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static void slots_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	run_once(PG_SLOTS, params, env, res);
}

/* ================= the module ================= */

static const struct gate_check_type postgres_types[] = {
	{"postgres.replication", "replicas of a primary stream and keep up (pg_stat_replication)",
         "Run against the primary. Each replica in pg_stat_replication (WAL streamers in `ignore` "
         "aside) passes when its state is streaming, its replay is at most max_lag_bytes and "
         "max_replay_lag behind and it replied within max_reply_age. Fails when fewer than "
         "min_streaming replicas (or min_sync synchronous ones) pass, when a name in `standbys` is "
         "not among them, or when the server is in recovery.",
         replication_params, replication_validate, replication_run},
	{"postgres.replica",
         "a standby streams from its primary and replays (pg_stat_wal_receiver)",
         "Run against a standby. Passes when it is in recovery, its WAL receiver is streaming and "
         "heard from the primary within max_receive_age, replay is not paused and at most "
         "max_replay_bytes behind what was received. A standby without a WAL receiver is not "
         "streaming, whatever its LSNs say.",
         replica_params, validate_conninfo, replica_run},
	{"postgres.archiver", "WAL archiving works and keeps up (pg_stat_archiver, archive_status)",
         "Run against the primary. Fails when archive_mode is off, nothing was ever archived, the "
         "last failure is later than the last success (failed_count never resets and is not "
         "judged), or too many or too old .ready files wait.",
         archiver_params, archiver_validate, archiver_run},
	{"postgres.slots",
         "replication slots exist, are active and keep their WAL (pg_replication_slots)",
         "Run against the primary. Each judged slot must exist, be active (require_active), have "
         "wal_status reserved or extended, and, when max_slot_wal_keep_size applies, at least "
         "min_safe_wal_size of safe_wal_size.",
         slots_params, validate_conninfo, slots_run},
};

GATE_FAMILY_MODULE(postgres) = {
	.abi_version = GATE_ABI_VERSION,
	.name = "postgres",
	.version = "1.0.0",
	.types = postgres_types,
	.ntypes = sizeof(postgres_types) / sizeof(postgres_types[0]),
	/* Every run is a libpq connection of its own, facts and a judge of
	 * its own: nothing shared is written (libpq is thread-safe). */
	.flags = GATE_MF_THREADED_RUN,
};
