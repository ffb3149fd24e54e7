/* SPDX-License-Identifier: MIT */
/* The commands that evaluate nothing: `gate lint`, `gate checks`,
 * `gate version`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hooks.h"
#include "msg.h"
#include "registry.h"
#include "runbook.h"

/* ---- gate lint ---- */

/* A file that is not a valid runbook may be a policy, a file meant to be
 * included (doc/runbook.md, "Includes"): its runbook-only keys refused,
 * no checks of its own valid when it adds a window or a freeze.  1 when
 * it loads as one (rb then holds it), 0 when not. */
static int lint_as_policy(struct runbook *rb, const char *path, const struct runbook_load_opts *lo,
                          struct gate_registry *reg)
{
	struct gate_error perr = {0};
	runbook_release(rb);
	if (runbook_load_policy(rb, path, lo, reg, &perr) == 0)
		return 1;
	runbook_release(rb);
	return 0;
}

/* What a valid file adds, for lint's "ok" line. */
static void lint_print_ok(const char *path, const struct runbook *rb, int policy,
                          const struct cli_opts *o)
{
	if (policy)
		printf("%s: ok (policy to include: %zu check%s%s%s)\n", path, rb->nchecks,
		       rb->nchecks == 1 ? "" : "s", rb->nwindows ? ", window" : "",
		       rb->nfreezes ? ", freeze" : "");
	else
		printf("%s: ok (%zu check%s)\n", path, rb->nchecks, rb->nchecks == 1 ? "" : "s");
	for (size_t i = 0; o->verbose && i < rb->nchecks; i++)
		printf("  %s (%s)\n", rb->checks[i].id, rb->checks[i].type);
}

/* 0 valid, 1 invalid (errors printed). */
static int lint_one(const char *path, struct gate_registry *reg, const struct cli_opts *o)
{
	struct gate_error err = {0};
	struct runbook rb;
	memset(&rb, 0, sizeof(rb));
	struct runbook_load_opts lo = {o->vars, o->nvars, 0};
	int bad = 0, policy = 0;
	if (runbook_load(&rb, path, &lo, reg, &err) < 0 &&
	    !(policy = lint_as_policy(&rb, path, &lo, reg))) {
		/* Not a valid runbook nor policy: it may be a git-hook
		 * configuration (.gate/hooks.yaml).  Asked only now, so a
		 * runbook is parsed once (lint of 10,000 checks spent 40% in
		 * the second parse). */
		struct gate_error herr = {0};
		char *hwarn = NULL;
		int h = hooks_lint(path, &hwarn, &herr);
		runbook_release(&rb);
		if (h > 0) {
			if (hwarn)
				msg_warn("%s", hwarn);
			free(hwarn);
			if (!o->quiet)
				printf("%s: ok (git-hook configuration)\n", path);
			return 0;
		}
		msg_gate_error(h < 0 ? &herr : &err);
		return 1;
	}
	for (size_t i = 0; rb.warnings && rb.warnings[i]; i++)
		msg_warn("%s", rb.warnings[i]);
	/* A check whose module failed to load would be an error at run
	 * time: lint says so now, at the check's position. */
	for (size_t i = 0; i < rb.nchecks; i++) {
		const struct rb_check *c = &rb.checks[i];
		if (c->ct)
			continue;
		msg_error("%s:%d:%d: check '%s': %s", c->pos.file ? c->pos.file : path, c->pos.line,
		          c->pos.col, c->id,
		          c->unavailable ? c->unavailable : "its check type is not available");
		bad = 1;
	}
	if (!bad && !o->quiet)
		lint_print_ok(path, &rb, policy, o);
	runbook_release(&rb);
	return bad;
}

int cli_lint_main(int argc, char **argv)
{
	struct cli_opts o;
	char **pos, **cmd;
	size_t npos;
	cli_opts_init(&o);
	int rc = cli_parse_opts(argc, argv, &o, &pos, &npos, &cmd);
	if (rc < 0 && cmd)
		rc = cli_usage_error("lint", "'gate lint' runs nothing: no command after '--'");
	if (rc < 0 && !npos)
		rc = cli_usage_error("lint", "no runbook given");
	if (rc < 0) {
		struct gate_registry reg;
		cli_registry_load(&reg, &o);
		int bad = 0;
		for (size_t i = 0; i < npos; i++)
			bad |= lint_one(pos[i], &reg, &o);
		registry_release(&reg);
		rc = bad ? EXIT_CONFIG : 0;
	}
	free(pos);
	cli_opts_release(&o);
	return rc;
}

/* ---- gate checks ---- */

static const char *param_type_name(const struct gate_param *p, char *buf, size_t len)
{
	switch (p->type) {
	case GATE_P_STRING:
		return "string";
	case GATE_P_INT:
		return "integer";
	case GATE_P_BOOL:
		return "boolean";
	case GATE_P_DURATION:
		return "duration";
	case GATE_P_SIZE:
		return "size";
	case GATE_P_NUMBER:
		return "number";
	case GATE_P_STRING_LIST:
		return "list of strings";
	case GATE_P_STRING_MAP:
		return "map of strings";
	case GATE_P_ENUM:
		snprintf(buf, len, "one of %s", p->choices ? p->choices : "?");
		return buf;
	case GATE_P_JSON:
		return "any value";
	case GATE_P_INT_LIST:
		return "list of integers";
	default:
		return "?";
	}
}

