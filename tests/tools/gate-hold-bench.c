/* SPDX-License-Identifier: MIT */
/* Benchmark aid (bench/holds/): take and release one lock kind N times in
 * one process, and print the time of each take and release and their
 * medians, in microseconds, as JSON on stdout.
 *
 *   gate-hold-bench KIND 'PARAMS-JSON' N
 *
 * PARAMS-JSON as tests/tools/gate-hold takes it (normalised, no
 * defaults).  Exit 0, or 1 when a take or a release failed (its message on
 * stderr), 64 on a usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gate/hold.h"
#include "holds/builtin.h"
#include "kit/alloc.h"
#include "kit/clock.h"

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int64_t median(int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static json_t *series(const int64_t *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

int main(int argc, char **argv)
{
	if (argc != 4 || atoi(argv[3]) < 1) {
		fprintf(stderr, "usage: gate-hold-bench KIND PARAMS-JSON N\n");
		return 64;
	}
	const struct lock_kind *k = NULL;
	for (size_t i = 0; gate_lock_kinds[i] && !k; i++)
		if (!strcmp(gate_lock_kinds[i]->name, argv[1]))
			k = gate_lock_kinds[i];
	json_t *params = json_loads(argv[2], 0, NULL);
	if (!k || !json_is_object(params)) {
		fprintf(stderr, "gate-hold-bench: unknown kind or bad JSON\n");
		return 64;
	}
	int n = atoi(argv[3]);
	int64_t *take = xcalloc((size_t)n, sizeof(*take)), *rel = xcalloc((size_t)n, sizeof(*rel));
	char host[256] = "?";
	gethostname(host, sizeof(host) - 1);
	struct hold_who who = {"gate-hold-bench", "bench", host, (long)getpid(), gate_now_ms()};
	int rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		struct hold_result r = {0};
		void *h = NULL;
		char msg[512] = "";
		int64_t t0 = now_us();
		k->take(params, &who, gate_mono_ms() + 30000, &h, &r);
		int64_t t1 = now_us();
		if (r.state != HOLD_TAKEN) {
			fprintf(stderr, "take: %s\n",
			        r.message  ? r.message
			        : r.holder ? r.holder
			                   : "?");
			rc = 1;
		} else if (k->release(h, msg, sizeof(msg)) < 0) {
			fprintf(stderr, "release: %s\n", msg);
			rc = 1;
		}
		take[i] = t1 - t0;
		rel[i] = now_us() - t1;
		hold_result_release(&r);
	}
	json_t *o = json_pack("{s:s, s:i, s:o, s:o}", "kind", k->name, "runs", n, "take_us",
	                      series(take, n), "release_us", series(rel, n));
	json_object_set_new(o, "take_median_us", json_integer(median(take, n)));
	json_object_set_new(o, "release_median_us", json_integer(median(rel, n)));
	char *s = json_dumps(o, JSON_COMPACT);
	printf("%s\n", s);
	free(s);
	json_decref(o);
	json_decref(params);
	free(take);
	free(rel);
	return rc;
}
