/* SPDX-License-Identifier: MIT */
/* The postgres check family.  (Its types arrive with the family's issue.) */
#include "gate/module.h"

const struct gate_module gate_builtin_postgres = {
	GATE_ABI_VERSION, "postgres", "0.1.0", NULL, 0,
};
