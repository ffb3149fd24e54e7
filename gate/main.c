/* SPDX-License-Identifier: MIT */
/*
 * gate's command line.  `gate run` reads top to bottom like doas's main:
 *
 *   options -> check types -> runbook -> command allowed? -> checks ->
 *   policy -> on allow, what the runbook holds (gate/cli_hold.c: locks,
 *   re-check, confirm, maintenance on) -> audit (may turn allow into
 *   block) -> report -> exec -> maintenance off -> audit of the result ->
 *   locks let go -> exit with the command's status.
 *
 * exec_command() is called in exactly one place, cli_run_command(), which
 * only hold_run's exec step calls, and only when ev.allow is set after the
 * audit record.  Everything here prints; the library
 * code below it never does.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "checks/builtin.h"
#include "cli.h"
#include "exec.h"
#include "msg.h"
#include "outfile.h"
#include "policy.h"
#include "redact.h"
#include "registry.h"
#include "registry_holds.h"
#include "report.h"
#include "kit/timefmt.h"
#include "runbook.h"
#include "runner.h"
#include "window.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"
#include "kit/text.h"

void cli_session_release(struct cli_session *s)
{
	if (s->have_ev)
		eval_release(&s->ev);
	if (s->have_rb)
		runbook_release(&s->rb);
	if (s->have_reg)
		registry_release(&s->reg);
	memset(s, 0, sizeof(*s));
}

/* ---- check types ---- */

void cli_registry_load(struct gate_registry *reg, const struct cli_opts *o)
{
	registry_init(reg);
	/* gate's check families, by the index of their types built with the
	 * program (the core names none of them): each is loaded the first
	 * time one of its types is looked up. */
	registry_add_families(reg, gate_family_index, NULL);
	/* And the lock and maintenance kinds: gate's part part-holds.so,
	 * loaded when a runbook or a command names a kind. */
	registry_add_holds_part(reg);
	for (size_t i = 0; i < o->nmodule_paths; i++)
		registry_load_dir(reg, o->module_paths[i]);
	const char *env = getenv("GATE_MODULE_PATH");
	if (env && *env) {
		char *copy = xstrdup(env), *save = NULL;
		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
			registry_load_dir(reg, d);
		free(copy);
	}
	registry_load_dir(reg, GATE_MODULE_DIR);
	/* A module that failed to load is no reason to stop (other runbooks
	 * do not need it), but it is never silent: its checks will error. */
	for (size_t i = 0; i < reg->nfailures && !o->quiet; i++)
		msg_warn("%s", reg->failures[i].why);
}

/* ---- the runbook ---- */

int cli_load_runbook(struct cli_session *s, const char *path, int strict)
{
	struct runbook_load_opts lo = {s->o->vars, s->o->nvars, strict};
	struct gate_error err = {0};
	cli_registry_load(&s->reg, s->o);
	s->have_reg = 1;
	/* A module that is not trusted (trust.h) was not opened; when checks
	 * are to run, it is refused like an untrusted runbook. */
	int untrusted = 0;
	for (size_t i = 0; strict && i < s->reg.nfailures; i++) {
		const struct gate_registry_failure *f = &s->reg.failures[i];
		if (!f->untrusted)
			continue;
		untrusted = 1;
		/* the reason and the fix were a warning already, unless -q */
		if (s->o->quiet)
			msg_error("%s", f->why);
		msg_error("%s is in the module path and not trusted: refusing to run checks",
		          f->path);
	}
	if (untrusted)
		return EXIT_CONFIG;
	s->have_rb = 1;
	if (runbook_load(&s->rb, path, &lo, &s->reg, &err) < 0) {
		msg_gate_error(&err);
		return EXIT_CONFIG;
	}
	for (size_t i = 0; s->rb.secrets && s->rb.secrets[i]; i++)
		if (redact_register_secret(s->rb.secrets[i]) < 0) {
			/* The loader refuses such values; never go on unmasked. */
			msg_error("%s: a secret value cannot be masked in reports", path);
			return EXIT_CONFIG;
		}
	for (size_t i = 0; s->rb.warnings && s->rb.warnings[i]; i++)
		msg_warn("%s", s->rb.warnings[i]);
	return 0;
}

