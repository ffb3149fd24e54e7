/* SPDX-License-Identifier: MIT */
/* basebackup.restore: the newest complete pg_basebackup directory (plain
 * format; chosen as backup.basebackup chooses, bk_bb_scan + bk_bb_pick)
 * copied into a scratch data directory and started there: crash recovery
 * from its backup_label to the end of the WAL it holds (no
 * recovery.signal), then the probes, then the server stopped and the
 * scratch directory removed (the shared steps of rehearse.h).
 *
 * The copy follows symbolic links (pg_wal made by --waldir), so that
 * nothing the scratch server writes lands outside the scratch directory;
 * a backup with tablespaces (pg_tblspc entries, whose plain-format copies
 * live elsewhere) is refused.  standby.signal and recovery.signal (a
 * backup taken with -R) are removed from the copy and restore_command is
 * blanked: the copy never asks a primary or an archive for anything. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/io.h"
#include "rehearse.h"
#include "rehearse_dumps.h"

#define MANIFEST_TAIL 4096

/* What the run found out about the backup before restoring it. */
struct bb_pick {
	char *dir; /* absolute */
	char start_time[64], start_file[32], checksum[65];
	int have_checksum;
};

/* The backup: chosen, identified into rehearsal.backup.  0, or -1 with
 * res set. */
static int choose(const json_t *params, struct bb_pick *b, struct rh *r, struct gate_result *res)
{
	struct bk_bb_facts f = {.pattern = gate_param_str(params, "path"), .manifest_mtime = -1};
	glob_t g;
	int gr = bk_bb_scan(&f, &g);
	long best = bk_bb_pick(&f);
	int rc = -1;
	if (f.glob_err)
		gate_result_set(res, GATE_ERROR, "cannot list %s (glob error %d)", f.pattern,
		                f.glob_err);
	else if (best < 0)
		gate_result_set(res, GATE_FAIL, "no complete base backup under %s (%zu director%s)",
		                f.pattern, f.ndirs, f.ndirs == 1 ? "y" : "ies");
	else
		rc = 0;
	if (rc == 0) {
		const struct bk_bb_dir *d = &f.dirs[best];
		char real[PATH_MAX], mpath[PATH_MAX + 32], tail[MANIFEST_TAIL + 1];
		b->dir = xstrdup(realpath(d->path, real) ? real : d->path);
		bk_label_value(d->label, "START TIME", b->start_time, sizeof(b->start_time));
		char wal[128] = "";
		if (bk_label_value(d->label, "START WAL LOCATION", wal, sizeof(wal))) {
			const char *fp = strstr(wal, "(file ");
			if (fp && strlen(fp + 6) >= 24 && fp[6 + 24] == ')')
				snprintf(b->start_file, sizeof(b->start_file), "%.24s", fp + 6);
		}
		snprintf(mpath, sizeof(mpath), "%s/backup_manifest", b->dir);
		long n = read_part(mpath, tail, MANIFEST_TAIL, 0);
		b->have_checksum = n > 0 && rd_manifest_checksum(tail, (size_t)n, b->checksum) == 0;
		rh_set_backup(r, rd_identity_basebackup(b->dir, b->start_time,
		                                        b->have_checksum ? b->checksum : NULL));
		if (!b->have_checksum) {
			gate_result_set(res, GATE_FAIL,
			                "backup %s: backup_manifest does not end with its "
			                "Manifest-Checksum (cut short?)",
			                b->dir);
			rc = -1;
		}
	}
	for (size_t i = 0; i < f.ndirs; i++)
		free(f.dirs[i].label);
	free(f.dirs);
	if (gr == 0)
		globfree(&g);
	return rc;
}

/* A backup with tablespaces: the name of the first pg_tblspc entry. */
static int has_tablespace(const char *dir, char *name, size_t len)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/pg_tblspc", dir);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	struct dirent *e;
	int found = 0;
	while (!found && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			found = 1, snprintf(name, len, "%.60s", e->d_name);
	closedir(d);
	return found;
}

/* The segments of wal_path the backup needs (its timeline, from its
 * start segment on), copied into the copy's pg_wal.  Their bytes into
 * *bytes when list_only.  0, or -1 with msg. */
