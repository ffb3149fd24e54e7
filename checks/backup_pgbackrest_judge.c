/* SPDX-License-Identifier: MIT */
/* pgbackrest.backup, the judge: the newest backup of the allowed types
 * must be fresh, error-free, of the live cluster, intact in the
 * repository (`verify`), and have the WAL from its start to its stop.
 * Pure: the facts come from backup_pgbackrest.c. */
#include "backup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/alloc.h"
#include "kit/timefmt.h"

#define MAX_WAL_SEGMENTS 65536

/* `system-id` values exceed 2^53 (and may exceed 2^63): quote them before
 * parsing so they stay exact strings, then read them as integers. */
char *bk_quote_system_ids(const char *in)
{
	static const char key[] = "\"system-id\":";
	size_t extra = 0;
	for (const char *s = in; (s = strstr(s, key)); s += sizeof(key) - 1)
		extra += 2;
	char *out = xmalloc(strlen(in) + extra + 1), *w = out;
	const char *s = in;
	for (const char *hit; (hit = strstr(s, key));) {
		hit += sizeof(key) - 1;
		memcpy(w, s, (size_t)(hit - s));
		w += hit - s;
		s = hit;
		while (*s == ' ')
			*w++ = *s++;
		size_t n = strspn(s, "0123456789");
		if (n) {
			*w++ = '"';
			memcpy(w, s, n);
			w += n;
			*w++ = '"';
			s += n;
		}
	}
	strcpy(w, s);
	return out;
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int64_t jint(const json_t *o, const char *k, int64_t dflt)
{
	const json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* A Unix time (seconds) from pgbackrest info, or dflt when absent or out
 * of 1970..9999: the age arithmetic must not overflow on a value pgBackRest
 * never writes. */
static int64_t jtime(const json_t *o, const char *k, int64_t dflt)
{
	int64_t t = jint(o, k, dflt);
	return t >= 0 && t <= 253402300799 ? t : dflt;
}

static int type_allowed(const json_t *types, const char *type)
{
	if (!types)
		return 1;
	size_t i;
	const json_t *t;
	json_array_foreach(types, i, t) {
		if (type && json_string_value(t) && !strcmp(json_string_value(t), type))
			return 1;
	}
	return 0;
}

static const json_t *pick_backup(const json_t *stanza, const json_t *types, int64_t repo,
                                 size_t *n_other)
{
	const json_t *best = NULL;
	size_t i;
	const json_t *b;
	*n_other = 0;
	json_array_foreach(json_object_get(stanza, "backup"), i, b) {
		if (repo > 0 && jint(json_object_get(b, "database"), "repo-key", -1) != repo)
			continue;
		if (!type_allowed(types, jstr(b, "type"))) {
			(*n_other)++;
			continue;
		}
		int64_t stop = jint(json_object_get(b, "timestamp"), "stop", -1);
		if (!best || stop >= jint(json_object_get(best, "timestamp"), "stop", -1))
			best = b;
	}
	return best;
}

/* The system-id of the backup's database, from the stanza's db history. */
static const char *backup_system_id(const json_t *stanza, const json_t *backup)
{
	const json_t *bdb = json_object_get(backup, "database");
	int64_t dbid = jint(bdb, "id", -1), rkey = jint(bdb, "repo-key", -1);
	const char *sysid = NULL;
	size_t i;
	const json_t *db;
	json_array_foreach(json_object_get(stanza, "db"), i, db) {
		if (jint(db, "id", -2) == dbid && jint(db, "repo-key", -2) == rkey)
			sysid = jstr(db, "system-id");
	}
	return sysid;
}

int bk_pgbr_view_read(const char *info_out, const json_t *params, struct bk_pgbr_view *view)
{
	memset(view, 0, sizeof(*view));
	view->status_code = -1;
	const char *stanza = gate_param_str(params, "stanza");
	int64_t repo = gate_param_int(params, "repo", 0);
	char *text = bk_quote_system_ids(info_out ? info_out : "");
	json_error_t je;
	memset(&je, 0, sizeof(je));
	view->all = json_loads(text, 0, &je);
	free(text);
	if (!json_is_array(view->all)) {
		bk_copy(view->why, sizeof(view->why), je.text[0] ? je.text : "not a JSON array");
		return -1;
	}
	size_t i;
	const json_t *s;
	json_array_foreach(view->all, i, s) {
		if (stanza && jstr(s, "name") && !strcmp(jstr(s, "name"), stanza))
			view->stanza = s;
	}
	view->status_code = jint(json_object_get(view->stanza, "status"), "code", -1);
	if (!view->stanza || view->status_code != 0)
		return -1;
	view->backup = pick_backup(view->stanza, json_object_get(params, "types"), repo,
	                           &view->n_other);
	view->label = jstr(view->backup, "label");
	if (!view->label)
		return -1;
	view->repo = (int)jint(json_object_get(view->backup, "database"), "repo-key", repo);
	view->system_id = backup_system_id(view->stanza, view->backup);
	return 0;
}

void bk_pgbr_view_release(struct bk_pgbr_view *view)
{
	json_decref(view->all);
	memset(view, 0, sizeof(*view));
}

/* ---- the WAL the backup needs ---- */

#define PLAN_PROBLEM(st, ...)                                                \
	do {                                                                 \
		plan->problem_status = (st);                                 \
		snprintf(plan->problem, sizeof(plan->problem), __VA_ARGS__); \
		return -1;                                                   \
	} while (0)

/* The archive id (e.g. "15-1") of the backup's database history entry. */
static const char *archive_id(const json_t *stanza, const json_t *backup)
{
	const json_t *bdb = json_object_get(backup, "database");
	const char *id = NULL;
	size_t i;
	const json_t *a;
	json_array_foreach(json_object_get(stanza, "archive"), i, a) {
		const json_t *adb = json_object_get(a, "database");
		if (jint(adb, "id", -1) == jint(bdb, "id", -2) &&
		    jint(adb, "repo-key", -1) == jint(bdb, "repo-key", -2))
			id = jstr(a, "id");
	}
	return id;
}

int bk_pgbr_wal_plan(const struct bk_pgbr_view *view, struct bk_wal_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	const char *label = view->label;
	const json_t *arch = json_object_get(view->backup, "archive");
	plan->start = jstr(arch, "start"), plan->stop = jstr(arch, "stop");
	uint32_t stli, slog, sseg, etli, elog, eseg;
	if (bk_parse_segment(plan->start, &stli, &slog, &sseg) ||
	    bk_parse_segment(plan->stop, &etli, &elog, &eseg))
		PLAN_PROBLEM(GATE_ERROR, "backup %s: archive start/stop not understood", label);
	plan->understood = 1;
	if (stli != etli)
		PLAN_PROBLEM(GATE_ERROR, "backup %s: WAL range spans timelines (%s..%s)", label,
		             plan->start, plan->stop);
	uint64_t lsn_start = 0, lsn_stop = 0;
	const json_t *lsn = json_object_get(view->backup, "lsn");
	if (!bk_parse_lsn(jstr(lsn, "start"), &lsn_start) &&
	    !bk_parse_lsn(jstr(lsn, "stop"), &lsn_stop))
		plan->seg_size = bk_wal_seg_size(lsn_start, lsn_stop, slog, sseg, elog, eseg);
	if (!plan->seg_size) {
		if (slog != elog)
			PLAN_PROBLEM(GATE_ERROR,
			             "backup %s: cannot tell the WAL segment size from "
			             "lsn and archive start/stop",
			             label);
		plan->seg_size = 16u << 20; /* irrelevant: the range stays in one log file */
	}
	uint64_t per_log = 0x100000000ull / plan->seg_size;
	plan->tli = stli;
	plan->first = (uint64_t)slog * per_log + sseg;
	plan->last = (uint64_t)elog * per_log + eseg;
	if (plan->last < plan->first || plan->last - plan->first >= MAX_WAL_SEGMENTS ||
	    sseg >= per_log || eseg >= per_log)
		PLAN_PROBLEM(GATE_ERROR, "backup %s: WAL range %s..%s not plausible", label,
		             plan->start, plan->stop);
	plan->archive_id = archive_id(view->stanza, view->backup);
	if (!plan->archive_id)
		PLAN_PROBLEM(GATE_FAIL,
		             "backup %s: no WAL archive for its database in the "
		             "repository",
		             label);
	return 0;
}

void bk_pgbr_wal_dir(const struct bk_wal_plan *plan, const char *stanza, uint64_t segno, char *buf,
                     size_t len)
{
	uint64_t per_log = 0x100000000ull / plan->seg_size;
	snprintf(buf, len, "archive/%s/%s/%08X%08X", stanza, plan->archive_id, plan->tli,
	         (uint32_t)(segno / per_log));
}

/* ---- the answers ---- */

/* A pgbackrest answer into dst (stderr, duration, exit code); 0 when it
 * can be used, -1 after saying why not (not run, an abnormal end, a
 * non-zero exit with the tool's own error line, stdout cut short). */
static int judge_run(struct bk_verdict *v, const char *what, int ran, const struct proc_result *pr,
                     json_t *dst)
{
	if (!ran) {
		bk_problem(v, GATE_ERROR, "pgbackrest %s: not run", what);
		return -1;
	}
	bk_add_stderr(dst, "stderr", pr);
	json_object_set_new(dst, "duration_ms", json_real(pr->duration_ms));
	const char *abn = bk_tool_abnormal(pr, "pgbackrest");
	if (abn) {
		bk_problem(v, GATE_ERROR, "pgbackrest %s: %s", what, abn + strlen("pgbackrest: "));
		return -1;
	}
	json_object_set_new(dst, "exit_code", json_integer(pr->exit_code));
	if (pr->exit_code != 0) {
		char line[300];
		if (!bk_find_line(pr->err, "ERROR", line, sizeof(line))) {
			char *t = proc_tail(pr->err, 200);
			snprintf(line, sizeof(line), "%s", t);
			free(t);
		}
		bk_problem(v, GATE_ERROR, "pgbackrest %s exited %d%s%s", what, pr->exit_code,
		           *line ? ": " : "", line);
		return -1;
	}
	if (pr->out_truncated) {
		bk_problem(v, GATE_ERROR, "pgbackrest %s: output over %u MiB", what,
		           BK_PGBR_OUT_MAX >> 20);
		return -1;
	}
	return 0;
}

static void judge_system_id(const struct bk_pgbr_facts *f, const struct bk_pgbr_view *view,
                            const json_t *params, struct bk_verdict *v, json_t *d)
{
	const char *sysid = view->system_id;
	if (sysid)
		json_object_set_new(d, "system_id", bk_jstr(sysid));
	if (!gate_param_str(params, "conninfo"))
		return;
	if (!sysid) {
		bk_problem(v, GATE_ERROR, "pgbackrest info gives no system-id for backup %s",
		           view->label);
		return;
	}
	if (f->live == 1) {
		json_object_set_new(d, "live_system_id", bk_jstr(f->live_system_id));
		if (strtoull(sysid, NULL, 10) != strtoull(f->live_system_id, NULL, 10))
			bk_problem(v, GATE_FAIL,
			           "backup %s is of another cluster: system-id %s, "
			           "live cluster %s",
			           view->label, sysid, f->live_system_id);
	} else if (f->live == -2) {
		bk_problem(v, GATE_ERROR, "conninfo: cannot read the system identifier: %s",
		           f->live_error);
	} else {
		bk_problem(v, GATE_ERROR, "conninfo: cannot connect: %s",
		           f->live ? f->live_error : "not asked");
	}
}

static void judge_verify(const struct bk_pgbr_facts *f, const struct bk_pgbr_view *view,
                         const char *stanza, struct bk_verdict *v, json_t *d)
{
	json_t *vd = json_object();
	json_object_set_new(d, "verify", vd);
	if (judge_run(v, "verify", f->verify_ran, &f->verify, vd))
		return;
	bk_pgbr_judge_verify(stanza, view->label, f->verify.out, f->verify.err, v, vd);
}

/* The segment names listed in WAL directory dir, or NULL after saying
 * why there are none. */
static json_t *wal_names(const struct bk_pgbr_facts *f, const char *dir, struct bk_verdict *v,
                         json_t *wd)
{
	json_t *ls = json_object();
	json_object_set_new(wd, "repo_ls", ls);
	json_object_set_new(ls, "path", bk_jstr(dir));
	const struct bk_pgbr_ls *l = NULL;
	for (size_t i = 0; i < f->nls && !l; i++)
		l = !strcmp(f->ls[i].path, dir) ? &f->ls[i] : NULL;
	if (judge_run(v, "repo-ls", l != NULL, l ? &l->pr : NULL, ls))
		return NULL;
	char why[JSON_ERROR_TEXT_LENGTH];
	json_t *names = bk_pgbr_wal_names(l->pr.out, why, sizeof(why));
	if (!names)
		bk_problem(v, GATE_ERROR, "pgbackrest repo-ls %s: unparsable output (%s)", dir,
		           why);
	return names;
}

/* Say which of the needed segments are missing, or what was found. */
static void wal_verdict(const struct bk_wal_plan *plan, const char *label, uint64_t missing,
                        const char *first_missing, struct bk_verdict *v, char *found,
                        size_t foundlen)
{
	uint64_t total = plan->last - plan->first + 1;
	const char *start = plan->start, *stop = plan->stop;
	if (missing == 1 && total == 1)
		bk_problem(v, GATE_FAIL,
		           "backup %s: WAL segment %s is missing from the "
		           "repository",
		           label, first_missing);
	else if (missing == 1)
		bk_problem(v, GATE_FAIL,
		           "backup %s: WAL segment %s is missing from the "
		           "repository (needs %s..%s)",
		           label, first_missing, start, stop);
	else if (missing)
		bk_problem(v, GATE_FAIL,
		           "backup %s: %" PRIu64 " of %" PRIu64 " WAL segments "
		           "missing from the repository (first %s; needs %s..%s)",
		           label, missing, total, first_missing, start, stop);
	else if (total == 1)
		snprintf(found, foundlen, ", WAL %s present", start);
	else
		snprintf(found, foundlen, ", WAL %s..%s present (%" PRIu64 " segments)", start,
		         stop, total);
}

static void judge_wal(const struct bk_pgbr_facts *f, const struct bk_pgbr_view *view,
                      const char *stanza, struct bk_verdict *v, json_t *d, char *found,
                      size_t foundlen)
{
	json_t *wd = json_object();
	json_object_set_new(d, "wal", wd);
	struct bk_wal_plan plan;
	int bad = bk_pgbr_wal_plan(view, &plan);
	if (plan.understood) {
		json_object_set_new(wd, "start", bk_jstr(plan.start));
		json_object_set_new(wd, "stop", bk_jstr(plan.stop));
	}
	if (plan.seg_size)
		json_object_set_new(wd, "segment_size", json_integer((json_int_t)plan.seg_size));
	if (plan.archive_id)
		json_object_set_new(wd, "archive_id", bk_jstr(plan.archive_id));
	if (bad) {
		bk_problem(v, plan.problem_status, "%s", plan.problem);
		return;
	}
	uint64_t missing = 0, per_log = 0x100000000ull / plan.seg_size;
	char first_missing[25] = "", dir[512] = "";
	json_t *missing_list = json_array(), *names = NULL;
	json_object_set_new(wd, "missing", missing_list);
	for (uint64_t s = plan.first; s <= plan.last; s++) {
		char name[25];
		bk_wal_segment_name(plan.tli, s, plan.seg_size, name);
		if (!names || s % per_log == 0) {
			json_decref(names);
			bk_pgbr_wal_dir(&plan, stanza, s, dir, sizeof(dir));
			if (!(names = wal_names(f, dir, v, wd)))
				return;
		}
		if (!json_object_get(names, name)) {
			if (!missing++)
				memcpy(first_missing, name, sizeof(name));
			if (json_array_size(missing_list) < 50)
				json_array_append_new(missing_list, bk_jstr(name));
		}
	}
	json_decref(names);
	json_object_set_new(wd, "segments", json_integer((json_int_t)(plan.last - plan.first + 1)));
	json_object_set_new(wd, "present",
	                    json_integer((json_int_t)(plan.last - plan.first + 1 - missing)));
	wal_verdict(&plan, view->label, missing, first_missing, v, found, foundlen);
}

/* ---- the backup ---- */

static const char *status_text(int64_t code)
{
	switch (code) {
	case 1:
		return "missing stanza path";
	case 2:
		return "no valid backups";
	case 3:
		return "missing stanza data";
	case 4:
		return "different across repos";
	case 5:
		return "database mismatch across repos";
	case 6:
		return "requested backup not found";
	default:
		return "other";
	}
}

static void describe_backup(const json_t *b, int64_t now, json_t *d)
{
	const json_t *ts = json_object_get(b, "timestamp");
	const json_t *info = json_object_get(b, "info");
	char t[40];
	json_object_set_new(d, "label", bk_jstr(jstr(b, "label")));
	json_object_set_new(d, "type", bk_jstr(jstr(b, "type")));
	json_object_set_new(d, "repo",
	                    json_integer(jint(json_object_get(b, "database"), "repo-key", 0)));
	fmt_utc_s(jtime(ts, "start", 0), t, sizeof(t));
	json_object_set_new(d, "start_time", bk_jstr(t));
	fmt_utc_s(jtime(ts, "stop", 0), t, sizeof(t));
	json_object_set_new(d, "stop_time", bk_jstr(t));
	json_object_set_new(d, "age_s", json_integer(bk_age_s(now, jtime(ts, "stop", 0))));
	json_object_set_new(d, "size", json_integer(jint(info, "size", -1)));
	json_object_set_new(d, "repo_size",
	                    json_integer(jint(json_object_get(info, "repository"), "size", -1)));
	if (jstr(b, "prior"))
		json_object_set_new(d, "prior", bk_jstr(jstr(b, "prior")));
	const json_t *err = json_object_get(b, "error");
	json_object_set(d, "error", err ? (json_t *)err : json_null());
}

/* The stanza's status code, and whether a backup is running now (not an
 * error: the newest finished one is judged). */
static void stanza_details(const struct bk_pgbr_view *view, json_t *d)
{
	const json_t *status = json_object_get(view->stanza, "status");
	json_object_set_new(d, "status_code", json_integer(view->status_code));
	const json_t *lock = json_object_get(json_object_get(status, "lock"), "backup");
	if (view->status_code == 0 && json_is_true(json_object_get(lock, "held")))
		json_object_set_new(d, "backup_running", json_true());
}

/* Why info gives no backup to judge: the stanza is not there, its status
 * is not ok, no backup of the allowed types, one without a label. */
static void no_backup(const struct bk_pgbr_view *view, const char *stanza, const json_t *params,
                      struct bk_verdict *v, json_t *d)
{
	if (!json_is_array(view->all)) {
		bk_problem(v, GATE_ERROR, "pgbackrest info: unparsable output (%s)", view->why);
		return;
	}
	if (!view->stanza) {
		bk_problem(v, GATE_ERROR, "pgbackrest info: stanza %s not in its output", stanza);
		return;
	}
	stanza_details(view, d);
	if (view->status_code != 0) {
		const char *msg = jstr(json_object_get(view->stanza, "status"), "message");
		if (view->status_code < 0)
			bk_problem(v, GATE_ERROR, "stanza %s: pgbackrest info gives no status code",
			           stanza);
		else
			bk_problem(v, GATE_FAIL, "stanza %s: %s (status %lld)", stanza,
			           msg ? msg : status_text(view->status_code),
			           (long long)view->status_code);
	} else if (!view->backup) {
		char allowed[64] = "";
		size_t i;
		const json_t *t;
		json_array_foreach(json_object_get(params, "types"), i, t) {
			if (json_string_value(t))
				bk_append(allowed, sizeof(allowed), "/", json_string_value(t));
		}
		if (view->n_other)
			bk_problem(v, GATE_FAIL,
			           "stanza %s: no %s backup (%zu backup%s of other "
			           "types)",
			           stanza, *allowed ? allowed : "allowed", view->n_other,
			           view->n_other == 1 ? "" : "s");
		else
			bk_problem(v, GATE_FAIL, "stanza %s: no backup", stanza);
	} else {
		bk_problem(v, GATE_ERROR, "pgbackrest info: a backup without a label");
	}
}

/* The backup's own record: the error flag and the date it stopped. */
static void judge_record(const struct bk_pgbr_view *view, int64_t now, int64_t max_age_ms,
                         struct bk_verdict *v)
{
	const json_t *b = view->backup;
	const char *label = view->label, *type = jstr(b, "type");
	int64_t stop = jtime(json_object_get(b, "timestamp"), "stop", -1);
	const json_t *err = json_object_get(b, "error");
	if (json_is_true(err))
		bk_problem(v, GATE_FAIL,
		           "backup %s: pgBackRest recorded errors during the "
		           "backup (error: true, e.g. invalid page checksums)",
		           label);
	else if (!json_is_false(err))
		bk_problem(v, GATE_FAIL,
		           "backup %s: no error flag in pgbackrest info (made by "
		           "a version that did not record it)",
		           label);
	char what[128];
	snprintf(what, sizeof(what), "backup %s (%s)", label, type ? type : "?");
	if (stop < 0)
		bk_problem(v, GATE_ERROR, "backup %s: no timestamp.stop", label);
	else
		bk_judge_date(v, what, "stopped", stop, now, max_age_ms);
}

void bk_pgbr_judge(const struct bk_pgbr_facts *f, const json_t *params, int64_t now,
                   struct gate_result *res)
{
	const char *stanza = gate_param_str(params, "stanza");
	int verify = gate_param_bool(params, "verify", 1);
	json_t *d = res->details, *id = json_object();
	struct bk_verdict v;
	struct bk_pgbr_view view = {0};
	json_object_set_new(d, "stanza", bk_jstr(stanza));
	bk_verdict_init(&v, d);
	json_object_set_new(d, "info", id);
	if (judge_run(&v, "info", f->info_ran, &f->info, id) ||
	    bk_pgbr_view_read(f->info.out, params, &view)) {
		if (!v.n)
			no_backup(&view, stanza, params, &v, d);
		bk_pgbr_view_release(&view);
		bk_verdict_finish(&v, res, "");
		return;
	}
	stanza_details(&view, d);
	describe_backup(view.backup, now, d);
	judge_record(&view, now, gate_param_int(params, "max_age", 86400000), &v);
	judge_system_id(f, &view, params, &v, d);
	char found_wal[96] = "";
	if (verify)
		judge_verify(f, &view, stanza, &v, d);
	if (gate_param_bool(params, "require_wal", 1))
		judge_wal(f, &view, stanza, &v, d, found_wal, sizeof(found_wal));

	const json_t *b = view.backup, *type = json_object_get(b, "type");
	int64_t stop = jtime(json_object_get(b, "timestamp"), "stop", -1);
	char size[32], when[40], age[32], pass[GATE_SUMMARY_MAX];
	fmt_utc_s(stop, when, sizeof(when));
	bk_fmt_age(bk_age_s(now, stop), age, sizeof(age));
	bk_fmt_size((uint64_t)jint(json_object_get(b, "info"), "size", 0), size, sizeof(size));
	snprintf(pass, sizeof(pass), "backup %s (%s): stopped %s, %s old, %s%s%s", view.label,
	         json_is_string(type) ? json_string_value(type) : "?", when, age, size,
	         verify ? ", verify: valid" : "", found_wal);
	bk_verdict_finish(&v, res, pass);
	bk_pgbr_view_release(&view);
}
