/* SPDX-License-Identifier: MIT */
/* The http family's judges (checks/http_judge.h) against answers recorded
 * from the real servers the scenario tests start: Prometheus 2.42,
 * Patroni 3.0.2 on etcd with PostgreSQL 15, the tests' httpd.py
 * (tests/data/recorded/http/, re-recorded by tests/tools/record-http.sh).
 * Rows of {recording, params, expected status, expected summary}; a
 * summary ending in '*' is a prefix (what follows depends on the order or
 * the numbers of a recording). */
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

/* What CURLINFO_REDIRECT_URL makes of a relative Location. */
#define BASE "http://127.0.0.1:8080"

static char *path_of(const char *rel)
{
	const char *src = getenv("GATE_SOURCE_DIR");
	char *p;
	if (asprintf(&p, "%s/tests/data/recorded/http/%s", src ? src : ".", rel) < 0)
		abort();
	return p;
}

static json_t *load_json(const char *rel)
{
	char *p = path_of(rel);
	json_error_t je;
	json_t *doc = json_load_file(p, 0, &je);
	if (!doc)
		fail_msg("%s: %s", p, je.text);
	free(p);
	return doc;
}

static json_t *params_of(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		fail_msg("params %s: %s", text, je.text);
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

/* The row's expectation: exact, or a prefix when want ends in '*'. */
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

/* ---- http: whole answers (curl -si) ---- */

/* A recorded answer as http_fetch leaves it: status, Location (absolute,
 * as curl gives it), body. */
static void load_answer(const char *rel, struct http_response *rs)
{
	char *p = path_of(rel);
	FILE *f = fopen(p, "r");
	if (!f)
		fail_msg("%s: cannot open", p);
	memset(rs, 0, sizeof(*rs));
	char line[4096];
	if (!fgets(line, sizeof(line), f) || sscanf(line, "HTTP/%*s %ld", &rs->status) != 1)
		fail_msg("%s: no status line", p);
	while (fgets(line, sizeof(line), f) && strcmp(line, "\n")) {
		if (!strncasecmp(line, "Location: ", 10)) {
			line[strcspn(line, "\n")] = '\0';
			const char *loc = line + 10;
			if (asprintf(&rs->location, "%s%s", *loc == '/' ? BASE : "", loc) < 0)
				abort();
		}
	}
	size_t alloc = 4096;
	rs->body = malloc(alloc);
	size_t n;
	while (rs->body &&
	       (n = fread(rs->body + rs->body_len, 1, alloc - rs->body_len - 1, f)) > 0) {
		rs->body_len += n;
		if (rs->body_len + 1 == alloc)
			rs->body = realloc(rs->body, alloc *= 2);
	}
	if (!rs->body)
		abort();
	rs->body[rs->body_len] = '\0';
	rs->total_ms = 12.3;
	fclose(f);
	free(p);
}

struct http_row {
	const char *answer;
	const char *params;
	enum gate_status status;
	const char *summary;
};

#define T4000_JSON                                                                                 \
	"[{\"pointer\":\"/status\",\"equals\":\"ok\"},{\"pointer\":\"/replicas\",\"equals\":2.0}," \
	"{\"pointer\":\"/version\",\"matches\":\"^15\\\\.\"},{\"pointer\":\"/nested/a~1b\","       \
	"\"equals\":1},{\"pointer\":\"/nested/m~0n\",\"equals\":2},{\"pointer\":"                  \
	"\"/nested/deep/x/2\",\"min\":30,\"max\":30},{\"pointer\":\"/lag\",\"max\":1},"            \
	"{\"pointer\":\"/ready\",\"equals\":true}]"

static const struct http_row http_rows[] = {
	{"plain/httpd-json.http",
         "{\"expect_body\": \"\\\"status\\\": *\\\"ok\\\"\", \"expect_json\": " T4000_JSON "}",
         GATE_PASS, "status 200 in 12 ms, body matches, JSON assertions hold"},
	{"plain/httpd-json.http",
         "{\"expect_json\": "
         "[{\"pointer\":\"/status\",\"equals\":\"ok\"},{\"pointer\":\"/lag\",\"max\":0.1},"
         "{\"pointer\":\"/missing\",\"equals\":1},{\"pointer\":\"/list/01\",\"equals\":2},"
         "{\"pointer\":\"/list/-\",\"equals\":2},{\"pointer\":\"/version\",\"min\":16}]}",
         GATE_FAIL,
         "5 of 6 JSON assertions failed: /lag is 0.5, above max 0.1; /missing is absent; "
         "/list/01 is absent; /list/- is absent; /version is \"15.4\", below min 16"},
	{"plain/httpd-root.http", "{\"expect_body\": \"^ok\"}", GATE_PASS,
         "status 200 in 12 ms, body matches"},
	{"plain/httpd-root.http", "{\"expect_body\": \"^healthy\"}", GATE_FAIL,
         "status 200, but the body does not match /^healthy/"},
	{"plain/httpd-root.http", "{\"expect_json\": [{\"pointer\": \"/a\", \"equals\": 1}]}",
         GATE_ERROR, "status 200, but the body is not JSON: *"},
	{"plain/httpd-notfound.http", "{}", GATE_FAIL, "status 404, expected 200"},
	{"plain/httpd-notfound.http",
         "{\"expect_status\": [404], \"expect_json\": "
         "[{\"pointer\":\"\",\"equals\":{\"error\":\"not found\"}},"
         "{\"pointer\":\"/error\",\"matches\":\"^not\"}]}",
         GATE_PASS, "status 404 in 12 ms, JSON assertions hold"},
	{"plain/httpd-redirect.http", "{}", GATE_FAIL,
         "status 302 (redirect to " BASE "/json, not followed), expected 200"},
	{"plain/httpd-redirect.http", "{\"expect_status\": [301, 302]}", GATE_PASS,
         "status 302 in 12 ms"},
	{"plain/httpd-503.http", "{\"expect_status\": [200, 204]}", GATE_FAIL,
         "status 503, expected 200, 204"},
	{"plain/prometheus-healthy.http", "{\"expect_body\": \"Healthy\"}", GATE_PASS,
         "status 200 in 12 ms, body matches"},
	{"plain/prometheus-query.http",
         "{\"expect_json\": [{\"pointer\":\"/data/result/0/value/1\",\"max\":1},"
         "{\"pointer\":\"/data/resultType\",\"equals\":\"vector\"}]}",
         GATE_PASS, "status 200 in 12 ms, JSON assertions hold"},
	{"plain/prometheus-query.http",
         "{\"expect_json\": [{\"pointer\":\"/data/result/0/value/1\",\"min\":2}]}", GATE_FAIL,
         "1 of 1 JSON assertions failed: /data/result/0/value/1 is \"1\", below min 2"},
	{"plain/patroni-primary-leader.http",
         "{\"expect_json\": [{\"pointer\":\"/role\",\"equals\":\"master\"},"
         "{\"pointer\":\"/replication/0/state\",\"equals\":\"streaming\"}]}",
         GATE_PASS, "status 200 in 12 ms, JSON assertions hold"},
	{"plain/patroni-primary-replica.http", "{}", GATE_FAIL, "status 503, expected 200"},
	{"plain/patroni-health.http",
         "{\"expect_json\": [{\"pointer\":\"/state\",\"equals\":\"running\"}]}", GATE_PASS,
         "status 200 in 12 ms, JSON assertions hold"},
};

static void test_http_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(http_rows) / sizeof(http_rows[0]); i++) {
		const struct http_row *r = &http_rows[i];
		struct http_response rs;
		struct gate_result res;
		load_answer(r->answer, &rs);
		json_t *params = params_of(r->params);
		res_init(&res);
		http_check_judge(params, &rs, &res);
		char what[128];
		snprintf(what, sizeof(what), "http row %zu (%s)", i, r->answer);
		expect(what, &res, r->status, r->summary);
		assert_int_equal(json_integer_value(json_object_get(res.details, "status")),
		                 rs.status);
		json_decref(res.details);
		json_decref(params);
		http_response_release(&rs);
	}
}

