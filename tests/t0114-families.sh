#!/bin/bash
# The check families are shared objects (<libdir>/gate/families/<family>.so)
# that gate loads only when a runbook uses one of their types, with real
# processes: what an exec-only `gate check` maps (its check child, a fork
# of gate, shows /proc/$PPID/maps to the command it runs), what `gate
# lint`, `gate version` and `gate --help` load (LD_DEBUG=files: the
# dynamic loader's own account), that a runbook with a postgres check
# loads postgres.so and no other family, and that a family that is
# missing, untrusted, not an object, or not providing the types gate's
# index names makes a runbook using it a configuration error (78) naming
# the family, the file and why, with nothing run, while other runbooks
# still work.  Faults are made in a copy of the built program and its
# families; the build tree is never touched.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd readelf ldd cc

cd "$TEST_TMP" || exit 1
LIBS="libpq libcurl libsystemd libcrypto"
BIN=$(readlink -f "$GATE_BIN")
FAMDIR=$(find "$GATE_BUILD_DIR" -path '*/gate/families/exec.so' -printf '%h\n' | head -n 1)
say "families in $FAMDIR"

# Which of LIBS the executable itself still links (until every part that
# needs them is loaded on demand too): those cannot be asked to be absent.
EXE_LIBS=$(ldd "$BIN" | awk '{print $1}')
for l in $LIBS; do
	grep -q "^$l\.so" <<<"$EXE_LIBS" && say "the executable itself still links $l"
done

# families_in MAPS: the family objects a /proc/PID/maps shows, sorted.
families_in() { grep -o '/gate/families/[^/ ]*\.so$' "$1" | sed 's|.*/||' | sort -u | paste -sd' '; }
# no_check_libs FILE: FILE (maps or LD_DEBUG output) names none of LIBS
# that the executable does not itself link.
no_check_libs() {
	for l in $LIBS; do
		grep -q "^$l\.so" <<<"$EXE_LIBS" && continue
		if grep -q "$l\.so" "$1"; then echo "$l is loaded:"; grep "$l\.so" "$1" | head -n 3; return 1; fi
	done
}
# dlopens LD_DEBUG-OUTPUT: how many objects gate opened itself (families).
dlopens() { grep -c 'opening file=' "$1" || true; }

test_expect_success 'every family exports only gate_module; exec.so needs none of libpq, libcurl, libsystemd, libcrypto' '
	for f in exec postgres backup http systemd rehearse; do
		nm -D --defined-only "$FAMDIR/$f.so" | awk "{print \$3}" >syms &&
		echo gate_module >want && test_cmp want syms || exit 1
	done &&
	readelf -d "$FAMDIR/exec.so" | grep NEEDED >needed &&
	ldd "$FAMDIR/exec.so" >>needed &&
	for l in $LIBS; do test_grep -v "$l\.so" needed || exit 1; done &&
	readelf -d "$FAMDIR/postgres.so" | test_grep "NEEDED.*libpq\.so" - &&
	readelf -d "$FAMDIR/systemd.so" | test_grep "NEEDED.*libsystemd\.so" -
'

write_rb exec.yaml <<EOF
version: 1
name: exec-only
checks:
  - id: maps
    type: exec
    with: {command: ["sh", "-c", "cat /proc/\$PPID/maps >'$TEST_TMP/maps'"], protocol: exit}
EOF

test_expect_success 'gate check of an exec-only runbook maps exec.so and no other family, none of the libraries' '
	gate check -q exec.yaml &&
	test "$(families_in maps)" = "exec.so" &&
	grep -q " $FAMDIR/exec.so\$" maps &&
	no_check_libs maps
'

test_expect_success 'gate lint of it opens one object (exec.so) and none of the libraries' '
	LD_DEBUG=files gate lint exec.yaml 2>ld.out >lint.out &&
	test_grep "exec.yaml: ok (1 check)" lint.out &&
	test "$(dlopens ld.out)" = 1 &&
	no_check_libs ld.out
'

test_expect_success 'gate version, gate --help, gate help: no family, none of the libraries' '
	for cmd in version --help help; do
		LD_DEBUG=files gate $cmd 2>ld.out >out || exit 1
		test "$(dlopens ld.out)" = 0 && no_check_libs ld.out || { echo "gate $cmd"; exit 1; }
	done
