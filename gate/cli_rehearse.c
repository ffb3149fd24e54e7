/* SPDX-License-Identifier: MIT */
/*
 * gate rehearse [OPTIONS] RUNBOOK (gate(1)): the runbook's restore
 * rehearsals -- the checks whose type a module lists in `rehearsals`
 * (module ABI 1.1) -- run by the same runner, policy, report and audit as
 * `gate check`, each result kept as a record (gate/rehearsal.h) in the
 * state directory for backup.rehearsed to read before maintenance.
 *
 *   options -> runbook -> its rehearsals (none: 78) -> state directory
 *   ready -> child subreaper -> the runner -> records -> audit -> report
 *   -> the rehearsals' orphans (their guardians) waited for -> exit 0 or
 *   75 (or die of the stop signal that interrupted them).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "msg.h"
#include "outfile.h"
#include "registry.h"
#include "rehearsal.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/statedir.h"
#include "kit/strbuf.h"

/* A rehearsal without a `timeout:` of its own gets this per attempt, and
 * the rehearsals together this overall unless the runbook or --timeout
 * says otherwise (gate(1), REHEARSALS). */
#define REHEARSAL_DEFAULT_TIMEOUT_MS (3600 * 1000)
#define REHEARSE_DEFAULT_OVERALL_MS (6 * 3600 * 1000)
/* How long gate waits, before it exits, for what the rehearsals left
 * running when they ended (a scratch server's guardian removing it). */
#define REHEARSE_ORPHAN_WAIT_MS (60 * 1000)

void cli_rehearse_help(void)
{
	printf("usage: gate rehearse [OPTIONS] RUNBOOK\n"
	       "\n"
	       "Run the runbook's restore rehearsals (checks of the types pgbackrest.restore,\n"
	       "basebackup.restore, dump.restore and any a module marks as one) and nothing\n"
	       "else: no other check, window, freeze, lock or maintenance item.  Each\n"
	       "rehearsal's result is kept as a JSON record in the state directory, for\n"
	       "backup.rehearsed to read before maintenance; the run is reported like `gate\n"
	       "check` and audited like every decision.  Meant for a nightly timer.\n"
	       "\n"
	       "A rehearsal without its own timeout: gets 1h per attempt; the rehearsals\n"
	       "together get 6h unless the runbook's timeout: or --timeout says otherwise.\n"
	       "When gate is stopped (SIGTERM, SIGINT) the rehearsals are killed, their\n"
	       "scratch servers and directories removed, and each gets an `interrupted`\n"
	       "record before gate dies of the signal.\n"
	       "\n"
	       "Options:\n"
	       "      --state-dir DIR    where the records go (default "
	       "$GATE_STATE_DIR/rehearsals,\n"
	       "                         else /var/lib/gate/rehearsals); made 0700 when absent,\n"
	       "                         must be this user's and writable by no one else\n"
	       "  -f, --format FMT       report on stdout: text (default), json, junit, tap, "
	       "nagios\n"
	       "  -o, --output FILE      also write the JSON report to FILE\n"
	       "      --var NAME=VALUE   set or replace a runbook variable (repeatable)\n"
	       "      --timeout DUR      overall deadline for the rehearsals (default 6h)\n"
	       "  -j, --jobs N           at most N rehearsals at once (default: all at once)\n"
	       "      --module-path DIR  load external check modules from DIR (repeatable)\n"
	       "      --audit-log FILE   one more JSON-lines audit file\n"
	       "  -q, --quiet            only failures and the decision\n"
	       "  -v, --verbose          details of passing rehearsals too, and each record's\n"
	       "                         path on stderr\n"
	       "      --no-color         no colours\n"
	       "  -h, --help             this text\n"
	       "\n"
	       "Exit status:\n"
	       "  0        every rehearsal passed and was recorded\n"
	       "  75       a rehearsal failed or could not be evaluated, or its record could\n"
	       "           not be written\n"
	       "  78       the runbook is invalid, has no restore rehearsal, or the state\n"
	       "           directory cannot be used; nothing ran\n"
	       "  64       bad command line\n"
	       "\n"
	       "Example:\n"
	       "  gate rehearse /etc/gate/rehearse-nightly.yaml\n");
}

/* "pgbackrest.restore, basebackup.restore, dump.restore": the rehearsal
 * types the registry knows.  free() it. */
