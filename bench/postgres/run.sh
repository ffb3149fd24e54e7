#!/bin/bash
# Benchmark: one `gate check` with a `postgres.replica` check for each of N
# standbys (N = 1, 4, 16, all streaming from one primary on this machine),
# against the same queries run one standby after another with psql (what a
# shell script or a Nagios loop does), and against `gate check -j 1`.
# gate runs the checks in parallel, so its wall time should stay near one
# check's, not grow N times.
#
#   bench/postgres/run.sh [RUNS] [N...]      default: 7 runs; N = 1 4 16
#   GATE_BIN=build-x/gate bench/postgres/run.sh
#
# Runs as root (the servers run as the postgres user, tests/lib/pg.sh);
# everything lives in a temporary directory and is stopped at exit.
set -eu
RUNS=${1:-7}
shift || true
SIZES=${*:-1 4 16}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GATE_BIN=${GATE_BIN:-$ROOT/build/gate}
[ -x "$GATE_BIN" ] || { echo "no gate binary at $GATE_BIN (set GATE_BIN)" >&2; exit 1; }
MAXN=0
for n in $SIZES; do [ "$n" -gt "$MAXN" ] && MAXN=$n; done

TEST_TMP=$(mktemp -d /tmp/gate-bench-postgres.XXXXXX)
chmod 755 "$TEST_TMP"
T=$TEST_TMP
. "$ROOT/tests/lib/pg.sh"
trap 'pg_stop_all; rm -rf "$T"' EXIT
export LC_ALL=C.UTF-8

now_ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(now_ms)
pg_primary_start primary "max_wal_senders = 40" "max_replication_slots = 40" "max_connections = 200" >/dev/null
pg_replicas_start primary "$MAXN" >/dev/null
until [ "$(pg_psql primary "select count(*) from pg_stat_replication where state = 'streaming' and reply_time is not null")" -ge "$MAXN" ]; do sleep 0.1; done
echo "# cluster: 1 primary + $MAXN streaming replicas up in $(($(now_ms) - t0)) ms"
echo "# $(nproc) cores, $(uname -r), $(psql --version), $("$GATE_BIN" version 2>/dev/null | head -n 1)"

# What postgres.replica asks a standby (checks/postgres_fetch.c), for psql.
REPLICA_SQL="SELECT pg_is_in_recovery(), current_setting('cluster_name');
SELECT current_setting('cluster_name'), pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(),
 pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint,
 pg_get_wal_replay_pause_state(), extract(epoch FROM now() - pg_last_xact_replay_timestamp()),
 w.pid, w.status, extract(epoch FROM now() - w.last_msg_receipt_time), w.sender_host, w.sender_port, w.slot_name
 FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS w ON true;"

runbook() { # runbook N: N postgres.replica checks
	printf 'version: 1\nname: bench-postgres-%s\nchecks:\n' "$1"
	local i
	for i in $(seq 1 "$1"); do
		printf '  - id: replica%02d\n    type: postgres.replica\n    with:\n      conninfo: "%s"\n' \
			"$i" "$(pg_conninfo "replica$i")"
	done
}
sequential_psql() { # sequential_psql N: one psql per standby, one after another
	local i
	for i in $(seq 1 "$1"); do
		psql -XAtq -h 127.0.0.1 -p "$(pg_port "replica$i")" -U postgres -d postgres \
			-v ON_ERROR_STOP=1 -c "$REPLICA_SQL" >/dev/null || return 1
	done
}
# median LABEL CMD...: RUNS runs after one warm-up; prints the median in ms
median() {
	local times=() r a b
	"$@" >/dev/null 2>&1 || true
	for r in $(seq 1 "$RUNS"); do
		a=$(now_ms)
		"$@" >/dev/null 2>&1 || { echo "# failed: $*" >&2; return 1; }
		b=$(now_ms)
		times+=($((b - a)))
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}

printf '%4s  %11s  %14s  %15s  %13s  %13s  %9s  %10s\n' N "gate check" "gate check -j1" "psql sequential" "slowest check" "sum of checks" "psql/gate" "gate N / 1"
G1=
for n in $SIZES; do
	runbook "$n" >"$T/rb$n.yaml"
	"$GATE_BIN" check --format json "$T/rb$n.yaml" >"$T/rb$n.json" 2>/dev/null ||
		{ echo "N=$n: gate check did not allow:"; cat "$T/rb$n.json"; exit 1; }
	read -r slowest sum < <(/usr/bin/python3 -c 'import json,sys; d=[c["duration_ms"] for c in json.load(open(sys.argv[1]))["checks"]]; print(round(max(d)), round(sum(d)))' "$T/rb$n.json")
	g=$(median "$GATE_BIN" check "$T/rb$n.yaml")
	gj=$(median "$GATE_BIN" check -j 1 "$T/rb$n.yaml")
	p=$(median sequential_psql "$n")
	[ -z "$G1" ] && G1=$g
	printf '%4s  %8s ms  %11s ms  %12s ms  %10s ms  %10s ms  %9s  %10s\n' "$n" "$g" "$gj" "$p" "$slowest" "$sum" \
		"$(awk -v a="$p" -v b="$g" 'BEGIN { printf "%.1fx", a / b }')" \
		"$(awk -v a="$g" -v b="$G1" 'BEGIN { printf "%.2fx", a / b }')"
done
echo "# medians of $RUNS runs (after one warm-up); slowest check / sum of checks: duration_ms in one report"
