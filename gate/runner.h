/* SPDX-License-Identifier: MIT */
/* The runner: each check attempt in its own child process, all at once
 * (bounded by jobs), each with its own deadline, retries, and the overall
 * deadline.  Results come back to the parent over a pipe as JSON.  A child
 * that crashes, hangs, or writes garbage is an `error`, killed if needed;
 * the runner always returns by the overall deadline (plus a small grace). */
#ifndef GATE_RUNNER_H
#define GATE_RUNNER_H

#include <stdint.h>

#include "eval.h"

struct runner_progress {
	size_t done, total;
	/* For each running check: its id and how long it has run (ms). */
	const char **running_ids;
	const int64_t *running_ms;
	size_t nrunning;
};

struct runner_opts {
	int jobs;           /* <= 0: all at once */
	int64_t timeout_ms; /* overall deadline (runbook timeout or --timeout) */
	int verbose;
	/* Called from the parent's event loop about every 250 ms while checks
	 * run, and once at the end; may be NULL. */
	void (*progress)(const struct runner_progress *p, void *ud);
	void *progress_ud;
	/* Appended (gate rehearse): when set, a stop signal ends the run
	 * instead of gate (every running check's group killed and reaped,
	 * every check not done an error "interrupted by SIGTERM"), and its
	 * number is stored here for the caller, who then dies of it. */
	int *stopped_by;
};

/* Fill ev->results[0..rb->nchecks-1] for the runbook's checks (the policy
 * adds the pseudo-checks).  ev->results must be allocated by eval_init.
 * Returns 0; a check that could not run is recorded as an error result.
 * SIGINT, SIGTERM, SIGHUP or SIGQUIT (those at their default action) that
 * arrive meanwhile do what they would have done, kill gate, but only after
 * every running check's process group has been killed and reaped. */
int runner_run(struct eval *ev, const struct runner_opts *opts);

#endif
