#!/bin/bash
# alertmanager.alerts against a real Alertmanager 0.25 (Debian's
# prometheus-alertmanager) fed by a real Prometheus 2.42 whose rules always
# fire GateDbDown (critical, team db), GateDbLag (warning, team db) and
# GateDiskFull (info, team ops); Alertmanager's inhibit rule lets the
# critical alert inhibit the warning of its team (tests/lib/alertmanager.sh
# am_with_prometheus).  A firing alert blocks; the same alert silenced
# (POST /api/v2/silences) passes; the silence expired, by DELETE or by its
# endsAt, blocks again; the inhibited alert passes; matchers select; a bad
# matcher is a lint error naming the parameter; a closed port and a port
# that accepts and never answers are errors.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/report.sh"
require_cmd prometheus prometheus-alertmanager curl ss
. "$GATE_SOURCE_DIR/tests/lib/ha.sh"
. "$GATE_SOURCE_DIR/tests/lib/alertmanager.sh"

T=$TEST_TMP
if ! am_with_prometheus; then
	echo "0 passed, 1 failed"; exit 1
fi
DBDOWN="GateDbDown{severity=critical, instance=db1:9187, team=db}"
# a port that accepts and never answers
SP=$(free_port) || exit 1
/usr/bin/python3 "$GATE_SOURCE_DIR/tests/servers/blackhole.py" "$SP" accept "$T/bh.ready" >"$T/bh.log" 2>&1 &
test_cleanup "kill $! 2>/dev/null"
wait_until 10 test -s "$T/bh.ready" || echo "# the blackhole did not get ready"

# one NAME [MATCHER...]: a runbook of one alertmanager.alerts check "a"
one() {
	local name=$1 m list=""
	shift
	for m in "$@"; do list="$list${list:+, }'$m'"; done
	runbook "$name" <<-EOF
	  - id: a
	    type: alertmanager.alerts
	    with: {url: "$AM_URL", matchers: [$list]}
	EOF
}
# status_is NAME STATUS: check it again, its one check has STATUS
status_is() { check "$1" 2>/dev/null && test "$(st "$1" a)" = "$2"; }

test_expect_success 'a firing alert blocks and is named' '
	one firing "alertname=\"GateDbDown\"" &&
	check firing && rc_is firing 75 &&
	test "$(st firing a)" = fail &&
	test "$(summary firing a)" = "1 active, not silenced or inhibited: $DBDOWN" &&
	test "$(detail firing a .matching)" = 1 &&
	test "$(detail firing a .matchers)" = "{alertname=\"GateDbDown\"}" &&
	test "$(json_get $T/firing.json .decision)" = block
'

test_expect_success 'gate run does not run the command while it fires' '
	expect_status 75 gate run "$T/firing.yaml" -- touch "$T/ran" &&
	test ! -e "$T/ran"
'

test_expect_success 'matchers select: regex, negative, several' '
	runbook select <<-EOF &&
	  - id: crit
	    type: alertmanager.alerts
	    with: {url: "$AM_URL", matchers: ["severity=~\"critical|page\""]}
	  - id: page
	    type: alertmanager.alerts
	    with: {url: "$AM_URL/api/v2/alerts", matchers: ["severity=~page"]}
	  - id: ops
	    type: alertmanager.alerts
	    with: {url: "$AM_URL", matchers: ["team=\"ops\"", "alertname!=\"Watchdog\""], max: 1}
	  - id: notdb
	    type: alertmanager.alerts
	    with: {url: "$AM_URL", matchers: ["instance!~\"db[0-9]+:.*\"", "team=~\"db|ops\""]}
	  - id: everything
	    type: alertmanager.alerts
	    with: {url: "$AM_URL"}
	EOF
	check select && rc_is select 75 &&
	test "$(st select crit)" = fail &&
	test "$(summary select crit)" = "1 active, not silenced or inhibited: $DBDOWN" &&
	test "$(st select page)" = pass &&
	test "$(summary select page)" = "no active alert matches" &&
	test "$(st select ops)" = pass &&
	summary select ops | grep -F "1 active, within max 1: GateDiskFull{severity=info" &&
	test "$(st select notdb)" = fail &&
	summary select notdb | grep -F ": GateDiskFull{" &&
	test "$(st select everything)" = fail &&
	test "$(detail select everything .matching)" = 2
