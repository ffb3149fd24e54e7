/* SPDX-License-Identifier: MIT */
/*
 * The runbook: a YAML file (doc/runbook.md, doc/gate-runbook.5) loaded
 * with libyaml into plain data.  The loader resolves includes, variables, durations,
 * sizes, windows and freezes, and validates every check's `with:` against
 * its type's parameter table from the registry.  It never prints, never
 * exits, and links no check library (no libpq, libcurl, sd-bus).
 */
#ifndef GATE_RUNBOOK_H
#define GATE_RUNBOOK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "error.h"
#include "values.h" /* parse_duration_ms ...: the runbook's values */

struct gate_registry;
struct gate_check_type;
struct lock_kind;
struct maint_kind;

/* Loading limits (doc/runbook.md, "Loading limits"). */
#define RUNBOOK_MAX_FILE_SIZE (1024 * 1024)
#define RUNBOOK_MAX_DEPTH 64
#define RUNBOOK_MAX_ALIASES 64
#define RUNBOOK_MAX_CHECKS 10000
#define RUNBOOK_MAX_INCLUDE_DEPTH 16

#define RUNBOOK_DEFAULT_TIMEOUT_MS (120 * 1000)
#define CHECK_DEFAULT_TIMEOUT_MS (30 * 1000)
#define CHECK_DEFAULT_RETRY_DELAY_MS (5 * 1000)

struct rb_pos {
	const char *file; /* points into runbook.files[] */
	int line, col;    /* 1-based */
};

enum rb_severity { RB_SEVERITY_BLOCK = 0, RB_SEVERITY_WARN = 1 };

struct rb_check {
	char *id;
	char *type;
	char *description; /* may be NULL */
	enum rb_severity severity;
	int64_t timeout_ms; /* per attempt */
	int retries;        /* extra attempts */
	int64_t retry_delay_ms;
	int overridable;
	char *hint;                       /* may be NULL */
	json_t *params;                   /* normalised `with:`, defaults filled (module.h) */
	const struct gate_check_type *ct; /* NULL when the type's module failed to load */
	char *unavailable;                /* when ct is NULL: why (module load error) */
	struct rb_pos pos;                /* of the check's mapping */
	/* Appended: the check sets `timeout:` itself (gate rehearse gives a
	 * restore rehearsal without one a longer default). */
	int timeout_given;
	/* Appended: the module providing ct (its ABI and flags), or NULL. */
	const struct gate_module *mod;
};

struct rb_window {
	unsigned days;  /* bit 0 = monday ... bit 6 = sunday */
	int start_min;  /* minutes after midnight */
	int end_min;    /* end < start: crosses midnight; end == start: 24h */
	char *timezone; /* IANA name, or NULL: local time */
	int overridable;
	struct rb_pos pos;
};

struct rb_freeze {
	int64_t from_ms, to_ms; /* epoch ms, [from, to) */
	char *reason;           /* may be NULL */
	int overridable;
	struct rb_pos pos;
};

/* A `lock:` or `maintenance:` item: its kind (exactly one of the two is
 * set) and its keys, converted by the kind's parameter table. */
struct rb_hold {
	const struct lock_kind *lock;
	const struct maint_kind *maint;
	json_t *params;
	char *label; /* "file /run/lock/db.lock": the kind and its naming value, redacted */
	struct rb_pos pos;
};

/* A `notify:` item (gate/notify.h, doc/runbook.md "Notifications"). */
struct rb_notify {
	char *url;       /* resolved; may hold a secret: never shown as is */
	unsigned events; /* NOTIFY_EVENT_BIT()s */
	int chat;        /* format: chat (else json) */
	int64_t timeout_ms;
	char **headers; /* NULL-terminated "Name: value" lines (values may be secrets) */
	struct rb_pos pos;
};

enum rb_confirm { RB_CONFIRM_NONE = 0, RB_CONFIRM_HOSTNAME = 1, RB_CONFIRM_SSH = 2 };

struct runbook {
	char *path; /* as given */
	char *name;
	char *description;     /* may be NULL */
	char **command;        /* NULL-terminated argv, or NULL */
	char **allow_commands; /* NULL-terminated globs, or NULL when absent */
	int64_t timeout_ms;
	struct rb_window *windows;
	size_t nwindows; /* window pseudo-check exists iff nwindows > 0 */
	struct rb_freeze *freezes;
	size_t nfreezes;
	struct rb_check *checks;
	size_t nchecks;
	char *audit_file; /* may be NULL */
	int audit_required;
	char **files; /* NULL-terminated: the runbook, then each included file */
	size_t nfiles;
	char **warnings; /* NULL-terminated non-fatal notes (e.g. an untrusted file for lint) */
	size_t nwarnings;
	/* Appended: NULL-terminated values substituted from ${env:...} into a
	 * GATE_PF_SECRET or GATE_P_STRING_MAP parameter (tokens in HTTP
	 * headers), for the CLI to register with redact; NULL when none. */
	char **secrets;
	size_t nsecrets;
	/* Appended: what gate holds around the command (gate/hold.h,
	 * doc/runbook.md "Locks, re-check, confirmation, maintenance"). */
	struct rb_hold *locks; /* `lock:`, in the order written */
	size_t nlocks;
	struct rb_hold *maint; /* `maintenance:`, in the order written */
	size_t nmaint;
	char **recheck; /* NULL-terminated check ids; NULL: no re-check */
	size_t nrecheck;
	int recheck_all; /* `recheck: all` (recheck then lists every id) */
	enum rb_confirm confirm;
	/* Appended: `notify:`, in the order written (gate/notify.h). */
	struct rb_notify *notify;
	size_t nnotify;
	/* Appended: the runbook sets `timeout:` itself (gate rehearse). */
	int timeout_given;
};

/* --var NAME=VALUE from the command line: they replace runbook vars. */
struct rb_var {
	const char *name;
	const char *value;
};

struct runbook_load_opts {
	const struct rb_var *vars;
	size_t nvars;
	/* 1 when the caller will run checks (run, run --dry-run, check,
	 * hook run): a file that is not trusted (trust.h: owner, group or
	 * other write on it or its directory) is then an error; 0 (lint): a
	 * warning in rb->warnings. */
	int strict_permissions;
};

/* Load and validate.  0 on success; -1 with err set (file:line:col).  On
 * failure rb holds nothing that needs freeing beyond runbook_release(). */
int runbook_load(struct runbook *rb, const char *path, const struct runbook_load_opts *opts,
                 struct gate_registry *reg, struct gate_error *err);
/* The same for a policy, a file meant to be included (doc/runbook.md,
 * "Includes"): an included file's rules (version and name optional, the
 * runbook-only keys refused), and no checks of its own is valid when it
 * adds a window or a freeze.  For `gate lint`: run and check load
 * runbooks, which need checks. */
int runbook_load_policy(struct runbook *rb, const char *path, const struct runbook_load_opts *opts,
                        struct gate_registry *reg, struct gate_error *err);
void runbook_release(struct runbook *rb);

/* Does the argv match one of the allow_commands patterns?  (1 also when
 * the runbook has none.)  A pattern is split into words at blanks and
 * matched word by word, fnmatch(3) per argument: a `*` inside a word never
 * crosses into the next argument, and only a lone trailing `*` word
 * matches any further arguments (zero or more). */
int runbook_command_allowed(const struct runbook *rb, char *const *argv);
int runbook_pattern_matches(const char *pattern, char *const *argv);

#endif
