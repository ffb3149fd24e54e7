/* SPDX-License-Identifier: MIT */
/* The runbook loader (runbook.md). */
#include "runbook.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "util.h"

int runbook_load(struct runbook *rb, const char *path,
                 const struct runbook_load_opts *opts,
                 const struct gate_registry *reg, struct gate_error *err)
{
	memset(rb, 0, sizeof(*rb));
	gate_error_set(err, path, 0, 0, "loader not ready");
	return -1;
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

int runbook_command_allowed(const struct runbook *rb, char *const *argv)
{
	if (!rb->allow_commands)
		return 1;
	char *line = strv_join(argv, " ");
	int ok = 0;
	for (char **g = rb->allow_commands; *g && !ok; g++)
		ok = fnmatch(*g, line, 0) == 0;
	free(line);
	return ok;
}
