/* SPDX-License-Identifier: MIT */
/*
 * The module registry: ABI checks on in-memory modules, then real shared
 * objects built by this test with the system compiler (a good module, a
 * wrong ABI, a missing symbol, a file that is no ELF, a duplicate type)
 * loaded through dlopen, alone and from a directory.
 */
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

#include "checks/builtin.h"
#include "gate/registry.h"
#include "kit/alloc.h"
#include "kit/clock.h"
#include "kit/strbuf.h"

static void run_nothing(const json_t *params, const struct gate_run_env *env,
                        struct gate_result *res)
{
	(void)params;
	(void)env;
	gate_result_set(res, GATE_PASS, "ok");
}

static const struct gate_check_type types_a[] = {
	{"mem.one", "one", NULL, NULL, NULL, run_nothing},
	{"mem.two", "two", NULL, NULL, NULL, run_nothing},
};
static const struct gate_check_type types_dup[] = {
	{"mem.two", "again", NULL, NULL, NULL, run_nothing},
};
static const struct gate_check_type types_self_dup[] = {
	{"mem.x", "x", NULL, NULL, NULL, run_nothing},
	{"mem.x", "x again", NULL, NULL, NULL, run_nothing},
};
static const struct gate_check_type types_bad_name[] = {
	{"Mem.Upper", "bad", NULL, NULL, NULL, run_nothing},
};
static const struct gate_check_type types_no_run[] = {
	{"mem.norun", "no run", NULL, NULL, NULL, NULL},
};

/* ABI 1.1's rehearsal list marks the types it names; a module that says
 * it was built for 1.0 has no such field, and nothing it has is read. */
static void test_rehearsal_list(void **state)
{
	(void)state;
	static const char *const rehearsals[] = {"mem.two", NULL};
	struct gate_registry reg;
	registry_init(&reg);
	struct gate_error err = {0};
	struct gate_module m = {GATE_MKVERSION(1, 1), "a", "1", types_a, 2, rehearsals, 0};
	assert_int_equal(registry_add_module(&reg, &m, "a.so", &err), 0);
	assert_int_equal(registry_find(&reg, "mem.one")->rehearsal, 0);
	assert_int_equal(registry_find(&reg, "mem.two")->rehearsal, 1);
	registry_release(&reg);

	registry_init(&reg);
	struct gate_module old = {GATE_MKVERSION(1, 0), "a", "1", types_a, 2, rehearsals, 0};
	assert_int_equal(registry_add_module(&reg, &old, "a.so", &err), 0);
	assert_int_equal(registry_find(&reg, "mem.two")->rehearsal, 0);
	registry_release(&reg);
}

