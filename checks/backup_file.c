/* SPDX-License-Identifier: MIT */
/* backup.file, the fetch: the newest file matching a glob (a dump, a
 * tarball...), its size and mtime, its sha256sum-format sidecar, its
 * SHA-256 (hashed as a stream in 1 MiB reads through OpenSSL's EVP API,
 * never read whole into memory) and an optional restore test (e.g.
 * `pg_restore --list`).  backup_file_judge.c judges what it gathered. */
#include "backup.h"
#include "backup_rehearsed_judge.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"

#define HASH_CHUNK (1u << 20)
#define SIDECAR_MAX (64u << 10)

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static int newer(const struct stat *a, const struct stat *b)
{
	if (a->st_mtim.tv_sec != b->st_mtim.tv_sec)
		return a->st_mtim.tv_sec > b->st_mtim.tv_sec;
	return a->st_mtim.tv_nsec > b->st_mtim.tv_nsec;
}

/* The stat a match is dated and sized by: its own for a regular file;
 * with dump_dirs, a directory's toc.dat (pg_dump writes it last).  0 when
 * the match is a candidate. */
static int candidate_stat(const char *p, int dump_dirs, struct stat *s)
{
	if (stat(p, s))
		return -1;
	if (S_ISREG(s->st_mode))
		return 0;
	if (!dump_dirs || !S_ISDIR(s->st_mode))
		return -1;
	char toc[4096];
	snprintf(toc, sizeof(toc), "%s/toc.dat", p);
	return stat(toc, s) == 0 && S_ISREG(s->st_mode) ? 0 : -1;
}

/* The newest candidate among the glob's matches (sidecars excluded) into
 * f->path, size and mtime; the matches counted. */
static void pick_among(struct bk_file_facts *f, int dump_dirs)
{
	glob_t g;
	struct stat st = {0};
	char *best = NULL;
	int r = glob(f->pattern, 0, NULL, &g);
	if (r == GLOB_NOMATCH)
		return;
	if (r != 0) {
		f->glob_err = r;
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *p = g.gl_pathv[i];
		struct stat s;
		if (has_suffix(p, ".sha256"))
			continue;
		f->nmatch++;
		if (candidate_stat(p, dump_dirs, &s))
			continue;
		f->nregular++;
		/* Ties go to the later name in glob order (sorted). */
		if (!best || !newer(&st, &s)) {
			free(best);
			best = xstrdup(p);
			st = s;
		}
	}
	globfree(&g);
	f->path = best;
	f->size = (uint64_t)st.st_size;
	f->mtime = (int64_t)st.st_mtim.tv_sec;
}

/* The newest regular file among the glob's matches (sidecars excluded). */
static void pick_newest(struct bk_file_facts *f)
{
	pick_among(f, 0);
}

void bk_file_pick_dumps(struct bk_file_facts *f)
{
	pick_among(f, 1);
}

const char *bk_sha256_impl(void)
{
	static char impl[128];
	if (!impl[0]) {
		/* EVP_sha256() fetches its implementation when a digest starts:
		 * fetched here the same way, to name it. */
		EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
		const OSSL_PROVIDER *prov = md ? EVP_MD_get0_provider(md) : NULL;
		snprintf(impl, sizeof(impl), "OpenSSL %s EVP %s (%s provider)",
		         OpenSSL_version(OPENSSL_VERSION_STRING),
		         md ? EVP_MD_get0_name(md) : "SHA256",
		         prov ? OSSL_PROVIDER_get0_name(prov) : "no");
		EVP_MD_free(md);
	}
	return impl;
}

