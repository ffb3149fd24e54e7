/* SPDX-License-Identifier: MIT */
/* The postgres checks' judges (checks/postgres_judge.c), table by table,
 * on facts recorded from real PostgreSQL 15 servers in the states the
 * scenario tests t1000-t1030 bring about (tests/data/recorded/postgres/,
 * re-recorded by tests/tools/record-postgres.sh).  Rows that vary a
 * threshold around a recorded number read that number from the recording
 * (`from`, scaled, plus `delta`), so a new recording keeps them honest:
 * the limit just below the measure fails, at or above it passes.  Then
 * the facts' JSON form: every recording reads back to itself, and what a
 * fetch cannot have written is refused, which judges as an error. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postgres_judge.h"

/* The value at an RFC 6901 pointer (no escapes needed here), or NULL. */
static json_t *at(json_t *doc, const char *pointer)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", pointer);
	json_t *v = doc;
	for (char *save = NULL, *tok = strtok_r(buf, "/", &save); v && tok;
	     tok = strtok_r(NULL, "/", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(tok, NULL, 10))
		                     : json_object_get(v, tok);
	return v;
}

static json_t *load(const char *name)
{
	const char *src = getenv("GATE_SOURCE_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/data/recorded/postgres/%s.json", src ? src : ".",
	         name);
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);
	if (!doc)
		fail_msg("%s: %s", path, je.text);
	return doc;
}

struct row {
	const char *file;   /* recording: tests/data/recorded/postgres/<file>.json */
	const char *params; /* normalised, as the loader hands them: ms, bytes */
	struct {
		const char *param, *from; /* param = (int)(from's number * scale) + delta */
		double scale;
		int64_t delta;
	} vary;
	enum gate_status want;
	const char *summary;      /* ERE the summary matches */
	const char *not_summary;  /* ERE it does not match, or NULL */
	const char *detail[3][2]; /* {pointer, compact JSON or NULL: absent} */
};

static void run_rows(const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		json_t *doc = load(r->file);
		json_error_t je;
		json_t *params = json_loads(r->params, 0, &je);
		assert_non_null(params);
		if (r->vary.param) {
			json_t *v = at(doc, r->vary.from);
			if (!json_is_number(v))
				fail_msg("row %zu: %s has no number at %s", i, r->file,
				         r->vary.from);
			int64_t limit = (int64_t)(json_number_value(v) * r->vary.scale) +
			                r->vary.delta;
			json_object_set_new(params, r->vary.param, json_integer(limit));
		}
		struct gate_result res = {GATE_SKIP, "", json_object()};
		pg_judge_json(doc, params, &res);
		regex_t re;
		assert_int_equal(regcomp(&re, r->summary, REG_EXTENDED | REG_NOSUB), 0);
		if (res.status != r->want || regexec(&re, res.summary, 0, NULL, 0))
			fail_msg("row %zu (%s %s): status %d, summary \"%s\"", i, r->file,
			         r->params, res.status, res.summary);
		regfree(&re);
		if (r->not_summary) {
			assert_int_equal(regcomp(&re, r->not_summary, REG_EXTENDED | REG_NOSUB), 0);
			if (!regexec(&re, res.summary, 0, NULL, 0))
				fail_msg("row %zu (%s): summary \"%s\" matches \"%s\"", i, r->file,
				         res.summary, r->not_summary);
			regfree(&re);
		}
		for (size_t k = 0; k < 3 && r->detail[k][0]; k++) {
			json_t *v = at(res.details, r->detail[k][0]);
			char *got = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
			if (!got != !r->detail[k][1] || (got && strcmp(got, r->detail[k][1])))
				fail_msg("row %zu (%s): details %s is %s, not %s", i, r->file,
				         r->detail[k][0], got ? got : "absent",
				         r->detail[k][1] ? r->detail[k][1] : "absent");
			free(got);
		}
		json_decref(res.details);
		json_decref(params);
		json_decref(doc);
	}
}

#define N(rows) (sizeof(rows) / sizeof((rows)[0]))
#define SERVER "127\\.0\\.0\\.1:[0-9]+"
#define AGE "[0-9.]+(ms|s)"