static void test_add_module(void **state)
{
	(void)state;
	struct gate_registry reg;
	registry_init(&reg);
	struct gate_error err = {0};

	struct gate_module m = {GATE_ABI_VERSION, "a", "1", types_a, 2, NULL, 0};
	assert_int_equal(registry_add_module(&reg, &m, "a.so", &err), 0);
	assert_int_equal(reg.ntypes, 2);
	const struct gate_registry_entry *e = registry_find(&reg, "mem.two");
	assert_non_null(e);
	assert_ptr_equal(e->ct, &types_a[1]);
	assert_ptr_equal(e->mod, &m);
	assert_string_equal(e->origin, "a.so");
	assert_null(registry_find(&reg, "mem.three"));

	static const struct {
		uint32_t abi;
		const char *msg;
	} abis[] = {
		{GATE_MKVERSION(2, 0),
	         "module foo.so: built for module ABI 2.0, this gate provides 1.2"},
		{GATE_MKVERSION(0, 9),
	         "module foo.so: built for module ABI 0.9, this gate provides 1.2"},
		{GATE_MKVERSION(1, 3),
	         "module foo.so: built for module ABI 1.3, this gate provides 1.2"},
	};
	for (size_t i = 0; i < sizeof(abis) / sizeof(abis[0]); i++) {
		/* types is deliberately garbage: nothing but the version may be
		 * read from a module whose ABI is not accepted. */
		struct gate_module bad = {
			abis[i].abi, "foo", "1", (const struct gate_check_type *)(uintptr_t)0x1,
			99,          NULL,  0};
		memset(&err, 0, sizeof(err));
		assert_int_equal(registry_add_module(&reg, &bad, "foo.so", &err), -1);
		assert_string_equal(err.msg, abis[i].msg);
	}
	assert_int_equal(reg.ntypes, 2);

	/* A type provided twice, across modules or within one. */
	struct gate_module d = {GATE_ABI_VERSION, "d", "1", types_dup, 1, NULL, 0};
	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_add_module(&reg, &d, "d.so", &err), -1);
	assert_string_equal(err.msg,
	                    "module d.so: check type 'mem.two' is already provided by a.so");
	struct gate_module sd = {GATE_ABI_VERSION, "sd", "1", types_self_dup, 2, NULL, 0};
	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_add_module(&reg, &sd, "sd.so", &err), -1);
	assert_non_null(strstr(err.msg, "check type 'mem.x' is defined twice"));
	/* All or nothing: mem.x from the refused module is not registered. */
	assert_null(registry_find(&reg, "mem.x"));

	struct gate_module bn = {GATE_ABI_VERSION, "bn", "1", types_bad_name, 1, NULL, 0};
	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_add_module(&reg, &bn, "bn.so", &err), -1);
	assert_non_null(strstr(err.msg, "invalid check type name 'Mem.Upper'"));
	struct gate_module nr = {GATE_ABI_VERSION, "nr", "1", types_no_run, 1, NULL, 0};
	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_add_module(&reg, &nr, "nr.so", &err), -1);
	assert_non_null(strstr(err.msg, "has no run function"));

	/* A module without types adds nothing and is no error. */
	struct gate_module empty = {GATE_ABI_VERSION, "e", "1", NULL, 0, NULL, 0};
	assert_int_equal(registry_add_module(&reg, &empty, "e.so", &err), 0);
	assert_int_equal(reg.ntypes, 2);
	assert_int_equal(reg.nfailures, 0); /* add_module does not record */
	registry_release(&reg);
	registry_release(&reg); /* twice is harmless */
	registry_release(NULL);
}

static void test_builtins(void **state)
{
	(void)state;
	struct gate_registry reg;
	registry_init(&reg);
	registry_add_builtins(&reg, gate_builtin_modules);
	assert_int_equal(reg.nfailures, 0);
	const struct gate_module *const *mods = gate_builtin_modules;
	size_t want = 0, n = 0;
	for (size_t i = 0; mods[i]; i++, n++) {
		want += mods[i]->ntypes;
		for (size_t t = 0; t < mods[i]->ntypes; t++) {
			const struct gate_registry_entry *e = registry_find(&reg,
			                                                    mods[i]->types[t].name);
			assert_non_null(e);
			assert_string_equal(e->origin, "built-in");
		}
	}
	assert_true(n >= 6);
	assert_int_equal(reg.ntypes, want);
	/* the restore rehearsals are marked, the other checks not */
	assert_true(registry_find(&reg, "pgbackrest.restore")->rehearsal);
	assert_false(registry_find(&reg, "pgbackrest.backup")->rehearsal);
	registry_release(&reg);
}

/* The program hands in its own list: only those modules are built in,
 * one that cannot be added is a recorded failure (the gate then blocks a
 * check of its types), and an empty or absent list adds nothing. */
static void test_builtin_list(void **state)
{
	(void)state;
	static const struct gate_module a = {GATE_ABI_VERSION, "a", "1", types_a, 2, NULL, 0};
	static const struct gate_module dup = {GATE_ABI_VERSION, "dup", "1", types_dup, 1, NULL, 0};
	static const struct gate_module *const list[] = {&a, &dup, NULL};
	static const struct gate_module *const none[] = {NULL};
	struct gate_registry reg;
	registry_init(&reg);
	registry_add_builtins(&reg, list);
	assert_int_equal(reg.ntypes, 2);
	assert_string_equal(registry_find(&reg, "mem.one")->origin, "built-in");
	assert_ptr_equal(registry_find(&reg, "mem.two")->ct, &types_a[1]);
	assert_null(registry_find(&reg, "exec"));
	assert_int_equal(reg.nfailures, 1);
	assert_string_equal(reg.failures[0].path, "dup");
	assert_non_null(strstr(reg.failures[0].why, "already provided by built-in"));
	registry_release(&reg);

	registry_init(&reg);
	registry_add_builtins(&reg, none);
	registry_add_builtins(&reg, NULL);
	assert_int_equal(reg.ntypes, 0);
	assert_int_equal(reg.nfailures, 0);
	registry_release(&reg);
}

