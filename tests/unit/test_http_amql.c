/* SPDX-License-Identifier: MIT */
/* alertmanager.alerts and prometheus.query (checks/http_judge.h): their
 * judges against answers recorded from a real Alertmanager 0.25 fed by a
 * real Prometheus 2.42, and from real Prometheus queries
 * (tests/data/recorded/http/{alertmanager,prometheus}/, re-recorded by
 * tests/tools/record-http.sh), and the regular expressions written for
 * RE2 that both checks match with POSIX ERE (checks/http_regex.c).
 * Rows of {recording, params, expected status, expected summary}; a
 * summary ending in '*' is a prefix.  A recording "=JSON" is that text
 * itself: the few answers a real server cannot be made to give (an
 * unknown state, a missing status), each said so in its row. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "checks/http_judge.h"

static char *path_of(const char *rel)
{
	const char *src = getenv("GATE_SOURCE_DIR");
	char *p;
	if (asprintf(&p, "%s/tests/data/recorded/http/%s", src ? src : ".", rel) < 0)
		abort();
	return p;
}

/* A recording as the fetch leaves it: the status (200 for *.json, the
 * status line's for a whole answer *.http) and the body parsed, or NULL
 * when it is not JSON. */
static json_t *load_answer(const char *rel, long *status)
{
	json_error_t je;
	*status = 200;
	if (rel[0] == '=')
		return json_loads(rel + 1, JSON_DECODE_ANY, &je);
	char *p = path_of(rel);
	FILE *f = fopen(p, "r");
	if (!f)
		fail_msg("%s: cannot open", p);
	const char *ext = strrchr(rel, '.');
	if (ext && !strcmp(ext, ".http")) {
		char line[1024];
		if (!fgets(line, sizeof(line), f) || sscanf(line, "HTTP/%*s %ld", status) != 1)
			fail_msg("%s: no status line", p);
		while (fgets(line, sizeof(line), f) && strcmp(line, "\n"))
			;
	}
	json_t *doc = json_loadf(f, JSON_DECODE_ANY, &je);
	fclose(f);
	free(p);
	return doc;
}

static json_t *json_of(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
	if (!j)
		fail_msg("%s: %s", text, je.text);
	return j;
}

static void res_init(struct gate_result *res)
{
	memset(res, 0, sizeof(*res));
	res->status = GATE_SKIP; /* every judge must set it */
	res->details = json_object();
}

static const char *status_name(enum gate_status s)
{
	static const char *const names[] = {"pass", "fail", "error", "skip"};
	return (unsigned)s < 4 ? names[s] : "?";
}

static void expect(const char *what, const struct gate_result *res, enum gate_status st,
                   const char *want)
{
	size_t n = strlen(want);
	int prefix = n && want[n - 1] == '*';
	int ok = prefix ? !strncmp(res->summary, want, n - 1) : !strcmp(res->summary, want);
	if (res->status != st || !ok)
		fail_msg("%s: %s \"%s\", want %s \"%s\"", what, status_name(res->status),
		         res->summary, status_name(st), want);
}

/* ---- regular expressions ---- */

