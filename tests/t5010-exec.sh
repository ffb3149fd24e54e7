#!/bin/bash
# The exec check type through the real `gate check --format json`, with the
# real Monitoring Plugins from Debian (monitoring-plugins-basic): check_dummy
# for every plugin state, check_disk on /, check_tcp against a port this
# test opens and one nothing listens on; plus a hanging command, one that
# is not installed, one killed by SIGSEGV, and the exit protocol.
. "$(dirname "$0")/lib/test-lib.sh"

PLUG=/usr/lib/nagios/plugins
require_cmd ss
for p in check_dummy check_disk check_tcp; do
	[ -x "$PLUG/$p" ] || { echo "# missing $PLUG/$p (monitoring-plugins-basic)"; echo "0 passed, 1 failed"; exit 1; }
done
cd "$TEST_TMP" || exit 1

# A TCP port that accepts and answers nothing, and one that is closed.
OPEN=$(free_port)
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); c.close()
' "$OPEN" >listener.log 2>&1 &
LPID=$!
test_cleanup "kill $LPID"
wait_until 10 sh -c "ss -Hltn 'sport = :$OPEN' | grep -q LISTEN" || { echo "# listener did not start"; cat listener.log; }
CLOSED=$(free_port)
while [ "$CLOSED" = "$OPEN" ]; do CLOSED=$(free_port); done

# check_disk on /, with thresholds 10 points away from what df says is
# free, so that the answer is known on any machine (never skipped): below
# what is free it passes, above it it is critical.
FREE_PCT=$(df --output=pcent / | tail -1 | tr -dc 0-9)
FREE_PCT=$((100 - FREE_PCT))
if [ "$FREE_PCT" -ge 15 ]; then
	DISK_WANT=pass DISK_W=$((FREE_PCT - 10)) DISK_C=$((FREE_PCT - 12))
else
	DISK_WANT=fail DISK_W=$((FREE_PCT + 10)) DISK_C=$((FREE_PCT + 10))
fi

# A plugin of our own: perfdata on the first line (with a quoted label)
# and in the long text, as the plugin guidelines allow.
cat >perf.sh <<'EOF'
echo "LAG OK - 3 replicas | lag=12B;100;200;0; 'replay delay'=0.5s;1;2"
echo "db2: streaming"
echo "db3: streaming | conns=7;;;0;100"
EOF

cat >plugins.yaml <<EOF
version: 1
name: exec-plugins
checks:
  - id: dummy-ok
    type: exec
    with:
      command: ["$PLUG/check_dummy", "0", "all good"]
  - id: dummy-warn
    type: exec
    with:
      command: ["$PLUG/check_dummy", "1", "getting full"]
  - id: dummy-warn-passes
    type: exec
    with:
      command: ["$PLUG/check_dummy", "1", "getting full"]
      warning: pass
  - id: dummy-crit
    type: exec
    with:
      command: ["$PLUG/check_dummy", "2", "on fire"]
  - id: dummy-unknown
    type: exec
    with:
      command: ["$PLUG/check_dummy", "3", "cannot tell"]
  - id: disk
    type: exec
    with:
      command: ["$PLUG/check_disk", "-w", "$DISK_W%", "-c", "$DISK_C%", "-p", "/"]
  - id: disk-crit
    type: exec
    with:
      command: ["$PLUG/check_disk", "-w", "100%", "-c", "100%", "-p", "/"]
  - id: tcp-open
    type: exec
    with:
      command: ["$PLUG/check_tcp", "-H", "127.0.0.1", "-p", "$OPEN", "-t", "5"]
  - id: tcp-closed
    type: exec
    with:
      command: ["$PLUG/check_tcp", "-H", "127.0.0.1", "-p", "$CLOSED", "-t", "5"]
  - id: perf-long
    type: exec
    with:
      command: ["sh", "$TEST_TMP/perf.sh"]
  - id: not-installed
    type: exec
    with:
      command: ["$PLUG/check_foo_not_installed"]
  - id: crash
    type: exec
    with:
      command: ["sh", "-c", "kill -SEGV \$\$"]
  - id: exit-odd
    type: exec
    with:
      command: ["sh", "-c", "echo partial; exit 42"]
