/* SPDX-License-Identifier: MIT */
/*
 * <gate/module.h> -- the check-module interface of gate.
 *
 * A check module is a table of check types.  Built-in modules (checks/, one file per family)
 * and external shared objects use this same header.  An external module is
 * a shared object that exports exactly one symbol, `gate_module`, a
 * `const struct gate_module`; build it with -fvisibility=hidden and
 * GATE_MODULE_DEFINE() (see examples/module/).
 *
 * Lifecycle.  gate loads the module, checks `abi_version`, validates each
 * runbook check's `with:` parameters against the type's parameter table
 * (types, units, unknown names, required ones) and then calls `validate`
 * (optional) for cross-parameter rules.  At run time each check attempt
 * runs in its own child process: `run` is called there with the normalised
 * parameters and fills the result (a module that sets GATE_MF_THREADED_RUN,
 * ABI 1.2, may have several of its checks run as threads of one child).
 * The child may block, crash or hang: the core owns the deadline, kills the
 * child and records `error`.  A module
 * should still bound its own waits (libpq connect_timeout, curl timeouts)
 * by env->timeout_ms, so its message says what timed out.
 *
 * Fail closed.  The result starts as GATE_ERROR with the summary "module
 * returned no result"; a `run` that returns without setting a status is an
 * error, never a pass.
 *
 * ABI rules (see gate/MODULE-API.md for the changelog).  Version is
 * (major << 16) | minor.  A module whose major differs from the core's is
 * refused; so is one whose minor is newer than the core's.  Fields and enum
 * values are only ever appended; none is removed, reordered or reused.
 */
#ifndef GATE_MODULE_H
#define GATE_MODULE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GATE_MKVERSION(major, minor) ((uint32_t)(((major) << 16) | (minor)))
#define GATE_ABI_MAJOR 1
#define GATE_ABI_MINOR 2
#define GATE_ABI_VERSION GATE_MKVERSION(GATE_ABI_MAJOR, GATE_ABI_MINOR)
#define GATE_ABI_VERSION_MAJOR(v) ((uint32_t)(v) >> 16)
#define GATE_ABI_VERSION_MINOR(v) ((uint32_t)(v)&0xffffu)

/* The name of the one symbol an external module exports. */
#define GATE_MODULE_SYMBOL "gate_module"

/* What a check attempt found.  Append only. */
enum gate_status {
	GATE_PASS = 0,  /* the condition holds */
	GATE_FAIL = 1,  /* it ran, and the condition is false */
	GATE_ERROR = 2, /* it could not tell: timeout, refused, unparsable... */
	GATE_SKIP = 3,  /* no opinion; never counts as a pass for a blocking check */
	_GATE_STATUS_FORCE_INT = INT32_MAX
};

/* Parameter value types.  What `run` receives in `params` (a JSON object)
 * after the core has parsed and normalised the runbook's YAML: */
enum gate_param_type {
	GATE_P_STRING = 1,      /* JSON string */
	GATE_P_INT = 2,         /* JSON integer */
	GATE_P_BOOL = 3,        /* JSON true/false; YAML `true`/`false` only */
	GATE_P_DURATION = 4,    /* JSON integer, milliseconds ("1h30m" -> 5400000) */
	GATE_P_SIZE = 5,        /* JSON integer, bytes ("16MiB" -> 16777216) */
	GATE_P_NUMBER = 6,      /* JSON integer or real */
	GATE_P_STRING_LIST = 7, /* JSON array of strings (a YAML sequence) */
	GATE_P_STRING_MAP = 8,  /* JSON object of strings (a YAML mapping) */
	GATE_P_ENUM = 9,        /* JSON string, one of `choices` ("GET|HEAD|POST") */
	GATE_P_JSON = 10,       /* any YAML value mapped to JSON (plain scalars typed
	                     * by the YAML core schema; quoted ones are strings) */
	GATE_P_INT_LIST = 11,   /* JSON array of integers */
	_GATE_P_FORCE_INT = INT32_MAX
};

/* Parameter flags. */
#define GATE_PF_REQUIRED 0x1u /* must be given */
#define GATE_PF_SECRET 0x2u   /* value is never shown (reports show "***") */

struct gate_param {
	const char *name;
	enum gate_param_type type;
	unsigned flags;
	/* Default as YAML text, parsed like a runbook value: "16MiB", "60s",
	 * "true", "[full, diff, incr]", "[200]".  NULL: no default; the
	 * parameter is then absent from `params` unless given. */
	const char *default_value;
	const char *choices; /* GATE_P_ENUM: "a|b|c"; else NULL */
	const char *doc;     /* one or two sentences for `gate checks TYPE` */
};

