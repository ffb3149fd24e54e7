/* SPDX-License-Identifier: MIT */
/* dump.restore: the newest dump matching a glob (chosen as backup.file
 * chooses, bk_file_pick_dumps: bk_file_pick with directory-format dumps as candidates too)
 * restored into a scratch cluster made for it: initdb as the user, the
 * server started (checks/lib/pgscratch.h), the roles named created, the
 * database created from template0, pg_restore --exit-on-error --no-owner
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
#include "kit/strbuf.h"
#include "lib/pgscratch.h"
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
static int identify(struct dump_pick *d, const struct gate_run_env *env, json_t *rh,
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
	d->size = d->is_dir ? rd_tree_bytes(d->path) : (uint64_t)a.st_size;
	json_object_set_new(rh, "backup",
	                    rd_identity_file(d->path, d->size, ns(&a), h == 0 ? hex : NULL));
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
	long n = d->is_dir ? 0 : rd_read_part(d->path, head, HEAD_BYTES, 1);
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
		n = rd_read_part(d->path, tail, TAIL_BYTES, 0);
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
                  json_t *rh, struct gate_result *res)
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
	if (identify(d, env, rh, res))
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

/* The probes with the restored database as their default. */
static json_t *probes_in(const json_t *probes, const char *db)
{
	json_t *copy = json_deep_copy(probes);
	size_t i;
	json_t *p;
	json_array_foreach(copy, i, p) {
		if (json_is_object(p) && !json_object_get(p, "database"))
			json_object_set_new(p, "database", json_string(db));
	}
	return copy;
}

/* The scratch cluster made and started, the roles and the database
 * created.  0, or -1 with res set. */
static int prepare(struct pgscratch *s, const json_t *params, const char *db, json_t *rh,
                   struct gate_result *res)
{
	char msg[GATE_SUMMARY_MAX];
	const char *bindir = s->bindir;
	int64_t t = gate_mono_ms();
	if (step(s, rd_initdb_argv(bindir, s->datadir), 0, "scratch cluster", "initdb failed", res))
		return -1;
	rd_phase(rh, "initdb", gate_mono_ms() - t);
	t = gate_mono_ms();
	if (pgscratch_start(s, NULL, msg, sizeof(msg))) {
		gate_result_set(res, GATE_ERROR, "scratch cluster %s", msg);
		return -1;
	}
	rd_phase(rh, "start", gate_mono_ms() - t);
	char port[16];
	snprintf(port, sizeof(port), "%d", s->port);
	size_t i;
	const json_t *r;
	json_array_foreach(json_object_get(params, "roles"), i, r) {
		char *user = bindir ? xasprintf("%s/createuser", bindir) : xstrdup("createuser");
		char *const a[] = {user, "-h",         s->dir, "-p",
		                   port, "--no-login", "--",   (char *)json_string_value(r),
		                   NULL};
		if (step(s, strv_dup(a), 0, "scratch cluster", "createuser failed", res)) {
			free(user);
			return -1;
		}
		free(user);
	}
	return step(s, rd_createdb_argv(bindir, s->dir, s->port, db), 0, "scratch cluster",
	            "createdb failed", res);
}

void rd_dump_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	json_t *rh = rd_rehearsal_init(res->details);
	int64_t t0 = gate_mono_ms();
	struct dump_pick d = {0};
	struct pgscratch s = {0};
	struct pgscratch_opts o;
	char msg[GATE_SUMMARY_MAX], what[PATH_MAX + 16] = "";
	const char *db = gate_param_str(params, "database");
	const json_t *probes = json_object_get(params, "probes");
	json_t *ps = NULL;
	int ok = 0;
	if (!db)
		db = "rehearsal";
	if (choose(params, env, &d, rh, res))
		goto out;
	snprintf(what, sizeof(what), "dump %s", d.path);
	json_object_set_new(rh, "format", json_string(rd_format_name(d.fmt)));
	rd_scratch_opts(params, env, &o);
	if (pgscratch_create(&s, &o, rd_space_dump(d.size), msg, sizeof(msg))) {
		gate_result_set(res, GATE_ERROR, "%s", msg);
		goto out;
	}
	json_object_set_new(rh, "scratch_dir", json_string(s.dir));
	if (prepare(&s, params, db, rh, res))
		goto out;
	int64_t t = gate_mono_ms();
	int restored = step(&s,
	                    rd_restore_argv(s.bindir, d.fmt, d.path, s.dir, s.port, db,
	                                    gate_param_int(params, "jobs", 1)),
	                    1, what, "did not restore", res);
	rd_phase(rh, "restore", gate_mono_ms() - t);
	if (restored)
		goto out;
	ps = probes ? probes_in(probes, db) : NULL;
	ok = rd_probes(&s, ps, rh, res) == 0;
out:
	rd_finish(&s, rh, ok, what[0] ? what : "dump", t0, json_array_size(probes), res);
	json_decref(ps);
	free(d.path);
}

int rd_dump_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	if (rd_validate_common(params, param, msg, msglen))
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

const struct gate_param rd_dump_params[] = {
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
	{"probes", GATE_P_JSON, 0, NULL, NULL,
         "A list of SQL probes run on the restored database: {sql, name?, database?, "
         "min?, max?, equals?}; one that errors or misses its expectation fails."},
	{"scratch_dir", GATE_P_STRING, 0, "/var/tmp", NULL,
         "Where the scratch directory (gate-rehearsal-XXXXXX) is made; its filesystem "
         "must hold 3 times the dump's size plus a margin (10%, at least 64 MiB)."},
	{"user", GATE_P_STRING, 0, "postgres", NULL,
         "The unprivileged user initdb, the server and the restore run as."},
	{"pg_bindir", GATE_P_STRING, 0, NULL, NULL,
         "PostgreSQL's bin directory (initdb, pg_restore, psql); default: the newest "
         "under /usr/lib/postgresql."},
	{NULL, 0, 0, NULL, NULL, NULL},
};
