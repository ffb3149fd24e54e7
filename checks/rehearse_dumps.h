/* SPDX-License-Identifier: MIT */
/* The pure parts of the restore rehearsals basebackup.restore
 * (rehearse_basebackup.c) and dump.restore (rehearse_dump.c): what kind
 * of dump a file is, the identity of the backup rehearsed, the argv of
 * the tools that restore it, the space a restore needs, and the line of
 * a tool's stderr that says why it failed.  No I/O, no clock: the bytes
 * come from the caller.  Table-tested in tests/unit/test_rehearse_dumps.c
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

/* details.rehearsal with its members empty: {"backup": null, "probes":
 * [], "phases_ms": {}, "scratch_dir": null}, added to details; returns
 * it (borrowed). */
json_t *rd_rehearsal_init(json_t *details);
/* details.rehearsal.phases_ms[name] += ms. */
void rd_phase(json_t *rehearsal, const char *name, int64_t ms);

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

/* ---- the steps both types share (rehearse_dumps_run.c; I/O) ---- */

struct gate_run_env;
struct gate_result;
struct pgscratch;
struct pgscratch_opts;

/* The scratch server's options from the parameters (scratch_dir, user,
 * pg_bindir) and the check's deadline (less a margin, so that the
 * rehearsal says what was slow and cleans up before the core kills it). */
void rd_scratch_opts(const json_t *params, const struct gate_run_env *env,
                     struct pgscratch_opts *o);
/* The last n bytes of a file (the first n when from_start) into buf
 * (NUL-terminated, size n + 1); the count read, or -1 with errno. */
long rd_read_part(const char *path, char *buf, size_t n, int from_start);
/* The size of the regular files under dir, symbolic links followed (a
 * copy follows them too). */
uint64_t rd_tree_bytes(const char *dir);
/* pgscratch_start, its failure judged: a server that stopped on its own
 * ("did not reach a consistent state", "did not start") fails the
 * rehearsal, as `what did not ...`; anything else (the deadline, the
 * machine) is an error.  Adds the "start" phase.  0 when it started. */
int rd_start(struct pgscratch *s, const char *const *extra, const char *what, json_t *rehearsal,
             struct gate_result *res);
/* The probes (a JSON array, NULL: none), run and put into
 * rehearsal.probes; a failed one fails res.  Adds the "probes" phase.
 * The number that failed, or -1 when res was set for another reason. */
int rd_probes(struct pgscratch *s, const json_t *probes, json_t *rehearsal,
              struct gate_result *res);
/* pgscratch_destroy, its stop and cleanup phases recorded; then, when
 * res is still unset (status left at the error "module returned no
 * result" by a path that reached the end), the pass summary: "WHAT
 * restored in 12.3 s; 2 probes passed".  ok: every step passed. */
void rd_finish(struct pgscratch *s, json_t *rehearsal, int ok, const char *what, int64_t t0_ms,
               size_t nprobes, struct gate_result *res);
/* The two types (listed in checks/rehearse.c once it is merged; these
 * declarations move to checks/rehearse.h then). */
#include "gate/module.h"
void rd_basebackup_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res);
int rd_basebackup_validate(const json_t *params, const char **param, char *msg, size_t msglen);
extern const struct gate_param rd_basebackup_params[];
void rd_dump_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res);
int rd_dump_validate(const json_t *params, const char **param, char *msg, size_t msglen);
extern const struct gate_param rd_dump_params[];

/* What both types' validate() check: path, wal_path, scratch_dir, user
 * and pg_bindir not empty, scratch_dir and pg_bindir absolute, probes
 * well formed (pgscratch_probes_validate). */
int rd_validate_common(const json_t *params, const char **param, char *msg, size_t msglen);

#endif
