/* SPDX-License-Identifier: MIT */
/*
 * What gate holds around the command, the face of it (gate/hold_run.h
 * does it; gate(1) "THE ORDER OF A RUN"): the steps of a run that are
 * the CLI's (the re-check's evaluation, asking the operator to confirm,
 * the audit records and the report, the command), the stop signals while
 * something is held, the dry run's part, and the commands `gate lock
 * status|release` and `gate maintenance resume`.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hold_run.h"
#include "msg.h"
#include "policy.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"
#include "kit/text.h"

/* How long the operator has to type the host name. */
#define CONFIRM_TIMEOUT_MS (5 * 60 * 1000)

/* ---- who and where ---- */

char *cli_user_name(void)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_name)
		return xstrdup(res->pw_name);
	return xasprintf("%lu", (unsigned long)getuid());
}

char *cli_host_name(void)
{
	char buf[256];
	if (gethostname(buf, sizeof(buf)) < 0)
		return xstrdup("unknown");
	buf[sizeof(buf) - 1] = '\0';
	return xstrdup(buf);
}

void cli_hold_session_init(struct hold_session *hs, const struct runbook *rb)
{
	char *user = cli_user_name(), *host = cli_host_name(), *dir = hold_state_dir();
	hold_session_init(hs, rb, user, host, dir);
	free(user);
	free(host);
	free(dir);
}

/* ---- stop signals while something is held ---- */

/* The signals that stop gate (those runner.h and exec.h know): while
 * locks or maintenance are held they only set stop_sig, so that what was
 * done is undone; gate then dies of the signal as it would have. */
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NSTOP (sizeof(stop_signals) / sizeof(stop_signals[0]))
static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
	stop_sig = sig;
}

struct stops {
	struct sigaction old[NSTOP];
	int caught[NSTOP];
	struct sigaction old_pipe;
	int caught_pipe;
};

/* SIGPIPE (a report piped into `head`) must not kill gate while
 * maintenance is on: writes fail with EPIPE instead.  A handler, not
 * SIG_IGN, so that the command does not inherit an ignored SIGPIPE. */
static void on_pipe(int sig)
{
	(void)sig;
}

static void stops_catch(struct stops *st)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop; /* no SA_RESTART: a wait or a prompt ends */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NSTOP; i++)
		st->caught[i] = sigaction(stop_signals[i], NULL, &st->old[i]) == 0 &&
		                st->old[i].sa_handler == SIG_DFL &&
		                sigaction(stop_signals[i], &sa, NULL) == 0;
	sa.sa_handler = on_pipe;
	st->caught_pipe = sigaction(SIGPIPE, NULL, &st->old_pipe) == 0 &&
	                  st->old_pipe.sa_handler == SIG_DFL && sigaction(SIGPIPE, &sa, NULL) == 0;
}

/* Handlers back; a signal that came meanwhile does now what it would have
 * done when the command did not run. */
static void stops_release(struct stops *st, int ran)
{
	for (size_t i = 0; i < NSTOP; i++)
		if (st->caught[i])
			sigaction(stop_signals[i], &st->old[i], NULL);
	if (st->caught_pipe)
		sigaction(SIGPIPE, &st->old_pipe, NULL);
	if (stop_sig && !ran) {
		fflush(stdout);
		raise(stop_sig);
	}
}

struct run_ctx {
	struct cli_session *s;
	char **command;
	size_t last_waiting;     /* the lock last said to be waited for, + 1 */
	struct notify_job *told; /* the allow's notifications, under way */
};

/* ---- confirmation ---- */

static int names_this_host(const char *typed, const char *host)
{
	size_t shortlen = strcspn(host, ".");
	return *typed && (!strcmp(typed, host) ||
	                  (strlen(typed) == shortlen && !strncmp(typed, host, shortlen)));
}

/* One line from the terminal, without its newline; -1 on a timeout, a
 * stop signal or the end of input. */
