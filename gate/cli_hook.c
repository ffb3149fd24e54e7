/* SPDX-License-Identifier: MIT */
/* gate hook run|install: Git hooks that refuse a push while a runbook
 * blocks (hooks.h does the work; this file only talks to the user). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "hooks.h"
#include "msg.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"
#include "wrap.h"

/* Git gives a hook one line per ref; a push with more than this on stdin
 * is not something gate can judge, so it refuses it. */
#define HOOK_MAX_STDIN (16 * 1024 * 1024)

static const char hook_usage[] =
	"usage: gate hook run HOOK [--config FILE] [--pre-commit] [OPTIONS] [GIT-ARGS...]\n"
	"       gate hook install [HOOK...] [--config FILE] [--force]\n"
	"HOOK is pre-push (the default when installing into a work tree),\n"
	"pre-receive (the default in a bare repository) or update.\n";

static const char hook_help[] =
	"usage: gate hook run HOOK [--config FILE] [--pre-commit] [OPTIONS] [GIT-ARGS...]\n"
	"       gate hook install [HOOK...] [--config FILE] [--force]\n"
	"\n"
	"Refuse a git push while a runbook blocks.  .gate/hooks.yaml maps refs to\n"
	"runbooks per hook; `gate lint` validates it.  pre-push reads it, and the\n"
	"runbooks, from the pusher's work tree: a convenience the pusher controls,\n"
	"not a control.  pre-receive and update read them from the git directory\n"
	"on the server (the bare repository's directory, or .git), never from a\n"
	"work tree or from what is pushed.  A hook with no section in the file\n"
	"refuses every push.\n"
	"\n"
	"run reads what git gives HOOK (pre-push: \"local-ref local-oid remote-ref\n"
	"remote-oid\" lines on stdin, judged by the remote ref; pre-receive: \"old-oid\n"
	"new-oid ref\" lines; update: the arguments REF OLD-OID NEW-OID), evaluates\n"
	"each matching runbook once, like `gate check` (nothing is executed), and\n"
	"prints the reports on stderr; a runbook's notify: webhooks are told of the\n"
	"block or allow.  Deleted refs and refs no rule names pass.\n"
	"\n"
	"install writes HOOK (default pre-push, pre-receive in a bare repository)\n"
	"into `git rev-parse --git-path hooks` (core.hooksPath is honoured) as\n"
	"`exec gate hook run HOOK`; it replaces a hook it did not write only with\n"
	"--force, keeping the old one as HOOK.gate-backup.  When the configuration\n"
	"exists, it must be valid and have a section for each HOOK, or nothing is\n"
	"installed.\n"
	"\n"
	"Options:\n"
	"      --config FILE      the hooks configuration (default .gate/hooks.yaml)\n"
	"      --force            (install) replace a hook gate did not write\n"
	"      --pre-commit       (run) take the ref from PRE_COMMIT_REMOTE_BRANCH, as\n"
	"                         the pre-commit framework passes it\n"
	"  -f, --format, --var, --timeout, -j, --module-path, --audit-log, -q, -v,\n"
	"  --no-color             (run) as for `gate check`\n"
	"  -h, --help             this text\n"
	"\n"
	"The way around a pre-push hook is `git push --no-verify`.\n"
	"\n"
	"Exit status (run): 0 every matching runbook allows (or none matches);\n"
	"1 the push is refused: a runbook blocks or is invalid, the configuration is\n"
	"missing or invalid or has no rules for HOOK, or git's input cannot be\n"
	"understood.  64 bad command line.\n"
	"\n"
	"Example:\n"
	"  gate lint .gate/hooks.yaml && gate hook install\n";

/* ---- where things are ---- */

struct repo {
	int bare;
	char *top;     /* the work tree top, or the bare repository's directory */
	char *git_dir; /* absolute; the same as top in a bare repository */
};

