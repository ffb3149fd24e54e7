/* SPDX-License-Identifier: MIT */
/* The C half of bench/lib.sh (bench_run): run one command and print
 * "SECONDS MAXRSS_KB EXIT".
 *
 *   bench-run LOG CMD [ARG...]
 *
 * stdin is /dev/null, stdout and stderr go to LOG.  SECONDS is the wall
 * time from just before the spawn to the reap (CLOCK_MONOTONIC); MAXRSS_KB
 * is ru_maxrss from wait4: the largest resident set of the process and of
 * the children it reaped, as GNU time reports it.  A small program, so its
 * own few hundred kilobytes, which the kernel counts in the child's
 * high-water mark until exec, stay below any command's (a Python or shell
 * parent would add its own 5-10 MB).  Exit 0 once the command ran, 2 when
 * it could not be started. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench-run LOG CMD [ARG...]\n");
		return 2;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	struct timespec t0, t1;
	pid_t pid;
	int st;
	struct rusage ru;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ) != 0) {
		perror(argv[2]);
		return 2;
	}
	if (wait4(pid, &st, 0, &ru) != pid)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("%.6f %ld %d\n",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       ru.ru_maxrss, code);
	return 0;
}
