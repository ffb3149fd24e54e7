/* SPDX-License-Identifier: MIT */
/* File-descriptor I/O that does not give up half way. */
#ifndef GATE_KIT_IO_H
#define GATE_KIT_IO_H

#include <stddef.h>

/* write(2) all n bytes, again after EINTR or a short write; 0, or -1 with
 * errno.  Async-signal-safe (a forked check child uses it). */
int write_full(int fd, const void *p, size_t n);

#endif