static int repo_find(struct repo *r, struct gate_error *err)
{
	char *out = NULL;
	memset(r, 0, sizeof(*r));
	if (hooks_git((char *[]){"git", "rev-parse", "--is-bare-repository", NULL}, &out, err) < 0)
		return -1;
	r->bare = !strcmp(out, "true");
	free(out);
	if (hooks_git((char *[]){"git", "rev-parse", "--absolute-git-dir", NULL}, &r->git_dir,
	              err) < 0)
		return -1;
	if (r->bare) {
		r->top = xstrdup(r->git_dir);
		return 0;
	}
	return hooks_git((char *[]){"git", "rev-parse", "--show-toplevel", NULL}, &r->top, err);
}

static void repo_release(struct repo *r)
{
	free(r->top);
	free(r->git_dir);
	memset(r, 0, sizeof(*r));
}

/* Where HOOK's configuration and relative runbooks are.  The server-side
 * hooks read the git directory only: a work tree on the server is what
 * pushes write (receive.denyCurrentBranch=updateInstead), so a push could
 * loosen the gate that judges the next one.  pre-push reads the pusher's
 * own work tree. */
static const char *repo_base(const struct repo *r, const char *hook)
{
	return hooks_server_side(hook) ? r->git_dir : r->top;
}

static char *read_stdin(struct gate_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[8192];
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			gate_error_set(err, "<stdin>", 0, 0, "%s", strerror(errno));
			strbuf_release(&sb);
			return NULL;
		}
		if (n == 0)
			break;
		if (sb.len + (size_t)n > HOOK_MAX_STDIN) {
			gate_error_set(err, "<stdin>", 0, 0, "more than %d bytes of ref updates",
			               HOOK_MAX_STDIN);
			strbuf_release(&sb);
			return NULL;
		}
		strbuf_add(&sb, buf, (size_t)n);
	}
	return strbuf_detach(&sb);
}

/* ---- gate hook run ---- */

struct hook_run_args {
	const char *config;
	int pre_commit;
	struct cli_opts o;
	struct rb_var *vars;
	size_t nvars;
	const char **mpaths;
	size_t nmpaths;
	char **git_args;
	int ngit_args;
};

enum {
	OPT_CONFIG = 256,
	OPT_PRE_COMMIT,
	OPT_VAR,
	OPT_TIMEOUT,
	OPT_AUDIT,
	OPT_MODPATH,
	OPT_NOCOLOR
};

/* --var NAME=VALUE */
static int take_var(struct hook_run_args *a, char *arg)
{
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg) {
		msg_error("--var wants NAME=VALUE, got '%s'", arg);
		return -1;
	}
	*eq = '\0';
	a->vars = xrealloc(a->vars, (a->nvars + 1) * sizeof(*a->vars));
	a->vars[a->nvars].name = arg;
	a->vars[a->nvars++].value = eq + 1;
	return 0;
}

/* One option of hook run (getopt's c and optarg); 0, or -1 after saying
 * what is wrong. */
static int take_run_opt(int c, char *arg, struct hook_run_args *a, char **argv)
{
	switch (c) {
	case OPT_CONFIG:
		a->config = arg;
		return 0;
	case OPT_PRE_COMMIT:
		a->pre_commit = 1;
		return 0;
	case 'f':
		if (report_format_parse(arg, &a->o.format) == 0)
			return 0;
		msg_error("unknown report format '%s'", arg);
		return -1;
	case OPT_VAR:
		return take_var(a, arg);
	case OPT_TIMEOUT:
		if (parse_duration_ms(arg, &a->o.timeout_ms) == 0 && a->o.timeout_ms > 0)
			return 0;
		msg_error("bad duration '%s' for --timeout", arg);
		return -1;
	case 'j':
		a->o.jobs = atoi(arg);
		if (a->o.jobs >= 1)
			return 0;
		msg_error("--jobs wants a number of at least 1");
		return -1;
	case OPT_MODPATH:
		a->mpaths = xrealloc(a->mpaths, (a->nmpaths + 1) * sizeof(*a->mpaths));
		a->mpaths[a->nmpaths++] = arg;
		return 0;
	case OPT_AUDIT:
		a->o.audit_log = arg;
		return 0;
	case 'q':
		a->o.quiet = 1;
		return 0;
	case 'v':
		a->o.verbose = 1;
		return 0;
	case OPT_NOCOLOR:
		a->o.no_color = 1;
		return 0;
	default:
		if (optopt)
			msg_error("hook run: unknown or incomplete option '-%c'", optopt);
		else
			msg_error("hook run: unknown option '%s'", argv[optind - 1]);
		return -1;
	}
}

