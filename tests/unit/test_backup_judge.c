/* SPDX-License-Identifier: MIT */
/* The backup family's judges (checks/backup_judge.h), table by table,
 * fed with answers recorded from the real tools (tests/data/recorded/
 * backup/, re-recorded by tests/tools/record-backup.sh): pgBackRest 2.45's
 * info, verify and repo-ls; pg_verifybackup 15 and a backup_label of
 * pg_basebackup 15; sha256sum sidecars and pg_restore 15.  Each row judges
 * one recording with its own parameters and its own "now" (so one
 * healthy answer is also the stale and the future-dated one).  And
 * bk_sha256_file (OpenSSL's EVP) on known vectors and at its deadline. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backup.h"

#define MAX_PARTS 5

struct rec {
	char *text;
	char *part[MAX_PARTS]; /* into text; "" when absent */
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (tests/tools/record-backup.sh records it)", path);
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	do {
		if (len + 4096 + 1 > cap)
			buf = realloc(buf, cap = (cap + 4096) * 2);
		assert_non_null(buf);
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* tests/data/recorded/backup/NAME split at the lines "%%" */
static void rec_load(struct rec *r, const char *name)
{
	const char *src = getenv("GATE_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/recorded/backup/%s", src ? src : ".", name);
	r->text = slurp(path);
	char *p = r->text;
	for (int i = 0; i < MAX_PARTS; i++) {
		r->part[i] = p ? p : (char *)"";
		char *sep = p ? strstr(p, "\n%%\n") : NULL;
		if (sep)
			*sep = '\0';
		p = sep ? sep + 4 : NULL;
	}
}

static void expect(const struct gate_result *res, enum gate_status st, const char *glob,
                   const char *row)
{
	if (res->status != st || fnmatch(glob, res->summary, 0))
		fail_msg("%s: got %d \"%s\", want %d \"%s\"", row, res->status, res->summary, st,
		         glob);
}

/* ---- pgbackrest.backup ---- */

static const struct rec *answering;

/* pgbackrest [options] COMMAND, answered from the recording */
static int answer(char *const *argv, const struct gate_run_env *env, size_t max_out,
                  struct proc_result *pr)
{
	(void)env;
	(void)max_out;
	memset(pr, 0, sizeof(*pr));
	pr->started = pr->exited = 1;
	const char *out = "", *err = "";
	for (size_t i = 1; argv[i]; i++) {
		if (!strcmp(argv[i], "info"))
			out = answering->part[0];
		else if (!strcmp(argv[i], "verify"))
			out = answering->part[1], err = answering->part[2];
		else if (!strcmp(argv[i], "repo-ls"))
			out = answering->part[3];
	}
	pr->out = strdup(out);
	pr->out_len = strlen(out);
	pr->err = strdup(err);
	pr->err_len = strlen(err);
	return 0;
}

/* The newest timestamp.stop among the recording's backups. */
static int64_t newest_stop(const char *info)
{
	json_t *all = json_loads(info, 0, NULL);
	int64_t best = 0;
	size_t i, j;
	json_t *s, *b;
	json_array_foreach(all, i, s) {
		json_array_foreach(json_object_get(s, "backup"), j, b) {
			json_int_t t = json_integer_value(
				json_object_get(json_object_get(b, "timestamp"), "stop"));
			if (t > best)
				best = t;
		}
	}
	json_decref(all);
	return best;
}

static const struct {
	const char *rec, *params; /* JSON, stanza demo unless given */
	int64_t after_stop;       /* now - the newest backup's stop, s */
	enum gate_status want;
	const char *summary;
} pgbr_rows[] = {
	{"healthy", "{}", 60, GATE_PASS,
         "backup *F (full): stopped *Z, 1m00s old, * MiB, verify: valid, WAL * present*"},
	{"healthy", "{\"verify\":false,\"require_wal\":false}", 60, GATE_PASS,
         "backup *F (full): stopped *, 1m00s old, * MiB"},
	/* stale: the same answer a day and a second later */
	{"healthy", "{}", 86401, GATE_FAIL,
         "backup *F (full) is 1d00h old (max_age 1d; stopped *Z)"},
	{"healthy", "{\"max_age\":3600000}", 3601, GATE_FAIL,
         "backup *F (full) is 1h00m old (max_age 1h; stopped *)"},
	/* future-dated: now is before the stop, beyond the clock skew */
	{"healthy", "{}", -301, GATE_FAIL,
         "backup *F (full) is dated *Z, 5m01s in the future; the clock or the backup is wrong"},
	{"healthy", "{}", -300, GATE_PASS, "backup *F (full): stopped *, -5m00s old, *"},
	{"healthy", "{\"types\":[\"diff\"]}", 60, GATE_FAIL,
         "stanza demo: no diff backup (1 backup of other types)"},
	{"healthy", "{\"stanza\":\"other\"}", 60, GATE_ERROR,
         "pgbackrest info: stanza other not in its output"},
	{"checksum", "{}", 60, GATE_FAIL,
         "backup *F: pgbackrest verify: status invalid: 1 file * pg_data/*"},
	{"checksum", "{\"verify\":false}", 60, GATE_PASS, "backup *F (full): *, WAL * present*"},
	{"file-missing", "{}", 60, GATE_FAIL,
         "backup *F: pgbackrest verify: status invalid: 1 file missing: pg_data/*"},
	{"wal-missing", "{}", 60, GATE_FAIL, "backup *F: * missing from the repository*"},
	{"wal-missing", "{\"require_wal\":false,\"verify\":false}", 60, GATE_PASS,
         "backup *F (full): *"},
	{"wal-corrupt", "{}", 60, GATE_FAIL,
         "stanza demo: pgbackrest verify: status error: WAL *: * (backup *F itself valid)"},
	{"wal-corrupt", "{\"verify\":false}", 60, GATE_PASS, "backup *F (full): *"},
	{"missing-stanza", "{\"stanza\":\"nope\"}", 0, GATE_FAIL,
         "stanza nope: missing stanza path (status 1)"},
	{"no-backups", "{\"stanza\":\"empty\"}", 0, GATE_FAIL,
         "stanza empty: no valid backups (status 2)"},
	{"incr", "{}", 60, GATE_PASS, "backup *I (incr): stopped *, 1m00s old, *"},
	/* the full is older than the incremental by at least the time the
	 * recording took between them */
	{"incr", "{\"types\":[\"full\"],\"max_age\":60000}", 60, GATE_FAIL,
         "backup *F (full) is * old (max_age 1m; stopped *)"},
	{"incr", "{\"types\":[\"diff\"]}", 60, GATE_FAIL,
         "stanza demo: no diff backup (2 backups of other types)"},
	{"page-error", "{}", 60, GATE_FAIL,
         "backup *F: pgBackRest recorded errors during the backup (error: true, e.g. "
         "invalid page checksums)*"},
	{"page-error", "{\"repo\":2}", 60, GATE_FAIL, "stanza demo: no backup"},
};

static void test_pgbackrest(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pgbr_rows) / sizeof(pgbr_rows[0]); i++) {
		char name[256], row[300];
		snprintf(name, sizeof(name), "pgbackrest/%s", pgbr_rows[i].rec);
		snprintf(row, sizeof(row), "%s %s %+lld", pgbr_rows[i].rec, pgbr_rows[i].params,
		         (long long)pgbr_rows[i].after_stop);
		struct rec r;
		rec_load(&r, name);
		answering = &r;
		json_t *params = json_loads(pgbr_rows[i].params, 0, NULL);
		assert_non_null(params);
		if (!json_object_get(params, "stanza"))
			json_object_set_new(params, "stanza", json_string("demo"));
		struct gate_run_env env = {.abi_version = GATE_ABI_VERSION, .timeout_ms = 10000};
		struct gate_result res = {.status = GATE_ERROR, .details = json_object()};
		struct bk_pgbr_facts f = {0};
		bk_pgbr_fetch(params, &env, answer, &f);
		bk_pgbr_judge(&f, params, newest_stop(r.part[0]) + pgbr_rows[i].after_stop, &res);
		expect(&res, pgbr_rows[i].want, pgbr_rows[i].summary, row);
		char *s = json_dumps(res.details, 0);
		assert_non_null(s);
		free(s);
		bk_pgbr_facts_release(&f);
		json_decref(res.details);
		json_decref(params);
		free(r.text);
	}
}