/* ---- real shared objects ---- */

static char tmpdir[PATH_MAX];

/* ctest sets GATE_SOURCE_DIR; run by hand, the tree is where this file
 * was compiled from (CMake passes absolute paths). */
static const char *source_dir(void)
{
	static char buf[PATH_MAX];
	const char *s = getenv("GATE_SOURCE_DIR");
	if (s)
		return s;
	snprintf(buf, sizeof(buf), "%s", __FILE__);
	char *t = strstr(buf, "/tests/unit/");
	if (t)
		*t = '\0';
	return buf;
}

/* Build dir/name.so from C source; the module header comes from the tree. */
static char *build_module(const char *dir, const char *name, const char *src)
{
	char *c = xasprintf("%s/%s.c", tmpdir, name);
	char *so = xasprintf("%s/%s.so", dir, name);
	FILE *f = fopen(c, "w");
	assert_non_null(f);
	fputs(src, f);
	fclose(f);
	char *cmd = xasprintf("cc -shared -fPIC -fvisibility=hidden -I'%s' -o '%s' '%s' "
	                      "$(pkg-config --cflags jansson) 2>&1",
	                      source_dir(), so, c);
	int rc = system(cmd);
	if (rc != 0)
		print_error("failed: %s\n", cmd);
	assert_int_equal(rc, 0);
	free(cmd);
	free(c);
	return so;
}

#define MODULE_SRC(abi, tname)                                             \
	"#include \"gate/module.h\"\n"                                     \
	"static void run(const json_t *p, const struct gate_run_env *e,\n" \
	"                struct gate_result *r)\n"                         \
	"{ (void)p; (void)e; gate_result_set(r, GATE_PASS, \"ok\"); }\n"   \
	"static const struct gate_check_type types[] = {\n"                \
	"  {\"" tname "\", \"s\", NULL, NULL, NULL, run},\n"               \
	"};\n"                                                             \
	"GATE_EXPORT const struct gate_module gate_module = {\n"           \
	"  " abi ", \"ext\", \"1.0\", types, 1, NULL};\n"

static void test_shared_objects(void **state)
{
	(void)state;
	char *mods = xasprintf("%s/modules", tmpdir);
	assert_int_equal(mkdir(mods, 0755), 0);
	char *good = build_module(mods, "b_good", MODULE_SRC("GATE_ABI_VERSION", "ext.hello"));
	char *abi2 = build_module(mods, "a_abi2", MODULE_SRC("GATE_MKVERSION(2, 0)", "ext.future"));
	char *nosym = build_module(tmpdir, "nosym", "int gate_modul = 1;\n");
	char *dup = build_module(tmpdir, "dup", MODULE_SRC("GATE_ABI_VERSION", "ext.hello"));
	char *text = xasprintf("%s/c_text.so", mods);
	FILE *f = fopen(text, "w");
	fputs("not an ELF object\n", f);
	fclose(f);
	char *readme = xasprintf("%s/README", mods);
	f = fopen(readme, "w");
	fputs("ignored: not a .so\n", f);
	fclose(f);

	struct gate_registry reg;
	registry_init(&reg);
	struct gate_error err = {0};
	assert_int_equal(registry_load_file(&reg, good, &err), 0);
	const struct gate_registry_entry *e = registry_find(&reg, "ext.hello");
	assert_non_null(e);
	assert_string_equal(e->origin, good);
	assert_string_equal(e->mod->version, "1.0");
	/* The loaded run function works. */
	struct gate_result res = {GATE_ERROR, "", NULL};
	e->ct->run(NULL, NULL, &res);
	assert_int_equal(res.status, GATE_PASS);

	/* Wrong ABI: refused with the exact message, recorded. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_load_file(&reg, abi2, &err), -1);
	char *want = xasprintf("module %s: built for module ABI 2.0, this gate provides 1.2", abi2);
	assert_string_equal(err.msg, want);
	free(want);
	assert_int_equal(reg.nfailures, 1);
	assert_string_equal(reg.failures[0].path, abi2);
	assert_null(registry_find(&reg, "ext.future"));

	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_load_file(&reg, nosym, &err), -1);
	assert_non_null(strstr(err.msg, "no 'gate_module' symbol"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_load_file(&reg, text, &err), -1);
	assert_non_null(strstr(err.msg, "cannot load"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_load_file(&reg, dup, &err), -1);
	assert_non_null(strstr(err.msg, "check type 'ext.hello' is already provided by"));
	assert_int_equal(reg.nfailures, 4);
	assert_int_equal(reg.nhandles, 1); /* refused ones are closed again */
	registry_release(&reg);

	/* A bare name is a file in the current directory, never a search of
	 * the library path (libc.so.6 would be found there). */
	registry_init(&reg);
	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_load_file(&reg, "libc.so.6", &err), -1);
	assert_non_null(strstr(err.msg, "cannot load"));
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(mods), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(registry_load_file(&reg, "b_good.so", &err), 0);
	assert_non_null(registry_find(&reg, "ext.hello"));
	assert_int_equal(chdir(cwd), 0);
	registry_release(&reg);

	/* A directory: every *.so, sorted; failures recorded, others loaded. */
	registry_init(&reg);
	registry_load_dir(&reg, mods);
	assert_non_null(registry_find(&reg, "ext.hello"));
	assert_int_equal(reg.nfailures, 2);
	assert_string_equal(reg.failures[0].path, abi2); /* a_ before c_ */
	assert_string_equal(reg.failures[1].path, text);
	assert_non_null(strstr(reg.failures[0].why, "module ABI 2.0"));
	registry_release(&reg);

	/* A missing directory is not an error. */
	registry_init(&reg);
	char *none = xasprintf("%s/none", tmpdir);
	registry_load_dir(&reg, none);
	assert_int_equal(reg.nfailures, 0);
	assert_int_equal(reg.ntypes, 0);
	registry_release(&reg);

	free(none);
	free(good);
	free(abi2);
	free(nosym);
	free(dup);
	free(text);
	free(readme);
	free(mods);
}