static int parse_run_args(int argc, char **argv, struct hook_run_args *a)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, OPT_CONFIG},
		{"pre-commit", no_argument, NULL, OPT_PRE_COMMIT},
		{"format", required_argument, NULL, 'f'},
		{"var", required_argument, NULL, OPT_VAR},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"jobs", required_argument, NULL, 'j'},
		{"module-path", required_argument, NULL, OPT_MODPATH},
		{"audit-log", required_argument, NULL, OPT_AUDIT},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"no-color", no_argument, NULL, OPT_NOCOLOR},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+f:j:qv", longopts, NULL)) != -1)
		if (take_run_opt(c, optarg, a, argv) < 0)
			return -1;
	a->o.vars = a->vars;
	a->o.nvars = a->nvars;
	a->o.module_paths = a->mpaths;
	a->o.nmodule_paths = a->nmpaths;
	a->git_args = argv + optind;
	a->ngit_args = argc - optind;
	return 0;
}

/* The ref updates this hook is about: stdin for pre-push and pre-receive,
 * the arguments for update, the PRE_COMMIT_* variables under the pre-commit
 * framework (which keeps stdin for itself). */
static int collect_updates(const char *hook, const struct hook_run_args *a, struct ref_update **u,
                           size_t *n, int *all_refs, struct gate_error *err)
{
	*u = NULL;
	*n = 0;
	*all_refs = 0;
	if (a->pre_commit) {
		const char *ref = getenv("PRE_COMMIT_REMOTE_BRANCH");
		const char *to = getenv("PRE_COMMIT_TO_REF");
		if (!ref || !*ref) {
			/* `pre-commit run --hook-stage pre-push` by hand: no ref
			 * is known, so judge every rule of the hook. */
			*all_refs = 1;
			return 0;
		}
		*u = xcalloc(1, sizeof(**u));
		(*u)->ref = xstrdup(ref);
		(*u)->new_oid = xstrdup(to && *to ? to : "unknown");
		(*u)->old_oid = xstrdup(
			getenv("PRE_COMMIT_FROM_REF") ? getenv("PRE_COMMIT_FROM_REF") : "");
		*n = 1;
		return 0;
	}
	if (!strcmp(hook, "update")) {
		if (a->ngit_args != 3) {
			gate_error_set(err, NULL, 0, 0,
			               "the update hook takes REF OLD-OID NEW-OID");
			return -1;
		}
		char *line = xasprintf("%s %s %s\n", a->git_args[1], a->git_args[2],
		                       a->git_args[0]);
		int r = hooks_parse_updates("pre-receive", line, u, n, err);
		free(line);
		return r;
	}
	char *text = read_stdin(err);
	if (!text)
		return -1;
	int r = hooks_parse_updates(hook, text, u, n, err);
	free(text);
	return r;
}

/* Without refs to go by, every rule of the hook applies, each runbook once. */
static void match_all_rules(const struct hook_set *set, struct hook_match **m, size_t *nm)
{
	for (size_t r = 0; r < set->nrules; r++) {
		const struct hook_rule *rule = &set->rules[r];
		struct hook_match *hit = NULL;
		for (size_t j = 0; j < *nm; j++)
			if (!strcmp((*m)[j].runbook, rule->runbook))
				hit = &(*m)[j];
		if (!hit) {
			*m = xrealloc(*m, (*nm + 1) * sizeof(**m));
			hit = &(*m)[(*nm)++];
			memset(hit, 0, sizeof(*hit));
			hit->runbook = rule->runbook;
			hit->refs = xcalloc(1, sizeof(char *));
		}
		for (size_t k = 0; k < rule->nrefs; k++) {
			hit->refs = xrealloc(hit->refs, (hit->nrefs + 2) * sizeof(char *));
			hit->refs[hit->nrefs++] = xstrdup(rule->refs[k]);
			hit->refs[hit->nrefs] = NULL;
		}
	}
}

