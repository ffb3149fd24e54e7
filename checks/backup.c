/* SPDX-License-Identifier: MIT */
/* The backup check family.  (Its types arrive with the family's issue.) */
#include "gate/module.h"

const struct gate_module gate_builtin_backup = {
	GATE_ABI_VERSION, "backup", "0.1.0", NULL, 0,
};