static char *rehearsal_types(struct gate_registry *reg)
{
	struct strbuf sb = STRBUF_INIT;
	registry_load_all(reg); /* a family refused: its types are not named */
	/* gate's own first (families load after external modules) */
	for (int own = 1; own >= 0; own--)
		for (size_t i = 0; i < reg->ntypes; i++) {
			const struct gate_registry_entry *e = &reg->types[i];
			int builtin = !strcmp(e->origin, "built-in");
			if (e->rehearsal && builtin == own)
				strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", e->ct->name);
		}
	if (!sb.len)
		strbuf_adds(&sb, "none is known");
	return strbuf_detach(&sb);
}

/* The runbook reduced to its rehearsals: a shallow copy (the checks'
 * strings and parameters still belong to rb; free only sub->checks),
 * every one blocking, with the rehearsals' default timeouts.  0, or the
 * exit status after the message. */
static int select_rehearsals(struct cli_session *s, struct runbook *sub)
{
	const struct runbook *rb = &s->rb;
	*sub = *rb;
	sub->checks = xcalloc(rb->nchecks + 1, sizeof(*sub->checks));
	sub->nchecks = 0;
	sub->windows = NULL, sub->nwindows = 0;
	sub->freezes = NULL, sub->nfreezes = 0;
	sub->locks = NULL, sub->nlocks = 0;
	sub->maint = NULL, sub->nmaint = 0;
	sub->recheck = NULL, sub->nrecheck = 0, sub->recheck_all = 0;
	if (!rb->timeout_given)
		sub->timeout_ms = REHEARSE_DEFAULT_OVERALL_MS;
	for (size_t i = 0; i < rb->nchecks; i++) {
		const struct rb_check *c = &rb->checks[i];
		const struct gate_registry_entry *e = registry_find(&s->reg, c->type);
		if (!c->ct && !s->o->quiet)
			msg_warn("check '%s': type %s is not available; not run", c->id, c->type);
		if (!c->ct || !e || !e->rehearsal)
			continue;
		struct rb_check *d = &sub->checks[sub->nchecks++];
		*d = *c;
		d->severity = RB_SEVERITY_BLOCK; /* every rehearsal must pass */
		d->overridable = 0;
		if (!c->timeout_given)
			d->timeout_ms = REHEARSAL_DEFAULT_TIMEOUT_MS;
	}
	if (sub->nchecks)
		return 0;
	char *types = rehearsal_types(&s->reg);
	msg_error("%s: no restore rehearsal (types: %s)", rb->path, types);
	free(types);
	return EXIT_CONFIG;
}

static char *this_host(void)
{
	char buf[256];
	if (gethostname(buf, sizeof(buf)) < 0)
		return xstrdup("?");
	buf[sizeof(buf) - 1] = '\0';
	return xstrdup(buf);
}

/* One record per rehearsal; -1 when one could not be written. */
static int write_records(struct cli_session *s, const struct runbook *sub, const char *dir,
                         int stopped)
{
	char *host = this_host();
	char *abs = realpath(s->rb.path, NULL);
	struct rehearsal_run run = {abs ? abs : s->rb.path, host, s->ev.started_at_ms};
	int rc = 0;
	for (size_t i = 0; i < sub->nchecks; i++) {
		const struct check_result *r = &s->ev.results[i];
		int interrupted = stopped && r->raw_status == CHECK_ERROR && r->summary &&
		                  !strncmp(r->summary, "interrupted by SIG", 18);
		json_t *rec = rehearsal_record(r, &sub->checks[i], &run, interrupted);
		struct gate_error err = {0};
		char *path = NULL, buf[2048];
		if (rehearsal_write(dir, rec, run.started_ms, &path, &err) < 0) {
			msg_error("rehearsal '%s': the record was not written: %s", r->id,
			          gate_error_format(&err, buf, sizeof(buf)));
			rc = -1;
		} else if (s->o->verbose) {
			msg_note("rehearsal '%s': recorded in %s", r->id, path);
		}
		free(path);
		json_decref(rec);
	}
	free(host);
	free(abs);
	return rc;
}

/* gate is the rehearsals' child subreaper: what a rehearsal left when it
 * ended (a guardian removing its scratch server and directory) is
 * reparented to gate, which waits for it, within a bound, so that when
 * gate exits nothing of a rehearsal is left. */
