/* SPDX-License-Identifier: MIT */
/*
 * Reports: the JSON object of doc/report.md, the format dispatcher and the
 * helpers the renderers share.  Every string that leaves here went through
 * redact (the whole JSON object is redacted once more at the end, so a
 * field added later cannot forget it).
 */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "redact.h"
#include "report_impl.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"
#include "kit/text.h"
#include "kit/timefmt.h"

int report_format_parse(const char *s, enum report_format *out)
{
	static const char *const names[] = {"text", "json", "junit", "tap", "nagios"};
	for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum report_format)i;
			return 0;
		}
	}
	return -1;
}

int report_is_warning(const struct check_result *r)
{
	return r->severity == RB_SEVERITY_WARN && r->status != CHECK_PASS &&
	       r->status != CHECK_OVERRIDDEN;
}

int report_is_failed(const struct check_result *r)
{
	return r->status != CHECK_PASS && r->status != CHECK_OVERRIDDEN;
}

void report_format_ms(double ms, char *buf, size_t len)
{
	if (!isfinite(ms) || ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(buf, len, "%.0fms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.1fs", ms / 1000);
	else
		snprintf(buf, len, "%dm%02ds", (int)(ms / 60000), (int)fmod(ms / 1000, 60));
}

char *report_summary(const struct check_result *r)
{
	return redact_string(r->summary ? r->summary : "");
}

/* Quote one argument for a POSIX shell only when it needs it, so the line
 * can be copied as is. */
static void add_shell_word(struct strbuf *sb, const char *w)
{
	int plain = *w != '\0';
	for (const char *p = w; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_./=:,+@%^", *p))
			plain = 0;
	if (plain) {
		strbuf_adds(sb, w);
		return;
	}
	strbuf_adds(sb, "'");
	for (const char *p = w; *p; p++) {
		if (*p == '\'')
			strbuf_adds(sb, "'\\''");
		else
			strbuf_add(sb, p, 1);
	}
	strbuf_adds(sb, "'");
}

char *report_command_line(const struct eval *ev)
{
	if (!ev->command || !ev->command[0])
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; ev->command[i]; i++) {
		if (i)
			strbuf_adds(&sb, " ");
		add_shell_word(&sb, ev->command[i]);
	}
	char *raw = strbuf_detach(&sb);
	char *red = redact_string(raw);
	free(raw);
	return red;
}

char *report_command_state(const struct eval *ev)
{
	if (!ev->allow)
		return xstrdup("not run");
	if (ev->mode != EVAL_MODE_RUN)
		return xstrdup("would run");
	if (!ev->have_exit_status)
		return xstrdup("runs now");
	char d[32];
	report_format_ms(ev->command_duration_ms, d, sizeof(d));
	return xasprintf("ran: exit status %d, %s", ev->exit_status, d);
}

char *report_next_window(const struct eval *ev)
{
	for (size_t i = 0; i < ev->nresults; i++) {
		const struct check_result *r = &ev->results[i];
		if (!r->type || strcmp(r->type, "window") != 0 || r->raw_status == CHECK_PASS)
			continue;
		const char *local = json_string_value(
			json_object_get(r->details, "next_open_local"));
		const char *in = json_string_value(json_object_get(r->details, "opens_in"));
		if (local && in)
			return xasprintf("%s (in %s)", local, in);
	}
	return NULL;
}

/* --- compact details ------------------------------------------------- */

#define DETAIL_MAX_LINES 12 /* of one multi-line string value */

/* Keys and values of details come from outside: every one is escaped
 * (kit/text.h) and kept on its line. */
static void add_key(struct strbuf *sb, const char *indent, const char *k, const char *after)
{
	strbuf_adds(sb, indent);
	text_safe_add(sb, k, TEXT_ONE_LINE);
	strbuf_adds(sb, after);
}

static void add_scalar(struct strbuf *sb, const json_t *v)
{
	if (json_is_string(v)) {
		text_safe_add(sb, json_string_value(v), TEXT_ONE_LINE);
	} else {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(10));
		text_safe_add(sb, s ? s : "?", TEXT_ONE_LINE);
		free(s);
	}
}

/* "k: v, k: v" for one object whose members are scalars (containers are
 * shown as compact JSON). */
static void add_inline_object(struct strbuf *sb, const json_t *o)
{
	const char *k;
	json_t *v;
	const char *sep = "";
	json_object_foreach((json_t *)o, k, v) {
		add_key(sb, sep, k, ": ");
		add_scalar(sb, v);
		sep = ", ";
	}
}

static void add_multiline(struct strbuf *sb, const char *s, const char *indent)
{
	int n = 0;
	const char *p = s;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t shown = len && p[len - 1] == '\r' ? len - 1 : len; /* CRLF */
		if (n == DETAIL_MAX_LINES) {
			int more = 0;
			for (const char *q = p; *q; q++)
				more += *q == '\n';
			strbuf_addf(sb, "%s  ... (%d more lines)\n", indent, more + 1);
			return;
		}
		strbuf_addf(sb, "%s  ", indent);
		text_safe_addn(sb, p, shown, TEXT_ONE_LINE);
		strbuf_adds(sb, "\n");
		n++;
		p = nl ? nl + 1 : p + len;
	}
}

