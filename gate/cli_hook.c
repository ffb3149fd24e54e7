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
	"prints the reports on stderr.  Deleted refs and refs no rule names pass.\n"
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
	if (hooks_git((char *[]){"git", "rev-parse", "--absolute-git-dir", NULL}, &r->git_dir, err) < 0)
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

static int parse_run_args(int argc, char **argv, struct hook_run_args *a)
{
	enum { OPT_CONFIG = 256, OPT_PRE_COMMIT, OPT_VAR, OPT_TIMEOUT, OPT_AUDIT,
	       OPT_MODPATH, OPT_NOCOLOR };
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
	while ((c = getopt_long(argc, argv, "+f:j:qv", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			a->config = optarg;
			break;
		case OPT_PRE_COMMIT:
			a->pre_commit = 1;
			break;
		case 'f':
			if (report_format_parse(optarg, &a->o.format) < 0) {
				msg_error("unknown report format '%s'", optarg);
				return -1;
			}
			break;
		case OPT_VAR: {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				msg_error("--var wants NAME=VALUE, got '%s'", optarg);
				return -1;
			}
			*eq = '\0';
			a->vars = xrealloc(a->vars, (a->nvars + 1) * sizeof(*a->vars));
			a->vars[a->nvars].name = optarg;
			a->vars[a->nvars++].value = eq + 1;
			break;
		}
		case OPT_TIMEOUT:
			if (parse_duration_ms(optarg, &a->o.timeout_ms) < 0 || a->o.timeout_ms <= 0) {
				msg_error("bad duration '%s' for --timeout", optarg);
				return -1;
			}
			break;
		case 'j':
			a->o.jobs = atoi(optarg);
			if (a->o.jobs < 1) {
				msg_error("--jobs wants a number of at least 1");
				return -1;
			}
			break;
		case OPT_MODPATH:
			a->mpaths = xrealloc(a->mpaths, (a->nmpaths + 1) * sizeof(*a->mpaths));
			a->mpaths[a->nmpaths++] = optarg;
			break;
		case OPT_AUDIT:
			a->o.audit_log = optarg;
			break;
		case 'q':
			a->o.quiet = 1;
			break;
		case 'v':
			a->o.verbose = 1;
			break;
		case OPT_NOCOLOR:
			a->o.no_color = 1;
			break;
		default:
			if (optopt)
				msg_error("hook run: unknown or incomplete option '-%c'", optopt);
			else
				msg_error("hook run: unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
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
static int collect_updates(const char *hook, const struct hook_run_args *a,
                           struct ref_update **u, size_t *n, int *all_refs,
                           struct gate_error *err)
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
		(*u)->old_oid = xstrdup(getenv("PRE_COMMIT_FROM_REF") ? getenv("PRE_COMMIT_FROM_REF") : "");
		*n = 1;
		return 0;
	}
	if (!strcmp(hook, "update")) {
		if (a->ngit_args != 3) {
			gate_error_set(err, NULL, 0, 0, "the update hook takes REF OLD-OID NEW-OID");
			return -1;
		}
		char *line = xasprintf("%s %s %s\n", a->git_args[1], a->git_args[2], a->git_args[0]);
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
static void match_all_rules(const struct hook_set *set, struct hook_match **m,
                            size_t *nm)
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
	int rc = 1; /* a hook refuses unless everything below says yes */
	struct repo repo = {0};
	struct hooks_config hc = {0};
	struct ref_update *u = NULL;
	size_t nu = 0;
	struct hook_match *m = NULL;
	size_t nm = 0;
	char *config = NULL;
	struct gate_error err = {0};

	/* Everything a hook says goes to stderr, where git puts its own
	 * messages: git's stdout may be parsed (git push --porcelain), and
	 * receive-pack relays stderr to the pusher as "remote:" lines. */
	fflush(stdout);
	dup2(STDERR_FILENO, STDOUT_FILENO);

	if (parse_run_args(argc - 1, argv + 1, &a) < 0) {
		fputs(hook_usage, stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	if (repo_find(&repo, &err) < 0) {
		msg_gate_error(&err);
		msg_error("%s: not in a git repository: refusing", hook);
		goto out;
	}
	const char *base = repo_base(&repo, hook);
	config = a.config ? xstrdup(a.config) : xasprintf("%s/%s", base, HOOKS_CONFIG_PATH);
	if (access(config, F_OK) < 0) {
		/* The hook was installed on purpose: without its configuration
		 * nobody can say the push is safe. */
		msg_error("%s: %s: %s; refusing the push (add it, or remove the hook)",
		          hook, config, strerror(errno));
		goto out;
	}
	if (hooks_load(&hc, config, &err) < 0) {
		msg_gate_error(&err);
		msg_error("%s: invalid hooks configuration: refusing", hook);
		goto out;
	}
	const struct hook_set *set = hooks_find(&hc, hook);
	if (!set) {
		/* Installed for a hook the configuration says nothing about:
		 * no rule says which pushes are safe, so none is. */
		msg_error("%s: %s has no '%s:' section under hooks: refusing the push "
		          "(add rules for %s, or remove the hook)", hook, config, hook, hook);
		goto out;
	}
	int all_refs = 0;
	if (collect_updates(hook, &a, &u, &nu, &all_refs, &err) < 0) {
		msg_gate_error(&err);
		msg_error("%s: refusing", hook);
		goto out;
	}
	if (all_refs)
		match_all_rules(set, &m, &nm);
	else
		hooks_match(set, u, nu, &m, &nm);

	int refused = 0;
	for (size_t i = 0; i < nm; i++) {
		char *path = hooks_runbook_path(base, m[i].runbook);
		char *refs = strv_join(m[i].refs, ", ");
		msg_note("%s: %s: checking %s", hook, refs, m[i].runbook);
		fflush(stderr);
		int st = cli_evaluate(path, EVAL_MODE_CHECK, NULL, &a.o);
		fflush(stdout);
		if (st != 0) {
			refused = 1;
			msg_error("%s: %s %s: refusing the push of %s", hook, m[i].runbook,
			          st == EXIT_CONFIG ? "is invalid" : "blocks", refs);
		}
		free(refs);
		free(path);
	}
	rc = refused ? 1 : 0;
out:
	hook_matches_free(m, nm);
	ref_updates_free(u, nu);
	hooks_config_release(&hc);
	repo_release(&repo);
	free(config);
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
		          "refuse every push; add rules for %s first", path, hook, hook);
		rc = -1;
	}
	hooks_config_release(&hc);
	free(path);
	return rc;
}

static int hook_install_cmd(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"force", no_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_arg = NULL;
	int force = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'c') {
			config_arg = optarg;
		} else if (c == 'F') {
			force = 1;
		} else if (c == 'h') {
			fputs(hook_help, stdout);
			return 0;
		} else {
			msg_error("hook install: unknown option '%s'", argv[optind - 1]);
			fputs(hook_usage, stderr);
			return EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (!hooks_known(argv[i])) {
			msg_error("unknown hook '%s' (gate reads pre-push, pre-receive and update)",
			          argv[i]);
			return EXIT_USAGE;
		}
	}

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
	/* --git-path hooks honours core.hooksPath; it is relative to here. */
	char *rel = NULL;
	if (hooks_git((char *[]){"git", "rev-parse", "--git-path", "hooks", NULL}, &rel, &err) < 0) {
		msg_gate_error(&err);
		goto out;
	}
	if (rel[0] == '/') {
		hooks_dir = rel;
	} else {
		char cwd[4096];
		if (!getcwd(cwd, sizeof(cwd))) {
			msg_error("getcwd: %s", strerror(errno));
			free(rel);
			goto out;
		}
		hooks_dir = xasprintf("%s/%s", cwd, rel);
		free(rel);
	}
	if (mkdir_p(hooks_dir) < 0) {
		msg_error("%s: %s", hooks_dir, strerror(errno));
		goto out;
	}
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
	const char **hooks = optind < argc ? (const char **)(argv + optind) : def;
	int nhooks = optind < argc ? argc - optind : 1;
	/* Every hook first: an invalid configuration, or one without rules
	 * for a hook, installs nothing. */
	for (int i = 0; i < nhooks; i++)
		if (install_check_config(&repo, hooks[i], config) < 0)
			rc = 2;
	if (rc == 2) {
		rc = 1;
		goto out;
	}
	rc = 0;
	for (int i = 0; i < nhooks; i++) {
		char *path = xasprintf("%s/%s", hooks_dir, hooks[i]);
		char *text = hooks_script_text(gate, hooks[i], config);
		struct gate_error werr = {0};
		if (write_script_atomic(path, text, HOOKS_MARKER, force, &werr) < 0) {
			msg_gate_error(&werr);
			if (!force)
				msg_note("(use --force to replace it; the old hook is kept as %s.gate-backup)",
				         hooks[i]);
			rc = 1;
		} else {
			printf("installed %s\n", path);
		}
		free(text);
		free(path);
	}
	for (int i = 0; i < nhooks && rc == 0; i++) {
		char *expect = config_path(&repo, hooks[i], config);
		if (access(expect, F_OK) < 0)
			msg_warn("%s does not exist yet: until it does, the %s hook refuses every push",
			         expect, hooks[i]);
		free(expect);
	}
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
