/* SPDX-License-Identifier: MIT */
/* The backup check family: the parameter tables of pgbackrest.backup,
 * backup.basebackup and backup.file (gate-runbook(5), "Backups"),
 * and the helpers the three share.  The checks themselves live in
 * backup_pgbackrest.c, backup_basebackup.c and backup_file.c.
 *
 * The lesson that shapes them (verified against the real tools):
 * the tools print a bad result and still exit 0, so every check parses
 * what the tool says and never trusts its exit status alone. */
#include "builtin.h"
#include "backup.h"
#include "backup_rehearsed_judge.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/clock.h"
#include "kit/strbuf.h"
#include "kit/text.h"
#include "kit/timefmt.h"

/* ---- clocks and formatting ---- */

int64_t bk_budget_ms(const struct gate_run_env *env)
{
	int64_t left = env->timeout_ms > 0 ? env->timeout_ms : 30000;
	if (env->deadline_ms > 0)
		left = env->deadline_ms - gate_mono_ms();
	int64_t margin = left / 10;
	if (margin > 250)
		margin = 250;
	left -= margin;
	return left > 0 ? left : 1;
}

void bk_fmt_age(int64_t s, char *buf, size_t len)
{
	const int64_t lim = INT64_MAX / 1000;
	fmt_duration_approx(s > lim ? lim * 1000 : s < -lim ? -lim * 1000 : s * 1000, buf, len);
}

/* ---- the date of a backup ---- */

int64_t bk_age_s(int64_t now, int64_t t)
{
	int64_t age;
	if (__builtin_sub_overflow(now, t, &age))
		return t < 0 ? INT64_MAX : INT64_MIN + 1;
	return age == INT64_MIN ? INT64_MIN + 1 : age; /* negatable */
}

void bk_judge_date(struct bk_verdict *v, const char *what, const char *verb, int64_t t, int64_t now,
                   int64_t max_age_ms)
{
	int64_t age = bk_age_s(now, t);
	char when[40], ago[32], maxage[32];
	fmt_utc_s(t, when, sizeof(when));
	if (age < -BK_CLOCK_SKEW_S) {
		bk_fmt_age(-age, ago, sizeof(ago));
		bk_problem(v, GATE_FAIL,
		           "%s is dated %s, %s in the future; the clock or "
		           "the backup is wrong",
		           what, when, ago);
		return;
	}
	if (max_age_ms < 0)
		max_age_ms = 0;
	/* age * 1000 > max_age_ms, without the product */
	if (age > max_age_ms / 1000) {
		bk_fmt_age(age, ago, sizeof(ago));
		fmt_duration_ms(max_age_ms, maxage, sizeof(maxage));
		bk_problem(v, GATE_FAIL, "%s is %s old (max_age %s; %s %s)", what, ago, maxage,
		           verb, when);
	}
}

void bk_fmt_size(uint64_t b, char *buf, size_t len)
{
	fmt_size_iec(b, buf, len);
}

/* ---- problems ---- */

void bk_verdict_init(struct bk_verdict *v, json_t *details)
{
	memset(v, 0, sizeof(*v));
	v->status = GATE_PASS;
	v->list = json_array();
	json_object_set_new(details, "problems", v->list);
}

