/* SPDX-License-Identifier: MIT */
/* The maintenance kinds' pure parts (holds/maint_judge.h) against answers
 * recorded from the real servers the scenario tests start: Patroni 3.0.2
 * on etcd with PostgreSQL 15, Alertmanager 0.25
 * (tests/data/recorded/holds/, re-recorded by tests/tools/record-holds.sh),
 * and the bodies gate sends.  Rows of {recording or text, expected}. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "holds/maint_judge.h"

struct blob {
	char *data;
	size_t len;
};

/* A recording, byte for byte ("=TEXT" stands for TEXT itself). */
static struct blob load(const char *rel)
{
	struct blob b = {0};
	if (rel[0] == '=') {
		b.len = strlen(rel + 1);
		b.data = strdup(rel + 1);
		return b;
	}
	const char *src = getenv("GATE_SOURCE_DIR");
	char *p;
	if (asprintf(&p, "%s/tests/data/recorded/holds/%s", src ? src : ".", rel) < 0)
		abort();
	FILE *f = fopen(p, "rb");
	if (!f)
		fail_msg("cannot open %s", p);
	b.data = malloc(1 << 20);
	b.len = fread(b.data, 1, (1 << 20) - 1, f);
	b.data[b.len] = '\0';
	fclose(f);
	free(p);
	return b;
}

/* The HTTP status recorded beside NAME.json / NAME.txt. */
static long status_of(const char *rel)
{
	const char *dot = strrchr(rel, '.');
	char *s;
	if (!dot || asprintf(&s, "%.*s.status", (int)(dot - rel), rel) < 0)
		abort();
	struct blob b = load(s);
	long st = strtol(b.data, NULL, 10);
	free(b.data);
	free(s);
	return st;
}

static void expect_err(const char *what, const char *err, const char *want)
{
	if (!strstr(err, want))
		fail_msg("%s: message \"%s\" lacks \"%s\"", what, err, want);
}

/* ---- shared ---- */

static void test_answer_text(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t outlen;
		const char *want;
	} rows[] = {
		{"", 64, "(empty)"},
		{" \r\n\t", 64, "(empty)"},
		{"  <!DOCTYPE HTML>\n<html>", 64, "(an HTML page)"},
		{"no auth header received\nmore", 64, "no auth header received"},
		{"a\tb\x01"
	         "c",
	         64, "a?b?c"},
		{"abcdef", 4, "abc"},
		{"ab\xc3\xa9zz", 4, "ab"}, /* é cut in two: dropped whole */
		{"ab\xc3\xa9zz", 5, "ab\xc3\xa9"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char out[64];
		maint_answer_text(rows[i].in, strlen(rows[i].in), out, rows[i].outlen);
		if (strcmp(out, rows[i].want))
			fail_msg("row %zu: \"%s\", want \"%s\"", i, out, rows[i].want);
	}
}

/* ---- Patroni ---- */

