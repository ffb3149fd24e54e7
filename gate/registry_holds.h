/* SPDX-License-Identifier: MIT */
/* The lock and maintenance kinds of the registry (registry.h declares
 * registry_add_holds, registry_find_lock and registry_find_maint; all are
 * in gate/registry_holds.c): handed in as lists (unit tests and tools, which
 * link holds/), or left to gate's part part-holds.so (gate/part.h), loaded
 * the first time a kind is looked up.  Never prints. */
#ifndef GATE_REGISTRY_HOLDS_H
#define GATE_REGISTRY_HOLDS_H

#include "registry.h"

/* The kinds are those of part-holds.so, loaded when first needed. */
void registry_add_holds_part(struct gate_registry *reg);

/* 0 when the kinds are at hand (part-holds.so loaded now if it is where
 * they come from and was not yet), -1 with err naming the part and why
 * it cannot be loaded: then no kind is known, and whatever needs one is
 * an error (a runbook with `lock:` is invalid), never a run without it. */
int registry_holds_ready(const struct gate_registry *reg, struct gate_error *err);

/* The kinds as lists, NULL-terminated (the part loaded if it is where
 * they come from); NULL when none are at hand. */
const struct lock_kind *const *registry_lock_kinds(const struct gate_registry *reg);
const struct maint_kind *const *registry_maint_kinds(const struct gate_registry *reg);

#endif
