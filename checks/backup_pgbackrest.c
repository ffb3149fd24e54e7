/* SPDX-License-Identifier: MIT */
/* pgbackrest.backup, the fetch: `pgbackrest info`, `verify` and
 * `repo-ls` of the WAL directories the newest backup needs, and the live
 * cluster's system identifier, gathered into facts that
 * backup_pgbackrest_judge.c judges.
 *
 * What pgBackRest 2.45 really says (verified against the real tool):
 * `info` exits 0 for a missing stanza (status code 1) and keeps saying
 * "ok" with "error": false when the repository is corrupt; `verify` exits
 * 0 with "status: error" and prints nothing unless --output=text
 * --verbose; and it does not check that a backup's WAL is present.  So
 * every answer is parsed, and the WAL is listed with `repo-ls`, which
 * reads the repository through pgBackRest's own configuration (local,
 * S3, SFTP... alike) rather than guessing a path from the config file.
 *
 * pgBackRest is run with --log-level-file=off (the check is read-only: it
 * writes no log file as whatever user gate runs as) and
 * --log-level-console=off (stdout is exactly the report we parse);
 * its warnings and errors come on stderr (--log-level-stderr). */
#include "backup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "kit/alloc.h"

struct pgbr {
	const struct gate_run_env *env;
	const char *bin;
	const char *config;
	char stanza_opt[300];
	char config_opt[4200];
	bk_tool_fn run; /* bk_run_tool, or a stand-in (tests, fuzz/) */
};

/* argv: binary [--config=] [--repo=N] [--stanza=] quiet-log options,
 * then the caller's words. */
static void build_argv(struct pgbr *p, const char **argv, size_t max, int repo, int with_stanza,
                       char *repo_opt, size_t repo_len, const char *const *words)
{
	size_t a = 0;
	argv[a++] = p->bin;
	if (p->config)
		argv[a++] = p->config_opt;
	if (repo > 0) {
		snprintf(repo_opt, repo_len, "--repo=%d", repo);
		argv[a++] = repo_opt;
	}
	if (with_stanza)
		argv[a++] = p->stanza_opt;
	argv[a++] = "--log-level-file=off";
	argv[a++] = "--log-level-console=off";
	for (size_t i = 0; words[i] && a + 1 < max; i++)
		argv[a++] = words[i];
	argv[a] = NULL;
}

/* Tidy pgBackRest's stderr, in place, for details: the "command begin"
 * and "command end" lines (every option, the elapsed time) and verify's
 * report, which it logs at info level as well as printing it on stdout
 * (parsed from there), are dropped; warnings, errors and the named
 * invalid files stay. */
static void tidy_stderr(char *s)
{
	char *w = s;
	int in_report = 0;
	for (char *l = s; *l;) {
		size_t n = strcspn(l, "\n");
		size_t adv = n + (l[n] == '\n');
		if (l[0] != ' ')
			in_report = !strncmp(l, "INFO: stanza: ", 14);
		int drop = in_report || memmem(l, n, " command begin ", 15) ||
		           memmem(l, n, " command end: ", 14);
		if (!drop) {
			memmove(w, l, adv);
			w += adv;
		}
		l += adv;
	}
	*w = '\0';
}

/* Run pgbackrest; 0 when its answer is usable (a normal exit 0, stdout
 * whole), -1 otherwise (the judge says why). */
static int run_pgbr(struct pgbr *p, int repo, int with_stanza, const char *const *words,
                    struct proc_result *pr)
{
	const char *argv[24];
	char repo_opt[32];
	build_argv(p, argv, 24, repo, with_stanza, repo_opt, sizeof(repo_opt), words);
	p->run((char *const *)argv, p->env, BK_PGBR_OUT_MAX, pr);
	tidy_stderr(pr->err);
	return bk_tool_abnormal(pr, "pgbackrest") || pr->exit_code || pr->out_truncated ? -1 : 0;
}

static void first_line(char *dst, size_t len, const char *msg)
{
	snprintf(dst, len, "%s", msg);
	dst[strcspn(dst, "\n")] = '\0';
}

/* The live cluster's system identifier (pg_control_system()), as an
 * unsigned decimal like pgBackRest's. */