/* The verify report alone: what it names in details. */
static void test_pgbackrest_verify_details(void **state)
{
	(void)state;
	struct rec r;
	rec_load(&r, "pgbackrest-verify/checksum");
	json_t *d = json_object(), *vd = json_object();
	struct bk_verdict v;
	bk_verdict_init(&v, d);
	bk_pgbr_judge_verify("demo", r.part[0], r.part[1], r.part[2], &v, vd);
	assert_int_equal(v.n, 1);
	assert_string_equal(json_string_value(json_object_get(vd, "stanza_status")), "error");
	assert_string_equal(json_string_value(json_object_get(vd, "backup_status")), "invalid");
	const char *file = json_string_value(
		json_object_get(json_array_get(json_object_get(vd, "invalid_files"), 0), "file"));
	assert_non_null(file);
	assert_int_equal(strncmp(file, "pg_data/", 8), 0);
	json_decref(vd);
	json_decref(d);
	free(r.text);
	rec_load(&r, "pgbackrest-verify/healthy");
	d = json_object(), vd = json_object();
	bk_verdict_init(&v, d);
	bk_pgbr_judge_verify("demo", r.part[0], r.part[1], r.part[2], &v, vd);
	assert_int_equal(v.n, 0);
	/* another stanza's report says nothing of this one */
	bk_pgbr_judge_verify("nope", r.part[0], r.part[1], r.part[2], &v, vd);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.first, "pgbackrest verify printed no result for stanza nope");
	json_decref(vd);
	json_decref(d);
	free(r.text);
}

