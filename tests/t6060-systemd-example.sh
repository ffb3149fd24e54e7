#!/bin/bash
# examples/systemd/pg-vacuum.service for real: a unit whose ExecStartPre=
# is `gate check RUNBOOK` runs its ExecStart= only when gate allows.  The
# unit is the example with three substitutions (the gate binary, the
# runbook, and a harmless ExecStart= that leaves a mark), run by a real
# systemd user manager (tests/lib/systemd.sh; User= is dropped because a
# user manager cannot switch users).
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/systemd.sh"
cd "$TEST_TMP" || exit 1

if ! sd_available; then
	test_skip 'systemd example unit' 'needs root, systemd and unshare'
	test_done
fi

cat >rb.yaml <<EOF
version: 1
name: vacuum-test
checks:
  - id: allow-file
    type: exec
    with:
      command: [test, -e, "$TEST_TMP/allow"]
      protocol: exit
EOF
chmod 644 rb.yaml

sed -e "s|^ExecStartPre=/usr/local/bin/gate check --no-color /etc/gate/runbooks/pg-vacuum.yaml$|ExecStartPre=$(readlink -f "$GATE_BIN") check --no-color $TEST_TMP/rb.yaml|" \
	-e "s|^ExecStart=.*|ExecStart=/bin/touch $TEST_TMP/ran|" \
	-e "/^User=/d" "$GATE_SOURCE_DIR/examples/systemd/pg-vacuum.service" | sd_unit gate-vacuum.service

test_expect_success 'the unit is the example, with the gate check as ExecStartPre=' '
	grep -q "^ExecStartPre=.* check --no-color $TEST_TMP/rb.yaml$" "$SD_UNITS/gate-vacuum.service" &&
	grep -q "^Type=oneshot$" "$SD_UNITS/gate-vacuum.service"
'

# Started here, not inside a test body: a body runs in a subshell, and the
# manager's PID and cleanup must belong to this shell.
sd_start >sd_start.log 2>&1
test_expect_success 'the user manager is up' '
	sd_ctl list-units --no-pager --no-legend >/dev/null || { cat sd_start.log; false; }
'

test_expect_success 'blocked: ExecStart= never runs and the unit fails' '
	rm -f "$TEST_TMP/allow" "$TEST_TMP/ran" &&
	! sd_ctl start gate-vacuum.service 2>err &&
	test ! -e "$TEST_TMP/ran" &&
	test "$(sd_ctl is-failed gate-vacuum.service)" = failed &&
	sd_ctl show -p Result gate-vacuum.service >show &&
	test_grep "Result=exit-code" show
'

test_expect_success 'allowed: ExecStart= runs' '
	touch "$TEST_TMP/allow" &&
	sd_ctl reset-failed gate-vacuum.service &&
	sd_ctl start gate-vacuum.service &&
	test -e "$TEST_TMP/ran" &&
	test "$(sd_ctl is-failed gate-vacuum.service)" != failed
'

test_done
