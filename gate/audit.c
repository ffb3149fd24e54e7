/* SPDX-License-Identifier: MIT */
/*
 * Audit records (doc/report.md, "Audit records"): one to the systemd journal and one
 * line to the JSON-lines file, per decision and per command result.
 *
 * - The journal: journald's native protocol (one datagram of FIELD=value
 *   lines, binary-framed values where they hold a newline) written by us
 *   on a non-blocking socket with a deadline, not sd_journal_sendv():
 *   libsystemd returns 0 (success) when /run/systemd/journal/socket does
 *   not exist at all (doc/facts.md, journald), and it blocks in sendmsg()
 *   for as long as journald does not read (a stopped journald fills the
 *   socket's queue after about ten datagrams), which would hang gate
 *   before the command with no deadline at all.  Every field is capped
 *   (JOURNAL_FIELD_MAX), so a record always fits in one datagram; if the
 *   kernel still refused it, the journal sink would count as failed.
 * - The files (the runbook's audit.file and --audit-log, each): opened
 *   O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC|O_NOFOLLOW, mode 0600, a regular
 *   file only, the whole line in one write(2) (so concurrent gates never
 *   interleave within a line), fsync(2) before returning: the record is on
 *   disk before the command runs.
 *
 * Every value is redacted.  Never prints: the caller learns what failed
 * from the return value, st and err.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "audit.h"
#include "redact.h"
#include "report.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"
#include "kit/text.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
/* How long journald may take to accept one record before it counts as
 * unreachable (then a required audit blocks). */
#define JOURNAL_DEADLINE_MS 3000
/* Longest value of one field: the journal is for people and tools
 * grepping it; the file keeps the whole report. */
#define JOURNAL_FIELD_MAX (16 * 1024)

int audit_journal_available(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, JOURNAL_SOCKET, sizeof(JOURNAL_SOCKET));
	int ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static char *user_name(void)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	uid_t uid = getuid();
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_name)
		return xstrdup(res->pw_name);
	return xasprintf("%lu", (unsigned long)uid);
}

static char *host_name(void)
{
	char buf[256];
	if (gethostname(buf, sizeof(buf)) < 0)
		return xstrdup("unknown");
	buf[sizeof(buf) - 1] = '\0';
	return xstrdup(buf);
}

/* "a,b" of the checks that did not pass (fail, error, skip), any severity. */
static char *failed_checks(const struct eval *ev)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < ev->nresults; i++) {
		enum check_status st = ev->results[i].status;
		if (st == CHECK_PASS || st == CHECK_OVERRIDDEN)
			continue;
		strbuf_addf(&sb, "%s%s", sb.len ? "," : "", ev->results[i].id);
	}
	return strbuf_detach(&sb);
}

/* "disk,window" applied; refused or unknown ones as "id(refused)". */
static char *overrides_text(const struct eval *ev)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < ev->noverrides; i++)
		strbuf_addf(&sb, "%s%s%s", sb.len ? "," : "", ev->overrides[i].id,
		            ev->overrides[i].applied ? "" : "(refused)");
	return strbuf_detach(&sb);
}

static char *command_text(const struct eval *ev)
{
	return ev->command ? strv_join(ev->command, " ") : xstrdup("");
}

static const char *record_name(enum audit_kind kind)
{
	return kind == AUDIT_HOLD ? "hold" : kind == AUDIT_RESULT ? "result" : "decision";
}

