/* SPDX-License-Identifier: MIT */
/* Shell wrappers that put a command behind a runbook (wrap.h). */
#include "wrap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"
#include "kit/alloc.h"
#include "kit/io.h"
#include "kit/strbuf.h"

/* A wrapper is a few hundred bytes; reading more than this to find the
 * marker would only mean the file is something else. */
#define WRAP_MAX_READ 4096

void wrap_info_release(struct wrap_info *wi)
{
	if (!wi)
		return;
	free(wi->name);
	free(wi->path);
	free(wi->runbook);
	free(wi->real);
	memset(wi, 0, sizeof(*wi));
}

char *sh_quote(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			strbuf_adds(&sb, "'\\''");
		else
			strbuf_add(&sb, p, 1);
	}
	strbuf_adds(&sb, "'");
	return strbuf_detach(&sb);
}

char *gate_self_exe(struct gate_error *err)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n < 0) {
		gate_error_set(err, "/proc/self/exe", 0, 0, "cannot find the gate binary: %s",
		               strerror(errno));
		return NULL;
	}
	buf[n] = '\0';
	return xstrdup(buf);
}

char *path_absolute(const char *path, struct gate_error *err)
{
	if (!path || !*path) {
		gate_error_set(err, NULL, 0, 0, "empty path");
		return NULL;
	}
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
	                  : xstrdup(".");
	const char *base = slash ? slash + 1 : path;
	char resolved[PATH_MAX];
	if (!realpath(dir, resolved)) {
		gate_error_set(err, path, 0, 0, "%s", strerror(errno));
		free(dir);
		return NULL;
	}
	free(dir);
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return xstrdup(resolved);
	if (!strcmp(resolved, "/"))
		return xasprintf("/%s", base);
	return xasprintf("%s/%s", resolved, base);
}

/* The first WRAP_MAX_READ bytes of a regular file, or NULL with errno
 * (EINVAL: not a regular file). */
static char *slurp_head(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat st;
	int fst = fstat(fd, &st);
	if (fst < 0 || !S_ISREG(st.st_mode)) {
		int e = fst < 0 ? errno : EINVAL;
		close(fd);
		errno = e;
		return NULL;
	}
	char *buf = xmalloc(WRAP_MAX_READ + 1);
	size_t len = 0;
	while (len < WRAP_MAX_READ) {
		ssize_t n = read(fd, buf + len, WRAP_MAX_READ - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

/* The marker line: "# gate-wrapper v1: runbook=R real=P".  The real path
 * is the last field, so it is found from the right: install refuses paths
 * that would make this ambiguous (a newline, or " real=" in the runbook). */
static int parse_marker(const char *text, struct wrap_info *wi)
{
	const char *m = strstr(text, "\n" WRAP_MARKER);
	if (!m)
		return 0;
	m += 1 + strlen(WRAP_MARKER);
	const char *eol = strchr(m, '\n');
	if (!eol)
		return 0;
	char *line = xstrndup(m, (size_t)(eol - m));
	int ok = 0;
	char *real = NULL;
	for (char *p = strstr(line, " real="); p; p = strstr(p + 1, " real="))
		real = p;
	if (!strncmp(line, "runbook=", 8) && real) {
		*real = '\0';
		if (wi) {
			wi->runbook = xstrdup(line + 8);
			wi->real = xstrdup(real + 6);
		}
		ok = 1;
	}
	free(line);
	return ok;
}

int wrap_read(const char *path, struct wrap_info *wi, struct gate_error *err)
{
	char *text = slurp_head(path);
	if (!text) {
		int e = errno;
		if (e == EISDIR || e == EINVAL)
			return 0;
		gate_error_set(err, path, 0, 0, "%s", strerror(e));
		errno = e;
		return -1;
	}
	int r = 0;
	if (!strncmp(text, "#!/bin/sh\n", 10)) {
		struct wrap_info tmp = {0};
		r = parse_marker(text, &tmp);
		if (r && wi) {
			const char *slash = strrchr(path, '/');
			tmp.name = xstrdup(slash ? slash + 1 : path);
			tmp.path = xstrdup(path);
			*wi = tmp;
		} else {
			wrap_info_release(&tmp);
		}
	}
	free(text);
	return r;
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int is_executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int wrap_resolve_real(const char *name, const char *path_env, const char *skip_dir, char **out,
                      struct gate_error *err)
{
	if (!path_env || !*path_env) {
		gate_error_set(err, NULL, 0, 0, "PATH is empty: cannot find '%s'", name);
		return -1;
	}
	char *copy = xstrdup(path_env);
	char *save = NULL;
	int r = -1;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		/* A relative PATH entry would make the wrapper depend on the
		 * directory it is called from: never trust one. */
		if (d[0] != '/')
			continue;
		if (skip_dir && same_file(d, skip_dir))
			continue;
		char *cand = !strcmp(d, "/") ? xasprintf("/%s", name) : xasprintf("%s/%s", d, name);
		if (is_executable_file(cand) && wrap_read(cand, NULL, NULL) == 0) {
			*out = cand;
			r = 0;
			break;
		}
		free(cand);
	}
	free(copy);
	if (r < 0)
		gate_error_set(err, NULL, 0, 0,
		               "'%s' not found in PATH outside %s (give it with --real)", name,
		               skip_dir ? skip_dir : "the wrapper directory");
	return r;
}

/* Copy fd contents of src into dst path (for the backup of a replaced file). */
static int copy_file(const char *src, const char *dst, struct gate_error *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		gate_error_set(err, src, 0, 0, "%s", strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(in, &st) < 0)
		st.st_mode = 0644;
	/* As root in a hooks or bin directory: never truncate whatever a
	 * symbolic link planted as the backup's name points at. */
	if (outfile_check(dst, err) < 0) {
		close(in);
		return -1;
	}
	int outfd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
	                 st.st_mode & 07777);
	if (outfd < 0) {
		gate_error_set(err, dst, 0, 0, "%s", strerror(errno));
		close(in);
		return -1;
	}
	char buf[8192];
	int r = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				r = -1;
			break;
		}
		if (write_full(outfd, buf, (size_t)n) < 0) {
			r = -1;
			break;
		}
	}
	if (r < 0)
		gate_error_set(err, dst, 0, 0, "%s", strerror(errno));
	if (close(outfd) < 0 && r == 0) {
		gate_error_set(err, dst, 0, 0, "%s", strerror(errno));
		r = -1;
	}
	close(in);
	return r;
}

