/* SPDX-License-Identifier: MIT */
/* The http check family (libcurl): `http` here, `prometheus.alerts` in
 * http_prom.c, `alertmanager.alerts` in http_alertmanager.c,
 * `prometheus.query` in http_promql.c, `patroni.cluster` in
 * http_patroni.c, the bounded exchange in http_fetch.c, regular
 * expressions written for RE2 in http_regex.c.
 *
 * `http` judges one request: the status must be one of expect_status, the
 * body must match expect_body (POSIX ERE) and every expect_json assertion
 * must hold.  Anything that keeps it from getting a whole answer (refused,
 * never accepted, accepted and silent, too slow, too big, TLS) is an error,
 * so it blocks.  Header values may be secrets: they go to the server and
 * nowhere else. */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "http_judge.h"

const struct gate_param http_check_params[] = {
	{"url", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "http:// or https:// URL; a password in its userinfo is shown as ***"},
	{"method", GATE_P_ENUM, 0, "GET", "GET|HEAD|POST", "request method"},
	{"headers", GATE_P_STRING_MAP, GATE_PF_SECRET, NULL, NULL,
         "request headers; values may be ${env:NAME}"},
	{"body", GATE_P_STRING, 0, NULL, NULL, "request body (POST only)"},
	{"expect_status", GATE_P_INT_LIST, 0, "[200]", NULL, "accepted response statuses"},
	{"expect_json", GATE_P_JSON, 0, NULL, NULL,
         "list of {pointer: /a/b, equals: VALUE | matches: ERE | max: N | min: N} "
         "(RFC 6901 pointers; numbers equal by value, 1 == 1.0; max/min also take a "
         "numeric string such as Prometheus' \"1e+00\"); the body must be JSON and "
         "every assertion hold"},
	{"expect_body", GATE_P_STRING, 0, NULL, NULL,
         "POSIX extended regular expression the body must match"},
	{"tls_verify", GATE_P_BOOL, 0, "true", NULL,
         "verify the server's certificate and host name"},
	{"ca_file", GATE_P_STRING, 0, NULL, NULL,
         "PEM file of CA certificates to verify against (default: the system's)"},
	{"max_body", GATE_P_SIZE, 0, "1MiB", NULL,
         "a larger response body is an error (enforced while receiving)"},
	{"follow_redirects", GATE_P_BOOL, 0, "false", NULL,
         "follow 3xx redirects (up to 10, http/https only; headers go only to "
         "the url's own scheme, host and port); extension"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

/* ---- expect_json ---- */

static const char *const assertion_keys[] = {"equals", "matches", "max", "min"};

/* A number, or a string that is wholly a number ("1e+00", as Prometheus
 * writes sample values). */
static int as_number(const json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s || !*s)
		return -1;
	char *end;
	double d = strtod(s, &end);
	if (*end || isnan(d))
		return -1;
	*out = d;
	return 0;
}

/* equals: JSON equality, except that numbers compare by value (1 == 1.0). */
static int values_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_equal((json_t *)a, (json_t *)b);
}

/* The value as short JSON text for messages. */
static void show_value(const json_t *v, char *out, size_t len)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	out[0] = '\0';
	http_buf_append(out, len, s ? s : "?");
	free(s);
}

static int validate_expect_json(const json_t *ej, char *msg, size_t msglen)
{
	if (!json_is_array(ej)) {
		snprintf(msg, msglen, "must be a list of {pointer, equals|matches|max|min}");
		return -1;
	}
	size_t i;
	json_t *item;
	json_array_foreach(ej, i, item) {
		if (!json_is_object(item)) {
			snprintf(msg, msglen, "item %zu: must be a mapping", i + 1);
			return -1;
		}
		const char *ptr = json_string_value(json_object_get(item, "pointer"));
		if (!ptr) {
			snprintf(msg, msglen, "item %zu: pointer (a string) is required", i + 1);
			return -1;
		}
		int bad = 0;
		json_t *probe = json_object();
		http_json_pointer(probe, ptr, &bad);
		json_decref(probe);
		if (bad) {
			snprintf(msg, msglen,
			         "item %zu: pointer '%s' is not a JSON pointer (\"\" or /a/b, ~0 "
			         "~1 escapes)",
			         i + 1, ptr);
			return -1;
		}
		const char *key;
		json_t *v;
		int tests = 0;
		json_object_foreach(item, key, v) {
			if (!strcmp(key, "pointer"))
				continue;
			size_t k;
			for (k = 0; k < 4 && strcmp(key, assertion_keys[k]); k++)
				;
			if (k == 4) {
				snprintf(msg, msglen,
				         "item %zu: unknown key '%s' (pointer, equals, matches, "
				         "max, min)",
				         i + 1, key);
				return -1;
			}
			tests++;
			if ((k == 2 || k == 3) && !json_is_number(v)) {
				snprintf(msg, msglen, "item %zu: %s must be a number", i + 1, key);
				return -1;
			}
			if (k == 1) {
				regex_t re;
				const char *pat = json_string_value(v);
				if (!pat) {
					snprintf(msg, msglen, "item %zu: matches must be a string",
					         i + 1);
					return -1;
				}
				int rc = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB);
				if (rc) {
					char e[128];
					regerror(rc, &re, e, sizeof(e));
					snprintf(msg, msglen, "item %zu: matches: %s", i + 1, e);
					return -1;
				}
				regfree(&re);
			}
		}
		if (!tests) {
			snprintf(msg, msglen, "item %zu: needs equals, matches, max or min", i + 1);
			return -1;
		}
	}
	return 0;
}