/* What hook run decided, and what it holds meanwhile. */
struct hook_plan {
	struct repo repo;
	struct hooks_config hc;
	char *config;
	const char *base;     /* where relative runbooks are */
	struct hook_match *m; /* the runbooks to evaluate */
	size_t nm;
};

static void hook_plan_release(struct hook_plan *p)
{
	hook_matches_free(p->m, p->nm);
	hooks_config_release(&p->hc);
	repo_release(&p->repo);
	free(p->config);
}

/* Which runbooks guard this push: 0, or -1 after saying why it is
 * refused (not in a repository, no or an invalid configuration, no rules
 * for the hook, input from git that cannot be understood). */
static int hook_plan(const char *hook, const struct hook_run_args *a, struct hook_plan *p)
{
	struct gate_error err = {0};
	if (repo_find(&p->repo, &err) < 0) {
		msg_gate_error(&err);
		msg_error("%s: not in a git repository: refusing", hook);
		return -1;
	}
	p->base = repo_base(&p->repo, hook);
	p->config = a->config ? xstrdup(a->config) : xasprintf("%s/%s", p->base, HOOKS_CONFIG_PATH);
	if (access(p->config, F_OK) < 0) {
		/* The hook was installed on purpose: without its configuration
		 * nobody can say the push is safe. */
		msg_error("%s: %s: %s; refusing the push (add it, or remove the hook)", hook,
		          p->config, strerror(errno));
		return -1;
	}
	if (hooks_load(&p->hc, p->config, &err) < 0) {
		msg_gate_error(&err);
		msg_error("%s: invalid hooks configuration: refusing", hook);
		return -1;
	}
	const struct hook_set *set = hooks_find(&p->hc, hook);
	if (!set) {
		/* Installed for a hook the configuration says nothing about:
		 * no rule says which pushes are safe, so none is. */
		msg_error("%s: %s has no '%s:' section under hooks: refusing the push "
		          "(add rules for %s, or remove the hook)",
		          hook, p->config, hook, hook);
		return -1;
	}
	struct ref_update *u = NULL;
	size_t nu = 0;
	int all_refs = 0;
	if (collect_updates(hook, a, &u, &nu, &all_refs, &err) < 0) {
		msg_gate_error(&err);
		msg_error("%s: refusing", hook);
		return -1;
	}
	if (all_refs)
		match_all_rules(set, &p->m, &p->nm);
	else
		hooks_match(set, u, nu, &p->m, &p->nm);
	ref_updates_free(u, nu);
	return 0;
}

/* Each runbook of the plan evaluated once; 1 when any blocks. */
static int hook_evaluate(const char *hook, const struct hook_plan *p, struct cli_opts *o)
{
	int refused = 0;
	for (size_t i = 0; i < p->nm; i++) {
		char *path = hooks_runbook_path(p->base, p->m[i].runbook);
		char *refs = strv_join(p->m[i].refs, ", ");
		msg_note("%s: %s: checking %s", hook, refs, p->m[i].runbook);
		fflush(stderr);
		int st = cli_evaluate(path, EVAL_MODE_CHECK, NULL, o);
		fflush(stdout);
		if (st != 0) {
			refused = 1;
			msg_error("%s: %s %s: refusing the push of %s", hook, p->m[i].runbook,
			          st == EXIT_CONFIG ? "is invalid" : "blocks", refs);
		}
		free(refs);
		free(path);
	}
	return refused;
}

