#!/bin/bash
# Lock kind etcd (holds/lock_etcd.c) against a real etcd 3.4 (Debian's
# etcd-server, one member, tests/lib/ha.sh), driven by tests/tools/gate-hold
# (take, probe, release, force-release, keepalive every ttl/3): a group of 2
# slots taken by two holders while a third is busy naming both; a release
# frees a slot; a holder killed with SIGKILL frees its slot only when its
# lease expires (after the TTL, not before); keepalives hold a slot across
# several TTLs; a stale slot is force-released, a live one only when named;
# endpoints: the first refusing or hanging while the second answers, and a
# port that accepts and never answers; etcd stopped while a slot is held
# makes the keepalive report the slot lost.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd etcd curl ss setsid mkfifo
. "$GATE_SOURCE_DIR/tests/lib/ha.sh"

T=$TEST_TMP
HOLD=$GATE_TOOLS_DIR/gate-hold
[ -x "$HOLD" ] || { echo "# $HOLD not built"; echo "0 passed, 1 failed"; exit 1; }
if ! ha_etcd_start; then
	echo "# etcd did not start:"; tail -n 15 "$HA/log/etcd.log"
	echo "0 passed, 1 failed"; exit 1
fi
E=$ETCD_URL
# The lock's parameters, normalised as the loader would (ttl in ms).
params() { printf '{"etcd": %s, "group": "%s", "slots": %s, "ttl": %s%s}' "$1" "$2" "$3" "$4" "${5:-}"; }
P2=$(params "[\"$E\"]" fleet 2 3000)

