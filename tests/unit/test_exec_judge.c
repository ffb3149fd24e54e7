/* SPDX-License-Identifier: MIT */
/* The exec check's judge (checks/exec_judge.c), table by table, fed with
 * real runs recorded by tests/tools/record-exec.sh: the Monitoring Plugins
 * (check_dummy in every state, check_disk, check_tcp), the scenario tests'
 * own plugins (perfdata in the long text, Latin-1, escapes), a crash, a
 * hang killed at its deadline, a command that is not installed, and the
 * exit protocol.  Then the recording reader and kit's text_utf8_valid,
 * which the judge applies to whatever the command printed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exec_nagios.h"
#include "kit/text.h"

#define PLUG "/usr/lib/nagios/plugins/"

/* A recording: header, stdout, stderr (separated by "\n%%\n"). */
struct rec {
	char *buf;
	const char *part[3];
};

static void rec_load(const char *name, struct rec *r)
{
	const char *src = getenv("GATE_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/recorded/exec/%s", src ? src : ".", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	r->buf = calloc(1, 1 << 20);
	assert_non_null(r->buf);
	size_t n = fread(r->buf, 1, (1 << 20) - 1, f);
	fclose(f);
	r->buf[n] = '\0';
	char *p = r->buf;
	for (int i = 0; i < 3; i++) {
		r->part[i] = p ? p : "";
		char *sep = p ? strstr(p, "\n%%\n") : NULL;
		if (sep && i < 2) {
			*sep = '\0';
			p = sep + 4;
		} else {
			p = NULL;
		}
	}
}

/* Judge a recording into res (details: a new object; the caller decrefs). */
static void judge(const char *name, const struct exec_judge_params *jp, struct gate_result *res)
{
	struct rec r;
	rec_load(name, &r);
	struct proc_result pr;
	if (exec_facts_read(r.part[0], r.part[1], r.part[2], &pr) != 0)
		fail_msg("%s: the header does not read", name);
	memset(res, 0, sizeof(*res));
	res->status = GATE_ERROR;
	strcpy(res->summary, "module returned no result");
	res->details = json_object();
	exec_judge(&pr, jp, res);
	free(r.buf);
}

static const char *dstr(const struct gate_result *res, const char *key)
{
	return json_string_value(json_object_get(res->details, key));
}

/* A summary matches want exactly, or its start when want ends in '*'. */
static void assert_summary(const char *name, const char *got, const char *want)
{
	size_t n = strlen(want);
	int ok = n && want[n - 1] == '*' ? strncmp(got, want, n - 1) == 0 : strcmp(got, want) == 0;
	if (!ok)
		fail_msg("%s: summary \"%s\", expected \"%s\"", name, got, want);
}

static void test_table(void **state)
{
	(void)state;
	static const struct {
		const char *rec;
		const char *tool;
		int nagios, warning_passes;
		enum gate_status want;
		const char *summary;
		const char *detail_state; /* details.state, or NULL: absent */
	} rows[] = {
		{"dummy-ok", PLUG "check_dummy", 1, 0, GATE_PASS, "OK: all good", "OK"},
		{"dummy-warning", PLUG "check_dummy", 1, 0, GATE_FAIL, "WARNING: getting full",
	         "WARNING"},
		{"dummy-warning", PLUG "check_dummy", 1, 1, GATE_PASS, "WARNING: getting full",
	         "WARNING"},
		{"dummy-critical", PLUG "check_dummy", 1, 0, GATE_FAIL, "CRITICAL: on fire",
	         "CRITICAL"},
		{"dummy-unknown", PLUG "check_dummy", 1, 0, GATE_ERROR, "UNKNOWN: cannot tell",
	         "UNKNOWN"},
		/* usage text on stdout, exit 3: the first line is the summary */
		{"dummy-usage", PLUG "check_dummy", 1, 0, GATE_ERROR,
	         "check_dummy: Could not parse arguments", "UNKNOWN"},
		{"disk-ok", PLUG "check_disk", 1, 0, GATE_PASS, "DISK OK*", "OK"},
		{"disk-critical", PLUG "check_disk", 1, 0, GATE_FAIL, "DISK CRITICAL*", "CRITICAL"},
		{"tcp-closed", PLUG "check_tcp", 1, 0, GATE_FAIL, "connect to address 127.0.0.1*",
	         "CRITICAL"},
		{"perf-long", "sh", 1, 0, GATE_PASS, "LAG OK - 3 replicas", "OK"},
		{"latin1", "sh", 1, 0, GATE_FAIL, "CRITICAL: caf\\xe9 \\xff down", "CRITICAL"},
		{"cut", "sh", 1, 1, GATE_PASS, "WARNING xéxéxé*", "WARNING"},
		{"evil", "sh", 1, 0, GATE_FAIL, "DISK CRITICAL  [2K [1A ALLOWED*", "CRITICAL"},
		{"no-output", "sh", 1, 0, GATE_FAIL, "no output (stderr: cannot reach db2)",
	         "CRITICAL"},
		{"exit-odd", "sh", 1, 0, GATE_ERROR, "sh: exited 42 (not a plugin state): partial",
	         "UNKNOWN"},
		{"crash", "sh", 1, 0, GATE_ERROR, "sh: killed by signal 11 (SIGSEGV)", NULL},
		{"crash", "sh", 0, 0, GATE_ERROR, "sh: killed by signal 11 (SIGSEGV)", NULL},
		{"hang", "sh", 0, 0, GATE_ERROR, "sh: timed out after 2s (killed)", NULL},
		{"hang", "sh", 1, 0, GATE_ERROR, "sh: timed out after 2s (killed)", NULL},
		{"not-installed", PLUG "check_foo_not_installed", 1, 0, GATE_ERROR,
	         PLUG "check_foo_not_installed: not installed (not found on PATH)", NULL},
		/* protocol exit */
		{"true", "/bin/true", 0, 0, GATE_PASS, "exited 0", NULL},
		{"false", "/bin/false", 0, 0, GATE_FAIL, "exited 1", NULL},
		{"stderr", "sh", 0, 0, GATE_FAIL, "exited 3: replica db2 unreachable", NULL},
		{"exit-odd", "sh", 0, 0, GATE_FAIL, "exited 42: partial", NULL},
		{"dummy-critical", PLUG "check_dummy", 0, 0, GATE_FAIL,
	         "exited 2: CRITICAL: on fire", NULL},
		{"dummy-ok", PLUG "check_dummy", 0, 0, GATE_PASS, "exited 0", NULL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct exec_judge_params jp = {rows[i].tool, rows[i].nagios, rows[i].warning_passes,
		                               2000};
		struct gate_result res;
		judge(rows[i].rec, &jp, &res);
		if (res.status != rows[i].want)
			fail_msg("%s (row %zu): status %d, expected %d (%s)", rows[i].rec, i,
			         (int)res.status, (int)rows[i].want, res.summary);
		assert_summary(rows[i].rec, res.summary, rows[i].summary);
		const char *st = dstr(&res, "state");
		if (rows[i].detail_state)
			assert_string_equal(st ? st : "(none)", rows[i].detail_state);
		else
			assert_null(st);
		assert_string_equal(dstr(&res, "protocol"), rows[i].nagios ? "nagios" : "exit");
		assert_non_null(json_object_get(res.details, "duration_ms"));
		/* whatever it printed, the result serialises */
		char *s = json_dumps(res.details, JSON_COMPACT);
		assert_non_null(s);
		free(s);
		json_decref(res.details);
	}
}

static void test_details(void **state)
{
	(void)state;
	struct exec_judge_params nagios = {"sh", 1, 0, 2000};
	struct gate_result res;

	/* perfdata on the first line and in the long text, a quoted label */
	judge("perf-long", &nagios, &res);
	json_t *perf = json_object_get(res.details, "perfdata");
	assert_int_equal(json_array_size(perf), 3);
	json_t *lag = json_array_get(perf, 0);
	assert_string_equal(json_string_value(json_object_get(lag, "label")), "lag");
	assert_string_equal(json_string_value(json_object_get(lag, "uom")), "B");
	assert_true(json_real_value(json_object_get(lag, "crit")) == 200.0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(perf, 1), "label")),
	                    "replay delay");
	assert_true(json_real_value(json_object_get(json_array_get(perf, 2), "max")) == 100.0);
	assert_string_equal(dstr(&res, "long_output"), "db2: streaming\ndb3: streaming");
	assert_int_equal(json_integer_value(json_object_get(res.details, "exit_code")), 0);
	json_decref(res.details);

	/* Latin-1: each stray byte as "\xe9", everywhere */
	judge("latin1", &nagios, &res);
	assert_string_equal(dstr(&res, "long_output"), "d\\xe9tail");
	assert_string_equal(dstr(&res, "perfdata_raw"), "t=1s");
	json_decref(res.details);

	/* escapes: kept raw in the details (the renderers escape them), the
	 * summary on one line (controls as spaces) */
	judge("evil", &nagios, &res);
	assert_non_null(strstr(dstr(&res, "stderr"), "\x1b[31mstderr"));
	assert_non_null(strstr(dstr(&res, "long_output"), "\x1b[32mPASS"));
	assert_null(strchr(res.summary, '\x1b'));
	assert_null(strchr(res.summary, '\r'));
	json_decref(res.details);

	/* a summary cut inside a character loses that character, no more */
	struct exec_judge_params pass = {"sh", 1, 1, 2000};
	judge("cut", &pass, &res);
	assert_int_equal(json_is_true(json_object_get(res.details, "warning")), 1);
	size_t n = strlen(res.summary);
	assert_true(n >= GATE_SUMMARY_MAX - 2);
	assert_true(text_is_safe(res.summary, 0));
	json_decref(res.details);

	/* killed: the signal in the details; timed out: said so */
	judge("crash", &nagios, &res);
	assert_int_equal(json_integer_value(json_object_get(res.details, "signal")), 11);
	assert_string_equal(dstr(&res, "signal_name"), "SEGV");
	assert_null(json_object_get(res.details, "exit_code"));
	json_decref(res.details);
	judge("hang", &nagios, &res);
	assert_int_equal(json_is_true(json_object_get(res.details, "timed_out")), 1);
	assert_string_equal(dstr(&res, "stderr"), "waiting");
	json_decref(res.details);

	/* protocol exit: stderr's last line, all of stderr in the details */
	struct exec_judge_params exitp = {"sh", 0, 0, 2000};
	judge("stderr", &exitp, &res);
	assert_string_equal(dstr(&res, "stderr"), "first problem\nreplica db2 unreachable");
	assert_null(json_object_get(res.details, "perfdata"));
	json_decref(res.details);
}

