/* SPDX-License-Identifier: MIT */
/* The pure parts of the restore rehearsals basebackup.restore and
 * dump.restore (checks/rehearse_dumps.h), table by table, on what the real
 * tools wrote (tests/data/recorded/rehearse/, tests/tools/record-rehearse.sh):
 * the format of a dump from its first bytes, whether a plain dump is
 * complete, backup_manifest's Manifest-Checksum, the identities (in
 * details.rehearsal as rehearse.h's shared steps start it), the
 * space a restore needs, the tools' argv, the line of a failed tool's
 * stderr that says why, and the scratch database's name. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kit/strbuf.h"
#include "rehearse.h"
#include "rehearse_dumps.h"

/* tests/data/recorded/rehearse/NAME, its length in *len */
static char *rec(const char *name, size_t *len)
{
	const char *src = getenv("GATE_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/recorded/rehearse/%s", src ? src : ".", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (tests/tools/record-rehearse.sh records it)", path);
	char *buf = malloc(65536 + 1);
	assert_non_null(buf);
	size_t n = fread(buf, 1, 65536, f);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void test_format_detect(void **state)
{
	(void)state;
	static const struct {
		const char *rec;
		int is_dir;
		enum rd_format want;
	} rows[] = {
		{"head-custom", 0, RD_FMT_CUSTOM},
		{"head-tar", 0, RD_FMT_TAR},
		{"head-plain", 0, RD_FMT_PLAIN},
		{"head-gzip", 0, RD_FMT_GZIP},
		{"head-toc", 1, RD_FMT_DIRECTORY},
		/* toc.dat starts "PGDMP" too: a file alone is a custom dump */
		{"head-toc", 0, RD_FMT_CUSTOM},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n;
		char *h = rec(rows[i].rec, &n);
		assert_int_equal(rd_format_detect((unsigned char *)h, n, rows[i].is_dir),
		                 rows[i].want);
		free(h);
	}
	/* short heads: nothing read past them */
	assert_int_equal(rd_format_detect((const unsigned char *)"PGDM", 4, 0), RD_FMT_PLAIN);
	assert_int_equal(rd_format_detect((const unsigned char *)"", 0, 0), RD_FMT_PLAIN);
	assert_int_equal(rd_format_detect((const unsigned char *)"\x1f", 1, 0), RD_FMT_PLAIN);
}

static void test_format_names(void **state)
{
	(void)state;
	static const char *const ok[] = {"auto", "custom", "directory", "tar", "plain"};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(rd_format_parse(ok[i]), i);
		assert_string_equal(rd_format_name((enum rd_format)i), ok[i]);
	}
	assert_int_equal(rd_format_parse("gzip"), -1); /* detected, never asked for */
	assert_int_equal(rd_format_parse("Custom"), -1);
	assert_int_equal(rd_format_parse(NULL), -1);
	assert_string_equal(rd_format_name(RD_FMT_GZIP), "gzip");
}

static void test_plain_complete(void **state)
{
	(void)state;
	static const struct {
		const char *rec;
		int want;
	} rows[] = {
		{"tail-plain", 1},
		{"tail-dumpall", 1},
		{"tail-plain-cut", 0},
		{"head-plain", 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n;
		char *t = rec(rows[i].rec, &n);
		assert_int_equal(rd_plain_complete(t, n), rows[i].want);
		free(t);
	}
	static const struct {
		const char *text;
		int want;
	} texts[] = {
		{"-- PostgreSQL database dump complete", 1},
		{"x\n-- PostgreSQL database dump complete\r\n", 1},
		/* not a line of its own */
		{"select '-- PostgreSQL database dump complete';\n", 0},
		{"-- PostgreSQL database dump completed\n", 0},
		{"-- PostgreSQL database dump comp", 0},
		{"", 0},
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		assert_int_equal(rd_plain_complete(texts[i].text, strlen(texts[i].text)),
		                 texts[i].want);
}

static void test_manifest_checksum(void **state)
{
	(void)state;
	size_t n;
	char *tail = rec("manifest-tail", &n), *want = rec("manifest-checksum", NULL), hex[65];
	want[64] = '\0';
	assert_int_equal(rd_manifest_checksum(tail, n, hex), 0);
	assert_string_equal(hex, want);
	/* cut short: the checksum, or its closing brace, missing */
	for (size_t cut = 1; cut < 100; cut++)
		assert_int_equal(rd_manifest_checksum(tail, n - 1 - cut, hex), -1);
	free(tail);
#define CK "00fd989b02748a142818479cbd88f14ce194560e66d86994a4386082bab0d4e5"
	static const struct {
		const char *text;
		int want;
	} rows[] = {
		{"\"Manifest-Checksum\": \"" CK "\"}\n", 0},
		{"\"Manifest-Checksum\":\"" CK "\"}", 0},
		{"\"Manifest-Checksum\": \"" CK "\"}\nx", -1},        /* text after the manifest */
		{"\"Manifest-Checksum\": \"" CK "\", \"x\": 1}", -1}, /* not the last member */
		{"\"Manifest-Checksum\": \"" CK "0\"}", -1},          /* 65 digits */
		{"\"Manifest-Checksum\": \"zz" CK "\"}", -1},
		{"\"Manifest-Checksum\": 12}", -1},
		{"\"Manifest-Checksum\"", -1},
		{"", -1},
		/* the last of several */
		{"\"Manifest-Checksum\": \"x\"\n\"Manifest-Checksum\": \"" CK "\"}", 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(rd_manifest_checksum(rows[i].text, strlen(rows[i].text), hex),
		                 rows[i].want);
	assert_int_equal(rd_manifest_checksum("\"Manifest-Checksum\": \"" CK "\"}", 88, hex), 0);
	assert_string_equal(hex, CK);
	free(want);
}

static void test_identity(void **state)
{
	(void)state;
	/* details.rehearsal as the shared steps start it (rehearse.h), the
	 * identity put in before anything is restored */
	struct gate_result res = {.status = GATE_ERROR, .details = json_object()};
	struct rh r;
	rh_begin(&r, &res);
	char *s = json_dumps(res.details, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"rehearsal\":{\"backup\":null,\"phases_ms\":{\"cleanup\":null,"
	                       "\"consistent\":null,\"probes\":null,\"promote\":null,"
	                       "\"restore\":null,\"start\":null,\"stop\":null},\"probes\":[],"
	                       "\"scratch_dir\":null}}");
	free(s);
	rh_phase(&r, "restore", 125);
	rh_phase(&r, "start", -3); /* a clock that went back counts as 0 */
	rh_set_backup(&r, rd_identity_basebackup("/b/base1", "2026-11-28 22:47:58 UTC", CK));
	s = json_dumps(r.rehearsal, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"backup\":{\"kind\":\"basebackup\",\"manifest_checksum\":\"" CK
	                       "\",\"path\":\"/b/base1\",\"start_time\":\"2026-11-28 22:47:58 "
	                       "UTC\"},\"phases_ms\":{\"cleanup\":null,\"consistent\":null,"
	                       "\"probes\":null,\"promote\":null,\"restore\":125,\"start\":0,"
	                       "\"stop\":null},\"probes\":[],\"scratch_dir\":null}");
	free(s);
	json_decref(res.details);
	json_t *id = rd_identity_basebackup("/b", NULL, NULL);
	s = json_dumps(id, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s,
	                    "{\"kind\":\"basebackup\",\"manifest_checksum\":null,\"path\":\"/b\","
	                    "\"start_time\":null}");
	free(s);
	json_decref(id);
	id = rd_identity_file("/d/x.dump", 50460, 1795906078123456789LL, CK);
	s = json_dumps(id, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"kind\":\"file\",\"mtime_ns\":1795906078123456789,\"path\":\"/d/"
	                       "x.dump\",\"sha256\":\"" CK "\",\"size\":50460}");
	free(s);
	json_decref(id);
	/* a file name that is not UTF-8 is kept, each stray byte shown */
	id = rd_identity_file("/d/\xe9.dump", UINT64_MAX, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(id, "path")), "/d/\\xe9.dump");
	assert_int_equal(json_integer_value(json_object_get(id, "size")), INT64_MAX);
	assert_true(json_is_null(json_object_get(id, "sha256")));
	json_decref(id);
}

static void test_space(void **state)
{
	(void)state;
	assert_int_equal(rd_space_basebackup(1000, 24), 1024);
	assert_true(rd_space_basebackup(UINT64_MAX, 1) == UINT64_MAX);
	assert_int_equal(rd_space_dump(50460), 151380);
	assert_true(rd_space_dump(UINT64_MAX / 2) == UINT64_MAX);
	assert_int_equal(rd_space_dump(0), 0);
}

static void expect_argv(char **v, const char *want)
{
	assert_non_null(v);
	char *got = strv_join(v, " ");
	assert_string_equal(got, want);
	free(got);
	strv_free(v);
}

static void test_argv(void **state)
{
	(void)state;
	const char *b = "/usr/lib/postgresql/15/bin";
	expect_argv(rd_restore_argv(b, RD_FMT_CUSTOM, "/d/x.dump", "/s", 5432, "rehearsal", 1),
	            "/usr/lib/postgresql/15/bin/pg_restore --exit-on-error --no-owner --no-acl -h "
	            "/s -p 5432 -d rehearsal -- /d/x.dump");
	expect_argv(rd_restore_argv(b, RD_FMT_DIRECTORY, "/d/x", "/s", 5432, "r", 4),
	            "/usr/lib/postgresql/15/bin/pg_restore --exit-on-error --no-owner --no-acl -h "
	            "/s -p 5432 -d r -j 4 -- /d/x");
	/* tar: pg_restore cannot restore it in parallel */
	expect_argv(rd_restore_argv(NULL, RD_FMT_TAR, "/d/x.tar", "/s", 1, "r", 4),
	            "pg_restore --exit-on-error --no-owner --no-acl -h /s -p 1 -d r -- /d/x.tar");
	expect_argv(rd_restore_argv(b, RD_FMT_PLAIN, "/d/-x.sql", "/s", 5432, "r", 4),
	            "/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 -h /s -p 5432 -d r "
	            "-f /d/-x.sql");
	assert_null(rd_restore_argv(b, RD_FMT_GZIP, "/d/x.gz", "/s", 1, "r", 1));
	assert_null(rd_restore_argv(b, RD_FMT_AUTO, "/d/x", "/s", 1, "r", 1));
	expect_argv(rd_initdb_argv(b, "/s/data"),
	            "/usr/lib/postgresql/15/bin/initdb -D /s/data -A trust --no-sync -E UTF8 "
	            "--locale=C --no-instructions");
	expect_argv(rd_createdb_argv("", "/s", 7, "-r"), "createdb -h /s -p 7 -T template0 -- -r");
}

static void test_tool_error(void **state)
{
	(void)state;
	static const struct {
		const char *rec, *prefix, *want;
	} rows[] = {
		{"err-pg_restore-cut", "pg_restore exited 1: ",
	         "pg_restore: error: could not read from input file: end of file"},
		{"err-createdb-exists", "createdb exited 1: ",
	         "createdb: error: database creation failed: ERROR:  database \"a\" already "
	         "exists"},
		{"err-psql-role", "psql exited 3: ", NULL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *e = rec(rows[i].rec, NULL), buf[512];
		char *msg = malloc(strlen(rows[i].prefix) + strlen(e) + 1);
		assert_non_null(msg);
		strcpy(stpcpy(msg, rows[i].prefix), e);
		rd_tool_error(msg, buf, sizeof(buf));
		if (rows[i].want) {
			assert_string_equal(buf, rows[i].want);
		} else {
			/* psql:/the/dump.sql:35: ERROR:  role "app" does not exist */
			assert_true(!strncmp(buf, "psql:", 5));
			assert_non_null(strstr(buf, ":35: ERROR:  role \"app\" does not exist"));
			assert_null(strchr(buf, '\n'));
		}
		free(msg);
		free(e);
	}
	static const struct {
		const char *msg, *want;
	} texts[] = {
		/* no error mark: the first line, without who exited how */
		{"cp exited 1: cp: cannot open 'x': Permission denied",
	         "cp: cannot open 'x': Permission denied"},
		{"pg_restore exited 1: pg_restore: warning: x\npg_restore: error: y\nmore",
	         "pg_restore: error: y"},
		{"initdb timed out after 3.0s", "initdb timed out after 3.0s"},
		{"x exited 2: \n  FATAL:  no  \n", "FATAL:  no"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char buf[256];
		rd_tool_error(texts[i].msg, buf, sizeof(buf));
		assert_string_equal(buf, texts[i].want);
	}
	char small[8];
	rd_tool_error("pg_restore: error: long", small, sizeof(small));
	assert_string_equal(small, "pg_rest");
}

static void test_dbname(void **state)
{
	(void)state;
	static const struct {
		const char *db;
		int ok;
	} rows[] = {
		{"rehearsal", 0},
		{"app db", 0},
		{"", -1},
		{"-x", -1},
		{"postgres", -1},
		{"template0", -1},
		{"template1", -1},
		{"123456789012345678901234567890123456789012345678901234567890123", 0},
		{"1234567890123456789012345678901234567890123456789012345678901234", -1},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char msg[128] = "";
		assert_int_equal(rd_dbname_ok(rows[i].db, msg, sizeof(msg)), rows[i].ok);
		assert_true(rows[i].ok == 0 || msg[0]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_detect),  cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_plain_complete), cmocka_unit_test(test_manifest_checksum),
		cmocka_unit_test(test_identity),       cmocka_unit_test(test_space),
		cmocka_unit_test(test_argv),           cmocka_unit_test(test_tool_error),
		cmocka_unit_test(test_dbname),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