static void test_regex(void **state)
{
	(void)state;
	static const struct {
		const char *re, *value;
		int matches; /* -1: refused, with err */
		const char *err;
	} rows[] = {
		{"critical|page", "page", 1, NULL},
		{"critical|page", "pager", 0, NULL}, /* anchored at both ends */
		{"crit", "critical", 0, NULL},
		{"db1\\.example:.*", "db1.example:9100", 1, NULL},
		{"db1\\.example:.*", "db1xexample:9100", 0, NULL},
		{"[0-9]+", "9187", 1, NULL},
		{"", "", 1, NULL},
		{"a|", "", 1, NULL},
		{"(a|b){2}", "ab", 1, NULL},
		{"x{0,3}", "xx", 1, NULL},
		{"[]a]+", "]a", 1, NULL},
		{"[[:upper:]][[:lower:]]+", "Gate", 1, NULL},
		{"\\d+", NULL, -1, "\\d is not plain POSIX ERE"},
		{"\\w", NULL, -1, "\\w is not"},
		{"(a)\\1", NULL, -1, "\\1 is not"},
		{"\\<a", NULL, -1, "\\< is not"},
		{"[\\d]", NULL, -1, "a backslash inside [...]"},
		{"[é]", NULL, -1, "a non-ASCII character inside [...]"},
		{"é+", NULL, -1, "repeats only its last byte"},
		{"(?i)db", NULL, -1, "(?...) flags and groups are RE2's"},
		{"(?:a|b)", NULL, -1, "(?...)"},
		{"a*?", NULL, -1, "a quantifier right after another"},
		{"a+?", NULL, -1, "a quantifier right after another"},
		{"a{2}{3}", NULL, -1, "a quantifier right after another"},
		{"a{,3}", NULL, -1, "{,n} is a literal in RE2"},
		{"a)|(.*", NULL, -1, "unbalanced ')'"},
		{"x\\", NULL, -1, "lone backslash"},
		{"(crit", NULL, -1, "not a POSIX extended regular expression"},
		{"[[:word:]]", NULL, -1, "not a POSIX extended regular expression"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		regex_t re;
		char msg[512] = "";
		int rc = http_regex_compile(rows[i].re, &re, msg, sizeof(msg));
		if (rows[i].matches < 0) {
			if (rc == 0)
				fail_msg("/%s/ compiled", rows[i].re);
			if (!strstr(msg, rows[i].err))
				fail_msg("/%s/: \"%s\", want \"%s\"", rows[i].re, msg, rows[i].err);
			continue;
		}
		if (rc < 0)
			fail_msg("/%s/: %s", rows[i].re, msg);
		int m = regexec(&re, rows[i].value, 0, NULL, 0) == 0;
		regfree(&re);
		if (m != rows[i].matches)
			fail_msg("/%s/ on \"%s\": %d, want %d", rows[i].re, rows[i].value, m,
			         rows[i].matches);
	}
}

/* ---- Alertmanager matchers against labels ---- */

static void test_am_labels(void **state)
{
	(void)state;
	static const struct {
		const char *matchers; /* JSON list */
		int matches;          /* -1: refused, with err */
		const char *err;
	} rows[] = {
		/* against {alertname: GateDbDown, severity: critical, team: db} */
		{"[]", 1, NULL},
		{"[\"alertname=\\\"GateDbDown\\\"\"]", 1, NULL},
		{"[\"alertname=GateDbDown\"]", 1, NULL},
		{"[\"alertname = \\\"GateDbDown\\\" \"]", 1, NULL},
		{"[\"alertname!=\\\"Watchdog\\\"\", \"severity=~\\\"critical|page\\\"\"]", 1, NULL},
		{"[\"severity=~\\\"crit\\\"\"]", 0, NULL},
		{"[\"severity!~\\\"info|warning\\\"\"]", 1, NULL},
		{"[\"severity!~\\\"crit.*\\\"\"]", 0, NULL},
		{"[\"team=\\\"db\\\"\", \"alertname=\\\"Other\\\"\"]", 0, NULL},
		{"[\"instance=\\\"\\\"\"]", 1, NULL}, /* a missing label is "" */
		{"[\"instance!=\\\"\\\"\"]", 0, NULL},
		{"[\"instance=~\\\".*\\\"\"]", 1, NULL},
		{"[\"instance=~\\\".+\\\"\"]", 0, NULL},
		{"[\"team=~\\\"d\\\\\\\\w\\\"\"]", -1,
	         "item 1: 'team=~\"d\\\\w\"': /d\\w/: \\w is not"},
		{"[\"alertname\"]", -1, "item 1: 'alertname': expected =, !=, =~ or !~"},
		{"[\"a=b\", \"{alertname=\\\"X\\\"}\"]", -1,
	         "item 2: '{alertname=\"X\"}': expected a label name"},
		{"[\"severity=~\\\"(crit\\\"\"]", -1, "not a POSIX extended regular expression"},
	};
	json_t *labels = json_of(
		"{\"alertname\": \"GateDbDown\", \"severity\": \"critical\", \"team\": \"db\"}");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *texts = json_of(rows[i].matchers);
		struct am_match_set set;
		char msg[512] = "";
		int rc = am_match_compile(texts, &set, msg, sizeof(msg));
		if (rows[i].matches < 0) {
			if (rc == 0)
				fail_msg("%s compiled", rows[i].matchers);
			if (!strstr(msg, rows[i].err))
				fail_msg("%s: \"%s\", want \"%s\"", rows[i].matchers, msg,
				         rows[i].err);
		} else if (rc < 0) {
			fail_msg("%s: %s", rows[i].matchers, msg);
		} else if (am_labels_match(labels, &set) != rows[i].matches) {
			fail_msg("%s: %d, want %d", rows[i].matchers, !rows[i].matches,
			         rows[i].matches);
		}
		am_match_release(&set);
		json_decref(texts);
	}
	json_decref(labels);
}

/* ---- alertmanager.alerts ---- */

