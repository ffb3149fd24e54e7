/* SPDX-License-Identifier: MIT */
/*
 * What a schema-checking loader asks of a YAML tree (yamltree.h): kinds,
 * keys, typed scalars (strings, booleans, integers, durations and sizes
 * by values.h), errors at a node's position, and "did you mean" for a
 * misspelt name.
 */
#include "yamltree.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "values.h"

int yt_is_plain(const struct yt_node *n)
{
	return n && n->kind == YT_SCALAR && n->style == YT_PLAIN && !n->tag;
}

int yt_is_null(const struct yt_node *n)
{
	if (!yt_is_plain(n))
		return 0;
	const char *v = n->value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

const char *yt_describe(const struct yt_node *n)
{
	if (!n)
		return "nothing";
	switch (n->kind) {
	case YT_SEQUENCE:
		return "a sequence";
	case YT_MAPPING:
		return "a mapping";
	default:
		return yt_is_null(n) ? "null" : "a scalar";
	}
}

int yt_error(struct gate_error *err, const struct yt_node *n, const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		gate_error_set(err, n->file, n->line, n->col, "%s", msg);
	else
		gate_error_set(err, "", 0, 0, "%s", msg);
	return -1;
}

int yt_expect(const struct yt_node *n, enum yt_kind k, struct gate_error *err)
{
	static const char *const names[] = {"", "a scalar", "a sequence", "a mapping"};
	if (n && n->kind == k && !(k == YT_SCALAR && yt_is_null(n)))
		return 0;
	return yt_error(err, n, "expected %s, got %s", names[k], yt_describe(n));
}

const struct yt_pair *yt_map_find(const struct yt_node *map, const char *key)
{
	if (!map || map->kind != YT_MAPPING)
		return NULL;
	for (size_t i = 0; i < map->npairs; i++)
		if (!strcmp(map->pairs[i].key->value, key))
			return &map->pairs[i];
	return NULL;
}

const struct yt_node *yt_map_get(const struct yt_node *map, const char *key)
{
	const struct yt_pair *p = yt_map_find(map, key);
	return p ? p->value : NULL;
}

int yt_check_keys(const struct yt_node *map, const char *const *allowed, const char *what,
                  struct gate_error *err)
{
	size_t n = 0;
	while (allowed[n])
		n++;
	for (size_t i = 0; i < map->npairs; i++) {
		const struct yt_node *k = map->pairs[i].key;
		size_t j;
		for (j = 0; j < n; j++)
			if (!strcmp(k->value, allowed[j]))
				break;
		if (j < n)
			continue;
		const char *near = yt_closest(k->value, allowed, n);
		if (near)
			return yt_error(err, k, "unknown key '%s' in %s; did you mean '%s'?",
			                k->value, what, near);
		return yt_error(err, k, "unknown key '%s' in %s", k->value, what);
	}
	return 0;
}

const struct yt_node *yt_map_require(const struct yt_node *map, const char *key, const char *what,
                                     struct gate_error *err)
{
	const struct yt_node *v = yt_map_get(map, key);
	if (!v)
		yt_error(err, map, "missing '%s' in %s", key, what);
	return v;
}

int yt_get_string(const struct yt_node *n, const char **out, struct gate_error *err)
{
	if (!n || n->kind != YT_SCALAR || yt_is_null(n))
		return yt_error(err, n, "expected a string, got %s", yt_describe(n));
	*out = n->value;
	return 0;
}

int yt_get_bool(const struct yt_node *n, int *out, struct gate_error *err)
{
	/* Only the plain words: "yes", "on" or a quoted "true" are refused
	 * rather than guessed (YAML 1.1 vs 1.2 disagree about them). */
	if (n && n->kind == YT_SCALAR && n->style == YT_PLAIN &&
	    (!n->tag || !strcmp(n->tag, "tag:yaml.org,2002:bool"))) {
		if (!strcmp(n->value, "true")) {
			*out = 1;
			return 0;
		}
		if (!strcmp(n->value, "false")) {
			*out = 0;
			return 0;
		}
	}
	if (n && n->kind == YT_SCALAR && !yt_is_null(n))
		return yt_error(err, n, "expected true or false, got '%s'", n->value);
	return yt_error(err, n, "expected true or false, got %s", yt_describe(n));
}

int yt_parse_int(const char *s, int64_t *out)
{
	const char *p = s;
	int neg = 0;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!*p)
		return -1;
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned d = (unsigned)(*p - '0');
		if (v > (lim - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int yt_get_int(const struct yt_node *n, int64_t min, int64_t max, int64_t *out,
               struct gate_error *err)
{
	if (!n || n->kind != YT_SCALAR || yt_is_null(n))
		return yt_error(err, n, "expected an integer, got %s", yt_describe(n));
	int64_t v;
	if (yt_parse_int(n->value, &v) < 0)
		return yt_error(err, n, "expected an integer, got '%s'", n->value);
	if (v < min || v > max)
		return yt_error(err, n, "%lld is out of range (%lld to %lld)", (long long)v,
		                (long long)min, (long long)max);
	*out = v;
	return 0;
}

int yt_get_duration(const struct yt_node *n, int64_t *ms, struct gate_error *err)
{
	const char *s;
	if (!n || n->kind != YT_SCALAR || yt_is_null(n))
		return yt_error(err, n, "expected a duration such as 30s or 1h30m, got %s",
		                yt_describe(n));
	s = n->value;
	int rc = parse_duration_ms(s, ms);
	if (rc == GATE_VALUE_TOO_BIG)
		return yt_error(err, n, "duration '%s' is over the limit of %s", s,
		                GATE_DURATION_MAX_TEXT);
	if (rc < 0) {
		int64_t dummy;
		if (yt_parse_int(s, &dummy) == 0)
			return yt_error(err, n, "duration '%s' needs a unit (ms, s, m, h, d)", s);
		return yt_error(err, n,
		                "invalid duration '%s' (expected e.g. 500ms, 90s, 15m, 1h30m, 1d)",
		                s);
	}
	return 0;
}

int yt_get_size(const struct yt_node *n, uint64_t *bytes, struct gate_error *err)
{
	if (!n || n->kind != YT_SCALAR || yt_is_null(n))
		return yt_error(err, n, "expected a size such as 64MiB, got %s", yt_describe(n));
	int rc = parse_size_bytes(n->value, bytes);
	if (rc == GATE_VALUE_TOO_BIG)
		return yt_error(err, n, "size '%s' is over the limit of %s", n->value,
		                GATE_SIZE_MAX_TEXT);
	if (rc < 0)
		return yt_error(
			err, n,
			"invalid size '%s' (expected e.g. 512kB, 64MB, 64MiB, 1GiB or bytes)",
			n->value);
	return 0;
}

/* Levenshtein distance with two rows; words here are short. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t prev[65], cur[65];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(*prev));
	}
	return prev[lb];
}

const char *yt_closest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX, wl = strlen(word);
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, cands[i]);
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	if (best && bestd <= 2 && bestd * 2 < wl)
		return best;
	return NULL;
}
