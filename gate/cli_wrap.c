/* SPDX-License-Identifier: MIT */
/* gate wrap install|list|remove: shell wrappers that put a command behind
 * a runbook (wrap.h does the work; this file only talks to the user). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "msg.h"
#include "registry.h"
#include "runbook.h"
#include "kit/alloc.h"
#include "wrap.h"

static const char wrap_usage[] =
	"usage: gate wrap install NAME --runbook RUNBOOK [--dir DIR] [--real PATH]\n"
	"       gate wrap list [--dir DIR]\n"
	"       gate wrap remove NAME [--dir DIR]\n";

static const char wrap_help[] =
	"usage: gate wrap install NAME --runbook RUNBOOK [--dir DIR] [--real PATH]\n"
	"       gate wrap list [--dir DIR]\n"
	"       gate wrap remove NAME [--dir DIR]\n"
	"\n"
	"Put a command behind a runbook, the way molly-guard shadows shutdown:\n"
	"install writes a small /bin/sh wrapper DIR/NAME that runs\n"
	"  gate run /abs/RUNBOOK -- /abs/real/NAME \"$@\"\n"
	"so typing NAME goes through the gate (blocked: 75, the command never runs).\n"
	"The real command is found now in PATH, skipping DIR and other gate\n"
	"wrappers (or given with --real); symbolic links are kept.  The runbook must\n"
	"load as `gate run` would load it.  install refuses to wrap gate itself and\n"
	"to overwrite a file gate did not write; remove deletes only gate's wrappers.\n"
	"Run `hash -r` (or start a new shell) after installing.\n"
	"\n"
	"Options:\n"
	"      --runbook FILE     the runbook that guards NAME (made absolute)\n"
	"      --dir DIR          where wrappers live (default " WRAP_DEFAULT_DIR ", which\n"
	"                         comes before /usr/sbin and /usr/bin in root's PATH)\n"
	"      --real PATH        the real command, instead of looking it up in PATH\n"
	"  -h, --help             this text\n"
	"\n"
	"The way around a wrapper: call the real path (list shows it) directly.\n"
	"\n"
	"list prints one line per wrapper: NAME, RUNBOOK, REAL, tab-separated.\n"
	"\n"
	"Exit status: 0 done; 1 refused or failed; 78 the runbook is invalid;\n"
	"64 bad command line.\n"
	"\n"
	"Example:\n"
	"  gate wrap install reboot --runbook /etc/gate/runbooks/os-reboot.yaml\n";

struct wrap_args {
	const char *runbook, *dir, *real;
	char **rest; /* positional arguments after the subcommand */
	int nrest;
};