/* An exchange that failed is an error, whatever the params; a password in
 * a redirect target is never shown. */
static void test_http_failure_and_location(void **state)
{
	(void)state;
	json_t *params = params_of("{\"expect_status\": [200, 503]}");
	struct http_response rs = {.failure = HTTP_F_REFUSED};
	snprintf(rs.err, sizeof(rs.err), "cannot connect to 127.0.0.1:1: Connection refused");
	struct gate_result res;
	res_init(&res);
	http_check_judge(params, &rs, &res);
	expect("refused", &res, GATE_ERROR, "cannot connect to 127.0.0.1:1: Connection refused");
	json_decref(res.details);

	load_answer("plain/httpd-redirect.http", &rs);
	free(rs.location);
	rs.location = strdup("http://gate:hunter2@127.0.0.1:8080/json");
	res_init(&res);
	http_check_judge(params, &rs, &res);
	expect("redirect", &res, GATE_FAIL,
	       "status 302 (redirect to http://gate:***@127.0.0.1:8080/json, not followed), "
	       "expected 200, 503");
	assert_string_equal(json_string_value(json_object_get(res.details, "location")),
	                    "http://gate:***@127.0.0.1:8080/json");
	json_decref(res.details);
	http_response_release(&rs);
	json_decref(params);
}