/* Evaluate one assertion; on failure write why into why. */
int http_assertion_holds(json_t *doc, const json_t *item, char *why, size_t len)
{
	const char *ptr = json_string_value(json_object_get(item, "pointer"));
	int bad = 0;
	json_t *v = http_json_pointer(doc, ptr ? ptr : "", &bad);
	char shown[96];
	if (bad || !ptr) {
		snprintf(why, len, "'%s' is not a JSON pointer", ptr ? ptr : "");
		return 0;
	}
	if (!v) {
		snprintf(why, len, "%s is absent", *ptr ? ptr : "(root)");
		return 0;
	}
	show_value(v, shown, sizeof(shown));
	const json_t *want;
	if ((want = json_object_get(item, "equals")) && !values_equal(v, want)) {
		char w[96];
		show_value(want, w, sizeof(w));
		snprintf(why, len, "%s is %s, expected %s", ptr, shown, w);
		return 0;
	}
	if ((want = json_object_get(item, "matches"))) {
		const char *pat = json_string_value(want);
		const char *s = json_string_value(v);
		regex_t re;
		if (!pat || regcomp(&re, pat, REG_EXTENDED | REG_NOSUB)) {
			snprintf(why, len, "%s: matches is not a valid regular expression", ptr);
			return 0;
		}
		int ok = s && regexec(&re, s, 0, NULL, 0) == 0;
		regfree(&re);
		if (!ok) {
			snprintf(why, len,
			         s ? "%s is %s, does not match /%s/"
			           : "%s is %s, not a string to match /%s/",
			         ptr, shown, pat);
			return 0;
		}
	}
	double num = 0;
	const json_t *mx = json_object_get(item, "max"), *mn = json_object_get(item, "min");
	if ((mx || mn) && as_number(v, &num) < 0) {
		snprintf(why, len, "%s is %s, not a number", ptr, shown);
		return 0;
	}
	if (mx && !(num <= json_number_value(mx))) {
		snprintf(why, len, "%s is %s, above max %g", ptr, shown, json_number_value(mx));
		return 0;
	}
	if (mn && !(num >= json_number_value(mn))) {
		snprintf(why, len, "%s is %s, below min %g", ptr, shown, json_number_value(mn));
		return 0;
	}
	return 1;
}

/* ---- validate ---- */

#define INVALID(p, ...)                             \
	do {                                        \
		*param = (p);                       \
		snprintf(msg, msglen, __VA_ARGS__); \
		return -1;                          \
	} while (0)

int http_check_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	const char *url = gate_param_str(params, "url");
	const char *method = gate_param_str(params, "method");
	if (!method)
		method = "GET";
	if (url && !http_url_scheme_ok(url))
		INVALID("url", "must start with http:// or https://");
	if (gate_param_given(params, "body") && strcmp(method, "POST"))
		INVALID("body", "a request body needs method: POST");
	if (!strcmp(method, "HEAD")) {
		if (gate_param_given(params, "expect_body"))
			INVALID("expect_body", "a HEAD response has no body to match");
		if (gate_param_given(params, "expect_json"))
			INVALID("expect_json", "a HEAD response has no body to judge");
	}
	const json_t *st = json_object_get(params, "expect_status");
	if (st) {
		size_t i;
		json_t *v;
		if (!json_is_array(st) || !json_array_size(st))
			INVALID("expect_status", "must be a non-empty list of statuses");
		json_array_foreach(st, i, v) {
			json_int_t s = json_integer_value(v);
			if (!json_is_integer(v) || s < 100 || s > 599)
				INVALID("expect_status", "item %zu is not an HTTP status (100-599)",
				        i + 1);
		}
	}
	if (gate_param_int(params, "max_body", 1) < 1)
		INVALID("max_body", "must be at least 1 byte");
	const char *eb = gate_param_str(params, "expect_body");
	if (eb) {
		regex_t re;
		int rc = regcomp(&re, eb, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char e[128];
			regerror(rc, &re, e, sizeof(e));
			INVALID("expect_body", "not a POSIX extended regular expression: %s", e);
		}
		regfree(&re);
	}
	const json_t *ej = json_object_get(params, "expect_json");
	if (ej && validate_expect_json(ej, msg, msglen) < 0) {
		*param = "expect_json";
		return -1;
	}
	return 0;
}

