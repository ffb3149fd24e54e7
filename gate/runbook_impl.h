/* SPDX-License-Identifier: MIT */
/*
 * The runbook loader's private parts, shared by its rooms (runbook.h is
 * the public face):
 *
 *   runbook.c         the walk: top-level settings, checks, the second
 *                     pass over the files, ids, runbook_load/_release,
 *                     allow_commands
 *   runbook_vars.c    variables and ${...} substitution, secrets from
 *                     ${env:...}, --var
 *   runbook_files.c   reading the runbook and its includes: trust, cycles,
 *                     each file's header
 *   runbook_params.c  a check's `with:` converted by its type's parameter
 *                     table (module.h's normalised JSON), defaults, the
 *                     module's validate()
 *   runbook_windows.c windows and freezes
 *   runbook_holds.c   lock:, maintenance:, recheck:, confirm:
 *   runbook_notify.c  notify:
 *
 * Nothing here prints or exits; every error goes to L->err (first wins).
 */
#ifndef GATE_RUNBOOK_IMPL_H
#define GATE_RUNBOOK_IMPL_H

#include <stddef.h>

#include <jansson.h>

#include "registry.h"
#include "runbook.h"
#include "yamltree.h"

struct var {
	char *name;
	char *value;                /* as written until resolved, then with ${env:...} done */
	const struct yt_node *node; /* where it was written (NULL: --var) */
	int resolved;               /* env lookups happen at first use (see resolve_var) */
	char **envs;                /* values of ${env:...} it contains (for secrets) */
	char **env_names;           /* and their names, parallel (for messages) */
	size_t nenvs, nenv_names;
	int defined; /* in a runbook or policy file */
	int from_cli;
	int used;
};

struct file_rec {
	struct yt_doc doc;
	size_t rbidx; /* its index in rb->files */
	size_t *incs; /* included file_recs, in include order */
	size_t nincs;
};

struct default_entry {
	const struct gate_param *param;
	json_t *value;
};

struct loader {
	struct runbook *rb;
	const struct runbook_load_opts *opts;
	int as_policy; /* runbook_load_policy(): the top file is a policy */
	struct gate_registry *reg;
	struct gate_error *err;
	struct file_rec *files;
	size_t nfiles;
	size_t chain[RUNBOOK_MAX_INCLUDE_DEPTH + 2]; /* file_recs being read */
	int chain_len;
	struct var *vars;
	size_t nvars;
	size_t *var_slots; /* hash of var names: index + 1, 0 = empty */
	size_t var_cap;    /* a power of two, at least twice nvars */
	/* ${env:...} values met while converting one parameter, and the
	 * names of the environment variables they came from (parallel) */
	char **scratch;
	char **scratch_env;
	const struct yt_node **scratch_node; /* the scalar it went into */
	size_t nscratch, scratch_alloc;
	int secret_param;  /* converting a GATE_PF_SECRET parameter */
	char **check_envs; /* every ${env:...} value in the current check's with */
	size_t ncheck_envs;
	struct default_entry *defaults;
	size_t ndefaults;
	struct rb_pos *id_pos; /* of each check's id, parallel to rb->checks */
	size_t checks_alloc;
	char *unavailable; /* why types may be missing, when modules failed */
};

/* ---- runbook.c: small helpers ---- */

static inline int rb_is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline int rb_is_alnum_(char c)
{
	return rb_is_alpha_(c) || (c >= '0' && c <= '9');
}

/* [a-z0-9][a-z0-9._-]*: a runbook's name, a check's id. */
int rb_valid_name(const char *s);
/* Room for item n of an array whose capacity is implicit (see runbook.c). */
void *rb_grow1(void *p, size_t n, size_t size);
/* Append to a NULL-terminated vector of n items (NULL or from rb_grow1). */
void rb_strv_push(char ***v, size_t *n, char *s);
struct rb_pos rb_pos_of(struct loader *L, const struct file_rec *f, const struct yt_node *n);

/* ---- runbook_vars.c ---- */

/* Resolve ${name}, ${env:NAME} and $${ in s (the value of scalar n).
 * env_only: in a var's value, where other vars may not be used. */
int rb_interpolate(struct loader *L, const struct yt_node *n, const char *s, int env_only,
                   char **out);
/* A non-null scalar, interpolated. */
int rb_get_istring(struct loader *L, const struct yt_node *n, char **out);
/* A file's vars: (re)defined, syntax checked, nothing looked up yet. */
int rb_load_vars(struct loader *L, const struct yt_node *vars);
int rb_apply_cli_vars(struct loader *L);
/* After the second pass: a --var nothing defines or uses is a typo. */
int rb_check_cli_vars_used(struct loader *L);
/* The ${env:...} values met since the last clear: kept in check_envs,
 * or made secrets of the runbook (-1 when one cannot be masked). */
void rb_scratch_clear(struct loader *L);
int rb_scratch_to_secrets(struct loader *L, const struct yt_node *n);
/* How an error message shows the text s of a value (see runbook_vars.c). */
char *rb_shown_value(struct loader *L, size_t mark, const char *s);
void rb_vars_release(struct loader *L);

/* ---- runbook_files.c ---- */

/* Read `path` and, depth first, what it includes (inc_at: the include's
 * node, NULL for the runbook).  *out: its file_rec, or SIZE_MAX when the
 * file was read before. */
int rb_load_file(struct loader *L, const char *path, const struct yt_node *inc_at, size_t *out);

/* ---- runbook_params.c ---- */

/* Whose parameters are converted, for the messages and the rules. */
struct rb_param_owner {
	const char *what; /* "check 'disk'", "lock 1 (file)" */
	const char *kind; /* "check type", "lock kind", "maintenance kind" */
	const char *name; /* the type's or the kind's name */
	const struct gate_param *params;
	int (*validate)(const json_t *params, const char **param, char *msg, size_t msglen);
};
/* *out from the mapping `map` (NULL: none) by o's parameter table:
 * converted, defaults filled, o->validate; errors at the key or at `at`. */
int rb_convert_params(struct loader *L, const struct rb_param_owner *o, const struct yt_node *at,
                      const struct yt_node *map, json_t **out);
/* c->params from `with` (NULL: none) by c->ct's parameter table. */
int rb_convert_with(struct loader *L, struct rb_check *c, const struct yt_node *check,
                    const struct yt_node *with);
/* Any YAML value to JSON by the YAML core schema (for a check whose type
 * is unavailable: kept as written, resolved). */
json_t *rb_conv_json(struct loader *L, const struct yt_node *n, int interp);

/* ---- runbook_windows.c ---- */

int rb_load_window(struct loader *L, const struct file_rec *f, const struct yt_node *n);
int rb_load_freeze(struct loader *L, const struct file_rec *f, const struct yt_node *n);

/* ---- runbook_holds.c ---- */

/* lock:, maintenance:, recheck:, confirm: of the top-level runbook
 * (gate/hold.h), after every check is loaded (recheck names them). */
int rb_load_holds(struct loader *L, const struct file_rec *f);
void rb_holds_release(struct runbook *rb);

/* ---- runbook_notify.c ---- */

/* notify: of the top-level runbook (gate/notify.h). */
int rb_load_notify(struct loader *L, const struct file_rec *f);
void rb_notify_release(struct runbook *rb);

#endif
