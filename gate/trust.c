/* SPDX-License-Identifier: MIT */
/* Trust in runbooks, policies and modules (trust.h). */
#include "trust.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit/alloc.h"
#include "kit/strbuf.h"

int trust_open(const char *path, struct gate_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		gate_error_set(err, path, 0, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	return fd;
}

/* "group", "others", "group and others", or NULL. */
static const char *writable_by(mode_t m)
{
	if ((m & S_IWGRP) && (m & S_IWOTH))
		return "group and others";
	if (m & S_IWGRP)
		return "group";
	if (m & S_IWOTH)
		return "others";
	return NULL;
}

static const char *consequence(enum trust_kind kind)
{
	switch (kind) {
	case TRUST_MODULE:
		return "would run its code as soon as it is loaded";
	case TRUST_HOOKS:
		return "would let through the pushes its rules say nothing about";
	case TRUST_RUNBOOK:
		break;
	}
	return "would run the checks it names";
}

/* One object (the file, or a directory it sits in): what is wrong with it,
 * appended to sb with the fix; 1 when something is. */
static int judge(struct strbuf *sb, const struct stat *st, const char *name, int is_dir, uid_t me)
{
	int bad_owner = st->st_uid != 0 && st->st_uid != me;
	const char *w = writable_by(st->st_mode);
	/* A directory writable by its (trusted) owner's group is as open
	 * as the file would be: the same rule. */
	if (!bad_owner && !w)
		return 0;
	if (is_dir)
		strbuf_addf(sb, "its directory %s is ", name);
	if (bad_owner && me == 0)
		strbuf_addf(sb, "owned by uid %u, not root", (unsigned)st->st_uid);
	else if (bad_owner)
		strbuf_addf(sb, "owned by uid %u, neither root nor you (uid %u)",
		            (unsigned)st->st_uid, (unsigned)me);
	if (bad_owner && w)
		strbuf_adds(sb, " and ");
	if (w)
		strbuf_addf(sb, "writable by %s (mode %04o)", w, (unsigned)(st->st_mode & 07777));
	return 1;
}

static void fix(struct strbuf *sb, const struct stat *st, const char *name, int is_dir, uid_t me)
{
	int bad_owner = st->st_uid != 0 && st->st_uid != me;
	const char *w = writable_by(st->st_mode);
	if (bad_owner && me == 0)
		strbuf_addf(sb, "chown root %s", name);
	else if (bad_owner)
		strbuf_addf(sb, "use a copy owned by you or root%s",
		            is_dir ? ", in a directory of yours" : "");
	if (bad_owner && w)
		strbuf_adds(sb, " && ");
	if (w && is_dir)
		strbuf_addf(sb, "chmod go-w %s (or move the file to a directory only %s can write)",
		            name, me == 0 ? "root" : "you");
	else if (w)
		strbuf_addf(sb, "chmod go-w %s", name);
}

/* The directory part of path ("." for a bare name, "/" for "/x"). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* The name the open file really has (a symlink resolved), or NULL. */
static char *real_name(int fd, const char *path)
{
	char link[64], buf[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	if (n > 0 && buf[0] == '/') {
		buf[n] = '\0';
		return xstrdup(buf);
	}
	/* No /proc: the name resolved now (the file itself was fstat'ed). */
	char *r = realpath(path, NULL);
	return r;
}

/* The directory of the name given, then the one of the file it resolves
 * to when that is another (a symbolic link).  0, or -1 with why/how. */
static int check_dirs(int fd, const char *path, uid_t me, struct strbuf *why, struct strbuf *how)
{
	char *dirs[2] = {dir_of(path), NULL};
	char *real = real_name(fd, path);
	if (real)
		dirs[1] = dir_of(real);
	free(real);
	int rc = 0;
	struct stat first = {0};
	for (int i = 0; i < 2 && rc == 0 && dirs[i]; i++) {
		struct stat ds;
		if (stat(dirs[i], &ds) < 0) {
			strbuf_addf(why, "cannot check its directory %s: %s", dirs[i],
			            strerror(errno));
			rc = -1;
			break;
		}
		if (i == 1 && ds.st_dev == first.st_dev && ds.st_ino == first.st_ino)
			break;
		if (i == 0)
			first = ds;
		if (judge(why, &ds, dirs[i], 1, me)) {
			fix(how, &ds, dirs[i], 1, me);
			rc = -1;
		}
	}
	if (rc == 0 && !dirs[1]) {
		strbuf_adds(why, "cannot tell which directory it is in");
		rc = -1;
	}
	free(dirs[0]);
	free(dirs[1]);
	return rc;
}

int trust_check_fd(int fd, const char *path, enum trust_kind kind, uid_t me, struct gate_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		gate_error_set(err, path, 0, 0, "cannot stat: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		gate_error_set(err, path, 0, 0, "not a regular file");
		return -1;
	}
	struct strbuf why = STRBUF_INIT, how = STRBUF_INIT;
	int rc = 0;
	if (judge(&why, &st, path, 0, me)) {
		fix(&how, &st, path, 0, me);
		rc = -1;
	} else {
		rc = check_dirs(fd, path, me, &why, &how);
	}
	if (rc < 0) {
		const char *runs = me == 0 ? "gate runs as root and " : "gate ";
		gate_error_set(err, path, 0, 0, "%s; %s%s%s%s", why.buf, runs, consequence(kind),
		               how.len ? ": " : "", how.len ? how.buf : "");
	}
	strbuf_release(&why);
	strbuf_release(&how);
	return rc;
}

void *trust_dlopen(const char *path, int *fd, enum trust_dl_step *step, struct gate_error *err)
{
	*fd = trust_open(path, err);
	if (*fd < 0) {
		*step = TRUST_DL_OPEN;
		return NULL;
	}
	if (trust_check_fd(*fd, path, TRUST_MODULE, geteuid(), err) < 0) {
		*step = TRUST_DL_TRUST;
		close(*fd);
		*fd = -1;
		return NULL;
	}
	char file[64];
	snprintf(file, sizeof(file), "/proc/self/fd/%d", *fd);
	void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		/* "/proc/self/fd/5: invalid ELF header": the caller names the path */
		const char *e = dlerror();
		size_t fl = strlen(file);
		if (e && !strncmp(e, file, fl) && !strncmp(e + fl, ": ", 2))
			e += fl + 2;
		gate_error_set(err, "", 0, 0, "%s", e ? e : "unknown error");
		*step = TRUST_DL_LOAD;
		close(*fd);
		*fd = -1;
	}
	return h;
}
