#!/bin/bash
# maintenance: {alertmanager: URL, matchers: [...], duration: D} against a
# real Alertmanager 0.25 (Debian's prometheus-alertmanager, started by
# tests/lib/alertmanager.sh), driven through tests/tools/gate-hold: begin
# records its intent, creates a silence (API v2) and records its ID; the
# silence is listed active with our comment during the hold and expired
# after end.  A holder killed with SIGKILL leaves the silence active until
# the recorded undo expires it; an intent recorded without the ID (a holder
# killed between the POST and the second record) finds the silence by its
# token.  A refused silence (415 when the body is not JSON: checked with
# curl, since gate always sends JSON; 400 for a silence that matches
# everything), an Alertmanager answering 500 on DELETE, and a closed port
# are errors.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd prometheus-alertmanager curl ss
. "$GATE_SOURCE_DIR/tests/lib/alertmanager.sh"

T=$TEST_TMP
H=$GATE_TOOLS_DIR/gate-hold
if ! am_start; then
	echo "0 passed, 1 failed"; exit 1
fi
P="{\"alertmanager\": \"$AM_URL\", \"matchers\": [\"alertname=\\\"Fixture\\\"\", \"severity=~\\\"crit.*\\\"\"], \"duration\": 7200000, \"comment\": \"kernel upgrade\"}"

step() { grep "\"step\":\"$2\"" "$1" >"$1.$2" && json_get "$1.$2" ".$3"; }
records() { grep -c '^{"record"' "$1"; }
undo_n() { grep '^{"record"' "$1" | sed -n "${2}p" | sed 's/^{"record":\(.*\)}$/\1/'; }
last_undo() { grep '^{"record"' "$1" | tail -n 1 | sed 's/^{"record":\(.*\)}$/\1/'; }
field() { printf '%s' "$1" >"$T/field.json" && json_get "$T/field.json" ".$2"; }
state_of() { am_silence "$1" >"$T/state.json" && json_get "$T/state.json" .status.state; }
# count_active TEXT: silences listed active whose comment holds TEXT
count_active() {
	am_silences | /usr/bin/python3 -c 'import json,sys
print(sum(1 for s in json.load(sys.stdin) if sys.argv[1] in s["comment"] and s["status"]["state"] == "active"))' "$1"
}
hold() {
	rm -f "$T/$1.in" "$T/$1.out"
	mkfifo "$T/$1.in"
	"$H" maint alertmanager "$2" begin -1 <"$T/$1.in" >"$T/$1.out" 2>"$T/$1.err" &
	echo $! >"$T/$1.pid"
	exec 8>"$T/$1.in"
	wait_until 30 grep -q '"step":"begin"' "$T/$1.out"
}

test_expect_success 'describe says what would be silenced, for how long, where' '
	"$H" maint alertmanager "$P" describe >d.out &&
	step d.out describe message | grep -x -F "silence {alertname=\"Fixture\", severity=~\"crit.*\"} for 2h at $AM_URL"
'

test_expect_success 'the silence is active with our comment during the hold, expired after' '
	hold h1 "$P" &&
	test "$(step "$T/h1.out" begin state)" = taken &&
	test "$(records "$T/h1.out")" = 2 &&
	test "$(field "$(undo_n "$T/h1.out" 1)" silence)" = null &&
	token=$(field "$(undo_n "$T/h1.out" 1)" token) &&
	id=$(field "$(undo_n "$T/h1.out" 2)" silence) &&
	test "$(field "$(undo_n "$T/h1.out" 2)" token)" = "$token" &&
	test "$(state_of "$id")" = active &&
	json_get "$T/state.json" .comment | grep -F "gate maintenance: runbook gate-hold by" &&
	json_get "$T/state.json" .comment | grep -F "(gate-token $token); kernel upgrade" &&
	json_get "$T/state.json" .createdBy | grep "^gate .*@" &&
	json_get "$T/state.json" .matchers | grep -F "\"value\": \"crit.*\"" &&
	test "$(count_active "gate-token $token")" = 1 &&
	exec 8>&- && wait "$(cat "$T/h1.pid")" &&
	step "$T/h1.out" end message | grep "expired silence $id" &&
	test "$(state_of "$id")" = expired &&
	test "$(count_active "gate-token $token")" = 0
'

test_expect_success 'the silence ends after duration even if nobody expires it' '
	"$H" maint alertmanager "$P" begin >b.out &&
	step b.out begin details | grep "ends_at" &&
	ends=$(json_get b.out.begin .details.ends_at) &&
	now=$(date -u +%s) && e=$(date -u -d "$ends" +%s) &&
	test $((e - now)) -le 7200 && test $((e - now)) -ge 7100
'

test_expect_success 'SIGKILL during the hold leaves it active; the recorded undo expires it' '
	hold k1 "$P" &&
	kill -KILL "$(cat "$T/k1.pid")" && exec 8>&- &&
	! wait "$(cat "$T/k1.pid")" &&
	undo=$(last_undo "$T/k1.out") && id=$(field "$undo" silence) &&
	test "$(state_of "$id")" = active &&
	"$H" maint alertmanager "$P" end "$undo" >e.out &&
	step e.out end message | grep "expired silence $id" &&
	test "$(state_of "$id")" = expired &&
	"$H" maint alertmanager "$P" end "$undo" >e2.out &&
	test "$(step e2.out end state)" = taken
