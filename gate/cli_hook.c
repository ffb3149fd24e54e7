/* SPDX-License-Identifier: MIT */
/* gate hook run|install: Git hooks that refuse a push while a runbook
 * blocks. */
#include <stdio.h>

#include "cli.h"

int cli_hook_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "usage: gate hook run|install ...\n");
	return EXIT_USAGE;
}
