/* SPDX-License-Identifier: MIT */
/*
 * The text report, for a tired person at 3 a.m.: what was checked, one
 * line each, the failures expanded with what to do, then one banner that
 * cannot be misread (ALLOWED / BLOCKED, readable without colour) with the
 * reasons, the command and when the next window opens.
 */
#include <string.h>

#include "redact.h"
#include "report_impl.h"
#include "kit/strbuf.h"
#include "kit/text.h"
#include "kit/timefmt.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_MAGENTA "\033[35m"
#define C_CYAN "\033[36m"
#define C_DIM "\033[2m"

#define ID_COL_MAX 28

struct text_ctx {
	struct strbuf sb;
	const struct report_opts *o;
	int idw; /* width of the id column */
};

static void colored(struct text_ctx *t, const char *color, const char *s)
{
	if (t->o->color)
		strbuf_addf(&t->sb, "%s%s%s", color, s, C_RESET);
	else
		strbuf_adds(&t->sb, s);
}

static const char *mark(const struct check_result *r, const char **color)
{
	if (r->status == CHECK_OVERRIDDEN) {
		*color = C_MAGENTA;
		return "OVRD";
	}
	if (r->status == CHECK_PASS) {
		*color = C_GREEN;
		return "PASS";
	}
	if (r->severity == RB_SEVERITY_WARN) {
		*color = C_YELLOW;
		return "WARN";
	}
	switch (r->status) {
	case CHECK_FAIL:
		*color = C_BOLD C_RED;
		return "FAIL";
	case CHECK_SKIP:
		*color = C_CYAN;
		return "SKIP";
	default:
		*color = C_BOLD C_RED;
		return "ERR ";
	}
}

/* Any text that is not gate's own, on one line: redacted (before it is
 * escaped, so a secret is still found), newlines and tabs become spaces,
 * every other control is escaped visibly (kit/text.h): a summary cannot
 * move the cursor or print a line of its own. */
static void add_flat(struct strbuf *sb, const char *s)
{
	char *red = redact_string(s ? s : "");
	text_safe_add(sb, red, TEXT_ONE_LINE);
	free(red);
}

static void header(struct text_ctx *t, const struct eval *ev)
{
	const struct runbook *rb = ev->rb;
	char started[64], took[32];
	gate_format_time(ev->started_at_ms, started, sizeof(started));
	report_format_ms(ev->duration_ms, took, sizeof(took));
	strbuf_adds(&t->sb, "runbook  ");
	colored(t, C_BOLD, rb && rb->name ? rb->name : "?");
	if (rb && rb->path) {
		strbuf_adds(&t->sb, " (");
		add_flat(&t->sb, rb->path);
		strbuf_adds(&t->sb, ")");
	}
	strbuf_adds(&t->sb, "\n");
	if (rb && rb->description) {
		strbuf_adds(&t->sb, "         ");
		add_flat(&t->sb, rb->description);
		strbuf_adds(&t->sb, "\n");
	}
	strbuf_addf(&t->sb, "mode     %s, started %s, checks took %s\n", eval_mode_name(ev->mode),
	            started, took);
	for (size_t i = 0; rb && rb->warnings && rb->warnings[i]; i++) {
		strbuf_adds(&t->sb, "note     ");
		add_flat(&t->sb, rb->warnings[i]);
		strbuf_adds(&t->sb, "\n");
	}
	strbuf_adds(&t->sb, "\n");
}

static void check_line(struct text_ctx *t, const struct check_result *r)
{
	const char *color;
	const char *m = mark(r, &color);
	char dur[32];
	report_format_ms(r->duration_ms, dur, sizeof(dur));
	colored(t, color, m);
	char *id = text_safe(r->id, TEXT_ONE_LINE);
	strbuf_addf(&t->sb, "  %-*s %6s  ", t->idw, id, dur);
	free(id);
	char *summary = report_summary(r);
	add_flat(&t->sb, *summary ? summary : check_status_name(r->status));
	free(summary);
	if (r->status == CHECK_OVERRIDDEN)
		strbuf_addf(&t->sb, " (overridden, was %s)", check_status_name(r->raw_status));
	else if (r->override_refused)
		strbuf_adds(&t->sb, " (override refused: not overridable)");
	else if (r->status == CHECK_SKIP && r->severity == RB_SEVERITY_WARN)
		strbuf_adds(&t->sb, " (skipped)");
	if (r->attempts > 1)
		strbuf_addf(&t->sb, " [%d attempts]", r->attempts);
	if (r->timed_out)
		strbuf_adds(&t->sb, " [timed out]");
	strbuf_adds(&t->sb, "\n");

	int expand = r->status != CHECK_PASS || t->o->verbose;
	if (!expand)
		return;
	const char *indent = "        ";
	if (t->o->verbose && r->description) {
		strbuf_addf(&t->sb, "%sabout: ", indent);
		add_flat(&t->sb, r->description);
		strbuf_adds(&t->sb, "\n");
	}
	int is_window = r->type && strcmp(r->type, "window") == 0;
	int is_freeze = r->type && strcmp(r->type, "freeze") == 0;
	if ((is_window || is_freeze) && json_is_object(r->details)) {
		/* the summary and the banner already say what, when and in
		 * how long */
		json_t *d = json_deep_copy(r->details);
		json_object_del(d, is_window ? "next_open_local" : "to");
		json_object_del(d, is_window ? "opens_in" : "reason");
		report_details_lines(&t->sb, d, indent);
		json_decref(d);
	} else {
		report_details_lines(&t->sb, r->details, indent);
	}
	if (r->hint && r->status != CHECK_PASS) {
		strbuf_adds(&t->sb, indent);
		colored(t, C_BOLD, "hint:");
		strbuf_adds(&t->sb, " ");
		add_flat(&t->sb, r->hint);
		strbuf_adds(&t->sb, "\n");
	}
}