int bk_sha256_file(const char *path, int64_t deadline_ms, char hex[65], uint64_t *hashed,
                   int *timed_out, char *msg, size_t msglen)
{
	*hashed = 0;
	*timed_out = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, msglen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	unsigned char *buf = xmalloc(HASH_CHUNK);
	EVP_MD_CTX *ctx = xnonnull(EVP_MD_CTX_new());
	int rc = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ? 0 : -1;
	if (rc)
		snprintf(msg, msglen, "cannot hash %s: OpenSSL has no SHA-256", path);
	for (unsigned n = 0; rc == 0; n++) {
		ssize_t got = read(fd, buf, HASH_CHUNK);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(msg, msglen, "cannot read %s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		if (got == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)got))
			abort(); /* fails only without memory */
		*hashed += (uint64_t)got;
		/* A clock read every 64 MiB costs nothing next to the hashing. */
		if ((n & 63) == 63 && gate_mono_ms() > deadline_ms) {
			*timed_out = 1;
			rc = -1;
		}
	}
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	if (rc == 0 && (!EVP_DigestFinal_ex(ctx, d, &dlen) || dlen != 32))
		abort();
	for (unsigned i = 0; rc == 0 && i < dlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	EVP_MD_CTX_free(ctx);
	close(fd);
	free(buf);
	return rc;
}

static char *read_small(const char *path, size_t max, int *err)
{
	*err = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	char *buf = xmalloc(max + 1);
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, max - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == max)
			break;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* The sidecar PATH.sha256 and, when it names the file, the file's hash. */
static void fetch_checksum(struct bk_file_facts *f, const struct gate_run_env *env)
{
	char sidecar[4096], want[65], other[512];
	snprintf(sidecar, sizeof(sidecar), "%s.sha256", f->path);
	f->sidecar_text = read_small(sidecar, SIDECAR_MAX, &f->sidecar_errno);
	f->sidecar = f->sidecar_text ? 1 : -1;
	const char *name = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
	if (!f->sidecar_text ||
	    bk_sidecar_lookup(f->sidecar_text, name, want, other, sizeof(other)) != 1)
		return;
	int64_t t0 = gate_mono_ms();
	int64_t deadline = t0 + bk_budget_ms(env);
	f->hashed = bk_sha256_file(f->path, deadline, f->sha256, &f->hashed_bytes,
	                           &f->hash_timed_out, f->hash_error, sizeof(f->hash_error))
	                    ? -1
	                    : 1;
	f->hash_ms = (double)(gate_mono_ms() - t0);
	f->sha256_impl = bk_sha256_impl();
}

/* argv with every "{path}" replaced by the file's path. */
static char **restore_argv(const json_t *rt, const char *path)
{
	size_t n = json_array_size(rt);
	char **argv = xcalloc(n + 1, sizeof(*argv));
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(rt, i));
		if (!s)
			s = "";
		size_t cnt = 0;
		for (const char *p = s; (p = strstr(p, "{path}")); p += 6)
			cnt++;
		char *o = xmalloc(strlen(s) + cnt * strlen(path) + 1), *w = o;
		for (const char *p = s; *p;) {
			if (!strncmp(p, "{path}", 6)) {
				w = stpcpy(w, path);
				p += 6;
			} else {
				*w++ = *p++;
			}
		}
		*w = '\0';
		argv[i] = o;
	}
	return argv;
}

static void file_fetch(const json_t *params, const struct gate_run_env *env,
                       struct bk_file_facts *f)
{
	f->pattern = gate_param_str(params, "path");
	pick_newest(f);
	if (!f->path)
		return;
	/* An empty file has nothing to checksum or restore: the size says it. */
	if (f->size == 0 && gate_param_int(params, "min_size", 1) > 0)
		return;
	const char *checksum = gate_param_str(params, "checksum");
	if (!checksum || !strcmp(checksum, "sha256-sidecar"))
		fetch_checksum(f, env);
	const json_t *rt = json_object_get(params, "restore_test");
	if (rt) {
		f->restore_argv = restore_argv(rt, f->path);
		bk_run_tool(f->restore_argv, env, 64u << 10, &f->restore);
	}
}

void bk_file_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	const char *checksum = gate_param_str(params, "checksum");
	if (!gate_param_str(params, "path")) {
		gate_result_set(res, GATE_ERROR, "path is required");
		return;
	}
	if (checksum && strcmp(checksum, "sha256-sidecar") && strcmp(checksum, "none")) {
		gate_result_set(res, GATE_ERROR, "unknown checksum kind '%s'", checksum);
		return;
	}
	struct bk_file_facts f = {0};
	file_fetch(params, env, &f);
	bk_file_judge(&f, params, (int64_t)time(NULL), res);
	free((char *)f.path);
	free(f.sidecar_text);
	if (f.restore_argv) {
		proc_result_release(&f.restore);
		strv_free(f.restore_argv);
	}
}

/* backup.rehearsed finds the newest file the way this check does. */
void bk_file_pick(struct bk_file_facts *f)
{
	pick_newest(f);
}
