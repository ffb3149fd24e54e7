/* SPDX-License-Identifier: MIT */
/* Private to the exec check family (checks/exec*.c): the judge and the
 * parsers of a Nagios plugin's output, pure (no I/O, no clock), for the
 * check (checks/exec.c runs the command and hands over what it learnt),
 * the unit tests (tests/unit/test_exec_judge.c, fed by real plugins'
 * answers recorded in tests/data/recorded/exec/) and the fuzz targets
 * (fuzz/fuzz_nagios.c, fuzz/fuzz_exec.c). */
#ifndef GATE_CHECKS_EXEC_NAGIOS_H
#define GATE_CHECKS_EXEC_NAGIOS_H

#include <stdint.h>

#include <jansson.h>

#include "gate/module.h"
#include "lib/proc.h"

/* What the judge needs besides the facts. */
struct exec_judge_params {
	const char *tool;   /* argv[0], for messages */
	int nagios;         /* protocol nagios; 0: protocol exit */
	int warning_passes; /* warning: pass */
	int64_t timeout_ms; /* the check's timeout, for "timed out after 2s" */
};

/* How the command ended, what it printed and how long it took (pr: the
 * facts, as proc_run leaves them; output in any encoding) into res: the
 * status, the summary (the plugin's first line, or "exited 3: <the last
 * stderr line>"), details (protocol, duration_ms, exit_code or signal,
 * state, perfdata, long_output, stderr...).  Output that is not valid
 * UTF-8 is kept with each such byte as "\xff" (kit/text.h). */
void exec_judge(const struct proc_result *pr, const struct exec_judge_params *p,
                struct gate_result *res);

/* A recorded run (tests/data/recorded/exec/: header %% stdout %% stderr)
 * as the facts proc_run would leave: head is words and numbers (lines
 * starting with '#' are comments),
 * "exit 2", "signal 11", "timeout 9" (killed at the deadline by that
 * signal) or "errno 2" (could not be started), optionally followed by
 * "ms 12.5" and "truncated 1".  out and err are borrowed, not copied (do
 * not proc_result_release pr).  -1 when head says none or two endings. */
int exec_facts_read(const char *head, const char *out, const char *err, struct proc_result *pr);

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

#endif