static int hook_run_cmd(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(hook_help, stdout);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-') {
		fputs(hook_usage, stderr);
		return EXIT_USAGE;
	}
	const char *hook = argv[1];
	if (!hooks_known(hook)) {
		msg_error("unknown hook '%s' (gate reads pre-push, pre-receive and update)", hook);
		return EXIT_USAGE;
	}
	struct hook_run_args a;
	memset(&a, 0, sizeof(a));
	cli_opts_init(&a.o);
	a.o.notify = 1; /* a push gate decided on is told, as a gate run is */
	struct hook_plan plan;
	memset(&plan, 0, sizeof(plan));
	int rc = 1; /* a hook refuses unless everything below says yes */

	/* Everything a hook says goes to stderr, where git puts its own
	 * messages: git's stdout may be parsed (git push --porcelain), and
	 * receive-pack relays stderr to the pusher as "remote:" lines. */
	fflush(stdout);
	dup2(STDERR_FILENO, STDOUT_FILENO);

	if (parse_run_args(argc - 1, argv + 1, &a) < 0) {
		fputs(hook_usage, stderr);
		rc = EXIT_USAGE;
	} else if (hook_plan(hook, &a, &plan) == 0) {
		rc = hook_evaluate(hook, &plan, &a.o) ? 1 : 0;
	}
	hook_plan_release(&plan);
	free(a.vars);
	free(a.mpaths);
	a.o.vars = NULL;
	a.o.nvars = 0;
	a.o.module_paths = NULL;
	a.o.nmodule_paths = 0;
	cli_opts_release(&a.o);
	return rc;
}

/* ---- gate hook install ---- */

static int mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	int r = 0;
	for (char *s = p + 1; *s && r == 0; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			r = -1;
		*s = '/';
	}
	if (r == 0 && mkdir(p, 0755) < 0 && errno != EEXIST)
		r = -1;
	free(p);
	return r;
}

static char *config_path(const struct repo *r, const char *hook, const char *given)
{
	return given ? xstrdup(given) : xasprintf("%s/%s", repo_base(r, hook), HOOKS_CONFIG_PATH);
}

/* The configuration HOOK will read, if it exists already, must be valid
 * and have rules for HOOK: otherwise the hook would refuse every push.
 * (A missing one is only warned about: it may be written next.) */
static int install_check_config(const struct repo *r, const char *hook, const char *given)
{
	char *path = config_path(r, hook, given);
	struct hooks_config hc = {0};
	struct gate_error err = {0};
	int rc = 0;
	if (access(path, F_OK) < 0) {
		free(path);
		return 0;
	}
	if (hooks_load(&hc, path, &err) < 0) {
		msg_gate_error(&err);
		msg_error("hook install: %s is invalid: not installing %s", path, hook);
		rc = -1;
	} else if (!hooks_find(&hc, hook)) {
		msg_error("hook install: %s has no '%s:' section under hooks: the hook would "
		          "refuse every push; add rules for %s first",
		          path, hook, hook);
		rc = -1;
	}
	hooks_config_release(&hc);
	free(path);
	return rc;
}

/* hook install's options: 0, 1 when --help was printed, -1 (usage). */
static int parse_install_args(int argc, char **argv, const char **config, int *force)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"force", no_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'c') {
			*config = optarg;
		} else if (c == 'F') {
			*force = 1;
		} else if (c == 'h') {
			fputs(hook_help, stdout);
			return 1;
		} else {
			msg_error("hook install: unknown option '%s'", argv[optind - 1]);
			fputs(hook_usage, stderr);
			return -1;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (!hooks_known(argv[i])) {
			msg_error("unknown hook '%s' (gate reads pre-push, pre-receive and update)",
			          argv[i]);
			return -1;
		}
	}
	return 0;
}

/* Where git looks for hooks, absolute and created (--git-path hooks
 * honours core.hooksPath; it is relative to here); NULL after saying why. */
