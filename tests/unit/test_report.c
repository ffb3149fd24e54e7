/* SPDX-License-Identifier: MIT */
/* Reports (gate/report*.c) from hand-built evaluations: the JSON fields of
 * doc/report.md, text golden files (tests/data/report/, no colour; regenerate
 * with GATE_UPDATE_GOLDEN=1 after a deliberate change and review the
 * diff), -q / -v / colour, JUnit checked by xmllint, TAP read by prove,
 * Nagios lines and statuses, and no password in any format. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eval.h"
#include "policy.h"
#include "redact.h"
#include "report.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"

#define T_THU_0130 1795656600000LL /* 2026-11-26T01:30:00Z, Thursday */
#define T_SAT_0000 1795824000000LL /* 2026-11-28T00:00:00Z = sat 01:00 Berlin */

struct fx {
	struct runbook rb;
	struct rb_check checks[4];
	struct rb_window windows[1];
	char *command[5];
	struct eval ev;
	struct window_facts wf; /* the window at ev.now_ms */
};

static void set_result(struct eval *ev, size_t i, enum check_status st, const char *summary,
                       double ms, const char *details)
{
	struct check_result *r = &ev->results[i];
	r->status = r->raw_status = st;
	r->summary = xstrdup(summary);
	r->duration_ms = ms;
	r->attempts = 1;
	json_decref(r->details);
	r->details = json_loads(details, 0, NULL);
	assert_non_null(r->details);
}

/* The example runbook of doc/runbook.md.  block: replicas fail, archiver
 * times out, disk (warn) fails, outside the window.  allow: inside the
 * window, archiver overridden, disk still warns. */
static void fx_init(struct fx *f, int allow)
{
	memset(f, 0, sizeof(*f));
	static const char *const cmd[] = {"apt-get", "install", "-y", "postgresql-15", NULL};
	for (int i = 0; cmd[i]; i++)
		f->command[i] = (char *)cmd[i];
	f->rb.name = "pg-minor-upgrade";
	f->rb.path = "runbooks/pg-minor-upgrade.yaml";
	f->rb.description =
		"Minor upgrade of db1; needs a fresh verified backup and healthy replicas.";
	f->rb.command = f->command;
	f->rb.checks = f->checks;
	f->rb.nchecks = 4;
	f->checks[0] = (struct rb_check){.id = "backup-fresh", .type = "pgbackrest.backup"};
	f->checks[1] = (struct rb_check){
		.id = "replicas",
		.type = "postgres.replication",
		.hint = "look at db2: is it running? pg_stat_wal_receiver on it"};
	f->checks[2] = (struct rb_check){
		.id = "archiver", .type = "postgres.archiver", .overridable = 1};
	f->checks[3] = (struct rb_check){
		.id = "disk", .type = "exec", .severity = RB_SEVERITY_WARN};
	f->windows[0] = (struct rb_window){(1u << 5) | (1u << 6), 60, 300, "Europe/Berlin", 0, {0}};
	f->rb.windows = f->windows;
	f->rb.nwindows = 1;

	struct eval *ev = &f->ev;
	eval_init(ev, &f->rb, allow ? EVAL_MODE_DRY_RUN : EVAL_MODE_CHECK);
	ev->command = strv_dup(f->command);
	ev->started_at_ms = (allow ? T_SAT_0000 : T_THU_0130) + 123;
	ev->now_ms = allow ? T_SAT_0000 : T_THU_0130;
	ev->duration_ms = 412.7;

	set_result(ev, 0, CHECK_PASS, "last full backup 20261125-024500F is 3h old, verify ok",
	           4712.3,
	           "{\"label\": \"20261125-024500F\", \"age_s\": 10800, \"verify\": \"ok\"}");
	if (allow)
		set_result(ev, 1, CHECK_PASS, "2 of 2 required replicas streaming", 8.4,
		           "{\"streaming\": 2}");
	else
		set_result(
			ev, 1, CHECK_FAIL, "1 of 2 required replicas streaming", 8.4,
			"{\"streaming\": 1, \"conninfo\": \"host=db1 user=gate password=hunter2\","
			" \"replicas\": [{\"application_name\": \"db1\", \"state\": \"streaming\", "
			"\"replay_lag_s\": 0},"
			" {\"application_name\": \"db2\", \"state\": \"catchup\", "
			"\"replay_lag_s\": null}]}");
	set_result(ev, 2, CHECK_ERROR, "timeout after 10s", 10000.9, "{}");
	ev->results[2].timed_out = 1;
	ev->results[2].attempts = 2;
	set_result(ev, 3, CHECK_FAIL, "DISK WARNING - free space: /var/lib/postgresql 15%", 41.2,
	           "{\"exit_code\": 1, \"output\": \"DISK WARNING - free space: "
	           "/var/lib/postgresql 15%\\n"
	           "/var/lib/postgresql 1024 MB (15%)\"}");
	if (allow) {
		ev->overrides = xcalloc(1, sizeof(*ev->overrides));
		ev->overrides[0].id = "archiver";
		ev->noverrides = 1;
		ev->override_reason = "archiver known slow, INC-1234";
	}
	window_facts_at(f->rb.windows, f->rb.nwindows, ev->now_ms, &f->wf);
	policy_decide(ev, &f->wf);
	assert_int_equal(ev->allow, allow);
}