EOF

test_expect_success 'gate check runs the plugins and blocks (exit 75)' '
	expect_status 75 gate check --format json plugins.yaml >plugins.json 2>plugins.err &&
	test "$(json_get plugins.json .decision)" = block
'

st() { json_get plugins.json ".checks[?id=$1].$2"; }

test_expect_success 'check_dummy 0: pass, first line is the summary' '
	test "$(st dummy-ok status)" = pass &&
	test "$(st dummy-ok summary)" = "OK: all good" &&
	test "$(st dummy-ok details.exit_code)" = 0 &&
	test "$(st dummy-ok details.state)" = OK
'

test_expect_success 'check_dummy 1: a WARNING fails (any doubt blocks)' '
	test "$(st dummy-warn status)" = fail &&
	test "$(st dummy-warn details.warning)" = true &&
	test "$(st dummy-warn details.state)" = WARNING &&
	case "$(st dummy-warn summary)" in WARNING*"getting full") ;; *) st dummy-warn summary; false ;; esac
'

test_expect_success 'check_dummy 1 with warning: pass: pass, the warning shown in the summary' '
	test "$(st dummy-warn-passes status)" = pass &&
	test "$(st dummy-warn-passes details.warning)" = true &&
	test "$(st dummy-warn-passes details.state)" = WARNING &&
	case "$(st dummy-warn-passes summary)" in WARNING*"getting full") ;; *) st dummy-warn-passes summary; false ;; esac
'

cat >warning-only.yaml <<EOF
version: 1
name: exec-warning
checks:
  - id: dummy-warn
    type: exec
    with:
      command: ["$PLUG/check_dummy", "1", "getting full"]
EOF
sed "s/^      command:.*/&\n      warning: pass/" warning-only.yaml >warning-pass.yaml
sed "s/^      command:.*/&\n      warning: ignore/" warning-only.yaml >warning-bad.yaml
chmod 644 warning-*.yaml

test_expect_success 'a lone WARNING blocks (75); with warning: pass it allows' '
	expect_status 75 gate check -q warning-only.yaml >/dev/null &&
	expect_status 0 gate check -q warning-pass.yaml >/dev/null
'

test_expect_success 'warning: anything but fail or pass is refused at load time, with line:col' '
	expect_status 78 gate check warning-bad.yaml 2>err &&
	test_grep "warning-bad.yaml:8:[0-9]*: .*fail|pass.*ignore" err &&
	expect_status 78 gate lint warning-bad.yaml >out 2>&1 &&
	test_grep "warning-bad.yaml:8:[0-9]*:" out
'

test_expect_success 'check_dummy 2: fail; 3: error' '
	test "$(st dummy-crit status)" = fail &&
	test "$(st dummy-crit summary)" = "CRITICAL: on fire" &&
	test "$(st dummy-crit details.state)" = CRITICAL &&
	test "$(st dummy-unknown status)" = error &&
	test "$(st dummy-unknown details.state)" = UNKNOWN &&
	test "$(st dummy-unknown summary)" = "UNKNOWN: cannot tell"
'

test_expect_success 'blocking reasons name the critical, unknown and warning checks only' '
	json_get plugins.json .reasons >reasons &&
	grep -q dummy-crit reasons && grep -q dummy-unknown reasons &&
	grep -q "dummy-warn: WARNING" reasons &&
	! grep -q dummy-ok reasons && ! grep -q dummy-warn-passes reasons
'

