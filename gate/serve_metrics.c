/* SPDX-License-Identifier: MIT */
/* gate serve's /metrics (serve_metrics.h). */
#include "serve_metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void serve_metrics_label(struct strbuf *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			strbuf_adds(out, "\\\\");
		else if (*s == '"')
			strbuf_adds(out, "\\\"");
		else if (*s == '\n')
			strbuf_adds(out, "\\n");
		else
			strbuf_add(out, s, 1);
	}
}

static void header(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{runbook="R"} value */
static void sample(struct strbuf *out, const char *name, const char *rb, double v)
{
	strbuf_addf(out, "%s{runbook=\"", name);
	serve_metrics_label(out, rb);
	/* %.15g: an integer stays an integer, a time keeps its milliseconds without noise digits */
	strbuf_addf(out, "\"} %.15g\n", v);
}

/* The check statuses of a report (doc/report.md): one-hot per check. */
static const char *const statuses[] = {"pass", "fail", "error", "skip", "overridden"};

static const char *check_string(const json_t *c, const char *key)
{
	const char *s = json_string_value(json_object_get(c, key));
	return s ? s : "";
}

static void check_series(struct strbuf *out, const struct serve_metrics_rb *r, int durations)
{
	const json_t *checks = r->report ? json_object_get(r->report, "checks") : NULL;
	size_t i;
	const json_t *c;
	json_array_foreach(checks, i, c) {
		const char *id = check_string(c, "id"), *st = check_string(c, "status");
		if (durations) {
			const json_t *ms = json_object_get(c, "duration_ms");
			if (!json_is_number(ms))
				continue;
			strbuf_adds(out, "gate_check_duration_seconds{runbook=\"");
			serve_metrics_label(out, r->name);
			strbuf_adds(out, "\",check=\"");
			serve_metrics_label(out, id);
			strbuf_addf(out, "\"} %.15g\n", json_number_value(ms) / 1000.0);
			continue;
		}
		/* A status this list does not name counts as error: the
		 * report's own rule for what is not understood. */
		int known = 0;
		for (size_t k = 0; k < sizeof(statuses) / sizeof(*statuses); k++)
			known |= !strcmp(st, statuses[k]);
		for (size_t k = 0; k < sizeof(statuses) / sizeof(*statuses); k++) {
			int on = known ? !strcmp(st, statuses[k]) : !strcmp(statuses[k], "error");
			strbuf_adds(out, "gate_check_status{runbook=\"");
			serve_metrics_label(out, r->name);
			strbuf_adds(out, "\",check=\"");
			serve_metrics_label(out, id);
			strbuf_addf(out, "\",status=\"%s\"} %d\n", statuses[k], on);
		}
	}
}

enum field {
	F_ALLOWED,
	F_VALID,
	F_RUNNING,
	F_LAST,
	F_DURATION,
	F_EVALS,
	F_EVAL_FAILURES,
	F_RELOAD_FAILURES,
};

static const struct {
	const char *name, *type, *help;
	int evaluated_only;
} fields[] = {
	[F_ALLOWED] = {"gate_runbook_allowed", "gauge",
                       "1 when the runbook's last evaluation allowed, 0 when it blocked, failed "
                       "or has not ended since the last reload",
                       0},
	[F_VALID] = {"gate_runbook_valid", "gauge",
                     "1 when the runbook's last (re)load succeeded, 0 when it failed (the last "
                     "valid version is still served)",
                     0},
	[F_RUNNING] = {"gate_runbook_evaluation_running", "gauge",
                       "1 while an evaluation of the runbook is under way", 0},
	[F_LAST] = {"gate_runbook_last_evaluation_timestamp_seconds", "gauge",
                    "when the runbook's last evaluation ended, in seconds since the epoch", 1},
	[F_DURATION] = {"gate_runbook_evaluation_duration_seconds", "gauge",
                        "how long the runbook's last evaluation took", 1},
	[F_EVALS] = {"gate_runbook_evaluations_total", "counter",
                     "evaluations of the runbook that have ended", 0},
	[F_EVAL_FAILURES] = {"gate_runbook_evaluation_failures_total", "counter",
                             "evaluations that gave no report (killed at their deadline, no "
                             "valid JSON): each blocked",
                             0},
	[F_RELOAD_FAILURES] = {"gate_runbook_reload_failures_total", "counter",
                               "loads of the runbook (at start and on SIGHUP) that failed", 0},
};

static double field_value(const struct serve_metrics_rb *r, enum field f)
{
	switch (f) {
	case F_ALLOWED:
		return r->evaluated && r->allow;
	case F_VALID:
		return r->valid;
	case F_RUNNING:
		return r->running;
	case F_LAST:
		return r->at_s;
	case F_DURATION:
		return r->duration_s;
	case F_EVALS:
		return (double)r->evaluations;
	case F_EVAL_FAILURES:
		return (double)r->evaluation_failures;
	case F_RELOAD_FAILURES:
		return (double)r->reload_failures;
	}
	return NAN;
}

void serve_metrics_render(struct strbuf *out, const struct serve_metrics_rb *rbs, size_t n,
                          const char *version)
{
	header(out, "gate_build_info", "gauge", "gate's version, as a label; always 1");
	strbuf_adds(out, "gate_build_info{version=\"");
	serve_metrics_label(out, version);
	strbuf_adds(out, "\"} 1\n");
	for (size_t f = 0; f < sizeof(fields) / sizeof(*fields); f++) {
		header(out, fields[f].name, fields[f].type, fields[f].help);
		for (size_t i = 0; i < n; i++)
			if (!fields[f].evaluated_only || rbs[i].evaluated)
				sample(out, fields[f].name, rbs[i].name,
				       field_value(&rbs[i], (enum field)f));
	}
	header(out, "gate_check_status", "gauge",
	       "1 for the status the check had in the runbook's last report, 0 for the others "
	       "(pass, fail, error, skip, overridden)");
	for (size_t i = 0; i < n; i++)
		check_series(out, &rbs[i], 0);
	header(out, "gate_check_duration_seconds", "gauge",
	       "how long the check took in the runbook's last report");
	for (size_t i = 0; i < n; i++)
		check_series(out, &rbs[i], 1);
}