static void test_patroni_pause_state(void **state)
{
	(void)state;
	static const struct {
		const char *rec;
		int want;
		const char *err;
	} rows[] = {
		{"patroni/cluster-unpaused.json", 0, NULL},
		{"patroni/cluster-paused.json", 1, NULL},
		{"patroni/cluster-resumed.json", 0, NULL},
		/* the /config answer is not a /cluster answer */
		{"patroni/config-pause.json", -1, "lists no members"},
		{"patroni/config-not-json.txt", -1, "not a JSON object: (an HTML page)"},
		{"=", -1, "not a JSON object: (empty)"},
		{"=[]", -1, "not a JSON object"},
		{"={\"members\": [], \"pause\": \"yes\"}", -1, "pause is not true or false"},
		{"={\"members\": [], \"pause\": false}", 0, NULL},
		{"={\"members\": {}, \"pause\": true}", -1, "lists no members"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct blob b = load(rows[i].rec);
		char err[300] = "";
		int got = patroni_pause_state(b.data, b.len, err, sizeof(err));
		if (got != rows[i].want)
			fail_msg("%s: %d, want %d (%s)", rows[i].rec, got, rows[i].want, err);
		if (rows[i].err)
			expect_err(rows[i].rec, err, rows[i].err);
		free(b.data);
	}
}

static void test_patroni_config(void **state)
{
	(void)state;
	static const struct {
		const char *rec;
		long status;
		int want;
		const char *err;
	} rows[] = {
		{"patroni/config-pause.json", 200, 1, NULL},
		{"patroni/config-pause-again.json", 200, 1, NULL},
		{"patroni/config-resume.json", 200, 0, NULL},
		{"patroni/config-not-json.txt", 400, -1, "(an HTML page)"},
		{"={\"ttl\": 10, \"pause\": false}", 0, 0, NULL},
		{"={\"ttl\": 10, \"pause\": 1}", 0, -1, "not true, false or null"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct blob b = load(rows[i].rec);
		char err[300] = "";
		if (rows[i].status)
			assert_int_equal(status_of(rows[i].rec), rows[i].status);
		int got = patroni_config_pause(b.data, b.len, err, sizeof(err));
		if (got != rows[i].want)
			fail_msg("%s: %d, want %d (%s)", rows[i].rec, got, rows[i].want, err);
		if (rows[i].err)
			expect_err(rows[i].rec, err, rows[i].err);
		free(b.data);
	}
	/* What patronictl sends: null removes the key (resume). */
	assert_string_equal(patroni_pause_body(1), "{\"pause\": true}");
	assert_string_equal(patroni_pause_body(0), "{\"pause\": null}");
}

static void test_patroni_undo(void **state)
{
	(void)state;
	json_t *u = patroni_undo(1, "http://a:***@h:8008");
	char *s = json_dumps(u, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"resume\":true,\"url\":\"http://a:***@h:8008\"}");
	assert_int_equal(patroni_undo_resume(u), 1);
	free(s);
	json_decref(u);
	u = patroni_undo(0, NULL);
	assert_int_equal(patroni_undo_resume(u), 0);
	json_decref(u);
	static const char *const bad[] = {"{}", "{\"resume\": \"yes\"}", "{\"resume\": 1}", "[]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		assert_int_equal(patroni_undo_resume(j), -1);
		json_decref(j);
	}
	assert_int_equal(patroni_undo_resume(NULL), -1);
}

/* ---- Alertmanager ---- */

static void test_am_matchers(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *want; /* compact JSON, or NULL with err */
		const char *err;
	} rows[] = {
		{"alertname=\"Foo\"",
	         "{\"name\":\"alertname\",\"value\":\"Foo\",\"isRegex\":false,\"isEqual\":true}",
	         NULL},
		{"alertname=Foo",
	         "{\"name\":\"alertname\",\"value\":\"Foo\",\"isRegex\":false,\"isEqual\":true}",
	         NULL},
		{" team != \"db\" ",
	         "{\"name\":\"team\",\"value\":\"db\",\"isRegex\":false,\"isEqual\":false}", NULL},
		{"severity=~\"warn|crit\"",
	         "{\"name\":\"severity\",\"value\":\"warn|crit\",\"isRegex\":true,\"isEqual\":"
	         "true}",
	         NULL},
		{"job!~x.*",
	         "{\"name\":\"job\",\"value\":\"x.*\",\"isRegex\":true,\"isEqual\":false}", NULL},
		{"a=\"q\\\"uo\\\\te\"",
	         "{\"name\":\"a\",\"value\":\"q\\\"uo\\\\te\",\"isRegex\":false,\"isEqual\":true}",
	         NULL},
		{"_x=", "{\"name\":\"_x\",\"value\":\"\",\"isRegex\":false,\"isEqual\":true}",
	         NULL},
		{"=foo", NULL, "expected a label name"},
		{"1a=foo", NULL, "expected a label name"},
		{"a-b=foo", NULL, "expected a label name"},
		{"alertname", NULL, "expected =, !=, =~ or !~"},
		{"alertname~foo", NULL, "expected =, !=, =~ or !~"},
		{"a=\"open", NULL, "not closed"},
		{"a=\"x\" y", NULL, "text after it"},
		/* As Alertmanager 0.25: another escape keeps its backslash
		 * (a regex's \. reaches the regex), a bare value may not hold
		 * a quote. */
		{"a=\"\\t\"",
	         "{\"name\":\"a\",\"value\":\"\\\\t\",\"isRegex\":false,\"isEqual\":true}", NULL},
		{"instance=~\"db1\\.example\"",
	         "{\"name\":\"instance\",\"value\":\"db1\\\\.example\",\"isRegex\":true,"
	         "\"isEqual\":true}",
	         NULL},
		{"a=x\\", "{\"name\":\"a\",\"value\":\"x\\\\\",\"isRegex\":false,\"isEqual\":true}",
	         NULL},
		{"a=x\"y", NULL, "a double quote inside a bare value"},
		{"a=\"x\\\"", NULL, "not closed"},
		{"a=\xff", NULL, "not valid UTF-8"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *m = NULL;
		char err[300] = "";
		int rc = am_matcher_parse(rows[i].in, &m, err, sizeof(err));
		if (!rows[i].want) {
			if (rc == 0)
				fail_msg("'%s' parsed", rows[i].in);
			expect_err(rows[i].in, err, rows[i].err);
			assert_null(m);
			continue;
		}
		if (rc < 0)
			fail_msg("'%s': %s", rows[i].in, err);
		char *s = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (strcmp(s, rows[i].want))
			fail_msg("'%s': %s, want %s", rows[i].in, s, rows[i].want);
		free(s);
		json_decref(m);
	}
}

static void test_am_matchers_list(void **state)
{
	(void)state;
	char err[300] = "";
	json_t *texts = json_pack("[s,s,s,s]", "alertname=\"Foo\"", "severity=~crit.*",
	                          "team!=\"a\\\"b\"", "job!~\"x\"");
	json_t *m = am_matchers_parse(texts, err, sizeof(err));
	assert_non_null(m);
	char *t = am_matchers_text(m);
	assert_string_equal(t, "{alertname=\"Foo\", severity=~\"crit.*\", team!=\"a\\\"b\", "
	                       "job!~\"x\"}");
	free(t);
	json_decref(m);
	json_decref(texts);
	texts = json_pack("[s,s]", "a=b", "nope");
	assert_null(am_matchers_parse(texts, err, sizeof(err)));
	expect_err("item 2", err, "item 2: 'nope'");
	json_decref(texts);
	texts = json_array();
	assert_null(am_matchers_parse(texts, err, sizeof(err)));
	expect_err("empty", err, "at least one matcher");
	json_decref(texts);
	texts = json_pack("[i]", 3);
	assert_null(am_matchers_parse(texts, err, sizeof(err)));
	expect_err("int", err, "item 1: not a string");
	json_decref(texts);
}

static void test_am_body_and_comment(void **state)
{
	(void)state;
	struct hold_who who = {"db-upgrade", "alice", "db1", 4242, 0};
	char *c = am_comment(&who, "0123456789abcdef", "kernel");
	assert_string_equal(c, "gate maintenance: runbook db-upgrade by alice@db1 pid 4242 "
	                       "(gate-token 0123456789abcdef); kernel");
	char *c2 = am_comment(&who, "0123456789abcdef", NULL);
	assert_string_equal(c2, "gate maintenance: runbook db-upgrade by alice@db1 pid 4242 "
	                        "(gate-token 0123456789abcdef)");
	json_t *m = json_pack("[{s:s,s:s,s:b,s:b}]", "name", "alertname", "value", "Foo", "isRegex",
	                      0, "isEqual", 1);
	/* 2026-11-28T20:00:00Z and two hours on */
	char *b = am_silence_body(m, 1795896000000, 7200000, "gate alice@db1", c2);
	json_t *j = json_loads(b, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "startsAt")),
	                    "2026-11-28T20:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(j, "endsAt")),
	                    "2026-11-28T22:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(j, "createdBy")), "gate alice@db1");
	assert_string_equal(json_string_value(json_object_get(j, "comment")), c2);
	assert_true(json_equal(json_object_get(j, "matchers"), m));
	json_decref(j);
	free(b);
	json_decref(m);
	free(c);
	free(c2);
}

static void test_am_silence_id(void **state)
{
	(void)state;
	struct blob act = load("alertmanager/silence-active.json");
	json_t *a = json_loadb(act.data, act.len, 0, NULL);
	const char *recorded = json_string_value(json_object_get(a, "id"));
	static const struct {
		const char *rec;
		int ok;
		const char *err;
	} rows[] = {
		{"alertmanager/silence-created.json", 1, NULL},
		{"alertmanager/post-form.json", 0, "has no silenceID"},
		{"alertmanager/post-ends-before.json", 0, "not a JSON object"},
		{"={\"silenceID\":\"../../x\"}", 0, "not an ID"},
		{"={\"silenceID\":\"\"}", 0, "not an ID"},
		{"={\"silenceID\":7}", 0, "has no silenceID"},
		{"=", 0, "not a JSON object: (empty)"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct blob b = load(rows[i].rec);
		char err[300] = "", *id = NULL;
		int rc = am_silence_id(b.data, b.len, &id, err, sizeof(err));
		if ((rc == 0) != rows[i].ok)
			fail_msg("%s: rc %d (%s)", rows[i].rec, rc, err);
		if (rows[i].ok)
			assert_string_equal(id, recorded);
		else
			expect_err(rows[i].rec, err, rows[i].err);
		free(id);
		free(b.data);
	}
	json_decref(a);
	free(act.data);
}

static void test_am_errors(void **state)
{
	(void)state;
	static const struct {
		const char *rec;
		long status;
		const char *want;
	} rows[] = {
		{"alertmanager/post-form.json", 415,
	         "status 415: unsupported media type \"application/x-www-form-urlencoded\", only "
	         "[application/json] are allowed"},
		{"alertmanager/post-no-regex.json", 422,
	         "status 422: matchers.0.isRegex in body is required"},
		{"alertmanager/post-ends-before.json", 400,
	         "status 400: Failed to create silence: start time must be before end time"},
		{"alertmanager/post-empty-matcher.json", 400,
	         "status 400: silence invalid: at least one matcher must not match the empty "
	         "string"},
		{"alertmanager/delete-unknown.json", 500, "status 500: silence not found"},
		{"alertmanager/get-unknown.txt", 404, "status 404: (empty)"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct blob b = load(rows[i].rec);
		long st = status_of(rows[i].rec);
		assert_int_equal(st, rows[i].status);
		char out[300];
		am_error_text(st, b.data, b.len, out, sizeof(out));
		if (strcmp(out, rows[i].want))
			fail_msg("%s: \"%s\", want \"%s\"", rows[i].rec, out, rows[i].want);
		free(b.data);
	}
	char out[300];
	am_error_text(502, "<html>bad gateway</html>", 24, out, sizeof(out));
	assert_string_equal(out, "status 502: (an HTML page)");
}

static void test_am_silences(void **state)
{
	(void)state;
	struct blob act = load("alertmanager/silence-active.json");
	json_t *a = json_loadb(act.data, act.len, 0, NULL);
	const char *ours = json_string_value(json_object_get(a, "id"));
	static const struct {
		const char *rec, *token;
		int found; /* -1: the answer is refused */
	} rows[] = {
		{"alertmanager/silences-active.json", "0123456789abcdef", 1},
		{"alertmanager/silences-expired.json", "0123456789abcdef", 0},
		{"alertmanager/silences-active.json", "0123456789abcdee", 0},
		/* a token that is a prefix of ours is not ours */
		{"alertmanager/silences-active.json", "0123456789abcde", 0},
		{"alertmanager/silence-active.json", "0123456789abcdef", -1},
		{"=[{\"comment\":\"x (gate-token "
	         "t1)\",\"id\":\"../\",\"status\":{\"state\":\"active\"}}]",
	         "t1", -1},
		{"=[{\"comment\":\"x (gate-token t1)\",\"id\":\"a-1\"}]", "t1", -1},
		{"=[{\"comment\":\"x (gate-token "
	         "t1)\",\"id\":\"a-1\",\"status\":{\"state\":\"pending\"}}"
	         ",{\"comment\":\"(gate-token "
	         "t1)\",\"id\":\"a-2\",\"status\":{\"state\":\"active\"}}]",
	         "t1", 2},
		{"=[]", "t1", 0},
		{"=", "t1", -1},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct blob b = load(rows[i].rec);
		char err[300] = "";
		json_t *ids = am_silences_with_token(b.data, b.len, rows[i].token, err,
		                                     sizeof(err));
		if (rows[i].found < 0) {
			if (ids)
				fail_msg("row %zu: accepted", i);
		} else if (!ids || json_array_size(ids) != (size_t)rows[i].found) {
			fail_msg("row %zu: %zu found, want %d (%s)", i,
			         ids ? json_array_size(ids) : 0, rows[i].found, err);
		} else if (rows[i].found == 1 && i == 0) {
			assert_string_equal(json_string_value(json_array_get(ids, 0)), ours);
		}
		json_decref(ids);
		free(b.data);
	}
	json_decref(a);
	free(act.data);
}

static void test_am_silence_state(void **state)
{
	(void)state;
	static const struct {
		const char *rec, *want;
	} rows[] = {
		{"alertmanager/silence-active.json", "active"},
		{"alertmanager/silence-expired.json", "expired"},
		{"alertmanager/get-unknown.txt", NULL},
		{"alertmanager/silences-active.json", NULL},
		{"={\"status\":{\"state\":3}}", NULL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct blob b = load(rows[i].rec);
		char st[32] = "", err[300] = "";
		int rc = am_silence_state(b.data, b.len, st, sizeof(st), err, sizeof(err));
		if (rows[i].want) {
			assert_int_equal(rc, 0);
			assert_string_equal(st, rows[i].want);
		} else {
			assert_int_equal(rc, -1);
			expect_err(rows[i].rec, err, "no status.state");
		}
		free(b.data);
	}
}

static void test_am_undo(void **state)
{
	(void)state;
	const char *id, *token;
	json_t *u = am_undo(NULL, "0123456789abcdef", "http://h:9093", "c");
	char *s = json_dumps(u, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"comment\":\"c\",\"silence\":null,\"token\":\"0123456789abcdef\","
	                       "\"url\":\"http://h:9093\"}");
	assert_int_equal(am_undo_read(u, &id, &token), 0);
	assert_null(id);
	assert_string_equal(token, "0123456789abcdef");
	free(s);
	json_decref(u);
	u = am_undo("8f53c74d-d317-44eb-804f-67c1421475ef", "0123456789abcdef", "u", "c");
	assert_int_equal(am_undo_read(u, &id, &token), 0);
	assert_string_equal(id, "8f53c74d-d317-44eb-804f-67c1421475ef");
	json_decref(u);
	static const char *const bad[] = {
		"{}",
		"{\"silence\": null}",
		"{\"silence\": null, \"token\": \"a b\"}",
		"{\"silence\": 7, \"token\": \"t\"}",
		"{\"silence\": \"../x\", \"token\": \"t\"}",
		"[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		if (am_undo_read(j, &id, &token) != -1)
			fail_msg("%s: accepted", bad[i]);
		json_decref(j);
	}
	assert_int_equal(am_undo_read(NULL, &id, &token), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_text),
		cmocka_unit_test(test_patroni_pause_state),
		cmocka_unit_test(test_patroni_config),
		cmocka_unit_test(test_patroni_undo),
		cmocka_unit_test(test_am_matchers),
		cmocka_unit_test(test_am_matchers_list),
		cmocka_unit_test(test_am_body_and_comment),
		cmocka_unit_test(test_am_silence_id),
		cmocka_unit_test(test_am_errors),
		cmocka_unit_test(test_am_silences),
		cmocka_unit_test(test_am_silence_state),
		cmocka_unit_test(test_am_undo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
