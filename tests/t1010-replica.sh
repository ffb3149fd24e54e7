#!/bin/bash
# postgres.replica against real standbys (a primary and two streaming
# replicas with slots on loopback).  Real faults: replay paused on an idle
# primary (check_postgres says OK there), recovery_min_apply_delay with
# writes, a disconnected standby whose receive LSN still equals its replay
# LSN (repmgr's "0 lag"), a hung walsender (SIGSTOP: the receiver still
# says streaming but hears nothing), and the check pointed at the primary.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/report.sh"
. "$(dirname "$0")/lib/pg.sh"
require_cmd ss psql runuser
T=$TEST_TMP

test_cleanup pg_stop_all
pg_primary_start primary && pg_replicas_start primary 2 && pg_wait_streaming primary 2 &&
	wait_until 20 pg_caught_up primary ||
	{ echo "# could not start the cluster"; echo "0 passed, 1 failed"; exit 1; }

q_is() { test "$(pg_psql "$1" "$2")" = "$3"; }
# replica NAME NODE [with: lines...]: one postgres.replica check "r" on NODE
replica() {
	local name=$1 node=$2; shift 2
	{
		printf '  - id: r\n    type: postgres.replica\n    timeout: 10s\n    with:\n'
		printf '      conninfo: "%s"\n' "$(pg_conninfo "$node")"
		local l; for l in "$@"; do printf '      %s\n' "$l"; done
	} | runbook "$name"
}

test_expect_success 'healthy standbys pass with the defaults; details carry the numbers' '
	{
		for n in 1 2; do
			printf "  - id: r%s\n    type: postgres.replica\n    with:\n      conninfo: \"%s\"\n" $n "$(pg_conninfo replica$n)"
		done
	} | runbook ok &&
	check ok && rc_is ok 0 &&
	test "$(st ok r1)" = pass && test "$(st ok r2)" = pass &&
	summary ok r1 | grep -E "^replica1: streaming from 127.0.0.1:[0-9]+, last message" &&
	test "$(detail ok r1 .receiver_status)" = streaming &&
	test "$(detail ok r1 .replay_bytes)" = 0 &&
	test "$(detail ok r2 .slot_name)" = replica2
'

test_expect_success 'replay paused on an idle primary fails (allow_paused: true lets it pass)' '
	pg_psql replica1 "select pg_wal_replay_pause()" &&
	replica paused replica1 &&
	check paused && rc_is paused 75 &&
	test "$(st paused r)" = fail &&
	summary paused r | grep -E "^replica1: replay (paused|pause requested) \(pg_get_wal_replay_pause_state\(\)\)$" &&
	replica allowed replica1 "allow_paused: true" &&
	check allowed && rc_is allowed 0 && test "$(st allowed r)" = pass &&
	pg_psql replica1 "select pg_wal_replay_resume()" &&
	check paused && rc_is paused 0
'

test_expect_success 'replay behind receive (recovery_min_apply_delay and writes) fails max_replay_bytes' '
	pg_set replica1 recovery_min_apply_delay 60s &&
	wait_until 30 q_is replica1 "show recovery_min_apply_delay" 1min &&
	pg_wal_write primary 1 && pg_wal_write primary 30000 &&
	wait_until 10 q_is primary "select pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn) from pg_stat_replication where application_name = '"'"'replica1'"'"'" 0 &&
	replica lag replica1 "max_replay_bytes: 1MB" &&
	check lag && rc_is lag 75 &&
	test "$(st lag r)" = fail &&
	summary lag r | grep -E "^replica1: replay [0-9.]+ MB behind receive \(max 1 MB\)$" &&
	test "$(detail lag r .replay_bytes)" -gt 1000000 &&
	test "$(detail lag r .receiver_status)" = streaming &&
	pg_reset replica1 recovery_min_apply_delay &&
	wait_until 30 pg_caught_up primary &&
	check lag && rc_is lag 0
'

