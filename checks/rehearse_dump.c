/* SPDX-License-Identifier: MIT */
/* dump.restore: the newest dump matching a glob (chosen as backup.file
 * chooses, bk_file_pick_dumps: bk_file_pick with directory-format dumps
 * as candidates too) restored into a scratch cluster made for it (the
 * shared steps of rehearse.h): initdb as the user, the server started,
 * the roles named created, the database created from template0, pg_restore --exit-on-error --no-owner
 * --no-acl (custom, directory, tar) or psql -X -v ON_ERROR_STOP=1 (plain)
 * into it, the probes run against it, then the server stopped and the
 * scratch directory removed.
 *
 * The dump's identity (path, size, mtime, SHA-256) is taken before
 * anything is restored; a file that changes while it is hashed is an
 * error.  A plain dump must end with the line pg_dump writes last (a dump
 * cut short fails before it is restored: psql would restore its first
 * part and exit 0). */
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
#include "kit/strbuf.h"
#include "rehearse.h"
#include "rehearse_dumps.h"

#define HEAD_BYTES 512
#define TAIL_BYTES 4096

struct dump_pick {
	char *path; /* absolute */
	int is_dir;
	uint64_t size;
	enum rd_format fmt;
};

static int64_t ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* The dump's identity into rehearsal.backup: what is hashed (the file, or
 * a directory dump's toc.dat) is stat'ed before and after.  0, or -1 with
 * res set. */
static int identify(struct dump_pick *d, const struct gate_run_env *env, struct rh *r,
                    struct gate_result *res)
{
	char target[PATH_MAX + 16], hex[65], msg[600];
	struct stat a, b;
	snprintf(target, sizeof(target), d->is_dir ? "%s/toc.dat" : "%s", d->path);
	if (stat(target, &a)) {
		gate_result_set(res, GATE_ERROR, "dump %s: cannot stat %s", d->path, target);
		return -1;
	}
	uint64_t hashed;
	int timed_out;
	int h = bk_sha256_file(target, gate_mono_ms() + bk_budget_ms(env), hex, &hashed, &timed_out,
	                       msg, sizeof(msg));
	d->size = d->is_dir ? bk_tree_bytes(d->path, 1) : (uint64_t)a.st_size;
	rh_set_backup(r, rd_identity_file(d->path, d->size, ns(&a), h == 0 ? hex : NULL));
	if (h) {
		gate_result_set(res, GATE_ERROR, "dump %s: %s", d->path,
		                timed_out ? "the deadline came while it was hashed" : msg);
		return -1;
	}
	if (stat(target, &b) || b.st_size != a.st_size || ns(&b) != ns(&a)) {
		gate_result_set(res, GATE_ERROR, "dump %s changed while it was hashed", d->path);
		return -1;
	}
	return 0;
}

/* The format: the parameter's, or what the dump's first bytes say; a
 * plain dump must be complete.  0, or -1 with res set. */
static int format_of(const json_t *params, struct dump_pick *d, struct gate_result *res)
{
	int want = rd_format_parse(gate_param_str(params, "format"));
	char head[HEAD_BYTES + 1], tail[TAIL_BYTES + 1];
	long n = d->is_dir ? 0 : read_part(d->path, head, HEAD_BYTES, 1);
	if (n < 0) {
		gate_result_set(res, GATE_ERROR, "dump %s cannot be read", d->path);
		return -1;
	}
	d->fmt = want > 0 ? (enum rd_format)want
	                  : rd_format_detect((const unsigned char *)head, (size_t)n, d->is_dir);
	if ((d->fmt == RD_FMT_DIRECTORY) != d->is_dir || d->fmt == RD_FMT_GZIP) {
		gate_result_set(res, GATE_ERROR,
		                "dump %s is %s; format %s needs %s (dump.restore reads custom, "
		                "directory, tar and plain dumps)",
		                d->path, d->is_dir ? "a directory" : rd_format_name(d->fmt),
		                rd_format_name(d->fmt),
		                d->fmt == RD_FMT_DIRECTORY ? "a directory holding toc.dat"
		                                           : "an uncompressed file");
		return -1;
	}
	if (d->fmt == RD_FMT_PLAIN) {
		n = read_part(d->path, tail, TAIL_BYTES, 0);
		if (n < 0 || !rd_plain_complete(tail, (size_t)n)) {
			gate_result_set(
				res, GATE_FAIL,
				"dump %s is cut short: it does not end with the line "
				"\"-- PostgreSQL database dump complete\" pg_dump writes last",
				d->path);
			return -1;
		}
	}
	return 0;
}

