/* SPDX-License-Identifier: MIT */
/* The lock and maintenance kinds built into gate (gate/hold.h), handed to
 * the core by the program as the check modules are. */
#ifndef GATE_HOLDS_BUILTIN_H
#define GATE_HOLDS_BUILTIN_H

#include "gate/hold.h"

/* NULL-terminated. */
extern const struct lock_kind *const gate_lock_kinds[];
extern const struct maint_kind *const gate_maint_kinds[];

/* holds/lock_etcd.c */
extern const struct lock_kind hold_lock_etcd;

#endif
