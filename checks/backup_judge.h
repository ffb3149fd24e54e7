/* SPDX-License-Identifier: MIT */
/* The backup family's judges: pure functions from the facts a check
 * gathered (what pgbackrest, pg_verifybackup, pg_restore and the file
 * system said: backup_*.c fetch them) plus the check's parameters and the
 * time now, to a result.  No I/O, no clock.  Table-tested with answers
 * recorded from the real tools (tests/unit/test_backup_judge.c,
 * tests/data/recorded/backup/) and fuzzed (fuzz/). */
#ifndef GATE_CHECKS_BACKUP_JUDGE_H
#define GATE_CHECKS_BACKUP_JUDGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "gate/module.h"
#include "lib/proc.h"

/* ---- problems ----
 * A check collects every problem it finds (so the on-call sees them all
 * at once); the first one decides the status and the summary, the rest
 * are counted in the summary and listed in details.problems. */
struct bk_verdict {
	int n;
	enum gate_status status;
	char first[GATE_SUMMARY_MAX];
	json_t *list; /* array of strings, owned by details once attached */
};

void bk_verdict_init(struct bk_verdict *v, json_t *details);
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void bk_problem(struct bk_verdict *v, enum gate_status st, const char *fmt, ...);
/* Fill res: the first problem (and "(+N more problems)"), or pass with
 * pass_summary when there was none. */
void bk_verdict_finish(struct bk_verdict *v, struct gate_result *res, const char *pass_summary);

/* ---- the date of a backup ---- */

/* The clocks of the machine that wrote a backup and of this one may
 * disagree a little: a date up to this far in the future still counts as
 * now.  Beyond it the date is wrong, and a failure. */
#define BK_CLOCK_SKEW_S 300

/* now - t in seconds, saturated (t may come from a tool's answer or a
 * file's mtime, and be anything). */
int64_t bk_age_s(int64_t now, int64_t t);
/* An age in seconds for people ("45s", "12m30s", "2d04h"), saturated. */
void bk_fmt_age(int64_t seconds, char *buf, size_t len);
/* "812 B", "5.3 MiB", "1.02 GiB" */
void bk_fmt_size(uint64_t bytes, char *buf, size_t len);
/* Judge the date t of the backup a check picked as the newest: a failure
 * when it is more than BK_CLOCK_SKEW_S in the future ("... is dated X, 1d
 * in the future; the clock or the backup is wrong": a future date would
 * also hide that newer backups stopped, since the newest is picked by
 * date), or older than max_age_ms ("WHAT is AGE old (max_age M; VERB
 * WHEN)", M as the runbook writes durations).  what names the backup,
 * verb says what its date is ("modified", "started", "stopped"). */
void bk_judge_date(struct bk_verdict *v, const char *what, const char *verb, int64_t t, int64_t now,
                   int64_t max_age_ms);

/* ---- tools' answers ---- */

/* When the tool did not run to a normal exit (not installed, timed out,
 * killed), a phrase saying so ("pgbackrest: not installed (not found on
 * PATH)"); NULL when it exited normally. */
const char *bk_tool_abnormal(const struct proc_result *pr, const char *tool);
/* Put the trimmed tail of the tool's stderr into obj[key] (if any). */
void bk_add_stderr(json_t *obj, const char *key, const struct proc_result *pr);
/* A JSON string of s (NULL taken as ""); text that is not valid UTF-8 is
 * made so, each stray byte shown as "\xNN" (kit/text.h), so a detail is
 * never silently lost. */
json_t *bk_jstr(const char *s);
json_t *bk_jstrn(const char *s, size_t n);
/* Copy src into dst (size len), truncated, always NUL-terminated. */
void bk_copy(char *dst, size_t len, const char *src);
/* Append sep (when dst is not empty) and src to dst, truncated. */
void bk_append(char *dst, size_t len, const char *sep, const char *src);
/* The first line of s that contains needle, copied (without the line end)
 * into buf; 0 when there is none. */