static void test_facts_read(void **state)
{
	(void)state;
	struct proc_result pr;
	assert_int_equal(exec_facts_read("# a comment\nexit 2 ms 3.5", "o", "e", &pr), 0);
	assert_true(pr.started && pr.exited && pr.exit_code == 2 && !pr.signaled);
	assert_true(pr.duration_ms == 3.5);
	assert_string_equal(pr.out, "o");
	assert_int_equal(exec_facts_read("timeout 9", "", "", &pr), 0);
	assert_true(pr.timed_out && pr.signaled && pr.term_signal == 9 && !pr.exited);
	assert_int_equal(exec_facts_read("errno 2", "", "", &pr), 0);
	assert_true(!pr.started && pr.exec_errno == 2);
	assert_int_equal(exec_facts_read("exit 0 truncated 1", "", "", &pr), 0);
	assert_true(pr.out_truncated);
	/* no ending, two endings, a word it does not know, not a number */
	assert_int_equal(exec_facts_read("ms 3", "", "", &pr), -1);
	assert_int_equal(exec_facts_read("exit 0 signal 9", "", "", &pr), -1);
	assert_int_equal(exec_facts_read("exit 0 colour 3", "", "", &pr), -1);
	assert_int_equal(exec_facts_read("exit nan", "", "", &pr), -1);
	assert_int_equal(exec_facts_read("exit -1", "", "", &pr), -1);
}