/* The command that runs (or would): after `--`, else the runbook's. */
static int pick_command(struct cli_session *s, const char *cmdname, char **given, char ***out)
{
	*out = given && given[0] ? given : s->rb.command;
	if (!*out || !(*out)[0])
		return cli_usage_error(cmdname,
		                       "no command: give one after '--' or set 'command:' in %s",
		                       s->rb.path ? s->rb.path : "the runbook");
	if (s->rb.allow_commands && !runbook_command_allowed(&s->rb, *out)) {
		char *joined = strv_join(*out, " ");
		char *shown = redact_string(joined);
		msg_error("%s: command '%s' matches none of allow_commands; nothing was run",
		          s->rb.path, shown);
		free(shown);
		free(joined);
		return EXIT_CONFIG;
	}
	return 0;
}

/* ---- the progress line (stderr, terminals only) ---- */

struct progress {
	int enabled;
	int drawn;
};

static void progress_draw(const struct runner_progress *p, void *ud)
{
	struct progress *pr = ud;
	if (p->done >= p->total) {
		if (pr->drawn)
			fputs("\r\033[K", stderr);
		pr->drawn = 0;
		return;
	}
	struct winsize ws;
	size_t cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 ? ws.ws_col : 80;
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%zu/%zu done", p->done, p->total);
	size_t width = sb.len; /* columns used so far; the text is ASCII but "·" */
	for (size_t i = 0; i < p->nrunning; i++) {
		char item[256];
		char *id = text_safe(p->running_ids[i], TEXT_ONE_LINE);
		int n = snprintf(item, sizeof(item), "%s %llds", id,
		                 (long long)(p->running_ms[i] / 1000));
		free(id);
		size_t w = (n > 0 ? (size_t)n : 0) + 3;
		if (width + w >= cols - 1)
			break;
		strbuf_adds(&sb, " \xc2\xb7 ");
		strbuf_adds(&sb, item);
		width += w;
	}
	fprintf(stderr, "\r\033[K%s", sb.buf);
	fflush(stderr);
	pr->drawn = 1;
	strbuf_release(&sb);
}

/* ---- evaluation ---- */

void cli_evaluate_into(struct cli_session *s, struct eval *ev, struct window_facts *wf,
                       const struct runbook *rb, enum eval_mode mode, char **command)
{
	const struct cli_opts *o = s->o;
	struct progress pr = {isatty(STDERR_FILENO) && !o->quiet, 0};
	eval_init(ev, rb, mode);
	ev->command = strv_dup(command);
	ev->started_at_ms = ev->now_ms = gate_now_ms();
	if (o->noverrides) {
		ev->overrides = xcalloc(o->noverrides, sizeof(*ev->overrides));
		for (size_t i = 0; i < o->noverrides; i++)
			ev->overrides[i].id = o->overrides[i];
		ev->noverrides = o->noverrides;
	}
	ev->override_reason = o->reason;

	struct runner_opts ro = {
		.jobs = o->jobs,
		.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : rb->timeout_ms,
		.verbose = o->verbose,
		.progress = pr.enabled ? progress_draw : NULL,
		.progress_ud = &pr,
		.stopped_by = o->stopped_by,
	};
	int64_t t0 = gate_mono_ms();
	runner_run(ev, &ro);
	/* Local time is worked out here, by the window module; the policy
	 * takes it as values. */
	window_facts_at(rb->windows, rb->nwindows, ev->now_ms, wf);
	policy_decide(ev, wf);
	ev->duration_ms = (double)(gate_mono_ms() - t0);
}

static void evaluate_once(struct cli_session *s, enum eval_mode mode, char **command)
{
	s->have_ev = 1;
	cli_evaluate_into(s, &s->ev, &s->wf, &s->rb, mode, command);
}

/* Evaluate; with --wait, again every --interval while blocked, until the
 * wait is over.  The last evaluation stays in s->ev. */
static void evaluate(struct cli_session *s, enum eval_mode mode, char **command)
{
	const struct cli_opts *o = s->o;
	int64_t wait_end = gate_mono_ms() + o->wait_ms;
	for (int attempt = 1;; attempt++) {
		evaluate_once(s, mode, command);
		if (s->ev.allow || o->wait_ms <= 0)
			return;
		int64_t next = gate_mono_ms() + o->interval_ms;
		char dur[32];
		const char *why = s->ev.reasons && s->ev.reasons[0] ? s->ev.reasons[0] : "blocked";
		if (next > wait_end) {
			fmt_duration_ms(o->wait_ms, dur, sizeof(dur));
			if (!o->quiet)
				msg_note("attempt %d: blocked (%s); gave up after waiting %s",
				         attempt, why, dur);
			return;
		}
		fmt_duration_ms(o->interval_ms, dur, sizeof(dur));
		if (!o->quiet)
			msg_note("attempt %d: blocked (%s); next attempt in %s", attempt, why, dur);
		eval_release(&s->ev);
		s->have_ev = 0;
		gate_sleep_until(next);
	}
}

