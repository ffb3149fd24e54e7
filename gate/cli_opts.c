/* SPDX-License-Identifier: MIT */
/* Options of the evaluating commands (doc/gate.1, OPTIONS) and the help
 * texts.  getopt_long with "+": everything after `--` belongs to the
 * wrapped command, never to gate. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "msg.h"
#include "runbook.h"
#include "kit/alloc.h"

void cli_opts_init(struct cli_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->format = REPORT_TEXT;
	o->timeout_ms = -1;
	o->jobs = 0;
	o->blocked_exit = EXIT_BLOCKED;
	o->interval_ms = 30 * 1000;
}

void cli_opts_release(struct cli_opts *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nvars; i++)
		free((char *)o->vars[i].name);
	free(o->vars);
	free(o->overrides);
	free(o->module_paths);
	memset(o, 0, sizeof(*o));
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	msg_error("%s", buf);
	fprintf(stderr, "see 'gate %s --help'\n", cmd);
	return EXIT_USAGE;
}

/* ---- help ---- */

static const char help_common_opts[] =
	"  -f, --format FMT       report on stdout: text (default), json, junit, tap, nagios\n"
	"  -o, --output FILE      also write the JSON report to FILE (any --format):\n"
	"                         a new file renamed over it; a symbolic link or a\n"
	"                         non-regular FILE is refused\n"
	"      --var NAME=VALUE   set or replace a runbook variable (repeatable)\n"
	"      --override ID      waive the failing check ID if the runbook marks it\n"
	"                         overridable: true (repeatable; needs --reason)\n"
	"      --reason TEXT      why the overrides are taken (recorded in the audit)\n"
	"      --timeout DUR      overall deadline for all checks (replaces the\n"
	"                         runbook's timeout), e.g. 90s, 2m, 1h30m; every\n"
	"                         DUR is at most 365d\n"
	"  -j, --jobs N           at most N checks at once (default: all at once)\n"
	"      --module-path DIR  load external check modules from DIR (repeatable;\n"
	"                         then GATE_MODULE_PATH, colon-separated, then\n"
	"                         " GATE_MODULE_DIR ")\n"
	"      --audit-log FILE   one more JSON-lines audit file, in addition to the\n"
	"                         runbook's audit.file, never instead of it\n"
	"                         (audit.required applies to both)\n"
	"      --blocked-exit N   exit status for a block, 1-255 (default 75)\n"
	"  -q, --quiet            only failures and the decision\n"
	"  -v, --verbose          details of passing checks too\n"
	"      --no-color         no colours (also when NO_COLOR is set or stdout\n"
	"                         is not a terminal)\n"
	"  -h, --help             this text\n";

static const char help_audit[] =
	"Every decision (and, for run, the command's result) is recorded in the\n"
	"systemd journal and in the JSON-lines audit files (the runbook's audit.file\n"
	"and --audit-log, each a regular file, never through a symbolic link),\n"
	"fsync'd before the command starts.  When no journal is reachable gate says\n"
	"so once and goes on, unless the runbook sets audit.required: true: then an\n"
	"allow becomes a block (75) unless the record reached the journal and every\n"
	"audit file.\n";

static const char help_status[] =
	"Exit status:\n"
	"  0        allowed (check, --dry-run), or the command exited 0 (run)\n"
	"  75       blocked: a blocking check failed or could not be evaluated, outside\n"
	"           every window, inside a freeze, or a required audit record could not\n"
	"           be written; the command did not run (--blocked-exit changes it)\n"
	"  78       the runbook is invalid (parse/schema error, unknown check type,\n"
	"           bad duration, unknown variable, command not in allow_commands,\n"
	"           loose file permissions for run); nothing ran\n"
	"  64       bad command line\n";

