/* SPDX-License-Identifier: MIT */
/*
 * The runbook loader's first pass (runbook_impl.h): the runbook and its
 * includes, depth first, each file once, into YAML trees; each file's
 * header checked and its vars set after its includes' (so that the
 * includer's replace them).
 *
 * A file included twice (not a cycle: a diamond) is read once; a cycle is
 * refused with its chain.  Every file is trusted like doas.conf (trust.h)
 * on the descriptor that is then read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runbook_impl.h"
#include "trust.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"

static const char *const top_keys[] = {
	"version",        "name",        "description", "include", "vars",   "command",
	"allow_commands", "timeout",     "window",      "freeze",  "checks", "audit",
	"lock",           "maintenance", "recheck",     "confirm", "notify", NULL,
};
static const char *const top_only_keys[] = {
	"command",     "allow_commands", "timeout", "audit",  "lock",
	"maintenance", "recheck",        "confirm", "notify", NULL,
};

static int check_header(struct loader *L, const struct yt_node *root, int top)
{
	if (yt_check_keys(root, top_keys, top ? "the runbook" : "an included file", L->err) < 0)
		return -1;
	if (!top)
		for (size_t i = 0; top_only_keys[i]; i++) {
			const struct yt_pair *p = yt_map_find(root, top_only_keys[i]);
			if (p)
				return yt_error(L->err, p->key,
				                "'%s' is only allowed in the top-level runbook, "
				                "not in an included file",
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
			return yt_error(L->err, v,
			                "unsupported version '%s' (this gate reads version 1)", s);
	}
	const struct yt_node *name = top ? yt_map_require(root, "name", "the runbook", L->err)
	                                 : yt_map_get(root, "name");
	if (top && !name)
		return -1;
	if (name) {
		const char *s;
		if (yt_get_string(name, &s, L->err) < 0)
			return -1;
		if (!rb_valid_name(s))
			return yt_error(L->err, name,
			                "invalid name '%s' (expected [a-z0-9][a-z0-9._-]*)", s);
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
	rb_strv_push(&L->rb->warnings, &L->rb->nwarnings,
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

static int cycle_error(struct loader *L, const struct yt_node *at, size_t from, const char *path)
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

static int load_includes(struct loader *L, size_t idx, const struct yt_node *inc)
{
	if (yt_expect(inc, YT_SEQUENCE, L->err) < 0)
		return -1;
	for (size_t i = 0; i < inc->nitems; i++) {
		const char *s;
		if (yt_get_string(inc->items[i], &s, L->err) < 0)
			return -1;
		char *path = resolve_include(L->files[idx].doc.file, s);
		size_t child;
		int rc = rb_load_file(L, path, inc->items[i], &child);
		free(path);
		if (rc < 0)
			return -1;
		if (child == SIZE_MAX)
			continue; /* read already (a diamond) */
		struct file_rec *f = &L->files[idx];
		f->incs = rb_grow1(f->incs, f->nincs, sizeof(*f->incs));
		f->incs[f->nincs++] = child;
	}
	return 0;
}

/* Read `path` and, depth first, what it includes; its vars are set after
 * its includes' so that they replace them.  *out: its file_rec, or
 * SIZE_MAX when the file was read before. */
int rb_load_file(struct loader *L, const char *path, const struct yt_node *inc_at, size_t *out)
{
	struct stat st;
	*out = SIZE_MAX;
	if (inc_at) {
		if (stat(path, &st) < 0)
			return yt_error(L->err, inc_at, "cannot read include '%s': %s", path,
			                strerror(errno));
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
	L->files = rb_grow1(L->files, L->nfiles, sizeof(*L->files));
	struct file_rec *f = &L->files[L->nfiles++];
	memset(f, 0, sizeof(*f));
	struct runbook *rb = L->rb;
	f->rbidx = rb->nfiles;
	rb_strv_push(&rb->files, &rb->nfiles, xstrdup(path));
	const struct yt_limits lim = {RUNBOOK_MAX_FILE_SIZE, RUNBOOK_MAX_DEPTH, RUNBOOK_MAX_ALIASES,
	                              YT_MAX_ALIAS_NODES};
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
	if (!root) {
		gate_error_set(L->err, path, 0, 0, "empty file (expected a mapping)");
		return -1;
	}
	if (yt_expect(root, YT_MAPPING, L->err) < 0 ||
	    check_header(L, root, !inc_at && !L->as_policy) < 0)
		return -1;
	L->chain[L->chain_len++] = idx;
	const struct yt_node *inc = yt_map_get(root, "include");
	rc = inc ? load_includes(L, idx, inc) : 0;
	L->chain_len--;
	if (rc < 0)
		return -1;
	const struct yt_node *vars = yt_map_get(L->files[idx].doc.root, "vars");
	if (vars && rb_load_vars(L, vars) < 0)
		return -1;
	*out = idx;
	return 0;
}
