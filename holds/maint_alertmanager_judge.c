/* SPDX-License-Identifier: MIT */
/* Alertmanager's pure parts (maint_judge.h): the silence's body and
 * comment, and the API v2 answers (the matchers: checks/lib/am_matchers.c).
 *
 * What Alertmanager 0.25 answers (tests/data/recorded/holds/alertmanager/):
 * POST /api/v2/silences gives 200 {"silenceID": "UUID"}; 415 {"code":415,
 * "message": ...} for a body that is not application/json; 422 {"code":602,
 * ...} for a missing field; 400 with a bare JSON string for a bad time
 * range; GET /api/v2/silences lists expired silences too, each with
 * "status": {"state": "active"|"pending"|"expired"}; DELETE of an unknown
 * ID gives 500. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/alloc.h"
#include "kit/strbuf.h"
#include "kit/timefmt.h"
#include "maint_judge.h"

char *am_comment(const struct hold_who *who, const char *token, const char *extra)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "gate maintenance: runbook %s by %s@%s pid %ld (gate-token %s)",
	            who->runbook ? who->runbook : "?", who->user ? who->user : "?",
	            who->host ? who->host : "?", who->pid, token);
	if (extra && *extra)
		strbuf_addf(&sb, "; %s", extra);
	return strbuf_detach(&sb);
}

char *am_silence_body(const json_t *matchers, int64_t now_ms, int64_t duration_ms,
                      const char *created_by, const char *comment)
{
	char starts[40], ends[40];
	gate_format_time(now_ms, starts, sizeof(starts));
	gate_format_time(now_ms + duration_ms, ends, sizeof(ends));
	json_t *o = json_pack("{s:O, s:s, s:s, s:s, s:s}", "matchers", (json_t *)matchers,
	                      "startsAt", starts, "endsAt", ends, "createdBy", created_by,
	                      "comment", comment);
	if (!o)
		return NULL;
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

int am_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n < 1 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-')
			return 0;
	return 1;
}

int am_silence_id(const char *body, size_t len, char **id, char *err, size_t errlen)
{
	*id = NULL;
	json_error_t je;
	json_t *doc = json_loadb(body, len, 0, &je);
	const char *s = json_string_value(json_object_get(doc, "silenceID"));
	int ret = -1;
	if (!json_is_object(doc)) {
		char t[120];
		maint_answer_text(body, len, t, sizeof(t));
		snprintf(err, errlen, "the answer is not a JSON object: %s", t);
	} else if (!s) {
		snprintf(err, errlen, "the answer has no silenceID");
	} else if (!am_id_ok(s)) {
		snprintf(err, errlen, "the answer's silenceID is not an ID");
	} else {
		*id = xstrdup(s);
		ret = 0;
	}
	json_decref(doc);
	return ret;
}

void am_error_text(long status, const char *body, size_t len, char *out, size_t outlen)
{
	json_error_t je;
	json_t *doc = json_loadb(body, len, JSON_DECODE_ANY, &je);
	const char *msg = json_string_value(json_object_get(doc, "message"));
	if (!msg)
		msg = json_string_value(doc);
	char t[240];
	if (msg)
		maint_answer_text(msg, strlen(msg), t, sizeof(t));
	else
		maint_answer_text(body, len, t, sizeof(t));
	snprintf(out, outlen, "status %ld: %s", status, t);
	json_decref(doc);
}

json_t *am_silences_with_token(const char *body, size_t len, const char *token, char *err,
                               size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(body, len, 0, &je);
	if (!json_is_array(doc)) {
		char t[120];
		maint_answer_text(body, len, t, sizeof(t));
		snprintf(err, errlen, "the silences answer is not a JSON list: %s", t);
		json_decref(doc);
		return NULL;
	}
	char *needle = xasprintf("(gate-token %s)", token);
	json_t *ids = json_array(), *s;
	size_t i;
	json_array_foreach(doc, i, s) {
		const char *c = json_string_value(json_object_get(s, "comment"));
		const char *id = json_string_value(json_object_get(s, "id"));
		const char *st = json_string_value(
			json_object_get(json_object_get(s, "status"), "state"));
		if (!c || !strstr(c, needle))
			continue;
		if (!am_id_ok(id) || !st) {
			snprintf(err, errlen, "a silence with the token has no usable id or state");
			json_decref(ids);
			ids = NULL;
			break;
		}
		if (strcmp(st, "expired"))
			json_array_append_new(ids, json_string(id));
	}
	free(needle);
	json_decref(doc);
	return ids;
}

int am_silence_state(const char *body, size_t len, char *state, size_t statelen, char *err,
                     size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(body, len, 0, &je);
	const char *st = json_string_value(
		json_object_get(json_object_get(doc, "status"), "state"));
	int ret = -1;
	if (!st) {
		char t[120];
		maint_answer_text(body, len, t, sizeof(t));
		snprintf(err, errlen, "the silence answer has no status.state: %s", t);
	} else {
		snprintf(state, statelen, "%s", st);
		ret = 0;
	}
	json_decref(doc);
	return ret;
}

json_t *am_undo(const char *id, const char *token, const char *shown_url, const char *comment)
{
	return json_pack("{s:s?, s:s, s:s, s:s}", "silence", id, "token", token, "url",
	                 shown_url ? shown_url : "", "comment", comment ? comment : "");
}

int am_undo_read(const json_t *undo, const char **id, const char **token)
{
	json_t *s = json_object_get(undo, "silence");
	*id = json_string_value(s);
	*token = json_string_value(json_object_get(undo, "token"));
	if (!json_is_object(undo) || (!json_is_null(s) && !*id) || (*id && !am_id_ok(*id)))
		return -1;
	if (!*id && (!*token || !am_id_ok(*token)))
		return -1;
	return 0;
}
