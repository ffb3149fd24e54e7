/* SPDX-License-Identifier: MIT */
/* pgbackrest.backup: `pgbackrest verify --output=text --verbose` judged
 * for the stanza and the chosen backup.  verify exits 0 even when it finds
 * errors, so its report (stdout) and the files it names (stderr, at
 * --log-level-stderr=info) are read.  Pure. */
#include "backup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- verify ---- */

struct file_findings {
	const char *what;   /* "invalid checksum", "file missing", ... */
	const char *phrase; /* "with invalid checksum", "missing" */
	int n;
	char files[400];
};

/* "INFO: invalid checksum '20261125-024500F/pg_data/base/5/16410.gz'" for
 * this backup: group by kind, file names without the label. */
static void collect_bad_files(const char *err, const char *label, struct file_findings *ff,
                              size_t nff, json_t *list)
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

/* What the report on stdout says of the stanza and of the backup:
 *   stanza: demo
 *   status: ok|error
 *     archiveId: 15-1, total WAL checked: 5, total valid WAL: 5
 *       missing: 0, checksum invalid: 0, size invalid: 0, other: 0
 *     backup: LABEL, status: valid, total files checked: 984, ...
 *       missing: 0, checksum invalid: 0, size invalid: 0, other: 0 */
struct report {
	int in_stanza, seen_stanza;
	enum { NONE, ARCHIVE, BACKUP, OTHER_BACKUP } block;
	char stanza_status[64], backup_status[64], counts[512];
	char archive_findings[512], other_lines[512], archive_id[64];
};

/* "backup: LABEL, status: S, ..." (t, indentation skipped) */
static void report_backup(struct report *r, const char *label, const char *t, json_t *vd)
{
	const char *lb = t + 8;
	size_t lbl = strcspn(lb, ",");
	const char *st = strstr(lb, ", status: ");
	if (lbl == strlen(label) && !strncmp(lb, label, lbl)) {
		r->block = BACKUP;
		if (st)
			snprintf(r->backup_status, sizeof(r->backup_status), "%.*s",
			         (int)strcspn(st + 10, ","), st + 10);
		json_object_set_new(vd, "backup_line", bk_jstr(t));
		return;
	}
	/* Another backup of the stanza: its trouble is the stanza's (and may
	 * be this backup's prior). */
	r->block = OTHER_BACKUP;
	if (st && strncmp(st + 10, "valid,", 6)) {
		char one[160];
		snprintf(one, sizeof(one), "backup %.*s: %.*s", (int)(lbl < 64 ? lbl : 64), lb,
		         (int)strcspn(st + 10, ","), st + 10);
		bk_append(r->archive_findings, sizeof(r->archive_findings), "; ", one);
	}
}

/* One line of the report. */
static void report_line(struct report *r, const char *stanza, const char *label, const char *line,
                        json_t *vd)
{
	const char *t = line;
	while (*t == ' ')
		t++;
	if (t == line && !strncmp(line, "stanza: ", 8)) {
		r->in_stanza = !strcmp(line + 8, stanza);
		r->seen_stanza |= r->in_stanza;
		r->block = NONE;
		return;
	}
	if (!r->in_stanza)
		return;
	if (t == line && !strncmp(line, "status: ", 8)) {
		bk_copy(r->stanza_status, sizeof(r->stanza_status), line + 8);
	} else if (!strncmp(t, "archiveId: ", 11)) {
		r->block = ARCHIVE;
		snprintf(r->archive_id, sizeof(r->archive_id), "%.*s", (int)strcspn(t + 11, ","),
		         t + 11);
	} else if (!strncmp(t, "backup: ", 8)) {
		report_backup(r, label, t, vd);
	} else if (strstr(t, "missing: ") || strstr(t, "invalid: ")) {
		char nz[256];
		nonzero_counts(t, nz, sizeof(nz));
		if (r->block == BACKUP) {
			snprintf(r->counts, sizeof(r->counts), "%s", nz);
		} else if (r->block == ARCHIVE && *nz) {
			size_t u = strlen(r->archive_findings);
			snprintf(r->archive_findings + u, sizeof(r->archive_findings) - u,
			         "%sWAL %s: %s", u ? "; " : "", r->archive_id, nz);
		}
	} else if (r->block == NONE && *t) {
		/* "No usable backup.info file" and the like */
		bk_append(r->other_lines, sizeof(r->other_lines), "; ", t);
	}
}

