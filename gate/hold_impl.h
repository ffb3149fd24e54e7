/* SPDX-License-Identifier: MIT */
/* The private parts shared by gate/hold.c (the order of a run),
 * gate/hold_state.c (the state file) and gate/hold_admin.c (the dry run
 * and the commands); hold_run.h is the public face. */
#ifndef GATE_HOLD_IMPL_H
#define GATE_HOLD_IMPL_H

#include <jansson.h>
#include <stdint.h>

#include "hold_run.h"

struct hold_keeper;

struct hold_private {
	void **handles; /* per lock: the kind's handle while held */
	struct hold_keeper *keeper;
	int state_lock_fd; /* DIR/NAME.lock, flock'd LOCK_EX while maintenance may be on */
	char *state_path;  /* DIR/NAME.state */
	json_t *state;     /* the state file's document while maintenance is on */
	json_t **undo;     /* per maintenance item: its undo record, once begun */
	int *begun;        /* per maintenance item: begin was called (and succeeded: 2) */
};

/* hs->report's array `key` ("locks", "maintenance"), created on demand. */
json_t *hold_report_list(struct hold_session *hs, const char *key);
/* One entry of a list: {kind, label, state, holder, message, details} from res. */
json_t *hold_entry(const struct rb_hold *h, const char *state, const struct hold_result *res);
/* "taken", "busy", "error" (or, for a probe, "free" instead of "taken"). */
const char *hold_state_name(enum hold_state st, int probe);
/* The deadline of one call to a kind. */
int64_t hold_deadline(void);

/* ---- gate/hold_state.c ---- */

/* Before maintenance mode: take DIR/NAME.lock (LOCK_EX, without waiting)
 * and make sure no state file is left over.  0 taken; -1 blocked
 * (hs->reasons: a run in progress, an interrupted run, or an error). */
int hold_state_begin(struct hold_session *hs);
/* The dry run: a state file left over, or a run in progress, blocks.
 * 0 none; -1 blocked. */
int hold_state_look(struct hold_session *hs);
/* Item i's undo record (NULL: begin is about to be called, nothing
 * recorded yet; json null in the file), written and fsync'd. 0 or -1. */
int hold_state_set(struct hold_session *hs, size_t i, const json_t *undo);
/* Item i is off again: out of the state file (removed when empty). */
int hold_state_clear(struct hold_session *hs, size_t i, const char *end_error);
/* Resume: take DIR/NAME.lock and make the state file's document the
 * session's.  1 no state file; 0 adopted; -1 blocked (a run in
 * progress, an unreadable file). */
int hold_state_adopt(struct hold_session *hs);
/* Let go of DIR/NAME.lock. */
void hold_state_end(struct hold_session *hs);
/* The state file as written (NULL when there is none; -1 in *rc with a
 * reason when it cannot be read). */
json_t *hold_state_read(struct hold_session *hs, int *rc);
/* FNV-1a of the item's parameters, as text: tells resume that the
 * runbook's item is still the one that began. */
char *hold_params_hash(const json_t *params);

#endif
