/* SPDX-License-Identifier: MIT */
/* Alertmanager's matchers (am_matchers.h), read as Alertmanager 0.25 reads
 * them (doc/facts.md): a label name, an operator, then the value, spaces
 * around each ignored. */
#include "am_matchers.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/strbuf.h"

static int label_name_ok(const char *s, size_t n)
{
	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The n bytes of s (spaces already trimmed) as a value: \" \\ \n are
 * escapes, a backslash before anything else (or at the end) stays; a
 * leading quote needs its closing quote as the last byte; any other
 * unescaped quote is an error (-1). */
static int read_value(const char *s, size_t n, struct strbuf *out)
{
	int open = n > 0 && s[0] == '"';
	for (size_t i = open ? 1 : 0; i < n; i++) {
		char c = s[i];
		if (c == '\\' && i + 1 < n) {
			char e = s[++i];
			if (e == 'n') {
				strbuf_adds(out, "\n");
				continue;
			}
			if (e != '"' && e != '\\')
				strbuf_add(out, "\\", 1);
			strbuf_add(out, &e, 1);
		} else if (c == '"') {
			if (!open || i + 1 != n)
				return -1;
			open = 0;
		} else {
			strbuf_add(out, &c, 1);
		}
	}
	return open ? -1 : 0;
}

int am_matcher_parse(const char *text, json_t **out, char *err, size_t errlen)
{
	*out = NULL;
	const char *p = text;
	while (is_space(*p))
		p++;
	size_t n = 0;
	while (p[n] && !strchr("=!~", p[n]) && !is_space(p[n]))
		n++;
	if (!label_name_ok(p, n)) {
		snprintf(err, errlen, "'%s': expected a label name, then =, !=, =~ or !~", text);
		return -1;
	}
	const char *op = p + n;
	while (is_space(*op))
		op++;
	int is_equal = 1, is_regex = 0;
	if (!strncmp(op, "=~", 2) || !strncmp(op, "!~", 2) || !strncmp(op, "!=", 2)) {
		is_equal = op[0] == '=';
		is_regex = op[1] == '~';
		op += 2;
	} else if (op[0] == '=') {
		op += 1;
	} else {
		snprintf(err, errlen, "'%s': expected =, !=, =~ or !~ after the label name", text);
		return -1;
	}
	while (is_space(*op))
		op++;
	size_t vl = strlen(op);
	while (vl > 0 && is_space(op[vl - 1]))
		vl--;
	struct strbuf v = STRBUF_INIT;
	if (read_value(op, vl, &v) < 0) {
		strbuf_release(&v);
		if (*op == '"')
			snprintf(err, errlen,
			         "'%s': the quoted value is not closed or has text after it (a "
			         "quote inside it is written \\\")",
			         text);
		else
			snprintf(err, errlen,
			         "'%s': a double quote inside a bare value (quote the value and "
			         "write it \\\")",
			         text);
		return -1;
	}
	char *value = strbuf_detach(&v);
	*out = json_pack("{s:s%, s:s, s:b, s:b}", "name", p, n, "value", value, "isRegex", is_regex,
	                 "isEqual", is_equal);
	free(value);
	if (!*out) {
		snprintf(err, errlen, "'%s': not valid UTF-8", text);
		return -1;
	}
	return 0;
}

json_t *am_matchers_parse(const json_t *texts, char *err, size_t errlen)
{
	if (!json_is_array(texts) || !json_array_size(texts)) {
		snprintf(err, errlen, "at least one matcher is needed");
		return NULL;
	}
	json_t *all = json_array(), *m;
	size_t i;
	json_t *t;
	json_array_foreach(texts, i, t) {
		char e[300];
		if (!json_is_string(t)) {
			snprintf(err, errlen, "item %zu: not a string", i + 1);
		} else if (am_matcher_parse(json_string_value(t), &m, e, sizeof(e)) == 0) {
			json_array_append_new(all, m);
			continue;
		} else {
			snprintf(err, errlen, "item %zu: %s", i + 1, e);
		}
		json_decref(all);
		return NULL;
	}
	return all;
}

char *am_matchers_text(const json_t *matchers)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, "{");
	size_t i;
	json_t *m;
	json_array_foreach(matchers, i, m) {
		int eq = !json_is_false(json_object_get(m, "isEqual"));
		int re = json_is_true(json_object_get(m, "isRegex"));
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *value = json_string_value(json_object_get(m, "value"));
		strbuf_addf(&sb, "%s%s%s%s\"", i ? ", " : "", name ? name : "?", eq ? "=" : "!",
		            re ? "~" : (eq ? "" : "="));
		for (const char *p = value ? value : ""; *p; p++) {
			if (*p == '"' || *p == '\\')
				strbuf_add(&sb, "\\", 1);
			if (*p == '\n')
				strbuf_adds(&sb, "\\n");
			else
				strbuf_add(&sb, p, 1);
		}
		strbuf_adds(&sb, "\"");
	}
	strbuf_adds(&sb, "}");
	return strbuf_detach(&sb);
}