static char *render(const struct eval *ev, const struct report_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_non_null(m);
	assert_int_equal(report_write(m, ev, o), 0);
	fclose(m);
	return buf;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	return strbuf_detach(&sb);
}

static void golden(const char *name, const char *got)
{
	const char *src = getenv("GATE_SOURCE_DIR");
	assert_non_null(src);
	char *path = xasprintf("%s/tests/data/report/%s", src, name);
	if (getenv("GATE_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(got, f);
		fclose(f);
	}
	char *want = slurp(path);
	if (!want || strcmp(want, got) != 0)
		print_error("golden %s differs; got:\n%s\n--- want:\n%s\n", path, got,
		            want ? want : "(missing)");
	assert_non_null(want);
	assert_string_equal(got, want);
	free(want);
	free(path);
}

/* --- text ------------------------------------------------------------ */

static void test_text_golden(void **state)
{
	struct report_opts o = {REPORT_TEXT, 0, 0, 0};
	for (int allow = 0; allow <= 1; allow++) {
		struct fx f;
		fx_init(&f, allow);
		char *s = render(&f.ev, &o);
		golden(allow ? "allow.txt" : "block.txt", s);
		assert_null(strstr(s, "\033["));
		assert_null(strstr(s, "hunter2"));
		free(s);
		eval_release(&f.ev);
	}
}

static void test_text_quiet_verbose_color(void **state)
{
	struct fx f;
	fx_init(&f, 0);

	struct report_opts q = {REPORT_TEXT, 0, 0, 1};
	char *s = render(&f.ev, &q);
	golden("block-quiet.txt", s);
	assert_null(strstr(s, "PASS"));
	assert_null(strstr(s, "runbook  "));
	assert_non_null(strstr(s, "FAIL  replicas"));
	assert_non_null(strstr(s, "BLOCKED"));
	free(s);

	struct report_opts v = {REPORT_TEXT, 0, 1, 0};
	s = render(&f.ev, &v);
	assert_non_null(strstr(s, "label: 20261125-024500F")); /* a passing check's details */
	free(s);
	struct report_opts plain = {REPORT_TEXT, 0, 0, 0};
	s = render(&f.ev, &plain);
	assert_null(strstr(s, "label: 20261125-024500F"));
	free(s);

	struct report_opts c = {REPORT_TEXT, 1, 0, 0};
	s = render(&f.ev, &c);
	assert_non_null(strstr(s, "\033[1m\033[31mBLOCKED\033[0m"));
	assert_non_null(strstr(s, "\033[32mPASS\033[0m"));
	free(s);
	eval_release(&f.ev);
}

static void test_text_command_states(void **state)
{
	struct fx f;
	fx_init(&f, 1);
	struct report_opts o = {REPORT_TEXT, 0, 0, 0};
	f.ev.mode = EVAL_MODE_RUN;
	char *s = render(&f.ev, &o);
	assert_non_null(strstr(s, "command  apt-get install -y postgresql-15 (runs now)"));
	free(s);
	f.ev.have_exit_status = 1;
	f.ev.exit_status = 3;
	f.ev.command_duration_ms = 61500;
	s = render(&f.ev, &o);
	assert_non_null(strstr(s, "(ran: exit status 3, 1m01s)"));
	free(s);
	/* arguments that need quoting are quoted for the shell */
	strv_free(f.ev.command);
	f.ev.command = strv_dup((char *const[]){"sh", "-c", "echo 'hi there'", NULL});
	s = render(&f.ev, &o);
	assert_non_null(strstr(s, "command  sh -c 'echo '\\''hi there'\\''' (ran"));
	free(s);
	eval_release(&f.ev);
}

/* --- JSON ------------------------------------------------------------ */

static void test_json_fields(void **state)
{
	struct fx f;
	fx_init(&f, 0);
	json_t *j = report_json(&f.ev);
	assert_string_equal(json_string_value(json_object_get(j, "gate_version")), GATE_VERSION);
	assert_string_equal(json_string_value(json_object_get(j, "runbook")), "pg-minor-upgrade");
	assert_string_equal(json_string_value(json_object_get(j, "runbook_path")),
	                    "runbooks/pg-minor-upgrade.yaml");
	assert_string_equal(json_string_value(json_object_get(j, "mode")), "check");
	assert_string_equal(json_string_value(json_object_get(j, "decision")), "block");
	json_t *reasons = json_object_get(j, "reasons");
	assert_int_equal(json_array_size(reasons), 3);
	assert_string_equal(json_string_value(json_array_get(reasons, 0)),
	                    "replicas: 1 of 2 required replicas streaming");
	assert_string_equal(json_string_value(json_array_get(reasons, 1)),
	                    "archiver: timeout after 10s");
	assert_memory_equal(json_string_value(json_array_get(reasons, 2)), "window: outside", 15);
	assert_int_equal(json_array_size(json_object_get(j, "command")), 4);
	assert_string_equal(json_string_value(json_object_get(j, "started_at")),
	                    "2026-11-26T01:30:00.123Z");
	assert_true(json_real_value(json_object_get(j, "duration_ms")) == 412.7);
	assert_true(json_is_null(json_object_get(j, "exit_status")));
	assert_int_equal(json_array_size(json_object_get(j, "overrides")), 0);

	json_t *checks = json_object_get(j, "checks");
	assert_int_equal(json_array_size(checks), 5); /* 4 + window */
	static const char *const ids[] = {"backup-fresh", "replicas", "archiver", "disk", "window"};
	static const char *const st[] = {"pass", "fail", "error", "fail", "fail"};
	for (size_t i = 0; i < 5; i++) {
		json_t *c = json_array_get(checks, i);
		assert_string_equal(json_string_value(json_object_get(c, "id")), ids[i]);
		assert_string_equal(json_string_value(json_object_get(c, "status")), st[i]);
		static const char *const keys[] = {"type",        "severity", "summary",
		                                   "duration_ms", "attempts", "overridden",
		                                   "hint",        "details"};
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			assert_non_null(json_object_get(c, keys[k]));
		assert_true(json_is_object(json_object_get(c, "details")));
	}
	json_t *rep = json_array_get(checks, 1);
	assert_string_equal(json_string_value(json_object_get(rep, "severity")), "block");
	assert_string_equal(json_string_value(json_object_get(rep, "hint")),
	                    "look at db2: is it running? pg_stat_wal_receiver on it");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(rep, "details"), "conninfo")),
		"host=db1 user=gate password=***");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(checks, 3), "severity")), "warn");
	assert_true(json_is_true(json_object_get(json_array_get(checks, 2), "timed_out")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(checks, 2), "attempts")),
	                 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(checks, 4), "type")),
	                    "window");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "next_window"), "at")),
		"2026-11-28T00:00:00Z");
	assert_int_equal(json_array_size(json_object_get(j, "warnings")), 1);
	json_decref(j);

	char *s = report_json_string(&f.ev, 1);
	assert_non_null(strstr(s, "\"duration_ms\": 412.7,"));
	assert_non_null(strstr(s, "\"duration_ms\": 4712.3,"));
	assert_null(strstr(s, "hunter2"));
	free(s);

	/* a summary and an argument that are not UTF-8 still appear */
	free(f.ev.results[0].summary);
	f.ev.results[0].summary = xstrdup("caf\xe9 ok");
	free(f.ev.command[3]);
	f.ev.command[3] = xstrdup("\xff");
	j = report_json(&f.ev);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "checks"), 0), "summary")),
	                    "caf\xef\xbf\xbd ok");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "command"), 3)),
	                    "\xef\xbf\xbd");
	json_decref(j);

	/* after a run: exit_status set; no command: null */
	f.ev.have_exit_status = 1;
	f.ev.exit_status = 0;
	strv_free(f.ev.command);
	f.ev.command = NULL;
	j = report_json(&f.ev);
	assert_int_equal(json_integer_value(json_object_get(j, "exit_status")), 0);
	assert_true(json_is_integer(json_object_get(j, "exit_status")));
	assert_true(json_is_null(json_object_get(j, "command")));
	json_decref(j);
	eval_release(&f.ev);
}

