/* SPDX-License-Identifier: MIT */
/* backup.rehearsed's record parser and judge (checks/
 * backup_rehearsed_judge.h), table by table, fed with records that `gate
 * rehearse` wrote (tests/data/recorded/rehearse/records/, re-recorded by
 * tests/tools/record-rehearsal-records.sh, in the order that script gives: the
 * older backup's pass, the newest's pass, then its fail, error, a crash
 * that named no backup, an interrupted one), all of the test rehearsal
 * type, and then a pass and a failed probe of the real pgbackrest.restore.  Each row gives the records
 * the state directory holds, the newest backup, "now" as seconds after
 * the newest backup's passing rehearsal, and what the judge must say. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backup_rehearsed_judge.h"

static char *slurp(const char *name, size_t *len)
{
	const char *src = getenv("GATE_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/recorded/rehearse/records/%s.json",
	         src ? src : ".", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (tests/tools/record-rehearsal-records.sh records it)",
		         path);
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static void load(struct bk_reh_record *rec, const char *name)
{
	size_t len;
	char *text = slurp(name, &len), why[300] = "";
	int rc = bk_reh_parse(name, text, len, rec, why, sizeof(why));
	if (rc != 0)
		fail_msg("%s: %s", name, why);
	free(text);
}

static void load(struct bk_reh_record *rec, const char *name);

/* The newest backups the rows name. */
static json_t *identity(const char *which)
{
	if (!strcmp(which, "real")) { /* what the real pgbackrest.restore named */
		struct bk_reh_record rec;
		load(&rec, "real-pgbr-pass");
		json_t *id = json_deep_copy(rec.backup);
		bk_reh_record_release(&rec);
		return id;
	}
	if (!strcmp(which, "new"))
		return json_pack("{s:s,s:s,s:i,s:s}", "kind", "pgbackrest", "stanza", "demo",
		                 "repo", 1, "label", "20261128-020000F");
	if (!strcmp(which, "newer")) /* a backup taken after every rehearsal */
		return json_pack("{s:s,s:s,s:i,s:s}", "kind", "pgbackrest", "stanza", "demo",
		                 "repo", 1, "label", "20261129-020000F");
	if (!strcmp(which, "repo2"))
		return json_pack("{s:s,s:s,s:i,s:s}", "kind", "pgbackrest", "stanza", "demo",
		                 "repo", 2, "label", "20261128-020000F");
	if (!strcmp(which, "bb"))
		return json_pack(
			"{s:s,s:s,s:s,s:s}", "kind", "basebackup", "path",
			"/var/backups/pg/base-20261128", "start_time", "2026-11-28 02:00:01 UTC",
			"manifest_checksum",
			"9c1e0f1b0b6c5f5e1ad0a1f3bb1b9d58d8a2a0b4f1e2c3d4e5f60718293a4b5c");
	if (!strcmp(which, "bb-other")) /* the same directory, made again */
		return json_pack("{s:s,s:s,s:s,s:s}", "kind", "basebackup", "path",
		                 "/var/backups/pg/base-20261128", "start_time",
		                 "2026-11-28 14:00:01 UTC", "manifest_checksum", "00ff");
	if (!strcmp(which, "file"))
		return json_pack("{s:s,s:s,s:I,s:I}", "kind", "file", "path",
		                 "/var/backups/pg/app-20261128.dump", "size", (json_int_t)48213,
		                 "mtime_ns", (json_int_t)1795831210123456789);
	if (!strcmp(which, "file-touched")) /* rewritten since: another mtime */
		return json_pack("{s:s,s:s,s:I,s:I}", "kind", "file", "path",
		                 "/var/backups/pg/app-20261128.dump", "size", (json_int_t)48213,
		                 "mtime_ns", (json_int_t)1795831299000000000);
	return NULL; /* "none": no backup at all */
}

