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

#endif
