/* SPDX-License-Identifier: MIT */
/* The postgres lock kind's pure parts and its holders query, from the
 * command line (holds/lock_postgres_judge.h), for the scenario tests and
 * tests/tools/record-hold-postgres.sh:
 *
 *   gate-pglock id KEY                  the advisory lock id of KEY
 *   gate-pglock appname RUNBOOK USER HOST PID SINCE_MS
 *                                       the application_name a holder gets
 *   gate-pglock holders CONNINFO KEY    the holders query's answer, byte
 *                                       for byte (what the judge reads)
 *
 * Exit: 0 printed, 2 the query failed (its redacted error on stderr), 64
 * usage. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/clock.h"
#include "lib/pgconn.h"
#include "lock_postgres_judge.h"

static int holders(const char *conninfo, const char *key)
{
	int64_t id;
	struct pgconn c;
	if (pglock_key_id(key, &id) < 0)
		return 2;
	PGresult *r = NULL;
	if (pgconn_open(&c, conninfo, gate_mono_ms() + 10000) == 0) {
		char *sql = pglock_holders_sql(id);
		r = pgconn_query(&c, sql);
		free(sql);
	}
	const char *v = pgconn_val(r, 0, 0);
	if (v)
		printf("%s\n", v);
	else
		fprintf(stderr, "gate-pglock: %s\n", c.err);
	PQclear(r);
	pgconn_close(&c);
	return v ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "id")) {
		int64_t id;
		if (pglock_key_id(argv[2], &id) < 0)
			return 2;
		printf("%" PRId64 "\n", id);
		return 0;
	}
	if (argc == 7 && !strcmp(argv[1], "appname")) {
		struct hold_who w = {argv[2], argv[3], argv[4], atol(argv[5]), atoll(argv[6])};
		char *s = pglock_appname(&w);
		printf("%s\n", s);
		free(s);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "holders"))
		return holders(argv[2], argv[3]);
	fprintf(stderr, "usage: gate-pglock id KEY | appname RUNBOOK USER HOST PID SINCE_MS | "
	                "holders CONNINFO KEY\n");
	return 64;
}
