/* SPDX-License-Identifier: MIT */
/* backup.basebackup: pg_basebackup directories (plain format, with a
 * backup_manifest).  The newest complete one, by backup_label's START
 * TIME, must be fresh and pass pg_verifybackup.
 *
 * "Complete" is backup_manifest and backup_label present and no
 * backup_manifest.tmp: pg_basebackup writes the manifest under the .tmp
 * name and renames it last, so an interrupted run leaves the .tmp (and
 * pg_verifybackup on it would fail anyway).  The manifest carries no
 * time, so backup_label's START TIME dates the backup. */
#include "backup.h"

#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LABEL_MAX (16u << 10)
#define VERIFY_MAX_LINES 50

struct candidate {
	char *dir;
	time_t start;     /* START TIME, as Unix time */
	char start_text[64];
	const char *why;  /* not complete: why (static text) */
};

static int is_file(const char *dir, const char *name)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int exists(const char *dir, const char *name)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

static char *read_label(const char *dir)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/backup_label", dir);
	FILE *f = fopen(p, "re");
	if (!f)
		return NULL;
	char *buf = malloc(LABEL_MAX + 1);
	if (!buf)
		abort();
	size_t n = fread(buf, 1, LABEL_MAX, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The value of "KEY: value" in backup_label, into buf. */
static int label_value(const char *label, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);
	for (const char *l = label; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (!strncmp(l, key, kl) && l[kl] == ':' && l[kl + 1] == ' ') {
			const char *v = l + kl + 2;
			size_t n = strcspn(v, "\r\n");
			if (n >= len)
				n = len - 1;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return 1;
		}
	}
	return 0;
}

int bk_label_value(const char *label, const char *key, char *buf, size_t len)
{
	return label_value(label, key, buf, len);
}

/* Seconds east of UTC for the zone PostgreSQL printed (log_timezone's
 * abbreviation): UTC/GMT, a numeric offset ("+02", "-0530", "+05:30"), or
 * the local zone's own abbreviations.  -1 when not understood. */
static int zone_offset(const char *z, struct tm *tm, long *off)
{
	if (!strcmp(z, "UTC") || !strcmp(z, "GMT") || !strcmp(z, "UCT") || !strcmp(z, "Z")) {
		*off = 0;
		return 0;
	}
	if ((z[0] == '+' || z[0] == '-') && z[1] >= '0' && z[1] <= '9') {
		int h = 0, m = 0;
		const char *p = z + 1;
		size_t digits = strspn(p, "0123456789");
		if (digits == 2 && !p[2])
			h = atoi(p);
		else if (digits == 4 && !p[4])
			h = (p[0] - '0') * 10 + (p[1] - '0'), m = atoi(p + 2);
		else if (digits == 2 && p[2] == ':' && strspn(p + 3, "0123456789") == 2 && !p[5])
			h = atoi(p), m = atoi(p + 3);
		else
			return -1;
		*off = (h * 3600L + m * 60L) * (z[0] == '-' ? -1 : 1);
		return 0;
	}
	/* The local zone's abbreviation: let mktime apply it, with the
	 * daylight flag the abbreviation names. */
	tzset();
	for (int dst = 0; dst < 2; dst++) {
		if (tzname[dst] && !strcmp(tzname[dst], z)) {
			struct tm t = *tm;
			t.tm_isdst = dst;
			time_t local = mktime(&t);
			if (local == (time_t)-1)
				return -1;
			*off = (long)(timegm(tm) - local);
			return 0;
		}
	}
	return -1;
}

