#!/usr/bin/env bash
# External check modules: examples/module built out of tree against the
# installed <gate/module.h> (cmake --install into a scratch prefix), loaded
# with --module-path / GATE_MODULE_PATH; a crashing or hanging module
# blocks with a clear summary; a module of another ABI major is refused.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd make cc pkg-config nm

cd "$TEST_TMP" || exit 1
PREFIX=$TEST_TMP/prefix

now_ms() { test_now_ms; }

test_expect_success 'the example module builds against the installed header only' '
	cmake --install "$GATE_BUILD_DIR" --prefix "$PREFIX" >install.log &&
	test -f "$PREFIX/include/gate/module.h" &&
	cp -r "$GATE_SOURCE_DIR/examples/module" mod &&
	PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" \
		make -C mod PKG_CONFIG="pkg-config --define-prefix" all refused >build.log 2>&1 &&
	! grep -q -- "-I$GATE_SOURCE_DIR" build.log &&
	test -f mod/example.so && test -f mod/example-abi2.so &&
	mkdir good bad && mv mod/example.so good/ && mv mod/example-abi2.so bad/
'

test_expect_success 'it exports exactly one symbol, gate_module' '
	nm -D --defined-only good/example.so | awk "{print \$3}" >syms &&
	echo gate_module >want && test_cmp want syms
'

test_expect_success 'gate checks lists its types and documents their parameters' '
	gate checks --module-path good >list &&
	test_grep "^example.file_absent  *no file matches" list &&
	test_grep "^exec " list &&
	gate checks --module-path good example.file_absent >desc &&
	test_grep "module: example 1.0 (good/example.so)" desc &&
	test_grep "^  path  *string  *-  *yes  *a glob" desc
'

write_rb flag.yaml <<EOF
version: 1
name: flag
checks:
  - id: no-flag
    type: example.file_absent
    with:
      path: $TEST_TMP/maintenance-*.flag
EOF

test_expect_success 'a module check allows, and gate run runs the command' '
	expect_status 0 gate run --module-path good flag.yaml -- touch ran &&
	test -e ran
'

test_expect_success 'GATE_MODULE_PATH (colon-separated) works too' '
	rm -f ran &&
	GATE_MODULE_PATH=/nonexistent:$TEST_TMP/good expect_status 0 gate run flag.yaml -- touch ran &&
	test -e ran
'

test_expect_success 'the same check fails while the flag exists: block, nothing ran' '
	rm -f ran && touch maintenance-db1.flag &&
	expect_status 75 gate run --module-path good -f json flag.yaml -- touch ran >out.json &&
	test ! -e ran &&
	json_get out.json .checks[0].summary | grep "1 file match" &&
	rm maintenance-db1.flag
'

test_expect_success 'without the module the type is unknown: 78, nothing runs' '
	expect_status 78 gate run flag.yaml -- touch ran 2>err &&
	test ! -e ran && test_grep "example.file_absent" err
'

write_rb crash.yaml <<'EOF'
version: 1
name: crash
checks:
  - id: crashes
    type: example.crash
EOF

test_expect_success 'a crashing module: block, with a clear summary' '
	expect_status 75 gate run --module-path good -f json crash.yaml -- touch ran >out.json &&
	test ! -e ran &&
	test "$(json_get out.json .checks[0].status)" = error &&
	test "$(json_get out.json .checks[0].summary)" = "module crashed: killed by signal 11 (SIGSEGV)" &&
	test "$(json_get out.json .reasons[0])" = "crashes: module crashed: killed by signal 11 (SIGSEGV)"
'

write_rb nap.yaml <<'EOF'
version: 1
name: nap
checks:
  - id: naps
    type: example.sleep
    timeout: 1500ms
    with:
      duration: 60s
  - id: later
    type: example.sleep
    with:
      duration: 10ms
EOF

test_expect_success 'a module that overruns is killed by the core at its timeout' '
	t0=$(now_ms) &&
	expect_status 75 gate check --module-path good -f json nap.yaml >out.json &&
	ms=$(( $(now_ms) - t0 )) && say "module sleeping 60s, timeout 1.5s: decision after $ms ms" &&
	test $ms -ge 1490 && test $ms -lt $((1500 + TEST_SLACK_MS)) &&
	test "$(json_get out.json .checks[0].summary)" = "timed out after 1.5s" &&
	test "$(json_get out.json .checks[0].status)" = error &&
	test "$(json_get out.json .checks[1].status)" = pass
'

test_expect_success 'the overall deadline: what never started is "not run"' '
	t0=$(now_ms) &&
	expect_status 75 gate check -j 1 --timeout 1s --module-path good -f json nap.yaml >out.json &&
	ms=$(( $(now_ms) - t0 )) && say "--timeout 1s -j 1: decision after $ms ms" &&
	test $ms -ge 990 && test $ms -lt $((1000 + TEST_SLACK_MS)) &&
	# The budget it had is what was left of the 1 s when its child started
	# (a few ms less on a loaded machine), said exactly.
	json_get out.json .checks[0].summary | grep -E "^timed out after (1s|[0-9]{3}ms): overall deadline of 1s passed$" &&
	test "$(json_get out.json .checks[1].summary)" = "not run: overall deadline of 1s passed"
'

test_expect_success 'a module built for ABI 2.2 is refused, with both versions named' '
	expect_status 75 gate run --module-path bad -f json flag.yaml -- touch ran >out.json 2>err &&
	test ! -e ran &&
	test_grep "bad/example-abi2.so: built for module ABI 2.2, this gate provides 1.2" err &&
	json_get out.json .checks[0].summary | grep "built for module ABI 2.2" &&
	test "$(json_get out.json .checks[0].status)" = error
'

test_expect_success 'lint flags a check whose module was refused' '
	expect_status 78 gate lint --module-path bad flag.yaml 2>err &&
	test_grep "flag.yaml:[0-9]*:[0-9]*: check .no-flag.: .*ABI 2.2" err &&
	expect_status 0 gate lint --module-path good flag.yaml
'

test_done
