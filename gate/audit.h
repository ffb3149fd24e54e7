/* SPDX-License-Identifier: MIT */
/* Audit records (doc/report.md, "Audit records"): to the systemd journal and to a
 * JSON-lines file written with O_APPEND and fsync'd.  Never prints: what
 * went wrong is returned in err / the status. */
#ifndef GATE_AUDIT_H
#define GATE_AUDIT_H

#include "error.h"
#include "eval.h"

/* MESSAGE_IDs, one per record kind (documented in README). */
#define GATE_MESSAGE_ID_DECISION "5e1c2a7b9d3f4e60a8b1c4d2e7f90a13"
#define GATE_MESSAGE_ID_RESULT "8f4d3b2a1c6e4f0b9a7d5c3e1f2b4a68"

/* Appended: `gate lock release` and `gate maintenance resume` (what gate
 * holds, doc/report.md "Audit records"). */
#define GATE_MESSAGE_ID_HOLD "c3a95e0d7b2f4c18a6e4d1b09f7a2e35"

/* AUDIT_HOLD: an action on what gate holds; ev->holds["action"] says
 * which, ev->allow whether it was done. */
enum audit_kind { AUDIT_DECISION = 0, AUDIT_RESULT = 1, AUDIT_HOLD = 2 };

struct audit_status {
	int journal_ok; /* the journal socket accepted the record */
	int file_ok;    /* every file written and fsync'd (1 when none) */
	int have_file;
	const char *failed_file; /* the first file that failed (one of files) */
};

/* Write one record to the journal (if reachable) and to `file` (NULL: no
 * file).  Returns 0 when every configured sink worked; -1 otherwise with
 * err describing the first failure.  st says which sinks worked. */
int audit_record(const struct eval *ev, enum audit_kind kind, const char *file,
                 struct audit_status *st, struct gate_error *err);
/* The same with any number of files (NULL-terminated; NULL: none), each
 * getting the record; file_ok only when all of them took it. */
int audit_record_files(const struct eval *ev, enum audit_kind kind, const char *const *files,
                       struct audit_status *st, struct gate_error *err);

/* Is a journald listening on /run/systemd/journal/socket?  (sd_journal_send
 * returns 0 when no journal exists, so the socket is probed directly.) */
int audit_journal_available(void);

#endif
