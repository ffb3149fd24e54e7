/* SPDX-License-Identifier: MIT */
/* backup.basebackup, the fetch: pg_basebackup directories (plain format,
 * with a backup_manifest) matching a glob, which of their files are there,
 * their backup_label, and pg_verifybackup's answer for the newest
 * complete one (bk_bb_pick).  backup_basebackup_judge.c judges.
 *
 * "Complete" is backup_manifest and backup_label present and no
 * backup_manifest.tmp: pg_basebackup writes the manifest under the .tmp
 * name and renames it last, so an interrupted run leaves the .tmp (and
 * pg_verifybackup on it would fail anyway).  The manifest carries no
 * time, so backup_label's START TIME dates the backup. */
#include "backup.h"
#include "backup_rehearsed_judge.h"

#include <ftw.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit/alloc.h"
#include "kit/strbuf.h"

#define LABEL_MAX (16u << 10)

static int is_file(const char *dir, const char *name)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int exists(const char *dir, const char *name)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

static char *read_label(const char *dir)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/backup_label", dir);
	FILE *f = fopen(p, "re");
	if (!f)
		return NULL;
	char *buf = xmalloc(LABEL_MAX + 1);
	size_t n = fread(buf, 1, LABEL_MAX, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static uint64_t walked, tree_bytes;

static int add_size(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		walked += (uint64_t)st->st_size;
	return 0;
}

uint64_t bk_tree_bytes(const char *dir, int follow_links)
{
	walked = 0;
	nftw(dir, add_size, 16, follow_links ? 0 : FTW_PHYS);
	return walked;
}

/* The backup's size is walked in a thread while pg_verifybackup runs, so
 * that the walk adds nothing to the check's time (the benchmark holds the
 * check to 1.05x of pg_verifybackup alone). */
static void *size_thread(void *dir)
{
	tree_bytes = bk_tree_bytes(dir, 0);
	return NULL;
}

/* pg_verifybackup on PATH, else the newest /usr/lib/postgresql/N/bin one. */
static char *find_verifybackup(void)
{
	const char *path = getenv("PATH");
	if (path) {
		char *dup = xstrdup(path), *save = NULL;
		for (char *d = strtok_r(dup, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			char p[4096];
			snprintf(p, sizeof(p), "%s/pg_verifybackup", *d ? d : ".");
			if (access(p, X_OK) == 0) {
				free(dup);
				return xstrdup(p);
			}
		}
		free(dup);
	}
	glob_t g;
	char *best = NULL;
	long bestv = -1;
	if (glob("/usr/lib/postgresql/*/bin/pg_verifybackup", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			long v = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL, 10);
			if (v > bestv && access(g.gl_pathv[i], X_OK) == 0) {
				bestv = v;
				free(best);
				best = xstrdup(g.gl_pathv[i]);
			}
		}
		globfree(&g);
	}
	return best;
}

/* pg_verifybackup's argv for dir, or NULL when it is not installed. */
static char **verify_argv(const json_t *params, const char *dir)
{
	const char *given = gate_param_str(params, "binary");
	char *bin = given ? xstrdup(given) : find_verifybackup();
	if (!bin)
		return NULL;
	const char *argv[10];
	int a = 0;
	argv[a++] = bin;
	const char *wal = gate_param_str(params, "wal_path");
	if (wal) {
		argv[a++] = "-w";
		argv[a++] = wal;
	}
	if (gate_param_bool(params, "skip_checksums", 0))
		argv[a++] = "-s";
	if (!gate_param_bool(params, "parse_wal", 1))
		argv[a++] = "-n";
	argv[a++] = "--";
	argv[a++] = dir;
	argv[a] = NULL;
	char **v = strv_dup((char *const *)argv);
	free(bin);
	return v;
}

/* The directories among the glob's matches, what each holds, and the
 * backup_label of each that looks complete. */
static int scan_dirs(struct bk_bb_facts *f, glob_t *g)
{
	int gr = glob(f->pattern, GLOB_ONLYDIR, NULL, g);
	if (gr != 0 && gr != GLOB_NOMATCH) {
		f->glob_err = gr;
		return gr;
	}
	size_t nc = gr == 0 ? g->gl_pathc : 0;
	f->dirs = xcalloc(nc + 1, sizeof(*f->dirs));
	for (size_t i = 0; i < nc; i++) {
		struct stat st;
		if (stat(g->gl_pathv[i], &st) || !S_ISDIR(st.st_mode))
			continue;
		struct bk_bb_dir *k = &f->dirs[f->ndirs++];
		k->path = g->gl_pathv[i];
		k->manifest_tmp = exists(k->path, "backup_manifest.tmp");
		k->manifest = is_file(k->path, "backup_manifest");
		k->label_file = is_file(k->path, "backup_label");
		if (!k->manifest_tmp && k->manifest && k->label_file)
			k->label = read_label(k->path);
	}
	return gr;
}

void bk_basebackup_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res)
{
	struct bk_bb_facts f = {.pattern = gate_param_str(params, "path"), .manifest_mtime = -1};
	if (!f.pattern) {
		gate_result_set(res, GATE_ERROR, "path is required");
		return;
	}
	glob_t g;
	int gr = scan_dirs(&f, &g);
	long best = bk_bb_pick(&f);
	if (best >= 0) {
		const char *dir = f.dirs[best].path;
		char mpath[4096];
		struct stat mst;
		snprintf(mpath, sizeof(mpath), "%s/backup_manifest", dir);
		if (stat(mpath, &mst) == 0)
			f.manifest_mtime = (int64_t)mst.st_mtim.tv_sec;
		f.verify = gate_param_bool(params, "verify", 1);
		pthread_t th;
		int threaded = f.verify && pthread_create(&th, NULL, size_thread, (void *)dir) == 0;
		if (!threaded)
			size_thread((void *)dir);
		if (f.verify && (f.verify_argv = verify_argv(params, dir)))
			bk_run_tool(f.verify_argv, env, 64u << 10, &f.verify_pr);
		if (threaded)
			pthread_join(th, NULL);
		f.size = tree_bytes;
	}
	bk_bb_judge(&f, params, (int64_t)time(NULL), res);
	if (f.verify_argv) {
		proc_result_release(&f.verify_pr);
		strv_free(f.verify_argv);
	}
	for (size_t i = 0; i < f.ndirs; i++)
		free(f.dirs[i].label);
	free(f.dirs);
	if (gr == 0)
		globfree(&g);
}

/* backup.rehearsed finds the newest backup the way this check does. */
int bk_bb_scan(struct bk_bb_facts *f, glob_t *g)
{
	return scan_dirs(f, g);
}