/* ---- run ---- */

static int status_expected(const json_t *list, long status)
{
	size_t i;
	json_t *v;
	if (!json_is_array(list))
		return status == 200;
	json_array_foreach(list, i, v)
		if (json_integer_value(v) == status)
			return 1;
	return 0;
}

static void expected_statuses(const json_t *list, char *out, size_t len)
{
	size_t i;
	json_t *v;
	out[0] = '\0';
	if (!json_is_array(list)) {
		snprintf(out, len, "200");
		return;
	}
	json_array_foreach(list, i, v) {
		char n[24];
		snprintf(n, sizeof(n), "%s%lld", i ? ", " : "", (long long)json_integer_value(v));
		http_buf_append(out, len, n);
	}
}

/* The header names, for details: the values are secret. */
static json_t *header_names(const json_t *headers)
{
	json_t *names = json_array();
	const char *name;
	json_t *v;
	json_object_foreach((json_t *)headers, name, v)
		json_array_append_new(names, json_string(name));
	return names;
}

/* expect_body; 1 when it holds, 0 (res set) when not. */
int http_judge_body(const char *re_text, const struct http_response *rs, struct gate_result *res)
{
	regex_t re;
	int rc = regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		gate_result_set(res, GATE_ERROR, "expect_body is not a valid regular expression");
		return 0;
	}
	/* regexec stops at a NUL byte: a binary body is matched up to its first. */
	int ok = regexec(&re, rs->body, 0, NULL, 0) == 0;
	regfree(&re);
	json_object_set_new(res->details, "body_matches", json_boolean(ok));
	if (!ok) {
		char shown[200] = "";
		http_buf_append(shown, sizeof(shown), re_text);
		gate_result_set(res, GATE_FAIL, "status %ld, but the body does not match /%s/",
		                rs->status, shown);
	}
	return ok;
}

/* expect_json; 1 when every assertion holds, 0 (res set) when not. */
int http_judge_json(const json_t *ej, const struct http_response *rs, struct gate_result *res)
{
	json_error_t je;
	json_t *doc = json_loadb(rs->body, rs->body_len, JSON_DECODE_ANY, &je);
	if (!doc) {
		gate_result_set(res, GATE_ERROR,
		                "status %ld, but the body is not JSON: %s at line %d", rs->status,
		                je.text, je.line);
		return 0;
	}
	json_t *results = json_array();
	char failures[GATE_SUMMARY_MAX] = "";
	size_t i, nfail = 0;
	json_t *item;
	json_array_foreach(ej, i, item) {
		char why[200] = "";
		int ok = http_assertion_holds(doc, item, why, sizeof(why));
		const char *ptr = json_string_value(json_object_get(item, "pointer"));
		json_t *r = json_pack("{s:s,s:b}", "pointer", ptr ? ptr : "", "ok", ok);
		if (!ok) {
			json_object_set_new(r, "why", json_string(why));
			if (nfail++)
				http_buf_append(failures, sizeof(failures), "; ");
			http_buf_append(failures, sizeof(failures), why);
		}
		json_array_append_new(results, r);
	}
	json_object_set_new(res->details, "expect_json", results);
	json_decref(doc);
	if (nfail)
		gate_result_set(res, GATE_FAIL, "%zu of %zu JSON assertions failed: %s", nfail,
		                json_array_size(ej), failures);
	return nfail == 0;
}

/* Status, body and JSON assertions against params; a failed exchange is
 * an error. */
void http_check_judge(const json_t *params, const struct http_response *rs, struct gate_result *res)
{
	const json_t *ej = json_object_get(params, "expect_json");
	const char *eb = gate_param_str(params, "expect_body");
	if (rs->failure != HTTP_OK) {
		gate_result_set(res, GATE_ERROR, "%s", rs->err);
		return;
	}
	json_object_set_new(res->details, "status", json_integer(rs->status));
	json_object_set_new(res->details, "duration_ms", json_real(round(rs->total_ms * 10) / 10));
	json_object_set_new(res->details, "body_bytes", json_integer((json_int_t)rs->body_len));

	const json_t *statuses = json_object_get(params, "expect_status");
	if (!status_expected(statuses, rs->status)) {
		char want[160];
		expected_statuses(statuses, want, sizeof(want));
		if (rs->location) {
			/* A redirect we did not follow: say where it pointed. */
			char *loc = url_redact_password(rs->location);
			json_object_set_new(res->details, "location", json_string(loc));
			gate_result_set(res, GATE_FAIL,
			                "status %ld (redirect to %s, not followed), expected %s",
			                rs->status, loc, want);
			free(loc);
		} else {
			gate_result_set(res, GATE_FAIL, "status %ld, expected %s", rs->status,
			                want);
		}
		return;
	}
	if (eb && !http_judge_body(eb, rs, res))
		return;
	if (json_is_array(ej) && !http_judge_json(ej, rs, res))
		return;
	if (ej && !json_is_array(ej)) {
		gate_result_set(res, GATE_ERROR, "expect_json must be a list");
		return;
	}
	gate_result_set(res, GATE_PASS, "status %ld in %.0f ms%s%s", rs->status, rs->total_ms,
	                eb ? ", body matches" : "", ej ? ", JSON assertions hold" : "");
}

