/* SPDX-License-Identifier: MIT */
/*
 * The registry of check types: the modules built into the program (handed
 * over by it: the core links no check) and external shared objects.  The
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

int registry_add_module(struct gate_registry *reg, const struct gate_module *mod,
                        const char *origin, struct gate_error *err)
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
		const struct gate_registry_entry *prev = registry_find(reg, ct->name);
		if (prev) {
			gate_error_set(err, "", 0, 0,
			               "module %s: check type '%s' is already provided by %s",
			               origin, ct->name, prev->origin);
			return -1;
		}
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

int registry_load_file(struct gate_registry *reg, const char *path, struct gate_error *err)
{
	struct gate_error local = {0};
	/* A module is a file (never a search of the library path), trusted
	 * like a runbook (trust.h) BEFORE it is opened: its constructors run
	 * inside dlopen.  The descriptor that was checked is the one loaded
	 * (/proc/self/fd/N), so the file cannot be swapped in between. */
	struct gate_error why = {0};
	int fd = trust_open(path, &why);
	if (fd < 0) {
		gate_error_set(&local, "", 0, 0, "module %s: cannot load: %s", path, why.msg);
		goto fail;
	}
	if (trust_check_fd(fd, path, TRUST_MODULE, geteuid(), &why) < 0) {
		gate_error_set(&local, "", 0, 0, "module %s: not loaded: %s", path, why.msg);
		close(fd);
		add_failure(reg, path, local.msg);
		reg->failures[reg->nfailures - 1].untrusted = 1;
		gate_error_set(err, local.file, local.line, local.col, "%s", local.msg);
		return -1;
	}
	char file[64];
	snprintf(file, sizeof(file), "/proc/self/fd/%d", fd);
	void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		close(fd);
		/* "/proc/self/fd/5: invalid ELF header": the path says which */
		const char *e = dlerror();
		size_t fl = strlen(file);
		if (e && !strncmp(e, file, fl) && !strncmp(e + fl, ": ", 2))
			e += fl + 2;
		gate_error_set(&local, "", 0, 0, "module %s: cannot load: %s", path,
		               e ? e : "unknown error");
		goto fail;
	}
	/* Kept open even when the module is refused below: dlclose may
	 * leave it mapped (under that name). */
	reg->fds = xrealloc(reg->fds, (reg->nfds + 1) * sizeof(*reg->fds));
	reg->fds[reg->nfds++] = fd;
	dlerror();
	const struct gate_module *mod = dlsym(h, GATE_MODULE_SYMBOL);
	if (!mod) {
		gate_error_set(&local, "", 0, 0, "module %s: no '%s' symbol", path,
		               GATE_MODULE_SYMBOL);
		dlclose(h);
		goto fail;
	}
	if (registry_add_module(reg, mod, path, &local) < 0) {
		dlclose(h);
		goto fail;
	}
	reg->handles = xrealloc(reg->handles, (reg->nhandles + 1) * sizeof(*reg->handles));
	reg->handles[reg->nhandles++] = h;
	return 0;
fail:
	add_failure(reg, path, local.msg);
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

const struct gate_registry_entry *registry_find(const struct gate_registry *reg, const char *name)
{
	if (!reg || !name)
		return NULL;
	for (size_t i = 0; i < reg->ntypes; i++)
		if (!strcmp(reg->types[i].ct->name, name))
			return &reg->types[i];
	return NULL;
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
	memset(reg, 0, sizeof(*reg));
}
