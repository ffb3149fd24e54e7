/* SPDX-License-Identifier: MIT */
/* prometheus.query: any PromQL instant query, and conditions its answer
 * must meet: every series' value within min and max, the number of series
 * within min_series and max_series.  Reads Prometheus' GET /api/v1/query
 * (doc/facts.md, Prometheus 2.42):
 *   {"status": "success", "data": {"resultType": "vector", "result":
 *    [{"metric": {...}, "value": [1700000000.123, "1"]}]}}
 *   {"status": "success", "data": {"resultType": "scalar", "result":
 *    [1700000000.123, "1"]}}
 *   {"status": "error", "errorType": "bad_data", "error": "..."} (400, 422, 503)
 * Fails closed: a query error, a range vector or a string, NaN, a warning
 * (a possibly partial answer) and an empty result (unless min_series: 0 or
 * max_series: 0 allows it) are errors.  +Inf and -Inf are compared as the
 * numbers they are: +Inf is above every max, -Inf below every min. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_judge.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"
#include "kit/text.h"

#define PROMQL_MAX_BODY (16u * 1024 * 1024)
#define PROMQL_ENDPOINT "/api/v1/query"
/* Series listed in the details (the summary takes what fits). */
#define PROMQL_LISTED 20

const struct gate_param promql_params[] = {
	{"url", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "base URL of Prometheus (http://host:9090); /api/v1/query is asked"},
	{"query", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "a PromQL expression giving an instant vector or a scalar, evaluated at the server's now"},
	{"min", GATE_P_NUMBER, 0, NULL, NULL, "every series' value must be at least this"},
	{"max", GATE_P_NUMBER, 0, NULL, NULL, "every series' value must be at most this"},
	{"min_series", GATE_P_INT, 0, NULL, NULL,
         "fewer series than this fails (default 1: an empty result is an error; 0 allows it)"},
	{"max_series", GATE_P_INT, 0, NULL, NULL,
         "more series than this fails and names them (0: the query must return nothing)"},
	{"headers", GATE_P_STRING_MAP, GATE_PF_SECRET, NULL, NULL,
         "request headers (Authorization: \"Bearer ${env:TOKEN}\"); extension"},
	{"ca_file", GATE_P_STRING, 0, NULL, NULL,
         "PEM CA certificates for an https url (default: the system's); extension"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

#define INVALID(p, ...)                             \
	do {                                        \
		*param = (p);                       \
		snprintf(msg, msglen, __VA_ARGS__); \
		return -1;                          \
	} while (0)

/* min_series as given, else 0 when max_series is 0, else 1. */
static int64_t min_series_of(const json_t *params)
{
	if (gate_param_given(params, "min_series"))
		return gate_param_int(params, "min_series", 1);
	if (gate_param_given(params, "max_series") && gate_param_int(params, "max_series", 1) == 0)
		return 0;
	return 1;
}

int promql_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	const char *url = gate_param_str(params, "url");
	const char *q = gate_param_str(params, "query");
	const json_t *mn = json_object_get(params, "min"), *mx = json_object_get(params, "max");
	if (url && !http_url_scheme_ok(url))
		INVALID("url", "must start with http:// or https://");
	if (q && !q[strspn(q, " \t\r\n")])
		INVALID("query", "must not be empty");
	if (mn && !isfinite(json_number_value(mn)))
		INVALID("min", "must be a finite number");
	if (mx && !isfinite(json_number_value(mx)))
		INVALID("max", "must be a finite number");
	if (mn && mx && json_number_value(mn) > json_number_value(mx))
		INVALID("max", "must not be below min (%g)", json_number_value(mn));
	int given_max = gate_param_given(params, "max_series");
	int64_t smin = min_series_of(params), smax = gate_param_int(params, "max_series", 0);
	if (gate_param_given(params, "min_series") && smin < 0)
		INVALID("min_series", "must be 0 or more");
	if (given_max && smax < 0)
		INVALID("max_series", "must be 0 or more");
	if (given_max && smin > smax)
		INVALID("max_series", "must not be below min_series (%lld%s)", (long long)smin,
		        gate_param_given(params, "min_series") ? "" : ", the default");
	return 0;
}

/* A sample value as Prometheus writes it ("1", "0.5", "1e+06", "NaN",
 * "+Inf", "-Inf"); -1 when it is not one. */
static int sample_value(const json_t *pair, double *out, const char **text)
{
	const json_t *v = json_array_get(pair, 1);
	const char *s = json_string_value(v);
	if (!json_is_array(pair) || json_array_size(pair) != 2 ||
	    !json_is_number(json_array_get(pair, 0)) || !s || !*s)
		return -1;
	char *end;
	*out = strtod(s, &end);
	*text = s;
	return *end ? -1 : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* up{instance="db1:9100", job="node"}: the metric name, then the labels
 * by name, made safe to show; "{}" for a series without labels. */
static char *series_name(const json_t *metric)
{
	struct strbuf sb = STRBUF_INIT;
	const char *name = json_string_value(json_object_get(metric, "__name__"));
	if (name)
		text_safe_add(&sb, name, TEXT_ONE_LINE);
	size_t nk = json_object_size(metric), k = 0;
	const char **keys = xcalloc(nk + 1, sizeof(*keys));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)metric, key, v)
		if (strcmp(key, "__name__"))
			keys[k++] = key;
	qsort(keys, k, sizeof(*keys), cmp_str);
	if (k || !name)
		strbuf_adds(&sb, "{");
	for (size_t i = 0; i < k; i++) {
		const char *val = json_string_value(json_object_get(metric, keys[i]));
		strbuf_adds(&sb, i ? ", " : "");
		text_safe_add(&sb, keys[i], TEXT_ONE_LINE);
		strbuf_adds(&sb, "=\"");
		text_safe_add(&sb, val ? val : "?", TEXT_ONE_LINE);
		strbuf_adds(&sb, "\"");
	}
	if (k || !name)
		strbuf_adds(&sb, "}");
	free(keys);
	return strbuf_detach(&sb);
}

