/* SPDX-License-Identifier: MIT */
/* Regular expressions written for Prometheus or Alertmanager (RE2 syntax,
 * matched against the whole value) and matched here with POSIX ERE
 * (regcomp), for prometheus.alerts' `match` and alertmanager.alerts'
 * `matchers`.  Both anchor the expression, ^(…)$, as RE2's servers do.
 *
 * What RE2 reads differently from POSIX ERE is refused, never guessed
 * (doc/checks.md lists it): a matcher that silently meant something else
 * could count fewer alerts and pass.
 *  - a backslash before a letter, a digit, <, >, ' or ` (RE2's \d \w \s
 *    \b \pN \x41 \Q…\E, a back-reference, GNU's \< \` anchors);
 *  - a backslash or a non-ASCII byte inside [...] (POSIX takes the
 *    backslash literally, and the bytes of a character one by one);
 *  - (? groups and flags ((?i), (?:…), (?P<name>…));
 *  - a quantifier right after another (RE2's lazy a*?, a{2}{3}), and
 *    {,n} (a literal in RE2, {0,n} in POSIX);
 *  - a quantifier after a non-ASCII character (POSIX repeats its last
 *    byte only);
 *  - an unbalanced ')' (POSIX takes it literally, which would also undo
 *    the anchoring).
 * Left as a difference (doc/checks.md): '.' matches one byte, not one
 * UTF-8 character, and also a newline. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_judge.h"
#include "kit/alloc.h"

static int is_quantifier(char c)
{
	return c == '*' || c == '+' || c == '?' || c == '{';
}

/* The end of the bracket expression that starts at p[0] == '[' (the index
 * of its ']'), or 0 when it is not closed (regcomp says so).  -1 with why
 * when it holds what RE2 reads differently. */
static long bracket_end(const char *p, char *why, size_t len)
{
	size_t j = 1;
	if (p[j] == '^')
		j++;
	if (p[j] == ']')
		j++;
	for (; p[j] && p[j] != ']'; j++) {
		if (p[j] == '[' && p[j + 1] && strchr(":.=", p[j + 1])) {
			const char *close = strchr(p + j + 2, p[j + 1]);
			if (!close || close[1] != ']')
				return 0;
			j = (size_t)(close + 1 - p);
		} else if (p[j] == '\\') {
			snprintf(why, len,
			         "a backslash inside [...] is an escape in RE2 but a literal in "
			         "POSIX ERE: write the character itself ([.] for a dot, []] or [-] "
			         "first or last)");
			return -1;
		} else if ((unsigned char)p[j] >= 0x80) {
			snprintf(
				why, len,
				"a non-ASCII character inside [...] is taken byte by byte by POSIX "
				"ERE: write it as an alternative, (é|e)");
			return -1;
		}
	}
	return p[j] == ']' ? (long)j : 0;
}

/* The non-ASCII character at pat[*i] (moved past its bytes): -1 with why
 * when a quantifier follows it. */
static int non_ascii(const char *pat, size_t *i, char *why, size_t len)
{
	while ((unsigned char)pat[*i + 1] >= 0x80)
		(*i)++;
	if (!is_quantifier(pat[*i + 1]))
		return 0;
	snprintf(why, len,
	         "a quantifier after a non-ASCII character repeats only its last byte in POSIX "
	         "ERE: group it, (é)+");
	return -1;
}

/* The character after a backslash: -1 with why when POSIX ERE does not
 * take it as itself. */
static int escape(char c, char *why, size_t len)
{
	if (!c) {
		snprintf(why, len, "ends with a lone backslash");
		return -1;
	}
	if (isalnum((unsigned char)c) || strchr("<>'`", c)) {
		snprintf(
			why, len,
			"\\%c is not plain POSIX ERE (RE2's \\d \\w \\s \\b \\pN \\x41, "
			"back-references, GNU anchors): write [0-9], [[:alnum:]_], [[:space:]] and "
			"the like",
			c);
		return -1;
	}
	return 0;
}

/* -1 with why when pat uses what RE2 and POSIX ERE read differently. */
static int re2_only(const char *pat, char *why, size_t len)
{
	int depth = 0, after_quantifier = 0;
	for (size_t i = 0; pat[i]; i++) {
		unsigned char c = (unsigned char)pat[i];
		if (c >= 0x80) {
			if (non_ascii(pat, &i, why, len) < 0)
				return -1;
			after_quantifier = 0;
			continue;
		}
		int quantifier = 0;
		switch (c) {
		case '\\':
			if (escape(pat[++i], why, len) < 0)
				return -1;
			break;
		case '[': {
			long end = bracket_end(pat + i, why, len);
			if (end < 0)
				return -1;
			if (end == 0)
				return 0; /* not closed: regcomp's error */
			i += (size_t)end;
			break;
		}
		case '(':
			if (pat[i + 1] == '?') {
				snprintf(why, len,
				         "(?...) flags and groups are RE2's: write (...) for a "
				         "group, "
				         "[Aa] for either case");
				return -1;
			}
			depth++;
			break;
		case ')':
			if (depth-- == 0) {
				snprintf(why, len, "unbalanced ')'");
				return -1;
			}
			break;
		case '{':
			if (pat[i + 1] == ',') {
				snprintf(why, len,
				         "{,n} is a literal in RE2 but {0,n} in POSIX ERE: write "
				         "{0,n}");
				return -1;
			}
			if (!isdigit((unsigned char)pat[i + 1]))
				break;
			while (pat[i + 1] && pat[i + 1] != '}')
				i++;
			if (pat[i + 1])
				i++;
			/* fall through */
		case '*':
		case '+':
		case '?':
			if (after_quantifier) {
				snprintf(why, len,
				         "a quantifier right after another (RE2's lazy a*? or "
				         "a{2}{3}) "
				         "has no POSIX ERE equivalent");
				return -1;
			}
			quantifier = 1;
			break;
		default:
			break;
		}
		after_quantifier = quantifier;
	}
	return 0;
}

int http_regex_compile(const char *pat, regex_t *re, char *msg, size_t msglen)
{
	char why[256];
	if (re2_only(pat, why, sizeof(why)) < 0) {
		snprintf(msg, msglen, "/%s/: %s", pat, why);
		return -1;
	}
	char *anchored = xasprintf("^(%s)$", pat);
	int rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
	free(anchored);
	if (rc) {
		char e[128];
		regerror(rc, re, e, sizeof(e)); /* regcomp freed what it made */
		snprintf(msg, msglen, "/%s/: not a POSIX extended regular expression: %s", pat, e);
		return -1;
	}
	return 0;
}
