/* SPDX-License-Identifier: MIT */
/* The records of restore rehearsals (gate/rehearsal.h): the builder from a
 * check's result (outcome, source with secrets masked, the rehearsal's
 * details copied when they have the right shape), the file name, and the
 * writer (0600 in a 0700 directory made when absent, nothing left beside
 * it, a directory others may write or a symbolic link refused). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gate/rehearsal.h"

static const struct gate_param params[] = {
	{"stanza", GATE_P_STRING, 0, NULL, NULL, "s"},
	{"token", GATE_P_STRING, GATE_PF_SECRET, NULL, NULL, "t"},
	{"conninfo", GATE_P_STRING, 0, NULL, NULL, "c"},
	{NULL, 0, 0, NULL, NULL, NULL},
};
static const struct gate_check_type ct = {"x.restore", "x", NULL, params, NULL, NULL};

static void fill(struct check_result *r, struct rb_check *c, enum check_status st, json_t *details)
{
	memset(r, 0, sizeof(*r));
	memset(c, 0, sizeof(*c));
	r->id = "nightly/pg main";
	r->type = "x.restore";
	r->status = r->raw_status = st;
	r->summary = "backup 20261128-101010F restored in 12.3 s; 2 probes passed";
	r->details = details;
	r->duration_ms = 12345.6;
	c->ct = &ct;
	c->params = json_pack("{s:s,s:s,s:s}", "stanza", "demo", "token", "tok-secret-1",
	                      "conninfo", "host=db password=hunter22");
}

static void test_record(void **state)
{
	(void)state;
	struct check_result r;
	struct rb_check c;
	json_t *details = json_pack("{s:{s:{s:s,s:s,s:s},s:[{s:s,s:b}],s:{s:i},s:s}}", "rehearsal",
	                            "backup", "kind", "pgbackrest", "stanza", "demo", "label",
	                            "20261128-101010F", "probes", "name", "a", "ok", 1, "phases_ms",
	                            "restore", 10, "scratch_dir", "/var/tmp/gate-rehearsal-x");
	fill(&r, &c, CHECK_PASS, details);
	struct rehearsal_run run = {"/etc/gate/n.yaml", "db1", 1795860610123};
	json_t *rec = rehearsal_record(&r, &c, &run, 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "record_version")), 1);
	assert_string_equal(json_string_value(json_object_get(rec, "outcome")), "pass");
	assert_string_equal(json_string_value(json_object_get(rec, "started")),
	                    "2026-11-28T10:10:10.123Z");
	assert_int_equal(json_integer_value(json_object_get(rec, "duration_ms")), 12345);
	assert_string_equal(json_string_value(json_object_get(rec, "host")), "db1");
	assert_string_equal(json_string_value(json_object_get(rec, "check")), "nightly/pg main");
	json_t *src = json_object_get(rec, "source");
	assert_string_equal(json_string_value(json_object_get(src, "token")), "***");
	assert_string_equal(json_string_value(json_object_get(src, "conninfo")),
	                    "host=db password=***");
	assert_string_equal(json_string_value(json_object_get(src, "stanza")), "demo");
	/* the runbook's own parameters are untouched */
	assert_string_equal(json_string_value(json_object_get(c.params, "token")), "tok-secret-1");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(rec, "backup"), "label")),
		"20261128-101010F");
	assert_int_equal(json_array_size(json_object_get(rec, "probes")), 1);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(rec, "phases_ms"), "restore")),
		10);
	assert_null(json_object_get(rec, "scratch_dir"));
	json_decref(rec);
	/* interrupted wins over the status; a skip is an error */
	rec = rehearsal_record(&r, &c, &run, 1);
	assert_string_equal(json_string_value(json_object_get(rec, "outcome")), "interrupted");
	json_decref(rec);
	r.raw_status = CHECK_SKIP;
	assert_string_equal(rehearsal_outcome(&r, 0), "error");
	r.raw_status = CHECK_FAIL;
	assert_string_equal(rehearsal_outcome(&r, 0), "fail");
	json_decref(details);
	json_decref(c.params);
}

/* A type that crashed sent no details; one that sent the wrong shapes
 * gets null, [] and {} instead. */
static void test_record_shapes(void **state)
{
	(void)state;
	struct check_result r;
	struct rb_check c;
	json_t *details = json_pack("{s:{s:s,s:i,s:[]}}", "rehearsal", "backup", "x", "probes", 3,
	                            "phases_ms");
	fill(&r, &c, CHECK_ERROR, details);
	struct rehearsal_run run = {"n.yaml", "h", 0};
	json_t *rec = rehearsal_record(&r, &c, &run, 0);
	assert_true(json_is_null(json_object_get(rec, "backup")));
	assert_int_equal(json_array_size(json_object_get(rec, "probes")), 0);
	assert_true(json_is_object(json_object_get(rec, "phases_ms")));
	assert_string_equal(json_string_value(json_object_get(rec, "outcome")), "error");
	json_decref(rec);
	json_decref(details);
	json_decref(c.params);
	json_t *empty = json_object();
	fill(&r, &c, CHECK_ERROR, empty);
	rec = rehearsal_record(&r, &c, &run, 0);
	assert_true(json_is_null(json_object_get(rec, "backup")));
	json_decref(rec);
	json_decref(empty);
	json_decref(c.params);
}

static void test_file_name(void **state)
{
	(void)state;
	char *n = rehearsal_file_name(1795860610123, "pg.main_1-x");
	assert_string_equal(n, "20261128T101010.123Z-pg.main_1-x.json");
	free(n);
	n = rehearsal_file_name(1795860610005, "a/b c\n..");
	assert_string_equal(n, "20261128T101010.005Z-a_b_c_...json");
	free(n);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static void test_write(void **state)
{
	(void)state;
	char base[] = "/tmp/test_rehearsal.XXXXXX";
	assert_non_null(mkdtemp(base));
	char dir[256], link[256], path_want[512];
	snprintf(dir, sizeof(dir), "%s/a/rehearsals", base);
	json_t *rec = json_pack("{s:i,s:s}", "record_version", 1, "check", "c1");
	struct gate_error err = {0};
	char *path = NULL;
	mode_t old = umask(0);
	assert_int_equal(rehearsal_write(dir, rec, 1795860610123, &path, &err), 0);
	umask(old);
	snprintf(path_want, sizeof(path_want), "%s/20261128T101010.123Z-c1.json", dir);
	assert_string_equal(path, path_want);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(count_entries(dir), 1); /* no temporary file left */
	free(path);
	/* a directory others may write: refused, nothing written */
	chmod(dir, 0777);
	memset(&err, 0, sizeof(err));
	assert_int_equal(rehearsal_write(dir, rec, 1795860610124, &path, &err), -1);
	assert_non_null(strstr(err.msg, "no one else may write"));
	assert_int_equal(count_entries(dir), 1);
	chmod(dir, 0700);
	/* a symbolic link to it: refused */
	snprintf(link, sizeof(link), "%s/link", base);
	assert_int_equal(symlink(dir, link), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(rehearsal_write(link, rec, 1795860610125, NULL, &err), -1);
	assert_int_equal(count_entries(dir), 1);
	json_decref(rec);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_record_shapes),
		cmocka_unit_test(test_file_name),
		cmocka_unit_test(test_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
