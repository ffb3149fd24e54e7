/* SPDX-License-Identifier: MIT */
/*
 * The core's side of what gate holds around the command (the kinds'
 * interface is gate/hold.h): the order of a `gate run` after an allow,
 * the dry run's probes, the state file of maintenance mode, and the
 * `gate lock` and `gate maintenance` commands.  gate/hold.c carries out
 * the order; gate/hold_state.c keeps the state file; gate/hold_admin.c
 * has the dry run and the commands.
 *
 *   hold_run: [state file: none left over] -> take the locks (in the order
 *   written; a busy one tried again until wait_until) -> re-check ->
 *   confirm -> maintenance on (each item's undo record in the state file,
 *   fsync'd, before it changes anything) -> decided (the audit) -> exec ->
 *   maintenance off (always, once the first item began) -> finished (the
 *   audit of the result) -> release the locks (in reverse).
 *
 * What the core does not own here (evaluating, asking the operator,
 * auditing, running the command) the CLI hands in as hold_steps.  Nothing
 * here prints or exits; what happened is in hs->reasons (why it blocked)
 * and hs->report (doc/report.md, "holds").
 */
#ifndef GATE_HOLD_RUN_H
#define GATE_HOLD_RUN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hold.h"
#include "runbook.h"

/* Each kind's call (take, probe, begin, end, force_release) gets this long. */
#define HOLD_STEP_TIMEOUT_MS (30 * 1000)
/* A busy lock is tried again this often under --wait (or --interval when
 * that is shorter). */
#define HOLD_RETRY_MS 1000

struct hold_session;

/* The steps of a run that are not the core's.  Every one may be NULL
 * (then it is not done) but decided and exec. */
struct hold_steps {
	void *ctx;
	/* A busy lock will be tried again (under --wait): for a progress line. */
	void (*waiting)(void *ctx, const struct rb_hold *lock, const char *holder);
	/* Evaluate again the runbook's recheck: ids: 0 allows; -1 blocks,
	 * after hold_block() said why.  Called only when the runbook has
	 * recheck:. */
	int (*recheck)(void *ctx, struct hold_session *hs);
	/* Confirmation (the runbook's confirm:): 0 confirmed, how in `how`
	 * for the audit; -1 refused, after hold_block() said why. */
	int (*confirm)(void *ctx, struct hold_session *hs, char *how, size_t howlen);
	/* Record and report the decision: hs->reasons empty means allow.
	 * Returns 1 when the command may run, 0 when it must not after all
	 * (a required audit failed).  Called exactly once per hold_run. */
	int (*decided)(void *ctx, struct hold_session *hs);
	/* Run the command; its exit status. */
	int (*exec)(void *ctx);
	/* After maintenance is off: record the command's result. */
	void (*finished)(void *ctx, struct hold_session *hs);
	/* A lock was lost while the command runs: called from the keepalive
	 * thread, at once (the command is not stopped). */
	void (*lost)(void *ctx, const struct rb_hold *lock, const char *msg);
	/* Something went wrong after the decision (a maintenance item that
	 * could not be turned off, a lock not let go): to be said at once.
	 * It is in hs->report too. */
	void (*note)(void *ctx, const char *msg);
};

struct hold_session {
	const struct runbook *rb;
	struct hold_who who;   /* its strings are owned by the session */
	char *state_dir;       /* where the state files are (hold_state_dir) */
	int64_t wait_until_ms; /* monotonic: busy locks are tried until then (0: once) */
	int64_t retry_ms;      /* between two tries of a busy lock */
	/* Set (by a signal handler) when gate is asked to stop: no further
	 * step begins; what was done is undone.  May be NULL. */
	volatile sig_atomic_t *stop;

	/* What happened. */
	char **reasons; /* NULL-terminated: why it blocks; NULL when it does not */
	size_t nreasons;
	json_t *report; /* {"locks": [...], "maintenance": [...], "confirm": ..., "state_file": ...} */
	int status;     /* the command's exit status, after hold_run returned 1 */
	int ran;        /* the command ran */

	/* Private to gate/hold*.c. */
	struct hold_private *priv;
};

/* who: the runbook's name, this user and host, pid, now; state_dir from
 * hold_state_dir().  Release with hold_session_release. */
void hold_session_init(struct hold_session *hs, const struct runbook *rb, const char *user,
                       const char *host, const char *state_dir);
void hold_session_release(struct hold_session *hs);

/* A reason to block (a line of the report's reasons). */
void hold_block(struct hold_session *hs, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* After an allow: the order above.  Returns 1 when the command ran
 * (hs->status), 0 when it did not (hs->reasons says why; everything done
 * was undone, in reverse, and steps->decided was called). */
int hold_run(struct hold_session *hs, const struct hold_steps *steps);

/* The dry run (`gate check`, `gate run --dry-run`): takes nothing and
 * changes nothing.  Each lock is probed (free, or who holds it), each
 * maintenance item described, the state file looked at.  A lock held by
 * someone else, one that cannot be probed, an item that cannot be
 * described or a state file left over blocks (hs->reasons).  0 or -1. */
int hold_check(struct hold_session *hs);

/* `gate lock status`: each lock probed (and the state file looked at);
 * hs->report says what was found.  0 all free, -1 one is held or could
 * not be probed. */
int hold_lock_status(struct hold_session *hs);

/* `gate lock release --reason`: force_release of each lock whose kind has
 * one; the others are left to the kernel or the server (said in the
 * report).  0, or -1 when one could not be released. */
int hold_lock_release(struct hold_session *hs);

/* `gate maintenance resume`: end each item the state file says was left
 * on, from its recorded undo record, in reverse; the state file is
 * removed only when every end succeeded.  1 when there was nothing to
 * resume, 0 when everything was undone, -1 otherwise (hs->reasons). */
int hold_resume(struct hold_session *hs);

/* ---- the state file (gate/hold_state.c) ---- */

/* The state directory: $GATE_STATE_DIR; else /var/lib/gate for root;
 * else $XDG_STATE_HOME/gate, else $HOME/.local/state/gate.  free() it. */
char *hold_state_dir(void);
/* DIR/NAME.state, the runbook's state file; free() it. */
char *hold_state_path(const char *dir, const char *runbook);

#endif
