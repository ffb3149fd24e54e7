/* SPDX-License-Identifier: MIT */
/* Deadline-bounded libpq connections for the postgres checks (pgconn.h). */
#include "lib/pgconn.h"

#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- redaction ---- */

/* Append at most n bytes of s to out (capacity len), keeping it terminated. */
static void put(char *out, size_t len, size_t *o, const char *s, size_t n)
{
	while (n-- && *o + 1 < len)
		out[(*o)++] = *s++;
	out[*o] = '\0';
}

/* Length of a conninfo value starting at s: quoted ('...' with \' escapes)
 * or up to whitespace, '&' (URI query) or a closing quote. */
static size_t value_len(const char *s)
{
	size_t i = 0;
	if (s[0] == '\'') {
		for (i = 1; s[i] && s[i] != '\''; i++)
			if (s[i] == '\\' && s[i + 1])
				i++;
		return s[i] ? i + 1 : i;
	}
	while (s[i] && !isspace((unsigned char)s[i]) && s[i] != '&' && s[i] != '"')
		i++;
	return i;
}

void pgconn_redact(const struct pgconn *c, char *buf, size_t len)
{
	if (!len)
		return;
	char *tmp = xmalloc(len);
	size_t o = 0;
	tmp[0] = '\0';
	const char *p = buf;
	const char *secret = c ? c->secret : NULL;
	size_t slen = secret ? strlen(secret) : 0;
	while (*p) {
		/* the literal password in use (short ones would mangle text) */
		if (slen >= 3 && !strncmp(p, secret, slen)) {
			put(tmp, len, &o, "***", 3);
			p += slen;
			continue;
		}
		/* password = value */
		if (!strncasecmp(p, "password", 8)) {
			const char *q = p + 8;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '=') {
				q++;
				while (*q == ' ' || *q == '\t')
					q++;
				put(tmp, len, &o, p, (size_t)(q - p));
				put(tmp, len, &o, "***", 3);
				p = q + value_len(q);
				continue;
			}
		}
		/* scheme://user:SECRET@host */
		if (!strncmp(p, "://", 3)) {
			const char *u = p + 3;
			size_t ulen = strcspn(u, "/?# \t\n\"'");
			const char *at = memchr(u, '@', ulen);
			const char *colon = at ? memchr(u, ':', (size_t)(at - u)) : NULL;
			if (colon) {
				put(tmp, len, &o, p, (size_t)(colon + 1 - p));
				put(tmp, len, &o, "***", 3);
				p = at;
				continue;
			}
		}
		put(tmp, len, &o, p, 1);
		p++;
	}
	memcpy(buf, tmp, o + 1);
	free(tmp);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
set_err(struct pgconn *c, const char *fmt, ...)
{
	if (c->err[0])
		return; /* the first cause wins */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	pgconn_redact(c, c->err, sizeof(c->err));
}

/* libpq's message, first line only, without "connection to server at
 * ... failed: " and "FATAL:  " (the summary says where already). */
static void tidy_libpq_message(const char *msg, char *out, size_t len)
{
	const char *s = msg ? msg : "";
	const char *f;
	if (!strncmp(s, "connection to server", 20) && (f = strstr(s, "failed: ")))
		s = f + 8;
	while (isspace((unsigned char)*s))
		s++;
	static const char *const levels[] = {"FATAL:", "ERROR:", "PANIC:"};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strncmp(s, levels[i], strlen(levels[i]))) {
			s += strlen(levels[i]);
			while (*s == ' ')
				s++;
		}
	size_t n = strcspn(s, "\n");
	if (n == 0) {
		s = "unknown libpq error";
		n = strlen(s);
	}
	snprintf(out, len, "%.*s", (int)n, s);
	/* "Connection refused" -> "connection refused", but keep "SSL" */
	if (out[0] && isupper((unsigned char)out[0]) && islower((unsigned char)out[1]))
		out[0] = (char)tolower((unsigned char)out[0]);
}

static void update_where(struct pgconn *c)
{
	const char *h = c->conn ? PQhost(c->conn) : NULL;
	const char *p = c->conn ? PQport(c->conn) : NULL;
	if (h && *h)
		snprintf(c->where, sizeof(c->where), "%s:%s", h, p && *p ? p : "5432");
}

