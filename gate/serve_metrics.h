/* SPDX-License-Identifier: MIT */
/*
 * `gate serve`'s /metrics: the Prometheus text exposition (format 0.0.4)
 * of what the server knows about each runbook, built from plain values
 * and the JSON reports of `gate check --format json`.  Pure: no I/O, no
 * clock, no locks (the caller holds its own).  The names, labels and
 * types are in doc/report.md, "gate serve metrics".
 */
#ifndef GATE_SERVE_METRICS_H
#define GATE_SERVE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kit/strbuf.h"

/* What the server knows about one runbook. */
struct serve_metrics_rb {
	const char *name; /* the runbook's URL name (its file name without .yaml) */
	int valid;        /* its last (re)load succeeded */
	int evaluated;    /* an evaluation has ended (then allow, at_s, duration_s) */
	int allow;
	const json_t *report; /* that evaluation's report, or NULL (it gave none) */
	double at_s;          /* when it ended, seconds since the epoch */
	double duration_s;    /* how long it took, the child's start to its end */
	uint64_t evaluations, evaluation_failures, reload_failures;
	int running; /* an evaluation is under way */
};

/* Append the exposition of these runbooks, and gate_build_info for
 * version, to out. */
void serve_metrics_render(struct strbuf *out, const struct serve_metrics_rb *rbs, size_t n,
                          const char *version);

/* Append s as a label value: \ " and newline escaped. */
void serve_metrics_label(struct strbuf *out, const char *s);

#endif