/* Given to `run`. */
struct gate_run_env {
	uint32_t abi_version; /* the core's GATE_ABI_VERSION */
	const char *check_id; /* the runbook's id for this check */
	int64_t timeout_ms;   /* this attempt's budget */
	int64_t deadline_ms;  /* CLOCK_MONOTONIC, in ms: the child is killed then */
	int verbose;
};

#define GATE_SUMMARY_MAX 512

/* Filled by `run`.  `details` is an empty JSON object created by the core;
 * the module adds members to it (numbers per replica, the tool's stderr...).
 * The core owns and frees it. */
struct gate_result {
	enum gate_status status;
	char summary[GATE_SUMMARY_MAX]; /* one line, no trailing period */
	json_t *details;
};

struct gate_check_type {
	const char *name;                /* "postgres.replica": [a-z0-9][a-z0-9._-]* */
	const char *summary;             /* one line for `gate checks` */
	const char *doc;                 /* a paragraph for `gate checks TYPE`, or NULL */
	const struct gate_param *params; /* terminated by an entry with name NULL */
	/* Optional: rules the table cannot say (one of two params required...).
	 * Return 0 if valid; else -1, with *param set to the parameter at
	 * fault (or NULL for the whole `with:`) and a lowercase message. */
	int (*validate)(const json_t *params, const char **param, char *msg, size_t msglen);
	/* Run one attempt, in a child process. */
	void (*run)(const json_t *params, const struct gate_run_env *env, struct gate_result *res);
};

struct gate_module {
	uint32_t abi_version; /* GATE_ABI_VERSION of the header it was built with */
	const char *name;     /* "postgres", "example" */
	const char *version;  /* the module's own version string */
	const struct gate_check_type *types;
	size_t ntypes;
	/* ABI 1.1: the names of this module's types that are restore
	 * rehearsals, NULL-terminated, or NULL for none.  `gate rehearse` runs
	 * a runbook's checks of these types and keeps a record of each result
	 * (the `rehearsal` member of its details goes into the record); a core
	 * reads this field only from a module built for 1.1 or later. */
	const char *const *rehearsals;
	/* ABI 1.2: GATE_MF_* flags, 0 for none; a core reads this field only
	 * from a module built for 1.2 or later. */
	uint32_t flags;
};

/* ABI 1.2, in gate_module.flags: `run` may be called from several threads
 * of one process at once, each call with its own params, env and result
 * (nothing one call writes is shared with another; the libraries it uses
 * are thread-safe).  The core then runs the first attempts of a
 * runbook's checks of this module that start together in ONE child
 * process, a thread each, instead of a child each.  Each check keeps its
 * own deadline (env->deadline_ms) and its own result; a check past its
 * deadline is a timeout while the others go on; a crash of that child is
 * an error for each of its checks that had not sent its result yet.
 * Retries run one child per attempt, as without the flag. */
#define GATE_MF_THREADED_RUN 0x1u

#if defined(__GNUC__)
#define GATE_EXPORT __attribute__((visibility("default")))
#else
#define GATE_EXPORT
#endif

/* In an external module:
 *   GATE_MODULE_DEFINE("example", "1.0", my_types);
 * where my_types is an array of struct gate_check_type. */
#define GATE_MODULE_DEFINE(mname, mversion, typearray)                                      \
	GATE_EXPORT const struct gate_module gate_module = {GATE_ABI_VERSION,               \
	                                                    (mname),                        \
	                                                    (mversion),                     \
	                                                    (typearray),                    \
	                                                    sizeof(typearray) /             \
	                                                            sizeof((typearray)[0]), \
	                                                    NULL,                           \
	                                                    0}

/* ---- small helpers, inline so modules need no symbol from the core ---- */

static inline const char *gate_param_str(const json_t *params, const char *name)
{
	return json_string_value(json_object_get(params, name));
}

static inline int64_t gate_param_int(const json_t *params, const char *name, int64_t dflt)
{
	const json_t *v = json_object_get(params, name);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static inline int gate_param_bool(const json_t *params, const char *name, int dflt)
{
	const json_t *v = json_object_get(params, name);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static inline int gate_param_given(const json_t *params, const char *name)
{
	return json_object_get(params, name) != NULL;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline void
gate_result_set(struct gate_result *res, enum gate_status status, const char *fmt, ...)
{
	va_list ap;
	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->summary, sizeof(res->summary), fmt, ap);
	va_end(ap);
}

#ifdef __cplusplus
}
#endif
#endif /* GATE_MODULE_H */
