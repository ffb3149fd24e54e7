/* SPDX-License-Identifier: MIT */
/* backup.file: the newest file matching a glob (a dump, a tarball...)
 * must be fresh, big enough, match its sha256sum-format sidecar, and pass
 * an optional restore test (e.g. `pg_restore --list`).  The file is
 * hashed as a stream in 1 MiB reads, never read whole into memory. */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/sha256.h"

#define HASH_CHUNK (1u << 20)
#define SIDECAR_MAX (64u << 10)

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static int newer(const struct stat *a, const struct stat *b)
{
	if (a->st_mtim.tv_sec != b->st_mtim.tv_sec)
		return a->st_mtim.tv_sec > b->st_mtim.tv_sec;
	return a->st_mtim.tv_nsec > b->st_mtim.tv_nsec;
}

/* The newest regular file among the glob's matches (sidecars excluded).
 * Returns a new string, or NULL with *nmatch / *nregular counted. */
static char *pick_newest(const char *pattern, struct stat *st, size_t *nmatch,
                         size_t *nregular, int *glob_err)
{
	glob_t g;
	char *best = NULL;
	*nmatch = *nregular = 0;
	*glob_err = 0;
	int r = glob(pattern, 0, NULL, &g);
	if (r == GLOB_NOMATCH)
		return NULL;
	if (r != 0) {
		*glob_err = r;
		return NULL;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *p = g.gl_pathv[i];
		struct stat s;
		if (has_suffix(p, ".sha256"))
			continue;
		(*nmatch)++;
		if (stat(p, &s) || !S_ISREG(s.st_mode))
			continue;
		(*nregular)++;
		/* Ties go to the later name in glob order (sorted). */
		if (!best || !newer(st, &s)) {
			free(best);
			best = strdup(p);
			if (!best)
				abort();
			*st = s;
		}
	}
	globfree(&g);
	return best;
}

/* SHA-256 of a file, streamed.  0 ok; -1 with msg set (I/O error, or the
 * deadline passed: then *timed_out is 1). */
static int hash_file(const char *path, int64_t deadline_ms, char hex[65],
                     uint64_t *hashed, int *timed_out, char *msg, size_t msglen)
{
	*hashed = 0;
	*timed_out = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, msglen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	unsigned char *buf = malloc(HASH_CHUNK);
	if (!buf)
		abort();
	struct sha256 c;
	sha256_init(&c);
	int rc = 0;
	for (unsigned n = 0;; n++) {
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
		sha256_update(&c, buf, (size_t)got);
		*hashed += (uint64_t)got;
		/* A clock read every 64 MiB costs nothing next to the hashing. */
		if ((n & 63) == 63 && bk_mono_ms() > deadline_ms) {
			*timed_out = 1;
			rc = -1;
			break;
		}
	}
	close(fd);
	free(buf);
	if (rc == 0) {
		uint8_t d[SHA256_DIGEST_LEN];
		sha256_final(&c, d);
		sha256_hex(d, hex);
	}
	return rc;
}

/* Find the digest for `name` in a sidecar in sha256sum format:
 * "<64 hex>  <name>" (text mode), "<64 hex> *<name>" (binary mode), a
 * leading backslash when the name was escaped; the BSD tag form
 * "SHA256 (<name>) = <64 hex>" is accepted too.  Names are compared by
 * their last component, since sha256sum records the path it was given.
 * Returns 1 found (hex set), 0 no line for this name (*other set to the
 * first name seen, if any), -1 not in the format. */
int bk_sidecar_lookup(const char *text, const char *name, char hex[65],
                      char *other, size_t otherlen)
{
	int lines = 0;
	other[0] = '\0';
	for (const char *l = text; *l;) {
		size_t n = strcspn(l, "\n");
		char line[4096];
		size_t ln = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
		memcpy(line, l, ln);
		line[ln] = '\0';
		if (ln && line[ln - 1] == '\r')
			line[--ln] = '\0';
		l += n + (l[n] == '\n');
		if (!ln)
			continue;
		const char *p = line[0] == '\\' ? line + 1 : line;
		const char *digest = NULL, *fname = NULL;
		if (strspn(p, "0123456789abcdefABCDEF") == 64 && p[64] == ' ' &&
		    (p[65] == ' ' || p[65] == '*') && p[66]) {
			digest = p;
			fname = p + 66;
		} else if (!strncmp(p, "SHA256 (", 8)) {
			char *close = strstr(line, ") = ");
			if (close && strspn(close + 4, "0123456789abcdefABCDEF") == 64 &&
			    !close[68]) {
				*close = '\0';
				fname = p + 8;
				digest = close + 4;
			}
		}
		if (!digest)
			continue;
		lines++;
		if (!strcmp(base_name(fname), name)) {
			for (int i = 0; i < 64; i++)
				hex[i] = (char)(digest[i] | 0x20); /* lowercase */
			hex[64] = '\0';
			return 1;
		}
		if (!other[0])
			snprintf(other, otherlen, "%s", fname);
	}
	return lines ? 0 : -1;
}

