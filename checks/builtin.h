/* SPDX-License-Identifier: MIT */
/*
 * The check modules built into gate, one per family (checks/<family>.c).
 * Each family ships as a shared object of its own, <family>.so in gate's
 * family directory (gate/selfdir.h), through the public module ABI
 * (<gate/module.h>), and gate loads one only when a runbook uses one of
 * its types: the program hands the registry the index of their types
 * (gate_family_index, generated at build time by checks/mkindex.c from the
 * built objects).  The same families are also in the static archive
 * gatechecks, listed here for the unit tests, tools and fuzz targets that
 * link them (registry_add_builtins(reg, gate_builtin_modules)).  The core
 * names none of them.
 */
#ifndef GATE_CHECKS_BUILTIN_H
#define GATE_CHECKS_BUILTIN_H

#include "gate/module.h"
#include "gate/registry.h"

/* A family's descriptor, in checks/<family>.c:
 *   GATE_FAMILY_MODULE(exec) = {.abi_version = GATE_ABI_VERSION, ...};
 * gate_builtin_<family> in the static archive; compiled for the family's
 * shared object (GATE_FAMILY_SO), the one symbol it exports, gate_module. */
#ifdef GATE_FAMILY_SO
#define GATE_FAMILY_MODULE(family) GATE_EXPORT const struct gate_module gate_module
#else
#define GATE_FAMILY_MODULE(family) const struct gate_module gate_builtin_##family
#endif

extern const struct gate_module gate_builtin_exec;
extern const struct gate_module gate_builtin_postgres;
extern const struct gate_module gate_builtin_backup;
extern const struct gate_module gate_builtin_http;
extern const struct gate_module gate_builtin_systemd;
extern const struct gate_module gate_builtin_rehearse;

/* All of them, in registration order, NULL-terminated. */
extern const struct gate_module *const gate_builtin_modules[];

/* The index of the families' types, in the same order, terminated by an
 * entry whose type is NULL: generated when gate is built (the build runs
 * checks/mkindex.c on the families' shared objects) and compiled into the
 * executable only. */
extern const struct gate_family_type gate_family_index[];

#endif