static void test_replication(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"replication-healthy",
	         "{\"min_streaming\": 2, \"standbys\": [\"replica1\", \"replica2\"], "
	         "\"max_lag_bytes\": 1000000}",
	         {0},
	         GATE_PASS,
	         "^2 of 2 replicas pass \\(min 2\\), replay at most [0-9.]+ k?B behind$",
	         NULL,
	         {{"/passing", "2"},
	          {"/replicas/0/application_name", "\"replica1\""},
	          {"/missing", "[]"}}},
		{"replication-healthy",
	         "{\"min_streaming\": 3}",
	         {0},
	         GATE_FAIL,
	         "^2 of 3 required replicas pass$",
	         NULL,
	         {{"/passing", "2"}}},
		{"replication-healthy",
	         "{\"min_sync\": 1}",
	         {0},
	         GATE_FAIL,
	         "^0 of 1 required synchronous replicas \\(sync_state sync or quorum\\) pass$",
	         NULL,
	         {{0}}},
		{"replication-healthy",
	         "{\"standbys\": [\"replica1\", \"nosuch\"]}",
	         {0},
	         GATE_FAIL,
	         "^nosuch: not streaming \\(no row in pg_stat_replication\\)$",
	         NULL,
	         {{"/missing", "[\"nosuch\"]"}}},
		/* max_reply_age around replica1's last reply */
		{"replication-healthy",
	         "{\"min_streaming\": 2}",
	         {"max_reply_age", "/walsenders/0/reply_age_s", 1000, -1},
	         GATE_FAIL,
	         "^1 of 2 required replicas pass: replica1: last reply " AGE
	         " ago \\(max [0-9.]+m?s\\)$",
	         NULL,
	         {{"/replicas/0/pass", "false"}, {"/replicas/1/pass", "true"}}},
		{"replication-healthy",
	         "{\"min_streaming\": 2}",
	         {"max_reply_age", "/walsenders/0/reply_age_s", 1000, 1},
	         GATE_PASS,
	         "^2 of 2 replicas pass",
	         NULL,
	         {{0}}},
		/* replay_lag NULL on an idle, caught-up system is 0, not unknown */
		{"replication-idle",
	         "{\"min_streaming\": 2, \"max_replay_lag\": 1000}",
	         {0},
	         GATE_PASS,
	         "^2 of 2 replicas pass \\(min 2\\), replay at most 0 B behind$",
	         NULL,
	         {{"/replicas/0/replay_lag_s", "0.0"},
	          {"/replicas/1/replay_lag_s", "0.0"},
	          {"/replicas/0/lag_bytes", "0"}}},
		{"replication-idle",
	         "{\"min_streaming\": 2, \"max_replay_lag\": 0}",
	         {0},
	         GATE_PASS,
	         "^2 of 2 replicas pass",
	         NULL,
	         {{0}}},
		/* replay delayed (recovery_min_apply_delay and writes) */
		{"replication-delayed",
	         "{\"min_streaming\": 2, \"max_lag_bytes\": 1000000}",
	         {0},
	         GATE_FAIL,
	         "^1 of 2 required replicas pass: replica1: replay [0-9.]+ MB behind \\(max 1 "
	         "MB\\)$",
	         NULL,
	         {{"/replicas/0/pass", "false"},
	          {"/replicas/0/state", "\"streaming\""},
	          {"/passing", "1"}}},
		{"replication-delayed",
	         "{\"min_streaming\": 2}",
	         {"max_lag_bytes", "/walsenders/0/lag_bytes", 1, 0},
	         GATE_PASS,
	         "^2 of 2 replicas pass",
	         NULL,
	         {{0}}},
		{"replication-delayed",
	         "{\"min_streaming\": 2}",
	         {"max_lag_bytes", "/walsenders/0/lag_bytes", 1, -1},
	         GATE_FAIL,
	         "^1 of 2 required replicas pass: replica1: replay [0-9.]+ [kM]i?B behind \\(max "
	         "[0-9.]+ [kM]i?B\\)$",
	         NULL,
	         {{0}}},
		{"replication-delayed",
	         "{\"max_lag_bytes\": 1000000}",
	         {0},
	         GATE_PASS,
	         "^1 of 2 replicas pass \\(min 1\\), replay at most [0-9.]+ MB behind; not "
	         "passing: replica1: replay",
	         NULL,
	         {{"/problems/1", NULL}, {"/replicas/0/pass", "false"}, {"/passing", "1"}}},
		{"replication-delayed",
	         "{\"min_streaming\": 2, \"max_lag_bytes\": 1073741824}",
	         {"max_replay_lag", "/walsenders/0/replay_lag_s", 1000, -1},
	         GATE_FAIL,
	         "^1 of 2 required replicas pass: replica1: replay lag " AGE " \\(max [0-9]+ms\\)$",
	         NULL,
	         {{0}}},
		{"replication-delayed",
	         "{\"min_streaming\": 2, \"max_lag_bytes\": 1073741824}",
	         {"max_replay_lag", "/walsenders/0/replay_lag_s", 1000, 1},
	         GATE_PASS,
	         "^2 of 2",
	         NULL,
	         {{0}}},
		/* a stopped replica */
		{"replication-stopped",
	         "{\"min_streaming\": 2}",
	         {0},
	         GATE_FAIL,
	         "^1 of 2 required replicas pass: inactive slots: replica2$",
	         NULL,
	         {{"/passing", "1"}}},
		{"replication-stopped",
	         "{\"standbys\": [\"replica1\", \"replica2\"]}",
	         {0},
	         GATE_FAIL,
	         "^replica2: not streaming \\(no row in pg_stat_replication\\)$",
	         NULL,
	         {{"/missing/0", "\"replica2\""}}},
		{"replication-stopped",
	         "{}",
	         {0},
	         GATE_PASS,
	         "^1 of 1 replicas pass \\(min 1\\)",
	         NULL,
	         {{0}}},
		{"replication-none",
	         "{}",
	         {0},
	         GATE_FAIL,
	         "^0 of 1 required replicas pass: no replica connected \\(pg_stat_replication is "
	         "empty\\)$",
	         NULL,
	         {{"/replicas", "[]"}}},
		{"replication-none",
	         "{\"min_streaming\": 0}",
	         {0},
	         GATE_PASS,
	         "^0 of 0 replicas pass \\(min 0\\), replay at most 0 B behind$",
	         NULL,
	         {{0}}},
		/* a WAL streamer */
		{"replication-walstreamer",
	         "{\"min_streaming\": 2}",
	         {0},
	         GATE_PASS,
	         "^2 of 2 replicas pass",
	         NULL,
	         {{"/ignored", "[\"pg_receivewal\"]"}}},
		{"replication-walstreamer",
	         "{\"min_streaming\": 3, \"ignore\": []}",
	         {0},
	         GATE_FAIL,
	         "^2 of 3 required replicas pass: pg_receivewal: no replay position \\(a WAL "
	         "streamer\\? list it in ignore\\)",
	         NULL,
	         {{"/ignored", "[]"}}},
		{"replication-sync",
	         "{\"min_sync\": 1, \"min_streaming\": 2}",
	         {0},
	         GATE_PASS,
	         "^2 of 2 replicas pass",
	         NULL,
	         {{"/sync", "1"}, {"/replicas/0/sync_state", "\"sync\""}}},
		{"replication-sync",
	         "{\"min_sync\": 2}",
	         {0},
	         GATE_FAIL,
	         "^1 of 2 required synchronous replicas",
	         NULL,
	         {{0}}},
		{"replication-standby",
	         "{}",
	         {0},
	         GATE_FAIL,
	         "^" SERVER ": in recovery \\(a standby\\), not a primary$",
	         NULL,
	         {{"/in_recovery", "true"}, {"/replicas", NULL}}},
		/* without pg_monitor the rows are there, their columns NULL */
		{"replication-nomonitor",
	         "{\"min_streaming\": 0}",
	         {0},
	         GATE_ERROR,
	         "^" SERVER
	         ": cannot read pg_stat_replication \\(the role needs pg_monitor or superuser\\)$",
	         NULL,
	         {{0}}},
		{"replication-refused",
	         "{}",
	         {0},
	         GATE_ERROR,
	         "^" SERVER ": connection refused$",
	         NULL,
	         {{"/in_recovery", NULL}}},
	};
	run_rows(rows, N(rows));
}

