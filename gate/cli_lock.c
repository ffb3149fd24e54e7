/* SPDX-License-Identifier: MIT */
/*
 * `gate lock status|release` and `gate maintenance resume` (gate(1)):
 * what a runbook holds, looked at or let go of without running it
 * (gate/hold_run.h).  Releasing and resuming are audited (a "hold"
 * record, doc/report.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hold_run.h"
#include "msg.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"
#include "kit/text.h"

static const char help_lock[] =
	"usage: gate lock status [OPTIONS] RUNBOOK\n"
	"       gate lock release --reason TEXT [OPTIONS] RUNBOOK\n"
	"\n"
	"status: probe each lock of RUNBOOK's lock: list (taking none) and say whether\n"
	"it is free or who holds it (RUNBOOK by USER@HOST pid PID since TIME); a\n"
	"maintenance state file left over or in use is said too.\n"
	"\n"
	"release: remove each lock whose kind can be removed by someone else than its\n"
	"holder (an etcd slot of a host that is gone); a file lock or a PostgreSQL\n"
	"advisory lock is freed by the kernel or the server when its holder ends, and\n"
	"is left alone.  Audited, with --reason.\n"
	"\n"
	"Options:\n"
	"      --reason TEXT      why the locks are released (release: required)\n"
	"      --var NAME=VALUE   set or replace a runbook variable (repeatable)\n"
	"      --module-path DIR  load external check modules from DIR (repeatable)\n"
	"      --audit-log FILE   one more JSON-lines audit file\n"
	"  -q, --quiet            print nothing but errors\n"
	"  -h, --help             this text\n"
	"\n"
	"Exit status:\n"
	"  0        status: every lock is free; release: done\n"
	"  75       status: a lock is held or could not be probed, or a state file is\n"
	"           left over; release: a lock could not be released\n"
	"  78       the runbook is invalid\n"
	"  64       bad command line\n"
	"\n"
	"Example:\n"
	"  gate lock status runbooks/pg-minor-upgrade.yaml\n";

static const char help_maintenance[] =
	"usage: gate maintenance resume [OPTIONS] RUNBOOK\n"
	"\n"
	"Undo the maintenance mode that a run of RUNBOOK left on (gate was killed, or\n"
	"turning it off failed): each item in the state file is ended from its\n"
	"recorded undo record, in reverse; the state file is removed only when every\n"
	"item is off.  Refused while a run of RUNBOOK is in progress.  Audited.\n"
	"\n"
	"Options:\n"
	"      --reason TEXT      recorded in the audit\n"
	"      --var NAME=VALUE   set or replace a runbook variable (repeatable)\n"
	"      --module-path DIR  load external check modules from DIR (repeatable)\n"
	"      --audit-log FILE   one more JSON-lines audit file\n"
	"  -q, --quiet            print nothing but errors\n"
	"  -h, --help             this text\n"
	"\n"
	"Exit status:\n"
	"  0        everything is off (or nothing was left on)\n"
	"  75       an item could not be turned off, or a run is in progress\n"
	"  78       the runbook is invalid\n"
	"  64       bad command line\n"
	"\n"
	"Example:\n"
	"  gate maintenance resume runbooks/pg-minor-upgrade.yaml\n";

/* "lock 1: file /run/lock/db.lock: free", a line per entry of a list. */
static void print_entries(const json_t *list, const char *word)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		const char *st = json_string_value(json_object_get(e, "state"));
		const char *who = json_string_value(json_object_get(e, "holder"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s %zu: ", word, i + 1);
		text_safe_add(&sb, json_string_value(json_object_get(e, "label")), TEXT_ONE_LINE);
		strbuf_addf(&sb, ": %s", who ? "held by " : st ? st : "?");
		if (msg && !who)
			strbuf_adds(&sb, ": ");
		if (who || msg)
			text_safe_add(&sb, who ? who : msg, TEXT_ONE_LINE);
		printf("%s\n", sb.buf);
		strbuf_release(&sb);
	}
}

