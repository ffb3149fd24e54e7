/* SPDX-License-Identifier: MIT */
/* Development and test aid: drive one lock or maintenance kind
 * (gate/hold.h) directly, without the runbook loader, and print what it
 * said as JSON on stdout, one object per step.
 *
 *   gate-hold lock KIND 'PARAMS-JSON' probe
 *   gate-hold lock KIND 'PARAMS-JSON' take [HOLD_SECONDS]
 *   gate-hold lock KIND 'PARAMS-JSON' force-release
 *   gate-hold maint KIND 'PARAMS-JSON' describe
 *   gate-hold maint KIND 'PARAMS-JSON' begin [HOLD_SECONDS]
 *   gate-hold maint KIND 'PARAMS-JSON' end 'UNDO-JSON'
 *
 * take/begin: after the step is printed, hold for HOLD_SECONDS (default
 * 0; -1: until stdin reaches end of file), calling the lock's keepalive
 * as it asks, then release/end and print that step too.  "begin" prints
 * each undo record handed to record() as {"record": UNDO}.  Each step's
 * object has "ms": how long the kind's call took (for bench/holds/).
 * PARAMS-JSON must already be normalised (durations in ms, sizes in
 * bytes) and holds no defaults.  The holder is "gate-hold" by the real
 * user, host and pid.  Each step's deadline is 30 s away, or
 * $GATE_HOLD_TIMEOUT_MS.  Exit: 0 taken/free/done, 1 busy, 2 error, 64 usage. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate/hold.h"
#include "holds/builtin.h"
#include "kit/clock.h"

static int64_t timeout_ms = 30000;
/* When the step being printed started (gate_mono_ms). */
static int64_t step_start;

static int print_result(const char *step, const struct hold_result *r)
{
	static const char *const states[] = {"taken", "busy", "error"};
	json_t *o = json_pack("{s:s, s:s, s:I}", "step", step, "state", states[r->state], "ms",
	                      (json_int_t)(gate_mono_ms() - step_start));
	if (r->holder)
		json_object_set_new(o, "holder", json_string(r->holder));
	if (r->message)
		json_object_set_new(o, "message", json_string(r->message));
	if (r->details)
		json_object_set(o, "details", r->details);
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
	return r->state == HOLD_TAKEN ? 0 : r->state == HOLD_BUSY ? 1 : 2;
}

/* Wait HOLD_SECONDS (or until EOF on stdin when negative), calling tick
 * every tick_ms (0: never). */
static int hold_for(long secs, int64_t tick_ms, int (*tick)(void *), void *arg)
{
	int64_t end = secs < 0 ? INT64_MAX : gate_mono_ms() + secs * 1000;
	for (;;) {
		int64_t now = gate_mono_ms(), next = end;
		if (now >= end)
			return 0;
		if (tick_ms > 0 && now + tick_ms < next)
			next = now + tick_ms;
		struct pollfd p = {0, POLLIN, 0};
		int n = poll(secs < 0 ? &p : NULL, secs < 0 ? 1 : 0, (int)(next - now));
		if (n > 0) {
			char b[256];
			if (read(0, b, sizeof(b)) <= 0)
				return 0;
		}
		if (tick_ms > 0 && gate_mono_ms() >= next && tick(arg) < 0)
			return -1;
	}
}

struct ka {
	const struct lock_kind *k;
	void *handle;
};

static int lock_tick(void *arg)
{
	struct ka *a = arg;
	char msg[512] = "";
	if (a->k->keepalive(a->handle, msg, sizeof(msg)) < 0) {
		struct hold_result r = {HOLD_ERROR, NULL, msg, NULL};
		print_result("keepalive", &r);
		return -1;
	}
	return 0;
}

