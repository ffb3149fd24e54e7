/* SPDX-License-Identifier: MIT */
/* Private to the postgres family: the fetches, libpq queries into the
 * facts of postgres_judge.h.  Every query is a read, in a read-only
 * session (lib/pgconn.c), bounded by the connection's deadline.  A fetch
 * that fails stops there: what it has read stays in the facts, with the
 * (redacted) error, for the judge to say so. */
#ifndef GATE_CHECKS_POSTGRES_FETCH_H
#define GATE_CHECKS_POSTGRES_FETCH_H

#include <stdint.h>

#include "lib/pgconn.h"
#include "postgres_judge.h"

/* Connect to conninfo by deadline_ms (pgconn_open); the server, and on
 * failure the error, go into f.  0, or -1; pgconn_close() either way. */
int pg_fetch_connect(struct pgconn *c, const char *conninfo, int64_t deadline_ms,
                     struct pg_fetched *f);

/* One check type's facts over an open connection (f initialised with
 * pg_facts_init). */
void pg_fetch_replication(struct pgconn *c, struct pg_replication_facts *f);
void pg_fetch_replica(struct pgconn *c, struct pg_replica_facts *f);
void pg_fetch_archiver(struct pgconn *c, struct pg_archiver_facts *f);
void pg_fetch_slots(struct pgconn *c, struct pg_slots_facts *f);

/* pg_facts_init, connect, and fetch the facts of type t (one sample for
 * postgres.replication).  The caller closes c and frees pf. */
void pg_fetch(enum pg_type t, struct pgconn *c, const char *conninfo, int64_t deadline_ms,
              struct pg_facts *pf);

#endif
