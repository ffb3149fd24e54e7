/* SPDX-License-Identifier: MIT */
/*
 * The loader of gate's internal parts (part.h): trusted, opened, checked
 * against this build's token before anything else of the part is read,
 * once per process.  A part that cannot be used is an error for whoever
 * needed it (a runbook with a lock is invalid, a notification failed,
 * gate serve does not start): never a part of another build, never a
 * silent "none".
 */
#include "part.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "selfdir.h"
#include "trust.h"
#include "kit/alloc.h"

#define PART_MAX 8

struct part_slot {
	char name[32];
	const void *payload; /* NULL: failed, why in err */
	struct gate_error err;
};

static pthread_mutex_t part_lock = PTHREAD_MUTEX_INITIALIZER;
static struct part_slot parts[PART_MAX];
static size_t nparts;

/* Open, trust, dlopen and check the token; the payload or NULL (err). */
static const void *load(const char *name, const char *so, const char *path, struct gate_error *err)
{
	struct gate_error why = {0};
	enum trust_dl_step step = 0;
	int fd;
	void *h = trust_dlopen(path, &fd, &step, &why);
	if (!h) {
		gate_error_set(err, "", 0, 0, "%s (%s): %s%s", so, path,
		               step == TRUST_DL_TRUST  ? "not loaded: "
		               : step == TRUST_DL_LOAD ? "cannot load: "
		                                       : "",
		               why.msg);
		return NULL;
	}
	/* From here on fd stays open (the loader knows the object by its
	 * name), and so does the object: a part is never unloaded. */
	char sym[64];
	snprintf(sym, sizeof(sym), "gate_part_%s", name);
	dlerror();
	const struct gate_part *p = dlsym(h, sym);
	if (!p) {
		gate_error_set(err, "", 0, 0, "%s (%s): not a part of gate (no '%s' symbol)", so,
		               path, sym);
		return NULL;
	}
	/* The token first: nothing else of a part of another build is read. */
	if (!p->token || strcmp(p->token, GATE_BUILD_TOKEN)) {
		gate_error_set(err, "", 0, 0,
		               "%s (%s): from another build of gate (the executable and its "
		               "parts must come from one build: reinstall gate)",
		               so, path);
		return NULL;
	}
	if (!p->name || strcmp(p->name, name) || !p->payload) {
		gate_error_set(err, "", 0, 0, "%s (%s): does not provide the part '%s'", so, path,
		               name);
		return NULL;
	}
	return p->payload;
}

static void load_slot(struct part_slot *s, const char *name)
{
	char so[64];
	snprintf(so, sizeof(so), "part-%s.so", name);
	char *dir = gate_family_dir();
	if (!dir) {
		gate_error_set(&s->err, "", 0, 0,
		               "%s: cannot find gate's directory of parts (%s beside the "
		               "executable): %s",
		               so, GATE_FAMILY_RELDIR, strerror(errno));
		return;
	}
	char *path = xasprintf("%s/%s", dir, so);
	s->payload = load(name, so, path, &s->err);
	free(path);
	free(dir);
}

const void *gate_part_load(const char *name, struct gate_error *err)
{
	const void *payload = NULL;
	pthread_mutex_lock(&part_lock);
	struct part_slot *s = NULL;
	for (size_t i = 0; i < nparts && !s; i++)
		if (!strcmp(parts[i].name, name))
			s = &parts[i];
	if (!s && (nparts == PART_MAX || strlen(name) >= sizeof(s->name))) {
		gate_error_set(err, "", 0, 0, "part-%s.so: no such part of gate", name);
		goto out;
	}
	if (!s) {
		s = &parts[nparts++];
		snprintf(s->name, sizeof(s->name), "%s", name);
		load_slot(s, name);
	}
	payload = s->payload;
	if (!payload)
		gate_error_set(err, s->err.file, s->err.line, s->err.col, "%s", s->err.msg);
out:
	pthread_mutex_unlock(&part_lock);
	return payload;
}
