/* SPDX-License-Identifier: MIT */
/* alertmanager.alerts: a gate must not start maintenance while an alert
 * that matters is active in Alertmanager and nobody silenced it, and an
 * alert that a silence or an inhibition covers must not block.  Reads
 * Alertmanager's GET /api/v2/alerts (doc/facts.md, Alertmanager 0.25):
 *   [{"labels": {...}, "status": {"state": "active", "silencedBy": [],
 *     "inhibitedBy": []}, "startsAt": "...", "fingerprint": "..."}]
 * asking the server to leave out silenced and inhibited alerts and to
 * apply the matchers (filter=), and judging the answer again here: a
 * server (or a proxy) that ignored a parameter must not make the check
 * pass.  Not counted is only what the server says is suppressed and by
 * what (a silence or an inhibiting alert); anything else that matches
 * counts, "unprocessed" alerts too.  An answer not understood is an error. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_judge.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"
#include "kit/text.h"
#include "lib/am_matchers.h"

#define AM_MAX_BODY (16u * 1024 * 1024)
#define AM_ENDPOINT "/api/v2/alerts"
/* Labels shown after the alertname in a summary, these first. */
#define AM_SHOWN_LABELS 4
static const char *const am_label_order[] = {"severity", "instance", "job", "service", NULL};

const struct gate_param am_alerts_params[] = {
	{"url", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "base URL of Alertmanager (http://host:9093); /api/v2/alerts is read"},
	{"matchers", GATE_P_STRING_LIST, 0, NULL, NULL,
         "only alerts matching all of these count, in Alertmanager's syntax: "
         "'severity=~\"critical|page\"', 'alertname!=\"Watchdog\"' (=, !=, =~, !~; regexes "
         "anchored, RE2 features without a POSIX ERE equivalent refused)"},
	{"max", GATE_P_INT, 0, "0", NULL,
         "more active, unsilenced, uninhibited matching alerts than this fails; they are named"},
	{"headers", GATE_P_STRING_MAP, GATE_PF_SECRET, NULL, NULL,
         "request headers (Authorization: \"Bearer ${env:TOKEN}\"); extension"},
	{"ca_file", GATE_P_STRING, 0, NULL, NULL,
         "PEM CA certificates for an https url (default: the system's); extension"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

void am_match_release(struct am_match_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->m[i].is_regex)
			regfree(&set->m[i].re);
	free(set->m);
	json_decref(set->parsed);
	memset(set, 0, sizeof(*set));
}

int am_match_compile(const json_t *texts, struct am_match_set *set, char *msg, size_t msglen)
{
	memset(set, 0, sizeof(*set));
	if (!texts || (json_is_array(texts) && !json_array_size(texts)))
		return 0;
	set->parsed = am_matchers_parse(texts, msg, msglen);
	if (!set->parsed)
		return -1;
	size_t n = json_array_size(set->parsed);
	set->m = xcalloc(n + 1, sizeof(*set->m));
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(set->parsed, i);
		struct am_match *m = &set->m[i];
		m->name = json_string_value(json_object_get(p, "name"));
		m->value = json_string_value(json_object_get(p, "value"));
		m->is_regex = json_is_true(json_object_get(p, "isRegex"));
		m->is_equal = json_is_true(json_object_get(p, "isEqual"));
		if (m->is_regex) {
			char why[384];
			if (http_regex_compile(m->value, &m->re, why, sizeof(why)) < 0) {
				m->is_regex = 0; /* nothing to free */
				set->n = i;
				snprintf(msg, msglen, "item %zu: '%s': %s", i + 1,
				         json_string_value(json_array_get(texts, i)), why);
				return -1;
			}
		}
		set->n = i + 1;
	}
	return 0;
}

int am_labels_match(const json_t *labels, const struct am_match_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct am_match *m = &set->m[i];
		const char *v = json_string_value(json_object_get(labels, m->name));
		if (!v)
			v = "";
		int hit = m->is_regex ? regexec(&m->re, v, 0, NULL, 0) == 0 : !strcmp(v, m->value);
		if (hit != m->is_equal)
			return 0;
	}
	return 1;
}

int am_alerts_validate(const json_t *params, const char **param, char *msg, size_t msglen)
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
	struct am_match_set set;
	int rc = am_match_compile(json_object_get(params, "matchers"), &set, msg, msglen);
	am_match_release(&set);
	if (rc < 0) {
		*param = "matchers";
		return -1;
	}
	return 0;
}

