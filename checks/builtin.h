/* SPDX-License-Identifier: MIT */
/*
 * The check modules built into gate, one per family (checks/<family>.c).
 * The core names none of them: the program that links the checks
 * registers them (gate/main.c passes gate_builtin_modules to
 * registry_add_builtins), and so may a test or a fuzz target that needs
 * them.
 */
#ifndef GATE_CHECKS_BUILTIN_H
#define GATE_CHECKS_BUILTIN_H

#include "gate/module.h"

extern const struct gate_module gate_builtin_exec;
extern const struct gate_module gate_builtin_postgres;
extern const struct gate_module gate_builtin_backup;
extern const struct gate_module gate_builtin_http;
extern const struct gate_module gate_builtin_systemd;
extern const struct gate_module gate_builtin_rehearse;

/* All of them, in registration order, NULL-terminated. */
extern const struct gate_module *const gate_builtin_modules[];

#endif