/* ---- audit ---- */

/* Write one audit record.  When the runbook requires the audit and a
 * sink failed, an allow becomes a block (policy_decide is run again with
 * ev.audit_failed set, so the reasons say why) and a second decision
 * record tells the journal/file what really happened. */
/* PATH with its directory resolved (the file itself may not exist yet),
 * or NULL when the directory cannot be resolved. */
static char *path_in_real_dir(const char *path)
{
	char *copy = xstrdup(path), *slash = strrchr(copy, '/');
	const char *dir = ".", *base = copy;
	if (slash) {
		*slash = '\0';
		dir = slash == copy ? "/" : copy;
		base = slash + 1;
	}
	char *real = realpath(dir, NULL);
	char *r = real ? xasprintf("%s/%s", real, base) : NULL;
	free(real);
	free(copy);
	return r;
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	if (!strcmp(a, b))
		return 1;
	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	char *ra = path_in_real_dir(a), *rb = path_in_real_dir(b);
	int same = ra && rb && !strcmp(ra, rb);
	free(ra);
	free(rb);
	return same;
}

/* The audit files: the runbook's audit.file, and --audit-log as one more
 * (never instead: a file the runbook requires is always written).  The
 * same file named twice gets each record once. */
static void audit_files(const struct cli_session *s, const char *files[3])
{
	size_t n = 0;
	const char *rb = s->rb.audit_file, *opt = s->o->audit_log;
	if (rb)
		files[n++] = rb;
	if (opt && !(rb && same_file(rb, opt)))
		files[n++] = opt;
	files[n] = NULL;
}

void cli_audit(struct cli_session *s, enum audit_kind kind)
{
	static int journal_warned;
	const char *files[3];
	audit_files(s, files);
	const char *file = files[0];
	struct audit_status st = {0};
	struct gate_error err = {0};
	char buf[2048];
	int rc = audit_record_files(&s->ev, kind, files, &st, &err);
	int required = s->rb.audit_required;

	if (!st.journal_ok && !journal_warned) {
		journal_warned = 1;
		if (required)
			msg_error("no systemd journal is reachable, and %s requires the audit",
			          s->rb.path);
		else
			msg_warn("no systemd journal is reachable: audit records are %s",
			         !file      ? "not kept"
			         : files[1] ? "written to the audit files only"
			                    : "written to the audit file only");
	}
	if (file && !st.file_ok)
		(required ? msg_error : msg_warn)(
			"audit file %s: %s", st.failed_file ? st.failed_file : file,
			err.set ? gate_error_format(&err, buf, sizeof(buf)) : "not written");
	int failed = rc < 0 || !st.journal_ok || (file && !st.file_ok);
	if (!required || !failed || kind != AUDIT_DECISION || !s->ev.allow)
		return;

	s->ev.audit_failed = 1;
	snprintf(s->ev.audit_error, sizeof(s->ev.audit_error), "%s",
	         file && !st.file_ok ? (err.set ? gate_error_format(&err, buf, sizeof(buf))
	                                        : "the audit file could not be written")
	                             : "no systemd journal is reachable");
	policy_decide(&s->ev, &s->wf);
	struct audit_status st2 = {0};
	struct gate_error err2 = {0};
	audit_record_files(&s->ev, AUDIT_DECISION, files, &st2, &err2);
}

/* ---- reports ---- */

static int color_wanted(const struct cli_opts *o)
{
	return !o->no_color && !getenv("NO_COLOR") && isatty(STDOUT_FILENO);
}

/* -o FILE: written whole to a new file beside it, then renamed, so a
 * reader never sees half; never through a symbolic link (outfile.h). */
int cli_write_json_file(const struct eval *ev, const char *path)
{
	/* the same text as -f json: DEL and C1 escaped, which jansson leaves raw */
	char *text = report_json_string(ev, 1);
	struct gate_error err = {0};
	char buf[2048];
	int rc = outfile_replace(path, text, strlen(text), &err);
	if (rc < 0)
		msg_error("cannot write the report: %s", gate_error_format(&err, buf, sizeof(buf)));
	free(text);
	return rc;
}

