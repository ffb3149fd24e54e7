/* SPDX-License-Identifier: MIT */
/* pgbackrest.backup: the newest pgBackRest backup of the allowed types
 * must be fresh, error-free, of the live cluster, intact in the
 * repository (`verify`), and have the WAL from its start to its stop.
 *
 * What pgBackRest 2.45 really says (verified against the real tool):
 * `info` exits 0 for a missing stanza (status code 1) and keeps saying
 * "ok" with "error": false when the repository is corrupt; `verify` exits
 * 0 with "status: error" and prints nothing unless --output=text
 * --verbose; and it does not check that a backup's WAL is present.  So
 * every answer is parsed, and the WAL is listed with `repo-ls`, which
 * reads the repository through pgBackRest's own configuration (local,
 * S3, SFTP... alike) rather than guessing a path from the config file.
 *
 * pgBackRest is run with --log-level-file=off (the check is read-only: it
 * writes no log file as whatever user gate runs as) and
 * --log-level-console=off (stdout is exactly the report we parse);
 * its warnings and errors come on stderr (--log-level-stderr). */
#include "backup.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define INFO_MAX (32u << 20)
#define MAX_WAL_SEGMENTS 65536

struct pgbr {
	const json_t *params;
	const struct gate_run_env *env;
	const char *bin;
	const char *stanza;
	const char *config;
	char stanza_opt[300];
	char config_opt[4200];
	json_t *d; /* details */
	struct bk_verdict v;
	bk_tool_fn run; /* bk_run_tool, or a stand-in (fuzz/) */
};

/* argv: binary [--config=] [--repo=N] [--stanza=] quiet-log options,
 * then the caller's words. */
static void build_argv(struct pgbr *p, const char **argv, size_t max, int repo,
                       int with_stanza, char *repo_opt, size_t repo_len,
                       const char *const *words)
{
	size_t a = 0;
	argv[a++] = p->bin;
	if (p->config)
		argv[a++] = p->config_opt;
	if (repo > 0) {
		snprintf(repo_opt, repo_len, "--repo=%d", repo);
		argv[a++] = repo_opt;
	}
	if (with_stanza)
		argv[a++] = p->stanza_opt;
	argv[a++] = "--log-level-file=off";
	argv[a++] = "--log-level-console=off";
	for (size_t i = 0; words[i] && a + 1 < max; i++)
		argv[a++] = words[i];
	argv[a] = NULL;
}

/* Tidy pgBackRest's stderr, in place, for details: the "command begin"
 * and "command end" lines (every option, the elapsed time) and verify's
 * report, which it logs at info level as well as printing it on stdout
 * (parsed from there), are dropped; warnings, errors and the named
 * invalid files stay. */
static void tidy_stderr(char *s)
{
	char *w = s;
	int in_report = 0;
	for (char *l = s; *l;) {
		size_t n = strcspn(l, "\n");
		size_t adv = n + (l[n] == '\n');
		if (l[0] != ' ')
			in_report = !strncmp(l, "INFO: stanza: ", 14);
		int drop = in_report || memmem(l, n, " command begin ", 15) ||
		           memmem(l, n, " command end: ", 14);
		if (!drop) {
			memmove(w, l, adv);
			w += adv;
		}
		l += adv;
	}
	*w = '\0';
}

/* Run pgbackrest; on an abnormal end or a non-zero exit, record an error
 * naming the command and the tool's own error line, and return -1. */
static int run_pgbr(struct pgbr *p, const char *what, int repo, int with_stanza,
                    const char *const *words, json_t *dst, struct proc_result *pr)
{
	const char *argv[24];
	char repo_opt[32];
	build_argv(p, argv, 24, repo, with_stanza, repo_opt, sizeof(repo_opt), words);
	p->run((char *const *)argv, p->env, INFO_MAX, pr);
	tidy_stderr(pr->err);
	bk_add_stderr(dst, "stderr", pr);
	json_object_set_new(dst, "duration_ms", json_real(pr->duration_ms));
	const char *abn = bk_tool_abnormal(pr, "pgbackrest");
	if (abn) {
		bk_problem(&p->v, GATE_ERROR, "pgbackrest %s: %s", what, abn + strlen("pgbackrest: "));
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
		bk_problem(&p->v, GATE_ERROR, "pgbackrest %s exited %d%s%s", what,
		           pr->exit_code, *line ? ": " : "", line);
		return -1;
	}
	if (pr->out_truncated) {
		bk_problem(&p->v, GATE_ERROR, "pgbackrest %s: output over %u MiB", what,
		           INFO_MAX >> 20);
		return -1;
	}
	return 0;
}

