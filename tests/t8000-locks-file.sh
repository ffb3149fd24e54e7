#!/usr/bin/env bash
# The file lock ({file: PATH}, holds/lock_file.c) through the real gate:
# two runs at once, exactly one command runs and the other is blocked with
# the holder's text; a holder killed with SIGKILL frees the lock at once
# (the kernel lets go of the flock; the wrapped command does not inherit
# it); --wait takes it once the holder ends; the dry run reports the
# holder and blocks, and takes nothing; a symbolic link is never followed.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd python3

cd "$TEST_TMP" || exit 1
mkdir -m 700 state
export GATE_STATE_DIR=$TEST_TMP/state
# every command below waits for the file go: at exit they all end
test_cleanup "touch $TEST_TMP/go"

write_rb lk.yaml <<EOF
version: 1
name: lk
checks:
  - id: ok
    type: exec
    with: {command: ["true"], protocol: exit}
lock:
  - file: $TEST_TMP/db.lock
EOF

# hold NAME: a command that says it started (its line in ran) and waits
# for the file go.
cat >hold.sh <<'EOF'
echo "$1" >>ran
echo $$ >"started.$1"
while [ ! -f go ] && [ -f hold.sh ]; do sleep 0.05; done
EOF

test_expect_success 'two gate runs at once: exactly one command runs, the other is blocked (75) with the holder' '
	rm -f ran go started.*
	"$GATE_BIN" run --audit-log audit.jsonl lk.yaml -- sh hold.sh A >out.A 2>&1 &
	a=$!
	"$GATE_BIN" run --audit-log audit.jsonl lk.yaml -- sh hold.sh B >out.B 2>&1 &
	b=$!
	wait_until 20 sh -c "ls started.* && test \$(grep -l \"maintenance in progress\" out.A out.B | wc -l) = 1" &&
	touch go &&
	ra=0 && wait $a || ra=$? &&
	rb=0 && wait $b || rb=$? &&
	test "$(wc -l <ran)" = 1 &&
	if [ "$(cat ran)" = A ]; then winner=$a loser=B; s_win=$ra s_lose=$rb; else winner=$b loser=A; s_win=$rb s_lose=$ra; fi &&
	test $s_win = 0 && test $s_lose = 75 &&
	test_grep -E "maintenance in progress: lk by [^ ]+@[^ ]+ pid $winner since [0-9T:-]+Z \(lock 1: file $TEST_TMP/db.lock\)" out.$loser &&
	test_grep "command  sh hold.sh $loser (not run)" out.$loser
'

test_expect_success 'the audit records the lock taken, and the block with its reason' '
	python3 - audit.jsonl <<-PY
	import json, sys
	recs = [json.loads(l) for l in open(sys.argv[1])]
	taken = [r for r in recs if r["record"] == "decision" and r["decision"] == "allow"]
	blocked = [r for r in recs if r["record"] == "decision" and r["decision"] == "block"]
	assert len(taken) == 1 and len(blocked) == 1, recs
	assert taken[0]["holds"]["locks"][0]["state"] == "taken", taken[0]["holds"]
	assert blocked[0]["holds"]["locks"][0]["state"] == "busy"
	assert blocked[0]["reasons"][0].startswith("maintenance in progress: lk by ")
	assert [r["record"] for r in recs].count("result") == 1
	PY
'

test_expect_success 'the lock file names the holder while held, and is emptied after' '
	rm -f ran go started.*
	"$GATE_BIN" run -q lk.yaml -- sh hold.sh A >/dev/null 2>&1 &
	a=$!
	wait_until 20 test -f started.A &&
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"runbook\"] == \"lk\" and d[\"pid\"] == int(sys.argv[2]), d" db.lock $a &&
	test "$(stat -c %a db.lock)" = 600 &&
	touch go && wait $a &&
	test ! -s db.lock
'

test_expect_success 'gate check while held: the holder is reported, BLOCKED (75), nothing taken' '
	rm -f ran go started.*
	"$GATE_BIN" run -q lk.yaml -- sh hold.sh A >/dev/null 2>&1 &
	a=$!
	wait_until 20 test -f started.A &&
	expect_status 75 "$GATE_BIN" check lk.yaml >check.out 2>&1 &&
	test_grep "lock 1: file $TEST_TMP/db.lock: held by lk by .* pid $a since" check.out &&
	test_grep "BLOCKED" check.out &&
	expect_status 75 "$GATE_BIN" check -f json -o check.json lk.yaml >/dev/null 2>&1 &&
	test "$(json_get check.json .holds.locks[0].state)" = busy &&
	json_get check.json .holds.locks[0].holder | grep -q "pid $a since" &&
	expect_status 75 "$GATE_BIN" lock status lk.yaml >status.out &&
	test_grep "held by lk by .* pid $a" status.out &&
	touch go && wait $a &&
	expect_status 0 "$GATE_BIN" check lk.yaml >/dev/null 2>&1 &&
	expect_status 0 "$GATE_BIN" lock status lk.yaml >status.out &&
	test_grep "lock 1: file $TEST_TMP/db.lock: free" status.out &&
	test "$(cat ran)" = A
