/* SPDX-License-Identifier: MIT */
/* pgbackrest.restore: the newest backup of a stanza (chosen by
 * pgbackrest.backup's own code, bk_pgbr_fetch and bk_pgbr_view_read), or
 * the one named by `set`, restored with pgBackRest into a scratch
 * directory, started, probed and removed (rehearse.h).
 *
 * What it touches (doc/facts.md, pgBackRest 2.45): `info` and `restore`
 * only read the repository; `restore --archive-mode=off` writes
 * archive_mode = 'off' into the copy's postgresql.auto.conf, whose
 * archive_command (the primary's, copied by ALTER SYSTEM) would push to
 * the live repository; and the restore_command it writes is replaced on
 * the server's command line by an archive-get that writes no log file and
 * never runs asynchronously (no spool, no lock).  Tablespaces go under the
 * scratch directory (--tablespace-map-all), never to their original
 * paths.  No option names the live cluster: it is never contacted. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"
#include "kit/timefmt.h"
#include "rehearse.h"

/* Most of pgbackrest's stdout kept from a restore (it prints nothing at
 * --log-level-console=off). */
#define RESTORE_OUT_MAX 4096

const struct gate_param rh_pgbackrest_params[] = {
	{"stanza", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL, "The pgBackRest stanza."},
	{"config", GATE_P_STRING, 0, NULL, NULL,
         "pgBackRest configuration file (--config); pgBackRest's own default when "
         "absent. It must be readable by user."},
	{"repo", GATE_P_INT, 0, NULL, NULL,
         "Repository key (--repo); all repositories when absent."},
	{"set", GATE_P_STRING, 0, NULL, NULL,
         "The label of the backup to restore; default the newest backup (by "
         "timestamp.stop, of any type, as pgbackrest.backup picks it)."},
	{"process_max", GATE_P_INT, 0, "1", NULL,
         "Parallel processes of pgbackrest restore (--process-max)."},
	RH_SCRATCH_PARAMS,
	{NULL, 0, 0, NULL, NULL, NULL},
};

int rh_pgbackrest_validate(const json_t *params, const char **param, char *msg, size_t msglen)
{
	if (bk_validate_pgbr_source(params, param, msg, msglen))
		return -1;
	const char *set = gate_param_str(params, "set");
	if (set && (!*set || set[0] == '-')) {
		*param = "set";
		snprintf(msg, msglen, "must be a backup label");
		return -1;
	}
	int64_t pm = gate_param_int(params, "process_max", 1);
	if (pm < 1 || pm > 999) {
		*param = "process_max";
		snprintf(msg, msglen, "must be 1..999");
		return -1;
	}
	return rh_validate_scratch(params, param, msg, msglen);
}

/* ---- which backup ---- */

struct chosen {
	const json_t *backup; /* in view.all */
	const char *label;
	int repo;
	uint64_t size; /* info.size: the database's size */
};

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int64_t jint(const json_t *o, const char *k, int64_t dflt)
{
	const json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* The backup labelled set in the stanza (of repo, when given). */
static const json_t *find_set(const json_t *stanza, const char *set, int64_t repo)
{
	size_t i;
	const json_t *b, *found = NULL;
	json_array_foreach(json_object_get(stanza, "backup"), i, b) {
		if (repo > 0 && jint(json_object_get(b, "database"), "repo-key", -1) != repo)
			continue;
		if (jstr(b, "label") && !strcmp(jstr(b, "label"), set))
			found = b;
	}
	return found;
}

/* `pgbackrest info` as pgbackrest.backup runs it, read by its code. */
static int choose(const json_t *params, const struct gate_run_env *env, struct bk_pgbr_facts *f,
                  struct bk_pgbr_view *view, struct chosen *c, struct gate_result *res)
{
	const char *stanza = gate_param_str(params, "stanza");
	json_t *q = json_pack("{s:s, s:b, s:b}", "stanza", stanza, "verify", 0, "require_wal", 0);
	if (gate_param_str(params, "config"))
		json_object_set_new(q, "config", json_string(gate_param_str(params, "config")));
	if (gate_param_given(params, "repo"))
		json_object_set_new(q, "repo", json_integer(gate_param_int(params, "repo", 1)));
	bk_pgbr_fetch(q, env, bk_run_tool, f);
	const char *bad = bk_tool_abnormal(&f->info, "pgbackrest info");
	char why[300] = "";
	bk_find_line(f->info.err, "ERROR", why, sizeof(why));
	int rc = -1;
	if (bad || f->info.exit_code) {
		gate_result_set(res, GATE_ERROR, "%s%s%s",
		                bad ? bad : "pgbackrest info: exited non-zero", *why ? ": " : "",
		                why);
	} else if (bk_pgbr_view_read(f->info.out, q, view) && !view->all) {
		gate_result_set(res, GATE_ERROR, "pgbackrest info: not understood (%s)", view->why);
	} else if (!view->stanza || view->status_code != 0) {
		const char *m = jstr(json_object_get(view->stanza, "status"), "message");
		gate_result_set(res, GATE_FAIL, "stanza %s: %s (status %lld)", stanza,
		                m ? m : "not in pgbackrest info", (long long)view->status_code);
	} else {
		const char *set = gate_param_str(params, "set");
		c->backup = set ? find_set(view->stanza, set, gate_param_int(params, "repo", 0))
		                : view->backup;
		c->label = jstr(c->backup, "label");
		if (!c->label) {
			gate_result_set(res, GATE_FAIL, "stanza %s: no backup%s%s", stanza,
			                set ? " " : "", set ? set : "");
		} else {
			c->repo = (int)jint(json_object_get(c->backup, "database"), "repo-key", 0);
			int64_t size = jint(json_object_get(c->backup, "info"), "size", 0);
			c->size = size > 0 ? (uint64_t)size : 0;
			rc = 0;
		}
	}
	json_decref(q);
	return rc;
}

static json_t *identity(const json_t *params, const struct chosen *c)
{
	const json_t *ts = json_object_get(c->backup, "timestamp");
	char start[40], stop[40];
	fmt_utc_s(jint(ts, "start", 0), start, sizeof(start));
	fmt_utc_s(jint(ts, "stop", 0), stop, sizeof(stop));
	const char *type = jstr(c->backup, "type");
	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "kind", "pgbackrest", "stanza",
	                 gate_param_str(params, "stanza"), "repo", c->repo, "label", c->label,
	                 "type", type ? type : "?", "start", start, "stop", stop);
}

