/* SPDX-License-Identifier: MIT */
/* The list of the built-in lock and maintenance kinds (builtin.h).  A new
 * kind is added here, and nowhere in the core. */
#include <stddef.h>

#include "builtin.h"

const struct lock_kind *const gate_lock_kinds[] = {
	&hold_lock_file,
	&hold_lock_postgres,
	&hold_lock_etcd,
	NULL,
};

const struct maint_kind *const gate_maint_kinds[] = {
	&hold_maint_patroni,
	&hold_maint_alertmanager,
	NULL,
};
