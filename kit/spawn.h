/* SPDX-License-Identifier: MIT */
/*
 * Starting a process: the one way gate does it, for the check children
 * (a function in a forked child), the wrapped command, git, and the tools
 * the checks run (an argv executed).  The discipline is git's
 * run-command's:
 *
 *  - every signal blocked around fork (vfork for an argv: nothing of the
 *    caller's address space is copied), so no handler of the caller's
 *    runs in the child; there, the handlers go back to SIG_DFL (ignored
 *    signals too, unless keep_ignored) before the wanted mask is set;
 *  - between fork and exec only async-signal-safe system calls;
 *  - a process group of its own, the caller's, or one given;
 *  - a parent-death signal, and no start at all when the parent is
 *    already gone;
 *  - stdin, stdout and stderr as given; every other descriptor
 *    close-on-exec, so nothing of the caller's leaks into a program;
 *  - a failure in the child (the exec's errno above all) sent back over a
 *    CLOEXEC pipe: the caller says "cannot run X: No such file or
 *    directory" and never guesses from an exit status 127;
 *  - a wait with a deadline on the monotonic clock (kit/clock.h) that
 *    kills the process, and its group when it leads one, when it passes;
 *    what a group leader left running in its group is killed before the
 *    leader is reaped (its pid, the group's id, cannot be reused while
 *    it is a zombie).
 *
 * Never prints, never exits (but in the child).
 */
#ifndef GATE_KIT_SPAWN_H
#define GATE_KIT_SPAWN_H

#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* For spawn_opts.in, .out, .err: */
#define SPAWN_INHERIT (-1) /* the caller's own 0, 1 or 2 */
#define SPAWN_DEVNULL (-2) /* /dev/null */

/* For spawn_opts.ids: who the child runs as. */
struct spawn_ids {
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups (getgrouplist) */
	size_t ngroups;
};

/* For spawn_opts.group: */
#define SPAWN_GROUP_NEW (-1) /* a process group of its own */

struct spawn_opts {
	/* What runs: argv (argv[0] searched in PATH by execvpe) with envp
	 * (NULL: the caller's environment); or, when argv is NULL, fn(arg)
	 * in a forked child, whose return value is its exit status. */
	char *const *argv;
	char *const *envp;
	int (*fn)(void *arg);
	void *arg;
	/* The child's stdin, stdout and stderr: a descriptor of the
	 * caller's (closed in the child once in place), SPAWN_INHERIT or
	 * SPAWN_DEVNULL.  Set in that order. */
	int in, out, err;
	/* 0: the caller's group; SPAWN_GROUP_NEW: its own (set in the child
	 * and in the parent, so a kill of the group cannot miss it); > 0:
	 * join that group. */
	pid_t group;
	/* Sent to the child when the thread that started it dies, even of
	 * SIGKILL (PR_SET_PDEATHSIG; the kernel clears it when a setuid or
	 * setgid program is executed).  0: none. */
	int death_signal;
	/* fn only, with a group of its own: on death_signal the child kills
	 * its whole group (what it started, and itself) with SIGKILL.  The
	 * signal must then be one the function has no reason to touch. */
	int death_kills_group;
	/* Ignored signals stay ignored (nohup: the user's choice), except
	 * reset_signal (0: none), which goes back to SIG_DFL anyway. */
	int keep_ignored;
	int reset_signal;
	/* The child's signal mask; NULL: the caller's at spawn_start(). */
	const sigset_t *mask;
	/* RLIMIT_CORE set in the child; NULL: inherited. */
	const struct rlimit *core_limit;
	/* Run as another user: the supplementary groups, gid and uid set
	 * in the child (by raw system calls: a vfork child must not use
	 * libc's all-threads setxid), before the parent-death signal (a
	 * change of credentials clears it).  NULL: as the caller. */
	const struct spawn_ids *ids;
	/* The child's working directory; NULL: the caller's. */
	const char *cwd;
};

/* What could not be done (spawn.failed). */
enum spawn_step {
	SPAWN_OK,
	SPAWN_PIPE, /* the report pipe */
	SPAWN_FORK,
	SPAWN_GROUP,        /* setpgid */
	SPAWN_DEATH_SIGNAL, /* prctl, or ESRCH: the parent was already gone */
	SPAWN_STDIO,        /* /dev/null or dup2 */
	SPAWN_EXEC,
	SPAWN_IDS, /* setgroups, setresgid, setresuid */
	SPAWN_CWD, /* chdir */
};

struct spawn {
	pid_t pid;
	pid_t group; /* the group it leads (SPAWN_GROUP_NEW), else 0 */
	int pidfd;   /* readable once it has exited; -1 if the kernel gave none */
	int reaped;
	int status;             /* its wait status once reaped (0 if it could not be) */
	enum spawn_step failed; /* it could not be started: at which step */
	int error;              /* and its errno */
	int report_fd;          /* a function child's report pipe, read when reaped */
};

/* Start it.  0, or -1 with sp->failed and sp->error (errno too); a child
 * that could not exec has been reaped.  A function child is not waited
 * for (that would start children one by one): if it could not be set up,
 * it exits 127 and sp->failed and sp->error are set when it is reaped.
 * spawn_release() in every case. */
int spawn_start(struct spawn *sp, const struct spawn_opts *o);

/* "fork", "exec"...: for messages. */
const char *spawn_step_name(enum spawn_step step);

/* SIGKILL to its group when it leads one, and to it. */
void spawn_kill(struct spawn *sp);

/* Reap it (block: wait for it to exit), first killing what is left of a
 * group it leads.  1 reaped (sp->status), 0 still running (!block), -1
 * it cannot be waited for (errno; it counts as reaped, with the status of
 * an exit 127, never a success). */
int spawn_reap(struct spawn *sp, int block);

/* Wait for it to exit until deadline_ms (gate_mono_ms time; < 0: no
 * deadline).  0 it exited, 1 the deadline passed: it was killed (with its
 * group) and reaped, -1 it cannot be waited for.  sp->status is set.  A
 * child still there 100 ms after SIGKILL (an uninterruptible sleep: a
 * dead NFS server) is left behind, as if reaped, killed by SIGKILL.
 * spawn_wait(sp, 0): kill it now. */
int spawn_wait(struct spawn *sp, int64_t deadline_ms);

/* Close its descriptors.  A child not yet reaped stays so. */
void spawn_release(struct spawn *sp);

#endif
