/* SPDX-License-Identifier: MIT */
/* Text from outside made safe to print (kit/text.h). */
#include "text.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

/* The code point of the valid UTF-8 sequence at p (at most `left` bytes),
 * its length in *len; -1 when p does not start one (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
long text_utf8_decode(const char *s, size_t left, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;
	unsigned long cp;
	if (p[0] < 0x80) {
		*len = 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, cp = p[0] & 0x07;
	else
		return -1;
	if (n > left)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	static const unsigned long min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = n;
	return (long)cp;
}

/* A code point at or above DEL that a terminal or a reader may act on. */
static int unsafe_high(long cp)
{
	return cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x2028 || cp == 0x2029;
}

static const char hexdigits[] = "0123456789abcdef";

static void add_hex_byte(struct strbuf *sb, unsigned char c)
{
	char e[4] = {'\\', 'x', hexdigits[c >> 4], hexdigits[c & 15]};
	strbuf_add(sb, e, 4);
}

/* cp is one of the escaped code points: all below U+10000. */
static void add_u(struct strbuf *sb, long cp)
{
	unsigned long u = (unsigned long)cp & 0xffff;
	char e[6] = {'\\',
	             'u',
	             hexdigits[u >> 12],
	             hexdigits[(u >> 8) & 15],
	             hexdigits[(u >> 4) & 15],
	             hexdigits[u & 15]};
	strbuf_add(sb, e, 6);
}

void text_safe_addn(struct strbuf *sb, const char *s, size_t n, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, plain = 0; /* p[plain..i) is safe and not yet added */
	if (!s)
		return;
	while (i < n) {
		size_t len;
		long cp = text_utf8_decode((const char *)p + i, n - i, &len);
		if (cp >= 0x20 && !unsafe_high(cp)) {
			i += len;
			continue;
		}
		strbuf_add(sb, (const char *)p + plain, i - plain);
		int crlf = cp == '\r' && i + 1 < n && p[i + 1] == '\n';
		if (crlf && (flags & (TEXT_KEEP_NEWLINE | TEXT_ONE_LINE))) {
			i++; /* "\r\n" is a newline: written below as '\n' is */
			cp = '\n';
		}
		if (cp == '\n' && (flags & TEXT_ONE_LINE))
			strbuf_adds(sb, " ");
		else if (cp == '\n' && (flags & TEXT_KEEP_NEWLINE))
			strbuf_adds(sb, "\n");
		else if (cp == '\t' && (flags & TEXT_ONE_LINE))
			strbuf_adds(sb, " ");
		else if (cp == '\t' && (flags & TEXT_KEEP_TAB))
			strbuf_adds(sb, "\t");
		else if (cp < 0) /* not UTF-8: this one byte */
			add_hex_byte(sb, p[i]);
		else if (cp < 0x80)
			add_hex_byte(sb, (unsigned char)cp);
		else
			add_u(sb, cp);
		i += cp < 0 ? 1 : len;
		plain = i;
	}
	strbuf_add(sb, (const char *)p + plain, i - plain);
}

void text_safe_add(struct strbuf *sb, const char *s, unsigned flags)
{
	if (s)
		text_safe_addn(sb, s, strlen(s), flags);
}

char *text_safe(const char *s, unsigned flags)
{
	struct strbuf sb = STRBUF_INIT;
	text_safe_add(&sb, s ? s : "", flags);
	return strbuf_detach(&sb);
}

int text_is_safe(const char *s, unsigned flags)
{
	char *t = text_safe(s, flags);
	int same = strcmp(t, s ? s : "") == 0;
	free(t);
	return same;
}

void text_safe_json(struct strbuf *sb, const char *json)
{
	const unsigned char *p = (const unsigned char *)json;
	size_t n = json ? strlen(json) : 0, i = 0, plain = 0;
	while (i < n) {
		size_t len;
		long cp = text_utf8_decode((const char *)p + i, n - i, &len);
		if (cp >= 0 && (cp < 0x7f || !unsafe_high(cp))) {
			i += len;
			continue;
		}
		/* jansson writes valid UTF-8 and ASCII outside strings: a
		 * stray byte could only be inside a string, where U+FFFD
		 * stands for it */
		strbuf_add(sb, (const char *)p + plain, i - plain);
		add_u(sb, cp < 0 ? 0xfffd : cp);
		i += cp < 0 ? 1 : len;
		plain = i;
	}
	strbuf_add(sb, (const char *)p + plain, i - plain);
}

char *text_utf8_valid(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	if (!s)
		s = "";
	size_t n = strlen(s), i = 0, plain = 0;
	while (i < n) {
		size_t len;
		if (text_utf8_decode(s + i, n - i, &len) >= 0) {
			i += len;
			continue;
		}
		strbuf_add(&sb, s + plain, i - plain);
		add_hex_byte(&sb, (unsigned char)s[i]);
		plain = ++i;
	}
	strbuf_add(&sb, s + plain, i - plain);
	return strbuf_detach(&sb);
}

size_t text_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t keep = max;
	while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
		keep--;
	return keep;
}
