#!/bin/bash
# maintenance: [{alertmanager: URL, matchers: [...], duration: 2h}] through
# the real gate (gate run, gate check, gate maintenance resume) against a
# real Alertmanager 0.25 (Debian's prometheus-alertmanager,
# tests/lib/alertmanager.sh): the silence is active while the command runs
# (the command lists /api/v2/silences itself) and expired after, also after
# a failing command; a gate killed with SIGKILL leaves it active, the next
# gate check blocks saying so, and gate maintenance resume expires it; the
# dry run says what would be silenced and creates nothing; the audit
# records the silence on and off.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd prometheus-alertmanager curl ss python3
. "$GATE_SOURCE_DIR/tests/lib/alertmanager.sh"

cd "$TEST_TMP" || exit 1
if ! am_start; then
	echo "0 passed, 1 failed"; exit 1
fi
mkdir -m 700 state
export GATE_STATE_DIR=$TEST_TMP/state
test_cleanup "touch $TEST_TMP/go"

write_rb am.yaml <<EOF
version: 1
name: am
checks:
  - id: ok
    type: exec
    with: {command: ["true"], protocol: exit}
maintenance:
  - alertmanager: $AM_URL
    matchers: ['alertname="Fixture"', 'severity=~"crit.*"']
    duration: 2h
    comment: kernel upgrade
EOF

# silences FILE: the silences Alertmanager lists, as "STATE ID COMMENT" lines
silences() {
	python3 -c 'import json,sys
for s in json.load(open(sys.argv[1])):
    print(s["status"]["state"], s["id"], s["comment"])' "$1"
}
# active_ours [FILE]: how many silences of runbook am are listed active
active_ours() {
	if [ -n "${1:-}" ]; then cat "$1"; else am_silences; fi >list.json &&
	silences list.json | grep -c "^active .* gate maintenance: runbook am by .*; kernel upgrade$"
}
# silence_id FILE: the silence ID in the last decision record of an audit log
silence_id() {
	python3 -c 'import json,sys
r = [json.loads(l) for l in open(sys.argv[1]) if "\"decision\"" in l][-1]
print(r["holds"]["maintenance"][0]["undo"]["silence"])' "$1"
}
state_of() { am_silence "$1" >st.json && json_get st.json .status.state; }

cat >hold.sh <<EOF
curl -s -m 5 $AM_URL/api/v2/silences >"silences.\$1"
echo \$\$ >"started.\$1"
while [ ! -f go ]; do sleep 0.05; done
EOF

test_expect_success 'gate check: says what would be silenced, creates nothing' '
	expect_status 0 "$GATE_BIN" check am.yaml >check.out 2>&1 &&
	test_grep -F "would: silence {alertname=\"Fixture\", severity=~\"crit.*\"} for 2h at $AM_URL" check.out &&
	test "$(am_silences)" = "[]" &&
	test ! -e state/am.state
'

test_expect_success 'gate run: the silence is active while the command runs, expired after, audited' '
	expect_status 0 "$GATE_BIN" run --audit-log ok.jsonl am.yaml -- sh -c "curl -s -m 5 $AM_URL/api/v2/silences >during.json" >ok.out 2>&1 &&
	test "$(active_ours during.json)" = 1 &&
	id=$(silence_id ok.jsonl) &&
	silences during.json | grep "^active $id " &&
	test "$(state_of "$id")" = expired &&
	test "$(active_ours)" = 0 &&
	test ! -e state/am.state &&
	python3 - ok.jsonl "$id" <<-PY
	import json, sys
	recs = [json.loads(l) for l in open(sys.argv[1])]
	m = [r for r in recs if r["record"] == "decision"][-1]["holds"]["maintenance"][0]
	assert m["kind"] == "alertmanager" and m["state"] == "on" and m["undo"]["silence"] == sys.argv[2], m
	e = [r for r in recs if r["record"] == "result"][-1]["holds"]["maintenance"][0]["end"]
	assert e["state"] == "off" and "expired silence " + sys.argv[2] in e["message"], e
	PY
'

test_expect_success 'a failing command: gate exits with its status, the silence expired' '
	expect_status 3 "$GATE_BIN" run --audit-log fail.jsonl am.yaml -- sh -c "curl -s -m 5 $AM_URL/api/v2/silences >during3.json; exit 3" >fail.out 2>&1 &&
	test "$(active_ours during3.json)" = 1 &&
	test "$(state_of "$(silence_id fail.jsonl)")" = expired &&
	test "$(active_ours)" = 0
'

test_expect_success 'SIGTERM to gate while the command runs: the silence is expired' '
	rm -f go started.*
	"$GATE_BIN" run --audit-log term.jsonl am.yaml -- sh hold.sh T >term.out 2>&1 &
	g=$!
	wait_until 60 test -s started.T &&
	test "$(active_ours silences.T)" = 1 &&
	kill -TERM $g &&
	rg=0 && wait $g || rg=$? &&
	test $rg = 143 &&
	test "$(state_of "$(silence_id term.jsonl)")" = expired &&
	test "$(active_ours)" = 0 &&
	test ! -e state/am.state
'

test_expect_success 'SIGKILL to gate: the silence stays active, check blocks, resume expires it' '
	rm -f go started.* ran.K
	"$GATE_BIN" run --audit-log kill.jsonl am.yaml -- sh hold.sh K >kill.out 2>&1 &
	g=$!
	wait_until 60 test -s started.K &&
	kill -KILL $g &&
	rg=0 && wait $g || rg=$? &&
	test $rg = 137 &&
	touch go &&
	id=$(silence_id kill.jsonl) &&
	test "$(state_of "$id")" = active &&
	test -s state/am.state &&
	expect_status 75 "$GATE_BIN" check am.yaml >c.out 2>&1 &&
	test_grep -E "maintenance item 1 \(alertmanager $AM_URL\): silence left active by an interrupted run at [0-9T:.-]+Z \(am by [^ ]+ pid $g since" c.out &&
	expect_status 75 "$GATE_BIN" run am.yaml -- touch ran.K >r.out 2>&1 &&
	test ! -e ran.K &&
	test "$(active_ours)" = 1 &&
	expect_status 0 "$GATE_BIN" maintenance resume am.yaml >res.out 2>&1 &&
	test_grep "expired silence $id" res.out &&
	test "$(state_of "$id")" = expired &&
	test ! -e state/am.state &&
	expect_status 0 "$GATE_BIN" check am.yaml >/dev/null 2>&1 &&
	test "$(active_ours)" = 0
'

test_expect_success 'a silence Alertmanager refuses: gate run blocks (75), nothing runs, none left' '
	sed -e "s|matchers: .*|matchers: [\"team=~\\\\\".*\\\\\"\"]|" -e "s|name: am|name: bad|" am.yaml >bad.tmp &&
	write_rb bad.yaml <bad.tmp &&
	before=$(am_silences | grep -o "\"id\"" | wc -l) &&
	expect_status 75 "$GATE_BIN" run bad.yaml -- touch ran.bad >bad.out 2>&1 &&
	test ! -e ran.bad &&
	test_grep "maintenance item 1 (alertmanager $AM_URL): .*refused the silence: status 400" bad.out &&
	test "$(am_silences | grep -o "\"id\"" | wc -l)" = "$before" &&
	test ! -e state/bad.state
'

test_done
