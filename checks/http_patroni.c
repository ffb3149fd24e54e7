/* SPDX-License-Identifier: MIT */
/* patroni.cluster: judge replication from Patroni's GET /cluster, never
 * from /replica (which answers 200 for a replica that does not stream,
 * patroni#1462).
 *
 * What Patroni 3.0.2 (Debian 12) really answers (notes/fixtures-ha.md):
 * a healthy replica is "running", never "streaming"; `lag` is an integer
 * number of bytes or the string "unknown"; `timeline` is absent while the
 * member's PostgreSQL is down; `pause` is absent (not false) unless paused.
 * So a "running" replica counts only when the leader's own REST API
 * (`api_url`, .../patroni) lists it in replication[] as streaming.
 * Patroni 3.0.4 and later say "streaming" themselves. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_judge.h"

#define PATRONI_MAX_BODY (4u * 1024 * 1024)

const struct gate_param patroni_cluster_params[] = {
	{"url", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
	 "a Patroni REST API base URL (http://host:8008); /cluster is read"},
	{"min_streaming", GATE_P_INT, 0, "1", NULL,
	 "replicas that must stream on the leader's timeline within max_lag_bytes"},
	{"max_lag_bytes", GATE_P_SIZE, 0, "16MiB", NULL,
	 "a member's replay_lag (or lag) above this does not count; \"unknown\" never counts"},
	{"require_unpaused", GATE_P_BOOL, 0, "false", NULL,
	 "fail while the cluster is in maintenance pause"},
	{"ca_file", GATE_P_STRING, 0, NULL, NULL,
	 "PEM CA certificates for https REST APIs (default: the system's); extension"},
	{NULL, 0, 0, NULL, NULL, NULL},
};

int patroni_cluster_validate(const json_t *params, const char **param, char *msg,
                             size_t msglen)
{
	const char *url = gate_param_str(params, "url");
	if (url && !http_url_scheme_ok(url)) {
		*param = "url";
		snprintf(msg, msglen, "must start with http:// or https://");
		return -1;
	}
	if (gate_param_int(params, "min_streaming", 1) < 0) {
		*param = "min_streaming";
		snprintf(msg, msglen, "must be 0 or more");
		return -1;
	}
	if (gate_param_int(params, "max_lag_bytes", 0) < 0) {
		*param = "max_lag_bytes";
		snprintf(msg, msglen, "must be 0 or more");
		return -1;
	}
	return 0;
}

static int is_leader_role(const char *role)
{
	return role && (!strcmp(role, "leader") || !strcmp(role, "standby_leader"));
}

static int is_replica_role(const char *role)
{
	return role && (!strcmp(role, "replica") || !strcmp(role, "sync_standby") ||
	                !strcmp(role, "quorum_standby"));
}

/* Does the leader's /patroni list `name` in replication[] as streaming? */
static int leader_lists_streaming(const json_t *leader_status, const char *name)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(leader_status, "replication"), i, r)
	{
		const char *app = json_string_value(json_object_get(r, "application_name"));
		const char *st = json_string_value(json_object_get(r, "state"));
		if (app && st && !strcmp(app, name) && !strcmp(st, "streaming"))
			return 1;
	}
	return 0;
}

/* Does any replica need the leader's view (a pre-3.0.4 "running")? */
static int needs_leader_view(const json_t *members, const json_t *leader)
{
	size_t i;
	json_t *m;
	if (!json_is_integer(json_object_get(leader, "timeline")))
		return 1;
	json_array_foreach(members, i, m)
	{
		const char *st = json_string_value(json_object_get(m, "state"));
		if (is_replica_role(json_string_value(json_object_get(m, "role"))) && st &&
		    !strcmp(st, "running"))
			return 1;
	}
	return 0;
}

struct verdict {
	json_int_t timeline;     /* the leader's; -1 when unknown */
	int64_t max_lag;
	const json_t *leader_status; /* leader's /patroni, or NULL */
	int leader_view_failed;  /* we needed it and could not get it */
	size_t streaming, unconfirmed;
};

/* Judge one replica: 1 when it counts.  why gets a short reason when not. */
static int replica_counts(const json_t *m, struct verdict *vd, char *why, size_t len)
{
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *state = json_string_value(json_object_get(m, "state"));
	const json_t *tl = json_object_get(m, "timeline");
	const json_t *lag = json_object_get(m, "replay_lag");
	if (!lag)
		lag = json_object_get(m, "lag");

	if (!state || (strcmp(state, "streaming") && strcmp(state, "running"))) {
		snprintf(why, len, "not streaming");
		return 0;
	}
	if (!json_is_integer(tl)) {
		snprintf(why, len, "no timeline");
		return 0;
	}
	if (vd->timeline < 0 || json_integer_value(tl) != vd->timeline) {
		snprintf(why, len, "not on the leader's timeline");
		return 0;
	}
	if (!json_is_number(lag)) {
		snprintf(why, len, "lag %s", json_is_string(lag) ? json_string_value(lag) : "not reported");
		return 0;
	}
	double l = json_number_value(lag);
	if (isnan(l) || l > (double)vd->max_lag) {
		snprintf(why, len, "lag above %lld bytes", (long long)vd->max_lag);
		return 0;
	}
	if (!strcmp(state, "streaming"))
		return 1;
	/* "running" (Patroni < 3.0.4): only the leader can tell it streams. */
	if (!vd->leader_status) {
		vd->unconfirmed++;
		snprintf(why, len, "streaming unconfirmed: no answer from the leader's API");
		return 0;
	}
	if (!name || !leader_lists_streaming(vd->leader_status, name)) {
		snprintf(why, len, "not streaming per the leader");
		return 0;
	}
	return 1;
}

