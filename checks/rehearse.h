/* SPDX-License-Identifier: MIT */
/* Private interface of the restore rehearsal family (checks/rehearse*.c):
 * pgbackrest.restore (rehearse_pgbackrest.c), and what every rehearsal
 * type shares: the parameters a scratch server takes, the
 * details.rehearsal object (doc/report.md) and the steps around the
 * scratch server (checks/lib/pgscratch.h).  A type's file exports its
 * parameter table, validate and run; checks/rehearse.c lists them. */
#ifndef GATE_CHECKS_REHEARSE_H
#define GATE_CHECKS_REHEARSE_H

#include <stddef.h>
#include <stdint.h>

#include "gate/module.h"
#include "lib/pgscratch.h"

/* The parameters every rehearsal type takes: the last rows of its table
 * (before the terminating entry). */
/* clang-format off */
#define RH_SCRATCH_PARAMS                                                      \
	{"probes", GATE_P_JSON, 0, NULL, NULL, RH_DOC_PROBES},                 \
	{"scratch_dir", GATE_P_STRING, 0, "/var/tmp", NULL, RH_DOC_SCRATCH_DIR}, \
	{"user", GATE_P_STRING, 0, "postgres", NULL, RH_DOC_USER},             \
	{"pg_bindir", GATE_P_STRING, 0, NULL, NULL, RH_DOC_PG_BINDIR}
/* clang-format on */
#define RH_DOC_PROBES                                                                       \
	"SQL probes run on the restored copy: a list of {sql, name, database, min, max, "   \
	"equals}; the first column of the first row is compared (min/max as a number, "     \
	"equals as JSON: true matches t, null matches NULL). A probe that errors, returns " \
	"no row or misses its expectation fails the rehearsal, naming it."
#define RH_DOC_SCRATCH_DIR                                                             \
	"Where the scratch directory (gate-rehearsal-XXXXXX, 0700, owned by user) is " \
	"made; every directory above it must be searchable by user. Its filesystem "   \
	"must hold the restore plus 10% (at least 64 MiB)."
#define RH_DOC_USER                                                           \
	"The unprivileged user the restore, the server and its tools run as " \
	"(PostgreSQL refuses root); gate must run as root or as this user."
#define RH_DOC_PG_BINDIR                                                         \
	"PostgreSQL's bin directory; default /usr/lib/postgresql/N/bin for the " \
	"restored data directory's PG_VERSION (else the newest installed)."

/* Cross-parameter rules of the shared parameters (probes' shape;
 * scratch_dir, user and pg_bindir not empty; scratch_dir and pg_bindir
 * absolute), for a type's validate(). */
int rh_validate_scratch(const json_t *params, const char **param, char *msg, size_t msglen);
/* The string parameters names[0..n) given are not empty; -1 with *param
 * and msg at the first that is. */
int rh_validate_nonempty(const json_t *params, const char *const *names, size_t n,
                         const char **param, char *msg, size_t msglen);

/* One rehearsal in progress: details.rehearsal and its clock. */
struct rh {
	json_t *rehearsal; /* details.rehearsal (owned by details) */
	json_t *phases;    /* its phases_ms */
	int64_t t0;        /* gate_mono_ms() at rh_begin */
	struct pgscratch s;
	int created; /* s was made */
};

/* Put details.rehearsal = {backup: null, probes: [], phases_ms: {...all
 * null}, scratch_dir: null} into res->details. */
void rh_begin(struct rh *r, struct gate_result *res);
/* details.rehearsal.backup = identity (stolen): as soon as it is known,
 * before restoring, so a later failure is recorded against it. */
void rh_set_backup(struct rh *r, json_t *identity);
/* phases_ms[name] = ms */
void rh_phase(struct rh *r, const char *name, int64_t ms);
/* pgscratch_create with the shared parameters (scratch_dir, user,
 * pg_bindir) and the check's deadline; sets details' scratch_dir.  0, or
 * -1 with res set to error. */
int rh_create(struct rh *r, const json_t *params, const struct gate_run_env *env,
              uint64_t need_bytes, struct gate_result *res);
/* pgscratch_start (phases start, consistent); -1 with res set to fail:
 * "WHAT did not reach a consistent state: FATAL: ..." (what: "backup
 * 20261128-101010F"), or error when the deadline passed. */
int rh_start(struct rh *r, const char *what, const char *const *extra, struct gate_result *res);
/* pgscratch_wait_promoted (phase promote); -1 with res set. */
int rh_promoted(struct rh *r, const char *what, struct gate_result *res);
/* The probes (phase probes, details.rehearsal.probes), against
 * default_db when a probe names none (NULL: postgres).  The number that
 * passed in *passed; -1 with res set to fail when one did not. */
int rh_probes(struct rh *r, const json_t *params, const char *default_db, size_t *passed,
              struct gate_result *res);
/* res = pass: "WHAT restored in 12.3 s; 2 probes passed" (the time
 * since rh_begin). */
void rh_pass(struct rh *r, const char *what, size_t passed, struct gate_result *res);
/* pgscratch_destroy (phases stop, cleanup).  Always call, also after a
 * failure. */
void rh_end(struct rh *r);
/* Milliseconds since rh_begin. */
int64_t rh_elapsed_ms(const struct rh *r);

/* ---- the types ---- */

extern const struct gate_param rh_pgbackrest_params[];
int rh_pgbackrest_validate(const json_t *params, const char **param, char *msg, size_t msglen);
void rh_pgbackrest_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res);

/* basebackup.restore (rehearse_basebackup.c) */
extern const struct gate_param rh_basebackup_params[];
int rh_basebackup_validate(const json_t *params, const char **param, char *msg, size_t msglen);
void rh_basebackup_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res);

/* dump.restore (rehearse_dump.c) */
extern const struct gate_param rh_dump_params[];
int rh_dump_validate(const json_t *params, const char **param, char *msg, size_t msglen);
void rh_dump_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res);

#endif
