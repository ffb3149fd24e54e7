/* SPDX-License-Identifier: MIT */
/* Where gate keeps its state (statedir.h). */
#include "statedir.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"

char *gate_state_dir(int per_user)
{
	const char *e = getenv("GATE_STATE_DIR");
	if (e && *e)
		return xstrdup(e);
	if (!per_user || geteuid() == 0)
		return xstrdup("/var/lib/gate");
	e = getenv("XDG_STATE_HOME");
	if (e && *e == '/')
		return xasprintf("%s/gate", e);
	e = getenv("HOME");
	return xasprintf("%s/.local/state/gate", e && *e ? e : "/nonexistent");
}

char *gate_rehearsal_dir(void)
{
	char *base = gate_state_dir(0);
	char *dir = xasprintf("%s/rehearsals", base);
	free(base);
	return dir;
}

void gate_state_mkdirs(const char *dir)
{
	char *copy = xstrdup(dir);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(copy, 0700);
		*p = '/';
	}
	mkdir(copy, 0700);
	free(copy);
}
