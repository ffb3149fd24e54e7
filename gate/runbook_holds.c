/* SPDX-License-Identifier: MIT */
/*
 * The runbook loader's keys for what gate holds around the command
 * (runbook_impl.h, gate/hold.h, doc/runbook.md "Locks, re-check,
 * confirmation, maintenance"):
 *
 *   lock:         a list of maps; each map's naming key is its kind
 *                 ({file: PATH}, {postgres: CONNINFO, key: NAME}, ...)
 *   maintenance:  a list of maps, the same way, of maintenance kinds
 *   recheck:      a list of check ids, or `all`
 *   confirm:      hostname | ssh
 *
 * The kinds come from the registry (the program hands them in: the core
 * names none); an item's keys are converted and validated by its kind's
 * parameter table and validate(), as a check's `with:` is
 * (runbook_params.c).  Only the top-level runbook may hold them.
 */
#include <stdlib.h>
#include <string.h>

#include "hold.h"
#include "redact.h"
#include "registry_holds.h"
#include "runbook_impl.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"

/* Which of the two lists is being loaded. */
struct hold_list {
	const char *key;  /* "lock" */
	const char *noun; /* "lock", "maintenance item" */
	const char *kind; /* "lock kind", "maintenance kind" */
	int is_lock;
};

static const char *kind_name(const struct gate_registry *reg, int is_lock, size_t i)
{
	if (is_lock) {
		const struct lock_kind *const *k = registry_lock_kinds(reg);
		return k && k[i] ? k[i]->name : NULL;
	}
	const struct maint_kind *const *k = registry_maint_kinds(reg);
	return k && k[i] ? k[i]->name : NULL;
}

/* The naming key's value, as a label shows it: a string (redacted: a
 * password in a URL or conninfo never shows), a list joined by ",". */
static char *naming_value(const json_t *v)
{
	struct strbuf sb = STRBUF_INIT;
	if (json_is_string(v)) {
		strbuf_adds(&sb, json_string_value(v));
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
			strbuf_addf(&sb, "%s%s", i ? "," : "",
			            json_is_string(e) ? json_string_value(e) : "?");
	}
	char *raw = strbuf_detach(&sb);
	char *red = redact_string(raw ? raw : "");
	free(raw);
	return red;
}

/* The one key of item n that names a kind; -1 (err set) when none or two. */
static int find_kind(struct loader *L, const struct hold_list *hl, const struct yt_node *n,
                     size_t idx, const char **name)
{
	const struct yt_node *found = NULL;
	for (size_t i = 0; i < n->npairs; i++) {
		const struct yt_node *k = n->pairs[i].key;
		for (size_t j = 0; kind_name(L->reg, hl->is_lock, j); j++) {
			if (strcmp(k->value, kind_name(L->reg, hl->is_lock, j)))
				continue;
			if (found)
				return yt_error(L->err, k, "%s %zu names two kinds: '%s' and '%s'",
				                hl->noun, idx + 1, found->value, k->value);
			found = k;
		}
	}
	if (found) {
		*name = found->value;
		return 0;
	}
	struct strbuf names = STRBUF_INIT;
	size_t nk = 0;
	while (kind_name(L->reg, hl->is_lock, nk))
		nk++;
	const char **cands = xcalloc(nk + 1, sizeof(*cands));
	for (size_t j = 0; j < nk; j++) {
		cands[j] = kind_name(L->reg, hl->is_lock, j);
		strbuf_addf(&names, "%s%s", j ? ", " : "", cands[j]);
	}
	const char *near = n->npairs ? yt_closest(n->pairs[0].key->value, cands, nk) : NULL;
	if (near)
		yt_error(L->err, n->pairs[0].key, "unknown %s '%s'; did you mean '%s'?", hl->kind,
		         n->pairs[0].key->value, near);
	else
		yt_error(L->err, n, "%s %zu names no %s (known: %s)", hl->noun, idx + 1, hl->kind,
		         nk ? names.buf : "none");
	strbuf_release(&names);
	free(cands);
	return -1;
}

static int load_item(struct loader *L, const struct file_rec *f, const struct hold_list *hl,
                     const struct yt_node *n, size_t idx, struct rb_hold *h)
{
	const char *name = NULL;
	if (yt_expect(n, YT_MAPPING, L->err) < 0 || find_kind(L, hl, n, idx, &name) < 0)
		return -1;
	struct rb_param_owner o = {NULL, hl->kind, name, NULL, NULL};
	if (hl->is_lock) {
		h->lock = registry_find_lock(L->reg, name);
		o.params = h->lock->params;
		o.validate = h->lock->validate;
	} else {
		h->maint = registry_find_maint(L->reg, name);
		o.params = h->maint->params;
		o.validate = h->maint->validate;
	}
	char *what = xasprintf("%s %zu (%s)", hl->noun, idx + 1, name);
	o.what = what;
	int rc = rb_convert_params(L, &o, n, n, &h->params);
	free(what);
	if (rc < 0)
		return -1;
	h->pos = rb_pos_of(L, f, n);
	char *v = naming_value(json_object_get(h->params, o.params[0].name));
	/* What tells one lock of a kind from another on the same server: the
	 * advisory lock's key, the etcd group. */
	const char *sub = NULL, *subname = NULL;
	for (const char *const *k = (const char *const[]){"key", "group", NULL}; *k && !sub; k++)
		if ((sub = json_string_value(json_object_get(h->params, *k))))
			subname = *k;
	if (sub)
		h->label = xasprintf("%s %s %s %s", name, v, subname, sub);
	else
		h->label = xasprintf("%s %s", name, v);
	free(v);
	return 0;
}

