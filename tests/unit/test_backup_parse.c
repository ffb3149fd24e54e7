/* SPDX-License-Identifier: MIT */
/* The backup checks' parsers, table-driven: backup_label START TIME with
 * its zones, sha256sum sidecars, pgBackRest's system-id (beyond 2^53 and
 * 2^63), and the WAL segment arithmetic of require_wal, including the
 * wrap from ...000000FF to the next log file with 16 MiB segments, which
 * no scenario test can reach (it takes 4 GiB of WAL). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "backup.h"

static void test_start_time(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		long long want; /* -1: refused */
	} rows[] = {
		{"2026-11-25 02:42:54 UTC", 1795574574},
		{"2026-11-25 02:42:54 GMT", 1795574574},
		{"2026-11-25 04:42:54 +02", 1795574574},
		{"2026-11-24 21:12:54 -0530", 1795574574},
		{"2026-11-25 08:12:54 +05:30", 1795574574},
		{"2026-11-25 02:42:54", -1},      /* no zone */
		{"2026-11-25 02:42:54 XYZT", -1}, /* a zone we cannot place */
		{"2026-13-25 02:42:54 UTC", -1},  /* month 13 */
		{"yesterday", -1},
		/* out of range: the year and month once overflowed an int (found
		 * by fuzz/fuzz_backup_label.c) */
		{"-2147483648-01-01 00:00:00 UTC", -1},
		{"2026--2147483648-01 00:00:00 UTC", -1},
		{"2147483647-12-31 23:59:59 UTC", -1},
		{"1969-12-31 23:59:59 UTC", -1},
		{"10000-01-01 00:00:00 UTC", -1},
		{"2026-11-25 24:00:00 UTC", -1},
		{"2026-11-25 02:60:00 UTC", -1},
		{"2026-11-25 02:42:61 UTC", -1},
		{"2026-11-25 -1:42:54 UTC", -1},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		time_t t = 0;
		int r = bk_parse_start_time(rows[i].text, &t);
		if (rows[i].want < 0) {
			assert_int_equal(r, -1);
		} else {
			assert_int_equal(r, 0);
			assert_int_equal((long long)t, rows[i].want);
		}
	}
}

#define H1 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define H2 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"

static void test_sidecar(void **state)
{
	(void)state;
	static const struct {
		const char *text, *name;
		int want;
		const char *hex; /* when found */
	} rows[] = {
		{H1 "  db.dump\n", "db.dump", 1, H1},
		{H1 " *db.dump\n", "db.dump", 1, H1},              /* binary mode */
		{H1 "  /backups/x/db.dump\n", "db.dump", 1, H1},   /* path given */
		{"SHA256 (db.dump) = " H1 "\n", "db.dump", 1, H1}, /* --tag */
		{H2 "  other.dump\n" H1 "  db.dump\n", "db.dump", 1, H1},
		{"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD  db.dump\r\n",
	         "db.dump", 1, H1}, /* upper, CRLF */
		{H2 "  other.dump\n", "db.dump", 0, NULL},
		{"garbage\n", "db.dump", -1, NULL},
		{"", "db.dump", -1, NULL},
		{"ba7816bf  db.dump\n", "db.dump", -1, NULL}, /* short digest */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char hex[65] = "", other[256];
		int r = bk_sidecar_lookup(rows[i].text, rows[i].name, hex, other, sizeof(other));
		assert_int_equal(r, rows[i].want);
		if (r == 1)
			assert_string_equal(hex, rows[i].hex);
		if (r == 0)
			assert_string_equal(other, "other.dump");
	}
}

static void test_system_id(void **state)
{
	(void)state;
	const char *in =
		"[{\"db\":[{\"id\":1,\"system-id\":7711934011378650304,\"version\":\"15\"},"
		"{\"id\":2,\"system-id\": 18446744073709551615}],\"name\":\"demo\"}]";
	char *out = bk_quote_system_ids(in);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	assert_non_null(j);
	json_t *db = json_object_get(json_array_get(j, 0), "db");
	assert_string_equal(json_string_value(json_object_get(json_array_get(db, 0), "system-id")),
	                    "7711934011378650304");
	assert_string_equal(json_string_value(json_object_get(json_array_get(db, 1), "system-id")),
	                    "18446744073709551615");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(db, 0), "id")), 1);
	json_decref(j);
	free(out);
}

