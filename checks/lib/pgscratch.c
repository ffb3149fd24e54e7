/* SPDX-License-Identifier: MIT */
/* The scratch server's directory, its guardian, the tools run as its
 * user, and its removal (pgscratch.h).  The server itself is started and
 * asked in pgscratch_server.c; the pure parts are in pgscratch_judge.c.
 *
 * The tree is removed by a child running as the scratch user (so a
 * symbolic link the user planted cannot make root remove anything
 * outside: the user can only remove what it could remove anyway), not
 * crossing mount points; only the empty top directory is removed as
 * gate's own user. */
#include "pgscratch.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/spawn.h"
#include "kit/strbuf.h"
#include "lib/proc.h"
#include "pgscratch_int.h"

/* How long the guardian and destroy give the server to go after each
 * signal, and how often they look. */
#define GRACE_FAST_MS 10000
#define GRACE_QUIT_MS 5000
#define GRACE_KILL_MS 5000
#define LOOK_MS 20

/* ---- the user ---- */

static int lookup_user(struct pgscratch *s, const char *user, char *msg, size_t msglen)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int e = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (!res) {
		snprintf(msg, msglen, "user %s: %s", user, e ? strerror(e) : "no such user");
		return -1;
	}
	s->uid = pw.pw_uid;
	s->gid = pw.pw_gid;
	s->home = xstrdup(pw.pw_dir);
	s->user = xstrdup(user);
	if (pw.pw_uid == 0) {
		snprintf(msg, msglen, "user %s is root: PostgreSQL refuses to run as root", user);
		return -1;
	}
	if (pw.pw_uid == geteuid())
		return 0; /* gate already runs as that user: no switch */
	if (geteuid() != 0) {
		snprintf(msg, msglen,
		         "gate runs as uid %u and cannot run the scratch server as user %s "
		         "(run gate as root or as %s)",
		         (unsigned)geteuid(), user, user);
		return -1;
	}
	int n = 64;
	s->groups = xcalloc((size_t)n, sizeof(gid_t));
	if (getgrouplist(user, pw.pw_gid, s->groups, &n) < 0) {
		s->groups = xrealloc(s->groups, (size_t)n * sizeof(gid_t));
		if (getgrouplist(user, pw.pw_gid, s->groups, &n) < 0)
			n = 0;
	}
	s->ngroups = (size_t)n;
	s->switch_ids = 1;
	return 0;
}

void pgs_ids(const struct pgscratch *s, struct spawn_ids *ids)
{
	ids->uid = s->uid;
	ids->gid = s->gid;
	ids->groups = s->groups;
	ids->ngroups = s->ngroups;
}

/* Run fn(arg) in a child as the scratch user; its exit status, or -1. */
static int as_user(const struct pgscratch *s, int (*fn)(void *), void *arg)
{
	struct spawn_ids ids;
	pgs_ids(s, &ids);
	struct spawn_opts o = {.fn = fn,
	                       .arg = arg,
	                       .in = SPAWN_DEVNULL,
	                       .out = SPAWN_DEVNULL,
	                       .err = SPAWN_DEVNULL,
	                       .death_signal = SIGKILL,
	                       .ids = s->switch_ids ? &ids : NULL};
	struct spawn sp;
	if (spawn_start(&sp, &o) < 0) {
		spawn_release(&sp);
		return -1;
	}
	spawn_reap(&sp, 1);
	if (sp.failed != SPAWN_OK || !WIFEXITED(sp.status))
		return -1;
	return WEXITSTATUS(sp.status);
}

/* ---- removing the tree ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag;
	if (ftw->level == 0)
		return 0; /* the top: removed by the caller */
	if (remove(path) < 0 && errno != ENOENT)
		return 1;
	return 0;
}

