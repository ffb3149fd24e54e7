/* SPDX-License-Identifier: MIT */
/* The pure parts of the scratch server (checks/lib/pgscratch.h), table by
 * table: the free-space arithmetic; the reason a server gave, from
 * server logs recorded from real runs of PostgreSQL 15 on a pgBackRest
 * 2.45 restore (tests/data/recorded/rehearse/server-log/, re-recorded by
 * tests/tools/record-rehearse.sh); the probes' shape, values as libpq
 * gives them, expectations and labels. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/pgscratch.h"

static char *slurp(const char *name)
{
	const char *src = getenv("GATE_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/recorded/rehearse/server-log/%s",
	         src ? src : ".", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (tests/tools/record-rehearse.sh records it)", path);
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	do {
		if (len + 4096 + 1 > cap)
			buf = realloc(buf, cap = (cap + 4096) * 2);
		assert_non_null(buf);
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void test_space(void **state)
{
	(void)state;
	static const struct {
		uint64_t avail, need;
		int ok;
		const char *msg;
	} rows[] = {
		/* the margin is 64 MiB below 640 MiB */
		{64 * MiB, 0, 1, ""},
		{64 * MiB - 1, 0, 0,
	         "scratch filesystem /var/tmp has 64.0 MiB free; the restore needs 0 B plus 64.0 "
	         "MiB"},
		{100 * MiB + 64 * MiB, 100 * MiB, 1, ""},
		{100 * MiB + 64 * MiB - 1, 100 * MiB, 0,
	         "scratch filesystem /var/tmp has 164.0 MiB free; the restore needs 100.0 MiB plus "
	         "64.0 MiB"},
		/* and 10% above */
		{11 * GiB, 10 * GiB, 1, ""},
		{11 * GiB - 1, 10 * GiB, 0,
	         "scratch filesystem /var/tmp has 11.0 GiB free; the restore needs 10.0 GiB plus "
	         "1.00 GiB"},
		{(uint64_t)(1.2 * GiB), (uint64_t)(3.4 * GiB), 0,
	         "scratch filesystem /var/tmp has 1.20 GiB free; the restore needs 3.40 GiB plus "
	         "348.2 MiB"},
		/* no overflow at the top */
		{UINT64_MAX, UINT64_MAX, 0,
	         "scratch filesystem /var/tmp has 16.0 EiB free; the restore needs 16.0 EiB plus "
	         "1.60 EiB"},
		{UINT64_MAX, UINT64_MAX - UINT64_MAX / 10, 1, ""},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char msg[256] = "";
		int r = pgscratch_space_check("/var/tmp", rows[i].avail, rows[i].need, msg,
		                              sizeof(msg));
		if ((r == 0) != rows[i].ok || strcmp(msg, rows[i].msg))
			fail_msg("row %zu: %d '%s'", i, r, msg);
	}
	assert_int_equal(pgscratch_margin(0), 64 * MiB);
	assert_int_equal(pgscratch_margin(10 * GiB), GiB);
}