'

PORT=$(free_port)
write_rb pg.yaml <<EOF
version: 1
name: with-postgres
command: ["touch", "$TEST_TMP/ran"]
checks:
  - id: maps
    type: exec
    with: {command: ["sh", "-c", "cat /proc/\$PPID/maps >'$TEST_TMP/maps'"], protocol: exit}
  - id: replica
    type: postgres.replica
    severity: warn
    timeout: 5s
    with: {conninfo: "host=127.0.0.1 port=$PORT dbname=postgres connect_timeout=2"}
EOF

test_expect_success 'a runbook with a postgres check loads postgres.so too, and no other family' '
	rm -f maps && gate check -q pg.yaml &&
	test "$(families_in maps)" = "exec.so postgres.so" &&
	LD_DEBUG=files gate lint pg.yaml 2>ld.out >/dev/null &&
	test "$(dlopens ld.out)" = 2
'

test_expect_success 'gate checks lists every family (origin built-in), gate checks TYPE loads its family' '
	gate checks >list &&
	for t in exec postgres.replica pgbackrest.backup http systemd.unit pgbackrest.restore; do
		test_grep "^$t " list || exit 1
	done &&
	gate checks postgres.replica | test_grep "^module: postgres .* (built-in)\$" - &&
	LD_DEBUG=files gate checks http 2>ld.out >/dev/null && test "$(dlopens ld.out)" = 1
'

test_expect_success 'an unknown type is named with a suggestion from the index, no family loaded' '
	write_rb typo.yaml <<-EOF &&
	version: 1
	name: typo
	checks:
	  - {id: t, type: postgres.replcia}
	EOF
	LD_DEBUG=files expect_status 78 gate lint typo.yaml 2>err &&
	test_grep "typo.yaml:4:.*unknown check type .postgres.replcia.; did you mean .postgres.replica.?" err &&
	test "$(dlopens err)" = 0
'

