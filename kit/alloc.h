/* SPDX-License-Identifier: MIT */
/* Allocation that aborts on exhaustion: gate cannot decide safely without
 * memory, and a process that aborts allows nothing (abort is a block). */
#ifndef GATE_KIT_ALLOC_H
#define GATE_KIT_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
char *
xasprintf(const char *fmt, ...);

/* p itself, or abort when it is NULL: for a library's constructor that
 * returns NULL only without memory (curl_url, EVP_MD_CTX_new, ...). */
void *xnonnull(void *p);

#endif
