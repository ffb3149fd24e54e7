#!/bin/bash
# maintenance: {patroni: URL} against a real Patroni 3.0.2 cluster (a
# leader and a streaming replica on etcd with PostgreSQL 15, started by
# tests/lib/ha.sh), driven through tests/tools/gate-hold: begin pauses
# the cluster (PATCH /config, as patronictl pause) and /cluster says so on
# every member while the hold lasts; end resumes it ({"pause": null}).  A
# cluster already paused is left paused and not resumed.  A holder killed
# with SIGKILL leaves the cluster paused, and the undo it recorded before
# pausing resumes it.  A REST API that does not answer is an error and
# nothing changes.  A password in the URL never reaches the output.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd patroni etcd curl ss runuser
. "$GATE_SOURCE_DIR/tests/lib/ha.sh"

T=$TEST_TMP
H=$GATE_TOOLS_DIR/gate-hold
if ! ha_cluster_up; then
	echo "# the Patroni cluster did not come up:"
	tail -n 15 "$HA"/log/*.log
	echo "0 passed, 1 failed"; exit 1
fi
API1=http://127.0.0.1:$PATRONI_API_1
API2=http://127.0.0.1:$PATRONI_API_2
P="{\"patroni\": \"$API2\"}"

paused() { curl -s -m 2 "$1/cluster" | grep -q '"pause": true'; }
unpaused() { curl -s -m 2 "$1/cluster" | grep -q '"members"' && ! paused "$1"; }
# step FILE STEP FIELD: a field of the object gate-hold printed for STEP
step() { grep "\"step\":\"$2\"" "$1" >"$1.$2" && json_get "$1.$2" ".$3"; }
# records FILE: how many undo records gate-hold printed
records() { grep -c '^{"record"' "$1"; }
last_undo() { grep '^{"record"' "$1" | tail -n 1 | sed 's/^{"record":\(.*\)}$/\1/'; }
# hold NAME PARAMS: begin and hold until $T/NAME.in is closed; the output
# in $T/NAME.out, the PID in $T/NAME.pid.  Returns once begin is printed.
hold() {
	rm -f "$T/$1.in" "$T/$1.out"
	mkfifo "$T/$1.in"
	"$H" maint patroni "$2" begin -1 <"$T/$1.in" >"$T/$1.out" 2>"$T/$1.err" &
	echo $! >"$T/$1.pid"
	exec 8>"$T/$1.in"
	wait_until 30 grep -q '"step":"begin"' "$T/$1.out"
}
# pause_shown API: the member's own /patroni says the cluster is paused
pause_shown() { curl -s -m 5 "$1/patroni" | grep -q '"pause": true'; }
resume_by_hand() { curl -s -m 5 -X PATCH -d '{"pause": null}' "$API1/config" >/dev/null; }

test_expect_success 'describe: the cluster is not paused, begin would pause it' '
	"$H" maint patroni "$P" describe >d.out &&
	test "$(step d.out describe state)" = taken &&
	step d.out describe message | grep -x "pause the Patroni cluster at $API2 (it is not paused now)"
'

test_expect_success 'begin pauses, /cluster says paused during the hold, end resumes' '
	hold h1 "$P" &&
	test "$(step "$T/h1.out" begin state)" = taken &&
	test "$(records "$T/h1.out")" = 1 &&
	test "$(last_undo "$T/h1.out")" = "{\"resume\":true,\"url\":\"$API2\"}" &&
	wait_until 10 paused "$API1" && paused "$API2" &&
	wait_until 10 pause_shown "$API1" &&
	exec 8>&- && wait "$(cat "$T/h1.pid")" &&
	test "$(step "$T/h1.out" end state)" = taken &&
	step "$T/h1.out" end message | grep "resumed the Patroni cluster" &&
	wait_until 10 unpaused "$API1" && unpaused "$API2"
'

test_expect_success 'the record is printed before the cluster is paused' '
	"$H" maint patroni "$P" begin >o.out &&
	test "$(head -n 1 o.out | cut -c1-10)" = "{\"record\":" &&
	wait_until 10 unpaused "$API1"
'

test_expect_success 'a cluster already paused is left paused and not resumed' '
	curl -s -X PATCH -d "{\"pause\": true}" "$API1/config" >/dev/null &&
	wait_until 10 paused "$API2" &&
	"$H" maint patroni "$P" describe >d2.out &&
	step d2.out describe message | grep "already paused: it would be left paused, not resumed" &&
	"$H" maint patroni "$P" begin >a.out &&
	test "$(last_undo a.out)" = "{\"resume\":false,\"url\":\"$API2\"}" &&
	step a.out begin message | grep "already paused: left paused, not resumed" &&
	step a.out end message | grep "was paused before: left paused, not resumed" &&
	wait_until 10 paused "$API1" && paused "$API2" &&
	resume_by_hand && wait_until 10 unpaused "$API2"
'

test_expect_success 'SIGKILL during the hold leaves it paused; the recorded undo resumes it' '
	hold k1 "$P" &&
	kill -KILL "$(cat "$T/k1.pid")" && exec 8>&- &&
	! wait "$(cat "$T/k1.pid")" &&
	! grep -q "\"step\":\"end\"" "$T/k1.out" &&
	wait_until 10 paused "$API1" && paused "$API2" &&
	undo=$(last_undo "$T/k1.out") &&
	"$H" maint patroni "$P" end "$undo" >e.out &&
	step e.out end message | grep "resumed the Patroni cluster" &&
	wait_until 10 unpaused "$API1" && unpaused "$API2" &&
	"$H" maint patroni "$P" end "$undo" >e2.out &&
	test "$(step e2.out end state)" = taken
'

test_expect_success 'the REST API does not answer: begin is an error, nothing changed' '
	port=$(free_port) &&
	expect_status 2 "$H" maint patroni "{\"patroni\": \"http://127.0.0.1:$port\"}" begin >x.out &&
	test "$(records x.out)" = 0 &&
	step x.out begin message | grep "cannot read the Patroni cluster at http://127.0.0.1:$port: GET /cluster: cannot connect to 127.0.0.1:$port: Connection refused" &&
	expect_status 2 "$H" maint patroni "{\"patroni\": \"http://127.0.0.1:$port\"}" describe >xd.out &&
	expect_status 2 "$H" maint patroni "{\"patroni\": \"http://127.0.0.1:$port\"}" end "{\"resume\": true}" >xe.out &&
	step xe.out end message | grep "cannot resume" &&
	wait_until 10 unpaused "$API1"
'

# What no real Patroni can be made to answer comes from tests/servers/httpd.py
# (its /cluster is Patroni-shaped, never paused; /config answers as set).
MOCK_PORT=$(free_port)
MOCK=http://127.0.0.1:$MOCK_PORT
/usr/bin/python3 "$GATE_SOURCE_DIR/tests/servers/httpd.py" "$MOCK_PORT" --ready "$T/mock.ready" \
	>"$T/mock.log" 2>&1 &
echo $! >"$T/mock.pid"
test_cleanup 'kill "$(cat "$T/mock.pid")"'
wait_until 10 test -f "$T/mock.ready"
mock_set() { curl -s -m 5 -X POST -d "$2" "$MOCK/__set?path=$1&status=200" >/dev/null; }
mock_log() { curl -s -m 5 "$MOCK/__log"; }

test_expect_success 'not a Patroni API (404 for /cluster): begin is an error, nothing recorded' '
	expect_status 2 "$H" maint patroni "{\"patroni\": \"$MOCK/x\"}" begin >n.out &&
	test "$(records n.out)" = 0 &&
	step n.out begin message | grep "GET /cluster answered status 404"
'

test_expect_success 'a PATCH answered without the pause: begin resumes and is an error' '
	curl -s -X POST "$MOCK/__reset" >/dev/null &&
	mock_set /config "{\"ttl\": 10}" &&
	expect_status 2 "$H" maint patroni "{\"patroni\": \"$MOCK\"}" begin >m.out &&
	test "$(records m.out)" = 1 &&
	step m.out begin message | grep "PATCH /config answered with pause not set; resumed it" &&
	mock_log | grep -F "\"body\": \"{\\\"pause\\\": null}\""
'

test_expect_success '/cluster never says paused: begin gives up before its deadline and resumes' '
	curl -s -X POST "$MOCK/__reset" >/dev/null &&
	mock_set /config "{\"pause\": true}" &&
	t0=$(test_now_ms) &&
	GATE_HOLD_TIMEOUT_MS=3000 expect_status 2 "$H" maint patroni "{\"patroni\": \"$MOCK\"}" begin >v.out &&
	test $(( $(test_now_ms) - t0 )) -lt $((3000 + TEST_SLACK_MS)) &&
	step v.out begin message | grep "/cluster does not report pause after" &&
	mock_log | grep -F "\"body\": \"{\\\"pause\\\": null}\""
'

test_expect_success 'a password in the URL is sent, never shown' '
	"$H" maint patroni "{\"patroni\": \"http://admin:s3cr3t@127.0.0.1:$PATRONI_API_2\"}" begin >pw.out &&
	! grep -q s3cr3t pw.out &&
	grep -q "admin:\*\*\*@127.0.0.1" pw.out &&
	wait_until 10 unpaused "$API1"
'

test_expect_success 'an undo record without "resume" is an error' '
	expect_status 2 "$H" maint patroni "$P" end "{\"silence\": null}" >u.out &&
	step u.out end message | grep "has no \"resume\""
'

test_done
