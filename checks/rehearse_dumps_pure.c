/* SPDX-License-Identifier: MIT */
/* The pure parts of basebackup.restore and dump.restore
 * (rehearse_dumps.h): formats, identities, argv, space, errors. */
#include "rehearse_dumps.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/alloc.h"
#include "backup_judge.h"
#include "kit/strbuf.h"

static const char *const format_names[] = {"auto", "custom", "directory", "tar", "plain", "gzip"};

const char *rd_format_name(enum rd_format f)
{
	return (unsigned)f < sizeof(format_names) / sizeof(format_names[0]) ? format_names[f] : "?";
}

int rd_format_parse(const char *s)
{
	for (int i = 0; s && i <= RD_FMT_PLAIN; i++)
		if (!strcmp(s, format_names[i]))
			return i;
	return -1;
}

enum rd_format rd_format_detect(const unsigned char *head, size_t n, int is_dir)
{
	if (is_dir)
		return RD_FMT_DIRECTORY;
	if (n >= 5 && !memcmp(head, "PGDMP", 5))
		return RD_FMT_CUSTOM;
	if (n >= 262 && !memcmp(head + 257, "ustar", 5))
		return RD_FMT_TAR;
	if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
		return RD_FMT_GZIP;
	return RD_FMT_PLAIN;
}

int rd_plain_complete(const char *tail, size_t n)
{
	static const char *const lines[] = {"-- PostgreSQL database dump complete",
	                                    "-- PostgreSQL database cluster dump complete"};
	for (size_t k = 0; k < 2; k++) {
		size_t ll = strlen(lines[k]);
		for (const char *p = tail; p && (size_t)(p - tail) + ll <= n;) {
			const char *hit = memmem(p, n - (size_t)(p - tail), lines[k], ll);
			if (!hit)
				break;
			/* a whole line: at the start of the text or of a line,
			 * followed by its end */
			const char *e = hit + ll;
			int starts = hit == tail || hit[-1] == '\n';
			int ends = (size_t)(e - tail) == n || *e == '\n' || *e == '\r';
			if (starts && ends)
				return 1;
			p = hit + 1;
		}
	}
	return 0;
}

int rd_manifest_checksum(const char *tail, size_t n, char hex[65])
{
	static const char key[] = "\"Manifest-Checksum\"";
	const char *last = NULL;
	for (const char *p = tail; (size_t)(p - tail) < n;) {
		const char *hit = memmem(p, n - (size_t)(p - tail), key, sizeof(key) - 1);
		if (!hit)
			break;
		last = hit;
		p = hit + 1;
	}
	if (!last)
		return -1;
	const char *p = last + sizeof(key) - 1, *end = tail + n;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || *p++ != ':')
		return -1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p < 66 || *p++ != '"')
		return -1;
	for (int i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return -1;
		hex[i] = (char)tolower((unsigned char)p[i]);
	}
	hex[64] = '\0';
	p += 64;
	if (*p++ != '"')
		return -1;
	/* the manifest's last member: only its closing brace and white
	 * space may follow */
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p >= end || *p++ != '}')
		return -1;
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p == end ? 0 : -1;
}

static json_t *str_or_null(const char *s)
{
	return s ? bk_jstr(s) : json_null();
}

json_t *rd_identity_basebackup(const char *abs_dir, const char *start_time,
                               const char *manifest_checksum)
{
	return json_pack("{s:s, s:o, s:o, s:o}", "kind", "basebackup", "path", str_or_null(abs_dir),
	                 "start_time", str_or_null(start_time), "manifest_checksum",
	                 str_or_null(manifest_checksum));
}

json_t *rd_identity_file(const char *abs_path, uint64_t size, int64_t mtime_ns, const char *sha256)
{
	return json_pack("{s:s, s:o, s:I, s:I, s:o}", "kind", "file", "path", str_or_null(abs_path),
	                 "size", (json_int_t)(size > INT64_MAX ? INT64_MAX : size), "mtime_ns",
	                 (json_int_t)mtime_ns, "sha256", str_or_null(sha256));
}

uint64_t rd_space_basebackup(uint64_t dir_bytes, uint64_t wal_bytes)
{
	uint64_t s;
	return __builtin_add_overflow(dir_bytes, wal_bytes, &s) ? UINT64_MAX : s;
}

uint64_t rd_space_dump(uint64_t dump_bytes)
{
	uint64_t s;
	return __builtin_mul_overflow(dump_bytes, 3, &s) ? UINT64_MAX : s;
}