/* `system-id` values exceed 2^53 (and may exceed 2^63): quote them before
 * parsing so they stay exact strings, then read them as integers. */
char *bk_quote_system_ids(const char *in)
{
	static const char key[] = "\"system-id\":";
	size_t extra = 0;
	for (const char *s = in; (s = strstr(s, key)); s += sizeof(key) - 1)
		extra += 2;
	char *out = malloc(strlen(in) + extra + 1), *w = out;
	if (!out)
		abort();
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

/* ---- system-id against the live cluster ---- */

static void judge_system_id(struct pgbr *p, const json_t *stanza, const json_t *backup)
{
	const char *conninfo = gate_param_str(p->params, "conninfo");
	const json_t *bdb = json_object_get(backup, "database");
	int64_t dbid = jint(bdb, "id", -1), rkey = jint(bdb, "repo-key", -1);
	const char *sysid = NULL;
	size_t i;
	const json_t *db;
	json_array_foreach(json_object_get(stanza, "db"), i, db) {
		if (jint(db, "id", -2) == dbid && jint(db, "repo-key", -2) == rkey)
			sysid = jstr(db, "system-id");
	}
	if (sysid)
		json_object_set_new(p->d, "system_id", bk_jstr(sysid));
	if (!conninfo)
		return;
	if (!sysid) {
		bk_problem(&p->v, GATE_ERROR, "pgbackrest info gives no system-id for backup %s",
		           jstr(backup, "label"));
		return;
	}
	char timeout[32];
	int64_t secs = bk_budget_ms(p->env) / 1000;
	snprintf(timeout, sizeof(timeout), "%lld", (long long)(secs > 2 ? secs : 2));
	/* dbname is expanded as a conninfo; the runbook's own connect_timeout,
	 * if any, comes later in it and wins. */
	const char *keys[] = {"connect_timeout", "dbname", "application_name", NULL};
	const char *vals[] = {timeout, conninfo, "gate", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		char msg[300];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		msg[strcspn(msg, "\n")] = '\0';
		bk_problem(&p->v, GATE_ERROR, "conninfo: cannot connect: %s", msg);
		PQfinish(c);
		return;
	}
	PGresult *r = PQexec(c, "select system_identifier::text from pg_control_system()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		char msg[300];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		msg[strcspn(msg, "\n")] = '\0';
		bk_problem(&p->v, GATE_ERROR, "conninfo: cannot read the system identifier: %s", msg);
	} else {
		/* bigint in PostgreSQL (negative above 2^63), unsigned in pgBackRest. */
		const char *live = PQgetvalue(r, 0, 0);
		errno = 0;
		uint64_t want = strtoull(sysid, NULL, 10);
		uint64_t got = (uint64_t)strtoll(live, NULL, 10);
		char gots[32];
		snprintf(gots, sizeof(gots), "%" PRIu64, got);
		json_object_set_new(p->d, "live_system_id", bk_jstr(gots));
		if (want != got)
			bk_problem(&p->v, GATE_FAIL, "backup %s is of another cluster: system-id "
			           "%s, live cluster %s", jstr(backup, "label"), sysid, gots);
	}
	PQclear(r);
	PQfinish(c);
}

/* ---- verify ---- */

struct file_findings {
	const char *what; /* "invalid checksum", "file missing", ... */
	const char *phrase; /* "with invalid checksum", "missing" */
	int n;
	char files[400];
};

/* "INFO: invalid checksum '20261125-024500F/pg_data/base/5/16410.gz'" for
 * this backup: group by kind, file names without the label. */
static void collect_bad_files(const char *err, const char *label,
                              struct file_findings *ff, size_t nff, json_t *list)
{
	size_t ll = strlen(label);
	for (const char *l = err; *l;) {
		size_t n = strcspn(l, "\n");
		for (size_t k = 0; k < nff; k++) {
			const char *hit = memmem(l, n, ff[k].what, strlen(ff[k].what));
			if (!hit)
				continue;
			/* "what 'name'" (checksum, missing, size) or "what name: why"
			 * (another error, e.g. a file that does not decompress) */
			const char *q = hit + strlen(ff[k].what);
			if (q + 2 > l + n || q[0] != ' ')
				continue;
			q++;
			const char *end;
			if (*q == '\'') {
				q++;
				end = memchr(q, '\'', (size_t)(l + n - q));
			} else {
				end = q + strcspn(q, ": \n");
			}
			if (!end || end > l + n)
				continue;
			if ((size_t)(end - q) <= ll || strncmp(q, label, ll) || q[ll] != '/')
				continue;
			const char *f = q + ll + 1;
			int fl = (int)(end - f);
			json_t *bad = json_object();
			json_object_set_new(bad, "problem", bk_jstr(ff[k].what));
			json_object_set_new(bad, "file", bk_jstrn(f, (size_t)fl));
			json_array_append_new(list, bad);
			size_t used = strlen(ff[k].files);
			if (ff[k].n < 3 && used + (size_t)fl + 3 < sizeof(ff[k].files))
				snprintf(ff[k].files + used, sizeof(ff[k].files) - used, "%s%.*s",
				         used ? ", " : "", fl, f);
			ff[k].n++;
		}
		l += n + (l[n] == '\n');
	}
}

/* Non-zero counts of "missing: 0, checksum invalid: 1, size invalid: 0,
 * other: 0" as text ("checksum invalid: 1"). */
static void nonzero_counts(const char *line, char *buf, size_t len)
{
	buf[0] = '\0';
	char tmp[512];
	bk_copy(tmp, sizeof(tmp), line);
	char *save = NULL;
	for (char *part = strtok_r(tmp, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		while (*part == ' ')
			part++;
		char *colon = strrchr(part, ':');
		if (!colon || atoi(colon + 1) == 0)
			continue;
		size_t used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", used ? ", " : "", part);
	}
}

void bk_pgbr_judge_verify(const char *stanza, const char *label, const char *out,
                          const char *err, struct bk_verdict *v, json_t *vd)
{
	/* The report on stdout:
	 *   stanza: demo
	 *   status: ok|error
	 *     archiveId: 15-1, total WAL checked: 5, total valid WAL: 5
	 *       missing: 0, checksum invalid: 0, size invalid: 0, other: 0
	 *     backup: LABEL, status: valid, total files checked: 984, ...
	 *       missing: 0, checksum invalid: 0, size invalid: 0, other: 0 */
	char *report = proc_tail(out, 4096);
	json_object_set_new(vd, "report", bk_jstr(report));
	free(report);
	int in_stanza = 0, seen_stanza = 0;
	char stanza_status[64] = "", backup_status[64] = "", counts[512] = "";
	char archive_findings[512] = "", other_lines[512] = "";
	enum { NONE, ARCHIVE, BACKUP, OTHER_BACKUP } block = NONE;
	char archive_id[64] = "";
	for (const char *l = out; *l;) {
		size_t n = strcspn(l, "\n");
		char line[1024];
		snprintf(line, sizeof(line), "%.*s", (int)(n < 1023 ? n : 1023), l);
		l += n + (l[n] == '\n');
		const char *t = line;
		while (*t == ' ')
			t++;
		if (t == line && !strncmp(line, "stanza: ", 8)) {
			in_stanza = !strcmp(line + 8, stanza);
			seen_stanza |= in_stanza;
			block = NONE;
			continue;
		}
		if (!in_stanza)
			continue;
		if (t == line && !strncmp(line, "status: ", 8)) {
			bk_copy(stanza_status, sizeof(stanza_status), line + 8);
		} else if (!strncmp(t, "archiveId: ", 11)) {
			block = ARCHIVE;
			snprintf(archive_id, sizeof(archive_id), "%.*s",
			         (int)strcspn(t + 11, ","), t + 11);
		} else if (!strncmp(t, "backup: ", 8)) {
			const char *lb = t + 8;
			size_t lbl = strcspn(lb, ",");
			if (lbl == strlen(label) && !strncmp(lb, label, lbl)) {
				block = BACKUP;
				const char *st = strstr(lb, ", status: ");
				if (st)
					snprintf(backup_status, sizeof(backup_status), "%.*s",
					         (int)strcspn(st + 10, ","), st + 10);
				json_object_set_new(vd, "backup_line", bk_jstr(t));
			} else {
				/* Another backup of the stanza: its trouble is the
				 * stanza's (and may be this backup's prior). */
				block = OTHER_BACKUP;
				const char *st = strstr(lb, ", status: ");
				if (st && strncmp(st + 10, "valid,", 6)) {
					char one[160];
					snprintf(one, sizeof(one), "backup %.*s: %.*s", (int)(lbl < 64 ? lbl : 64),
					         lb, (int)strcspn(st + 10, ","), st + 10);
					bk_append(archive_findings, sizeof(archive_findings), "; ", one);
				}
			}
		} else if (strstr(t, "missing: ") || strstr(t, "invalid: ")) {
			char nz[256];
			nonzero_counts(t, nz, sizeof(nz));
			if (block == BACKUP) {
				snprintf(counts, sizeof(counts), "%s", nz);
			} else if (block == ARCHIVE && *nz) {
				size_t u = strlen(archive_findings);
				snprintf(archive_findings + u, sizeof(archive_findings) - u,
				         "%sWAL %s: %s", u ? "; " : "", archive_id, nz);
			}
		} else if (block == NONE && *t) {
			/* "No usable backup.info file" and the like */
			bk_append(other_lines, sizeof(other_lines), "; ", t);
		}
	}
	json_object_set_new(vd, "stanza_status", bk_jstr(stanza_status));
	if (*backup_status)
		json_object_set_new(vd, "backup_status", bk_jstr(backup_status));

	struct file_findings ff[] = {
		{"invalid checksum", "with invalid checksum", 0, ""},
		{"file missing", "missing", 0, ""},
		{"invalid size", "with invalid size", 0, ""},
		{"invalid result", "unreadable", 0, ""},
	};
	json_t *bad = json_array();
	json_object_set_new(vd, "invalid_files", bad);
	collect_bad_files(err, label, ff, sizeof(ff) / sizeof(ff[0]), bad);
	/* WAL files of the archive that failed, for the stanza-level finding */
	struct file_findings wf[] = {
		{"invalid checksum", "with invalid checksum", 0, ""},
		{"file missing", "missing", 0, ""},
		{"invalid size", "with invalid size", 0, ""},
		{"invalid result", "unreadable", 0, ""},
	};
	json_t *badwal = json_array();
	json_object_set_new(vd, "invalid_wal", badwal);
	if (*archive_id)
		collect_bad_files(err, archive_id, wf, sizeof(wf) / sizeof(wf[0]), badwal);
	for (size_t k = 0; k < sizeof(wf) / sizeof(wf[0]); k++) {
		if (!wf[k].n)
			continue;
		char one[512];
		snprintf(one, sizeof(one), "%s %s", wf[k].files, wf[k].phrase);
		bk_append(archive_findings, sizeof(archive_findings), "; ", one);
	}

	if (!seen_stanza || !*stanza_status) {
		bk_problem(v, GATE_ERROR, "pgbackrest verify printed no result for stanza %s",
		           stanza);
	} else if (!*backup_status) {
		bk_problem(v, GATE_FAIL, "backup %s: pgbackrest verify did not check it "
		           "(stanza status: %s%s%s)", label, stanza_status,
		           *other_lines ? "; " : "", other_lines);
	} else if (strcmp(backup_status, "valid")) {
		char what[GATE_SUMMARY_MAX] = "";
		for (size_t k = 0; k < sizeof(ff) / sizeof(ff[0]); k++) {
			if (!ff[k].n)
				continue;
			size_t u = strlen(what);
			snprintf(what + u, sizeof(what) - u, "%s%d file%s %s: %s%s", u ? "; " : "",
			         ff[k].n, ff[k].n == 1 ? "" : "s", ff[k].phrase, ff[k].files,
			         ff[k].n > 3 ? ", ..." : "");
		}
		bk_problem(v, GATE_FAIL, "backup %s: pgbackrest verify: status %s: %s", label,
		           backup_status, *what ? what : *counts ? counts : "no detail");
	} else if (strcmp(stanza_status, "ok")) {
		bk_problem(v, GATE_FAIL, "stanza %s: pgbackrest verify: status %s%s%s "
		           "(backup %s itself valid)", stanza, stanza_status,
		           *archive_findings || *other_lines ? ": " : "",
		           *archive_findings ? archive_findings : other_lines, label);
	}
}

static void judge_verify(struct pgbr *p, const char *label, int repo)
{
	json_t *vd = json_object();
	json_object_set_new(p->d, "verify", vd);
	const char *words[] = {"--log-level-stderr=info", "--output=text", "--verbose",
	                       "verify", NULL};
	struct proc_result pr;
	if (run_pgbr(p, "verify", repo, 1, words, vd, &pr)) {
		proc_result_release(&pr);
		return;
	}
	bk_pgbr_judge_verify(p->stanza, label, pr.out, pr.err, &p->v, vd);
	proc_result_release(&pr);
}

/* ---- WAL presence ---- */

int bk_parse_segment(const char *s, uint32_t *tli, uint32_t *log, uint32_t *seg)
{
	if (!s || strlen(s) != 24 || strspn(s, "0123456789ABCDEF") != 24)
		return -1;
	char part[9];
	part[8] = '\0';
	memcpy(part, s, 8);
	*tli = (uint32_t)strtoul(part, NULL, 16);
	memcpy(part, s + 8, 8);
	*log = (uint32_t)strtoul(part, NULL, 16);
	memcpy(part, s + 16, 8);
	*seg = (uint32_t)strtoul(part, NULL, 16);
	return 0;
}

int bk_parse_lsn(const char *s, uint64_t *lsn)
{
	unsigned hi, lo;
	if (!s || sscanf(s, "%X/%X", &hi, &lo) != 2)
		return -1;
	*lsn = (uint64_t)hi << 32 | lo;
	return 0;
}

/* WAL segment size, inferred from the backup itself: a segment's name
 * holds (lsn >> 32) and (lsn & 0xFFFFFFFF) / size, so archive.start must
 * match lsn.start and archive.stop lsn.stop (or lsn.stop - 1, when the
 * backup ended exactly on a boundary).  Of the sizes PostgreSQL allows
 * (1 MiB .. 1 GiB) the smallest consistent one is taken: if in doubt,
 * more segments are demanded, never fewer.  0 when none fits. */
uint64_t bk_wal_seg_size(uint64_t lsn_start, uint64_t lsn_stop, uint32_t slog,
                         uint32_t sseg, uint32_t elog, uint32_t eseg)
{
	for (uint64_t size = 1u << 20; size <= 1u << 30; size <<= 1) {
		uint64_t stop_prev = lsn_stop ? lsn_stop - 1 : 0;
		int ok_start = (lsn_start >> 32) == slog && (lsn_start & 0xFFFFFFFFu) / size == sseg;
		int ok_stop = ((lsn_stop >> 32) == elog && (lsn_stop & 0xFFFFFFFFu) / size == eseg) ||
		              ((stop_prev >> 32) == elog && (stop_prev & 0xFFFFFFFFu) / size == eseg);
		if (ok_start && ok_stop)
			return size;
	}
	return 0;
}

void bk_wal_segment_name(uint32_t tli, uint64_t segno, uint64_t seg_size, char out[25])
{
	uint64_t per_log = 0x100000000ull / seg_size;
	snprintf(out, 25, "%08X%08X%08X", tli, (uint32_t)(segno / per_log),
	         (uint32_t)(segno % per_log));
}

/* Segment names in one repository WAL directory, from repo-ls JSON:
 * "<24 hex>-<sha1>[.ext]" keys (".partial" and ".backup" files are not
 * segments). */
static json_t *list_wal_dir(struct pgbr *p, const char *relpath, int repo, json_t *wd)
{
	const char *words[] = {"--log-level-stderr=warn", "--output=json", "repo-ls",
	                       relpath, NULL};
	struct proc_result pr;
	json_t *ls = json_object();
	json_object_set_new(wd, "repo_ls", ls);
	json_object_set_new(ls, "path", bk_jstr(relpath));
	if (run_pgbr(p, "repo-ls", repo, 0, words, ls, &pr)) {
		proc_result_release(&pr);
		return NULL;
	}
	char why[JSON_ERROR_TEXT_LENGTH];
	json_t *names = bk_pgbr_wal_names(pr.out, why, sizeof(why));
	proc_result_release(&pr);
	if (!names)
		bk_problem(&p->v, GATE_ERROR, "pgbackrest repo-ls %s: unparsable output (%s)",
		           relpath, why);
	return names;
}

json_t *bk_pgbr_wal_names(const char *text, char *why, size_t whylen)
{
	json_error_t je;
	json_t *o = json_loads(text, 0, &je);
	if (!json_is_object(o)) {
		bk_copy(why, whylen, je.text);
		json_decref(o);
		return NULL;
	}
	json_t *names = json_object();
	const char *k;
	json_t *val;
	json_object_foreach(o, k, val) {
		if (strlen(k) >= 25 && strspn(k, "0123456789ABCDEF") == 24 && k[24] == '-') {
			char seg[25];
			memcpy(seg, k, 24);
			seg[24] = '\0';
			json_object_set_new(names, seg, bk_jstr(k));
		}
	}
	json_decref(o);
	return names;
}

static void judge_wal(struct pgbr *p, const json_t *stanza, const json_t *backup,
                      const char *label, int repo, char *found, size_t foundlen)
{
	json_t *wd = json_object();
	json_object_set_new(p->d, "wal", wd);
	const json_t *arch = json_object_get(backup, "archive");
	const char *start = jstr(arch, "start"), *stop = jstr(arch, "stop");
	uint32_t stli, slog, sseg, etli, elog, eseg;
	if (bk_parse_segment(start, &stli, &slog, &sseg) || bk_parse_segment(stop, &etli, &elog, &eseg)) {
		bk_problem(&p->v, GATE_ERROR, "backup %s: archive start/stop not understood",
		           label);
		return;
	}
	json_object_set_new(wd, "start", bk_jstr(start));
	json_object_set_new(wd, "stop", bk_jstr(stop));
	if (stli != etli) {
		bk_problem(&p->v, GATE_ERROR, "backup %s: WAL range spans timelines (%s..%s)",
		           label, start, stop);
		return;
	}
	uint64_t lsn_start = 0, lsn_stop = 0;
	const json_t *lsn = json_object_get(backup, "lsn");
	uint64_t seg_size = 0;
	if (!bk_parse_lsn(jstr(lsn, "start"), &lsn_start) && !bk_parse_lsn(jstr(lsn, "stop"), &lsn_stop))
		seg_size = bk_wal_seg_size(lsn_start, lsn_stop, slog, sseg, elog, eseg);
	if (!seg_size) {
		if (slog != elog) {
			bk_problem(&p->v, GATE_ERROR, "backup %s: cannot tell the WAL segment size "
			           "from lsn and archive start/stop", label);
			return;
		}
		seg_size = 16u << 20; /* irrelevant: the range stays in one log file */
	}
	uint64_t per_log = 0x100000000ull / seg_size;
	json_object_set_new(wd, "segment_size", json_integer((json_int_t)seg_size));
	uint64_t first = (uint64_t)slog * per_log + sseg;
	uint64_t last = (uint64_t)elog * per_log + eseg;
	if (last < first || last - first >= MAX_WAL_SEGMENTS || sseg >= per_log || eseg >= per_log) {
		bk_problem(&p->v, GATE_ERROR, "backup %s: WAL range %s..%s not plausible", label,
		           start, stop);
		return;
	}

	/* The archive id (e.g. "15-1") of the backup's database history entry. */
	const json_t *bdb = json_object_get(backup, "database");
	const char *archive_id = NULL;
	size_t i;
	const json_t *a;
	json_array_foreach(json_object_get(stanza, "archive"), i, a) {
		const json_t *adb = json_object_get(a, "database");
		if (jint(adb, "id", -1) == jint(bdb, "id", -2) &&
		    jint(adb, "repo-key", -1) == jint(bdb, "repo-key", -2))
			archive_id = jstr(a, "id");
	}
	if (!archive_id) {
		bk_problem(&p->v, GATE_FAIL, "backup %s: no WAL archive for its database in the "
		           "repository", label);
		return;
	}
	json_object_set_new(wd, "archive_id", bk_jstr(archive_id));

	uint64_t total = last - first + 1, missing = 0;
	char first_missing[25] = "";
	json_t *missing_list = json_array();
	json_object_set_new(wd, "missing", missing_list);
	json_t *names = NULL;
	uint32_t names_log = UINT32_MAX;
	for (uint64_t s = first; s <= last; s++) {
		char name[25];
		bk_wal_segment_name(stli, s, seg_size, name);
		uint32_t log = (uint32_t)(s / per_log);
		if (log != names_log || !names) {
			json_decref(names);
			char rel[512];
			snprintf(rel, sizeof(rel), "archive/%s/%s/%08X%08X", p->stanza, archive_id,
			         stli, log);
			names = list_wal_dir(p, rel, repo, wd);
			names_log = log;
			if (!names)
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
	json_object_set_new(wd, "segments", json_integer((json_int_t)total));
	json_object_set_new(wd, "present", json_integer((json_int_t)(total - missing)));
	if (missing == 1 && total == 1)
		bk_problem(&p->v, GATE_FAIL, "backup %s: WAL segment %s is missing from the "
		           "repository", label, first_missing);
	else if (missing == 1)
		bk_problem(&p->v, GATE_FAIL, "backup %s: WAL segment %s is missing from the "
		           "repository (needs %s..%s)", label, first_missing, start, stop);
	else if (missing)
		bk_problem(&p->v, GATE_FAIL, "backup %s: %" PRIu64 " of %" PRIu64 " WAL segments "
		           "missing from the repository (first %s; needs %s..%s)", label,
		           missing, total, first_missing, start, stop);
	else if (total == 1)
		snprintf(found, foundlen, ", WAL %s present", start);
	else
		snprintf(found, foundlen, ", WAL %s..%s present (%" PRIu64 " segments)", start,
		         stop, total);
}

/* ---- the check ---- */

static const char *status_text(int64_t code)
{
	switch (code) {
	case 1: return "missing stanza path";
	case 2: return "no valid backups";
	case 3: return "missing stanza data";
	case 4: return "different across repos";
	case 5: return "database mismatch across repos";
	case 6: return "requested backup not found";
	default: return "other";
	}
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

static void describe_backup(struct pgbr *p, const json_t *b, int64_t now)
{
	const json_t *ts = json_object_get(b, "timestamp");
	const json_t *info = json_object_get(b, "info");
	char t[40];
	json_object_set_new(p->d, "label", bk_jstr(jstr(b, "label")));
	json_object_set_new(p->d, "type", bk_jstr(jstr(b, "type")));
	json_object_set_new(p->d, "repo", json_integer(jint(json_object_get(b, "database"), "repo-key", 0)));
	bk_fmt_time((time_t)jtime(ts, "start", 0), t, sizeof(t));
	json_object_set_new(p->d, "start_time", bk_jstr(t));
	bk_fmt_time((time_t)jtime(ts, "stop", 0), t, sizeof(t));
	json_object_set_new(p->d, "stop_time", bk_jstr(t));
	json_object_set_new(p->d, "age_s", json_integer(bk_age_s(now, jtime(ts, "stop", 0))));
	json_object_set_new(p->d, "size", json_integer(jint(info, "size", -1)));
	json_object_set_new(p->d, "repo_size",
	                    json_integer(jint(json_object_get(info, "repository"), "size", -1)));
	if (jstr(b, "prior"))
		json_object_set_new(p->d, "prior", bk_jstr(jstr(b, "prior")));
	const json_t *err = json_object_get(b, "error");
	json_object_set(p->d, "error", err ? (json_t *)err : json_null());
}

void bk_pgbackrest_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res)
{
	bk_pgbackrest_run_with(params, env, res, bk_run_tool);
}

void bk_pgbackrest_run_with(const json_t *params, const struct gate_run_env *env,
                            struct gate_result *res, bk_tool_fn run)
{
	struct pgbr p = {.params = params, .env = env, .d = res->details, .run = run};
	p.bin = gate_param_str(params, "binary");
	if (!p.bin)
		p.bin = "pgbackrest";
	p.stanza = gate_param_str(params, "stanza");
	p.config = gate_param_str(params, "config");
	if (!p.stanza) {
		gate_result_set(res, GATE_ERROR, "stanza is required");
		return;
	}
	snprintf(p.stanza_opt, sizeof(p.stanza_opt), "--stanza=%s", p.stanza);
	if (p.config)
		snprintf(p.config_opt, sizeof(p.config_opt), "--config=%s", p.config);
	int64_t repo = gate_param_int(params, "repo", 0);
	int64_t max_age_ms = gate_param_int(params, "max_age", 86400000);
	const json_t *types = json_object_get(params, "types");
	json_object_set_new(p.d, "stanza", bk_jstr(p.stanza));
	bk_verdict_init(&p.v, p.d);

	/* 1. info */
	json_t *id = json_object();
	json_object_set_new(p.d, "info", id);
	const char *words[] = {"--log-level-stderr=warn", "--output=json", "info", NULL};
	struct proc_result pr;
	if (run_pgbr(&p, "info", (int)repo, 1, words, id, &pr)) {
		proc_result_release(&pr);
		bk_verdict_finish(&p.v, res, "");
		return;
	}
	char *text = bk_quote_system_ids(pr.out);
	proc_result_release(&pr);
	json_error_t je;
	memset(&je, 0, sizeof(je));
	json_t *all = json_loads(text, 0, &je);
	free(text);
	const json_t *st = NULL;
	size_t i;
	const json_t *s;
	json_array_foreach(all, i, s) {
		if (jstr(s, "name") && !strcmp(jstr(s, "name"), p.stanza))
			st = s;
	}
	if (!json_is_array(all) || !st) {
		if (!json_is_array(all))
			bk_problem(&p.v, GATE_ERROR, "pgbackrest info: unparsable output (%s)",
			           je.text[0] ? je.text : "not a JSON array");
		else
			bk_problem(&p.v, GATE_ERROR, "pgbackrest info: stanza %s not in its output",
			           p.stanza);
		goto done;
	}

	/* 2. stanza status: info exits 0 for every one of these */
	const json_t *status = json_object_get(st, "status");
	int64_t code = jint(status, "code", -1);
	json_object_set_new(p.d, "status_code", json_integer(code));
	if (code != 0) {
		const char *msg = jstr(status, "message");
		if (code < 0)
			bk_problem(&p.v, GATE_ERROR, "stanza %s: pgbackrest info gives no status code",
			           p.stanza);
		else
			bk_problem(&p.v, GATE_FAIL, "stanza %s: %s (status %lld)", p.stanza,
			           msg ? msg : status_text(code), (long long)code);
		goto done;
	}
	/* A backup running now is not an error: the newest finished one is judged. */
	const json_t *lock = json_object_get(json_object_get(status, "lock"), "backup");
	if (json_is_true(json_object_get(lock, "held")))
		json_object_set_new(p.d, "backup_running", json_true());

	/* 3. the newest backup of the allowed types */
	size_t n_other;
	const json_t *b = pick_backup(st, types, repo, &n_other);
	if (!b) {
		char allowed[64] = "";
		const json_t *t;
		json_array_foreach(types, i, t) {
			if (json_string_value(t))
				bk_append(allowed, sizeof(allowed), "/", json_string_value(t));
		}
		if (n_other)
			bk_problem(&p.v, GATE_FAIL, "stanza %s: no %s backup (%zu backup%s of "
			           "other types)", p.stanza, *allowed ? allowed : "allowed",
			           n_other, n_other == 1 ? "" : "s");
		else
			bk_problem(&p.v, GATE_FAIL, "stanza %s: no backup", p.stanza);
		goto done;
	}
	const char *label = jstr(b, "label");
	if (!label) {
		bk_problem(&p.v, GATE_ERROR, "pgbackrest info: a backup without a label");
		goto done;
	}
	int64_t now = (int64_t)time(NULL);
	describe_backup(&p, b, now);
	int brepo = (int)jint(json_object_get(b, "database"), "repo-key", repo);
	const char *type = jstr(b, "type");
	int64_t stop = jtime(json_object_get(b, "timestamp"), "stop", -1);
	const json_t *err = json_object_get(b, "error");
	if (json_is_true(err))
		bk_problem(&p.v, GATE_FAIL, "backup %s: pgBackRest recorded errors during the "
		           "backup (error: true, e.g. invalid page checksums)", label);
	else if (!json_is_false(err))
		bk_problem(&p.v, GATE_FAIL, "backup %s: no error flag in pgbackrest info (made by "
		           "a version that did not record it)", label);
	char age[32], when[40], what[128];
	bk_fmt_age(bk_age_s(now, stop), age, sizeof(age));
	bk_fmt_time((time_t)stop, when, sizeof(when));
	snprintf(what, sizeof(what), "backup %s (%s)", label, type ? type : "?");
	if (stop < 0)
		bk_problem(&p.v, GATE_ERROR, "backup %s: no timestamp.stop", label);
	else
		bk_judge_date(&p.v, what, "stopped", stop, now, max_age_ms);

	/* 4. same cluster, intact copy, WAL present */
	judge_system_id(&p, st, b);
	char found_wal[96] = "";
	if (gate_param_bool(params, "verify", 1))
		judge_verify(&p, label, brepo);
	if (gate_param_bool(params, "require_wal", 1))
		judge_wal(&p, st, b, label, brepo, found_wal, sizeof(found_wal));

	char size[32], pass[GATE_SUMMARY_MAX];
	bk_fmt_size((uint64_t)jint(json_object_get(b, "info"), "size", 0), size, sizeof(size));
	snprintf(pass, sizeof(pass), "backup %s (%s): stopped %s, %s old, %s%s%s", label,
	         type ? type : "?", when, age, size,
	         gate_param_bool(params, "verify", 1) ? ", verify: valid" : "", found_wal);
	bk_verdict_finish(&p.v, res, pass);
	json_decref(all);
	return;
done:
	json_decref(all);
	bk_verdict_finish(&p.v, res, "");
}
