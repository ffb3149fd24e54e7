#!/bin/bash
# systemd.unit and systemd.failed through the real `gate check --format json`
# against a real systemd user manager (tests/lib/systemd.sh: a private mount
# namespace, sockets under $TEST_TMP), over its user bus and over its private
# socket; then with no manager, a stale socket and a socket that never
# answers.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/systemd.sh"

if ! sd_available; then
	test_skip 'systemd user manager scenarios' 'needs root, unshare and /lib/systemd/systemd'
	test_done
fi
unset DBUS_SESSION_BUS_ADDRESS
cd "$TEST_TMP" || exit 1

sd_unit gate-ok.service <<'EOF'
[Service]
ExecStart=/bin/sleep 300
EOF
sd_unit gate-fail.service <<'EOF'
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo failing on purpose; exit 3'
EOF
sd_unit gate-stopped.service <<'EOF'
[Service]
ExecStart=/bin/sleep 300
EOF

# Started here, not inside a test body: a body runs in a subshell, and the
# manager's PID and cleanup must outlive it.
sd_start >sd-start.log 2>&1
SD_START_RC=$?
test_expect_success 'a systemd user manager starts in its own mount namespace' '
	cat sd-start.log && test "$SD_START_RC" = 0 && kill -0 "$SD_PID" &&
	sd_ctl start gate-ok.service &&
	! sd_ctl start gate-fail.service &&
	sd_ctl start gate-stopped.service && sd_ctl stop gate-stopped.service &&
	test "$(sd_ctl is-active gate-ok.service)" = active &&
	test "$(sd_ctl is-failed gate-fail.service)" = failed &&
	test ! -e /run/systemd/system
'

cat >units.yaml <<'EOF'
version: 1
name: systemd-units
checks:
  - id: ok
    type: systemd.unit
    with: {unit: gate-ok.service, bus: user}
  - id: fail
    type: systemd.unit
    with: {unit: gate-fail.service, bus: user}
  - id: stopped
    type: systemd.unit
    with: {unit: gate-stopped.service, bus: user}
  - id: stopped-wanted
    type: systemd.unit
    with: {unit: gate-stopped.service, state: inactive, bus: user}
  - id: failed-wanted
    type: systemd.unit
    with: {unit: gate-fail.service, state: failed, bus: user}
  - id: nosuch
    type: systemd.unit
    with: {unit: nosuch.service, bus: user}
  - id: nosuch-inactive
    type: systemd.unit
    with: {unit: nosuch.service, state: inactive, bus: user}
EOF
st() { json_get "$1" ".checks[?id=$2].$3"; }
gate_user() { XDG_RUNTIME_DIR=${XDG:-$SD_XDG} gate "$@"; }

test_expect_success 'systemd.unit: gate check reports each unit (blocks, 75)' '
	expect_status 75 gate_user check --format json units.yaml >units.json &&
	test "$(json_get units.json .decision)" = block
'

test_expect_success 'a running unit passes' '
	test "$(st units.json ok status)" = pass &&
	test "$(st units.json ok summary)" = "gate-ok.service is active (SubState running)" &&
	test "$(st units.json ok details.LoadState)" = loaded &&
	test "$(st units.json ok details.SubState)" = running &&
	test "$(st units.json ok details.connection)" = "user bus" &&
	st units.json ok details.ActiveEnterTimestamp | grep -Eq "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T"
'

test_expect_success 'a failed unit fails, saying its state and the expected one' '
	test "$(st units.json fail status)" = fail &&
	test "$(st units.json fail summary)" = "gate-fail.service is failed (SubState failed), expected active"
'

test_expect_success 'a stopped (garbage-collected) unit is inactive via LoadUnit' '
	test "$(st units.json stopped status)" = fail &&
	test "$(st units.json stopped summary)" = "gate-stopped.service is inactive (SubState dead), expected active" &&
	test "$(st units.json stopped-wanted status)" = pass &&
	test "$(st units.json failed-wanted status)" = pass
'

