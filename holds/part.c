/* SPDX-License-Identifier: MIT */
/* part-holds.so (gate/part.h): the lock and maintenance kinds of
 * holds/builtin.c, for gate's registry (gate/registry_holds.h). */
#include "gate/part.h"

#include "builtin.h"

static const struct gate_part_holds kinds = {gate_lock_kinds, gate_maint_kinds};

GATE_PART_DEFINE(holds, &kinds);
