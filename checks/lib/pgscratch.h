/* SPDX-License-Identifier: MIT */
/*
 * A scratch PostgreSQL server for restore rehearsals (pgbackrest.restore,
 * basebackup.restore, dump.restore): a directory of its own, made under
 * the rehearsal's scratch_dir; a server started on it with no TCP
 * listener (a socket in the scratch directory only), as an unprivileged
 * user, with every setting that could reach the live cluster or the
 * backup repository overridden on its command line; probes run over that
 * socket; then the server stopped and the directory removed.
 *
 * Removal is guaranteed: pgscratch_create() starts a guardian, a small
 * process in a session of its own (so the group kill that ends a check
 * child at its deadline, or when gate is stopped, does not reach it) that
 * holds the read end of a pipe.  When the check child ends in any way --
 * returns, crashes, is killed -- the pipe closes; the guardian then waits
 * for the scratch server to be gone (SIGKILL after a grace) and removes
 * the directory (not crossing mount points), and exits.  The server runs
 * in the check child's process group (it is started without setsid), so
 * the core's kill of that group stops it too.
 *
 * Everything here runs in the check child.  Never prints.  Functions that
 * can fail return -1 with a one-line, lowercase reason in msg.
 */
#ifndef GATE_CHECKS_LIB_PGSCRATCH_H
#define GATE_CHECKS_LIB_PGSCRATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct pgscratch_opts {
	const char *parent_dir; /* scratch_dir: where the scratch directory is made */
	const char *user;       /* the server and its tools run as this user ("postgres") */
	const char *bindir;     /* PostgreSQL's bin directory; NULL: the newest
	                         * /usr/lib/postgresql/N/bin (or, once a data
	                         * directory exists, the one of its PG_VERSION) */
	int64_t deadline_ms;    /* gate_mono_ms() time by which everything must end */
};

struct pgscratch {
	char *dir;     /* parent_dir/gate-rehearsal-XXXXXX, 0700, owned by the user */
	char *datadir; /* dir/data: where the backup is restored or initdb'd */
	char *logfile; /* dir/server.log: the server's stderr */
	char *bindir;  /* resolved */
	int port;      /* the socket's number (no TCP listener) */
	uid_t uid;
	gid_t gid;
	pid_t postmaster; /* 0 when not running */
	int guard_fd;     /* write end of the guardian's pipe; -1 when none */
	int64_t deadline_ms;
	/* ---- added with the implementation ---- */
	pid_t guardian; /* 0 when none */
	int pm_pidfd;   /* the postmaster's pidfd; -1 when none */
	int switch_ids; /* 1: the user differs from gate's: tools and the server
	                   * run with setgroups/setgid/setuid (gate is root) */
	gid_t *groups;  /* the user's supplementary groups */
	size_t ngroups;
	char *home;       /* the user's home (HOME for its tools) */
	char *user;       /* its name */
	int bindir_given; /* bindir came from the options: PG_VERSION does not change it */
	/* gate_mono_ms() times of the server's start: spawned, first answer
	 * to a ping (up), accepting connections (ready); and the durations
	 * of pgscratch_destroy's stop and removal (ms; -1 before). */
	int64_t spawned_at_ms, up_at_ms, ready_at_ms;
	int64_t stop_ms, cleanup_ms;
};

/* Make the scratch directory and start its guardian, after checking that
 * the filesystem of parent_dir has need_bytes free plus a margin (10% of
 * need_bytes and at least 64 MiB): otherwise -1, "scratch filesystem
 * /var/tmp has 1.2 GiB free; the restore needs 3.4 GiB plus 340 MiB".
 * The user must exist; parent_dir must exist and be a directory. */
int pgscratch_create(struct pgscratch *s, const struct pgscratch_opts *o, uint64_t need_bytes,
                     char *msg, size_t msglen);

/* Run a tool as the scratch user (argv[0] searched in PATH, or an absolute
 * path), within the deadline, stdin /dev/null, stdout discarded unless
 * out is set (then kept, up to max_out bytes, NUL-terminated, caller
 * frees), the last bytes of stderr in msg on failure.  0 when it exited
 * 0; -1 otherwise ("pgbackrest exited 40: ERROR: [040]: unable to restore
 * to path ...").  The tool runs in the check child's process group. */
int pgscratch_run_as_user(struct pgscratch *s, char *const argv[], char **out, size_t max_out,
                          char *msg, size_t msglen);