/* ---- prometheus.alerts ---- */

struct prom_row {
	const char *answer;
	const char *match; /* JSON */
	int any;
	int64_t max;
	enum gate_status status;
	const char *summary;
	int matching; /* details.matching; -1: none */
};

#define PROM "http://127.0.0.1:9090/api/v1/alerts"

static const struct prom_row prom_rows[] = {
	{"alerts-firing", "{}", 0, 0, GATE_FAIL, "1 firing: FixtureAlwaysFiring{severity=critical}",
         1},
	{"alerts-firing", "{\"severity\": \"warning|page\"}", 0, 0, GATE_PASS,
         "no firing alert matches (1 other ignored by match)", 0},
	{"alerts-firing", "{\"alertname\": \"Fixture\"}", 0, 0, GATE_PASS,
         "no firing alert matches (1 other ignored by match)", 0},
	{"alerts-firing",
         "{\"severity\": \"crit.*\", \"alertname\": \"Fixture(Always|Never)Firing\"}", 0, 0,
         GATE_FAIL, "1 firing: FixtureAlwaysFiring{severity=critical}", 1},
	{"alerts-firing", "{}", 0, 1, GATE_PASS,
         "1 firing, within max 1: FixtureAlwaysFiring{severity=critical}", 1},
	{"alerts-firing", "{\"severity\": \"info\"}", 0, 0, GATE_PASS,
         "no firing alert matches (1 other ignored by match)", 0},
	{"alerts-firing", "{\"severity\": \"info\"}", 1, 0, GATE_FAIL,
         "1 firing or pending: FixturePending{severity=info} (1 other ignored by match)", 1},
	{"alerts-firing", "{}", 1, 2, GATE_PASS, "2 firing or pending, within max 2: Fixture*", 2},
	{"alerts-firing", "{}", 1, 1, GATE_FAIL, "2 firing or pending (max 1): Fixture*", 2},
	{"alerts-quiet", "{}", 0, 0, GATE_PASS, "no firing alert", 0},
	{"alerts-quiet", "{}", 1, 0, GATE_PASS, "no firing or pending alert", 0},
	{"alerts-quiet", "{\"severity\": \"critical\"}", 0, 0, GATE_PASS, "no firing alert matches",
         0},
	{"rules", "{}", 0, 0, GATE_ERROR,
         PROM " did not answer {status: success, data: {alerts: [...]}}", -1},
	{"query-error", "{}", 0, 0, GATE_ERROR,
         PROM " did not answer {status: success, data: {alerts: [...]}}: *", -1},
};

