#!/bin/bash
# What a person sees: the text report of the real binary for a fixed
# runbook, allow and block, compared with the expected text.  Only what
# varies from run to run is normalised (the start time and durations);
# the order is the runbook's, whatever order the checks finish in (the
# first check is the slowest), and there is no colour.
. "$(dirname "$0")/lib/test-lib.sh"
cd "$TEST_TMP" || exit 1

cat >rb.yaml <<'EOF'
version: 1
name: golden
description: A fixed runbook whose report is pinned.
checks:
  - id: slow
    type: exec
    description: finishes last, listed first
    with:
      command: [sleep, "0.3"]
      protocol: exit
  - id: plugin
    type: exec
    with:
      command: [sh, -c, 'echo "DISK OK - free space: / 42% | /=58%;80;90"; exit 0']
  - id: flag
    type: exec
    hint: touch the flag file
    with:
      command: [test, -e, flag]
      protocol: exit
  - id: advisory
    type: exec
    severity: warn
    with:
      command: [sh, -c, 'echo "LOAD CRITICAL - load average 31.0"; exit 2']
EOF

# normalise: start time, durations (their column width follows the widest)
norm() {
	sed -E -e 's/started [0-9T:.Z-]+/started <time>/' \
		-e 's/took [0-9.]+(ms|s)/took <dur>/' \
		-e 's/^(PASS|FAIL|ERR|WARN|SKIP|OVRD) ( *[^ ]+) +[0-9.]+(ms|s)  /\1 \2 <dur>  /' \
		-e 's/duration_ms: [0-9.]+/duration_ms: <n>/'
}

cat >block.expect <<'EOF'
runbook  golden (rb.yaml)
         A fixed runbook whose report is pinned.
mode     check, started <time>, checks took <dur>

PASS  slow <dur>  exited 0
PASS  plugin <dur>  DISK OK - free space: / 42%
FAIL  flag <dur>  exited 1
        protocol: exit
        duration_ms: <n>
        exit_code: 1
        hint: touch the flag file
WARN  advisory <dur>  LOAD CRITICAL - load average 31.0
        protocol: nagios
        duration_ms: <n>
        exit_code: 2
        state: CRITICAL

BLOCKED  golden: 1 reason
  - flag: exited 1
EOF

cat >allow.expect <<'EOF'
runbook  golden (rb.yaml)
         A fixed runbook whose report is pinned.
mode     check, started <time>, checks took <dur>

PASS  slow <dur>  exited 0
PASS  plugin <dur>  DISK OK - free space: / 42%
PASS  flag <dur>  exited 0
WARN  advisory <dur>  LOAD CRITICAL - load average 31.0
        protocol: nagios
        duration_ms: <n>
        exit_code: 2
        state: CRITICAL

ALLOWED  golden: 3 of 3 blocking checks passed; 1 warning
EOF

test_expect_success 'gate check, blocked: exit 75 and the expected text' '
	rm -f flag &&
	expect_status 75 gate check rb.yaml >out 2>err &&
	norm <out >got && test_cmp block.expect got
'

test_expect_success 'gate check, allowed: exit 0 and the expected text' '
	touch flag &&
	gate check rb.yaml >out 2>err &&
	norm <out >got && test_cmp allow.expect got
'

test_expect_success 'gate run --dry-run adds the command that would have run' '
	rm -f flag &&
	expect_status 75 gate run --dry-run rb.yaml -- echo "hello world" >out 2>err &&
	norm <out >got &&
	{ cat block.expect; echo "command  echo '"'"'hello world'"'"' (not run)"; } | sed "s/^mode     check/mode     dry-run/" >want &&
	test_cmp want got
'

test_expect_success 'the report is the same text twice (stable order)' '
	touch flag &&
	gate check rb.yaml 2>/dev/null | norm >a && gate check rb.yaml 2>/dev/null | norm >b &&
	test_cmp a b && test_cmp allow.expect a
'

if command -v script >/dev/null 2>&1; then
	# (stdout only: stderr on a terminal carries the progress line, which
	# erases itself with an escape sequence by design)
	test_expect_success 'no colour in the report on a terminal with --no-color or NO_COLOR' '
		script -qec "$GATE_BIN check --no-color rb.yaml 2>/dev/null" /dev/null >tty1 &&
		! grep -q "$(printf "\033")" tty1 && grep -q "ALLOWED" tty1 &&
		NO_COLOR=1 script -qec "$GATE_BIN check rb.yaml 2>/dev/null" /dev/null >tty2 &&
		! grep -q "$(printf "\033")" tty2 && grep -q "ALLOWED" tty2 &&
		# the control: the same terminal without either does get colour
		env -u NO_COLOR script -qec "$GATE_BIN check rb.yaml 2>/dev/null" /dev/null >tty3 &&
		grep -q "$(printf "\033")" tty3
	'
else
	test_skip 'no colour on a terminal' 'script(1) is not installed'
fi

test_done
