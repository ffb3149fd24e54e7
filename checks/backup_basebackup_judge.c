/* SPDX-License-Identifier: MIT */
/* backup.basebackup, the judge: among the directories the fetch found
 * (backup_basebackup.c), the complete ones are ranked by backup_label's
 * START TIME; the newest must be younger than max_age and pass
 * pg_verifybackup.  Pure. */
#include "backup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/timefmt.h"

#define VERIFY_MAX_LINES 50

int bk_label_value(const char *label, const char *key, char *buf, size_t len)
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

int bk_parse_start_time(const char *s, time_t *out)
{
	struct tm tm = {0};
	char zone[64];
	int n = 0;
	if (sscanf(s, "%d-%d-%d %d:%d:%d %63s%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	           &tm.tm_min, &tm.tm_sec, zone, &n) != 7)
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

/* Why directory d is not a candidate (static text); NULL when it is one,
 * dated *start (START TIME as written in start_text).  *undatable: a
 * backup that looks complete but cannot be dated. */
static const char *dir_why(const struct bk_bb_dir *d, time_t *start, char *start_text, size_t len,
                           int *undatable)
{
	*undatable = 0;
	if (d->manifest_tmp)
		return "interrupted (backup_manifest.tmp)";
	if (!d->manifest)
		return "no backup_manifest";
	if (!d->label_file)
		return "no backup_label";
	*undatable = 1;
	if (!d->label || !bk_label_value(d->label, "START TIME", start_text, len))
		return "backup_label has no START TIME";
	if (bk_parse_start_time(start_text, start))
		return "backup_label START TIME not understood";
	*undatable = 0;
	return NULL;
}

long bk_bb_pick(const struct bk_bb_facts *f)
{
	long best = -1;
	time_t best_start = 0;
	for (size_t i = 0; i < f->ndirs; i++) {
		time_t start;
		char text[64];
		int undatable;
		if (dir_why(&f->dirs[i], &start, text, sizeof(text), &undatable))
			continue;
		if (best < 0 || start >= best_start)
			best = (long)i, best_start = start;
	}
	return best;
}

/* pg_verifybackup's findings: the "error:" lines of its stderr, prefix
 * removed, into details and a one-line summary. */
void bk_judge_verifybackup(const struct proc_result *pr, const char *dir, struct bk_verdict *v,
                           json_t *vd)
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
		bk_problem(v, GATE_FAIL,
		           "%s: pg_verifybackup exited %d without \"backup "
		           "successfully verified\"",
		           base, pr->exit_code);
	else if (count == 1)
		bk_problem(v, GATE_FAIL, "%s: pg_verifybackup: %s", base, first);
	else
		bk_problem(v, GATE_FAIL, "%s: pg_verifybackup found %d problems: %s; ...", base,
		           count, first);
}

/* pg_verifybackup's run for the chosen backup; 1 when it verified it. */
static int judge_verify(const struct bk_bb_facts *f, const char *dir, struct bk_verdict *v,
                        json_t *d)
{
	json_t *vd = json_object();
	json_object_set_new(d, "verify", vd);
	if (!f->verify_argv) {
		bk_problem(v, GATE_ERROR, "pg_verifybackup: %s",
		           f->verify ? "not installed "
		                       "(not on PATH nor under /usr/lib/postgresql/*/bin)"
		                     : "not run");
		return 0;
	}
	json_t *jargv = json_array();
	for (size_t i = 0; f->verify_argv[i]; i++)
		json_array_append_new(jargv, bk_jstr(f->verify_argv[i]));
	json_object_set_new(vd, "argv", jargv);
	const struct proc_result *pr = &f->verify_pr;
	json_object_set_new(vd, "duration_ms", json_real(pr->duration_ms));
	bk_add_stderr(vd, "stderr", pr);
	const char *abn = bk_tool_abnormal(pr, "pg_verifybackup");
	if (abn) {
		bk_problem(v, GATE_ERROR, "%s", abn);
		return 0;
	}
	json_object_set_new(vd, "exit_code", json_integer(pr->exit_code));
	int before = v->n;
	bk_judge_verifybackup(pr, dir, v, vd);
	json_object_set_new(vd, "ok", json_boolean(v->n == before));
	return v->n == before;
}

/* The candidates: details.skipped and .candidates, an error for each
 * complete-looking one that cannot be dated; the newest or -1. */
static long rank(const struct bk_bb_facts *f, struct bk_verdict *v, json_t *d)
{
	json_t *skipped = json_array();
	for (size_t i = 0; i < f->ndirs; i++) {
		time_t start;
		char text[64];
		int undatable;
		const char *why = dir_why(&f->dirs[i], &start, text, sizeof(text), &undatable);
		if (!why)
			continue;
		/* A backup we cannot date might be the newest: fail closed. */
		if (undatable)
			bk_problem(v, GATE_ERROR, "%s: %s", f->dirs[i].path, why);
		json_t *sk = json_object();
		json_object_set_new(sk, "path", bk_jstr(f->dirs[i].path));
		json_object_set_new(sk, "reason", bk_jstr(why));
		json_array_append_new(skipped, sk);
	}
	json_object_set_new(d, "skipped", skipped);
	json_object_set_new(d, "candidates", json_integer((json_int_t)f->ndirs));
	return bk_bb_pick(f);
}

/* What the chosen backup says of itself: its dates, label and WAL start. */
static void describe(const struct bk_bb_facts *f, const struct bk_bb_dir *b, time_t start,
                     const char *start_text, int64_t now, json_t *d)
{
	char when[40];
	fmt_utc_s(start, when, sizeof(when));
	json_object_set_new(d, "path", bk_jstr(b->path));
	json_object_set_new(d, "type", bk_jstr("basebackup"));
	json_object_set_new(d, "start_time", bk_jstr(when));
	json_object_set_new(d, "backup_label_start_time", bk_jstr(start_text));
	json_object_set_new(d, "age_s", json_integer((json_int_t)bk_age_s(now, start)));
	/* pg_basebackup renames backup_manifest into place last: its mtime is
	 * when the backup finished (the manifest itself carries no time). */
	if (f->manifest_mtime >= 0) {
		char stop[40];
		fmt_utc_s(f->manifest_mtime, stop, sizeof(stop));
		json_object_set_new(d, "stop_time", bk_jstr(stop));
	}
	char val[256];
	if (bk_label_value(b->label, "START WAL LOCATION", val, sizeof(val)))
		json_object_set_new(d, "start_wal_location", bk_jstr(val));
	if (bk_label_value(b->label, "LABEL", val, sizeof(val)))
		json_object_set_new(d, "label", bk_jstr(val));
}

void bk_bb_judge(const struct bk_bb_facts *f, const json_t *params, int64_t now,
                 struct gate_result *res)
{
	json_t *d = res->details;
	json_object_set_new(d, "glob", bk_jstr(f->pattern));
	struct bk_verdict v;
	bk_verdict_init(&v, d);
	if (f->glob_err) {
		gate_result_set(res, GATE_ERROR, "cannot search %s (glob error %d)", f->pattern,
		                f->glob_err);
		return;
	}
	long best = rank(f, &v, d);
	if (best < 0) {
		json_t *skipped = json_object_get(d, "skipped");
		size_t ns = json_array_size(skipped);
		const json_t *last = json_array_get(skipped, ns - 1);
		if (!f->ndirs)
			gate_result_set(res, GATE_FAIL, "no backup directory matches %s",
			                f->pattern);
		else
			gate_result_set(res, GATE_FAIL,
			                "no complete backup under %s (%zu skipped; "
			                "last: %s: %s)",
			                f->pattern, ns,
			                json_string_value(json_object_get(last, "path")),
			                json_string_value(json_object_get(last, "reason")));
		return;
	}
	const struct bk_bb_dir *b = &f->dirs[best];
	time_t start = 0;
	char start_text[64], when[40], age[32], size[32];
	int undatable;
	dir_why(b, &start, start_text, sizeof(start_text), &undatable);
	describe(f, b, start, start_text, now, d);
	fmt_utc_s(start, when, sizeof(when));
	bk_fmt_age(bk_age_s(now, start), age, sizeof(age));
	bk_judge_date(&v, b->path, "started", (int64_t)start, now,
	              gate_param_int(params, "max_age", 86400000));
	int verified = gate_param_bool(params, "verify", 1) && judge_verify(f, b->path, &v, d);
	bk_fmt_size(f->size, size, sizeof(size));
	json_object_set_new(d, "size", json_integer((json_int_t)f->size));
	char pass[GATE_SUMMARY_MAX];
	snprintf(pass, sizeof(pass), "%s: started %s, %s old, %s%s", b->path, when, age, size,
	         verified ? ", pg_verifybackup: backup successfully verified" : "");
	bk_verdict_finish(&v, res, pass);
}
