/* SPDX-License-Identifier: MIT */
/* The check types gate knows: gate's built-in families, shared objects
 * loaded the first time one of their types is looked up (the program hands
 * in the index of their types: the core names no check), modules linked
 * into a program (tests, tools) and external shared objects loaded from
 * module directories.  Never prints. */
#ifndef GATE_REGISTRY_H
#define GATE_REGISTRY_H

#include <stddef.h>

#include "error.h"
#include "module.h"

struct lock_kind;
struct maint_kind;

struct gate_registry_entry {
	const struct gate_check_type *ct;
	const struct gate_module *mod;
	char *origin;  /* "built-in" or the .so path */
	int rehearsal; /* the module lists the type in `rehearsals` (ABI 1.1) */
};

struct gate_registry_failure {
	char *path; /* the .so that could not be loaded */
	char *why;
	int untrusted; /* refused by the trust check (trust.h), never opened */
};

/* Appended: one type of gate's built-in families, as the index the
 * program hands in says (gate's is generated when it is built:
 * checks/mkindex.c).  An index ends with an entry whose type is NULL. */
struct gate_family_type {
	const char *type;   /* "postgres.replica" */
	const char *family; /* "postgres": the shared object <family>.so */
	int rehearsal;      /* the family lists the type in `rehearsals` */
};

/* What became of one family of the index. */
struct gate_family_load {
	char *name; /* "postgres" */
	int state;  /* 0 not tried yet, 1 loaded, -1 refused (why) */
	char *why;  /* "module /usr/lib/.../postgres.so: cannot load: ..." */
};

struct gate_registry {
	struct gate_registry_entry *types;
	size_t ntypes;
	struct gate_registry_failure *failures;
	size_t nfailures;
	void **handles; /* dlopen handles */
	size_t nhandles;
	/* Descriptors modules were loaded from (/proc/self/fd/N), open until
	 * registry_release(): the dynamic loader knows an object by that
	 * name, so N must not be reused by another module meanwhile. */
	int *fds;
	size_t nfds;
	/* Appended: the lock and maintenance kinds the program links
	 * (gate/hold.h; gate's are holds/builtin.h), NULL-terminated, not
	 * owned; NULL when none were handed in. */
	const struct lock_kind *const *lock_kinds;
	const struct maint_kind *const *maint_kinds;
	/* Appended: the built-in families (registry_add_families): the
	 * index (not owned), the directory their objects are in (NULL when
	 * it cannot be found: family_dir_why), what became of each. */
	const struct gate_family_type *family_index;
	char *family_dir;
	char *family_dir_why;
	struct gate_family_load *families;
	size_t nfamilies;
};

void registry_init(struct gate_registry *reg);
/* The modules linked into the program, a NULL-terminated list (gate's
 * is gate_builtin_modules, checks/builtin.h), with the origin "built-in".
 * One that cannot be added (a duplicate type) is recorded in
 * reg->failures, so that a check needing it errors. */
void registry_add_builtins(struct gate_registry *reg, const struct gate_module *const *mods);
/* Add one module; -1 (err set) on an ABI mismatch or a duplicate type. */
int registry_add_module(struct gate_registry *reg, const struct gate_module *mod,
                        const char *origin, struct gate_error *err);
/* Load every *.so in dir.  A module that cannot be loaded is recorded in
 * reg->failures (a check of a type it may have provided is then an error,
 * never silently passed); a missing directory is not an error. */
void registry_load_dir(struct gate_registry *reg, const char *dir);
/* Load one .so; -1 with err on failure (also recorded in failures). */
int registry_load_file(struct gate_registry *reg, const char *path, struct gate_error *err);
/* The type `name`: from a module already loaded, else from the built-in
 * family the index names for it, loaded now (trusted, its ABI checked,
 * and only when it provides exactly the types the index says: else it is
 * refused, registry_family_failure says why).  NULL when no module
 * provides it.  The entry is valid until the next registry_find. */
const struct gate_registry_entry *registry_find(struct gate_registry *reg, const char *name);
void registry_release(struct gate_registry *reg);

/* Appended: the lock and maintenance kinds of runbooks' `lock:` and
 * `maintenance:` (gate/hold.h), handed in by the program as the check
 * modules are: the core names no kind.  The lists are not copied. */
void registry_add_holds(struct gate_registry *reg, const struct lock_kind *const *locks,
                        const struct maint_kind *const *maints);
const struct lock_kind *registry_find_lock(const struct gate_registry *reg, const char *name);
const struct maint_kind *registry_find_maint(const struct gate_registry *reg, const char *name);

/* Appended: gate's built-in families, shipped as shared objects
 * (<family>.so in dir; NULL: gate's family directory, gate/selfdir.h) and
 * loaded only when one of their types is looked up.  `index` is not
 * copied.  An external module may not provide a type the index names. */
void registry_add_families(struct gate_registry *reg, const struct gate_family_type *index,
                           const char *dir);
/* When `name` is a type the index names and its family was refused (or
 * is now, tried first if it was not yet): that family (name, why);
 * else NULL. */
const struct gate_family_load *registry_family_failure(struct gate_registry *reg, const char *name);
/* Load every family of the index (`gate checks`, the rehearsal types);
 * the number refused (registry_family_failure, or reg->families[].why). */
size_t registry_load_all(struct gate_registry *reg);
/* The names a type may be: those loaded and those of the index (loading
 * nothing), for "did you mean"; *n of them, free() the array only. */
const char **registry_type_names(const struct gate_registry *reg, size_t *n);

#endif