/* The audit record of an action on what gate holds. */
static void audit_hold(struct cli_session *s, struct hold_session *hs, const char *action, int done)
{
	eval_init(&s->ev, &s->rb, EVAL_MODE_CHECK);
	s->have_ev = 1;
	s->ev.nresults = 0; /* no check ran */
	s->ev.started_at_ms = s->ev.now_ms = gate_now_ms();
	s->ev.allow = done;
	s->ev.reasons = hs->reasons ? strv_dup(hs->reasons) : NULL;
	s->ev.nreasons = hs->nreasons;
	s->ev.holds = json_deep_copy(hs->report);
	json_object_set_new(s->ev.holds, "action", json_string(action));
	json_object_set_new(s->ev.holds, "reason",
	                    s->o->reason ? json_string(s->o->reason) : json_null());
	cli_audit(s, AUDIT_HOLD);
}

static int run_sub(const char *group, const char *sub, const char *runbook,
                   const struct cli_opts *o)
{
	struct cli_session s = {.o = o};
	int rc = cli_load_runbook(&s, runbook, 1);
	if (rc != 0) {
		cli_session_release(&s);
		return rc;
	}
	struct hold_session hs;
	cli_hold_session_init(&hs, &s.rb);
	int r;
	if (!strcmp(sub, "status")) {
		r = hold_lock_status(&hs);
		if (!o->quiet) {
			if (!s.rb.nlocks)
				printf("%s has no lock\n", s.rb.name);
			print_entries(json_object_get(hs.report, "locks"), "lock");
		}
	} else if (!strcmp(sub, "release")) {
		r = hold_lock_release(&hs);
		if (!o->quiet)
			print_entries(json_object_get(hs.report, "locks"), "lock");
		audit_hold(&s, &hs, "lock release", r == 0);
	} else {
		r = hold_resume(&hs);
		if (!o->quiet && r > 0)
			printf("%s: nothing is left on\n", s.rb.name);
		if (!o->quiet)
			print_entries(json_object_get(hs.report, "maintenance"), "maintenance");
		if (r <= 0)
			audit_hold(&s, &hs, "maintenance resume", r == 0);
	}
	for (size_t i = 0; i < hs.nreasons; i++) {
		if (!strcmp(sub, "status"))
			printf("blocked: %s\n", hs.reasons[i]); /* what gate run would say */
		else
			msg_error("%s", hs.reasons[i]);
	}
	rc = r < 0 ? o->blocked_exit : 0;
	hold_session_release(&hs);
	cli_session_release(&s);
	(void)group;
	return rc;
}

static int hold_main(int argc, char **argv, const char *help, const char *const *subs)
{
	const char *group = argv[0];
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(help, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	const char *sub = argv[1];
	int known = 0;
	for (size_t i = 0; subs[i]; i++)
		known |= !strcmp(sub, subs[i]);
	if (!known)
		return cli_usage_error(group, "'%s' is not a 'gate %s' command", sub, group);
	char **args = xcalloc((size_t)argc, sizeof(*args));
	args[0] = (char *)group;
	for (int i = 2; i < argc; i++)
		args[i - 1] = argv[i];
	for (int i = 1; i < argc - 1; i++)
		if (!strcmp(args[i], "-h") || !strcmp(args[i], "--help")) {
			free(args);
			fputs(help, stdout);
			return 0;
		}
	struct cli_opts o;
	cli_opts_init(&o);
	char **pos, **cmd;
	size_t npos;
	int rc = cli_parse_opts(argc - 1, args, &o, &pos, &npos, &cmd);
	if (rc < 0 && (npos != 1 || cmd))
		rc = cli_usage_error(group, "one runbook, and no command");
	if (rc < 0 && !strcmp(sub, "release") && !o.reason)
		rc = cli_usage_error(group, "release needs --reason: say why the locks go");
	if (rc < 0)
		rc = run_sub(group, sub, pos[0], &o);
	free(pos);
	free(args);
	cli_opts_release(&o);
	return rc;
}

int cli_lock_main(int argc, char **argv)
{
	static const char *const subs[] = {"status", "release", NULL};
	return hold_main(argc, argv, help_lock, subs);
}

int cli_maintenance_main(int argc, char **argv)
{
	static const char *const subs[] = {"resume", NULL};
	return hold_main(argc, argv, help_maintenance, subs);
}
