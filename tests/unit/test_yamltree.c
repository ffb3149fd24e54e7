/* SPDX-License-Identifier: MIT */
/* The YAML tree: positions, styles, tags, limits (size, depth, aliases,
 * duplicate keys, documents) and the schema helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"
#include "gate/yamltree.h"

static int parse(const char *text, struct yt_doc *d, struct gate_error *err)
{
	memset(err, 0, sizeof(*err));
	return yt_load_string(d, "t.yaml", text, strlen(text), NULL, err);
}

static void test_tree(void **state)
{
	(void)state;
	struct yt_doc d;
	struct gate_error err;
	const char *text = "a: 1\n"
			   "b:\n"
			   "  - x\n"
			   "  - 'q'\n"
			   "  - \"d\"\n"
			   "c: {k: v}\n"
			   "d: |\n"
			   "  lit\n"
			   "e: !!str 12\n"
			   "f:\n";
	assert_int_equal(parse(text, &d, &err), 0);
	const struct yt_node *r = d.root;
	assert_int_equal(r->kind, YT_MAPPING);
	assert_int_equal(r->npairs, 6);
	assert_string_equal(r->pairs[0].key->value, "a");
	assert_int_equal(r->pairs[0].value->line, 1);
	assert_int_equal(r->pairs[0].value->col, 4);
	assert_string_equal(r->file, "t.yaml");
	const struct yt_node *b = yt_map_get(r, "b");
	assert_int_equal(b->kind, YT_SEQUENCE);
	assert_int_equal(b->nitems, 3);
	assert_int_equal(b->items[1]->line, 4);
	assert_int_equal(b->items[1]->col, 5);
	assert_int_equal(b->items[0]->style, YT_PLAIN);
	assert_int_equal(b->items[1]->style, YT_SINGLE);
	assert_int_equal(b->items[2]->style, YT_DOUBLE);
	assert_true(yt_is_plain(b->items[0]));
	assert_false(yt_is_plain(b->items[1]));
	const struct yt_node *c = yt_map_get(r, "c");
	assert_int_equal(c->kind, YT_MAPPING);
	assert_string_equal(yt_map_get(c, "k")->value, "v");
	assert_int_equal(yt_map_get(r, "d")->style, YT_LITERAL);
	assert_string_equal(yt_map_get(r, "d")->value, "lit\n");
	const struct yt_node *e = yt_map_get(r, "e");
	assert_string_equal(e->tag, "tag:yaml.org,2002:str");
	assert_false(yt_is_plain(e));
	assert_true(yt_is_null(yt_map_get(r, "f")));
	assert_null(yt_map_get(r, "zz"));
	assert_int_equal(r->height, 2);
	yt_doc_release(&d);

	/* An empty document: no root, no error. */
	assert_int_equal(parse("", &d, &err), 0);
	assert_null(d.root);
	yt_doc_release(&d);
	assert_int_equal(parse("# just a comment\n", &d, &err), 0);
	assert_null(d.root);
	yt_doc_release(&d);
}

struct err_case {
	const char *what, *yaml;
	int line, col;
	const char *fragment;
};

static const struct err_case err_cases[] = {
	{"duplicate key", "a: 1\nb: 2\na: 3\n", 3, 1,
         "duplicate key 'a' (first at line 1, column 1)"},
	{"duplicate nested", "m:\n  x: 1\n  x: 2\n", 3, 3, "duplicate key 'x'"},
	{"sequence as key", "? [a]\n: b\n", 1, 3, "mapping keys must be scalars"},
	{"mapping as key", "{{a: b}: c}\n", 1, 2, "mapping keys must be scalars"},
	{"two documents", "a: 1\n---\nb: 2\n", 2, 1, "multiple documents"},
	{"syntax", "a: [1, 2\n", 2, 1, "invalid yaml"},
	{"tab indentation", "a:\n\t- b\n", 2, 1, "invalid yaml"},
	{"unknown alias", "a: *x\n", 1, 4, "unknown alias '*x'"},
	{"recursive alias", "a: &x [*x]\n", 1, 8, "unknown alias '*x'"},
	{"NUL in a scalar", "a: \"x\\0y\"\n", 1, 4, "NUL"},
	{"bad utf-8", "a: \xff\xfe\n", 1, 4, "invalid yaml"},
};