'

test_expect_success 'an intent recorded without the ID: end finds the silence by its token' '
	hold k2 "$P" &&
	kill -KILL "$(cat "$T/k2.pid")" && exec 8>&- &&
	! wait "$(cat "$T/k2.pid")" &&
	intent=$(undo_n "$T/k2.out" 1) && token=$(field "$intent" token) &&
	id=$(field "$(undo_n "$T/k2.out" 2)" silence) &&
	test "$(field "$intent" silence)" = null &&
	test "$(state_of "$id")" = active &&
	"$H" maint alertmanager "$P" end "$intent" >i.out &&
	step i.out end message | grep "expired 1 silence(s) with gate-token $token" &&
	test "$(state_of "$id")" = expired &&
	"$H" maint alertmanager "$P" end "$intent" >i2.out &&
	step i2.out end message | grep "expired 0 silence(s)"
'

test_expect_success 'an unknown silence ID is nothing to expire' '
	"$H" maint alertmanager "$P" end "{\"silence\": \"00000000-1111-2222-3333-444444444444\", \"token\": \"x\"}" >u.out &&
	test "$(step u.out end state)" = taken
'

test_expect_success 'Alertmanager answers 415 to a body that is not JSON (gate always sends JSON)' '
	test "$(curl -s -o /dev/null -w "%{http_code}" -X POST -d "{}" "$AM_URL/api/v2/silences")" = 415
'

test_expect_success 'a silence Alertmanager refuses (matches everything) is an error, nothing left' '
	before=$(am_silences | grep -o "\"id\"" | wc -l) &&
	expect_status 2 "$H" maint alertmanager "{\"alertmanager\": \"$AM_URL\", \"matchers\": [\"team=~\\\".*\\\"\"], \"duration\": 60000}" begin >r.out &&
	test "$(records r.out)" = 1 &&
	step r.out begin message | grep "refused the silence: status 400: silence invalid: at least one matcher must not match the empty string" &&
	test "$(am_silences | grep -o "\"id\"" | wc -l)" = "$before"
'

test_expect_success 'a closed port: begin and end are errors, describe cannot tell' '
	port=$(free_port) &&
	Q="{\"alertmanager\": \"http://127.0.0.1:$port\", \"matchers\": [\"a=b\"], \"duration\": 60000}" &&
	expect_status 2 "$H" maint alertmanager "$Q" begin >c.out &&
	step c.out begin message | grep "cannot silence at http://127.0.0.1:$port: POST /api/v2/silences: cannot connect to 127.0.0.1:$port: Connection refused" &&
	expect_status 2 "$H" maint alertmanager "$Q" describe >cd.out &&
	step cd.out describe message | grep "cannot reach Alertmanager" &&
	expect_status 2 "$H" maint alertmanager "$Q" end "{\"silence\": \"00000000-1111-2222-3333-444444444444\", \"token\": \"x\"}" >ce.out &&
	step ce.out end message | grep "cannot expire silence"
'

# A 500 no real Alertmanager gives to a POST comes from tests/servers/httpd.py.
MOCK_PORT=$(free_port)
MOCK=http://127.0.0.1:$MOCK_PORT
/usr/bin/python3 "$GATE_SOURCE_DIR/tests/servers/httpd.py" "$MOCK_PORT" --ready "$T/mock.ready" \
	>"$T/mock.log" 2>&1 &
echo $! >"$T/mock.pid"
test_cleanup 'kill "$(cat "$T/mock.pid")"'
wait_until 10 test -f "$T/mock.ready"

test_expect_success 'a server answering 500 to the POST: begin is an error' '
	curl -s -X POST -d "\"internal error\"" "$MOCK/__set?path=/api/v2/silences&status=500" >/dev/null &&
	Q="{\"alertmanager\": \"$MOCK\", \"matchers\": [\"a=b\"], \"duration\": 60000}" &&
	expect_status 2 "$H" maint alertmanager "$Q" begin >s.out &&
	step s.out begin message | grep "refused the silence: status 500: internal error"
'

# The mock answers {} to the GET of the list too: gate cannot tell whether
# a silence remains, and says so with the token.
test_expect_success 'a 200 without a silence ID: begin looks for its token, is an error' '
	curl -s -X POST -d "{}" "$MOCK/__set?path=/api/v2/silences&status=200" >/dev/null &&
	Q="{\"alertmanager\": \"$MOCK\", \"matchers\": [\"a=b\"], \"duration\": 60000}" &&
	expect_status 2 "$H" maint alertmanager "$Q" begin >s2.out &&
	step s2.out begin message | grep "the answer has no silenceID; a silence may remain (gate-token [0-9a-f]*): GET /api/v2/silences: the silences answer is not a JSON list"
'

test_expect_success 'a password in the URL is sent, never shown' '
	"$H" maint alertmanager "{\"alertmanager\": \"http://admin:s3cr3t@127.0.0.1:$AM_PORT\", \"matchers\": [\"a=b\"], \"duration\": 60000}" begin >pw.out &&
	! grep -q s3cr3t pw.out && grep -q "admin:\*\*\*@127.0.0.1" pw.out
'

test_done
