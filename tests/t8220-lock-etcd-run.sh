#!/usr/bin/env bash
# The etcd semaphore through the real gate, on a real etcd: three gate
# runs on a group with 2 slots (two commands run, the third is blocked,
# 75, naming both holders, then gets a slot with --wait once one ends); a
# holder killed with SIGKILL keeps its slot until its lease's TTL has run
# out (gate check still blocks right after the kill), then frees it; gate
# lock status names the holders.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd etcd curl python3
. "$GATE_SOURCE_DIR/tests/lib/ha.sh"
T=$TEST_TMP
if ! ha_etcd_start; then
	echo "# etcd did not start:"; tail -n 15 "$HA/log/etcd.log"
	echo "0 passed, 1 failed"; exit 1
fi
test_cleanup "touch $T/go"
cd "$T" || exit 1
mkdir -m 700 state
export GATE_STATE_DIR=$T/state
write_rb fl.yaml <<EOF
version: 1
name: fl
checks:
  - id: ok
    type: exec
    with: {command: ["true"], protocol: exit}
lock:
  - etcd: ["$ETCD_URL"]
    group: fleet
    slots: 2
    ttl: 10s
EOF
cat >hold.sh <<'EOF'
echo "$1" >>ran
echo $$ >"started.$1"
while [ ! -f "go.$1" ] && [ -f hold.sh ]; do sleep 0.05; done
EOF

test_expect_success 'three gate runs on a group of 2 slots: two commands run, the third is blocked (75) naming both holders, then gets a slot with --wait' '
	rm -f ran go.* started.* &&
	{ "$GATE_BIN" run -q fl.yaml -- sh hold.sh A >out.A 2>&1 & a=$!; } &&
	{ wait_until 30 test -f started.A || { cat out.A; false; }; } &&
	{ "$GATE_BIN" run -q fl.yaml -- sh hold.sh B >out.B 2>&1 & b=$!; } &&
	wait_until 30 test -f started.B &&
	expect_status 75 "$GATE_BIN" run fl.yaml -- sh hold.sh C >out.C 2>&1 &&
	test_grep -E "maintenance in progress: slots 2 of 2 taken: fl by [^ ]+ pid ($a|$b) since [^;]+; fl by [^ ]+ pid ($a|$b) since .* \(lock 1: etcd .* group fleet\)" out.C &&
	expect_status 75 "$GATE_BIN" check fl.yaml >check.out 2>&1 &&
	expect_status 75 "$GATE_BIN" lock status fl.yaml >status.out 2>&1 &&
	test_grep "pid $a" status.out && test_grep "pid $b" status.out &&
	test "$(sort ran | tr "\n" " ")" = "A B " &&
	{ "$GATE_BIN" run -q --wait 60s fl.yaml -- sh -c "echo C >>ran" >out.C 2>&1 & c=$!; } &&
	touch go.A && wait $a &&
	wait $c &&
	test "$(tail -n 1 ran)" = C &&
	touch go.B && wait $b
'

write_rb one.yaml <<EOF
version: 1
name: one
checks:
  - id: ok
    type: exec
    with: {command: ["true"], protocol: exit}
lock:
  - etcd: ["$ETCD_URL"]
    group: solo
    ttl: 10s
EOF

test_expect_success 'a holder killed with SIGKILL keeps its slot until its lease runs out, then frees it' '
	rm -f ran go.* started.* &&
	{ "$GATE_BIN" run -q one.yaml -- sh hold.sh K >/dev/null 2>&1 & k=$!; } &&
	wait_until 30 test -f started.K &&
	kill -KILL $k &&
	t0=$(test_now_ms) &&
	expect_status 75 "$GATE_BIN" check one.yaml >busy.out 2>&1 &&
	test_grep "pid $k since" busy.out &&
	free() { "$GATE_BIN" check -q one.yaml; } &&
	wait_until 60 free &&
	ms=$(( $(test_now_ms) - t0 )) && say "slot freed $ms ms after the SIGKILL (ttl 10s)" &&
	expect_status 0 "$GATE_BIN" run -q one.yaml -- true
'

test_done
