/* SPDX-License-Identifier: MIT */
/* One evaluation of a runbook: what the runner found, what the policy
 * decided, and what happened to the command.  Plain data, shared by the
 * runner (fills results), policy (fills the decision), report and audit
 * (read it), and the CLI (owns it). */
#ifndef GATE_EVAL_H
#define GATE_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "module.h"
#include "runbook.h"

/* EVAL_MODE_REHEARSE: `gate rehearse` (only the restore rehearsals ran). */
enum eval_mode {
	EVAL_MODE_RUN = 0,
	EVAL_MODE_CHECK = 1,
	EVAL_MODE_DRY_RUN = 2,
	EVAL_MODE_REHEARSE = 3,
};

/* A check's final status as reported (doc/report.md): pass, fail, error,
 * overridden (plus skip, shown as is and never a pass for a blocking check). */
enum check_status {
	CHECK_PASS = 0,
	CHECK_FAIL = 1,
	CHECK_ERROR = 2,
	CHECK_SKIP = 3,
	CHECK_OVERRIDDEN = 4,
};

struct check_result {
	const char *id;   /* points into the runbook (or "window"/"freeze") */
	const char *type; /* "window"/"freeze" for pseudo-checks */
	enum rb_severity severity;
	enum check_status status;
	enum check_status raw_status; /* before an override */
	char *summary;                /* already redacted */
	json_t *details;              /* object, already redacted; never NULL after runner */
	double duration_ms;
	int attempts;
	int timed_out; /* the last attempt was killed at its deadline */
	int overridden;
	int override_refused; /* --override named it but it is not overridable */
	const char *hint;     /* may be NULL */
	const char *description;
};

struct eval_override {
	const char *id;   /* as given on the command line */
	int applied;      /* 1: it waived a failing overridable check */
	const char *note; /* why not applied, or NULL */
};

struct eval {
	const struct runbook *rb;
	enum eval_mode mode;
	char **command;        /* the command that runs / would run, or NULL */
	int64_t started_at_ms; /* epoch */
	int64_t now_ms;        /* the time windows and freezes are judged at */
	double duration_ms;    /* of the evaluation */

	/* Runbook checks in runbook order, then "window" and "freeze"
	 * pseudo-checks when the runbook has them. */
	struct check_result *results;
	size_t nresults;

	struct eval_override *overrides;
	size_t noverrides;
	const char *override_reason; /* --reason, or NULL */

	/* Decision.  Starts as block; only policy_decide() makes it allow. */
	int allow;
	char **reasons; /* NULL-terminated, one per blocking non-pass, runbook order */
	size_t nreasons;
	int audit_failed; /* required audit could not be written: block */

	/* After `gate run` ran the command. */
	int have_exit_status;
	int exit_status;
	double command_duration_ms;

	/* Appended (reports): why the required audit failed, shown in the
	 * reasons when audit_failed is set ("" when unknown). */
	char audit_error[1024];

	/* Appended (what gate holds, gate/hold_run.h): reasons to block that
	 * are not checks' (a lock held by someone else, a re-check that
	 * blocks, a refused confirmation, maintenance that cannot be turned
	 * on, a state file left over), NULL-terminated, owned; the policy
	 * adds them to `reasons`.  `holds`: the report's "holds" object (owned,
	 * NULL when the runbook holds nothing); `recheck`: the re-check's
	 * report object (owned, NULL when there was none). */
	char **hold_reasons;
	size_t nhold_reasons;
	json_t *holds;
	json_t *recheck;

	/* Appended (gate/notify.h): what became of the notifications sent
	 * so far, an array (owned), NULL when none was sent. */
	json_t *notifications;
};

void eval_init(struct eval *ev, const struct runbook *rb, enum eval_mode mode);
void eval_release(struct eval *ev);

const char *check_status_name(enum check_status st); /* "pass", ... */
const char *eval_mode_name(enum eval_mode m);        /* "run", "check", "dry-run", "rehearse" */

#endif
