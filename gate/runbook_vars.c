/* SPDX-License-Identifier: MIT */
/*
 * The runbook loader's variables (runbook_impl.h): a file's vars, --var,
 * and the substitution of ${name}, ${env:NAME} and $${ in values.
 *
 * A var's value may use ${env:NAME} and $${, not other vars (no
 * resolution order to reason about).  Its syntax is checked when read,
 * its environment at first use: a policy's default such as
 * "${env:PROM_TOKEN}" that the includer replaces needs no PROM_TOKEN.
 * --var values are taken literally.  A --var NAME that the runbook
 * neither defines nor uses is an error: a misspelt --var would otherwise
 * leave the checks pointing at the runbook's default (another host),
 * silently.
 *
 * Every ${env:...} value that goes into a value is remembered (the
 * scratch) until the parameter it went into is known: a secret parameter
 * makes it a secret of the runbook, masked in every report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "runbook_impl.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"

static int valid_var_name(const char *s, size_t n)
{
	if (!n || !rb_is_alpha_(s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!rb_is_alnum_(s[i]) && s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

static int valid_env_name(const char *s, size_t n)
{
	if (!n || !rb_is_alpha_(s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!rb_is_alnum_(s[i]))
			return 0;
	return 1;
}

/* FNV-1a: a vars table may hold tens of thousands of names (a 1 MiB
 * file), so lookups must not be linear. */
static size_t name_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static struct var *find_var(struct loader *L, const char *name, size_t n)
{
	if (!L->var_cap)
		return NULL;
	size_t mask = L->var_cap - 1;
	for (size_t h = name_hash(name, n) & mask; L->var_slots[h]; h = (h + 1) & mask) {
		struct var *v = &L->vars[L->var_slots[h] - 1];
		if (!strncmp(v->name, name, n) && v->name[n] == '\0')
			return v;
	}
	return NULL;
}

static void var_slots_insert(struct loader *L, size_t idx)
{
	size_t mask = L->var_cap - 1;
	const char *name = L->vars[idx].name;
	size_t h = name_hash(name, strlen(name)) & mask;
	while (L->var_slots[h])
		h = (h + 1) & mask;
	L->var_slots[h] = idx + 1;
}

/* A new var at the end of L->vars; the table stays at most half full. */
static struct var *add_var(struct loader *L, const char *name)
{
	L->vars = rb_grow1(L->vars, L->nvars, sizeof(*L->vars));
	struct var *v = &L->vars[L->nvars++];
	memset(v, 0, sizeof(*v));
	v->name = xstrdup(name);
	if (L->nvars * 2 > L->var_cap) {
		free(L->var_slots);
		L->var_cap = L->var_cap ? L->var_cap * 2 : 64;
		L->var_slots = xcalloc(L->var_cap, sizeof(*L->var_slots));
		for (size_t i = 0; i < L->nvars; i++)
			var_slots_insert(L, i);
	} else {
		var_slots_insert(L, L->nvars - 1);
	}
	return v;
}

static void scratch_add(struct loader *L, const char *s, const char *env, const struct yt_node *n)
{
	if (L->nscratch == L->scratch_alloc) {
		L->scratch_alloc = L->scratch_alloc ? L->scratch_alloc * 2 : 8;
		L->scratch = xrealloc(L->scratch, L->scratch_alloc * sizeof(*L->scratch));
		L->scratch_env = xrealloc(L->scratch_env,
		                          L->scratch_alloc * sizeof(*L->scratch_env));
		L->scratch_node = xrealloc(L->scratch_node,
		                           L->scratch_alloc * sizeof(*L->scratch_node));
	}
	L->scratch[L->nscratch] = xstrdup(s);
	L->scratch_node[L->nscratch] = n;
	L->scratch_env[L->nscratch++] = xstrdup(env);
}

/* The scratch values are kept in check_envs (the module's validate()
 * message is masked with them), then dropped. */
void rb_scratch_clear(struct loader *L)
{
	for (size_t i = 0; i < L->nscratch; i++) {
		rb_strv_push(&L->check_envs, &L->ncheck_envs, L->scratch[i]);
		free(L->scratch_env[i]);
	}
	L->nscratch = 0;
}

