/* SPDX-License-Identifier: MIT */
/* The scratch server: started as `postgres -D DATADIR -c ...` directly
 * (not pg_ctl, which calls setsid() and would leave the process group the
 * core kills), waited for with PQping on its socket while watching the
 * child, asked over libpq (checks/lib/pgconn.h).  pgscratch.h says what
 * each setting overridden on the command line is for; doc/facts.md why
 * the command line wins over the restored postgresql.auto.conf. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"
#include "kit/timefmt.h"
#include "lib/pgconn.h"
#include "pgscratch_int.h"

/* How often the waits look again. */
#define PING_EVERY_MS 50
/* The most of the server's log read for a reason. */
#define LOG_TAIL_MAX (256u << 10)

/* ---- conninfo ---- */

/* A conninfo value quoted: '...' with \ and ' escaped. */
static void add_quoted(struct strbuf *sb, const char *v)
{
	strbuf_adds(sb, "'");
	for (; *v; v++) {
		if (*v == '\'' || *v == '\\')
			strbuf_adds(sb, "\\");
		strbuf_add(sb, v, 1);
	}
	strbuf_adds(sb, "'");
}

char *pgscratch_conninfo(const struct pgscratch *s, const char *dbname)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, "host=");
	add_quoted(&sb, s->dir ? s->dir : "");
	strbuf_addf(&sb, " port=%d dbname=", s->port);
	add_quoted(&sb, dbname ? dbname : "postgres");
	strbuf_adds(&sb, " user=");
	add_quoted(&sb, s->user ? s->user : "postgres");
	strbuf_adds(&sb, " application_name=gate-rehearsal");
	return strbuf_detach(&sb);
}

/* ---- files the server reads ---- */

/* A new file owned by the user (O_EXCL, no link followed); an existing
 * one is left as it is when keep_existing. */