/* The dump: chosen, identified, its format known.  0, or -1 with res set. */
static int choose(const json_t *params, const struct gate_run_env *env, struct dump_pick *d,
                  struct rh *r, struct gate_result *res)
{
	struct bk_file_facts f = {.pattern = gate_param_str(params, "path")};
	bk_file_pick_dumps(&f);
	if (f.glob_err) {
		gate_result_set(res, GATE_ERROR, "cannot list %s (glob error %d)", f.pattern,
		                f.glob_err);
		return -1;
	}
	if (!f.path) {
		gate_result_set(res, GATE_FAIL,
		                "no dump matches %s (%zu match%s; none a regular file or a "
		                "directory holding toc.dat)",
		                f.pattern, f.nmatch, f.nmatch == 1 ? "" : "es");
		return -1;
	}
	char real[PATH_MAX];
	struct stat st;
	d->path = xstrdup(realpath(f.path, real) ? real : f.path);
	free((char *)f.path);
	d->is_dir = stat(d->path, &st) == 0 && S_ISDIR(st.st_mode);
	if (identify(d, env, r, res))
		return -1;
	if (d->size == 0) {
		gate_result_set(res, GATE_FAIL, "dump %s is empty", d->path);
		return -1;
	}
	return format_of(params, d, res);
}

/* A tool run as the user; a failure into res as `fmt: why` (an error
 * unless fail is set and the tool did not time out). */
static int step(struct pgscratch *s, char **argv, int fail, const char *what, const char *verb,
                struct gate_result *res)
{
	char msg[GATE_SUMMARY_MAX], why[GATE_SUMMARY_MAX];
	int rc = pgscratch_run_as_user(s, argv, NULL, 0, msg, sizeof(msg));
	strv_free(argv);
	if (rc == 0)
		return 0;
	rd_tool_error(msg, why, sizeof(why));
	int timed_out = strstr(msg, "timed out") != NULL;
	gate_result_set(res, fail && !timed_out ? GATE_FAIL : GATE_ERROR, "%s %s: %s", what, verb,
	                why);
	return -1;
}

/* The scratch cluster made and started, the roles and the database
 * created.  0, or -1 with res set. */
static int prepare(struct rh *r, const json_t *params, const char *db, struct gate_result *res)
{
	struct pgscratch *s = &r->s;
	int64_t t = gate_mono_ms();
	if (step(s, rd_initdb_argv(s->bindir, s->datadir), 0, "scratch cluster", "initdb failed",
	         res))
		return -1;
	rh_phase(r, "initdb", gate_mono_ms() - t);
	/* A cluster initdb just made that does not start says nothing about
	 * the dump: an error, not a failure. */
	if (rh_start(r, "scratch cluster", NULL, res)) {
		res->status = GATE_ERROR;
		return -1;
	}
	/* pgscratch_start may have replaced s->bindir (the one of PG_VERSION):
	 * read it only now */
	const char *bindir = s->bindir;
	char port[16];
	snprintf(port, sizeof(port), "%d", s->port);
	size_t i;
	const json_t *role;
	json_array_foreach(json_object_get(params, "roles"), i, role) {
		char *user = bindir ? xasprintf("%s/createuser", bindir) : xstrdup("createuser");
		char *const a[] = {user, "-h",         s->dir, "-p",
		                   port, "--no-login", "--",   (char *)json_string_value(role),
		                   NULL};
		int rc = step(s, strv_dup(a), 0, "scratch cluster", "createuser failed", res);
		free(user);
		if (rc)
			return -1;
	}
	return step(s, rd_createdb_argv(bindir, s->dir, s->port, db), 0, "scratch cluster",
	            "createdb failed", res);
}