struct row {
	const char *name;
	const char *records; /* space-separated recording names */
	const char *backup;  /* identity() */
	const char *source;
	const char *kind;
	int64_t now_after; /* seconds after pgbr-pass started */
	const char *max_age;
	enum gate_status want;
	const char *summary; /* fnmatch pattern */
};

static const struct row rows[] = {
	{"fresh pass", "pgbr-old-pass pgbr-pass", "new", "demo", "pgbackrest", 3600, "48h",
         GATE_PASS, "backup 20261128-020000F: rehearsal passed 1h* ago (max_age 2d)"},
	{"pass at the edge of max_age", "pgbr-pass", "new", "demo", "pgbackrest", 48 * 3600, "48h",
         GATE_PASS, "*rehearsal passed 2d* ago*"},
	{"old pass", "pgbr-pass", "new", "demo", "pgbackrest", 3 * 86400, "48h", GATE_FAIL,
         "rehearsal of backup 20261128-020000F passed 3d* ago (max_age 2d)"},
	{"a later fail", "pgbr-pass pgbr-fail", "new", "demo", "pgbackrest", 60, "48h", GATE_FAIL,
         "last rehearsal of backup 20261128-020000F failed at *: probe 'rows' (select count(*) "
         "from t): 5 is below min 1000"},
	{"a later error", "pgbr-pass pgbr-error", "new", "demo", "pgbackrest", 60, "48h", GATE_FAIL,
         "last rehearsal of backup 20261128-020000F errored at *: scratch filesystem*"},
	{"a later crash of the same stanza (no backup named)", "pgbr-pass pgbr-crash", "new",
         "demo", "pgbackrest", 60, "48h", GATE_FAIL,
         "last rehearsal of backup 20261128-020000F errored at *: module crashed*"},
	{"a crash of another stanza does not count", "pgbr-pass pgbr-crash", "new", "other",
         "pgbackrest", 60, "48h", GATE_PASS, "*rehearsal passed*"},
	{"interrupted after the pass is ignored", "pgbr-pass pgbr-interrupted", "new", "demo",
         "pgbackrest", 60, "48h", GATE_PASS, "*rehearsal passed*"},
	{"only interrupted", "pgbr-interrupted", "new", "demo", "pgbackrest", 60, "48h", GATE_FAIL,
         "no rehearsal of backup 20261128-020000F"},
	{"only a failure", "pgbr-fail", "new", "demo", "pgbackrest", 60, "48h", GATE_FAIL,
         "last rehearsal of backup 20261128-020000F failed at *"},
	{"no record", "", "new", "demo", "pgbackrest", 60, "48h", GATE_FAIL,
         "no rehearsal of backup 20261128-020000F"},
	{"a newer backup since", "pgbr-old-pass pgbr-pass", "newer", "demo", "pgbackrest", 60,
         "48h", GATE_FAIL,
         "no rehearsal of backup 20261129-020000F (the last rehearsal, at *, was of backup "
         "20261128-020000F)"},
	{"only the older backup rehearsed", "pgbr-old-pass", "new", "demo", "pgbackrest", 60, "48h",
         GATE_FAIL,
         "no rehearsal of backup 20261128-020000F (the last rehearsal, at *, was of backup "
         "20261127-020000F)"},
	{"the same label in another repository", "pgbr-pass", "repo2", "demo", "pgbackrest", 60,
         "48h", GATE_FAIL, "no rehearsal of *"},
	{"no backup at all", "pgbr-pass", "none", "demo", "pgbackrest", 60, "48h", GATE_FAIL,
         "*: no backup, so none was rehearsed"},
	{"future-dated pass", "pgbr-pass", "new", "demo", "pgbackrest", -3600, "48h", GATE_FAIL,
         "rehearsal of backup 20261128-020000F is dated *, in the future*"},
	{"base backup passed", "bb-pass pgbr-pass", "bb", "/var/backups/pg/base-*", "basebackup",
         60, "48h", GATE_PASS, "*rehearsal passed*"},
	{"base backup made again in the same place", "bb-pass", "bb-other",
         "/var/backups/pg/base-*", "basebackup", 60, "48h", GATE_FAIL,
         "no rehearsal of * (the last rehearsal, at *, was of /var/backups/pg/base-20261128 as "
         "it was before)"},
	{"file passed", "file-pass", "file", "/var/backups/pg/*.dump", "file", 60, "48h", GATE_PASS,
         "*rehearsal passed*"},
	{"file rewritten since", "file-pass", "file-touched", "/var/backups/pg/*.dump", "file", 60,
         "48h", GATE_FAIL, "no rehearsal of *as it was before)"},
	{"the real pgbackrest.restore passed", "real-pgbr-pass pgbr-pass", "real", "demo",
         "pgbackrest", 600, "48h", GATE_PASS, "backup 20*F: rehearsal passed *"},
	{"the real pgbackrest.restore, then a failed probe", "real-pgbr-pass real-pgbr-fail",
         "real", "demo", "pgbackrest", 600, "48h", GATE_FAIL,
         "last rehearsal of backup 20*F failed at *: probe 'rows' (select count(*) from t): 100 "
         "is below min 1000"},
	{"a pgbackrest record does not prove a file", "pgbr-pass", "file", "/var/backups/pg/*.dump",
         "file", 60, "48h", GATE_FAIL, "no rehearsal of *"},
};