static int read_tty_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	int64_t end = gate_mono_ms() + CONFIRM_TIMEOUT_MS;
	while (n + 1 < len && !stop_sig) {
		struct pollfd p = {fd, POLLIN, 0};
		int64_t left = end - gate_mono_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0 || stop_sig)
			return -1;
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
		if (c != '\r')
			buf[n++] = c;
	}
	buf[n] = '\0';
	return 0;
}

/* long: the confirmation's cases read best as one list, in the order
 * gate(1) gives them */
static int confirm_step(void *ctx, struct hold_session *hs, char *how, size_t howlen)
{
	struct cli_session *s = ((struct run_ctx *)ctx)->s;
	const struct runbook *rb = hs->rb;
	char *host = cli_host_name();
	int rc = -1;
	int fd = -1;
	if (rb->confirm == RB_CONFIRM_SSH && !getenv("SSH_CONNECTION")) {
		snprintf(how, howlen, "not asked: not over SSH (SSH_CONNECTION is not set)");
		rc = 0;
	} else if (s->o->confirm) {
		if (names_this_host(s->o->confirm, host)) {
			snprintf(how, howlen, "--confirm %s", s->o->confirm);
			rc = 0;
		} else {
			char *given = text_safe(s->o->confirm, TEXT_ONE_LINE);
			hold_block(hs, "confirm: --confirm '%s' does not name this host", given);
			free(given);
		}
	} else if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
		hold_block(hs,
		           "confirm: %s needs the operator to type this host's name, and "
		           "there is no terminal: give --confirm HOSTNAME",
		           rb->name);
	} else {
		char line[256];
		dprintf(fd, "gate: %s asks for a confirmation%s.\nType this host's name to go on: ",
		        rb->name, rb->confirm == RB_CONFIRM_SSH ? " over SSH" : "");
		if (read_tty_line(fd, line, sizeof(line)) < 0) {
			dprintf(fd, "\n");
			hold_block(hs, "confirm: no host name was typed");
		} else if (!names_this_host(line, host)) {
			hold_block(hs, "confirm: the name typed is not this host's: refused");
		} else {
			snprintf(how, howlen, "host name typed on the terminal%s",
			         getenv("SSH_CONNECTION") ? " (over SSH)" : "");
			rc = 0;
		}
	}
	if (fd >= 0)
		close(fd);
	free(host);
	return rc;
}

/* ---- the steps of a run ---- */

/* The session's reasons and report into the evaluation, and the policy
 * once more (it adds them to its reasons). */
static void give_holds(struct cli_session *s, const struct hold_session *hs)
{
	strv_free(s->ev.hold_reasons);
	s->ev.hold_reasons = hs->reasons ? strv_dup(hs->reasons) : NULL;
	s->ev.nhold_reasons = hs->nreasons;
	json_decref(s->ev.holds);
	const struct runbook *rb = hs->rb;
	int any = rb->nlocks || rb->nmaint || rb->confirm || hs->nreasons;
	s->ev.holds = any ? json_deep_copy(hs->report) : NULL;
	policy_decide(&s->ev, &s->wf);
}

static void waiting_step(void *ctx, const struct rb_hold *lock, const char *holder)
{
	struct run_ctx *r = ctx;
	size_t i = (size_t)(lock - r->s->rb.locks);
	if (r->last_waiting == i + 1 || r->s->o->quiet)
		return;
	r->last_waiting = i + 1;
	char *who = text_safe(holder ? holder : "an unknown holder", TEXT_ONE_LINE);
	msg_note("lock %zu (%s) is held: %s; trying again until the wait is over", i + 1,
	         lock->label, who);
	free(who);
}

/* The re-check: the runbook's recheck: ids (and its windows and freezes)
 * evaluated again, in an evaluation of their own; its decision is the one
 * that counts. */
