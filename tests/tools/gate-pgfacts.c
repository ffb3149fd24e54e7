/* SPDX-License-Identifier: MIT */
/* Record what a postgres check type fetches: connect, run the check's own
 * fetch (checks/postgres_fetch.c) once, and print its facts as JSON, the
 * form tests/data/recorded/postgres/ keeps and the judge's unit tests and
 * fuzz target read (tests/tools/record-postgres.sh).
 *
 *   gate-pgfacts TYPE CONNINFO [TIMEOUT_MS]
 *
 * TYPE is postgres.replication, postgres.replica, postgres.archiver or
 * postgres.slots.  Exit: 0 facts printed (a failed fetch is facts too,
 * with its error), 64 usage.
 *
 *   gate-pgfacts sql CONNINFO SQL N
 *
 * sends SQL the way the fetches do (lib/pgconn.h: pgconn_connect, the
 * session's set-up in the same message, pgconn_query_n expecting N
 * results) and prints how many came back, then the error: what t1040
 * shows the first transaction's read-only guard with.  Exit 0 when all N
 * came back, 2 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/postgres_fetch.h"
#include "kit/clock.h"

static int sql(const char *conninfo, const char *text, int n)
{
	struct pgconn c;
	int k = -1;
	if (n < 1 || n > 16)
		return 64;
	PGresult *r[16];
	if (pgconn_connect(&c, conninfo, gate_mono_ms() + 10000) == 0) {
		k = pgconn_query_n(&c, text, r, n);
		for (int i = 0; i < k; i++)
			PQclear(r[i]);
	}
	printf("%d results\n%s\n", k < 0 ? 0 : k, c.err);
	pgconn_close(&c);
	return k == n ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "sql"))
		return sql(argv[2], argv[3], atoi(argv[4]));
	int t = -1;
	for (int i = 0; argc >= 3 && i < 4; i++)
		if (!strcmp(argv[1], pg_type_name((enum pg_type)i)))
			t = i;
	if (t < 0) {
		fprintf(stderr, "usage: gate-pgfacts postgres.{replication,replica,archiver,slots} "
		                "CONNINFO [TIMEOUT_MS]\n");
		return 64;
	}
	long long timeout = argc > 3 ? atoll(argv[3]) : 10000;
	struct pgconn c;
	struct pg_facts pf;
	pg_fetch((enum pg_type)t, &c, argv[2], gate_mono_ms() + timeout, &pf);
	pgconn_close(&c);
	json_t *doc = pg_facts_to_json(&pf);
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	printf("%s\n", text);
	free(text);
	json_decref(doc);
	pg_facts_free(&pf);
	return 0;
}