static char *hooks_dir_find(void)
{
	struct gate_error err = {0};
	char *rel = NULL, *dir;
	if (hooks_git((char *[]){"git", "rev-parse", "--git-path", "hooks", NULL}, &rel, &err) <
	    0) {
		msg_gate_error(&err);
		return NULL;
	}
	if (rel[0] == '/') {
		dir = rel;
	} else {
		char cwd[4096];
		if (!getcwd(cwd, sizeof(cwd))) {
			msg_error("getcwd: %s", strerror(errno));
			free(rel);
			return NULL;
		}
		dir = xasprintf("%s/%s", cwd, rel);
		free(rel);
	}
	if (mkdir_p(dir) < 0) {
		msg_error("%s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

/* Write each hook (every configuration checked first: an invalid one, or
 * one without rules for a hook, installs nothing).  0, or 1. */
static int install_hooks(const struct repo *repo, const char *const *hooks, int nhooks,
                         const char *dir, const char *gate, const char *config, int force)
{
	int rc = 0;
	for (int i = 0; i < nhooks; i++)
		if (install_check_config(repo, hooks[i], config) < 0)
			rc = 1;
	if (rc)
		return 1;
	for (int i = 0; i < nhooks; i++) {
		char *path = xasprintf("%s/%s", dir, hooks[i]);
		char *text = hooks_script_text(gate, hooks[i], config);
		struct gate_error werr = {0};
		if (write_script_atomic(path, text, HOOKS_MARKER, force, &werr) < 0) {
			msg_gate_error(&werr);
			if (!force)
				msg_note("(use --force to replace it; the old hook is kept as "
				         "%s.gate-backup)",
				         hooks[i]);
			rc = 1;
		} else {
			printf("installed %s\n", path);
		}
		free(text);
		free(path);
	}
	for (int i = 0; i < nhooks && rc == 0; i++) {
		char *expect = config_path(repo, hooks[i], config);
		if (access(expect, F_OK) < 0)
			msg_warn("%s does not exist yet: until it does, the %s hook refuses every "
			         "push",
			         expect, hooks[i]);
		free(expect);
	}
	return rc;
}

static int hook_install_cmd(int argc, char **argv)
{
	const char *config_arg = NULL;
	int force = 0;
	int pr = parse_install_args(argc, argv, &config_arg, &force);
	if (pr != 0)
		return pr > 0 ? 0 : EXIT_USAGE;

	struct gate_error err = {0};
	struct repo repo;
	char *hooks_dir = NULL, *gate = NULL, *config = NULL;
	int rc = 1;
	if (repo_find(&repo, &err) < 0) {
		msg_gate_error(&err);
		msg_error("hook install: run it inside a git repository");
		repo_release(&repo);
		return 1;
	}
	hooks_dir = hooks_dir_find();
	if (!hooks_dir)
		goto out;
	gate = gate_self_exe(&err);
	if (!gate) {
		msg_gate_error(&err);
		goto out;
	}
	if (config_arg) {
		config = path_absolute(config_arg, &err);
		if (!config) {
			msg_gate_error(&err);
			goto out;
		}
	}
	const char *def[] = {repo.bare ? "pre-receive" : "pre-push"};
	const char *const *hooks = optind < argc ? (const char *const *)(argv + optind) : def;
	int nhooks = optind < argc ? argc - optind : 1;
	rc = install_hooks(&repo, hooks, nhooks, hooks_dir, gate, config, force);
out:
	repo_release(&repo);
	free(hooks_dir);
	free(gate);
	free(config);
	return rc;
}

/* argv[0] is "hook" (git's cmd_*() convention); a caller that already
 * dropped it gives the subcommand as argv[0]: both work. */
int cli_hook_main(int argc, char **argv)
{
	if (argc > 0 && !strcmp(argv[0], "hook")) {
		argc--;
		argv++;
	}
	if (argc < 1) {
		fputs(hook_usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "run"))
		return hook_run_cmd(argc, argv);
	if (!strcmp(argv[0], "install"))
		return hook_install_cmd(argc, argv);
	if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
		fputs(hook_help, stdout);
		return 0;
	}
	msg_error("hook: unknown subcommand '%s'", argv[0]);
	fputs(hook_usage, stderr);
	return EXIT_USAGE;
}