/* ---- conninfo ---- */

int pgconn_check_conninfo(const char *conninfo, char *msg, size_t len)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &errmsg);
	if (opts) {
		PQconninfoFree(opts);
		return 0;
	}
	char tidy[256];
	tidy_libpq_message(errmsg ? errmsg : "out of memory", tidy, sizeof(tidy));
	PQfreemem(errmsg);
	/* libpq quotes pieces of the string ('missing "=" after "..."'); a
	 * password with a space in it would show up there: drop every quote. */
	char out[256];
	size_t o = 0;
	int inq = 0;
	for (const char *p = tidy; *p && o + 4 < sizeof(out); p++) {
		if (*p == '"' && !inq && !strncmp(p, "\"=\"", 3)) {
			/* the only fragment worth keeping: 'missing "=" after' */
			memcpy(out + o, p, 3);
			o += 3;
			p += 2;
			continue;
		}
		if (*p == '"') {
			inq = !inq;
			if (inq) {
				memcpy(out + o, "\"…\"", strlen("\"…\""));
				o += strlen("\"…\"");
			}
			continue;
		}
		if (!inq)
			out[o++] = *p;
	}
	out[o] = '\0';
	snprintf(msg, len, "not a valid libpq conninfo: %s", out);
	return -1;
}

/* connect_timeout from the conninfo (or PGCONNECT_TIMEOUT), in ms; 0: none.
 * libpq treats 1 as 2 seconds; so do we. */
static int64_t conninfo_connect_timeout(const char *conninfo, char **password)
{
	const char *v = NULL;
	char *errmsg = NULL;
	int64_t ms = 0;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
	PQfreemem(errmsg);
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (!strcmp(o->keyword, "connect_timeout") && o->val)
			v = o->val;
		if (!strcmp(o->keyword, "password") && o->val && *o->val)
			*password = xstrdup(o->val);
	}
	if (!v)
		v = getenv("PGCONNECT_TIMEOUT");
	if (v) {
		long s = strtol(v, NULL, 10);
		/* Capped (a year) before it is multiplied: the value is the
		 * conninfo's, and only matters when shorter than the check's
		 * own deadline anyway. */
		if (s > 365L * 86400)
			s = 365L * 86400;
		if (s > 0)
			ms = (s < 2 ? 2 : s) * 1000;
	}
	PQconninfoFree(opts);
	return ms;
}

/* ---- waiting ---- */

/* Wait for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - gate_mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = {fd, events, 0};
		int r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* Drive PQconnectPoll until connected or connect_deadline: 0, or -1
 * with c->err saying what failed or timed out. */
static int connect_poll(struct pgconn *c, int64_t connect_deadline)
{
	char msg[256];
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED) {
			update_where(c);
			tidy_libpq_message(PQerrorMessage(c->conn), msg, sizeof(msg));
			set_err(c, "%s: %s", c->where, msg);
			return -1;
		}
		int r = wait_fd(PQsocket(c->conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
		                connect_deadline);
		if (r <= 0) {
			int err = errno;
			char el[32];
			update_where(c);
			fmt_duration_approx(gate_mono_ms() - c->started_ms, el, sizeof(el));
			if (r < 0)
				set_err(c, "%s: poll failed: %s", c->where, strerror(err));
			else if (PQstatus(c->conn) == CONNECTION_STARTED)
				set_err(c, "%s: could not connect within %s", c->where, el);
			else
				set_err(c, "%s: no answer within %s", c->where, el);
			return -1;
		}
		st = PQconnectPoll(c->conn);
	}
	return 0;
}