static int64_t parse_ms(const char *s)
{
	return !strcmp(s, "48h") ? 48 * 3600 * 1000 : 0;
}

static void run_row(const struct row *r)
{
	struct bk_reh_facts f = {0};
	f.kind = r->kind;
	f.source = r->source;
	f.dir = "/var/lib/gate/rehearsals";
	f.records = calloc(16, sizeof(*f.records));
	char *list = strdup(r->records), *save = NULL;
	for (char *n = strtok_r(list, " ", &save); n; n = strtok_r(NULL, " ", &save))
		load(&f.records[f.nrecords++], n);
	free(list);
	f.identity = identity(r->backup);
	snprintf(f.what, sizeof(f.what), "%s",
	         !f.identity                            ? "stanza demo"
	         : json_object_get(f.identity, "label") ? "backup "
	                                                : "");
	if (f.identity && json_object_get(f.identity, "label"))
		strcat(f.what, json_string_value(json_object_get(f.identity, "label")));
	else if (f.identity)
		snprintf(f.what, sizeof(f.what), "%s",
		         json_string_value(json_object_get(f.identity, "path")));
	struct bk_reh_record pass;
	load(&pass, "pgbr-pass");
	int64_t now = pass.started_ms / 1000 + r->now_after;
	bk_reh_record_release(&pass);
	json_t *params = json_pack("{s:I}", "max_age", (json_int_t)parse_ms(r->max_age));
	struct gate_result res = {GATE_ERROR, "no result", json_object()};
	bk_reh_judge(&f, params, now, &res);
	if (res.status != r->want || fnmatch(r->summary, res.summary, 0))
		fail_msg("%s: got %d \"%s\", want %d \"%s\"", r->name, res.status, res.summary,
		         r->want, r->summary);
	json_decref(res.details);
	json_decref(params);
	bk_reh_facts_release(&f);
}

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
}