static char *tool(const char *bindir, const char *name)
{
	return bindir && *bindir ? xasprintf("%s/%s", bindir, name) : xstrdup(name);
}

/* argv from a NULL-terminated list whose first entry is owned (the tool). */
static char **own_argv(char *first, const char **rest)
{
	size_t n = 0;
	while (rest[n])
		n++;
	char **v = xcalloc(n + 2, sizeof(*v));
	v[0] = first;
	for (size_t i = 0; i < n; i++)
		v[i + 1] = xstrdup(rest[i]);
	return v;
}

char **rd_restore_argv(const char *bindir, enum rd_format fmt, const char *path,
                       const char *sockdir, int port, const char *db, int64_t jobs)
{
	char portbuf[16], jobbuf[24];
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	snprintf(jobbuf, sizeof(jobbuf), "%lld", (long long)jobs);
	if (fmt == RD_FMT_PLAIN) {
		const char *a[] = {
			"-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", sockdir, "-p", portbuf, "-d", db,
			"-f", path, NULL};
		return own_argv(tool(bindir, "psql"), a);
	}
	if (fmt != RD_FMT_CUSTOM && fmt != RD_FMT_DIRECTORY && fmt != RD_FMT_TAR)
		return NULL;
	int parallel = jobs > 1 && fmt != RD_FMT_TAR;
	const char *a[] = {"--exit-on-error",
	                   "--no-owner",
	                   "--no-acl",
	                   "-h",
	                   sockdir,
	                   "-p",
	                   portbuf,
	                   "-d",
	                   db,
	                   parallel ? "-j" : "--",
	                   parallel ? jobbuf : path,
	                   parallel ? "--" : NULL,
	                   path,
	                   NULL};
	return own_argv(tool(bindir, "pg_restore"), a);
}

char **rd_initdb_argv(const char *bindir, const char *datadir)
{
	const char *a[] = {"-D",    datadir,      "-A",
	                   "trust", "--no-sync",  "-E",
	                   "UTF8",  "--locale=C", "--no-instructions",
	                   NULL};
	return own_argv(tool(bindir, "initdb"), a);
}

char **rd_createdb_argv(const char *bindir, const char *sockdir, int port, const char *db)
{
	char portbuf[16];
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	const char *a[] = {"-h", sockdir, "-p", portbuf, "-T", "template0", "--", db, NULL};
	return own_argv(tool(bindir, "createdb"), a);
}

/* The line of msg that starts at or before p, trimmed, without a
 * leading "TOOL exited N: ". */
static void take_line(const char *msg, const char *p, char *buf, size_t len)
{
	const char *b = p;
	while (b > msg && b[-1] != '\n')
		b--;
	size_t n = strcspn(b, "\r\n");
	const char *ex = strstr(b, " exited ");
	if (ex && (size_t)(ex - b) < n && !memchr(b, ' ', (size_t)(ex - b))) {
		const char *c = ex + 8;
		while (isdigit((unsigned char)*c))
			c++;
		if (c > ex + 8 && c[0] == ':' && c[1] == ' ' && (size_t)(c + 2 - b) <= n) {
			n -= (size_t)(c + 2 - b);
			b = c + 2;
		}
	}
	while (n && isspace((unsigned char)*b))
		b++, n--;
	while (n && isspace((unsigned char)b[n - 1]))
		n--;
	if (len == 0)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(buf, b, n);
	buf[n] = '\0';
}

void rd_tool_error(const char *msg, char *buf, size_t len)
{
	static const char *const marks[] = {"error:", "ERROR:", "FATAL:"};
	const char *first = NULL;
	for (size_t i = 0; msg && i < 3; i++) {
		const char *hit = strstr(msg, marks[i]);
		if (hit && (!first || hit < first))
			first = hit;
	}
	if (len)
		buf[0] = '\0';
	if (!msg)
		return;
	take_line(msg, first ? first : msg, buf, len);
	if (!buf[0] && len)
		snprintf(buf, len, "%.*s", (int)strcspn(msg, "\n"), msg);
}

int rd_dbname_ok(const char *db, char *msg, size_t msglen)
{
	size_t n = db ? strlen(db) : 0;
	if (n == 0 || n > 63) {
		snprintf(msg, msglen, "must be 1 to 63 bytes");
		return -1;
	}
	if (db[0] == '-') {
		snprintf(msg, msglen, "must not start with '-'");
		return -1;
	}
	if (!strcmp(db, "postgres") || !strcmp(db, "template0") || !strcmp(db, "template1")) {
		snprintf(msg, msglen, "'%s' exists in every new cluster; name another", db);
		return -1;
	}
	return 0;
}