static int remove_contents(void *arg)
{
	const char *dir = arg;
	int r = nftw(dir, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	return r == 0 || errno == ENOENT ? 0 : 1;
}

int pgs_remove_tree(const struct pgscratch *s, const char *dir, char *msg, size_t msglen)
{
	struct stat st;
	for (int attempt = 0; attempt < 5; attempt++) {
		if (lstat(dir, &st) < 0 && errno == ENOENT)
			return 0;
		/* A backend still exiting may write a file meanwhile: try
		 * again a few times. */
		as_user(s, remove_contents, (void *)dir);
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		poll(NULL, 0, 100);
	}
	snprintf(msg, msglen, "cannot remove the scratch directory %s: %s", dir, strerror(errno));
	return -1;
}

/* ---- the server's pid, and waiting for it to be gone ---- */

/* pid is the scratch server: a live process whose working directory is
 * the data directory (PostgreSQL changes into it).  A zombie has none. */
int pgs_is_server(pid_t pid, const char *datadir)
{
	if (pid <= 0)
		return 0;
	char link[64], cwd[PATH_MAX], *real = realpath(datadir, NULL);
	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
	ssize_t n = readlink(link, cwd, sizeof(cwd) - 1);
	int is = 0;
	if (n > 0 && real) {
		cwd[n] = '\0';
		is = !strcmp(cwd, real);
	}
	free(real);
	return is;
}

/* The start of datadir's postmaster.pid into buf (NUL-terminated; the
 * link-free file only).  1 when something was read. */
static int read_pidfile(const char *datadir, char *buf, size_t size)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/postmaster.pid", datadir);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return 1;
}

/* postmaster.pid's first line; 0 when there is none. */
pid_t pgs_pidfile_pid(const char *datadir)
{
	char buf[32];
	if (!read_pidfile(datadir, buf, sizeof(buf)))
		return 0;
	long v = strtol(buf, NULL, 10);
	return v > 0 && v < INT_MAX ? (pid_t)v : 0;
}

/* Wait until pid is no longer the server, up to ms. 1 gone. */
static int gone_within(pid_t pid, const char *datadir, int64_t ms)
{
	int64_t end = gate_mono_ms() + ms;
	for (;;) {
		if (!pgs_is_server(pid, datadir))
			return 1;
		if (gate_mono_ms() >= end)
			return 0;
		poll(NULL, 0, LOOK_MS);
	}
}

/* Stop a server that is not our child (the guardian's case): SIGQUIT,
 * then SIGKILL after a grace. */
static void stop_foreign(pid_t pid, const char *datadir)
{
	if (!pgs_is_server(pid, datadir))
		return;
	kill(pid, SIGQUIT);
	if (gone_within(pid, datadir, GRACE_QUIT_MS))
		return;
	if (pgs_is_server(pid, datadir))
		kill(pid, SIGKILL);
	gone_within(pid, datadir, GRACE_KILL_MS);
}

/* ---- the guardian ---- */

/* The SysV shared memory key and id a server wrote into line 7 of its
 * postmaster.pid.  1 when read. */
static int pidfile_shm(const char *datadir, unsigned long *key, unsigned long *id)
{
	char buf[1024];
	if (!read_pidfile(datadir, buf, sizeof(buf)))
		return 0;
	const char *l = buf;
	for (int line = 1; line < 7 && l; line++)
		if ((l = strchr(l, '\n')))
			l++;
	return l && sscanf(l, "%lu %lu", key, id) == 2 && *key != 0;
}

/* Remove the segment, if it is still the one the server made (same key,
 * made by and belonging to the user: postmaster.pid is the user's to
 * write, and root must not remove another's segment it names), once
 * nobody is attached to it: the server's processes, killed, may take a
 * moment to exit. */
static void remove_shm(unsigned long key, unsigned long id, uid_t uid)
{
	struct shmid_ds ds;
	int64_t end = gate_mono_ms() + GRACE_KILL_MS;
	for (;;) {
		if (id > INT_MAX || shmctl((int)id, IPC_STAT, &ds) < 0 ||
		    (unsigned long)ds.shm_perm.__key != key || ds.shm_perm.cuid != uid ||
		    ds.shm_perm.uid != uid)
			return;
		if (ds.shm_nattch == 0) {
			shmctl((int)id, IPC_RMID, NULL);
			return;
		}
		if (gate_mono_ms() >= end)
			return;
		poll(NULL, 0, LOOK_MS);
	}
}

struct guard_arg {
	int rfd;
	const struct pgscratch *s;
};

