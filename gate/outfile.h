/* SPDX-License-Identifier: MIT */
/*
 * Files gate writes by name (the -o report): gate often runs as root, in
 * directories others may write to, so a name is never followed through a
 * symbolic link, never written into anything but a regular file, and
 * replaced whole: the content goes to a new temporary file beside it
 * (mkstemp: O_EXCL, a name nobody can guess, O_CLOEXEC), is fsync'd, and
 * rename(2) puts it in place.  rename replaces the directory entry and
 * never writes through a link planted there in the meantime, and the
 * inode the old name pointed to (a hard link, say) is never written.
 * Library code: never prints, never exits.
 */
#ifndef GATE_OUTFILE_H
#define GATE_OUTFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* 0 when PATH does not exist or is a regular file (not a symbolic link
 * to one); -1 with err saying what it is otherwise. */
int outfile_check(const char *path, struct gate_error *err);

/* Replace PATH by a new file holding data (mode 0644 less the umask).
 * Refuses (-1 with err, nothing written, PATH untouched) what
 * outfile_check refuses; on any failure the temporary file is removed. */
int outfile_replace(const char *path, const char *data, size_t len, struct gate_error *err);

/* A new file beside PATH ("PATH.gate-tmp.XXXXXX", mkostemp) holding data
 * with the given mode, fsync'd and closed: its name (free() it), for the
 * caller to rename or link into place; NULL with err (and nothing left
 * behind) when it could not be written. */
char *outfile_write_beside(const char *path, const char *data, size_t len, mode_t mode,
                           struct gate_error *err);

#endif
