/* SPDX-License-Identifier: MIT */
/* Running an external tool from a check (pgbackrest, pg_verifybackup,
 * a Nagios plugin...): execvp, no shell, a hard deadline, stdout and
 * stderr captured (bounded).  Used inside the check's child process. */
#ifndef GATE_CHECKS_PROC_H
#define GATE_CHECKS_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "kit/spawn.h"

struct proc_result {
	int started;    /* 0: could not be started (see exec_errno) */
	int exec_errno; /* ENOENT: not installed / not on PATH */
	int exited;     /* 1: exited normally, status in exit_code */
	int exit_code;
	int signaled; /* 1: killed by signal term_signal */
	int term_signal;
	int timed_out; /* 1: killed by us at the deadline */
	char *out;     /* captured stdout, NUL-terminated (never NULL after run) */
	size_t out_len;
	int out_truncated; /* more than max_out bytes were written */
	char *err;         /* captured stderr, NUL-terminated */
	size_t err_len;
	int err_truncated;
	double duration_ms;
};

struct proc_opts {
	int64_t timeout_ms;   /* <= 0: none */
	size_t max_out;       /* bytes of stdout kept (default 4 MiB when 0) */
	size_t max_err;       /* bytes of stderr kept (default 64 KiB when 0) */
	char *const *env_add; /* "NAME=VALUE" strings added to the environment, or NULL */
	/* When set, stdout is streamed to this callback instead of kept
	 * (out stays empty). Return non-zero to stop reading and kill. */
	int (*on_stdout)(const char *buf, size_t n, void *ud);
	void *ud;
	/* Run as another user, in another directory (kit/spawn.h); NULL:
	 * as the caller, where it is. */
	const struct spawn_ids *ids;
	const char *cwd;
};

/* Run argv[0] (searched in PATH) with argv; stdin is /dev/null.  Returns 0
 * when the process was started (whatever its status), -1 when it could not
 * be (res->exec_errno set).  Kills the tool at the deadline.  The tool stays
 * in the caller's process group, so what it leaves in the background ends
 * when the runner kills the check's group (at the deadline, when the check
 * ends, when gate is stopped); and it gets SIGKILL should the calling
 * thread die first (PR_SET_PDEATHSIG: call it from a thread that outlives
 * the tool; the kernel clears it for a setuid or setgid program). */
int proc_run(char *const *argv, const struct proc_opts *opts, struct proc_result *res);
void proc_result_release(struct proc_result *res);

/* The last `max` bytes of s, trimmed of surrounding whitespace, as a new
 * string (for putting a tool's stderr into details). */
char *proc_tail(const char *s, size_t max);

/* A short phrase for how it ended: "exited 1", "killed by signal 9",
 * "timed out after 3.0s", "not found on PATH". Static buffer. */
const char *proc_describe(const struct proc_result *res, const char *tool);

#endif
