/* SPDX-License-Identifier: MIT */
/* Where gate's own shared objects are: the built-in check families and
 * the internal parts, found relative to the running executable so that
 * the build tree and any install prefix work alike.  Never prints. */
#ifndef GATE_SELFDIR_H
#define GATE_SELFDIR_H

/* The families directory, resolved (realpath) from the directory of
 * /proc/self/exe and GATE_FAMILY_RELDIR; malloc'd, or NULL with errno
 * set when it cannot be resolved (then no family can be loaded, and a
 * check that needs one is an error). */
char *gate_family_dir(void);

#endif
