/* SPDX-License-Identifier: MIT */
/* Small shared helpers of the core: clocks, allocation, growing strings. */
#ifndef GATE_UTIL_H
#define GATE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds: every deadline in gate uses this clock. */
int64_t gate_mono_ms(void);
/* CLOCK_REALTIME in milliseconds since the epoch. */
int64_t gate_now_ms(void);
/* RFC 3339 UTC with milliseconds: "2026-11-25T10:00:00.123Z". */
void gate_format_time(int64_t epoch_ms, char *buf, size_t len);

/* Allocation that aborts on exhaustion (gate cannot decide safely without
 * memory; abort is a block). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
char *xasprintf(const char *fmt, ...);

/* A growing, always NUL-terminated string. */
struct strbuf {
	char *buf;
	size_t len, alloc;
};
#define STRBUF_INIT {NULL, 0, 0}
void strbuf_add(struct strbuf *sb, const char *s, size_t n);
void strbuf_adds(struct strbuf *sb, const char *s);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void strbuf_addf(struct strbuf *sb, const char *fmt, ...);
char *strbuf_detach(struct strbuf *sb); /* never NULL */
void strbuf_release(struct strbuf *sb);

/* NULL-terminated string vectors (argv). */
char **strv_dup(char *const *v);
size_t strv_len(char *const *v);
void strv_free(char **v);
/* argv joined by single spaces (for allow_commands and reports). */
char *strv_join(char *const *v, const char *sep);

/* write(2) all n bytes, again after EINTR or a short write; 0, or -1 with
 * errno.  Async-signal-safe (a forked check child uses it). */
int write_full(int fd, const void *p, size_t n);

#endif