int bk_find_line(const char *s, const char *needle, char *buf, size_t len);

/* ==== backup.file ==== */

struct bk_file_facts {
	const char *pattern;
	int glob_err;     /* glob()'s error; 0 when it ran */
	size_t nmatch;    /* matches, .sha256 sidecars excluded */
	size_t nregular;  /* regular files among them */
	const char *path; /* the newest regular file; NULL: none */
	uint64_t size;
	int64_t mtime; /* seconds since the epoch */
	/* checksum: sha256-sidecar (not looked at for an empty file) */
	int sidecar; /* 1 read (sidecar_text), -1 not (sidecar_errno), 0 not tried */
	int sidecar_errno;
	char *sidecar_text;
	int hashed; /* 1 sha256 is the file's, -1 failed, 0 not hashed */
	char sha256[65];
	uint64_t hashed_bytes;
	int hash_timed_out;   /* with hashed == -1: the deadline came first */
	char hash_error[512]; /* with hashed == -1, not timed out */
	double hash_ms;
	const char *sha256_impl;
	/* restore_test */
	char **restore_argv; /* NULL: not run */
	struct proc_result restore;
};

/* The digest for file `name` in a sha256sum-format sidecar: 1 found,
 * 0 no line for it (*other = first name seen), -1 not that format. */
int bk_sidecar_lookup(const char *text, const char *name, char hex[65], char *other,
                      size_t otherlen);
void bk_file_judge(const struct bk_file_facts *f, const json_t *params, int64_t now,
                   struct gate_result *res);

/* ==== backup.basebackup ==== */

struct bk_bb_dir {
	char *path;
	int manifest_tmp; /* backup_manifest.tmp exists */
	int manifest;     /* backup_manifest is a regular file */
	int label_file;   /* backup_label is a regular file */
	char *label;      /* its text (read when the three above allow); NULL: unreadable */
};

struct bk_bb_facts {
	const char *pattern;
	int glob_err; /* glob()'s error; 0 when it ran */
	size_t ndirs; /* the directories among the matches, in glob order */
	struct bk_bb_dir *dirs;
	/* of the chosen one (bk_bb_pick) */
	int64_t manifest_mtime; /* -1: not known */
	uint64_t size;          /* bytes of its regular files */
	int verify;             /* 1: pg_verifybackup was to run */
	char **verify_argv;     /* NULL: not installed */
	struct proc_result verify_pr;
};

/* backup_label: the value of "KEY: value" into buf (truncated); 0 when
 * there is no such line. */
int bk_label_value(const char *label, const char *key, char *buf, size_t len);
/* backup_label's "2026-11-25 02:42:54 UTC" (or "+02", "-0530", the local
 * zone's abbreviations) as Unix time; -1 when not understood. */
int bk_parse_start_time(const char *s, time_t *out);
/* The index of the newest complete directory, by START TIME (the later
 * in glob order on a tie); -1 when there is none. */
long bk_bb_pick(const struct bk_bb_facts *f);
/* pg_verifybackup's exit code, stdout and stderr for the backup in dir:
 * problems into v, details into vd. */
void bk_judge_verifybackup(const struct proc_result *pr, const char *dir, struct bk_verdict *v,
                           json_t *vd);
void bk_bb_judge(const struct bk_bb_facts *f, const json_t *params, int64_t now,
                 struct gate_result *res);

/* ==== pgbackrest.backup ==== */

/* One `pgbackrest repo-ls` of a WAL directory. */
struct bk_pgbr_ls {
	char path[512]; /* "archive/demo/15-1/0000000100000000" */
	struct proc_result pr;
};

struct bk_pgbr_facts {
	int info_ran; /* `info --output=json` */
	struct proc_result info;
	int live;                /* the live cluster (conninfo): 1 read live_system_id, */
	char live_system_id[32]; /* -1 cannot connect, -2 cannot read it (live_error), */
	char live_error[300];    /* 0 not asked */
	int verify_ran;          /* `verify --output=text --verbose` */
	struct proc_result verify;
	size_t nls;            /* the WAL directories the backup needs, in order; */
	struct bk_pgbr_ls *ls; /* the fetch stops at the first unusable answer */
};

