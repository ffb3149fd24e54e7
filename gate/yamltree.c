/* SPDX-License-Identifier: MIT */
/*
 * libyaml events into a tree with positions (yamltree.h).  Every event
 * from yaml_parser_parse() is deleted on every path, including errors.
 * What a loader asks of the tree (keys, typed scalars) is in
 * yamltree_schema.c.
 */
#include "yamltree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "kit/alloc.h"

static const struct yt_limits default_limits = {
	YT_MAX_FILE_SIZE,
	YT_MAX_DEPTH,
	YT_MAX_ALIASES,
	YT_MAX_ALIAS_NODES,
};

/* ---- memory: one arena per document ---- */

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

#define CHUNK_SIZE (64 * 1024)

static void *arena_alloc(struct yt_doc *doc, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	struct chunk *c = doc->arena;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;
		struct chunk *nc = xmalloc(sizeof(*nc) + cap);
		nc->next = c;
		nc->used = 0;
		nc->cap = cap;
		doc->arena = c = nc;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static void *arena_zalloc(struct yt_doc *doc, size_t n)
{
	return memset(arena_alloc(doc, n), 0, n);
}

static char *arena_strndup(struct yt_doc *doc, const char *s, size_t n)
{
	char *d = arena_alloc(doc, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void arena_free(struct yt_doc *doc)
{
	struct chunk *c = doc->arena;
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	doc->arena = NULL;
}

/* ---- nodes ---- */

static struct yt_node *node_new(struct yt_doc *doc, enum yt_kind kind, yaml_mark_t mark)
{
	struct yt_node *n = arena_zalloc(doc, sizeof(*n));
	n->kind = kind;
	n->file = doc->file;
	n->line = (int)mark.line + 1;
	n->col = (int)mark.column + 1;
	n->height = kind == YT_SCALAR ? 0 : 1;
	doc->nnodes++;
	return n;
}

/* A deep copy for an alias; *budget counts the nodes it may still create.
 * Strings are immutable and live as long as the document: shared. */
static struct yt_node *node_copy(struct yt_doc *doc, const struct yt_node *src, size_t *budget)
{
	if (*budget == 0)
		return NULL;
	(*budget)--;
	struct yt_node *n = arena_alloc(doc, sizeof(*n));
	*n = *src;
	n->items = NULL;
	n->pairs = NULL;
	n->nitems = n->npairs = n->alloc = 0;
	if (src->nitems) {
		n->items = arena_alloc(doc, src->nitems * sizeof(*n->items));
		n->alloc = src->nitems;
		for (size_t i = 0; i < src->nitems; i++) {
			if (!(n->items[i] = node_copy(doc, src->items[i], budget)))
				return NULL;
			n->nitems++;
		}
	}
	if (src->npairs) {
		n->pairs = arena_alloc(doc, src->npairs * sizeof(*n->pairs));
		n->alloc = src->npairs;
		for (size_t i = 0; i < src->npairs; i++) {
			struct yt_node *k = node_copy(doc, src->pairs[i].key, budget);
			struct yt_node *v = k ? node_copy(doc, src->pairs[i].value, budget) : NULL;
			if (!v)
				return NULL;
			n->pairs[i].key = k;
			n->pairs[i].value = v;
			n->npairs++;
		}
	}
	doc->nnodes++;
	return n;
}

/* ---- the builder ---- */

struct frame {
	struct yt_node *node;
	char *anchor;        /* registered when the collection ends */
	struct yt_node *key; /* mapping: a key waiting for its value */
};

struct anchor {
	char *name;
	const struct yt_node *node;
};

struct builder {
	struct yt_doc *doc;
	const struct yt_limits *lim;
	struct gate_error *err;
	struct frame *stack;
	int depth, alloc;
	struct anchor *anchors;
	size_t nanchors, anchors_alloc;
	int aliases;
	size_t alias_budget;
};

static int berr(struct builder *b, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int berr(struct builder *b, yaml_mark_t m, const char *fmt, ...)
{
	char msg[sizeof(b->err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gate_error_set(b->err, b->doc->file, (int)m.line + 1, (int)m.column + 1, "%s", msg);
	return -1;
}

/* Appended without a search: a later anchor of the same name replaces an
 * earlier one (YAML) because aliases are looked up from the end.  Aliases
 * are few (max_aliases), anchors may be many. */
static void add_anchor(struct builder *b, char *name, const struct yt_node *n)
{
	if (b->nanchors == b->anchors_alloc) {
		b->anchors_alloc = b->anchors_alloc ? b->anchors_alloc * 2 : 16;
		b->anchors = xrealloc(b->anchors, b->anchors_alloc * sizeof(*b->anchors));
	}
	b->anchors[b->nanchors].name = name;
	b->anchors[b->nanchors].node = n;
	b->nanchors++;
}

/* Arrays grow by doubling inside the arena; the old copy is left behind
 * (at most as much again as the final array). */
static void grow(struct yt_doc *doc, void **arr, size_t *alloc, size_t n, size_t size)
{
	if (n < *alloc)
		return;
	size_t na = *alloc ? *alloc * 2 : 4;
	void *p = arena_alloc(doc, na * size);
	if (n)
		memcpy(p, *arr, n * size);
	*arr = p;
	*alloc = na;
}

/* Attach a finished (or, for collections, just started) node to its
 * parent.  On error the node is freed here. */
static int attach(struct builder *b, struct yt_node *n, yaml_mark_t m)
{
	if (b->depth == 0) {
		b->doc->root = n;
		return 0;
	}
	struct frame *f = &b->stack[b->depth - 1];
	struct yt_node *p = f->node;
	if (p->kind == YT_SEQUENCE) {
		grow(b->doc, (void **)&p->items, &p->alloc, p->nitems, sizeof(*p->items));
		p->items[p->nitems++] = n;
	} else if (!f->key) {
		if (n->kind != YT_SCALAR)
			return berr(b, m, "mapping keys must be scalars");
		f->key = n;
	} else {
		grow(b->doc, (void **)&p->pairs, &p->alloc, p->npairs, sizeof(*p->pairs));
		p->pairs[p->npairs].key = f->key;
		p->pairs[p->npairs].value = n;
		p->npairs++;
		f->key = NULL;
	}
	return 0;
}

static int cmp_pair_key(const void *a, const void *b)
{
	const struct yt_pair *x = *(const struct yt_pair *const *)a;
	const struct yt_pair *y = *(const struct yt_pair *const *)b;
	int c = strcmp(x->key->value, y->key->value);
	if (c)
		return c;
	/* Equal keys: document order, so the later one is reported. */
	if (x->key->line != y->key->line)
		return x->key->line < y->key->line ? -1 : 1;
	return x->key->col < y->key->col ? -1 : x->key->col > y->key->col;
}

static int dup_error(struct builder *b, const struct yt_node *first, const struct yt_node *again)
{
	gate_error_set(b->err, b->doc->file, again->line, again->col,
	               "duplicate key '%s' (first at line %d, column %d)", again->value,
	               first->line, first->col);
	return -1;
}

/* Duplicate keys are refused: which of two values would win is exactly
 * the kind of doubt a gate must not have.  Sorting keeps a large mapping
 * (a vars table) linear-logarithmic. */
static int check_duplicates(struct builder *b, const struct yt_node *map)
{
	size_t n = map->npairs;
	if (n < 2)
		return 0;
	if (n <= 8) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (!strcmp(map->pairs[i].key->value, map->pairs[j].key->value))
					return dup_error(b, map->pairs[j].key, map->pairs[i].key);
		return 0;
	}
	const struct yt_pair **v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = &map->pairs[i];
	qsort(v, n, sizeof(*v), cmp_pair_key);
	int rc = 0;
	for (size_t i = 1; i < n && !rc; i++)
		if (!strcmp(v[i]->key->value, v[i - 1]->key->value))
			rc = dup_error(b, v[i - 1]->key, v[i]->key);
	free(v);
	return rc;
}

static int push(struct builder *b, struct yt_node *n, const yaml_char_t *anchor, yaml_mark_t m)
{
	if (b->depth >= b->lim->max_depth)
		return berr(b, m, "nesting deeper than %d levels", b->lim->max_depth);
	if (attach(b, n, m) < 0)
		return -1;
	if (b->depth == b->alloc) {
		b->alloc = b->alloc ? b->alloc * 2 : 16;
		b->stack = xrealloc(b->stack, (size_t)b->alloc * sizeof(*b->stack));
	}
	struct frame *f = &b->stack[b->depth++];
	f->node = n;
	f->anchor = anchor ? xstrdup((const char *)anchor) : NULL;
	f->key = NULL;
	return 0;
}

static int pop(struct builder *b, yaml_mark_t m)
{
	struct frame *f = &b->stack[--b->depth];
	struct yt_node *n = f->node;
	int rc = 0;
	f->key = NULL; /* libyaml always pairs keys with values */
	if (n->kind == YT_MAPPING)
		rc = check_duplicates(b, n);
	/* Heights of the children are final now. */
	int h = 0;
	for (size_t i = 0; i < n->nitems; i++)
		if (n->items[i]->height > h)
			h = n->items[i]->height;
	for (size_t i = 0; i < n->npairs; i++)
		if (n->pairs[i].value->height > h)
			h = n->pairs[i].value->height;
	n->height = h + 1;
	if (f->anchor) {
		add_anchor(b, f->anchor, n);
		f->anchor = NULL;
	}
	(void)m;
	return rc;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const yaml_char_t *v = ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	if (memchr(v, '\0', len))
		return berr(b, ev->start_mark, "a scalar contains a NUL character");
	struct yt_node *n = node_new(b->doc, YT_SCALAR, ev->start_mark);
	n->value = arena_strndup(b->doc, (const char *)v, len);
	n->len = len;
	switch (ev->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		n->style = YT_SINGLE;
		break;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		n->style = YT_DOUBLE;
		break;
	case YAML_LITERAL_SCALAR_STYLE:
		n->style = YT_LITERAL;
		break;
	case YAML_FOLDED_SCALAR_STYLE:
		n->style = YT_FOLDED;
		break;
	default:
		n->style = YT_PLAIN;
		break;
	}
	if (ev->data.scalar.tag)
		n->tag = arena_strndup(b->doc, (const char *)ev->data.scalar.tag,
		                       strlen((const char *)ev->data.scalar.tag));
	if (ev->data.scalar.anchor)
		add_anchor(b, xstrdup((const char *)ev->data.scalar.anchor), n);
	return attach(b, n, ev->start_mark);
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	if (++b->aliases > b->lim->max_aliases)
		return berr(b, ev->start_mark, "too many aliases (more than %d)",
		            b->lim->max_aliases);
	const struct yt_node *target = NULL;
	for (size_t i = b->nanchors; i-- > 0 && !target;)
		if (!strcmp(b->anchors[i].name, name))
			target = b->anchors[i].node;
	if (!target)
		return berr(b, ev->start_mark, "unknown alias '*%s'", name);
	if (b->depth + target->height > b->lim->max_depth)
		return berr(b, ev->start_mark, "nesting deeper than %d levels", b->lim->max_depth);
	struct yt_node *n = node_copy(b->doc, target, &b->alias_budget);
	if (!n)
		return berr(b, ev->start_mark, "aliases expand to too many nodes (more than %zu)",
		            b->lim->max_alias_nodes);
	/* The copy sits where the alias is. */
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	return attach(b, n, ev->start_mark);
}

static int parser_error(struct builder *b, const yaml_parser_t *p, const char *text, size_t len)
{
	yaml_mark_t m = p->problem_mark;
	const char *what = p->problem ? p->problem : "unknown error";
	if (p->error == YAML_MEMORY_ERROR)
		return berr(b, m, "out of memory while parsing yaml");
	if (p->error == YAML_READER_ERROR) {
		/* The reader (encoding) reports a byte offset, not a mark. */
		memset(&m, 0, sizeof(m));
		for (size_t i = 0; i < p->problem_offset && i < len; i++) {
			if (text[i] == '\n') {
				m.line++;
				m.column = 0;
			} else {
				m.column++;
			}
		}
		return berr(b, m, "invalid yaml: %s", what);
	}
	if (p->context)
		return berr(b, m, "invalid yaml: %s %s", p->context, what);
	return berr(b, m, "invalid yaml: %s", what);
}

/* One event; 1 at the end of the stream, 0 to go on, -1 on error. */
static int on_event(struct builder *b, const yaml_event_t *ev, int *docs)
{
	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
		return 0;
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1)
			return berr(b, ev->start_mark,
			            "multiple documents in one file are not allowed");
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev);
	case YAML_SEQUENCE_START_EVENT: {
		struct yt_node *n = node_new(b->doc, YT_SEQUENCE, ev->start_mark);
		if (ev->data.sequence_start.tag)
			n->tag = arena_strndup(b->doc, (const char *)ev->data.sequence_start.tag,
			                       strlen((const char *)ev->data.sequence_start.tag));
		return push(b, n, ev->data.sequence_start.anchor, ev->start_mark);
	}
	case YAML_MAPPING_START_EVENT: {
		struct yt_node *n = node_new(b->doc, YT_MAPPING, ev->start_mark);
		if (ev->data.mapping_start.tag)
			n->tag = arena_strndup(b->doc, (const char *)ev->data.mapping_start.tag,
			                       strlen((const char *)ev->data.mapping_start.tag));
		return push(b, n, ev->data.mapping_start.anchor, ev->start_mark);
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return pop(b, ev->start_mark);
	default:
		return 0;
	}
}

static int build(struct yt_doc *doc, const char *text, size_t len, const struct yt_limits *lim,
                 struct gate_error *err)
{
	struct builder b = {0};
	b.doc = doc;
	b.lim = lim;
	b.err = err;
	b.alias_budget = lim->max_alias_nodes;
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		gate_error_set(err, doc->file, 0, 0, "cannot initialise the yaml parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	int docs = 0, rc = 0;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = parser_error(&b, &parser, text, len);
			break;
		}
		rc = on_event(&b, &ev, &docs);
		yaml_event_delete(&ev);
		if (rc) {
			rc = rc > 0 ? 0 : -1;
			break;
		}
	}
	yaml_parser_delete(&parser);
	/* Nodes are the arena's; only anchor names of open collections and
	 * the stacks are ours. */
	for (int i = 0; i < b.depth; i++)
		free(b.stack[i].anchor);
	free(b.stack);
	for (size_t i = 0; i < b.nanchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);
	return rc;
}

int yt_load_string(struct yt_doc *doc, const char *name, const char *text, size_t len,
                   const struct yt_limits *limits, struct gate_error *err)
{
	const struct yt_limits *lim = limits ? limits : &default_limits;
	memset(doc, 0, sizeof(*doc));
	doc->file = xstrdup(name ? name : "");
	if (len > lim->max_file_size) {
		gate_error_set(err, doc->file, 0, 0, "file is larger than %zu bytes (%zu bytes)",
		               lim->max_file_size, len);
		return -1;
	}
	return build(doc, text, len, lim, err);
}

/* Read the whole regular file open on fd, of at most max bytes (fd is
 * left open). */
static int read_fd(int fd, const char *path, size_t max, char **out, size_t *outlen,
                   struct stat *st, struct gate_error *err)
{
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		gate_error_set(err, path, 0, 0, "not a regular file");
		return -1;
	}
	if ((uint64_t)st->st_size > max) {
		gate_error_set(err, path, 0, 0, "file is too large (%lld bytes, the limit is %zu)",
		               (long long)st->st_size, max);
		return -1;
	}
	/* Read one byte more than allowed, in case the file grew. */
	char *buf = xmalloc(max + 2);
	size_t n = 0;
	while (n <= max) {
		ssize_t r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			gate_error_set(err, path, 0, 0, "cannot read: %s", strerror(errno));
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		gate_error_set(err, path, 0, 0, "file is too large (more than %zu bytes)", max);
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
}

int yt_load_file(struct yt_doc *doc, const char *path, const struct yt_limits *limits,
                 struct gate_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		memset(doc, 0, sizeof(*doc));
		doc->file = xstrdup(path);
		gate_error_set(err, path, 0, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	int rc = yt_load_fd(doc, fd, path, limits, err);
	close(fd);
	return rc;
}

int yt_load_fd(struct yt_doc *doc, int fd, const char *path, const struct yt_limits *limits,
               struct gate_error *err)
{
	const struct yt_limits *lim = limits ? limits : &default_limits;
	memset(doc, 0, sizeof(*doc));
	doc->file = xstrdup(path);
	char *text;
	size_t len;
	struct stat st;
	if (read_fd(fd, path, lim->max_file_size, &text, &len, &st, err) < 0)
		return -1;
	doc->mode = st.st_mode;
	doc->dev = st.st_dev;
	doc->ino = st.st_ino;
	int rc = build(doc, text, len, lim, err);
	free(text);
	return rc;
}

void yt_doc_release(struct yt_doc *doc)
{
	if (!doc)
		return;
	arena_free(doc);
	free(doc->file);
	memset(doc, 0, sizeof(*doc));
}