struct series {
	char *name;
	const char *text; /* the value as Prometheus wrote it */
	double value;
};

static void series_free(struct series *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].name);
	free(s);
}

/* data's result as series: a vector's samples, or a scalar as one series
 * named "scalar".  -1 with why when it is another type or not understood. */
static int read_result(const json_t *data, struct series **out, size_t *n, char *why, size_t len)
{
	const char *type = json_string_value(json_object_get(data, "resultType"));
	const json_t *result = json_object_get(data, "result");
	*out = NULL;
	*n = 0;
	if (type && !strcmp(type, "scalar")) {
		struct series one = {xstrdup("scalar"), NULL, 0};
		if (sample_value(result, &one.value, &one.text) < 0) {
			free(one.name);
			snprintf(why, len, "a scalar result that is not [time, \"value\"]");
			return -1;
		}
		*out = xmalloc(sizeof(one));
		**out = one;
		*n = 1;
		return 0;
	}
	if (!type || strcmp(type, "vector") || !json_is_array(result)) {
		if (type && !strcmp(type, "matrix"))
			snprintf(why, len,
			         "the query gives a range vector (matrix): ask for an instant "
			         "vector, "
			         "e.g. max_over_time(x[5m])");
		else if (type && !strcmp(type, "string"))
			snprintf(why, len, "the query gives a string, not a number");
		else
			snprintf(why, len, "an answer without a vector or scalar result");
		return -1;
	}
	struct series *s = xcalloc(json_array_size(result) + 1, sizeof(*s));
	size_t i;
	json_t *e;
	json_array_foreach(result, i, e) {
		const json_t *metric = json_object_get(e, "metric");
		if (!json_is_object(metric) ||
		    sample_value(json_object_get(e, "value"), &s[i].value, &s[i].text) < 0) {
			series_free(s, i);
			snprintf(why, len, "sample %zu is not {metric, value: [time, \"value\"]}",
			         i + 1);
			return -1;
		}
		s[i].name = series_name(metric);
	}
	*out = s;
	*n = i;
	return 0;
}

