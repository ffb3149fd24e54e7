/* SPDX-License-Identifier: MIT */
/* Private to the exec check family (checks/exec.c): the parsers of a
 * Nagios plugin's output, pure (no I/O), for the unit tests and the fuzz
 * targets (fuzz/). */
#ifndef GATE_CHECKS_EXEC_NAGIOS_H
#define GATE_CHECKS_EXEC_NAGIOS_H

#include <jansson.h>

struct plugin_output {
	char *summary;   /* first line, before '|' */
	char *perf_raw;  /* all perfdata text, joined by spaces ("" if none) */
	char *long_text; /* lines after the first, perfdata removed */
	int long_truncated;
};

/* Split a plugin's stdout (NUL-terminated) into summary, perfdata and
 * long text; release with plugin_output_release. */
void plugin_output_parse(const char *out, struct plugin_output *po);
void plugin_output_release(struct plugin_output *po);
/* Perfdata text ("'label'=value[UOM];warn;crit;min;max ...") as an array
 * of objects (new reference). */
json_t *perf_parse(const char *s);
/* Replace every byte that is not part of valid UTF-8 by '?', in place. */
void utf8_fix(char *s);

#endif
