/* SPDX-License-Identifier: MIT */
/* The floor bench/profile/run.sh compares gate with: one parallel round of
 * libpq connections in one process.  Every conninfo given is connected at
 * once (non-blocking, libpq's defaults), each gets one query, and the
 * process waits for every answer on one poll() loop.  Exit 0 when every
 * connection and query succeeded.
 *
 *   cc -O2 -o floor floor.c -I$(pg_config --includedir) -lpq
 *   ./floor "host=... port=..." "host=... port=..." ...
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

enum { CONNECTING, QUERYING, DONE, FAILED };

int main(int argc, char **argv)
{
	int n = argc - 1, left = n, failed = 0;
	PGconn **c = calloc((size_t)n + 1, sizeof(*c));
	int *st = calloc((size_t)n + 1, sizeof(*st));
	short *want = calloc((size_t)n + 1, sizeof(*want));
	struct pollfd *p = calloc((size_t)n + 1, sizeof(*p));
	for (int i = 0; i < n; i++) {
		c[i] = PQconnectStart(argv[i + 1]);
		st[i] = c[i] && PQstatus(c[i]) != CONNECTION_BAD ? CONNECTING : FAILED;
		want[i] = POLLOUT;
		if (st[i] == FAILED)
			left--, failed++;
	}
	while (left > 0) {
		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){st[i] < DONE ? PQsocket(c[i]) : -1, want[i], 0};
		if (poll(p, (nfds_t)n, 10000) <= 0)
			return 2;
		for (int i = 0; i < n; i++) {
			if (st[i] >= DONE || !p[i].revents)
				continue;
			if (st[i] == CONNECTING) {
				PostgresPollingStatusType ps = PQconnectPoll(c[i]);
				if (ps == PGRES_POLLING_OK) {
					PQsendQuery(c[i], "SELECT pg_is_in_recovery()");
					st[i] = QUERYING;
					want[i] = POLLIN;
				} else if (ps == PGRES_POLLING_FAILED) {
					st[i] = FAILED;
				} else {
					want[i] = ps == PGRES_POLLING_READING ? POLLIN : POLLOUT;
				}
			} else if (PQconsumeInput(c[i]) && !PQisBusy(c[i])) {
				PGresult *r;
				st[i] = DONE;
				while ((r = PQgetResult(c[i]))) {
					if (PQresultStatus(r) != PGRES_TUPLES_OK)
						st[i] = FAILED;
					PQclear(r);
				}
			} else if (PQstatus(c[i]) == CONNECTION_BAD) {
				st[i] = FAILED;
			}
			if (st[i] >= DONE) {
				left--;
				failed += st[i] == FAILED;
			}
		}
	}
	for (int i = 0; i < n; i++)
		if (c[i])
			PQfinish(c[i]);
	if (failed)
		fprintf(stderr, "floor: %d of %d failed\n", failed, n);
	return failed ? 1 : 0;
}