static void test_errors(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		struct yt_doc d;
		struct gate_error err;
		int rc = parse(c->yaml, &d, &err);
		if (rc != -1 || err.line != c->line || err.col != c->col ||
		    !strstr(err.msg, c->fragment) || strcmp(err.file, "t.yaml")) {
			print_error("case '%s': rc %d, %s:%d:%d: %s\n", c->what, rc, err.file,
			            err.line, err.col, err.msg);
			failures++;
		}
		yt_doc_release(&d);
	}
	assert_int_equal(failures, 0);
}

static void test_depth(void **state)
{
	(void)state;
	struct yt_doc d;
	struct gate_error err;
	for (int depth = 63; depth <= 66; depth++) {
		struct strbuf sb = STRBUF_INIT;
		for (int i = 0; i < depth; i++)
			strbuf_adds(&sb, "[");
		for (int i = 0; i < depth; i++)
			strbuf_adds(&sb, "]");
		int rc = parse(sb.buf, &d, &err);
		if (depth <= YT_MAX_DEPTH) {
			assert_int_equal(rc, 0);
			assert_int_equal(d.root->height, depth);
		} else {
			assert_int_equal(rc, -1);
			assert_int_equal(err.line, 1);
			assert_int_equal(err.col, YT_MAX_DEPTH + 1);
			assert_non_null(strstr(err.msg, "nesting deeper than 64 levels"));
		}
		yt_doc_release(&d);
		strbuf_release(&sb);
	}
	/* Depth reached through an alias counts too. */
	struct strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, "a: &deep ");
	for (int i = 0; i < 40; i++)
		strbuf_adds(&sb, "[");
	for (int i = 0; i < 40; i++)
		strbuf_adds(&sb, "]");
	strbuf_adds(&sb, "\nb: ");
	for (int i = 0; i < 30; i++)
		strbuf_adds(&sb, "[");
	strbuf_adds(&sb, "*deep");
	for (int i = 0; i < 30; i++)
		strbuf_adds(&sb, "]");
	strbuf_adds(&sb, "\n");
	assert_int_equal(parse(sb.buf, &d, &err), -1);
	assert_non_null(strstr(err.msg, "nesting deeper than"));
	assert_int_equal(err.line, 2);
	yt_doc_release(&d);
	strbuf_release(&sb);
}

