/* SPDX-License-Identifier: MIT */
/* The etcd lock's pure half (holds/etcd_v3.h): base64, int64s that arrive
 * as strings, the request bodies, and every answer reader, fed by answers
 * recorded from a real etcd 3.4.23 (tests/data/recorded/holds/etcd/,
 * re-recorded by tests/tools/record-hold-etcd.sh), then by answers etcd
 * does not give, which must be errors (fail closed). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "holds/etcd_v3.h"

/* The leases of the recordings' two holders (grant-a.json, grant-b.json):
 * above 2^53, where a double would round them. */
#define LEASE_A 2324317157589864454LL
#define LEASE_B 2324317157589864456LL

static json_t *rec(const char *name)
{
	const char *src = getenv("GATE_SOURCE_DIR");
	char *p;
	if (asprintf(&p, "%s/tests/data/recorded/holds/etcd/%s", src ? src : ".", name) < 0)
		abort();
	json_error_t je;
	json_t *doc = json_load_file(p, 0, &je);
	if (!doc)
		fail_msg("%s: %s", p, je.text);
	free(p);
	return doc;
}

static json_t *js(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	if (!j)
		fail_msg("bad JSON in the test: %s", text);
	return j;
}

static void test_base64(void **state)
{
	static const struct {
		const char *plain, *b64;
	} rows[] = {
		{"", ""},
		{"f", "Zg=="},
		{"fo", "Zm8="},
		{"foo", "Zm9v"},
		{"/gate/locks/fleet/slot-0", "L2dhdGUvbG9ja3MvZmxlZXQvc2xvdC0w"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *e = etcd_b64(rows[i].plain, strlen(rows[i].plain)), *d = NULL;
		size_t n;
		assert_string_equal(e, rows[i].b64);
		assert_int_equal(etcd_unb64(rows[i].b64, &d, &n), 0);
		assert_int_equal(n, strlen(rows[i].plain));
		assert_string_equal(d, rows[i].plain);
		free(e);
		free(d);
	}
	static const char *const bad[] = {"Zg=",   "Zg",   "Z===",     "Zm=v",
	                                  "Zm9v=", "@@@@", "Zg==Zg==", "Zm9\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *d = (char *)1;
		size_t n;
		assert_int_equal(etcd_unb64(bad[i], &d, &n), -1);
		assert_null(d);
	}
}

static void test_int64(void **state)
{
	static const struct {
		const char *json;
		int ok;
		long long want;
	} rows[] = {
		{"\"2324317157589864454\"", 1, 2324317157589864454LL},
		{"\"9223372036854775807\"", 1, 9223372036854775807LL},
		{"\"-1\"", 1, -1},
		{"\"0\"", 1, 0},
		{"42", 1, 42},
		{"\"9223372036854775808\"", 0, 0},
		{"\"\"", 0, 0},
		{"\"-\"", 0, 0},
		{"\"12x\"", 0, 0},
		{"\" 12\"", 0, 0},
		{"\"+12\"", 0, 0},
		{"2.5", 0, 0},
		{"2324317157589864454.0", 0, 0},
		{"null", 0, 0},
		{"true", 0, 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *v = json_loads(rows[i].json, JSON_DECODE_ANY, NULL);
		int64_t got = 0;
		assert_non_null(v);
		assert_int_equal(etcd_int64(v, &got), rows[i].ok ? 0 : -1);
		if (rows[i].ok)
			assert_true(got == rows[i].want);
		json_decref(v);
	}
}

static void test_prefix_end(void **state)
{
	char *e = etcd_prefix_end("/gate/locks/fleet/");
	assert_string_equal(e, "/gate/locks/fleet0");
	free(e);
	e = etcd_prefix_end("a\xff");
	assert_string_equal(e, "b");
	free(e);
}

/* Bodies compared as JSON, with the keys and values as etcd reads them. */
static void body_is(json_t *got, const char *want_text)
{
	json_t *want = js(want_text);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS);
		fail_msg("body %s", g);
	}
	json_decref(want);
	json_decref(got);
}

