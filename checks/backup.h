/* SPDX-License-Identifier: MIT */
/* Private interface of the backup check family (checks/backup*.c):
 * pgbackrest.backup, backup.basebackup and backup.file, and the small
 * helpers they share (time and size formatting, running a tool within
 * the check's deadline, collecting problems into one result). */
#ifndef GATE_CHECKS_BACKUP_H
#define GATE_CHECKS_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "gate/module.h"
#include "lib/proc.h"

/* The last bytes of a tool's stderr that go into details. */
#define BK_STDERR_TAIL 2048

void bk_pgbackrest_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res);
void bk_basebackup_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res);
void bk_file_run(const json_t *params, const struct gate_run_env *env,
                 struct gate_result *res);

/* How a check runs its tool: bk_run_tool, or a stand-in that answers from
 * memory (the fuzz targets, fuzz/).  Same contract as bk_run_tool. */
typedef int (*bk_tool_fn)(char *const *argv, const struct gate_run_env *env,
                          size_t max_out, struct proc_result *pr);
/* bk_pgbackrest_run with pgbackrest run through `run`. */
void bk_pgbackrest_run_with(const json_t *params, const struct gate_run_env *env,
                            struct gate_result *res, bk_tool_fn run);

/* ---- clocks and formatting ---- */

int64_t bk_mono_ms(void);
/* Milliseconds left for a tool: up to the core's deadline, less a margin
 * so that the check kills the tool and says so before the core kills the
 * check.  Never below 1. */
int64_t bk_budget_ms(const struct gate_run_env *env);
/* "2026-11-25T02:45:04Z" */
void bk_fmt_time(time_t t, char *buf, size_t len);
/* "45s", "12m30s", "3h12m", "2d4h" */
void bk_fmt_age(int64_t seconds, char *buf, size_t len);
/* "812 B", "5.3 MiB", "1.02 GiB" */
void bk_fmt_size(uint64_t bytes, char *buf, size_t len);

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
void bk_verdict_finish(struct bk_verdict *v, struct gate_result *res,
                       const char *pass_summary);

/* ---- the date of a backup ---- */

/* The clocks of the machine that wrote a backup and of this one may
 * disagree a little: a date up to this far in the future still counts as
 * now.  Beyond it the date is wrong, and a failure. */
#define BK_CLOCK_SKEW_S 300

/* now - t in seconds, saturated (t may come from a tool's answer or a
 * file's mtime, and be anything). */
int64_t bk_age_s(int64_t now, int64_t t);
/* Judge the date t of the backup a check picked as the newest: a failure
 * when it is more than BK_CLOCK_SKEW_S in the future ("... is dated X, 1d
 * in the future; the clock or the backup is wrong": a future date would
 * also hide that newer backups stopped, since the newest is picked by
 * date), or older than max_age_ms ("WHAT is AGE old (max_age M; VERB
 * WHEN)").  what names the backup, verb says what its date is
 * ("modified", "started", "stopped"). */
void bk_judge_date(struct bk_verdict *v, const char *what, const char *verb,
                   int64_t t, int64_t now, int64_t max_age_ms);

/* ---- running tools ---- */

/* proc_run within the check's budget; stdout kept up to max_out bytes. */
int bk_run_tool(char *const *argv, const struct gate_run_env *env,
                size_t max_out, struct proc_result *pr);
/* When the tool did not run to a normal exit (not installed, timed out,
 * killed), a phrase saying so ("pgbackrest: not installed (not found on
 * PATH)"); NULL when it exited normally. */
const char *bk_tool_abnormal(const struct proc_result *pr, const char *tool);
/* Put the trimmed tail of the tool's stderr into obj[key] (if any). */
void bk_add_stderr(json_t *obj, const char *key, const struct proc_result *pr);
/* A JSON string of s (NULL taken as ""); bytes that are not valid UTF-8
 * become '?', so a detail is never silently lost. */
json_t *bk_jstr(const char *s);
json_t *bk_jstrn(const char *s, size_t n);
/* Copy src into dst (size len), truncated, always NUL-terminated. */
void bk_copy(char *dst, size_t len, const char *src);
/* Append sep (when dst is not empty) and src to dst, truncated. */
void bk_append(char *dst, size_t len, const char *sep, const char *src);
/* The first line of s that contains needle, copied (without the line end)
 * into buf; 0 when there is none. */
int bk_find_line(const char *s, const char *needle, char *buf, size_t len);

/* ---- parsers, exposed for tests/unit/test_backup_parse.c ---- */

/* backup_label's "2026-11-25 02:42:54 UTC" (or "+02", "-0530", the local
 * zone's abbreviations) as Unix time; -1 when not understood. */
int bk_parse_start_time(const char *s, time_t *out);
/* The digest for file `name` in a sha256sum-format sidecar: 1 found,
 * 0 no line for it (*other = first name seen), -1 not that format. */
int bk_sidecar_lookup(const char *text, const char *name, char hex[65],
                      char *other, size_t otherlen);
/* pgBackRest info JSON with every "system-id" number quoted (exact). */
char *bk_quote_system_ids(const char *in);
/* "000000010000000A000000FF" -> timeline, log, seg; -1 if malformed. */
int bk_parse_segment(const char *s, uint32_t *tli, uint32_t *log, uint32_t *seg);
/* "0/9000050" -> 64-bit LSN; -1 if malformed. */
int bk_parse_lsn(const char *s, uint64_t *lsn);
/* The WAL segment size consistent with both ends of a backup (smallest
 * of 1 MiB..1 GiB), 0 if none. */
uint64_t bk_wal_seg_size(uint64_t lsn_start, uint64_t lsn_stop, uint32_t slog,
                         uint32_t sseg, uint32_t elog, uint32_t eseg);
/* Name of segment number segno (log * segments-per-log + seg). */
void bk_wal_segment_name(uint32_t tli, uint64_t segno, uint64_t seg_size, char out[25]);

/* ---- judges of a tool's answer, pure (no I/O), for the unit tests and
 * the fuzz targets (fuzz/) ---- */

/* backup_label: the value of "KEY: value" into buf (truncated); 0 when
 * there is no such line. */
int bk_label_value(const char *label, const char *key, char *buf, size_t len);
/* pg_verifybackup's exit code, stdout and stderr for the backup in dir:
 * problems into v, details into vd. */
void bk_judge_verifybackup(const struct proc_result *pr, const char *dir,
                           struct bk_verdict *v, json_t *vd);
/* `pgbackrest verify --output=text --verbose` (stdout `out`, stderr
 * `err` at --log-level-stderr=info) judged for backup `label` of
 * `stanza`: problems into v, details into vd. */
void bk_pgbr_judge_verify(const char *stanza, const char *label, const char *out,
                          const char *err, struct bk_verdict *v, json_t *vd);
/* `pgbackrest repo-ls --output=json` of a WAL directory: an object of the
 * WAL segment names listed ("000000010000000000000005" -> the file name),
 * or NULL with why (JSON's complaint) when it is not a JSON object. */
json_t *bk_pgbr_wal_names(const char *text, char *why, size_t whylen);

#endif