# hold NAME PARAMS: a gate-hold that takes and holds until end_hold NAME
# (its stdin, a FIFO fed by a sleep, reaches its end), renewing the lease.
hold() {
	mkfifo "$T/$1.fifo"
	sleep 3600 >"$T/$1.fifo" &
	echo $! >"$T/$1.feed"
	"$HOLD" lock etcd "$2" take -1 <"$T/$1.fifo" >"$T/$1.out" 2>&1 &
	echo $! >"$T/$1.pid"
	wait_until 30 grep -q '"step":"take"' "$T/$1.out"
}
end_hold() {
	kill "$(cat "$T/$1.feed")" 2>/dev/null
	wait_until 30 gone "$1"
}
gone() { ! kill -0 "$(cat "$T/$1.pid")" 2>/dev/null; }
# gate-hold writes its keys sorted: ..."state":"...","step":"..."}
took() { grep -q '"state":"taken","step":"take"' "$T/$1.out"; }
released() { grep -q '"state":"taken","step":"release"' "$T/$1"; }
pid_of() { cat "$T/$1.pid"; }
# One-shot steps: out in $T/NAME.json, exit status in $T/NAME.rc.
step() {
	local name=$1 rc=0
	shift
	"$HOLD" lock etcd "$@" >"$T/$name.json" 2>"$T/$name.err" || rc=$?
	echo "$rc" >"$T/$name.rc"
}
rc_is() { test "$(cat "$T/$1.rc")" = "$2" || { echo "exit $(cat "$T/$1.rc"), expected $2"; cat "$T/$1.json" "$T/$1.err"; false; }; }
# note TEXT: a measurement, printed at the end (a body's output is shown
# only when it fails).
note() { echo "$*" >>"$T/notes"; }
stop_holders() {
	local f
	for f in "$T"/*.feed "$T"/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
	return 0
}
test_cleanup stop_holders
key_count() { curl -s -m 2 -X POST "$E/v3/kv/range" -d "{\"key\":\"$(printf %s "$1" | base64 -w0)\",\"count_only\":true}"; }
slot_gone() { ! key_count "$1" | grep -q '"count"'; }

test_expect_success 'a free group probes free' '
	step probe0 "$P2" probe && rc_is probe0 0 &&
	grep -q "2 of 2 slots of group fleet free" "$T/probe0.json"
'

test_expect_success 'two holders take the 2 slots; the third is busy, naming both' '
	hold a "$P2" && took a && grep -q "slot-0" "$T/a.out" &&
	hold b "$P2" && took b && grep -q "slot-1" "$T/b.out" &&
	step third "$P2" take && rc_is third 1 &&
	grep -q "\"state\":\"busy\"" "$T/third.json" &&
	grep -q "slots 2 of 2 taken: gate-hold by [^ ]* pid $(pid_of a) since [^;]*; gate-hold by [^ ]* pid $(pid_of b) since" "$T/third.json" &&
	grep -q "\"holder\":\"slots 2 of 2 taken: gate-hold by [^ ]* pid $(pid_of a) since [^;]*; gate-hold by [^ ]* pid $(pid_of b) since" "$T/third.json" &&
	step probe1 "$P2" probe && rc_is probe1 1 &&
	grep -q "pid $(pid_of b)" "$T/probe1.json"
'

test_expect_success 'the third takes the slot a holder released' '
	end_hold a &&
	released a.out &&
	slot_gone /gate/locks/fleet/slot-0 &&
	step third2 "$P2" take && rc_is third2 0 &&
	grep -q "slot 1 of 2 of group fleet" "$T/third2.json"
'

test_expect_success 'one slot: busy names its one holder as RUNBOOK by USER@HOST pid PID since TIME' '
	P1=$(params "[\"$E\"]" solo 1 3000) &&
	hold solo "$P1" && took solo &&
	step solo2 "$P1" take && rc_is solo2 1 &&
	grep -q "\"holder\":\"gate-hold by [^ ]*@[^ ]* pid $(pid_of solo) since [0-9T:-]*Z\"" "$T/solo2.json" &&
	end_hold solo && released solo.out
'

# A TTL of 10 s here: the lease's last renewal (due every ttl/3) may come
# late on a loaded machine, and the slot must still outlive the kill by 2 s.
P10=$(params "[\"$E\"]" fleet10 2 10000)
test_expect_success 'a holder killed with SIGKILL keeps its slot until its lease expires' '
	hold c "$P10" && took c && grep -q "slot-0" "$T/c.out" &&
	t0=$(test_now_ms) && kill -KILL "$(pid_of c)" && wait_until 5 gone c &&
	step afterkill "$(params "[\"$E\"]" fleet10 1 10000)" take && t1=$(test_now_ms) &&
	note "after the kill: exit $(cat "$T/afterkill.rc") $((t1 - t0)) ms later" &&
	test "$(cat "$T/afterkill.rc")" = 1 -o $((t1 - t0)) -ge 2000 &&
	wait_until $((10 + TEST_SLACK_MS / 1000)) slot_gone /gate/locks/fleet10/slot-0 &&
	t2=$(test_now_ms) && note "slot freed $((t2 - t0)) ms after SIGKILL (ttl 10 s)" &&
	test $((t2 - t0)) -ge 1990 &&
	step afterttl "$P10" take && rc_is afterttl 0
'

test_expect_success 'keepalives hold a slot across several TTLs (16 s, ttl 5 s)' '
	step long "$(params "[\"$E\"]" long 1 5000)" take 16 && rc_is long 0 &&
	released long.json
'

test_expect_success 'force-release removes a dead holder'"'"'s slot, never a live one unless named' '
	PF=$(params "[\"$E\"]" stale 2 60000) &&
	hold dead "$PF" && hold live "$PF" &&
	kill -KILL "$(pid_of dead)" && wait_until 5 gone dead &&
	step force1 "$PF" force-release && rc_is force1 0 &&
	grep -q "released slot-0 (gate-hold by [^ ]* pid $(pid_of dead) since .*: its holder.s pid no longer runs on this host)" "$T/force1.json" &&
	grep -q "kept live slot-1 held by gate-hold by [^ ]* pid $(pid_of live)" "$T/force1.json" &&
	slot_gone /gate/locks/stale/slot-0 &&
	step force2 "$PF" force-release && rc_is force2 1 &&
	grep -q "nothing released" "$T/force2.json" &&
	step force3 "$(params "[\"$E\"]" stale 2 60000 ", \"force_slot\": 1")" force-release &&
	rc_is force3 0 && grep -q "released slot-1 .*named by the operator" "$T/force3.json" &&
	slot_gone /gate/locks/stale/slot-1 &&
	wait_until 30 grep -q "\"step\":\"keepalive\"" "$T/live.out" &&
	grep -q "lost: lease [0-9]* is gone" "$T/live.out"
'

test_expect_success 'first endpoint refused, second answers: taken' '
	dead=$(free_port) &&
	step failover "$(params "[\"http://127.0.0.1:$dead\", \"$E\"]" fo 1 3000)" take &&
	rc_is failover 0 && grep -q "slot 1 of 1 of group fo" "$T/failover.json"
'

AP=$(free_port)
setsid /usr/bin/python3 "$GATE_SOURCE_DIR/tests/servers/blackhole.py" "$AP" accept "$T/bh.ready" \
	</dev/null >"$T/bh.log" 2>&1 &
echo $! >"$T/bh.pid"
test_cleanup 'kill "$(cat "$T/bh.pid")"'
wait_until 10 test -f "$T/bh.ready" || echo "# the blackhole did not get ready"

test_expect_success 'first endpoint accepts and never answers, second answers: taken' '
	step hangfirst "$(params "[\"http://127.0.0.1:$AP\", \"$E\"]" hf 1 3000)" take &&
	rc_is hangfirst 0 && grep -q "slot 1 of 1 of group hf" "$T/hangfirst.json"
'

test_expect_success 'the only endpoint accepts and never answers: error within the deadline' '
	t0=$(test_now_ms) &&
	step hang "$(params "[\"http://127.0.0.1:$AP\"]" hang 1 3000)" take &&
	t1=$(test_now_ms) && rc_is hang 2 &&
	grep -q "cannot grant a lease: no etcd endpoint answered: http://127.0.0.1:$AP: connected to 127.0.0.1:$AP, but no response" "$T/hang.json" &&
	note "error after $((t1 - t0)) ms (gate-hold deadline 30 s)" &&
	test $((t1 - t0)) -le $((30000 + TEST_SLACK_MS))
'

test_expect_success 'etcd stopped while a slot is held: the keepalive reports it lost' '
	hold held "$(params "[\"$E\"]" stop 1 3000)" && took held &&
	ha_stop_pid "$(cat "$HA/etcd.pid")" &&
	wait_until $((3 + TEST_SLACK_MS / 1000)) grep -q "\"step\":\"keepalive\"" "$T/held.out" &&
	grep -q "etcd slot /gate/locks/stop/slot-0 may be lost: its lease was not renewed for" "$T/held.out" &&
	wait_until 30 gone held &&
	grep -q "\"state\":\"error\",\"step\":\"release\"" "$T/held.out"
'

[ -f "$T/notes" ] && sed 's/^/# /' "$T/notes"
test_done