static char *message(const struct eval *ev, enum audit_kind kind, const char *cmd)
{
	const char *name = ev->rb && ev->rb->name ? ev->rb->name : "?";
	struct strbuf sb = STRBUF_INIT;
	if (kind == AUDIT_HOLD) {
		const char *a = json_string_value(json_object_get(ev->holds, "action"));
		strbuf_addf(&sb, "gate: %s: %s: %s", name, a ? a : "hold",
		            ev->allow ? "done" : "not done");
		for (size_t i = 0; !ev->allow && i < ev->nreasons && i < 3; i++)
			strbuf_addf(&sb, "%s%s", i ? "; " : ": ", ev->reasons[i]);
		for (char *p = sb.buf; p && *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		return strbuf_detach(&sb);
	}
	if (kind == AUDIT_RESULT) {
		strbuf_addf(&sb, "gate: %s: command exited %d after %.1fs", name, ev->exit_status,
		            ev->command_duration_ms / 1000);
		if (*cmd)
			strbuf_addf(&sb, " (%s)", cmd);
		return strbuf_detach(&sb);
	}
	strbuf_addf(&sb, "gate: %s %s (%s%s%s)", ev->allow ? "allow" : "block", name,
	            eval_mode_name(ev->mode), *cmd ? ": " : "", cmd);
	/* a summary line: the first reasons; GATE_BLOCKED_BY has them all */
	size_t shown = ev->nreasons < 3 ? ev->nreasons : 3;
	for (size_t i = 0; !ev->allow && i < shown; i++)
		strbuf_addf(&sb, "%s%s", i ? "; " : ": ", ev->reasons[i]);
	if (!ev->allow && ev->nreasons > shown)
		strbuf_addf(&sb, "; and %zu more", ev->nreasons - shown);
	/* MESSAGE is one line */
	for (char *p = sb.buf; p && *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return strbuf_detach(&sb);
}

struct fields {
	struct strbuf buf; /* the native-protocol datagram */
};

/* FIELD=value, redacted, in journald's native framing: a value holding a
 * newline is sent as NAME\n, its length as 64-bit little endian, the
 * bytes, \n. */
static void field(struct fields *f, const char *name, const char *value)
{
	char *red = redact_string(value ? value : "");
	size_t len = strlen(red);
	if (len > JOURNAL_FIELD_MAX) {
		static const char cut[] = "... (truncated)";
		memcpy(red + JOURNAL_FIELD_MAX - sizeof(cut) + 1, cut, sizeof(cut));
		len = JOURNAL_FIELD_MAX;
	}
	if (!memchr(red, '\n', len)) {
		strbuf_addf(&f->buf, "%s=%s\n", name, red);
	} else {
		unsigned char le[8];
		for (int i = 0; i < 8; i++)
			le[i] = (unsigned char)((uint64_t)len >> (8 * i));
		strbuf_addf(&f->buf, "%s\n", name);
		strbuf_add(&f->buf, (const char *)le, sizeof(le));
		strbuf_add(&f->buf, red, len);
		strbuf_adds(&f->buf, "\n");
	}
	free(red);
}

/* One datagram to journald, waiting at most JOURNAL_DEADLINE_MS for room
 * in its queue.  0, or -1 with errno (ETIMEDOUT when journald is stuck). */
static int journal_send(const char *data, size_t len)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, JOURNAL_SOCKET, sizeof(JOURNAL_SOCKET));
	int sndbuf = 8 * 1024 * 1024; /* best effort, as libsystemd */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	int64_t deadline = gate_mono_ms() + JOURNAL_DEADLINE_MS;
	int rc;
	for (;;) {
		rc = send(fd, data, len, MSG_NOSIGNAL) < 0 ? -1 : 0;
		if (rc == 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			break;
		int64_t left = deadline - gate_mono_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			break;
		}
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		poll(&p, 1,
		     (int)left); /* a datagram socket polls writable when the peer has room */
	}
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int send_journal(const struct eval *ev, enum audit_kind kind, const char *user)
{
	struct fields f = {STRBUF_INIT};
	char *cmd = command_text(ev);
	char *msg = message(ev, kind, cmd);
	char *failed = failed_checks(ev);
	char *ovr = overrides_text(ev);
	char num[64];
	int prio = kind == AUDIT_RESULT ? (ev->exit_status == 0 ? LOG_NOTICE : LOG_WARNING)
	                                : (ev->allow ? LOG_NOTICE : LOG_WARNING);

	field(&f, "MESSAGE", msg);
	field(&f, "MESSAGE_ID",
	      kind == AUDIT_HOLD     ? GATE_MESSAGE_ID_HOLD
	      : kind == AUDIT_RESULT ? GATE_MESSAGE_ID_RESULT
	                             : GATE_MESSAGE_ID_DECISION);
	snprintf(num, sizeof(num), "%d", prio);
	field(&f, "PRIORITY", num);
	field(&f, "SYSLOG_IDENTIFIER", "gate");
	field(&f, "GATE_RECORD", record_name(kind));
	field(&f, "GATE_RUNBOOK", ev->rb && ev->rb->name ? ev->rb->name : "");
	field(&f, "GATE_RUNBOOK_PATH", ev->rb && ev->rb->path ? ev->rb->path : "");
	field(&f, "GATE_DECISION", ev->allow ? "allow" : "block");
	field(&f, "GATE_MODE", eval_mode_name(ev->mode));
	field(&f, "GATE_COMMAND", cmd);
	field(&f, "GATE_USER", user);
	if (getenv("SUDO_USER"))
		field(&f, "GATE_SUDO_USER", getenv("SUDO_USER")); /* who ran sudo gate */
	field(&f, "GATE_FAILED_CHECKS", failed);
	field(&f, "GATE_OVERRIDES", ovr);
	if (ev->noverrides)
		field(&f, "GATE_REASON", ev->override_reason ? ev->override_reason : "");
	if (!ev->allow) {
		char *reasons = strv_join(ev->reasons, "\n");
		field(&f, "GATE_BLOCKED_BY", reasons ? reasons : "");
		free(reasons);
	}
	if (kind == AUDIT_RESULT && ev->have_exit_status) {
		snprintf(num, sizeof(num), "%d", ev->exit_status);
		field(&f, "GATE_EXIT_STATUS", num);
	}
	snprintf(num, sizeof(num), "%.0f",
	         kind == AUDIT_RESULT ? ev->command_duration_ms : ev->duration_ms);
	field(&f, "GATE_DURATION_MS", num);
	if (ev->holds) {
		/* locks, maintenance items, how it was confirmed */
		char *h = json_dumps(ev->holds, JSON_COMPACT | JSON_SORT_KEYS);
		field(&f, "GATE_HOLDS", h ? h : "");
		free(h);
		const char *how = json_string_value(
			json_object_get(json_object_get(ev->holds, "confirm"), "how"));
		if (how)
			field(&f, "GATE_CONFIRMED", how);
	}

	if (ev->notifications) {
		/* what became of the notifications (gate/notify.h) */
		char *n = json_dumps(ev->notifications, JSON_COMPACT | JSON_SORT_KEYS);
		field(&f, "GATE_NOTIFICATIONS", n ? n : "");
		free(n);
	}

	int rc = journal_send(f.buf.buf, f.buf.len);
	int e = errno;
	strbuf_release(&f.buf);
	free(cmd);
	free(msg);
	free(failed);
	free(ovr);
	errno = e;
	return rc;
}

/* The JSON line: the report's fields plus record, user, host. */
static char *file_line(const struct eval *ev, enum audit_kind kind, const char *user)
{
	json_t *o = report_json(ev);
	char *host = host_name();
	json_object_set_new(o, "record", json_string(record_name(kind)));
	json_object_set_new(o, "user", json_string(user));
	if (getenv("SUDO_USER"))
		json_object_set_new(o, "sudo_user", json_string(getenv("SUDO_USER")));
	json_object_set_new(o, "host", json_string(host));
	free(host);
	redact_json(o);
	char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(o);
	/* DEL and C1 controls as \u escapes: `tail -f` of the file shows
	 * them safely (kit/text.h). */
	struct strbuf sb = STRBUF_INIT;
	text_safe_json(&sb, line ? line : "{}");
	strbuf_adds(&sb, "\n");
	free(line);
	return strbuf_detach(&sb);
}

static int write_file(const char *path, const char *line, struct gate_error *err)
{
	/* Never through a symbolic link (root appending to whatever a link
	 * in a shared directory points at), never to a FIFO or a device. */
	int fd = open(path,
	              O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
	                      O_NOCTTY,
	              0600);
	if (fd < 0) {
		gate_error_set(err, NULL, 0, 0, "cannot write audit log %s: %s", path,
		               errno == ELOOP ? "a symbolic link (gate does not write through one)"
		               : errno == ENXIO ? "not a regular file"
		                                : strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		gate_error_set(err, NULL, 0, 0, "cannot write audit log %s: not a regular file",
		               path);
		close(fd);
		return -1;
	}
	size_t len = strlen(line);
	ssize_t w;
	do
		w = write(fd, line, len);
	while (w < 0 && errno == EINTR);
	int e = errno;
	if (w < 0 || (size_t)w != len) {
		/* A short write leaves a partial line: say so, the next
		 * reader must not trust it to be complete. */
		gate_error_set(err, NULL, 0, 0, "cannot write audit log %s: %s", path,
		               w < 0 ? strerror(e) : "short write");
		close(fd);
		return -1;
	}
	if (fsync(fd) < 0) {
		e = errno;
		gate_error_set(err, NULL, 0, 0, "cannot sync audit log %s: %s", path, strerror(e));
		close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		e = errno;
		gate_error_set(err, NULL, 0, 0, "cannot close audit log %s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

int audit_record(const struct eval *ev, enum audit_kind kind, const char *file,
                 struct audit_status *st, struct gate_error *err)
{
	const char *files[] = {file, NULL};
	return audit_record_files(ev, kind, files, st, err);
}

int audit_record_files(const struct eval *ev, enum audit_kind kind, const char *const *files,
                       struct audit_status *st, struct gate_error *err)
{
	struct audit_status local = {0};
	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	char *user = user_name();
	int rc = 0;

	/* The files first: they are the sinks a required audit is about, so
	 * their error is the one err reports.  Every file is written, also
	 * after one failed. */
	st->file_ok = 1;
	char *line = NULL;
	for (size_t i = 0; files && files[i]; i++) {
		st->have_file = 1;
		if (!line)
			line = file_line(ev, kind, user);
		if (write_file(files[i], line, err) < 0) {
			if (st->file_ok)
				st->failed_file = files[i];
			st->file_ok = 0;
			rc = -1;
		}
	}
	free(line);

	if (!audit_journal_available()) {
		gate_error_set(err, NULL, 0, 0, "no systemd journal at %s", JOURNAL_SOCKET);
		rc = -1;
	} else if (send_journal(ev, kind, user) < 0) {
		if (errno == ETIMEDOUT)
			gate_error_set(err, NULL, 0, 0,
			               "the systemd journal did not take the record within %ds",
			               JOURNAL_DEADLINE_MS / 1000);
		else
			gate_error_set(err, NULL, 0, 0, "cannot send to the systemd journal: %s",
			               strerror(errno));
		rc = -1;
	} else {
		st->journal_ok = 1;
	}
	free(user);
	return rc;
}