/* An answer that is not a success: 1 with res set. */
static int query_error(long status, const json_t *doc, const char *shown, struct gate_result *res)
{
	const char *st = json_string_value(json_object_get(doc, "status"));
	if (st && !strcmp(st, "error")) {
		const char *et = json_string_value(json_object_get(doc, "errorType"));
		const char *e = json_string_value(json_object_get(doc, "error"));
		char *se = text_safe(e ? e : "(no message)", TEXT_ONE_LINE);
		char *set = text_safe(et ? et : "?", TEXT_ONE_LINE);
		json_object_set_new(res->details, "error_type", json_string(set));
		http_result_list(res, GATE_ERROR, se, "query error (%s, status %ld)", set, status);
		free(se);
		free(set);
		return 1;
	}
	if (status != 200 || !st || strcmp(st, "success")) {
		gate_result_set(res, GATE_ERROR,
		                "%s answered status %ld%s, not {status: success, data: ...}", shown,
		                status, doc ? "" : " (not JSON)");
		return 1;
	}
	const json_t *w = json_object_get(doc, "warnings");
	if (json_array_size(w)) {
		char *sw = text_safe(json_string_value(json_array_get(w, 0)), TEXT_ONE_LINE);
		http_result_list(res, GATE_ERROR, sw,
		                 "Prometheus warned (the answer may be partial)");
		free(sw);
		return 1;
	}
	return 0;
}

/* "NAME VALUE" items of the series for which pick() holds, ", "-joined,
 * into sb; their count. */
static size_t list_series(struct strbuf *sb, const struct series *s, size_t n, const json_t *params,
                          int (*pick)(const struct series *, const json_t *), json_t *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!pick(&s[i], params))
			continue;
		if (k++)
			strbuf_adds(sb, ", ");
		strbuf_addf(sb, "%s %s", s[i].name, s[i].text);
		if (out && json_array_size(out) < PROMQL_LISTED)
			json_array_append_new(out, json_pack("{s:s,s:s}", "series", s[i].name,
			                                     "value", s[i].text));
	}
	return k;
}

static int pick_all(const struct series *s, const json_t *params)
{
	(void)s;
	(void)params;
	return 1;
}

static int pick_nan(const struct series *s, const json_t *params)
{
	(void)params;
	return isnan(s->value);
}

/* Outside min or max (NaN never gets here). */
static int pick_outside(const struct series *s, const json_t *params)
{
	const json_t *mn = json_object_get(params, "min"), *mx = json_object_get(params, "max");
	return (mn && s->value < json_number_value(mn)) || (mx && s->value > json_number_value(mx));
}

/* "min 1 and max 5", "max 5", "" */
static void bounds_text(const json_t *params, char *out, size_t len)
{
	const json_t *mn = json_object_get(params, "min"), *mx = json_object_get(params, "max");
	char a[40] = "", b[40] = "";
	if (mn)
		snprintf(a, sizeof(a), "min %g", json_number_value(mn));
	if (mx)
		snprintf(b, sizeof(b), "max %g", json_number_value(mx));
	snprintf(out, len, "%s%s%s", a, *a && *b ? " and " : "", b);
}

/* The judgement of series already read: empty, NaN, the count, the
 * bounds, in that order. */