static void describe_type(const struct gate_registry_entry *e)
{
	const struct gate_check_type *ct = e->ct;
	printf("%s - %s\n", ct->name, ct->summary ? ct->summary : "");
	printf("module: %s %s (%s)\n", e->mod && e->mod->name ? e->mod->name : "?",
	       e->mod && e->mod->version ? e->mod->version : "",
	       e->origin ? e->origin : "built-in");
	if (ct->doc)
		printf("\n%s\n", ct->doc);
	printf("\nParameters:\n");
	size_t wname = 4, wtype = 4, wdef = 7;
	char tb[256];
	for (const struct gate_param *p = ct->params; p && p->name; p++) {
		size_t l = strlen(p->name);
		wname = l > wname ? l : wname;
		l = strlen(param_type_name(p, tb, sizeof(tb)));
		wtype = l > wtype ? l : wtype;
		l = p->default_value ? strlen(p->default_value) : 1;
		wdef = l > wdef ? l : wdef;
	}
	printf("  %-*s  %-*s  %-*s  %-8s  %s\n", (int)wname, "name", (int)wtype, "type", (int)wdef,
	       "default", "required", "doc");
	for (const struct gate_param *p = ct->params; p && p->name; p++) {
		int req = (p->flags & GATE_PF_REQUIRED) != 0;
		printf("  %-*s  %-*s  %-*s  %-8s  %s%s\n", (int)wname, p->name, (int)wtype,
		       param_type_name(p, tb, sizeof(tb)), (int)wdef,
		       p->default_value ? p->default_value : "-", req ? "yes" : "no",
		       p->doc ? p->doc : "",
		       (p->flags & GATE_PF_SECRET) ? " (secret: never shown)" : "");
	}
	if (!ct->params || !ct->params[0].name)
		printf("  (none)\n");
}

/* Every type: the built-in families' (each loaded now), in the index's
 * order, then the external modules'.  A family that cannot be loaded is
 * said, and makes the exit status 78. */
static int list_types(struct gate_registry *reg)
{
	int bad = registry_load_all(reg) > 0;
	size_t w = 4;
	for (size_t i = 0; i < reg->ntypes; i++) {
		size_t l = strlen(reg->types[i].ct->name);
		w = l > w ? l : w;
	}
	for (int builtin = 1; builtin >= 0; builtin--)
		for (size_t i = 0; i < reg->ntypes; i++) {
			const struct gate_registry_entry *e = &reg->types[i];
			if (builtin != !strcmp(e->origin, "built-in"))
				continue;
			printf("%-*s  %s\n", (int)w, e->ct->name,
			       e->ct->summary ? e->ct->summary : "");
		}
	for (size_t i = 0; i < reg->nfamilies; i++)
		if (reg->families[i].state < 0)
			msg_error("gate's built-in family %s cannot be loaded: %s",
			          reg->families[i].name, reg->families[i].why);
	return bad ? EXIT_CONFIG : 0;
}

int cli_checks_main(int argc, char **argv)
{
	struct cli_opts o;
	char **pos, **cmd;
	size_t npos;
	cli_opts_init(&o);
	int rc = cli_parse_opts(argc, argv, &o, &pos, &npos, &cmd);
	if (rc < 0 && (npos > 1 || cmd))
		rc = cli_usage_error("checks", "at most one TYPE");
	if (rc >= 0) {
		free(pos);
		cli_opts_release(&o);
		return rc;
	}
	struct gate_registry reg;
	cli_registry_load(&reg, &o);
	if (npos == 1) {
		const struct gate_registry_entry *e = registry_find(&reg, pos[0]);
		const struct gate_family_load *fl = registry_family_failure(&reg, pos[0]);
		if (e) {
			describe_type(e);
			rc = 0;
		} else if (fl) {
			msg_error("check type '%s' is provided by gate's built-in family %s, which "
			          "cannot be loaded: %s",
			          pos[0], fl->name, fl->why);
			rc = EXIT_CONFIG;
		} else {
			rc = cli_usage_error("checks", "no check type '%s' (see 'gate checks')",
			                     pos[0]);
		}
	} else {
		rc = list_types(&reg);
	}
	registry_release(&reg);
	free(pos);
	cli_opts_release(&o);
	return rc;
}

/* ---- gate version ---- */

int cli_version_main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return cli_help("version");
	if (argc > 1)
		return cli_usage_error("version", "no arguments expected");
	printf("gate %s\n", GATE_VERSION);
	printf("module ABI %u.%u\n", (unsigned)GATE_ABI_MAJOR, (unsigned)GATE_ABI_MINOR);
	return 0;
}
