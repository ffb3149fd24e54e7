/* SPDX-License-Identifier: MIT */
/*
 * What gate holds around the wrapped command: locks (one maintenance at a
 * time) and maintenance mode (the cluster and the alerting told).  The
 * order of a `gate run` (gate/hold.c carries it out, gate/main.c calls it):
 *
 *   evaluate -> on allow, take the locks (in the order written, each tried
 *   again under --wait until the deadline) -> re-check -> confirm ->
 *   maintenance mode on -> audit (fsync'd) -> exec -> maintenance mode off
 *   (always) -> audit the result -> release the locks (in reverse).
 *
 * A dry run (`gate check`) takes nothing and changes nothing: each lock is
 * probed (free, or who holds it) and each maintenance item says what it
 * would do.  The kinds themselves (holds/: file, postgres, etcd, patroni,
 * alertmanager) are listed in holds/builtin.c and reach the core through
 * the registry (gate/registry_holds.h), from gate's part part-holds.so: the
 * core links no libpq, no libcurl, nor does the executable.
 *
 * Every function below is called from gate's main thread, except a lock's
 * keepalive, which is called from one keepalive thread while the command
 * runs (never at the same time as another call on the same handle).
 * None prints; none exits; none may leave anything behind on failure.
 * Secrets (passwords in a conninfo or a URL) never reach a message, the
 * details or the holder text: redact them.
 */
#ifndef GATE_HOLD_H
#define GATE_HOLD_H

#include <jansson.h>
#include <stdint.h>

#include "gate/module.h"

/* Who holds a lock, stored with it (in the lock file, the advisory lock
 * session's application_name, the etcd value) and shown to whoever finds
 * it taken: "RUNBOOK by USER@HOST pid PID since TIME". */
struct hold_who {
	const char *runbook; /* the runbook's name: key */
	const char *user;
	const char *host;
	long pid;
	int64_t since_ms; /* wall clock, ms since the epoch */
};

/* "RUNBOOK by USER@HOST pid PID since 2026-11-28T20:31:00Z"; free() it. */
char *hold_who_text(const struct hold_who *w);
/* As a JSON object {runbook, user, host, pid, since} (since: RFC 3339). */
json_t *hold_who_json(const struct hold_who *w);
/* The text of a holder stored as hold_who_json wrote it; NULL when it is
 * not such an object (the caller then shows "an unknown holder"). */
char *hold_who_text_json(const json_t *j);

enum hold_state {
	HOLD_TAKEN = 0, /* taken (take), free (probe), done (maint begin/end) */
	HOLD_BUSY = 1,  /* someone else holds it: holder says who */
	HOLD_ERROR = 2, /* could not tell or could not do it: message says why */
};

/* What one attempt says.  Strings are malloc'd (kit/alloc.h) and freed by
 * hold_result_release. */
struct hold_result {
	enum hold_state state;
	char *holder;    /* HOLD_BUSY: hold_who_text of the holder */
	char *message;   /* HOLD_ERROR: why; otherwise what was done, e.g.
	                  * "slot 2 of 3 of group db-fleet" (may be NULL) */
	json_t *details; /* for the report and the audit (may be NULL) */
};
void hold_result_release(struct hold_result *r);

/* A kind of lock: runbook `lock:` items whose naming key is `name`
 * ({file: PATH}, {postgres: CONNINFO, key: NAME}, {etcd: [URLS], ...}). */
struct lock_kind {
	const char *name;
	const char *summary;             /* one line for `gate locks` / docs */
	const struct gate_param *params; /* the item's keys, naming key first */
	/* Cross-key rules after the loader converted the keys by type; as a
	 * check type's validate (gate/module.h). May be NULL. */
	int (*validate)(const json_t *params, const char **param, char *msg, size_t msglen);
	/* Try once, without waiting (the core retries under --wait).  On
	 * HOLD_TAKEN, *handle is what release and keepalive get. */
	void (*take)(const json_t *params, const struct hold_who *who, int64_t deadline_ms,
	             void **handle, struct hold_result *res);
	/* Dry run and `gate lock status`: HOLD_TAKEN means free, HOLD_BUSY
	 * names the holder.  Takes nothing. */
	void (*probe)(const json_t *params, int64_t deadline_ms, struct hold_result *res);
	/* While held, keepalive is called every keepalive_ms (0: never; the
	 * etcd lease needs it).  -1 with msg when the lock is lost: the core
	 * then reports it (the command is already running; it is not killed). */
	int64_t (*keepalive_ms)(const json_t *params);
	int (*keepalive)(void *handle, char *msg, size_t msglen);
	/* Let go and free the handle.  -1 with msg when letting go failed (the
	 * lock then frees itself: file closed, session ended, lease expires). */
	int (*release)(void *handle, char *msg, size_t msglen);
	/* `gate lock release RUNBOOK --reason TEXT`: remove a stale holder's
	 * lock.  NULL when the kernel or the server frees it by itself (file,
	 * postgres): the core then says so and changes nothing. */
	int (*force_release)(const json_t *params, int64_t deadline_ms, struct hold_result *res);
};

/* Writes the undo record to the state file (fsync'd) before a
 * maintenance item changes anything; -1 when it could not, and then the
 * item must not change anything. */
typedef int (*hold_record_fn)(void *ctx, const json_t *undo);

/* A kind of maintenance mode: runbook `maintenance:` items whose naming
 * key is `name` ({patroni: URL}, {alertmanager: URL, matchers: [...]}). */
struct maint_kind {
	const char *name;
	const char *summary;
	const struct gate_param *params;
	int (*validate)(const json_t *params, const char **param, char *msg, size_t msglen);
	/* Dry run: what begin would do, e.g. "pause the Patroni cluster at
	 * URL (it is not paused now)"; HOLD_ERROR when it could not tell. */
	void (*describe)(const json_t *params, int64_t deadline_ms, struct hold_result *res);
	/* Turn it on.  Before the change, record(ctx, undo) with everything
	 * end needs to undo it (e.g. {"resume": false} for a cluster that was
	 * already paused; the silence id).  *undo gets the final undo record
	 * (the core keeps it and passes it to end).  On HOLD_ERROR nothing may
	 * stay changed. */
	void (*begin)(const json_t *params, const struct hold_who *who, int64_t deadline_ms,
	              hold_record_fn record, void *ctx, json_t **undo, struct hold_result *res);
	/* Undo from the undo record: after the command, after a forwarded
	 * signal, and from the state file after an interrupted run (`gate
	 * maintenance resume RUNBOOK`).  Idempotent. */
	void (*end)(const json_t *params, const json_t *undo, int64_t deadline_ms,
	            struct hold_result *res);
	/* What a run killed after begin leaves behind, for the next run's
	 * reason, e.g. "cluster left paused" (NULL: "left on"). */
	const char *left;
};

#endif