static void judge_series(const json_t *params, const struct series *s, size_t n,
                         struct gate_result *res)
{
	int64_t smin = min_series_of(params);
	int given_max = gate_param_given(params, "max_series");
	int64_t smax = gate_param_int(params, "max_series", 0);
	char bounds[96];
	bounds_text(params, bounds, sizeof(bounds));
	struct strbuf all = STRBUF_INIT, nan = STRBUF_INIT, out = STRBUF_INIT;
	strbuf_adds(&all, "");
	strbuf_adds(&nan, "");
	strbuf_adds(&out, "");
	json_t *listed = json_array(), *outside = json_array();
	json_object_set_new(res->details, "values", listed);
	json_object_set_new(res->details, "outside", outside);
	list_series(&all, s, n, params, pick_all, listed);
	size_t nnan = list_series(&nan, s, n, params, pick_nan, NULL);
	size_t nout = nnan ? 0 : list_series(&out, s, n, params, pick_outside, outside);
	if (n == 0 && smin > 0)
		gate_result_set(res, GATE_ERROR,
		                "the query gave no series (min_series: 0 allows an empty result)");
	else if (nnan)
		http_result_list(res, GATE_ERROR, nan.buf, "%zu series %s NaN", nnan,
		                 nnan == 1 ? "is" : "are");
	else if ((int64_t)n < smin)
		http_result_list(res, GATE_FAIL, all.buf, "%zu series, fewer than min_series %lld",
		                 n, (long long)smin);
	else if (given_max && (int64_t)n > smax)
		http_result_list(res, GATE_FAIL, all.buf, "%zu series, more than max_series %lld",
		                 n, (long long)smax);
	else if (nout)
		http_result_list(res, GATE_FAIL, out.buf, "%zu of %zu series outside %s", nout, n,
		                 bounds);
	else if (n == 0)
		gate_result_set(res, GATE_PASS, "no series, as allowed (min_series 0)");
	else
		http_result_list(res, GATE_PASS, all.buf, "%zu series%s%s", n,
		                 *bounds ? " within " : "", bounds);
	strbuf_release(&all);
	strbuf_release(&nan);
	strbuf_release(&out);
}

void promql_judge(const json_t *params, long status, const json_t *doc, const char *shown,
                  struct gate_result *res)
{
	if (query_error(status, doc, shown, res))
		return;
	const json_t *data = json_object_get(doc, "data");
	const char *type = json_string_value(json_object_get(data, "resultType"));
	json_object_set_new(res->details, "result_type", json_string(type ? type : "?"));
	struct series *s;
	size_t n;
	char why[200];
	if (read_result(data, &s, &n, why, sizeof(why)) < 0) {
		gate_result_set(res, GATE_ERROR, "%s", why);
		return;
	}
	json_object_set_new(res->details, "series", json_integer((json_int_t)n));
	judge_series(params, s, n, res);
	series_free(s, n);
}

void promql_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	const char *url = gate_param_str(params, "url");
	const char *query = gate_param_str(params, "query");
	if (!url || !query) {
		gate_result_set(res, GATE_ERROR, "url and query are required");
		return;
	}
	char *endpoint = http_endpoint(url, PROMQL_ENDPOINT);
	char *shown = url_redact_password(endpoint);
	json_object_set_new(res->details, "url", json_string(shown));
	json_object_set_new(res->details, "query", json_string(query));

	int64_t deadline = http_attempt_deadline(env);
	struct strbuf full = STRBUF_INIT;
	char timeout[32];
	/* Prometheus gives up on the query by the time gate would. */
	snprintf(timeout, sizeof(timeout), "%lldms", (long long)(deadline - gate_mono_ms()));
	strbuf_adds(&full, endpoint);
	http_query_add(&full, "query", query);
	if (deadline - gate_mono_ms() > 0)
		http_query_add(&full, "timeout", timeout);
	const json_t *headers = json_object_get(params, "headers");
	struct http_request rq = {
		.url = full.buf,
		.headers = json_is_object(headers) ? headers : NULL,
		.tls_verify = 1,
		.ca_file = gate_param_str(params, "ca_file"),
		.max_body = PROMQL_MAX_BODY,
		.deadline_ms = deadline,
	};
	long status;
	json_t *doc = NULL;
	char err[384];
	if (http_get_answer(&rq, 0, &status, &doc, err, sizeof(err)) < 0)
		gate_result_set(res, GATE_ERROR, "%s", err);
	else
		promql_judge(params, status, doc, shown, res);
	json_decref(doc);
	strbuf_release(&full);
	free(shown);
	free(endpoint);
}