static char *read_small(const char *path, size_t max, int *err)
{
	*err = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	char *buf = malloc(max + 1);
	if (!buf)
		abort();
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

static void judge_checksum(const char *path, const struct stat *st,
                           const struct gate_run_env *env, struct bk_verdict *v,
                           json_t *d, char *found, size_t foundlen)
{
	char sidecar[4096];
	snprintf(sidecar, sizeof(sidecar), "%s.sha256", path);
	json_object_set_new(d, "sidecar", bk_jstr(sidecar));
	int err;
	char *text = read_small(sidecar, SIDECAR_MAX, &err);
	if (!text) {
		if (err == ENOENT)
			bk_problem(v, GATE_FAIL, "%s: no checksum sidecar %s",
			           base_name(path), base_name(sidecar));
		else
			bk_problem(v, GATE_ERROR, "cannot read %s: %s", sidecar, strerror(err));
		return;
	}
	char want[65], other[512];
	int r = bk_sidecar_lookup(text, base_name(path), want, other, sizeof(other));
	free(text);
	if (r < 0) {
		bk_problem(v, GATE_FAIL, "%s is not in sha256sum format", base_name(sidecar));
		return;
	}
	if (r == 0) {
		bk_problem(v, GATE_FAIL, "%s has no checksum for %s (it names %s)",
		           base_name(sidecar), base_name(path), other);
		return;
	}
	json_object_set_new(d, "sha256_expected", bk_jstr(want));
	char got[65];
	uint64_t hashed;
	int timed_out;
	char msg[512];
	int64_t t0 = bk_mono_ms();
	int64_t deadline = t0 + bk_budget_ms(env);
	if (hash_file(path, deadline, got, &hashed, &timed_out, msg, sizeof(msg))) {
		if (timed_out) {
			char a[32], b[32];
			bk_fmt_size(hashed, a, sizeof(a));
			bk_fmt_size((uint64_t)st->st_size, b, sizeof(b));
			bk_problem(v, GATE_ERROR, "%s: checksum timed out after %s of %s",
			           base_name(path), a, b);
		} else {
			bk_problem(v, GATE_ERROR, "%s", msg);
		}
		return;
	}
	double ms = (double)(bk_mono_ms() - t0);
	json_object_set_new(d, "sha256", bk_jstr(got));
	json_object_set_new(d, "hash_ms", json_real(ms));
	json_object_set_new(d, "sha256_impl", bk_jstr(sha256_impl()));
	if (hashed != (uint64_t)st->st_size)
		json_object_set_new(d, "hashed_bytes", json_integer((json_int_t)hashed));
	if (strcmp(got, want)) {
		bk_problem(v, GATE_FAIL, "%s: sha256 mismatch: sidecar says %.12s..., file is %.12s...",
		           base_name(path), want, got);
		return;
	}
	json_object_set_new(d, "checksum_ok", json_true());
	snprintf(found, foundlen, ", sha256 matches");
}

/* argv with every "{path}" replaced by the file's path. */
static char **restore_argv(const json_t *rt, const char *path)
{
	size_t n = json_array_size(rt);
	char **argv = calloc(n + 1, sizeof(*argv));
	if (!argv)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(rt, i));
		if (!s)
			s = "";
		size_t cnt = 0;
		for (const char *p = s; (p = strstr(p, "{path}")); p += 6)
			cnt++;
		size_t len = strlen(s) + cnt * strlen(path) + 1;
		char *o = malloc(len), *w = o;
		if (!o)
			abort();
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

static void judge_restore(const json_t *rt, const char *path,
                          const struct gate_run_env *env, struct bk_verdict *v,
                          json_t *d, char *found, size_t foundlen)
{
	char **argv = restore_argv(rt, path);
	json_t *o = json_object();
	json_t *a = json_array();
	for (size_t i = 0; argv[i]; i++)
		json_array_append_new(a, bk_jstr(argv[i]));
	json_object_set_new(o, "argv", a);
	json_object_set_new(d, "restore_test", o);
	struct proc_result pr;
	bk_run_tool(argv, env, 64u << 10, &pr);
	const char *tool = base_name(argv[0]);
	const char *abn = bk_tool_abnormal(&pr, tool);
	json_object_set_new(o, "duration_ms", json_real(pr.duration_ms));
	bk_add_stderr(o, "stderr", &pr);
	if (abn) {
		bk_problem(v, GATE_ERROR, "restore test: %s", abn);
	} else {
		json_object_set_new(o, "exit_code", json_integer(pr.exit_code));
		if (pr.exit_code != 0) {
			char *tail = proc_tail(pr.err, 300);
			char *nl = strrchr(tail, '\n');
			bk_problem(v, GATE_FAIL, "%s: restore test %s exited %d%s%s",
			           base_name(path), tool, pr.exit_code, *tail ? ": " : "",
			           nl ? nl + 1 : tail);
			free(tail);
		} else {
			snprintf(found, foundlen, ", restore test %s passed", tool);
		}
	}
	proc_result_release(&pr);
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

void bk_file_run(const json_t *params, const struct gate_run_env *env,
                 struct gate_result *res)
{
	const char *pattern = gate_param_str(params, "path");
	int64_t max_age_ms = gate_param_int(params, "max_age", 86400000);
	int64_t min_size = gate_param_int(params, "min_size", 1);
	const char *checksum = gate_param_str(params, "checksum");
	const json_t *rt = json_object_get(params, "restore_test");
	json_t *d = res->details;
	if (!pattern) {
		gate_result_set(res, GATE_ERROR, "path is required");
		return;
	}
	if (!checksum)
		checksum = "sha256-sidecar";
	if (strcmp(checksum, "sha256-sidecar") && strcmp(checksum, "none")) {
		gate_result_set(res, GATE_ERROR, "unknown checksum kind '%s'", checksum);
		return;
	}

	struct stat st = {0};
	size_t nmatch, nregular;
	int gerr;
	char *path = pick_newest(pattern, &st, &nmatch, &nregular, &gerr);
	json_object_set_new(d, "glob", bk_jstr(pattern));
	json_object_set_new(d, "matches", json_integer((json_int_t)nregular));
	if (!path) {
		if (gerr)
			gate_result_set(res, GATE_ERROR, "cannot search %s (glob error %d)",
			                pattern, gerr);
		else if (nmatch)
			gate_result_set(res, GATE_FAIL, "no regular file matches %s (%zu other match%s)",
			                pattern, nmatch, nmatch == 1 ? "" : "es");
		else
			gate_result_set(res, GATE_FAIL, "no file matches %s", pattern);
		return;
	}

	struct bk_verdict v;
	bk_verdict_init(&v, d);
	char when[40], age[32], size[32];
	int64_t now = (int64_t)time(NULL);
	int64_t age_s = bk_age_s(now, (int64_t)st.st_mtim.tv_sec);
	bk_fmt_time(st.st_mtim.tv_sec, when, sizeof(when));
	bk_fmt_age(age_s, age, sizeof(age));
	bk_fmt_size((uint64_t)st.st_size, size, sizeof(size));
	json_object_set_new(d, "path", bk_jstr(path));
	json_object_set_new(d, "type", bk_jstr("file"));
	json_object_set_new(d, "size", json_integer((json_int_t)st.st_size));
	json_object_set_new(d, "mtime", bk_jstr(when));
	json_object_set_new(d, "age_s", json_integer((json_int_t)age_s));

	if (st.st_size == 0 && min_size > 0)
		bk_problem(&v, GATE_FAIL, "%s is empty (0 bytes)", base_name(path));
	else if ((int64_t)st.st_size < min_size) {
		char ms[32];
		bk_fmt_size((uint64_t)min_size, ms, sizeof(ms));
		bk_problem(&v, GATE_FAIL, "%s is %s, below min_size %s", base_name(path),
		           size, ms);
	}
	bk_judge_date(&v, base_name(path), "modified", (int64_t)st.st_mtim.tv_sec, now,
	              max_age_ms);

	char found_sum[64] = "", found_rt[128] = "";
	/* An empty file has nothing to checksum or restore: the size says it. */
	if (st.st_size > 0 || min_size <= 0) {
		if (!strcmp(checksum, "sha256-sidecar"))
			judge_checksum(path, &st, env, &v, d, found_sum, sizeof(found_sum));
		if (rt)
			judge_restore(rt, path, env, &v, d, found_rt, sizeof(found_rt));
	}

	char pass[GATE_SUMMARY_MAX];
	snprintf(pass, sizeof(pass), "%s: %s, %s old%s%s", path, size, age, found_sum,
	         found_rt);
	bk_verdict_finish(&v, res, pass);
	free(path);
}
