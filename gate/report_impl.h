/* SPDX-License-Identifier: MIT */
/* Shared by the report renderers (report*.c) only, and the chat text of
 * notifications (notify.c). */
#ifndef GATE_REPORT_IMPL_H
#define GATE_REPORT_IMPL_H

#include <stdio.h>

#include "report.h"
#include "kit/strbuf.h"

/* A warn-severity check that did not pass: reported, never decisive. */
int report_is_warning(const struct check_result *r);
/* Counted as failed (fail, error, skip; not overridden). */
int report_is_failed(const struct check_result *r);
/* The command as a shell-quoted, redacted line, or NULL when none. */
char *report_command_line(const struct eval *ev);
/* "(would run)", "(not run)", "(ran: exit status 0, 1.2s)"... */
char *report_command_state(const struct eval *ev);
/* "8ms", "1.2s", "2m03s" */
void report_format_ms(double ms, char *buf, size_t len);
/* A redacted copy of a check's summary ("" when none). */
char *report_summary(const struct check_result *r);
/* Compact "key: value" lines for a details object, each prefixed with
 * `indent`, appended to sb (nothing for an empty or missing object). */
void report_details_lines(struct strbuf *sb, const json_t *details, const char *indent);
/* The window pseudo-check's "next_open_local (in ...)", or NULL. */
char *report_next_window(const struct eval *ev);

int report_write_text(FILE *out, const struct eval *ev, const struct report_opts *o);
int report_write_junit(FILE *out, const struct eval *ev);
int report_write_tap(FILE *out, const struct eval *ev);
int report_write_nagios(FILE *out, const struct eval *ev);

#endif
