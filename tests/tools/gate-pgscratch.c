/* SPDX-License-Identifier: MIT */
/* Test aid: drive the scratch server (checks/lib/pgscratch.h) directly,
 * on a cluster made with initdb, and print what happened as one JSON
 * object on stdout.
 *
 *   gate-pgscratch [OPTIONS] PARENT_DIR
 *     --user U        the scratch user (default postgres)
 *     --need BYTES    the space asked for (default 0)
 *     --probes JSON   probes run once the server is up
 *     --sql SQL       run in the scratch cluster before the probes
 *                     (psql as the user), e.g. to create a table
 *     --hold          after the probes, print the object, then sleep
 *                     until killed (the guardian's test)
 *     --timeout-ms N  the deadline (default 60000)
 *
 * Output: {"ok": bool, "step": "create|initdb|start|promoted|probes|done",
 * "msg", "dir", "postmaster", "guardian", "probes", "failed",
 * "phases": {...}}.  Exit 0 when every step passed, 1 otherwise, 64
 * usage. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks/lib/pgscratch.h"
#include "kit/alloc.h"
#include "kit/clock.h"

static int usage(void)
{
	fprintf(stderr, "usage: gate-pgscratch [--user U] [--need BYTES] [--probes JSON] "
	                "[--sql SQL] [--hold] [--timeout-ms N] PARENT_DIR\n");
	return 64;
}

static void print(json_t *o)
{
	char *t = json_dumps(o, JSON_COMPACT);
	printf("%s\n", t);
	fflush(stdout);
	free(t);
}

int main(int argc, char **argv)
{
	struct pgscratch_opts o = {.user = "postgres"};
	const char *probes_text = NULL, *sql = NULL;
	unsigned long long need = 0;
	long long timeout = 60000;
	int hold = 0, i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--hold"))
			hold = 1;
		else if (i + 1 >= argc)
			return usage();
		else if (!strcmp(argv[i], "--user"))
			o.user = argv[++i];
		else if (!strcmp(argv[i], "--need"))
			need = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--probes"))
			probes_text = argv[++i];
		else if (!strcmp(argv[i], "--sql"))
			sql = argv[++i];
		else if (!strcmp(argv[i], "--timeout-ms"))
			timeout = strtoll(argv[++i], NULL, 10);
		else
			return usage();
	}
	if (i + 1 != argc)
		return usage();
	o.parent_dir = argv[i];
	o.deadline_ms = gate_mono_ms() + timeout;
	json_t *probes = probes_text ? json_loads(probes_text, 0, NULL) : json_array();
	char msg[512] = "";
	if (!probes || pgscratch_probes_validate(probes, msg, sizeof(msg))) {
		fprintf(stderr, "gate-pgscratch: bad probes: %s\n", msg);
		return 64;
	}
	json_t *out = json_object();
	struct pgscratch s;
	const char *step = "create";
	int ok = 0;
	if (pgscratch_create(&s, &o, need, msg, sizeof(msg)) == 0) {
		json_object_set_new(out, "dir", json_string(s.dir));
		json_object_set_new(out, "guardian", json_integer(s.guardian));
		step = "initdb";
		char *initdb = xasprintf("%s/initdb", s.bindir);
		char *const iargv[] = {
			initdb, "-D",   s.datadir,          "-A", "trust", "--no-sync",
			"-E",   "UTF8", "--locale=C.UTF-8", NULL};
		int r = pgscratch_run_as_user(&s, iargv, NULL, 0, msg, sizeof(msg));
		free(initdb);
		if (r == 0)
			step = "start", r = pgscratch_start(&s, NULL, msg, sizeof(msg));
		json_object_set_new(out, "postmaster", json_integer(s.postmaster));
		if (r == 0 && sql) {
			step = "sql";
			char *ci = pgscratch_conninfo(&s, NULL);
			char *const pargv[] = {"psql", "-X", "-q", "-v",        "ON_ERROR_STOP=1",
			                       "-d",   ci,   "-c", (char *)sql, NULL};
			r = pgscratch_run_as_user(&s, pargv, NULL, 0, msg, sizeof(msg));
			free(ci);
		}
		if (r == 0)
			step = "promoted", r = pgscratch_wait_promoted(&s, msg, sizeof(msg));
		if (r == 0) {
			step = "probes";
			json_t *res = NULL;
			int failed = pgscratch_probes(&s, probes, &res, msg, sizeof(msg));
			json_object_set_new(out, "probes", res);
			json_object_set_new(out, "failed", json_integer(failed));
			if (!failed)
				step = "done", ok = 1;
		}
		if (hold) {
			json_object_set_new(out, "ok", json_boolean(ok));
			json_object_set_new(out, "step", json_string(step));
			print(out);
			for (;;)
				pause();
		}
		int64_t up = s.up_at_ms ? s.up_at_ms - s.spawned_at_ms : -1;
		int64_t ready = s.ready_at_ms ? s.ready_at_ms - s.spawned_at_ms : -1;
		pgscratch_destroy(&s);
		json_object_set_new(out, "phases",
		                    json_pack("{s:I, s:I, s:I, s:I}", "up", (json_int_t)up, "ready",
		                              (json_int_t)ready, "stop", (json_int_t)s.stop_ms,
		                              "cleanup", (json_int_t)s.cleanup_ms));
	}
	json_object_set_new(out, "ok", json_boolean(ok));
	json_object_set_new(out, "step", json_string(step));
	json_object_set_new(out, "msg", json_string(msg));
	print(out);
	json_decref(out);
	json_decref(probes);
	return ok ? 0 : 1;
}
