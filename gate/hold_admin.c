/* SPDX-License-Identifier: MIT */
/*
 * What gate holds, looked at without holding it (hold_run.h): the dry run
 * (`gate check`: each lock probed, each maintenance item described, the
 * state file looked at), `gate lock status`, `gate lock release` and
 * `gate maintenance resume`.
 */
#include <stdlib.h>
#include <string.h>

#include "hold_impl.h"
#include "kit/alloc.h"

/* Each lock probed; a busy or unknown one blocks.  0 or -1. */
static int probe_locks(struct hold_session *hs)
{
	int rc = 0;
	json_t *list = hold_report_list(hs, "locks");
	for (size_t i = 0; i < hs->rb->nlocks; i++) {
		const struct rb_hold *h = &hs->rb->locks[i];
		struct hold_result res = {0};
		h->lock->probe(h->params, hold_deadline(), &res);
		json_array_append_new(list, hold_entry(h, hold_state_name(res.state, 1), &res));
		if (res.state == HOLD_BUSY) {
			hold_block(hs, "maintenance in progress: %s (lock %zu: %s)",
			           res.holder ? res.holder : "an unknown holder", i + 1, h->label);
			rc = -1;
		} else if (res.state != HOLD_TAKEN) {
			hold_block(hs, "lock %zu (%s): cannot tell whether it is free: %s", i + 1,
			           h->label, res.message ? res.message : "no answer");
			rc = -1;
		}
		hold_result_release(&res);
	}
	return rc;
}

int hold_check(struct hold_session *hs)
{
	static const char *const modes[] = {"none", "hostname", "ssh"};
	const struct runbook *rb = hs->rb;
	int rc = hold_state_look(hs);
	json_object_set_new(hs->report, "state_file",
	                    rb->nmaint ? json_string(hs->priv->state_path) : json_null());
	if (probe_locks(hs) < 0)
		rc = -1;
	json_t *list = hold_report_list(hs, "maintenance");
	for (size_t i = 0; i < rb->nmaint; i++) {
		const struct rb_hold *h = &rb->maint[i];
		struct hold_result res = {0};
		h->maint->describe(h->params, hold_deadline(), &res);
		int ok = res.state == HOLD_TAKEN;
		json_array_append_new(list, hold_entry(h, ok ? "would" : "error", &res));
		/* gate run could not turn it on either: fail closed */
		if (!ok) {
			hold_block(hs, "maintenance item %zu (%s): %s", i + 1, h->label,
			           res.message ? res.message : "cannot tell what it would do");
			rc = -1;
		}
		hold_result_release(&res);
	}
	if (rb->confirm != RB_CONFIRM_NONE)
		json_object_set_new(hs->report, "confirm",
		                    json_pack("{s:s, s:b, s:s}", "mode", modes[rb->confirm],
		                              "confirmed", 0, "how", "would ask"));
	return rc;
}

int hold_lock_status(struct hold_session *hs)
{
	int rc = hold_state_look(hs);
	return probe_locks(hs) < 0 ? -1 : rc;
}

int hold_lock_release(struct hold_session *hs)
{
	int rc = 0;
	json_t *list = hold_report_list(hs, "locks");
	for (size_t i = 0; i < hs->rb->nlocks; i++) {
		const struct rb_hold *h = &hs->rb->locks[i];
		struct hold_result res = {0};
		const char *state;
		if (!h->lock->force_release) {
			res.message = xstrdup("nothing to release: the kernel or the server frees "
			                      "it when its holder ends");
			state = "left";
		} else {
			h->lock->force_release(h->params, hold_deadline(), &res);
			state = res.state == HOLD_TAKEN ? "released"
			                                : hold_state_name(res.state, 0);
			if (res.state != HOLD_TAKEN) {
				hold_block(hs, "lock %zu (%s): %s", i + 1, h->label,
				           res.message ? res.message : "cannot be released");
				rc = -1;
			}
		}
		json_array_append_new(list, hold_entry(h, state, &res));
		hold_result_release(&res);
	}
	return rc;
}

/* The runbook's item that a state file's entry is about: same index,
 * kind and parameters; NULL (with a reason) when the runbook changed. */
static const struct rb_hold *resumed_item(struct hold_session *hs, const json_t *it)
{
	json_int_t idx = json_integer_value(json_object_get(it, "index"));
	const char *kind = json_string_value(json_object_get(it, "kind"));
	const char *hash = json_string_value(json_object_get(it, "params_hash"));
	const char *label = json_string_value(json_object_get(it, "label"));
	const struct rb_hold *h = idx >= 0 && (size_t)idx < hs->rb->nmaint ? &hs->rb->maint[idx]
	                                                                   : NULL;
	char *now = h ? hold_params_hash(h->params) : NULL;
	int same = h && kind && hash && !strcmp(h->maint->name, kind) && !strcmp(now, hash);
	free(now);
	if (same)
		return h;
	hold_block(hs,
	           "maintenance item %lld (%s): the runbook no longer has it as it began; "
	           "undo it by hand, then remove %s",
	           (long long)idx + 1, label ? label : "?", hs->priv->state_path);
	return NULL;
}

int hold_resume(struct hold_session *hs)
{
	int r = hold_state_adopt(hs);
	if (r != 0)
		return r;
	json_t *items = json_deep_copy(json_object_get(hs->priv->state, "items"));
	json_t *list = hold_report_list(hs, "maintenance");
	int rc = 0;
	for (size_t k = json_array_size(items); k-- > 0;) {
		json_t *it = json_array_get(items, k);
		const struct rb_hold *h = resumed_item(hs, it);
		if (!h) {
			rc = -1;
			continue;
		}
		size_t i = (size_t)(h - hs->rb->maint);
		const json_t *undo = json_object_get(it, "undo");
		struct hold_result res = {0};
		if (json_is_null(undo) || !undo)
			/* killed before the kind recorded anything: it changed nothing */
			res.message = xstrdup("nothing was recorded before the run ended: "
			                      "nothing to undo");
		else
			h->maint->end(h->params, undo, hold_deadline(), &res);
		json_t *e = hold_entry(h, res.state == HOLD_TAKEN ? "off" : "error", &res);
		json_object_set(e, "undo", undo ? (json_t *)undo : json_null());
		json_array_append_new(list, e);
		if (res.state != HOLD_TAKEN) {
			hold_block(hs, "maintenance item %zu (%s): %s", i + 1, h->label,
			           res.message ? res.message : "cannot be turned off");
			rc = -1;
		}
		/* The state file must say what is still on: a write that fails
		 * fails the resume. */
		if (hold_state_clear(hs, i,
		                     res.state == HOLD_TAKEN ? NULL
		                     : res.message           ? res.message
		                                             : "cannot be turned off") < 0)
			rc = -1;
		hold_result_release(&res);
	}
	json_decref(items);
	hold_state_end(hs);
	return rc;
}
