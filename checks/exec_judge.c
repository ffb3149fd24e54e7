/* SPDX-License-Identifier: MIT */
/* The exec check's judge (checks/exec_nagios.h): how the command ended,
 * what it printed and how long it took, into a result.  No I/O, no clock.
 *
 * Nagios plugin output (Monitoring Plugins developer guidelines):
 *
 *   TEXT OUTPUT | OPTIONAL PERFDATA
 *   LONG TEXT LINE 1
 *   LONG TEXT LINE 2 | PERFDATA 2
 *   PERFDATA 3
 *
 * The first line is the summary; everything after a `|` (on the first
 * line, and from the first `|` of the long text onwards) is performance
 * data, kept raw and parsed into objects in `details`.
 *
 * What the command printed is kept as it is, made valid UTF-8 first
 * (kit/text.h text_utf8_valid: a plugin may print Latin-1, and JSON takes
 * only UTF-8); the report's renderers escape it when they print it. */
#include "exec_nagios.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/alloc.h"
#include "kit/text.h"
#include "kit/timefmt.h"

#define EXEC_LONG_MAX 4096 /* long output put into details */
#define EXEC_TAIL_MAX 1024 /* stderr tail put into details */

/* Copy at most n bytes of s into a new string, control characters as
 * spaces and surrounding blanks trimmed (summaries are one line). */
static char *exec_clean(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	char *r = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		r[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	r[n] = '\0';
	return r;
}

/* The last non-blank line of s (new string), or NULL. */
static char *exec_last_line(const char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n)
		return NULL;
	size_t b = n;
	while (b && s[b - 1] != '\n')
		b--;
	return exec_clean(s + b, n - b);
}

/* A JSON string of s, made valid UTF-8 first. */
static json_t *jstr(const char *s)
{
	char *c = text_utf8_valid(s);
	json_t *j = json_string(c);
	free(c);
	return j;
}

/* ---- perfdata ---- */

/* A perfdata field as a JSON number when it is one, else its text (warn
 * and crit are ranges such as "10:20" or "@5"), NULL when empty. */
static json_t *perf_field(const char *s, size_t n)
{
	if (!n)
		return NULL;
	char tmp[64];
	if (n < sizeof(tmp)) {
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		char *end;
		errno = 0;
		double d = strtod(tmp, &end);
		if (end != tmp && !*end && !errno)
			return json_real(d);
	}
	return json_stringn(s, n);
}

/* Parse one "label=value[UOM];warn;crit;min;max" (label already split). */
static json_t *perf_item(const char *label, const char *p, size_t n)
{
	json_t *o = json_object();
	json_object_set_new(o, "label", jstr(label));
	const char *f[5] = {p, NULL, NULL, NULL, NULL};
	size_t fl[5] = {n, 0, 0, 0, 0};
	int nf = 1;
	for (size_t i = 0; i < n && nf < 5; i++) {
		if (p[i] == ';') {
			fl[nf - 1] = (size_t)(p + i - f[nf - 1]);
			f[nf] = p + i + 1;
			fl[nf] = n - i - 1;
			nf++;
		}
	}
	/* value: a number followed by a unit of measurement, or "U". */
	char tmp[64];
	size_t vl = fl[0] < sizeof(tmp) ? fl[0] : sizeof(tmp) - 1;
	memcpy(tmp, f[0], vl);
	tmp[vl] = '\0';
	char *end;
	double d = strtod(tmp, &end);
	if (end == tmp) {
		json_object_set_new(o, "value", json_null());
	} else {
		json_object_set_new(o, "value", json_real(d));
		if (*end)
			json_object_set_new(o, "uom", jstr(end));
	}
	static const char *names[5] = {"value", "warn", "crit", "min", "max"};
	for (int i = 1; i < nf; i++) {
		json_t *v = perf_field(f[i], fl[i]);
		if (v)
			json_object_set_new(o, names[i], v);
	}
	return o;
}

/* Parse perfdata text into an array of objects.  Labels may be quoted
 * with single quotes ('' is a literal quote). */
json_t *perf_parse(const char *s)
{
	json_t *arr = json_array();
	const char *p = s;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		char label[256];
		size_t ll = 0;
		if (*p == '\'') {
			p++;
			while (*p && !(*p == '\'' && p[1] != '\'')) {
				if (*p == '\'')
					p++;
				if (ll + 1 < sizeof(label))
					label[ll++] = *p;
				p++;
			}
			if (*p == '\'')
				p++;
		} else {
			while (*p && *p != '=' && *p != ' ' && *p != '\n') {
				if (ll + 1 < sizeof(label))
					label[ll++] = *p;
				p++;
			}
		}
		label[ll] = '\0';
		if (*p != '=') {
			/* not "label=value": skip the word */
			while (*p && *p != ' ' && *p != '\n')
				p++;
			continue;
		}
		p++;
		const char *v = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		json_array_append_new(arr, perf_item(label, v, (size_t)(p - v)));
	}
	return arr;
}