static void test_replica(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"replica-healthy",
	         "{}",
	         {0},
	         GATE_PASS,
	         "^replica1: streaming from " SERVER ", last message " AGE
	         " ago, replay 0 B behind receive$",
	         NULL,
	         {{"/receiver_status", "\"streaming\""},
	          {"/replay_bytes", "0"},
	          {"/slot_name", "\"replica1\""}}},
		{"replica-healthy",
	         "{}",
	         {"max_receive_age", "/receiver/receive_age_s", 1000, -1},
	         GATE_FAIL,
	         "^replica1: last message from the primary " AGE " ago \\(max [0-9.]+m?s\\)$",
	         NULL,
	         {{0}}},
		{"replica-healthy",
	         "{}",
	         {"max_receive_age", "/receiver/receive_age_s", 1000, 1},
	         GATE_PASS,
	         "^replica1: streaming",
	         NULL,
	         {{0}}},
		{"replica-paused",
	         "{}",
	         {0},
	         GATE_FAIL,
	         "^replica1: replay paused \\(pg_get_wal_replay_pause_state\\(\\)\\)$",
	         NULL,
	         {{"/pause_state", "\"paused\""}}},
		{"replica-paused",
	         "{\"allow_paused\": true}",
	         {0},
	         GATE_PASS,
	         "^replica1: streaming",
	         NULL,
	         {{0}}},
		{"replica-delayed",
	         "{\"max_replay_bytes\": 1000000}",
	         {0},
	         GATE_FAIL,
	         "^replica1: replay [0-9.]+ MB behind receive \\(max 1 MB\\)$",
	         NULL,
	         {{"/receiver_status", "\"streaming\""}}},
		{"replica-delayed",
	         "{}",
	         {"max_replay_bytes", "/receiver/replay_bytes", 1, 0},
	         GATE_PASS,
	         "^replica1: streaming .*, replay [0-9.]+ MB behind receive$",
	         NULL,
	         {{0}}},
		{"replica-delayed",
	         "{}",
	         {"max_replay_bytes", "/receiver/replay_bytes", 1, -1},
	         GATE_FAIL,
	         "^replica1: replay [0-9.]+ MB behind receive \\(max [0-9.]+ MB\\)$",
	         NULL,
	         {{0}}},
		/* receive LSN = replay LSN, yet no receiver: not "0 lag" */
		{"replica-disconnected",
	         "{}",
	         {0},
	         GATE_FAIL,
	         "^replica2: not streaming \\(no WAL receiver: pg_stat_wal_receiver is empty\\)$",
	         NULL,
	         {{"/replay_bytes", "0"}, {"/receiver_status", "null"}, {"/problems/1", NULL}}},
		/* a hung walsender: streaming, but nothing heard */
		{"replica-silent",
	         "{\"max_receive_age\": 2000}",
	         {0},
	         GATE_FAIL,
	         "^replica2: last message from the primary [0-9.]+s ago \\(max 2s\\)$",
	         NULL,
	         {{"/receiver_status", "\"streaming\""}}},
		{"replica-silent", "{}", {0}, GATE_PASS, "^replica2: streaming", NULL, {{0}}},
		{"replica-primary",
	         "{}",
	         {0},
	         GATE_FAIL,
	         "^primary: not a standby \\(pg_is_in_recovery\\(\\) is false\\)$",
	         NULL,
	         {{"/in_recovery", "false"}, {"/name", "\"primary\""}, {"/receiver_status", NULL}}},
		{"replica-nomonitor",
	         "{}",
	         {0},
	         GATE_ERROR,
	         "^replica1: cannot read pg_stat_wal_receiver \\(the role needs pg_monitor or "
	         "superuser\\)$",
	         NULL,
	         {{"/problems", NULL}}},
		{"replica-refused",
	         "{}",
	         {0},
	         GATE_ERROR,
	         "^" SERVER ": connection refused$",
	         NULL,
	         {{"/name", NULL}}},
	};
	run_rows(rows, N(rows));
}

