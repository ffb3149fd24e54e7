/* SPDX-License-Identifier: MIT */
/* prometheus.alerts: a gate must not start maintenance while a matching
 * alert fires (as kured will not reboot a node then).  Reads Prometheus'
 * GET /api/v1/alerts:
 *   {"status":"success","data":{"alerts":[{"labels":{...},"state":"firing",
 *    "activeAt":"...","value":"1e+00"}]}}
 * Inactive rules are absent from that list; pending ones have state
 * "pending".  Anything else in the answer is an error, never "no alerts". */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_judge.h"
#include "kit/alloc.h"

#define PROM_MAX_BODY (16u * 1024 * 1024)

const struct gate_param prom_alerts_params[] = {
	{"url", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "base URL of Prometheus (or an API serving /api/v1/alerts the same way)"},
	{"match", GATE_P_STRING_MAP, 0, NULL, NULL,
         "label name -> regular expression (POSIX ERE, anchored); only alerts "
         "matching all of them count; a missing label is the empty string"},
	{"state", GATE_P_ENUM, 0, "firing", "firing|any", "firing, or any (firing and pending)"},
	{"max", GATE_P_INT, 0, "0", NULL, "more matching alerts than this fails; they are named"},
	{"headers", GATE_P_STRING_MAP, GATE_PF_SECRET, NULL, NULL,
         "request headers (Authorization: \"Bearer ${env:TOKEN}\"); extension"},
	{"ca_file", GATE_P_STRING, 0, NULL, NULL,
         "PEM CA certificates for an https url (default: the system's); extension"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

/* Compile `match` into anchored matchers (PromQL's =~ is anchored too;
 * what RE2 reads differently from POSIX ERE is refused: http_regex.c).
 * -1 with msg on a bad expression. */
int prom_compile_match(const json_t *match, struct prom_matcher **out, size_t *n, char *msg,
                       size_t msglen)
{
	*out = NULL;
	*n = 0;
	if (!match)
		return 0;
	if (!json_is_object(match)) {
		snprintf(msg, msglen, "must be a mapping of label name to regular expression");
		return -1;
	}
	struct prom_matcher *m = xcalloc(json_object_size(match) + 1, sizeof(*m));
	const char *label;
	json_t *v;
	json_object_foreach((json_t *)match, label, v) {
		const char *pat = json_string_value(v);
		if (!pat) {
			snprintf(msg, msglen, "%s: the regular expression must be a string", label);
			goto bad;
		}
		char why[384];
		if (http_regex_compile(pat, &m[*n].re, why, sizeof(why)) < 0) {
			snprintf(msg, msglen, "%s: %s", label, why);
			goto bad;
		}
		m[*n].label = label;
		(*n)++;
	}
	*out = m;
	return 0;
bad:
	for (size_t i = 0; i < *n; i++)
		regfree(&m[i].re);
	free(m);
	*n = 0;
	return -1;
}

void prom_free_match(struct prom_matcher *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		regfree(&m[i].re);
	free(m);
}

int prom_alerts_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	const char *url = gate_param_str(params, "url");
	if (url && !http_url_scheme_ok(url)) {
		*param = "url";
		snprintf(msg, msglen, "must start with http:// or https://");
		return -1;
	}
	if (gate_param_int(params, "max", 0) < 0) {
		*param = "max";
		snprintf(msg, msglen, "must be 0 or more");
		return -1;
	}
	struct prom_matcher *m;
	size_t n;
	if (prom_compile_match(json_object_get(params, "match"), &m, &n, msg, msglen) < 0) {
		*param = "match";
		return -1;
	}
	prom_free_match(m, n);
	return 0;
}

static int alert_matches(const json_t *labels, const struct prom_matcher *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = json_string_value(json_object_get(labels, m[i].label));
		if (regexec(&m[i].re, v ? v : "", 0, NULL, 0) != 0)
			return 0;
	}
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "PostgresReplicationLag{instance=db2:9187,severity=critical}" */
static void alert_name(const json_t *labels, char *out, size_t len)
{
	const char *name = json_string_value(json_object_get(labels, "alertname"));
	size_t nk = json_object_size(labels), k = 0;
	const char **keys = xcalloc(nk + 1, sizeof(*keys));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)labels, key, v)
		if (strcmp(key, "alertname"))
			keys[k++] = key;
	qsort(keys, k, sizeof(*keys), cmp_str);
	out[0] = '\0';
	http_buf_append(out, len, name ? name : "(no alertname)");
	for (size_t i = 0; i < k; i++) {
		const char *val = json_string_value(json_object_get(labels, keys[i]));
		http_buf_append(out, len, i ? "," : "{");
		http_buf_append(out, len, keys[i]);
		http_buf_append(out, len, "=");
		http_buf_append(out, len, val ? val : "?");
	}
	if (k)
		http_buf_append(out, len, "}");
	free(keys);
}