/* A family's object: module `name` with the given type entries (C
 * source) and rehearsal list. */
#define FAMILY_SRC(abi, name, types, rehearsals)                           \
	"#include \"gate/module.h\"\n"                                     \
	"static void run(const json_t *p, const struct gate_run_env *e,\n" \
	"                struct gate_result *r)\n"                         \
	"{ (void)p; (void)e; gate_result_set(r, GATE_PASS, \"ok\"); }\n"   \
	"static const struct gate_check_type types[] = {" types "};\n"     \
	"static const char *const rh[] = {" rehearsals "NULL};\n"          \
	"GATE_EXPORT const struct gate_module gate_module = {\n"           \
	"  " abi ", \"" name "\", \"1.0\", types,\n"                       \
	"  sizeof(types) / sizeof(types[0]), rh};\n"
#define T(n) "{\"" n "\", \"s\", NULL, NULL, NULL, run},"

static const struct gate_family_type fam_index[] = {
	{"good.one", "good", 0},   {"good.two", "good", 1}, {"miss.one", "miss", 0},
	{"other.one", "other", 0}, {"elf.one", "elf", 0},   {"abi.one", "abi", 0},
	{"untr.one", "untr", 0},   {"rh.one", "rh", 1},     {NULL, NULL, 0},
};

/* The reason family `type`'s family was refused, or "" when it was not. */
static const char *refusal(struct gate_registry *reg, const char *type)
{
	const struct gate_family_load *f = registry_family_failure(reg, type);
	return f ? f->why : "";
}

/* Built-in families on demand: nothing is loaded until a type is looked
 * up, then only its family; a family that is missing, untrusted, not an
 * object, of another ABI or not providing what the index says is refused
 * with the reason, and its types are never found; suggestions and the
 * external modules' duplicate check use the index without loading. */
