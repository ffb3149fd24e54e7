/* SPDX-License-Identifier: MIT */
/* The policy: results + runbook + time + overrides in, decision out.  No
 * I/O, no clock of its own (the time is ev->now_ms) and no environment:
 * local time comes in as values (struct window_facts, from window.h), so
 * it is table-tested.
 *
 * - the window pseudo-check: the runbook has windows and now is in none
 *   of them -> fail; freeze: now is inside a freeze -> fail;
 * - --override ID waives a failing/erroring check only when it is
 *   overridable (window/freeze: when every window / the active freeze is
 *   overridable); otherwise the override is refused and noted;
 * - allow only when at least one blocking check ran and every blocking
 *   check is pass or overridden, and the audit did not fail; warn-severity
 *   failures are reported and change nothing;
 * - reasons: one line per blocking check that is not pass, runbook order.
 */
#ifndef GATE_POLICY_H
#define GATE_POLICY_H

#include "eval.h"
#include "window.h"

/* Requested overrides must already be in ev->overrides (with
 * ev->override_reason).  Appends the pseudo-check results, applies
 * overrides, sets ev->allow and ev->reasons.  wf: the runbook's windows
 * at ev->now_ms, from window_facts_at(ev->rb->windows, ev->rb->nwindows,
 * ev->now_ms, wf); NULL only when the runbook has no windows (else the
 * window pseudo-check fails: nothing says the time is inside one). */
void policy_decide(struct eval *ev, const struct window_facts *wf);

#endif