static void test_json_overrides(void **state)
{
	struct fx f;
	fx_init(&f, 1);
	json_t *j = report_json(&f.ev);
	assert_string_equal(json_string_value(json_object_get(j, "decision")), "allow");
	assert_string_equal(json_string_value(json_object_get(j, "mode")), "dry-run");
	assert_int_equal(json_array_size(json_object_get(j, "reasons")), 0);
	json_t *o = json_array_get(json_object_get(j, "overrides"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "id")), "archiver");
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
	                    "archiver known slow, INC-1234");
	json_t *arch = json_array_get(json_object_get(j, "checks"), 2);
	assert_string_equal(json_string_value(json_object_get(arch, "status")), "overridden");
	assert_true(json_is_true(json_object_get(arch, "overridden")));
	assert_string_equal(json_string_value(json_object_get(arch, "raw_status")), "error");
	assert_true(json_is_null(json_object_get(j, "next_window")));
	json_decref(j);
	eval_release(&f.ev);
}

/* --- JUnit, TAP ------------------------------------------------------ */

static int run_sh(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *write_tmp(const char *content, const char *suffix)
{
	char *path = xasprintf("/tmp/gate-test-report-%ld-%s", (long)getpid(), suffix);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	return path;
}

static void test_junit(void **state)
{
	assert_int_equal(run_sh("command -v xmllint >/dev/null"), 0); /* libxml2-utils */
	for (int allow = 0; allow <= 1; allow++) {
		struct fx f;
		fx_init(&f, allow);
		/* markup, a control byte and broken UTF-8 in a summary */
		free(f.ev.results[0].summary);
		f.ev.results[0].summary = xstrdup("a <b> & \"c\" 'd' \x01 \xff\xfe ]]> ok ✓");
		struct report_opts o = {REPORT_JUNIT, 0, 0, 0};
		char *s = render(&f.ev, &o);
		char *path = write_tmp(s, "junit.xml");
		char *cmd = xasprintf("xmllint --noout '%s'", path);
		assert_int_equal(run_sh(cmd), 0);
		free(cmd);
		/* the structure, read back by xmllint --xpath */
		cmd = xasprintf(
			"test \"$(xmllint --xpath 'count(/testsuite/testcase)' '%s')\" = 6 && "
			"test \"$(xmllint --xpath 'count(//testcase/failure)' '%s')\" = %d && "
			"test \"$(xmllint --xpath 'string(/testsuite/@failures)' '%s')\" = %d && "
			"xmllint --xpath 'string(//testcase[@name=\"replicas\"]/failure/@message)' "
			"'%s' | "
			"grep -q '1 of 2 required replicas streaming'",
			path, path, allow ? 1 : 5, path, allow ? 1 : 5, path);
		if (allow) {
			free(cmd);
			cmd = xasprintf("test \"$(xmllint --xpath 'count(/testsuite/testcase)' "
			                "'%s')\" = 6 && "
			                "test \"$(xmllint --xpath 'count(//testcase/failure)' "
			                "'%s')\" = 1 && "
			                "xmllint --xpath "
			                "'string(//testcase[@name=\"disk\"]/failure/@type)' '%s' | "
			                "grep -qx fail-warning",
			                path, path, path);
		}
		assert_int_equal(run_sh(cmd), 0);
		free(cmd);
		assert_null(strstr(s, "hunter2"));
		unlink(path);
		free(path);
		free(s);
		eval_release(&f.ev);
	}
}

/* A skipped check is <skipped/>, and a blocking skip blocks. */
static void test_junit_skip(void **state)
{
	struct fx f;
	fx_init(&f, 1);
	f.ev.results[1].status = f.ev.results[1].raw_status = CHECK_SKIP;
	policy_decide(&f.ev, &f.wf);
	assert_false(f.ev.allow);
	struct report_opts o = {REPORT_JUNIT, 0, 0, 0};
	char *s = render(&f.ev, &o);
	char *path = write_tmp(s, "skip.xml");
	char *cmd = xasprintf(
		"xmllint --noout '%s' && "
		"test \"$(xmllint --xpath 'count(//testcase[@name=\"replicas\"]/skipped)' '%s')\" "
		"= 1 && "
		"test \"$(xmllint --xpath 'string(/testsuite/@skipped)' '%s')\" = 1 && "
		"test \"$(xmllint --xpath 'count(//testcase[@name=\"decision\"]/failure)' '%s')\" "
		"= 1",
		path, path, path, path);
	assert_int_equal(run_sh(cmd), 0);
	free(cmd);
	unlink(path);
	free(path);
	free(s);
	eval_release(&f.ev);
}

static void test_tap(void **state)
{
	assert_int_equal(run_sh("command -v prove >/dev/null"), 0);
	for (int allow = 0; allow <= 1; allow++) {
		struct fx f;
		fx_init(&f, allow);
		free(f.ev.results[0].summary);
		f.ev.results[0].summary = xstrdup("backup #1 ok");
		struct report_opts o = {REPORT_TAP, 0, 0, 0};
		char *s = render(&f.ev, &o);
		assert_memory_equal(s, "TAP version 13\n1..6\n", 20);
		assert_non_null(strstr(s, "ok 1 - backup-fresh: backup \\#1 ok\n"));
		assert_non_null(strstr(s, "not ok 4 - disk: DISK WARNING - free space: "
		                          "/var/lib/postgresql 15% # TODO"));
		if (!allow) {
			assert_non_null(strstr(s, "not ok 2 - replicas: 1 of 2 required replicas "
			                          "streaming\n  ---\n"));
			assert_non_null(strstr(s, "not ok 6 - decision: block\n"));
		} else {
			assert_non_null(strstr(
				s, "ok 3 - archiver: timeout after 10s (overridden, was error)\n"));
			assert_non_null(strstr(s, "ok 6 - decision: allow\n"));
		}
		assert_null(strstr(s, "hunter2"));
		char *path = write_tmp(s, "report.tap");
		/* prove reads it (cat is the "interpreter"); its verdict is the
		 * decision: blocked -> the harness fails */
		char *cmd = xasprintf("prove -e cat '%s' >'%s.out' 2>&1", path, path);
		assert_int_equal(run_sh(cmd) == 0, allow);
		free(cmd);
		char *out = xasprintf("%s.out", path);
		char *txt = slurp(out);
		assert_non_null(txt);
		assert_null(strstr(txt, "Parse errors"));
		if (!allow)
			assert_non_null(strstr(txt, "Failed 4/6 subtests"));
		else
			assert_non_null(strstr(txt, "Result: PASS"));
		free(txt);
		unlink(out);
		free(out);
		unlink(path);
		free(path);
		free(s);
		eval_release(&f.ev);
	}
}

/* --- Nagios ---------------------------------------------------------- */

static void test_nagios(void **state)
{
	struct report_opts o = {REPORT_NAGIOS, 0, 0, 0};
	struct fx f;

	fx_init(&f, 0);
	char *s = render(&f.ev, &o);
	assert_int_equal(report_nagios_status(&f.ev), 2);
	assert_string_equal(
		s, "GATE CRITICAL - blocked: pg-minor-upgrade: replicas: 1 of 2 required replicas "
		   "streaming; archiver: timeout after 10s; window: outside every maintenance "
		   "window; next opens sat 01:00 Europe/Berlin (in 1d22h) | checks=5;;; "
		   "failed=4;;; warnings=1;;; duration=0.41s;;;\n");
	free(s);
	eval_release(&f.ev);

	fx_init(&f, 1);
	s = render(&f.ev, &o);
	assert_int_equal(report_nagios_status(&f.ev), 1);
	assert_string_equal(
		s, "GATE WARNING - allowed with warnings: pg-minor-upgrade: disk: DISK WARNING - "
		   "free space: /var/lib/postgresql 15% | checks=5;;; failed=1;;; warnings=1;;; "
		   "duration=0.41s;;;\n");
	free(s);

	/* no warning left: OK */
	f.ev.results[3].status = CHECK_PASS;
	free(f.ev.results[3].summary);
	f.ev.results[3].summary = xstrdup("DISK OK | /=1MB;;;");
	s = render(&f.ev, &o);
	assert_int_equal(report_nagios_status(&f.ev), 0);
	assert_string_equal(
		s, "GATE OK - allowed: pg-minor-upgrade, 4 of 5 checks passed | checks=5;;; "
		   "failed=0;;; warnings=0;;; duration=0.41s;;;\n");
	free(s);

	/* a '|' in a reason must not start the perfdata early */
	f.ev.results[1].status = CHECK_FAIL;
	free(f.ev.results[1].summary);
	f.ev.results[1].summary = xstrdup("a|b");
	policy_decide(&f.ev, &f.wf);
	s = render(&f.ev, &o);
	assert_non_null(strstr(s, "replicas: a/b"));
	assert_ptr_equal(strchr(s, '|'), strstr(s, "| checks="));
	free(s);
	eval_release(&f.ev);

	/* nothing evaluated: UNKNOWN */
	assert_int_equal(report_nagios_status(NULL), 3);
	struct eval ev;
	eval_init(&ev, NULL, EVAL_MODE_CHECK);
	assert_int_equal(report_nagios_status(&ev), 3);
	eval_release(&ev);
}

static void test_format_parse(void **state)
{
	enum report_format f;
	static const char *const names[] = {"text", "json", "junit", "tap", "nagios"};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(report_format_parse(names[i], &f), 0);
		assert_int_equal(f, i);
	}
	assert_int_equal(report_format_parse("xml", &f), -1);
	assert_int_equal(report_format_parse("JSON", &f), -1);
	assert_int_equal(report_format_parse(NULL, &f), -1);
}

