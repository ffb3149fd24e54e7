/* SPDX-License-Identifier: MIT */
/*
 * Shell wrappers (`gate wrap`): a small #!/bin/sh script DIR/NAME that puts
 * the real command NAME behind a runbook, the way molly-guard shadows
 * shutdown from /usr/local/sbin:
 *
 *   #!/bin/sh
 *   # gate-wrapper v1: runbook=/etc/gate/runbooks/reboot.yaml real=/usr/sbin/shutdown
 *   ...
 *   exec '/usr/bin/gate' run '/etc/gate/runbooks/reboot.yaml' -- '/usr/sbin/shutdown' "$@"
 *
 * The marker line is how gate recognises its own files: list shows only
 * them, remove deletes only them, install overwrites only them.
 * Library code: never prints, never exits.
 */
#ifndef GATE_WRAP_H
#define GATE_WRAP_H

#include <stddef.h>

#include "error.h"

#define WRAP_DEFAULT_DIR "/usr/local/sbin"
#define WRAP_MARKER "# gate-wrapper v1: "

struct wrap_info {
	char *name;    /* file name in the directory */
	char *path;    /* DIR/NAME */
	char *runbook; /* absolute path of the runbook */
	char *real;    /* absolute path of the real command */
};

void wrap_info_release(struct wrap_info *wi);

/* Is PATH one of gate's wrappers?  1 (wi filled when not NULL), 0 when it
 * exists but is something else (or cannot be read as one), -1 with err
 * when it cannot be opened (errno ENOENT: it does not exist). */
int wrap_read(const char *path, struct wrap_info *wi, struct gate_error *err);

/* Find NAME in path_env (a PATH value) as the wrapper would run it: absolute
 * directories only, skipping skip_dir (compared after realpath) and every
 * gate wrapper.  Symbolic links are kept as they are (systemctl, busybox
 * and friends look at argv[0]).  0 with *out (malloc'd), or -1 with err. */
int wrap_resolve_real(const char *name, const char *path_env, const char *skip_dir, char **out,
                      struct gate_error *err);

struct wrap_install_opts {
	const char *name;     /* the command to wrap, a plain file name */
	const char *runbook;  /* as given; made absolute */
	const char *dir;      /* where the wrapper goes; NULL: WRAP_DEFAULT_DIR */
	const char *real;     /* the real command; NULL: resolved in path_env */
	const char *path_env; /* PATH to resolve in; NULL: getenv("PATH") */
	const char *gate;     /* absolute gate binary; NULL: /proc/self/exe */
};

/* Write the wrapper atomically (temporary file, then link or rename), mode
 * 0755.  Refuses to wrap gate itself, to wrap a wrapper, and to replace a
 * file that is not a gate wrapper.  Replacing an existing gate wrapper
 * updates it.  0 with *result filled (caller releases), -1 with err. */
int wrap_install(const struct wrap_install_opts *o, struct wrap_info *result,
                 struct gate_error *err);

/* The gate wrappers in dir, sorted by name.  A missing dir is an empty list. */
int wrap_list(const char *dir, struct wrap_info **out, size_t *n, struct gate_error *err);
void wrap_list_free(struct wrap_info *list, size_t n);

/* Delete dir/name if and only if it is a gate wrapper. */
int wrap_remove(const char *dir, const char *name, struct gate_error *err);

/* Shared with `gate hook install`: write content to path atomically with
 * mode 0755.  When path exists and does not contain marker, refuse unless
 * force (then the old file is kept as PATH.gate-backup).  0 or -1 with err. */
int write_script_atomic(const char *path, const char *content, const char *marker, int force,
                        struct gate_error *err);

/* s quoted for /bin/sh ('...' with ' as '\''), appended to a new string. */
char *sh_quote(const char *s);

/* PATH made absolute without resolving a symbolic link in its last
 * component (the directory part is resolved).  NULL with err. */
char *path_absolute(const char *path, struct gate_error *err);

/* The running gate binary (/proc/self/exe), or NULL with err. */
char *gate_self_exe(struct gate_error *err);

#endif