/* What `info` says about the stanza and the backup to judge: parsed from
 * the answer and the parameters (pure; the fetch and the judge both read
 * it).  bk_pgbr_view_release frees it. */
struct bk_pgbr_view {
	json_t *all;          /* info's JSON, system-ids as strings */
	char why[160];        /* all not an array: JSON's complaint */
	const json_t *stanza; /* the stanza's object; NULL: not there */
	int64_t status_code;  /* the stanza's status.code; -1 when absent */
	const json_t *backup; /* the backup judged; NULL: none */
	size_t n_other;       /* backups of other types (none allowed) */
	const char *label;
	int repo;              /* the backup's repository key */
	const char *system_id; /* its database's system-id, when known */
};
/* 0 when there is a backup to look further at (view->backup and label
 * set); -1 otherwise.  No problems are recorded: the judge does that. */
int bk_pgbr_view_read(const char *info_out, const json_t *params, struct bk_pgbr_view *view);
void bk_pgbr_view_release(struct bk_pgbr_view *view);

/* The WAL the backup needs, from info: segments first..last on timeline
 * tli, in directories "archive/STANZA/ARCHIVE_ID/TTTTTTTTLLLLLLLL". */
struct bk_wal_plan {
	const char *start, *stop; /* archive start and stop segment names, */
	int understood;           /* when both are segment names */
	uint32_t tli;
	uint64_t seg_size, first, last;
	const char *archive_id;
	char problem[256]; /* set when no plan can be made */
	enum gate_status problem_status;
};
/* 0 with a plan, -1 with plan->problem set. */
int bk_pgbr_wal_plan(const struct bk_pgbr_view *view, struct bk_wal_plan *plan);
/* The directory of segment number segno, relative to the repository. */
void bk_pgbr_wal_dir(const struct bk_wal_plan *plan, const char *stanza, uint64_t segno, char *buf,
                     size_t len);

/* `pgbackrest verify --output=text --verbose` (stdout `out`, stderr
 * `err` at --log-level-stderr=info) judged for backup `label` of
 * `stanza`: problems into v, details into vd. */
void bk_pgbr_judge_verify(const char *stanza, const char *label, const char *out, const char *err,
                          struct bk_verdict *v, json_t *vd);
/* `pgbackrest repo-ls --output=json` of a WAL directory: an object of the
 * WAL segment names listed ("000000010000000000000005" -> the file name),
 * or NULL with why (JSON's complaint) when it is not a JSON object. */
json_t *bk_pgbr_wal_names(const char *text, char *why, size_t whylen);
void bk_pgbr_judge(const struct bk_pgbr_facts *f, const json_t *params, int64_t now,
                   struct gate_result *res);

/* ---- parsers, exposed for tests/unit/test_backup_parse.c ---- */

/* pgBackRest info JSON with every "system-id" number quoted (exact). */
char *bk_quote_system_ids(const char *in);
/* "000000010000000A000000FF" -> timeline, log, seg; -1 if malformed. */
int bk_parse_segment(const char *s, uint32_t *tli, uint32_t *log, uint32_t *seg);
/* "0/9000050" -> 64-bit LSN; -1 if malformed. */
int bk_parse_lsn(const char *s, uint64_t *lsn);
/* The WAL segment size consistent with both ends of a backup (smallest
 * of 1 MiB..1 GiB), 0 if none. */
uint64_t bk_wal_seg_size(uint64_t lsn_start, uint64_t lsn_stop, uint32_t slog, uint32_t sseg,
                         uint32_t elog, uint32_t eseg);
/* Name of segment number segno (log * segments-per-log + seg). */
void bk_wal_segment_name(uint32_t tli, uint64_t segno, uint64_t seg_size, char out[25]);

#endif