'

test_expect_success 'a holder killed with SIGKILL: the lock is free at once' '
	rm -f ran go started.*
	"$GATE_BIN" run -q lk.yaml -- sh hold.sh A >/dev/null 2>&1 &
	a=$!
	wait_until 20 test -f started.A &&
	expect_status 75 "$GATE_BIN" lock status lk.yaml >/dev/null &&
	kill -9 $a &&
	ra=0 && wait $a || ra=$? &&
	test $ra = 137 &&
	# no waiting: the command (its shell) may still be alive, the lock was not its
	expect_status 0 "$GATE_BIN" lock status lk.yaml &&
	expect_status 0 "$GATE_BIN" run -q lk.yaml -- sh -c "echo B >>ran" >/dev/null 2>&1 &&
	test_grep -x B ran
'

test_expect_success '--wait: the lock is taken once the holder ends, and the command runs' '
	rm -f ran go started.*
	"$GATE_BIN" run -q lk.yaml -- sh hold.sh A >/dev/null 2>&1 &
	a=$!
	wait_until 20 test -f started.A &&
	"$GATE_BIN" run --wait 60s --interval 1s lk.yaml -- sh -c "echo B >>ran" >wait.out 2>&1 &
	b=$!
	wait_until 20 grep -q "lock 1 (file $TEST_TMP/db.lock) is held: lk by .* pid $a" wait.out &&
	test "$(cat ran)" = A &&
	touch go && wait $a &&
	rb=0 && wait $b || rb=$? &&
	test $rb = 0 &&
	test "$(tr "\n" " " <ran)" = "A B "
'

test_expect_success 'without --wait a busy lock is tried once' '
	rm -f ran go started.*
	"$GATE_BIN" run -q lk.yaml -- sh hold.sh A >/dev/null 2>&1 &
	a=$!
	wait_until 20 test -f started.A &&
	t0=$(test_now_ms) &&
	expect_status 75 "$GATE_BIN" run -q lk.yaml -- sh -c "echo B >>ran" >/dev/null 2>&1 &&
	test $(( $(test_now_ms) - t0 )) -lt $((3000 + TEST_SLACK_MS)) &&
	touch go && wait $a &&
	test "$(cat ran)" = A
'

test_expect_success 'a symbolic link as the lock file is refused (run 75, check 75), its target untouched' '
	echo precious >target &&
	ln -s "$TEST_TMP/target" link.lock &&
	write_rb link.yaml <<-EOF &&
	version: 1
	name: lnk
	checks:
	  - id: ok
	    type: exec
	    with: {command: ["true"], protocol: exit}
	lock:
	  - file: $TEST_TMP/link.lock
	EOF
	expect_status 75 "$GATE_BIN" run link.yaml -- touch ran-link >out 2>&1 &&
	test_grep "lock 1 (file $TEST_TMP/link.lock): cannot open the lock file $TEST_TMP/link.lock: a symbolic link (gate never follows one)" out &&
	test ! -e ran-link &&
	expect_status 75 "$GATE_BIN" check link.yaml >out 2>&1 &&
	test_grep "cannot tell whether it is free" out &&
	test "$(cat target)" = precious
'

test_expect_success 'lint: a relative lock path and an unknown key, at file:line:col' '
	write_rb bad.yaml <<-EOF &&
	version: 1
	name: bad
	checks:
	  - id: ok
	    type: exec
	    with: {command: ["true"]}
	lock:
	  - file: db.lock
	EOF
	expect_status 78 "$GATE_BIN" lint bad.yaml 2>err &&
	test_grep "bad.yaml:8:5: lock 1 (file): file: expected an absolute path of a file, got .db.lock." err &&
	sed -i "s|file: db.lock|{file: /x, wait: 1}|" bad.yaml &&
	expect_status 78 "$GATE_BIN" lint bad.yaml 2>err &&
	test_grep "bad.yaml:8:16: unknown parameter .wait. for lock kind .file." err &&
	sed -i "s|{file: /x, wait: 1}|fil: /x|" bad.yaml &&
	expect_status 78 "$GATE_BIN" lint bad.yaml 2>err &&
	test_grep "bad.yaml:8:5: unknown lock kind .fil.; did you mean .file.?" err
'

test_expect_success 'gate lock release: a file lock is left to the kernel, and the release is audited' '
	expect_status 64 "$GATE_BIN" lock release lk.yaml 2>err &&
	test_grep "needs --reason" err &&
	expect_status 0 "$GATE_BIN" lock release --reason "stale?" --audit-log rel.jsonl lk.yaml >out 2>/dev/null &&
	test_grep "lock 1: file $TEST_TMP/db.lock: left: nothing to release: the kernel or the server frees it" out &&
	python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).readline()); assert r[\"record\"] == \"hold\" and r[\"holds\"][\"action\"] == \"lock release\" and r[\"holds\"][\"reason\"] == \"stale?\", r" rel.jsonl
'

test_done
