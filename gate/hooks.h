/* SPDX-License-Identifier: MIT */
/* The Git hook configuration, .gate/hooks.yaml: which runbooks guard which
 * refs for each hook (pre-push, pre-receive).  Library code: never prints,
 * never exits; errors carry file:line:col. */
#ifndef GATE_HOOKS_H
#define GATE_HOOKS_H

#include "error.h"

/* Validate PATH as a hooks configuration.  Returns 1 when the file is a
 * hooks config and is valid, -1 with err (file:line:col) when it is a hooks
 * config with errors, 0 when it is not a hooks config (its top level is not
 * a mapping with `hooks:` and without `checks:`).  Used by `gate lint`. */
int hooks_lint_file(const char *path, struct gate_error *err);

#endif