/* A registered secret (a header token from ${env:...}) never shows, in
 * whatever field it hides. */
static void test_secret_everywhere(void **state)
{
	redact_reset();
	redact_register_secret("tok-SECRET-42");
	struct fx f;
	fx_init(&f, 0);
	free(f.ev.results[1].summary);
	f.ev.results[1].summary = xstrdup("HTTP 401 with Bearer tok-SECRET-42");
	strv_free(f.ev.reasons);
	f.ev.reasons = NULL;
	f.ev.nreasons = 0;
	policy_decide(&f.ev, &f.wf);
	strv_free(f.ev.command);
	f.ev.command = strv_dup((char *const[]){"curl", "-H", "Authorization: Bearer tok-SECRET-42",
	                                        "https://u:pw@h/", NULL});
	for (int fmt = REPORT_TEXT; fmt <= REPORT_NAGIOS; fmt++) {
		struct report_opts o = {(enum report_format)fmt, 0, 1, 0};
		char *s = render(&f.ev, &o);
		if (strstr(s, "tok-SECRET-42") || strstr(s, ":pw@") || strstr(s, "hunter2"))
			print_error("format %d leaks:\n%s\n", fmt, s);
		assert_null(strstr(s, "tok-SECRET-42"));
		assert_null(strstr(s, ":pw@"));
		assert_null(strstr(s, "hunter2"));
		free(s);
	}
	eval_release(&f.ev);
	redact_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_golden),
		cmocka_unit_test(test_text_quiet_verbose_color),
		cmocka_unit_test(test_text_command_states),
		cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_json_overrides),
		cmocka_unit_test(test_junit),
		cmocka_unit_test(test_junit_skip),
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_nagios),
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_secret_everywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
