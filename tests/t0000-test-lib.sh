#!/bin/bash
# The test library itself: a test whose body fails must be reported as
# failed, whatever line fails (bash ignores set -e inside `if` conditions
# and on the left of ||, which once let failures through), and a body's
# relative files stay in the script's scratch directory.
. "$(dirname "$0")/lib/test-lib.sh"

inner() {
	local body=$1
	cat >"$TEST_TMP/inner.sh" <<EOS
. "$GATE_SOURCE_DIR/tests/lib/test-lib.sh"
test_expect_success 'inner' '$body'
test_done
EOS
	bash "$TEST_TMP/inner.sh" >"$TEST_TMP/inner.out" 2>&1
}

test_expect_success 'a failing command in the middle of a body fails the test' '
	! inner "false
true" &&
	grep -q "^not ok 1 - inner" inner.out &&
	grep -q "^0 passed, 1 failed" inner.out
'

test_expect_success 'a failing last command fails the test' '
	! inner "true && false" &&
	grep -q "^0 passed, 1 failed" inner.out
'

test_expect_success 'a passing body passes' '
	inner "true
true" &&
	grep -q "^1 passed, 0 failed" inner.out
'

test_expect_success 'bodies run in the scratch directory' '
	touch relative-file && test -f "$TEST_TMP/relative-file"
'

test_done
