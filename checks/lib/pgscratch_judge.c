/* SPDX-License-Identifier: MIT */
/* The pure parts of the scratch server (pgscratch.h): the free-space
 * arithmetic, the reason a server gave in its log, and the probes'
 * shape, values and expectations.  No I/O, no clock: table-tested
 * (tests/unit/test_pgscratch.c, with server logs recorded from real runs
 * under tests/data/recorded/rehearse/) and fuzzed (fuzz/fuzz_pgscratch.c). */
#include "pgscratch.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/strbuf.h"
#include "kit/text.h"
#include "kit/timefmt.h"

/* ---- space ---- */

#define MIN_MARGIN (64ull << 20)

uint64_t pgscratch_margin(uint64_t need)
{
	uint64_t m = need / 10;
	return m < MIN_MARGIN ? MIN_MARGIN : m;
}

int pgscratch_space_check(const char *dir, uint64_t avail, uint64_t need, char *msg, size_t msglen)
{
	uint64_t margin = pgscratch_margin(need), total;
	if (!__builtin_add_overflow(need, margin, &total) && avail >= total)
		return 0;
	char a[32], n[32], m[32];
	fmt_size_iec(avail, a, sizeof(a));
	fmt_size_iec(need, n, sizeof(n));
	fmt_size_iec(margin, m, sizeof(m));
	snprintf(msg, msglen, "scratch filesystem %s has %s free; the restore needs %s plus %s",
	         dir, a, n, m);
	return -1;
}

/* ---- the server's log ---- */

/* A FATAL that is only a connection refused while the server starts or
 * stops (the pings that wait for it cause them). */
static int refused_connection(const char *m, size_t n)
{
	static const char *const refusals[] = {
		"the database system is starting up",
		"the database system is shutting down",
		"the database system is not yet accepting connections",
		"the database system is not accepting connections",
		"the database system is in recovery mode",
		"Consistent recovery state has not been yet reached.",
	};
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (memmem(m, n, refusals[i], strlen(refusals[i])))
			return 1;
	return 0;
}

/* The log shows a recovery (from a backup, or after a crash). */
static int recovered(const char *log)
{
	static const char *const marks[] = {
		"redo starts at",
		"starting archive recovery",
		"starting point-in-time recovery",
		"starting backup recovery",
		"database system was interrupted",
		"database system was not properly shut down",
		"entering standby mode",
		"restored log file",
	};
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (strstr(log, marks[i]))
			return 1;
	return 0;
}

/* Append the n bytes at s to sb on one line, made safe, runs of spaces
 * after the severity's colon squeezed ("FATAL:  x" -> "FATAL: x"). */
static void add_line(struct strbuf *sb, const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\r'))
		n--;
	const char *colon = memchr(s, ':', n);
	if (colon && colon + 1 < s + n && colon[1] == ' ') {
		size_t head = (size_t)(colon - s) + 1;
		text_safe_addn(sb, s, head, TEXT_ONE_LINE);
		strbuf_adds(sb, " ");
		s += head, n -= head;
		while (n && *s == ' ')
			s++, n--;
	}
	text_safe_addn(sb, s, n, TEXT_ONE_LINE);
}

/* The severity's position in the line at l (length n): "FATAL:" or
 * "PANIC:"; NULL when none. */
static const char *severity(const char *l, size_t n)
{
	const char *f = memmem(l, n, "FATAL:  ", 8);
	const char *p = memmem(l, n, "PANIC:  ", 8);
	if (!f || (p && p < f))
		f = p;
	return f;
}

void pgscratch_log_reason(const char *log, char *msg, size_t msglen)
{
	if (!log)
		log = "";
	const char *hit = NULL, *last = NULL;
	size_t hitn = 0, lastn = 0;
	for (const char *l = log; *l;) {
		size_t n = strcspn(l, "\n");
		const char *sev = severity(l, n);
		if (sev && !hit && !refused_connection(sev, n - (size_t)(sev - l))) {
			hit = sev;
			hitn = n - (size_t)(sev - l);
		}
		if (n && strspn(l, " \t\r") < n)
			last = l, lastn = n;
		l += n + (l[n] == '\n');
	}
	struct strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, recovered(log) ? "did not reach a consistent state: " : "did not start: ");
	if (hit)
		add_line(&sb, hit, hitn);
	else if (last)
		add_line(&sb, last, lastn);
	else
		strbuf_adds(&sb, "it exited and its log says nothing");
	snprintf(msg, msglen, "%s", sb.buf);
	strbuf_release(&sb);
}

/* ---- probes ---- */

/* A number as a probe's value: the whole text, finite. */
static int parse_number(const char *s, double *d, long long *ll, int *is_int)
{
	if (!s || !*s || strlen(s) > 400)
		return -1;
	char *end;
	errno = 0;
	*ll = strtoll(s, &end, 10);
	if (!*end && errno == 0 && end != s) {
		*is_int = 1;
		*d = (double)*ll;
		return 0;
	}
	*is_int = 0;
	errno = 0;
	*d = strtod(s, &end);
	if (*end || end == s || !isfinite(*d))
		return -1;
	return 0;
}