static void test_log_recorded(void **state)
{
	(void)state;
	static const struct {
		const char *file, *want;
	} rows[] = {
		{"missing-wal.log",
	         "did not reach a consistent state: FATAL: recovery ended before "
	         "configured recovery target was reached"},
		{"no-restore-cmd.log", "did not reach a consistent state: FATAL: must specify "
	                               "restore_command when standby mode is not enabled"},
		{"bad-setting.log", "did not start: FATAL: -5 is outside the valid range for "
	                            "parameter \"max_connections\" (1 .. 262143)"},
		/* a log of a good run has only refused connections: its last line */
		{"ok.log", NULL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *log = slurp(rows[i].file);
		char msg[512];
		pgscratch_log_reason(log, msg, sizeof(msg));
		if (rows[i].want && strcmp(msg, rows[i].want))
			fail_msg("%s: '%s'", rows[i].file, msg);
		if (!rows[i].want && (strstr(msg, "FATAL") ||
		                      strncmp(msg, "did not reach a consistent state: ", 34)))
			fail_msg("%s: '%s'", rows[i].file, msg);
		free(log);
	}
}

static void test_log_edges(void **state)
{
	(void)state;
	static const struct {
		const char *log, *want;
	} rows[] = {
		{NULL, "did not start: it exited and its log says nothing"},
		{"", "did not start: it exited and its log says nothing"},
		{"\n \n\t\n", "did not start: it exited and its log says nothing"},
		{"postgres: invalid argument: \"-x\"\nTry \"postgres --help\" for more "
	         "information.\n",
	         "did not start: Try \"postgres --help\" for more information."},
		{"2026-11-28 [1] PANIC:  could not locate a valid checkpoint record\n"
	         "2026-11-28 [1] LOG:  database system was interrupted; last known up at x\n",
	         "did not reach a consistent state: PANIC: could not locate a valid checkpoint "
	         "record"},
		/* refused connections are not the reason; the first real one is */
		{"x [2] FATAL:  the database system is starting up\n"
	         "x [3] FATAL:  the database system is shutting down\n"
	         "x [1] LOG:  redo starts at 0/1\n"
	         "x [1] FATAL:  first\n"
	         "x [1] FATAL:  second\n",
	         "did not reach a consistent state: FATAL: first"},
		/* control characters in a log line are shown, not passed on */
		{"x FATAL:  bad \x1b[31mred\r\n", "did not start: FATAL: bad \\x1b[31mred"},
		/* no newline at the end; a CRLF log */
		{"x FATAL:  end", "did not start: FATAL: end"},
		{"x FATAL:  crlf\r\nnext\r\n", "did not start: FATAL: crlf"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char msg[256];
		pgscratch_log_reason(rows[i].log, msg, sizeof(msg));
		if (strcmp(msg, rows[i].want))
			fail_msg("row %zu: '%s'", i, msg);
	}
	/* a message longer than the buffer is cut, NUL-terminated */
	char small[20];
	pgscratch_log_reason("x FATAL:  a long reason indeed", small, sizeof(small));
	assert_string_equal(small, "did not start: FATA");
}

static void test_values(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		unsigned oid;
		const char *json;
	} rows[] = {
		{NULL, 23, "null"},
		{"t", 16, "true"},
		{"f", 16, "false"},
		{"x", 16, "\"x\""},
		{"1200", 20, "1200"},
		{"-5", 21, "-5"},
		{"9223372036854775807", 20, "9223372036854775807"},
		/* a numeric beyond int64 becomes a real */
		{"99999999999999999999", 1700, "1e20"},
		{"12.50", 1700, "12.5"},
		{"NaN", 1700, "\"NaN\""},
		{"Infinity", 701, "\"Infinity\""},
		{"1200", 25, "\"1200\""},
		{"{\"a\": [1, 2]}", 3802, "{\"a\": [1, 2]}"},
		{"{bad", 114, "\"{bad\""},
		{"2026-11-28 10:00:00+00", 1184, "\"2026-11-28 10:00:00+00\""},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *v = pgscratch_probe_value(rows[i].text, rows[i].oid);
		char *s = json_dumps(v, JSON_ENCODE_ANY);
		if (strcmp(s, rows[i].json))
			fail_msg("row %zu: %s", i, s);
		free(s);
		json_decref(v);
	}
	/* text that is not UTF-8 is kept, escaped */
	json_t *v = pgscratch_probe_value("caf\xe9", 25);
	assert_string_equal(json_string_value(v), "caf\\xe9");
	json_decref(v);
}

static void test_judge(void **state)
{
	(void)state;
	static const struct {
		const char *probe, *value; /* value NULL: no row */
		int ok;
		const char *why;
	} rows[] = {
		{"{\"sql\": \"s\", \"min\": 1000}", "1200", 1, ""},
		{"{\"sql\": \"s\", \"min\": 1000}", "1000", 1, ""},
		{"{\"sql\": \"s\", \"min\": 1000}", "0", 0, "0 is below min 1000"},
		{"{\"sql\": \"s\", \"max\": 5}", "6", 0, "6 is above max 5"},
		{"{\"sql\": \"s\", \"min\": 1, \"max\": 5}", "5", 1, ""},
		{"{\"sql\": \"s\", \"min\": 0.5}", "0.25", 0, "0.25 is below min 0.5"},
		{"{\"sql\": \"s\", \"min\": 1}", "\"12\"", 1, ""},
		{"{\"sql\": \"s\", \"min\": 1}", "\"abc\"", 0, "'abc' is not a number"},
		{"{\"sql\": \"s\", \"min\": 1}", "null", 0, "NULL is not a number"},
		{"{\"sql\": \"s\", \"min\": 1}", NULL, 0, "returned no row"},
		/* int64 compared exactly, not as doubles */
		{"{\"sql\": \"s\", \"max\": 9007199254740992}", "9007199254740993", 0,
	         "9007199254740993 is above max 9007199254740992"},
		{"{\"sql\": \"s\", \"equals\": true}", "true", 1, ""},
		{"{\"sql\": \"s\", \"equals\": true}", "false", 0, "false is not true"},
		{"{\"sql\": \"s\", \"equals\": true}", "\"t\"", 1, ""},
		{"{\"sql\": \"s\", \"equals\": false}", "\"x\"", 0,
	         "'x' is not a boolean (equals false)"},
		{"{\"sql\": \"s\", \"equals\": true}", "null", 0, "NULL is not true"},
		{"{\"sql\": \"s\", \"equals\": null}", "null", 1, ""},
		{"{\"sql\": \"s\", \"equals\": null}", "0", 0, "0 is not NULL"},
		{"{\"sql\": \"s\", \"equals\": 3}", "3.0", 1, ""},
		{"{\"sql\": \"s\", \"equals\": 3}", "\"3\"", 1, ""},
		{"{\"sql\": \"s\", \"equals\": 3}", "\"three\"", 0,
	         "'three' is not a number (equals 3)"},
		{"{\"sql\": \"s\", \"equals\": \"UTF8\"}", "\"UTF8\"", 1, ""},
		{"{\"sql\": \"s\", \"equals\": \"UTF8\"}", "\"SQL_ASCII\"", 0,
	         "'SQL_ASCII' is not 'UTF8'"},
		{"{\"sql\": \"s\", \"equals\": \"1\"}", "1", 0, "1 is not '1'"},
		{"{\"sql\": \"s\", \"equals\": [1, 2]}", "[1, 2]", 1, ""},
		{"{\"sql\": \"s\"}", "null", 1, ""},
		{"{\"sql\": \"s\"}", NULL, 0, "returned no row"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *p = json_loads(rows[i].probe, 0, NULL);
		json_t *v = rows[i].value ? json_loads(rows[i].value, JSON_DECODE_ANY, NULL) : NULL;
		assert_non_null(p);
		char why[256] = "";
		int ok = pgscratch_probe_judge(p, v, why, sizeof(why));
		if (ok != rows[i].ok || strcmp(why, rows[i].why))
			fail_msg("row %zu: %d '%s'", i, ok, why);
		json_decref(p);
		json_decref(v);
	}
}

static void test_validate(void **state)
{
	(void)state;
	static const struct {
		const char *probes, *err; /* err NULL: valid */
	} rows[] = {
		{"[]", NULL},
		{"[{\"sql\": \"select 1\"}]", NULL},
		{"[{\"sql\": \"s\", \"name\": \"a\", \"database\": \"d\", \"min\": 1, \"max\": 2}]",
	         NULL},
		{"[{\"sql\": \"s\", \"equals\": null}]", NULL},
		{"{\"sql\": \"s\"}", "must be a list of probes ({sql: ..., min: ...})"},
		{"[\"select 1\"]",
	         "probe 1: must be a mapping with sql (and name, database, min, max or equals)"},
		{"[{\"name\": \"x\"}]", "probe 1: sql must be a non-empty string"},
		{"[{\"sql\": \"  \\n\"}]", "probe 1: sql must be a non-empty string"},
		{"[{\"sql\": 5}]", "probe 1: sql must be a non-empty string"},
		{"[{\"sql\": \"s\"}, {\"sql\": \"s\", \"minimum\": 1}]",
	         "probe 2: unknown key 'minimum' (sql, name, database, min, max, equals)"},
		{"[{\"sql\": \"s\", \"min\": \"1000\"}]", "probe 1: min must be a number"},
		{"[{\"sql\": \"s\", \"name\": \"\"}]", "probe 1: name must be a non-empty string"},
		{"[{\"sql\": \"s\", \"database\": 3}]",
	         "probe 1: database must be a non-empty string"},
		{"[{\"sql\": \"s\", \"equals\": 1, \"min\": 0}]",
	         "probe 1: equals cannot be combined with min or max"},
		{"[{\"sql\": \"s\", \"min\": 5, \"max\": 1}]", "probe 1: min is above max"},
		{"[{\"sql\": \"s\", \"name\": \"a\"}, {\"sql\": \"t\", \"name\": \"a\"}]",
	         "probe 2: name 'a' is used twice"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *p = json_loads(rows[i].probes, JSON_DECODE_ANY, NULL);
		assert_non_null(p);
		char msg[256] = "";
		int r = pgscratch_probes_validate(p, msg, sizeof(msg));
		if (rows[i].err ? r == 0 || strcmp(msg, rows[i].err) : r != 0)
			fail_msg("row %zu: %d '%s'", i, r, msg);
		json_decref(p);
	}
	char msg[64];
	assert_int_equal(pgscratch_probes_validate(NULL, msg, sizeof(msg)), 0);
}

static void test_label_expect(void **state)
{
	(void)state;
	static const struct {
		const char *probe;
		size_t index;
		const char *label, *expect;
	} rows[] = {
		{"{\"sql\": \"select count(*) from accounts\", \"name\": \"accounts\", \"min\": "
	         "1000}",
	         0, "probe 'accounts' (select count(*) from accounts)", "{\"min\": 1000}"},
		{"{\"sql\": \"\\n  select 1\\n  from t\", \"equals\": null}", 2,
	         "probe 3 (select 1   from t)", "{\"equals\": null}"},
		{"{\"sql\": \"select "
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	         "aaaaaa"
	         "\"}",
	         0,
	         "probe 1 (select "
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...)",
	         "null"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *p = json_loads(rows[i].probe, 0, NULL);
		assert_non_null(p);
		char label[256];
		pgscratch_probe_label(p, rows[i].index, label, sizeof(label));
		if (strcmp(label, rows[i].label))
			fail_msg("row %zu: '%s'", i, label);
		json_t *e = pgscratch_probe_expect(p);
		char *s = json_dumps(e, JSON_ENCODE_ANY);
		if (strcmp(s, rows[i].expect))
			fail_msg("row %zu: %s", i, s);
		free(s);
		json_decref(e);
		json_decref(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_space),        cmocka_unit_test(test_log_recorded),
		cmocka_unit_test(test_log_edges),    cmocka_unit_test(test_values),
		cmocka_unit_test(test_judge),        cmocka_unit_test(test_validate),
		cmocka_unit_test(test_label_expect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