static void test_requests(void **state)
{
	body_is(etcd_req_grant(30), "{\"TTL\":\"30\"}");
	body_is(etcd_req_lease(LEASE_A, 0), "{\"ID\":\"2324317157589864454\"}");
	body_is(etcd_req_lease(LEASE_A, 1), "{\"ID\":\"2324317157589864454\",\"keys\":true}");
	body_is(etcd_req_create("/gate/locks/fleet/slot-0", "A", LEASE_A),
	        "{\"compare\":[{\"key\":\"L2dhdGUvbG9ja3MvZmxlZXQvc2xvdC0w\",\"result\":\"EQUAL\","
	        "\"target\":\"CREATE\",\"create_revision\":\"0\"}],"
	        "\"success\":[{\"request_put\":{\"key\":\"L2dhdGUvbG9ja3MvZmxlZXQvc2xvdC0w\","
	        "\"value\":\"QQ==\",\"lease\":\"2324317157589864454\"}}],"
	        "\"failure\":[{\"request_range\":{\"key\":\"L2dhdGUvbG9ja3MvZmxlZXQvc2xvdC0w\"}}]"
	        "}");
	body_is(etcd_req_range_prefix("/gate/locks/fleet/"),
	        "{\"key\":\"L2dhdGUvbG9ja3MvZmxlZXQv\",\"range_end\":"
	        "\"L2dhdGUvbG9ja3MvZmxlZXQw\"}");
	body_is(etcd_req_delete_if("/k", LEASE_B, 0),
	        "{\"compare\":[{\"key\":\"L2s=\",\"result\":\"EQUAL\",\"target\":\"LEASE\","
	        "\"lease\":\"2324317157589864456\"}],"
	        "\"success\":[{\"request_delete_range\":{\"key\":\"L2s=\"}}]}");
	body_is(etcd_req_delete_if("/k", 0, 17),
	        "{\"compare\":[{\"key\":\"L2s=\",\"result\":\"EQUAL\",\"target\":\"MOD\","
	        "\"mod_revision\":\"17\"}],"
	        "\"success\":[{\"request_delete_range\":{\"key\":\"L2s=\"}}]}");
	body_is(etcd_req_auth("gate", "pw"), "{\"name\":\"gate\",\"password\":\"pw\"}");
}

static void test_grant(void **state)
{
	static const struct {
		const char *file;
		int ok;
		long long id, ttl;
	} rows[] = {
		{"grant-a.json", 1, LEASE_A, 30},
		{"grant-b.json", 1, LEASE_B, 30},
		{"grant-ttl1.json", 1, 2324317157589864458LL, 2}, /* etcd's minimum */
		{"txn-lease-unknown.json", 0, 0, 0},
		{"auth-denied.json", 0, 0, 0},
		{"range-empty.json", 0, 0, 0}, /* a header, no ID */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *doc = rec(rows[i].file);
		int64_t id = 0, ttl = 0;
		char err[256] = "";
		assert_int_equal(etcd_parse_grant(doc, &id, &ttl, err, sizeof(err)),
		                 rows[i].ok ? 0 : -1);
		if (rows[i].ok) {
			assert_true(id == rows[i].id);
			assert_true(ttl == rows[i].ttl);
		} else {
			assert_true(*err);
		}
		json_decref(doc);
	}
}

