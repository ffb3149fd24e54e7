/* SPDX-License-Identifier: MIT */
/* The exec check family: run a command (argv, no shell) and judge it by
 * the Nagios plugin protocol or by its exit status alone.
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
 * data, kept raw and parsed into objects in `details`. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gate/module.h"
#include "exec_nagios.h"
#include "kit/timefmt.h"
#include "lib/proc.h"

#define EXEC_MAX_OUT (1u << 20)    /* stdout kept from a plugin */
#define EXEC_MAX_ERR (64u << 10)   /* stderr kept */
#define EXEC_LONG_MAX 4096         /* long output put into details */
#define EXEC_TAIL_MAX 1024         /* stderr tail put into details */

static int64_t exec_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The budget for the command: up to the core's deadline, less a margin so
 * that we kill it and say "timed out" before the core kills us. */
static int64_t exec_budget_ms(const struct gate_run_env *env)
{
	int64_t left = env->timeout_ms;
	if (env->deadline_ms > 0)
		left = env->deadline_ms - exec_mono_ms();
	if (left <= 0)
		return env->deadline_ms > 0 || env->timeout_ms > 0 ? 1 : 0;
	int64_t margin = left / 10;
	if (margin > 200)
		margin = 200;
	if (margin < 20)
		margin = left > 40 ? 20 : 0;
	return left - margin > 0 ? left - margin : 1;
}

/* Copy at most n bytes of s into a new string, control characters as
 * spaces and surrounding blanks trimmed (summaries are one line). */
static char *exec_clean(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	char *r = malloc(n + 1);
	if (!r)
		abort();
	for (size_t i = 0; i < n; i++)
		r[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	r[n] = '\0';
	return r;
}

/* The last non-blank line of s (new string), or NULL. */
static char *exec_last_line(const char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
	             s[n - 1] == '\t'))
		n--;
	if (!n)
		return NULL;
	size_t b = n;
	while (b && s[b - 1] != '\n')
		b--;
	return exec_clean(s + b, n - b);
}

/* Length of the valid UTF-8 sequence at p (RFC 3629), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* Replace every byte that is not part of valid UTF-8 by '?', in place:
 * a plugin may print Latin-1, and JSON (the report) takes only UTF-8. */
void utf8_fix(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		size_t n = utf8_seq(p);
		if (n)
			p += n;
		else
			*p++ = '?';
	}
}

/* A JSON string of s, made valid UTF-8 first. */
static json_t *jstr(const char *s)
{
	char *c = strdup(s ? s : "");
	if (!c)
		abort();
	utf8_fix(c);
	json_t *j = json_string(c);
	free(c);
	return j;
}

/* ---- parameters ---- */

static const struct gate_param exec_params[] = {
	{"command", GATE_P_STRING_LIST, GATE_PF_REQUIRED, NULL, NULL,
	 "The command as an argv list (no shell); argv[0] is searched in PATH."},
	{"protocol", GATE_P_ENUM, 0, "nagios", "nagios|exit",
	 "nagios: exit 0 OK passes, 1 WARNING fails (see warning), 2 CRITICAL "
	 "fails, 3 UNKNOWN or anything else is an error. exit: 0 passes, "
	 "anything else fails."},
	{"warning", GATE_P_ENUM, 0, "fail", "fail|pass",
	 "What a Nagios WARNING (exit 1) is: fail (any doubt blocks), or pass, "
	 "with the warning kept in the summary and details. Protocol nagios only."},
	{"env", GATE_P_STRING_MAP, 0, NULL, NULL,
	 "Extra environment variables for the command."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static int exec_validate(const json_t *params, const char **param, char *msg,
                         size_t msglen)
{
	const json_t *cmd = json_object_get(params, "command");
	if (!json_is_array(cmd) || json_array_size(cmd) == 0) {
		*param = "command";
		snprintf(msg, msglen, "must be a non-empty list (argv[0] is the program)");
		return -1;
	}
	size_t i;
	const json_t *v;
	json_array_foreach(cmd, i, v) {
		if (!json_is_string(v)) {
			*param = "command";
			snprintf(msg, msglen, "element %zu is not a string", i);
			return -1;
		}
	}
	if (json_string_length(json_array_get(cmd, 0)) == 0) {
		*param = "command";
		snprintf(msg, msglen, "argv[0] is empty");
		return -1;
	}
	const json_t *env = json_object_get(params, "env");
	if (env) {
		const char *k;
		json_object_foreach((json_t *)env, k, v) {
			if (!*k || strchr(k, '=')) {
				*param = "env";
				snprintf(msg, msglen, "invalid variable name '%s'", k);
				return -1;
			}
			if (!json_is_string(v)) {
				*param = "env";
				snprintf(msg, msglen, "value of %s is not a string", k);
				return -1;
			}
		}
	}
	return 0;
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
	char *perf = calloc(1, perf_cap);
	if (!perf)
		abort();
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
	po->long_text = malloc(long_len + 1);
	if (!po->long_text)
		abort();
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
	case 0: return "OK";
	case 1: return "WARNING";
	case 2: return "CRITICAL";
	case 3: return "UNKNOWN";
	default: return NULL;
	}
}

/* Details common to both protocols. */
static void add_common_details(json_t *d, const struct proc_result *pr,
                               const char *protocol)
{
	json_object_set_new(d, "protocol", json_string(protocol));
	json_object_set_new(d, "duration_ms", json_real(pr->duration_ms));
	if (pr->exited)
		json_object_set_new(d, "exit_code", json_integer(pr->exit_code));
	if (pr->signaled) {
		json_object_set_new(d, "signal", json_integer(pr->term_signal));
		const char *abbr = sigabbrev_np(pr->term_signal);
		if (abbr)
			json_object_set_new(d, "signal_name",
			                    json_string_nocheck(abbr));
	}
	if (pr->out_truncated)
		json_object_set_new(d, "output_truncated", json_true());
	char *tail = proc_tail(pr->err, EXEC_TAIL_MAX);
	if (*tail)
		json_object_set_new(d, "stderr", jstr(tail));
	free(tail);
}

/* The end of the command that was not a normal exit: an error. */
static int judge_abnormal(const struct proc_result *pr, const char *tool,
                          int64_t timeout_ms, struct gate_result *res)
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

static void judge_nagios(const struct proc_result *pr, const char *tool,
                         int warning_passes, struct gate_result *res)
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
	char *line = *po.summary ? strdup(po.summary) : NULL;
	if (!line) {
		char *e = exec_last_line(pr->err);
		if (e) {
			size_t n = strlen(e) + 32;
			line = malloc(n);
			if (line)
				snprintf(line, n, "no output (stderr: %s)", e);
			free(e);
		} else {
			line = strdup("no output");
		}
		if (!line)
			abort();
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
		gate_result_set(res, GATE_ERROR,
		                "%s: exited %d (not a plugin state): %s", tool,
		                pr->exit_code, line);
		break;
	}
	free(line);
	plugin_output_release(&po);
}