void cli_report(struct cli_session *s)
{
	const struct cli_opts *o = s->o;
	struct report_opts ro = {o->format, color_wanted(o), o->verbose, o->quiet};
	if (report_write(stdout, &s->ev, &ro) < 0 || fflush(stdout) == EOF)
		msg_error("cannot write the report to stdout");
	if (o->output)
		cli_write_json_file(&s->ev, o->output);
}

/* The status of an evaluation that ran no command. */
int cli_decision_status(const struct cli_session *s)
{
	if (s->o->format == REPORT_NAGIOS)
		return report_nagios_status(&s->ev);
	return s->ev.allow ? EXIT_ALLOWED : s->o->blocked_exit;
}

/* -o must be writable before anything is evaluated, and is emptied now:
 * whatever stops gate before the report is written (an invalid runbook,
 * a kill), a pipeline reading it never finds an earlier run's report.
 * Emptied by replacing it with an empty file, as the report will be: a
 * symbolic link or anything but a regular file is refused, untouched. */
static int check_output_writable(const char *cmdname, const char *path)
{
	if (!path)
		return 0;
	struct gate_error err = {0};
	char buf[2048];
	if (outfile_replace(path, "", 0, &err) < 0)
		return cli_usage_error(cmdname, "cannot write the report: %s",
		                       gate_error_format(&err, buf, sizeof(buf)));
	return 0;
}

/* ---- commands ---- */

int cli_evaluate(const char *runbook, enum eval_mode mode, char *const *command,
                 const struct cli_opts *o)
{
	struct cli_session s = {.o = o};
	const char *cmdname = mode == EVAL_MODE_DRY_RUN ? "run" : "check";
	char **cmd = NULL;
	int rc = check_output_writable(cmdname, o->output);
	if (rc == 0) /* checks run commands: an untrusted runbook is refused */
		rc = cli_load_runbook(&s, runbook, 1);
	if (rc == 0 && mode == EVAL_MODE_DRY_RUN)
		rc = pick_command(&s, cmdname, (char **)command, &cmd);
	else if (rc == 0)
		cmd = s.rb.command; /* `gate check` shows what would run */
	if (rc == EXIT_CONFIG && o->format == REPORT_NAGIOS) {
		/* Monitoring reads stdout and the Nagios codes: an invalid
		 * runbook is UNKNOWN there (the error is on stderr). */
		char *shown = text_safe(runbook, TEXT_ONE_LINE);
		for (char *p = strchr(shown, '|'); p; p = strchr(p, '|'))
			*p = '/'; /* no perfdata of its own */
		printf("GATE UNKNOWN - runbook %s is invalid (see gate lint)\n", shown);
		free(shown);
		rc = 3;
	}
	if (rc == 0) {
		evaluate(&s, mode, cmd);
		cli_hold_check(&s); /* takes nothing, changes nothing */
		/* gate hook run only: told before the record, which says how
		 * the telling went (a required audit that fails then blocks
		 * after all: told too) */
		int allow = s.ev.allow;
		if (o->notify)
			cli_notify(&s, allow ? NOTIFY_ALLOW : NOTIFY_BLOCK);
		cli_audit(&s, AUDIT_DECISION);
		if (o->notify && allow && !s.ev.allow)
			cli_notify(&s, NOTIFY_BLOCK);
		cli_report(&s);
		rc = cli_decision_status(&s);
	}
	cli_session_release(&s);
	return rc;
}

static int parse_one_runbook(int argc, char **argv, struct cli_opts *o, const char **runbook,
                             char ***cmd)
{
	char **pos;
	size_t npos;
	int rc = cli_parse_opts(argc, argv, o, &pos, &npos, cmd);
	if (rc < 0 && npos != 1)
		rc = npos ? cli_usage_error(argv[0],
		                            "one runbook only, got %zu arguments (a command goes "
		                            "after '--')",
		                            npos)
		          : cli_usage_error(argv[0], "no runbook given");
	if (rc < 0 && *cmd && !strcmp(argv[0], "check"))
		rc = cli_usage_error("check", "'gate check' runs no command; use 'gate run "
		                              "--dry-run RUNBOOK -- COMMAND'");
	*runbook = npos ? pos[0] : NULL;
	free(pos);
	return rc;
}