/* Does path exist, and does it contain marker in its head? */
static int existing_is_ours(const char *path, const char *marker, int *exists)
{
	struct stat st;
	*exists = lstat(path, &st) == 0;
	if (!*exists)
		return 0;
	if (!S_ISREG(st.st_mode))
		return 0; /* a symlink or anything else is never ours */
	char *text = slurp_head(path);
	int ours = text && strstr(text, marker) != NULL;
	free(text);
	return ours;
}

int write_script_atomic(const char *path, const char *content, const char *marker, int force,
                        struct gate_error *err)
{
	int exists = 0;
	int ours = existing_is_ours(path, marker, &exists);
	if (exists && !ours && !force) {
		gate_error_set(err, path, 0, 0,
		               "exists and was not written by gate: refusing to replace it");
		return -1;
	}
	if (exists && !ours) {
		char *bak = xasprintf("%s.gate-backup", path);
		int r = copy_file(path, bak, err);
		free(bak);
		if (r < 0)
			return -1;
	}

	char *tmp = outfile_write_beside(path, content, strlen(content), 0755, err);
	if (!tmp)
		return -1;
	int r = 0;
	if (exists) {
		/* Replacing our own file (or a forced replace). */
		if (rename(tmp, path) < 0) {
			gate_error_set(err, path, 0, 0, "%s", strerror(errno));
			r = -1;
		}
	} else if (link(tmp, path) < 0) {
		/* link() never replaces: a file that appeared since the check
		 * above is left alone. */
		if (errno == EEXIST)
			gate_error_set(err, path, 0, 0,
			               "appeared while installing: refusing to replace it");
		else
			gate_error_set(err, path, 0, 0, "%s", strerror(errno));
		r = -1;
	}
	unlink(tmp); /* after link(); after rename() it is already gone */
	free(tmp);
	return r;
}

static int valid_name(const char *name)
{
	return name && *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..") &&
	       !strchr(name, '\n');
}

static char *wrapper_text(const char *runbook, const char *real, const char *gate, const char *name)
{
	char *q_gate = sh_quote(gate), *q_rb = sh_quote(runbook), *q_real = sh_quote(real);
	char *text = xasprintf(
		"#!/bin/sh\n" WRAP_MARKER "runbook=%s real=%s\n"
		"# Written by `gate wrap install`: %s runs only when the runbook allows.\n"
		"# Remove with `gate wrap remove %s`.  In an emergency the real command is\n"
		"# still there: call %s directly.\n"
		"exec %s run %s -- %s \"$@\"\n",
		runbook, real, name, name, real, q_gate, q_rb, q_real);
	free(q_gate);
	free(q_rb);
	free(q_real);
	return text;
}

/* The real command the wrapper will run: --real, or NAME found in PATH
 * outside dir; never a wrapper, never gate.  NULL with err. */