/* "pg2 replica running tl 1 lag 0" */
static void describe_member(const json_t *m, const char *why, char *out, size_t len)
{
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *role = json_string_value(json_object_get(m, "role"));
	const char *state = json_string_value(json_object_get(m, "state"));
	const json_t *tl = json_object_get(m, "timeline");
	const json_t *lag = json_object_get(m, "replay_lag");
	if (!lag)
		lag = json_object_get(m, "lag");
	int n = snprintf(out, len, "%s %s %s", name ? name : "?", role ? role : "?",
	                 state ? state : "?");
	if (n < 0 || (size_t)n >= len)
		return;
	if (json_is_integer(tl))
		n += snprintf(out + n, len - (size_t)n, " tl %lld", (long long)json_integer_value(tl));
	if ((size_t)n < len && json_is_number(lag))
		n += snprintf(out + n, len - (size_t)n, " lag %.0f", json_number_value(lag));
	else if ((size_t)n < len && json_is_string(lag))
		n += snprintf(out + n, len - (size_t)n, " lag %s", json_string_value(lag));
	if ((size_t)n < len && why && *why)
		snprintf(out + n, len - (size_t)n, " (%s)", why);
}

/* Fetch the leader's own /patroni when a "running" replica or a missing
 * leader timeline needs it. */
static json_t *fetch_leader_view(const json_t *leader, const char *ca_file,
                                 const struct gate_run_env *env, struct gate_result *res)
{
	const char *api = json_string_value(json_object_get(leader, "api_url"));
	char err[384];
	json_t *doc = NULL;
	if (!api || !http_url_scheme_ok(api)) {
		json_object_set_new(res->details, "leader_api_error",
		                    json_string("the leader has no http(s) api_url"));
		return NULL;
	}
	char *shown = http_redact_url(api);
	json_object_set_new(res->details, "leader_api_url", json_string(shown));
	free(shown);
	struct http_request rq = {
		.url = api, .tls_verify = 1, .ca_file = ca_file,
		.max_body = PATRONI_MAX_BODY, .deadline_ms = http_attempt_deadline(env),
	};
	if (http_get_json(&rq, &doc, err, sizeof(err)) < 0) {
		json_object_set_new(res->details, "leader_api_error", json_string(err));
		return NULL;
	}
	return doc;
}

struct leader_ask {
	const char *ca_file;
	const struct gate_run_env *env;
};

static json_t *ask_leader(const json_t *leader, void *ud, struct gate_result *res)
{
	const struct leader_ask *a = ud;
	return fetch_leader_view(leader, a->ca_file, a->env, res);
}

void patroni_cluster_run(const json_t *params, const struct gate_run_env *env,
                         struct gate_result *res)
{
	const char *url = gate_param_str(params, "url");
	if (!url) {
		gate_result_set(res, GATE_ERROR, "url is required");
		return;
	}
	char *full = http_join_url(url, "/cluster");
	char *shown = http_redact_url(full);
	json_object_set_new(res->details, "url", json_string(shown));
	json_t *doc = NULL;
	char err[384];
	const char *ca_file = gate_param_str(params, "ca_file");
	struct http_request rq = {
		.url = full, .tls_verify = 1, .ca_file = ca_file,
		.max_body = PATRONI_MAX_BODY, .deadline_ms = http_attempt_deadline(env),
	};
	if (http_get_json(&rq, &doc, err, sizeof(err)) < 0) {
		gate_result_set(res, GATE_ERROR, "%s", err);
		goto out;
	}
	struct leader_ask ask = {ca_file, env};
	patroni_cluster_judge(params, doc, shown, ask_leader, &ask, res);
out:
	json_decref(doc);
	free(shown);
	free(full);
}

void patroni_cluster_judge(const json_t *params, const json_t *doc, const char *shown,
                           patroni_leader_fn leader_view_fn, void *ud,
                           struct gate_result *res)
{
	int64_t min_streaming = gate_param_int(params, "min_streaming", 1);
	int require_unpaused = gate_param_bool(params, "require_unpaused", 0);
	struct verdict vd = {.timeline = -1,
	                     .max_lag = gate_param_int(params, "max_lag_bytes", 16777216)};
	json_t *leader_view = NULL;
	json_t *members = json_object_get(doc, "members");
	if (!json_is_array(members) || !json_array_size(members)) {
		gate_result_set(res, GATE_ERROR, "%s lists no members", shown);
		goto out;
	}
	int paused = json_is_true(json_object_get(doc, "pause"));
	json_object_set_new(res->details, "paused", json_boolean(paused));