static int do_lock(const struct lock_kind *k, const json_t *params, const struct hold_who *who,
                   const char *step, long secs)
{
	struct hold_result r = {0};
	int rc = 64;
	int64_t deadline = gate_mono_ms() + timeout_ms;
	if (!strcmp(step, "probe")) {
		step_start = gate_mono_ms();
		k->probe(params, deadline, &r);
		rc = print_result("probe", &r);
	} else if (!strcmp(step, "force-release")) {
		if (!k->force_release) {
			fprintf(stderr, "gate-hold: %s has no force_release\n", k->name);
			return 64;
		}
		step_start = gate_mono_ms();
		k->force_release(params, deadline, &r);
		rc = print_result("force-release", &r);
	} else if (!strcmp(step, "take")) {
		void *handle = NULL;
		step_start = gate_mono_ms();
		k->take(params, who, deadline, &handle, &r);
		rc = print_result("take", &r);
		if (rc == 0) {
			struct ka a = {k, handle};
			int64_t every = k->keepalive_ms ? k->keepalive_ms(params) : 0;
			hold_for(secs, k->keepalive ? every : 0, lock_tick, &a);
			char msg[512] = "";
			struct hold_result rr = {HOLD_TAKEN, NULL, NULL, NULL};
			step_start = gate_mono_ms();
			if (k->release(handle, msg, sizeof(msg)) < 0) {
				rr.state = HOLD_ERROR;
				rr.message = msg;
			}
			rc = print_result("release", &rr);
		}
	} else {
		fprintf(stderr, "gate-hold: unknown step '%s'\n", step);
	}
	hold_result_release(&r);
	return rc;
}

static int print_record(void *ctx, const json_t *undo)
{
	json_t *o = json_pack("{s:O}", "record", (json_t *)undo);
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
	return 0;
}

static int do_maint(const struct maint_kind *k, const json_t *params, const struct hold_who *who,
                    int argc, char **argv)
{
	const char *step = argv[4];
	struct hold_result r = {0};
	int rc = 64;
	int64_t deadline = gate_mono_ms() + timeout_ms;
	if (!strcmp(step, "describe")) {
		step_start = gate_mono_ms();
		k->describe(params, deadline, &r);
		rc = print_result("describe", &r);
	} else if (!strcmp(step, "begin")) {
		json_t *undo = NULL;
		step_start = gate_mono_ms();
		k->begin(params, who, deadline, print_record, NULL, &undo, &r);
		rc = print_result("begin", &r);
		if (rc == 0) {
			hold_for(argc > 5 ? atol(argv[5]) : 0, 0, NULL, NULL);
			struct hold_result e = {0};
			step_start = gate_mono_ms();
			k->end(params, undo, gate_mono_ms() + timeout_ms, &e);
			rc = print_result("end", &e);
			hold_result_release(&e);
		}
		json_decref(undo);
	} else if (!strcmp(step, "end") && argc > 5) {
		json_error_t je;
		json_t *undo = json_loads(argv[5], 0, &je);
		if (!undo) {
			fprintf(stderr, "gate-hold: undo: %s\n", je.text);
			return 64;
		}
		step_start = gate_mono_ms();
		k->end(params, undo, deadline, &r);
		rc = print_result("end", &r);
		json_decref(undo);
	} else {
		fprintf(stderr, "gate-hold: unknown step '%s'\n", step);
	}
	hold_result_release(&r);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 5 || (strcmp(argv[1], "lock") && strcmp(argv[1], "maint"))) {
		fprintf(stderr, "usage: gate-hold lock|maint KIND PARAMS-JSON STEP [ARG]\n");
		return 64;
	}
	if (getenv("GATE_HOLD_TIMEOUT_MS"))
		timeout_ms = atoll(getenv("GATE_HOLD_TIMEOUT_MS"));
	json_error_t je;
	json_t *params = json_loads(argv[3], 0, &je);
	if (!json_is_object(params)) {
		fprintf(stderr, "gate-hold: params: %s\n", je.text);
		return 64;
	}
	char host[256] = "?";
	gethostname(host, sizeof(host) - 1);
	const char *user = getenv("USER") ? getenv("USER") : "?";
	struct hold_who who = {"gate-hold", user, host, (long)getpid(), gate_now_ms()};
	int rc = 64;
	if (!strcmp(argv[1], "lock")) {
		const struct lock_kind *k = NULL;
		for (size_t i = 0; gate_lock_kinds[i] && !k; i++)
			if (!strcmp(gate_lock_kinds[i]->name, argv[2]))
				k = gate_lock_kinds[i];
		if (k)
			rc = do_lock(k, params, &who, argv[4], argc > 5 ? atol(argv[5]) : 0);
		else
			fprintf(stderr, "gate-hold: unknown lock kind '%s'\n", argv[2]);
	} else {
		const struct maint_kind *k = NULL;
		for (size_t i = 0; gate_maint_kinds[i] && !k; i++)
			if (!strcmp(gate_maint_kinds[i]->name, argv[2]))
				k = gate_maint_kinds[i];
		if (k)
			rc = do_maint(k, params, &who, argc, argv);
		else
			fprintf(stderr, "gate-hold: unknown maintenance kind '%s'\n", argv[2]);
	}
	json_decref(params);
	return rc;
}
