/* SPDX-License-Identifier: MIT */
/* Reports.  report_json() builds the doc/report.md object; every other format
 * is rendered from the evaluation.  Never runs anything. */
#ifndef GATE_REPORT_H
#define GATE_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "eval.h"

enum report_format {
	REPORT_TEXT = 0,
	REPORT_JSON,
	REPORT_JUNIT,
	REPORT_TAP,
	REPORT_NAGIOS,
};

struct report_opts {
	enum report_format format;
	int color;   /* ANSI colours (the CLI decides: tty, NO_COLOR, --no-color) */
	int verbose; /* -v: details of passing checks too */
	int quiet;   /* -q: only failures and the decision */
};

int report_format_parse(const char *s, enum report_format *out);

/* The JSON report of doc/report.md (new reference). */
json_t *report_json(const struct eval *ev);
/* Write the report in the chosen format.  0, or -1 on a write error. */
int report_write(FILE *out, const struct eval *ev, const struct report_opts *o);
/* Exit status for --format nagios: 0 OK (allow), 1 WARNING (allow with
 * warnings), 2 CRITICAL (block), 3 UNKNOWN. */
int report_nagios_status(const struct eval *ev);

/* Appended: report_json() serialised (pretty: indented, else one line),
 * with durations printed as 412.7 rather than 412.69999999999999.  Use it
 * for -o FILE too.  Never NULL; free() it. */
char *report_json_string(const struct eval *ev, int pretty);

#endif
