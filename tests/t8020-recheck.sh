#!/usr/bin/env bash
# recheck: the checks the runbook names are evaluated again once the locks
# are held, and the decision that counts is the re-check's (gate/hold.c,
# gate/cli_hold.c).  Against a real PostgreSQL primary and streaming
# replica: the replica check passes, gate waits (--wait) for a lock another
# gate holds, the replica is stopped meanwhile: the re-check blocks and
# nothing runs; the JSON report shows both evaluations.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/pg.sh"
require_cmd ss psql runuser python3

cd "$TEST_TMP" || exit 1
mkdir -m 700 state
export GATE_STATE_DIR=$TEST_TMP/state
test_cleanup pg_stop_all
test_cleanup "touch $TEST_TMP/go"
pg_primary_start primary && pg_replicas_start primary 1 && pg_wait_streaming primary 1 ||
	{ echo "# could not start the cluster"; echo "0 passed, 1 failed"; exit 1; }

write_rb rc.yaml <<EOF
version: 1
name: rc
checks:
  - id: replica
    type: postgres.replica
    timeout: 10s
    with:
      conninfo: "$(pg_conninfo replica1)"
  - id: always
    type: exec
    with: {command: ["true"], protocol: exit}
lock:
  - file: $TEST_TMP/rc.lock
recheck: [replica]
EOF

cat >hold.sh <<'EOF'
echo "$1" >>ran
echo $$ >"started.$1"
while [ ! -f go ] && [ -f hold.sh ]; do sleep 0.05; done
EOF

test_expect_success 'a passing re-check: the command runs, the report shows both evaluations' '
	rm -f ran
	expect_status 0 "$GATE_BIN" run -q -o ok.json rc.yaml -- sh -c "echo ok >>ran" >/dev/null 2>&1 &&
	test "$(cat ran)" = ok &&
	test "$(json_get ok.json .checks[?id=replica].status)" = pass &&
	test "$(json_get ok.json .recheck.decision)" = allow &&
	test "$(json_get ok.json .recheck.checks[0].status)" = pass &&
	python3 -c "import json,sys; r=json.load(open(sys.argv[1]))[\"recheck\"]; assert [c[\"id\"] for c in r[\"checks\"]] == [\"replica\"], r" ok.json
'

test_expect_success 'the replica stopped while gate waits for the lock: the re-check blocks, nothing runs' '
	rm -f ran go started.*
	"$GATE_BIN" run -q rc.yaml -- sh hold.sh A >/dev/null 2>&1 &
	a=$!
	wait_until 30 test -f started.A &&
	"$GATE_BIN" run --wait 120s --interval 1s -o b.json rc.yaml -- sh -c "echo B >>ran" >b.out 2>&1 &
	b=$!
	wait_until 60 grep -q "lock 1 (file $TEST_TMP/rc.lock) is held" b.out &&
	pg_stop replica1 &&
	touch go && wait $a &&
	rb=0 && wait $b || rb=$? &&
	test $rb = 75 &&
	test "$(cat ran)" = A &&
	test_grep -E "^  - recheck: replica: " b.out &&
	test "$(json_get b.json .decision)" = block &&
	test "$(json_get b.json .checks[?id=replica].status)" = pass &&
	test "$(json_get b.json .recheck.decision)" = block &&
	test "$(json_get b.json .recheck.checks[0].status)" = error &&
	json_get b.json .reasons[0] | grep -q "^recheck: replica: " &&
	test "$(json_get b.json .holds.locks[0].state)" = taken &&
	test "$(json_get b.json .exit_status)" = null &&
	expect_status 0 "$GATE_BIN" lock status rc.yaml
'

test_expect_success 'lint: recheck names known checks, at least one blocking' '
	sed "s/recheck: \[replica\]/recheck: [replcia]/" rc.yaml >bad.yaml && chmod 644 bad.yaml &&
	expect_status 78 "$GATE_BIN" lint bad.yaml 2>err &&
	test_grep "bad.yaml:14:11: recheck: unknown check .replcia.; did you mean .replica.?" err &&
	sed "s/recheck: \[replica\]/recheck: all/" rc.yaml >all.yaml && chmod 644 all.yaml &&
	expect_status 0 "$GATE_BIN" lint all.yaml
'

test_done