#define AM "http://127.0.0.1:9093/api/v2/alerts"
#define DBDOWN "GateDbDown{severity=critical, instance=db1:9187, team=db}"
#define DISK "GateDiskFull{severity=info, instance=fs1:9100, team=ops}"
/* A real alert, its status replaced (Alertmanager 0.25 always gives
 * state, silencedBy and inhibitedBy; the judge must not trust that). */
#define SYNTH(status)                                                                            \
	"=[{\"labels\": {\"alertname\": \"X\", \"severity\": \"critical\"}, \"status\": " status \
	", \"startsAt\": \"2026-11-28T22:54:58.553Z\"}]"

struct am_row {
	const char *answer;
	const char *matchers; /* JSON list */
	int64_t max;
	enum gate_status status;
	const char *summary;
	int matching; /* details.matching; -1: none */
};

static const struct am_row am_rows[] = {
	/* Everything, as a server that ignores active/silenced/inhibited
	 * answers: GateDbLag is inhibited by GateDbDown. */
	{"alertmanager/alerts-all.json", "[]", 0, GATE_FAIL,
         "2 active, not silenced or inhibited: " DBDOWN ", " DISK " (1 silenced or inhibited)", 2},
	{"alertmanager/alerts-all.json", "[\"alertname=\\\"GateDbLag\\\"\"]", 0, GATE_PASS,
         "no active alert matches (1 silenced or inhibited, 2 others ignored by matchers)", 0},
	{"alertmanager/alerts-all.json", "[\"team=\\\"db\\\"\"]", 0, GATE_FAIL,
         "1 active, not silenced or inhibited: " DBDOWN " (1 silenced or inhibited, 1 other "
         "ignored by matchers)",
         1},
	/* What the check asks for. */
	{"alertmanager/alerts-asked.json", "[]", 0, GATE_FAIL,
         "2 active, not silenced or inhibited: " DBDOWN ", " DISK, 2},
	{"alertmanager/alerts-asked.json", "[]", 2, GATE_PASS,
         "2 active, within max 2: " DBDOWN ", " DISK, 2},
	{"alertmanager/alerts-asked.json", "[]", 1, GATE_FAIL,
         "2 active (max 1): " DBDOWN ", " DISK, 2},
	{"alertmanager/alerts-asked.json", "[\"severity=~\\\"critical|page\\\"\"]", 0, GATE_FAIL,
         "1 active, not silenced or inhibited: " DBDOWN " (1 other ignored by matchers)", 1},
	{"alertmanager/alerts-asked.json", "[\"severity=~\\\"page\\\"\", \"team=~\\\".*\\\"\"]", 0,
         GATE_PASS, "no active alert matches (2 others ignored by matchers)", 0},
	{"alertmanager/alerts-asked.json", "[\"instance=~\\\"db[0-9]+:9187\\\"\"]", 0, GATE_FAIL,
         "1 active, not silenced or inhibited: " DBDOWN " (1 other ignored by matchers)", 1},
	{"alertmanager/alerts-filtered.json", "[\"severity=~\\\"critical|page\\\"\"]", 0, GATE_FAIL,
         "1 active, not silenced or inhibited: " DBDOWN, 1},
	/* GateDbDown silenced; it still inhibits GateDbLag. */
	{"alertmanager/alerts-silenced.json", "[\"alertname=\\\"GateDbDown\\\"\"]", 0, GATE_PASS,
         "no active alert matches (1 silenced or inhibited, 2 others ignored by matchers)", 0},
	{"alertmanager/alerts-silenced.json", "[]", 0, GATE_FAIL,
         "1 active, not silenced or inhibited: " DISK " (2 silenced or inhibited)", 1},
	{"alertmanager/alerts-none.json", "[]", 0, GATE_PASS, "no active alert", 0},
	{"alertmanager/alerts-none.json", "[\"alertname=\\\"Nope\\\"\"]", 0, GATE_PASS,
         "no active alert matches", 0},
	/* Not an answer to count from. */
	{"alertmanager/bad-filter.http", "[]", 0, GATE_ERROR,
         AM " answered status 400: bad matcher format: {alertname=\"X\"}", -1},
	{"prometheus/alerts-firing.json", "[]", 0, GATE_ERROR,
         AM " did not answer a list of alerts", -1},
	{"plain/prometheus-healthy.http", "[]", 0, GATE_ERROR,
         AM " did not answer a list of alerts (not JSON)", -1},
	{SYNTH("{\"state\": \"unprocessed\", \"silencedBy\": [], \"inhibitedBy\": []}"), "[]", 0,
         GATE_FAIL, "1 active, not silenced or inhibited: X{severity=critical}", 1},
	/* suppressed, but by nothing named: it counts */
	{SYNTH("{\"state\": \"suppressed\", \"silencedBy\": [], \"inhibitedBy\": []}"), "[]", 0,
         GATE_FAIL, "1 active, not silenced or inhibited: X{severity=critical}", 1},
	/* active although a silence is named: it counts */
	{SYNTH("{\"state\": \"active\", \"silencedBy\": [\"s\"], \"inhibitedBy\": []}"), "[]", 0,
         GATE_FAIL, "1 active, not silenced or inhibited: X{severity=critical}", 1},
	{SYNTH("{\"state\": \"resolved\", \"silencedBy\": [], \"inhibitedBy\": []}"), "[]", 0,
         GATE_ERROR,
         "alert 1 from " AM " has state \"resolved\" (not active, suppressed or unprocessed)", -1},
	{SYNTH("{\"state\": \"active\"}"), "[]", 0, GATE_ERROR,
         "alert 1 from " AM " has no status {state, silencedBy, inhibitedBy}", -1},
	{"=[{\"status\": {\"state\": \"active\", \"silencedBy\": [], \"inhibitedBy\": []}}]", "[]",
         0, GATE_ERROR, "alert 1 from " AM " has no labels", -1},
	{"=[{\"labels\": {\"alertname\": \"X\\u001b[2J\", \"a\": \"1\", \"b\": \"2\", \"c\": "
         "\"3\", "
         "\"d\": \"4\", \"e\": \"5\", \"instance\": \"i\\nj\"}, \"status\": {\"state\": "
         "\"active\", \"silencedBy\": [], \"inhibitedBy\": []}}]",
         "[]", 0, GATE_FAIL,
         "1 active, not silenced or inhibited: X\\x1b[2J{instance=i j, a=1, b=2, c=3, +2}", 1},
};