static void help_run(void)
{
	printf("usage: gate run [OPTIONS] RUNBOOK [-- COMMAND [ARG...]]\n"
	       "\n"
	       "Run the runbook's checks; if the decision is allow, record it in the audit\n"
	       "and execute COMMAND (or the runbook's `command:`) directly with execvp, never\n"
	       "through a shell.  gate waits for it, forwards SIGINT, SIGTERM, SIGHUP and\n"
	       "SIGQUIT to it, records its status and exits with it.  The command runs once\n"
	       "or not at all.  If the runbook has allow_commands, COMMAND must match one of\n"
	       "them (else 78, before any check runs).  Runbook files writable by group or\n"
	       "others are refused (78).\n"
	       "\n"
	       "Options:\n"
	       "      --dry-run          exactly `gate check`, the report names the command;\n"
	       "                         nothing is executed\n"
	       "      --wait DUR         while blocked, evaluate again every --interval until\n"
	       "                         allowed (then run the command) or DUR has passed\n"
	       "                         (then exit blocked, with the last report); a line\n"
	       "                         per attempt on stderr unless -q; only the final\n"
	       "                         decision is audited\n"
	       "      --interval DUR     time between --wait attempts (default 30s)\n"
	       "      --confirm HOSTNAME the runbook's confirm: without a terminal: HOSTNAME\n"
	       "                         must name this host (else blocked, 75)\n"
	       "%s"
	       "\n"
	       "While checks run and stderr is a terminal, one progress line is shown\n"
	       "there (not with -q).\n"
	       "\n"
	       "%s"
	       "\n"
	       "%s"
	       "  126      allowed, but COMMAND could not be executed\n"
	       "  127      allowed, but COMMAND was not found\n"
	       "  other    COMMAND's own exit status; 128+N when killed by signal N\n"
	       "  With --format nagios, a block exits with the Nagios status (2, or 3 when\n"
	       "  nothing could be evaluated) instead of 75.\n"
	       "\n"
	       "Example:\n"
	       "  gate run runbooks/pg-minor-upgrade.yaml -- apt-get install -y postgresql-15\n"
	       "  gate run --override disk --reason 'INC-1234: disk alert is a known false "
	       "positive' rb.yaml\n",
	       help_common_opts, help_audit, help_status);
}

static void help_check(void)
{
	printf("usage: gate check [OPTIONS] RUNBOOK\n"
	       "\n"
	       "The on-call dry run: run every check of RUNBOOK for real, decide allow or\n"
	       "block, report and audit the decision, and execute nothing.  Loose file\n"
	       "permissions are only warned about.\n"
	       "\n"
	       "Options:\n"
	       "%s"
	       "\n"
	       "%s"
	       "\n"
	       "%s"
	       "  With --format nagios the status is Nagios's: 0 OK (allow), 1 WARNING (allow\n"
	       "  with warnings), 2 CRITICAL (block), 3 UNKNOWN.\n"
	       "\n"
	       "Example:\n"
	       "  gate check -f json -o /var/tmp/gate-report.json runbooks/pg-minor-upgrade.yaml\n",
	       help_common_opts, help_audit, help_status);
}

static void help_lint(void)
{
	printf("usage: gate lint [OPTIONS] RUNBOOK...\n"
	       "\n"
	       "Parse and validate each RUNBOOK (and the policies it includes) without\n"
	       "running any check or contacting anything: YAML, keys, check types and\n"
	       "their parameters, durations, variables, windows and freezes.  Each error\n"
	       "is printed as file:line:col: message.  Files writable by group or others\n"
	       "are warned about.  A git-hook configuration (.gate/hooks.yaml) is\n"
	       "recognised and validated too, and so is a policy (a file to include):\n"
	       "one with only a window or a freeze is ok for lint, not for run or check.\n"
	       "\n"
	       "Options:\n"
	       "      --var NAME=VALUE   set or replace a runbook variable (repeatable)\n"
	       "      --module-path DIR  load external check modules from DIR (repeatable)\n"
	       "  -q, --quiet            print nothing for valid files\n"
	       "  -v, --verbose          also list each file's checks\n"
	       "      --no-color         accepted for symmetry; lint prints no colours\n"
	       "  -h, --help             this text\n"
	       "\n"
	       "Exit status:\n"
	       "  0        every file is valid\n"
	       "  78       at least one file is invalid\n"
	       "  64       bad command line\n"
	       "\n"
	       "Example:\n"
	       "  gate lint runbooks/*.yaml .gate/hooks.yaml /usr/share/gate/policies/*.yaml\n");
}

