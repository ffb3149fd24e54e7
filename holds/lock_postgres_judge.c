/* SPDX-License-Identifier: MIT */
/* The pure parts of the postgres lock kind (lock_postgres_judge.h): the
 * key's id, the holder text kept in application_name, and who holds the
 * lock from the server's answer. */
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kit/alloc.h"
#include "kit/text.h"
#include "kit/timefmt.h"
#include "lock_postgres_judge.h"

/* ---- the key ---- */

int pglock_key_id(const char *key, int64_t *id)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (!key || !EVP_Digest(key, strlen(key), md, &len, EVP_sha256(), NULL) || len != 32)
		return -1;
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = u << 8 | md[i];
	/* two's complement, without the implementation-defined conversion */
	*id = u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
	return 0;
}

void pglock_key_parts(int64_t id, uint32_t *classid, uint32_t *objid)
{
	uint64_t u = (uint64_t)id;
	*classid = (uint32_t)(u >> 32);
	*objid = (uint32_t)(u & 0xffffffffu);
}

/* ---- the holder text ---- */

/* s as printable ASCII: one '?' for each other character (and each byte
 * that is not UTF-8); in a user or a host name (strict) also for ' ' and
 * '@', which the text's shape depends on. */
static char *ascii_field(const char *s, int strict)
{
	size_t n = strlen(s ? s : ""), o = 0, len;
	char *out = xmalloc(n + 2);
	for (size_t i = 0; i < n; i += len) {
		long cp = text_utf8_decode(s + i, n - i, &len);
		if (cp < 0)
			len = 1;
		int ok = cp >= 0x20 && cp <= 0x7e && !(strict && (cp == ' ' || cp == '@'));
		out[o++] = ok ? (char)cp : '?';
	}
	if (!o)
		out[o++] = '?';
	out[o] = '\0';
	return out;
}

static int is_ipv4(const char *h)
{
	return h[strspn(h, "0123456789.")] == '\0';
}

/* One character fewer, the last one kept a '~': "db-prod" -> "db-pr~". */
static void cut_one(char *f)
{
	size_t n = strlen(f);
	f[n - 2] = '~';
	f[n - 1] = '\0';
}

char *pglock_appname(const struct hold_who *w)
{
	char *f[3] = {ascii_field(w->runbook, 0), ascii_field(w->user, 1), ascii_field(w->host, 1)};
	char *dot = strchr(f[2], '.');
	char when[32];
	time_t t = (time_t)(w->since_ms / 1000);
	struct tm tm;
	fmt_utc_s(w->since_ms / 1000, when, sizeof(when));
	char *s = NULL;
	for (int step = 0;; step++) {
		free(s);
		s = xasprintf(PGLOCK_APPNAME_PREFIX "%s by %s@%s pid %ld since %s", f[0], f[1],
		              f[2], w->pid, when);
		if (strlen(s) <= PGLOCK_APPNAME_MAX)
			break;
		if (step == 0 && dot && dot != f[2] && !is_ipv4(f[2])) {
			*dot = '\0';
		} else if (step <= 1 && gmtime_r(&t, &tm)) {
			strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
		} else {
			/* the longest of runbook, host, user (in that order on a
			 * tie) that still has two characters to keep */
			int k = -1;
			static const int order[] = {0, 2, 1};
			for (int i = 0; i < 3; i++)
				if (strlen(f[order[i]]) >= 3 &&
				    (k < 0 || strlen(f[order[i]]) > strlen(f[k])))
					k = order[i];
			if (k < 0) {
				s[PGLOCK_APPNAME_MAX] = '\0'; /* ASCII: any byte is a boundary */
				break;
			}
			cut_one(f[k]);
		}
	}
	for (int i = 0; i < 3; i++)
		free(f[i]);
	return s;
}

/* "2026-11-28T20:31:00Z" or "20261128T203100Z" (UTC, 1970 or later), in ms. */
static int parse_utc(const char *s, int64_t *ms)
{
	static const char *const shapes[] = {"dddd-dd-ddTdd:dd:ddZ", "ddddddddTddddddZ"};
	char digits[16];
	size_t nd = 0;
	int shape = -1;
	for (int k = 0; k < 2 && shape < 0; k++) {
		if (strlen(s) != strlen(shapes[k]))
			continue;
		nd = 0;
		shape = k;
		for (size_t i = 0; s[i] && shape >= 0; i++) {
			if (shapes[k][i] == 'd' && s[i] >= '0' && s[i] <= '9')
				digits[nd++] = s[i];
			else if (shapes[k][i] != s[i])
				shape = -1;
		}
	}
	if (shape < 0)
		return -1;
	int v[6], widths[6] = {4, 2, 2, 2, 2, 2};
	for (int i = 0, at = 0; i < 6; at += widths[i], i++) {
		v[i] = 0;
		for (int j = 0; j < widths[i]; j++)
			v[i] = v[i] * 10 + (digits[at + j] - '0');
	}
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
	    v[4] > 59 || v[5] > 60)
		return -1;
	struct tm tm = {.tm_year = v[0] - 1900,
	                .tm_mon = v[1] - 1,
	                .tm_mday = v[2],
	                .tm_hour = v[3],
	                .tm_min = v[4],
	                .tm_sec = v[5]};
	*ms = (int64_t)timegm(&tm) * 1000;
	return 0;
}

