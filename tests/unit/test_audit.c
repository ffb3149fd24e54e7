/* SPDX-License-Identifier: MIT */
/* The JSON-lines audit file (gate/audit.c): one parsable line per record
 * with the report's fields plus record/user/host, mode 0600 whatever the
 * umask, appended (never truncating), no interleaving when several gates
 * write at once, real write failures (/dev/full, a directory, a missing
 * directory) reported with the path and the errno text, no password in a
 * line.  The journal sink is exercised against a real journald by
 * tests/t0200-journal.sh.  Here the test first moves into a private mount
 * namespace with an empty tmpfs over /run/systemd/journal (when it can),
 * so that no test record ever reaches the host's journal and "no journal"
 * is a known state. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "eval.h"
#include "policy.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"

struct fx {
	struct runbook rb;
	struct rb_check checks[2];
	char *command[3];
	struct eval ev;
};

static void fx_init(struct fx *f, int pass)
{
	memset(f, 0, sizeof(*f));
	f->rb.name = "pg-minor-upgrade";
	f->rb.path = "rb.yaml";
	f->rb.checks = f->checks;
	f->rb.nchecks = 2;
	f->checks[0] = (struct rb_check){.id = "replicas", .type = "postgres.replication"};
	f->checks[1] = (struct rb_check){
		.id = "disk", .type = "exec", .severity = RB_SEVERITY_WARN};
	eval_init(&f->ev, &f->rb, EVAL_MODE_RUN);
	f->ev.command = strv_dup(
		(char *const[]){"psql", "postgresql://gate:hunter2@db1/postgres", NULL});
	f->ev.started_at_ms = 1795656600000;
	f->ev.now_ms = 1795656600000;
	f->ev.duration_ms = 12.5;
	for (int i = 0; i < 2; i++) {
		f->ev.results[i].status = f->ev.results[i].raw_status = pass ? CHECK_PASS
		                                                             : CHECK_FAIL;
		f->ev.results[i].summary = xstrdup(
			pass ? "ok" : "connection to host=db1 password=hunter2 failed");
		f->ev.results[i].details = json_object();
		f->ev.results[i].attempts = 1;
	}
	policy_decide(&f->ev, NULL); /* no windows */
	assert_int_equal(f->ev.allow, pass);
}

