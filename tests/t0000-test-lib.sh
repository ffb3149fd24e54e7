#!/bin/bash
# The test library itself: a test whose body fails must be reported as
# failed, whatever line fails (bash ignores set -e inside `if` conditions
# and on the left of ||, which once let failures through), and a body's
# relative files stay in the script's scratch directory.
. "$(dirname "$0")/lib/test-lib.sh"

# The inner scripts see none of the switches the suite may run under.
unset GATE_TEST_NO_SKIP GATE_TEST_SANITIZER_LOGS

inner() {
	local body=$1
	cat >"$TEST_TMP/inner.sh" <<EOS
. "$GATE_SOURCE_DIR/tests/lib/test-lib.sh"
test_expect_success 'inner' '$body'
test_done
EOS
	bash "$TEST_TMP/inner.sh" >"$TEST_TMP/inner.out" 2>&1
}

# inner_script: run the script given on stdin with the test library; its
# status is returned, its output is in inner.out.
inner_script() {
	{ echo ". \"$GATE_SOURCE_DIR/tests/lib/test-lib.sh\""; cat; } >"$TEST_TMP/inner.sh"
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

# What the library can guarantee at run time: set -e stops a body at any
# failing command that stands alone and at the last command of an && / ||
# list, so `false || true && false` fails.
test_expect_success 'a chain ending in a failure fails: false || true && false (at run time)' '
	! GATE_TEST_NO_LINT=1 inner "false || true && false" &&
	grep -q "^not ok 1 - inner" inner.out &&
	grep -q "^0 passed, 1 failed" inner.out
'

# What it cannot: bash does not stop inside a list, so in
# `false && true || true && true` the `|| true` swallows the failure and
# the body succeeds.  The lint (tests/lib/lint-swallow.py, run on every
# script the library loads) is what fails such a script.  (The patterns
# come from variables so that this file itself passes the lint.)
OR_TRUE='|| true' OR_COLON='|| :'
test_expect_success 'a failure swallowed by || true inside a chain: the body passes, the lint fails the script' '
	GATE_TEST_NO_LINT=1 inner "false && true $OR_TRUE && true" &&
	grep -q "^1 passed, 0 failed" inner.out &&
	! inner "false && true $OR_TRUE && true" &&
	grep -q "^not ok 1 - lint: an assertion can be swallowed" inner.out &&
	grep -q "inner.sh:2: .|| true. in a list" inner.out &&
	! inner "test -e nothing-here &&
	gate check x.yaml >out $OR_COLON
	grep -q y out" &&
	grep -q "inner.sh:2: .|| true. in a list" inner.out &&
	! inner "echo x $OR_TRUE && test -n x" &&
	grep -q "^not ok 1 - lint" inner.out
'

test_expect_success 'the lint accepts || true on one command alone or grouped' '
	inner "{ test -e nothing-here $OR_TRUE; } && true
	test -e nothing-here $OR_TRUE
	x=\$(test -e nothing-here $OR_TRUE) && test -z \"\$x\"
	sh -c \"false $OR_TRUE && true\"" &&
	grep -q "^1 passed, 0 failed" inner.out
'

test_expect_success 'no test script or library swallows an assertion (lint of the tree)' '
	/usr/bin/python3 "$GATE_SOURCE_DIR/tests/lib/lint-swallow.py" \
		"$GATE_SOURCE_DIR"/tests/t[0-9]*.sh "$GATE_SOURCE_DIR"/tests/lib/*.sh
'

test_expect_success 'a skipped case makes the script exit 77 (ctest: SKIP_RETURN_CODE), never 0' '
	rc=0 && inner_script <<-\EOS || rc=$? &&
	test_expect_success "runs" "true"
	test_skip "cannot run" "needs frobnicator"
	test_done
	EOS
	test $rc = 77 &&
	grep -q "^ok 2 - cannot run # SKIP needs frobnicator" inner.out &&
	grep -q "^1 passed, 0 failed, 1 skipped" inner.out
'

test_expect_success 'a failure wins over a skip: exit 1' '
	rc=0 && inner_script <<-\EOS || rc=$? &&
	test_expect_success "fails" "false"
	test_skip "cannot run" "needs frobnicator"
	test_done
	EOS
	test $rc = 1
'

test_expect_success 'GATE_TEST_NO_SKIP=1 (CI, after install-deps.sh): a skip is a failure naming what is missing' '
	rc=0 && GATE_TEST_NO_SKIP=1 inner_script <<-\EOS || rc=$? &&
	test_expect_success "runs" "true"
	test_skip "cannot run" "needs frobnicator"
	test_done
	EOS
	test $rc = 1 &&
	grep -q "^not ok 2 - cannot run # SKIP not allowed (GATE_TEST_NO_SKIP): needs frobnicator" inner.out &&
	grep -q "^1 passed, 1 failed, 0 skipped" inner.out
'

test_expect_success 'a sanitizer report left by any process of a script fails the script' '
	mkdir -p logs &&
	rc=0 && GATE_TEST_SANITIZER_LOGS=$TEST_TMP/logs inner_script <<-\EOS || rc=$? &&
	test_expect_success "a child dies of a finding" "echo ERROR: AddressSanitizer >\"\$GATE_TEST_SANITIZER_LOGS/\$TEST_NAME.asan.4242\""
	test_done
	EOS
	test $rc = 1 &&
	grep -q "^1 passed, 0 failed" inner.out &&
	grep -q "^not ok - AddressSanitizer/UndefinedBehaviorSanitizer reports" inner.out &&
	grep -q "ERROR: AddressSanitizer" inner.out
'

test_expect_success 'test_expect_failure: a known breakage is reported as TODO, not as passed' '
	inner_script <<-\EOS &&
	test_expect_failure "broken" "false"
	test_done
	EOS
	grep -q "^not ok 1 - broken # TODO known breakage$" inner.out &&
	inner_script <<-\EOS &&
	test_expect_failure "fixed" "true"
	test_done
	EOS
	grep -q "^ok 1 - fixed # TODO known breakage vanished" inner.out
'

test_expect_success 'test_now_ms is monotonic milliseconds and wait_until waits for a state' '
	t0=$(test_now_ms) && sleep 0.3 && t1=$(test_now_ms) &&
	test $((t1 - t0)) -ge 290 &&
	( sleep 0.5; touch state-reached ) &
	wait_until 30 test -e state-reached &&
	! wait_until 1 test -e never-there
'

test_done