enum {
	OID_BOOL = 16,
	OID_INT8 = 20,
	OID_INT2 = 21,
	OID_INT4 = 23,
	OID_JSON = 114,
	OID_FLOAT4 = 700,
	OID_FLOAT8 = 701,
	OID_NUMERIC = 1700,
	OID_JSONB = 3802
};

json_t *pgscratch_probe_value(const char *text, unsigned oid)
{
	if (!text)
		return json_null();
	double d;
	long long ll;
	int is_int;
	switch (oid) {
	case OID_BOOL:
		if (!strcmp(text, "t") || !strcmp(text, "f"))
			return json_boolean(text[0] == 't');
		break;
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
	case OID_NUMERIC:
	case OID_FLOAT4:
	case OID_FLOAT8:
		if (parse_number(text, &d, &ll, &is_int) == 0)
			return is_int ? json_integer(ll) : json_real(d);
		break;
	case OID_JSON:
	case OID_JSONB: {
		json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
		if (j)
			return j;
		break;
	}
	default:
		break;
	}
	json_t *s = json_string(text);
	if (!s) {
		char *safe = text_safe(text, 0);
		s = json_string(safe);
		free(safe);
	}
	return s;
}

/* A value for messages: 0, 12.5, true, NULL, 'text' (cut). */
static void show(const json_t *v, char *buf, size_t len)
{
	if (json_is_null(v)) {
		snprintf(buf, len, "NULL");
	} else if (json_is_string(v)) {
		struct strbuf sb = STRBUF_INIT;
		const char *s = json_string_value(v);
		text_safe_addn(&sb, s, text_cut(s, strlen(s), 60), TEXT_ONE_LINE);
		snprintf(buf, len, "'%s'%s", sb.buf ? sb.buf : "", strlen(s) > 60 ? "..." : "");
		strbuf_release(&sb);
	} else {
		char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		snprintf(buf, len, "%s", t ? t : "?");
		if (t && strlen(t) >= len && len > 4)
			memcpy(buf + len - 4, "...", 4);
		free(t);
	}
}

/* The value as a number: integer, real, or a string that is one. */
static int as_number(const json_t *v, double *d, long long *ll, int *is_int)
{
	if (json_is_integer(v)) {
		*ll = json_integer_value(v);
		*d = (double)*ll;
		*is_int = 1;
		return 0;
	}
	if (json_is_real(v)) {
		*d = json_real_value(v);
		*is_int = 0;
		return 0;
	}
	if (json_is_string(v))
		return parse_number(json_string_value(v), d, ll, is_int);
	return -1;
}

/* a < b: -1, a == b: 0, a > b: 1, exactly for two integers. */
static int cmp_num(const json_t *a, const json_t *b)
{
	double da, db;
	long long la, lb;
	int ia, ib;
	as_number(a, &da, &la, &ia);
	as_number(b, &db, &lb, &ib);
	if (ia && ib)
		return la < lb ? -1 : la > lb;
	return da < db ? -1 : da > db;
}

static int as_bool(const json_t *v)
{
	if (json_is_boolean(v))
		return json_is_true(v);
	const char *s = json_string_value(v);
	if (s && (!strcmp(s, "t") || !strcmp(s, "true")))
		return 1;
	if (s && (!strcmp(s, "f") || !strcmp(s, "false")))
		return 0;
	return -1;
}

static int judge_equals(const json_t *want, const json_t *v, char *why, size_t len)
{
	char got[96], exp[96];
	show(v, got, sizeof(got));
	show(want, exp, sizeof(exp));
	double d;
	long long ll;
	int ii, ok;
	if (json_is_null(want)) {
		ok = json_is_null(v);
	} else if (json_is_null(v)) {
		ok = 0;
	} else if (json_is_boolean(want)) {
		int b = as_bool(v);
		if (b < 0) {
			snprintf(why, len, "%s is not a boolean (equals %s)", got, exp);
			return 0;
		}
		ok = b == json_is_true(want);
	} else if (json_is_number(want)) {
		if (as_number(v, &d, &ll, &ii)) {
			snprintf(why, len, "%s is not a number (equals %s)", got, exp);
			return 0;
		}
		ok = cmp_num(v, want) == 0;
	} else if (json_is_string(want)) {
		const char *s = json_string_value(v);
		if (s)
			ok = !strcmp(s, json_string_value(want));
		else
			ok = 0;
	} else {
		ok = json_equal((json_t *)want, (json_t *)v);
	}
	if (!ok)
		snprintf(why, len, "%s is not %s", got, exp);
	return ok;
}