test_expect_success "check_disk -w $DISK_W% -c $DISK_C% on / ($FREE_PCT% free): $DISK_WANT, perfdata parsed" '
	test "$(st disk status)" = "$DISK_WANT" &&
	case "$(st disk summary)" in "DISK "*) ;; *) false ;; esac &&
	test "$(st disk details.perfdata[0].label)" = / &&
	test "$(st disk details.perfdata[0].uom)" = B &&
	size=$(df -B1 --output=size / | tail -1 | tr -dc 0-9) &&
	max=$(st disk details.perfdata[0].max) &&
	/usr/bin/python3 -c "import sys; sys.exit(abs(float(sys.argv[1]) - float(sys.argv[2])) > 1e6)" "$max" "$size" &&
	case "$(st disk details.perfdata_raw)" in /=*B\;*) ;; *) false ;; esac
'

test_expect_success 'check_disk -c 100%: fail with DISK CRITICAL' '
	test "$(st disk-crit status)" = fail &&
	case "$(st disk-crit summary)" in "DISK CRITICAL"*) ;; *) st disk-crit summary; false ;; esac &&
	test "$(st disk-crit details.exit_code)" = 2
'

test_expect_success 'check_tcp against an open port: pass, time in perfdata' '
	test "$(st tcp-open status)" = pass &&
	case "$(st tcp-open summary)" in "TCP OK"*) ;; *) st tcp-open summary; false ;; esac &&
	test "$(st tcp-open details.perfdata[0].label)" = time &&
	test "$(st tcp-open details.perfdata[0].uom)" = s
'

test_expect_success 'check_tcp against a closed port: fail, refused' '
	test "$(st tcp-closed status)" = fail &&
	st tcp-closed summary | grep -q "Connection refused"
'

test_expect_success 'perfdata from the first line and the long text; long output kept' '
	test "$(st perf-long status)" = pass &&
	test "$(st perf-long summary)" = "LAG OK - 3 replicas" &&
	test "$(st perf-long details.perfdata[0].label)" = lag &&
	test "$(st perf-long details.perfdata[0].value)" = 12.0 &&
	test "$(st perf-long details.perfdata[0].uom)" = B &&
	test "$(st perf-long details.perfdata[0].warn)" = 100.0 &&
	test "$(st perf-long details.perfdata[0].crit)" = 200.0 &&
	test "$(st perf-long details.perfdata[1].label)" = "replay delay" &&
	test "$(st perf-long details.perfdata[1].uom)" = s &&
	test "$(st perf-long details.perfdata[2].label)" = conns &&
	test "$(st perf-long details.perfdata[2].max)" = 100.0 &&
	test "$(st perf-long details.long_output)" = "db2: streaming
db3: streaming" &&
	st perf-long details.perfdata_raw | grep -q "conns=7;;;0;100"
'

test_expect_success 'a plugin that is not installed: error, says so' '
	test "$(st not-installed status)" = error &&
	test "$(st not-installed summary)" = "$PLUG/check_foo_not_installed: not installed (not found on PATH)"
'

test_expect_success 'a command killed by SIGSEGV: error' '
	test "$(st crash status)" = error &&
	st crash summary | grep -q "killed by signal 11 (SIGSEGV)" &&
	test "$(st crash details.signal)" = 11
'

test_expect_success 'nagios exit status outside 0-3: error' '
	test "$(st exit-odd status)" = error &&
	st exit-odd summary | grep -q "exited 42" &&
	st exit-odd summary | grep -q partial
'

cat >latin1.yaml <<'EOF'
version: 1
name: exec-latin1
checks:
  - id: latin1
    type: exec
    with:
      command: ["sh", "-c", "printf 'CRITICAL: caf\\351 \\377 down | t=1s\\nd\\351tail\\n'; exit 2"]
  - id: cut
    type: exec
    with:
      command: ["sh", "-c", "printf 'WARNING '; i=0; while [ $i -lt 300 ]; do printf 'xé'; i=$((i+1)); done; echo; exit 1"]
      warning: pass
EOF

