/* SPDX-License-Identifier: MIT */
/* backup.rehearsed: the record parser and the judge (backup_rehearsed_judge.h). */
#include "backup_rehearsed_judge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kit/alloc.h"
#include "kit/timefmt.h"

/* "2026-11-28T10:10:10.123Z" (or without the milliseconds) as Unix time
 * in ms; -1 when it is not that. */
static int parse_started(const char *s, int64_t *out)
{
	struct tm tm = {0};
	int n = 0, ms = 0, len = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return -1;
	if (s[n] == '.' && sscanf(s + n, ".%3d%n", &ms, &len) == 1 && len == 4)
		n += len;
	if (strcmp(s + n, "Z") || tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 ||
	    tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm) * 1000 + ms;
	return 0;
}

static char *dup_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? xstrdup(s) : NULL;
}

static int bad(char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s", what);
	return -1;
}

int bk_reh_parse(const char *name, const char *text, size_t len, struct bk_reh_record *rec,
                 char *why, size_t whylen)
{
	memset(rec, 0, sizeof(*rec));
	rec->name = xstrdup(name ? name : "");
	json_error_t je;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o)) {
		if (o)
			snprintf(why, whylen, "not a JSON object");
		else
			snprintf(why, whylen, "not JSON: %s at line %d", je.text, je.line);
		json_decref(o);
		return -1;
	}
	int rc = -1;
	json_t *v = json_object_get(o, "record_version");
	const char *outcome = json_string_value(json_object_get(o, "outcome"));
	const json_t *backup = json_object_get(o, "backup");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		bad(why, whylen, "record_version is not 1");
	else if (!outcome || (strcmp(outcome, "pass") && strcmp(outcome, "fail") &&
	                      strcmp(outcome, "error") && strcmp(outcome, "interrupted")))
		bad(why, whylen, "outcome is not pass, fail, error or interrupted");
	else if (!json_is_string(json_object_get(o, "started")) ||
	         parse_started(json_string_value(json_object_get(o, "started")), &rec->started_ms) <
	                 0)
		bad(why, whylen, "started is not an RFC 3339 UTC time");
	else if (!json_is_string(json_object_get(o, "check")))
		bad(why, whylen, "check is not a string");
	else if (backup && !json_is_null(backup) &&
	         (!json_is_object(backup) || !json_is_string(json_object_get(backup, "kind"))))
		bad(why, whylen, "backup is neither null nor an identity with a kind");
	else
		rc = 0;
	if (rc == 0) {
		rec->outcome = xstrdup(outcome);
		rec->started = dup_str(o, "started");
		rec->check = dup_str(o, "check");
		rec->summary = dup_str(o, "summary");
		if (json_is_object(backup))
			rec->backup = json_deep_copy(backup);
		const json_t *src = json_object_get(o, "source");
		rec->source = json_is_object(src) ? json_deep_copy(src) : json_object();
	}
	json_decref(o);
	return rc;
}

void bk_reh_record_release(struct bk_reh_record *rec)
{
	if (!rec)
		return;
	free(rec->name);
	free(rec->check);
	free(rec->outcome);
	free(rec->started);
	free(rec->summary);
	json_decref(rec->backup);
	json_decref(rec->source);
	memset(rec, 0, sizeof(*rec));
}

void bk_reh_facts_release(struct bk_reh_facts *f)
{
	for (size_t i = 0; i < f->nrecords; i++)
		bk_reh_record_release(&f->records[i]);
	free(f->records);
	json_decref(f->identity);
	f->records = NULL;
	f->nrecords = 0;
	f->identity = NULL;
}

/* ---- matching ---- */

static int same_member(const json_t *a, const json_t *b, const char *k)
{
	const json_t *x = json_object_get(a, k), *y = json_object_get(b, k);
	return x && y && json_equal(x, y);
}

int bk_reh_same_backup(const json_t *want, const json_t *rec)
{
	const char *kind = json_string_value(json_object_get(want, "kind"));
	if (!kind || !json_is_object(rec) || !same_member(want, rec, "kind"))
		return 0;
	if (!strcmp(kind, "pgbackrest")) /* a label is unique in one repository only */
		return same_member(want, rec, "stanza") && same_member(want, rec, "label") &&
		       same_member(want, rec, "repo");
	if (!strcmp(kind, "basebackup"))
		return same_member(want, rec, "path") && same_member(want, rec, "start_time") &&
		       same_member(want, rec, "manifest_checksum");
	if (!strcmp(kind, "file"))
		return same_member(want, rec, "path") && same_member(want, rec, "size") &&
		       same_member(want, rec, "mtime_ns");
	return 0;
}

/* A record of the same source (stanza, or path glob) with no backup
 * identified: a rehearsal that failed before it knew which backup. */
static int same_source(const struct bk_reh_facts *f, const struct bk_reh_record *r)
{
	const char *key = !strcmp(f->kind, "pgbackrest") ? "stanza" : "path";
	const char *v = json_string_value(json_object_get(r->source, key));
	return !r->backup && v && f->source && !strcmp(v, f->source);
}

/* Of this source's kind but another backup (an older one, usually). */
static int other_backup(const struct bk_reh_facts *f, const struct bk_reh_record *r)
{
	const char *k = json_string_value(json_object_get(r->backup, "kind"));
	if (!k || strcmp(k, f->kind) || bk_reh_same_backup(f->identity, r->backup))
		return 0;
	const char *key = !strcmp(f->kind, "pgbackrest") ? "stanza" : NULL;
	return !key || same_member(f->identity, r->backup, key);
}

/* ---- the judge ---- */