static char *install_real(const struct wrap_install_opts *o, const char *dir, const char *gate,
                          struct gate_error *err)
{
	char *real = NULL;
	if (o->real) {
		if (o->real[0] != '/') {
			gate_error_set(err, NULL, 0, 0, "--real must be an absolute path");
			return NULL;
		}
		if (!is_executable_file(o->real)) {
			gate_error_set(err, o->real, 0, 0, "not an executable file");
			return NULL;
		}
		real = xstrdup(o->real);
	} else {
		const char *pe = o->path_env ? o->path_env : getenv("PATH");
		if (wrap_resolve_real(o->name, pe, dir, &real, err) < 0)
			return NULL;
	}
	if (wrap_read(real, NULL, NULL) == 1) {
		gate_error_set(err, real, 0, 0, "is itself a gate wrapper");
		free(real);
		return NULL;
	}
	if (same_file(real, gate)) {
		gate_error_set(err, real, 0, 0, "is gate itself: refusing to wrap it");
		free(real);
		return NULL;
	}
	return real;
}

int wrap_install(const struct wrap_install_opts *o, struct wrap_info *result,
                 struct gate_error *err)
{
	const char *dir = o->dir ? o->dir : WRAP_DEFAULT_DIR;
	if (!valid_name(o->name)) {
		gate_error_set(err, NULL, 0, 0, "'%s' is not a command name (no '/')",
		               o->name ? o->name : "");
		return -1;
	}
	struct stat st;
	char dir_abs[PATH_MAX];
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || !realpath(dir, dir_abs)) {
		gate_error_set(err, dir, 0, 0, "not a directory");
		return -1;
	}
	dir = dir_abs; /* list and messages show where the wrapper really is */

	char *gate = o->gate ? xstrdup(o->gate) : gate_self_exe(err);
	char *runbook = NULL, *real = NULL, *path = NULL, *text = NULL;
	int r = -1;
	if (!gate)
		goto out;
	if (!strcmp(o->name, "gate")) {
		gate_error_set(err, NULL, 0, 0, "refusing to wrap gate itself");
		goto out;
	}
	if (!o->runbook || stat(o->runbook, &st) < 0 || !S_ISREG(st.st_mode)) {
		gate_error_set(err, o->runbook ? o->runbook : "", 0, 0, "runbook not found");
		goto out;
	}
	runbook = path_absolute(o->runbook, err);
	if (!runbook)
		goto out;

	real = install_real(o, dir, gate, err);
	if (!real)
		goto out;
	if (strchr(runbook, '\n') || strchr(real, '\n') || strstr(runbook, " real=")) {
		gate_error_set(err, NULL, 0, 0,
		               "paths with a newline or ' real=' cannot be wrapped");
		goto out;
	}

	path = !strcmp(dir, "/") ? xasprintf("/%s", o->name) : xasprintf("%s/%s", dir, o->name);
	if (same_file(path, real)) {
		gate_error_set(err, path, 0, 0, "is the real command: refusing to replace it");
		goto out;
	}
	text = wrapper_text(runbook, real, gate, o->name);
	if (write_script_atomic(path, text, "\n" WRAP_MARKER, 0, err) < 0)
		goto out;
	if (result) {
		result->name = xstrdup(o->name);
		result->path = path;
		result->runbook = runbook;
		result->real = real;
		path = runbook = real = NULL;
	}
	r = 0;
out:
	free(gate);
	free(runbook);
	free(real);
	free(path);
	free(text);
	return r;
}

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct wrap_info *)a)->name, ((const struct wrap_info *)b)->name);
}

int wrap_list(const char *dir, struct wrap_info **out, size_t *n, struct gate_error *err)
{
	if (!dir)
		dir = WRAP_DEFAULT_DIR;
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		gate_error_set(err, dir, 0, 0, "%s", strerror(errno));
		return -1;
	}
	size_t alloc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		struct wrap_info wi = {0};
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && wrap_read(p, &wi, NULL) == 1) {
			if (*n == alloc) {
				alloc = alloc ? alloc * 2 : 8;
				*out = xrealloc(*out, alloc * sizeof(**out));
			}
			(*out)[(*n)++] = wi;
		}
		free(p);
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_info);
	return 0;
}

void wrap_list_free(struct wrap_info *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wrap_info_release(&list[i]);
	free(list);
}

int wrap_remove(const char *dir, const char *name, struct gate_error *err)
{
	if (!dir)
		dir = WRAP_DEFAULT_DIR;
	if (!valid_name(name)) {
		gate_error_set(err, NULL, 0, 0, "'%s' is not a command name", name ? name : "");
		return -1;
	}
	char *path = xasprintf("%s/%s", dir, name);
	struct stat st;
	int r = -1;
	if (lstat(path, &st) < 0) {
		gate_error_set(err, path, 0, 0, "%s", strerror(errno));
	} else if (!S_ISREG(st.st_mode) || wrap_read(path, NULL, NULL) != 1) {
		gate_error_set(err, path, 0, 0, "not a gate wrapper: refusing to remove it");
	} else if (unlink(path) < 0) {
		gate_error_set(err, path, 0, 0, "%s", strerror(errno));
	} else {
		r = 0;
	}
	free(path);
	return r;
}
