/* SPDX-License-Identifier: MIT */
/* The command line layer (gate/main.c, gate/cli_*.c): the only code that
 * prints to the user or exits. */
#ifndef GATE_CLI_H
#define GATE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "eval.h"
#include "report.h"
#include "runbook.h"

/* Exit statuses (doc/report.md, gate(1)). */
#define EXIT_ALLOWED 0
#define EXIT_BLOCKED 75 /* EX_TEMPFAIL */
#define EXIT_CONFIG 78  /* EX_CONFIG */
#define EXIT_USAGE 64   /* EX_USAGE */
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

/* Options shared by run, check, lint (gate(1), OPTIONS). */
struct cli_opts {
	enum report_format format;
	const char *output;  /* -o FILE: also the JSON report there */
	struct rb_var *vars; /* --var NAME=VALUE */
	size_t nvars;
	const char **overrides; /* --override ID */
	size_t noverrides;
	const char *reason;        /* --reason TEXT */
	int64_t timeout_ms;        /* --timeout; -1 when not given */
	int jobs;                  /* -j; 0 = all at once */
	const char **module_paths; /* --module-path (then GATE_MODULE_PATH, then GATE_MODULE_DIR) */
	size_t nmodule_paths;
	const char *audit_log; /* --audit-log FILE */
	int blocked_exit;      /* --blocked-exit, default 75 */
	int quiet, verbose;
	int no_color;
	int dry_run;         /* run --dry-run */
	int64_t wait_ms;     /* run --wait DUR; 0 = no waiting */
	int64_t interval_ms; /* --interval DUR, default 30s */
	/* Appended: run --confirm HOSTNAME (the runbook's confirm:). */
	const char *confirm;
	/* Appended: send the runbook's notifications (gate hook run; gate
	 * run sends them itself; nothing else ever does, gate/notify.h). */
	int notify;
	/* Appended: rehearse --state-dir DIR (where records go). */
	const char *state_dir;
	/* Appended: rehearse: a stop signal while checks run is stored here
	 * and gate does not die of it at once (runner.h); NULL elsewhere. */
	int *stopped_by;
};

void cli_opts_init(struct cli_opts *o);
void cli_opts_release(struct cli_opts *o);

/* Evaluate RUNBOOK (check mode when command is NULL and mode is
 * EVAL_MODE_CHECK), print the report as o->format to stdout, write -o and
 * the audit records.  Returns the exit status gate would return: 0 allow,
 * o->blocked_exit on block, 78 for an invalid runbook.  Used by `gate
 * check` and by `gate hook run`. */
int cli_evaluate(const char *runbook, enum eval_mode mode, char *const *command,
                 const struct cli_opts *o);

/* Subcommands that live in their own files. */
int cli_wrap_main(int argc, char **argv); /* gate wrap install|list|remove */
int cli_hook_main(int argc, char **argv); /* gate hook run|install */

/* ---- Appended (runtime): shared inside the CLI layer only ---- */

struct gate_registry;

/* Parse the options of `gate CMD` (argv[0] is CMD: "run", "check", "lint"
 * or "checks").  The positional arguments are returned in *pos and *npos (a
 * malloc'd array of pointers into argv), the command after `--` in *cmd
 * (pointer into argv, NULL when there is none).  Returns -1 to go on, or
 * the exit status to end with: 0 after --help, 64 after a usage error
 * (already printed, with "see 'gate CMD --help'"). */
int cli_parse_opts(int argc, char **argv, struct cli_opts *o, char ***pos, size_t *npos,
                   char ***cmd);
/* "gate: error: MSG" and "see 'gate CMD --help'"; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* Print the help of CMD ("gate" for the overview) on stdout; 0, or 64
 * for an unknown command. */
int cli_help(const char *cmd);
/* The check types: built-ins, then --module-path dirs, GATE_MODULE_PATH
 * and GATE_MODULE_DIR.  Load failures are warned about on stderr unless
 * quiet (a check of such a type is then an error, never a pass). */
void cli_registry_load(struct gate_registry *reg, const struct cli_opts *o);

int cli_lint_main(int argc, char **argv);
int cli_checks_main(int argc, char **argv);
int cli_version_main(int argc, char **argv);

/* ---- Appended (what gate holds): the session of one evaluation, shared
 * by gate/main.c and gate/cli_hold.c ---- */

#include "audit.h"
#include "registry.h"
#include "window.h"

struct hold_session;

/* What one invocation has loaded and decided. */
struct cli_session {
	const struct cli_opts *o;
	struct gate_registry reg;
	struct runbook rb;
	struct eval ev;
	struct window_facts wf; /* the windows at ev.now_ms, for the policy */
	int have_reg, have_rb, have_ev;
};

void cli_session_release(struct cli_session *s);
/* The registry (with the lock and maintenance kinds) and the runbook;
 * strict: trusted files only.  0, or the exit status (after the message). */
int cli_load_runbook(struct cli_session *s, const char *path, int strict);
/* One evaluation of rb into ev (the runner, the windows, the policy). */
void cli_evaluate_into(struct cli_session *s, struct eval *ev, struct window_facts *wf,
                       const struct runbook *rb, enum eval_mode mode, char **command);
/* An audit record of s->ev (a required one that fails turns an allow
 * into a block); the report on stdout and -o; the command. */
void cli_audit(struct cli_session *s, enum audit_kind kind);
void cli_report(struct cli_session *s);
int cli_write_json_file(const struct eval *ev, const char *path);
int cli_run_command(struct cli_session *s, char **command);
int cli_decision_status(const struct cli_session *s);

/* gate/cli_hold.c: after an allow, the locks, the re-check, the
 * confirmation and maintenance mode around the command (gate/hold_run.h);
 * the exit status.  wait_end_ms: the end of --wait (monotonic). */
int cli_hold_run(struct cli_session *s, char **command, int64_t wait_end_ms);
/* The dry run's part: locks probed, maintenance described, the state
 * file looked at, into s->ev (its holds, its reasons). */
void cli_hold_check(struct cli_session *s);
/* A hold session of rb for this user, host and pid, with the state
 * directory (hold_state_dir). */
void cli_hold_session_init(struct hold_session *hs, const struct runbook *rb);
/* This user's name and this host's, for records and notifications;
 * free() them. */
char *cli_user_name(void);
char *cli_host_name(void);

/* gate/cli_notify.c: the runbook's notifications of event e (gate/notify.h)
 * sent and waited for (at most NOTIFY_TOTAL_CAP_MS), what became of them
 * in s->ev, a warning per failure; only gate run and gate hook run call
 * these.  _start/_finish: the same with the command running between. */
#include "notify.h"
void cli_notify(struct cli_session *s, enum notify_event e);
struct notify_job *cli_notify_start(struct cli_session *s, enum notify_event e);
void cli_notify_finish(struct cli_session *s, struct notify_job *job);

/* gate lock status|release, gate maintenance resume (gate/cli_lock.c). */
int cli_lock_main(int argc, char **argv);
int cli_maintenance_main(int argc, char **argv);
/* gate serve (gate/cli_serve.c). */
int cli_serve_main(int argc, char **argv);

/* gate rehearse (gate/cli_rehearse.c): the runbook's restore rehearsals,
 * each result recorded (gate/rehearsal.h); its help text. */
int cli_rehearse_main(int argc, char **argv);
void cli_rehearse_help(void);

#endif