/* The scratch values become secrets of the runbook (deduplicated).  A
 * secret that reports could not mask is refused here, at the scalar it
 * went into (else at n), rather than silently left unmasked: an empty one (there
 * is nothing to mask, and an empty password or token is a mistake) or
 * one shorter than REDACT_MIN_SECRET_LEN (masking "ab" everywhere would
 * garble every report; such a value is no secret anyway). */
int rb_scratch_to_secrets(struct loader *L, const struct yt_node *n)
{
	struct runbook *rb = L->rb;
	for (size_t i = 0; i < L->nscratch; i++) {
		size_t len = strlen(L->scratch[i]);
		if (L->scratch_node[i])
			n = L->scratch_node[i];
		if (len < REDACT_MIN_SECRET_LEN) {
			if (!len)
				yt_error(L->err, n,
				         "${env:%s} is empty, and its value would be a secret (a "
				         "password, a token, a header): set it",
				         L->scratch_env[i]);
			else
				yt_error(L->err, n,
				         "the value of ${env:%s} would be a secret, but it has "
				         "only %zu character%s: "
				         "reports can mask a secret of at least %d characters",
				         L->scratch_env[i], len, len == 1 ? "" : "s",
				         REDACT_MIN_SECRET_LEN);
			rb_scratch_clear(L);
			return -1;
		}
	}
	for (size_t i = 0; i < L->nscratch; i++) {
		char *s = L->scratch[i];
		int seen = 0;
		for (size_t j = 0; j < rb->nsecrets && !seen; j++)
			seen = !strcmp(rb->secrets[j], s);
		if (!seen)
			rb_strv_push(&rb->secrets, &rb->nsecrets, xstrdup(s));
	}
	rb_scratch_clear(L);
	return 0;
}

/* How an error message shows the text s of a value: as it is, in quotes,
 * unless ${env:...} went into it (scratch entries from `mark` on) or the
 * parameter is secret: then '***' and where the value came from.  Error
 * messages reach terminals and CI logs; a password there is a leak. */
char *rb_shown_value(struct loader *L, size_t mark, const char *s)
{
	if (L->nscratch <= mark && !L->secret_param)
		return xasprintf("'%s'", s);
	struct strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, "'***' (");
	if (L->nscratch <= mark)
		strbuf_adds(&sb, "a secret parameter");
	for (size_t i = mark; i < L->nscratch; i++) {
		int dup = 0;
		for (size_t j = mark; j < i && !dup; j++)
			dup = !strcmp(L->scratch_env[j], L->scratch_env[i]);
		if (!dup)
			strbuf_addf(&sb, "%s${env:%s}", i == mark ? "value from " : ", ",
			            L->scratch_env[i]);
	}
	strbuf_adds(&sb, ")");
	return strbuf_detach(&sb);
}

/* ---- ${...} ---- */

static int resolve_var(struct loader *L, struct var *v);

/* ${env:NAME} (name[0..len) is "env:NAME"): its value, remembered in the
 * scratch (it may go into a secret). */
static int interp_env(struct loader *L, const struct yt_node *n, const char *name, size_t len,
                      struct strbuf *sb)
{
	if (!valid_env_name(name + 4, len - 4))
		return yt_error(L->err, n, "invalid environment variable name '%.*s'",
		                (int)(len - 4), name + 4);
	char *ename = xstrndup(name + 4, len - 4);
	const char *v = getenv(ename);
	if (!v) {
		yt_error(L->err, n, "environment variable '%s' is not set", ename);
		free(ename);
		return -1;
	}
	strbuf_adds(sb, v);
	scratch_add(L, v, ename, n);
	free(ename);
	return 0;
}