# A copy of the built program and its families, laid out as built (the
# executable finds its families relative to itself), to break.
REL_BIN=${BIN#"$GATE_BUILD_DIR"/}
REL_FAM=${FAMDIR#"$GATE_BUILD_DIR"/}
copy_tree() {
	rm -rf "$1" && mkdir -p "$1/${REL_BIN%/*}" "$1/$REL_FAM" &&
	cp "$BIN" "$1/$REL_BIN" && cp "$FAMDIR"/*.so "$1/$REL_FAM/" &&
	chmod 755 "$1" "$1/$REL_FAM"
}

# fault NAME WHY-PATTERN: with the copy's postgres.so broken (by the
# caller), a runbook using postgres is refused by run (nothing runs),
# check and lint with a message naming the type, the family, the file and
# why; an exec-only runbook still passes.
fault() {
	local g=$TEST_TMP/tree/$REL_BIN
	rm -f ran &&
	expect_status 78 "$g" run pg.yaml 2>err &&
	test ! -e ran &&
	test_grep "pg.yaml:[0-9]*:[0-9]*: check type .postgres.replica. is provided by gate's built-in family postgres, which cannot be loaded: module $TEST_TMP/tree/$REL_FAM/postgres.so: $2" err &&
	expect_status 78 "$g" check pg.yaml 2>err && test_grep "$2" err &&
	expect_status 78 "$g" lint pg.yaml 2>err && test_grep "pg.yaml:[0-9]*:[0-9]*: .*family postgres.*$2" err &&
	expect_status 78 "$g" checks postgres.replica 2>err && test_grep "$2" err &&
	expect_status 78 "$g" checks >list 2>err && test_grep "family postgres cannot be loaded: .*$2" err &&
	test_grep "^exec " list && test_grep -v "^postgres" list &&
	"$g" check -q exec.yaml
}

test_expect_success 'the copied program works as built' '
	copy_tree tree && rm -f maps &&
	"tree/$REL_BIN" check -q exec.yaml && grep -q " $TEST_TMP/tree/$REL_FAM/exec.so\$" maps &&
	rm -f ran && "tree/$REL_BIN" run -q pg.yaml && test -e ran
'

test_expect_success 'a missing family: 78, named, nothing run' '
	copy_tree tree && rm "tree/$REL_FAM/postgres.so" &&
	fault missing "cannot load: cannot open: No such file or directory"
'

test_expect_success 'a family writable by group: never opened, 78, nothing run' '
	copy_tree tree && chmod 664 "tree/$REL_FAM/postgres.so" &&
	fault untrusted "not loaded: .*writable by group"
'

test_expect_success 'a family directory writable by group: every family refused, 78, nothing run' '
	copy_tree tree && chmod 775 "tree/$REL_FAM" && rm -f ran &&
	expect_status 78 "tree/$REL_BIN" run pg.yaml 2>err && test ! -e ran &&
	test_grep "pg.yaml:6:11: check type .exec. is provided by gate.s built-in family exec, which cannot be loaded: module $TEST_TMP/tree/$REL_FAM/exec.so: not loaded: its directory $TEST_TMP/tree/$REL_FAM is writable by group" err &&
	expect_status 78 "tree/$REL_BIN" check exec.yaml 2>err && test_grep "family exec" err
'

test_expect_success 'a family that is not an ELF object: 78, nothing run' '
	copy_tree tree && echo "not an object" >"tree/$REL_FAM/postgres.so" &&
	fault not-elf "cannot load: .*\(invalid ELF header\|file too short\)"
'

test_expect_success 'a family whose types differ from the index (another family in its place): 78, nothing run' '
	copy_tree tree && cp "$FAMDIR/http.so" "tree/$REL_FAM/postgres.so" &&
	fault other-types "does not provide check type .postgres.replication., which gate.s index names for family postgres"
'

test_expect_success 'a family with one type more than the index: 78, nothing run' '
	copy_tree tree &&
	cat >extra.c <<-EOF &&
	#include "gate/module.h"
	static void run(const json_t *p, const struct gate_run_env *e, struct gate_result *r)
	{ (void)p; (void)e; gate_result_set(r, GATE_PASS, "forged"); }
	static const struct gate_check_type types[] = {
		{"postgres.replication", "s", NULL, NULL, NULL, run},
		{"postgres.replica", "s", NULL, NULL, NULL, run},
		{"postgres.archiver", "s", NULL, NULL, NULL, run},
		{"postgres.slots", "s", NULL, NULL, NULL, run},
		{"postgres.extra", "s", NULL, NULL, NULL, run},
	};
	GATE_MODULE_DEFINE("postgres", "9", types);
	EOF
	cc -shared -fPIC -fvisibility=hidden -I"$GATE_SOURCE_DIR" $(pkg-config --cflags jansson) \
		-o "tree/$REL_FAM/postgres.so" extra.c &&
	fault extra-type "provides check type .postgres.extra., which gate.s index does not name for family postgres"
'

test_expect_success 'an external module may not provide a type of a built-in family' '
	mkdir -p ext && chmod 755 ext &&
	sed "s/GATE_MODULE_DEFINE(\"postgres\"/GATE_MODULE_DEFINE(\"mine\"/" extra.c >mine.c &&
	cc -shared -fPIC -fvisibility=hidden -I"$GATE_SOURCE_DIR" $(pkg-config --cflags jansson) \
		-o ext/mine.so mine.c &&
	gate checks --module-path ext postgres.replica >desc 2>err &&
	test_grep "ext/mine.so: check type .postgres.replication. is already provided by built-in family postgres" err &&
	test_grep "^module: postgres .* (built-in)\$" desc
'

test_expect_success 'cmake --install: the installed gate loads its families from the prefix' '
	cmake --install "$GATE_BUILD_DIR" --prefix "$TEST_TMP/prefix" >install.log &&
	inst=$(find "$TEST_TMP/prefix" -path "*/gate/families/exec.so" -printf "%h\n") &&
	test -n "$inst" && ls "$inst" | grep -v "^part-" >installed &&
	printf "%s.so\n" backup exec http postgres rehearse systemd >want && test_cmp want installed &&
	rm -f maps && "$TEST_TMP/prefix/bin/gate" check -q exec.yaml &&
	grep -q " $inst/exec.so\$" maps
'

test_done