/* Enumerate the names from start to stop the way require_wal does. */
static size_t segment_names(const char *start, const char *stop, const char *lsn_start,
                            const char *lsn_stop, char names[][25], size_t max, uint64_t *seg_size)
{
	uint32_t stli, slog, sseg, etli, elog, eseg;
	uint64_t ls, le;
	assert_int_equal(bk_parse_segment(start, &stli, &slog, &sseg), 0);
	assert_int_equal(bk_parse_segment(stop, &etli, &elog, &eseg), 0);
	assert_int_equal(bk_parse_lsn(lsn_start, &ls), 0);
	assert_int_equal(bk_parse_lsn(lsn_stop, &le), 0);
	*seg_size = bk_wal_seg_size(ls, le, slog, sseg, elog, eseg);
	assert_true(*seg_size != 0);
	uint64_t per_log = 0x100000000ull / *seg_size;
	size_t n = 0;
	for (uint64_t s = slog * per_log + sseg; s <= elog * per_log + eseg && n < max; s++)
		bk_wal_segment_name(stli, s, *seg_size, names[n++]);
	return n;
}

static void test_wal_range(void **state)
{
	(void)state;
	char names[8][25];
	uint64_t size;
	/* 16 MiB segments: ...FE, ...FF, then the next log file. */
	size_t n = segment_names("0000000100000000000000FE", "000000010000000100000001",
	                         "0/FE000028", "1/1000100", names, 8, &size);
	assert_int_equal(size, 16u << 20);
	assert_int_equal(n, 4);
	assert_string_equal(names[0], "0000000100000000000000FE");
	assert_string_equal(names[1], "0000000100000000000000FF");
	assert_string_equal(names[2], "000000010000000100000000");
	assert_string_equal(names[3], "000000010000000100000001");
	/* 1 GiB segments (initdb --wal-segsize=1024): four per log file. */
	n = segment_names("000000020000000300000003", "000000020000000400000000", "3/C0000028",
	                  "4/100", names, 8, &size);
	assert_int_equal(size, 1u << 30);
	assert_int_equal(n, 2);
	assert_string_equal(names[1], "000000020000000400000000");
	/* 1 MiB segments: low part up to 0xFFF. */
	n = segment_names("000000010000000000000FFF", "000000010000000100000000", "0/FFF00028",
	                  "1/80", names, 8, &size);
	assert_int_equal(size, 1u << 20);
	assert_int_equal(n, 2);
	/* A backup that stops exactly on a boundary stays in the previous one. */
	n = segment_names("000000010000000000000008", "000000010000000000000009", "0/8000028",
	                  "0/A000000", names, 8, &size);
	assert_int_equal(size, 16u << 20);
	assert_int_equal(n, 2);
	/* The fixture's own numbers (a real pg_basebackup). */
	n = segment_names("000000010000000000000008", "000000010000000000000009", "0/8000028",
	                  "0/9000050", names, 8, &size);
	assert_int_equal(size, 16u << 20);
	assert_int_equal(n, 2);
	/* Malformed names are refused. */
	uint32_t a, b, c;
	uint64_t l;
	assert_int_equal(bk_parse_segment("00000001000000000000000", &a, &b, &c), -1);
	assert_int_equal(bk_parse_segment("0000000100000000000000zz", &a, &b, &c), -1);
	assert_int_equal(bk_parse_lsn("nope", &l), -1);
	/* Inconsistent ends: no size fits. */
	assert_int_equal(bk_wal_seg_size(0x8000028, 0x9000050, 0, 3, 0, 9), 0);
}

/* The date of the newest backup, with an injected clock: more than
 * BK_CLOCK_SKEW_S ahead fails (it passed as "-26331d old"), up to it
 * counts as now; ages at the 64-bit edges neither wrap nor overflow. */