test_expect_success 'output that is not UTF-8 (Latin-1, a cut character) still makes a valid report' '
	expect_status 75 gate check --format json latin1.yaml >latin1.json &&
	test "$(json_get latin1.json ".checks[?id=latin1].status")" = fail &&
	test "$(json_get latin1.json ".checks[?id=latin1].summary")" = "CRITICAL: caf\\xe9 \\xff down" &&
	test "$(json_get latin1.json ".checks[?id=latin1].details.long_output")" = "d\\xe9tail" &&
	test "$(json_get latin1.json ".checks[?id=cut].status")" = pass &&
	json_get latin1.json ".checks[?id=cut].summary" | grep -q "^WARNING xéxé"
'

# a sleep of its own, so that no other sleep on the machine is taken for it
ln -s "$(command -v sleep)" sleep-t5010
cat >hang.yaml <<EOF
version: 1
name: exec-hang
checks:
  - id: hang
    type: exec
    timeout: 2s
    with:
      protocol: exit
      command: ["sh", "-c", "$TEST_TMP/sleep-t5010 35 & $TEST_TMP/sleep-t5010 36; wait"]
EOF

test_expect_success 'a hanging command: error "timed out after 2s", killed with its children' '
	t0=$(test_now_ms) &&
	expect_status 75 gate check --format json hang.yaml >hang.json &&
	ms=$(( $(test_now_ms) - t0 )) &&
	echo "took ${ms}ms" &&
	test "$ms" -lt $((2000 + TEST_SLACK_MS)) &&
	test "$(json_get hang.json ".checks[?id=hang].status")" = error &&
	json_get hang.json ".checks[?id=hang].summary" | grep -q "timed out after 2s" &&
	! pgrep -f "^$TEST_TMP/sleep-t5010 3[56]" >/dev/null
'

cat >exitp.yaml <<'EOF'
version: 1
name: exec-exit
checks:
  - id: ok-true
    type: exec
    with:
      protocol: exit
      command: ["/bin/true"]
  - id: env
    type: exec
    with:
      protocol: exit
      env: {GATE_T5010: "from the runbook"}
      command: ["sh", "-c", "test \"$GATE_T5010\" = 'from the runbook'"]
EOF

test_expect_success 'protocol exit: 0 passes, env is passed; allowed (exit 0)' '
	expect_status 0 gate check --format json exitp.yaml >exitp.json &&
	test "$(json_get exitp.json ".checks[?id=ok-true].status")" = pass &&
	test "$(json_get exitp.json ".checks[?id=ok-true].summary")" = "exited 0" &&
	test "$(json_get exitp.json ".checks[?id=env].status")" = pass
'

cat >exitf.yaml <<'EOF'
version: 1
name: exec-exit-fail
checks:
  - id: no-false
    type: exec
    with:
      protocol: exit
      command: ["/bin/false"]
  - id: stderr
    type: exec
    with:
      protocol: exit
      command: ["sh", "-c", "echo starting; echo 'first problem' >&2; echo 'replica db2 unreachable' >&2; exit 3"]
EOF

test_expect_success 'protocol exit: non-zero fails with the last stderr line' '
	expect_status 75 gate check --format json exitf.yaml >exitf.json &&
	test "$(json_get exitf.json ".checks[?id=no-false].status")" = fail &&
	test "$(json_get exitf.json ".checks[?id=no-false].summary")" = "exited 1" &&
	test "$(json_get exitf.json ".checks[?id=stderr].status")" = fail &&
	test "$(json_get exitf.json ".checks[?id=stderr].summary")" = "exited 3: replica db2 unreachable" &&
	json_get exitf.json ".checks[?id=stderr].details.stderr" | grep -q "first problem"
'

cat >empty.yaml <<'EOF'
version: 1
name: exec-empty
checks:
  - id: nothing
    type: exec
    with:
      command: []
EOF

test_expect_success 'an empty command is a runbook error (78), before anything runs' '
	expect_status 78 gate lint empty.yaml 2>lint.err &&
	grep -q command lint.err
'

test_done