/* ---- backup.basebackup ---- */

static const struct {
	const char *rec; /* verifybackup/ */
	const char *params;
	int64_t after_start; /* now - START TIME, s */
	int manifest_tmp;
	enum gate_status want;
	const char *summary;
} bb_rows[] = {
	{"ok", "{}", 60, 0, GATE_PASS,
         "/b/base1: started *Z, 1m00s old, 40.0 MiB, pg_verifybackup: backup successfully "
         "verified"},
	{"ok", "{}", 5, 0, GATE_PASS, "/b/base1: started *, 5.0s old, *"},
	{"ok", "{}", 86401, 0, GATE_FAIL, "/b/base1 is 1d00h old (max_age 1d; started *Z)"},
	{"ok", "{\"max_age\":1000}", 2, 0, GATE_FAIL,
         "/b/base1 is 2.0s old (max_age 1s; started *)"},
	{"ok", "{}", -400, 0, GATE_FAIL,
         "/b/base1 is dated *Z, 6m40s in the future; the clock or the backup is wrong"},
	{"ok", "{}", -120, 0, GATE_PASS, "/b/base1: started *, -2m00s old, *"},
	{"ok", "{}", 60, 1, GATE_FAIL,
         "no complete backup under /b/base* (1 skipped; last: /b/base1: interrupted "
         "(backup_manifest.tmp))"},
	{"checksum", "{}", 60, 0, GATE_FAIL,
         "base1: pg_verifybackup: checksum mismatch for file \"base/5/*\""},
	{"checksum", "{\"verify\":false}", 60, 0, GATE_PASS,
         "/b/base1: started *, 1m00s old, 40.0 MiB"},
	{"checksum", "{}", 86401, 0, GATE_FAIL, "/b/base1 is 1d00h old * (+1 more problem)"},
	{"missing-extra", "{}", 60, 0, GATE_FAIL, "base1: pg_verifybackup found 2 problems: *"},
	{"wal-missing", "{}", 60, 0, GATE_FAIL, "base1: pg_verifybackup*WAL*"},
	{"no-manifest", "{}", 60, 0, GATE_FAIL, "base1: pg_verifybackup*backup_manifest*"},
};