static void help_checks(void)
{
	printf("usage: gate checks [--module-path DIR]... [TYPE]\n"
	       "\n"
	       "Without TYPE, list every check type gate knows (built in, and from module\n"
	       "directories) with its one-line summary.  With TYPE, describe it: what it\n"
	       "does and a table of its parameters (name, type, default, required, doc),\n"
	       "taken from the module's own parameter table.\n"
	       "\n"
	       "Exit status:\n"
	       "  0        listed\n"
	       "  64       bad command line, or no such type\n"
	       "\n"
	       "Example:\n"
	       "  gate checks postgres.replication\n");
}

static void help_version(void)
{
	printf("usage: gate version\n"
	       "\n"
	       "Print gate's version and the check-module ABI version it provides\n"
	       "(major.minor: a module built for 1.N loads into every gate of 1.M, M >= N).\n"
	       "\n"
	       "Exit status: 0\n");
}

static void help_gate(void)
{
	printf("usage: gate COMMAND [OPTIONS] [ARGS]\n"
	       "\n"
	       "gate stands between a person (or a pipeline) and a dangerous maintenance\n"
	       "command: it reads a runbook, runs its checks, decides allow or block, and\n"
	       "only on allow runs the command.  Any doubt blocks.\n"
	       "\n"
	       "Commands:\n"
	       "  run     [OPTIONS] RUNBOOK [-- COMMAND [ARG...]]   check, then run the command\n"
	       "  check   [OPTIONS] RUNBOOK                         evaluate and report only\n"
	       "  lint    [OPTIONS] RUNBOOK...                      validate, contact nothing\n"
	       "  checks  [TYPE]                                    list / describe check types\n"
	       "  rehearse [OPTIONS] RUNBOOK                        restore rehearsals, recorded\n"
	       "  wrap    install|list|remove ...                   guard commands on PATH\n"
	       "  hook    run|install ...                           guard git pushes\n"
	       "  lock    status|release [OPTIONS] RUNBOOK          who holds a runbook's locks\n"
	       "  maintenance resume [OPTIONS] RUNBOOK              undo what a killed run left "
	       "on\n"
	       "  serve   [--listen ADDR:PORT] RUNBOOK...           decisions over HTTP, metrics\n"
	       "  version                                           versions of gate and its ABI\n"
	       "  help    [COMMAND]                                 this text, or a command's\n"
	       "\n"
	       "`gate COMMAND --help` describes every option and exit status.\n"
	       "\n"
	       "Exit status: 0 allowed/valid, 75 blocked, 78 invalid runbook, 64 bad\n"
	       "command line, 126/127 command not executable/not found, else the command's.\n"
	       "\n"
	       "Example:\n"
	       "  gate check runbooks/pg-minor-upgrade.yaml\n"
	       "  gate run runbooks/pg-minor-upgrade.yaml -- apt-get install -y postgresql-15\n");
}

int cli_help(const char *cmd)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} helps[] = {
		{"gate", help_gate}, {"run", help_run},       {"check", help_check},
		{"lint", help_lint}, {"checks", help_checks}, {"version", help_version},
		{"help", help_gate},
	};
	if (!strcmp(cmd, "rehearse")) { /* gate/cli_rehearse.c */
		cli_rehearse_help();
		return 0;
	}
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		if (!strcmp(cmd, helps[i].name)) {
			helps[i].fn();
			return 0;
		}
	}
	msg_error("no help for '%s': not a gate command", cmd);
	fprintf(stderr, "see 'gate help'\n");
	return EXIT_USAGE;
}

/* ---- parsing ---- */

enum {
	OPT_VAR = 256,
	OPT_OVERRIDE,
	OPT_REASON,
	OPT_TIMEOUT,
	OPT_MODULE_PATH,
	OPT_AUDIT_LOG,
	OPT_BLOCKED_EXIT,
	OPT_NO_COLOR,
	OPT_DRY_RUN,
	OPT_WAIT,
	OPT_INTERVAL,
	OPT_CONFIRM,
	OPT_STATE_DIR,
};