static void test_utf8_valid(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} rows[] = {
		{"", ""},
		{"caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x94\x92",
	         "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x94\x92"},
		{"caf\xe9", "caf\\xe9"}, /* Latin-1 */
		{"\xff\xfe", "\\xff\\xfe"},
		{"x\xc3", "x\\xc3"},                          /* cut at the end */
		{"\xc0\xaf", "\\xc0\\xaf"},                   /* overlong '/' */
		{"\xed\xa0\x80", "\\xed\\xa0\\x80"},          /* a surrogate */
		{"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, /* above U+10FFFF */
		{"\x1b[31m\r\n\t\x7f", "\x1b[31m\r\n\t\x7f"}, /* controls left alone */
		{"\xc2\x9b", "\xc2\x9b"},                     /* C1 as UTF-8: valid */
		{"a\\xe9", "a\\xe9"},                         /* backslashes as they are */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = text_utf8_valid(rows[i].in);
		assert_string_equal(got, rows[i].want);
		json_t *j = json_string(got);
		assert_non_null(j);
		json_decref(j);
		free(got);
	}
	char *none = text_utf8_valid(NULL);
	assert_string_equal(none, "");
	free(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_details),
		cmocka_unit_test(test_facts_read),
		cmocka_unit_test(test_utf8_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
