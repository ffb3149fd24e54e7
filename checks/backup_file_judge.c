/* SPDX-License-Identifier: MIT */
/* backup.file, the judge: the newest file must be fresh, at least
 * min_size, match its sha256sum-format sidecar, and pass the restore test
 * when there is one.  Pure: the facts come from backup_file.c. */
#include "backup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/timefmt.h"

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Find the digest for `name` in a sidecar in sha256sum format:
 * "<64 hex>  <name>" (text mode), "<64 hex> *<name>" (binary mode), a
 * leading backslash when the name was escaped; the BSD tag form
 * "SHA256 (<name>) = <64 hex>" is accepted too.  Names are compared by
 * their last component, since sha256sum records the path it was given.
 * Returns 1 found (hex set), 0 no line for this name (*other set to the
 * first name seen, if any), -1 not in the format. */
int bk_sidecar_lookup(const char *text, const char *name, char hex[65], char *other,
                      size_t otherlen)
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

static void judge_checksum(const struct bk_file_facts *f, struct bk_verdict *v, json_t *d,
                           char *found, size_t foundlen)
{
	char sidecar[4096];
	snprintf(sidecar, sizeof(sidecar), "%s.sha256", f->path);
	json_object_set_new(d, "sidecar", bk_jstr(sidecar));
	const char *name = base_name(f->path), *scname = base_name(sidecar);
	if (f->sidecar != 1) {
		if (!f->sidecar)
			bk_problem(v, GATE_ERROR, "%s was not read", sidecar);
		else if (f->sidecar_errno == ENOENT)
			bk_problem(v, GATE_FAIL, "%s: no checksum sidecar %s", name, scname);
		else
			bk_problem(v, GATE_ERROR, "cannot read %s: %s", sidecar,
			           strerror(f->sidecar_errno));
		return;
	}
	char want[65], other[512];
	int r = bk_sidecar_lookup(f->sidecar_text, name, want, other, sizeof(other));
	if (r < 0) {
		bk_problem(v, GATE_FAIL, "%s is not in sha256sum format", scname);
		return;
	}
	if (r == 0) {
		bk_problem(v, GATE_FAIL, "%s has no checksum for %s (it names %s)", scname, name,
		           other);
		return;
	}
	json_object_set_new(d, "sha256_expected", bk_jstr(want));
	if (f->hashed != 1) {
		char a[32], b[32];
		bk_fmt_size(f->hashed_bytes, a, sizeof(a));
		bk_fmt_size(f->size, b, sizeof(b));
		if (f->hash_timed_out)
			bk_problem(v, GATE_ERROR, "%s: checksum timed out after %s of %s", name, a,
			           b);
		else
			bk_problem(v, GATE_ERROR, "%s",
			           f->hashed ? f->hash_error : "file not hashed");
		return;
	}
	json_object_set_new(d, "sha256", bk_jstr(f->sha256));
	json_object_set_new(d, "hash_ms", json_real(f->hash_ms));
	json_object_set_new(d, "sha256_impl", bk_jstr(f->sha256_impl));
	if (f->hashed_bytes != f->size)
		json_object_set_new(d, "hashed_bytes", json_integer((json_int_t)f->hashed_bytes));
	if (strcmp(f->sha256, want)) {
		bk_problem(v, GATE_FAIL,
		           "%s: sha256 mismatch: sidecar says %.12s..., file is %.12s...", name,
		           want, f->sha256);
		return;
	}
	json_object_set_new(d, "checksum_ok", json_true());
	snprintf(found, foundlen, ", sha256 matches");
}