static void details_lines(struct strbuf *sb, json_t *details, const char *indent)
{
	const char *k;
	json_t *v;
	json_object_foreach(details, k, v) {
		if (json_is_string(v) && strchr(json_string_value(v), '\n')) {
			add_key(sb, indent, k, ":\n");
			add_multiline(sb, json_string_value(v), indent);
		} else if (json_is_array(v) && json_array_size(v) == 0) {
			add_key(sb, indent, k, ": (none)\n");
		} else if (json_is_array(v)) {
			size_t i;
			json_t *e;
			int all_scalar = 1;
			json_array_foreach(v, i, e)
				if (json_is_object(e) || json_is_array(e))
					all_scalar = 0;
			if (all_scalar) {
				add_key(sb, indent, k, ": ");
				json_array_foreach(v, i, e) {
					if (i)
						strbuf_adds(sb, ", ");
					add_scalar(sb, e);
				}
				strbuf_adds(sb, "\n");
				continue;
			}
			add_key(sb, indent, k, ":\n");
			json_array_foreach(v, i, e) {
				strbuf_addf(sb, "%s  - ", indent);
				if (json_is_object(e))
					add_inline_object(sb, e);
				else
					add_scalar(sb, e);
				strbuf_adds(sb, "\n");
			}
		} else if (json_is_object(v)) {
			add_key(sb, indent, k, ": ");
			add_inline_object(sb, v);
			strbuf_adds(sb, "\n");
		} else {
			add_key(sb, indent, k, ": ");
			add_scalar(sb, v);
			strbuf_adds(sb, "\n");
		}
	}
}

void report_details_lines(struct strbuf *sb, const json_t *details, const char *indent)
{
	if (!json_is_object(details))
		return;
	json_t *copy = json_deep_copy(details);
	redact_json(copy);
	details_lines(sb, copy, indent);
	json_decref(copy);
}

/* --- JSON ------------------------------------------------------------ */

/* Milliseconds rounded to 0.1 (a report is not a benchmark), or null. */
static json_t *ms_value(double ms)
{
	if (!isfinite(ms))
		return json_null();
	return json_real(round(ms * 10) / 10);
}

/* A JSON string even when s is not UTF-8 (a plugin printing Latin-1, an
 * argv byte string): invalid bytes become U+FFFD instead of the member
 * silently missing from the report. */
static json_t *jstring(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	struct strbuf sb = STRBUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = 0;
		if (text_utf8_decode((const char *)p, strlen((const char *)p), &n) < 0) {
			strbuf_adds(&sb, "\xef\xbf\xbd");
			p++;
		} else {
			strbuf_add(&sb, (const char *)p, n);
			p += n;
		}
	}
	j = json_string(sb.buf ? sb.buf : "");
	strbuf_release(&sb);
	return j ? j : json_string("");
}

static json_t *string_or_null(const char *s)
{
	return s ? jstring(s) : json_null();
}

static json_t *check_json(const struct check_result *r)
{
	json_t *c = json_object();
	json_object_set_new(c, "id", json_string(r->id));
	json_object_set_new(c, "type", string_or_null(r->type));
	json_object_set_new(c, "severity",
	                    json_string(r->severity == RB_SEVERITY_WARN ? "warn" : "block"));
	json_object_set_new(c, "status", json_string(check_status_name(r->status)));
	json_object_set_new(c, "summary", jstring(r->summary ? r->summary : ""));
	json_object_set_new(c, "duration_ms", ms_value(r->duration_ms));
	json_object_set_new(c, "attempts", json_integer(r->attempts));
	json_object_set_new(c, "overridden", json_boolean(r->status == CHECK_OVERRIDDEN));
	json_object_set_new(c, "hint", string_or_null(r->hint));
	json_object_set_new(c, "details",
	                    json_is_object(r->details) ? json_deep_copy(r->details)
	                                               : json_object());
	/* Added since the first report (fields are only ever added). */
	json_object_set_new(c, "description", string_or_null(r->description));
	json_object_set_new(c, "raw_status",
	                    json_string(check_status_name(
				    r->status == CHECK_OVERRIDDEN ? r->raw_status : r->status)));
	json_object_set_new(c, "timed_out", json_boolean(r->timed_out));
	json_object_set_new(c, "override_refused", json_boolean(r->override_refused));
	return c;
}

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, jstring(v[i]));
	return a;
}