static void test_am_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(am_rows) / sizeof(am_rows[0]); i++) {
		const struct am_row *r = &am_rows[i];
		char what[96], msg[256];
		snprintf(what, sizeof(what), "alertmanager row %zu", i);
		long status;
		json_t *doc = load_answer(r->answer, &status), *texts = json_of(r->matchers);
		struct am_match_set set;
		if (am_match_compile(texts, &set, msg, sizeof(msg)) < 0)
			fail_msg("%s: %s", what, msg);
		struct gate_result res;
		res_init(&res);
		am_alerts_judge(status, doc, &set, r->max, AM, &res);
		expect(what, &res, r->status, r->summary);
		json_t *jm = json_object_get(res.details, "matching");
		if (r->matching >= 0 && json_integer_value(jm) != r->matching)
			fail_msg("%s: matching %lld, want %d", what,
			         (long long)json_integer_value(jm), r->matching);
		json_decref(res.details);
		am_match_release(&set);
		json_decref(texts);
		json_decref(doc);
	}
}

/* ---- prometheus.query ---- */

#define PQ "http://127.0.0.1:9090/api/v1/query"
#define FIRING \
	"ALERTS{alertname=\"FixtureAlwaysFiring\", alertstate=\"firing\", severity=\"critical\"}"
#define PENDING "ALERTS{alertname=\"FixturePending\", alertstate=\"pending\", severity=\"info\"}"

struct promql_row {
	const char *answer;
	const char *params; /* JSON */
	enum gate_status status;
	const char *summary;
};