static void guardian_ignore_signals(void)
{
	static const int sigs[] = {SIGHUP,  SIGINT,  SIGTERM, SIGQUIT, SIGTSTP,
	                           SIGTTIN, SIGTTOU, SIGPIPE, SIGUSR1, SIGUSR2};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The guardian: in a session of its own, deaf to the signals that stop a
 * run, holding nothing but its pipe.  It learns the server's pid from the
 * pipe ("P<pid>\n"); at EOF (the check child ended, in whatever way) it
 * makes sure the server is gone and removes the directory. */
static int guardian_main(void *arg)
{
	const struct guard_arg *g = arg;
	setsid();
	guardian_ignore_signals();
	(void)!chdir("/");
	if (g->rfd > 3)
		close_range(3, (unsigned)g->rfd - 1, 0);
	close_range((unsigned)g->rfd + 1, ~0u, 0);
	pid_t pid = 0;
	char buf[256];
	size_t have = 0;
	for (;;) {
		ssize_t n = read(g->rfd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		char *nl;
		while ((nl = strchr(buf, '\n'))) {
			if (buf[0] == 'P')
				pid = (pid_t)strtol(buf + 1, NULL, 10);
			size_t used = (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have - used + 1);
			have -= used;
		}
		if (have == sizeof(buf) - 1)
			have = 0; /* not ours: drop it */
	}
	const struct pgscratch *s = g->s;
	/* postmaster.pid outlives only a server that was killed: its
	 * shared memory segment is then left too. */
	unsigned long key = 0, shmid = 0;
	int have_shm = pidfile_shm(s->datadir, &key, &shmid);
	stop_foreign(pid, s->datadir);
	stop_foreign(pgs_pidfile_pid(s->datadir), s->datadir);
	if (have_shm)
		remove_shm(key, shmid, s->uid);
	char msg[256];
	return pgs_remove_tree(s, s->dir, msg, sizeof(msg)) ? 1 : 0;
}

static int start_guardian(struct pgscratch *s, char *msg, size_t msglen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(msg, msglen, "cannot make the guardian's pipe: %s", strerror(errno));
		return -1;
	}
	struct guard_arg g = {.rfd = p[0], .s = s};
	/* No parent-death signal and the caller's process group until it
	 * calls setsid(): it must outlive the check child. */
	struct spawn_opts o = {.fn = guardian_main,
	                       .arg = &g,
	                       .in = SPAWN_DEVNULL,
	                       .out = SPAWN_DEVNULL,
	                       .err = SPAWN_DEVNULL};
	struct spawn sp;
	int r = spawn_start(&sp, &o);
	close(p[0]);
	if (r < 0) {
		close(p[1]);
		snprintf(msg, msglen, "cannot start the guardian: %s: %s",
		         spawn_step_name(sp.failed), strerror(sp.error));
		spawn_release(&sp);
		return -1;
	}
	s->guardian = sp.pid;
	spawn_release(&sp);
	s->guard_fd = p[1];
	return 0;
}

void pgs_guard_tell(struct pgscratch *s, pid_t pid)
{
	if (s->guard_fd < 0)
		return;
	char line[32];
	int n = snprintf(line, sizeof(line), "P%d\n", (int)pid);
	(void)!write(s->guard_fd, line, (size_t)n);
}

/* ---- create ---- */

static int check_reachable(void *arg)
{
	return access((const char *)arg, R_OK | W_OK | X_OK) == 0 ? 0 : 1;
}

/* mkdtemp under the parent, given to the user, 0700. */
static int make_dirs(struct pgscratch *s, const char *parent, char *msg, size_t msglen)
{
	char *tmpl = xasprintf("%s/gate-rehearsal-XXXXXX", parent);
	if (!mkdtemp(tmpl)) {
		snprintf(msg, msglen, "cannot make a scratch directory in %s: %s", parent,
		         strerror(errno));
		free(tmpl);
		return -1;
	}
	s->dir = tmpl;
	s->datadir = xasprintf("%s/data", tmpl);
	s->logfile = xasprintf("%s/server.log", tmpl);
	if (chown(s->dir, s->uid, s->gid) < 0 || chmod(s->dir, 0700) < 0) {
		snprintf(msg, msglen, "cannot prepare the scratch directory %s: %s", s->dir,
		         strerror(errno));
		return -1;
	}
	return 0;
}

static const char *newest_bindir(void);

/* The parent directory, absolute (the server, the tools and the
 * guardian each have another working directory), with room for the
 * restore; NULL with msg. */
static char *check_parent(const char *parent, uint64_t need_bytes, char *msg, size_t msglen)
{
	struct stat st;
	struct statvfs vfs;
	char *abs = NULL;
	if (stat(parent, &st) < 0 || !(abs = realpath(parent, NULL))) {
		snprintf(msg, msglen, "scratch_dir %s: %s", parent, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode))
		snprintf(msg, msglen, "scratch_dir %s: not a directory", parent);
	else if (statvfs(abs, &vfs) < 0)
		snprintf(msg, msglen, "scratch_dir %s: statvfs: %s", parent, strerror(errno));
	else if (pgscratch_space_check(abs, (uint64_t)vfs.f_bavail * vfs.f_frsize, need_bytes, msg,
	                               msglen) == 0)
		return abs;
	free(abs);
	return NULL;
}

static int create_steps(struct pgscratch *s, const struct pgscratch_opts *o, uint64_t need_bytes,
                        char *msg, size_t msglen)
{
	if (lookup_user(s, o->user ? o->user : "postgres", msg, msglen))
		return -1;
	char *parent = check_parent(o->parent_dir ? o->parent_dir : "/var/tmp", need_bytes, msg,
	                            msglen);
	if (!parent)
		return -1;
	if (o->bindir) {
		s->bindir = xstrdup(o->bindir);
		s->bindir_given = 1;
	} else if (newest_bindir()) {
		s->bindir = xstrdup(newest_bindir());
	} else {
		snprintf(msg, msglen,
		         "no PostgreSQL server found under /usr/lib/postgresql (set pg_bindir)");
		free(parent);
		return -1;
	}
	s->port = 5432;
	int r = make_dirs(s, parent, msg, msglen) || start_guardian(s, msg, msglen) ? -1 : 0;
	free(parent);
	/* Checked while the directory is empty: if the user cannot reach
	 * it, root removes it (nothing of the user's is inside). */
	if (r == 0 && as_user(s, check_reachable, s->dir) != 0) {
		snprintf(msg, msglen,
		         "user %s cannot reach the scratch directory %s: a directory above it "
		         "is not searchable by that user (choose a scratch_dir it can reach, "
		         "e.g. /var/tmp)",
		         s->user, s->dir);
		return -1;
	}
	if (r == 0 && (mkdir(s->datadir, 0700) < 0 || chown(s->datadir, s->uid, s->gid) < 0)) {
		snprintf(msg, msglen, "cannot make %s: %s", s->datadir, strerror(errno));
		r = -1;
	}
	return r;
}

int pgscratch_create(struct pgscratch *s, const struct pgscratch_opts *o, uint64_t need_bytes,
                     char *msg, size_t msglen)
{
	memset(s, 0, sizeof(*s));
	s->guard_fd = s->pm_pidfd = -1;
	s->stop_ms = s->cleanup_ms = -1;
	s->deadline_ms = o->deadline_ms;
	if (create_steps(s, o, need_bytes, msg, msglen) == 0)
		return 0;
	pgscratch_destroy(s);
	return -1;
}

/* ---- the newest PostgreSQL ---- */

static char newest[PATH_MAX];

static const char *newest_bindir(void)
{
	int best = -1;
	for (int v = 8; v < 100; v++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "/usr/lib/postgresql/%d/bin/postgres", v);
		if (access(path, X_OK) == 0)
			best = v;
	}
	if (best < 0)
		return NULL;
	snprintf(newest, sizeof(newest), "/usr/lib/postgresql/%d/bin", best);
	return newest;
}