#define FINDINGS                                                      \
	{                                                             \
		{"invalid checksum", "with invalid checksum", 0, ""}, \
			{"file missing", "missing", 0, ""},           \
			{"invalid size", "with invalid size", 0, ""}, \
			{"invalid result", "unreadable", 0, ""},      \
	}
#define NFINDINGS 4

/* The failing WAL files of the backup's archive, for the stanza-level
 * finding. */
static void wal_findings(struct report *r, const char *err, json_t *vd)
{
	struct file_findings wf[NFINDINGS] = FINDINGS;
	json_t *badwal = json_array();
	json_object_set_new(vd, "invalid_wal", badwal);
	if (*r->archive_id)
		collect_bad_files(err, r->archive_id, wf, NFINDINGS, badwal);
	for (size_t k = 0; k < NFINDINGS; k++) {
		if (!wf[k].n)
			continue;
		char one[512];
		snprintf(one, sizeof(one), "%s %s", wf[k].files, wf[k].phrase);
		bk_append(r->archive_findings, sizeof(r->archive_findings), "; ", one);
	}
}

void bk_pgbr_judge_verify(const char *stanza, const char *label, const char *out, const char *err,
                          struct bk_verdict *v, json_t *vd)
{
	char *tail = proc_tail(out, 4096);
	json_object_set_new(vd, "report", bk_jstr(tail));
	free(tail);
	struct report r = {0};
	for (const char *l = out; *l;) {
		size_t n = strcspn(l, "\n");
		char line[1024];
		snprintf(line, sizeof(line), "%.*s", (int)(n < 1023 ? n : 1023), l);
		l += n + (l[n] == '\n');
		report_line(&r, stanza, label, line, vd);
	}
	json_object_set_new(vd, "stanza_status", bk_jstr(r.stanza_status));
	if (*r.backup_status)
		json_object_set_new(vd, "backup_status", bk_jstr(r.backup_status));
	struct file_findings ff[NFINDINGS] = FINDINGS;
	json_t *bad = json_array();
	json_object_set_new(vd, "invalid_files", bad);
	collect_bad_files(err, label, ff, NFINDINGS, bad);
	wal_findings(&r, err, vd);

	if (!r.seen_stanza || !*r.stanza_status) {
		bk_problem(v, GATE_ERROR, "pgbackrest verify printed no result for stanza %s",
		           stanza);
	} else if (!*r.backup_status) {
		bk_problem(v, GATE_FAIL,
		           "backup %s: pgbackrest verify did not check it "
		           "(stanza status: %s%s%s)",
		           label, r.stanza_status, *r.other_lines ? "; " : "", r.other_lines);
	} else if (strcmp(r.backup_status, "valid")) {
		char what[GATE_SUMMARY_MAX] = "";
		for (size_t k = 0; k < NFINDINGS; k++) {
			if (!ff[k].n)
				continue;
			size_t u = strlen(what);
			snprintf(what + u, sizeof(what) - u, "%s%d file%s %s: %s%s", u ? "; " : "",
			         ff[k].n, ff[k].n == 1 ? "" : "s", ff[k].phrase, ff[k].files,
			         ff[k].n > 3 ? ", ..." : "");
		}
		bk_problem(v, GATE_FAIL, "backup %s: pgbackrest verify: status %s: %s", label,
		           r.backup_status,
		           *what       ? what
		           : *r.counts ? r.counts
		                       : "no detail");
	} else if (strcmp(r.stanza_status, "ok")) {
		bk_problem(v, GATE_FAIL,
		           "stanza %s: pgbackrest verify: status %s%s%s "
		           "(backup %s itself valid)",
		           stanza, r.stanza_status,
		           *r.archive_findings || *r.other_lines ? ": " : "",
		           *r.archive_findings ? r.archive_findings : r.other_lines, label);
	}
}
