/* SPDX-License-Identifier: MIT */
/* File-descriptor I/O that does not give up half way. */
#ifndef GATE_KIT_IO_H
#define GATE_KIT_IO_H

#include <stddef.h>

/* write(2) all n bytes, again after EINTR or a short write; 0, or -1 with
 * errno.  Async-signal-safe (a forked check child uses it). */
int write_full(int fd, const void *p, size_t n);

/* The first n bytes of the file at path (from_start), or its last n, into
 * buf (size n + 1, NUL-terminated; a shorter file whole), again after
 * EINTR or a short read.  The count read, or -1 with errno. */
long read_part(const char *path, char *buf, size_t n, int from_start);

#endif