test_expect_success 'a unit that does not exist fails, whatever state is asked' '
	test "$(st units.json nosuch status)" = fail &&
	test "$(st units.json nosuch summary)" = "nosuch.service: no such unit (LoadState not-found)" &&
	test "$(st units.json nosuch-inactive status)" = fail &&
	test "$(st units.json nosuch details.LoadState)" = not-found
'

test_expect_success 'checks change nothing: the failed unit is still failed, the running one running' '
	test "$(sd_ctl is-failed gate-fail.service)" = failed &&
	test "$(sd_ctl is-active gate-ok.service)" = active
'

cat >ok.yaml <<'EOF'
version: 1
name: systemd-ok
checks:
  - id: ok
    type: systemd.unit
    with: {unit: gate-ok.service, bus: user}
EOF

test_expect_success 'without the user bus socket: the private socket, allowed (0)' '
	mv "$SD_XDG/bus" "$SD_XDG/bus.away" &&
	rc=0 && gate_user check --format json ok.yaml >private.json || rc=$? &&
	mv "$SD_XDG/bus.away" "$SD_XDG/bus" &&
	test "$rc" = 0 &&
	test "$(st private.json ok status)" = pass &&
	st private.json ok details.connection | grep -q "private socket"
'

crash_failed() { test "$(sd_ctl is-failed gate-crash.service)" = failed; }
test_expect_success 'a transient unit that crashes also shows as failed' '
	env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$SD_XDG" \
		systemd-run --user --unit=gate-crash --quiet sh -c "exit 7" &&
	wait_until 10 crash_failed
'

cat >failed.yaml <<'EOF'
version: 1
name: systemd-failed
checks:
  - id: none-failed
    type: systemd.failed
    with: {bus: user}
EOF
cat >failed-ignore.yaml <<'EOF'
version: 1
name: systemd-failed-ignore
checks:
  - id: none-failed
    type: systemd.failed
    with: {bus: user, ignore: ["gate-fail.service", "gate-cr*"]}
EOF
cat >failed-ignore1.yaml <<'EOF'
version: 1
name: systemd-failed-ignore1
checks:
  - id: none-failed
    type: systemd.failed
    with: {bus: user, ignore: ["gate-fail.service"]}
EOF

test_expect_success 'systemd.failed lists both failed units and blocks' '
	expect_status 75 gate_user check --format json failed.yaml >failed.json &&
	test "$(st failed.json none-failed status)" = fail &&
	s=$(st failed.json none-failed summary) && echo "$s" &&
	case "$s" in "2 failed units: "*) ;; *) false ;; esac &&
	echo "$s" | grep -q gate-fail.service &&
	echo "$s" | grep -q gate-crash.service &&
	test "$(st failed.json none-failed details.count)" = 2
'

test_expect_success 'ignore globs: one ignored still fails on the other; both ignored passes' '
	expect_status 75 gate_user check --format json failed-ignore1.yaml >fi1.json &&
	test "$(st fi1.json none-failed summary)" = "1 failed unit: gate-crash.service" &&
	expect_status 0 gate_user check --format json failed-ignore.yaml >fi.json &&
	test "$(st fi.json none-failed status)" = pass &&
	test "$(st fi.json none-failed summary)" = "no failed units (2 ignored)"
'

test_expect_success 'after reset-failed, systemd.failed passes' '
	sd_ctl reset-failed &&
	expect_status 0 gate_user check --format json failed.yaml >nofail.json &&
	test "$(st nofail.json none-failed summary)" = "no failed units"
'

cat >bad.yaml <<'EOF'
version: 1
name: systemd-bad
checks:
  - id: bad-state
    type: systemd.unit
    with: {unit: gate-ok.service, state: running}
EOF
cat >bad2.yaml <<'EOF'
version: 1
name: systemd-bad2
checks:
  - id: bad-unit
    type: systemd.unit
    with: {unit: postgresql}
EOF

test_expect_success 'lint: a state that is not an ActiveState, a unit without its type (78)' '
	expect_status 78 gate lint bad.yaml 2>bad.err && cat bad.err && grep -q "running" bad.err &&
	expect_status 78 gate lint bad2.yaml 2>bad2.err && cat bad2.err && grep -q "postgresql.service" bad2.err
'

