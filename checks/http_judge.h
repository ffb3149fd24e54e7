/* SPDX-License-Identifier: MIT */
/* Private to the http family (checks/http*.c): the judges of an answer,
 * pure (no I/O: the checks fetch, these parse and judge into the result),
 * for the unit tests and the fuzz targets (fuzz/). */
#ifndef GATE_CHECKS_HTTP_JUDGE_H
#define GATE_CHECKS_HTTP_JUDGE_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "http_fetch.h"

/* http: the whole judgement of one exchange (status in expect_status,
 * expect_body, expect_json; a failed exchange is an error) into res. */
void http_check_judge(const json_t *params, const struct http_response *rs,
                      struct gate_result *res);
/* http: expect_body (a POSIX ERE) against the body; 1 when it matches,
 * 0 with res set when not. */
int http_judge_body(const char *re_text, const struct http_response *rs, struct gate_result *res);
/* http: every expect_json assertion (a list, as validated) against the
 * body; 1 when all hold, 0 with res set when not. */
int http_judge_json(const json_t *ej, const struct http_response *rs, struct gate_result *res);
/* One {pointer, equals|matches|max|min} against doc; 0 with why when it
 * does not hold. */
int http_assertion_holds(json_t *doc, const json_t *item, char *why, size_t len);

/* A regular expression as Prometheus and Alertmanager take it (RE2,
 * matched against the whole value), anchored ^(...)$ and compiled as
 * POSIX ERE into re; -1 with msg when it uses what the two read
 * differently (checks/http_regex.c lists it) or does not compile. */
int http_regex_compile(const char *pat, regex_t *re, char *msg, size_t msglen);

/* prometheus.alerts: `match` compiled into anchored matchers. */
struct prom_matcher {
	const char *label;
	regex_t re;
};
/* -1 with msg on a bad expression; free with prom_free_match. */
int prom_compile_match(const json_t *match, struct prom_matcher **out, size_t *n, char *msg,
                       size_t msglen);
void prom_free_match(struct prom_matcher *m, size_t n);
/* Judge /api/v1/alerts (doc) into res: alerts matching m (firing, or also
 * pending when any) counted against max; shown is the URL for messages. */
void prom_alerts_judge(const json_t *doc, const struct prom_matcher *m, size_t nm, int any,
                       int64_t max, const char *shown, struct gate_result *res);

/* alertmanager.alerts: `matchers` (am_matchers.h) ready to match labels. */
struct am_match {
	const char *name, *value; /* into parsed */
	int is_regex, is_equal;
	regex_t re; /* when is_regex */
};
struct am_match_set {
	json_t *parsed; /* am_matchers_parse's list; NULL when there are none */
	struct am_match *m;
	size_t n;
};
/* texts: the list of matcher strings, or NULL.  -1 with msg (naming the
 * item) when one does not parse or its regex is refused; release the set
 * either way. */
int am_match_compile(const json_t *texts, struct am_match_set *set, char *msg, size_t msglen);
void am_match_release(struct am_match_set *set);
/* Do labels (an object of strings; a missing label is "") satisfy every
 * matcher of set? */
int am_labels_match(const json_t *labels, const struct am_match_set *set);
/* Judge GET /api/v2/alerts (HTTP status, the body parsed or NULL) into
 * res: matching alerts not suppressed by a silence or an inhibition,
 * counted against max; shown is the URL for messages. */
void am_alerts_judge(long status, const json_t *doc, const struct am_match_set *set, int64_t max,
                     const char *shown, struct gate_result *res);

/* prometheus.query: judge GET /api/v1/query (HTTP status, the body parsed
 * or NULL) against params' min, max, min_series and max_series; shown is
 * the URL for messages. */
void promql_judge(const json_t *params, long status, const json_t *doc, const char *shown,
                  struct gate_result *res);

/* patroni.cluster: what the fetch gathered. */
struct patroni_facts {
	json_t *cluster;            /* GET /cluster */
	char *leader_api_url;       /* the leader's API, redacted, when it was asked */
	json_t *leader_view;        /* its GET /patroni, when asked and answered */
	char leader_api_error[384]; /* why there is no leader_view, when asked ("" else) */
};
/* Frees what f holds (the references included) and zeroes it. */
void patroni_facts_release(struct patroni_facts *f);
/* The first member of /cluster in the leader or standby_leader role. */
const json_t *patroni_leader(const json_t *cluster);
/* Does the judgement need the leader's own /patroni (a replica says
 * "running", as before Patroni 3.0.4, or the leader's entry lacks its
 * timeline)?  The fetch asks for it only then. */
int patroni_needs_leader_view(const json_t *cluster);
/* Judge the facts into res with the check's params; shown is the /cluster
 * URL for messages. */
void patroni_cluster_judge(const json_t *params, const struct patroni_facts *f, const char *shown,
                           struct gate_result *res);

#endif
