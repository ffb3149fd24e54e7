/* SPDX-License-Identifier: MIT */
/*
 * The file lock, `{file: PATH}` (gate/hold.h): an exclusive flock(2) on
 * PATH, taken without waiting (LOCK_EX|LOCK_NB; the core tries again
 * under --wait) and held on gate's open file description until the
 * command has ended.  The kernel frees it when that description is
 * closed, so also when gate dies of SIGKILL: there is nothing to force.
 *
 * The holder (hold_who_json, one line of JSON) is written into the file
 * once the lock is taken, and the file is emptied before it is let go.
 * PATH is opened O_NOFOLLOW, must be a regular file, and is created 0600
 * when absent: gate never follows a symbolic link, nor opens a FIFO or a
 * device.  A probe opens PATH on a new open file description, read only,
 * and tries a shared flock without waiting: it fails exactly when a holder
 * has the exclusive one (flock locks belong to open file descriptions, so
 * even gate's own holding description would answer busy).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builtin.h"
#include "kit/alloc.h"
#include "kit/clock.h"

/* The most of a lock file read back for its holder, and how long a
 * holder that just took the lock may take to write itself in. */
#define HOLDER_MAX 4096
#define HOLDER_SETTLE_MS 500

static const struct gate_param file_params[] = {
	{"file", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "Absolute path of the lock file: created 0600 when absent; a symbolic link, "
         "a directory or any other non-regular file is refused."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static int file_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	const char *path = gate_param_str(params, "file");
	if (path && path[0] == '/' && path[strlen(path) - 1] != '/')
		return 0;
	*param = "file";
	snprintf(msg, msglen, "expected an absolute path of a file, got '%s'", path ? path : "");
	return -1;
}

/* errno, or NOT_REGULAR for a file that is there but is no regular file. */
#define NOT_REGULAR (-1)

static void set_error(struct hold_result *res, const char *path, const char *what, int e)
{
	res->state = HOLD_ERROR;
	res->message = xasprintf("%s %s: %s", what, path,
	                         e == ELOOP         ? "a symbolic link (gate never follows one)"
	                         : e == EISDIR      ? "a directory, not a regular file"
	                         : e == NOT_REGULAR ? "not a regular file"
	                                            : strerror(e));
}

/* Open PATH as a lock file: never through a symbolic link, never a FIFO
 * or a device (O_NONBLOCK keeps a FIFO from blocking the open itself).
 * -1 with res set, or, for a probe (!create), -1 and res untouched when
 * PATH does not exist. */
static int open_lock_file(const char *path, int create, struct hold_result *res)
{
	int flags = (create ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	            O_NONBLOCK;
	int fd = open(path, flags, 0600);
	if (fd < 0) {
		if (errno != ENOENT || create)
			set_error(res, path, "cannot open the lock file", errno);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		set_error(res, path, "cannot use the lock file", NOT_REGULAR);
		close(fd);
		return -1;
	}
	return fd;
}

/* The holder stored in the lock file, as text.  A holder writes it right
 * after it took the lock: one found empty or half written is read again
 * for a moment ("an unknown holder" after that, or when the file holds
 * something else). */
static char *read_holder(int fd)
{
	char buf[HOLDER_MAX + 1];
	int64_t until = gate_mono_ms() + HOLDER_SETTLE_MS;
	for (;;) {
		ssize_t n = pread(fd, buf, HOLDER_MAX, 0);
		buf[n > 0 ? n : 0] = '\0';
		json_t *j = n > 0 ? json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
		char *t = hold_who_text_json(j);
		json_decref(j);
		if (t)
			return t;
		if (gate_mono_ms() >= until)
			return xstrdup("an unknown holder");
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static void busy(struct hold_result *res, int fd, const char *path)
{
	res->state = HOLD_BUSY;
	res->holder = read_holder(fd);
	res->details = json_pack("{s:s}", "file", path);
}

struct file_lock {
	int fd;
	char *path;
};

/* The holder, one line of JSON, in place of whatever the file held. */
static int write_holder(int fd, const struct hold_who *who)
{
	json_t *j = hold_who_json(who);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		return -1;
	size_t len = strlen(s);
	int ok = ftruncate(fd, 0) == 0 && pwrite(fd, s, len, 0) == (ssize_t)len &&
	         pwrite(fd, "\n", 1, (off_t)len) == 1;
	free(s);
	return ok ? 0 : -1;
}

static void file_take(const json_t *params, const struct hold_who *who, int64_t deadline_ms,
                      void **handle, struct hold_result *res)
{
	const char *path = gate_param_str(params, "file");
	*handle = NULL;
	int fd = open_lock_file(path, 1, res);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			busy(res, fd, path);
		else
			set_error(res, path, "cannot lock", errno);
		close(fd);
		return;
	}
	if (write_holder(fd, who) < 0) {
		int e = errno;
		close(fd); /* lets go of the lock */
		set_error(res, path, "cannot write the holder into", e);
		return;
	}
	struct file_lock *l = xmalloc(sizeof(*l));
	l->fd = fd;
	l->path = xstrdup(path);
	*handle = l;
	res->state = HOLD_TAKEN;
	res->message = xasprintf("flock on %s", path);
	res->details = json_pack("{s:s}", "file", path);
}

static void file_probe(const json_t *params, int64_t deadline_ms, struct hold_result *res)
{
	const char *path = gate_param_str(params, "file");
	int fd = open_lock_file(path, 0, res);
	if (fd < 0) {
		if (res->state == HOLD_ERROR)
			return;
		res->state = HOLD_TAKEN;
		res->message = xasprintf("%s does not exist yet", path);
		res->details = json_pack("{s:s}", "file", path);
		return;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			busy(res, fd, path);
		else
			set_error(res, path, "cannot test the lock on", errno);
		close(fd);
		return;
	}
	close(fd); /* and the shared lock with it */
	res->state = HOLD_TAKEN;
	res->details = json_pack("{s:s}", "file", path);
}

/* Emptied first, so that a reader never takes a freed lock's file for a
 * holder; closing the description lets go of the lock. */
static int file_release(void *handle, char *msg, size_t msglen)
{
	struct file_lock *l = handle;
	if (!l)
		return 0;
	int rc = 0;
	if (ftruncate(l->fd, 0) < 0) {
		snprintf(msg, msglen, "cannot empty %s: %s", l->path, strerror(errno));
		rc = -1;
	}
	if (close(l->fd) < 0 && rc == 0) {
		snprintf(msg, msglen, "cannot close %s: %s", l->path, strerror(errno));
		rc = -1;
	}
	free(l->path);
	free(l);
	return rc;
}

const struct lock_kind hold_lock_file = {
	.name = "file",
	.summary = "an exclusive flock on a local file, freed by the kernel when gate ends",
	.params = file_params,
	.validate = file_validate,
	.take = file_take,
	.probe = file_probe,
	.keepalive_ms = NULL,
	.keepalive = NULL,
	.release = file_release,
	.force_release = NULL,
};
