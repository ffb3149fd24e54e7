/* SPDX-License-Identifier: MIT */
/*
 * The registry of check types: gate's built-in families (shared objects
 * loaded the first time one of their types is looked up, by the index the
 * program hands in: the core links no check), modules linked into a
 * program, and external shared objects.  The
 * ABI version is the first thing read from a module and nothing else is
 * touched until it is accepted (module.h, MODULE-API.md).
 * A module that cannot be loaded is remembered in reg->failures, so that a
 * runbook check that may have needed it is an error, never skipped.
 */
#include "registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "selfdir.h"
#include "trust.h"
#include "kit/alloc.h"

void registry_init(struct gate_registry *reg)
{
	memset(reg, 0, sizeof(*reg));
}

static void add_failure(struct gate_registry *reg, const char *path, const char *why)
{
	reg->failures = xrealloc(reg->failures, (reg->nfailures + 1) * sizeof(*reg->failures));
	reg->failures[reg->nfailures].path = xstrdup(path);
	reg->failures[reg->nfailures].why = xstrdup(why);
	reg->failures[reg->nfailures].untrusted = 0;
	reg->nfailures++;
}

/* Check the version before anything else of the module is read. */
static int check_abi(const struct gate_module *mod, const char *origin, struct gate_error *err)
{
	uint32_t v = mod->abi_version;
	if (GATE_ABI_VERSION_MAJOR(v) != GATE_ABI_MAJOR ||
	    GATE_ABI_VERSION_MINOR(v) > GATE_ABI_MINOR) {
		gate_error_set(err, "", 0, 0,
		               "module %s: built for module ABI %u.%u, this gate provides %u.%u",
		               origin, (unsigned)GATE_ABI_VERSION_MAJOR(v),
		               (unsigned)GATE_ABI_VERSION_MINOR(v), (unsigned)GATE_ABI_MAJOR,
		               (unsigned)GATE_ABI_MINOR);
		return -1;
	}
	return 0;
}

static int valid_type_name(const char *s)
{
	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* Whether mod names type `name` among its restore rehearsals; only a
 * module built for ABI 1.1 or later has the field. */
static int lists_rehearsal(const struct gate_module *mod, const char *name)
{
	if (GATE_ABI_VERSION_MINOR(mod->abi_version) < 1 || !mod->rehearsals)
		return 0;
	for (const char *const *r = mod->rehearsals; *r; r++)
		if (!strcmp(*r, name))
			return 1;
	return 0;
}

/* The entry of a type already loaded, loading nothing. */
static struct gate_registry_entry *find_loaded(const struct gate_registry *reg, const char *name)
{
	for (size_t i = 0; reg && name && i < reg->ntypes; i++)
		if (!strcmp(reg->types[i].ct->name, name))
			return &reg->types[i];
	return NULL;
}

/* The index's entry for type name, or NULL. */
static const struct gate_family_type *index_entry(const struct gate_registry *reg, const char *name)
{
	for (const struct gate_family_type *t = reg->family_index; t && t->type; t++)
		if (!strcmp(t->type, name))
			return t;
	return NULL;
}

/* A type already provided: loaded, or (for any module but the family the
 * index names for it) one of the built-in families'. */
static int provided_already(const struct gate_registry *reg, const char *name, int family,
                            const char *origin, struct gate_error *err)
{
	const struct gate_registry_entry *prev = find_loaded(reg, name);
	const struct gate_family_type *t = family ? NULL : index_entry(reg, name);
	if (prev)
		gate_error_set(err, "", 0, 0,
		               "module %s: check type '%s' is already provided by %s", origin, name,
		               prev->origin);
	else if (t)
		gate_error_set(
			err, "", 0, 0,
			"module %s: check type '%s' is already provided by built-in family %s",
			origin, name, t->family);
	return prev || t;
}

/* registry_add_module; family: mod is the built-in family the index
 * names for its types. */
static int add_module(struct gate_registry *reg, const struct gate_module *mod, const char *origin,
                      int family, struct gate_error *err)
{
	if (!mod) {
		gate_error_set(err, "", 0, 0, "module %s: no module descriptor", origin);
		return -1;
	}
	if (check_abi(mod, origin, err) < 0)
		return -1;
	if (mod->ntypes && !mod->types) {
		gate_error_set(err, "", 0, 0, "module %s: %zu types but no type table", origin,
		               mod->ntypes);
		return -1;
	}
	/* Validate the whole table first: a module is added entirely or not
	 * at all, so a half-registered module cannot shadow anything. */
	for (size_t i = 0; i < mod->ntypes; i++) {
		const struct gate_check_type *ct = &mod->types[i];
		if (!valid_type_name(ct->name)) {
			gate_error_set(err, "", 0, 0, "module %s: invalid check type name '%s'",
			               origin, ct->name ? ct->name : "(null)");
			return -1;
		}
		if (!ct->run) {
			gate_error_set(err, "", 0, 0,
			               "module %s: check type '%s' has no run function", origin,
			               ct->name);
			return -1;
		}
		if (provided_already(reg, ct->name, family, origin, err))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(mod->types[j].name, ct->name)) {
				gate_error_set(err, "", 0, 0,
				               "module %s: check type '%s' is defined twice",
				               origin, ct->name);
				return -1;
			}
	}
	if (!mod->ntypes)
		return 0;
	reg->types = xrealloc(reg->types, (reg->ntypes + mod->ntypes) * sizeof(*reg->types));
	for (size_t i = 0; i < mod->ntypes; i++) {
		struct gate_registry_entry *e = &reg->types[reg->ntypes++];
		e->ct = &mod->types[i];
		e->mod = mod;
		e->origin = xstrdup(origin);
		e->rehearsal = lists_rehearsal(mod, e->ct->name);
	}
	return 0;
}