struct picked {
	const struct bk_reh_record *pass;   /* the newest pass for the backup */
	const struct bk_reh_record *failed; /* the newest fail/error after it */
	const struct bk_reh_record *other;  /* the newest rehearsal of another backup */
	size_t nmatch;
};

static int later(const struct bk_reh_record *a, const struct bk_reh_record *b)
{
	/* ties: the later name (names sort by their start) */
	return !b || a->started_ms > b->started_ms ||
	       (a->started_ms == b->started_ms && strcmp(a->name, b->name) > 0);
}

static void pick(const struct bk_reh_facts *f, struct picked *p)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < f->nrecords; i++) {
		const struct bk_reh_record *r = &f->records[i];
		if (!strcmp(r->outcome, "interrupted"))
			continue; /* proves nothing either way */
		if (!bk_reh_same_backup(f->identity, r->backup)) {
			if (r->backup && other_backup(f, r) && later(r, p->other))
				p->other = r;
			if (!same_source(f, r))
				continue;
		}
		p->nmatch++;
		if (!strcmp(r->outcome, "pass") && r->backup && later(r, p->pass))
			p->pass = r;
	}
	for (size_t i = 0; i < f->nrecords; i++) {
		const struct bk_reh_record *r = &f->records[i];
		int mine = bk_reh_same_backup(f->identity, r->backup) || same_source(f, r);
		if (!mine || (strcmp(r->outcome, "fail") && strcmp(r->outcome, "error")))
			continue;
		/* one that started with the pass (another check of the same
		 * run) counts too, whatever the names' order */
		if ((!p->pass || r->started_ms >= p->pass->started_ms) && later(r, p->failed))
			p->failed = r;
	}
}

static json_t *record_json(const struct bk_reh_record *r)
{
	if (!r)
		return json_null();
	return json_pack("{s:s,s:s,s:s,s:s,s:s*}", "record", r->name, "check",
	                 r->check ? r->check : "", "outcome", r->outcome, "started", r->started,
	                 "summary", r->summary);
}

/* No failure of the listing or the directory: judge the records. */
static void judge_records(const struct bk_reh_facts *f, int64_t now, int64_t max_age_ms,
                          struct gate_result *res)
{
	struct picked p;
	pick(f, &p);
	json_object_set_new(res->details, "rehearsal", record_json(p.pass));
	json_object_set_new(res->details, "later_failure", record_json(p.failed));
	json_object_set_new(res->details, "other_backup", record_json(p.other));
	char other[500] = "";
	if (p.other) {
		const json_t *b = p.other->backup;
		const char *id = json_string_value(json_object_get(b, "label"));
		const char *path = json_string_value(json_object_get(b, "path"));
		if (id)
			snprintf(other, sizeof(other),
			         " (the last rehearsal, at %s, was of backup %s)", p.other->started,
			         id);
		else if (same_member(b, f->identity, "path"))
			snprintf(other, sizeof(other),
			         " (the last rehearsal, at %s, was of %s as it was before)",
			         p.other->started, path);
		else
			snprintf(other, sizeof(other), " (the last rehearsal, at %s, was of %s)",
			         p.other->started, path ? path : "another backup");
	}
	if (p.failed) {
		gate_result_set(res, GATE_FAIL, "last rehearsal of %s %s at %s: %s", f->what,
		                !strcmp(p.failed->outcome, "fail") ? "failed" : "errored",
		                p.failed->started, p.failed->summary ? p.failed->summary : "");
		return;
	}
	if (!p.pass) {
		gate_result_set(res, GATE_FAIL, "no rehearsal of %s%s", f->what, other);
		return;
	}
	int64_t age = bk_age_s(now, p.pass->started_ms / 1000);
	char ago[32], maxage[32];
	fmt_duration_ms(max_age_ms, maxage, sizeof(maxage));
	if (age < -BK_CLOCK_SKEW_S) {
		gate_result_set(res, GATE_FAIL,
		                "rehearsal of %s is dated %s, in the future; the clock or the "
		                "record is wrong",
		                f->what, p.pass->started);
		return;
	}
	bk_fmt_age(age < 0 ? 0 : age, ago, sizeof(ago));
	if (max_age_ms < 0 || age > max_age_ms / 1000) {
		gate_result_set(res, GATE_FAIL, "rehearsal of %s passed %s ago (max_age %s)",
		                f->what, ago, maxage);
		return;
	}
	gate_result_set(res, GATE_PASS, "%s: rehearsal passed %s ago (max_age %s)", f->what, ago,
	                maxage);
}

void bk_reh_judge(const struct bk_reh_facts *f, const json_t *params, int64_t now,
                  struct gate_result *res)
{
	json_object_set_new(res->details, "state_dir", bk_jstr(f->dir));
	json_object_set_new(res->details, "backup",
	                    f->identity ? json_deep_copy(f->identity) : json_null());
	json_object_set_new(res->details, "records", json_integer((json_int_t)f->nrecords));
	if (f->dir_error[0]) {
		gate_result_set(res, GATE_ERROR, "state directory %s: %s", f->dir, f->dir_error);
		return;
	}
	if (f->bad_record[0]) {
		gate_result_set(res, GATE_ERROR, "rehearsal record %s/%s cannot be read: %s",
		                f->dir, f->bad_record, f->bad_why);
		return;
	}
	if (f->list_error[0]) {
		gate_result_set(res, GATE_ERROR, "%s", f->list_error);
		return;
	}
	if (!f->identity) {
		gate_result_set(res, GATE_FAIL, "%s: no backup, so none was rehearsed", f->what);
		return;
	}
	judge_records(f, now, gate_param_int(params, "max_age", 48 * 3600 * 1000), res);
}