static int put_file(const struct pgscratch *s, const char *path, const char *text,
                    int keep_existing, char *msg, size_t msglen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && keep_existing)
		return 0;
	if (fd < 0 || fchown(fd, s->uid, s->gid) < 0 ||
	    (*text && write(fd, text, strlen(text)) != (ssize_t)strlen(text))) {
		snprintf(msg, msglen, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The bindir of the data directory's PG_VERSION, unless one was given. */
static void bindir_for_data(struct pgscratch *s)
{
	if (s->bindir_given)
		return;
	char path[PATH_MAX], ver[16] = "";
	snprintf(path, sizeof(path), "%s/PG_VERSION", s->datadir);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, ver, sizeof(ver) - 1);
	close(fd);
	if (n <= 0)
		return;
	ver[n] = '\0';
	ver[strspn(ver, "0123456789.")] = '\0';
	if (!*ver)
		return;
	char bin[64];
	snprintf(bin, sizeof(bin), "/usr/lib/postgresql/%s/bin", ver);
	snprintf(path, sizeof(path), "%s/postgres", bin);
	if (access(path, X_OK) == 0) {
		free(s->bindir);
		s->bindir = xstrdup(bin);
	}
}

/* The last LOG_TAIL_MAX bytes of the server's log; caller frees. */
static char *read_log(const struct pgscratch *s)
{
	struct strbuf sb = STRBUF_INIT;
	int fd = open(s->logfile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		off_t end = lseek(fd, 0, SEEK_END);
		if (end > (off_t)LOG_TAIL_MAX)
			lseek(fd, end - (off_t)LOG_TAIL_MAX, SEEK_SET);
		else
			lseek(fd, 0, SEEK_SET);
		char buf[65536];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			strbuf_add(&sb, buf, (size_t)n);
		close(fd);
	}
	return strbuf_detach(&sb);
}

/* ---- start ---- */

/* The server's argv: settings that keep it away from everything live. */
static char **server_argv(const struct pgscratch *s, const char *const *extra)
{
	struct strbuf sb = STRBUF_INIT;
	const char *fixed[] = {
		"listen_addresses=",
		"archive_mode=off",
		"archive_command=",
		"restore_command=",
		"recovery_end_command=",
		"archive_cleanup_command=",
		"primary_conninfo=",
		"primary_slot_name=",
		"synchronous_standby_names=",
		/* a restored subscription would consume the live publisher's
		 * slot, taking the changes from the real subscriber */
		"max_logical_replication_workers=0",
		"logging_collector=off",
		"log_destination=stderr",
		"log_line_prefix=%m [%p] ",
		"lc_messages=C",
		"ssl=off",
		NULL,
	};
	size_t next = 0, cap = 64;
	while (extra && extra[next])
		next++;
	cap += 2 * next;
	char **argv = xcalloc(cap, sizeof(char *));
	size_t a = 0;
	argv[a++] = xasprintf("%s/postgres", s->bindir);
	argv[a++] = xstrdup("-D");
	argv[a++] = xstrdup(s->datadir);
	for (size_t i = 0; fixed[i]; i++) {
		/* An extra setting of the same name replaces the fixed one
		 * (restore_command): PostgreSQL takes the last -c anyway. */
		argv[a++] = xstrdup("-c");
		argv[a++] = xstrdup(fixed[i]);
	}
	/* A restored postgresql.conf may set data_directory to the live
	 * cluster's (the copy of a cluster that keeps it in its data
	 * directory): the command line wins over it. */
	argv[a++] = xstrdup("-c");
	argv[a++] = xasprintf("data_directory=%s", s->datadir);
	argv[a++] = xstrdup("-c");
	argv[a++] = xasprintf("port=%d", s->port);
	argv[a++] = xstrdup("-c");
	argv[a++] = xasprintf("unix_socket_directories=%s", s->dir);
	argv[a++] = xstrdup("-c");
	argv[a++] = xasprintf("hba_file=%s/pg_hba.conf", s->dir);
	argv[a++] = xstrdup("-c");
	argv[a++] = xasprintf("ident_file=%s/pg_ident.conf", s->dir);
	/* The restored configuration may name the live cluster's (Debian
	 * does); an empty value is not "none" but a file that cannot be
	 * written. */
	argv[a++] = xstrdup("-c");
	argv[a++] = xasprintf("external_pid_file=%s/external.pid", s->dir);
	for (size_t i = 0; i < next; i++) {
		argv[a++] = xstrdup("-c");
		argv[a++] = xstrdup(extra[i]);
	}
	argv[a] = NULL;
	strbuf_release(&sb);
	return argv;
}

/* The server exited (reaped): its status into *st.  1 exited. */
static int server_exited(struct pgscratch *s, int *st)
{
	if (s->postmaster <= 0)
		return 1;
	pid_t r = waitpid(s->postmaster, st, WNOHANG);
	if (r == 0)
		return 0;
	if (s->pm_pidfd >= 0)
		close(s->pm_pidfd);
	s->pm_pidfd = -1;
	s->postmaster = 0;
	return 1;
}

static void exited_reason(struct pgscratch *s, char *msg, size_t msglen)
{
	char *log = read_log(s);
	pgscratch_log_reason(log, msg, msglen);
	free(log);
}

/* Wait up to ms for the server to exit (a poll on its pidfd). */
static void nap(const struct pgscratch *s, int ms)
{
	struct pollfd pf = {.fd = s->pm_pidfd, .events = POLLIN};
	poll(&pf, s->pm_pidfd >= 0 ? 1 : 0, ms);
}

static int wait_ready(struct pgscratch *s, char *msg, size_t msglen)
{
	char *ci = pgscratch_conninfo(s, NULL);
	char *ping = xasprintf("%s connect_timeout=2", ci);
	free(ci);
	int64_t end = pgs_budget_end(s);
	int rc = -1, st = 0;
	for (;;) {
		if (server_exited(s, &st)) {
			exited_reason(s, msg, msglen);
			break;
		}
		PGPing p = PQping(ping);
		if (p == PQPING_OK || p == PQPING_REJECT) {
			if (!s->up_at_ms)
				s->up_at_ms = gate_mono_ms();
			if (p == PQPING_OK) {
				s->ready_at_ms = gate_mono_ms();
				rc = 0;
				break;
			}
		}
		if (gate_mono_ms() >= end) {
			char el[32];
			fmt_duration_approx(gate_mono_ms() - s->spawned_at_ms, el, sizeof(el));
			snprintf(msg, msglen, "server did not accept connections within %s", el);
			break;
		}
		nap(s, PING_EVERY_MS);
	}
	free(ping);
	return rc;
}

int pgscratch_start(struct pgscratch *s, const char *const *extra, char *msg, size_t msglen)
{
	if (!s->dir || s->postmaster > 0) {
		snprintf(msg, msglen,
		         s->dir ? "the scratch server already runs" : "no scratch directory");
		return -1;
	}
	bindir_for_data(s);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/postgresql.conf", s->datadir);
	if (put_file(s, path, "", 1, msg, msglen))
		return -1;
	snprintf(path, sizeof(path), "%s/pg_hba.conf", s->dir);
	if (put_file(s, path, "local all all trust\n", 1, msg, msglen))
		return -1;
	snprintf(path, sizeof(path), "%s/pg_ident.conf", s->dir);
	if (put_file(s, path, "", 1, msg, msglen))
		return -1;
	int log = open(s->logfile, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (log < 0 || fchown(log, s->uid, s->gid) < 0) {
		snprintf(msg, msglen, "cannot open %s: %s", s->logfile, strerror(errno));
		if (log >= 0)
			close(log);
		return -1;
	}
	char **argv = server_argv(s, extra);
	struct spawn_ids ids;
	pgs_ids(s, &ids);
	/* In this process group (the core's kill of it stops the server),
	 * killed should this process die first. */
	char **env = pgs_env(s);
	struct spawn_opts o = {.argv = argv,
	                       .envp = env,
	                       .in = SPAWN_DEVNULL,
	                       .out = log,
	                       .err = log,
	                       .death_signal = SIGKILL,
	                       .ids = s->switch_ids ? &ids : NULL,
	                       .cwd = s->dir};
	struct spawn sp;
	s->spawned_at_ms = gate_mono_ms();
	s->up_at_ms = s->ready_at_ms = 0;
	int r = spawn_start(&sp, &o);
	close(log);
	strv_free(env);
	if (r < 0) {
		snprintf(msg, msglen, "cannot run %s: %s: %s", argv[0], spawn_step_name(sp.failed),
		         strerror(sp.error));
		spawn_release(&sp);
		strv_free(argv);
		return -1;
	}
	strv_free(argv);
	s->postmaster = sp.pid;
	s->pm_pidfd = sp.pidfd;
	pgs_guard_tell(s, sp.pid);
	return wait_ready(s, msg, msglen);
}

/* ---- promoted ---- */

int pgscratch_wait_promoted(struct pgscratch *s, char *msg, size_t msglen)
{
	char *ci = pgscratch_conninfo(s, NULL);
	struct pgconn c;
	int64_t end = pgs_budget_end(s);
	int rc = -1, st;
	if (pgconn_open(&c, ci, end) < 0) {
		snprintf(msg, msglen, "cannot connect to the scratch server: %s", c.err);
		goto out;
	}
	for (;;) {
		PGresult *r = pgconn_query(&c, "select pg_is_in_recovery()");
		const char *v = r ? pgconn_val(r, 0, 0) : NULL;
		int done = v && !strcmp(v, "f");
		PQclear(r);
		if (done) {
			rc = 0;
			break;
		}
		if (!r || server_exited(s, &st)) {
			if (server_exited(s, &st))
				exited_reason(s, msg, msglen);
			else
				snprintf(msg, msglen, "scratch server: %s", c.err);
			break;
		}
		if (gate_mono_ms() >= end) {
			snprintf(msg, msglen,
			         "the scratch server was still in recovery at the deadline "
			         "(not promoted)");
			break;
		}
		nap(s, PING_EVERY_MS);
	}
out:
	pgconn_close(&c);
	free(ci);
	return rc;
}
