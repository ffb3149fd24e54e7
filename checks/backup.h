/* SPDX-License-Identifier: MIT */
/* Private interface of the backup check family (checks/backup*.c):
 * pgbackrest.backup, backup.basebackup and backup.file.  Each check is a
 * fetch (this header: the I/O, into the facts of backup_judge.h) and a
 * pure judge (backup_judge.h). */
#ifndef GATE_CHECKS_BACKUP_H
#define GATE_CHECKS_BACKUP_H

#include <glob.h>
#include <stddef.h>
#include <stdint.h>

#include "backup_judge.h"
#include "gate/module.h"
#include "lib/proc.h"

/* The last bytes of a tool's stderr that go into details. */
#define BK_STDERR_TAIL 2048
/* The most of a pgbackrest answer (stdout) that is read. */
#define BK_PGBR_OUT_MAX (32u << 20)

void bk_pgbackrest_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res);
void bk_basebackup_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res);
void bk_file_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res);

/* How a check runs its tool: bk_run_tool, or a stand-in that answers from
 * memory (the unit tests, the fuzz targets).  Same contract as
 * bk_run_tool. */
typedef int (*bk_tool_fn)(char *const *argv, const struct gate_run_env *env, size_t max_out,
                          struct proc_result *pr);
/* bk_pgbackrest_run with pgbackrest run through `run`. */
void bk_pgbackrest_run_with(const json_t *params, const struct gate_run_env *env,
                            struct gate_result *res, bk_tool_fn run);
/* The facts of pgbackrest.backup, pgbackrest run through `run` (the live
 * cluster is asked when conninfo is set).  The stanza parameter must be
 * set.  bk_pgbr_facts_release frees them. */
void bk_pgbr_fetch(const json_t *params, const struct gate_run_env *env, bk_tool_fn run,
                   struct bk_pgbr_facts *f);
void bk_pgbr_facts_release(struct bk_pgbr_facts *f);
/* The rules of pgbackrest.backup's stanza and repo parameters (also
 * pgbackrest.restore's): 0, or -1 with *param and msg. */
int bk_validate_pgbr_source(const json_t *params, const char **param, char *msg, size_t msglen);

/* ---- the fetch's helpers ---- */

/* Milliseconds left for a tool: up to the core's deadline, less a margin
 * so that the check kills the tool and says so before the core kills the
 * check.  Never below 1. */
int64_t bk_budget_ms(const struct gate_run_env *env);
/* proc_run within the check's budget; stdout kept up to max_out bytes. */
int bk_run_tool(char *const *argv, const struct gate_run_env *env, size_t max_out,
                struct proc_result *pr);
/* SHA-256 of a file, streamed in 1 MiB reads through OpenSSL's EVP API.
 * 0 with hex set; -1 with msg set (an I/O error), or with *timed_out = 1
 * when the monotonic deadline came first.  *hashed: the bytes read. */
int bk_sha256_file(const char *path, int64_t deadline_ms, char hex[65], uint64_t *hashed,
                   int *timed_out, char *msg, size_t msglen);
/* Which SHA-256 implementation hashes: "OpenSSL 3.0.x EVP SHA2-256 (default provider)". */
const char *bk_sha256_impl(void);

/* ---- the choice of backup, shared with the restore rehearsals ---- */

/* backup.basebackup's scan of the glob's directories (f->pattern set),
 * for bk_bb_pick; glob g is freed by the caller when 0 is returned. */
int bk_bb_scan(struct bk_bb_facts *f, glob_t *g);
/* backup.file's choice: the newest regular file matching f->pattern (by
 * mtime, ties to the later name in glob order; .sha256 sidecars
 * excluded) into f->path (the caller frees it), f->size and f->mtime;
 * the matches counted (nmatch, nregular), glob's error in glob_err. */
void bk_file_pick(struct bk_file_facts *f);
/* The same, a directory holding toc.dat (a pg_dump directory-format
 * dump, which writes toc.dat last) also a candidate, dated and sized by
 * its toc.dat (dump.restore). */
void bk_file_pick_dumps(struct bk_file_facts *f);
/* The bytes of the regular files under dir; follow_links: symbolic links
 * followed, as a copy with cp -L follows them (basebackup.restore's
 * space); else not (backup.basebackup's size).  Not thread-safe. */
uint64_t bk_tree_bytes(const char *dir, int follow_links);

#endif