static int recheck_step(void *ctx, struct hold_session *hs)
{
	struct run_ctx *r = ctx;
	struct cli_session *s = r->s;
	struct runbook sub = s->rb;
	sub.checks = xcalloc(s->rb.nrecheck + 1, sizeof(*sub.checks));
	sub.nchecks = 0;
	for (size_t i = 0; i < s->rb.nchecks; i++)
		for (size_t j = 0; j < s->rb.nrecheck; j++)
			if (!strcmp(s->rb.checks[i].id, s->rb.recheck[j]))
				sub.checks[sub.nchecks++] = s->rb.checks[i];
	struct eval ev;
	struct window_facts wf;
	cli_evaluate_into(s, &ev, &wf, &sub, EVAL_MODE_RUN, r->command);
	json_t *all = report_json(&ev);
	json_decref(s->ev.recheck);
	s->ev.recheck = json_pack(
		"{s:O, s:O, s:O, s:O, s:O}", "decision", json_object_get(all, "decision"),
		"reasons", json_object_get(all, "reasons"), "checks",
		json_object_get(all, "checks"), "started_at", json_object_get(all, "started_at"),
		"duration_ms", json_object_get(all, "duration_ms"));
	json_decref(all);
	int allow = ev.allow;
	for (size_t i = 0; !allow && i < ev.nreasons; i++)
		hold_block(hs, "recheck: %s", ev.reasons[i]);
	eval_release(&ev);
	free(sub.checks);
	return allow ? 0 : -1;
}

/* A block is told before its record (which then says how the telling
 * went); an allow after it, while the command starts (its outcome goes
 * into the result's record). */
static int decided_step(void *ctx, struct hold_session *hs)
{
	struct run_ctx *r = ctx;
	give_holds(r->s, hs);
	int allow = r->s->ev.allow;
	if (!allow)
		cli_notify(r->s, NOTIFY_BLOCK);
	cli_audit(r->s, AUDIT_DECISION);
	if (allow && !r->s->ev.allow) /* the required audit failed */
		cli_notify(r->s, NOTIFY_BLOCK);
	cli_report(r->s);
	if (r->s->ev.allow)
		r->told = cli_notify_start(r->s, NOTIFY_ALLOW);
	return r->s->ev.allow;
}

static int exec_step(void *ctx)
{
	struct run_ctx *r = ctx;
	int status = cli_run_command(r->s, r->command);
	cli_notify_finish(r->s, r->told);
	r->told = NULL;
	return status;
}

static void finished_step(void *ctx, struct hold_session *hs)
{
	struct run_ctx *r = ctx;
	give_holds(r->s, hs);
	cli_notify(r->s, NOTIFY_RESULT);
	cli_audit(r->s, AUDIT_RESULT);
	if (r->s->o->output)
		cli_write_json_file(&r->s->ev, r->s->o->output); /* now with exit_status */
}

static void lost_step(void *ctx, const struct rb_hold *lock, const char *msg)
{
	struct run_ctx *r = ctx;
	msg_error("lock %zu (%s) was lost while the command runs: %s",
	          (size_t)(lock - r->s->rb.locks) + 1, lock->label, msg);
}

static void note_step(void *ctx, const char *msg)
{
	msg_error("%s", msg);
}

int cli_hold_run(struct cli_session *s, char **command, int64_t wait_end_ms)
{
	struct run_ctx r = {s, command, 0, NULL};
	struct hold_steps steps = {
		&r,        waiting_step,  recheck_step, confirm_step, decided_step,
		exec_step, finished_step, lost_step,    note_step,
	};
	struct hold_session hs;
	cli_hold_session_init(&hs, &s->rb);
	hs.wait_until_ms = wait_end_ms;
	if (s->o->interval_ms < hs.retry_ms)
		hs.retry_ms = s->o->interval_ms;
	stop_sig = 0;
	hs.stop = &stop_sig;
	struct stops st;
	stops_catch(&st);
	int ran = hold_run(&hs, &steps);
	cli_notify_finish(s, r.told); /* allowed, but a stop came before the command */
	int rc = ran ? hs.status : cli_decision_status(s);
	hold_session_release(&hs);
	stops_release(&st, ran);
	return rc;
}

void cli_hold_check(struct cli_session *s)
{
	struct hold_session hs;
	cli_hold_session_init(&hs, &s->rb);
	hold_check(&hs);
	give_holds(s, &hs);
	hold_session_release(&hs);
}