static const struct promql_row promql_rows[] = {
	{"query-count.json", "{}", GATE_PASS, "1 series: {} 2"},
	{"query-count.json", "{\"min\": 1, \"max\": 5}", GATE_PASS,
         "1 series within min 1 and max 5: {} 2"},
	{"query-count.json", "{\"max\": 1}", GATE_FAIL, "1 of 1 series outside max 1: {} 2"},
	{"query-count.json", "{\"min\": 2.5}", GATE_FAIL, "1 of 1 series outside min 2.5: {} 2"},
	{"query-count.json", "{\"min\": 2, \"max\": 2}", GATE_PASS,
         "1 series within min 2 and max 2: {} 2"},
	{"query-vector.json", "{\"max\": 0}", GATE_FAIL,
         "2 of 2 series outside max 0: " FIRING " 1, " PENDING " 1"},
	{"query-vector.json", "{\"max_series\": 1}", GATE_FAIL,
         "2 series, more than max_series 1: " FIRING " 1, " PENDING " 1"},
	{"query-vector.json", "{\"min_series\": 3}", GATE_FAIL,
         "2 series, fewer than min_series 3: " FIRING " 1, " PENDING " 1"},
	{"query-vector.json", "{\"min_series\": 2, \"max_series\": 2, \"min\": 1}", GATE_PASS,
         "2 series within min 1: " FIRING " 1, " PENDING " 1"},
	{"query-firing.json", "{\"max_series\": 0}", GATE_FAIL,
         "1 series, more than max_series 0: " FIRING " 1"},
	{"query-empty.json", "{}", GATE_ERROR,
         "the query gave no series (min_series: 0 allows an empty result)"},
	{"query-empty.json", "{\"max\": 0}", GATE_ERROR, "the query gave no series*"},
	{"query-empty.json", "{\"max_series\": 3}", GATE_ERROR, "the query gave no series*"},
	{"query-empty.json", "{\"min_series\": 0}", GATE_PASS,
         "no series, as allowed (min_series 0)"},
	{"query-empty.json", "{\"max_series\": 0}", GATE_PASS,
         "no series, as allowed (min_series 0)"},
	{"query-nan.json", "{}", GATE_ERROR, "1 series is NaN: {} NaN"},
	{"query-nan.json", "{\"min_series\": 0, \"max\": 1}", GATE_ERROR,
         "1 series is NaN: {} NaN"},
	{"query-inf.json", "{}", GATE_PASS, "2 series: {} +Inf, {sign=\"minus\"} -Inf"},
	{"query-inf.json", "{\"max\": 1e300}", GATE_FAIL,
         "1 of 2 series outside max 1e+300: {} +Inf"},
	{"query-inf.json", "{\"min\": -1e300}", GATE_FAIL,
         "1 of 2 series outside min -1e+300: {sign=\"minus\"} -Inf"},
	{"query-scalar.json", "{\"min\": 2}", GATE_PASS, "1 series within min 2: scalar 2"},
	{"query-scalar.json", "{\"max\": 1}", GATE_FAIL, "1 of 1 series outside max 1: scalar 2"},
	{"query-matrix.json", "{}", GATE_ERROR,
         "the query gives a range vector (matrix): ask for an instant vector, e.g. "
         "max_over_time(x[5m])"},
	{"query-string.json", "{}", GATE_ERROR, "the query gives a string, not a number"},
	{"query-syntax.http", "{}", GATE_ERROR,
         "query error (bad_data, status 400): invalid parameter \"query\": 1:5: parse error: "
         "unclosed left parenthesis"},
	{"query-execution.http", "{\"min_series\": 0}", GATE_ERROR,
         "query error (execution, status 422): multiple matches for labels: many-to-one "
         "matching must be explicit (group_left/group_right)"},
	{"query-error.json", "{}", GATE_ERROR, "query error (bad_data, status 200): *"},
	{"alerts-firing.json", "{}", GATE_ERROR, "an answer without a vector or scalar result"},
	{"../plain/prometheus-healthy.http", "{}", GATE_ERROR,
         PQ " answered status 200 (not JSON), not {status: success, data: ...}"},
	{"../alertmanager/bad-filter.http", "{}", GATE_ERROR,
         PQ " answered status 400, not {status: success, data: ...}"},
	/* Prometheus warns only with remote read or a query's own warnings,
	 * which this fixture has neither of: the warning is written here. */
	{"={\"status\": \"success\", \"warnings\": [\"remote read failed\"], \"data\": "
         "{\"resultType\": \"vector\", \"result\": []}}",
         "{\"min_series\": 0}", GATE_ERROR,
         "Prometheus warned (the answer may be partial): remote read failed"},
	{"={\"status\": \"success\", \"data\": {\"resultType\": \"vector\", \"result\": "
         "[{\"metric\": {}, \"value\": [1, \"one\"]}]}}",
         "{}", GATE_ERROR, "sample 1 is not {metric, value: [time, \"value\"]}"},
	{"={\"status\": \"success\", \"data\": {\"resultType\": \"vector\", \"result\": "
         "[{\"metric\": {}, \"value\": [1, 1]}]}}",
         "{}", GATE_ERROR, "sample 1 is not {metric, value: [time, \"value\"]}"},
};

static void test_promql_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(promql_rows) / sizeof(promql_rows[0]); i++) {
		const struct promql_row *r = &promql_rows[i];
		char what[96], rel[128];
		snprintf(what, sizeof(what), "promql row %zu", i);
		snprintf(rel, sizeof(rel), "%s%s", r->answer[0] == '=' ? "" : "prometheus/",
		         r->answer);
		long status;
		json_t *doc = load_answer(rel, &status), *params = json_of(r->params);
		struct gate_result res;
		res_init(&res);
		promql_judge(params, status, doc, PQ, &res);
		expect(what, &res, r->status, r->summary);
		json_decref(res.details);
		json_decref(params);
		json_decref(doc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_am_labels),
		cmocka_unit_test(test_am_rows),
		cmocka_unit_test(test_promql_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