static void test_judge_date(void **state)
{
	(void)state;
	const int64_t now = 1795574574;
	static const struct {
		int64_t t_minus_now; /* the backup's date - now, in s */
		int64_t max_age_ms;
		const char *first; /* NULL: no problem */
	} rows[] = {
		{0, 86400000, NULL},
		{BK_CLOCK_SKEW_S, 86400000, NULL}, /* the allowance */
		{BK_CLOCK_SKEW_S + 1, 86400000,
	         "b is dated 2026-11-25T02:47:55Z, 5m01s in the future; "
	         "the clock or the backup is wrong"},
		{4070908800 - 1795574574, 365 * 86400000LL,
	         "b is dated 2099-01-01T00:00:00Z, 26334d21h in the future; the clock or the "
	         "backup is wrong"},
		{-86400, 86400000, NULL}, /* exactly max_age */
		{-86401, 86400000, "b is 1d00h old (max_age 1d; stopped 2026-11-24T02:42:53Z)"},
		{-1, 1999, NULL}, /* 1 s <= 1.999 s */
		{-2, 1999, "b is 2.0s old (max_age 1.999s; stopped 2026-11-25T02:42:52Z)"},
		{-1, -5, "b is 1.0s old (max_age 0ms; stopped 2026-11-25T02:42:53Z)"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *d = json_object();
		struct bk_verdict v;
		bk_verdict_init(&v, d);
		bk_judge_date(&v, "b", "stopped", now + rows[i].t_minus_now, now,
		              rows[i].max_age_ms);
		if (!rows[i].first) {
			assert_int_equal(v.n, 0);
		} else {
			assert_int_equal(v.n, 1);
			assert_int_equal(v.status, GATE_FAIL);
			assert_string_equal(v.first, rows[i].first);
		}
		json_decref(d);
	}
	/* 64-bit edges (a tool's answer or an mtime can say anything) */
	assert_true(bk_age_s(now, INT64_MIN) == INT64_MAX);
	assert_true(bk_age_s(now, INT64_MAX) == now - INT64_MAX);
	assert_true(bk_age_s(INT64_MIN, INT64_MAX) == INT64_MIN + 1);
	assert_true(bk_age_s(0, INT64_MIN) == INT64_MAX);
	assert_true(bk_age_s(-1, INT64_MAX) == INT64_MIN + 1); /* negatable */
	for (int k = 0; k < 2; k++) {
		json_t *d = json_object();
		struct bk_verdict v;
		bk_verdict_init(&v, d);
		bk_judge_date(&v, "b", "stopped", k ? INT64_MAX : INT64_MIN, now, 86400000);
		assert_int_equal(v.n, 1);
		assert_non_null(strstr(v.first, k ? "in the future" : " old (max_age 1d;"));
		json_decref(d);
	}
}

/* pgbackrest.backup with `info` answered from memory (no pgbackrest run):
 * the stop time is whatever the JSON says, and an absurd one must be an
 * error, never arithmetic that overflows (found by fuzz_pgbackrest_info). */
static const char *info_answer;

static int answer_info(char *const *argv, const struct gate_run_env *env, size_t max_out,
                       struct proc_result *pr)
{
	(void)argv;
	(void)env;
	(void)max_out;
	memset(pr, 0, sizeof(*pr));
	pr->started = pr->exited = 1;
	pr->out = strdup(info_answer);
	pr->err = strdup("");
	return 0;
}

static void test_pgbackrest_times(void **state)
{
	(void)state;
	char now_stop[32];
	snprintf(now_stop, sizeof(now_stop), "%lld", (long long)time(NULL) - 60);
#define INFO_FMT                                                                           \
	"[{\"name\":\"demo\",\"status\":{\"code\":0,\"message\":\"ok\"},"                  \
	"\"backup\":[{\"label\":\"20261128-165523F\",\"type\":\"full\",\"error\":false,"   \
	"\"timestamp\":{\"start\":%s,\"stop\":%s},\"database\":{\"id\":1,\"repo-key\":1}," \
	"\"info\":{\"size\":100,\"repository\":{\"size\":10}}}]}]"
	const struct {
		const char *start, *stop;
		enum gate_status want;
	} rows[] = {
		{"1795885197", now_stop, GATE_PASS}, /* the control: a minute old */
		{"1795885197", "9223372036854775807", GATE_ERROR},
		{"1795885197", "-9223372036854775808", GATE_ERROR},
		{"1795885197", "253402300800", GATE_ERROR}, /* year 10000 */
		{"9223372036854775807", now_stop, GATE_PASS},
		{"-9223372036854775808", now_stop, GATE_PASS},
	};
	json_t *params = json_pack("{s:s,s:b,s:b}", "stanza", "demo", "verify", 0, "require_wal",
	                           0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text), INFO_FMT, rows[i].start, rows[i].stop);
		info_answer = text;
		struct gate_run_env env = {.abi_version = GATE_ABI_VERSION, .timeout_ms = 10000};
		struct gate_result res = {.status = GATE_ERROR, .details = json_object()};
		bk_pgbackrest_run_with(params, &env, &res, answer_info);
		print_message("start %s stop %s: %d %s\n", rows[i].start, rows[i].stop, res.status,
		              res.summary);
		assert_int_equal(res.status, rows[i].want);
		if (rows[i].want == GATE_ERROR)
			assert_non_null(strstr(res.summary, "timestamp.stop"));
		json_decref(res.details);
	}
	json_decref(params);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_time), cmocka_unit_test(test_sidecar),
		cmocka_unit_test(test_system_id),  cmocka_unit_test(test_wal_range),
		cmocka_unit_test(test_judge_date), cmocka_unit_test(test_pgbackrest_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