static void ask_live(const char *conninfo, const struct gate_run_env *env, struct bk_pgbr_facts *f)
{
	char timeout[32];
	int64_t secs = bk_budget_ms(env) / 1000;
	snprintf(timeout, sizeof(timeout), "%lld", (long long)(secs > 2 ? secs : 2));
	/* dbname is expanded as a conninfo; the runbook's own connect_timeout,
	 * if any, comes later in it and wins. */
	const char *keys[] = {"connect_timeout", "dbname", "application_name", NULL};
	const char *vals[] = {timeout, conninfo, "gate", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		f->live = -1;
		first_line(f->live_error, sizeof(f->live_error), PQerrorMessage(c));
		PQfinish(c);
		return;
	}
	PGresult *r = PQexec(c, "select system_identifier::text from pg_control_system()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		f->live = -2;
		first_line(f->live_error, sizeof(f->live_error), PQerrorMessage(c));
	} else {
		/* bigint in PostgreSQL (negative above 2^63), unsigned in pgBackRest. */
		uint64_t got = (uint64_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		f->live = 1;
		snprintf(f->live_system_id, sizeof(f->live_system_id), "%" PRIu64, got);
	}
	PQclear(r);
	PQfinish(c);
}

/* repo-ls of each WAL directory the backup needs, in order, up to the
 * first answer that cannot be used. */
static void fetch_wal(struct pgbr *p, const struct bk_pgbr_view *view, const char *stanza,
                      struct bk_pgbr_facts *f)
{
	struct bk_wal_plan plan;
	if (bk_pgbr_wal_plan(view, &plan))
		return;
	uint64_t per_log = 0x100000000ull / plan.seg_size;
	size_t ndirs = (size_t)(plan.last / per_log - plan.first / per_log + 1);
	f->ls = xcalloc(ndirs, sizeof(*f->ls));
	for (uint64_t log = plan.first / per_log; log <= plan.last / per_log; log++) {
		struct bk_pgbr_ls *ls = &f->ls[f->nls++];
		bk_pgbr_wal_dir(&plan, stanza, log * per_log, ls->path, sizeof(ls->path));
		const char *words[] = {"--log-level-stderr=warn", "--output=json", "repo-ls",
		                       ls->path, NULL};
		if (run_pgbr(p, view->repo, 0, words, &ls->pr))
			return;
		char why[JSON_ERROR_TEXT_LENGTH];
		json_t *names = bk_pgbr_wal_names(ls->pr.out, why, sizeof(why));
		if (!names)
			return;
		json_decref(names);
	}
}

void bk_pgbr_fetch(const json_t *params, const struct gate_run_env *env, bk_tool_fn run,
                   struct bk_pgbr_facts *f)
{
	struct pgbr p = {.env = env, .run = run};
	const char *stanza = gate_param_str(params, "stanza");
	p.bin = gate_param_str(params, "binary");
	if (!p.bin)
		p.bin = "pgbackrest";
	p.config = gate_param_str(params, "config");
	snprintf(p.stanza_opt, sizeof(p.stanza_opt), "--stanza=%s", stanza);
	if (p.config)
		snprintf(p.config_opt, sizeof(p.config_opt), "--config=%s", p.config);
	const char *info[] = {"--log-level-stderr=warn", "--output=json", "info", NULL};
	f->info_ran = 1;
	if (run_pgbr(&p, (int)gate_param_int(params, "repo", 0), 1, info, &f->info))
		return;
	struct bk_pgbr_view view;
	if (bk_pgbr_view_read(f->info.out, params, &view) == 0) {
		const char *conninfo = gate_param_str(params, "conninfo");
		if (conninfo && view.system_id)
			ask_live(conninfo, env, f);
		const char *verify[] = {"--log-level-stderr=info", "--output=text", "--verbose",
		                        "verify", NULL};
		if (gate_param_bool(params, "verify", 1)) {
			f->verify_ran = 1;
			run_pgbr(&p, view.repo, 1, verify, &f->verify);
		}
		if (gate_param_bool(params, "require_wal", 1))
			fetch_wal(&p, &view, stanza, f);
	}
	bk_pgbr_view_release(&view);
}

void bk_pgbr_facts_release(struct bk_pgbr_facts *f)
{
	if (f->info_ran)
		proc_result_release(&f->info);
	if (f->verify_ran)
		proc_result_release(&f->verify);
	for (size_t i = 0; i < f->nls; i++)
		proc_result_release(&f->ls[i].pr);
	free(f->ls);
	memset(f, 0, sizeof(*f));
}

void bk_pgbackrest_run_with(const json_t *params, const struct gate_run_env *env,
                            struct gate_result *res, bk_tool_fn run)
{
	if (!gate_param_str(params, "stanza")) {
		gate_result_set(res, GATE_ERROR, "stanza is required");
		return;
	}
	struct bk_pgbr_facts f = {0};
	bk_pgbr_fetch(params, env, run, &f);
	bk_pgbr_judge(&f, params, (int64_t)time(NULL), res);
	bk_pgbr_facts_release(&f);
}

void bk_pgbackrest_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res)
{
	bk_pgbackrest_run_with(params, env, res, bk_run_tool);
}
