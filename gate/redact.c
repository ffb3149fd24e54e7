/* SPDX-License-Identifier: MIT */
/* Secrets never reach a report, a log or the journal.
 *
 * Three passes over a copy of the string, each of which can only replace
 * text by "***", never leave a part of a secret behind:
 *   1. registered literals (values of ${env:...} in secret parameters);
 *   2. `KEY = VALUE` (also `KEY: VALUE`, `--KEY VALUE`) where KEY is a
 *      word ending in "password", "passwd", "token", "secret", "apikey"
 *      or "authorization" (libpq conninfo password= and sslpassword=,
 *      PGPASSWORD=, URI query ?password= / ?access_token=, HTTP
 *      "Authorization: Bearer X"), with libpq's quoting rules for the value;
 *   3. the password of URI userinfo, scheme://user:SECRET@host.
 * When in doubt about where a secret ends, the pass hides more rather than
 * less: a report with "***" in the wrong place is harmless, a password in
 * the journal is not.
 *
 * redact_json() redacts string values (not keys: keys are names chosen by
 * gate and the check modules, never data), and replaces the whole value of
 * a member whose key names a secret ("password", "passwd", "secret",
 * "token", "authorization", ...) whatever it looks like.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "redact.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"

#define MASK "***"

/* As many as there are: the table grows (xrealloc aborts rather than
 * return without room, so no secret is ever dropped). */
static char **secrets;
static size_t nsecrets, secrets_alloc;

int redact_register_secret(const char *value)
{
	if (!value || strlen(value) < REDACT_MIN_SECRET_LEN)
		return -1;
	for (size_t i = 0; i < nsecrets; i++)
		if (strcmp(secrets[i], value) == 0)
			return 0;
	if (nsecrets == secrets_alloc) {
		secrets_alloc = secrets_alloc ? 2 * secrets_alloc : 16;
		secrets = xrealloc(secrets, secrets_alloc * sizeof(*secrets));
	}
	secrets[nsecrets++] = xstrdup(value);
	return 0;
}

void redact_reset(void)
{
	for (size_t i = 0; i < nsecrets; i++)
		free(secrets[i]);
	free(secrets);
	secrets = NULL;
	nsecrets = secrets_alloc = 0;
}

/* Pass 1: every occurrence of every registered literal.  Longer literals
 * first would matter only when one secret contains another; both are
 * masked either way because the mask contains no secret. */
static char *redact_literals(const char *s)
{
	char *cur = xstrdup(s);
	for (size_t i = 0; i < nsecrets; i++) {
		const char *lit = secrets[i];
		size_t n = strlen(lit);
		if (!strstr(cur, lit))
			continue;
		struct strbuf sb = STRBUF_INIT;
		const char *p = cur, *hit;
		while ((hit = strstr(p, lit))) {
			strbuf_add(&sb, p, (size_t)(hit - p));
			strbuf_adds(&sb, MASK);
			p = hit + n;
		}
		strbuf_adds(&sb, p);
		free(cur);
		cur = strbuf_detach(&sb);
	}
	return cur;
}

