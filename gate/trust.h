/* SPDX-License-Identifier: MIT */
/*
 * Trust in the files that say what gate runs: runbooks, the policies they
 * include and check modules, checked the way doas and sudo check their
 * configuration.  A file is trusted when
 *  - it is owned by root, or by the user gate runs as when that is not
 *    root (root is always accepted: a root-owned file can only have been
 *    written by root);
 *  - it is not writable by group or others;
 *  - the directory it sits in passes the same two tests (whoever can
 *    write the directory can replace the file).  A world-writable
 *    directory is refused even with the sticky bit (/tmp): keep
 *    runbooks and modules in a directory of their own.
 * For a symbolic link both the directory of the name given and the
 * directory of the file it leads to are checked.
 *
 * The test is made on an open file descriptor (fstat), and the caller
 * reads (or dlopens, through /proc/self/fd) that same descriptor: the
 * file cannot be swapped between the test and its use.  Never prints.
 */
#ifndef GATE_TRUST_H
#define GATE_TRUST_H

#include <sys/types.h>

#include "error.h"

/* What a file is for, in the message ("would ..."). */
enum trust_kind {
	TRUST_RUNBOOK, /* a runbook or an included policy */
	TRUST_MODULE,  /* a check module (.so) */
	TRUST_HOOKS,   /* .gate/hooks.yaml: which pushes need which runbook */
};

/* Open path for reading to be checked and used: O_RDONLY, close-on-exec,
 * never blocking on a FIFO, never taking a terminal.  -1 with err set. */
int trust_open(const char *path, struct gate_error *err);

/* Check fd, opened from path, as above for a process running as user
 * `me` (geteuid()).  0: trusted; -1 with err (file = path) saying what is
 * wrong and the command that fixes it. */
int trust_check_fd(int fd, const char *path, enum trust_kind kind, uid_t me,
                   struct gate_error *err);

/* Where trust_dlopen stopped. */
enum trust_dl_step {
	TRUST_DL_OPEN = 1,  /* the file could not be opened */
	TRUST_DL_TRUST = 2, /* trust_check_fd refused it: never loaded */
	TRUST_DL_LOAD = 3,  /* dlopen refused it */
};

/* Load the shared object at path the only way gate loads one: opened
 * (trust_open), checked as TRUST_MODULE for geteuid() BEFORE anything of
 * it runs (its constructors run inside dlopen), then dlopen'ed through
 * that very descriptor, /proc/self/fd/N (RTLD_NOW | RTLD_LOCAL), so the
 * file cannot be swapped in between.  The handle, with *fd the
 * descriptor, which must stay open while the object is loaded (the
 * loader knows it by that name); NULL with *step and err->msg saying why
 * (without the path; dlopen's own "/proc/self/fd/N: " taken off). */
void *trust_dlopen(const char *path, int *fd, enum trust_dl_step *step, struct gate_error *err);

#endif