static void test_prom_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(prom_rows) / sizeof(prom_rows[0]); i++) {
		const struct prom_row *r = &prom_rows[i];
		char rel[64], msg[256], what[128];
		snprintf(rel, sizeof(rel), "prometheus/%s.json", r->answer);
		snprintf(what, sizeof(what), "prometheus row %zu (%s)", i, r->answer);
		json_t *doc = load_json(rel), *match = params_of(r->match);
		struct prom_matcher *m;
		size_t nm;
		if (prom_compile_match(match, &m, &nm, msg, sizeof(msg)) < 0)
			fail_msg("%s: %s", what, msg);
		struct gate_result res;
		res_init(&res);
		prom_alerts_judge(doc, m, nm, r->any, r->max, PROM, &res);
		expect(what, &res, r->status, r->summary);
		json_t *jm = json_object_get(res.details, "matching");
		if (r->matching >= 0 && json_integer_value(jm) != r->matching)
			fail_msg("%s: matching %lld, want %d", what,
			         (long long)json_integer_value(jm), r->matching);
		json_decref(res.details);
		prom_free_match(m, nm);
		json_decref(match);
		json_decref(doc);
	}
}

/* ---- patroni.cluster ---- */

struct patroni_row {
	const char *cluster; /* patroni/NAME-cluster.json */
	const char *leader;  /* the leader's /patroni: patroni/LEADER.json, or NULL: no answer */
	const char *params;
	enum gate_status status;
	const char *summary;
};

#define PATRONI "http://127.0.0.1:8008/cluster"
#define HEALTHY "pg1 leader running tl 1, pg2 replica running tl 1 lag 0"

static const struct patroni_row patroni_rows[] = {
	{"healthy", "healthy-leader", "{}", GATE_PASS,
         "1 of 1 required replicas streaming: " HEALTHY},
	{"healthy", "healthy-leader", "{\"max_lag_bytes\": 1048576}", GATE_PASS,
         "1 of 1 required replicas streaming: " HEALTHY},
	{"healthy", "healthy-leader", "{\"min_streaming\": 2}", GATE_FAIL,
         "1 of 2 required replicas streaming: " HEALTHY},
	{"healthy", "healthy-leader", "{\"min_streaming\": 0, \"require_unpaused\": true}",
         GATE_PASS, "1 of 0 required replicas streaming: " HEALTHY},
	/* 3.0.2 says "running": without the leader's word it is not known */
	{"healthy", NULL, "{}", GATE_ERROR,
         "cannot ask the leader: cannot connect to 127.0.0.1:8008: Connection refused; "
         "0 of 1 required replicas streaming: pg1 leader running tl 1, pg2 replica running tl 1 "
         "lag 0 (streaming unconfirmed: no answer from the leader's API)"},
	/* the replica's own /patroni lists no one streaming */
	{"healthy", "healthy-replica", "{}", GATE_FAIL,
         "0 of 1 required replicas streaming: pg1 leader running tl 1, pg2 replica running tl 1 "
         "lag 0 (not streaming per the leader)"},
	{"paused", "paused-leader", "{}", GATE_PASS,
         "paused; 1 of 1 required replicas streaming: " HEALTHY},
	{"paused", "paused-leader", "{\"require_unpaused\": true}", GATE_FAIL,
         "cluster is paused (maintenance mode); 1 of 1 required replicas streaming: " HEALTHY},
	{"lagging", "lagging-leader", "{\"max_lag_bytes\": 999999}", GATE_FAIL,
         "0 of 1 required replicas streaming: pg1 leader running tl 1, pg2 replica running tl 1 "
         "lag *"},
	{"lagging", "lagging-leader", "{\"max_lag_bytes\": 1073741824}", GATE_PASS,
         "1 of 1 required replicas streaming: pg1 leader running tl 1, pg2 replica running tl 1 "
         "lag *"},
	{"replica-stopped", "replica-stopped-leader", "{}", GATE_FAIL,
         "0 of 1 required replicas streaming: pg1 leader running tl 1, pg2 replica stopped lag "
         "unknown (not streaming)"},
	{"replica-stopped", "replica-stopped-leader", "{\"min_streaming\": 0}", GATE_PASS,
         "0 of 0 required replicas streaming: *"},
	/* paused, the leader's key expired: pg2 is on no leader's timeline */
	{"leader-missing", NULL, "{}", GATE_FAIL,
         "paused; no leader: pg2 replica running tl 1 lag 0 (not on the leader's timeline)"},
	{"leader-missing", NULL, "{\"min_streaming\": 0, \"require_unpaused\": true}", GATE_FAIL,
         "cluster is paused (maintenance mode); no leader: *"},
};