/* Connect and make the connection non-blocking: 0, or -1 with c->err. */
static int connect_only(struct pgconn *c, const char *conninfo, int64_t deadline_ms)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->where, sizeof(c->where), "postgres");
	c->deadline_ms = deadline_ms;
	c->started_ms = gate_mono_ms();

	char msg[256];
	if (pgconn_check_conninfo(conninfo, msg, sizeof(msg)) < 0) {
		set_err(c, "%s", msg);
		return -1;
	}
	int64_t ct = conninfo_connect_timeout(conninfo, &c->secret);
	int64_t connect_deadline = deadline_ms;
	if (ct > 0 && c->started_ms + ct < connect_deadline)
		connect_deadline = c->started_ms + ct;

	/* The conninfo is expanded from dbname; gate only names itself when
	 * the conninfo does not set application_name. */
	const char *const kw[] = {"dbname", "fallback_application_name", NULL};
	const char *const vals[] = {conninfo, "gate", NULL};
	c->conn = PQconnectStartParams(kw, vals, 1);
	if (!c->conn) {
		set_err(c, "out of memory");
		return -1;
	}
	update_where(c);
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		tidy_libpq_message(PQerrorMessage(c->conn), msg, sizeof(msg));
		set_err(c, "%s: %s", c->where, msg);
		return -1;
	}
	if (connect_poll(c, connect_deadline) < 0)
		return -1;
	update_where(c);
	const char *pw = PQpass(c->conn);
	if (pw && *pw && !c->secret)
		c->secret = xstrdup(pw);
	if (PQsetnonblocking(c->conn, 1) != 0) {
		tidy_libpq_message(PQerrorMessage(c->conn), msg, sizeof(msg));
		set_err(c, "%s: %s", c->where, msg);
		return -1;
	}
	return 0;
}

/* The session's set-up.  Reads only: make the session read-only.  And let
 * the server give up on a statement just after our own deadline: we stop
 * waiting first (our message says what hung), nothing lingers on the
 * server.  Sent in one message with the first query (same_tx), it shares
 * that query's transaction, which default_transaction_read_only no longer
 * reaches: transaction_read_only makes that one read-only as well. */
static void setup_sql(const struct pgconn *c, int same_tx, char *sql, size_t len)
{
	int64_t left = c->deadline_ms - gate_mono_ms();
	snprintf(sql, len,
	         "SELECT set_config('default_transaction_read_only', 'on', false), %s"
	         "set_config('statement_timeout', '%lld', false)",
	         same_tx ? "set_config('transaction_read_only', 'on', true), " : "",
	         (long long)(left > 1 ? left + 500 : 1));
}