static int is_word(int c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static int has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* Does the word s[0..n) name a secret (case-insensitive suffix)? */
static int word_is_secret_key(const char *s, size_t n)
{
	static const char *const suffixes[] = {"password",      "passwd", "token",   "secret",
	                                       "authorization", "apikey", "api_key", "api-key"};
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (has_suffix(s, n, suffixes[i]))
			return 1;
	return 0;
}

/* An HTTP authentication scheme: the credentials are the next word. */
static int is_auth_scheme(const char *s, size_t n)
{
	static const char *const schemes[] = {"Bearer",    "Basic",  "Token", "Digest",
	                                      "Negotiate", "ApiKey", "Bot"};
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (n == strlen(schemes[i]) && strncasecmp(s, schemes[i], n) == 0)
			return 1;
	return 0;
}

/* End of a value starting at p.  Quoted ('...' or "..."): up to the
 * closing quote, honouring backslash escapes as libpq does; an unclosed
 * quote runs to the end.  Unquoted: up to whitespace, and in a URI query
 * (in_query) also up to '&' or '#'. */
static const char *value_end(const char *p, int in_query)
{
	if (*p == '\'' || *p == '"') {
		char q = *p++;
		while (*p && *p != q) {
			if (*p == '\\' && p[1])
				p++;
			p++;
		}
		return *p ? p + 1 : p;
	}
	while (*p && !isspace((unsigned char)*p)) {
		if (in_query && (*p == '&' || *p == '#'))
			break;
		p++;
	}
	return p;
}

/* Pass 2: KEY = VALUE (or KEY: VALUE, "KEY": "VALUE", --KEY VALUE)
 * where KEY names a secret: password, token, secret, authorization... */
static char *redact_keyvalues(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = s, *copied = s;

	while (*p) {
		if (!is_word(*p) || (p > s && is_word(p[-1]))) {
			p++;
			continue;
		}
		const char *w = p;
		while (is_word(*p))
			p++;
		size_t wn = (size_t)(p - w);
		const char *q = p;
		/* a quoted key ("password": ...) closes its quote first */
		if ((*q == '"' || *q == '\'') && w > s && w[-1] == *q)
			q++;
		while (*q == ' ' || *q == '\t')
			q++;
		if (!word_is_secret_key(w, wn))
			continue;
		if (*q != '=' && *q != ':') {
			/* a command-line option taking the secret as the next
			 * argument: --password SECRET (not --no-password) */
			if (*w != '-' || q == p || !*q || *q == '-' ||
			    (wn > 5 && strncmp(w, "--no-", 5) == 0))
				continue;
		} else {
			q++;
		}
		while (*q == ' ' || *q == '\t')
			q++;
		if (strncmp(q, MASK, strlen(MASK)) == 0 &&
		    (q[3] == '\0' || isspace((unsigned char)q[3]) || strchr(",;&#)}]\"'", q[3]))) {
			/* already masked (a second pass): keep the punctuation
			 * that follows the mask */
			p = q + strlen(MASK);
			continue;
		}
		int in_query = w > s && (w[-1] == '?' || w[-1] == '&');
		const char *end = value_end(q, in_query);
		if (end == q)
			continue; /* empty value: nothing to hide */
		if (has_suffix(w, wn, "authorization") && is_auth_scheme(q, (size_t)(end - q))) {
			/* "Authorization: Bearer TOKEN": the token is the secret */
			const char *t = end;
			while (*t == ' ' || *t == '\t')
				t++;
			if (*t)
				end = value_end(t, 0);
		}
		strbuf_add(&sb, copied, (size_t)(q - copied));
		strbuf_adds(&sb, MASK);
		copied = p = end;
	}
	strbuf_adds(&sb, copied);
	return strbuf_detach(&sb);
}

/* Is s[0..n) a URI scheme ([A-Za-z][A-Za-z0-9+.-]*)? */
static int is_scheme(const char *s, size_t n)
{
	if (n == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

/* Pass 3: scheme://user:SECRET@host.  The authority ends at the first
 * '/' or whitespace (libpq's own rule); the userinfo at the last '@' in
 * it, so that a raw '@' in a password is hidden too; the password is
 * everything after the userinfo's first ':'.  (A raw '/' in a password
 * cannot be told from a path: libpq cannot parse such a URI either.) */
static char *redact_userinfo(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	const char *copied = s, *p = s, *sep;

	while ((sep = strstr(p, "://"))) {
		const char *sch = sep;
		while (sch > p && (isalnum((unsigned char)sch[-1]) || sch[-1] == '+' ||
		                   sch[-1] == '.' || sch[-1] == '-'))
			sch--;
		const char *auth = sep + 3;
		p = auth;
		if (!is_scheme(sch, (size_t)(sep - sch)))
			continue;
		const char *end = auth, *at = NULL;
		while (*end && *end != '/' && !isspace((unsigned char)*end)) {
			if (*end == '@')
				at = end;
			end++;
		}
		if (!at)
			continue;
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		if (!colon || colon + 1 == at)
			continue;
		strbuf_add(&sb, copied, (size_t)(colon + 1 - copied));
		strbuf_adds(&sb, MASK);
		copied = p = at;
	}
	strbuf_adds(&sb, copied);
	return strbuf_detach(&sb);
}

char *redact_string(const char *s)
{
	if (!s)
		return xstrdup("");
	char *a = redact_literals(s);
	char *b = redact_keyvalues(a);
	free(a);
	char *c = redact_userinfo(b);
	free(b);
	return c;
}

/* A member key whose value is a secret whatever it looks like. */
static int key_is_secret(const char *key)
{
	static const char *const words[] = {"password",      "passwd",  "secret", "token",
	                                    "authorization", "api_key", "apikey"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(key, words[i]))
			return 1;
	return 0;
}

static void redact_string_value(json_t *v)
{
	const char *old = json_string_value(v);
	char *red = redact_string(old);
	/* if the redacted text cannot be stored, nothing of it is kept */
	if (strcmp(red, old) != 0 && json_string_set(v, red) < 0)
		json_string_set(v, MASK);
	free(red);
}

void redact_json(json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;

	if (!v)
		return;
	switch (json_typeof(v)) {
	case JSON_STRING:
		redact_string_value(v);
		break;
	case JSON_OBJECT:
		json_object_foreach(v, key, m) {
			if (key_is_secret(key) && (json_is_string(m) || json_is_number(m)))
				json_object_set_new(v, key, json_string(MASK));
			else
				redact_json(m);
		}
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, m)
			redact_json(m);
		break;
	default:
		break;
	}
}
