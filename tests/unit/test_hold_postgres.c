/* SPDX-License-Identifier: MIT */
/* The postgres lock kind's pure parts (holds/lock_postgres_judge.c), on
 * answers recorded from a real PostgreSQL 15 while the lock was free and
 * held (tests/data/recorded/holds/postgres/, re-recorded by
 * tests/tools/record-hold-postgres.sh): the key's id against the id the
 * server computes with its own SHA-256, and against the classid/objid
 * pg_locks showed; the holder text that fits application_name, against
 * what pg_stat_activity kept of it, and read back; who holds the lock,
 * from the holders query's answers; and answers that do not read. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lock_postgres_judge.h"

static char *slurp(const char *name)
{
	const char *src = getenv("GATE_SOURCE_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/data/recorded/holds/postgres/%s", src ? src : ".",
	         name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

static json_t *load(const char *name)
{
	char *s = slurp(name);
	json_error_t je;
	json_t *doc = json_loads(s, 0, &je);
	free(s);
	if (!doc)
		fail_msg("%s: %s", name, je.text);
	return doc;
}

/* ---- the key ---- */

static void test_key_ids_as_the_server_computes_them(void **state)
{
	(void)state;
	json_t *keys = load("keys.json"), *k;
	size_t i;
	assert_true(json_array_size(keys) >= 5);
	json_array_foreach(keys, i, k) {
		int64_t id = 0;
		char text[32];
		assert_int_equal(pglock_key_id(json_string_value(json_object_get(k, "key")), &id),
		                 0);
		snprintf(text, sizeof(text), "%lld", (long long)id);
		assert_string_equal(text, json_string_value(json_object_get(k, "lock_id")));
	}
	json_decref(keys);
}

/* classid/objid as pg_locks showed them for a positive and a negative id */
static void test_key_parts_as_pg_locks_shows_them(void **state)
{
	(void)state;
	static const struct {
		int64_t id;
		uint32_t classid, objid;
	} rows[] = {
		{2637523337833686647LL, 614096256u, 1717642871u},
		{-6066691085683302405LL, 2882455705u, 2882625531u},
		{-1, 4294967295u, 4294967295u},
		{1, 0, 1},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint32_t c, o;
		pglock_key_parts(rows[i].id, &c, &o);
		assert_int_equal(c, rows[i].classid);
		assert_int_equal(o, rows[i].objid);
	}
	char *sql = pglock_holders_sql(-6066691085683302405LL);
	assert_non_null(strstr(sql, "l.classid = 2882455705::oid AND l.objid = 2882625531::oid"));
	free(sql);
}

/* ---- the holder text ---- */

#define SINCE 1795897860000LL /* 2026-11-28T20:31:00Z */

static const struct {
	const char *runbook, *user, *host;
	long pid;
	const char *want;
} names[] = {
	{"upgrade", "root", "db1", 42,
         "gate: upgrade by root@db1 pid 42 since 2026-11-28T20:31:00Z"},
	/* the host to its first label first */
	{"upgrade", "root", "db1.eu-west.example.com", 42,
         "gate: upgrade by root@db1 pid 42 since 2026-11-28T20:31:00Z"},
	/* a name that starts with a dot has no first label to keep */
	{"pg-major-upgrade", "alice", ".b-pr~", 123456,
         "gate: pg-maj~ by alice@.b-pr~ pid 123456 since 20261128T203100Z"},
	/* an address keeps its dots; then the basic time; then cuts */
	{"upgrade", "root", "192.168.1.2", 42,
         "gate: upgrade by root@192.168.1.2 pid 42 since 20261128T203100Z"},
	{"upgrade", "root", "192.168.100.200", 4194304,
         "gate: upgra~ by root@192.16~ pid 4194304 since 20261128T203100Z"},
	/* then the longest field, '~' where it was cut */
	{"pg-major-upgrade", "alice", "db-prod-03.eu-west.example.com", 1234567,
         "gate: pg-ma~ by alice@db-pr~ pid 1234567 since 20261128T203100Z"},
	/* one '?' per character that is not printable ASCII; ' ' and '@'
	 * in a user or host name too */
	{"été", "a b@c", "h", 7, "gate: ?t? by a?b?c@h pid 7 since 2026-11-28T20:31:00Z"},
	{"", "", "", 1, "gate: ? by ?@? pid 1 since 2026-11-28T20:31:00Z"},
};

