/* SPDX-License-Identifier: MIT */
/* Growing strings and NULL-terminated string vectors (allocation through
 * kit/alloc.h: they abort on exhaustion). */
#ifndef GATE_KIT_STRBUF_H
#define GATE_KIT_STRBUF_H

#include <stddef.h>

/* A growing, always NUL-terminated string. */
struct strbuf {
	char *buf;
	size_t len, alloc;
};
#define STRBUF_INIT        \
	{                  \
		NULL, 0, 0 \
	}
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

#endif
