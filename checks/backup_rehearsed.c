/* SPDX-License-Identifier: MIT */
/* backup.rehearsed, the fetch: the newest backup, found by the code of
 * the check it belongs to (pgbackrest.backup's `info` and choice,
 * backup.basebackup's scan and pick, backup.file's pick), and the
 * records `gate rehearse` wrote into the state directory, read within
 * bounds (backup_rehearsed_judge.h).  Reads only: pgBackRest runs with
 * --log-level-file=off and takes no lock for `info`. */
#include "backup.h"
#include "backup_rehearsed_judge.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kit/alloc.h"
#include "kit/statedir.h"
#include "kit/timefmt.h"

const struct gate_param bk_rehearsed_params[] = {
	{"stanza", GATE_P_STRING, 0, NULL, NULL,
         "A pgBackRest stanza: its newest backup (as pgbackrest.backup picks it, of "
         "any type) must have been rehearsed. Exactly one of stanza, basebackup and "
         "file."},
	{"config", GATE_P_STRING, 0, NULL, NULL, "With stanza: pgBackRest configuration file."},
	{"repo", GATE_P_INT, 0, NULL, NULL, "With stanza: repository key; all when absent."},
	{"basebackup", GATE_P_STRING, 0, NULL, NULL,
         "A glob of pg_basebackup directories, as backup.basebackup's path: the newest "
         "complete one must have been rehearsed."},
	{"file", GATE_P_STRING, 0, NULL, NULL,
         "A glob of dumps, as dump.restore's path (files, and directory-format dumps "
         "dated by their toc.dat): the newest must have been rehearsed (same path, "
         "size and mtime; its checksum is not recomputed)."},
	{"max_age", GATE_P_DURATION, 0, "48h", NULL,
         "The passing rehearsal must have started less than this long ago."},
	{"state_dir", GATE_P_STRING, 0, NULL, NULL,
         "Where gate rehearse keeps its records; default $GATE_STATE_DIR/rehearsals, "
         "else /var/lib/gate/rehearsals."},
	{"binary", GATE_P_STRING, 0, "pgbackrest", NULL,
         "With stanza: the pgbackrest executable (searched in PATH)."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

int bk_rehearsed_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	static const char *const keys[] = {"stanza", "basebackup", "file"};
	int n = 0;
	for (size_t i = 0; i < 3; i++) {
		const char *v = gate_param_str(params, keys[i]);
		if (v && !*v) {
			*param = keys[i];
			snprintf(msg, msglen, "must not be empty");
			return -1;
		}
		n += v != NULL;
	}
	if (n != 1) {
		*param = NULL;
		snprintf(msg, msglen,
		         "exactly one of stanza, basebackup and file is needed (got %d)", n);
		return -1;
	}
	if (!gate_param_str(params, "stanza") &&
	    (gate_param_given(params, "config") || gate_param_given(params, "repo"))) {
		*param = gate_param_given(params, "config") ? "config" : "repo";
		snprintf(msg, msglen, "only applies with stanza");
		return -1;
	}
	int64_t repo = gate_param_int(params, "repo", 1);
	if (repo < 1 || repo > 256) {
		*param = "repo";
		snprintf(msg, msglen, "repository key must be 1..256");
		return -1;
	}
	return 0;
}

/* ---- the newest backup ---- */

/* pgbackrest.backup's fetch with nothing but `info`, and its choice. */
static void newest_pgbackrest(const json_t *params, const struct gate_run_env *env,
                              struct bk_reh_facts *f)
{
	json_t *p = json_deep_copy(params);
	json_object_set_new(p, "verify", json_false());
	json_object_set_new(p, "require_wal", json_false());
	json_object_del(p, "conninfo");
	json_object_del(p, "types"); /* every type counts, as by default */
	struct bk_pgbr_facts facts = {0};
	bk_pgbr_fetch(p, env, bk_run_tool, &facts);
	snprintf(f->what, sizeof(f->what), "stanza %s", f->source);
	const struct proc_result *pr = &facts.info;
	const char *ab = bk_tool_abnormal(pr, "pgbackrest");
	struct bk_pgbr_view view = {0};
	if (ab || pr->exit_code || pr->out_truncated) {
		char *tail = proc_tail(pr->err, 300);
		snprintf(f->list_error, sizeof(f->list_error), "pgbackrest info: %s%s%s",
		         ab ? ab : proc_describe(pr, "pgbackrest"), *tail ? ": " : "", tail);
		free(tail);
	} else if (bk_pgbr_view_read(pr->out, p, &view) == 0) {
		const json_t *b = view.backup, *ts = json_object_get(b, "timestamp");
		char start[40], stop[40];
		fmt_utc_s(json_integer_value(json_object_get(ts, "start")), start, sizeof(start));
		fmt_utc_s(json_integer_value(json_object_get(ts, "stop")), stop, sizeof(stop));
		f->identity = json_pack("{s:s,s:s,s:i,s:s,s:s?,s:s,s:s}", "kind", "pgbackrest",
		                        "stanza", f->source, "repo", view.repo, "label", view.label,
		                        "type", json_string_value(json_object_get(b, "type")),
		                        "start", start, "stop", stop);
		snprintf(f->what, sizeof(f->what), "backup %s", view.label);
	} else if (view.why[0]) {
		snprintf(f->list_error, sizeof(f->list_error),
		         "pgbackrest info: not understood: %s", view.why);
	} else if (!view.stanza || view.status_code != 0) {
		const char *m = json_string_value(
			json_object_get(json_object_get(view.stanza, "status"), "message"));
		snprintf(f->list_error, sizeof(f->list_error),
		         "pgbackrest info: stanza %s: %s (status code %lld)", f->source,
		         m ? m : "not found", (long long)view.status_code);
	}
	bk_pgbr_view_release(&view);
	bk_pgbr_facts_release(&facts);
	json_decref(p);
}

/* backup_manifest's "Manifest-Checksum", from its last 4 KiB. */
static char *manifest_checksum(const char *dir)
{
	char path[4200], buf[4097];
	snprintf(path, sizeof(path), "%s/backup_manifest", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	off_t from = st.st_size > 4096 ? st.st_size - 4096 : 0;
	ssize_t n = pread(fd, buf, 4096, from);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	char *k = strstr(buf, "\"Manifest-Checksum\"");
	char hex[129];
	if (!k || sscanf(k, "\"Manifest-Checksum\" : \"%128[0-9a-fA-F]\"", hex) != 1)
		return NULL;
	return xstrdup(hex);
}

static void newest_basebackup(struct bk_reh_facts *f)
{
	struct bk_bb_facts bb = {.pattern = f->source, .manifest_mtime = -1};
	glob_t g;
	int gr = bk_bb_scan(&bb, &g);
	long best = bk_bb_pick(&bb);
	snprintf(f->what, sizeof(f->what), "base backups %s", f->source);
	if (bb.glob_err)
		snprintf(f->list_error, sizeof(f->list_error), "%s: cannot be listed", f->source);
	if (best >= 0) {
		const struct bk_bb_dir *d = &bb.dirs[best];
		char start[64] = "", *real = realpath(d->path, NULL);
		bk_label_value(d->label, "START TIME", start, sizeof(start));
		char *sum = manifest_checksum(d->path);
		f->identity = json_pack("{s:s,s:s,s:s,s:s?}", "kind", "basebackup", "path",
		                        real ? real : d->path, "start_time", start,
		                        "manifest_checksum", sum);
		snprintf(f->what, sizeof(f->what), "base backup %s", real ? real : d->path);
		free(real);
		free(sum);
	}
	for (size_t i = 0; i < bb.ndirs; i++)
		free(bb.dirs[i].label);
	free(bb.dirs);
	if (gr == 0)
		globfree(&g);
}

static void newest_file(struct bk_reh_facts *f)
{
	/* dump.restore's choice and identity (checks/rehearse_dump.c): a
	 * directory-format dump is a candidate too, dated by its toc.dat and
	 * sized by all its files. */
	struct bk_file_facts ff = {.pattern = f->source};
	bk_file_pick_dumps(&ff);
	snprintf(f->what, sizeof(f->what), "backup files %s", f->source);
	struct stat st, dated;
	char *real = ff.path ? realpath(ff.path, NULL) : NULL;
	char *toc = real ? xasprintf("%s/toc.dat", real) : NULL;
	int is_dir = real && stat(real, &st) == 0 && S_ISDIR(st.st_mode);
	if (ff.glob_err)
		snprintf(f->list_error, sizeof(f->list_error), "%s: cannot be listed", f->source);
	else if (ff.path && (!real || stat(is_dir ? toc : real, &dated) < 0))
		snprintf(f->list_error, sizeof(f->list_error), "%s: %s", ff.path, strerror(errno));
	else if (ff.path) {
		int64_t ns = (int64_t)dated.st_mtim.tv_sec * 1000000000 + dated.st_mtim.tv_nsec;
		uint64_t size = is_dir ? bk_tree_bytes(real, 1) : (uint64_t)dated.st_size;
		f->identity = json_pack("{s:s,s:s,s:I,s:I}", "kind", "file", "path", real, "size",
		                        (json_int_t)size, "mtime_ns", (json_int_t)ns);
		snprintf(f->what, sizeof(f->what), "file %s", real);
	}
	free(toc);
	free(real);
	free((char *)ff.path);
}

/* ---- the records ---- */

/* A file or directory gate may trust: this user's or root's, and
 * writable by no one else (a planted record would prove a rehearsal
 * that never ran). */
static const char *untrusted(const struct stat *st)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "belongs to another user";
	if (st->st_mode & 022)
		return "is writable by group or others";
	return NULL;
}

/* The text of one record, bounded; NULL with why. */
static char *read_record(int dfd, const char *name, size_t *len, char *why, size_t whylen)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	const char *u = NULL;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (u = untrusted(&st)) ||
	    st.st_size > BK_REH_MAX_RECORD_BYTES) {
		snprintf(why, whylen, "%s",
		         fd < 0                ? strerror(errno)
		         : u                   ? u
		         : S_ISREG(st.st_mode) ? "bigger than 1 MiB"
		                               : "not a regular file");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char *buf = xmalloc((size_t)st.st_size + 1);
	ssize_t n = read(fd, buf, (size_t)st.st_size + 1);
	close(fd);
	if (n < 0 || n > st.st_size) {
		snprintf(why, whylen, "%s", n < 0 ? strerror(errno) : "grew while it was read");
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

static int is_record_name(const char *n)
{
	size_t len = strlen(n);
	return n[0] != '.' && len > 5 && !strcmp(n + len - 5, ".json");
}

static void read_one(struct bk_reh_facts *f, int dfd, const char *name)
{
	size_t len = 0;
	char why[300];
	char *text = read_record(dfd, name, &len, why, sizeof(why));
	struct bk_reh_record rec;
	if (text && bk_reh_parse(name, text, len, &rec, why, sizeof(why)) == 0) {
		/* a path as this host resolves it, as the newest backup's is */
		const char *p = json_string_value(json_object_get(rec.backup, "path"));
		char *real = p ? realpath(p, NULL) : NULL;
		if (real)
			json_object_set_new(rec.backup, "path", json_string(real));
		free(real);
		f->records[f->nrecords++] = rec;
	} else {
		if (text)
			bk_reh_record_release(&rec);
		if (!f->bad_record[0]) {
			snprintf(f->bad_record, sizeof(f->bad_record), "%s", name);
			snprintf(f->bad_why, sizeof(f->bad_why), "%s", why);
		}
	}
	free(text);
}

static void read_records(struct bk_reh_facts *f)
{
	int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	const char *u = NULL;
	DIR *d = NULL;
	if (dfd < 0 || fstat(dfd, &st) < 0 || (u = untrusted(&st)) || !(d = fdopendir(dfd))) {
		int e = errno;
		struct stat lst;
		/* O_DIRECTORY says ENOTDIR of a link to a directory */
		int link = e == ELOOP ||
		           (e == ENOTDIR && lstat(f->dir, &lst) == 0 && S_ISLNK(lst.st_mode));
		snprintf(f->dir_error, sizeof(f->dir_error), "%s",
		         u      ? u
		         : link ? "is a symbolic link"
		                : strerror(e));
		if (dfd >= 0)
			close(dfd);
		return;
	}
	f->records = xcalloc(BK_REH_MAX_RECORDS, sizeof(*f->records));
	struct dirent *e;
	size_t seen = 0;
	while ((e = readdir(d)) && !f->bad_record[0]) {
		if (!is_record_name(e->d_name)) {
			f->nunreadable_dir++;
			continue;
		}
		if (++seen > BK_REH_MAX_RECORDS) {
			snprintf(f->dir_error, sizeof(f->dir_error),
			         "holds more than %d records; remove old ones", BK_REH_MAX_RECORDS);
			break;
		}
		read_one(f, dirfd(d), e->d_name);
	}
	closedir(d);
}

void bk_rehearsed_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
{
	struct bk_reh_facts f = {0};
	char *dflt = NULL;
	f.dir = gate_param_str(params, "state_dir");
	if (!f.dir)
		f.dir = dflt = gate_rehearsal_dir();
	f.kind = gate_param_str(params, "stanza")       ? "pgbackrest"
	         : gate_param_str(params, "basebackup") ? "basebackup"
	                                                : "file";
	f.source = gate_param_str(params, !strcmp(f.kind, "pgbackrest")   ? "stanza"
	                                  : !strcmp(f.kind, "basebackup") ? "basebackup"
	                                                                  : "file");
	if (!f.source) {
		gate_result_set(res, GATE_ERROR, "one of stanza, basebackup and file is required");
		free(dflt);
		return;
	}
	read_records(&f);
	if (!strcmp(f.kind, "pgbackrest"))
		newest_pgbackrest(params, env, &f);
	else if (!strcmp(f.kind, "basebackup"))
		newest_basebackup(&f);
	else
		newest_file(&f);
	bk_reh_judge(&f, params, (int64_t)time(NULL), res);
	bk_reh_facts_release(&f);
	free(dflt);
}
