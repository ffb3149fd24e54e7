/* SPDX-License-Identifier: MIT */
/* The list of the built-in check modules (builtin.h).  A new family's
 * module is added here and to GATE_FAMILIES in CMakeLists.txt (which
 * builds its shared object and the index), and nowhere in the core. */
#include <stddef.h>

#include "builtin.h"

const struct gate_module *const gate_builtin_modules[] = {
	&gate_builtin_exec,
	&gate_builtin_postgres,
	&gate_builtin_backup,
	&gate_builtin_http,
	&gate_builtin_systemd,
	&gate_builtin_rehearse,
	NULL,
};
