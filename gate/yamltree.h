/* SPDX-License-Identifier: MIT */
/*
 * A small generic YAML tree on libyaml, for schema-checking loaders (the
 * runbook, hooks.yaml).  One file becomes one tree of scalars, sequences
 * and mappings; every node knows its file, line and column (1-based), so
 * a loader can say exactly where a value is wrong.
 *
 * Loading limits are enforced while parsing: file size, nesting depth,
 * alias uses and the nodes they expand to (no billion laughs), duplicate
 * mapping keys, non-scalar keys and multiple documents are refused.
 * Aliases are expanded into copies, so a tree is always a plain tree.
 *
 * Every function reports through struct gate_error ("file:line:col: msg",
 * first error wins) and never prints.  Ownership: a struct yt_doc owns all
 * its nodes, strings and arrays (in one arena: a tree of 100,000 nodes is
 * freed in a few calls); yt_doc_release() frees them.
 */
#ifndef GATE_YAMLTREE_H
#define GATE_YAMLTREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Defaults, the same as the runbook's loading limits (doc/runbook.md);
 * a loader with limits of its own passes a struct yt_limits. */
#define YT_MAX_FILE_SIZE (1024 * 1024)
#define YT_MAX_DEPTH 64
#define YT_MAX_ALIASES 64
#define YT_MAX_ALIAS_NODES 10000 /* nodes created by expanding aliases */

enum yt_kind { YT_SCALAR = 1, YT_SEQUENCE = 2, YT_MAPPING = 3 };

enum yt_style {
	YT_PLAIN = 0,   /* foo, 12, true */
	YT_SINGLE = 1,  /* 'foo' */
	YT_DOUBLE = 2,  /* "foo" */
	YT_LITERAL = 3, /* | */
	YT_FOLDED = 4,  /* > */
};

struct yt_node;

struct yt_pair {
	struct yt_node *key; /* always a scalar */
	struct yt_node *value;
};

struct yt_node {
	enum yt_kind kind;
	const char *file; /* the doc's file name */
	int line, col;    /* 1-based */
	int height;       /* collections nested in this node, itself included */
	/* YT_SCALAR */
	char *value; /* NUL-terminated (embedded NULs are refused) */
	size_t len;
	enum yt_style style;
	char *tag; /* explicit tag ("tag:yaml.org,2002:str", "!"), or NULL */
	/* YT_SEQUENCE */
	struct yt_node **items;
	size_t nitems;
	/* YT_MAPPING, in document order */
	struct yt_pair *pairs;
	size_t npairs;
	size_t alloc; /* internal */
};

struct yt_limits {
	size_t max_file_size;
	int max_depth;
	int max_aliases;
	size_t max_alias_nodes;
};

struct yt_doc {
	char *file;           /* as given */
	struct yt_node *root; /* NULL for an empty file */
	/* of the opened file (yt_load_file only): for permission checks and
	 * include-cycle detection without a second open */
	mode_t mode;
	dev_t dev;
	ino_t ino;
	size_t nnodes; /* internal */
	void *arena;   /* internal: nodes, strings and arrays live here */
};

/* Parse a file.  limits NULL: the YT_MAX_* defaults.  0, or -1 with err.
 * On failure doc holds nothing that needs more than yt_doc_release(). */
int yt_load_file(struct yt_doc *doc, const char *path, const struct yt_limits *limits,
                 struct gate_error *err);
/* Parse the file open on fd (read from where it is; fd stays open), named
 * `path` in positions: for a caller that checked the descriptor first. */
int yt_load_fd(struct yt_doc *doc, int fd, const char *path, const struct yt_limits *limits,
               struct gate_error *err);
/* Parse text; `name` is used as the file name in positions. */
int yt_load_string(struct yt_doc *doc, const char *name, const char *text, size_t len,
                   const struct yt_limits *limits, struct gate_error *err);
void yt_doc_release(struct yt_doc *doc);

/* ---- schema helpers ---- */

/* "a scalar", "a sequence", "a mapping", or "null" for a null scalar. */
const char *yt_describe(const struct yt_node *n);
/* A plain scalar "", "~", "null", "Null" or "NULL" (YAML core schema). */
int yt_is_null(const struct yt_node *n);
/* A plain scalar without an explicit tag: the only kind the YAML core
 * schema may type as null, bool or number (quoted ones stay strings). */
int yt_is_plain(const struct yt_node *n);

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
/* Set err at n's position (first error wins); always returns -1. */
int yt_error(struct gate_error *err, const struct yt_node *n,
             const char *fmt, ...);

/* -1 with "expected a mapping, got a sequence" unless n is of kind k. */
int yt_expect(const struct yt_node *n, enum yt_kind k, struct gate_error *err);

/* The pair whose key is `key`, or NULL (map must be a mapping). */
const struct yt_pair *yt_map_find(const struct yt_node *map, const char *key);
/* Its value, or NULL. */
const struct yt_node *yt_map_get(const struct yt_node *map, const char *key);

/* Every key of map must be in `allowed` (NULL-terminated); else -1 with
 * "unknown key 'max_agee' in WHAT; did you mean 'max_age'?" at the key. */
int yt_check_keys(const struct yt_node *map, const char *const *allowed, const char *what,
                  struct gate_error *err);
/* A required key: its value, or NULL with "missing 'KEY' in WHAT" at map. */
const struct yt_node *yt_map_require(const struct yt_node *map, const char *key, const char *what,
                                     struct gate_error *err);

/* Typed scalar getters: -1 with err at n's position when n is not such a
 * value.  The string getter accepts any non-null scalar. */
int yt_get_string(const struct yt_node *n, const char **out, struct gate_error *err);
int yt_get_bool(const struct yt_node *n, int *out, struct gate_error *err);
int yt_get_int(const struct yt_node *n, int64_t min, int64_t max, int64_t *out,
               struct gate_error *err);
int yt_get_duration(const struct yt_node *n, int64_t *ms, struct gate_error *err);
int yt_get_size(const struct yt_node *n, uint64_t *bytes, struct gate_error *err);

/* Parse a decimal integer (optional sign) exactly; -1 on anything else or
 * overflow. */
int yt_parse_int(const char *s, int64_t *out);

/* The candidate closest to `word` by edit distance when it is plausibly a
 * typo of it (distance <= 2, and less than half the word), else NULL. */
const char *yt_closest(const char *word, const char *const *cands, size_t n);

#endif
