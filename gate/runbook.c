/* SPDX-License-Identifier: MIT */
/*
 * The runbook loader (spec/runbook.md).
 *
 * Two passes.  The first reads the runbook and its includes (depth first,
 * each file once, cycles refused) into YAML trees and settles the
 * variables: an include's vars are defaults, the includer's replace them,
 * --var replaces all.  The second walks the trees from the top: the
 * runbook's own windows, freezes and checks, then each include's, with
 * every `${...}` resolved and every `with:` validated against its type's
 * parameter table.  Anything unknown or ambiguous is an error (78) at its
 * file:line:col: a typo must never weaken a gate.
 *
 * Decisions the spec leaves open, made here:
 *  - A file included twice (not a cycle: a diamond) is read once.
 *  - Two includes defining the same var: the later include wins; the
 *    includer still replaces both.
 *  - A var's value may use ${env:NAME} and $${, not other vars (no
 *    resolution order to reason about).  Its syntax is checked when read,
 *    its environment at first use: a policy's default such as
 *    "${env:PROM_TOKEN}" that the includer replaces needs no PROM_TOKEN.
 *    --var values are taken literally.
 *  - A --var NAME that the runbook neither defines nor uses is an error: a
 *    misspelt --var would otherwise leave the checks pointing at the
 *    runbook's default (another host), silently.
 */
#include "runbook.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redact.h"
#include "registry.h"
#include "trust.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"
#include "yamltree.h"

#define CHECK_MAX_RETRIES 100
#define ZONEINFO_DIR "/usr/share/zoneinfo"

struct var {
	char *name;
	char *value;  /* as written until resolved, then with ${env:...} done */
	const struct yt_node *node; /* where it was written (NULL: --var) */
	int resolved; /* env lookups happen at first use (see resolve_var) */
	char **envs;  /* values of ${env:...} it contains (for secrets) */
	char **env_names; /* and their names, parallel (for messages) */
	size_t nenvs, nenv_names;
	int defined;  /* in a runbook or policy file */
	int from_cli;
	int used;
};

struct file_rec {
	struct yt_doc doc;
	size_t rbidx;   /* its index in rb->files */
	size_t *incs;   /* included file_recs, in include order */
	size_t nincs;
};

struct default_entry {
	const struct gate_param *param;
	json_t *value;
};

struct loader {
	struct runbook *rb;
	const struct runbook_load_opts *opts;
	const struct gate_registry *reg;
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
	char *unavailable;     /* why types may be missing, when modules failed */
};

/* ---- small helpers ---- */

static int valid_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static int is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_alnum_(char c)
{
	return is_alpha_(c) || (c >= '0' && c <= '9');
}