int registry_add_module(struct gate_registry *reg, const struct gate_module *mod,
                        const char *origin, struct gate_error *err)
{
	return add_module(reg, mod, origin, 0, err);
}

void registry_add_builtins(struct gate_registry *reg, const struct gate_module *const *builtins)
{
	for (size_t i = 0; builtins && builtins[i]; i++) {
		struct gate_error err = {0};
		/* Built-ins share the core's header: a failure here is a
		 * programming error (a duplicate name); record it like an
		 * external failure so the gate blocks rather than guesses. */
		if (registry_add_module(reg, builtins[i], "built-in", &err) < 0)
			add_failure(reg, builtins[i]->name ? builtins[i]->name : "built-in",
			            err.msg);
	}
}

/* Open path as a module: trusted like a runbook (trust.h) BEFORE it is
 * opened (its constructors run inside dlopen), a file (never a search of
 * the library path), loaded through the descriptor that was checked
 * (/proc/self/fd/N: the file cannot be swapped in between).  Its
 * descriptor, with the handle in *hp; NULL with err set (*untrusted when
 * the trust check refused it, never opened; *hp NULL when not loaded). */
static const struct gate_module *open_module(struct gate_registry *reg, const char *path, void **hp,
                                             int *untrusted, struct gate_error *err)
{
	struct gate_error why = {0};
	enum trust_dl_step step = 0;
	int fd;
	*hp = NULL;
	*untrusted = 0;
	void *h = trust_dlopen(path, &fd, &step, &why);
	if (!h) {
		*untrusted = step == TRUST_DL_TRUST;
		gate_error_set(err, "", 0, 0, "module %s: %s: %s", path,
		               *untrusted ? "not loaded" : "cannot load", why.msg);
		return NULL;
	}
	/* Kept open even when the module is refused: dlclose may leave it
	 * mapped (under that name). */
	reg->fds = xrealloc(reg->fds, (reg->nfds + 1) * sizeof(*reg->fds));
	reg->fds[reg->nfds++] = fd;
	*hp = h;
	dlerror();
	const struct gate_module *mod = dlsym(h, GATE_MODULE_SYMBOL);
	if (!mod)
		gate_error_set(err, "", 0, 0, "module %s: no '%s' symbol", path,
		               GATE_MODULE_SYMBOL);
	return mod;
}

static void keep_handle(struct gate_registry *reg, void *h)
{
	reg->handles = xrealloc(reg->handles, (reg->nhandles + 1) * sizeof(*reg->handles));
	reg->handles[reg->nhandles++] = h;
}

