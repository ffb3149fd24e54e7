/* SPDX-License-Identifier: MIT */
/* The lock and maintenance kinds built into gate (gate/hold.h): gate's
 * part part-holds.so (holds/part.c, gate/part.h), whose lists the registry
 * uses (gate/registry_holds.h); unit tests and tools link them directly. */
#ifndef GATE_HOLDS_BUILTIN_H
#define GATE_HOLDS_BUILTIN_H

#include "gate/hold.h"

/* NULL-terminated. */
extern const struct lock_kind *const gate_lock_kinds[];
extern const struct maint_kind *const gate_maint_kinds[];

/* The kinds, one file each (holds/lock_<name>.c, holds/maint_<name>.c). */
extern const struct lock_kind hold_lock_file;
extern const struct lock_kind hold_lock_postgres; /* lock_postgres.c */
/* maintenance kinds: holds/maint_patroni.c, holds/maint_alertmanager.c */
extern const struct maint_kind hold_maint_patroni;
extern const struct maint_kind hold_maint_alertmanager;
/* holds/lock_etcd.c */
extern const struct lock_kind hold_lock_etcd;

#endif