static void test_aliases(void **state)
{
	(void)state;
	struct yt_doc d;
	struct gate_error err;
	/* Aliases are copies at the alias's position. */
	assert_int_equal(parse("base: &b {x: 1, y: [2, 3]}\nuse: *b\n", &d, &err), 0);
	const struct yt_node *u = yt_map_get(d.root, "use");
	assert_int_equal(u->kind, YT_MAPPING);
	assert_int_equal(u->line, 2);
	assert_int_equal(u->col, 6);
	assert_string_equal(yt_map_get(u, "y")->items[1]->value, "3");
	assert_ptr_not_equal(u, yt_map_get(d.root, "base"));
	yt_doc_release(&d);

	/* Billion laughs: nine levels of ten references. */
	struct strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int i = 1; i < 9; i++) {
		strbuf_addf(&sb, "a%d: &a%d [", i, i);
		for (int k = 0; k < 10; k++)
			strbuf_addf(&sb, "%s*a%d", k ? ", " : "", i - 1);
		strbuf_adds(&sb, "]\n");
	}
	assert_int_equal(parse(sb.buf, &d, &err), -1);
	assert_non_null(strstr(err.msg, "aliases expand to too many nodes (more than 10000)"));
	yt_doc_release(&d);
	strbuf_release(&sb);

	/* Few aliases of a large node: the node budget stops it too. */
	strbuf_adds(&sb, "big: &big [");
	for (int i = 0; i < 3000; i++)
		strbuf_addf(&sb, "%s%d", i ? "," : "", i);
	strbuf_adds(&sb, "]\nc: [*big, *big, *big, *big]\n");
	assert_int_equal(parse(sb.buf, &d, &err), -1);
	assert_non_null(strstr(err.msg, "aliases expand to too many nodes"));
	assert_int_equal(err.line, 2);
	yt_doc_release(&d);
	strbuf_release(&sb);

	/* 65 uses of a tiny alias. */
	strbuf_adds(&sb, "v: &s x\nl: [");
	for (int i = 0; i < 65; i++)
		strbuf_addf(&sb, "%s*s", i ? ", " : "");
	strbuf_adds(&sb, "]\n");
	assert_int_equal(parse(sb.buf, &d, &err), -1);
	assert_non_null(strstr(err.msg, "too many aliases (more than 64)"));
	yt_doc_release(&d);
	strbuf_release(&sb);

	/* Custom limits. */
	struct yt_limits lim = {1024, 3, 1, 10};
	const char *t = "v: &s x\nl: [*s, *s]\n";
	memset(&err, 0, sizeof(err));
	assert_int_equal(yt_load_string(&d, "t.yaml", t, strlen(t), &lim, &err), -1);
	assert_non_null(strstr(err.msg, "too many aliases (more than 1)"));
	yt_doc_release(&d);
}