/* Split s at the last `sep`: s keeps what is before, the rest is returned
 * (NULL when sep is not there). */
static char *split_last(char *s, const char *sep)
{
	char *at = NULL;
	for (char *p = strstr(s, sep); p; p = strstr(p + 1, sep))
		at = p;
	if (!at)
		return NULL;
	*at = '\0';
	return at + strlen(sep);
}

int pglock_appname_parse(const char *appname, struct hold_who *w, char **buf)
{
	*buf = NULL;
	size_t plen = strlen(PGLOCK_APPNAME_PREFIX);
	if (!appname || strncmp(appname, PGLOCK_APPNAME_PREFIX, plen))
		return -1;
	char *s = xstrdup(appname + plen);
	char *since = split_last(s, " since ");
	char *pid = since ? split_last(s, " pid ") : NULL;
	char *host = pid ? split_last(s, "@") : NULL;
	char *user = host ? split_last(s, " by ") : NULL;
	int64_t ms = 0;
	if (!user || !*s || !*user || !*host || strchr(user, ' ') || strchr(host, ' ') || !*pid ||
	    strspn(pid, "0123456789") != strlen(pid) || strlen(pid) > 10 ||
	    parse_utc(since, &ms) < 0) {
		free(s);
		return -1;
	}
	*w = (struct hold_who){s, user, host, strtol(pid, NULL, 10), ms};
	*buf = s;
	return 0;
}

/* ---- who holds it ---- */

/* The holders of the lock `id` other than this session, as JSON. */
static const char holders_sql[] =
	"SELECT coalesce(json_agg(json_build_object('pid', l.pid, 'mode', l.mode,"
	" 'application_name', a.application_name, 'client_addr', host(a.client_addr),"
	" 'client_port', a.client_port, 'usename', a.usename,"
	" 'backend_start', a.backend_start) ORDER BY l.pid), '[]')::text"
	" FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
	" WHERE l.locktype = 'advisory' AND l.granted"
	" AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
	" AND l.classid = %" PRIu32 "::oid AND l.objid = %" PRIu32 "::oid AND l.objsubid = 1"
	" AND l.pid IS DISTINCT FROM pg_backend_pid()";

char *pglock_holders_sql(int64_t id)
{
	uint32_t classid, objid;
	pglock_key_parts(id, &classid, &objid);
	return xasprintf(holders_sql, classid, objid);
}

static int row_ok(const json_t *r)
{
	const json_t *pid = json_object_get(r, "pid"),
		     *app = json_object_get(r, "application_name");
	const json_t *addr = json_object_get(r, "client_addr");
	const json_t *port = json_object_get(r, "client_port");
	return json_is_object(r) && (json_is_integer(pid) || json_is_null(pid)) &&
	       (json_is_string(app) || json_is_null(app)) &&
	       (json_is_string(addr) || json_is_null(addr)) &&
	       (json_is_integer(port) || json_is_null(port));
}

/* A holder that is not a gate, as the server shows it to this role. */
static char *unknown_holder(const json_t *r)
{
	const json_t *pid = json_object_get(r, "pid");
	const char *addr = json_string_value(json_object_get(r, "client_addr"));
	const json_t *port = json_object_get(r, "client_port");
	const char *app = json_string_value(json_object_get(r, "application_name"));
	if (!json_is_integer(pid))
		return xstrdup("an unknown holder (a prepared transaction, no session)");
	char *from = addr ? text_safe(addr, TEXT_ONE_LINE)
	             : json_integer_value(port) == -1 && port
	                     ? xstrdup("the local socket")
	                     : xstrdup("an address this role may not see");
	char *a = app && *app ? text_safe(app, TEXT_ONE_LINE) : NULL;
	char *t = xasprintf("an unknown holder (pid %lld on the server, from %s%s%s%s)",
	                    (long long)json_integer_value(pid), from,
	                    a ? ", application_name \"" : "", a ? a : "", a ? "\"" : "");
	free(from);
	free(a);
	return t;
}

enum hold_state pglock_judge_holders(const char *answer, char **holder, char **message,
                                     json_t **details)
{
	*holder = *message = NULL;
	*details = NULL;
	json_error_t je;
	json_t *rows = answer ? json_loads(answer, JSON_REJECT_DUPLICATES, &je) : NULL;
	size_t i, n = json_is_array(rows) ? json_array_size(rows) : 0;
	json_t *r;
	int ok = json_is_array(rows);
	json_array_foreach(rows, i, r)
		ok = ok && row_ok(r);
	if (!ok) {
		json_decref(rows);
		*message = xstrdup("the server's answer about the lock's holders does not read");
		return HOLD_ERROR;
	}
	*details = rows;
	if (n == 0)
		return HOLD_TAKEN;
	/* a gate among them first (shared holders can be several) */
	json_array_foreach(rows, i, r) {
		struct hold_who w;
		char *buf;
		const char *app = json_string_value(json_object_get(r, "application_name"));
		if (pglock_appname_parse(app, &w, &buf) == 0) {
			*holder = hold_who_text(&w);
			free(buf);
			break;
		}
	}
	if (!*holder)
		*holder = unknown_holder(json_array_get(rows, 0));
	if (n > 1) {
		char *more = xasprintf("%s and %zu more", *holder, n - 1);
		free(*holder);
		*holder = more;
	}
	return HOLD_BUSY;
}