#define WAL "[0-9A-F]{24}"

static void test_archiver(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"archiver-never",
	         "{}",
	         {0},
	         GATE_FAIL,
	         "^" SERVER ": nothing has ever been archived$",
	         NULL,
	         {{"/archived_count", "0"}, {"/ready", "0"}}},
		{"archiver-healthy",
	         "{}",
	         {0},
	         GATE_PASS,
	         "^" SERVER ": archiving works: last " WAL " " AGE " ago, 0 waiting$",
	         NULL,
	         {{"/ready", "0"}, {"/problems", "[]"}}},
		{"archiver-healthy",
	         "{}",
	         {"max_age", "/archiver/last_archived_age_s", 1000, -1},
	         GATE_FAIL,
	         "^" SERVER ": last WAL archived " AGE " ago \\(max [0-9.]+m?s\\)$",
	         NULL,
	         {{0}}},
		{"archiver-healthy",
	         "{}",
	         {"max_age", "/archiver/last_archived_age_s", 1000, 1},
	         GATE_PASS,
	         "archiving works",
	         NULL,
	         {{0}}},
		/* failed_count never resets: the times tell */
		{"archiver-failing",
	         "{}",
	         {0},
	         GATE_FAIL,
	         "^" SERVER ": archiving fails: " WAL " failed " AGE
	         " ago, after the last success \\(" WAL "\\)$",
	         NULL,
	         {{"/failed_count", "1"}}},
		{"archiver-piling",
	         "{\"max_ready\": 2, \"max_ready_age\": 1000}",
	         {0},
	         GATE_FAIL,
	         "[3-9] WAL segments waiting to be archived \\(max 2\\); oldest WAL segment "
	         "waiting to be archived is [0-9.]+s old \\(max 1s\\)$",
	         NULL,
	         {{0}}},
		{"archiver-piling",
	         "{}",
	         {"max_ready", "/ready/count", 1, -1},
	         GATE_FAIL,
	         "WAL segments? waiting to be archived \\(max [0-9]+\\)$",
	         NULL,
	         {{0}}},
		{"archiver-piling",
	         "{}",
	         {"max_ready", "/ready/count", 1, 0},
	         GATE_FAIL,
	         "archiving fails",
	         "waiting",
	         {{0}}},
		{"archiver-piling",
	         "{}",
	         {"max_ready_age", "/ready/oldest_age_s", 1000, 1},
	         GATE_FAIL,
	         "archiving fails",
	         "waiting",
	         {{0}}},
		{"archiver-healed",
	         "{}",
	         {0},
	         GATE_PASS,
	         "archiving works: last " WAL " " AGE " ago, 0 waiting$",
	         NULL,
	         {{"/problems", "[]"}}},
		{"archiver-off",
	         "{}",
	         {0},
	         GATE_FAIL,
	         "^" SERVER
	         ": archiving is off \\(archive_mode = off\\); nothing has ever been archived$",
	         NULL,
	         {{"/archive_mode", "\"off\""}}},
		/* the first query is readable, pg_ls_archive_statusdir() is not */
		{"archiver-nomonitor",
	         "{}",
	         {0},
	         GATE_ERROR,
	         "^" SERVER ": permission denied for function pg_ls_archive_statusdir \\(the role "
	         "needs pg_monitor or superuser\\)$",
	         NULL,
	         {{"/archive_mode", "\"on\""}, {"/ready", NULL}, {"/problems", "[]"}}},
	};
	run_rows(rows, N(rows));
}

