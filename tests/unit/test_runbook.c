/* SPDX-License-Identifier: MIT */
/*
 * The runbook loader, table-driven: every error path with its exact
 * line:col and a fragment of its message, then the values a loaded
 * runbook holds (normalised params, defaults, vars, secrets, includes,
 * windows, freezes, limits, permissions).  Runbooks are written into a
 * temporary directory by the tests.  The check types are the test's own
 * (registered through registry_add_module), covering every parameter type.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gate/registry.h"
#include "gate/runbook.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"

/* ---- test check types ---- */

static void run_nothing(const json_t *params, const struct gate_run_env *env,
                        struct gate_result *res)
{
	(void)params;
	(void)env;
	gate_result_set(res, GATE_PASS, "ok");
}

static const struct gate_param all_params[] = {
	{"s", GATE_P_STRING, 0, "dflt", NULL, "a string"},
	{"i", GATE_P_INT, 0, NULL, NULL, "an int"},
	{"b", GATE_P_BOOL, 0, "true", NULL, "a bool"},
	{"max_age", GATE_P_DURATION, 0, "1h30m", NULL, "a duration"},
	{"z", GATE_P_SIZE, 0, "16MiB", NULL, "a size"},
	{"n", GATE_P_NUMBER, 0, NULL, NULL, "a number"},
	{"sl", GATE_P_STRING_LIST, 0, "[full, diff, incr]", NULL, "strings"},
	{"sm", GATE_P_STRING_MAP, 0, NULL, NULL, "headers"},
	{"e", GATE_P_ENUM, 0, "b", "a|b|c", "an enum"},
	{"j", GATE_P_JSON, 0, NULL, NULL, "json"},
	{"il", GATE_P_INT_LIST, 0, "[200]", NULL, "ints"},
	{"pw", GATE_P_STRING, GATE_PF_SECRET, NULL, NULL, "a secret"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static const struct gate_param req_params[] = {
	{"stanza", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL, "required"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

/* One of two parameters is required: the table cannot say it. */
static int validate_ab(const json_t *params, const char **param, char *msg, size_t msglen)
{
	if (gate_param_given(params, "a") == gate_param_given(params, "b")) {
		*param = gate_param_given(params, "b") ? "b" : NULL;
		snprintf(msg, msglen, "give exactly one of a and b");
		return -1;
	}
	return 0;
}

static const struct gate_param ab_params[] = {
	{"a", GATE_P_STRING, 0, NULL, NULL, "a"},
	{"b", GATE_P_STRING, 0, NULL, NULL, "b"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

/* A module whose message quotes the value it refuses. */
static int validate_echo(const json_t *params, const char **param, char *msg, size_t msglen)
{
	const char *a = gate_param_str(params, "a");
	if (a && strcmp(a, "good")) {
		*param = "a";
		snprintf(msg, msglen, "'%s' is not good", a);
		return -1;
	}
	return 0;
}

static const struct gate_param bad_default_params[] = {
	{"d", GATE_P_DURATION, 0, "30", NULL, "bare number: invalid"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static const struct gate_check_type test_types[] = {
	{"test.all", "every parameter type", NULL, all_params, NULL, run_nothing},
	{"test.req", "a required parameter", NULL, req_params, NULL, run_nothing},
	{"test.ab", "a validate callback", NULL, ab_params, validate_ab, run_nothing},
	{"test.echo", "a validate callback that quotes", NULL, ab_params, validate_echo,
         run_nothing},
	{"test.none", "no parameters", NULL, NULL, NULL, run_nothing},
	{"test.baddefault", "a broken default", NULL, bad_default_params, NULL, run_nothing},
};

static const struct gate_module test_module = {
	GATE_ABI_VERSION,
	"test",
	"1",
	test_types,
	sizeof(test_types) / sizeof(test_types[0]),
	NULL,
	0,
};

/* ---- fixtures ---- */

static char tmpdir[PATH_MAX];
static struct gate_registry reg;

static char *path_in(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void write_mode(const char *name, const char *text, mode_t mode)
{
	char *p = path_in(name);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	mkdir(p, 0755);
	*slash = '/';
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

static void write_file(const char *name, const char *text)
{
	write_mode(name, text, 0644);
}

static int load_with(const char *name, const char *text, const struct runbook_load_opts *opts,
                     struct runbook *rb, struct gate_error *err)
{
	if (text)
		write_file(name, text);
	char *p = path_in(name);
	memset(err, 0, sizeof(*err));
	int rc = runbook_load(rb, p, opts, &reg, err);
	free(p);
	return rc;
}

static int load(const char *text, struct runbook *rb, struct gate_error *err)
{
	return load_with("rb.yaml", text, NULL, rb, err);
}

static int setup(void **state)
{
	(void)state;
	umask(022);
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_runbook.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	registry_init(&reg);
	struct gate_error err = {0};
	assert_int_equal(registry_add_module(&reg, &test_module, "test", &err), 0);
	setenv("GATE_TEST_TOKEN", "s3cr3t-token", 1);
	setenv("GATE_TEST_PLAIN", "plainval", 1);
	setenv("GATE_TEST_SHORT", "s3c", 1);
	setenv("GATE_TEST_EMPTY", "", 1);
	unsetenv("GATE_TEST_UNSET");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	registry_release(&reg);
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

#define HEAD "version: 1\nname: t\n"

/* ---- errors: exact position and message ---- */

struct err_case {
	const char *what;
	const char *yaml;
	int line, col;
	const char *fragment;
};

static const struct err_case err_cases[] = {
	{"unknown top-level key", HEAD "checks: [{id: a, type: test.none}]\nfoo: 1\n", 4, 1,
         "unknown key 'foo' in the runbook"},
	{"typo in a check key", HEAD "checks:\n  - id: a\n    type: test.none\n    timeuot: 5s\n",
         6, 5, "unknown key 'timeuot' in a check; did you mean 'timeout'?"},
	{"typo in a parameter",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with:\n      max_agee: 1h\n", 7, 7,
         "unknown parameter 'max_agee' for check type 'test.all'; did you mean 'max_age'?"},
	{"version 2", "version: 2\nname: t\nchecks: [{id: a, type: test.none}]\n", 1, 10,
         "unsupported version '2'"},
	{"missing version", "name: t\nchecks: [{id: a, type: test.none}]\n", 1, 1,
         "missing 'version' in the runbook"},
	{"missing name", "version: 1\nchecks: [{id: a, type: test.none}]\n", 1, 1,
         "missing 'name' in the runbook"},
	{"bad name", "version: 1\nname: Foo\nchecks: [{id: a, type: test.none}]\n", 2, 7,
         "invalid name 'Foo'"},
	{"not a mapping", "- a\n- b\n", 1, 1, "expected a mapping, got a sequence"},
	{"bare number duration", HEAD "timeout: 30\nchecks: [{id: a, type: test.none}]\n", 3, 10,
         "duration '30' needs a unit"},
	{"overflowing duration",
         HEAD "timeout: 9999999999999999999d\nchecks: [{id: a, type: test.none}]\n", 3, 10,
         "duration '9999999999999999999d' is over the limit of 365d"},
	{"duration that overflowed deadlines",
         HEAD "checks:\n  - {id: a, type: test.none, timeout: 106751991167d}\n", 4, 39,
         "duration '106751991167d' is over the limit of 365d"},
	{"retry delay over a year",
         HEAD "checks:\n  - {id: a, type: test.none, retry_delay: 365d1ms}\n", 4, 43,
         "duration '365d1ms' is over the limit of 365d"},
	{"duration parameter over a year",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with: {max_age: 366d}\n", 6, 21,
         "duration '366d' is over the limit of 365d"},
	{"size parameter over 1 PiB",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with: {z: 1025TiB}\n", 6, 15,
         "size '1025TiB' is over the limit of 1024TiB"},
	{"zero timeout", HEAD "timeout: 0s\nchecks: [{id: a, type: test.none}]\n", 3, 10,
         "timeout must be greater than 0"},
	{"yes is not a bool", HEAD "checks:\n  - {id: a, type: test.none, overridable: yes}\n", 4,
         43, "expected true or false, got 'yes'"},
	{"quoted true is not a bool",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with: {b: \"true\"}\n", 6, 15,
         "expected true or false"},
	{"bad severity", HEAD "checks:\n  - {id: a, type: test.none, severity: fatal}\n", 4, 40,
         "expected severity block or warn, got 'fatal'"},
	{"negative retries", HEAD "checks:\n  - {id: a, type: test.none, retries: -1}\n", 4, 39,
         "-1 is out of range"},
	{"too many retries", HEAD "checks:\n  - {id: a, type: test.none, retries: 1000}\n", 4, 39,
         "1000 is out of range"},
	{"unknown type, close", HEAD "checks:\n  - id: a\n    type: test.al\n", 5, 11,
         "unknown check type 'test.al'; did you mean 'test.all'?"},
	{"unknown type, far", HEAD "checks:\n  - id: a\n    type: pg_lag\n", 5, 11,
         "unknown check type 'pg_lag'"},
	{"missing required parameter", HEAD "checks:\n  - id: a\n    type: test.req\n", 4, 5,
         "check 'a': missing required parameter 'stanza' for type 'test.req'"},
	{"missing id", HEAD "checks:\n  - type: test.none\n", 4, 5, "missing 'id' in a check"},
	{"bad id", HEAD "checks:\n  - {id: A_b, type: test.none}\n", 4, 10,
         "invalid check id 'A_b'"},
	{"reserved id", HEAD "checks:\n  - {id: window, type: test.none}\n", 4, 10,
         "reserved for the window pseudo-check"},
	{"enum not a choice", HEAD "checks:\n  - id: a\n    type: test.all\n    with: {e: d}\n", 6,
         15, "expected one of a|b|c, got 'd'"},
	{"unknown variable",
         HEAD "vars: {primary: x}\nchecks:\n  - id: a\n    type: test.all\n    with: {s: "
              "\"${primry}\"}\n",
         7, 15, "unknown variable 'primry'; did you mean 'primary'?"},
	{"unset env",
         HEAD
         "checks:\n  - id: a\n    type: test.all\n    with:\n      s: \"${env:GATE_TEST_UNSET}\"\n",
         7, 10, "environment variable 'GATE_TEST_UNSET' is not set"},
	{"unterminated", HEAD "checks:\n  - id: a\n    type: test.all\n    with: {s: \"a ${x\"}\n",
         6, 15, "unterminated '${'"},
	{"var using a var",
         HEAD "vars:\n  a: x\n  b: \"${a}\"\nchecks: [{id: a, type: test.none}]\n", 5, 6,
         "a var may only use ${env:NAME}"},
	{"duplicate id",
         HEAD "checks:\n  - {id: a, type: test.none}\n  - {id: b, type: test.none}\n  - {id: a, "
              "type: test.none}\n",
         6, 10, "duplicate check id 'a' (first defined at "},
	{"duplicate key", HEAD "checks:\n  - id: a\n    type: test.none\n    id: b\n", 6, 5,
         "duplicate key 'id' (first at line 4, column 5)"},
	{"empty checks", HEAD "checks: []\n", 3, 9, "checks must not be empty"},
	{"no checks", HEAD "description: x\n", 1, 1, "missing 'checks'"},
	{"window start",
         HEAD
         "window:\n  - {start: \"25:00\", end: \"05:00\"}\nchecks: [{id: a, type: test.none}]\n",
         4, 13, "expected a time as HH:MM"},
	{"window no end",
         HEAD "window:\n  - {start: \"01:00\"}\nchecks: [{id: a, type: test.none}]\n", 4, 5,
         "missing 'end' in a window"},
	{"window zone unknown",
         HEAD "window:\n  - {start: \"01:00\", end: \"02:00\", timezone: Mars/Olympus}\nchecks: "
              "[{id: a, type: test.none}]\n",
         4, 46, "unknown time zone 'Mars/Olympus'"},
	{"window zone traversal",
         HEAD "window:\n  - {start: \"01:00\", end: \"02:00\", timezone: "
              "../../etc/passwd}\nchecks: [{id: a, type: test.none}]\n",
         4, 46, "unknown time zone"},
	{"window zone absolute",
         HEAD "window:\n  - {start: \"01:00\", end: \"02:00\", timezone: /etc/localtime}\nchecks: "
              "[{id: a, type: test.none}]\n",
         4, 46, "unknown time zone"},
	{"window day",
         HEAD "window:\n  - {days: [monday], start: \"01:00\", end: \"02:00\"}\nchecks: [{id: a, "
              "type: test.none}]\n",
         4, 13, "expected a day (mon,"},
	{"window key typo",
         HEAD "window:\n  - {start: \"01:00\", end: \"02:00\", timzone: UTC}\nchecks: [{id: a, "
              "type: test.none}]\n",
         4, 36, "did you mean 'timezone'?"},
	{"freeze backwards",
         HEAD "freeze:\n  - from: 2026-12-20T00:00:00Z\n    to: 2026-12-19T00:00:00Z\nchecks: "
              "[{id: a, type: test.none}]\n",
         5, 9, "freeze 'to' must be after 'from'"},
	{"freeze no time",
         HEAD "freeze:\n  - from: 2026-12-20\n    to: 2026-12-21T00:00:00Z\nchecks: [{id: a, type: "
              "test.none}]\n",
         4, 11, "expected an RFC 3339 timestamp"},
	{"freeze no zone",
         HEAD "freeze:\n  - from: 2026-12-20T00:00:00\n    to: 2026-12-21T00:00:00Z\nchecks: [{id: "
              "a, type: test.none}]\n",
         4, 11, "expected an RFC 3339 timestamp"},
	{"empty command", HEAD "command: []\nchecks: [{id: a, type: test.none}]\n", 3, 10,
         "command must be a non-empty list"},
	{"command not a list",
         HEAD "command: apt-get upgrade\nchecks: [{id: a, type: test.none}]\n", 3, 10,
         "expected a sequence, got a scalar"},
	{"multiple documents", HEAD "checks: [{id: a, type: test.none}]\n---\nversion: 1\n", 4, 1,
         "multiple documents"},
	{"invalid yaml", HEAD "checks: [{id: a, type: test.none}\n", 4, 1, "invalid yaml"},
	{"int list item",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with: {il: [200, ok]}\n", 6, 22,
         "expected an integer, got 'ok'"},
	{"bad size", HEAD "checks:\n  - id: a\n    type: test.all\n    with: {z: 12XB}\n", 6, 15,
         "invalid size '12XB'"},
	{"validate at key",
         HEAD "checks:\n  - id: a\n    type: test.ab\n    with:\n      a: x\n      b: y\n", 8, 7,
         "check 'a': b: give exactly one of a and b"},
	{"validate whole", HEAD "checks:\n  - id: a\n    type: test.ab\n", 4, 5,
         "check 'a': give exactly one of a and b"},
	{"unknown alias", HEAD "checks:\n  - {id: a, type: test.all, with: {s: *nope}}\n", 4, 39,
         "unknown alias '*nope'"},
	{"string gets a mapping",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with:\n      s: {x: 1}\n", 7, 10,
         "expected a string, got a mapping"},
	{"check is a string", HEAD "checks:\n  - just-a-string\n", 4, 5,
         "expected a mapping, got a scalar"},
	{"audit without file", HEAD "audit: {required: true}\nchecks: [{id: a, type: test.none}]\n",
         3, 8, "missing 'file' in audit"},
	{"null timeout", HEAD "checks:\n  - id: a\n    type: test.none\n    timeout:\n", 6, 13,
         "got null"},
	{"bad default in module", HEAD "checks:\n  - id: a\n    type: test.baddefault\n", 4, 5,
         "check type 'test.baddefault': invalid default '30' for parameter 'd'"},
	{"number not a number",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with: {n: 1.2.3}\n", 6, 15,
         "expected a number, got '1.2.3'"},
	{"json infinity", HEAD "checks:\n  - id: a\n    type: test.all\n    with: {j: [.inf]}\n", 6,
         16, "cannot be represented in JSON"},
};

static void test_errors(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		struct runbook rb;
		struct gate_error err;
		int rc = load(c->yaml, &rb, &err);
		char buf[2048];
		gate_error_format(&err, buf, sizeof(buf));
		if (rc != -1 || err.line != c->line || err.col != c->col ||
		    !strstr(err.msg, c->fragment)) {
			print_error("case '%s': rc %d, got '%s', want %d:%d '%s'\n", c->what, rc,
			            buf, c->line, c->col, c->fragment);
			failures++;
		}
		/* The file in the error is the runbook's path. */
		assert_non_null(strstr(err.file, "rb.yaml"));
		/* Messages are lowercase and have no trailing period. */
		assert_false(err.msg[0] >= 'A' && err.msg[0] <= 'Z');
		assert_true(err.msg[strlen(err.msg) - 1] != '.');
		runbook_release(&rb);
	}
	assert_int_equal(failures, 0);
}

/* ---- secrets in errors ---- */

/* A value from ${env:...} may be a password: no error echoes it, whatever
 * the parameter type and however it got there (directly, through a var,
 * in a module's message); and a secret reports could not mask is an error
 * at its position, never silently left unmasked. */
static const struct err_case secret_cases[] = {
	{"duration from env",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with: {max_age: "
              "\"${env:GATE_TEST_TOKEN}\"}\n",
         6, 21, "invalid duration '***' (value from ${env:GATE_TEST_TOKEN}) (expected"},
	{"duration from env, bare number",
         HEAD
         "checks:\n  - id: a\n    type: test.all\n    with: {max_age: \"1${env:GATE_TEST_NUM}\"}\n",
         6, 21, "duration '***' (value from ${env:GATE_TEST_NUM}) needs a unit"},
	{"duration from env, too big",
         HEAD
         "checks:\n  - id: a\n    type: test.all\n    with: {max_age: \"${env:GATE_TEST_NUM}d\"}\n",
         6, 21, "duration '***' (value from ${env:GATE_TEST_NUM}) is over the limit"},
	{"size through a var",
         HEAD "vars: {pw: \"${env:GATE_TEST_TOKEN}\"}\nchecks:\n  - id: a\n    type: test.all\n    "
              "with: {z: \"${pw}\"}\n",
         7, 15, "invalid size '***' (value from ${env:GATE_TEST_TOKEN})"},
	{"int",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with: {i: \"${env:GATE_TEST_TOKEN}\"}\n",
         6, 15, "expected an integer, got '***' (value from ${env:GATE_TEST_TOKEN})"},
	{"int list item",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with: {il: [200, "
              "\"${env:GATE_TEST_PLAIN}${env:GATE_TEST_TOKEN}\"]}\n",
         6, 22, "got '***' (value from ${env:GATE_TEST_PLAIN}, ${env:GATE_TEST_TOKEN})"},
	{"number",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with: {n: \"${env:GATE_TEST_TOKEN}\"}\n",
         6, 15, "expected a number, got '***' (value from ${env:GATE_TEST_TOKEN})"},
	{"enum",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with: {e: \"${env:GATE_TEST_TOKEN}\"}\n",
         6, 15, "expected one of a|b|c, got '***' (value from ${env:GATE_TEST_TOKEN})"},
	{"module message",
         HEAD
         "checks:\n  - id: a\n    type: test.echo\n    with: {a: \"x-${env:GATE_TEST_TOKEN}-y\"}\n",
         6, 12, "check 'a': a: 'x-***-y' is not good"},
	{"module message, short value",
         HEAD
         "checks:\n  - id: a\n    type: test.echo\n    with: {a: \"${env:GATE_TEST_SHORT}\"}\n",
         6, 12, "check 'a': a: invalid value (the module's message is not shown"},
	{"module message, conninfo",
         HEAD
         "checks:\n  - id: a\n    type: test.echo\n    with: {a: \"host=x password=hunter2pw\"}\n",
         6, 12, "check 'a': a: 'host=x password=*** is not good"},
	{"short secret",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with:\n      pw: "
              "\"${env:GATE_TEST_SHORT}\"\n",
         7, 11,
         "the value of ${env:GATE_TEST_SHORT} would be a secret, but it has only 3 characters: "
         "reports can mask a secret of at least 4 characters"},
	{"short secret through a var",
         HEAD "vars: {p: \"${env:GATE_TEST_SHORT}\"}\nchecks:\n  - id: a\n    type: test.all\n    "
              "with:\n      pw: \"x${p}\"\n",
         8, 11, "the value of ${env:GATE_TEST_SHORT} would be a secret"},
	{"empty secret",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with:\n      pw: "
              "\"${env:GATE_TEST_EMPTY}\"\n",
         7, 11, "${env:GATE_TEST_EMPTY} is empty, and its value would be a secret"},
	{"short header",
         HEAD "checks:\n  - id: a\n    type: test.all\n    with:\n      sm: {X-Key: "
              "\"${env:GATE_TEST_SHORT}\"}\n",
         7, 19, "the value of ${env:GATE_TEST_SHORT} would be a secret"},
	{"short value, unavailable type",
         HEAD
         "checks:\n  - id: a\n    type: test.gone\n    with: {a: \"${env:GATE_TEST_SHORT}\"}\n",
         6, 15, "the value of ${env:GATE_TEST_SHORT} would be a secret"},
};

static void test_secret_errors(void **state)
{
	(void)state;
	int failures = 0;
	setenv("GATE_TEST_NUM", "987654321", 1);
	for (size_t i = 0; i < sizeof(secret_cases) / sizeof(secret_cases[0]); i++) {
		const struct err_case *c = &secret_cases[i];
		struct runbook rb;
		struct gate_error err;
		struct gate_registry *r = &reg, r2;
		if (strstr(c->what, "unavailable")) {
			/* a failed module: an unknown type is kept, not refused */
			registry_init(&r2);
			assert_int_equal(registry_add_module(&r2, &test_module, "test", &err), 0);
			char *so = path_in("broken.so");
			write_file("broken.so", "not an elf file\n");
			registry_load_file(&r2, so, &err);
			free(so);
			r = &r2;
		}
		write_file("rb.yaml", c->yaml);
		char *p = path_in("rb.yaml");
		memset(&err, 0, sizeof(err));
		int rc = runbook_load(&rb, p, NULL, r, &err);
		free(p);
		char buf[2048];
		gate_error_format(&err, buf, sizeof(buf));
		if (rc != -1 || err.line != c->line || err.col != c->col ||
		    !strstr(err.msg, c->fragment) || strstr(buf, "s3cr3t-token") ||
		    strstr(buf, "s3c'") || strstr(buf, "987654321") || strstr(buf, "plainval") ||
		    strstr(buf, "hunter2pw")) {
			print_error("case '%s': rc %d, got '%s', want %d:%d '%s'\n", c->what, rc,
			            buf, c->line, c->col, c->fragment);
			failures++;
		}
		runbook_release(&rb);
		if (r == &r2)
			registry_release(&r2);
	}
	unsetenv("GATE_TEST_NUM");
	assert_int_equal(failures, 0);
}

/* The loader keeps every secret, however many: 100 header values. */
static void test_many_secrets(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, HEAD "checks:\n");
	for (int i = 0; i < 100; i++) {
		char name[32], val[32];
		snprintf(name, sizeof(name), "GATE_TEST_S%d", i);
		snprintf(val, sizeof(val), "secret-%03d", i);
		setenv(name, val, 1);
		strbuf_addf(&sb, "  - {id: c%d, type: test.all, with: {sm: {X: \"${env:%s}\"}}}\n",
		            i, name);
	}
	struct runbook rb;
	struct gate_error err;
	int rc = load(sb.buf, &rb, &err);
	if (rc)
		print_error("%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(rb.nsecrets, 100);
	assert_string_equal(rb.secrets[99], "secret-099");
	runbook_release(&rb);
	strbuf_release(&sb);
	for (int i = 0; i < 100; i++) {
		char name[32];
		snprintf(name, sizeof(name), "GATE_TEST_S%d", i);
		unsetenv(name);
	}
}

/* ---- a full runbook and its values ---- */

static void test_full(void **state)
{
	(void)state;
	const char *yaml =
		"version: 1\n"
		"name: pg-minor-upgrade\n"
		"description: upgrade ${host}\n"
		"vars:\n"
		"  host: db1\n"
		"  token: \"${env:GATE_TEST_TOKEN}\"\n"
		"command: [\"apt-get\", \"install\", \"${host}\"]\n"
		"allow_commands: [\"apt-get *\", \"pg_upgradecluster *\"]\n"
		"timeout: 1h30m\n"
		"audit: {file: \"/var/log/${host}.jsonl\", required: true}\n"
		"checks:\n"
		"  - id: full\n"
		"    type: test.all\n"
		"    description: d\n"
		"    severity: warn\n"
		"    timeout: 10s\n"
		"    retries: 2\n"
		"    retry_delay: 500ms\n"
		"    overridable: true\n"
		"    hint: call ${host}\n"
		"    with:\n"
		"      s: \"host=${host} $${literal}\"\n"
		"      i: -42\n"
		"      b: false\n"
		"      max_age: 1d2h\n"
		"      z: 1GB\n"
		"      n: 2.5\n"
		"      sl: [a, \"${host}\"]\n"
		"      sm: {Authorization: \"Bearer ${token}\"}\n"
		"      e: c\n"
		"      j: {a: 1, b: \"1\", c: true, d: null, e: 1.5, f: [x, ~], g: 0x10}\n"
		"      il: [200, 301]\n"
		"      pw: \"${env:GATE_TEST_PLAIN}\"\n"
		"  - id: dflt\n"
		"    type: test.all\n";
	struct runbook rb;
	struct gate_error err;
	int rc = load(yaml, &rb, &err);
	if (rc)
		print_error("%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
	assert_int_equal(rc, 0);
	assert_string_equal(rb.name, "pg-minor-upgrade");
	assert_string_equal(rb.description, "upgrade db1");
	assert_string_equal(rb.command[2], "db1");
	assert_null(rb.command[3]);
	assert_int_equal(rb.timeout_ms, 5400000);
	assert_string_equal(rb.audit_file, "/var/log/db1.jsonl");
	assert_true(rb.audit_required);
	assert_int_equal(rb.nchecks, 2);
	const struct rb_check *c = &rb.checks[0];
	assert_string_equal(c->id, "full");
	assert_non_null(c->ct);
	assert_int_equal(c->severity, RB_SEVERITY_WARN);
	assert_int_equal(c->timeout_ms, 10000);
	assert_int_equal(c->retries, 2);
	assert_int_equal(c->retry_delay_ms, 500);
	assert_true(c->overridable);
	assert_string_equal(c->hint, "call db1");
	assert_int_equal(c->pos.line, 12);
	assert_int_equal(c->pos.col, 5);
	const json_t *p = c->params;
	assert_string_equal(gate_param_str(p, "s"), "host=db1 ${literal}");
	assert_int_equal(gate_param_int(p, "i", 0), -42);
	assert_int_equal(gate_param_bool(p, "b", 1), 0);
	assert_int_equal(gate_param_int(p, "max_age", 0), 26 * 3600 * 1000LL);
	assert_int_equal(gate_param_int(p, "z", 0), 1000000000LL);
	assert_true(json_is_real(json_object_get(p, "n")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(p, "sl"), 1)), "db1");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(p, "sm"), "Authorization")),
		"Bearer s3cr3t-token");
	assert_string_equal(gate_param_str(p, "e"), "c");
	const json_t *j = json_object_get(p, "j");
	assert_true(json_is_integer(json_object_get(j, "a")));
	assert_true(json_is_string(json_object_get(j, "b")));
	assert_true(json_is_true(json_object_get(j, "c")));
	assert_true(json_is_null(json_object_get(j, "d")));
	assert_true(json_is_real(json_object_get(j, "e")));
	assert_true(json_is_null(json_array_get(json_object_get(j, "f"), 1)));
	assert_int_equal(json_integer_value(json_object_get(j, "g")), 16);
	assert_int_equal(json_array_size(json_object_get(p, "il")), 2);
	/* Secrets: the env value behind the header (through a var) and the
	 * secret parameter; not the plain description or command. */
	assert_int_equal(rb.nsecrets, 2);
	assert_string_equal(rb.secrets[0], "s3cr3t-token");
	assert_string_equal(rb.secrets[1], "plainval");
	assert_null(rb.secrets[2]);

	/* Defaults, from the table's YAML text. */
	p = rb.checks[1].params;
	assert_string_equal(gate_param_str(p, "s"), "dflt");
	assert_true(gate_param_bool(p, "b", 0));
	assert_int_equal(gate_param_int(p, "max_age", 0), 5400000);
	assert_int_equal(gate_param_int(p, "z", 0), 16777216);
	assert_int_equal(json_array_size(json_object_get(p, "sl")), 3);
	assert_string_equal(gate_param_str(p, "e"), "b");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(p, "il"), 0)), 200);
	assert_null(json_object_get(p, "i")); /* no default: absent */
	assert_int_equal(rb.checks[1].timeout_ms, CHECK_DEFAULT_TIMEOUT_MS);
	assert_int_equal(rb.checks[1].retry_delay_ms, CHECK_DEFAULT_RETRY_DELAY_MS);
	assert_int_equal(rb.checks[1].severity, RB_SEVERITY_BLOCK);

	char *a1[] = {"apt-get", "install", "-y", "pg", NULL};
	char *a2[] = {"rm", "-rf", "/", NULL};
	char *a3[] = {"apt-get", NULL}; /* a trailing "*" word: zero or more */
	assert_true(runbook_command_allowed(&rb, a1));
	assert_false(runbook_command_allowed(&rb, a2));
	assert_true(runbook_command_allowed(&rb, a3));
	runbook_release(&rb);
}

static void test_defaults_minimal(void **state)
{
	(void)state;
	struct runbook rb;
	struct gate_error err;
	assert_int_equal(load(HEAD "checks: [{id: a, type: test.none}]\n", &rb, &err), 0);
	assert_int_equal(rb.timeout_ms, RUNBOOK_DEFAULT_TIMEOUT_MS);
	assert_null(rb.command);
	assert_null(rb.allow_commands);
	assert_null(rb.secrets);
	assert_int_equal(rb.nwindows, 0);
	assert_int_equal(rb.nfiles, 1);
	assert_true(json_is_object(rb.checks[0].params));
	char *a[] = {"anything", NULL};
	assert_true(runbook_command_allowed(&rb, a)); /* no allow_commands */
	runbook_release(&rb);
	/* allow_commands: [] allows nothing */
	assert_int_equal(
		load(HEAD "allow_commands: []\nchecks: [{id: a, type: test.none}]\n", &rb, &err),
		0);
	assert_false(runbook_command_allowed(&rb, a));
	runbook_release(&rb);
}

/* ---- --var ---- */

static void test_cli_vars(void **state)
{
	(void)state;
	const char *yaml = HEAD "vars: {primary: db1}\n"
				"checks:\n  - id: a\n    type: test.all\n"
				"    with: {s: \"${primary}/${port}\"}\n";
	struct rb_var v1[] = {{"primary", "db2"}, {"port", "5433"}};
	struct runbook_load_opts o = {v1, 2, 0};
	struct runbook rb;
	struct gate_error err;
	assert_int_equal(load_with("rb.yaml", yaml, &o, &rb, &err), 0);
	assert_string_equal(gate_param_str(rb.checks[0].params, "s"), "db2/5433");
	runbook_release(&rb);

	/* A misspelt --var would leave the checks on db1: an error. */
	struct rb_var v2[] = {{"primry", "db2"}, {"port", "1"}};
	o.vars = v2;
	assert_int_equal(load_with("rb.yaml", NULL, &o, &rb, &err), -1);
	assert_non_null(strstr(
		err.msg,
		"--var 'primry' is not a variable of this runbook; did you mean 'primary'?"));
	runbook_release(&rb);

	/* Without --var port, ${port} is unknown. */
	assert_int_equal(load_with("rb.yaml", NULL, NULL, &rb, &err), -1);
	assert_non_null(strstr(err.msg, "unknown variable 'port'"));
	assert_int_equal(err.line, 7);
	runbook_release(&rb);
}

/* A var's environment is looked up at its first use: a policy's default
 * that the includer replaces needs no such variable; a used one does, and
 * the error is at the var's value. */
static void test_lazy_env_vars(void **state)
{
	(void)state;
	struct runbook rb;
	struct gate_error err;
	write_file("lazy/policy.yaml",
	           "vars: {token: \"${env:GATE_TEST_UNSET}\", spare: \"${env:GATE_TEST_UNSET}\"}\n"
	           "checks:\n  - id: p\n    type: test.all\n    with: {sm: {Authorization: "
	           "\"${token}\"}}\n");
	const char *top = "version: 1\nname: t\ninclude: [policy.yaml]\n"
			  "vars: {token: \"${env:GATE_TEST_TOKEN}\"}\n";
	int rc = load_with("lazy/top.yaml", top, NULL, &rb, &err);
	if (rc)
		print_error("%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
	assert_int_equal(rc, 0);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(rb.checks[0].params, "sm"), "Authorization")),
	                    "s3cr3t-token");
	assert_int_equal(rb.nsecrets, 1);
	runbook_release(&rb);

	/* Without the override, the policy's default is used: its env must
	 * be set, and the error points at the default. */
	assert_int_equal(load_with("lazy/top2.yaml",
	                           "version: 1\nname: t\ninclude: [policy.yaml]\n", NULL, &rb,
	                           &err),
	                 -1);
	assert_non_null(strstr(err.file, "lazy/policy.yaml"));
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, 15);
	assert_non_null(strstr(err.msg, "environment variable 'GATE_TEST_UNSET' is not set"));
	runbook_release(&rb);

	/* --var replaces it as well, literally. */
	struct rb_var cv[] = {{"token", "${env:NOT_LOOKED_UP}"}};
	struct runbook_load_opts o = {cv, 1, 0};
	assert_int_equal(load_with("lazy/top2.yaml", NULL, &o, &rb, &err), 0);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(rb.checks[0].params, "sm"), "Authorization")),
	                    "${env:NOT_LOOKED_UP}");
	assert_null(rb.secrets);
	runbook_release(&rb);
}

/* ---- includes ---- */

static void test_includes(void **state)
{
	(void)state;
	write_file("policies/base.yaml",
	           "version: 1\n"
	           "vars: {primary: from-policy, stanza: main}\n"
	           "include: [common.yaml]\n"
	           "window:\n  - {start: \"01:00\", end: \"05:00\", timezone: Europe/Berlin}\n"
	           "checks:\n"
	           "  - id: backup\n    type: test.req\n    with: {stanza: \"${stanza}\"}\n"
	           "  - id: conn\n    type: test.all\n    with: {s: \"${primary}\"}\n");
	write_file("policies/common.yaml", "freeze:\n  - {from: 2026-12-20T00:00:00Z, to: "
	                                   "2027-01-04T00:00:00Z, reason: year end}\n"
	                                   "checks:\n  - id: common\n    type: test.none\n");
	write_file("rb/other.yaml", "include: [../policies/common.yaml]\n"
	                            "checks:\n  - id: other\n    type: test.none\n");
	const char *top = "version: 1\nname: t\n"
			  "include: [../policies/base.yaml, other.yaml]\n"
			  "vars: {primary: db1}\n"
			  "window:\n  - {days: [sat], start: \"22:00\", end: \"02:00\"}\n"
			  "checks:\n  - id: own\n    type: test.none\n";
	struct runbook rb;
	struct gate_error err;
	int rc = load_with("rb/top.yaml", top, NULL, &rb, &err);
	if (rc)
		print_error("%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
	assert_int_equal(rc, 0);
	/* Own checks first, then each include's, depth first; common.yaml,
	 * included twice (a diamond), is read once. */
	assert_int_equal(rb.nchecks, 5);
	const char *order[] = {"own", "backup", "conn", "common", "other"};
	for (int i = 0; i < 5; i++)
		assert_string_equal(rb.checks[i].id, order[i]);
	/* The includer's var replaces the policy's default. */
	assert_string_equal(gate_param_str(rb.checks[2].params, "s"), "db1");
	assert_string_equal(gate_param_str(rb.checks[1].params, "stanza"), "main");
	/* Windows and freezes of includes are added. */
	assert_int_equal(rb.nwindows, 2);
	assert_string_equal(rb.windows[1].timezone, "Europe/Berlin");
	assert_int_equal(rb.nfreezes, 1);
	assert_string_equal(rb.freezes[0].reason, "year end");
	assert_int_equal(rb.nfiles, 4);
	assert_non_null(strstr(rb.files[1], "policies/base.yaml"));
	/* Positions point into the file they came from. */
	assert_non_null(strstr(rb.checks[3].pos.file, "common.yaml"));
	assert_int_equal(rb.checks[3].pos.line, 4);
	runbook_release(&rb);
}

static void test_include_errors(void **state)
{
	(void)state;
	struct runbook rb;
	struct gate_error err;
	/* A cycle, named with its chain, at the include that closes it. */
	write_file("cyc/a.yaml", "include: [b.yaml]\nchecks: [{id: a, type: test.none}]\n");
	write_file("cyc/b.yaml", "include: [a.yaml]\n");
	assert_int_equal(load_with("cyc/top.yaml", "version: 1\nname: t\ninclude: [a.yaml]\n", NULL,
	                           &rb, &err),
	                 -1);
	assert_non_null(strstr(err.file, "cyc/b.yaml"));
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, 11);
	assert_non_null(strstr(err.msg, "include cycle: "));
	assert_non_null(strstr(err.msg, "cyc/a.yaml -> "));
	assert_non_null(strstr(err.msg, "cyc/b.yaml -> "));
	runbook_release(&rb);

	/* A self include is a cycle too. */
	assert_int_equal(load_with("cyc/self.yaml", "version: 1\nname: t\ninclude: [self.yaml]\n",
	                           NULL, &rb, &err),
	                 -1);
	assert_non_null(strstr(err.msg, "include cycle"));
	runbook_release(&rb);

	/* A duplicate id across files names both positions. */
	write_file("dup/p.yaml", "checks:\n  - id: x\n    type: test.none\n");
	assert_int_equal(load_with("dup/top.yaml",
	                           "version: 1\nname: t\ninclude: [p.yaml]\n"
	                           "checks: [{id: x, type: test.none}]\n",
	                           NULL, &rb, &err),
	                 -1);
	assert_non_null(strstr(err.file, "dup/p.yaml"));
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 9);
	assert_non_null(strstr(err.msg, "duplicate check id 'x' (first defined at "));
	assert_non_null(strstr(err.msg, "dup/top.yaml:4:15)"));
	runbook_release(&rb);

	/* Top-level-only keys in an included file. */
	write_file("only/p.yaml", "version: 1\ncommand: [rm]\n");
	assert_int_equal(load_with("only/top.yaml",
	                           "version: 1\nname: t\ninclude: [p.yaml]\n"
	                           "checks: [{id: x, type: test.none}]\n",
	                           NULL, &rb, &err),
	                 -1);
	assert_non_null(strstr(err.file, "only/p.yaml"));
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 1);
	assert_non_null(strstr(err.msg, "'command' is only allowed in the top-level runbook"));
	runbook_release(&rb);

	/* A missing include, at its position. */
	assert_int_equal(load_with("only/miss.yaml",
	                           "version: 1\nname: t\ninclude: [nope.yaml]\n"
	                           "checks: [{id: x, type: test.none}]\n",
	                           NULL, &rb, &err),
	                 -1);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.col, 11);
	assert_non_null(strstr(err.msg, "cannot read include"));
	runbook_release(&rb);

	/* Checks only in an include satisfy "non-empty after includes". */
	write_file("only/c.yaml", "checks: [{id: y, type: test.none}]\n");
	assert_int_equal(load_with("only/ok.yaml", "version: 1\nname: t\ninclude: [c.yaml]\n", NULL,
	                           &rb, &err),
	                 0);
	assert_int_equal(rb.nchecks, 1);
	runbook_release(&rb);

	/* Include depth is bounded. */
	for (int i = 0; i <= RUNBOOK_MAX_INCLUDE_DEPTH + 1; i++) {
		char name[64], text[128];
		snprintf(name, sizeof(name), "deep/%d.yaml", i);
		snprintf(text, sizeof(text),
		         "include: [%d.yaml]\nchecks: [{id: c%d, type: test.none}]\n", i + 1, i);
		write_file(name, text);
	}
	write_file("deep/top.yaml", "version: 1\nname: t\ninclude: [0.yaml]\n");
	assert_int_equal(load_with("deep/top.yaml", NULL, NULL, &rb, &err), -1);
	assert_non_null(strstr(err.msg, "includes nested deeper than"));
	runbook_release(&rb);
}

/* ---- limits ---- */

static void test_limits(void **state)
{
	(void)state;
	struct runbook rb;
	struct gate_error err;
	struct strbuf sb = STRBUF_INIT;

	/* Over 1 MiB. */
	strbuf_adds(&sb, HEAD "checks: [{id: a, type: test.none}]\n");
	while (sb.len <= RUNBOOK_MAX_FILE_SIZE)
		strbuf_adds(&sb, "# padding padding padding padding padding padding\n");
	assert_int_equal(load(sb.buf, &rb, &err), -1);
	assert_non_null(strstr(err.msg, "file is too large"));
	runbook_release(&rb);
	strbuf_release(&sb);

	/* Depth 64 is fine, 65 is not (a JSON parameter nests freely). */
	for (int depth = 64; depth <= 65; depth++) {
		/* root mapping, checks sequence, check mapping, with mapping,
		 * then j: nested flow sequences */
		int inner = depth - 4;
		strbuf_adds(&sb,
		            HEAD "checks:\n  - id: a\n    type: test.all\n    with:\n      j: ");
		for (int i = 0; i < inner; i++)
			strbuf_adds(&sb, "[");
		for (int i = 0; i < inner; i++)
			strbuf_adds(&sb, "]");
		strbuf_adds(&sb, "\n");
		int rc = load(sb.buf, &rb, &err);
		if (depth == 64) {
			if (rc)
				print_error("%s\n", err.msg);
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err.msg, "nesting deeper than 64 levels"));
			assert_int_equal(err.line, 7);
			assert_int_equal(err.col, 10 + inner - 1);
		}
		runbook_release(&rb);
		strbuf_release(&sb);
	}

	/* Billion laughs: refused quickly, not expanded. */
	strbuf_adds(&sb, HEAD "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int i = 1; i < 9; i++) {
		strbuf_addf(&sb, "x%d: &a%d [", i, i);
		for (int k = 0; k < 10; k++)
			strbuf_addf(&sb, "%s*a%d", k ? ", " : "", i - 1);
		strbuf_adds(&sb, "]\n");
	}
	strbuf_adds(&sb, "checks: [{id: a, type: test.none}]\n");
	assert_int_equal(load(sb.buf, &rb, &err), -1);
	assert_true(strstr(err.msg, "aliases expand to too many nodes") ||
	            strstr(err.msg, "too many aliases"));
	runbook_release(&rb);
	strbuf_release(&sb);

	/* More than 64 alias uses, each tiny. */
	strbuf_adds(
		&sb, HEAD
		"vars: {v: &s x}\nchecks:\n  - id: a\n    type: test.all\n    with:\n      sl: [");
	for (int i = 0; i < 65; i++)
		strbuf_addf(&sb, "%s*s", i ? ", " : "");
	strbuf_adds(&sb, "]\n");
	assert_int_equal(load(sb.buf, &rb, &err), -1);
	assert_non_null(strstr(err.msg, "too many aliases (more than 64)"));
	runbook_release(&rb);
	strbuf_release(&sb);

	/* A few aliases are fine. */
	assert_int_equal(load(HEAD "vars: {v: &s x}\nchecks:\n  - id: a\n    type: test.all\n"
	                           "    with: {sl: [*s, *s]}\n",
	                      &rb, &err),
	                 0);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(rb.checks[0].params, "sl"), 1)),
		"x");
	runbook_release(&rb);

	/* 10,000 checks load; 10,001 do not. */
	for (int n = RUNBOOK_MAX_CHECKS; n <= RUNBOOK_MAX_CHECKS + 1; n++) {
		strbuf_adds(&sb, HEAD "checks:\n");
		for (int i = 0; i < n; i++)
			strbuf_addf(&sb, "  - {id: c%d, type: test.none}\n", i);
		int rc = load(sb.buf, &rb, &err);
		if (n == RUNBOOK_MAX_CHECKS) {
			assert_int_equal(rc, 0);
			assert_int_equal(rb.nchecks, RUNBOOK_MAX_CHECKS);
		} else {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err.msg, "too many checks (more than 10000)"));
			assert_int_equal(err.line, 4 + RUNBOOK_MAX_CHECKS);
		}
		runbook_release(&rb);
		strbuf_release(&sb);
	}
}

