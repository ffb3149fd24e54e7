#!/bin/bash
# scripts/demo.sh end to end (without installing or building): a real
# primary, replica and pgBackRest backup; gate allows, then blocks once the
# replica is stopped; nothing is left running or on disk afterwards.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd pgbackrest runuser psql
cd "$TEST_TMP" || exit 1

test_expect_success 'the demo allows, then blocks, and says so' '
	NO_COLOR=1 "$GATE_SOURCE_DIR/scripts/demo.sh" --no-install --no-build \
		--build-dir "$GATE_BUILD_DIR" >out 2>err &&
	test_grep "==== 1. All healthy: gate check allows ====" out &&
	test_grep -x "ALLOWED  demo: 3 of 3 blocking checks passed" out &&
	test_grep -x "maintenance would run now" out &&
	test_grep "exit status 0: allowed, and the command ran" out &&
	test_grep "exit status 75: blocked\$" out &&
	test_grep "exit status 75: blocked, nothing ran" out &&
	test "$(grep -cx "maintenance would run now" out)" = 1 &&
	test_grep -v "expected" out
'

test_expect_success 'the demo cleaned up: no directory, no server left' '
	dir=$(sed -n "s/^everything lives in //p" out) &&
	test -n "$dir" && test ! -e "$dir" &&
	! pgrep -f "$dir" >/dev/null
'

test_done