static const struct option longopts[] = {
	{"format", required_argument, NULL, 'f'},
	{"output", required_argument, NULL, 'o'},
	{"var", required_argument, NULL, OPT_VAR},
	{"override", required_argument, NULL, OPT_OVERRIDE},
	{"reason", required_argument, NULL, OPT_REASON},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"jobs", required_argument, NULL, 'j'},
	{"module-path", required_argument, NULL, OPT_MODULE_PATH},
	{"audit-log", required_argument, NULL, OPT_AUDIT_LOG},
	{"blocked-exit", required_argument, NULL, OPT_BLOCKED_EXIT},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"no-color", no_argument, NULL, OPT_NO_COLOR},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"wait", required_argument, NULL, OPT_WAIT},
	{"interval", required_argument, NULL, OPT_INTERVAL},
	{"confirm", required_argument, NULL, OPT_CONFIRM},
	{"state-dir", required_argument, NULL, OPT_STATE_DIR},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Which options each command takes; the rest are usage errors there. */
static int accepted(const char *cmd, int opt)
{
	if (!strcmp(cmd, "rehearse")) /* no command, no overrides, no waiting */
		return opt != OPT_DRY_RUN && opt != OPT_WAIT && opt != OPT_INTERVAL &&
		       opt != OPT_CONFIRM && opt != OPT_OVERRIDE && opt != OPT_REASON &&
		       opt != OPT_BLOCKED_EXIT;
	if (opt == OPT_STATE_DIR)
		return 0;
	if (!strcmp(cmd, "run"))
		return 1;
	if (!strcmp(cmd, "check"))
		return opt != OPT_DRY_RUN && opt != OPT_WAIT && opt != OPT_INTERVAL &&
		       opt != OPT_CONFIRM;
	if (!strcmp(cmd, "lock") || !strcmp(cmd, "maintenance"))
		return opt == OPT_VAR || opt == OPT_MODULE_PATH || opt == OPT_REASON ||
		       opt == OPT_AUDIT_LOG || opt == 'q' || opt == 'v' || opt == OPT_NO_COLOR;
	if (!strcmp(cmd, "checks"))
		return opt == OPT_MODULE_PATH || opt == 'q' || opt == 'h';
	/* lint: nothing is evaluated */
	return opt == OPT_VAR || opt == OPT_MODULE_PATH || opt == 'q' || opt == 'v' ||
	       opt == OPT_NO_COLOR || opt == 'h';
}

static const char *opt_name(int opt, char *buf, size_t len)
{
	for (const struct option *lo = longopts; lo->name; lo++)
		if (lo->val == opt) {
			snprintf(buf, len, "--%s", lo->name);
			return buf;
		}
	snprintf(buf, len, "-%c", opt);
	return buf;
}

