/* SPDX-License-Identifier: MIT */
/*
 * The registry's lock and maintenance kinds (registry_holds.h): lists the
 * program hands in, or the part part-holds.so (part.h), loaded on the
 * first lookup.  A registry whose kinds come from the part holds marker
 * lists (empty): whoever walks them without asking the part finds no kind,
 * so nothing can be held by mistake of a lookup that skipped the load.
 */
#include "registry_holds.h"

#include <string.h>

#include "hold.h"
#include "part.h"

static const struct lock_kind *const from_part_locks[] = {NULL};
static const struct maint_kind *const from_part_maints[] = {NULL};

void registry_add_holds(struct gate_registry *reg, const struct lock_kind *const *locks,
                        const struct maint_kind *const *maints)
{
	reg->lock_kinds = locks;
	reg->maint_kinds = maints;
}

void registry_add_holds_part(struct gate_registry *reg)
{
	registry_add_holds(reg, from_part_locks, from_part_maints);
}

static int from_part(const struct gate_registry *reg)
{
	return reg && reg->lock_kinds == from_part_locks;
}

/* The part's kinds, loading it the first time; NULL with err. */
static const struct gate_part_holds *part_holds(struct gate_error *err)
{
	const struct gate_part_holds *h = gate_part_load("holds", err);
	if (h && (!h->locks || !h->maints)) {
		gate_error_set(err, "", 0, 0, "part-holds.so lists no kinds");
		return NULL;
	}
	return h;
}

int registry_holds_ready(const struct gate_registry *reg, struct gate_error *err)
{
	return from_part(reg) && !part_holds(err) ? -1 : 0;
}

const struct lock_kind *const *registry_lock_kinds(const struct gate_registry *reg)
{
	if (!from_part(reg))
		return reg ? reg->lock_kinds : NULL;
	struct gate_error err = {0};
	const struct gate_part_holds *h = part_holds(&err);
	return h ? h->locks : NULL;
}

const struct maint_kind *const *registry_maint_kinds(const struct gate_registry *reg)
{
	if (!from_part(reg))
		return reg ? reg->maint_kinds : NULL;
	struct gate_error err = {0};
	const struct gate_part_holds *h = part_holds(&err);
	return h ? h->maints : NULL;
}

const struct lock_kind *registry_find_lock(const struct gate_registry *reg, const char *name)
{
	const struct lock_kind *const *k = registry_lock_kinds(reg);
	for (size_t i = 0; name && k && k[i]; i++)
		if (!strcmp(k[i]->name, name))
			return k[i];
	return NULL;
}

const struct maint_kind *registry_find_maint(const struct gate_registry *reg, const char *name)
{
	const struct maint_kind *const *k = registry_maint_kinds(reg);
	for (size_t i = 0; name && k && k[i]; i++)
		if (!strcmp(k[i]->name, name))
			return k[i];
	return NULL;
}