/* Start the server on datadir as the user, in this process group:
 *   listen_addresses='' port=<port> unix_socket_directories='<dir>'
 *   archive_mode=off archive_command='' primary_conninfo=''
 *   primary_slot_name='' hba_file/ident_file=<dir>/pg_hba.conf ("local all
 *   all trust": the socket's directory is 0700, so only the user and root
 *   reach it) logging_collector=off, plus `extra` ("name=value" strings,
 *   NULL-terminated, may be NULL).
 * A missing postgresql.conf (configuration kept outside the data
 * directory, as Debian does) is created empty.  Returns once the server
 * accepts connections (it is consistent); -1 when it exits first (msg:
 * the server log's FATAL line, e.g. "did not reach a consistent state:
 * FATAL:  recovery ended before configured recovery target was reached")
 * or the deadline passes ("server did not accept connections within 30 s"). */
int pgscratch_start(struct pgscratch *s, const char *const *extra, char *msg, size_t msglen);

/* Wait until pg_is_in_recovery() is false (a restore with
 * recovery_target_action=promote).  0, or -1 with msg. */
int pgscratch_wait_promoted(struct pgscratch *s, char *msg, size_t msglen);

/* A libpq conninfo for the scratch server's socket, database dbname
 * ("postgres" when NULL), as the user.  Caller frees. */
char *pgscratch_conninfo(const struct pgscratch *s, const char *dbname);

/* Run the probes (a JSON array as the runbook gives it:
 *   {sql: TEXT, name: TEXT?, database: TEXT?, min: N?, max: N?, equals: V?}
 * -- the first column of the first row is the probe's value; min/max
 * compare it as a number, equals as JSON (true matches PostgreSQL's t,
 * numbers by value, null matches NULL), no expectation: the query must
 * only succeed), each in its own transaction, read only, bounded by the
 * deadline.  *out gets a JSON array, one object per probe: {name, sql,
 * expect, value, ok, error?}.  Returns the number of probes that failed
 * (an error, no row, a missed expectation); msg names the first
 * ("probe 'accounts' (select count(*) from accounts): 0 is below min
 * 1000").  pgscratch_probes_validate() checks the parameter's shape for a
 * check type's validate(): 0, or -1 with msg. */
int pgscratch_probes(struct pgscratch *s, const json_t *probes, json_t **out, char *msg,
                     size_t msglen);
int pgscratch_probes_validate(const json_t *probes, char *msg, size_t msglen);

/* Stop the server (SIGINT: fast shutdown; SIGQUIT then SIGKILL when it
 * outlasts a grace), remove the directory, and tell the guardian it has
 * nothing left to do.  Safe to call more than once and on a pgscratch
 * that was never created (zeroed). */
void pgscratch_destroy(struct pgscratch *s);

/* pgscratch_probes with probes that name no database run against
 * default_db ("postgres" when NULL). */
int pgscratch_probes_db(struct pgscratch *s, const json_t *probes, const char *default_db,
                        json_t **out, char *msg, size_t msglen);

/* ---- the pure parts (checks/lib/pgscratch_judge.c), no I/O ---- */

/* Margin on top of a restore's size: 10% of it and at least 64 MiB. */
uint64_t pgscratch_margin(uint64_t need_bytes);
/* 0 when avail_bytes holds need_bytes plus the margin; else -1 with the
 * message pgscratch_create gives (dir names the filesystem). */
int pgscratch_space_check(const char *dir, uint64_t avail_bytes, uint64_t need_bytes, char *msg,
                          size_t msglen);
/* Why a server that exited before accepting connections did not: from
 * its log (log_line_prefix and lc_messages as pgscratch_start sets them),
 * the first FATAL or PANIC line that is not a refused connection, as
 * "did not reach a consistent state: FATAL: ..." when the log shows a
 * recovery, "did not start: FATAL: ..." otherwise, or the log's last
 * line when it has no such line.  Always fills msg. */
void pgscratch_log_reason(const char *log, char *msg, size_t msglen);
/* A probe's value as JSON from its first column's text (NULL: SQL NULL)
 * and type oid: bool as true/false, integers and numerics as numbers
 * (text when out of range), json/jsonb parsed, the rest as strings. */
json_t *pgscratch_probe_value(const char *text, unsigned oid);
/* Judge one probe (a validated object) against its value: value NULL
 * (the C pointer) means the query returned no row.  1 when it meets its
 * expectation; 0 with why ("0 is below min 1000", "returned no row",
 * "NULL is not a number", "false is not true"). */
int pgscratch_probe_judge(const json_t *probe, const json_t *value, char *why, size_t whylen);
/* The probe's expectation for reports: {min, max} or {equals} or null. */
json_t *pgscratch_probe_expect(const json_t *probe);
/* "probe 'accounts' (select count(*) from accounts)" or, with no name,
 * "probe 2 (select ...)": the SQL on one line, cut to 80 characters. */
void pgscratch_probe_label(const json_t *probe, size_t index, char *buf, size_t len);

#endif