/* ---- restore ---- */

/* The options that say which repository and stanza: --config, --repo,
 * --stanza (strings owned by sb-made copies in out[]). */
static size_t repo_opts(const json_t *params, const struct chosen *c, char **out)
{
	size_t n = 0;
	if (gate_param_str(params, "config"))
		out[n++] = xasprintf("--config=%s", gate_param_str(params, "config"));
	if (gate_param_given(params, "repo"))
		out[n++] = xasprintf("--repo=%d", c->repo);
	out[n++] = xasprintf("--stanza=%s", gate_param_str(params, "stanza"));
	return n;
}

static int restore(struct rh *r, const json_t *params, const struct chosen *c, const char *what,
                   struct gate_result *res)
{
	char *a[24];
	size_t n = 0;
	a[n++] = xstrdup("pgbackrest");
	n += repo_opts(params, c, a + n);
	a[n++] = xstrdup("--log-level-console=off");
	a[n++] = xstrdup("--log-level-stderr=warn");
	a[n++] = xstrdup("--log-level-file=off");
	a[n++] = xstrdup("restore");
	a[n++] = xasprintf("--pg1-path=%s", r->s.datadir);
	a[n++] = xasprintf("--set=%s", c->label);
	a[n++] = xstrdup("--type=immediate");
	a[n++] = xstrdup("--target-action=promote");
	a[n++] = xstrdup("--archive-mode=off");
	a[n++] = xasprintf("--process-max=%lld",
	                   (long long)gate_param_int(params, "process_max", 1));
	a[n++] = xasprintf("--tablespace-map-all=%s/tablespaces", r->s.dir);
	a[n] = NULL;
	char msg[GATE_SUMMARY_MAX - 64];
	int64_t t = gate_mono_ms();
	int rc = pgscratch_run_as_user(&r->s, a, NULL, RESTORE_OUT_MAX, msg, sizeof(msg));
	rh_phase(r, "restore", gate_mono_ms() - t);
	for (size_t i = 0; i < n; i++)
		free(a[i]);
	if (rc == 0)
		return 0;
	/* pgBackRest refused the backup (an exit status of its own): the
	 * backup did not restore.  It could not run, or ran out of time: no
	 * verdict on the backup. */
	int refused = !strncmp(msg, "pgbackrest exited ", 18);
	gate_result_set(res, refused ? GATE_FAIL : GATE_ERROR, "%s did not restore: %s", what, msg);
	return -1;
}

/* s as one word of a /bin/sh command in restore_command: '...' with '
 * as '\'' and % doubled (PostgreSQL replaces %f, %p, %r, %%). */
static void add_word(struct strbuf *sb, const char *s)
{
	strbuf_adds(sb, sb->len ? " '" : "'");
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_adds(sb, "'\\''");
		else if (*s == '%')
			strbuf_adds(sb, "%%");
		else
			strbuf_add(sb, s, 1);
	}
	strbuf_adds(sb, "'");
}

/* restore_command=pgbackrest ... archive-get %f "%p": read only, no log
 * file, never asynchronous (no spool path, no lock). */
static char *restore_command(const struct rh *r, const json_t *params, const struct chosen *c)
{
	char *a[8];
	size_t n = repo_opts(params, c, a);
	struct strbuf sb = STRBUF_INIT;
	add_word(&sb, "pgbackrest");
	for (size_t i = 0; i < n; i++) {
		add_word(&sb, a[i]);
		free(a[i]);
	}
	char *pg1 = xasprintf("--pg1-path=%s", r->s.datadir);
	add_word(&sb, pg1);
	free(pg1);
	strbuf_adds(&sb, " --log-level-file=off --log-level-console=warn --log-level-stderr=off "
	                 "--no-archive-async archive-get %f \"%p\"");
	char *cmd = xasprintf("restore_command=%s", sb.buf);
	strbuf_release(&sb);
	return cmd;
}

/* ---- run ---- */

void rh_pgbackrest_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res)
{
	struct rh r;
	rh_begin(&r, res);
	struct bk_pgbr_facts f = {0};
	struct bk_pgbr_view view = {0};
	struct chosen c = {0};
	if (choose(params, env, &f, &view, &c, res))
		goto out;
	rh_set_backup(&r, identity(params, &c));
	char what[160];
	snprintf(what, sizeof(what), "backup %s", c.label);
	if (rh_create(&r, params, env, c.size, res) || restore(&r, params, &c, what, res))
		goto out;
	char *rc = restore_command(&r, params, &c);
	const char *extra[] = {rc, NULL};
	int started = rh_start(&r, what, extra, res);
	free(rc);
	size_t passed = 0;
	if (started || rh_promoted(&r, what, res) || rh_probes(&r, params, NULL, &passed, res))
		goto out;
	rh_pass(&r, what, passed, res);
out:
	rh_end(&r);
	bk_pgbr_view_release(&view);
	bk_pgbr_facts_release(&f);
}
