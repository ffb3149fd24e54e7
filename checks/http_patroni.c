/* SPDX-License-Identifier: MIT */
/* patroni.cluster: judge replication from Patroni's GET /cluster, never
 * from /replica (which answers 200 for a replica that does not stream,
 * patroni#1462).
 *
 * What Patroni 3.0.2 (Debian 12) really answers (tests/data/recorded/http/):
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

int patroni_cluster_validate(const json_t *params, const char **param, char *msg, size_t msglen)
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
	json_array_foreach(json_object_get(leader_status, "replication"), i, r) {
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
	json_array_foreach(members, i, m) {
		const char *st = json_string_value(json_object_get(m, "state"));
		if (is_replica_role(json_string_value(json_object_get(m, "role"))) && st &&
		    !strcmp(st, "running"))
			return 1;
	}
	return 0;
}

struct verdict {
	json_int_t timeline; /* the leader's; -1 when unknown */
	int64_t max_lag;
	const json_t *leader_status; /* leader's /patroni, or NULL */
	int leader_view_failed;      /* we needed it and could not get it */
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
		snprintf(why, len, "lag %s",
		         json_is_string(lag) ? json_string_value(lag) : "not reported");
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
		n += snprintf(out + n, len - (size_t)n, " tl %lld",
		              (long long)json_integer_value(tl));
	if ((size_t)n < len && json_is_number(lag))
		n += snprintf(out + n, len - (size_t)n, " lag %.0f", json_number_value(lag));
	else if ((size_t)n < len && json_is_string(lag))
		n += snprintf(out + n, len - (size_t)n, " lag %s", json_string_value(lag));
	if ((size_t)n < len && why && *why)
		snprintf(out + n, len - (size_t)n, " (%s)", why);
}

const json_t *patroni_leader(const json_t *cluster)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(cluster, "members"), i, m) {
		if (is_leader_role(json_string_value(json_object_get(m, "role"))))
			return m;
	}
	return NULL;
}

int patroni_needs_leader_view(const json_t *cluster)
{
	const json_t *members = json_object_get(cluster, "members");
	const json_t *leader = patroni_leader(cluster);
	return json_is_array(members) && json_array_size(members) && leader &&
	       needs_leader_view(members, leader);
}

void patroni_facts_release(struct patroni_facts *f)
{
	json_decref(f->cluster);
	json_decref(f->leader_view);
	free(f->leader_api_url);
	memset(f, 0, sizeof(*f));
}

/* ---- fetch ---- */

/* The leader's own /patroni into f (or why not into f->leader_api_error). */
static void fetch_leader_view(const json_t *leader, const char *ca_file,
                              const struct gate_run_env *env, struct patroni_facts *f)
{
	const char *api = json_string_value(json_object_get(leader, "api_url"));
	if (!api || !http_url_scheme_ok(api)) {
		snprintf(f->leader_api_error, sizeof(f->leader_api_error),
		         "the leader has no http(s) api_url");
		return;
	}
	f->leader_api_url = url_redact_password(api);
	struct http_request rq = {
		.url = api,
		.tls_verify = 1,
		.ca_file = ca_file,
		.max_body = PATRONI_MAX_BODY,
		.deadline_ms = http_attempt_deadline(env),
	};
	http_get_json(&rq, &f->leader_view, f->leader_api_error, sizeof(f->leader_api_error));
}

/* GET url (/cluster) and, when the judgement needs it, the leader's own
 * /patroni.  -1 with err when /cluster itself gave no JSON. */
static int patroni_fetch(const char *url, const char *ca_file, const struct gate_run_env *env,
                         struct patroni_facts *f, char *err, size_t errlen)
{
	struct http_request rq = {
		.url = url,
		.tls_verify = 1,
		.ca_file = ca_file,
		.max_body = PATRONI_MAX_BODY,
		.deadline_ms = http_attempt_deadline(env),
	};
	if (http_get_json(&rq, &f->cluster, err, errlen) < 0)
		return -1;
	if (patroni_needs_leader_view(f->cluster))
		fetch_leader_view(patroni_leader(f->cluster), ca_file, env, f);
	return 0;
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
	char *shown = url_redact_password(full);
	json_object_set_new(res->details, "url", json_string(shown));
	struct patroni_facts f = {0};
	char err[384];
	if (patroni_fetch(full, gate_param_str(params, "ca_file"), env, &f, err, sizeof(err)) < 0)
		gate_result_set(res, GATE_ERROR, "%s", err);
	else
		patroni_cluster_judge(params, &f, shown, res);
	patroni_facts_release(&f);
	free(shown);
	free(full);
}

/* ---- judge ---- */

/* The leader, its timeline (from its own /patroni when /cluster lacks it)
 * and what asking it gave, into vd and the details. */
