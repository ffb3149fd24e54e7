/* SPDX-License-Identifier: MIT */
/* The http check family.  (Its types arrive with the family's issue.) */
#include "gate/module.h"

const struct gate_module gate_builtin_http = {
	GATE_ABI_VERSION, "http", "0.1.0", NULL, 0,
};