/* Fetch (http_fetch), then judge (http_check_judge). */
void http_check_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	const char *url = gate_param_str(params, "url");
	const json_t *headers = json_object_get(params, "headers");
	int64_t max_body = gate_param_int(params, "max_body", 1048576);
	struct http_request rq = {
		.url = url,
		.method = gate_param_str(params, "method"),
		.headers = json_is_object(headers) ? headers : NULL,
		.body = gate_param_str(params, "body"),
		.tls_verify = gate_param_bool(params, "tls_verify", 1),
		.ca_file = gate_param_str(params, "ca_file"),
		.max_body = max_body > 0 ? (size_t)max_body : 1,
		.follow_redirects = gate_param_bool(params, "follow_redirects", 0),
		.deadline_ms = http_attempt_deadline(env),
	};
	if (!rq.method)
		rq.method = "GET";
	if (!url) {
		gate_result_set(res, GATE_ERROR, "url is required");
		return;
	}
	char *shown = url_redact_password(url);
	json_object_set_new(res->details, "url", json_string(shown));
	json_object_set_new(res->details, "method", json_string(rq.method));
	if (rq.headers)
		json_object_set_new(res->details, "header_names", header_names(rq.headers));
	free(shown);

	struct http_response rs;
	if (http_fetch(&rq, &rs) < 0 && rs.failure == HTTP_OK)
		rs.failure = HTTP_F_OTHER; /* never judged as an answer */
	http_check_judge(params, &rs, res);
	http_response_release(&rs);
}

/* ---- the module ---- */

static const struct gate_check_type http_types[] = {
	{"http", "an HTTP(S) endpoint answers as expected",
         "One request with libcurl, bounded by the check's timeout (connect at most 5 s). "
         "The status must be in expect_status, the body must match expect_body and "
         "every expect_json assertion must hold.  Refused, not accepted, silent, slow, "
         "oversized (max_body) or unverifiable TLS answers are errors.  Redirects are "
         "not followed unless follow_redirects is true; header values are never shown.",
         http_check_params, http_check_validate, http_check_run},
	{"prometheus.alerts", "no matching Prometheus alert is firing",
         "Reads /api/v1/alerts under url.  Alerts whose labels all match `match` "
         "(label name -> ERE, anchored like PromQL's =~; a missing label is \"\") "
         "and whose state is firing (or, with state: any, also pending) are counted; "
         "more than max fails and names them.",
         prom_alerts_params, prom_alerts_validate, prom_alerts_run},
	{"alertmanager.alerts", "no matching alert is active in Alertmanager unsilenced",
         "Reads /api/v2/alerts under url, asking for active alerts that are neither "
         "silenced nor inhibited and match `matchers` (Alertmanager's syntax), and judges "
         "the answer again itself: an alert counts unless Alertmanager says it is "
         "suppressed by a silence or an inhibition.  More than max fails and names them.",
         am_alerts_params, am_alerts_validate, am_alerts_run},
	{"prometheus.query", "a PromQL query's answer meets min, max and the series count",
         "Asks /api/v1/query under url (an instant query at the server's now).  Every "
         "series' value must be within min and max and the number of series within "
         "min_series (default 1) and max_series.  A query error, a range vector or "
         "string, NaN, a warning and an empty result (unless min_series: 0 or "
         "max_series: 0) are errors.",
         promql_params, promql_validate, promql_run},
	{"patroni.cluster", "Patroni says enough replicas stream on the leader's timeline",
         "Reads /cluster under url.  Counts members with role replica, sync_standby or "
         "quorum_standby on the leader's timeline whose lag (replay_lag or lag, bytes) "
         "is at most max_lag_bytes (\"unknown\" fails) and that stream: state streaming "
         "(Patroni 3.0.4+), or state running and listed as streaming in the leader's "
         "own /patroni replication[] (Patroni before 3.0.4).",
         patroni_cluster_params, patroni_cluster_validate, patroni_cluster_run},
};

GATE_FAMILY_MODULE(http) = {
	.abi_version = GATE_ABI_VERSION,
	.name = "http",
	.version = "1.0.0",
	.types = http_types,
	.ntypes = sizeof(http_types) / sizeof(http_types[0]),
};