void bk_problem(struct bk_verdict *v, enum gate_status st, const char *fmt, ...)
{
	char msg[GATE_SUMMARY_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(v->list, bk_jstr(msg));
	if (v->n++ == 0) {
		v->status = st;
		memcpy(v->first, msg, sizeof(msg));
	}
}

void bk_verdict_finish(struct bk_verdict *v, struct gate_result *res, const char *pass_summary)
{
	if (v->n == 0) {
		/* Fail closed: a path that found no problem must also have
		 * said what passed. */
		if (!pass_summary || !*pass_summary)
			gate_result_set(res, GATE_ERROR, "check reached no verdict");
		else
			gate_result_set(res, GATE_PASS, "%s", pass_summary);
		return;
	}
	if (v->n == 1)
		gate_result_set(res, v->status, "%s", v->first);
	else
		gate_result_set(res, v->status, "%s (+%d more problem%s)", v->first, v->n - 1,
		                v->n == 2 ? "" : "s");
}

/* ---- running tools ---- */

int bk_run_tool(char *const *argv, const struct gate_run_env *env, size_t max_out,
                struct proc_result *pr)
{
	struct proc_opts o = {
		.timeout_ms = bk_budget_ms(env),
		.max_out = max_out,
		.max_err = 256u << 10,
	};
	return proc_run(argv, &o, pr);
}

const char *bk_tool_abnormal(const struct proc_result *pr, const char *tool)
{
	if (pr->started && pr->exited && !pr->timed_out)
		return NULL;
	return proc_describe(pr, tool);
}

void bk_add_stderr(json_t *obj, const char *key, const struct proc_result *pr)
{
	char *tail = proc_tail(pr->err, BK_STDERR_TAIL);
	if (*tail)
		json_object_set_new(obj, key, bk_jstr(tail));
	free(tail);
}

json_t *bk_jstrn(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	if (j)
		return j;
	/* Not UTF-8 (a file name in Latin-1, a tool's localized message):
	 * each stray byte shown as "\xNN", rather than lose the detail. */
	struct strbuf sb = STRBUF_INIT;
	text_safe_addn(&sb, s, n, TEXT_KEEP_NEWLINE | TEXT_KEEP_TAB);
	j = json_stringn(sb.buf ? sb.buf : "", sb.len);
	strbuf_release(&sb);
	return j;
}

json_t *bk_jstr(const char *s)
{
	return bk_jstrn(s ? s : "", s ? strlen(s) : 0);
}

void bk_copy(char *dst, size_t len, const char *src)
{
	if (!len)
		return;
	size_t n = strlen(src);
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void bk_append(char *dst, size_t len, const char *sep, const char *src)
{
	size_t u = strlen(dst);
	if (u + 1 >= len)
		return;
	if (u)
		bk_copy(dst + u, len - u, sep), u = strlen(dst);
	bk_copy(dst + u, len - u, src);
}

int bk_find_line(const char *s, const char *needle, char *buf, size_t len)
{
	const char *hit = s ? strstr(s, needle) : NULL;
	if (!hit)
		return 0;
	const char *b = hit;
	while (b > s && b[-1] != '\n')
		b--;
	size_t n = strcspn(b, "\r\n");
	if (n >= len)
		n = len - 1;
	memcpy(buf, b, n);
	buf[n] = '\0';
	return 1;
}

/* ---- types ---- */

static int validate_types(const json_t *params, const char **param, char *msg, size_t msglen)
{
	const json_t *types = json_object_get(params, "types");
	size_t i;
	const json_t *t;
	if (types && json_array_size(types) == 0) {
		*param = "types";
		snprintf(msg, msglen, "must name at least one of full, diff, incr");
		return -1;
	}
	json_array_foreach(types, i, t) {
		const char *s = json_string_value(t);
		if (!s || (strcmp(s, "full") && strcmp(s, "diff") && strcmp(s, "incr"))) {
			*param = "types";
			snprintf(msg, msglen, "unknown backup type '%s' (full, diff, incr)",
			         s ? s : "?");
			return -1;
		}
	}
	return bk_validate_pgbr_source(params, param, msg, msglen);
}

int bk_validate_pgbr_source(const json_t *params, const char **param, char *msg, size_t msglen)
{
	int64_t repo = gate_param_int(params, "repo", 1);
	if (repo < 1 || repo > 256) {
		*param = "repo";
		snprintf(msg, msglen, "repository key must be 1..256");
		return -1;
	}
	const char *stanza = gate_param_str(params, "stanza");
	if (stanza && (!*stanza || stanza[0] == '-')) {
		*param = "stanza";
		snprintf(msg, msglen, "must be a stanza name");
		return -1;
	}
	return 0;
}

static int validate_glob_path(const json_t *params, const char **param, char *msg, size_t msglen)
{
	const char *path = gate_param_str(params, "path");
	if (path && !*path) {
		*param = "path";
		snprintf(msg, msglen, "must not be empty");
		return -1;
	}
	return 0;
}

static int validate_basebackup(const json_t *params, const char **param, char *msg, size_t msglen)
{
	if (validate_glob_path(params, param, msg, msglen))
		return -1;
	const char *w = gate_param_str(params, "wal_path");
	if (w && !*w) {
		*param = "wal_path";
		snprintf(msg, msglen, "must not be empty");
		return -1;
	}
	return 0;
}

static int validate_file(const json_t *params, const char **param, char *msg, size_t msglen)
{
	if (validate_glob_path(params, param, msg, msglen))
		return -1;
	const json_t *rt = json_object_get(params, "restore_test");
	if (rt && (json_array_size(rt) == 0 || !json_string_length(json_array_get(rt, 0)))) {
		*param = "restore_test";
		snprintf(msg, msglen, "must be a non-empty argv list (no shell)");
		return -1;
	}
	if (gate_param_int(params, "min_size", 1) < 0) {
		*param = "min_size";
		snprintf(msg, msglen, "must not be negative");
		return -1;
	}
	return 0;
}

static const struct gate_param pgbackrest_params[] = {
	{"stanza", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL, "The pgBackRest stanza."},
	{"config", GATE_P_STRING, 0, NULL, NULL,
         "pgBackRest configuration file (--config); pgBackRest's own default when "
         "absent."},
	{"repo", GATE_P_INT, 0, NULL, NULL,
         "Repository key (--repo); all repositories when absent."},
	{"max_age", GATE_P_DURATION, 0, "24h", NULL,
         "The newest backup's timestamp.stop must be younger than this. A stop "
         "time more than 5 minutes in the future (the clock skew allowed) fails: "
         "the clock or the backup is wrong."},
	{"types", GATE_P_STRING_LIST, 0, "[full, diff, incr]", NULL,
         "Which backup types count (full, diff, incr)."},
	{"verify", GATE_P_BOOL, 0, "true", NULL,
         "Run `pgbackrest verify --output=text --verbose` and require `status: ok` "
         "for the stanza and `status: valid` for the chosen backup (verify exits 0 "
         "even on errors, so its output is parsed)."},
	{"require_wal", GATE_P_BOOL, 0, "true", NULL,
         "Every WAL segment from the backup's archive.start to archive.stop must be "
         "in the repository (verify does not check this); listed with "
         "`pgbackrest repo-ls`."},
	{"conninfo", GATE_P_STRING, 0, NULL, NULL,
         "When set, the backup's system-id must equal the live cluster's "
         "pg_control_system().system_identifier."},
	{"binary", GATE_P_STRING, 0, "pgbackrest", NULL,
         "The pgbackrest executable (searched in PATH)."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static const struct gate_param basebackup_params[] = {
	{"path", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "A glob; each matching directory is one pg_basebackup backup. The newest "
         "complete one (backup_manifest and backup_label present, no "
         "backup_manifest.tmp) by backup_label's START TIME is judged."},
	{"max_age", GATE_P_DURATION, 0, "24h", NULL,
         "Age limit, from backup_label's START TIME. A START TIME more than 5 "
         "minutes in the future (the clock skew allowed) fails: the clock or the "
         "backup is wrong."},
	{"verify", GATE_P_BOOL, 0, "true", NULL,
         "Run pg_verifybackup on the chosen backup; exit 0 and \"backup "
         "successfully verified\" required."},
	{"wal_path", GATE_P_STRING, 0, NULL, NULL,
         "WAL directory for pg_verifybackup -w (the backup's pg_wal when absent)."},
	{"skip_checksums", GATE_P_BOOL, 0, "false", NULL,
         "pg_verifybackup -s: check presence and sizes only."},
	{"parse_wal", GATE_P_BOOL, 0, "true", NULL,
         "false: pg_verifybackup -n (do not parse the WAL the backup needs)."},
	{"binary", GATE_P_STRING, 0, NULL, NULL,
         "pg_verifybackup executable; default: pg_verifybackup on PATH, else the "
         "newest /usr/lib/postgresql/*/bin/pg_verifybackup."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static const struct gate_param file_params[] = {
	{"path", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
         "A glob; the newest regular file among the matches (by mtime; .sha256 "
         "sidecars excluded) is judged."},
	{"max_age", GATE_P_DURATION, 0, "24h", NULL,
         "Age limit, from the file's mtime. An mtime more than 5 minutes in the "
         "future (the clock skew allowed) fails: the clock or the file is wrong."},
	{"min_size", GATE_P_SIZE, 0, "1", NULL, "The file must be at least this big."},
	{"checksum", GATE_P_ENUM, 0, "sha256-sidecar", "sha256-sidecar|none",
         "sha256-sidecar: PATH.sha256 in sha256sum format (\"HEX  NAME\", \"HEX "
         "*NAME\", or the --tag form \"SHA256 (NAME) = HEX\") must match the file "
         "(hashed as a stream); none: no checksum."},
	{"restore_test", GATE_P_STRING_LIST, 0, NULL, NULL,
         "argv run with {path} replaced by the file, e.g. [pg_restore, --list, "
         "\"{path}\"]; exit 0 required."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static const struct gate_check_type backup_types[] = {
	{"pgbackrest.backup",
         "newest pgBackRest backup: fresh, verified, WAL present, same cluster",
         "Reads `pgbackrest info --output=json`, picks the newest backup of the "
         "allowed types, and fails on a stanza status other than 0, no backup, "
         "`error` true or absent, or a stop time older than max_age. With verify, "
         "the repository copy is re-checksummed by `pgbackrest verify`; with "
         "require_wal, the WAL segments from archive.start to archive.stop must "
         "be in the repository; with conninfo, the system-id must match the live "
         "cluster. The WAL is listed with `pgbackrest repo-ls` (so any repository "
         "type works) and the segment size is inferred from the backup's LSNs. "
         "pgBackRest is run with --log-level-file=off and takes no lock for "
         "info, verify or repo-ls, so the check writes nothing into its log or "
         "lock path and runs as any user that can read the repository.",
         pgbackrest_params, validate_types, bk_pgbackrest_run},
	{"backup.basebackup",
         "newest complete pg_basebackup directory: fresh and pg_verifybackup'd",
         "Among the directories matching path, the complete ones (backup_manifest "
         "and backup_label, no backup_manifest.tmp) are ranked by backup_label's "
         "START TIME; the newest must be younger than max_age and pass "
         "pg_verifybackup.",
         basebackup_params, validate_basebackup, bk_basebackup_run},
	{"backup.file", "newest backup file or dump: fresh, big enough, checksum, restore test",
         "The newest regular file matching path must be younger than max_age, at "
         "least min_size, match its PATH.sha256 sidecar (sha256sum format), and "
         "pass restore_test when given. Note that `pg_restore --list` reads only "
         "the table of contents of a custom-format dump; `[pg_restore, -f, "
         "/dev/null, \"{path}\"]` reads all of it.",
         file_params, validate_file, bk_file_run},
	{"backup.rehearsed", "newest backup restored by a recent, passing gate rehearse",
         "Finds the newest backup of a pgBackRest stanza, a pg_basebackup glob or a "
         "backup file glob the way pgbackrest.backup, backup.basebackup and "
         "backup.file do, and reads the records gate rehearse wrote: passes when a "
         "passing rehearsal of that very backup started within max_age and no "
         "failed one came after it. No record, an old one, a failed one, or only "
         "rehearsals of an older backup fail, saying which; an unreadable state "
         "directory or record is an error.",
         bk_rehearsed_params, bk_rehearsed_validate, bk_rehearsed_run},
};

GATE_FAMILY_MODULE(backup) = {
	.abi_version = GATE_ABI_VERSION,
	.name = "backup",
	.version = "0.1.0",
	.types = backup_types,
	.ntypes = sizeof(backup_types) / sizeof(backup_types[0]),
};
