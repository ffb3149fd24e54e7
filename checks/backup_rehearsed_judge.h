/* SPDX-License-Identifier: MIT */
/* backup.rehearsed (doc/checks.md): the newest backup -- picked by the
 * same code as pgbackrest.backup, backup.basebackup or backup.file --
 * must have a passing restore rehearsal recorded by `gate rehearse`
 * (gate/rehearsal.h; doc/report.md, "Rehearsal records") younger than
 * max_age, and no later failed one.  backup_rehearsed.c fetches the
 * facts (the backup's identity, the records); the record parser and the
 * judge here are pure: table-tested (tests/unit/test_backup_rehearsed.c)
 * and fuzzed (fuzz/fuzz_rehearsal_record.c). */
#ifndef GATE_CHECKS_BACKUP_REHEARSED_JUDGE_H
#define GATE_CHECKS_BACKUP_REHEARSED_JUDGE_H

#include <glob.h>
#include <stddef.h>
#include <stdint.h>

#include "backup_judge.h"
#include "gate/module.h"

/* Reading limits: more records than this in the directory, or one
 * bigger, is an error (old records are the operator's to remove). */
#define BK_REH_MAX_RECORDS 10000
#define BK_REH_MAX_RECORD_BYTES (1u << 20)

/* One record, as the parser read it.  bk_reh_record_release frees it. */
struct bk_reh_record {
	char *name;         /* the file's name in the state directory */
	char *check;        /* the rehearsal's check id */
	char *outcome;      /* pass, fail, error, interrupted */
	char *started;      /* as written: RFC 3339 UTC */
	int64_t started_ms; /* the same, ms since the epoch */
	char *summary;
	json_t *backup; /* the identity, or NULL when the rehearsal named none */
	json_t *source; /* the rehearsal's parameters (an object) */
};

/* Parse a record file's text: 0, or -1 with why ("not JSON: ... at line
 * 3", "record_version 2 is not understood", "no outcome").  len bytes
 * of text, not necessarily NUL-terminated. */
int bk_reh_parse(const char *name, const char *text, size_t len, struct bk_reh_record *rec,
                 char *why, size_t whylen);
void bk_reh_record_release(struct bk_reh_record *rec);

/* What the fetch found. */
struct bk_reh_facts {
	const char *kind;     /* "pgbackrest", "basebackup" or "file" */
	const char *source;   /* the stanza, or the basebackup / file glob */
	const char *dir;      /* the state directory */
	char dir_error[600];  /* set: it could not be read */
	char list_error[600]; /* set: the backups could not be listed */
	/* the newest backup's identity ({"kind": "pgbackrest", ...}, the
	 * form rehearsals record); NULL: there is none */
	json_t *identity;
	char what[400]; /* how messages name it: "backup 20261128-101010F" */
	size_t nrecords;
	struct bk_reh_record *records;
	char bad_record[300];   /* set: the first record that could not be read */
	char bad_why[300];      /* and why */
	size_t nunreadable_dir; /* entries skipped (not records): temp files... */
};
void bk_reh_facts_release(struct bk_reh_facts *f);

/* Is record identity `rec` the backup `want`?  Same kind and, for
 * pgbackrest, stanza, label and repository; basebackup: path,
 * start_time and manifest_checksum; file: path, size and mtime_ns. */
int bk_reh_same_backup(const json_t *want, const json_t *rec);
void bk_reh_judge(const struct bk_reh_facts *f, const json_t *params, int64_t now,
                  struct gate_result *res);

/* ---- the fetch's reuse of the backup family (the same selection
 * as the checks they belong to) ---- */

/* backup.basebackup's scan of the glob's directories (f->pattern set),
 * for bk_bb_pick; glob g is freed by the caller when 0 is returned. */
int bk_bb_scan(struct bk_bb_facts *f, glob_t *g);
/* backup.file's choice of the newest regular file (f->pattern set) into
 * f->path (malloc'd; NULL: none), size and mtime. */
void bk_file_pick(struct bk_file_facts *f);

void bk_rehearsed_run(const json_t *params, const struct gate_run_env *env,
                      struct gate_result *res);
extern const struct gate_param bk_rehearsed_params[];
int bk_rehearsed_validate(const json_t *params, const char **param, char *msg, size_t msglen);

#endif