static void judge_restore(const struct bk_file_facts *f, struct bk_verdict *v, json_t *d,
                          char *found, size_t foundlen)
{
	const struct proc_result *pr = &f->restore;
	if (!f->restore_argv) {
		bk_problem(v, GATE_ERROR, "restore test: not run");
		return;
	}
	json_t *o = json_object();
	json_t *a = json_array();
	for (size_t i = 0; f->restore_argv[i]; i++)
		json_array_append_new(a, bk_jstr(f->restore_argv[i]));
	json_object_set_new(o, "argv", a);
	json_object_set_new(d, "restore_test", o);
	const char *tool = base_name(f->restore_argv[0] ? f->restore_argv[0] : "");
	const char *abn = bk_tool_abnormal(pr, tool);
	json_object_set_new(o, "duration_ms", json_real(pr->duration_ms));
	bk_add_stderr(o, "stderr", pr);
	if (abn) {
		bk_problem(v, GATE_ERROR, "restore test: %s", abn);
		return;
	}
	json_object_set_new(o, "exit_code", json_integer(pr->exit_code));
	if (pr->exit_code != 0) {
		char *tail = proc_tail(pr->err, 300);
		char *nl = strrchr(tail, '\n');
		bk_problem(v, GATE_FAIL, "%s: restore test %s exited %d%s%s", base_name(f->path),
		           tool, pr->exit_code, *tail ? ": " : "", nl ? nl + 1 : tail);
		free(tail);
	} else {
		snprintf(found, foundlen, ", restore test %s passed", tool);
	}
}

void bk_file_judge(const struct bk_file_facts *f, const json_t *params, int64_t now,
                   struct gate_result *res)
{
	int64_t max_age_ms = gate_param_int(params, "max_age", 86400000);
	int64_t min_size = gate_param_int(params, "min_size", 1);
	json_t *d = res->details;
	json_object_set_new(d, "glob", bk_jstr(f->pattern));
	json_object_set_new(d, "matches", json_integer((json_int_t)f->nregular));
	if (!f->path) {
		if (f->glob_err)
			gate_result_set(res, GATE_ERROR, "cannot search %s (glob error %d)",
			                f->pattern, f->glob_err);
		else if (f->nmatch)
			gate_result_set(res, GATE_FAIL,
			                "no regular file matches %s (%zu other match%s)",
			                f->pattern, f->nmatch, f->nmatch == 1 ? "" : "es");
		else
			gate_result_set(res, GATE_FAIL, "no file matches %s", f->pattern);
		return;
	}
	struct bk_verdict v;
	bk_verdict_init(&v, d);
	const char *name = base_name(f->path);
	char when[40], age[32], size[32];
	int64_t age_s = bk_age_s(now, f->mtime);
	fmt_utc_s(f->mtime, when, sizeof(when));
	bk_fmt_age(age_s, age, sizeof(age));
	bk_fmt_size(f->size, size, sizeof(size));
	json_object_set_new(d, "path", bk_jstr(f->path));
	json_object_set_new(d, "type", bk_jstr("file"));
	json_object_set_new(d, "size", json_integer((json_int_t)f->size));
	json_object_set_new(d, "mtime", bk_jstr(when));
	json_object_set_new(d, "age_s", json_integer((json_int_t)age_s));
	if (f->size == 0 && min_size > 0) {
		bk_problem(&v, GATE_FAIL, "%s is empty (0 bytes)", name);
	} else if (min_size > 0 && f->size < (uint64_t)min_size) {
		char ms[32];
		bk_fmt_size((uint64_t)min_size, ms, sizeof(ms));
		bk_problem(&v, GATE_FAIL, "%s is %s, below min_size %s", name, size, ms);
	}
	bk_judge_date(&v, name, "modified", f->mtime, now, max_age_ms);
	char found_sum[64] = "", found_rt[128] = "";
	/* An empty file has nothing to checksum or restore: the size says it. */
	const char *checksum = gate_param_str(params, "checksum");
	if (f->size > 0 || min_size <= 0) {
		if (!checksum || !strcmp(checksum, "sha256-sidecar"))
			judge_checksum(f, &v, d, found_sum, sizeof(found_sum));
		if (json_object_get(params, "restore_test"))
			judge_restore(f, &v, d, found_rt, sizeof(found_rt));
	}
	char pass[GATE_SUMMARY_MAX];
	snprintf(pass, sizeof(pass), "%s: %s, %s old%s%s", f->path, size, age, found_sum, found_rt);
	bk_verdict_finish(&v, res, pass);
}
