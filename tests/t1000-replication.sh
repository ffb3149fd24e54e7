#!/bin/bash
# postgres.replication against a real primary with two streaming replicas
# (slots, loopback, tests/lib/pg.sh).  Each fault is real (a stopped
# replica, recovery_min_apply_delay with writes, a WAL streamer, a missing
# synchronous standby), is healed before the next, and the healthy cluster
# must pass in between.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/report.sh"
. "$(dirname "$0")/lib/pg.sh"
require_cmd ss psql runuser
T=$TEST_TMP

test_cleanup pg_stop_all
pg_primary_start primary && pg_replicas_start primary 2 && pg_wait_streaming primary 2 &&
	wait_until 20 pg_caught_up primary ||
	{ echo "# could not start the cluster"; echo "0 passed, 1 failed"; exit 1; }
PRIMARY=$(pg_conninfo primary)
R1=$(pg_conninfo replica1)

# runbook NAME: the runbook's checks (YAML, two-space indented) come on stdin.
# q_is NODE SQL VALUE: the query answers VALUE (for wait_until)
q_is() { test "$(pg_psql "$1" "$2")" = "$3"; }
# gone NAME: replica NAME has no walsender row and its slot is inactive
gone() {
	q_is primary "select count(*) from pg_stat_replication where application_name = '$1'" 0 &&
	q_is primary "select active from pg_replication_slots where slot_name = '$1'" f
}
# healthy: both replicas stream, have replied, and have replayed all the
# primary wrote.  A restarted replica is first in catchup, then streams
# before its first reply: judged then, it fails.  Cases that need a healthy
# cluster wait for it, so a failed case does not fail the ones after it.
healthy() {
	pg_wait_streaming primary 2 &&
	wait_until 60 q_is primary "select count(*) from pg_stat_replication where state = 'streaming' and reply_time is not null and replay_lsn = pg_current_wal_lsn() and application_name in ('replica1', 'replica2')" 2
}
# stop_recv: stop the pg_receivewal of the WAL streamer case (runuser does
# not pass SIGTERM on to it: its child first, by parent pid)
stop_recv() {
	local p
	p=$(cat "$T/recv.pid" 2>/dev/null) || return 0
	pkill -TERM -P "$p"
	kill "$p" 2>/dev/null
	rm -f "$T/recv.pid"
}
# repl NAME [YAML with: lines...]: one postgres.replication check "repl"
repl() {
	local name=$1; shift
	{
		printf '  - id: repl\n    type: postgres.replication\n    timeout: 10s\n    with:\n'
		printf '      conninfo: "%s"\n' "$PRIMARY"
		local l; for l in "$@"; do printf '      %s\n' "$l"; done
	} | runbook "$name"
}

test_expect_success 'healthy cluster: both replicas pass, allow (0), numbers per replica' '
	repl ok "min_streaming: 2" "standbys: [replica1, replica2]" "max_lag_bytes: 1MB" &&
	check ok && rc_is ok 0 &&
	test "$(st ok repl)" = pass &&
	summary ok repl | grep "2 of 2 replicas pass (min 2)" &&
	test "$(detail ok repl .passing)" = 2 &&
	test "$(detail ok repl .replicas[0].application_name)" = replica1 &&
	test "$(detail ok repl .replicas[0].state)" = streaming &&
	test "$(detail ok repl .replicas[1].lag_bytes)" -lt 1000000
'

# The walsender clears replay_lag (NULL) after two fully-replayed replies in
# a row.  Background WAL (a standby snapshot record) can bring a sample back
# for a moment, so wait for NULL and retry a few times.
lag_null() { test -z "$(pg_psql primary "select replay_lag from pg_stat_replication where replay_lag is not null")"; }
idle_check() {
	local i
	for i in 1 2 3; do
		wait_until 30 lag_null || continue
		check idle
		[ "$(cat "$T/idle.rc")" = 0 ] && [ "$(st idle repl)" = pass ] || return 1
		[ "$(detail idle repl .replicas[0].replay_lag_s)" = 0.0 ] && return 0
	done
	return 1
}
test_expect_success 'an idle caught-up cluster (replay_lag NULL) counts as 0 lag, not unknown' '
	wait_until 20 pg_caught_up primary &&
	repl idle "min_streaming: 2" "max_replay_lag: 1s" &&
	idle_check &&
	test "$(detail idle repl .replicas[1].replay_lag_s)" = 0.0
'

test_expect_success 'a stopped replica: min_streaming 2 fails and names its idle slot' '
	pg_stop replica2 &&
	wait_until 30 gone replica2 &&
	repl stop2 "min_streaming: 2" &&
	check stop2 && rc_is stop2 75 &&
	test "$(st stop2 repl)" = fail &&
	summary stop2 repl | grep -F "1 of 2 required replicas pass" &&
	summary stop2 repl | grep -F "inactive slots: replica2"