test_expect_success 'a disconnected standby (receive LSN = replay LSN) is not streaming, not "0 lag"' '
	good=$(pg_psql replica2 "show primary_conninfo") &&
	pg_set replica2 primary_conninfo "host=127.0.0.1 port=$(free_port) user=postgres" &&
	wait_until 15 q_is replica2 "select count(*) from pg_stat_wal_receiver" 0 &&
	replica disc replica2 &&
	check disc && rc_is disc 75 &&
	test "$(st disc r)" = fail &&
	test "$(summary disc r)" = "replica2: not streaming (no WAL receiver: pg_stat_wal_receiver is empty)" &&
	test "$(detail disc r .replay_bytes)" = 0 &&
	pg_set replica2 primary_conninfo "${good//\'"'"'/\'"'"'\'"'"'}" &&
	wait_until 20 q_is replica2 "select status from pg_stat_wal_receiver" streaming &&
	check disc && rc_is disc 0
'

test_expect_success 'a hung walsender: the receiver says streaming but hears nothing: max_receive_age fails' '
	pid=$(pg_psql primary "select pid from pg_stat_replication where application_name = '"'"'replica2'"'"'") &&
	test -n "$pid" &&
	test_cleanup "kill -CONT $pid" &&
	kill -STOP "$pid" &&
	wait_until 30 q_is replica2 "select extract(epoch from now() - last_msg_receipt_time) > 2.5 from pg_stat_wal_receiver" t &&
	replica hung replica2 "max_receive_age: 2s" &&
	check hung; kill -CONT "$pid";
	rc_is hung 75 &&
	test "$(st hung r)" = fail &&
	summary hung r | grep -E "^replica2: last message from the primary [0-9.]+s ago \(max 2s\)$" &&
	test "$(detail hung r .receiver_status)" = streaming
'

test_expect_success 'gate run: the command runs when the standbys pass, not when one is paused' '
	{
		for n in 1 2; do
			printf "  - id: r%s\n    type: postgres.replica\n    with:\n      conninfo: \"%s\"\n" $n "$(pg_conninfo replica$n)"
		done
	} | runbook run &&
	gate run "$T/run.yaml" -- touch "$T/ran" &&
	test -f "$T/ran" && rm "$T/ran" &&
	pg_psql replica2 "select pg_wal_replay_pause()" &&
	expect_status 75 gate run "$T/run.yaml" -- touch "$T/ran" &&
	test ! -e "$T/ran" &&
	pg_psql replica2 "select pg_wal_replay_resume()"
'

test_expect_success 'pointed at the primary, it fails: not a standby' '
	replica prim primary &&
	check prim && rc_is prim 75 &&
	test "$(st prim r)" = fail &&
	test "$(summary prim r)" = "primary: not a standby (pg_is_in_recovery() is false)"
'

test_expect_success 'a stopped standby is an error (connection refused), never a pass' '
	pg_stop replica2 &&
	replica down replica2 &&
	check down && rc_is down 75 &&
	test "$(st down r)" = error &&
	summary down r | grep -E "^127.0.0.1:[0-9]+: connection refused$"
'

test_expect_success 'a role with pg_monitor passes; one without it is an error, never a pass' '
	pg_psql primary "create role gmon login in role pg_monitor; create role gnomon login" &&
	wait_until 10 q_is replica1 "select count(*) from pg_roles where rolname = '"'"'gnomon'"'"'" 1 &&
	printf "  - id: r\n    type: postgres.replica\n    with:\n      conninfo: \"host=127.0.0.1 port=%s dbname=postgres user=%s\"\n" \
		"$(pg_port replica1)" gmon | runbook mon &&
	check mon && rc_is mon 0 && test "$(st mon r)" = pass &&
	sed "s/user=gmon/user=gnomon/" "$T/mon.yaml" >"$T/nomon.yaml" &&
	check nomon && rc_is nomon 75 && test "$(st nomon r)" = error &&
	test "$(summary nomon r)" = "replica1: cannot read pg_stat_wal_receiver (the role needs pg_monitor or superuser)"
'

test_expect_success 'lint: unknown parameter, bad size and bad boolean are rejected (78)' '
	replica l1 replica1 "max_replay_byte: 1MB" && expect_status 78 gate lint "$T/l1.yaml" &&
	replica l2 replica1 "max_replay_bytes: much" && expect_status 78 gate lint "$T/l2.yaml" &&
	replica l3 replica1 "allow_paused: yes" && expect_status 78 gate lint "$T/l3.yaml" &&
	replica l4 replica1 "max_receive_age: 60s" "max_replay_bytes: 16MiB" "allow_paused: false" &&
	expect_status 0 gate lint "$T/l4.yaml"
'

test_done