int pgconn_open(struct pgconn *c, const char *conninfo, int64_t deadline_ms)
{
	if (connect_only(c, conninfo, deadline_ms) < 0)
		return -1;
	char sql[200];
	setup_sql(c, 0, sql, sizeof(sql));
	PGresult *res = pgconn_query(c, sql);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

int pgconn_connect(struct pgconn *c, const char *conninfo, int64_t deadline_ms)
{
	if (connect_only(c, conninfo, deadline_ms) < 0)
		return -1;
	c->setup_pending = 1;
	return 0;
}

/* The results of one message, in statement order, up to the first failure. */
struct results {
	PGresult **r;
	int n;
};

static void results_free(struct results *rs, int from)
{
	for (int i = from; i < rs->n; i++)
		PQclear(rs->r[i]);
	free(rs->r);
	rs->r = NULL;
	rs->n = 0;
}

/* A failed statement (or none at all): its message and SQLSTATE into c. */
static void query_failed(struct pgconn *c, PGresult *failed)
{
	char msg[256];
	const char *state = failed ? PQresultErrorField(failed, PG_DIAG_SQLSTATE) : NULL;
	const char *prim = failed ? PQresultErrorField(failed, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "");
	if (prim)
		snprintf(msg, sizeof(msg), "%s", prim);
	else
		tidy_libpq_message(PQerrorMessage(c->conn), msg, sizeof(msg));
	set_err(c, "%s: %s", c->where, msg);
}

/* PQsendQuery of sql, behind the pending set-up if any: 1 sent, 0 not. */
static int send_query(struct pgconn *c, const char *sql)
{
	if (!c->setup_pending)
		return PQsendQuery(c->conn, sql);
	char setup[200];
	setup_sql(c, 1, setup, sizeof(setup));
	size_t len = strlen(setup) + strlen(sql) + 3;
	char *text = xmalloc(len);
	snprintf(text, len, "%s; %s", setup, sql);
	int sent = PQsendQuery(c->conn, text);
	free(text);
	return sent;
}

/* Send what PQsendQuery queued: 1, 0 timed out, -1 broken. */
static int flush(struct pgconn *c)
{
	int f, w;
	while ((f = PQflush(c->conn)) == 1) {
		if ((w = wait_fd(PQsocket(c->conn), POLLOUT | POLLIN, c->deadline_ms)) <= 0)
			return w;
		if (!PQconsumeInput(c->conn))
			return -1;
	}
	return f < 0 ? -1 : 1;
}

/* Send sql (behind the pending set-up, whose result is dropped) and
 * collect its statements' results into rs: 0, or -1 with c->err set (rs
 * then holds those that succeeded before the failure). */
static int exchange(struct pgconn *c, const char *sql, struct results *rs)
{
	char msg[256];
	c->sqlstate[0] = '\0';
	c->err[0] = '\0'; /* each query is its own operation */
	c->started_ms = gate_mono_ms();
	rs->r = NULL;
	rs->n = 0;
	int skip = c->setup_pending;
	if (!send_query(c, sql)) {
		tidy_libpq_message(PQerrorMessage(c->conn), msg, sizeof(msg));
		set_err(c, "%s: %s", c->where, msg);
		return -1;
	}
	int w = flush(c);
	if (w == 0)
		goto timeout;
	if (w < 0)
		goto broken;
	PGresult *failed = NULL;
	for (;;) {
		while (PQisBusy(c->conn)) {
			w = wait_fd(PQsocket(c->conn), POLLIN, c->deadline_ms);
			if (w <= 0 || !PQconsumeInput(c->conn)) {
				PQclear(failed);
				if (w == 0)
					goto timeout;
				goto broken;
			}
		}
		PGresult *res = PQgetResult(c->conn);
		if (!res)
			break;
		ExecStatusType st = PQresultStatus(res);
		if ((st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) && !failed) {
			if (skip) {
				skip = 0;
				c->setup_pending = 0;
				PQclear(res);
			} else {
				rs->r = xrealloc(rs->r, (size_t)(rs->n + 1) * sizeof(*rs->r));
				rs->r[rs->n++] = res;
			}
		} else if (!failed && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
			failed = res;
		} else {
			PQclear(res);
		}
		if (PQstatus(c->conn) == CONNECTION_BAD)
			break;
	}
	if (failed || skip || !rs->n) {
		query_failed(c, failed);
		PQclear(failed);
		return -1;
	}
	return 0;

broken:
	/* the connection itself failed (server gone, socket error) */
	tidy_libpq_message(PQerrorMessage(c->conn), msg, sizeof(msg));
	set_err(c, "%s: %s", c->where, msg);
	return -1;

timeout:;
	char el[32];
	fmt_duration_approx(gate_mono_ms() - c->started_ms, el, sizeof(el));
	set_err(c, "%s: no answer to a query within %s", c->where, el);
	return -1;
}

int pgconn_query_n(struct pgconn *c, const char *sql, PGresult **res, int n)
{
	struct results rs;
	int rc = exchange(c, sql, &rs);
	int k = rs.n < n ? rs.n : n;
	for (int i = 0; i < k; i++)
		res[i] = rs.r[i];
	for (int i = k; i < n; i++)
		res[i] = NULL;
	if (rc == 0 && rs.n != n)
		set_err(c, "%s: %d results where %d were expected", c->where, rs.n, n);
	results_free(&rs, k);
	return k;
}

PGresult *pgconn_query(struct pgconn *c, const char *sql)
{
	struct results rs;
	if (exchange(c, sql, &rs) < 0) {
		results_free(&rs, 0);
		return NULL;
	}
	/* the last statement's result, as a multi-statement string gives */
	PGresult *keep = rs.r[rs.n - 1];
	rs.n--;
	results_free(&rs, 0);
	return keep;
}

void pgconn_close(struct pgconn *c)
{
	if (c->conn)
		PQfinish(c->conn);
	c->conn = NULL;
	if (c->secret) {
		/* do not leave the password lying in the heap */
		memset(c->secret, 0, strlen(c->secret));
		free(c->secret);
	}
	c->secret = NULL;
}

const char *pgconn_val(const PGresult *r, int row, int col)
{
	if (!r || row >= PQntuples(r) || col >= PQnfields(r) || PQgetisnull(r, row, col))
		return NULL;
	return PQgetvalue(r, row, col);
}