static int wal_segments(const char *wal_path, const char *start_file, const char *dest,
                        struct pgscratch *s, uint64_t *bytes, char *msg, size_t msglen)
{
	DIR *d = opendir(wal_path);
	if (!d) {
		snprintf(msg, msglen, "cannot read wal_path %s", wal_path);
		return -1;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		const char *n = e->d_name;
		if (strlen(n) != 24 || strspn(n, "0123456789ABCDEF") != 24 || !start_file[0] ||
		    strncmp(n, start_file, 8) || strcmp(n, start_file) < 0)
			continue;
		char src[PATH_MAX];
		snprintf(src, sizeof(src), "%s/%s", wal_path, n);
		struct stat st;
		if (stat(src, &st) || !S_ISREG(st.st_mode))
			continue;
		if (!dest) {
			*bytes += (uint64_t)st.st_size;
			continue;
		}
		char *dst = xasprintf("%s/pg_wal/", dest);
		char *const argv[] = {"cp", "--preserve=timestamps", "--", src, dst, NULL};
		rc = pgscratch_run_as_user(s, argv, NULL, 0, msg, msglen);
		free(dst);
	}
	closedir(d);
	return rc;
}

/* The copy of the backup into the scratch data directory, as the user,
 * then made a data directory PostgreSQL starts crash recovery in. */
static int copy_backup(struct pgscratch *s, const struct bb_pick *b, const char *wal_path,
                       char *msg, size_t msglen)
{
	char *src = xasprintf("%s/.", b->dir);
	char *const argv[] = {"cp", "-R", "-L",       "--preserve=mode,timestamps",
	                      "--", src,  s->datadir, NULL};
	int rc = pgscratch_run_as_user(s, argv, NULL, 0, msg, msglen);
	free(src);
	if (rc == 0 && wal_path)
		rc = wal_segments(wal_path, b->start_file, s->datadir, s, NULL, msg, msglen);
	if (rc)
		return -1;
	static const char *const drop[] = {"postmaster.pid", "postmaster.opts", "standby.signal",
	                                   "recovery.signal"};
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/%s", s->datadir, drop[i]);
		unlink(p);
	}
	if (chmod(s->datadir, 0700)) {
		snprintf(msg, msglen, "cannot make %s 0700", s->datadir);
		return -1;
	}
	return 0;
}

void rh_basebackup_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res)
{
	struct rh r;
	rh_begin(&r, res);
	struct bb_pick b = {0};
	char msg[GATE_SUMMARY_MAX], what[PATH_MAX + 16], ts[64];
	const char *wal_path = gate_param_str(params, "wal_path");
	size_t passed = 0;
	if (choose(params, &b, &r, res))
		goto out;
	snprintf(what, sizeof(what), "backup %s", b.dir);
	if (has_tablespace(b.dir, ts, sizeof(ts))) {
		gate_result_set(res, GATE_ERROR,
		                "%s has a tablespace (pg_tblspc/%s): basebackup.restore "
		                "rehearses backups without tablespaces",
		                what, ts);
		goto out;
	}
	uint64_t wal_bytes = 0;
	if (wal_path &&
	    wal_segments(wal_path, b.start_file, NULL, NULL, &wal_bytes, msg, sizeof(msg))) {
		gate_result_set(res, GATE_ERROR, "%s", msg);
		goto out;
	}
	/* the copy follows symbolic links: so does its size */
	if (rh_create(&r, params, env, rd_space_basebackup(bk_tree_bytes(b.dir, 1), wal_bytes),
	              res))
		goto out;
	int64_t t = gate_mono_ms();
	int copied = copy_backup(&r.s, &b, wal_path, msg, sizeof(msg));
	rh_phase(&r, "restore", gate_mono_ms() - t);
	if (copied) {
		char why[GATE_SUMMARY_MAX];
		rd_tool_error(msg, why, sizeof(why));
		gate_result_set(res, GATE_ERROR, "%s: cannot copy it: %s", what, why);
		goto out;
	}
	/* Crash recovery only: pgscratch_start blanks restore_command, so
	 * nothing is fetched from an archive; no promotion to wait for. */
	if (rh_start(&r, what, NULL, res) || rh_probes(&r, params, NULL, &passed, res))
		goto out;
	rh_pass(&r, what, passed, res);
out:
	rh_end(&r);
	free(b.dir);
}

int rh_basebackup_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	static const char *const nonempty[] = {"path", "wal_path"};
	if (rh_validate_nonempty(params, nonempty, 2, param, msg, msglen))
		return -1;
	return rh_validate_scratch(params, param, msg, msglen);
}

const struct gate_param rh_basebackup_params[] = {
	{"path", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "A glob, as backup.basebackup's: the newest complete pg_basebackup directory "
         "(plain format; backup_manifest and backup_label present, no "
         "backup_manifest.tmp; by backup_label's START TIME) is rehearsed."},
	{"wal_path", GATE_P_STRING, 0, NULL, NULL,
         "A directory of WAL segments (as backup.basebackup's): those of the backup's "
         "timeline from its start segment on are copied into the copy's pg_wal. "
         "Needed only for a backup taken without its WAL (-X none)."},
	RH_SCRATCH_PARAMS,
	{NULL, 0, 0, NULL, NULL, NULL},
};