int pgscratch_probe_judge(const json_t *probe, const json_t *v, char *why, size_t len)
{
	if (!v) {
		snprintf(why, len, "returned no row");
		return 0;
	}
	const json_t *eq = json_object_get(probe, "equals");
	if (eq)
		return judge_equals(eq, v, why, len);
	const json_t *min = json_object_get(probe, "min"), *max = json_object_get(probe, "max");
	if (!min && !max)
		return 1;
	char got[96], lim[96];
	show(v, got, sizeof(got));
	double d;
	long long ll;
	int ii;
	if (as_number(v, &d, &ll, &ii)) {
		snprintf(why, len, "%s is not a number", got);
		return 0;
	}
	if (min && cmp_num(v, min) < 0) {
		show(min, lim, sizeof(lim));
		snprintf(why, len, "%s is below min %s", got, lim);
		return 0;
	}
	if (max && cmp_num(v, max) > 0) {
		show(max, lim, sizeof(lim));
		snprintf(why, len, "%s is above max %s", got, lim);
		return 0;
	}
	return 1;
}

json_t *pgscratch_probe_expect(const json_t *probe)
{
	json_t *e = json_object();
	static const char *const keys[] = {"min", "max", "equals"};
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(probe, keys[i]);
		if (v)
			json_object_set(e, keys[i], v);
	}
	if (json_object_size(e))
		return e;
	json_decref(e);
	return json_null();
}

void pgscratch_probe_label(const json_t *probe, size_t index, char *buf, size_t len)
{
	const char *name = json_string_value(json_object_get(probe, "name"));
	const char *sql = json_string_value(json_object_get(probe, "sql"));
	if (!sql)
		sql = "";
	struct strbuf sb = STRBUF_INIT;
	if (name) {
		strbuf_adds(&sb, "probe '");
		text_safe_addn(&sb, name, text_cut(name, strlen(name), 60), TEXT_ONE_LINE);
		strbuf_adds(&sb, "' (");
	} else {
		strbuf_addf(&sb, "probe %zu (", index + 1);
	}
	size_t n = strlen(sql);
	while (n && (sql[0] == ' ' || sql[0] == '\n' || sql[0] == '\t'))
		sql++, n--;
	size_t cut = text_cut(sql, n, 80);
	text_safe_addn(&sb, sql, cut, TEXT_ONE_LINE);
	strbuf_adds(&sb, cut < n ? "...)" : ")");
	snprintf(buf, len, "%s", sb.buf);
	strbuf_release(&sb);
}

/* One probe's shape: -1 with msg. */
static int validate_one(const json_t *p, size_t i, char *msg, size_t msglen)
{
	if (!json_is_object(p)) {
		snprintf(msg, msglen,
		         "probe %zu: must be a mapping with sql (and name, database, "
		         "min, max or equals)",
		         i + 1);
		return -1;
	}
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)p, key, v) {
		if (strcmp(key, "sql") && strcmp(key, "name") && strcmp(key, "database") &&
		    strcmp(key, "min") && strcmp(key, "max") && strcmp(key, "equals")) {
			snprintf(msg, msglen,
			         "probe %zu: unknown key '%.60s' (sql, name, database, min, max, "
			         "equals)",
			         i + 1, key);
			return -1;
		}
	}
	const json_t *sql = json_object_get(p, "sql");
	if (!json_is_string(sql) ||
	    strspn(json_string_value(sql), " \t\r\n") == json_string_length(sql)) {
		snprintf(msg, msglen, "probe %zu: sql must be a non-empty string", i + 1);
		return -1;
	}
	static const char *const strs[] = {"name", "database"};
	for (size_t k = 0; k < 2; k++) {
		v = json_object_get(p, strs[k]);
		if (v && (!json_is_string(v) || !json_string_length(v))) {
			snprintf(msg, msglen, "probe %zu: %s must be a non-empty string", i + 1,
			         strs[k]);
			return -1;
		}
	}
	static const char *const nums[] = {"min", "max"};
	for (size_t k = 0; k < 2; k++) {
		v = json_object_get(p, nums[k]);
		if (v && !json_is_number(v)) {
			snprintf(msg, msglen, "probe %zu: %s must be a number", i + 1, nums[k]);
			return -1;
		}
	}
	if (json_object_get(p, "equals") &&
	    (json_object_get(p, "min") || json_object_get(p, "max"))) {
		snprintf(msg, msglen, "probe %zu: equals cannot be combined with min or max",
		         i + 1);
		return -1;
	}
	const json_t *min = json_object_get(p, "min"), *max = json_object_get(p, "max");
	if (min && max && cmp_num(min, max) > 0) {
		snprintf(msg, msglen, "probe %zu: min is above max", i + 1);
		return -1;
	}
	return 0;
}

int pgscratch_probes_validate(const json_t *probes, char *msg, size_t msglen)
{
	if (!probes)
		return 0;
	if (!json_is_array(probes)) {
		snprintf(msg, msglen, "must be a list of probes ({sql: ..., min: ...})");
		return -1;
	}
	size_t i;
	const json_t *p;
	json_array_foreach(probes, i, p) {
		if (validate_one(p, i, msg, msglen))
			return -1;
		const char *name = json_string_value(json_object_get(p, "name"));
		for (size_t j = 0; name && j < i; j++) {
			const char *o = json_string_value(
				json_object_get(json_array_get(probes, j), "name"));
			if (o && !strcmp(o, name)) {
				snprintf(msg, msglen, "probe %zu: name '%.60s' is used twice",
				         i + 1, name);
				return -1;
			}
		}
	}
	return 0;
}