static void test_slots(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"slots-healthy",
	         "{}",
	         {0},
	         GATE_PASS,
	         "^2 slots active, WAL reserved$",
	         NULL,
	         {{"/slots/0/wal_status", "\"reserved\""},
	          {"/slots/1/active", "true"},
	          {"/slots/0/judged", "true"}}},
		{"slots-healthy",
	         "{\"slots\": [\"replica1\", \"nosuch\"]}",
	         {0},
	         GATE_FAIL,
	         "^slot nosuch does not exist$",
	         NULL,
	         {{"/slots/1/judged", "false"}}},
		{"slots-inactive",
	         "{}",
	         {0},
	         GATE_FAIL,
	         "^slot replica2 is inactive \\(retaining [0-9.]+ [kMG]?i?B\\)$",
	         NULL,
	         {{"/slots/1/active", "false"}}},
		{"slots-inactive",
	         "{\"require_active\": false}",
	         {0},
	         GATE_PASS,
	         "^2 slots present, WAL reserved$",
	         NULL,
	         {{0}}},
		{"slots-inactive",
	         "{\"slots\": [\"replica1\"]}",
	         {0},
	         GATE_PASS,
	         "^1 slot active, WAL reserved$",
	         NULL,
	         {{0}}},
		{"slots-lost",
	         "{\"slots\": [\"spare\"], \"require_active\": false, \"min_safe_wal_size\": 0}",
	         {0},
	         GATE_FAIL,
	         "^slot spare: wal_status lost \\(the WAL it needs is gone\\)$",
	         NULL,
	         {{"/slots/2/wal_status", "\"lost\""}}},
		{"slots-lost",
	         "{\"slots\": [\"replica1\", \"replica2\"]}",
	         {0},
	         GATE_FAIL,
	         "^slot replica1: [0-9.]+ MB of WAL left before it is lost \\(min 1 GiB\\); slot "
	         "replica2: ",
	         NULL,
	         {{0}}},
		{"slots-lost",
	         "{\"slots\": [\"replica1\"]}",
	         {"min_safe_wal_size", "/slots/0/safe_wal_size", 1, 0},
	         GATE_PASS,
	         "^1 slot active, WAL reserved$",
	         NULL,
	         {{0}}},
		{"slots-lost",
	         "{\"slots\": [\"replica1\"]}",
	         {"min_safe_wal_size", "/slots/0/safe_wal_size", 1, 1},
	         GATE_FAIL,
	         "^slot replica1: [0-9.]+ MB of WAL left before it is lost \\(min [0-9.]+ MB\\)$",
	         NULL,
	         {{0}}},
		/* nothing to judge is not a pass */
		{"slots-none",
	         "{}",
	         {0},
	         GATE_FAIL,
	         "^" SERVER ": no physical replication slots$",
	         NULL,
	         {{"/slots", "[]"}}},
	};
	run_rows(rows, N(rows));
}