static int parse_positive(const char *s, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

static void push_str(const char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

/* One option; -1 to go on, else the exit status. */
/* --timeout, --wait, --interval: a duration above 0 and within the limit. */
static int take_duration(const char *cmd, int opt, const char *arg, struct cli_opts *o)
{
	char nb[32];
	int64_t *dst = opt == OPT_TIMEOUT ? &o->timeout_ms
	               : opt == OPT_WAIT  ? &o->wait_ms
	                                  : &o->interval_ms;
	const char *name = opt_name(opt, nb, sizeof(nb));
	if (parse_duration_ms(arg, dst) == GATE_VALUE_TOO_BIG)
		return cli_usage_error(cmd, "%s '%s' is over the limit of %s", name, arg,
		                       GATE_DURATION_MAX_TEXT);
	if (parse_duration_ms(arg, dst) < 0 || *dst <= 0)
		return cli_usage_error(cmd, "bad duration for %s: '%s'%s", name, arg,
		                       opt == OPT_TIMEOUT ? " (e.g. 90s, 2m, 1h30m)" : "");
	return -1;
}

static int take_opt(const char *cmd, int opt, const char *arg, struct cli_opts *o)
{
	long n;
	switch (opt) {
	case 'f':
		if (report_format_parse(arg, &o->format) < 0)
			return cli_usage_error(
				cmd, "unknown format '%s' (text, json, junit, tap, nagios)", arg);
		return -1;
	case 'o':
		o->output = arg;
		return -1;
	case OPT_VAR: {
		const char *eq = strchr(arg, '=');
		if (!eq || eq == arg)
			return cli_usage_error(cmd, "--var wants NAME=VALUE, got '%s'", arg);
		o->vars = xrealloc(o->vars, (o->nvars + 1) * sizeof(*o->vars));
		/* The name is a copy (freed by cli_opts_release); the value
		 * points into argv. */
		o->vars[o->nvars++] = (struct rb_var){xstrndup(arg, (size_t)(eq - arg)), eq + 1};
		return -1;
	}
	case OPT_OVERRIDE:
		push_str(&o->overrides, &o->noverrides, arg);
		return -1;
	case OPT_REASON:
		if (!*arg)
			return cli_usage_error(cmd, "--reason must not be empty");
		o->reason = arg;
		return -1;
	case OPT_TIMEOUT:
	case OPT_WAIT:
	case OPT_INTERVAL:
		return take_duration(cmd, opt, arg, o);
	case 'j':
		if (parse_positive(arg, 100000, &n) < 0)
			return cli_usage_error(cmd, "-j wants a positive number, got '%s'", arg);
		o->jobs = (int)n;
		return -1;
	case OPT_MODULE_PATH:
		push_str(&o->module_paths, &o->nmodule_paths, arg);
		return -1;
	case OPT_AUDIT_LOG:
		o->audit_log = arg;
		return -1;
	case OPT_BLOCKED_EXIT:
		/* 0 would make a block look like an allow: refused. */
		if (parse_positive(arg, 255, &n) < 0)
			return cli_usage_error(
				cmd, "--blocked-exit wants a status from 1 to 255, got '%s'", arg);
		o->blocked_exit = (int)n;
		return -1;
	case 'q':
		o->quiet = 1;
		return -1;
	case 'v':
		o->verbose = 1;
		return -1;
	case OPT_NO_COLOR:
		o->no_color = 1;
		return -1;
	case OPT_DRY_RUN:
		o->dry_run = 1;
		return -1;
	case OPT_CONFIRM:
		if (!*arg)
			return cli_usage_error(cmd, "--confirm wants this host's name");
		o->confirm = arg;
		return -1;
	case OPT_STATE_DIR:
		if (!*arg)
			return cli_usage_error(cmd, "--state-dir must not be empty");
		o->state_dir = arg;
		return -1;
	case 'h':
		return cli_help(cmd);
	}
	return cli_usage_error(cmd, "unknown option");
}

int cli_parse_opts(int argc, char **argv, struct cli_opts *o, char ***pos, size_t *npos,
                   char ***cmd)
{
	const char *name = argv[0];
	*pos = NULL;
	*npos = 0;
	*cmd = NULL;
	opterr = 0;
	optind = 0; /* full reset of GNU getopt's state */
	char nb[32];
	for (;;) {
		int start = optind ? optind : 1;
		int opt = getopt_long(argc, argv, "+f:o:j:qvh", longopts, NULL);
		if (opt == '?' || opt == ':') {
			const char *bad = argv[optind - 1];
			if (optopt && optopt < 256 && strchr("foj", optopt))
				return cli_usage_error(name, "option '-%c' needs a value", optopt);
			for (const struct option *lo = longopts; optopt && lo->name; lo++)
				if (lo->val == optopt && lo->has_arg)
					return cli_usage_error(name, "option '--%s' needs a value",
					                       lo->name);
			return cli_usage_error(name, "unknown option '%s'", bad);
		}
		if (opt != -1) {
			if (!accepted(name, opt))
				return cli_usage_error(name,
				                       "option '%s' does not apply to 'gate %s'",
				                       opt_name(opt, nb, sizeof(nb)), name);
			int rc = take_opt(name, opt, optarg, o);
			if (rc >= 0)
				return rc;
			continue;
		}
		/* Stopped: at `--` (the rest is the command), at the end, or at
		 * a positional argument (options may follow it). */
		if (optind > start && !strcmp(argv[optind - 1], "--")) {
			*cmd = &argv[optind];
			break;
		}
		if (optind >= argc)
			break;
		*pos = xrealloc(*pos, (*npos + 1) * sizeof(**pos));
		(*pos)[(*npos)++] = argv[optind];
		optind++;
	}
	if (o->noverrides && !o->reason)
		return cli_usage_error(name,
		                       "--override needs --reason: say why the check is waived");
	return -1;
}