static int valid_var_name(const char *s, size_t n)
{
	if (!n || !is_alpha_(s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum_(s[i]) && s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

static int valid_env_name(const char *s, size_t n)
{
	if (!n || !is_alpha_(s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum_(s[i]))
			return 0;
	return 1;
}

/* Room for item n of an array whose capacity is implicit: 8, then the
 * power of two holding n.  Growing by one element per realloc would copy
 * quadratically (a 1 MiB file holds ~40,000 vars or windows). */
static void *grow1(void *p, size_t n, size_t size)
{
	if (!p)
		return xcalloc(n < 8 ? 8 : 2 * n, size);
	if (n >= 8 && !(n & (n - 1)))
		return xrealloc(p, 2 * n * size);
	return p;
}

/* Append to a NULL-terminated vector of n items (NULL or from grow1). */
static void strv_push(char ***v, size_t *n, char *s)
{
	*v = grow1(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

static struct rb_pos pos_of(struct loader *L, const struct file_rec *f,
                            const struct yt_node *n)
{
	struct rb_pos p = {L->rb->files[f->rbidx], n ? n->line : 0,
	                   n ? n->col : 0};
	return p;
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
	L->vars = grow1(L->vars, L->nvars, sizeof(*L->vars));
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

static void scratch_add(struct loader *L, const char *s, const char *env,
                        const struct yt_node *n)
{
	if (L->nscratch == L->scratch_alloc) {
		L->scratch_alloc = L->scratch_alloc ? L->scratch_alloc * 2 : 8;
		L->scratch = xrealloc(L->scratch, L->scratch_alloc * sizeof(*L->scratch));
		L->scratch_env = xrealloc(L->scratch_env, L->scratch_alloc * sizeof(*L->scratch_env));
		L->scratch_node = xrealloc(L->scratch_node, L->scratch_alloc * sizeof(*L->scratch_node));
	}
	L->scratch[L->nscratch] = xstrdup(s);
	L->scratch_node[L->nscratch] = n;
	L->scratch_env[L->nscratch++] = xstrdup(env);
}

/* The scratch values are kept in check_envs (the module's validate()
 * message is masked with them), then dropped. */
static void scratch_clear(struct loader *L)
{
	for (size_t i = 0; i < L->nscratch; i++) {
		strv_push(&L->check_envs, &L->ncheck_envs, L->scratch[i]);
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
static int scratch_to_secrets(struct loader *L, const struct yt_node *n)
{
	struct runbook *rb = L->rb;
	for (size_t i = 0; i < L->nscratch; i++) {
		size_t len = strlen(L->scratch[i]);
		if (L->scratch_node[i])
			n = L->scratch_node[i];
		if (len < REDACT_MIN_SECRET_LEN) {
			if (!len)
				yt_error(L->err, n,
				         "${env:%s} is empty, and its value would be a secret (a password, a token, a header): set it",
				         L->scratch_env[i]);
			else
				yt_error(L->err, n,
				         "the value of ${env:%s} would be a secret, but it has only %zu character%s: "
				         "reports can mask a secret of at least %d characters",
				         L->scratch_env[i], len, len == 1 ? "" : "s",
				         REDACT_MIN_SECRET_LEN);
			scratch_clear(L);
			return -1;
		}
	}
	for (size_t i = 0; i < L->nscratch; i++) {
		char *s = L->scratch[i];
		int seen = 0;
		for (size_t j = 0; j < rb->nsecrets && !seen; j++)
			seen = !strcmp(rb->secrets[j], s);
		if (!seen)
			strv_push(&rb->secrets, &rb->nsecrets, xstrdup(s));
	}
	scratch_clear(L);
	return 0;
}

/* How an error message shows the text s of a value: as it is, in quotes,
 * unless ${env:...} went into it (scratch entries from `mark` on) or the
 * parameter is secret: then '***' and where the value came from.  Error
 * messages reach terminals and CI logs; a password there is a leak. */
static char *shown_value(struct loader *L, size_t mark, const char *s)
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

/* Resolve ${name}, ${env:NAME} and $${ in s (the value of scalar n).
 * env_only: in a var's value, where other vars may not be used. */
static int interpolate(struct loader *L, const struct yt_node *n,
                       const char *s, int env_only, char **out)
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
		const char *name = p + 2, *end = strchr(name, '}');
		if (!end) {
			strbuf_release(&sb);
			return yt_error(L->err, n,
			                "unterminated '${' (write '$${' for a literal '${')");
		}
		size_t len = (size_t)(end - name);
		if (len > 4 && !strncmp(name, "env:", 4)) {
			if (!valid_env_name(name + 4, len - 4)) {
				strbuf_release(&sb);
				return yt_error(L->err, n, "invalid environment variable name '%.*s'",
				                (int)(len - 4), name + 4);
			}
			char *ename = xstrndup(name + 4, len - 4);
			const char *v = getenv(ename);
			if (!v) {
				yt_error(L->err, n, "environment variable '%s' is not set", ename);
				free(ename);
				strbuf_release(&sb);
				return -1;
			}
			strbuf_adds(&sb, v);
			scratch_add(L, v, ename, n);
			free(ename);
		} else if (env_only) {
			strbuf_release(&sb);
			return yt_error(L->err, n,
			                "a var may only use ${env:NAME}, not '${%.*s}'",
			                (int)len, name);
		} else {
			if (!valid_var_name(name, len)) {
				strbuf_release(&sb);
				return yt_error(L->err, n, "invalid variable name '%.*s'",
				                (int)len, name);
			}
			struct var *v = find_var(L, name, len);
			if (!v) {
				const char **cands = xcalloc(L->nvars + 1, sizeof(*cands));
				for (size_t i = 0; i < L->nvars; i++)
					cands[i] = L->vars[i].name;
				char *vname = xstrndup(name, len);
				const char *near = yt_closest(vname, cands, L->nvars);
				if (near)
					yt_error(L->err, n, "unknown variable '%s'; did you mean '%s'?",
					         vname, near);
				else
					yt_error(L->err, n, "unknown variable '%s'", vname);
				free(vname);
				free(cands);
				strbuf_release(&sb);
				return -1;
			}
			if (resolve_var(L, v) < 0) {
				strbuf_release(&sb);
				return -1;
			}
			v->used = 1;
			strbuf_adds(&sb, v->value);
			for (size_t i = 0; i < v->nenvs; i++)
				scratch_add(L, v->envs[i], v->env_names[i], n);
		}
		p = end + 1;
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
	if (interpolate(L, v->node, v->value, 1, &val) < 0)
		return -1;
	for (size_t i = mark; i < L->nscratch; i++) {
		strv_push(&v->envs, &v->nenvs, L->scratch[i]);
		strv_push(&v->env_names, &v->nenv_names, L->scratch_env[i]);
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
			return yt_error(L->err, n,
			                "a var may only use ${env:NAME}, not '${%.*s}'",
			                (int)len, name);
		if (!valid_env_name(name + 4, len - 4))
			return yt_error(L->err, n, "invalid environment variable name '%.*s'",
			                (int)(len - 4), name + 4);
		p = end + 1;
	}
	return 0;
}

/* A non-null scalar, interpolated. */
static int get_istring(struct loader *L, const struct yt_node *n, char **out)
{
	const char *s;
	if (yt_get_string(n, &s, L->err) < 0)
		return -1;
	return interpolate(L, n, s, 0, out);
}

/* ---- pass 1: files, includes, vars ---- */

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

static int load_vars(struct loader *L, const struct yt_node *vars)
{
	if (yt_expect(vars, YT_MAPPING, L->err) < 0)
		return -1;
	for (size_t i = 0; i < vars->npairs; i++) {
		const struct yt_node *k = vars->pairs[i].key, *v = vars->pairs[i].value;
		if (!valid_var_name(k->value, k->len))
			return yt_error(L->err, k,
			                "invalid variable name '%s' (expected [A-Za-z_][A-Za-z0-9_.-]*)",
			                k->value);
		const char *s;
		if (yt_get_string(v, &s, L->err) < 0 || check_var_syntax(L, v) < 0)
			return -1;
		set_var(L, k->value, s, v, 1, 0);
	}
	return 0;
}

static const char *const top_keys[] = {
	"version", "name", "description", "include", "vars", "command",
	"allow_commands", "timeout", "window", "freeze", "checks", "audit", NULL,
};
static const char *const top_only_keys[] = {
	"command", "allow_commands", "timeout", "audit", NULL,
};

static int check_header(struct loader *L, const struct yt_node *root, int top)
{
	if (yt_check_keys(root, top_keys, top ? "the runbook" : "an included file",
	                  L->err) < 0)
		return -1;
	if (!top)
		for (size_t i = 0; top_only_keys[i]; i++) {
			const struct yt_pair *p = yt_map_find(root, top_only_keys[i]);
			if (p)
				return yt_error(L->err, p->key,
				                "'%s' is only allowed in the top-level runbook, not in an included file",
				                top_only_keys[i]);
		}
	const struct yt_node *v = top ? yt_map_require(root, "version", "the runbook", L->err)
	                              : yt_map_get(root, "version");
	if (top && !v)
		return -1;
	if (v) {
		const char *s;
		if (yt_get_string(v, &s, L->err) < 0)
			return -1;
		if (strcmp(s, "1"))
			return yt_error(L->err, v, "unsupported version '%s' (this gate reads version 1)", s);
	}
	const struct yt_node *name = top ? yt_map_require(root, "name", "the runbook", L->err)
	                                 : yt_map_get(root, "name");
	if (top && !name)
		return -1;
	if (name) {
		const char *s;
		if (yt_get_string(name, &s, L->err) < 0)
			return -1;
		if (!valid_name(s))
			return yt_error(L->err, name, "invalid name '%s' (expected [a-z0-9][a-z0-9._-]*)", s);
	}
	return 0;
}

/* The runbook and every file it includes are trusted like doas.conf
 * (trust.h): checked on the descriptor that is then read.  When checks
 * will run (strict_permissions) an untrusted file is an error; for lint
 * it is a warning. */
static int check_trust(struct loader *L, int fd, const char *path)
{
	struct gate_error e = {0};
	if (trust_check_fd(fd, path, TRUST_RUNBOOK, geteuid(), &e) == 0)
		return 0;
	if (L->opts && L->opts->strict_permissions) {
		gate_error_set(L->err, e.file, 0, 0, "%s", e.msg);
		return -1;
	}
	char buf[sizeof(e.file) + sizeof(e.msg) + 4];
	strv_push(&L->rb->warnings, &L->rb->nwarnings,
	          xstrdup(gate_error_format(&e, buf, sizeof(buf))));
	return 0;
}

static char *resolve_include(const char *from, const char *inc)
{
	if (inc[0] == '/')
		return xstrdup(inc);
	const char *slash = strrchr(from, '/');
	if (!slash)
		return xstrdup(inc);
	return xasprintf("%.*s/%s", (int)(slash - from), from, inc);
}

static int cycle_error(struct loader *L, const struct yt_node *at, size_t from,
                       const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	int i = 0;
	while (i < L->chain_len && L->chain[i] != from)
		i++;
	for (; i < L->chain_len; i++)
		strbuf_addf(&sb, "%s -> ", L->files[L->chain[i]].doc.file);
	strbuf_adds(&sb, path);
	yt_error(L->err, at, "include cycle: %s", sb.buf);
	strbuf_release(&sb);
	return -1;
}

static int load_file(struct loader *L, const char *path,
                     const struct yt_node *inc_at, size_t *out);

static int load_includes(struct loader *L, size_t idx,
                         const struct yt_node *inc)
{
	if (yt_expect(inc, YT_SEQUENCE, L->err) < 0)
		return -1;
	for (size_t i = 0; i < inc->nitems; i++) {
		const char *s;
		if (yt_get_string(inc->items[i], &s, L->err) < 0)
			return -1;
		char *path = resolve_include(L->files[idx].doc.file, s);
		size_t child;
		int rc = load_file(L, path, inc->items[i], &child);
		free(path);
		if (rc < 0)
			return -1;
		if (child == SIZE_MAX)
			continue; /* read already (a diamond) */
		struct file_rec *f = &L->files[idx];
		f->incs = grow1(f->incs, f->nincs, sizeof(*f->incs));
		f->incs[f->nincs++] = child;
	}
	return 0;
}

/* Read `path` and, depth first, what it includes; its vars are set after
 * its includes' so that they replace them.  *out: its file_rec, or
 * SIZE_MAX when the file was read before. */
static int load_file(struct loader *L, const char *path,
                     const struct yt_node *inc_at, size_t *out)
{
	struct stat st;
	*out = SIZE_MAX;
	if (inc_at) {
		if (stat(path, &st) < 0)
			return yt_error(L->err, inc_at, "cannot read include '%s': %s",
			                path, strerror(errno));
		for (int i = 0; i < L->chain_len; i++) {
			const struct yt_doc *d = &L->files[L->chain[i]].doc;
			if (d->dev == st.st_dev && d->ino == st.st_ino)
				return cycle_error(L, inc_at, L->chain[i], path);
		}
		for (size_t i = 0; i < L->nfiles; i++)
			if (L->files[i].doc.dev == st.st_dev && L->files[i].doc.ino == st.st_ino)
				return 0;
		if (L->chain_len > RUNBOOK_MAX_INCLUDE_DEPTH)
			return yt_error(L->err, inc_at, "includes nested deeper than %d files",
			                RUNBOOK_MAX_INCLUDE_DEPTH);
	}
	size_t idx = L->nfiles;
	L->files = grow1(L->files, L->nfiles, sizeof(*L->files));
	struct file_rec *f = &L->files[L->nfiles++];
	memset(f, 0, sizeof(*f));
	struct runbook *rb = L->rb;
	f->rbidx = rb->nfiles;
	strv_push(&rb->files, &rb->nfiles, xstrdup(path));
	const struct yt_limits lim = {RUNBOOK_MAX_FILE_SIZE, RUNBOOK_MAX_DEPTH,
	                              RUNBOOK_MAX_ALIASES, YT_MAX_ALIAS_NODES};
	int fd = trust_open(path, L->err);
	if (fd < 0)
		return -1;
	int rc = check_trust(L, fd, path);
	if (rc == 0)
		rc = yt_load_fd(&f->doc, fd, path, &lim, L->err);
	close(fd);
	if (rc < 0)
		return -1;
	const struct yt_node *root = f->doc.root;
	if (!root)
	{
		gate_error_set(L->err, path, 0, 0, "empty file (expected a mapping)");
		return -1;
	}
	if (yt_expect(root, YT_MAPPING, L->err) < 0 || check_header(L, root, !inc_at) < 0)
		return -1;
	L->chain[L->chain_len++] = idx;
	const struct yt_node *inc = yt_map_get(root, "include");
	rc = inc ? load_includes(L, idx, inc) : 0;
	L->chain_len--;
	if (rc < 0)
		return -1;
	const struct yt_node *vars = yt_map_get(L->files[idx].doc.root, "vars");
	if (vars && load_vars(L, vars) < 0)
		return -1;
	*out = idx;
	return 0;
}

static int apply_cli_vars(struct loader *L)
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
static int check_cli_vars_used(struct loader *L)
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
			gate_error_set(L->err, L->rb->path, 0, 0,
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

/* ---- parameter values (module.h's normalised JSON) ---- */

static int scalar_or_error(struct loader *L, const struct yt_node *n,
                           const char *what)
{
	if (n && n->kind == YT_SCALAR && !yt_is_null(n))
		return 0;
	return yt_error(L->err, n, "expected %s, got %s", what, yt_describe(n));
}

/* A scalar's text, interpolated when `interp`. */
static int scalar_text(struct loader *L, const struct yt_node *n, int interp,
                       const char *what, char **out)
{
	if (scalar_or_error(L, n, what) < 0)
		return -1;
	if (interp)
		return interpolate(L, n, n->value, 0, out);
	*out = xstrdup(n->value);
	return 0;
}

static json_t *conv_int(struct loader *L, const struct yt_node *n, int interp)
{
	char *s;
	int64_t v;
	size_t mark = L->nscratch;
	if (scalar_text(L, n, interp, "an integer", &s) < 0)
		return NULL;
	if (yt_parse_int(s, &v) < 0) {
		char *shown = shown_value(L, mark, s);
		yt_error(L->err, n, "expected an integer, got %s", shown);
		free(shown);
		free(s);
		return NULL;
	}
	free(s);
	return json_integer((json_int_t)v);
}

static json_t *conv_number(struct loader *L, const struct yt_node *n, int interp)
{
	char *s, *end;
	int64_t iv;
	size_t mark = L->nscratch;
	if (scalar_text(L, n, interp, "a number", &s) < 0)
		return NULL;
	if (yt_parse_int(s, &iv) == 0) {
		free(s);
		return json_integer((json_int_t)iv);
	}
	errno = 0;
	double d = strtod(s, &end);
	int ok = *s && !*end && errno == 0 && isfinite(d) &&
	         strspn(s, "+-0123456789.eE") == strlen(s);
	if (!ok) {
		char *shown = shown_value(L, mark, s);
		yt_error(L->err, n, "expected a number, got %s", shown);
		free(shown);
		free(s);
		return NULL;
	}
	free(s);
	return json_real(d);
}

static json_t *conv_duration(struct loader *L, const struct yt_node *n, int interp)
{
	char *s;
	int64_t ms, dummy;
	size_t mark = L->nscratch;
	if (scalar_text(L, n, interp, "a duration", &s) < 0)
		return NULL;
	int rc = parse_duration_ms(s, &ms);
	if (rc < 0) {
		char *shown = shown_value(L, mark, s);
		if (rc == GATE_VALUE_TOO_BIG)
			yt_error(L->err, n, "duration %s is over the limit of %s",
			         shown, GATE_DURATION_MAX_TEXT);
		else if (yt_parse_int(s, &dummy) == 0)
			yt_error(L->err, n, "duration %s needs a unit (ms, s, m, h, d)", shown);
		else
			yt_error(L->err, n, "invalid duration %s (expected e.g. 500ms, 90s, 15m, 1h30m, 1d)", shown);
		free(shown);
		free(s);
		return NULL;
	}
	free(s);
	return json_integer((json_int_t)ms);
}

static json_t *conv_size(struct loader *L, const struct yt_node *n, int interp)
{
	char *s;
	uint64_t b;
	size_t mark = L->nscratch;
	if (scalar_text(L, n, interp, "a size", &s) < 0)
		return NULL;
	int rc = parse_size_bytes(s, &b);
	if (rc < 0) {
		char *shown = shown_value(L, mark, s);
		if (rc == GATE_VALUE_TOO_BIG)
			yt_error(L->err, n, "size %s is over the limit of %s", shown,
			         GATE_SIZE_MAX_TEXT);
		else
			yt_error(L->err, n, "invalid size %s (expected e.g. 512kB, 64MB, 64MiB, 1GiB or bytes)", shown);
		free(shown);
		free(s);
		return NULL;
	}
	free(s);
	return json_integer((json_int_t)b);
}

static json_t *conv_enum(struct loader *L, const struct gate_param *p,
                         const struct yt_node *n, int interp)
{
	char *s;
	size_t mark = L->nscratch;
	if (scalar_text(L, n, interp, "a string", &s) < 0)
		return NULL;
	const char *c = p->choices ? p->choices : "";
	size_t len = strlen(s);
	while (*c) {
		size_t l = strcspn(c, "|");
		if (l == len && !strncmp(c, s, len)) {
			free(s);
			return json_stringn(c, l);
		}
		c += l + (c[l] == '|');
	}
	char *shown = shown_value(L, mark, s);
	yt_error(L->err, n, "expected one of %s, got %s", p->choices ? p->choices : "(none)", shown);
	free(shown);
	free(s);
	return NULL;
}

static json_t *conv_string_list(struct loader *L, const struct yt_node *n,
                                int interp)
{
	if (yt_expect(n, YT_SEQUENCE, L->err) < 0)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < n->nitems; i++) {
		char *s;
		if (scalar_text(L, n->items[i], interp, "a string", &s) < 0) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, json_string(s));
		free(s);
	}
	return a;
}

static json_t *conv_int_list(struct loader *L, const struct yt_node *n,
                             int interp)
{
	if (yt_expect(n, YT_SEQUENCE, L->err) < 0)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < n->nitems; i++) {
		json_t *v = conv_int(L, n->items[i], interp);
		if (!v) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, v);
	}
	return a;
}

static json_t *conv_string_map(struct loader *L, const struct yt_node *n,
                               int interp)
{
	if (yt_expect(n, YT_MAPPING, L->err) < 0)
		return NULL;
	json_t *o = json_object();
	for (size_t i = 0; i < n->npairs; i++) {
		char *s;
		if (scalar_text(L, n->pairs[i].value, interp, "a string", &s) < 0) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, n->pairs[i].key->value, json_string(s));
		free(s);
	}
	return o;
}

static int is_core_float(const char *s)
{
	/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
	const char *p = s;
	int digits = 0;
	if (*p == '-' || *p == '+')
		p++;
	while (*p >= '0' && *p <= '9')
		p++, digits++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, digits++;
	}
	if (!digits)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return !*p;
}

/* Any YAML value to JSON: plain scalars typed by the YAML core schema,
 * quoted (or !!str) ones strings. */
static json_t *conv_json(struct loader *L, const struct yt_node *n, int interp)
{
	if (n->kind == YT_SEQUENCE) {
		json_t *a = json_array();
		for (size_t i = 0; i < n->nitems; i++) {
			json_t *v = conv_json(L, n->items[i], interp);
			if (!v) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, v);
		}
		return a;
	}
	if (n->kind == YT_MAPPING) {
		json_t *o = json_object();
		for (size_t i = 0; i < n->npairs; i++) {
			json_t *v = conv_json(L, n->pairs[i].value, interp);
			if (!v) {
				json_decref(o);
				return NULL;
			}
			json_object_set_new(o, n->pairs[i].key->value, v);
		}
		return o;
	}
	if (yt_is_plain(n)) {
		const char *s = n->value;
		int64_t iv;
		if (yt_is_null(n))
			return json_null();
		if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
			return json_true();
		if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
			return json_false();
		if (yt_parse_int(s, &iv) == 0)
			return json_integer((json_int_t)iv);
		if (!strncmp(s, "0x", 2) || !strncmp(s, "0o", 2)) {
			char *end;
			errno = 0;
			unsigned long long u = strtoull(s + 2, &end, s[1] == 'x' ? 16 : 8);
			if (s[2] && !*end && !errno && u <= (unsigned long long)INT64_MAX)
				return json_integer((json_int_t)u);
		}
		if (is_core_float(s)) {
			double d = strtod(s, NULL);
			if (isfinite(d))
				return json_real(d);
		}
		if (!strcmp(s, ".inf") || !strcmp(s, "-.inf") || !strcmp(s, ".nan") ||
		    !strcmp(s, ".NaN") || !strcmp(s, ".Inf") || !strcmp(s, "-.Inf")) {
			yt_error(L->err, n, "'%s' cannot be represented in JSON", s);
			return NULL;
		}
	}
	char *s;
	if (interp) {
		if (interpolate(L, n, n->value, 0, &s) < 0)
			return NULL;
	} else {
		s = xstrdup(n->value);
	}
	json_t *j = json_string(s);
	free(s);
	if (!j)
		yt_error(L->err, n, "string is not valid UTF-8");
	return j;
}

static json_t *conv_param(struct loader *L, const struct gate_param *p,
                          const struct yt_node *n, int interp)
{
	int b;
	char *s;
	json_t *j;
	switch (p->type) {
	case GATE_P_STRING:
		if (scalar_text(L, n, interp, "a string", &s) < 0)
			return NULL;
		j = json_string(s);
		free(s);
		if (!j)
			yt_error(L->err, n, "string is not valid UTF-8");
		return j;
	case GATE_P_INT: return conv_int(L, n, interp);
	case GATE_P_BOOL:
		if (yt_get_bool(n, &b, L->err) < 0)
			return NULL;
		return json_boolean(b);
	case GATE_P_DURATION: return conv_duration(L, n, interp);
	case GATE_P_SIZE: return conv_size(L, n, interp);
	case GATE_P_NUMBER: return conv_number(L, n, interp);
	case GATE_P_STRING_LIST: return conv_string_list(L, n, interp);
	case GATE_P_STRING_MAP: return conv_string_map(L, n, interp);
	case GATE_P_ENUM: return conv_enum(L, p, n, interp);
	case GATE_P_JSON: return conv_json(L, n, interp);
	case GATE_P_INT_LIST: return conv_int_list(L, n, interp);
	default:
		yt_error(L->err, n, "parameter '%s' has an unknown type %d in its module",
		         p->name, (int)p->type);
		return NULL;
	}
}

/* A parameter's default, parsed once per parameter table entry. */
static json_t *default_value(struct loader *L, const struct gate_param *p,
                             const char *type, const struct yt_node *at)
{
	for (size_t i = 0; i < L->ndefaults; i++)
		if (L->defaults[i].param == p)
			return json_deep_copy(L->defaults[i].value);
	json_t *v = NULL;
	struct gate_error e = {0};
	if (p->type == GATE_P_STRING || p->type == GATE_P_ENUM) {
		/* Taken verbatim: "" is a fine default for a string. */
		v = json_string(p->default_value);
		if (v && p->type == GATE_P_ENUM) {
			/* Must still be one of the choices. */
			struct yt_node tmp = {0};
			tmp.kind = YT_SCALAR;
			tmp.value = (char *)p->default_value;
			tmp.len = strlen(p->default_value);
			tmp.style = YT_DOUBLE;
			tmp.file = "";
			struct gate_error *saved = L->err;
			L->err = &e;
			json_t *c = conv_enum(L, p, &tmp, 0);
			L->err = saved;
			json_decref(c);
			if (!c) {
				json_decref(v);
				v = NULL;
			}
		}
	} else {
		struct yt_doc d;
		struct gate_error *saved = L->err;
		L->err = &e;
		if (yt_load_string(&d, "", p->default_value, strlen(p->default_value),
		                   NULL, &e) == 0 && d.root)
			v = conv_param(L, p, d.root, 0);
		L->err = saved;
		yt_doc_release(&d);
	}
	if (!v) {
		yt_error(L->err, at, "check type '%s': invalid default '%s' for parameter '%s'%s%s",
		         type, p->default_value, p->name, e.set ? ": " : "", e.set ? e.msg : "");
		return NULL;
	}
	L->defaults = xrealloc(L->defaults, (L->ndefaults + 1) * sizeof(*L->defaults));
	L->defaults[L->ndefaults].param = p;
	L->defaults[L->ndefaults].value = v;
	L->ndefaults++;
	return json_deep_copy(v);
}

/* A module's validate() message may quote a parameter's value, and so a
 * value from ${env:...}: every such value of the check is masked, and
 * what redact_string() recognises (password=, URI userinfo) too.  A value
 * too short to be masked without garbling the message (shorter than
 * REDACT_MIN_SECRET_LEN) that the message contains hides the whole
 * message: it cannot be told from the module's own words. */
static void mask_module_message(struct loader *L, char *msg, size_t len)
{
	char *red = redact_string(msg);
	for (size_t i = 0; i < L->ncheck_envs; i++) {
		const char *v = L->check_envs[i];
		size_t n = strlen(v);
		if (!n || !strstr(red, v))
			continue;
		if (n < REDACT_MIN_SECRET_LEN) {
			free(red);
			red = xstrdup("invalid value (the module's message is not shown: it may quote a value from ${env:...})");
			break;
		}
		struct strbuf sb = STRBUF_INIT;
		const char *p = red, *hit;
		while ((hit = strstr(p, v))) {
			strbuf_add(&sb, p, (size_t)(hit - p));
			strbuf_adds(&sb, "***");
			p = hit + n;
		}
		strbuf_adds(&sb, p);
		free(red);
		red = strbuf_detach(&sb);
	}
	snprintf(msg, len, "%s", red);
	free(red);
}

static int convert_with(struct loader *L, struct rb_check *c,
                        const struct yt_node *check, const struct yt_node *with)
{
	const struct gate_check_type *ct = c->ct;
	const struct gate_param *table = ct->params;
	size_t np = 0;
	while (table && table[np].name)
		np++;
	c->params = json_object();
	strv_free(L->check_envs);
	L->check_envs = NULL;
	L->ncheck_envs = 0;
	if (with) {
		for (size_t i = 0; i < with->npairs; i++) {
			const struct yt_node *k = with->pairs[i].key;
			const struct gate_param *p = NULL;
			for (size_t j = 0; j < np && !p; j++)
				if (!strcmp(table[j].name, k->value))
					p = &table[j];
			if (!p) {
				const char **cands = xcalloc(np + 1, sizeof(*cands));
				for (size_t j = 0; j < np; j++)
					cands[j] = table[j].name;
				const char *near = yt_closest(k->value, cands, np);
				if (near)
					yt_error(L->err, k, "unknown parameter '%s' for check type '%s'; did you mean '%s'?",
					         k->value, ct->name, near);
				else
					yt_error(L->err, k, "unknown parameter '%s' for check type '%s'",
					         k->value, ct->name);
				free(cands);
				return -1;
			}
			scratch_clear(L);
			L->secret_param = (p->flags & GATE_PF_SECRET) != 0;
			json_t *v = conv_param(L, p, with->pairs[i].value, 1);
			L->secret_param = 0;
			if (!v)
				return -1;
			if ((p->flags & GATE_PF_SECRET) || p->type == GATE_P_STRING_MAP) {
				if (scratch_to_secrets(L, with->pairs[i].value) < 0) {
					json_decref(v);
					return -1;
				}
			} else {
				scratch_clear(L);
			}
			json_object_set_new(c->params, p->name, v);
		}
	}
	for (size_t j = 0; j < np; j++) {
		const struct gate_param *p = &table[j];
		if (json_object_get(c->params, p->name))
			continue;
		if (p->flags & GATE_PF_REQUIRED)
			return yt_error(L->err, check,
			                "check '%s': missing required parameter '%s' for type '%s'",
			                c->id, p->name, ct->name);
		if (!p->default_value)
			continue;
		json_t *v = default_value(L, p, ct->name, check);
		if (!v)
			return -1;
		json_object_set_new(c->params, p->name, v);
	}
	if (ct->validate) {
		const char *param = NULL;
		char msg[512] = "";
		if (ct->validate(c->params, &param, msg, sizeof(msg)) != 0) {
			const struct yt_pair *kp = param ? yt_map_find(with, param) : NULL;
			if (!msg[0])
				snprintf(msg, sizeof(msg), "invalid parameters");
			mask_module_message(L, msg, sizeof(msg));
			if (kp)
				return yt_error(L->err, kp->key, "check '%s': %s: %s", c->id,
				                param, msg);
			return yt_error(L->err, with ? with : check, "check '%s': %s%s%s",
			                c->id, param ? param : "", param ? ": " : "", msg);
		}
	}
	return 0;
}

/* ---- pass 2: checks, windows, freezes, top-level settings ---- */

static const char *const check_keys[] = {
	"id", "type", "description", "severity", "timeout", "retries",
	"retry_delay", "overridable", "hint", "with", NULL,
};

static int type_unknown(struct loader *L, const struct yt_node *tn,
                        struct rb_check *c)
{
	const struct gate_registry *reg = L->reg;
	if (reg && reg->nfailures > 0) {
		/* The type may live in the module that failed: keep the check
		 * so the runner records an error and the gate blocks. */
		if (!L->unavailable) {
			struct strbuf sb = STRBUF_INIT;
			for (size_t i = 0; i < reg->nfailures; i++)
				strbuf_addf(&sb, "%s%s: %s", i ? "; " : "",
				            reg->failures[i].path, reg->failures[i].why);
			L->unavailable = strbuf_detach(&sb);
		}
		c->unavailable = xasprintf("check type '%s' is not available; a module failed to load: %s",
		                           c->type, L->unavailable);
		return 0;
	}
	size_t n = reg ? reg->ntypes : 0;
	const char **cands = xcalloc(n + 1, sizeof(*cands));
	for (size_t i = 0; i < n; i++)
		cands[i] = reg->types[i].ct->name;
	const char *near = yt_closest(c->type, cands, n);
	if (near)
		yt_error(L->err, tn, "unknown check type '%s'; did you mean '%s'?", c->type, near);
	else
		yt_error(L->err, tn, "unknown check type '%s' (gate checks lists them)", c->type);
	free(cands);
	return -1;
}

static int load_check(struct loader *L, const struct file_rec *f,
                      const struct yt_node *n)
{
	struct runbook *rb = L->rb;
	if (yt_expect(n, YT_MAPPING, L->err) < 0 ||
	    yt_check_keys(n, check_keys, "a check", L->err) < 0)
		return -1;
	if (rb->nchecks >= RUNBOOK_MAX_CHECKS)
		return yt_error(L->err, n, "too many checks (more than %d)", RUNBOOK_MAX_CHECKS);
	if (rb->nchecks == L->checks_alloc) {
		L->checks_alloc = L->checks_alloc ? L->checks_alloc * 2 : 16;
		rb->checks = xrealloc(rb->checks, L->checks_alloc * sizeof(*rb->checks));
		L->id_pos = xrealloc(L->id_pos, L->checks_alloc * sizeof(*L->id_pos));
	}
	struct rb_check *c = &rb->checks[rb->nchecks];
	memset(c, 0, sizeof(*c));
	rb->nchecks++; /* owned by rb from here: freed by runbook_release */
	c->pos = pos_of(L, f, n);
	c->timeout_ms = CHECK_DEFAULT_TIMEOUT_MS;
	c->retry_delay_ms = CHECK_DEFAULT_RETRY_DELAY_MS;

	const struct yt_node *v, *idn, *tn;
	const char *s;
	if (!(idn = yt_map_require(n, "id", "a check", L->err)) ||
	    yt_get_string(idn, &s, L->err) < 0)
		return -1;
	if (!valid_name(s))
		return yt_error(L->err, idn, "invalid check id '%s' (expected [a-z0-9][a-z0-9._-]*)", s);
	/* The pseudo-checks' ids: `--override window` must name one thing. */
	if (!strcmp(s, "window") || !strcmp(s, "freeze"))
		return yt_error(L->err, idn, "check id '%s' is reserved for the %s pseudo-check", s, s);
	c->id = xstrdup(s);
	L->id_pos[rb->nchecks - 1] = pos_of(L, f, idn);
	if (!(tn = yt_map_require(n, "type", "a check", L->err)) ||
	    yt_get_string(tn, &s, L->err) < 0)
		return -1;
	c->type = xstrdup(s);
	if ((v = yt_map_get(n, "description")) && get_istring(L, v, &c->description) < 0)
		return -1;
	if ((v = yt_map_get(n, "hint")) && get_istring(L, v, &c->hint) < 0)
		return -1;
	if ((v = yt_map_get(n, "severity"))) {
		if (yt_get_string(v, &s, L->err) < 0)
			return -1;
		if (!strcmp(s, "block"))
			c->severity = RB_SEVERITY_BLOCK;
		else if (!strcmp(s, "warn"))
			c->severity = RB_SEVERITY_WARN;
		else
			return yt_error(L->err, v, "expected severity block or warn, got '%s'", s);
	}
	if ((v = yt_map_get(n, "timeout"))) {
		if (yt_get_duration(v, &c->timeout_ms, L->err) < 0)
			return -1;
		if (c->timeout_ms <= 0)
			return yt_error(L->err, v, "timeout must be greater than 0");
	}
	if ((v = yt_map_get(n, "retries"))) {
		int64_t r;
		if (yt_get_int(v, 0, CHECK_MAX_RETRIES, &r, L->err) < 0)
			return -1;
		c->retries = (int)r;
	}
	if ((v = yt_map_get(n, "retry_delay")) &&
	    yt_get_duration(v, &c->retry_delay_ms, L->err) < 0)
		return -1;
	if ((v = yt_map_get(n, "overridable")) && yt_get_bool(v, &c->overridable, L->err) < 0)
		return -1;

	const struct yt_node *with = yt_map_get(n, "with");
	if (with && yt_is_null(with))
		with = NULL;
	if (with && yt_expect(with, YT_MAPPING, L->err) < 0)
		return -1;
	const struct gate_registry_entry *e = registry_find(L->reg, c->type);
	if (e) {
		c->ct = e->ct;
		return convert_with(L, c, n, with);
	}
	if (type_unknown(L, tn, c) < 0)
		return -1;
	/* Unavailable type: keep what was written, resolved, for reports;
	 * every env value in it is treated as a secret (no table says). */
	scratch_clear(L);
	c->params = with ? conv_json(L, with, 1) : json_object();
	if (!c->params)
		return -1;
	return scratch_to_secrets(L, with);
}

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static int valid_zone(const char *z)
{
	if (!*z || z[0] == '/' || strstr(z, "..") || strlen(z) > 128)
		return 0;
	for (const char *p = z; *p; p++)
		if (!is_alnum_(*p) && !strchr("/+-", *p))
			return 0;
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", ZONEINFO_DIR, z);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char magic[4];
	struct stat st;
	int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	         read(fd, magic, 4) == 4 && !memcmp(magic, "TZif", 4);
	close(fd);
	return ok;
}

static const char *const window_keys[] = {"days", "start", "end", "timezone", "overridable", NULL};

static int load_window(struct loader *L, const struct file_rec *f,
                       const struct yt_node *n)
{
	struct runbook *rb = L->rb;
	if (yt_expect(n, YT_MAPPING, L->err) < 0 ||
	    yt_check_keys(n, window_keys, "a window", L->err) < 0)
		return -1;
	rb->windows = grow1(rb->windows, rb->nwindows, sizeof(*rb->windows));
	struct rb_window *w = &rb->windows[rb->nwindows++];
	memset(w, 0, sizeof(*w));
	w->pos = pos_of(L, f, n);
	w->days = 0x7f;
	const struct yt_node *v;
	const char *s;
	if ((v = yt_map_get(n, "days"))) {
		if (yt_expect(v, YT_SEQUENCE, L->err) < 0)
			return -1;
		if (!v->nitems)
			return yt_error(L->err, v, "days must not be empty");
		w->days = 0;
		for (size_t i = 0; i < v->nitems; i++) {
			if (yt_get_string(v->items[i], &s, L->err) < 0)
				return -1;
			int d;
			for (d = 0; d < 7 && strcmp(s, day_names[d]); d++)
				;
			if (d == 7)
				return yt_error(L->err, v->items[i],
				                "expected a day (mon, tue, wed, thu, fri, sat, sun), got '%s'", s);
			w->days |= 1u << d;
		}
	}
	static const char *const se[] = {"start", "end"};
	int *mins[] = {&w->start_min, &w->end_min};
	for (int i = 0; i < 2; i++) {
		if (!(v = yt_map_require(n, se[i], "a window", L->err)) ||
		    yt_get_string(v, &s, L->err) < 0)
			return -1;
		if (parse_hhmm(s, mins[i]) < 0)
			return yt_error(L->err, v, "expected a time as HH:MM (00:00 to 23:59), got '%s'", s);
	}
	if ((v = yt_map_get(n, "timezone"))) {
		if (yt_get_string(v, &s, L->err) < 0)
			return -1;
		if (!valid_zone(s))
			return yt_error(L->err, v, "unknown time zone '%s' (expected an IANA name such as Europe/Berlin)", s);
		w->timezone = xstrdup(s);
	}
	if ((v = yt_map_get(n, "overridable")) && yt_get_bool(v, &w->overridable, L->err) < 0)
		return -1;
	return 0;
}

static const char *const freeze_keys[] = {"from", "to", "reason", "overridable", NULL};

static int load_freeze(struct loader *L, const struct file_rec *f,
                       const struct yt_node *n)
{
	struct runbook *rb = L->rb;
	if (yt_expect(n, YT_MAPPING, L->err) < 0 ||
	    yt_check_keys(n, freeze_keys, "a freeze", L->err) < 0)
		return -1;
	rb->freezes = grow1(rb->freezes, rb->nfreezes, sizeof(*rb->freezes));
	struct rb_freeze *z = &rb->freezes[rb->nfreezes++];
	memset(z, 0, sizeof(*z));
	z->pos = pos_of(L, f, n);
	const struct yt_node *v, *to = NULL;
	const char *s;
	static const char *const ft[] = {"from", "to"};
	int64_t *ms[] = {&z->from_ms, &z->to_ms};
	for (int i = 0; i < 2; i++) {
		if (!(v = yt_map_require(n, ft[i], "a freeze", L->err)) ||
		    yt_get_string(v, &s, L->err) < 0)
			return -1;
		if (parse_rfc3339_ms(s, ms[i]) < 0)
			return yt_error(L->err, v,
			                "expected an RFC 3339 timestamp such as 2026-12-20T00:00:00Z, got '%s'", s);
		to = v;
	}
	if (z->to_ms <= z->from_ms)
		return yt_error(L->err, to, "freeze 'to' must be after 'from'");
	if ((v = yt_map_get(n, "reason"))) {
		if (yt_get_string(v, &s, L->err) < 0)
			return -1;
		z->reason = xstrdup(s);
	}
	if ((v = yt_map_get(n, "overridable")) && yt_get_bool(v, &z->overridable, L->err) < 0)
		return -1;
	return 0;
}

static int load_string_list(struct loader *L, const struct yt_node *n,
                            char ***out)
{
	if (yt_expect(n, YT_SEQUENCE, L->err) < 0)
		return -1;
	size_t cnt = 0;
	*out = grow1(NULL, 0, sizeof(**out)); /* [] is an empty list, not NULL */
	for (size_t i = 0; i < n->nitems; i++) {
		char *s;
		if (get_istring(L, n->items[i], &s) < 0)
			return -1;
		strv_push(out, &cnt, s);
	}
	return 0;
}

static const char *const audit_keys[] = {"file", "required", NULL};

static int load_top_settings(struct loader *L, const struct yt_node *root)
{
	struct runbook *rb = L->rb;
	const struct yt_node *v;
	const char *s;
	if (yt_get_string(yt_map_get(root, "name"), &s, L->err) < 0)
		return -1;
	rb->name = xstrdup(s);
	if ((v = yt_map_get(root, "description")) && get_istring(L, v, &rb->description) < 0)
		return -1;
	if ((v = yt_map_get(root, "command"))) {
		if (load_string_list(L, v, &rb->command) < 0)
			return -1;
		if (!rb->command[0] || !rb->command[0][0])
			return yt_error(L->err, v, "command must be a non-empty list whose first item is not empty");
	}
	if ((v = yt_map_get(root, "allow_commands")) &&
	    load_string_list(L, v, &rb->allow_commands) < 0)
		return -1;
	if ((v = yt_map_get(root, "timeout"))) {
		if (yt_get_duration(v, &rb->timeout_ms, L->err) < 0)
			return -1;
		if (rb->timeout_ms <= 0)
			return yt_error(L->err, v, "timeout must be greater than 0");
	}
	if ((v = yt_map_get(root, "audit"))) {
		const struct yt_node *fv;
		if (yt_expect(v, YT_MAPPING, L->err) < 0 ||
		    yt_check_keys(v, audit_keys, "audit", L->err) < 0 ||
		    !(fv = yt_map_require(v, "file", "audit", L->err)) ||
		    get_istring(L, fv, &rb->audit_file) < 0)
			return -1;
		if (!rb->audit_file[0])
			return yt_error(L->err, fv, "audit file must not be empty");
		const struct yt_node *r = yt_map_get(v, "required");
		if (r && yt_get_bool(r, &rb->audit_required, L->err) < 0)
			return -1;
	}
	return 0;
}

/* The file's own windows, freezes and checks, then its includes'. */
static int load_content(struct loader *L, size_t idx)
{
	const struct file_rec *f = &L->files[idx];
	const struct yt_node *root = f->doc.root, *v;
	if ((v = yt_map_get(root, "window"))) {
		if (yt_expect(v, YT_SEQUENCE, L->err) < 0)
			return -1;
		for (size_t i = 0; i < v->nitems; i++)
			if (load_window(L, f, v->items[i]) < 0)
				return -1;
	}
	if ((v = yt_map_get(root, "freeze"))) {
		if (yt_expect(v, YT_SEQUENCE, L->err) < 0)
			return -1;
		for (size_t i = 0; i < v->nitems; i++)
			if (load_freeze(L, f, v->items[i]) < 0)
				return -1;
	}
	if ((v = yt_map_get(root, "checks"))) {
		if (yt_expect(v, YT_SEQUENCE, L->err) < 0)
			return -1;
		for (size_t i = 0; i < v->nitems; i++)
			if (load_check(L, f, v->items[i]) < 0)
				return -1;
	}
	for (size_t i = 0; i < f->nincs; i++)
		if (load_content(L, L->files[idx].incs[i]) < 0)
			return -1;
	return 0;
}

static int cmp_id(const void *a, const void *b, void *arg)
{
	const struct rb_check *checks = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(checks[x].id, checks[y].id);
	return c ? c : (x > y) - (x < y);
}

/* Sorting keeps 10,000 checks fast; equal ids end up adjacent, in load
 * order, and the later one is reported with the first's position. */
static int check_unique_ids(struct loader *L)
{
	struct runbook *rb = L->rb;
	size_t n = rb->nchecks;
	if (n < 2)
		return 0;
	size_t *ix = xcalloc(n, sizeof(*ix));
	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	qsort_r(ix, n, sizeof(*ix), cmp_id, rb->checks);
	int rc = 0;
	for (size_t i = 1; i < n && !rc; i++) {
		const struct rb_check *a = &rb->checks[ix[i - 1]], *b = &rb->checks[ix[i]];
		if (strcmp(a->id, b->id))
			continue;
		const struct rb_pos *pa = &L->id_pos[ix[i - 1]], *pb = &L->id_pos[ix[i]];
		gate_error_set(L->err, pb->file, pb->line, pb->col,
		               "duplicate check id '%s' (first defined at %s:%d:%d)",
		               b->id, pa->file, pa->line, pa->col);
		rc = -1;
	}
	free(ix);
	return rc;
}

static void loader_release(struct loader *L)
{
	for (size_t i = 0; i < L->nfiles; i++) {
		yt_doc_release(&L->files[i].doc);
		free(L->files[i].incs);
	}
	free(L->files);
	for (size_t i = 0; i < L->nvars; i++) {
		free(L->vars[i].name);
		free(L->vars[i].value);
		strv_free(L->vars[i].envs);
		strv_free(L->vars[i].env_names);
	}
	free(L->vars);
	free(L->var_slots);
	scratch_clear(L);
	free(L->scratch);
	free(L->scratch_env);
	free(L->scratch_node);
	strv_free(L->check_envs);
	for (size_t i = 0; i < L->ndefaults; i++)
		json_decref(L->defaults[i].value);
	free(L->defaults);
	free(L->id_pos);
	free(L->unavailable);
}

static int load(struct loader *L, const char *path)
{
	struct runbook *rb = L->rb;
	size_t top;
	if (load_file(L, path, NULL, &top) < 0 || apply_cli_vars(L) < 0)
		return -1;
	const struct yt_node *root = L->files[top].doc.root;
	if (load_top_settings(L, root) < 0 || load_content(L, top) < 0)
		return -1;
	if (rb->nchecks == 0) {
		const struct yt_pair *p = yt_map_find(root, "checks");
		return yt_error(L->err, p ? p->value : root,
		                p ? "checks must not be empty" : "missing 'checks' in the runbook");
	}
	if (check_unique_ids(L) < 0 || check_cli_vars_used(L) < 0)
		return -1;
	return 0;
}

int runbook_load(struct runbook *rb, const char *path,
                 const struct runbook_load_opts *opts,
                 const struct gate_registry *reg, struct gate_error *err)
{
	memset(rb, 0, sizeof(*rb));
	rb->path = xstrdup(path);
	rb->timeout_ms = RUNBOOK_DEFAULT_TIMEOUT_MS;
	rb->files = grow1(NULL, 0, sizeof(*rb->files));
	rb->warnings = grow1(NULL, 0, sizeof(*rb->warnings));
	struct loader L = {0};
	L.rb = rb;
	L.opts = opts;
	L.reg = reg;
	L.err = err;
	int rc = load(&L, path);
	loader_release(&L);
	if (rc < 0 && err && !err->set)
		gate_error_set(err, path, 0, 0, "cannot load the runbook");
	return rc;
}

static void free_check(struct rb_check *c)
{
	free(c->id);
	free(c->type);
	free(c->description);
	free(c->hint);
	free(c->unavailable);
	json_decref(c->params);
}

void runbook_release(struct runbook *rb)
{
	if (!rb)
		return;
	free(rb->path);
	free(rb->name);
	free(rb->description);
	strv_free(rb->command);
	strv_free(rb->allow_commands);
	for (size_t i = 0; i < rb->nwindows; i++)
		free(rb->windows[i].timezone);
	free(rb->windows);
	for (size_t i = 0; i < rb->nfreezes; i++)
		free(rb->freezes[i].reason);
	free(rb->freezes);
	for (size_t i = 0; i < rb->nchecks; i++)
		free_check(&rb->checks[i]);
	free(rb->checks);
	free(rb->audit_file);
	strv_free(rb->files);
	strv_free(rb->warnings);
	strv_free(rb->secrets);
	memset(rb, 0, sizeof(*rb));
}

/* One allow_commands pattern against the argv, word by word: the pattern
 * is split at blanks, each word is an fnmatch(3) glob for one argument
 * (so a `*` inside a word never reaches into the next argument), and only
 * a lone `*` as the last word matches any further arguments, none
 * included.  Joining the argv by spaces instead would let "echo a*" allow
 * ["echo", "a", "rm -rf /"]. */
int runbook_pattern_matches(const char *pattern, char *const *argv)
{
	const char *p = pattern;
	size_t i = 0;
	for (;;) {
		p += strspn(p, " \t");
		if (!*p)
			return argv[i] == NULL; /* every argument was matched */
		size_t len = strcspn(p, " \t");
		const char *next = p + len;
		if (len == 1 && *p == '*' && !next[strspn(next, " \t")])
			return 1; /* a lone trailing *: any further arguments */
		if (!argv[i])
			return 0;
		char *word = xstrndup(p, len);
		int ok = fnmatch(word, argv[i], 0) == 0;
		free(word);
		if (!ok)
			return 0;
		i++;
		p = next;
	}
}

int runbook_command_allowed(const struct runbook *rb, char *const *argv)
{
	if (!rb->allow_commands)
		return 1;
	if (!argv || !argv[0])
		return 0;
	for (char **g = rb->allow_commands; *g; g++)
		if (runbook_pattern_matches(*g, argv))
			return 1;
	return 0;
}
