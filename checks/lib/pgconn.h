/* SPDX-License-Identifier: MIT */
/* A libpq connection that never outlives its deadline.
 *
 * The postgres checks run in a child of the core, which kills the child at
 * env->deadline_ms.  Being killed gives only "timeout"; these helpers bound
 * every wait themselves (non-blocking connect with PQconnectStart/Poll and
 * poll(), queries with PQsendQuery and poll()) so that a server that
 * accepts the TCP connection and never answers becomes an error that says
 * what timed out, before the core's deadline.
 *
 * Every message kept in `err` has the conninfo's password (and any
 * `password=` / URI userinfo password) replaced by "***".  The session is
 * made read-only (default_transaction_read_only) right after connecting.
 *
 * One wait is not bounded here: libpq resolves host names with a blocking
 * getaddrinfo() inside PQconnectStart/Poll.  The core's deadline still ends
 * the child then (the report says "timeout"); hostaddr= avoids it. */
#ifndef GATE_CHECKS_PGCONN_H
#define GATE_CHECKS_PGCONN_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#define PGCONN_ERR_MAX 400

struct pgconn {
	PGconn *conn;
	int64_t deadline_ms;      /* gate_mono_ms() time: no wait goes past it */
	int64_t started_ms;       /* when the current wait began, for messages */
	char where[128];          /* "127.0.0.1:5432" (or the socket dir), for messages */
	char *secret;             /* the password in use, stripped from messages */
	char sqlstate[6];         /* of the last failed query, "" if none */
	int setup_pending;        /* pgconn_connect: the set-up rides on the next query */
	char err[PGCONN_ERR_MAX]; /* the first error, redacted, no trailing newline */
};

/* Is `conninfo` something libpq can parse (key=value, URI, service=)?
 * Never contacts a server.  0 if so; else -1 with a message that quotes
 * no part of the string (a malformed conninfo may split a password). */
int pgconn_check_conninfo(const char *conninfo, char *msg, size_t len);

/* Connect, bounded by `deadline_ms` (and by a connect_timeout given in the
 * conninfo, if shorter).  0 on success; -1 with c->err set.  Call
 * pgconn_close() in both cases. */
int pgconn_open(struct pgconn *c, const char *conninfo, int64_t deadline_ms);

/* pgconn_open without its own round trip: connect only, and send the
 * session's set-up (read-only, statement_timeout) ahead of the first
 * query, in the same message (pgconn_query_n).  That first transaction is
 * made read-only too (transaction_read_only), not only the later ones. */
int pgconn_connect(struct pgconn *c, const char *conninfo, int64_t deadline_ms);

/* Run sql, one or more read-only statements (';'-separated, one message,
 * one round trip), bounded by the deadline.  The statements' results, in
 * order, go into res[0..n-1] (the caller PQclear()s them); returns how many
 * succeeded before the first that failed (or before the n-th).  c->err
 * (and c->sqlstate) are set iff fewer than n came back. */
int pgconn_query_n(struct pgconn *c, const char *sql, PGresult **res, int n);

/* Run one read-only statement, bounded by the deadline.  Returns a result
 * with status PGRES_TUPLES_OK or PGRES_COMMAND_OK (the caller PQclear()s
 * it), or NULL with c->err and c->sqlstate set. */
PGresult *pgconn_query(struct pgconn *c, const char *sql);

void pgconn_close(struct pgconn *c);

/* Replace secrets in buf (NUL-terminated, at most len bytes) in place:
 * the connection's password and `password=...` / `://user:pw@` forms. */
void pgconn_redact(const struct pgconn *c, char *buf, size_t len);

/* A value of a result, or NULL when SQL NULL. */
const char *pgconn_val(const PGresult *r, int row, int col);

#endif