static int unknown_var(struct loader *L, const struct yt_node *n, const char *name, size_t len)
{
	const char **cands = xcalloc(L->nvars + 1, sizeof(*cands));
	for (size_t i = 0; i < L->nvars; i++)
		cands[i] = L->vars[i].name;
	char *vname = xstrndup(name, len);
	const char *near = yt_closest(vname, cands, L->nvars);
	if (near)
		yt_error(L->err, n, "unknown variable '%s'; did you mean '%s'?", vname, near);
	else
		yt_error(L->err, n, "unknown variable '%s'", vname);
	free(vname);
	free(cands);
	return -1;
}

/* ${name}: the var's value (resolved at its first use), and the
 * ${env:...} values in it, remembered in the scratch. */
static int interp_var(struct loader *L, const struct yt_node *n, const char *name, size_t len,
                      struct strbuf *sb)
{
	if (!valid_var_name(name, len))
		return yt_error(L->err, n, "invalid variable name '%.*s'", (int)len, name);
	struct var *v = find_var(L, name, len);
	if (!v)
		return unknown_var(L, n, name, len);
	if (resolve_var(L, v) < 0)
		return -1;
	v->used = 1;
	strbuf_adds(sb, v->value);
	for (size_t i = 0; i < v->nenvs; i++)
		scratch_add(L, v->envs[i], v->env_names[i], n);
	return 0;
}

/* One ${...} at p (p[0..1] is "${"), appended to sb; *next: past it. */
static int interp_one(struct loader *L, const struct yt_node *n, const char *p, int env_only,
                      struct strbuf *sb, const char **next)
{
	const char *name = p + 2, *end = strchr(name, '}');
	if (!end)
		return yt_error(L->err, n, "unterminated '${' (write '$${' for a literal '${')");
	size_t len = (size_t)(end - name);
	*next = end + 1;
	if (len > 4 && !strncmp(name, "env:", 4))
		return interp_env(L, n, name, len, sb);
	if (env_only)
		return yt_error(L->err, n, "a var may only use ${env:NAME}, not '${%.*s}'",
		                (int)len, name);
	return interp_var(L, n, name, len, sb);
}

int rb_interpolate(struct loader *L, const struct yt_node *n, const char *s, int env_only,
                   char **out)
{
	if (!strchr(s, '$')) {
		*out = xstrdup(s);
		return 0;
	}
	struct strbuf sb = STRBUF_INIT;
	const char *p = s;
	while (*p) {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			strbuf_adds(&sb, "${");
			p += 3;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			strbuf_add(&sb, p, 1);
			p++;
			continue;
		}
		if (interp_one(L, n, p, env_only, &sb, &p) < 0) {
			strbuf_release(&sb);
			return -1;
		}
	}
	*out = strbuf_detach(&sb);
	return 0;
}

/* Resolve a var's ${env:...} at its first use, at its own position; its
 * env values are remembered so every later use can mark them secret. */
static int resolve_var(struct loader *L, struct var *v)
{
	if (v->resolved)
		return 0;
	size_t mark = L->nscratch;
	char *val;
	if (rb_interpolate(L, v->node, v->value, 1, &val) < 0)
		return -1;
	for (size_t i = mark; i < L->nscratch; i++) {
		rb_strv_push(&v->envs, &v->nenvs, L->scratch[i]);
		rb_strv_push(&v->env_names, &v->nenv_names, L->scratch_env[i]);
		L->scratch[i] = L->scratch_env[i] = NULL;
	}
	L->nscratch = mark;
	free(v->value);
	v->value = val;
	v->resolved = 1;
	return 0;
}

/* The syntax of a var's value, checked when it is read even if the var
 * is never used: only ${env:NAME} and $${ (nothing is looked up). */
static int check_var_syntax(struct loader *L, const struct yt_node *n)
{
	for (const char *p = n->value; (p = strchr(p, '$'));) {
		if (p[1] == '$' && p[2] == '{') {
			p += 3;
			continue;
		}
		if (p[1] != '{') {
			p++;
			continue;
		}
		const char *name = p + 2, *end = strchr(name, '}');
		if (!end)
			return yt_error(L->err, n,
			                "unterminated '${' (write '$${' for a literal '${')");
		size_t len = (size_t)(end - name);
		if (len <= 4 || strncmp(name, "env:", 4))
			return yt_error(L->err, n, "a var may only use ${env:NAME}, not '${%.*s}'",
			                (int)len, name);
		if (!valid_env_name(name + 4, len - 4))
			return yt_error(L->err, n, "invalid environment variable name '%.*s'",
			                (int)(len - 4), name + 4);
		p = end + 1;
	}
	return 0;
}