static void test_families(void **state)
{
	(void)state;
	char *dir = xasprintf("%s/families", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	free(build_module(dir, "good",
	                  FAMILY_SRC("GATE_ABI_VERSION", "good", T("good.one") T("good.two"),
	                             "\"good.two\",")));
	free(build_module(
		dir, "other",
		FAMILY_SRC("GATE_ABI_VERSION", "other", T("other.one") T("other.extra"), "")));
	free(build_module(dir, "abi", FAMILY_SRC("GATE_MKVERSION(2, 0)", "abi", T("abi.one"), "")));
	free(build_module(dir, "rh", FAMILY_SRC("GATE_ABI_VERSION", "rh", T("rh.one"), "")));
	char *untr = build_module(dir, "untr",
	                          FAMILY_SRC("GATE_ABI_VERSION", "untr", T("untr.one"), ""));
	assert_int_equal(chmod(untr, 0775), 0);
	char *elf = xasprintf("%s/elf.so", dir);
	FILE *f = fopen(elf, "w");
	fputs("not an ELF object\n", f);
	fclose(f);

	struct gate_registry reg;
	registry_init(&reg);
	registry_add_families(&reg, fam_index, dir);
	assert_int_equal(reg.nfamilies, 7);
	size_t n;
	const char **names = registry_type_names(&reg, &n);
	assert_int_equal(n, 8);
	assert_string_equal(names[1], "good.two");
	free(names);
	assert_int_equal(reg.nhandles, 0); /* nothing loaded to list them */
	assert_int_equal(reg.nfds, 0);

	const struct gate_registry_entry *e = registry_find(&reg, "good.two");
	assert_non_null(e);
	assert_string_equal(e->origin, "built-in");
	assert_string_equal(e->mod->name, "good");
	assert_true(e->rehearsal);
	assert_int_equal(reg.nhandles, 1);
	assert_non_null(registry_find(&reg, "good.one"));
	assert_false(registry_find(&reg, "good.one")->rehearsal);
	assert_int_equal(reg.nhandles, 1); /* loaded once */
	assert_string_equal(refusal(&reg, "good.one"), "");
	assert_null(registry_find(&reg, "nosuch.type"));
	assert_null(registry_family_failure(&reg, "nosuch.type"));

	static const struct {
		const char *type, *why;
	} refused[] = {
		{"miss.one", "miss.so: cannot load: cannot open: No such file or directory"},
		{"other.one",
	         "provides check type 'other.extra', which gate's index does not name"},
		{"elf.one", "elf.so: cannot load: "},
		{"abi.one", "abi.so: built for module ABI 2.0, this gate provides 1.2"},
		{"untr.one", "untr.so: not loaded: "},
		{"rh.one", "check type 'rh.one' is not a restore rehearsal in the module"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_null(registry_find(&reg, refused[i].type));
		const char *why = refusal(&reg, refused[i].type);
		if (!strstr(why, refused[i].why))
			print_error("%s: %s\n", refused[i].type, why);
		assert_non_null(strstr(why, refused[i].why));
		assert_null(registry_find(&reg, refused[i].type)); /* and stays so */
	}
	assert_non_null(strstr(refusal(&reg, "untr.one"), "writable by group"));
	assert_int_equal(reg.nhandles, 1);
	assert_int_equal(reg.ntypes, 2);
	assert_int_equal(reg.nfailures, 0); /* module-path failures only */
	registry_release(&reg);

	/* An external module may not provide a type of the index, loaded
	 * or not; the family is not loaded to say so. */
	registry_init(&reg);
	registry_add_families(&reg, fam_index, dir);
	char *ext = build_module(tmpdir, "ext_good",
	                         FAMILY_SRC("GATE_ABI_VERSION", "ext", T("good.one"), ""));
	struct gate_error err = {0};
	assert_int_equal(registry_load_file(&reg, ext, &err), -1);
	assert_non_null(strstr(err.msg, "check type 'good.one' is already provided by built-in "
	                                "family good"));
	assert_int_equal(reg.nhandles, 0);
	/* Everything, for `gate checks`: the refused ones counted. */
	assert_int_equal(registry_load_all(&reg), 6);
	assert_int_equal(reg.ntypes, 2);
	assert_int_equal(registry_load_all(&reg), 6); /* tried once each */
	assert_int_equal(reg.nhandles, 1);
	registry_release(&reg);

	/* An empty index: no family, and no type found through one. */
	registry_init(&reg);
	static const struct gate_family_type none[] = {{NULL, NULL, 0}};
	registry_add_families(&reg, none, dir);
	assert_int_equal(reg.nfamilies, 0);
	assert_null(registry_find(&reg, "good.one"));
	registry_release(&reg);
	free(ext);
	free(elf);
	free(untr);
	free(dir);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_registry.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_module),     cmocka_unit_test(test_rehearsal_list),
		cmocka_unit_test(test_builtins),       cmocka_unit_test(test_builtin_list),
		cmocka_unit_test(test_shared_objects), cmocka_unit_test(test_families),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