static int cmd_check(int argc, char **argv)
{
	struct cli_opts o;
	const char *runbook;
	char **cmd;
	cli_opts_init(&o);
	int rc = parse_one_runbook(argc, argv, &o, &runbook, &cmd);
	if (rc < 0)
		rc = cli_evaluate(runbook, EVAL_MODE_CHECK, NULL, &o);
	cli_opts_release(&o);
	return rc;
}

int cli_run_command(struct cli_session *s, char **command)
{
	int exec_errno = 0;
	double ms = 0;
	int status = exec_command(command, &exec_errno, &ms);
	if (exec_errno)
		msg_error("%s: %s", command[0],
		          exec_errno == ENOENT ? "command not found" : strerror(exec_errno));
	s->ev.have_exit_status = 1;
	s->ev.exit_status = status;
	s->ev.command_duration_ms = ms;
	return status;
}

static int cmd_run(int argc, char **argv)
{
	struct cli_opts o;
	const char *runbook;
	char **given, **command = NULL;
	struct cli_session s = {.o = &o};
	cli_opts_init(&o);

	int rc = parse_one_runbook(argc, argv, &o, &runbook, &given);
	if (rc >= 0)
		goto out; /* --help, or a usage error */
	if (o.dry_run) {
		rc = cli_evaluate(runbook, EVAL_MODE_DRY_RUN, given, &o);
		goto out;
	}
	rc = check_output_writable("run", o.output);
	if (rc == 0)
		rc = cli_load_runbook(&s, runbook, 1);
	if (rc == 0)
		rc = pick_command(&s, "run", given, &command);
	if (rc != 0)
		goto out;

	/* --wait covers the locks too: one deadline from here. */
	int64_t wait_end = gate_mono_ms() + o.wait_ms;
	evaluate(&s, EVAL_MODE_RUN, command);
	if (!s.ev.allow) {
		cli_notify(&s, NOTIFY_BLOCK); /* before the record, which says how it went */
		cli_audit(&s, AUDIT_DECISION);
		cli_report(&s);
		rc = cli_decision_status(&s);
		goto out;
	}
	/* locks, re-check, confirm, maintenance on; the audit; the command
	 * (exec_command's one call, cli_run_command); maintenance off; the
	 * result's audit; the locks let go (gate/hold_run.h) */
	rc = cli_hold_run(&s, command, wait_end);
out:
	cli_session_release(&s);
	cli_opts_release(&o);
	return rc;
}

static int cmd_help(int argc, char **argv)
{
	if (argc > 2)
		return cli_usage_error("help", "one command at a time");
	/* wrap and hook keep their help next to their code. */
	char *help[] = {argc == 2 ? argv[1] : "gate", "--help", NULL};
	if (!strcmp(help[0], "wrap"))
		return cli_wrap_main(2, help);
	if (!strcmp(help[0], "hook"))
		return cli_hook_main(2, help);
	if (!strcmp(help[0], "lock"))
		return cli_lock_main(2, help);
	if (!strcmp(help[0], "maintenance"))
		return cli_maintenance_main(2, help);
	if (!strcmp(help[0], "serve"))
		return cli_serve_main(2, help);
	return cli_help(help[0]);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
		{"run", cmd_run},
		{"check", cmd_check},
		{"lint", cli_lint_main},
		{"checks", cli_checks_main},
		{"version", cli_version_main},
		{"wrap", cli_wrap_main},
		{"hook", cli_hook_main},
		{"lock", cli_lock_main},
		{"maintenance", cli_maintenance_main},
		{"rehearse", cli_rehearse_main},
		{"serve", cli_serve_main},
		{"help", cmd_help},
	};
	/* Inherited SIGCHLD=SIG_IGN would reap checks and the command behind
	 * our back, and their statuses with them. */
	signal(SIGCHLD, SIG_DFL);
	/* Before anything holds a secret: no core dumps, no ptrace by others
	 * of our user, for gate and the check children it forks. */
	if (exec_forbid_core_dumps() < 0) {
		msg_error("cannot turn off core dumps: %s", strerror(errno));
		return EXIT_CONFIG;
	}
	if (argc < 2) {
		cli_help("gate");
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		return cli_help("gate");
	if (!strcmp(name, "--version"))
		name = "version";
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	msg_error("'%s' is not a gate command", name);
	fprintf(stderr, "see 'gate help'\n");
	return EXIT_USAGE;
}