/* ---- output ---- */

void plugin_output_parse(const char *out, struct plugin_output *po)
{
	const char *nl = strchr(out, '\n');
	size_t l1 = nl ? (size_t)(nl - out) : strlen(out);
	const char *bar = memchr(out, '|', l1);
	size_t perf_cap = strlen(out) + 2;
	char *perf = xcalloc(1, perf_cap);
	po->summary = exec_clean(out, bar ? (size_t)(bar - out) : l1);
	if (bar)
		strncat(perf, bar + 1, l1 - (size_t)(bar + 1 - out));

	const char *rest = nl ? nl + 1 : "";
	const char *bar2 = strchr(rest, '|');
	size_t long_len = bar2 ? (size_t)(bar2 - rest) : strlen(rest);
	if (bar2) {
		if (*perf)
			strcat(perf, " ");
		strcat(perf, bar2 + 1);
	}
	while (long_len && (rest[long_len - 1] == '\n' || rest[long_len - 1] == ' '))
		long_len--;
	po->long_truncated = long_len > EXEC_LONG_MAX;
	if (po->long_truncated)
		long_len = EXEC_LONG_MAX;
	po->long_text = xmalloc(long_len + 1);
	memcpy(po->long_text, rest, long_len);
	po->long_text[long_len] = '\0';
	/* The raw perfdata on one line, blanks collapsed. */
	char *t = exec_clean(perf, strlen(perf));
	size_t o = 0;
	for (size_t i = 0; t[i]; i++)
		if (t[i] != ' ' || (o && t[o - 1] != ' '))
			t[o++] = t[i];
	while (o && t[o - 1] == ' ')
		o--;
	t[o] = '\0';
	free(perf);
	po->perf_raw = t;
}

void plugin_output_release(struct plugin_output *po)
{
	free(po->summary);
	free(po->perf_raw);
	free(po->long_text);
}

static const char *nagios_state_name(int code)
{
	switch (code) {
	case 0:
		return "OK";
	case 1:
		return "WARNING";
	case 2:
		return "CRITICAL";
	case 3:
		return "UNKNOWN";
	default:
		return NULL;
	}
}

/* Details common to both protocols. */
static void add_common_details(json_t *d, const struct proc_result *pr, const char *protocol)
{
	json_object_set_new(d, "protocol", json_string(protocol));
	json_object_set_new(d, "duration_ms", json_real(pr->duration_ms));
	if (pr->exited)
		json_object_set_new(d, "exit_code", json_integer(pr->exit_code));
	if (pr->signaled) {
		json_object_set_new(d, "signal", json_integer(pr->term_signal));
		const char *abbr = sigabbrev_np(pr->term_signal);
		if (abbr)
			json_object_set_new(d, "signal_name", json_string_nocheck(abbr));
	}
	if (pr->out_truncated)
		json_object_set_new(d, "output_truncated", json_true());
	char *tail = proc_tail(pr->err, EXEC_TAIL_MAX);
	if (*tail)
		json_object_set_new(d, "stderr", jstr(tail));
	free(tail);
}

/* The end of the command that was not a normal exit: an error. */
static int judge_abnormal(const struct proc_result *pr, const char *tool, int64_t timeout_ms,
                          struct gate_result *res)
{
	if (!pr->started) {
		gate_result_set(res, GATE_ERROR, "%s", proc_describe(pr, tool));
		return 1;
	}
	if (pr->timed_out) {
		char d[32];
		check_fmt_timeout(timeout_ms, d, sizeof(d));
		json_object_set_new(res->details, "timed_out", json_true());
		gate_result_set(res, GATE_ERROR, "%s: timed out after %s (killed)", tool, d);
		return 1;
	}
	if (pr->signaled) {
		const char *abbr = sigabbrev_np(pr->term_signal);
		gate_result_set(res, GATE_ERROR, "%s: killed by signal %d (SIG%s)", tool,
		                pr->term_signal, abbr ? abbr : "?");
		return 1;
	}
	if (!pr->exited) {
		gate_result_set(res, GATE_ERROR, "%s: ended in an unknown way", tool);
		return 1;
	}
	return 0;
}

