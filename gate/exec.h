/* SPDX-License-Identifier: MIT */
/* The wrapped command: executed once with execvp in a child, only after an
 * allow decision and its audit record.  The only place gate executes the
 * user's command. */
#ifndef GATE_EXEC_H
#define GATE_EXEC_H

/* Run argv, forwarding SIGINT, SIGTERM, SIGHUP, SIGQUIT; stdin/stdout/stderr
 * are inherited.  Returns the exit status as a shell reports it: its own
 * status, 128+N when killed by signal N, 127 not found, 126 not executable
 * (errno of the failed exec in *exec_errno, else 0).  duration_ms set. */
int exec_command(char *const *argv, int *exec_errno, double *duration_ms);

/* Called first thing in main: gate and every check child it forks hold
 * expanded parameters (passwords, tokens), so none of them may be dumped
 * or ptrace-attached by another process of the same user:
 * PR_SET_DUMPABLE 0 (inherited by fork; an exec'd tool gets it back, as
 * the kernel resets it on exec), and a soft RLIMIT_CORE of 0 (inherited
 * by fork and exec: the tools a check runs, which may hold a password in
 * their argv or environment, dump no core either).  exec_command() gives
 * the wrapped command the core limit gate was started with.  0, or -1
 * with errno. */
int exec_forbid_core_dumps(void);

#endif