static void test_basebackup(void **state)
{
	(void)state;
	struct rec label;
	rec_load(&label, "backup_label/base1");
	char st[64];
	time_t start;
	assert_true(bk_label_value(label.text, "START TIME", st, sizeof(st)));
	assert_int_equal(bk_parse_start_time(st, &start), 0);
	for (size_t i = 0; i < sizeof(bb_rows) / sizeof(bb_rows[0]); i++) {
		char name[256], row[300];
		snprintf(name, sizeof(name), "verifybackup/%s", bb_rows[i].rec);
		snprintf(row, sizeof(row), "%s %s %+lld", bb_rows[i].rec, bb_rows[i].params,
		         (long long)bb_rows[i].after_start);
		struct rec r;
		rec_load(&r, name);
		char *argv[] = {"pg_verifybackup", "--", "/b/base1", NULL};
		struct bk_bb_dir dir = {.path = "/b/base1",
		                        .manifest_tmp = bb_rows[i].manifest_tmp,
		                        .manifest = 1,
		                        .label_file = 1,
		                        .label = label.text};
		json_t *params = json_loads(bb_rows[i].params, 0, NULL);
		int verify = gate_param_bool(params, "verify", 1);
		struct bk_bb_facts f = {
			.pattern = "/b/base*",
			.ndirs = 1,
			.dirs = &dir,
			.manifest_mtime = (int64_t)start + 10,
			.size = 40u << 20,
			.verify = verify,
			.verify_argv = verify ? argv : NULL,
			.verify_pr = {.started = 1,
		                      .exited = 1,
		                      .exit_code = atoi(r.part[0]),
		                      .out = r.part[1],
		                      .err = r.part[2]},
		};
		struct gate_result res = {.status = GATE_ERROR, .details = json_object()};
		bk_bb_judge(&f, params, (int64_t)start + bb_rows[i].after_start, &res);
		expect(&res, bb_rows[i].want, bb_rows[i].summary, row);
		json_decref(res.details);
		json_decref(params);
		free(r.text);
	}
	/* two backups: the newer START TIME is judged, whatever the glob order */
	char *later = strdup(label.text);
	char *p = strstr(later, "START TIME: ");
	assert_non_null(p);
	memcpy(p + 12, "2099", 4);
	struct bk_bb_dir dirs[] = {
		{.path = "/b/base2", .manifest = 1, .label_file = 1, .label = later},
		{.path = "/b/base1", .manifest = 1, .label_file = 1, .label = label.text},
		{.path = "/b/base3", .manifest = 1, .label_file = 1, .label = "LABEL: x\n"},
	};
	struct bk_bb_facts f = {.pattern = "/b/base*", .ndirs = 3, .dirs = dirs};
	assert_int_equal(bk_bb_pick(&f), 0);
	json_t *params = json_pack("{s:b}", "verify", 0);
	struct gate_result res = {.status = GATE_ERROR, .details = json_object()};
	bk_bb_judge(&f, params, (int64_t)start, &res);
	expect(&res, GATE_ERROR, "/b/base3: backup_label has no START TIME (+1 more problem)",
	       "two");
	json_decref(res.details);
	json_decref(params);
	free(later);
	free(label.text);
}

/* ---- backup.file ---- */

static const struct {
	const char *sidecar, *restore; /* file/ recordings; NULL: none */
	const char *params;
	int64_t after_mtime;
	enum gate_status want;
	const char *summary;
} file_rows[] = {
	{"sidecar-text", "restore-ok", "{\"restore_test\":[\"pg_restore\",\"--list\",\"{path}\"]}",
         60, GATE_PASS,
         "/d/db.dump: * KiB, 1m00s old, sha256 matches, restore test pg_restore passed"},
	{"sidecar-binary", NULL, "{}", 60, GATE_PASS, "/d/db.dump: *, sha256 matches"},
	{"sidecar-tag", NULL, "{}", 60, GATE_PASS, "/d/db.dump: *, sha256 matches"},
	{"sidecar-text", NULL, "{\"checksum\":\"none\"}", 60, GATE_PASS,
         "/d/db.dump: * KiB, 1m00s old"},
	{"sidecar-text", NULL, "{}", 90000, GATE_FAIL,
         "db.dump is 1d01h old (max_age 1d; modified *Z)"},
	{"sidecar-text", NULL, "{\"max_age\":3600000}", 7300, GATE_FAIL,
         "db.dump is 2h01m old (max_age 1h; modified *)"},
	{"sidecar-text", NULL, "{}", -86400 * 2, GATE_FAIL,
         "db.dump is dated *Z, 2d00h in the future; the clock or the backup is wrong"},
	{"sidecar-text", NULL, "{\"min_size\":1073741824}", 60, GATE_FAIL,
         "db.dump is * KiB, below min_size 1.00 GiB"},
	{"sidecar-flipped", NULL, "{}", 60, GATE_FAIL,
         "db.dump: sha256 mismatch: sidecar says *..., file is *..."},
	{"sidecar-other", NULL, "{}", 60, GATE_FAIL,
         "db.dump.sha256 has no checksum for db.dump (it names other.dump)"},
	{"restore-ok", NULL, "{}", 60, GATE_FAIL, "db.dump.sha256 is not in sha256sum format"},
	{"sidecar-text", "restore-truncated",
         "{\"restore_test\":[\"pg_restore\",\"--list\",\"{path}\"]}", 60, GATE_FAIL,
         "db.dump: restore test pg_restore exited 1: pg_restore: error: *"},
	{"sidecar-text", "restore-cut-data",
         "{\"restore_test\":[\"pg_restore\",\"-f\",\"/dev/null\",\"{path}\"]}", 60, GATE_FAIL,
         "db.dump: restore test pg_restore exited 1: pg_restore: error: could not read from input "
         "file: end of file"},
};