void rh_dump_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	struct rh r;
	rh_begin(&r, res);
	struct dump_pick d = {0};
	char what[PATH_MAX + 16];
	const char *db = gate_param_str(params, "database");
	size_t passed = 0;
	if (!db)
		db = "rehearsal";
	if (choose(params, env, &d, &r, res))
		goto out;
	snprintf(what, sizeof(what), "dump %s", d.path);
	json_object_set_new(r.rehearsal, "format", json_string(rd_format_name(d.fmt)));
	if (rh_create(&r, params, env, rd_space_dump(d.size), res) || prepare(&r, params, db, res))
		goto out;
	int64_t t = gate_mono_ms();
	int restored = step(&r.s,
	                    rd_restore_argv(r.s.bindir, d.fmt, d.path, r.s.dir, r.s.port, db,
	                                    gate_param_int(params, "jobs", 1)),
	                    1, what, "did not restore", res);
	rh_phase(&r, "restore", gate_mono_ms() - t);
	/* the probes run against the restored database unless they name one */
	if (restored || rh_probes(&r, params, db, &passed, res))
		goto out;
	rh_pass(&r, what, passed, res);
out:
	rh_end(&r);
	free(d.path);
}

int rh_dump_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	static const char *const nonempty[] = {"path"};
	if (rh_validate_nonempty(params, nonempty, 1, param, msg, msglen) ||
	    rh_validate_scratch(params, param, msg, msglen))
		return -1;
	const char *db = gate_param_str(params, "database");
	if (db && rd_dbname_ok(db, msg, msglen)) {
		*param = "database";
		return -1;
	}
	int64_t jobs = gate_param_int(params, "jobs", 1);
	int fmt = rd_format_parse(gate_param_str(params, "format"));
	if (jobs < 1 || jobs > 64) {
		*param = "jobs";
		snprintf(msg, msglen, "must be 1 to 64");
		return -1;
	}
	if (jobs > 1 && (fmt == RD_FMT_PLAIN || fmt == RD_FMT_TAR)) {
		*param = "jobs";
		snprintf(msg, msglen,
		         "a %s dump is restored by one process (jobs: custom or "
		         "directory only)",
		         rd_format_name((enum rd_format)fmt));
		return -1;
	}
	size_t i;
	const json_t *r;
	json_array_foreach(json_object_get(params, "roles"), i, r) {
		const char *name = json_string_value(r);
		if (!name || !*name || name[0] == '-' || strlen(name) > 63) {
			*param = "roles";
			snprintf(msg, msglen,
			         "a role name is 1 to 63 bytes, not starting with '-'");
			return -1;
		}
	}
	return 0;
}

const struct gate_param rh_dump_params[] = {
	{"path", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "A glob, as backup.file's: the newest match by mtime (.sha256 sidecars "
         "excluded) is rehearsed; a directory holding toc.dat (a directory-format "
         "dump) counts too, dated by its toc.dat."},
	{"format", GATE_P_ENUM, 0, "auto", "auto|custom|directory|tar|plain",
         "auto: \"PGDMP\" at the start is custom, \"ustar\" at offset 257 tar, a "
         "directory is directory, anything else plain (SQL, which must end with "
         "pg_dump's \"-- PostgreSQL database dump complete\")."},
	{"database", GATE_P_STRING, 0, "rehearsal", NULL,
         "The scratch database the dump is restored into (created from template0); "
         "the probes run there unless they name another."},
	{"jobs", GATE_P_INT, 0, "1", NULL,
         "pg_restore -j: parallel jobs (custom and directory dumps only)."},
	{"roles", GATE_P_STRING_LIST, 0, NULL, NULL,
         "Roles created (NOLOGIN) in the scratch cluster before the restore: those a "
         "plain dump's OWNER TO and GRANT statements name (pg_restore runs with "
         "--no-owner --no-acl)."},
	RH_SCRATCH_PARAMS,
	{NULL, 0, 0, NULL, NULL, NULL},
};