static void test_errors(void **state)
{
	static const struct {
		const char *file;
		int code;
		const char *msg;
	} rows[] = {
		{"txn-lease-unknown.json", 5, "etcdserver: requested lease not found (code 5)"},
		{"revoke-unknown.json", 5, "etcdserver: requested lease not found (code 5)"},
		{"txn-bad-base64.json", 3, "illegal base64 data at input byte 0 (code 3)"},
		{"auth-failed.json", 3,
	         "etcdserver: authentication failed, invalid user ID or password (code 3)"},
		{"auth-invalid-token.json", 16, "etcdserver: invalid auth token (code 16)"},
		{"auth-denied.json", 7, "etcdserver: permission denied (code 7)"},
		{"revoke.json", -1, NULL},
		{"txn-lost.json", -1, NULL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *doc = rec(rows[i].file);
		int code = -1;
		char msg[256] = "";
		assert_int_equal(etcd_answer_error(doc, &code, msg, sizeof(msg)),
		                 rows[i].msg != NULL);
		assert_int_equal(code, rows[i].code);
		if (rows[i].msg)
			assert_string_equal(msg, rows[i].msg);
		json_decref(doc);
	}
}

static void test_create(void **state)
{
	static const struct {
		const char *file;
		long long lease;
		enum etcd_txn_outcome want;
		const char *holder;
	} rows[] = {
		{"txn-won.json", LEASE_A, ETCD_TXN_WON, NULL},
		/* No "succeeded": lost; the failure branch names A. */
		{"txn-lost.json", LEASE_B, ETCD_TXN_LOST,
	         "upgrade-db by ops@db1 pid 4242 since 2026-11-28T20:31:00Z"},
		/* The same answer to A's own retry (its first answer was lost). */
		{"txn-lost.json", LEASE_A, ETCD_TXN_WON, NULL},
		{"txn-lease-unknown.json", LEASE_B, ETCD_TXN_ERROR, NULL},
		{"delete-lost.json", LEASE_B, ETCD_TXN_ERROR, NULL}, /* no failure branch */
		{"delete-won.json", LEASE_B, ETCD_TXN_ERROR, NULL},  /* not a put */
		{"range-two.json", LEASE_B, ETCD_TXN_ERROR, NULL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *doc = rec(rows[i].file);
		struct etcd_kv kv;
		char err[256] = "";
		assert_int_equal(etcd_parse_create(doc, rows[i].lease, &kv, err, sizeof(err)),
		                 rows[i].want);
		if (rows[i].holder) {
			char *t = etcd_holder_text(&kv);
			assert_string_equal(t, rows[i].holder);
			assert_string_equal(kv.key, "/gate/locks/fleet/slot-0");
			assert_true(kv.lease == LEASE_A);
			free(t);
		}
		if (rows[i].want == ETCD_TXN_ERROR)
			assert_true(*err);
		free(kv.key);
		free(kv.value);
		json_decref(doc);
	}
}

static void test_range(void **state)
{
	static const struct {
		const char *file;
		int ok;
		size_t n;
		const char *last_holder;
	} rows[] = {
		{"range-empty.json", 1, 0, NULL},
		{"range-two.json", 1, 2, "upgrade-db by ops@db2 pid 77 since 2026-11-28T20:32:00Z"},
		{"range-one.json", 1, 1, "upgrade-db by ops@db2 pid 77 since 2026-11-28T20:32:00Z"},
		{"auth-denied.json", 0, 0, NULL},
		{"keepalive.json", 0, 0, NULL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *doc = rec(rows[i].file);
		struct etcd_kv *kvs;
		size_t n = 99;
		char err[256] = "";
		assert_int_equal(etcd_parse_range(doc, &kvs, &n, err, sizeof(err)),
		                 rows[i].ok ? 0 : -1);
		assert_int_equal(n, rows[i].n);
		if (rows[i].last_holder) {
			char *t = etcd_holder_text(&kvs[n - 1]);
			assert_string_equal(t, rows[i].last_holder);
			assert_int_equal(etcd_slot_of(kvs[n - 1].key, "/gate/locks/fleet/"), 1);
			assert_true(kvs[n - 1].lease == LEASE_B);
			free(t);
		}
		etcd_kvs_free(kvs, n);
		json_decref(doc);
	}
}

static void test_keepalive(void **state)
{
	static const struct {
		const char *file;
		long long id;
		int want;
		long long ttl;
	} rows[] = {
		{"keepalive.json", LEASE_A, 0, 30},
		{"keepalive-lost.json", LEASE_A, 1, 0}, /* 200 without a TTL */
		{"keepalive.json", LEASE_B, -1, 0},     /* another lease's answer */
		{"grant-a.json", LEASE_A, -1, 0},       /* no "result" */
		{"auth-invalid-token.json", LEASE_A, -1, 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *doc = rec(rows[i].file);
		int64_t ttl = -5;
		char err[256] = "";
		assert_int_equal(etcd_parse_keepalive(doc, rows[i].id, &ttl, err, sizeof(err)),
		                 rows[i].want);
		if (rows[i].want == 0)
			assert_true(ttl == rows[i].ttl);
		else
			assert_true(*err);
		json_decref(doc);
	}
}

static void test_delete_timetolive_auth(void **state)
{
	json_t *doc = rec("delete-won.json");
	int64_t deleted = -1, ttl = 0;
	size_t nkeys = 9;
	int only = -1;
	char err[256] = "", *token = NULL;
	assert_int_equal(etcd_parse_delete(doc, &deleted, err, sizeof(err)), 0);
	assert_true(deleted == 1);
	json_decref(doc);
	doc = rec("delete-lost.json");
	assert_int_equal(etcd_parse_delete(doc, &deleted, err, sizeof(err)), 0);
	assert_true(deleted == 0);
	json_decref(doc);
	doc = rec("timetolive.json");
	assert_int_equal(etcd_parse_timetolive(doc, "/gate/locks/fleet/slot-0", &ttl, &nkeys, &only,
	                                       err, sizeof(err)),
	                 0);
	assert_true(ttl == 29 && nkeys == 1 && only == 1);
	assert_int_equal(etcd_parse_timetolive(doc, "/gate/locks/fleet/slot-1", &ttl, &nkeys, &only,
	                                       err, sizeof(err)),
	                 0);
	assert_int_equal(only, 0);
	json_decref(doc);
	doc = rec("timetolive-gone.json");
	assert_int_equal(etcd_parse_timetolive(doc, "/k", &ttl, &nkeys, &only, err, sizeof(err)),
	                 0);
	assert_true(ttl == -1 && nkeys == 0 && only == 0);
	json_decref(doc);
	doc = rec("auth-token.json");
	assert_int_equal(etcd_parse_auth(doc, &token, err, sizeof(err)), 0);
	assert_true(token && *token);
	free(token);
	json_decref(doc);
	doc = rec("auth-failed.json");
	assert_int_equal(etcd_parse_auth(doc, &token, err, sizeof(err)), -1);
	assert_null(token);
	json_decref(doc);
}

/* Answers etcd does not give: each must be an error, never a win. */
static void test_not_etcd(void **state)
{
	static const char *const creates[] = {
		"{}",
		"[]",
		"{\"header\":{},\"succeeded\":false,\"responses\":[{\"response_put\":{}}]}",
		"{\"header\":{},\"succeeded\":\"true\",\"responses\":[{\"response_put\":{}}]}",
		"{\"header\":{},\"succeeded\":true}",
		"{\"header\":{},\"succeeded\":true,\"responses\":[{\"response_range\":{}}]}",
		"{\"header\":{}}",
		"{\"header\":{},\"responses\":[{\"response_range\":{\"kvs\":[]}}]}",
		"{\"header\":{},\"responses\":[{\"response_range\":{\"kvs\":{},\"count\":\"1\"}}]}",
		"{\"header\":{},\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":\"L2s=\","
		"\"create_revision\":\"2\",\"mod_revision\":\"2\"}],\"count\":\"2\"}}]}",
		"{\"header\":{},\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":\"@@\","
		"\"create_revision\":\"2\",\"mod_revision\":\"2\"}],\"count\":\"1\"}}]}",
		"{\"header\":{},\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":\"L2s=\","
		"\"lease\":1.5e18,\"create_revision\":\"2\",\"mod_revision\":\"2\"}],"
		"\"count\":\"1\"}}]}",
	};
	for (size_t i = 0; i < sizeof(creates) / sizeof(creates[0]); i++) {
		json_t *doc = js(creates[i]);
		struct etcd_kv kv;
		char err[256] = "";
		assert_int_equal(etcd_parse_create(doc, LEASE_A, &kv, err, sizeof(err)),
		                 ETCD_TXN_ERROR);
		assert_true(*err);
		json_decref(doc);
	}
	/* The second pair's value is not base64: nothing is returned. */
	static const char *const ranges[] = {
		"{\"header\":{},\"kvs\":[{\"key\":\"L2s=\",\"create_revision\":\"2\","
		"\"mod_revision\":\"2\",\"value\":\"QQ==\"},{\"key\":\"L2w=\","
		"\"create_revision\":\"3\",\"mod_revision\":\"3\",\"value\":\"Q%==\"}],"
		"\"count\":\"2\"}",
		"{\"header\":{},\"kvs\":[],\"count\":\"1\"}",
		"{\"header\":{},\"count\":\"x\"}",
		"{\"kvs\":[]}",
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		json_t *doc = js(ranges[i]);
		struct etcd_kv *kvs = (struct etcd_kv *)1;
		size_t n = 9;
		char err[256] = "";
		assert_int_equal(etcd_parse_range(doc, &kvs, &n, err, sizeof(err)), -1);
		assert_null(kvs);
		assert_int_equal(n, 0);
		json_decref(doc);
	}
	static const char *const keepalives[] = {
		"{\"result\":{\"header\":{},\"ID\":\"2324317157589864454\",\"TTL\":\"x\"}}",
		"{\"result\":{\"header\":{},\"ID\":2.324317157589864454e18,\"TTL\":\"3\"}}",
		"{\"result\":{\"header\":{},\"TTL\":\"3\"}}",
		"{\"header\":{},\"ID\":\"2324317157589864454\",\"TTL\":\"3\"}",
	};
	for (size_t i = 0; i < sizeof(keepalives) / sizeof(keepalives[0]); i++) {
		json_t *doc = js(keepalives[i]);
		int64_t ttl;
		char err[256] = "";
		assert_int_equal(etcd_parse_keepalive(doc, LEASE_A, &ttl, err, sizeof(err)), -1);
		json_decref(doc);
	}
}

static void test_slot_of_and_holder(void **state)
{
	static const struct {
		const char *key;
		long want;
	} rows[] = {
		{"/g/x/slot-0", 0}, {"/g/x/slot-12", 12}, {"/g/x/slot-01", -1},
		{"/g/x/slot-", -1}, {"/g/x/slot-1a", -1}, {"/g/xy/slot-1", -1},
		{"/g/x/other", -1}, {"/g/x/slot--1", -1},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(etcd_slot_of(rows[i].key, "/g/x/"), rows[i].want);
	struct etcd_kv kv = {.value = "not json", .value_len = 8};
	char *t = etcd_holder_text(&kv);
	assert_string_equal(t, "an unknown holder");
	free(t);
	/* A holder's text comes from the server: made safe to print. */
	kv.value = "{\"host\":\"h\\u001b[31m\",\"pid\":1,\"runbook\":\"r\",\"since\":\"s\","
		   "\"user\":\"u\\nx\"}";
	kv.value_len = strlen(kv.value);
	t = etcd_holder_text(&kv);
	assert_null(strchr(t, '\033'));
	assert_null(strchr(t, '\n'));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),     cmocka_unit_test(test_int64),
		cmocka_unit_test(test_prefix_end), cmocka_unit_test(test_requests),
		cmocka_unit_test(test_grant),      cmocka_unit_test(test_errors),
		cmocka_unit_test(test_create),     cmocka_unit_test(test_range),
		cmocka_unit_test(test_keepalive),  cmocka_unit_test(test_delete_timetolive_auth),
		cmocka_unit_test(test_not_etcd),   cmocka_unit_test(test_slot_of_and_holder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
