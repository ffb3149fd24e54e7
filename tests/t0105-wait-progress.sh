#!/usr/bin/env bash
# gate run --wait: evaluate again until allowed, then run the command; give
# up at the deadline with the blocked status and the last report.  The live
# progress line: on a terminal's stderr only (script(1) gives us a pty).
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd script

cd "$TEST_TMP" || exit 1

write_rb() { cat >"$1"; chmod 644 "$1"; }
now_ms() { test_now_ms; }

write_rb flag.yaml <<EOF
version: 1
name: flag
checks:
  - id: flag-present
    type: exec
    with:
      command: ["test", "-e", "$TEST_TMP/flag"]
      protocol: exit
EOF

# A check that starts passing on its third attempt: the flag appears when
# the check has run twice (not after a sleep, which a slow start outruns).
write_rb third.yaml <<EOF
version: 1
name: flag
checks:
  - id: flag-present
    type: exec
    with:
      command: ["sh", "-c", "echo x >>$TEST_TMP/attempts; test \$(wc -l <$TEST_TMP/attempts) -ge 3 && touch $TEST_TMP/flag; test -e $TEST_TMP/flag"]
      protocol: exit
EOF

test_expect_success '--wait: a check that starts passing lets the command run' '
	rm -f flag ran attempts &&
	t0=$(now_ms) &&
	gate run --wait 60s --interval 500ms third.yaml -- touch ran >out 2>err &&
	ms=$(( $(now_ms) - t0 )) && say "passing at the third attempt, --interval 500ms: ran after $ms ms" &&
	test -e ran &&
	test $(wc -l <attempts) = 3 &&
	test $ms -ge 990 &&
	test_grep "attempt 1: blocked (flag-present: exited 1); next attempt in 500ms" err &&
	test_grep "attempt 2: blocked (flag-present: exited 1); next attempt in 500ms" err &&
	test "$(grep -c "^ALLOWED" out)" = 1 && test_grep -v "^BLOCKED" out
'

test_expect_success '--wait: a check that never passes ends with 75 at the deadline' '
	rm -f flag ran &&
	t0=$(now_ms) &&
	rc=0 && gate run --wait 2s --interval 500ms --blocked-exit 9 flag.yaml -- touch ran >out 2>err || rc=$? &&
	ms=$(( $(now_ms) - t0 )) && say "never passing, --wait 2s: gave up after $ms ms" &&
	test $rc = 9 && test ! -e ran &&
	test $ms -ge 1490 && test $ms -lt $((2000 + TEST_SLACK_MS)) &&
	test_grep "gave up after waiting 2s" err &&
	test "$(grep -c "^BLOCKED" out)" = 1 &&
	test "$(grep -c "attempt" err)" -ge 3
'

test_expect_success '--wait -q: no attempt lines' '
	expect_status 75 gate run -q --wait 1s --interval 300ms flag.yaml -- touch ran >out 2>err &&
	test_grep -v "attempt" err
'

test_expect_success '--wait is only for run' '
	expect_status 64 gate check --wait 1s flag.yaml 2>err &&
	test_grep "does not apply" err
'

# The line is drawn every 250 ms: each state below lasts over a second, so
# that a draw falls into it on a loaded machine too.
write_rb slow.yaml <<'EOF'
version: 1
name: slow
checks:
  - {id: backup-verified, type: exec, with: {command: ["sleep", "3"], protocol: exit}}
  - {id: replica-db2, type: exec, with: {command: ["sleep", "1.2"], protocol: exit}}
  - {id: quick, type: exec, with: {command: ["true"], protocol: exit}}
EOF

test_expect_success 'a terminal gets the progress line, erased before the report' '
	script -q -e -c "$GATE_BIN check slow.yaml" /dev/null >tty.out </dev/null &&
	grep -a -q "1/3 done · backup-verified [0-9]s · replica-db2 [0-9]s" tty.out &&
	grep -a -q "2/3 done · backup-verified [12]s" tty.out &&
	grep -a -q "$(printf "\r\033\\[K")" tty.out &&
	grep -a -q "ALLOWED" tty.out
'

test_expect_success 'not with -q, and never in a pipe or a file' '
	script -q -e -c "$GATE_BIN check -q slow.yaml" /dev/null >tty.out </dev/null &&
	! grep -a -q "done ·" tty.out &&
	gate check slow.yaml >out 2>err &&
	! grep -a -q "done" err && ! grep -a -q "$(printf "\033")" err out &&
	gate check slow.yaml 2>&1 | cat >piped &&
	! grep -a -q "done ·" piped
'

test_done