static void judge_exit(const struct proc_result *pr, const char *tool,
                       struct gate_result *res)
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
	(void)tool;
}

static void exec_run(const json_t *params, const struct gate_run_env *env,
                     struct gate_result *res)
{
	const json_t *cmd = json_object_get(params, "command");
	size_t argc = json_array_size(cmd);
	if (!argc) {
		gate_result_set(res, GATE_ERROR, "command: empty");
		return;
	}
	const char *protocol = gate_param_str(params, "protocol");
	if (!protocol)
		protocol = "nagios";
	int nagios = strcmp(protocol, "exit") != 0;
	const char *warning = gate_param_str(params, "warning");
	int warning_passes = warning && !strcmp(warning, "pass");

	char **argv = calloc(argc + 1, sizeof(*argv));
	const json_t *envmap = json_object_get(params, "env");
	size_t nenv = json_is_object(envmap) ? json_object_size(envmap) : 0;
	char **env_add = calloc(nenv + 1, sizeof(*env_add));
	if (!argv || !env_add)
		abort();
	for (size_t i = 0; i < argc; i++) {
		const char *a = json_string_value(json_array_get(cmd, i));
		argv[i] = (char *)(a ? a : "");
	}
	size_t k = 0;
	if (nenv) {
		const char *name;
		const json_t *v;
		json_object_foreach((json_t *)envmap, name, v) {
			const char *val = json_string_value(v);
			size_t n = strlen(name) + (val ? strlen(val) : 0) + 2;
			env_add[k] = malloc(n);
			if (!env_add[k])
				abort();
			snprintf(env_add[k], n, "%s=%s", name, val ? val : "");
			k++;
		}
	}

	struct proc_opts opts = {
		.timeout_ms = exec_budget_ms(env),
		.max_out = EXEC_MAX_OUT,
		.max_err = EXEC_MAX_ERR,
		.env_add = env_add,
	};
	struct proc_result pr;
	proc_run(argv, &opts, &pr);
	const char *tool = argv[0];
	utf8_fix(pr.out);
	utf8_fix(pr.err);
	add_common_details(res->details, &pr, protocol);
	if (!judge_abnormal(&pr, tool, env->timeout_ms, res)) {
		if (nagios)
			judge_nagios(&pr, tool, warning_passes, res);
		else
			judge_exit(&pr, tool, res);
	}
	/* The summary may have been cut inside a character. */
	utf8_fix(res->summary);
	proc_result_release(&pr);
	for (size_t i = 0; i < k; i++)
		free(env_add[i]);
	free(env_add);
	free(argv);
}

static const struct gate_check_type exec_types[] = {
	{
		"exec",
		"run a command; judge it as a Nagios plugin or by its exit status",
		"Runs `command` (an argv list, no shell) with the check's deadline; "
		"the whole process group is killed when it runs out. With protocol "
		"nagios (Monitoring Plugins), the first output line is the summary "
		"and performance data after `|` is parsed into details; a WARNING "
		"fails unless `warning: pass`; with protocol exit, exit status 0 "
		"passes. A command that is not installed, is killed by a signal or "
		"times out is an error.",
		exec_params,
		exec_validate,
		exec_run,
	},
};

const struct gate_module gate_builtin_exec = {
	GATE_ABI_VERSION, "exec", "1.0.0", exec_types,
	sizeof(exec_types) / sizeof(exec_types[0]),
};