static void test_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_yamltree.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *p = xasprintf("%s/f.yaml", dir);
	FILE *f = fopen(p, "w");
	fputs("k: v\n", f);
	fclose(f);
	chmod(p, 0640);
	struct yt_doc d;
	struct gate_error err = {0};
	assert_int_equal(yt_load_file(&d, p, NULL, &err), 0);
	assert_string_equal(d.root->pairs[0].value->value, "v");
	assert_string_equal(d.root->file, p);
	assert_int_equal(d.mode & 0777, 0640);
	assert_true(d.ino != 0);
	yt_doc_release(&d);

	/* Too large: refused before parsing. */
	struct yt_limits lim = {4, 64, 64, 100};
	memset(&err, 0, sizeof(err));
	assert_int_equal(yt_load_file(&d, p, &lim, &err), -1);
	assert_string_equal(err.file, p);
	assert_non_null(strstr(err.msg, "file is too large (5 bytes, the limit is 4)"));
	yt_doc_release(&d);

	/* Missing, and a directory. */
	memset(&err, 0, sizeof(err));
	char *missing = xasprintf("%s/none.yaml", dir);
	assert_int_equal(yt_load_file(&d, missing, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "cannot open: No such file or directory"));
	yt_doc_release(&d);
	memset(&err, 0, sizeof(err));
	assert_int_equal(yt_load_file(&d, dir, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	yt_doc_release(&d);

	unlink(p);
	rmdir(dir);
	free(p);
	free(missing);
}

static void test_getters(void **state)
{
	(void)state;
	struct yt_doc d;
	struct gate_error err;
	const char *text = "s: hello\n"
			   "t: true\n"
			   "qt: \"true\"\n"
			   "y: yes\n"
			   "i: -12\n"
			   "big: 99999999999999999999\n"
			   "dur: 1h30m\n"
			   "bare: 30\n"
			   "size: 64MiB\n"
			   "nul: ~\n"
			   "seq: [1]\n"
			   "map: {typo_key: 1, other: 2}\n";
	assert_int_equal(parse(text, &d, &err), 0);
	const struct yt_node *r = d.root;
	const char *s;
	int b;
	int64_t i;
	uint64_t u;
#define ERR_AT(call, line_, frag)                                              \
	do {                                                                   \
		memset(&err, 0, sizeof(err));                                  \
		assert_int_equal((call), -1);                                  \
		assert_int_equal(err.line, (line_));                           \
		if (!strstr(err.msg, (frag))) {                                \
			print_error("got '%s', want '%s'\n", err.msg, (frag)); \
			fail();                                                \
		}                                                              \
	} while (0)
	assert_int_equal(yt_get_string(yt_map_get(r, "s"), &s, &err), 0);
	assert_string_equal(s, "hello");
	ERR_AT(yt_get_string(yt_map_get(r, "nul"), &s, &err), 10, "expected a string, got null");
	ERR_AT(yt_get_string(yt_map_get(r, "seq"), &s, &err), 11,
	       "expected a string, got a sequence");
	assert_int_equal(yt_get_bool(yt_map_get(r, "t"), &b, &err), 0);
	assert_true(b);
	ERR_AT(yt_get_bool(yt_map_get(r, "qt"), &b, &err), 3, "expected true or false, got 'true'");
	ERR_AT(yt_get_bool(yt_map_get(r, "y"), &b, &err), 4, "expected true or false, got 'yes'");
	assert_int_equal(yt_get_int(yt_map_get(r, "i"), INT64_MIN, INT64_MAX, &i, &err), 0);
	assert_int_equal(i, -12);
	ERR_AT(yt_get_int(yt_map_get(r, "i"), 0, 10, &i, &err), 5, "-12 is out of range (0 to 10)");
	ERR_AT(yt_get_int(yt_map_get(r, "big"), INT64_MIN, INT64_MAX, &i, &err), 6,
	       "expected an integer");
	assert_int_equal(yt_get_duration(yt_map_get(r, "dur"), &i, &err), 0);
	assert_int_equal(i, 5400000);
	ERR_AT(yt_get_duration(yt_map_get(r, "bare"), &i, &err), 8, "duration '30' needs a unit");
	ERR_AT(yt_get_duration(yt_map_get(r, "s"), &i, &err), 1, "invalid duration 'hello'");
	assert_int_equal(yt_get_size(yt_map_get(r, "size"), &u, &err), 0);
	assert_int_equal(u, 64 * 1024 * 1024);
	ERR_AT(yt_get_size(yt_map_get(r, "s"), &u, &err), 1, "invalid size 'hello'");
	ERR_AT(yt_expect(yt_map_get(r, "seq"), YT_MAPPING, &err), 11,
	       "expected a mapping, got a sequence");
	assert_int_equal(yt_expect(yt_map_get(r, "seq"), YT_SEQUENCE, &err), 0);
	static const char *const keys[] = {"type_key", "other", NULL};
	ERR_AT(yt_check_keys(yt_map_get(r, "map"), keys, "a map", &err), 12,
	       "unknown key 'typo_key' in a map; did you mean 'type_key'?");
	assert_int_equal(err.col, 7);
	ERR_AT(yt_map_require(yt_map_get(r, "map"), "needed", "a map", &err) == NULL ? -1 : 0, 12,
	       "missing 'needed' in a map");
	assert_non_null(yt_map_require(r, "s", "root", &err));
	/* First error wins. */
	memset(&err, 0, sizeof(err));
	yt_error(&err, yt_map_get(r, "s"), "first");
	yt_error(&err, yt_map_get(r, "t"), "second");
	assert_string_equal(err.msg, "first");
	assert_int_equal(err.line, 1);
	yt_doc_release(&d);
#undef ERR_AT
}

static void test_closest(void **state)
{
	(void)state;
	const char *c[] = {"timeout", "retries", "retry_delay", "postgres.replication"};
	assert_string_equal(yt_closest("timout", c, 4), "timeout");
	assert_string_equal(yt_closest("retires", c, 4), "retries");
	assert_string_equal(yt_closest("postgres.replicaton", c, 4), "postgres.replication");
	assert_null(yt_closest("banana", c, 4));
	assert_null(yt_closest("ab", c, 4));
	assert_null(yt_closest("x", c, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),    cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth),   cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_file),    cmocka_unit_test(test_getters),
		cmocka_unit_test(test_closest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