	const json_t *leader = NULL;
	size_t i;
	json_t *m;
	json_array_foreach(members, i, m)
	{
		if (!leader && is_leader_role(json_string_value(json_object_get(m, "role"))))
			leader = m;
	}
	if (leader) {
		const json_t *tl = json_object_get(leader, "timeline");
		if (json_is_integer(tl))
			vd.timeline = json_integer_value(tl);
		if (needs_leader_view(members, leader)) {
			leader_view = leader_view_fn(leader, ud, res);
			vd.leader_status = leader_view;
			/* Right after a start the leader's /cluster entry may lack its
			 * timeline while its own /patroni already has it. */
			const json_t *ltl = json_object_get(leader_view, "timeline");
			if (vd.timeline < 0 && json_is_integer(ltl))
				vd.timeline = json_integer_value(ltl);
		}
		json_object_set_new(res->details, "leader",
		                    json_deep_copy(json_object_get(leader, "name")));
	}
	json_object_set_new(res->details, "timeline",
	                    vd.timeline >= 0 ? json_integer(vd.timeline) : json_null());

	json_t *list = json_array();
	json_object_set_new(res->details, "members", list);
	char states[GATE_SUMMARY_MAX] = "";
	size_t replicas = 0;
	json_array_foreach(members, i, m)
	{
		const char *role = json_string_value(json_object_get(m, "role"));
		char why[96] = "", one[200];
		int counts = 0;
		if (m != leader && is_replica_role(role)) {
			replicas++;
			counts = replica_counts(m, &vd, why, sizeof(why));
			vd.streaming += (size_t)counts;
		}
		describe_member(m, why, one, sizeof(one));
		if (i)
			http_buf_append(states, sizeof(states), ", ");
		http_buf_append(states, sizeof(states), one);
		json_t *d = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:b}", "name",
		                      json_object_get(m, "name"), "role", json_object_get(m, "role"),
		                      "state", json_object_get(m, "state"), "timeline",
		                      json_object_get(m, "timeline"), "lag",
		                      json_object_get(m, json_object_get(m, "replay_lag") ? "replay_lag" : "lag"),
		                      "streaming", counts);
		if (*why)
			json_object_set_new(d, "why", json_string(why));
		json_array_append_new(list, d);
	}
	json_object_set_new(res->details, "streaming", json_integer((json_int_t)vd.streaming));
	json_object_set_new(res->details, "min_streaming", json_integer(min_streaming));
	json_object_set_new(res->details, "replicas", json_integer((json_int_t)replicas));

	char head[160];
	enum gate_status st = GATE_PASS;
	const char *lstate = leader ? json_string_value(json_object_get(leader, "state")) : NULL;
	if (!leader) {
		st = GATE_FAIL;
		snprintf(head, sizeof(head), "no leader");
	} else if (!lstate || (strcmp(lstate, "running") && strcmp(lstate, "streaming"))) {
		/* Replicas of a leader whose PostgreSQL is not running are not
		 * replicas one can rely on, whatever their own entries say. */
		st = GATE_FAIL;
		snprintf(head, sizeof(head), "the leader is not running");
	} else if ((int64_t)vd.streaming < min_streaming) {
		/* Could not ask the leader whether its "running" replicas stream:
		 * that is not knowing, not a "no". */
		st = vd.unconfirmed ? GATE_ERROR : GATE_FAIL;
		snprintf(head, sizeof(head), "%zu of %lld required replicas streaming",
		         vd.streaming, (long long)min_streaming);
	} else {
		snprintf(head, sizeof(head), "%zu of %lld required replicas streaming",
		         vd.streaming, (long long)min_streaming);
	}
	if (paused && require_unpaused && st == GATE_PASS)
		st = GATE_FAIL;
	res->status = st;
	res->summary[0] = '\0';
	const char *api_err = json_string_value(json_object_get(res->details, "leader_api_error"));
	if (st == GATE_ERROR && api_err) {
		http_buf_append(res->summary, sizeof(res->summary), "cannot ask the leader: ");
		http_buf_append(res->summary, sizeof(res->summary), api_err);
		http_buf_append(res->summary, sizeof(res->summary), "; ");
	}
	if (paused)
		http_buf_append(res->summary, sizeof(res->summary),
		                require_unpaused ? "cluster is paused (maintenance mode); "
		                                 : "paused; ");
	http_buf_append(res->summary, sizeof(res->summary), head);
	http_buf_append(res->summary, sizeof(res->summary), ": ");
	http_buf_append(res->summary, sizeof(res->summary), states);
out:
	json_decref(leader_view);
}