'

test_expect_success 'an inhibited alert passes (Alertmanager says it is inhibited)' '
	am_inhibited GateDbLag &&
	test "$(am_state GateDbLag)" = suppressed &&
	one inhibited "alertname=\"GateDbLag\"" &&
	check inhibited && rc_is inhibited 0 &&
	test "$(st inhibited a)" = pass &&
	test "$(summary inhibited a)" = "no active alert matches"
'

test_expect_success 'the alert silenced passes; the silence expired (DELETE) blocks again' '
	id=$(am_silence_add "{\"name\":\"alertname\",\"value\":\"GateDbDown\",\"isRegex\":false,\"isEqual\":true}") &&
	test -n "$id" &&
	wait_until 30 status_is firing pass &&
	rc_is firing 0 &&
	test "$(summary firing a)" = "no active alert matches" &&
	test "$(am_state GateDbDown)" = suppressed &&
	am_silence_expire "$id" &&
	wait_until 30 status_is firing fail &&
	rc_is firing 75 &&
	test "$(summary firing a)" = "1 active, not silenced or inhibited: $DBDOWN"
'

# The silence's life is the window in which a check must see it pass:
# the checks that look are slower under load.
SILENCE_S=$(( (4000 + TEST_SLACK_MS) / 1000 ))
test_expect_success 'a silence that reaches its endsAt blocks again' '
	id=$(am_silence_add "{\"name\":\"severity\",\"value\":\"crit.*\",\"isRegex\":true,\"isEqual\":true}" $SILENCE_S) &&
	test -n "$id" &&
	wait_until 30 status_is firing pass &&
	wait_until 60 status_is firing fail &&
	am_silence "$id" | grep -q "\"state\":\"expired\""
'

test_expect_success 'a matcher Alertmanager or POSIX ERE would read otherwise is a lint error (78)' '
	one badre "instance=~\"db\\\\d+\"" &&
	expect_status 78 gate lint "$T/badre.yaml" 2>"$T/badre.lint" &&
	grep -F "matchers: item 1" "$T/badre.lint" &&
	grep -F "is not plain POSIX ERE" "$T/badre.lint" &&
	one badsyntax "alertname" &&
	expect_status 78 gate lint "$T/badsyntax.yaml" 2>"$T/badsyntax.lint" &&
	grep -F "expected =, !=, =~ or !~" "$T/badsyntax.lint" &&
	one unanchor "alertname=~\"x)|(.*\"" &&
	expect_status 78 gate lint "$T/unanchor.yaml" 2>"$T/unanchor.lint" &&
	grep -F "unbalanced" "$T/unanchor.lint"
'

test_expect_success 'a port that accepts and never answers: error within the timeout' '
	runbook silent <<-EOF &&
	  - id: a
	    type: alertmanager.alerts
	    timeout: 2s
	    with: {url: "http://127.0.0.1:$SP"}
	EOF
	t0=$(test_now_ms) && check silent && t1=$(test_now_ms) &&
	rc_is silent 75 &&
	test "$(st silent a)" = error &&
	summary silent a | grep -F "connected to 127.0.0.1:$SP, but no response within" &&
	test $((t1 - t0)) -lt $((2000 + TEST_SLACK_MS))
'

test_expect_success 'Alertmanager stopped: error, and the gate blocks' '
	am_stop &&
	check firing && rc_is firing 75 &&
	test "$(st firing a)" = error &&
	summary firing a | grep -F "cannot connect to 127.0.0.1:$AM_PORT" &&
	test "$(json_get $T/firing.json .decision)" = block
'

test_done