/* Parse the options of one subcommand; argv[0] is the subcommand. */
static int parse_wrap_args(int argc, char **argv, int want_runbook, struct wrap_args *a)
{
	static const struct option longopts[] = {
		{"runbook", required_argument, NULL, 'r'},
		{"dir", required_argument, NULL, 'd'},
		{"real", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "r:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (!want_runbook)
				goto bad;
			a->runbook = optarg;
			break;
		case 'd':
			a->dir = optarg;
			break;
		case 'R':
			if (!want_runbook)
				goto bad;
			a->real = optarg;
			break;
		case 'h':
			fputs(wrap_help, stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	a->rest = argv + optind;
	a->nrest = argc - optind;
	return 0;
bad:
	if (optopt)
		msg_error("wrap %s: unknown or incomplete option '-%c'", argv[0], optopt);
	else
		msg_error("wrap %s: unknown option '%s'", argv[0], argv[optind - 1]);
	fputs(wrap_usage, stderr);
	return -1;
}

static int same_dir(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* The wrapper only shadows the real command when its directory comes first
 * in PATH: say so when it does not (the install itself is still right, for
 * example for root's PATH when installing from another account). */
static void warn_path_order(const char *dir, const char *real, const char *name)
{
	const char *pe = getenv("PATH");
	char *realdir = xstrdup(real);
	char *slash = strrchr(realdir, '/');
	if (slash)
		*(slash == realdir ? slash + 1 : slash) = '\0';
	int dir_at = -1, real_at = -1, i = 0;
	char *copy = xstrdup(pe ? pe : ""), *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save), i++) {
		if (dir_at < 0 && same_dir(d, dir))
			dir_at = i;
		if (real_at < 0 && same_dir(d, realdir))
			real_at = i;
	}
	if (dir_at < 0)
		msg_warn("%s is not in PATH: typing '%s' still runs %s without the gate", dir, name,
		         real);
	else if (real_at >= 0 && real_at < dir_at)
		msg_warn("%s comes after %s in PATH: typing '%s' still runs %s without the gate",
		         dir, realdir, name, real);
	free(copy);
	free(realdir);
}

/* The wrapper will `gate run` the runbook with no --var: it must load as it
 * is, permissions included (run refuses a file others can write), or every
 * call of the command would end in 78.  Say so now rather than then. */
static int runbook_usable(const char *path)
{
	struct cli_opts o;
	struct gate_registry reg;
	struct runbook rb;
	struct gate_error err = {0};
	struct runbook_load_opts lo = {NULL, 0, 1};
	cli_opts_init(&o);
	o.quiet = 1;
	registry_init(&reg);
	cli_registry_load(&reg, &o);
	memset(&rb, 0, sizeof(rb));
	int r = runbook_load(&rb, path, &lo, &reg, &err);
	if (r < 0) {
		msg_gate_error(&err);
		msg_error("refusing to wrap a command with a runbook gate run would reject");
	}
	runbook_release(&rb);
	registry_release(&reg);
	cli_opts_release(&o);
	return r;
}

static int wrap_install_cmd(int argc, char **argv)
{
	struct wrap_args a;
	if (parse_wrap_args(argc, argv, 1, &a) < 0)
		return EXIT_USAGE;
	if (a.nrest != 1 || !a.runbook) {
		msg_error("wrap install needs NAME and --runbook RUNBOOK");
		fputs(wrap_usage, stderr);
		return EXIT_USAGE;
	}
	if (access(a.runbook, R_OK) == 0 && runbook_usable(a.runbook) < 0)
		return EXIT_CONFIG;
	struct wrap_install_opts o = {
		.name = a.rest[0],
		.runbook = a.runbook,
		.dir = a.dir,
		.real = a.real,
	};
	struct wrap_info wi = {0};
	struct gate_error err = {0};
	if (wrap_install(&o, &wi, &err) < 0) {
		msg_gate_error(&err);
		return 1;
	}
	printf("%s: runs %s only when %s allows\n", wi.path, wi.real, wi.runbook);
	warn_path_order(a.dir ? a.dir : WRAP_DEFAULT_DIR, wi.real, wi.name);
	wrap_info_release(&wi);
	return 0;
}

static int wrap_list_cmd(int argc, char **argv)
{
	struct wrap_args a;
	if (parse_wrap_args(argc, argv, 0, &a) < 0)
		return EXIT_USAGE;
	if (a.nrest != 0) {
		fputs(wrap_usage, stderr);
		return EXIT_USAGE;
	}
	struct wrap_info *list = NULL;
	size_t n = 0;
	struct gate_error err = {0};
	if (wrap_list(a.dir, &list, &n, &err) < 0) {
		msg_gate_error(&err);
		return 1;
	}
	/* One wrapper per line, tab-separated: easy to read and to cut. */
	for (size_t i = 0; i < n; i++)
		printf("%s\t%s\t%s\n", list[i].name, list[i].runbook, list[i].real);
	wrap_list_free(list, n);
	return 0;
}

static int wrap_remove_cmd(int argc, char **argv)
{
	struct wrap_args a;
	if (parse_wrap_args(argc, argv, 0, &a) < 0)
		return EXIT_USAGE;
	if (a.nrest != 1) {
		msg_error("wrap remove needs NAME");
		fputs(wrap_usage, stderr);
		return EXIT_USAGE;
	}
	struct gate_error err = {0};
	if (wrap_remove(a.dir, a.rest[0], &err) < 0) {
		msg_gate_error(&err);
		return 1;
	}
	printf("removed %s/%s\n", a.dir ? a.dir : WRAP_DEFAULT_DIR, a.rest[0]);
	return 0;
}

/* argv[0] is "wrap" (git's cmd_*() convention); a caller that already
 * dropped it gives the subcommand as argv[0]: both work. */
int cli_wrap_main(int argc, char **argv)
{
	if (argc > 0 && !strcmp(argv[0], "wrap")) {
		argc--;
		argv++;
	}
	if (argc < 1) {
		fputs(wrap_usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "install"))
		return wrap_install_cmd(argc, argv);
	if (!strcmp(argv[0], "list"))
		return wrap_list_cmd(argc, argv);
	if (!strcmp(argv[0], "remove"))
		return wrap_remove_cmd(argc, argv);
	if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
		fputs(wrap_help, stdout);
		return 0;
	}
	msg_error("wrap: unknown subcommand '%s'", argv[0]);
	fputs(wrap_usage, stderr);
	return EXIT_USAGE;
}
