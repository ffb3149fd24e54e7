/* SPDX-License-Identifier: MIT */
/* For the targets that load YAML files (runbook, hooks.yaml): a private
 * temporary directory the input is written into, and a wrapper (linked
 * with -Wl,--wrap=yt_load_file) that refuses every file outside it, so an
 * `include:` the fuzzer makes up never reads the machine's own files
 * (/proc, /dev, ...) and a finding always reproduces (as sudo's fuzz
 * targets stub out @include). */
#ifndef GATE_FUZZ_SANDBOX_H
#define GATE_FUZZ_SANDBOX_H

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gate/error.h"
#include "gate/yamltree.h"

static char fuzz_dir[PATH_MAX];

int __real_yt_load_file(struct yt_doc *doc, const char *path, const struct yt_limits *limits,
                        struct gate_error *err);
int __wrap_yt_load_file(struct yt_doc *doc, const char *path, const struct yt_limits *limits,
                        struct gate_error *err);

int __wrap_yt_load_file(struct yt_doc *doc, const char *path, const struct yt_limits *limits,
                        struct gate_error *err)
{
	char real[PATH_MAX];
	size_t dl = strlen(fuzz_dir);
	if (!realpath(path, real) || strncmp(real, fuzz_dir, dl) || real[dl] != '/') {
		memset(doc, 0, sizeof(*doc));
		gate_error_set(err, path, 0, 0, "outside the fuzz directory");
		return -1;
	}
	return __real_yt_load_file(doc, path, limits, err);
}

static inline int fuzz_rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	remove(p);
	return 0;
}

static inline void fuzz_dir_remove(void)
{
	if (*fuzz_dir)
		nftw(fuzz_dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Create the directory (removed at exit); its real path in fuzz_dir.  In
 * $TMPDIR (scripts/fuzz.sh points it into its work directory), else in
 * /dev/shm when there is one: rewriting a file for every input on ext4
 * starts disk writes (auto_da_alloc) and costs most of the time. */
static inline void fuzz_dir_make(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	if ((!tmp || !*tmp) && access("/dev/shm", W_OK | X_OK) == 0)
		tmp = "/dev/shm";
	char tmpl[PATH_MAX];
	snprintf(tmpl, sizeof(tmpl), "%s/gate-fuzz-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
	if (!mkdtemp(tmpl) || !realpath(tmpl, fuzz_dir)) {
		perror("mkdtemp");
		abort();
	}
	atexit(fuzz_dir_remove);
}

/* Write size bytes to fuzz_dir/rel (mode 0644, replacing it). */
static inline void fuzz_write(const char *rel, const void *data, size_t size)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", fuzz_dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(p);
		abort();
	}
	const char *d = data;
	while (size) {
		ssize_t w = write(fd, d, size);
		if (w <= 0) {
			perror(p);
			abort();
		}
		d += w;
		size -= (size_t)w;
	}
	fchmod(fd, 0644);
	close(fd);
}

static inline void fuzz_mkdir(const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", fuzz_dir, rel);
	if (mkdir(p, 0755) < 0) {
		perror(p);
		abort();
	}
	chmod(p, 0755);
}

/* Copy a file of the source tree into fuzz_dir/rel, when it exists. */
static inline void fuzz_copy(const char *src, const char *rel)
{
	FILE *f = fopen(src, "re");
	if (!f)
		return;
	char *buf = malloc(1 << 20);
	if (!buf)
		abort();
	size_t n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	fuzz_write(rel, buf, n);
	free(buf);
}

#endif