/* A non-null scalar, interpolated. */
int rb_get_istring(struct loader *L, const struct yt_node *n, char **out)
{
	const char *s;
	if (yt_get_string(n, &s, L->err) < 0)
		return -1;
	return rb_interpolate(L, n, s, 0, out);
}

/* ---- the vars of a file, and --var ---- */

static void set_var(struct loader *L, const char *name, const char *value,
                    const struct yt_node *node, int defined, int from_cli)
{
	struct var *v = find_var(L, name, strlen(name));
	if (!v) {
		v = add_var(L, name);
	} else {
		free(v->value);
		strv_free(v->envs);
		strv_free(v->env_names);
		v->envs = v->env_names = NULL;
		v->nenvs = v->nenv_names = 0;
	}
	v->value = xstrdup(value);
	v->node = node;
	v->resolved = node == NULL; /* --var: literal */
	v->defined |= defined;
	v->from_cli |= from_cli;
}

int rb_load_vars(struct loader *L, const struct yt_node *vars)
{
	if (yt_expect(vars, YT_MAPPING, L->err) < 0)
		return -1;
	for (size_t i = 0; i < vars->npairs; i++) {
		const struct yt_node *k = vars->pairs[i].key, *v = vars->pairs[i].value;
		if (!valid_var_name(k->value, k->len))
			return yt_error(
				L->err, k,
				"invalid variable name '%s' (expected [A-Za-z_][A-Za-z0-9_.-]*)",
				k->value);
		const char *s;
		if (yt_get_string(v, &s, L->err) < 0 || check_var_syntax(L, v) < 0)
			return -1;
		set_var(L, k->value, s, v, 1, 0);
	}
	return 0;
}

int rb_apply_cli_vars(struct loader *L)
{
	if (!L->opts)
		return 0;
	for (size_t i = 0; i < L->opts->nvars; i++) {
		const struct rb_var *cv = &L->opts->vars[i];
		if (!cv->name || !valid_var_name(cv->name, strlen(cv->name))) {
			gate_error_set(L->err, "", 0, 0, "invalid --var name '%s'",
			               cv->name ? cv->name : "");
			return -1;
		}
		set_var(L, cv->name, cv->value ? cv->value : "", NULL, 0, 1);
	}
	return 0;
}

/* After the second pass: a --var nothing defines or uses is a typo. */
int rb_check_cli_vars_used(struct loader *L)
{
	for (size_t i = 0; i < L->nvars; i++) {
		const struct var *v = &L->vars[i];
		if (!v->from_cli || v->defined || v->used)
			continue;
		const char **cands = xcalloc(L->nvars + 1, sizeof(*cands));
		size_t n = 0;
		for (size_t j = 0; j < L->nvars; j++)
			if (L->vars[j].defined)
				cands[n++] = L->vars[j].name;
		const char *near = yt_closest(v->name, cands, n);
		if (near)
			gate_error_set(
				L->err, L->rb->path, 0, 0,
				"--var '%s' is not a variable of this runbook; did you mean '%s'?",
				v->name, near);
		else
			gate_error_set(L->err, L->rb->path, 0, 0,
			               "--var '%s' is not a variable of this runbook", v->name);
		free(cands);
		return -1;
	}
	return 0;
}

void rb_vars_release(struct loader *L)
{
	for (size_t i = 0; i < L->nvars; i++) {
		free(L->vars[i].name);
		free(L->vars[i].value);
		strv_free(L->vars[i].envs);
		strv_free(L->vars[i].env_names);
	}
	free(L->vars);
	free(L->var_slots);
	rb_scratch_clear(L);
	free(L->scratch);
	free(L->scratch_env);
	free(L->scratch_node);
	strv_free(L->check_envs);
}