static const char *const recordings[] = {
	"replication-healthy", "replication-idle",     "replication-delayed",
	"replication-stopped", "replication-none",     "replication-walstreamer",
	"replication-sync",    "replication-standby",  "replication-nomonitor",
	"replication-refused", "replica-healthy",      "replica-paused",
	"replica-delayed",     "replica-disconnected", "replica-silent",
	"replica-primary",     "replica-nomonitor",    "replica-refused",
	"archiver-never",      "archiver-healthy",     "archiver-failing",
	"archiver-piling",     "archiver-healed",      "archiver-off",
	"archiver-nomonitor",  "slots-healthy",        "slots-inactive",
	"slots-lost",          "slots-none",
};

/* Every recording reads back to itself. */
static void test_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(recordings); i++) {
		json_t *doc = load(recordings[i]);
		struct pg_facts pf;
		char msg[256];
		if (pg_facts_from_json(doc, &pf, msg, sizeof(msg)) < 0)
			fail_msg("%s: %s", recordings[i], msg);
		json_t *back = pg_facts_to_json(&pf);
		if (!json_equal(doc, back))
			fail_msg("%s does not read back to itself", recordings[i]);
		json_decref(back);
		pg_facts_free(&pf);
		json_decref(doc);
	}
}

/* What a fetch cannot have written is refused, and judged as an error,
 * never a pass: each edit is applied to a passing recording. */
