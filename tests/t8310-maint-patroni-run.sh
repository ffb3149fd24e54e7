#!/bin/bash
# maintenance: [{patroni: URL}] through the real gate (gate run, gate check,
# gate maintenance resume) against a real Patroni 3.0.2 cluster (a leader
# and a streaming replica on etcd with PostgreSQL 15, tests/lib/ha.sh):
# the cluster is paused while the command runs (the command reads /cluster
# itself) and resumed after success, after a failing command (gate exits
# with its status) and after SIGTERM to gate; a gate killed with SIGKILL
# leaves it paused, and the next gate check and gate run block saying so
# until gate maintenance resume resumes it and removes the state file; a
# cluster already paused is left paused; the dry run says what maintenance
# would do and pauses nothing; the audit records maintenance on and off.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd patroni etcd curl ss runuser python3
. "$GATE_SOURCE_DIR/tests/lib/ha.sh"

cd "$TEST_TMP" || exit 1
if ! ha_cluster_up; then
	echo "# the Patroni cluster did not come up:"
	tail -n 15 "$HA"/log/*.log
	echo "0 passed, 1 failed"; exit 1
fi
mkdir -m 700 state
export GATE_STATE_DIR=$TEST_TMP/state
# every command below that waits for the file go ends at exit
test_cleanup "touch $TEST_TMP/go"
API1=http://127.0.0.1:$PATRONI_API_1
API2=http://127.0.0.1:$PATRONI_API_2

paused() { curl -s -m 2 "$1/cluster" | grep -q '"pause": true'; }
unpaused() { curl -s -m 2 "$1/cluster" | grep -q '"members"' && ! paused "$1"; }
resume_by_hand() { curl -s -m 5 -X PATCH -d '{"pause": null}' "$API1/config" >/dev/null; }

write_rb pt.yaml <<EOF
version: 1
name: pt
checks:
  - id: ok
    type: exec
    with: {command: ["true"], protocol: exit}
maintenance:
  - patroni: $API2
EOF

# hold.sh NAME: records /cluster as the command sees it, says it started,
# and waits for the file go.
cat >hold.sh <<EOF
curl -s -m 5 $API2/cluster >"cluster.\$1"
echo \$\$ >"started.\$1"
while [ ! -f go ]; do sleep 0.05; done
EOF

# audit FILE: maintenance on in the decision, off in the result
audit_on_off() {
	python3 - "$1" <<-'PY'
	import json, sys
	recs = [json.loads(l) for l in open(sys.argv[1])]
	d = [r for r in recs if r["record"] == "decision"][-1]
	r = [r for r in recs if r["record"] == "result"][-1]
	m = d["holds"]["maintenance"][0]
	assert d["decision"] == "allow" and m["kind"] == "patroni" and m["state"] == "on", d
	assert m["undo"]["resume"] is True, m
	e = r["holds"]["maintenance"][0]["end"]
	assert e["state"] == "off" and "resumed the Patroni cluster" in e["message"], r
	PY
}

test_expect_success 'gate check: says maintenance would pause the cluster, pauses nothing' '
	expect_status 0 "$GATE_BIN" check pt.yaml >check.out 2>&1 &&
	test_grep "would: pause the Patroni cluster at $API2 (it is not paused now)" check.out &&
	expect_status 0 "$GATE_BIN" check -f json -o check.json pt.yaml >/dev/null 2>&1 &&
	test "$(json_get check.json .holds.maintenance[0].state)" = would &&
	wait_until 10 unpaused "$API1" && unpaused "$API2" &&
	test ! -e state/pt.state
'

test_expect_success 'gate run: paused while the command runs, resumed after success, audited' '
	expect_status 0 "$GATE_BIN" run --audit-log ok.jsonl pt.yaml -- sh -c "curl -s -m 5 $API2/cluster >during.json" >ok.out 2>&1 &&
	test_grep "\"pause\": true" during.json &&
	wait_until 10 unpaused "$API1" && unpaused "$API2" &&
	test ! -e state/pt.state &&
	audit_on_off ok.jsonl
'

test_expect_success 'a failing command: gate exits with its status (3), the cluster resumed' '
	expect_status 3 "$GATE_BIN" run --audit-log fail.jsonl pt.yaml -- sh -c "curl -s -m 5 $API2/cluster >during3.json; exit 3" >fail.out 2>&1 &&
	test_grep "\"pause\": true" during3.json &&
	wait_until 10 unpaused "$API1" && unpaused "$API2" &&
	test ! -e state/pt.state &&
	audit_on_off fail.jsonl
'

test_expect_success 'SIGTERM to gate while the command runs: the command gets it, the cluster is resumed' '
	rm -f go started.*
	"$GATE_BIN" run --audit-log term.jsonl pt.yaml -- sh hold.sh T >term.out 2>&1 &
	g=$!
	wait_until 60 test -s started.T &&
	test_grep "\"pause\": true" cluster.T &&
	wait_until 10 paused "$API1" &&
	kill -TERM $g &&
	rg=0 && wait $g || rg=$? &&
	test $rg = 143 &&
	wait_until 10 unpaused "$API1" && unpaused "$API2" &&
	test ! -e state/pt.state &&
	audit_on_off term.jsonl
'

test_expect_success 'SIGKILL to gate: the cluster stays paused, check and run block, resume undoes it' '
	rm -f go started.* ran.K
	"$GATE_BIN" run pt.yaml -- sh hold.sh K >kill.out 2>&1 &
	g=$!
	wait_until 60 test -s started.K &&
	kill -KILL $g &&
	rg=0 && wait $g || rg=$? &&
	test $rg = 137 &&
	touch go &&
	wait_until 10 paused "$API1" && paused "$API2" &&
	test -s state/pt.state &&
	expect_status 75 "$GATE_BIN" check pt.yaml >c.out 2>&1 &&
	test_grep -E "maintenance item 1 \(patroni $API2\): cluster left paused by an interrupted run at [0-9T:.-]+Z \(pt by [^ ]+ pid $g since" c.out &&
	test_grep "gate maintenance resume pt" c.out &&
	expect_status 75 "$GATE_BIN" run pt.yaml -- touch ran.K >r.out 2>&1 &&
	test ! -e ran.K &&
	test_grep "cluster left paused by an interrupted run" r.out &&
	wait_until 10 paused "$API1" &&
	expect_status 0 "$GATE_BIN" maintenance resume --audit-log res.jsonl pt.yaml >res.out 2>&1 &&
	test_grep "resumed the Patroni cluster" res.out &&
	wait_until 20 unpaused "$API2" && unpaused "$API1" &&
	test ! -e state/pt.state &&
	python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).readline()); assert r[\"record\"] == \"hold\" and r[\"holds\"][\"action\"] == \"maintenance resume\" and r[\"decision\"] == \"allow\", r" res.jsonl &&
	expect_status 0 "$GATE_BIN" check pt.yaml >c2.out 2>&1 &&
	test_grep "would: pause the Patroni cluster" c2.out
'

test_expect_success 'a cluster already paused is left paused after the run' '
	curl -s -m 5 -X PATCH -d "{\"pause\": true}" "$API1/config" >/dev/null &&
	wait_until 20 paused "$API2" &&
	expect_status 0 "$GATE_BIN" check pt.yaml >cp.out 2>&1 &&
	test_grep "already paused: it would be left paused, not resumed" cp.out &&
	expect_status 0 "$GATE_BIN" run --audit-log ap.jsonl pt.yaml -- sh -c "curl -s -m 5 $API2/cluster >during-ap.json" >ap.out 2>&1 &&
	test_grep "\"pause\": true" during-ap.json &&
	wait_until 10 paused "$API1" && paused "$API2" &&
	test ! -e state/pt.state &&
	python3 -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; e=r[\"holds\"][\"maintenance\"][0]; assert e[\"undo\"][\"resume\"] is False and \"left paused, not resumed\" in e[\"end\"][\"message\"], e" ap.jsonl &&
	resume_by_hand && wait_until 20 unpaused "$API2"
'

test_expect_success 'a REST API that does not answer: gate run blocks (75), nothing runs, no state left' '
	port=$(free_port) &&
	sed -e "s|patroni: .*|patroni: http://127.0.0.1:$port|" -e "s|name: pt|name: dead|" pt.yaml >dead.yaml.tmp &&
	write_rb dead.yaml <dead.yaml.tmp &&
	expect_status 75 "$GATE_BIN" run dead.yaml -- touch ran.dead >dead.out 2>&1 &&
	test ! -e ran.dead &&
	test_grep "maintenance item 1 (patroni http://127.0.0.1:$port): cannot read the Patroni cluster" dead.out &&
	test ! -e state/dead.state &&
	expect_status 75 "$GATE_BIN" check dead.yaml >deadc.out 2>&1
'

test_done
