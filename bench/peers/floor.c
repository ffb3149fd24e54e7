/* SPDX-License-Identifier: MIT */
/* The floor of bench/peers: the least one process can do to make
 * bench/peers' PostgreSQL judgements.  Every connection is started at
 * once (PQconnectStart) and driven on one poll() loop (PQconnectPoll);
 * each server gets one query (one round trip) as soon as it is connected;
 * the answers are judged with the runbook's bounds.  No pgBackRest, no
 * HTTP: the floor of the PostgreSQL part only.
 *
 *   floor PRIMARY-CONNINFO [REPLICA-CONNINFO...]
 *
 * Exit 0 when every judgement passes, 1 when one fails, 2 on an error.
 * Built by bench/peers/run.sh with cc and pkg-config (libpq). */
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char primary_sql[] =
	"SELECT current_setting('archive_mode'),"
	" coalesce(a.last_failed_time > coalesce(a.last_archived_time, '-infinity'), false),"
	" (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready')"
	" FROM pg_stat_archiver AS a";

static const char replica_sql[] =
	"SELECT pg_is_in_recovery(), coalesce(w.status, 'none'),"
	" extract(epoch FROM now() - w.last_msg_receipt_time)::float8,"
	" pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint"
	" FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS w ON true";

enum state { CONNECTING, QUERYING, DONE };

struct server {
	PGconn *conn;
	enum state state;
	PostgresPollingStatusType poll;
	int primary;
	int verdict; /* 0 pass, 1 fail, 2 error */
};

static int judge(struct server *s, PGresult *r)
{
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return 2;
	const char *a = PQgetvalue(r, 0, 0), *b = PQgetvalue(r, 0, 1), *c = PQgetvalue(r, 0, 2);
	if (s->primary)
		return !(strcmp(a, "on") == 0 || strcmp(a, "always") == 0) || strcmp(b, "f") != 0 ||
		       atol(c) >= 10;
	if (strcmp(a, "t") != 0 || strcmp(b, "streaming") != 0 || PQgetisnull(r, 0, 2) ||
	    PQgetisnull(r, 0, 3))
		return 1;
	return atof(c) >= 60.0 || atoll(PQgetvalue(r, 0, 3)) >= 16LL * 1024 * 1024;
}

/* Advance S after its socket was ready; returns 1 when it is done. */
static int step(struct server *s)
{
	if (s->state == CONNECTING) {
		s->poll = PQconnectPoll(s->conn);
		if (s->poll == PGRES_POLLING_FAILED) {
			s->verdict = 2;
			return 1;
		}
		if (s->poll != PGRES_POLLING_OK)
			return 0;
		if (!PQsendQuery(s->conn, s->primary ? primary_sql : replica_sql)) {
			s->verdict = 2;
			return 1;
		}
		s->state = QUERYING;
		return 0;
	}
	if (!PQconsumeInput(s->conn)) {
		s->verdict = 2;
		return 1;
	}
	while (!PQisBusy(s->conn)) {
		PGresult *r = PQgetResult(s->conn);
		if (!r)
			return 1;
		s->verdict = s->verdict ? s->verdict : judge(s, r);
		PQclear(r);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc - 1, left = n, worst = 0;
	if (n < 1) {
		fprintf(stderr, "usage: floor PRIMARY-CONNINFO [REPLICA-CONNINFO...]\n");
		return 2;
	}
	struct server *s = calloc((size_t)n, sizeof(*s));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	if (!s || !p)
		return 2;
	for (int i = 0; i < n; i++) {
		s[i].primary = i == 0;
		s[i].conn = PQconnectStart(argv[i + 1]);
		s[i].poll = PGRES_POLLING_WRITING;
		if (!s[i].conn || PQstatus(s[i].conn) == CONNECTION_BAD) {
			s[i].state = DONE;
			s[i].verdict = 2;
			left--;
		}
	}
	while (left > 0) {
		for (int i = 0; i < n; i++) {
			p[i].fd = s[i].state == DONE ? -1 : PQsocket(s[i].conn);
			p[i].events = s[i].state == CONNECTING && s[i].poll == PGRES_POLLING_WRITING
			                      ? POLLOUT
			                      : POLLIN;
			p[i].revents = 0;
		}
		if (poll(p, (nfds_t)n, 10000) <= 0)
			return 2; /* a server that does not answer in 10 s */
		for (int i = 0; i < n; i++)
			if (p[i].revents && s[i].state != DONE && step(&s[i])) {
				s[i].state = DONE;
				left--;
			}
	}
	for (int i = 0; i < n; i++) {
		if (s[i].verdict > worst)
			worst = s[i].verdict;
		if (s[i].verdict)
			fprintf(stderr, "%s: %s\n", i ? "replica" : "primary",
			        s[i].verdict == 2 ? PQerrorMessage(s[i].conn) : "fails");
		PQfinish(s[i].conn);
	}
	free(s);
	free(p);
	return worst;
}
