/* SPDX-License-Identifier: MIT */
/* gate wrap install|list|remove: shell wrappers that put a command behind
 * a runbook. */
#include <stdio.h>

#include "cli.h"

int cli_wrap_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "usage: gate wrap install|list|remove ...\n");
	return EXIT_USAGE;
}
