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
 *   gate-pglock bench CONNINFO KEY RUNS take and release the lock RUNS
 *                                       times through the kind itself,
 *                                       then probe it RUNS times; one line
 *                                       per step: "take|release|probe MS"
 *
 * Exit: 0 printed, 2 the query failed (its redacted error on stderr), 64
 * usage. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "holds/builtin.h"
#include "kit/clock.h"
#include "lib/pgconn.h"
#include "lock_postgres_judge.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static int bench(const char *conninfo, const char *key, long runs)
{
	json_t *params = json_pack("{s:s, s:s}", "postgres", conninfo, "key", key);
	struct hold_who who = {"bench", "bench", "localhost", 1, gate_now_ms()};
	const struct lock_kind *k = &hold_lock_postgres;
	int rc = 0;
	for (long i = 0; i < runs && !rc; i++) {
		struct hold_result r = {0};
		void *h = NULL;
		char msg[512];
		double t0 = now_ms();
		k->take(params, &who, gate_mono_ms() + 10000, &h, &r);
		double t1 = now_ms();
		rc = r.state != HOLD_TAKEN || k->release(h, msg, sizeof(msg)) < 0;
		printf("take %.2f\nrelease %.2f\n", t1 - t0, now_ms() - t1);
		hold_result_release(&r);
	}
	for (long i = 0; i < runs && !rc; i++) {
		struct hold_result r = {0};
		double t0 = now_ms();
		k->probe(params, gate_mono_ms() + 10000, &r);
		printf("probe %.2f\n", now_ms() - t0);
		rc = r.state != HOLD_TAKEN;
		hold_result_release(&r);
	}
	json_decref(params);
	return rc ? 2 : 0;
}

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
	if (argc == 5 && !strcmp(argv[1], "bench"))
		return bench(argv[2], argv[3], atol(argv[4]));
	fprintf(stderr, "usage: gate-pglock id KEY | appname RUNBOOK USER HOST PID SINCE_MS | "
	                "holders CONNINFO KEY | bench CONNINFO KEY RUNS\n");
	return 64;
}
