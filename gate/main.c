/* SPDX-License-Identifier: MIT */
/* gate's command line.  (Being built: see issue 2.) */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "version")) {
		printf("gate %s\n", GATE_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: gate COMMAND ...\n");
	return 64;
}