static char *tmpdir(void)
{
	char *d = xstrdup("/tmp/gate-test-audit.XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static size_t read_lines(const char *path, json_t **out, size_t max)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		assert_true(line[len - 1] == '\n'); /* every record ends its line */
		assert_null(strstr(line, "hunter2"));
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		if (!j)
			print_error("unparsable line: %s (%s)\n", line, je.text);
		assert_non_null(j);
		if (n < max)
			out[n] = j;
		else
			json_decref(j);
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

static void test_file_records(void **state)
{
	char *dir = tmpdir();
	char *path = xasprintf("%s/audit.jsonl", dir);
	FILE *pre = fopen(path, "w");
	fputs("{\"earlier\": true}\n", pre);
	fclose(pre);
	chmod(path, 0600);

	struct fx f;
	fx_init(&f, 1);
	struct audit_status st;
	struct gate_error err = {0};
	/* the journal may or may not exist on this machine: the file sink
	 * alone is judged here */
	audit_record(&f.ev, AUDIT_DECISION, path, &st, &err);
	assert_true(st.have_file);
	assert_true(st.file_ok);
	assert_int_equal(st.journal_ok, audit_journal_available());
	f.ev.have_exit_status = 1;
	f.ev.exit_status = 3;
	f.ev.command_duration_ms = 1500;
	memset(&err, 0, sizeof(err));
	audit_record(&f.ev, AUDIT_RESULT, path, &st, &err);
	assert_true(st.file_ok);

	json_t *lines[4] = {0};
	assert_int_equal(read_lines(path, lines, 4), 3);
	assert_true(json_is_true(json_object_get(lines[0], "earlier")));

	json_t *d = lines[1], *r = lines[2];
	assert_string_equal(json_string_value(json_object_get(d, "record")), "decision");
	assert_string_equal(json_string_value(json_object_get(r, "record")), "result");
	for (int i = 1; i <= 2; i++) {
		assert_string_equal(json_string_value(json_object_get(lines[i], "decision")),
		                    "allow");
		assert_string_equal(json_string_value(json_object_get(lines[i], "runbook")),
		                    "pg-minor-upgrade");
		assert_string_equal(json_string_value(json_object_get(lines[i], "mode")), "run");
		assert_non_null(json_string_value(json_object_get(lines[i], "user")));
		assert_non_null(json_string_value(json_object_get(lines[i], "host")));
		assert_int_equal(json_array_size(json_object_get(lines[i], "checks")), 2);
		assert_string_equal(
			json_string_value(json_array_get(json_object_get(lines[i], "command"), 1)),
			"postgresql://gate:***@db1/postgres");
	}
	assert_true(json_is_null(json_object_get(d, "exit_status")));
	assert_int_equal(json_integer_value(json_object_get(r, "exit_status")), 3);
	for (int i = 0; i < 3; i++)
		json_decref(lines[i]);

	eval_release(&f.ev);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

static void test_file_mode_0600(void **state)
{
	char *dir = tmpdir();
	char *path = xasprintf("%s/new.jsonl", dir);
	mode_t old = umask(0);
	struct fx f;
	fx_init(&f, 0);
	struct audit_status st;
	struct gate_error err = {0};
	audit_record(&f.ev, AUDIT_DECISION, path, &st, &err);
	umask(old);
	assert_true(st.file_ok);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);

	json_t *lines[1] = {0};
	assert_int_equal(read_lines(path, lines, 1), 1);
	assert_string_equal(json_string_value(json_object_get(lines[0], "decision")), "block");
	assert_int_equal(json_array_size(json_object_get(lines[0], "reasons")), 1);
	json_decref(lines[0]);
	eval_release(&f.ev);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

static void test_file_failures(void **state)
{
	struct fx f;
	fx_init(&f, 1);
	char *dir = tmpdir();
	struct {
		const char *path;
		const char *msg;
	} rows[] = {
		{"/dev/full", "cannot write audit log /dev/full: not a regular file"},
		{dir, NULL}, /* a directory */
		{"/nonexistent-gate-dir/audit.jsonl",
	         "cannot write audit log /nonexistent-gate-dir/audit.jsonl: No such file or "
	         "directory"},
		{NULL, NULL}, /* a symbolic link to a file: never written through */
	};
	char *isdir = xasprintf("cannot write audit log %s: Is a directory", dir);
	rows[1].msg = isdir;
	char *victim = xasprintf("%s/victim", dir), *link = xasprintf("%s/audit.jsonl", dir);
	FILE *vf = fopen(victim, "w");
	assert_non_null(vf);
	fputs("precious\n", vf);
	fclose(vf);
	assert_int_equal(symlink(victim, link), 0);
	char *islink = xasprintf(
		"cannot write audit log %s: a symbolic link (gate does not write through one)",
		link);
	rows[3].path = link;
	rows[3].msg = islink;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct audit_status st;
		struct gate_error err = {0};
		assert_int_equal(audit_record(&f.ev, AUDIT_DECISION, rows[i].path, &st, &err), -1);
		assert_true(st.have_file);
		assert_false(st.file_ok);
		assert_true(err.set);
		/* the file's error comes first, even when the journal is missing too */
		assert_string_equal(err.msg, rows[i].msg);
	}
	struct stat vs;
	assert_int_equal(stat(victim, &vs), 0);
	assert_int_equal(vs.st_size, 9); /* "precious\n", nothing appended */
	unlink(link);
	unlink(victim);
	free(islink);
	free(link);
	free(victim);
	free(isdir);
	rmdir(dir);
	free(dir);
	eval_release(&f.ev);
}

static int isolated; /* no journal socket in this mount namespace */

static void test_no_file(void **state)
{
	struct fx f;
	fx_init(&f, 1);
	struct audit_status st;
	struct gate_error err = {0};
	int rc = audit_record(&f.ev, AUDIT_DECISION, NULL, &st, &err);
	assert_false(st.have_file);
	assert_true(st.file_ok);
	/* without a file, the result is the journal's */
	assert_int_equal(rc == 0, st.journal_ok);
	assert_int_equal(err.set, !st.journal_ok);
	if (isolated) {
		assert_false(audit_journal_available());
		assert_int_equal(rc, -1);
		assert_false(st.journal_ok);
		assert_string_equal(err.msg, "no systemd journal at /run/systemd/journal/socket");
	}
	eval_release(&f.ev);
}

/* A private mount namespace where /run/systemd/journal is an empty tmpfs
 * (or does not exist at all): nothing here can reach a journald. */
static void isolate_from_journal(void)
{
	struct stat sb;
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "# test_audit: no private mount namespace (not root?): journal "
		                "state unknown\n");
		return;
	}
	if (stat("/run/systemd/journal", &sb) == 0 &&
	    mount("tmpfs", "/run/systemd/journal", "tmpfs", 0, "size=64k") < 0) {
		fprintf(stderr, "# test_audit: cannot hide /run/systemd/journal\n");
		return;
	}
	isolated = 1;
}

/* Eight writers, 40 records each, one file: every line whole. */
static void test_concurrent_writers(void **state)
{
	char *dir = tmpdir();
	char *path = xasprintf("%s/shared.jsonl", dir);
	enum { WRITERS = 8, RECORDS = 40 };
	pid_t pids[WRITERS];
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			struct fx f;
			fx_init(&f, w % 2);
			int bad = 0;
			for (int i = 0; i < RECORDS; i++) {
				struct audit_status st;
				struct gate_error err = {0};
				audit_record(&f.ev, AUDIT_DECISION, path, &st, &err);
				bad += !st.file_ok;
			}
			eval_release(&f.ev);
			free(path);
			free(dir);
			_exit(bad ? 1 : 0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int status;
		assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	json_t *none[1];
	size_t n = read_lines(path, none, 0);
	assert_int_equal(n, WRITERS * RECORDS);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

int main(void)
{
	isolate_from_journal();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_records),       cmocka_unit_test(test_file_mode_0600),
		cmocka_unit_test(test_file_failures),      cmocka_unit_test(test_no_file),
		cmocka_unit_test(test_concurrent_writers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
