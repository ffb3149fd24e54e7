/* SPDX-License-Identifier: MIT */
/* The pure parts of the maintenance kinds (holds/maint_patroni.c,
 * holds/maint_alertmanager.c): request bodies built and servers' answers
 * read, without I/O and without a clock ("now" is a parameter).  The unit
 * tests (tests/unit/test_hold_maint.c) feed them answers recorded from the
 * real servers, the fuzz target (fuzz/fuzz_hold_maint.c) anything.
 * Every reader fails closed: what it does not understand is -1 (or NULL)
 * with a message, never "done". */
#ifndef GATE_HOLDS_MAINT_JUDGE_H
#define GATE_HOLDS_MAINT_JUDGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "checks/lib/am_matchers.h" /* am_matcher_parse, am_matchers_parse, am_matchers_text */
#include "gate/hold.h"

/* An answer's body fit for a message: "(empty)", "(an HTML page)", or its
 * first line with control bytes replaced and cut to fit out. */
void maint_answer_text(const char *body, size_t len, char *out, size_t outlen);

/* ---- Patroni ---- */

/* GET /cluster: 1 when it says the cluster is paused ("pause": true), 0
 * when it does not (the key is absent unless paused), -1 with err when it
 * is not a /cluster answer (no members list). */
int patroni_pause_state(const char *body, size_t len, char *err, size_t errlen);
/* The body of PATCH /config, as patronictl pause / resume send it:
 * {"pause": true}, or {"pause": null}, which removes the key. */
const char *patroni_pause_body(int pause);
/* The PATCH /config answer (the whole dynamic configuration): 1 when its
 * "pause" is true, 0 when absent, null or false, -1 with err when it is
 * not a JSON object. */
int patroni_config_pause(const char *body, size_t len, char *err, size_t errlen);
/* The undo record: {"resume": true|false, "url": SHOWN}; the reader
 * returns 1 or 0, or -1 when the record has no boolean "resume". */
json_t *patroni_undo(int resume, const char *shown_url);
int patroni_undo_resume(const json_t *undo);

/* ---- Alertmanager (API v2) ---- */

/* The silence's comment: who made it and the token that finds it again:
 * "gate maintenance: runbook RB by USER@HOST pid PID (gate-token TOKEN)"
 * and "; EXTRA" when extra is given.  Caller frees. */
char *am_comment(const struct hold_who *who, const char *token, const char *extra);
/* The body of POST /api/v2/silences: matchers, startsAt now, endsAt now +
 * duration (RFC 3339 UTC), createdBy, comment.  Caller frees. */
char *am_silence_body(const json_t *matchers, int64_t now_ms, int64_t duration_ms,
                      const char *created_by, const char *comment);
/* The POST answer {"silenceID": ID}: 0 with *id (caller frees), -1 with
 * err.  An ID is accepted only when it is 1-64 of [0-9A-Za-z-] (it goes
 * into a URL path). */
int am_silence_id(const char *body, size_t len, char **id, char *err, size_t errlen);
int am_id_ok(const char *id);
/* An error answer in words: the "message" of {"code", "message"}, a bare
 * JSON string ("Failed to create silence: ..."), or the text itself. */
void am_error_text(long status, const char *body, size_t len, char *out, size_t outlen);
/* GET /api/v2/silences: the IDs (a JSON array of strings) of the
 * silences whose comment holds "gate-token TOKEN" and that are not
 * expired; NULL with err when the answer is not such a list. */
json_t *am_silences_with_token(const char *body, size_t len, const char *token, char *err,
                               size_t errlen);
/* GET /api/v2/silence/ID: its state ("active", "pending", "expired") into
 * state (a copy), or -1 with err. */
int am_silence_state(const char *body, size_t len, char *state, size_t statelen, char *err,
                     size_t errlen);
/* The undo record: {"silence": ID or null, "token", "url", "comment"}.
 * The reader gives the ID (NULL while only the intent was recorded) and
 * the token; -1 when the record is neither. */
json_t *am_undo(const char *id, const char *token, const char *shown_url, const char *comment);
int am_undo_read(const json_t *undo, const char **id, const char **token);

#endif