static void judge_nagios(const struct proc_result *pr, const char *tool, int warning_passes,
                         struct gate_result *res)
{
	struct plugin_output po;
	plugin_output_parse(pr->out, &po);
	json_t *d = res->details;
	const char *state = nagios_state_name(pr->exit_code);
	json_object_set_new(d, "state", json_string(state ? state : "UNKNOWN"));
	if (*po.perf_raw) {
		json_object_set_new(d, "perfdata_raw", jstr(po.perf_raw));
		json_object_set_new(d, "perfdata", perf_parse(po.perf_raw));
	}
	if (*po.long_text) {
		json_object_set_new(d, "long_output", jstr(po.long_text));
		if (po.long_truncated)
			json_object_set_new(d, "long_output_truncated", json_true());
	}
	/* A plugin that printed nothing on stdout: say so, with stderr. */
	char *line = *po.summary ? xstrdup(po.summary) : NULL;
	if (!line) {
		char *e = exec_last_line(pr->err);
		line = e ? xasprintf("no output (stderr: %s)", e) : xstrdup("no output");
		free(e);
	}
	switch (pr->exit_code) {
	case 0:
		gate_result_set(res, GATE_PASS, "%s", line);
		break;
	case 1:
		/* A failure unless the check says `warning: pass`; either way
		 * the summary shows it is a warning (most plugins already start
		 * with "WARNING", so do not say it twice). */
		json_object_set_new(d, "warning", json_true());
		gate_result_set(res, warning_passes ? GATE_PASS : GATE_FAIL, "%s%s",
		                strncmp(line, "WARNING", 7) ? "WARNING: " : "", line);
		break;
	case 2:
		gate_result_set(res, GATE_FAIL, "%s", line);
		break;
	case 3:
		gate_result_set(res, GATE_ERROR, "%s", line);
		break;
	default:
		gate_result_set(res, GATE_ERROR, "%s: exited %d (not a plugin state): %s", tool,
		                pr->exit_code, line);
		break;
	}
	free(line);
	plugin_output_release(&po);
}

static void judge_exit(const struct proc_result *pr, struct gate_result *res)
{
	if (pr->exit_code == 0) {
		gate_result_set(res, GATE_PASS, "exited 0");
		return;
	}
	char *why = exec_last_line(pr->err);
	if (!why)
		why = exec_last_line(pr->out);
	if (why)
		gate_result_set(res, GATE_FAIL, "exited %d: %s", pr->exit_code, why);
	else
		gate_result_set(res, GATE_FAIL, "exited %d", pr->exit_code);
	free(why);
}

/* gate_result_set cuts the summary at its size, maybe inside a character:
 * a sequence left incomplete at the very end goes (what followed it is
 * gone anyway).  Every other byte is valid already (the output was made
 * valid first; argv[0] comes from the runbook, which is UTF-8), and
 * whatever is not becomes "\xff" as anywhere else. */
static void summary_fix(struct gate_result *res)
{
	char *s = res->summary;
	size_t n = strlen(s), b = n, len;
	while (b > 0 && n - b < 3 && ((unsigned char)s[b - 1] & 0xc0) == 0x80)
		b--;
	if (n == sizeof(res->summary) - 1 && b > 0 && (unsigned char)s[b - 1] >= 0xc0 &&
	    text_utf8_decode(s + b - 1, n - b + 1, &len) < 0)
		s[b - 1] = '\0';
	char *t = text_utf8_valid(s);
	n = strlen(t);
	if (n >= sizeof(res->summary)) {
		n = sizeof(res->summary) - 1;
		while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(s, t, n);
	s[n] = '\0';
	free(t);
}

void exec_judge(const struct proc_result *pr, const struct exec_judge_params *p,
                struct gate_result *res)
{
	/* The facts as text JSON can carry; the rest of pr as it is. */
	struct proc_result v = *pr;
	v.out = text_utf8_valid(pr->out);
	v.err = text_utf8_valid(pr->err);
	v.out_len = strlen(v.out);
	v.err_len = strlen(v.err);
	add_common_details(res->details, &v, p->nagios ? "nagios" : "exit");
	if (!judge_abnormal(&v, p->tool, p->timeout_ms, res)) {
		if (p->nagios)
			judge_nagios(&v, p->tool, p->warning_passes, res);
		else
			judge_exit(&v, res);
	}
	summary_fix(res);
	free(v.out);
	free(v.err);
}

/* ---- recorded facts ---- */

int exec_facts_read(const char *head, const char *out, const char *err, struct proc_result *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->started = 1;
	pr->out = (char *)out;
	pr->err = (char *)err;
	pr->out_len = strlen(out);
	pr->err_len = strlen(err);
	int ended = 0;
	const char *p = head;
	for (;;) {
		char key[16];
		double num = 0;
		int used = 0;
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '#') {
			p += strcspn(p, "\n");
			continue;
		}
		if (!*p)
			break;
		if (sscanf(p, "%15s %lf%n", key, &num, &used) != 2 || !(num >= 0 && num <= 1e9))
			return -1;
		p += used;
		if (!strcmp(key, "exit"))
			pr->exited = 1, pr->exit_code = (int)num, ended++;
		else if (!strcmp(key, "signal"))
			pr->signaled = 1, pr->term_signal = (int)num, ended++;
		else if (!strcmp(key, "timeout"))
			pr->timed_out = 1, pr->signaled = 1, pr->term_signal = (int)num, ended++;
		else if (!strcmp(key, "errno"))
			pr->started = 0, pr->exec_errno = (int)num, ended++;
		else if (!strcmp(key, "truncated"))
			pr->out_truncated = num != 0;
		else if (!strcmp(key, "ms"))
			pr->duration_ms = num;
		else
			return -1;
	}
	return ended == 1 ? 0 : -1;
}