json_t *report_json(const struct eval *ev)
{
	const struct runbook *rb = ev->rb;
	json_t *o = json_object();
	char started[64];
	gate_format_time(ev->started_at_ms, started, sizeof(started));

	json_object_set_new(o, "gate_version", json_string(GATE_VERSION));
	json_object_set_new(o, "runbook", string_or_null(rb ? rb->name : NULL));
	json_object_set_new(o, "runbook_path", string_or_null(rb ? rb->path : NULL));
	json_object_set_new(o, "mode", json_string(eval_mode_name(ev->mode)));
	json_object_set_new(o, "decision", json_string(ev->allow ? "allow" : "block"));
	json_object_set_new(o, "reasons", strv_json(ev->reasons));
	json_object_set_new(o, "command", ev->command ? strv_json(ev->command) : json_null());
	json_object_set_new(o, "started_at", json_string(started));
	json_object_set_new(o, "duration_ms", ms_value(ev->duration_ms));

	json_t *checks = json_array();
	json_t *warnings = json_array();
	for (size_t i = 0; i < ev->nresults; i++) {
		const struct check_result *r = &ev->results[i];
		json_array_append_new(checks, check_json(r));
		if (report_is_warning(r)) {
			char *w = xasprintf("%s: %s", r->id,
			                    r->summary ? r->summary : check_status_name(r->status));
			json_array_append_new(warnings, jstring(w));
			free(w);
		}
	}
	json_object_set_new(o, "checks", checks);

	json_t *ovr = json_array();
	for (size_t i = 0; i < ev->noverrides; i++) {
		const struct eval_override *e = &ev->overrides[i];
		json_t *x = json_object();
		json_object_set_new(x, "id", jstring(e->id));
		json_object_set_new(x, "reason", string_or_null(ev->override_reason));
		json_object_set_new(x, "applied", json_boolean(e->applied));
		json_object_set_new(x, "note", string_or_null(e->note));
		json_array_append_new(ovr, x);
	}
	json_object_set_new(o, "overrides", ovr);
	json_object_set_new(o, "exit_status",
	                    ev->have_exit_status ? json_integer(ev->exit_status) : json_null());

	/* Added since the first report (fields are only ever added). */
	json_object_set_new(o, "description", string_or_null(rb ? rb->description : NULL));
	json_object_set_new(o, "warnings", warnings);
	json_object_set_new(o, "runbook_warnings", strv_json(rb ? rb->warnings : NULL));
	json_t *next = json_null();
	for (size_t i = 0; i < ev->nresults; i++) {
		const struct check_result *r = &ev->results[i];
		json_t *at = json_object_get(r->details, "next_open");
		if (r->type && strcmp(r->type, "window") == 0 && r->raw_status != CHECK_PASS &&
		    json_is_string(at)) {
			json_decref(next);
			next = json_pack("{s:O,s:O,s:O}", "at", at, "local",
			                 json_object_get(r->details, "next_open_local"), "in",
			                 json_object_get(r->details, "opens_in"));
			if (!next)
				next = json_null();
		}
	}
	json_object_set_new(o, "next_window", next);
	json_object_set_new(o, "command_duration_ms",
	                    ev->have_exit_status ? ms_value(ev->command_duration_ms) : json_null());
	json_object_set_new(o, "audit_failed", json_boolean(ev->audit_failed));
	json_object_set_new(o, "holds", ev->holds ? json_deep_copy(ev->holds) : json_null());
	json_object_set_new(o, "recheck", ev->recheck ? json_deep_copy(ev->recheck) : json_null());
	/* only after notifications were sent (gate/notify.h) */
	if (ev->notifications)
		json_object_set_new(o, "notifications", json_deep_copy(ev->notifications));

	redact_json(o);
	return o;
}

char *report_json_string(const struct eval *ev, int pretty)
{
	json_t *o = report_json(ev);
	size_t flags = JSON_REAL_PRECISION(15) | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
	char *s = json_dumps(o, flags);
	json_decref(o);
	if (!s)
		return xstrdup("{}");
	/* jansson leaves DEL and C1 controls raw in strings: as \u escapes
	 * the document means the same and is safe in a terminal. */
	struct strbuf sb = STRBUF_INIT;
	text_safe_json(&sb, s);
	free(s);
	return strbuf_detach(&sb);
}

static int write_json(FILE *out, const struct eval *ev)
{
	char *s = report_json_string(ev, 1);
	int rc = fputs(s, out) < 0 || fputc('\n', out) == EOF ? -1 : 0;
	free(s);
	return rc;
}

int report_write(FILE *out, const struct eval *ev, const struct report_opts *o)
{
	static const struct report_opts defaults = {REPORT_TEXT, 0, 0, 0};
	if (!o)
		o = &defaults;
	int rc;
	switch (o->format) {
	case REPORT_JSON:
		rc = write_json(out, ev);
		break;
	case REPORT_JUNIT:
		rc = report_write_junit(out, ev);
		break;
	case REPORT_TAP:
		rc = report_write_tap(out, ev);
		break;
	case REPORT_NAGIOS:
		rc = report_write_nagios(out, ev);
		break;
	case REPORT_TEXT:
	default:
		rc = report_write_text(out, ev, o);
		break;
	}
	if (fflush(out) == EOF || ferror(out))
		rc = -1;
	return rc;
}

int report_nagios_status(const struct eval *ev)
{
	if (!ev || !ev->rb || ev->nresults == 0)
		return 3; /* nothing was evaluated: UNKNOWN */
	if (!ev->allow)
		return 2;
	for (size_t i = 0; i < ev->nresults; i++)
		if (report_is_warning(&ev->results[i]))
			return 1;
	return 0;
}
