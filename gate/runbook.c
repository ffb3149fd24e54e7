/* SPDX-License-Identifier: MIT */
/*
 * The runbook loader (doc/runbook.md): the walk of the document.  Its
 * rooms are listed in runbook_impl.h.
 *
 * Two passes.  The first reads the runbook and its includes (depth first,
 * each file once, cycles refused) into YAML trees and settles the
 * variables: an include's vars are defaults, the includer's replace them,
 * --var replaces all (runbook_files.c, runbook_vars.c).  The second walks
 * the trees from the top: the runbook's own windows, freezes and checks,
 * then each include's, with every `${...}` resolved and every `with:`
 * validated against its type's parameter table (runbook_params.c).
 * Anything unknown or ambiguous is an error (78) at its file:line:col: a
 * typo must never weaken a gate.
 *
 * Decisions the format leaves open, made here:
 *  - A file included twice (not a cycle: a diamond) is read once.
 *  - Two includes defining the same var: the later include wins; the
 *    includer still replaces both.
 *  - A var's value may use ${env:NAME} and $${, not other vars (see
 *    runbook_vars.c); a --var the runbook neither defines nor uses is an
 *    error.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runbook_impl.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"

#define CHECK_MAX_RETRIES 100

/* ---- small helpers (runbook_impl.h) ---- */

int rb_valid_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* Room for item n of an array whose capacity is implicit: 8, then the
 * power of two holding n.  Growing by one element per realloc would copy
 * quadratically (a 1 MiB file holds ~40,000 vars or windows). */
void *rb_grow1(void *p, size_t n, size_t size)
{
	if (!p)
		return xcalloc(n < 8 ? 8 : 2 * n, size);
	if (n >= 8 && !(n & (n - 1)))
		return xrealloc(p, 2 * n * size);
	return p;
}

