/* SPDX-License-Identifier: MIT */
/* The restore rehearsal family: a backup is restored into a scratch
 * directory, started there as an unprivileged user with no TCP listener,
 * probed, stopped and removed (checks/lib/pgscratch.h; gate-runbook(5),
 * "Restore rehearsals"; doc/checks.md).  This file is the module's
 * table and what every rehearsal type shares; each type lives in
 * rehearse_<kind>.c.  Every type is listed in `rehearsals`, so `gate
 * rehearse` records its results. */
#include "builtin.h"
#include "rehearse.h"

#include <stdio.h>
#include <string.h>

#include "kit/clock.h"

/* ---- the shared parameters ---- */

int rh_validate_nonempty(const json_t *params, const char *const *names, size_t n,
                         const char **param, char *msg, size_t msglen)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = gate_param_str(params, names[i]);
		if (v && !*v) {
			*param = names[i];
			snprintf(msg, msglen, "must not be empty");
			return -1;
		}
	}
	return 0;
}

int rh_validate_scratch(const json_t *params, const char **param, char *msg, size_t msglen)
{
	if (pgscratch_probes_validate(json_object_get(params, "probes"), msg, msglen)) {
		*param = "probes";
		return -1;
	}
	static const char *const nonempty[] = {"scratch_dir", "user", "pg_bindir"};
	if (rh_validate_nonempty(params, nonempty, 3, param, msg, msglen))
		return -1;
	static const char *const absolute[] = {"scratch_dir", "pg_bindir"};
	for (size_t i = 0; i < 2; i++) {
		const char *v = gate_param_str(params, absolute[i]);
		if (v && v[0] != '/') {
			*param = absolute[i];
			snprintf(msg, msglen, "must be an absolute path");
			return -1;
		}
	}
	return 0;
}

/* ---- one rehearsal ---- */