static void test_appname_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct hold_who w = {names[i].runbook, names[i].user, names[i].host, names[i].pid,
		                     SINCE};
		char *s = pglock_appname(&w);
		assert_string_equal(s, names[i].want);
		free(s);
	}
}

/* Whatever goes in, what comes out fits, is printable ASCII, and reads
 * back to the same pid and time (and the same names when nothing was cut). */
static void test_appname_fits_and_reads_back(void **state)
{
	(void)state;
	static const char *const long_text =
		"a-very-long-name-that-goes-on-and-on-and-on-and-on-and-on-and-on-and-on";
	const char *const vals[] = {"r", "upgrade", "é€😀 mixed", long_text, "x by y", "a@b"};
	const long pids[] = {1, 4194304, 2147483647};
	size_t nv = sizeof(vals) / sizeof(vals[0]);
	for (size_t a = 0; a < nv; a++)
		for (size_t b = 0; b < nv; b++)
			for (size_t c = 0; c < nv; c++)
				for (size_t p = 0; p < 3; p++) {
					struct hold_who w = {vals[a], vals[b], vals[c], pids[p],
					                     SINCE};
					char *s = pglock_appname(&w), *buf;
					assert_true(strlen(s) <= PGLOCK_APPNAME_MAX);
					for (const char *q = s; *q; q++)
						assert_true(*q >= 0x20 && *q <= 0x7e);
					struct hold_who r;
					assert_int_equal(pglock_appname_parse(s, &r, &buf), 0);
					assert_int_equal(r.pid, pids[p]);
					assert_int_equal(r.since_ms, SINCE);
					if (a == 1 && b == 0 && c == 0)
						assert_string_equal(r.runbook, "upgrade");
					free(buf);
					free(s);
				}
}

/* What pg_stat_activity kept: printable ASCII up to 63 bytes exactly as
 * sent (so the holder text survives the trip), anything else changed. */
static void test_appname_as_the_server_keeps_it(void **state)
{
	(void)state;
	json_t *rows = load("appname.json"), *r;
	size_t i, same = 0, changed = 0;
	json_array_foreach(rows, i, r) {
		const char *sent = json_string_value(json_object_get(r, "sent"));
		const char *stored = json_string_value(json_object_get(r, "stored"));
		int ascii = 1;
		for (const char *q = sent; *q; q++)
			ascii = ascii && *q >= 0x20 && *q <= 0x7e;
		if (ascii && strlen(sent) <= PGLOCK_APPNAME_MAX) {
			assert_string_equal(stored, sent);
			same++;
		} else {
			assert_string_not_equal(stored, sent);
			assert_true(strlen(stored) <= PGLOCK_APPNAME_MAX);
			changed++;
		}
	}
	assert_true(same >= 2 && changed >= 2);
	json_decref(rows);
}

static void test_appname_parse_refuses(void **state)
{
	(void)state;
	static const char *const bad[] = {
		NULL,
		"psql",
		"gate:",
		"gate: upgrade",
		"gate: upgrade by root@db1 pid 42",
		"gate: upgrade by root@db1 pid 42 since 2026-11-28T20:31:00",
		"gate: upgrade by root@db1 pid 42 since 2026-13-28T20:31:00Z",
		"gate: upgrade by root@db1 pid 42 since 1969-12-31T23:59:59Z",
		"gate: upgrade by root@db1 pid x2 since 2026-11-28T20:31:00Z",
		"gate: upgrade by root@db1 pid 12345678901 since 2026-11-28T20:31:00Z",
		"gate:  by root@db1 pid 42 since 2026-11-28T20:31:00Z",
		"gate: upgrade by @db1 pid 42 since 2026-11-28T20:31:00Z",
		"gate: upgrade by root@ pid 42 since 2026-11-28T20:31:00Z",
		"gate: upgrade root@db1 pid 42 since 2026-11-28T20:31:00Z",
		"Gate: upgrade by root@db1 pid 42 since 2026-11-28T20:31:00Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hold_who w;
		char *buf = (char *)1;
		assert_int_equal(pglock_appname_parse(bad[i], &w, &buf), -1);
		assert_null(buf);
	}
	/* a text cut anywhere by someone else is refused, never misread */
	const char *good = names[0].want;
	char cut[80];
	for (size_t n = 0; n < strlen(good); n++) {
		struct hold_who w;
		char *buf;
		snprintf(cut, sizeof(cut), "%.*s", (int)n, good);
		assert_int_equal(pglock_appname_parse(cut, &w, &buf), -1);
	}
}

/* ---- who holds it ---- */