static void add_label(struct strbuf *sb, int *shown, const char *key, const json_t *labels)
{
	const char *v = json_string_value(json_object_get(labels, key));
	strbuf_adds(sb, *shown ? ", " : "{");
	text_safe_add(sb, key, TEXT_ONE_LINE);
	strbuf_adds(sb, "=");
	text_safe_add(sb, v ? v : "?", TEXT_ONE_LINE);
	(*shown)++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "PostgresDown{severity=critical, instance=db2:9187, team=db, +2}": the
 * alertname and a few labels (severity, instance, job, service first, the
 * rest by name), made safe to show. */
static char *alert_name(const json_t *labels)
{
	struct strbuf sb = STRBUF_INIT;
	const char *name = json_string_value(json_object_get(labels, "alertname"));
	text_safe_add(&sb, name ? name : "(no alertname)", TEXT_ONE_LINE);
	size_t nk = json_object_size(labels), k = 0;
	const char **rest = xcalloc(nk + 1, sizeof(*rest));
	const char *key;
	json_t *v;
	int shown = 0;
	for (size_t i = 0; am_label_order[i]; i++)
		if (json_object_get(labels, am_label_order[i]))
			add_label(&sb, &shown, am_label_order[i], labels);
	json_object_foreach((json_t *)labels, key, v) {
		int listed = !strcmp(key, "alertname");
		for (size_t i = 0; am_label_order[i] && !listed; i++)
			listed = !strcmp(key, am_label_order[i]);
		if (!listed)
			rest[k++] = key;
	}
	qsort(rest, k, sizeof(*rest), cmp_str);
	size_t i = 0;
	for (; i < k && shown < AM_SHOWN_LABELS; i++)
		add_label(&sb, &shown, rest[i], labels);
	if (i < k)
		strbuf_addf(&sb, ", +%zu", k - i);
	if (shown)
		strbuf_adds(&sb, "}");
	free(rest);
	return strbuf_detach(&sb);
}

/* Is the alert suppressed, by what the server says?  1 when its state is
 * "suppressed" and it names a silence or an inhibiting alert, 0 when it
 * counts, -1 with why when the status is not understood. */
static int am_suppressed(const json_t *status, char *why, size_t len)
{
	const char *state = json_string_value(json_object_get(status, "state"));
	const json_t *sil = json_object_get(status, "silencedBy");
	const json_t *inh = json_object_get(status, "inhibitedBy");
	if (!state || !json_is_array(sil) || !json_is_array(inh)) {
		snprintf(why, len, "has no status {state, silencedBy, inhibitedBy}");
		return -1;
	}
	if (strcmp(state, "active") && strcmp(state, "suppressed") &&
	    strcmp(state, "unprocessed")) {
		char *s = text_safe(state, TEXT_ONE_LINE);
		snprintf(why, len, "has state \"%.64s\" (not active, suppressed or unprocessed)",
		         s);
		free(s);
		return -1;
	}
	return !strcmp(state, "suppressed") && (json_array_size(sil) || json_array_size(inh));
}

/* The summary of a judged answer. */
static void am_summary(struct gate_result *res, size_t counted, int64_t max, const char *names,
                       size_t suppressed, size_t ignored, int matchers)
{
	char tail[128] = "";
	if (suppressed || ignored) {
		char a[48] = "", b[64] = "";
		if (suppressed)
			snprintf(a, sizeof(a), "%zu silenced or inhibited", suppressed);
		if (ignored)
			snprintf(b, sizeof(b), "%zu other%s ignored by matchers", ignored,
			         ignored == 1 ? "" : "s");
		snprintf(tail, sizeof(tail), " (%s%s%s)", a, *a && *b ? ", " : "", b);
	}
	res->summary[0] = '\0';
	char head[96];
	if ((int64_t)counted > max) {
		res->status = GATE_FAIL;
		if (max)
			snprintf(head, sizeof(head), "%zu active (max %lld): ", counted,
			         (long long)max);
		else
			snprintf(head, sizeof(head),
			         "%zu active, not silenced or inhibited: ", counted);
	} else if (counted) {
		res->status = GATE_PASS;
		snprintf(head, sizeof(head), "%zu active, within max %lld: ", counted,
		         (long long)max);
	} else {
		res->status = GATE_PASS;
		snprintf(head, sizeof(head), "no active alert%s", matchers ? " matches" : "");
	}
	http_buf_append(res->summary, sizeof(res->summary), head);
	http_buf_append(res->summary, sizeof(res->summary), names);
	http_buf_append(res->summary, sizeof(res->summary), tail);
}

/* The message of an error answer: a bare JSON string ("bad matcher
 * format: ..."), or {"message": ...}. */
static const char *am_error_message(const json_t *doc)
{
	if (json_is_string(doc))
		return json_string_value(doc);
	return json_string_value(json_object_get(doc, "message"));
}

void am_alerts_judge(long status, const json_t *doc, const struct am_match_set *set, int64_t max,
                     const char *shown, struct gate_result *res)
{
	if (status != 200 || !json_is_array(doc)) {
		const char *m = am_error_message(doc);
		char *safe = text_safe(m ? m : "", TEXT_ONE_LINE);
		if (status != 200 && *safe)
			http_result_list(res, GATE_ERROR, safe, "%s answered status %ld", shown,
			                 status);
		else if (status != 200)
			gate_result_set(res, GATE_ERROR, "%s answered status %ld", shown, status);
		else
			gate_result_set(res, GATE_ERROR, "%s did not answer a list of alerts%s",
			                shown, doc ? "" : " (not JSON)");
		free(safe);
		return;
	}
	json_t *listed = json_array();
	json_object_set_new(res->details, "alerts", listed);
	struct strbuf names = STRBUF_INIT;
	strbuf_adds(&names, "");
	size_t i, counted = 0, ignored = 0, suppressed = 0;
	json_t *a;
	json_array_foreach(doc, i, a) {
		const json_t *labels = json_object_get(a, "labels");
		char why[160];
		int sup = am_suppressed(json_object_get(a, "status"), why, sizeof(why));
		if (!json_is_object(labels) || sup < 0) {
			gate_result_set(res, GATE_ERROR, "alert %zu from %s %s", i + 1, shown,
			                json_is_object(labels) ? why : "has no labels");
			strbuf_release(&names);
			return;
		}
		if (!am_labels_match(labels, set)) {
			ignored++;
			continue;
		}
		if (sup) {
			suppressed++;
			continue;
		}
		char *one = alert_name(labels);
		strbuf_addf(&names, "%s%s", counted++ ? ", " : "", one);
		json_array_append_new(
			listed, json_pack("{s:s,s:O?,s:O?,s:O?,s:O}", "name", one, "state",
		                          json_object_get(json_object_get(a, "status"), "state"),
		                          "startsAt", json_object_get(a, "startsAt"), "fingerprint",
		                          json_object_get(a, "fingerprint"), "labels", labels));
		free(one);
	}
	json_object_set_new(res->details, "answered", json_integer((json_int_t)i));
	json_object_set_new(res->details, "matching", json_integer((json_int_t)counted));
	json_object_set_new(res->details, "suppressed", json_integer((json_int_t)suppressed));
	json_object_set_new(res->details, "ignored_by_matchers", json_integer((json_int_t)ignored));
	json_object_set_new(res->details, "max", json_integer(max));
	am_summary(res, counted, max, names.buf, suppressed, ignored, set->n > 0);
	strbuf_release(&names);
}

void am_alerts_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	const char *url = gate_param_str(params, "url");
	const json_t *texts = json_object_get(params, "matchers");
	char err[384];
	struct am_match_set set;
	if (!url) {
		gate_result_set(res, GATE_ERROR, "url is required");
		return;
	}
	if (am_match_compile(texts, &set, err, sizeof(err)) < 0) {
		am_match_release(&set);
		gate_result_set(res, GATE_ERROR, "matchers: %s", err);
		return;
	}
	char *endpoint = http_endpoint(url, AM_ENDPOINT);
	char *shown = url_redact_password(endpoint);
	json_object_set_new(res->details, "url", json_string(shown));
	if (set.parsed) {
		char *mt = am_matchers_text(set.parsed);
		json_object_set_new(res->details, "matchers", json_string(mt));
		free(mt);
	}
	struct strbuf full = STRBUF_INIT;
	strbuf_adds(&full, endpoint);
	http_query_add(&full, "active", "true");
	http_query_add(&full, "silenced", "false");
	http_query_add(&full, "inhibited", "false");
	size_t i;
	json_t *t;
	json_array_foreach(set.parsed ? texts : NULL, i, t)
		http_query_add(&full, "filter", json_string_value(t));

	const json_t *headers = json_object_get(params, "headers");
	struct http_request rq = {
		.url = full.buf,
		.headers = json_is_object(headers) ? headers : NULL,
		.tls_verify = 1,
		.ca_file = gate_param_str(params, "ca_file"),
		.max_body = AM_MAX_BODY,
		.deadline_ms = http_attempt_deadline(env),
	};
	long status;
	json_t *doc = NULL;
	if (http_get_answer(&rq, JSON_DECODE_ANY, &status, &doc, err, sizeof(err)) < 0)
		gate_result_set(res, GATE_ERROR, "%s", err);
	else
		am_alerts_judge(status, doc, &set, gate_param_int(params, "max", 0), shown, res);
	json_decref(doc);
	strbuf_release(&full);
	free(shown);
	free(endpoint);
	am_match_release(&set);
}