static void test_file(void **state)
{
	(void)state;
	struct rec stat_rec, actual;
	rec_load(&stat_rec, "file/dump.stat");
	rec_load(&actual, "file/sidecar-text");
	unsigned long long size = 0;
	long long mtime = 0;
	assert_int_equal(sscanf(stat_rec.text, "%llu %lld", &size, &mtime), 2);
	for (size_t i = 0; i < sizeof(file_rows) / sizeof(file_rows[0]); i++) {
		char name[256], row[300];
		snprintf(row, sizeof(row), "%s %s %s %+lld", file_rows[i].sidecar,
		         file_rows[i].restore ? file_rows[i].restore : "-", file_rows[i].params,
		         (long long)file_rows[i].after_mtime);
		struct rec sc, rt = {0};
		snprintf(name, sizeof(name), "file/%s", file_rows[i].sidecar);
		rec_load(&sc, name);
		if (file_rows[i].restore) {
			snprintf(name, sizeof(name), "file/%s", file_rows[i].restore);
			rec_load(&rt, name);
		}
		char *argv[] = {"pg_restore", "/d/db.dump", NULL};
		struct bk_file_facts f = {
			.pattern = "/d/*.dump",
			.nmatch = 1,
			.nregular = 1,
			.path = "/d/db.dump",
			.size = size,
			.mtime = mtime,
			.sidecar = 1,
			.sidecar_text = sc.text,
			.hashed = 1,
			.hashed_bytes = size,
			.sha256_impl = "test",
			.restore_argv = file_rows[i].restore ? argv : NULL,
			.restore = {.started = 1,
		                    .exited = 1,
		                    .exit_code = file_rows[i].restore ? atoi(rt.part[0]) : 0,
		                    .out = file_rows[i].restore ? rt.part[1] : "",
		                    .err = file_rows[i].restore ? rt.part[2] : ""},
		};
		memcpy(f.sha256, actual.text, 64);
		json_t *params = json_loads(file_rows[i].params, 0, NULL);
		struct gate_result res = {.status = GATE_ERROR, .details = json_object()};
		bk_file_judge(&f, params, mtime + file_rows[i].after_mtime, &res);
		expect(&res, file_rows[i].want, file_rows[i].summary, row);
		json_decref(res.details);
		json_decref(params);
		free(sc.text);
		free(rt.text);
	}
	free(stat_rec.text);
	free(actual.text);
}

/* A sidecar that cannot be read, a hash that ran out of time, a file
 * that is empty: facts no tool answer holds. */