static void wait_for_orphans(const struct cli_opts *o)
{
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	int64_t end = gate_mono_ms() + REHEARSE_ORPHAN_WAIT_MS;
	for (;;) {
		pid_t p = waitpid(-1, NULL, WNOHANG);
		if (p > 0 || (p < 0 && errno == EINTR))
			continue;
		if (p < 0)
			break; /* ECHILD: nothing is left */
		int64_t left = end - gate_mono_ms();
		if (left <= 0) {
			if (!o->quiet)
				msg_warn(
					"processes the rehearsals started were still running after "
					"%d s; gate does not wait for them any longer",
					REHEARSE_ORPHAN_WAIT_MS / 1000);
			break;
		}
		struct timespec ts = {left / 1000, (left % 1000) * 1000000};
		sigtimedwait(&chld, NULL, &ts); /* a SIGCHLD, or the bound */
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static int parse_args(int argc, char **argv, struct cli_opts *o, const char **runbook)
{
	char **pos, **cmd;
	size_t npos;
	int rc = cli_parse_opts(argc, argv, o, &pos, &npos, &cmd);
	*runbook = npos ? pos[0] : NULL;
	free(pos);
	if (rc >= 0)
		return rc;
	if (cmd)
		return cli_usage_error("rehearse", "'gate rehearse' runs no command");
	if (npos != 1)
		return npos ? cli_usage_error("rehearse", "one runbook only, got %zu arguments",
		                              npos)
		            : cli_usage_error("rehearse", "no runbook given");
	return -1;
}

/* The caller's signal mask, while the stop signals are held back after
 * the rehearsals ended. */
static sigset_t old_mask;
static int masked;

/* The signals that stop gate (the runner's: runner.h). */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

/* The state directory, usable before anything runs; 0 or 78. */
static int state_dir_ready(const char *dir)
{
	struct gate_error err = {0};
	char buf[2048];
	if (rehearsal_dir_ready(dir, &err) == 0)
		return 0;
	msg_error("cannot keep rehearsal records: %s", gate_error_format(&err, buf, sizeof(buf)));
	return EXIT_CONFIG;
}

/* Evaluate the rehearsals, record, audit, report; the exit status. */
static int rehearse(struct cli_session *s, struct runbook *sub, const char *dir, int *stopped)
{
	/* Before any rehearsal starts: its orphans come back to gate. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 && !s->o->quiet)
		msg_warn("cannot become the rehearsals' subreaper: %s", strerror(errno));
	s->have_ev = 1;
	cli_evaluate_into(s, &s->ev, &s->wf, sub, EVAL_MODE_REHEARSE, NULL);
	/* A stop signal from here on waits until the records, the audit
	 * and the rehearsals' leftovers are done (cli_rehearse_main). */
	sigset_t stop;
	stop_signals(&stop);
	sigprocmask(SIG_BLOCK, &stop, &old_mask);
	masked = 1;
	int written = write_records(s, sub, dir, *stopped);
	cli_audit(s, AUDIT_DECISION);
	cli_report(s);
	wait_for_orphans(s->o);
	int rc = cli_decision_status(s);
	return written < 0 && rc == EXIT_ALLOWED ? EXIT_BLOCKED : rc;
}

int cli_rehearse_main(int argc, char **argv)
{
	struct cli_opts o;
	const char *runbook;
	int stopped = 0;
	struct cli_session s = {.o = &o};
	struct runbook sub = {0};
	char *dir = NULL;
	cli_opts_init(&o);
	o.stopped_by = &stopped;
	int rc = parse_args(argc, argv, &o, &runbook);
	if (rc >= 0)
		goto out;
	struct gate_error err = {0};
	char buf[2048];
	rc = 0;
	if (o.output && outfile_replace(o.output, "", 0, &err) < 0)
		rc = cli_usage_error("rehearse", "cannot write the report: %s",
		                     gate_error_format(&err, buf, sizeof(buf)));
	if (rc == 0)
		rc = cli_load_runbook(&s, runbook, 1);
	if (rc == 0)
		rc = select_rehearsals(&s, &sub);
	dir = o.state_dir ? xstrdup(o.state_dir) : gate_rehearsal_dir();
	if (rc == 0)
		rc = state_dir_ready(dir);
	if (rc == 0)
		rc = rehearse(&s, &sub, dir, &stopped);
out:
	cli_session_release(&s);
	free(sub.checks);
	free(dir);
	cli_opts_release(&o);
	if (stopped) {
		/* Recorded, audited, reported, cleaned up: now die of it. */
		signal(stopped, SIG_DFL);
		raise(stopped);
	}
	/* One that came after the rehearsals ended does what it would have. */
	if (masked)
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return rc;
}
