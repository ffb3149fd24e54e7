/* SPDX-License-Identifier: MIT */
/* The pure parts of the restore rehearsals basebackup.restore
 * (rehearse_basebackup.c) and dump.restore (rehearse_dump.c): what kind
 * of dump a file is, the identity of the backup rehearsed, the argv of
 * the tools that restore it, the space a restore needs, and the line of
 * a tool's stderr that says why it failed.  No I/O, no clock: the bytes
 * come from the caller.  The types themselves are declared in
 * rehearse.h and run on its shared steps (rh_*).  Table-tested in tests/unit/test_rehearse_dumps.c
 * with what the real tools wrote (tests/data/recorded/rehearse/), fuzzed
 * by fuzz/fuzz_rehearse_dumps.c. */
#ifndef GATE_CHECKS_REHEARSE_DUMPS_H
#define GATE_CHECKS_REHEARSE_DUMPS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum rd_format {
	RD_FMT_AUTO = 0,
	RD_FMT_CUSTOM,    /* pg_dump -Fc: starts "PGDMP" */
	RD_FMT_DIRECTORY, /* pg_dump -Fd: a directory holding toc.dat */
	RD_FMT_TAR,       /* pg_dump -Ft: "ustar" at offset 257 */
	RD_FMT_PLAIN,     /* pg_dump -Fp: SQL text */
	RD_FMT_GZIP,      /* gzip-compressed (a plain dump piped into gzip): refused */
};

/* "custom", "directory", "tar", "plain", "gzip", "auto". */
const char *rd_format_name(enum rd_format f);
/* The parameter's value ("auto", "custom"...); -1 when not one. */
int rd_format_parse(const char *s);
/* What the first bytes (head, n of them: up to 512 are looked at) of
 * the chosen file say it is; is_dir: the choice is a directory (then
 * it is a directory-format dump). */
enum rd_format rd_format_detect(const unsigned char *head, size_t n, int is_dir);

/* Whether the last bytes of a plain dump (tail, n of them) hold the line
 * pg_dump (or pg_dumpall) writes last: "-- PostgreSQL database dump
 * complete" ("... cluster dump complete").  A dump cut short has none. */
int rd_plain_complete(const char *tail, size_t n);

/* backup_manifest's "Manifest-Checksum" (the SHA-256 of the manifest,
 * 64 hex digits, its last member) from the manifest's last bytes (tail,
 * n of them).  0 with hex set (lowercase), -1 when there is none or it is
 * not one value at the very end. */
int rd_manifest_checksum(const char *tail, size_t n, char hex[65]);

/* IDENTITY of a base backup: {"kind": "basebackup", "path", "start_time"
 * (backup_label's START TIME as written), "manifest_checksum"}.  NULL
 * members are JSON null.  New reference. */
json_t *rd_identity_basebackup(const char *abs_dir, const char *start_time,
                               const char *manifest_checksum);
/* IDENTITY of a dump: {"kind": "file", "path", "size", "mtime_ns",
 * "sha256"}.  New reference. */
json_t *rd_identity_file(const char *abs_path, uint64_t size, int64_t mtime_ns, const char *sha256);

/* The space a restore needs on the scratch filesystem: a base backup its
 * own size (plus the WAL copied in); a dump 3 times its size (a dump
 * expands into tables and indexes: doc/checks.md says the rule).
 * Saturates at UINT64_MAX. */
uint64_t rd_space_basebackup(uint64_t dir_bytes, uint64_t wal_bytes);
uint64_t rd_space_dump(uint64_t dump_bytes);

/* The argv that restores a dump of format fmt (custom, directory, tar or
 * plain) at path into database db of the scratch server whose socket is
 * in sockdir on port: pg_restore --exit-on-error --no-owner --no-acl
 * [-j jobs] (jobs > 1, custom and directory only), or psql -X -v
 * ON_ERROR_STOP=1 -q -f (plain); bindir/ prefixes the tool.  NULL for
 * another format.  strv_free() frees it. */
char **rd_restore_argv(const char *bindir, enum rd_format fmt, const char *path,
                       const char *sockdir, int port, const char *db, int64_t jobs);
/* initdb's argv for datadir: -D datadir -A trust --no-sync -E UTF8
 * --locale=C --no-instructions. */
char **rd_initdb_argv(const char *bindir, const char *datadir);
/* createdb's argv: -h sockdir -p port -T template0 -- db. */
char **rd_createdb_argv(const char *bindir, const char *sockdir, int port, const char *db);

/* The line of a failed tool's message (what pgscratch_run_as_user put
 * in msg: "pg_restore exited 1: <the end of its stderr>") that says why:
 * the first line holding "error:", "ERROR:" or "FATAL:", trimmed, into
 * buf; else the message's first line.  Never empty when msg is not. */
void rd_tool_error(const char *msg, char *buf, size_t len);

/* A database name the rehearsal can create: 1..63 bytes, not starting
 * with '-', not postgres, template0 or template1.  0, or -1 with msg. */
int rd_dbname_ok(const char *db, char *msg, size_t msglen);

#endif