static void test_file_edges(void **state)
{
	(void)state;
	static const struct {
		int sidecar, err, hashed, timed_out;
		uint64_t size;
		enum gate_status want;
		const char *summary;
	} rows[] = {
		{-1, 2, 0, 0, 4096, GATE_FAIL, "db.dump: no checksum sidecar db.dump.sha256"},
		{-1, 13, 0, 0, 4096, GATE_ERROR,
	         "cannot read /d/db.dump.sha256: Permission denied"},
		{1, 0, -1, 1, 3u << 30, GATE_ERROR,
	         "db.dump: checksum timed out after 1.00 GiB of 3.00 GiB"},
		{1, 0, -1, 0, 4096, GATE_ERROR, "cannot read /d/db.dump: Input/output error"},
		{0, 0, 0, 0, 0, GATE_FAIL, "db.dump is empty (0 bytes)"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct bk_file_facts f = {
			.pattern = "/d/*.dump",
			.nmatch = 1,
			.nregular = 1,
			.path = "/d/db.dump",
			.size = rows[i].size,
			.mtime = 1795574574,
			.sidecar = rows[i].sidecar,
			.sidecar_errno = rows[i].err,
			.sidecar_text = "0000000000000000000000000000000000000000000000000000000000"
					"000000  db.dump\n",
			.hashed = rows[i].hashed,
			.hashed_bytes = 1u << 30,
			.hash_timed_out = rows[i].timed_out,
			.hash_error = "cannot read /d/db.dump: Input/output error",
		};
		json_t *params = json_object();
		struct gate_result res = {.status = GATE_ERROR, .details = json_object()};
		bk_file_judge(&f, params, 1795574574 + 60, &res);
		expect(&res, rows[i].want, rows[i].summary, rows[i].summary);
		json_decref(res.details);
		json_decref(params);
	}
}

/* ---- SHA-256 through OpenSSL ---- */

static void test_sha256_file(void **state)
{
	(void)state;
	char path[] = "/tmp/gate-test-sha256.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static const struct {
		const char *msg;
		const char *hex;
	} rows[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	char hex[65], msg[256];
	uint64_t hashed;
	int timed_out;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(pwrite(fd, rows[i].msg, strlen(rows[i].msg), 0),
		                 (ssize_t)strlen(rows[i].msg));
		assert_int_equal(
			bk_sha256_file(path, INT64_MAX, hex, &hashed, &timed_out, msg, sizeof(msg)),
			0);
		assert_string_equal(hex, rows[i].hex);
		assert_int_equal(hashed, strlen(rows[i].msg));
	}
	/* a million 'a' (FIPS 180-2, B.3): more than one 1 MiB read */
	char *a = malloc(1000000);
	assert_non_null(a);
	memset(a, 'a', 1000000);
	assert_int_equal(pwrite(fd, a, 1000000, 0), 1000000);
	assert_int_equal(pwrite(fd, a, 1000000, 1000000), 1000000);
	assert_int_equal(ftruncate(fd, 1000000), 0);
	free(a);
	assert_int_equal(
		bk_sha256_file(path, INT64_MAX, hex, &hashed, &timed_out, msg, sizeof(msg)), 0);
	assert_string_equal(hex,
	                    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* past its deadline it stops at the first clock read (64 MiB) */
	assert_int_equal(ftruncate(fd, 80u << 20), 0);
	assert_int_equal(bk_sha256_file(path, 0, hex, &hashed, &timed_out, msg, sizeof(msg)), -1);
	assert_int_equal(timed_out, 1);
	assert_int_equal(hashed, 64u << 20);
	close(fd);
	unlink(path);
	assert_int_equal(
		bk_sha256_file(path, INT64_MAX, hex, &hashed, &timed_out, msg, sizeof(msg)), -1);
	assert_int_equal(timed_out, 0);
	assert_non_null(strstr(msg, "cannot open"));
	assert_non_null(strstr(bk_sha256_impl(), "OpenSSL"));
}

/* Text that is not UTF-8 stays visible in details, as valid JSON. */
static void test_jstr(void **state)
{
	(void)state;
	json_t *j = bk_jstr("caf\xe9 \xff ok\nnext");
	assert_non_null(j);
	assert_string_equal(json_string_value(j), "caf\\xe9 \\xff ok\nnext");
	json_decref(j);
	j = bk_jstr("caf\xc3\xa9");
	assert_string_equal(json_string_value(j), "caf\xc3\xa9");
	json_decref(j);
	j = bk_jstr(NULL);
	assert_string_equal(json_string_value(j), "");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pgbackrest), cmocka_unit_test(test_pgbackrest_verify_details),
		cmocka_unit_test(test_basebackup), cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_edges), cmocka_unit_test(test_sha256_file),
		cmocka_unit_test(test_jstr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