static const struct {
	const char *file;
	enum hold_state want;
	const char *holder; /* ERE */
} holders[] = {
	{"holders-none.json", HOLD_TAKEN, NULL},
	{"holders-gate.json", HOLD_BUSY,
         "^gate-hold by [^ ]+@[^ ]+ pid [0-9]+ since 20[0-9-]{8}T[0-9:]{8}Z$"},
	/* a role without privileges still sees application_name */
	{"holders-gate-plain.json", HOLD_BUSY,
         "^gate-hold by [^ ]+@[^ ]+ pid [0-9]+ since 20[0-9-]{8}T[0-9:]{8}Z$"},
	/* cut to fit: how much depends on the pid's and the host's lengths */
	{"holders-gate-cut.json", HOLD_BUSY,
         "^gate-h[a-z-]*~? by a-[a-z-]*~@[^ ]+ pid [0-9]+ since 20[0-9-]{8}T[0-9:]{8}Z$"},
	{"holders-psql.json", HOLD_BUSY,
         "^an unknown holder \\(pid [0-9]+ on the server, from 127\\.0\\.0\\.1, "
         "application_name \"psql\"\\)$"},
	{"holders-psql-plain.json", HOLD_BUSY,
         "^an unknown holder \\(pid [0-9]+ on the server, from an address this role may not "
         "see, application_name \"psql\"\\)$"},
	{"holders-socket.json", HOLD_BUSY,
         "^an unknown holder \\(pid [0-9]+ on the server, from "
         "the local socket, application_name \"psql\"\\)$"},
	{"holders-shared.json", HOLD_BUSY,
         "^an unknown holder \\(pid [0-9]+ on the server, from 127\\.0\\.0\\.1, "
         "application_name \"reader one\"\\) and 1 more$"},
};

static void test_judge_recorded(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(holders) / sizeof(holders[0]); i++) {
		char *answer = slurp(holders[i].file), *holder, *message;
		json_t *details;
		enum hold_state st = pglock_judge_holders(answer, &holder, &message, &details);
		if (st != holders[i].want)
			fail_msg("%s: state %d, want %d", holders[i].file, st, holders[i].want);
		assert_null(message);
		assert_true(json_is_array(details));
		if (holders[i].holder) {
			regex_t re;
			assert_int_equal(regcomp(&re, holders[i].holder, REG_EXTENDED | REG_NOSUB),
			                 0);
			if (!holder || regexec(&re, holder, 0, NULL, 0))
				fail_msg("%s: holder '%s'", holders[i].file,
				         holder ? holder : "(null)");
			regfree(&re);
		} else {
			assert_null(holder);
		}
		free(holder);
		free(answer);
		json_decref(details);
	}
}

static void test_judge_refuses(void **state)
{
	(void)state;
	static const char *const bad[] = {
		NULL,
		"",
		"null",
		"{}",
		"[1]",
		"[{\"pid\": \"12\"}]",
		"[{\"pid\": 12, \"application_name\": 5}]",
		"[{\"pid\": 12, \"client_addr\": 1}]",
		"[{\"pid\": 12, \"client_port\": \"5432\"}]",
		"[{\"pid\": 1, \"pid\": 2}]",
		"[{\"pid\": 1}]", /* every column is there, NULL or not */
		"[] x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *holder, *message;
		json_t *details;
		assert_int_equal(pglock_judge_holders(bad[i], &holder, &message, &details),
		                 HOLD_ERROR);
		assert_null(holder);
		assert_null(details);
		assert_non_null(message);
		free(message);
	}
	/* a prepared transaction holds it without a session */
	char *holder, *message;
	json_t *details;
	assert_int_equal(pglock_judge_holders("[{\"pid\": null, \"application_name\": null, "
	                                      "\"client_addr\": null, \"client_port\": null}]",
	                                      &holder, &message, &details),
	                 HOLD_BUSY);
	assert_string_equal(holder, "an unknown holder (a prepared transaction, no session)");
	free(holder);
	json_decref(details);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_ids_as_the_server_computes_them),
		cmocka_unit_test(test_key_parts_as_pg_locks_shows_them),
		cmocka_unit_test(test_appname_table),
		cmocka_unit_test(test_appname_fits_and_reads_back),
		cmocka_unit_test(test_appname_as_the_server_keeps_it),
		cmocka_unit_test(test_appname_parse_refuses),
		cmocka_unit_test(test_judge_recorded),
		cmocka_unit_test(test_judge_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
