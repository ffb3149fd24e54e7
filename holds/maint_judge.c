/* SPDX-License-Identifier: MIT */
/* The pure parts shared by the maintenance kinds, and Patroni's
 * (maint_judge.h).
 *
 * What Patroni 3.0.2 answers (tests/data/recorded/holds/patroni/): GET
 * /cluster has "pause": true while paused and no "pause" key otherwise
 * (not false); PATCH /config answers 200 with the whole dynamic
 * configuration after the patch, "pause": true in it after a pause and no
 * "pause" after {"pause": null}; a body that is not JSON gets 400 and an
 * HTML page, a missing credential 401 with a line of text. */
#include "maint_judge.h"

#include <stdio.h>
#include <string.h>

#include "kit/alloc.h"

void maint_answer_text(const char *body, size_t len, char *out, size_t outlen)
{
	size_t i = 0, j = 0;
	if (!outlen)
		return;
	while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i == len) {
		snprintf(out, outlen, "(empty)");
		return;
	}
	if (body[i] == '<') {
		snprintf(out, outlen, "(an HTML page)");
		return;
	}
	for (; i < len && body[i] != '\n' && j + 1 < outlen; i++) {
		unsigned char c = (unsigned char)body[i];
		out[j++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	/* Do not end inside a UTF-8 sequence that was cut. */
	if (i < len && body[i] != '\n') {
		size_t lead = j;
		while (lead > 0 && ((unsigned char)out[lead - 1] & 0xc0) == 0x80)
			lead--;
		if (lead > 0 && ((unsigned char)out[lead - 1] & 0xc0) == 0xc0) {
			unsigned char c = (unsigned char)out[lead - 1];
			size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			if (j - (lead - 1) < need)
				j = lead - 1;
		}
	}
	out[j] = '\0';
}

static json_t *load_object(const char *body, size_t len, const char *what, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(body, len, 0, &je);
	if (!json_is_object(doc)) {
		char t[120];
		maint_answer_text(body, len, t, sizeof(t));
		snprintf(err, errlen, "%s is not a JSON object: %s", what, t);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

int patroni_pause_state(const char *body, size_t len, char *err, size_t errlen)
{
	json_t *doc = load_object(body, len, "the /cluster answer", err, errlen);
	if (!doc)
		return -1;
	int ret;
	json_t *pause = json_object_get(doc, "pause");
	if (!json_is_array(json_object_get(doc, "members"))) {
		snprintf(err, errlen, "the /cluster answer lists no members");
		ret = -1;
	} else if (pause && !json_is_boolean(pause) && !json_is_null(pause)) {
		snprintf(err, errlen, "the /cluster answer's pause is not true or false");
		ret = -1;
	} else {
		ret = json_is_true(pause);
	}
	json_decref(doc);
	return ret;
}

const char *patroni_pause_body(int pause)
{
	return pause ? "{\"pause\": true}" : "{\"pause\": null}";
}

int patroni_config_pause(const char *body, size_t len, char *err, size_t errlen)
{
	json_t *doc = load_object(body, len, "the /config answer", err, errlen);
	if (!doc)
		return -1;
	json_t *pause = json_object_get(doc, "pause");
	int ret = json_is_true(pause);
	if (pause && !json_is_boolean(pause) && !json_is_null(pause)) {
		snprintf(err, errlen, "the /config answer's pause is not true, false or null");
		ret = -1;
	}
	json_decref(doc);
	return ret;
}

json_t *patroni_undo(int resume, const char *shown_url)
{
	return json_pack("{s:b, s:s}", "resume", resume, "url", shown_url ? shown_url : "");
}

int patroni_undo_resume(const json_t *undo)
{
	json_t *r = json_object_get(undo, "resume");
	return json_is_boolean(r) ? json_is_true(r) : -1;
}
