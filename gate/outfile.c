/* SPDX-License-Identifier: MIT */
/* Files gate writes by name (outfile.h). */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit/alloc.h"
#include "kit/io.h"

static const char *file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

int outfile_check(const char *path, struct gate_error *err)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		gate_error_set(err, path, 0, 0, "%s", strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		gate_error_set(err, path, 0, 0,
		               "is a symbolic link: gate does not write through one");
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		gate_error_set(err, path, 0, 0, "is %s, not a regular file", file_kind(st.st_mode));
		return -1;
	}
	return 0;
}

char *outfile_write_beside(const char *path, const char *data, size_t len, mode_t mode,
                           struct gate_error *err)
{
	/* Beside the target (rename works within one file system); mkostemp's
	 * O_EXCL and random suffix: nothing planted there in advance is used. */
	char *tmp = xasprintf("%s.gate-tmp.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		gate_error_set(err, path, 0, 0, "cannot create a file next to it: %s",
		               strerror(errno));
		free(tmp);
		return NULL;
	}
	int r = 0;
	if (fchmod(fd, mode) < 0 || write_full(fd, data, len) < 0 || fsync(fd) < 0) {
		gate_error_set(err, path, 0, 0, "%s", strerror(errno));
		r = -1;
	}
	if (close(fd) < 0 && r == 0) {
		gate_error_set(err, path, 0, 0, "%s", strerror(errno));
		r = -1;
	}
	if (r < 0) {
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	return tmp;
}

int outfile_replace(const char *path, const char *data, size_t len, struct gate_error *err)
{
	if (outfile_check(path, err) < 0)
		return -1;
	mode_t mask = umask(0);
	umask(mask);
	char *tmp = outfile_write_beside(path, data, len, 0644 & ~mask, err);
	if (!tmp)
		return -1;
	/* Checked again just before the rename: a directory or a FIFO that
	 * appeared meanwhile is refused; a symbolic link planted meanwhile
	 * would only be replaced (rename never follows one), but is refused
	 * all the same. */
	int r = 0;
	if (outfile_check(path, err) < 0)
		r = -1;
	if (r == 0 && rename(tmp, path) < 0) {
		gate_error_set(err, path, 0, 0, "%s", strerror(errno));
		r = -1;
	}
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}
