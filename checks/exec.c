/* SPDX-License-Identifier: MIT */
/* The exec check family.  (Its types arrive with the family's issue.) */
#include "gate/module.h"

const struct gate_module gate_builtin_exec = {
	GATE_ABI_VERSION, "exec", "0.1.0", NULL, 0,
};
