/* SPDX-License-Identifier: MIT */
/* Private to the postgres lock kind (holds/lock_postgres.c): its pure
 * parts.  No libpq here: the unit tests (tests/unit/test_hold_postgres.c)
 * and the fuzz target (fuzz/fuzz_hold_postgres.c) call them with answers
 * recorded from a real PostgreSQL 15 (tests/data/recorded/holds/postgres/,
 * tests/tools/record-hold-postgres.sh).
 *
 * The lock: pg_try_advisory_lock(bigint) on the key's id, in the database
 * the conninfo names (advisory locks are per database: doc/facts.md).  The
 * id is the first 8 bytes of SHA-256(key) read big-endian as a signed
 * 64-bit integer: defined by the bytes of the key alone, so every host,
 * every version and every byte order computes the same one, and a person
 * can compute it in SQL too (doc/runbook.md shows how).
 *
 * The holder: the holding session's application_name, "gate: " + the
 * holder text, made to fit the 63 bytes pg_stat_activity keeps. */
#ifndef GATE_HOLDS_LOCK_POSTGRES_JUDGE_H
#define GATE_HOLDS_LOCK_POSTGRES_JUDGE_H

#include <stdint.h>

#include <jansson.h>

#include "gate/hold.h"

/* pg_stat_activity keeps NAMEDATALEN - 1 bytes of an application_name. */
#define PGLOCK_APPNAME_MAX 63
#define PGLOCK_APPNAME_PREFIX "gate: "

/* The advisory lock id of `key` (SHA-256 through OpenSSL's EVP): 0, or -1
 * when the digest could not be computed. */
int pglock_key_id(const char *key, int64_t *id);

/* How pg_locks shows the bigint form of the lock: classid the high 32
 * bits, objid the low 32 bits (objsubid 1). */
void pglock_key_parts(int64_t id, uint32_t *classid, uint32_t *objid);

/* The application_name that says who holds the lock: "gate: RUNBOOK by
 * USER@HOST pid PID since TIME", printable ASCII only (every other
 * character becomes one '?': the server would turn each of its bytes into
 * one), at most PGLOCK_APPNAME_MAX bytes.  When the whole text does not
 * fit it is shortened step by step, keeping its shape so that it reads
 * back: the host to its first label; then TIME in ISO 8601's basic form
 * (20261128T203100Z); then the longest of runbook, user and host loses
 * its last characters, a '~' marking the cut, until it fits.  free() it. */
char *pglock_appname(const struct hold_who *w);

/* Read an application_name written by pglock_appname back: 0 and *w
 * filled (its strings point into *buf, which the caller free()s), or -1
 * when it is not one (another client's, or cut by someone else). */
int pglock_appname_parse(const char *appname, struct hold_who *w, char **buf);

/* The query that reads who holds the lock `id` (other than the session
 * that runs it): one text value, the JSON array pglock_judge_holders
 * reads.  Takes nothing.  free() it. */
char *pglock_holders_sql(int64_t id);

/* The holders query's answer (a JSON array of the granted advisory locks
 * on the key, one object per holding session: pid, mode,
 * application_name, client_addr, client_port, usename, backend_start, as
 * pg_locks and pg_stat_activity show them to this role): HOLD_TAKEN when
 * nobody holds it; HOLD_BUSY with *holder (a gate's holder text, or "an
 * unknown holder (pid N on the server, from ADDR)"); HOLD_ERROR with
 * *message when the answer does not read.  *details gets the rows (or
 * NULL).  Strings are malloc'd. */
enum hold_state pglock_judge_holders(const char *answer, char **holder, char **message,
                                     json_t **details);

#endif