cat >frozen.yaml <<'EOF'
version: 1
name: systemd-frozen
checks:
  - id: ok
    type: systemd.unit
    timeout: 2s
    with: {unit: gate-ok.service, bus: user}
  - id: none-failed
    type: systemd.failed
    timeout: 2s
    with: {bus: user}
EOF
test_expect_success 'a frozen manager (SIGSTOP): error "timed out after 2s", within the timeout' '
	test_cleanup "kill -CONT $SD_PID" &&
	kill -STOP "$SD_PID" &&
	t0=$(test_now_ms) &&
	rc=0 && gate_user check --format json frozen.yaml >frozen.json || rc=$?
	ms=$(( $(test_now_ms) - t0 )) && echo "took ${ms}ms" &&
	kill -CONT "$SD_PID" &&
	test "$rc" = 75 &&
	test "$ms" -lt $((2000 + TEST_SLACK_MS)) &&
	test "$(st frozen.json ok status)" = error &&
	st frozen.json ok summary | grep -q "timed out after 2s" &&
	test "$(st frozen.json none-failed status)" = error &&
	st frozen.json none-failed summary | grep -q "timed out after 2s"
'

test_expect_success 'thawed, the same checks answer again' '
	expect_status 0 gate_user check --format json frozen.yaml >thawed.json &&
	test "$(st thawed.json ok status)" = pass
'

# ---- no manager ----
SD_OLD_PID=$SD_PID
OK_MAIN_PID=$(sd_ctl show -p MainPID --value gate-ok.service)
sd_stop
test_expect_success 'the manager stops cleanly by PID, its units with it' '
	test -n "$SD_OLD_PID" && ! kill -0 "$SD_OLD_PID" 2>/dev/null &&
	test "$OK_MAIN_PID" -gt 1 && ! kill -0 "$OK_MAIN_PID" 2>/dev/null &&
	test ! -e "$SD_XDG"
'

mkdir -m 700 "$TEST_TMP/empty-xdg"
test_expect_success 'no manager running: error, with a clear message' '
	XDG=$TEST_TMP/empty-xdg && export XDG &&
	expect_status 75 gate_user check --format json units.yaml >nobus.json &&
	unset XDG &&
	test "$(st nobus.json ok status)" = error &&
	test "$(st nobus.json ok summary)" = "cannot connect to the user bus: No such file or directory (is a systemd user manager running? XDG_RUNTIME_DIR=$TEST_TMP/empty-xdg)" &&
	test "$(st nobus.json nosuch status)" = error
'

# A socket left behind by a manager that died: nobody listens.
mkdir -m 700 "$TEST_TMP/stale-xdg"
/usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$TEST_TMP/stale-xdg/bus"
test_expect_success 'a stale bus socket: error (connection refused)' '
	XDG=$TEST_TMP/stale-xdg && export XDG &&
	expect_status 75 gate_user check --format json failed.yaml >stale.json &&
	unset XDG &&
	test "$(st stale.json none-failed status)" = error &&
	st stale.json none-failed summary | grep -q "cannot connect to the user bus: Connection refused"
'

# A bus that accepts and never answers: the check's deadline bounds it.
mkdir -m 700 "$TEST_TMP/mute-xdg"
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$TEST_TMP/mute-xdg/bus" &
MUTE=$!
test_cleanup "kill $MUTE"
cat >mute.yaml <<'EOF'
version: 1
name: systemd-mute
checks:
  - id: ok
    type: systemd.unit
    timeout: 2s
    with: {unit: gate-ok.service, bus: user}
EOF
test_expect_success 'a bus that never answers: error "timed out" within the check timeout' '
	wait_until 5 test -S "$TEST_TMP/mute-xdg/bus" &&
	XDG=$TEST_TMP/mute-xdg && export XDG &&
	t0=$(test_now_ms) &&
	expect_status 75 gate_user check --format json mute.yaml >mute.json &&
	ms=$(( $(test_now_ms) - t0 )) && echo "took ${ms}ms" &&
	unset XDG &&
	test "$ms" -lt $((2000 + TEST_SLACK_MS)) &&
	test "$(st mute.json ok status)" = error &&
	st mute.json ok summary | grep -q "timed out"
'

test_done