static void test_refused(void **state)
{
	(void)state;
	static const struct {
		const char *file, *pointer, *value; /* value NULL: the key removed */
		const char *why;
	} rows[] = {
		{"replication-healthy", "/type", "\"postgres.nope\"",
	         "not for a postgres check type"},
		{"replication-healthy", "/walsenders/0/state", NULL, "state is missing"},
		{"replication-healthy", "/walsenders/0/lag_bytes", "\"12\"",
	         "lag_bytes has the wrong type"},
		{"replication-healthy", "/walsenders/0/lag_bytes", "1.5",
	         "lag_bytes has the wrong type"},
		{"replication-healthy", "/walsenders/0/caught_up", "1",
	         "caught_up has the wrong type"},
		{"replication-healthy", "/walsenders/0/extra", "1", "unknown fields"},
		{"replication-healthy", "/walsenders", "{}", "walsenders is not a list"},
		{"replication-healthy", "/walsenders/0", "[]", "not an object"},
		{"replication-healthy", "/in_recovery", "\"f\"", "in_recovery is not a boolean"},
		{"replication-healthy", "/error", "\"127.0.0.1:1: boom\"", "disagree"},
		{"replication-healthy", "/sqlstate", "\"42501\"", "disagree"},
		{"replication-healthy", "/walsenders", "null", "disagree"},
		{"replication-healthy", "/server", "5", "server has the wrong type"},
		{"replication-healthy", "/note", "\"hello\"", "unknown fields"},
		{"replica-healthy", "/receiver", "null", "disagree"},
		{"replica-healthy", "/receiver/status", NULL, "status is missing"},
		{"replica-healthy", "/cluster_name", "7", "cluster_name is not a string"},
		{"replica-healthy", "/in_recovery", "null", "disagree"},
		{"archiver-healthy", "/ready", "null", "disagree"},
		{"archiver-healthy", "/ready/count", "-1.5", "count has the wrong type"},
		{"archiver-healthy", "/archiver", "7", "not an object"},
		{"slots-healthy", "/slots", NULL, "slots is missing"},
		{"slots-healthy", "/slots/0/active", "\"t\"", "active has the wrong type"},
	};
	for (size_t i = 0; i < N(rows); i++) {
		json_t *doc = load(rows[i].file);
		char parent[128];
		snprintf(parent, sizeof(parent), "%s", rows[i].pointer);
		char *slash = strrchr(parent, '/');
		const char *key = rows[i].pointer + (slash - parent) + 1;
		*slash = '\0';
		json_t *p = parent[0] ? at(doc, parent) : doc;
		assert_non_null(p);
		if (rows[i].value) {
			json_error_t je;
			json_t *v = json_loads(rows[i].value, JSON_DECODE_ANY, &je);
			assert_non_null(v);
			if (json_is_array(p))
				json_array_set_new(p, strtoul(key, NULL, 10), v);
			else
				json_object_set_new(p, key, v);
		} else {
			json_object_del(p, key);
		}
		struct gate_result res = {GATE_SKIP, "", json_object()};
		json_t *params = json_object();
		pg_judge_json(doc, params, &res);
		if (res.status != GATE_ERROR || !strstr(res.summary, rows[i].why))
			fail_msg("row %zu (%s %s): status %d, summary \"%s\"", i, rows[i].file,
			         rows[i].pointer, res.status, res.summary);
		json_decref(res.details);
		json_decref(params);
		json_decref(doc);
	}
}

/* Facts built by hand: a fetch that stopped without saying why is an
 * error too. */
static void test_incomplete(void **state)
{
	(void)state;
	for (int t = 0; t < 4; t++) {
		struct pg_facts pf;
		pg_facts_init(&pf, (enum pg_type)t);
		struct gate_result res = {GATE_SKIP, "", json_object()};
		json_t *params = json_object();
		pg_judge(&pf, params, &res);
		assert_int_equal(res.status, GATE_ERROR);
		assert_string_equal(res.summary, "postgres: incomplete facts");
		json_decref(params);
		json_decref(res.details);
		pg_facts_free(&pf);
	}
}

static void test_samples_fit(void **state)
{
	(void)state;
	static const struct {
		int64_t samples, interval, left;
		int fit;
	} rows[] = {
		{1, 2000, 100, 1}, /* one sample needs no interval */
		{1, 2000, -5, 1},
		{3, 500, 9700, 1},
		{3, 500, 1000, 0}, /* two intervals: exactly the time left is too much */
		{3, 500, 1001, 1},
		{2, 0, 1, 1},
		{2, 0, 0, 0},            /* no time left at all */
		{2, -10, 5, 1},          /* a negative interval counts as 0 */
		{INT64_MAX, 1, 9700, 0}, /* no overflow */
		{INT64_MAX, INT64_MAX, INT64_MAX, 0},
	};
	for (size_t i = 0; i < N(rows); i++)
		if (pg_samples_fit(rows[i].samples, rows[i].interval, rows[i].left) != rows[i].fit)
			fail_msg("row %zu", i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replication), cmocka_unit_test(test_replica),
		cmocka_unit_test(test_archiver),    cmocka_unit_test(test_slots),
		cmocka_unit_test(test_round_trip),  cmocka_unit_test(test_refused),
		cmocka_unit_test(test_incomplete),  cmocka_unit_test(test_samples_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