/* "2026-11-25 02:42:54 UTC" -> Unix time; -1 when not understood. */
int bk_parse_start_time(const char *s, time_t *out)
{
	struct tm tm = {0};
	char zone[64];
	int n = 0;
	if (sscanf(s, "%d-%d-%d %d:%d:%d %63s%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, zone, &n) != 7)
		return -1;
	/* Range first: the fields are whatever the file says, and an int
	 * near INT_MIN would overflow below. */
	if (tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 ||
	    tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	long off;
	if (zone_offset(zone, &tm, &off))
		return -1;
	*out = timegm(&tm) - off;
	return 0;
}

static uint64_t tree_bytes;

static int add_size(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		tree_bytes += (uint64_t)st->st_size;
	return 0;
}

/* The backup's size is walked in a thread while pg_verifybackup runs, so
 * that the walk adds nothing to the check's time (the benchmark holds the
 * check to 1.05x of pg_verifybackup alone). */
static void *size_thread(void *dir)
{
	tree_bytes = 0;
	nftw(dir, add_size, 16, FTW_PHYS);
	return NULL;
}

/* pg_verifybackup on PATH, else the newest /usr/lib/postgresql/N/bin one. */
static char *find_verifybackup(void)
{
	const char *path = getenv("PATH");
	if (path) {
		char *dup = strdup(path), *save = NULL;
		if (!dup)
			abort();
		for (char *d = strtok_r(dup, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			char p[4096];
			snprintf(p, sizeof(p), "%s/pg_verifybackup", *d ? d : ".");
			if (access(p, X_OK) == 0) {
				free(dup);
				return strdup(p);
			}
		}
		free(dup);
	}
	glob_t g;
	char *best = NULL;
	long bestv = -1;
	if (glob("/usr/lib/postgresql/*/bin/pg_verifybackup", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			long v = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL, 10);
			if (v > bestv && access(g.gl_pathv[i], X_OK) == 0) {
				bestv = v;
				free(best);
				best = strdup(g.gl_pathv[i]);
			}
		}
		globfree(&g);
	}
	return best;
}

/* pg_verifybackup's findings: the "error:" lines of its stderr, prefix
 * removed, into details and a one-line summary. */
static void judge_verify_output(const struct proc_result *pr, const char *dir,
                                struct bk_verdict *v, json_t *vd)
{
	json_t *errs = json_array();
	json_object_set_new(vd, "errors", errs);
	char first[300] = "";
	int count = 0;
	for (const char *l = pr->err; *l;) {
		size_t n = strcspn(l, "\n");
		const char *e = memmem(l, n, "error: ", 7);
		if (e) {
			char msg[1024];
			const char *m = e + 7;
			size_t ml = n - (size_t)(m - l);
			/* Keep which tool said it when it was pg_waldump. */
			if (!strncmp(l, "pg_waldump", 10))
				snprintf(msg, sizeof(msg), "pg_waldump: %.*s", (int)ml, m);
			else
				snprintf(msg, sizeof(msg), "%.*s", (int)ml, m);
			if (count < VERIFY_MAX_LINES)
				json_array_append_new(errs, bk_jstr(msg));
			if (!count)
				snprintf(first, sizeof(first), "%.299s", msg);
			count++;
		}
		l += n + (l[n] == '\n');
	}
	json_object_set_new(vd, "error_count", json_integer(count));
	const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	if (pr->exit_code == 0 && strstr(pr->out, "backup successfully verified"))
		return;
	if (count == 0)
		bk_problem(v, GATE_FAIL, "%s: pg_verifybackup exited %d without \"backup "
		           "successfully verified\"", base, pr->exit_code);
	else if (count == 1)
		bk_problem(v, GATE_FAIL, "%s: pg_verifybackup: %s", base, first);
	else
		bk_problem(v, GATE_FAIL, "%s: pg_verifybackup found %d problems: %s; ...",
		           base, count, first);
}

void bk_judge_verifybackup(const struct proc_result *pr, const char *dir,
                           struct bk_verdict *v, json_t *vd)
{
	judge_verify_output(pr, dir, v, vd);
}

static void run_verify(const json_t *params, const char *dir,
                       const struct gate_run_env *env, struct bk_verdict *v,
                       json_t *d, int *verified)
{
	json_t *vd = json_object();
	json_object_set_new(d, "verify", vd);
	const char *given = gate_param_str(params, "binary");
	char *bin = given ? strdup(given) : find_verifybackup();
	if (!bin) {
		bk_problem(v, GATE_ERROR, "pg_verifybackup: not installed (not on PATH nor "
		           "under /usr/lib/postgresql/*/bin)");
		return;
	}
	const char *argv[10];
	int a = 0;
	argv[a++] = bin;
	const char *wal = gate_param_str(params, "wal_path");
	if (wal) {
		argv[a++] = "-w";
		argv[a++] = wal;
	}
	if (gate_param_bool(params, "skip_checksums", 0))
		argv[a++] = "-s";
	if (!gate_param_bool(params, "parse_wal", 1))
		argv[a++] = "-n";
	argv[a++] = "--";
	argv[a++] = dir;
	argv[a] = NULL;
	json_t *jargv = json_array();
	for (int i = 0; i < a; i++)
		json_array_append_new(jargv, bk_jstr(argv[i]));
	json_object_set_new(vd, "argv", jargv);

	struct proc_result pr;
	bk_run_tool((char *const *)argv, env, 64u << 10, &pr);
	json_object_set_new(vd, "duration_ms", json_real(pr.duration_ms));
	bk_add_stderr(vd, "stderr", &pr);
	const char *abn = bk_tool_abnormal(&pr, "pg_verifybackup");
	if (abn) {
		bk_problem(v, GATE_ERROR, "%s", abn);
	} else {
		json_object_set_new(vd, "exit_code", json_integer(pr.exit_code));
		int before = v->n;
		judge_verify_output(&pr, dir, v, vd);
		*verified = v->n == before;
		json_object_set_new(vd, "ok", json_boolean(*verified));
	}
	proc_result_release(&pr);
	free(bin);
}

void bk_basebackup_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res)
{
	const char *pattern = gate_param_str(params, "path");
	int64_t max_age_ms = gate_param_int(params, "max_age", 86400000);
	json_t *d = res->details;
	if (!pattern) {
		gate_result_set(res, GATE_ERROR, "path is required");
		return;
	}
	json_object_set_new(d, "glob", bk_jstr(pattern));
	struct bk_verdict v;
	bk_verdict_init(&v, d);

	glob_t g;
	int gr = glob(pattern, GLOB_ONLYDIR, NULL, &g);
	if (gr != 0 && gr != GLOB_NOMATCH) {
		gate_result_set(res, GATE_ERROR, "cannot search %s (glob error %d)", pattern, gr);
		return;
	}
	size_t nc = gr == 0 ? g.gl_pathc : 0;
	struct candidate *c = calloc(nc + 1, sizeof(*c));
	if (!c)
		abort();
	json_t *skipped = json_array();
	struct candidate *best = NULL;
	size_t ndirs = 0;
	for (size_t i = 0; i < nc; i++) {
		struct stat st;
		if (stat(g.gl_pathv[i], &st) || !S_ISDIR(st.st_mode))
			continue;
		ndirs++;
		struct candidate *k = &c[i];
		k->dir = g.gl_pathv[i];
		if (exists(k->dir, "backup_manifest.tmp"))
			k->why = "interrupted (backup_manifest.tmp)";
		else if (!is_file(k->dir, "backup_manifest"))
			k->why = "no backup_manifest";
		else if (!is_file(k->dir, "backup_label"))
			k->why = "no backup_label";
		if (!k->why) {
			char *label = read_label(k->dir);
			if (!label || !label_value(label, "START TIME", k->start_text,
			                           sizeof(k->start_text)))
				k->why = "backup_label has no START TIME";
			else if (bk_parse_start_time(k->start_text, &k->start))
				k->why = "backup_label START TIME not understood";
			free(label);
			/* A backup we cannot date might be the newest: fail closed. */
			if (k->why)
				bk_problem(&v, GATE_ERROR, "%s: %s", k->dir, k->why);
		}
		if (k->why) {
			json_t *sk = json_object();
			json_object_set_new(sk, "path", bk_jstr(k->dir));
			json_object_set_new(sk, "reason", bk_jstr(k->why));
			json_array_append_new(skipped, sk);
			continue;
		}
		if (!best || k->start >= best->start)
			best = k;
	}
	json_object_set_new(d, "skipped", skipped);
	json_object_set_new(d, "candidates", json_integer((json_int_t)ndirs));

	if (!best) {
		size_t ns = json_array_size(skipped);
		if (!ndirs)
			gate_result_set(res, GATE_FAIL, "no backup directory matches %s", pattern);
		else
			gate_result_set(res, GATE_FAIL, "no complete backup under %s (%zu "
			                "skipped; last: %s: %s)", pattern, ns,
			                json_string_value(json_object_get(json_array_get(skipped, ns - 1), "path")),
			                json_string_value(json_object_get(json_array_get(skipped, ns - 1), "reason")));
		goto out;
	}

	char when[40], age[32], size[32];
	int64_t now = (int64_t)time(NULL);
	int64_t age_s = bk_age_s(now, (int64_t)best->start);
	bk_fmt_time(best->start, when, sizeof(when));
	bk_fmt_age(age_s, age, sizeof(age));
	int verify = gate_param_bool(params, "verify", 1);
	pthread_t th;
	int threaded = verify && pthread_create(&th, NULL, size_thread, best->dir) == 0;
	if (!threaded)
		size_thread(best->dir);
	json_object_set_new(d, "path", bk_jstr(best->dir));
	json_object_set_new(d, "type", bk_jstr("basebackup"));
	json_object_set_new(d, "start_time", bk_jstr(when));
	json_object_set_new(d, "backup_label_start_time", bk_jstr(best->start_text));
	json_object_set_new(d, "age_s", json_integer((json_int_t)age_s));
	/* pg_basebackup renames backup_manifest into place last: its mtime is
	 * when the backup finished (the manifest itself carries no time). */
	char mpath[4096];
	struct stat mst;
	snprintf(mpath, sizeof(mpath), "%s/backup_manifest", best->dir);
	if (stat(mpath, &mst) == 0) {
		char stop[40];
		bk_fmt_time(mst.st_mtim.tv_sec, stop, sizeof(stop));
		json_object_set_new(d, "stop_time", bk_jstr(stop));
	}
	char *label = read_label(best->dir);
	char val[256];
	if (label && label_value(label, "START WAL LOCATION", val, sizeof(val)))
		json_object_set_new(d, "start_wal_location", bk_jstr(val));
	if (label && label_value(label, "LABEL", val, sizeof(val)))
		json_object_set_new(d, "label", bk_jstr(val));
	free(label);

	bk_judge_date(&v, best->dir, "started", (int64_t)best->start, now, max_age_ms);
	int verified = 0;
	if (verify)
		run_verify(params, best->dir, env, &v, d, &verified);
	if (threaded)
		pthread_join(th, NULL);
	bk_fmt_size(tree_bytes, size, sizeof(size));
	json_object_set_new(d, "size", json_integer((json_int_t)tree_bytes));

	char pass[GATE_SUMMARY_MAX];
	snprintf(pass, sizeof(pass), "%s: started %s, %s old, %s%s", best->dir, when, age,
	         size, verified ? ", pg_verifybackup: backup successfully verified" : "");
	bk_verdict_finish(&v, res, pass);
out:
	free(c);
	if (gr == 0)
		globfree(&g);
}