/* The facts as patroni.cluster's fetch gathers them: the leader's own
 * /patroni only when the judgement needs it. */
static void build_facts(const struct patroni_row *r, struct patroni_facts *f)
{
	char rel[96];
	memset(f, 0, sizeof(*f));
	snprintf(rel, sizeof(rel), "patroni/%s-cluster.json", r->cluster);
	f->cluster = load_json(rel);
	if (!patroni_needs_leader_view(f->cluster))
		return;
	f->leader_api_url = strdup("http://127.0.0.1:8008/patroni");
	if (r->leader) {
		snprintf(rel, sizeof(rel), "patroni/%s.json", r->leader);
		f->leader_view = load_json(rel);
	} else {
		snprintf(f->leader_api_error, sizeof(f->leader_api_error),
		         "cannot connect to 127.0.0.1:8008: Connection refused");
	}
}

static void test_patroni_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(patroni_rows) / sizeof(patroni_rows[0]); i++) {
		const struct patroni_row *r = &patroni_rows[i];
		char what[128];
		snprintf(what, sizeof(what), "patroni row %zu (%s, %s)", i, r->cluster, r->params);
		struct patroni_facts f;
		build_facts(r, &f);
		json_t *params = params_of(r->params);
		struct gate_result res;
		res_init(&res);
		patroni_cluster_judge(params, &f, PATRONI, &res);
		expect(what, &res, r->status, r->summary);
		json_decref(res.details);
		json_decref(params);
		patroni_facts_release(&f);
	}
}

/* Patroni 3.0.2 answers "running" for a streaming replica: the fetch must
 * ask the leader then, and need not once no leader is left. */
static void test_patroni_needs_leader(void **state)
{
	(void)state;
	static const struct {
		const char *cluster;
		int needs;
	} rows[] = {
		{"healthy", 1},         {"paused", 1},         {"lagging", 1},
		{"replica-stopped", 0}, {"leader-missing", 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char rel[96];
		snprintf(rel, sizeof(rel), "patroni/%s-cluster.json", rows[i].cluster);
		json_t *c = load_json(rel);
		if (patroni_needs_leader_view(c) != rows[i].needs)
			fail_msg("%s: needs the leader's view %d, want %d", rows[i].cluster,
			         patroni_needs_leader_view(c), rows[i].needs);
		json_decref(c);
	}
}

/* The details of a healthy judgement, as reports show them. */
static void test_patroni_details(void **state)
{
	(void)state;
	struct patroni_facts f;
	build_facts(&patroni_rows[0], &f);
	json_t *params = params_of("{}");
	struct gate_result res;
	res_init(&res);
	patroni_cluster_judge(params, &f, PATRONI, &res);
	const char *keys[] = {"paused",  "leader_api_url", "leader",        "timeline",
	                      "members", "streaming",      "min_streaming", "replicas"};
	const char *key;
	json_t *v;
	size_t k = 0;
	json_object_foreach(res.details, key, v) {
		assert_true(k < sizeof(keys) / sizeof(keys[0]));
		assert_string_equal(key, keys[k++]);
	}
	assert_int_equal(k, sizeof(keys) / sizeof(keys[0]));
	assert_true(json_is_true(json_object_get(
		json_array_get(json_object_get(res.details, "members"), 1), "streaming")));
	json_decref(res.details);
	json_decref(params);
	patroni_facts_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_rows),
		cmocka_unit_test(test_http_failure_and_location),
		cmocka_unit_test(test_prom_rows),
		cmocka_unit_test(test_patroni_rows),
		cmocka_unit_test(test_patroni_needs_leader),
		cmocka_unit_test(test_patroni_details),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