/* A 1 MiB file may hold ~40,000 vars and as many anchors: lookups must
 * not be quadratic (the linear version took 10 s here, it now takes
 * well under 100 ms; the bound is generous for sanitizer builds). */
static void test_many_names(void **state)
{
	(void)state;
	struct runbook rb;
	struct gate_error err;
	struct strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, HEAD "vars:\n");
	for (int i = 0; i < 40000; i++)
		strbuf_addf(&sb, "  v%05d: &a%05d x%d\n", i, i, i);
	strbuf_adds(&sb, "checks:\n");
	for (int i = 0; i < 1000; i++)
		strbuf_addf(&sb, "  - {id: c%d, type: test.all, with: {s: \"${v%05d}\"}}\n", i,
		            39999 - i);
	strbuf_adds(&sb, "  - {id: last, type: test.all, with: {s: *a00007}}\n");
	assert_true(sb.len < RUNBOOK_MAX_FILE_SIZE);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = load(sb.buf, &rb, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int64_t ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (rc)
		print_error("%s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_string_equal(gate_param_str(rb.checks[0].params, "s"), "x39999");
	assert_string_equal(gate_param_str(rb.checks[1000].params, "s"), "x7");
	assert_true(ms < 30000); /* no blow-up; speed is bench/lint's business */
	runbook_release(&rb);
	strbuf_release(&sb);
}

/* ---- permissions ---- */

static void test_permissions(void **state)
{
	(void)state;
	struct runbook rb;
	struct gate_error err;
	write_file("perm/p.yaml", "checks: [{id: p, type: test.none}]\n");
	write_mode("perm/top.yaml", "version: 1\nname: t\ninclude: [p.yaml]\n", 0664);
	struct runbook_load_opts strict = {NULL, 0, 1};
	assert_int_equal(load_with("perm/top.yaml", NULL, &strict, &rb, &err), -1);
	assert_non_null(strstr(err.file, "perm/top.yaml"));
	assert_non_null(strstr(err.msg, "writable by group (mode 0664)"));
	runbook_release(&rb);
	/* lint (strict_permissions 0): a warning only. */
	assert_int_equal(load_with("perm/top.yaml", NULL, NULL, &rb, &err), 0);
	assert_int_equal(rb.nwarnings, 1);
	assert_non_null(strstr(rb.warnings[0], "perm/top.yaml: writable by group (mode 0664)"));
	runbook_release(&rb);
	/* An included policy writable by others is refused too. */
	write_mode("perm/top.yaml", "version: 1\nname: t\ninclude: [p.yaml]\n", 0644);
	write_mode("perm/p.yaml", "checks: [{id: p, type: test.none}]\n", 0646);
	assert_int_equal(load_with("perm/top.yaml", NULL, &strict, &rb, &err), -1);
	assert_non_null(strstr(err.file, "perm/p.yaml"));
	assert_non_null(strstr(err.msg, "writable by others (mode 0646)"));
	runbook_release(&rb);
	write_mode("perm/p.yaml", "checks: [{id: p, type: test.none}]\n", 0644);
	assert_int_equal(load_with("perm/top.yaml", NULL, &strict, &rb, &err), 0);
	assert_int_equal(rb.nwarnings, 0);
	runbook_release(&rb);
}

/* ---- a module failed to load: its checks are kept, unavailable ---- */

static void test_unavailable(void **state)
{
	(void)state;
	struct gate_registry r2;
	registry_init(&r2);
	struct gate_error err = {0};
	assert_int_equal(registry_add_module(&r2, &test_module, "test", &err), 0);
	char *so = path_in("broken.so");
	write_file("broken.so", "not an elf file\n");
	assert_int_equal(registry_load_file(&r2, so, &err), -1);
	assert_int_equal(r2.nfailures, 1);
	write_file("un.yaml", HEAD "checks:\n  - id: a\n    type: pg.replica\n"
	                           "    with: {conninfo: \"x ${env:GATE_TEST_TOKEN}\"}\n"
	                           "  - {id: b, type: test.none}\n");
	char *p = path_in("un.yaml");
	struct runbook rb;
	memset(&err, 0, sizeof(err));
	assert_int_equal(runbook_load(&rb, p, NULL, &r2, &err), 0);
	assert_null(rb.checks[0].ct);
	assert_non_null(
		strstr(rb.checks[0].unavailable, "check type 'pg.replica' is not available"));
	assert_non_null(strstr(rb.checks[0].unavailable, "broken.so"));
	assert_non_null(rb.checks[1].ct);
	/* Without a table, every env value in it is treated as a secret. */
	assert_int_equal(rb.nsecrets, 1);
	assert_string_equal(rb.secrets[0], "s3cr3t-token");
	runbook_release(&rb);
	free(p);
	free(so);
	registry_release(&r2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),           cmocka_unit_test(test_secret_errors),
		cmocka_unit_test(test_many_secrets),     cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults_minimal), cmocka_unit_test(test_cli_vars),
		cmocka_unit_test(test_lazy_env_vars),    cmocka_unit_test(test_includes),
		cmocka_unit_test(test_include_errors),   cmocka_unit_test(test_limits),
		cmocka_unit_test(test_many_names),       cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_unavailable),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