'

test_expect_success 'a stopped replica named in standbys: "not streaming (no row in pg_stat_replication)"' '
	repl named "standbys: [replica1, replica2]" &&
	check named && rc_is named 75 &&
	test "$(st named repl)" = fail &&
	test "$(summary named repl)" = "replica2: not streaming (no row in pg_stat_replication)" &&
	test "$(detail named repl .missing[0])" = replica2
'

test_expect_success 'heal: replica2 back, the check passes again' '
	_pg_start replica2 && healthy &&
	repl healed "min_streaming: 2" "standbys: [replica1, replica2]" &&
	check healed && rc_is healed 0 && test "$(st healed repl)" = pass
'

test_expect_success 'lag in bytes: recovery_min_apply_delay and writes fail max_lag_bytes' '
	healthy &&
	pg_set replica1 recovery_min_apply_delay 60s &&
	wait_until 30 q_is replica1 "show recovery_min_apply_delay" 1min &&
	pg_wal_write primary 1 &&
	pg_wal_write primary 30000 &&
	wait_until 30 q_is primary "select pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) < 65536 from pg_stat_replication where application_name = '"'"'replica2'"'"'" t &&
	repl lag "min_streaming: 2" "max_lag_bytes: 1MB" &&
	check lag && rc_is lag 75 &&
	test "$(st lag repl)" = fail &&
	summary lag repl | grep -E "^1 of 2 required replicas pass: replica1: replay [0-9.]+ MB behind \(max 1 MB\)" &&
	test "$(detail lag repl .replicas[0].lag_bytes)" -gt 1000000 &&
	test "$(detail lag repl .replicas[0].state)" = streaming
'

test_expect_success 'the same lag passes under a looser limit (the limit is what is judged)' '
	repl lagok "min_streaming: 2" "max_lag_bytes: 64MiB" "max_replay_lag: 10m" &&
	check lagok && rc_is lagok 0 && test "$(st lagok repl)" = pass
'

test_expect_success 'heal the lag' '
	pg_reset replica1 recovery_min_apply_delay &&
	wait_until 30 pg_caught_up primary &&
	repl lagheal "min_streaming: 2" "max_lag_bytes: 1MB" &&
	check lagheal && rc_is lagheal 0
'

test_expect_success 'min_streaming above the number of replicas fails' '
	healthy &&
	repl three "min_streaming: 3" &&
	check three && rc_is three 75 &&
	test "$(st three repl)" = fail &&
	summary three repl | grep -F "2 of 3 required replicas pass"
'

test_expect_success 'a synchronous replica required but none configured fails' '
	repl sync "min_sync: 1" &&
	check sync && rc_is sync 75 &&
	test "$(st sync repl)" = fail &&
	summary sync repl | grep -F "0 of 1 required synchronous replicas (sync_state sync or quorum) pass"
'

test_expect_success 'with synchronous_standby_names set, min_sync 1 passes' '
	pg_set primary synchronous_standby_names "FIRST 1 (replica1)" &&
	wait_until 10 q_is primary "select sync_state from pg_stat_replication where application_name = '"'"'replica1'"'"'" sync &&
	repl sync2 "min_sync: 1" "min_streaming: 2" &&
	check sync2 && rc_is sync2 0 &&
	test "$(detail sync2 repl .sync)" = 1 &&
	pg_reset primary synchronous_standby_names
'

test_expect_success 'a WAL streamer (pg_receivewal) is ignored by default, and is no replica when not ignored' '
	mkdir -p "$T/pg/recv" && chown postgres "$T/pg/recv" &&
	(cd "$T/pg" && exec runuser -u postgres -- "$PGBIN/pg_receivewal" -h 127.0.0.1 -p "$(pg_port primary)" \
		-U postgres -D "$T/pg/recv" -n >/dev/null 2>&1) &
	echo $! >"$T/recv.pid" && test_cleanup stop_recv &&
	wait_until 10 q_is primary "select count(*) from pg_stat_replication where application_name = '"'"'pg_receivewal'"'"'" 1 &&
	repl streamer "min_streaming: 2" &&
	check streamer && rc_is streamer 0 &&
	test "$(detail streamer repl .ignored[0])" = pg_receivewal &&
	repl noignore "min_streaming: 3" "ignore: []" &&
	check noignore && rc_is noignore 75 &&
	summary noignore repl | grep -F "pg_receivewal: no replay position" &&
	stop_recv &&
	wait_until 30 q_is primary "select count(*) from pg_stat_replication where application_name = '"'"'pg_receivewal'"'"'" 0
