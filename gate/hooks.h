/* SPDX-License-Identifier: MIT */
/*
 * Git hooks: `.gate/hooks.yaml` says which runbooks guard which refs for
 * each hook, and `gate hook run HOOK` reads what Git gives the hook on
 * stdin, evaluates each matching runbook once and refuses the push while
 * any blocks.
 *
 *   version: 1
 *   hooks:
 *     pre-push:
 *       - refs: ["refs/heads/main", "refs/tags/v*"]
 *         runbook: deploy/runbooks/production.yaml
 *
 * Ref patterns are fnmatch(3) globs without FNM_PATHNAME (so refs/tags/v*
 * matches refs/tags/v1.2 and refs/tags/v1/rc) and must start with "refs/":
 * a pattern like "main" would never match and silently guard nothing.
 * Runbook paths are relative to the repository top unless absolute.  For
 * pre-push (on the pusher's machine) that is the work tree: a convenience
 * the pusher controls, not a control.  For the server-side pre-receive and
 * update it is the git directory (the bare repository's directory, or .git
 * of a non-bare one): files on the server that no push can write.  gate
 * never reads pushed objects.
 *
 * Library code: never prints, never exits; errors carry file:line:col.
 */
#ifndef GATE_HOOKS_H
#define GATE_HOOKS_H

#include <stddef.h>

#include "error.h"

/* Validate PATH as a hooks configuration.  Returns 1 when the file is a
 * hooks config and is valid, -1 with err (file:line:col) when it is a hooks
 * config with errors, 0 when it is not a hooks config (its top level is not
 * a mapping with `hooks:` and without `checks:`). */
int hooks_lint_file(const char *path, struct gate_error *err);
/* The same for `gate lint`; when valid, *warning (malloc'd, else NULL;
 * warning may be NULL) names the hooks that have no rules: installed for
 * them, the hook refuses every push. */
int hooks_lint(const char *path, char **warning, struct gate_error *err);

/* Where the configuration lives, relative to the repository top. */
#define HOOKS_CONFIG_PATH ".gate/hooks.yaml"
/* The line by which `gate hook install` recognises a hook it wrote. */
#define HOOKS_MARKER "# gate-hook v1"

struct hook_rule {
	char **refs; /* NULL-terminated globs */
	size_t nrefs;
	char *runbook; /* as written */
	int line, col; /* of the rule's mapping */
};

struct hook_set {
	char *hook; /* "pre-push", "pre-receive", "update" */
	struct hook_rule *rules;
	size_t nrules;
};

struct hooks_config {
	char *path;
	struct hook_set *sets;
	size_t nsets;
};

/* The hooks gate knows how to read (pre-push, pre-receive, update). */
int hooks_known(const char *hook);
/* pre-receive and update: they run on the server, and read their
 * configuration and runbooks from the git directory, never from a work
 * tree (which a push can change, receive.denyCurrentBranch=updateInstead). */
int hooks_server_side(const char *hook);

/* Load and validate; 0, or -1 with err.  Release with hooks_config_release
 * in both cases. */
int hooks_load(struct hooks_config *hc, const char *path, struct gate_error *err);
void hooks_config_release(struct hooks_config *hc);
const struct hook_set *hooks_find(const struct hooks_config *hc, const char *hook);

/* One ref update, as Git describes it to the hook. */
struct ref_update {
	char *ref;     /* the ref that changes (pre-push: the remote ref) */
	char *old_oid; /* may be all zeros (a new ref) */
	char *new_oid; /* all zeros: the ref is deleted */
};

/* Parse the hook's stdin: pre-push "<local ref> <local oid> <remote ref>
 * <remote oid>" lines, pre-receive "<old oid> <new oid> <ref>" lines.  A
 * malformed line is an error (the push is refused, never waved through). */
int hooks_parse_updates(const char *hook, const char *text, struct ref_update **out, size_t *n,
                        struct gate_error *err);
void ref_updates_free(struct ref_update *u, size_t n);
int oid_is_zero(const char *oid);
int hooks_ref_matches(const struct hook_rule *rule, const char *ref);

/* A runbook to evaluate and the refs that brought it in. */
struct hook_match {
	const char *runbook; /* points into the config */
	char **refs;         /* NULL-terminated, owned */
	size_t nrefs;
};

/* The distinct runbooks guarding the updates, in configuration order.
 * Deleted refs and refs no rule names contribute nothing. */
void hooks_match(const struct hook_set *set, const struct ref_update *u, size_t n,
                 struct hook_match **out, size_t *nout);
void hook_matches_free(struct hook_match *m, size_t n);

/* RUNBOOK resolved against the repository top unless absolute (new string). */
char *hooks_runbook_path(const char *top, const char *runbook);

/* Run git with args (argv[0] "git"), capture its stdout with the trailing
 * newline removed.  0, or -1 with err (git missing, or non-zero exit: its
 * stderr's first line in the message). */
int hooks_git(char *const *argv, char **out, struct gate_error *err);

/* The hook script `gate hook install` writes. */
char *hooks_script_text(const char *gate, const char *hook, const char *config);

#endif