int registry_load_file(struct gate_registry *reg, const char *path, struct gate_error *err)
{
	struct gate_error local = {0};
	void *h;
	int untrusted;
	const struct gate_module *mod = open_module(reg, path, &h, &untrusted, &local);
	if (mod && add_module(reg, mod, path, 0, &local) == 0) {
		keep_handle(reg, h);
		return 0;
	}
	if (h)
		dlclose(h);
	add_failure(reg, path, local.msg);
	reg->failures[reg->nfailures - 1].untrusted = untrusted;
	gate_error_set(err, local.file, local.line, local.col, "%s", local.msg);
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_so_suffix(const char *name)
{
	size_t n = strlen(name);
	return n > 3 && !strcmp(name + n - 3, ".so");
}

void registry_load_dir(struct gate_registry *reg, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno != ENOENT) {
			char why[512];
			snprintf(why, sizeof(why), "cannot read module directory: %s",
			         strerror(errno));
			add_failure(reg, dir, why);
		}
		return;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !has_so_suffix(de->d_name))
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	/* Sorted, so that which module wins a duplicate name is stable. */
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct gate_error err = {0};
		registry_load_file(reg, names[i], &err);
		free(names[i]);
	}
	free(names);
}

void registry_release(struct gate_registry *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->ntypes; i++)
		free(reg->types[i].origin);
	free(reg->types);
	for (size_t i = 0; i < reg->nfailures; i++) {
		free(reg->failures[i].path);
		free(reg->failures[i].why);
	}
	free(reg->failures);
	for (size_t i = 0; i < reg->nhandles; i++)
		dlclose(reg->handles[i]);
	free(reg->handles);
	for (size_t i = 0; i < reg->nfds; i++)
		close(reg->fds[i]);
	free(reg->fds);
	free(reg->family_dir);
	free(reg->family_dir_why);
	for (size_t i = 0; i < reg->nfamilies; i++) {
		free(reg->families[i].name);
		free(reg->families[i].why);
	}
	free(reg->families);
	memset(reg, 0, sizeof(*reg));
}

/* ---- the built-in families, loaded on demand ---- */

void registry_add_families(struct gate_registry *reg, const struct gate_family_type *index,
                           const char *dir)
{
	reg->family_index = index;
	free(reg->family_dir);
	free(reg->family_dir_why);
	reg->family_dir_why = NULL;
	reg->family_dir = dir ? xstrdup(dir) : gate_family_dir();
	if (!reg->family_dir)
		reg->family_dir_why = xasprintf(
			"gate's family directory (%s beside the executable) cannot be "
			"found: %s",
			GATE_FAMILY_RELDIR, strerror(errno));
	for (const struct gate_family_type *t = index; t && t->type; t++) {
		size_t i = 0;
		while (i < reg->nfamilies && strcmp(reg->families[i].name, t->family))
			i++;
		if (i < reg->nfamilies)
			continue;
		reg->families = xrealloc(reg->families, (i + 1) * sizeof(*reg->families));
		reg->families[i] = (struct gate_family_load){xstrdup(t->family), 0, NULL};
		reg->nfamilies++;
	}
}

/* Whether mod (its ABI accepted) provides exactly the types the index
 * names for family f, rehearsals alike: a family object from another
 * build is refused rather than half used.  0, or -1 with err. */
