/* SPDX-License-Identifier: MIT */
/*
 * The records of restore rehearsals (doc/report.md, "Rehearsal records"):
 * `gate rehearse` writes one JSON file per rehearsal check it ran into the
 * state directory, and backup.rehearsed reads them before maintenance.
 *
 * The builder is pure (a check's result, its runbook entry and the run's
 * facts in, the record out); the writer puts it into the directory whole:
 * a temporary file beside it (outfile.h), mode 0600, fsync'd, renamed
 * into place, the directory fsync'd.  The directory is created 0700 when
 * absent and must be this user's, writable by no one else, and not a
 * symbolic link.  Library code: never prints, never exits.
 */
#ifndef GATE_REHEARSAL_H
#define GATE_REHEARSAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "eval.h"
#include "runbook.h"

#define REHEARSAL_RECORD_VERSION 1

/* What one `gate rehearse` run knows besides the check's result. */
struct rehearsal_run {
	const char *runbook; /* the runbook's path as given */
	const char *host;    /* this host's name */
	int64_t started_ms;  /* epoch ms: when the rehearsals were started */
};

/* "pass", "fail", "error" or "interrupted" for a result: interrupted when
 * gate was stopped while the check ran (the caller knows), a skip is an
 * error (nothing was proven). */
const char *rehearsal_outcome(const struct check_result *r, int interrupted);

/* The record of check c's result r (doc/report.md): a new JSON object.
 * `source` is c's parameters with every secret one shown as "***" and
 * the rest redacted as reports are; backup, probes and phases_ms come
 * from r->details.rehearsal when it has them (null, [], {} otherwise). */
json_t *rehearsal_record(const struct check_result *r, const struct rb_check *c,
                         const struct rehearsal_run *run, int interrupted);

/* "20261128T101010.123Z-<id>.json": the start in UTC, then the check id
 * with every byte outside [A-Za-z0-9._-] made '_'.  free() it. */
char *rehearsal_file_name(int64_t started_ms, const char *check_id);

/* DIR, created 0700 (with its parents) when absent; 0 when it is a
 * directory of this user that no one else may write (not a symbolic
 * link), -1 with err otherwise. */
int rehearsal_dir_ready(const char *dir, struct gate_error *err);

/* Write rec as DIR/NAME (NAME from rehearsal_file_name of its "started"
 * and "check"), whole or not at all; *path_out (may be NULL) gets the
 * path, free() it.  0, or -1 with err. */
int rehearsal_write(const char *dir, const json_t *rec, int64_t started_ms, char **path_out,
                    struct gate_error *err);

#endif