/* What cannot be read is an error that names it; nothing passes. */
static void test_errors(void **state)
{
	(void)state;
	struct bk_reh_facts f = {.kind = "pgbackrest", .source = "demo", .dir = "/st"};
	json_t *params = json_pack("{s:I}", "max_age", (json_int_t)3600000);
	struct gate_result res = {GATE_ERROR, "", json_object()};
	snprintf(f.dir_error, sizeof(f.dir_error), "Permission denied");
	bk_reh_judge(&f, params, 0, &res);
	assert_int_equal(res.status, GATE_ERROR);
	assert_string_equal(res.summary, "state directory /st: Permission denied");
	f.dir_error[0] = '\0';
	snprintf(f.bad_record, sizeof(f.bad_record), "x.json");
	snprintf(f.bad_why, sizeof(f.bad_why), "not JSON");
	bk_reh_judge(&f, params, 0, &res);
	assert_int_equal(res.status, GATE_ERROR);
	assert_string_equal(res.summary, "rehearsal record /st/x.json cannot be read: not JSON");
	f.bad_record[0] = '\0';
	snprintf(f.list_error, sizeof(f.list_error), "pgbackrest info: exited 1");
	bk_reh_judge(&f, params, 0, &res);
	assert_int_equal(res.status, GATE_ERROR);
	json_decref(res.details);
	json_decref(params);
}

/* A failure that started in the same millisecond as the pass (two
 * checks of one run rehearsing the same backup) blocks, whatever the
 * order of their names; a pass that names no repository proves nothing. */
static void test_same_start(void **state)
{
	(void)state;
	for (int order = 0; order < 3; order++) {
		struct bk_reh_facts f = {.kind = "pgbackrest", .source = "demo", .dir = "/st"};
		f.records = calloc(2, sizeof(*f.records));
		load(&f.records[0], "pgbr-pass");
		load(&f.records[1], "pgbr-fail");
		f.nrecords = 2;
		f.records[1].started_ms = f.records[0].started_ms;
		free(f.records[order % 2].name);
		f.records[order % 2].name = strdup("z.json"); /* sorts last */
		if (order == 2) { /* a pass naming no repository: not this backup */
			json_object_del(f.records[0].backup, "repo");
			bk_reh_record_release(&f.records[1]);
			f.nrecords = 1;
		}
		f.identity = identity("new");
		json_t *params = json_pack("{s:I}", "max_age", (json_int_t)3600000);
		struct gate_result res = {GATE_ERROR, "", json_object()};
		bk_reh_judge(&f, params, f.records[0].started_ms / 1000 + 60, &res);
		if (res.status != GATE_FAIL)
			fail_msg("order %d: got %d \"%s\"", order, res.status, res.summary);
		json_decref(res.details);
		json_decref(params);
		bk_reh_facts_release(&f);
	}
}

/* The parser refuses what is not a record, saying why. */
static void test_parse(void **state)
{
	(void)state;
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"", "not JSON: *"},
		{"[]", "not a JSON object"},
		{"{\"record_version\": 2}", "record_version is not 1"},
		{"{\"record_version\": 1, \"outcome\": \"maybe\"}", "outcome is not *"},
		{"{\"record_version\": 1, \"outcome\": \"pass\", \"started\": \"yesterday\"}",
	         "started is not *"},
		{"{\"record_version\": 1, \"outcome\": \"pass\", \"started\": "
	         "\"2026-11-28T10:00:00.000Z\", \"check\": 1}",
	         "check is not a string"},
		{"{\"record_version\": 1, \"outcome\": \"pass\", \"started\": "
	         "\"2026-11-28T10:00:00.000Z\", \"check\": \"c\", \"backup\": 5}",
	         "backup is neither *"},
		{"{\"record_version\": 1, \"record_version\": 1}", "not JSON: *duplicate*"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct bk_reh_record rec;
		char why[300] = "";
		assert_int_equal(bk_reh_parse("x.json", bad[i].text, strlen(bad[i].text), &rec, why,
		                              sizeof(why)),
		                 -1);
		if (fnmatch(bad[i].why, why, 0))
			fail_msg("%s: got \"%s\"", bad[i].text, why);
		bk_reh_record_release(&rec);
	}
	struct bk_reh_record rec;
	load(&rec, "pgbr-fail");
	assert_string_equal(rec.outcome, "fail");
	assert_string_equal(json_string_value(json_object_get(rec.backup, "label")),
	                    "20261128-020000F");
	bk_reh_record_release(&rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_same_start),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