static int load_list(struct loader *L, const struct file_rec *f, const struct hold_list *hl,
                     struct rb_hold **out, size_t *nout)
{
	const struct yt_node *v = yt_map_get(f->doc.root, hl->key);
	if (!v || yt_is_null(v))
		return 0;
	if (yt_expect(v, YT_SEQUENCE, L->err) < 0)
		return -1;
	/* The kinds may be a part of gate loaded now (registry_holds.h):
	 * one that cannot be loaded makes the runbook invalid. */
	struct gate_error why = {0};
	if (v->nitems && registry_holds_ready(L->reg, &why) < 0)
		return yt_error(L->err, yt_map_find(f->doc.root, hl->key)->key,
		                "'%s' needs gate's %s", hl->key, why.msg);
	*out = xcalloc(v->nitems + 1, sizeof(**out));
	for (size_t i = 0; i < v->nitems; i++) {
		if (load_item(L, f, hl, v->items[i], i, &(*out)[i]) < 0)
			return -1;
		*nout = i + 1;
	}
	return 0;
}

static const struct rb_check *check_by_id(const struct runbook *rb, const char *id)
{
	for (size_t i = 0; i < rb->nchecks; i++)
		if (!strcmp(rb->checks[i].id, id))
			return &rb->checks[i];
	return NULL;
}

static int unknown_check(struct loader *L, const struct yt_node *n, const char *id)
{
	const struct runbook *rb = L->rb;
	const char **cands = xcalloc(rb->nchecks + 1, sizeof(*cands));
	for (size_t i = 0; i < rb->nchecks; i++)
		cands[i] = rb->checks[i].id;
	const char *near = yt_closest(id, cands, rb->nchecks);
	if (!strcmp(id, "window") || !strcmp(id, "freeze"))
		yt_error(L->err, n, "recheck: '%s' is judged again anyway: name checks only", id);
	else if (near)
		yt_error(L->err, n, "recheck: unknown check '%s'; did you mean '%s'?", id, near);
	else
		yt_error(L->err, n, "recheck: unknown check '%s'", id);
	free(cands);
	return -1;
}

/* recheck: all, or ids of checks; at least one of them blocking, or the
 * re-check could never allow (the policy wants a blocking check). */
static int load_recheck(struct loader *L, const struct yt_node *v)
{
	struct runbook *rb = L->rb;
	rb->recheck = rb_grow1(NULL, 0, sizeof(*rb->recheck));
	if (v->kind == YT_SCALAR && yt_is_plain(v) && !strcmp(v->value, "all")) {
		rb->recheck_all = 1;
		for (size_t i = 0; i < rb->nchecks; i++)
			rb_strv_push(&rb->recheck, &rb->nrecheck, xstrdup(rb->checks[i].id));
		return 0;
	}
	if (v->kind != YT_SEQUENCE)
		return yt_error(L->err, v, "recheck: expected 'all' or a list of check ids, got %s",
		                yt_describe(v));
	int blocking = 0;
	for (size_t i = 0; i < v->nitems; i++) {
		const char *id;
		if (yt_get_string(v->items[i], &id, L->err) < 0)
			return -1;
		const struct rb_check *c = check_by_id(rb, id);
		if (!c)
			return unknown_check(L, v->items[i], id);
		for (size_t j = 0; j < rb->nrecheck; j++)
			if (!strcmp(rb->recheck[j], id))
				return yt_error(L->err, v->items[i], "recheck: '%s' is named twice",
				                id);
		blocking |= c->severity == RB_SEVERITY_BLOCK;
		rb_strv_push(&rb->recheck, &rb->nrecheck, xstrdup(id));
	}
	if (!blocking)
		return yt_error(L->err, v,
		                "recheck names no blocking check: the re-check could never allow");
	return 0;
}

static int load_confirm(struct loader *L, const struct yt_node *v)
{
	const char *s;
	if (yt_get_string(v, &s, L->err) < 0)
		return -1;
	if (!strcmp(s, "hostname"))
		L->rb->confirm = RB_CONFIRM_HOSTNAME;
	else if (!strcmp(s, "ssh"))
		L->rb->confirm = RB_CONFIRM_SSH;
	else
		return yt_error(L->err, v, "confirm: expected hostname or ssh, got '%s'", s);
	return 0;
}

int rb_load_holds(struct loader *L, const struct file_rec *f)
{
	static const struct hold_list locks = {"lock", "lock", "lock kind", 1};
	static const struct hold_list maint = {"maintenance", "maintenance item",
	                                       "maintenance kind", 0};
	struct runbook *rb = L->rb;
	const struct yt_node *v;
	if (load_list(L, f, &locks, &rb->locks, &rb->nlocks) < 0 ||
	    load_list(L, f, &maint, &rb->maint, &rb->nmaint) < 0)
		return -1;
	if ((v = yt_map_get(f->doc.root, "recheck")) && !yt_is_null(v) && load_recheck(L, v) < 0)
		return -1;
	if ((v = yt_map_get(f->doc.root, "confirm")) && load_confirm(L, v) < 0)
		return -1;
	return 0;
}

static void release_list(struct rb_hold *h, size_t n)
{
	for (size_t i = 0; h && i < n; i++) {
		json_decref(h[i].params);
		free(h[i].label);
	}
	free(h);
}

void rb_holds_release(struct runbook *rb)
{
	/* An item that failed half way has params but does not count in n. */
	release_list(rb->locks, rb->locks ? rb->nlocks + 1 : 0);
	release_list(rb->maint, rb->maint ? rb->nmaint + 1 : 0);
	strv_free(rb->recheck);
}
