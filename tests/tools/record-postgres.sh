#!/bin/bash
# Record what the postgres checks fetch from real servers, for the judges'
# unit tests (tests/unit/test_postgres_judge.c) and the fuzz target
# (fuzz/fuzz_postgres_judge.c): a PostgreSQL 15 primary with two streaming
# replicas on slots, started as the scenario tests t1000-t1030 start them
# (tests/lib/pg.sh: as the postgres user, loopback, random ports), brought
# into each state those tests bring about, for real.  In each state
# gate-pgfacts (tests/tools/gate-pgfacts.c) runs the check's own fetch and
# writes its facts as JSON:
#
#   tests/data/recorded/postgres/<type>-<state>.json
#   fuzz/corpus/postgres_judge/rec-<type>-<state>.json   (the same bytes)
#
# Recorded last from PostgreSQL 15.20 (Debian 12's postgresql-15; each
# file's server_version says so).  Needs root (the servers run as
# postgres), a build (GATE_BUILD_DIR, default build/) and about half a
# minute.  Every server is stopped at exit.
# Re-recording changes ports, LSNs, ages and times, never the states: the
# unit tests read thresholds off the recorded numbers.
#
#   tests/tools/record-postgres.sh
set -u
# shellcheck source=tests/lib/test-lib.sh
. "$(dirname "$0")/../lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
test_cleanup pg_stop_all
OUT=$GATE_SOURCE_DIR/tests/data/recorded/postgres
CORPUS=$GATE_SOURCE_DIR/fuzz/corpus/postgres_judge
FACTS=$GATE_TOOLS_DIR/gate-pgfacts
T=$TEST_TMP
[ -x "$FACTS" ] || { echo "no $FACTS: build first" >&2; exit 1; }
mkdir -p "$OUT" "$CORPUS"
rm -f "$OUT"/*.json "$CORPUS"/rec-*.json

die() { echo "record-postgres: $*" >&2; exit 1; }
q_is() { test "$(pg_psql "$1" "$2")" = "$3"; }
# rec TYPE STATE CONNINFO: record TYPE's facts as TYPE-STATE
rec() {
	local f="$OUT/${1#postgres.}-$2.json"
	"$FACTS" "$1" "$3" >"$f" || die "gate-pgfacts $1 failed"
	cp "$f" "$CORPUS/rec-${1#postgres.}-$2.json"
	echo "# ${f#"$GATE_SOURCE_DIR"/}"
}
ci() { pg_conninfo "$1"; }
as_role() { echo "host=127.0.0.1 port=$(pg_port "$1") dbname=postgres user=$2"; }
switch() { pg_wal_write "$1" 10 && pg_psql "$1" "select pg_switch_wal()" >/dev/null; }
archived() { test "$(pg_psql primary "select archived_count from pg_stat_archiver")" -ge "$1"; }
healthy() {
	pg_wait_streaming primary 2 &&
	wait_until 60 q_is primary "select count(*) from pg_stat_replication where state = 'streaming' and reply_time is not null and replay_lsn = pg_current_wal_lsn()" 2
}

# ---- a fresh primary: nothing archived, no slot, no replica ----
pg_primary_start primary || die "the primary did not start"
rec postgres.archiver never "$(ci primary)"
rec postgres.slots none "$(ci primary)"
rec postgres.replication none "$(ci primary)"
rec postgres.replica primary "$(ci primary)"
rec postgres.replication refused "host=127.0.0.1 port=$(free_port) dbname=postgres user=postgres"

# ---- two replicas on slots ----
pg_replicas_start primary 2 && healthy || die "the replicas did not stream"
rec postgres.replication healthy "$(ci primary)"
rec postgres.replica healthy "$(ci replica1)"
rec postgres.slots healthy "$(ci primary)"
switch primary && wait_until 10 archived 1 || die "nothing archived"
rec postgres.archiver healthy "$(ci primary)"
rec postgres.replication standby "$(ci replica1)"

# the walsender clears replay_lag once all is replayed (t1000)
lag_null() { test -z "$(pg_psql primary "select replay_lag from pg_stat_replication where replay_lag is not null")"; }
wait_until 30 lag_null && rec postgres.replication idle "$(ci primary)"

pg_set primary synchronous_standby_names "FIRST 1 (replica1)" &&
	wait_until 10 q_is primary "select sync_state from pg_stat_replication where application_name = 'replica1'" sync &&
	rec postgres.replication sync "$(ci primary)"
pg_reset primary synchronous_standby_names

# a WAL streamer (t1000)
mkdir -p "$T/pg/recv" && chown postgres "$T/pg/recv"
(cd "$T/pg" && exec runuser -u postgres -- "$PGBIN/pg_receivewal" -h 127.0.0.1 -p "$(pg_port primary)" \
	-U postgres -D "$T/pg/recv" -n >/dev/null 2>&1) &
echo $! >"$T/recv.pid"
stop_recv() { local p; p=$(cat "$T/recv.pid" 2>/dev/null) || return 0; pkill -TERM -P "$p"; kill "$p" 2>/dev/null; rm -f "$T/recv.pid"; }
test_cleanup stop_recv
wait_until 10 q_is primary "select count(*) from pg_stat_replication where application_name = 'pg_receivewal' and reply_time is not null" 1 &&
	rec postgres.replication walstreamer "$(ci primary)"
stop_recv

# replay paused (t1010)
pg_psql replica1 "select pg_wal_replay_pause()" >/dev/null &&
	wait_until 10 q_is replica1 "select pg_get_wal_replay_pause_state()" paused &&
	rec postgres.replica paused "$(ci replica1)"
pg_psql replica1 "select pg_wal_replay_resume()" >/dev/null

# replay delayed: recovery_min_apply_delay and writes (t1000, t1010)
healthy || die "not healthy before the delay"
pg_set replica1 recovery_min_apply_delay 60s &&
	wait_until 30 q_is replica1 "show recovery_min_apply_delay" 1min &&
	pg_wal_write primary 1 && pg_wal_write primary 30000 &&
	wait_until 30 q_is primary "select pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn) from pg_stat_replication where application_name = 'replica1'" 0 &&
	wait_until 30 q_is primary "select pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) < 65536 from pg_stat_replication where application_name = 'replica2'" t &&
	rec postgres.replication delayed "$(ci primary)" &&
	rec postgres.replica delayed "$(ci replica1)"
pg_reset replica1 recovery_min_apply_delay
wait_until 30 pg_caught_up primary

# a disconnected standby: receive LSN = replay LSN, no receiver (t1010)
good=$(pg_psql replica2 "show primary_conninfo")
pg_set replica2 primary_conninfo "host=127.0.0.1 port=$(free_port) user=postgres" &&
	wait_until 15 q_is replica2 "select count(*) from pg_stat_wal_receiver" 0 &&
	rec postgres.replica disconnected "$(ci replica2)"
pg_set replica2 primary_conninfo "${good//\'/\'\'}"
wait_until 20 q_is replica2 "select status from pg_stat_wal_receiver" streaming

# a hung walsender: the receiver says streaming but hears nothing (t1010)
pid=$(pg_psql primary "select pid from pg_stat_replication where application_name = 'replica2'")
test_cleanup "kill -CONT $pid"
kill -STOP "$pid" &&
	wait_until 30 q_is replica2 "select extract(epoch from now() - last_msg_receipt_time) > 2.5 from pg_stat_wal_receiver" t &&
	rec postgres.replica silent "$(ci replica2)"
kill -CONT "$pid"
healthy || die "not healthy after the hung walsender"

# roles without pg_monitor (t1000, t1010, t1020)
pg_psql primary "create role gnomon login" &&
	wait_until 10 q_is replica1 "select count(*) from pg_roles where rolname = 'gnomon'" 1 &&
	rec postgres.replication nomonitor "$(as_role primary gnomon)" &&
	rec postgres.replica nomonitor "$(as_role replica1 gnomon)" &&
	rec postgres.archiver nomonitor "$(as_role primary gnomon)"

# a stopped replica: no walsender, its slot inactive and retaining WAL (t1000, t1030)
pg_stop replica2 &&
	wait_until 30 q_is primary "select active from pg_replication_slots where slot_name = 'replica2'" f &&
	wait_until 30 q_is primary "select count(*) from pg_stat_replication where application_name = 'replica2'" 0 &&
	pg_wal_write primary 1000 &&
	rec postgres.replication stopped "$(ci primary)" &&
	rec postgres.slots inactive "$(ci primary)" &&
	rec postgres.replica refused "$(ci replica2)"
_pg_start replica2 && healthy || die "replica2 did not come back"

# archiving fails, .ready files pile up, then heals (t1020)
pg_set primary archive_command false && switch primary &&
	wait_until 15 q_is primary "select last_failed_time > last_archived_time from pg_stat_archiver" t &&
	rec postgres.archiver failing "$(ci primary)"
switch primary && switch primary &&
	wait_until 10 q_is primary "select count(*) >= 3 from pg_ls_archive_statusdir() where name like '%.ready'" t &&
	wait_until 30 q_is primary "select min(modification) < now() - interval '1.2 s' from pg_ls_archive_statusdir() where name like '%.ready'" t &&
	rec postgres.archiver piling "$(ci primary)"
pg_set primary archive_command /bin/true &&
	wait_until 15 q_is primary "select count(*) from pg_ls_archive_statusdir() where name like '%.ready'" 0 &&
	rec postgres.archiver healed "$(ci primary)"

# a lost slot and little safe_wal_size (t1030)
pg_psql primary "select pg_create_physical_replication_slot('spare', true)" >/dev/null &&
	pg_set primary max_slot_wal_keep_size 32MB &&
	for i in 1 2 3 4; do
		pg_wal_write primary 200000 && pg_psql primary "select pg_switch_wal()" >/dev/null || break
	done &&
	pg_psql primary "checkpoint" &&
	wait_until 10 q_is primary "select wal_status from pg_replication_slots where slot_name = 'spare'" lost &&
	rec postgres.slots lost "$(ci primary)"

# archive_mode off (t1020)
pg_primary_start noarch "archive_mode = off" && rec postgres.archiver off "$(ci noarch)"
echo "done"