void prom_alerts_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	const char *url = gate_param_str(params, "url");
	const char *state = gate_param_str(params, "state");
	int any = state && !strcmp(state, "any");
	int64_t max = gate_param_int(params, "max", 0);
	if (!url) {
		gate_result_set(res, GATE_ERROR, "url is required");
		return;
	}
	struct prom_matcher *m = NULL;
	size_t nm = 0;
	char err[384];
	if (prom_compile_match(json_object_get(params, "match"), &m, &nm, err, sizeof(err)) < 0) {
		gate_result_set(res, GATE_ERROR, "match: %s", err);
		return;
	}
	char *full = http_endpoint(url, "/api/v1/alerts");
	char *shown = url_redact_password(full);
	json_object_set_new(res->details, "url", json_string(shown));

	json_t *doc = NULL;
	const json_t *headers = json_object_get(params, "headers");
	struct http_request rq = {
		.url = full,
		.headers = json_is_object(headers) ? headers : NULL,
		.tls_verify = 1,
		.ca_file = gate_param_str(params, "ca_file"),
		.max_body = PROM_MAX_BODY,
		.deadline_ms = http_attempt_deadline(env),
	};
	if (http_get_json(&rq, &doc, err, sizeof(err)) < 0) {
		gate_result_set(res, GATE_ERROR, "%s", err);
		goto out;
	}
	prom_alerts_judge(doc, m, nm, any, max, shown, res);
out:
	json_decref(doc);
	free(shown);
	free(full);
	prom_free_match(m, nm);
}

void prom_alerts_judge(const json_t *doc, const struct prom_matcher *m, size_t nm, int any,
                       int64_t max, const char *shown, struct gate_result *res)
{
	const char *status = json_string_value(json_object_get(doc, "status"));
	json_t *alerts = json_object_get(json_object_get(doc, "data"), "alerts");
	if (!status || strcmp(status, "success") || !json_is_array(alerts)) {
		const char *e = json_string_value(json_object_get(doc, "error"));
		gate_result_set(res, GATE_ERROR,
		                "%s did not answer {status: success, data: {alerts: [...]}}%s%s",
		                shown, e ? ": " : "", e ? e : "");
		return;
	}

	json_t *listed = json_array();
	json_object_set_new(res->details, "alerts", listed);
	char names[GATE_SUMMARY_MAX] = "";
	size_t i, counted = 0, ignored = 0;
	json_t *a;
	json_array_foreach(alerts, i, a) {
		const json_t *labels = json_object_get(a, "labels");
		const char *st = json_string_value(json_object_get(a, "state"));
		if (!json_is_object(labels) || !st) {
			gate_result_set(res, GATE_ERROR,
			                "alert %zu from %s has no labels or no state", i + 1,
			                shown);
			return;
		}
		if (!any && strcmp(st, "firing"))
			continue;
		if (!alert_matches(labels, m, nm)) {
			ignored++;
			continue;
		}
		char one[256];
		alert_name(labels, one, sizeof(one));
		if (counted++)
			http_buf_append(names, sizeof(names), ", ");
		http_buf_append(names, sizeof(names), one);
		json_array_append_new(listed,
		                      json_pack("{s:s,s:s,s:O?,s:O}", "name", one, "state", st,
		                                "activeAt", json_object_get(a, "activeAt"),
		                                "labels", labels));
	}
	json_object_set_new(res->details, "total",
	                    json_integer((json_int_t)json_array_size(alerts)));
	json_object_set_new(res->details, "matching", json_integer((json_int_t)counted));
	json_object_set_new(res->details, "ignored_by_match", json_integer((json_int_t)ignored));
	json_object_set_new(res->details, "max", json_integer(max));

	const char *what = any ? "firing or pending" : "firing";
	char ign[64] = "";
	if (ignored)
		snprintf(ign, sizeof(ign), " (%zu other%s ignored by match)", ignored,
		         ignored == 1 ? "" : "s");
	if ((int64_t)counted > max) {
		char head[96];
		if (max)
			snprintf(head, sizeof(head), "%zu %s (max %lld): ", counted, what,
			         (long long)max);
		else
			snprintf(head, sizeof(head), "%zu %s: ", counted, what);
		res->summary[0] = '\0';
		http_buf_append(res->summary, sizeof(res->summary), head);
		http_buf_append(res->summary, sizeof(res->summary), names);
		http_buf_append(res->summary, sizeof(res->summary), ign);
		res->status = GATE_FAIL;
	} else if (counted) {
		gate_result_set(res, GATE_PASS, "%zu %s, within max %lld: %s%s", counted, what,
		                (long long)max, names, ign);
	} else {
		gate_result_set(res, GATE_PASS, "no %s alert%s%s", what, nm ? " matches" : "", ign);
	}
}
