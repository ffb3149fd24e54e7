/* SPDX-License-Identifier: MIT */
/* What pgscratch.c and pgscratch_server.c share (not for checks). */
#ifndef GATE_CHECKS_LIB_PGSCRATCH_INT_H
#define GATE_CHECKS_LIB_PGSCRATCH_INT_H

#include "kit/spawn.h"
#include "pgscratch.h"

/* The scratch user's credentials for spawn_opts.ids. */
void pgs_ids(const struct pgscratch *s, struct spawn_ids *ids);
/* Remove dir's tree (as the user, not crossing mount points), then dir. */
int pgs_remove_tree(const struct pgscratch *s, const char *dir, char *msg, size_t msglen);
/* pid is alive and its working directory is datadir. */
int pgs_is_server(pid_t pid, const char *datadir);
/* postmaster.pid's pid; 0 when none. */
pid_t pgs_pidfile_pid(const char *datadir);
/* Tell the guardian the server's pid. */
void pgs_guard_tell(struct pgscratch *s, pid_t pid);
/* The gate_mono_ms() time the waits end: a little before the deadline,
 * so the message says what was slow. */
int64_t pgs_budget_end(const struct pgscratch *s);
/* Stop our own server child: SIGINT, SIGQUIT, SIGKILL, each after a grace. */
void pgs_stop_server(struct pgscratch *s);

#endif
