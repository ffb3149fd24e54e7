/* SPDX-License-Identifier: MIT */
/*
 * gate's internal parts: pieces of the program kept in shared objects of
 * their own because they link libraries most runs never need, loaded the
 * first time they are needed and kept until the process ends.
 *
 *   part-holds.so   the lock and maintenance kinds (holds/: libpq, libcurl)
 *   part-notify.so  the webhook transport of notifications (notify/: libcurl)
 *   part-serve.so   gate serve (gate/cli_serve*.c: libmicrohttpd, libsystemd)
 *
 * They live in the families directory (gate/selfdir.h) beside the check
 * families.  Unlike a family, a part is no public ABI: it is built with the
 * executable, resolves the core's and the command line's functions against
 * it (the executable exports them), and works only with the executable of
 * its own build.  Each exports one descriptor, `gate_part_<name>`, whose
 * first field is the build's token (GATE_BUILD_TOKEN, random per
 * configuration): it is compared before anything else of the part is read,
 * and a part of another build is refused.  A part is loaded as a module is
 * (registry_load_file): trusted first (trust.h, TRUST_MODULE) on an open
 * descriptor, then dlopen of that descriptor.  Never prints.
 */
#ifndef GATE_PART_H
#define GATE_PART_H

#include "error.h"

struct lock_kind;
struct maint_kind;

struct gate_part {
	const char *token;   /* GATE_BUILD_TOKEN of the part's build: read first */
	const char *name;    /* "holds", "notify", "serve" */
	const void *payload; /* what it provides, by name (below) */
};

/* holds: the lock and maintenance kinds, NULL-terminated lists. */
struct gate_part_holds {
	const struct lock_kind *const *locks;
	const struct maint_kind *const *maints;
};
/* notify: a const struct notify_transport (gate/notify.h). */
/* serve: the command (gate/cli_serve.c). */
struct gate_part_serve {
	int (*main)(int argc, char **argv);
};

/* In the part: its descriptor, the one symbol it exports. */
#define GATE_PART_DEFINE(pname, payloadp)      \
	__attribute__((visibility("default"))) \
	const struct gate_part gate_part_##pname = {GATE_BUILD_TOKEN, #pname, payloadp}

/* The payload of part `name`, loading <families dir>/part-<name>.so the
 * first time (once per process, thread-safe; never unloaded).  NULL with
 * err set ("part-holds.so (PATH): why") when it cannot be found, is not
 * trusted, cannot be loaded, or is not this build's; the same error again
 * on every later call. */
const void *gate_part_load(const char *name, struct gate_error *err);

#endif