/* ---- tools as the user ---- */

extern char **environ;

/* Variables of gate's environment the tools and the server keep: where
 * programs are, the locale and zone, and pgBackRest's own configuration
 * (PGBACKREST_*: a repository's location or key may be given so).
 * Nothing else of gate's (another check's password) reaches a process
 * of the scratch user. */
static int kept_var(const char *e)
{
	static const char *const keep[] = {
		"PATH=", "TZ=", "LANG=", "LC_ALL=", "LC_CTYPE=", "PGBACKREST_"};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (!strncmp(e, keep[i], strlen(keep[i])))
			return 1;
	return 0;
}

char **pgs_env(const struct pgscratch *s)
{
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	char **env = xcalloc(n + 5, sizeof(char *));
	int path = 0;
	for (size_t i = 0; i < n; i++)
		if (kept_var(environ[i])) {
			path |= !strncmp(environ[i], "PATH=", 5);
			env[k++] = xstrdup(environ[i]);
		}
	if (!path)
		env[k++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
	env[k++] = xasprintf("HOME=%s", s->home ? s->home : "/");
	env[k++] = xasprintf("USER=%s", s->user ? s->user : "");
	env[k++] = xasprintf("LOGNAME=%s", s->user ? s->user : "");
	env[k] = NULL;
	return env;
}

/* The line of a tool's stderr that says why: the first with an error's
 * mark, else the last. */
static void why_line(const char *err, char *buf, size_t len)
{
	static const char *const marks[] = {"ERROR:", "error:", "FATAL:", "fatal:"};
	const char *pick = NULL, *last = NULL;
	size_t pn = 0, ln = 0;
	for (const char *l = err ? err : ""; *l;) {
		size_t n = strcspn(l, "\n");
		for (size_t i = 0; !pick && i < 4; i++)
			if (memmem(l, n, marks[i], strlen(marks[i])))
				pick = l, pn = n;
		if (strspn(l, " \t\r") < n)
			last = l, ln = n;
		l += n + (l[n] == '\n');
	}
	if (!pick)
		pick = last, pn = ln;
	while (pick && pn && (*pick == ' ' || *pick == '\t'))
		pick++, pn--;
	snprintf(buf, len, "%.*s", pick ? (int)pn : 0, pick ? pick : "");
}

int64_t pgs_budget_end(const struct pgscratch *s)
{
	if (s->deadline_ms <= 0)
		return gate_mono_ms() + 3600000;
	int64_t left = s->deadline_ms - gate_mono_ms();
	int64_t margin = left / 10 > 1000 ? 1000 : left / 10;
	return s->deadline_ms - margin;
}

int pgscratch_run_as_user(struct pgscratch *s, char *const argv[], char **out, size_t max_out,
                          char *msg, size_t msglen)
{
	struct spawn_ids ids;
	pgs_ids(s, &ids);
	char **env = pgs_env(s);
	int64_t left = pgs_budget_end(s) - gate_mono_ms();
	struct proc_opts o = {.timeout_ms = left > 1 ? left : 1,
	                      .max_out = out && max_out ? max_out : 1,
	                      .max_err = 256u << 10,
	                      .env_add = env,
	                      .env_clear = 1,
	                      .ids = s->switch_ids ? &ids : NULL,
	                      .cwd = s->dir};
	struct proc_result pr;
	proc_run(argv, &o, &pr);
	strv_free(env);
	const char *tool = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int ok = pr.started && pr.exited && !pr.timed_out && pr.exit_code == 0;
	if (!ok) {
		char why[400];
		why_line(pr.err, why, sizeof(why));
		if (pr.started && pr.exited && !pr.timed_out)
			snprintf(msg, msglen, "%s exited %d%s%s", tool, pr.exit_code,
			         *why ? ": " : "", why);
		else
			snprintf(msg, msglen, "%s%s%s", proc_describe(&pr, tool), *why ? ": " : "",
			         why);
	}
	if (out && ok) {
		*out = pr.out;
		pr.out = NULL;
	}
	proc_result_release(&pr);
	return ok ? 0 : -1;
}

/* ---- destroy ---- */

/* Wait for our child pid (pidfd fd) to exit, up to ms.  1 reaped. */
static int reap_within(pid_t pid, int fd, int64_t ms)
{
	int64_t end = gate_mono_ms() + ms;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return 1;
		int64_t left = end - gate_mono_ms();
		if (left <= 0)
			return 0;
		if (fd >= 0) {
			struct pollfd pf = {.fd = fd, .events = POLLIN};
			poll(&pf, 1, left > LOOK_MS * 10 ? LOOK_MS * 10 : (int)left);
		} else {
			poll(NULL, 0, LOOK_MS);
		}
	}
}