/* What gate holds (doc/report.md, "holds"): a line per lock and per
 * maintenance item, and the confirmation. */
static void holds_lines(struct text_ctx *t, const json_t *holds)
{
	static const char *const lists[] = {"locks", "maintenance"};
	static const char *const words[] = {"lock", "maintenance"};
	size_t shown = 0;
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(holds, lists[l]), i, e) {
			const char *st = json_string_value(json_object_get(e, "state"));
			const char *who = json_string_value(json_object_get(e, "holder"));
			const char *msg = json_string_value(json_object_get(e, "message"));
			strbuf_addf(&t->sb, "%s %zu: ", words[l], i + 1);
			add_flat(&t->sb, json_string_value(json_object_get(e, "label")));
			strbuf_adds(&t->sb, ": ");
			add_flat(&t->sb, who ? "held by " : st ? st : "?");
			if (who || msg) {
				strbuf_adds(&t->sb, who ? "" : ": ");
				add_flat(&t->sb, who ? who : msg);
			}
			strbuf_adds(&t->sb, "\n");
			shown++;
		}
	}
	const json_t *c = json_object_get(holds, "confirm");
	if (c) {
		strbuf_adds(&t->sb, "confirm ");
		add_flat(&t->sb, json_string_value(json_object_get(c, "mode")));
		strbuf_adds(&t->sb, ": ");
		add_flat(&t->sb, json_string_value(json_object_get(c, "how")));
		strbuf_adds(&t->sb, "\n");
		shown++;
	}
	if (shown)
		strbuf_adds(&t->sb, "\n");
}

static void banner(struct text_ctx *t, const struct eval *ev)
{
	size_t nblock = 0, npass = 0, novr = 0, nwarn = 0;
	for (size_t i = 0; i < ev->nresults; i++) {
		const struct check_result *r = &ev->results[i];
		if (report_is_warning(r))
			nwarn++;
		if (r->severity != RB_SEVERITY_BLOCK)
			continue;
		nblock++;
		npass += r->status == CHECK_PASS;
		novr += r->status == CHECK_OVERRIDDEN;
	}
	const char *name = ev->rb && ev->rb->name ? ev->rb->name : "?";

	if (ev->allow) {
		colored(t, C_BOLD C_GREEN, "ALLOWED");
		strbuf_addf(&t->sb, "  %s: %zu of %zu blocking checks passed", name, npass, nblock);
		if (novr)
			strbuf_addf(&t->sb, ", %zu overridden", novr);
		if (nwarn)
			strbuf_addf(&t->sb, "; %zu warning%s", nwarn, nwarn == 1 ? "" : "s");
		strbuf_adds(&t->sb, "\n");
	} else {
		colored(t, C_BOLD C_RED, "BLOCKED");
		strbuf_addf(&t->sb, "  %s: %zu reason%s\n", name, ev->nreasons,
		            ev->nreasons == 1 ? "" : "s");
		for (size_t i = 0; i < ev->nreasons; i++) {
			strbuf_adds(&t->sb, "  - ");
			add_flat(&t->sb, ev->reasons[i]);
			strbuf_adds(&t->sb, "\n");
		}
	}

	for (size_t i = 0; i < ev->noverrides; i++) {
		const struct eval_override *o = &ev->overrides[i];
		strbuf_adds(&t->sb, "override ");
		add_flat(&t->sb, o->id);
		strbuf_adds(&t->sb, o->applied ? ": applied (reason: " : ": not applied: ");
		if (o->applied)
			add_flat(&t->sb, ev->override_reason ? ev->override_reason : "none given");
		else
			add_flat(&t->sb, o->note ? o->note : "refused");
		strbuf_adds(&t->sb, o->applied ? ")\n" : "\n");
	}

	char *cmd = report_command_line(ev);
	if (cmd) {
		char *state = report_command_state(ev);
		strbuf_adds(&t->sb, "command  ");
		add_flat(&t->sb, cmd);
		strbuf_addf(&t->sb, " (%s)\n", state);
		free(state);
		free(cmd);
	}
	char *next = report_next_window(ev);
	if (next) {
		strbuf_adds(&t->sb, "next window opens ");
		add_flat(&t->sb, next);
		strbuf_adds(&t->sb, "\n");
		free(next);
	}
}

int report_write_text(FILE *out, const struct eval *ev, const struct report_opts *o)
{
	struct text_ctx t = {STRBUF_INIT, o, 2};
	for (size_t i = 0; i < ev->nresults; i++) {
		size_t n = strlen(ev->results[i].id);
		if ((int)n > t.idw)
			t.idw = n > ID_COL_MAX ? ID_COL_MAX : (int)n;
	}

	if (!o->quiet)
		header(&t, ev);
	size_t shown = 0;
	/* Runbook order, pseudo-checks last: that is the order of results. */
	for (size_t i = 0; i < ev->nresults; i++) {
		const struct check_result *r = &ev->results[i];
		if (o->quiet && r->status == CHECK_PASS)
			continue;
		check_line(&t, r);
		shown++;
	}
	if (shown)
		strbuf_adds(&t.sb, "\n");
	if (ev->holds && !o->quiet)
		holds_lines(&t, ev->holds);
	banner(&t, ev);

	char *raw = strbuf_detach(&t.sb);
	/* Summaries and details were redacted on the way in, but the runbook's
	 * own text, hints and the reasons were not: one more pass over the
	 * whole report (redact is idempotent). */
	char *s = redact_string(raw);
	free(raw);
	int rc = fputs(s, out) < 0 ? -1 : 0;
	free(s);
	return rc;
}