'

test_expect_success 'pointed at a standby, it fails: not a primary' '
	{
		printf "  - id: repl\n    type: postgres.replication\n    with:\n      conninfo: \"%s\"\n" "$R1"
	} | runbook standby &&
	check standby && rc_is standby 75 &&
	test "$(st standby repl)" = fail &&
	summary standby repl | grep -F "in recovery (a standby), not a primary"
'

test_expect_success 'samples: 3 samples 500ms apart all pass, and take that long' '
	healthy &&
	repl samples "min_streaming: 2" "samples: 3" "sample_interval: 500ms" &&
	start=$(test_now_ms) && check samples && end=$(test_now_ms) &&
	rc_is samples 0 && test "$(detail samples repl .samples_taken)" = 3 &&
	test $((end - start)) -ge 990
'

# The fault comes once gate has taken its first sample (its session is idle
# after the pg_stat_replication query), not after a sleep; the samples after
# it leave the replica's shutdown a few seconds to show.  The replica is
# started again whatever the outcome.
first_sample_taken() {
	q_is primary "select count(*) from pg_stat_activity where application_name = 'gate' and state = 'idle' and query like '%FROM pg_stat_replication %ORDER BY%'" 1
}
test_expect_success 'samples: a fault during sampling fails that sample' '
	healthy &&
	repl samplefail "standbys: [replica1, replica2]" "samples: 8" "sample_interval: 1s" &&
	{ check samplefail & } &&
	wait_until 30 first_sample_taken && pg_stop replica2; fault=$?
	wait
	{ test -f "$PG_ROOT/replica2/postmaster.pid" || _pg_start replica2; } &&
	{ test $fault = 0 || { echo "no fault brought in during sampling"; false; }; } &&
	rc_is samplefail 75 &&
	summary samplefail repl | grep -E "^sample [2-8] of 8: replica2: (not streaming|state [a-z]+, not streaming)"
'

test_expect_success 'lint: parameter types, units, unknown names and cross-checks are rejected (78)' '
	repl badsize "max_lag_bytes: lots" && expect_status 78 gate lint "$T/badsize.yaml" &&
	repl baddur "max_replay_lag: 60" && expect_status 78 gate lint "$T/baddur.yaml" &&
	repl unknown "max_lag: 1MB" && expect_status 78 gate lint "$T/unknown.yaml" &&
	repl nosample "samples: 0" && expect_status 78 gate lint "$T/nosample.yaml" 2>"$T/nosample.err" &&
	grep -F "samples must be at least 1" "$T/nosample.err" &&
	repl fine "min_streaming: 2" "standbys: [a, b]" "ignore: [x]" "max_lag_bytes: 16MiB" \
		"max_replay_lag: 1m" "max_reply_age: 30s" "min_sync: 0" "samples: 2" "sample_interval: 1s" &&
	expect_status 0 gate lint "$T/fine.yaml"
'

test_expect_success 'a role with pg_monitor passes; one without it is an error, never a pass' '
	healthy &&
	pg_psql primary "create role gmon login in role pg_monitor; create role gnomon login" &&
	printf "  - id: repl\n    type: postgres.replication\n    with:\n      conninfo: \"host=127.0.0.1 port=%s dbname=postgres user=%s\"\n      min_streaming: 2\n" \
		"$(pg_port primary)" gmon | runbook mon &&
	check mon && rc_is mon 0 && test "$(st mon repl)" = pass &&
	sed "s/user=gmon/user=gnomon/" "$T/mon.yaml" >"$T/nomon.yaml" &&
	check nomon && rc_is nomon 75 && test "$(st nomon repl)" = error &&
	summary nomon repl | grep -F "cannot read pg_stat_replication (the role needs pg_monitor or superuser)"
'

test_expect_success 'reads only: every statement gate sent was a read, in a read-only session' '
	healthy &&
	pg_set primary log_statement all && pg_set primary log_line_prefix "%a: " &&
	repl ro "min_streaming: 2" "samples: 2" "sample_interval: 200ms" && check ro && rc_is ro 0 &&
	pg_reset primary log_statement && pg_reset primary log_line_prefix &&
	grep "^gate: LOG:  statement:" "$T/pg/log/primary.log" >"$T/ro.log" &&
	test "$(wc -l <"$T/ro.log")" -ge 2 &&
	grep -F "default_transaction_read_only" "$T/ro.log" &&
	grep -F "set_config('"'"'transaction_read_only'"'"', '"'"'on'"'"', true)" "$T/ro.log" &&
	test_grep -v -iE "insert|update|delete|create|alter|drop|pg_switch_wal|checkpoint" "$T/ro.log"
'

test_done