void pgs_stop_server(struct pgscratch *s)
{
	if (s->postmaster <= 0)
		return;
	static const int sigs[] = {SIGINT, SIGQUIT, SIGKILL};
	static const int64_t graces[] = {GRACE_FAST_MS, GRACE_QUIT_MS, GRACE_KILL_MS};
	for (int i = 0; i < 3; i++) {
		kill(s->postmaster, sigs[i]);
		if (reap_within(s->postmaster, s->pm_pidfd, graces[i]))
			break;
	}
	if (s->pm_pidfd >= 0)
		close(s->pm_pidfd);
	s->pm_pidfd = -1;
	s->postmaster = 0;
}

void pgscratch_destroy(struct pgscratch *s)
{
	if (!s)
		return;
	int64_t t0 = gate_mono_ms();
	if (s->postmaster > 0) {
		pgs_stop_server(s);
		s->stop_ms = gate_mono_ms() - t0;
	}
	t0 = gate_mono_ms();
	if (s->dir) {
		char msg[256];
		pgs_remove_tree(s, s->dir, msg, sizeof(msg));
		s->cleanup_ms = gate_mono_ms() - t0;
	}
	if (s->guard_fd >= 0)
		close(s->guard_fd);
	s->guard_fd = -1;
	if (s->guardian > 0)
		reap_within(s->guardian, -1, GRACE_FAST_MS);
	s->guardian = 0;
	free(s->dir);
	free(s->datadir);
	free(s->logfile);
	free(s->bindir);
	free(s->groups);
	free(s->home);
	free(s->user);
	s->dir = s->datadir = s->logfile = s->bindir = s->home = s->user = NULL;
	s->groups = NULL;
	s->ngroups = 0;
}
