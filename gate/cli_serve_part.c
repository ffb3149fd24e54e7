/* SPDX-License-Identifier: MIT */
/* part-serve.so (gate/part.h): gate serve, for gate/cli_part.c. */
#include "cli_serve.h"
#include "part.h"

static const struct gate_part_serve serve = {serve_command};

GATE_PART_DEFINE(serve, &serve);