void rh_begin(struct rh *r, struct gate_result *res)
{
	memset(r, 0, sizeof(*r));
	r->t0 = gate_mono_ms();
	r->rehearsal = json_object();
	r->phases = json_object();
	static const char *const names[] = {"restore", "start", "consistent", "promote",
	                                    "probes",  "stop",  "cleanup"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		json_object_set_new(r->phases, names[i], json_null());
	json_object_set_new(r->rehearsal, "backup", json_null());
	json_object_set_new(r->rehearsal, "probes", json_array());
	json_object_set_new(r->rehearsal, "phases_ms", r->phases);
	json_object_set_new(r->rehearsal, "scratch_dir", json_null());
	json_object_set_new(res->details, "rehearsal", r->rehearsal);
}

void rh_set_backup(struct rh *r, json_t *identity)
{
	json_object_set_new(r->rehearsal, "backup", identity ? identity : json_null());
}

void rh_phase(struct rh *r, const char *name, int64_t ms)
{
	json_object_set_new(r->phases, name, json_integer(ms < 0 ? 0 : ms));
}

int64_t rh_elapsed_ms(const struct rh *r)
{
	return gate_mono_ms() - r->t0;
}

int rh_create(struct rh *r, const json_t *params, const struct gate_run_env *env,
              uint64_t need_bytes, struct gate_result *res)
{
	struct pgscratch_opts o = {
		.parent_dir = gate_param_str(params, "scratch_dir"),
		.user = gate_param_str(params, "user"),
		.bindir = gate_param_str(params, "pg_bindir"),
		.deadline_ms = env->deadline_ms,
	};
	char msg[GATE_SUMMARY_MAX];
	if (pgscratch_create(&r->s, &o, need_bytes, msg, sizeof(msg))) {
		gate_result_set(res, GATE_ERROR, "%s", msg);
		return -1;
	}
	r->created = 1;
	json_object_set_new(r->rehearsal, "scratch_dir", json_string(r->s.dir));
	return 0;
}

int rh_start(struct rh *r, const char *what, const char *const *extra, struct gate_result *res)
{
	char msg[GATE_SUMMARY_MAX - 64];
	int rc = pgscratch_start(&r->s, extra, msg, sizeof(msg));
	struct pgscratch *s = &r->s;
	if (s->up_at_ms)
		rh_phase(r, "start", s->up_at_ms - s->spawned_at_ms);
	if (s->ready_at_ms)
		rh_phase(r, "consistent",
		         s->ready_at_ms - (s->up_at_ms ? s->up_at_ms : s->ready_at_ms));
	if (rc == 0)
		return 0;
	/* The server ended by itself: the backup did not come back.  A
	 * server still starting at the deadline proves nothing either way. */
	int exited = !strncmp(msg, "did not ", 8);
	gate_result_set(res, exited ? GATE_FAIL : GATE_ERROR, "%s %s", what, msg);
	return -1;
}

int rh_promoted(struct rh *r, const char *what, struct gate_result *res)
{
	int64_t t = gate_mono_ms();
	char msg[GATE_SUMMARY_MAX - 64];
	int rc = pgscratch_wait_promoted(&r->s, msg, sizeof(msg));
	rh_phase(r, "promote", gate_mono_ms() - t);
	if (rc == 0)
		return 0;
	int exited = !strncmp(msg, "did not ", 8);
	gate_result_set(res, exited ? GATE_FAIL : GATE_ERROR, "%s %s%s", what,
	                exited ? "" : "was not promoted: ", msg);
	return -1;
}

int rh_probes(struct rh *r, const json_t *params, const char *default_db, size_t *passed,
              struct gate_result *res)
{
	const json_t *probes = json_object_get(params, "probes");
	json_t *empty = json_array(), *out = NULL;
	char msg[GATE_SUMMARY_MAX];
	int64_t t = gate_mono_ms();
	int failed = pgscratch_probes_db(&r->s, probes ? probes : empty, default_db, &out, msg,
	                                 sizeof(msg));
	rh_phase(r, "probes", gate_mono_ms() - t);
	json_decref(empty);
	*passed = json_array_size(out) - (size_t)failed;
	json_object_set_new(r->rehearsal, "probes", out);
	if (!failed)
		return 0;
	if (failed > 1)
		gate_result_set(res, GATE_FAIL, "%s (+%d more probe%s failed)", msg, failed - 1,
		                failed == 2 ? "" : "s");
	else
		gate_result_set(res, GATE_FAIL, "%s", msg);
	return -1;
}

void rh_pass(struct rh *r, const char *what, size_t passed, struct gate_result *res)
{
	gate_result_set(res, GATE_PASS, "%s restored in %.1f s; %zu probe%s passed", what,
	                (double)rh_elapsed_ms(r) / 1000.0, passed, passed == 1 ? "" : "s");
}

void rh_end(struct rh *r)
{
	if (!r->created)
		return;
	pgscratch_destroy(&r->s);
	if (r->s.stop_ms >= 0)
		rh_phase(r, "stop", r->s.stop_ms);
	if (r->s.cleanup_ms >= 0)
		rh_phase(r, "cleanup", r->s.cleanup_ms);
	r->created = 0;
}

/* ---- the module ---- */

static const struct gate_check_type rehearse_types[] = {
	{
		.name = "pgbackrest.restore",
		.summary = "restore rehearsal: the newest pgBackRest backup restores, starts, "
			   "is consistent and passes its probes",
		.doc = "Restores the newest backup of the stanza (by the rules of "
		       "pgbackrest.backup), or `set`, with `pgbackrest restore --type=immediate "
		       "--target-action=promote --archive-mode=off` into a scratch directory, "
		       "starts PostgreSQL on it as `user` with no TCP listener (a socket in the "
		       "scratch directory only) and archiving, replication and the repository's "
		       "archive-push overridden, waits until it is consistent and promoted, runs "
		       "the probes, stops it and removes the directory. WAL is read with "
		       "`pgbackrest archive-get` (read only). The live cluster is never "
		       "contacted. A guardian process removes the server and the directory "
		       "if the check is killed.",
		.params = rh_pgbackrest_params,
		.validate = rh_pgbackrest_validate,
		.run = rh_pgbackrest_run,
	},
	{
		.name = "basebackup.restore",
		.summary = "restore rehearsal: the newest pg_basebackup directory starts "
			   "from a copy and passes its probes",
		.doc = "Copies the newest complete plain-format base backup (by the rules of "
		       "backup.basebackup) as `user` into a scratch directory (symbolic links "
		       "followed; standby.signal and recovery.signal left out; with `wal_path` "
		       "the backup's WAL segments copied into its pg_wal), starts PostgreSQL "
		       "on it with no TCP listener and an empty restore_command (crash "
		       "recovery from backup_label to the end of the WAL it holds), runs the "
		       "probes, stops it and removes the directory. A backup with tablespaces "
		       "is not rehearsed (an error). The backup is identified (path, START "
		       "TIME, Manifest-Checksum) before anything is copied.",
		.params = rh_basebackup_params,
		.validate = rh_basebackup_validate,
		.run = rh_basebackup_run,
	},
	{
		.name = "dump.restore",
		.summary = "restore rehearsal: the newest pg_dump dump restores into a "
			   "scratch cluster and passes its probes",
		.doc = "Identifies the newest dump (by the rules of backup.file; a "
		       "directory-format dump counts too) by path, size, mtime and SHA-256, "
		       "makes a scratch cluster with initdb as `user`, starts it with no TCP "
		       "listener, creates `roles` and `database`, restores the dump with "
		       "pg_restore --exit-on-error --no-owner --no-acl (custom, directory, tar) "
		       "or psql -v ON_ERROR_STOP=1 (plain; it must end with pg_dump's last "
		       "line), runs the probes against `database`, stops the server and removes "
		       "the directory. Space needed: 3 times the dump's size.",
		.params = rh_dump_params,
		.validate = rh_dump_validate,
		.run = rh_dump_run,
	},
};

/* Every type of this module is a rehearsal. */
static const char *const rehearse_rehearsals[] = {
	"pgbackrest.restore",
	"basebackup.restore",
	"dump.restore",
	NULL,
};

GATE_FAMILY_MODULE(rehearse) = {
	.abi_version = GATE_ABI_VERSION,
	.name = "rehearse",
	.version = "0.1.0",
	.types = rehearse_types,
	.ntypes = sizeof(rehearse_types) / sizeof(rehearse_types[0]),
	.rehearsals = rehearse_rehearsals,
};
