/* SPDX-License-Identifier: MIT */
#include "selfdir.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit/alloc.h"

char *gate_family_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(exe) - 1) {
		if (n > 0)
			errno = ENAMETOOLONG;
		return NULL;
	}
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash) {
		errno = ENOENT;
		return NULL;
	}
	*slash = '\0';
	char *joined = xasprintf("%s/%s", exe, GATE_FAMILY_RELDIR);
	char *dir = realpath(joined, NULL);
	int saved = errno;
	free(joined);
	errno = saved;
	return dir;
}
