#!/usr/bin/env bash
# confirm: hostname | ssh (gate/cli_hold.c): on a terminal the operator
# types this host's name (anything else is refused); without a terminal a
# run is refused unless --confirm names this host; `confirm: ssh` asks
# only when SSH_CONNECTION is set.  A refusal blocks (75), nothing runs,
# and the audit says how a run was confirmed.  The terminal is a real
# pseudo terminal (tests/lib/pty-answer.py); "no terminal" is a new
# session without one (setsid).
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd python3 setsid hostname

cd "$TEST_TMP" || exit 1
mkdir -m 700 state
export GATE_STATE_DIR=$TEST_TMP/state
unset SSH_CONNECTION
host=$(hostname)
pty() { python3 "$GATE_SOURCE_DIR/tests/lib/pty-answer.py" "$@"; }

for mode in hostname ssh; do
	write_rb $mode.yaml <<-EOF
	version: 1
	name: c-$mode
	checks:
	  - id: ok
	    type: exec
	    with: {command: ["true"], protocol: exit}
	lock:
	  - file: $TEST_TMP/$mode.lock
	confirm: $mode
	EOF
done

# how FILE: how the last decision record of FILE was confirmed
how() {
	python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if "\"decision\"" in l][-1]; print(r["holds"]["confirm"]["how"])' "$1"
}

test_expect_success 'confirm: hostname, the host name typed on the terminal: the command runs' '
	rm -f ran
	expect_status 0 pty "$host" "$GATE_BIN" run --audit-log a1.jsonl hostname.yaml -- touch ran >out &&
	test_grep "Type this host.s name to go on" out &&
	test -f ran &&
	test "$(how a1.jsonl)" = "host name typed on the terminal"
'

test_expect_success 'the short name (up to the first dot) is this host too' '
	rm -f ran
	expect_status 0 pty "${host%%.*}" "$GATE_BIN" run -q hostname.yaml -- touch ran >out &&
	test -f ran
'

test_expect_success 'another name typed: refused (75), nothing runs, the lock is let go' '
	rm -f ran
	expect_status 75 pty "not-$host" "$GATE_BIN" run --audit-log a2.jsonl hostname.yaml -- touch ran >out &&
	test_grep "confirm: the name typed is not this host.s: refused" out &&
	test ! -e ran &&
	test "$(how a2.jsonl)" = refused &&
	expect_status 0 "$GATE_BIN" lock status hostname.yaml
'

test_expect_success 'an empty answer: refused' '
	expect_status 75 pty "" "$GATE_BIN" run -q hostname.yaml -- touch ran >out &&
	test ! -e ran
'

test_expect_success 'no terminal: refused (75), the reason says --confirm' '
	expect_status 75 setsid -w "$GATE_BIN" run hostname.yaml -- touch ran </dev/null >out 2>&1 &&
	test_grep "there is no terminal: give --confirm HOSTNAME" out &&
	test ! -e ran
'

test_expect_success '--confirm with this host name runs without asking; the audit says so' '
	expect_status 0 setsid -w "$GATE_BIN" run -q --confirm "$host" --audit-log a3.jsonl hostname.yaml -- touch ran </dev/null >out 2>&1 &&
	test -f ran && rm ran &&
	test "$(how a3.jsonl)" = "--confirm $host"
'

test_expect_success '--confirm with another name: refused (75), also on a terminal' '
	expect_status 75 setsid -w "$GATE_BIN" run --confirm "x$host" hostname.yaml -- touch ran </dev/null >out 2>&1 &&
	test_grep "confirm: --confirm .x$host. does not name this host" out &&
	expect_status 75 pty - "$GATE_BIN" run --confirm "x$host" hostname.yaml -- touch ran >out &&
	test_grep -v "Type this host" out &&
	test ! -e ran
'

test_expect_success 'confirm: ssh without SSH_CONNECTION: not asked, runs without a terminal' '
	expect_status 0 setsid -w "$GATE_BIN" run -q --audit-log a4.jsonl ssh.yaml -- touch ran </dev/null >out 2>&1 &&
	test -f ran && rm ran &&
	test "$(how a4.jsonl)" = "not asked: not over SSH (SSH_CONNECTION is not set)"
'

test_expect_success 'confirm: ssh over SSH: refused without a terminal, asked on one' '
	export SSH_CONNECTION="192.0.2.1 50000 192.0.2.2 22" &&
	expect_status 75 setsid -w "$GATE_BIN" run ssh.yaml -- touch ran </dev/null >out 2>&1 &&
	test_grep "no terminal" out &&
	test ! -e ran &&
	expect_status 75 pty "nope" "$GATE_BIN" run -q ssh.yaml -- touch ran >out &&
	test ! -e ran &&
	expect_status 0 pty "$host" "$GATE_BIN" run -q --audit-log a5.jsonl ssh.yaml -- touch ran >out &&
	test_grep "asks for a confirmation over SSH" out &&
	test -f ran &&
	test "$(how a5.jsonl)" = "host name typed on the terminal (over SSH)"
'

test_expect_success 'gate check asks nothing: it says it would ask' '
	expect_status 0 setsid -w "$GATE_BIN" check hostname.yaml </dev/null >out 2>&1 &&
	test_grep "confirm hostname: would ask" out
'

test_expect_success 'lint: confirm takes hostname or ssh' '
	sed "s/confirm: hostname/confirm: yes/" hostname.yaml >bad.yaml && chmod 644 bad.yaml &&
	expect_status 78 "$GATE_BIN" lint bad.yaml 2>err &&
	test_grep "bad.yaml:9:10: confirm: expected hostname or ssh, got .yes." err
'

test_done