static int matches_index(const struct gate_registry *reg, const struct gate_module *mod,
                         const char *f, const char *path, struct gate_error *err)
{
	size_t want = 0;
	if (mod->ntypes && !mod->types) {
		gate_error_set(err, "", 0, 0, "module %s: %zu types but no type table", path,
		               mod->ntypes);
		return -1;
	}
	for (const struct gate_family_type *t = reg->family_index; t && t->type; t++)
		if (!strcmp(t->family, f)) {
			want++;
			size_t i = 0;
			while (i < mod->ntypes &&
			       (!mod->types[i].name || strcmp(mod->types[i].name, t->type)))
				i++;
			if (i == mod->ntypes) {
				gate_error_set(err, "", 0, 0,
				               "module %s: does not provide check type '%s', which "
				               "gate's index names for family %s",
				               path, t->type, f);
				return -1;
			}
			if (!lists_rehearsal(mod, t->type) != !t->rehearsal) {
				gate_error_set(
					err, "", 0, 0,
					"module %s: check type '%s' is %sa restore rehearsal "
					"in the module, %sin gate's index",
					path, t->type, t->rehearsal ? "not " : "",
					t->rehearsal ? "" : "not ");
				return -1;
			}
		}
	for (size_t i = 0; i < mod->ntypes; i++) {
		const struct gate_family_type *t = mod->types[i].name
		                                           ? index_entry(reg, mod->types[i].name)
		                                           : NULL;
		if (!t || strcmp(t->family, f)) {
			gate_error_set(err, "", 0, 0,
			               "module %s: provides check type '%s', which gate's index "
			               "does not name for family %s",
			               path, mod->types[i].name ? mod->types[i].name : "(null)", f);
			return -1;
		}
	}
	if (want != mod->ntypes || !mod->name || strcmp(mod->name, f)) {
		gate_error_set(err, "", 0, 0,
		               "module %s: is module '%s' of %zu types, not family %s", path,
		               mod->name ? mod->name : "(null)", mod->ntypes, f);
		return -1;
	}
	return 0;
}

/* Load family f (<dir>/<name>.so) as the index says it is; its state
 * says how it went. */
static void load_family(struct gate_registry *reg, struct gate_family_load *f)
{
	struct gate_error err = {0};
	void *h = NULL;
	int untrusted;
	if (!reg->family_dir) {
		f->state = -1;
		f->why = xstrdup(reg->family_dir_why);
		return;
	}
	char *path = xasprintf("%s/%s.so", reg->family_dir, f->name);
	const struct gate_module *mod = open_module(reg, path, &h, &untrusted, &err);
	if (mod && check_abi(mod, path, &err) == 0 &&
	    matches_index(reg, mod, f->name, path, &err) == 0 &&
	    add_module(reg, mod, "built-in", 1, &err) == 0) {
		keep_handle(reg, h);
		f->state = 1;
	} else {
		if (h)
			dlclose(h);
		f->state = -1;
		f->why = xstrdup(err.msg);
	}
	free(path);
}

static struct gate_family_load *family_named(struct gate_registry *reg, const char *name)
{
	for (size_t i = 0; i < reg->nfamilies; i++)
		if (!strcmp(reg->families[i].name, name))
			return &reg->families[i];
	return NULL;
}

const struct gate_registry_entry *registry_find(struct gate_registry *reg, const char *name)
{
	if (!reg || !name)
		return NULL;
	const struct gate_registry_entry *e = find_loaded(reg, name);
	if (e)
		return e;
	const struct gate_family_type *t = index_entry(reg, name);
	struct gate_family_load *f = t ? family_named(reg, t->family) : NULL;
	if (!f || f->state)
		return NULL; /* loaded without it cannot be (matches_index) */
	load_family(reg, f);
	return find_loaded(reg, name);
}

const struct gate_family_load *registry_family_failure(struct gate_registry *reg, const char *name)
{
	const struct gate_family_type *t = reg && name ? index_entry(reg, name) : NULL;
	struct gate_family_load *f = t ? family_named(reg, t->family) : NULL;
	if (f && !f->state)
		load_family(reg, f);
	return f && f->state < 0 ? f : NULL;
}

size_t registry_load_all(struct gate_registry *reg)
{
	size_t bad = 0;
	for (size_t i = 0; reg && i < reg->nfamilies; i++) {
		if (!reg->families[i].state)
			load_family(reg, &reg->families[i]);
		bad += reg->families[i].state < 0;
	}
	return bad;
}

const char **registry_type_names(const struct gate_registry *reg, size_t *n)
{
	size_t cap = reg ? reg->ntypes : 0;
	for (const struct gate_family_type *t = reg ? reg->family_index : NULL; t && t->type; t++)
		cap++;
	const char **names = xcalloc(cap + 1, sizeof(*names));
	*n = 0;
	for (size_t i = 0; reg && i < reg->ntypes; i++)
		names[(*n)++] = reg->types[i].ct->name;
	for (const struct gate_family_type *t = reg ? reg->family_index : NULL; t && t->type; t++)
		if (!find_loaded(reg, t->type))
			names[(*n)++] = t->type;
	return names;
}