static const json_t *judge_leader(const struct patroni_facts *f, struct verdict *vd,
                                  struct gate_result *res)
{
	const json_t *leader = patroni_leader(f->cluster);
	if (leader) {
		const json_t *tl = json_object_get(leader, "timeline");
		if (json_is_integer(tl))
			vd->timeline = json_integer_value(tl);
		if (f->leader_api_url)
			json_object_set_new(res->details, "leader_api_url",
			                    json_string(f->leader_api_url));
		if (*f->leader_api_error)
			json_object_set_new(res->details, "leader_api_error",
			                    json_string(f->leader_api_error));
		vd->leader_status = f->leader_view;
		/* Right after a start the leader's /cluster entry may lack its
		 * timeline while its own /patroni already has it. */
		const json_t *ltl = json_object_get(f->leader_view, "timeline");
		if (vd->timeline < 0 && json_is_integer(ltl))
			vd->timeline = json_integer_value(ltl);
		json_object_set_new(res->details, "leader",
		                    json_deep_copy(json_object_get(leader, "name")));
	}
	json_object_set_new(res->details, "timeline",
	                    vd->timeline >= 0 ? json_integer(vd->timeline) : json_null());
	return leader;
}

/* Judge every member into vd, details.members and states (the summary's
 * list); returns how many are replicas. */
static size_t judge_members(const json_t *members, const json_t *leader, struct verdict *vd,
                            char *states, size_t states_len, struct gate_result *res)
{
	json_t *list = json_array();
	json_object_set_new(res->details, "members", list);
	size_t i, replicas = 0;
	json_t *m;
	json_array_foreach(members, i, m) {
		const char *role = json_string_value(json_object_get(m, "role"));
		char why[96] = "", one[200];
		int counts = 0;
		if (m != leader && is_replica_role(role)) {
			replicas++;
			counts = replica_counts(m, vd, why, sizeof(why));
			vd->streaming += (size_t)counts;
		}
		describe_member(m, why, one, sizeof(one));
		if (i)
			http_buf_append(states, states_len, ", ");
		http_buf_append(states, states_len, one);
		json_t *d = json_pack(
			"{s:O?,s:O?,s:O?,s:O?,s:O?,s:b}", "name", json_object_get(m, "name"),
			"role", json_object_get(m, "role"), "state", json_object_get(m, "state"),
			"timeline", json_object_get(m, "timeline"), "lag",
			json_object_get(m, json_object_get(m, "replay_lag") ? "replay_lag" : "lag"),
			"streaming", counts);
		if (*why)
			json_object_set_new(d, "why", json_string(why));
		json_array_append_new(list, d);
	}
	return replicas;
}

/* The status and the summary: "[cannot ask the leader: E; ][paused; ]HEAD: STATES". */
static void patroni_verdict(const json_t *params, const struct patroni_facts *f,
                            const json_t *leader, int paused, const struct verdict *vd,
                            const char *states, struct gate_result *res)
{
	int64_t min_streaming = gate_param_int(params, "min_streaming", 1);
	int require_unpaused = gate_param_bool(params, "require_unpaused", 0);
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
	} else {
		/* Could not ask the leader whether its "running" replicas stream:
		 * that is not knowing, not a "no". */
		if ((int64_t)vd->streaming < min_streaming)
			st = vd->unconfirmed ? GATE_ERROR : GATE_FAIL;
		snprintf(head, sizeof(head), "%zu of %lld required replicas streaming",
		         vd->streaming, (long long)min_streaming);
	}
	if (paused && require_unpaused && st == GATE_PASS)
		st = GATE_FAIL;
	res->status = st;
	res->summary[0] = '\0';
	if (st == GATE_ERROR && *f->leader_api_error) {
		http_buf_append(res->summary, sizeof(res->summary), "cannot ask the leader: ");
		http_buf_append(res->summary, sizeof(res->summary), f->leader_api_error);
		http_buf_append(res->summary, sizeof(res->summary), "; ");
	}
	if (paused)
		http_buf_append(res->summary, sizeof(res->summary),
		                require_unpaused ? "cluster is paused (maintenance mode); "
		                                 : "paused; ");
	http_buf_append(res->summary, sizeof(res->summary), head);
	http_buf_append(res->summary, sizeof(res->summary), ": ");
	http_buf_append(res->summary, sizeof(res->summary), states);
}

void patroni_cluster_judge(const json_t *params, const struct patroni_facts *f, const char *shown,
                           struct gate_result *res)
{
	struct verdict vd = {.timeline = -1,
	                     .max_lag = gate_param_int(params, "max_lag_bytes", 16777216)};
	json_t *members = json_object_get(f->cluster, "members");
	if (!json_is_array(members) || !json_array_size(members)) {
		gate_result_set(res, GATE_ERROR, "%s lists no members", shown);
		return;
	}
	int paused = json_is_true(json_object_get(f->cluster, "pause"));
	json_object_set_new(res->details, "paused", json_boolean(paused));
	const json_t *leader = judge_leader(f, &vd, res);
	char states[GATE_SUMMARY_MAX] = "";
	size_t replicas = judge_members(members, leader, &vd, states, sizeof(states), res);
	json_object_set_new(res->details, "streaming", json_integer((json_int_t)vd.streaming));
	json_object_set_new(res->details, "min_streaming",
	                    json_integer(gate_param_int(params, "min_streaming", 1)));
	json_object_set_new(res->details, "replicas", json_integer((json_int_t)replicas));
	patroni_verdict(params, f, leader, paused, &vd, states, res);
}