void rb_strv_push(char ***v, size_t *n, char *s)
{
	*v = rb_grow1(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

struct rb_pos rb_pos_of(struct loader *L, const struct file_rec *f, const struct yt_node *n)
{
	struct rb_pos p = {L->rb->files[f->rbidx], n ? n->line : 0, n ? n->col : 0};
	return p;
}

/* ---- pass 2: checks, windows, freezes, top-level settings ---- */

static const char *const check_keys[] = {
	"id",          "type",        "description", "severity", "timeout", "retries",
	"retry_delay", "overridable", "hint",        "with",     NULL,
};

static int type_unknown(struct loader *L, const struct yt_node *tn, struct rb_check *c)
{
	struct gate_registry *reg = L->reg;
	if (reg && reg->nfailures > 0) {
		/* The type may live in the module that failed: keep the check
		 * so the runner records an error and the gate blocks. */
		if (!L->unavailable) {
			struct strbuf sb = STRBUF_INIT;
			for (size_t i = 0; i < reg->nfailures; i++)
				strbuf_addf(&sb, "%s%s: %s", i ? "; " : "", reg->failures[i].path,
				            reg->failures[i].why);
			L->unavailable = strbuf_detach(&sb);
		}
		c->unavailable = xasprintf(
			"check type '%s' is not available; a module failed to load: %s", c->type,
			L->unavailable);
		return 0;
	}
	/* The names the index and the modules loaded know: no family is
	 * loaded to suggest one. */
	size_t n;
	const char **cands = registry_type_names(reg, &n);
	const char *near = yt_closest(c->type, cands, n);
	if (near)
		yt_error(L->err, tn, "unknown check type '%s'; did you mean '%s'?", c->type, near);
	else
		yt_error(L->err, tn, "unknown check type '%s' (gate checks lists them)", c->type);
	free(cands);
	return -1;
}

/* A new check at the end of rb->checks, owned by rb from here (freed by
 * runbook_release), with the defaults of the optional settings. */
static struct rb_check *new_check(struct loader *L, const struct file_rec *f,
                                  const struct yt_node *n)
{
	struct runbook *rb = L->rb;
	if (rb->nchecks == L->checks_alloc) {
		L->checks_alloc = L->checks_alloc ? L->checks_alloc * 2 : 16;
		rb->checks = xrealloc(rb->checks, L->checks_alloc * sizeof(*rb->checks));
		L->id_pos = xrealloc(L->id_pos, L->checks_alloc * sizeof(*L->id_pos));
	}
	struct rb_check *c = &rb->checks[rb->nchecks];
	memset(c, 0, sizeof(*c));
	rb->nchecks++;
	c->pos = rb_pos_of(L, f, n);
	c->timeout_ms = CHECK_DEFAULT_TIMEOUT_MS;
	c->retry_delay_ms = CHECK_DEFAULT_RETRY_DELAY_MS;
	return c;
}

/* id and type (required); *tn: the type's node. */
static int load_check_id_type(struct loader *L, const struct file_rec *f, const struct yt_node *n,
                              struct rb_check *c, const struct yt_node **tn)
{
	const struct yt_node *idn;
	const char *s;
	if (!(idn = yt_map_require(n, "id", "a check", L->err)) ||
	    yt_get_string(idn, &s, L->err) < 0)
		return -1;
	if (!rb_valid_name(s))
		return yt_error(L->err, idn,
		                "invalid check id '%s' (expected [a-z0-9][a-z0-9._-]*)", s);
	/* The pseudo-checks' ids: `--override window` must name one thing. */
	if (!strcmp(s, "window") || !strcmp(s, "freeze"))
		return yt_error(L->err, idn, "check id '%s' is reserved for the %s pseudo-check", s,
		                s);
	c->id = xstrdup(s);
	L->id_pos[L->rb->nchecks - 1] = rb_pos_of(L, f, idn);
	if (!(*tn = yt_map_require(n, "type", "a check", L->err)) ||
	    yt_get_string(*tn, &s, L->err) < 0)
		return -1;
	c->type = xstrdup(s);
	return 0;
}

/* description, hint, severity, timeout, retries, retry_delay, overridable. */
static int load_check_settings(struct loader *L, const struct yt_node *n, struct rb_check *c)
{
	const struct yt_node *v;
	const char *s;
	if ((v = yt_map_get(n, "description")) && rb_get_istring(L, v, &c->description) < 0)
		return -1;
	if ((v = yt_map_get(n, "hint")) && rb_get_istring(L, v, &c->hint) < 0)
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
		c->timeout_given = 1;
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
	return 0;
}

static int load_check(struct loader *L, const struct file_rec *f, const struct yt_node *n)
{
	if (yt_expect(n, YT_MAPPING, L->err) < 0 ||
	    yt_check_keys(n, check_keys, "a check", L->err) < 0)
		return -1;
	if (L->rb->nchecks >= RUNBOOK_MAX_CHECKS)
		return yt_error(L->err, n, "too many checks (more than %d)", RUNBOOK_MAX_CHECKS);
	struct rb_check *c = new_check(L, f, n);
	const struct yt_node *tn = NULL;
	if (load_check_id_type(L, f, n, c, &tn) < 0 || load_check_settings(L, n, c) < 0)
		return -1;

	const struct yt_node *with = yt_map_get(n, "with");
	if (with && yt_is_null(with))
		with = NULL;
	if (with && yt_expect(with, YT_MAPPING, L->err) < 0)
		return -1;
	const struct gate_registry_entry *e = registry_find(L->reg, c->type);
	if (e) {
		c->ct = e->ct;
		c->mod = e->mod;
		return rb_convert_with(L, c, n, with);
	}
	/* A built-in family that cannot be loaded: the runbook cannot be
	 * used, and the message says which file and why (fail closed). */
	const struct gate_family_load *fl = registry_family_failure(L->reg, c->type);
	if (fl)
		return yt_error(L->err, tn,
		                "check type '%s' is provided by gate's built-in family %s, which "
		                "cannot be loaded: %s",
		                c->type, fl->name, fl->why);
	if (type_unknown(L, tn, c) < 0)
		return -1;
	/* Unavailable type: keep what was written, resolved, for reports;
	 * every env value in it is treated as a secret (no table says). */
	rb_scratch_clear(L);
	c->params = with ? rb_conv_json(L, with, 1) : json_object();
	if (!c->params)
		return -1;
	return rb_scratch_to_secrets(L, with);
}

static int load_string_list(struct loader *L, const struct yt_node *n, char ***out)
{
	if (yt_expect(n, YT_SEQUENCE, L->err) < 0)
		return -1;
	size_t cnt = 0;
	*out = rb_grow1(NULL, 0, sizeof(**out)); /* [] is an empty list, not NULL */
	for (size_t i = 0; i < n->nitems; i++) {
		char *s;
		if (rb_get_istring(L, n->items[i], &s) < 0)
			return -1;
		rb_strv_push(out, &cnt, s);
	}
	return 0;
}

static const char *const audit_keys[] = {"file", "required", NULL};

static int load_top_settings(struct loader *L, const struct yt_node *root)
{
	struct runbook *rb = L->rb;
	const struct yt_node *v;
	const char *s;
	const struct yt_node *name = yt_map_get(root, "name");
	if (name || !L->as_policy) { /* a policy may have no name */
		if (yt_get_string(name, &s, L->err) < 0)
			return -1;
		rb->name = xstrdup(s);
	}
	if ((v = yt_map_get(root, "description")) && rb_get_istring(L, v, &rb->description) < 0)
		return -1;
	if ((v = yt_map_get(root, "command"))) {
		if (load_string_list(L, v, &rb->command) < 0)
			return -1;
		if (!rb->command[0] || !rb->command[0][0])
			return yt_error(
				L->err, v,
				"command must be a non-empty list whose first item is not empty");
	}
	if ((v = yt_map_get(root, "allow_commands")) &&
	    load_string_list(L, v, &rb->allow_commands) < 0)
		return -1;
	if ((v = yt_map_get(root, "timeout"))) {
		if (yt_get_duration(v, &rb->timeout_ms, L->err) < 0)
			return -1;
		if (rb->timeout_ms <= 0)
			return yt_error(L->err, v, "timeout must be greater than 0");
		rb->timeout_given = 1;
	}
	if ((v = yt_map_get(root, "audit"))) {
		const struct yt_node *fv;
		if (yt_expect(v, YT_MAPPING, L->err) < 0 ||
		    yt_check_keys(v, audit_keys, "audit", L->err) < 0 ||
		    !(fv = yt_map_require(v, "file", "audit", L->err)) ||
		    rb_get_istring(L, fv, &rb->audit_file) < 0)
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
			if (rb_load_window(L, f, v->items[i]) < 0)
				return -1;
	}
	if ((v = yt_map_get(root, "freeze"))) {
		if (yt_expect(v, YT_SEQUENCE, L->err) < 0)
			return -1;
		for (size_t i = 0; i < v->nitems; i++)
			if (rb_load_freeze(L, f, v->items[i]) < 0)
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
		               "duplicate check id '%s' (first defined at %s:%d:%d)", b->id,
		               pa->file, pa->line, pa->col);
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
	rb_vars_release(L);
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
	if (rb_load_file(L, path, NULL, &top) < 0 || rb_apply_cli_vars(L) < 0)
		return -1;
	const struct yt_node *root = L->files[top].doc.root;
	if (load_top_settings(L, root) < 0 || load_content(L, top) < 0)
		return -1;
	if (rb->nchecks == 0 && !(L->as_policy && (rb->nwindows || rb->nfreezes))) {
		const struct yt_pair *p = yt_map_find(root, "checks");
		return yt_error(L->err, p ? p->value : root,
		                p ? "checks must not be empty" : "missing 'checks' in the runbook");
	}
	if (check_unique_ids(L) < 0 || rb_load_holds(L, &L->files[top]) < 0 ||
	    rb_load_notify(L, &L->files[top]) < 0 || rb_check_cli_vars_used(L) < 0)
		return -1;
	return 0;
}

static int load_as(struct runbook *rb, const char *path, const struct runbook_load_opts *opts,
                   struct gate_registry *reg, struct gate_error *err, int as_policy)
{
	memset(rb, 0, sizeof(*rb));
	rb->path = xstrdup(path);
	rb->timeout_ms = RUNBOOK_DEFAULT_TIMEOUT_MS;
	rb->files = rb_grow1(NULL, 0, sizeof(*rb->files));
	rb->warnings = rb_grow1(NULL, 0, sizeof(*rb->warnings));
	struct loader L = {0};
	L.rb = rb;
	L.opts = opts;
	L.reg = reg;
	L.err = err;
	L.as_policy = as_policy;
	int rc = load(&L, path);
	loader_release(&L);
	if (rc < 0 && err && !err->set)
		gate_error_set(err, path, 0, 0, "cannot load the runbook");
	return rc;
}

int runbook_load(struct runbook *rb, const char *path, const struct runbook_load_opts *opts,
                 struct gate_registry *reg, struct gate_error *err)
{
	return load_as(rb, path, opts, reg, err, 0);
}

int runbook_load_policy(struct runbook *rb, const char *path, const struct runbook_load_opts *opts,
                        struct gate_registry *reg, struct gate_error *err)
{
	return load_as(rb, path, opts, reg, err, 1);
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
	rb_holds_release(rb);
	rb_notify_release(rb);
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
