#!/bin/bash
# Benchmark of a restore rehearsal by gate against the same work done by
# hand (issue 15, "Benchmark"): a pgBackRest backup of a database of at
# least 1 GB (pgbench -i -s $SCALE), restored and proven
#   A. by hand:  pgbackrest restore (--type=immediate --target-action=promote
#                --archive-mode=off) into a scratch directory, pg_ctl start -w
#                on a socket only, the probes with psql, pg_ctl stop, rm -rf;
#   B. by gate:  gate rehearse of a runbook with one pgbackrest.restore and
#                the same probes (its record written, the audit too).
# Both restore the same backup with the same process-max into the same
# file system.  After one warm-up of each, $RUNS interleaved pairs (A B,
# B A, ...) are timed; the verdict is the median of the per-pair ratios
# B/A (target <= 1.1x).
#
#   bench/rehearse/run.sh           # needs a built gate: $GATE_BIN or build/gate
#   RUNS=5 SCALE=70 bench/rehearse/run.sh
#
# Runs as root (PostgreSQL and pgBackRest as postgres, as in the tests).
# Everything lives in one temporary directory, removed at exit; every
# server is stopped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
: "${GATE_BIN:=$src/build/gate}"
: "${RUNS:=3}"
: "${SCALE:=70}"       # pgbench scale: 70 -> about 1.05 GB of data files
: "${PROCESS_MAX:=1}"
[ -x "$GATE_BIN" ] || { echo "no gate binary at $GATE_BIN (build first or set GATE_BIN)" >&2; exit 1; }

TEST_TMP=$(mktemp -d /var/tmp/gate-bench-rehearse.XXXXXX)
chmod 755 "$TEST_TMP"
export TEST_TMP
. "$src/tests/lib/pg.sh"
. "$src/tests/lib/pgbackrest.sh"
cleanup() { pg_stop_all >/dev/null 2>&1 || true; rm -rf "$TEST_TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

need_kb=$(( (SCALE * 16 + 300) * 3 * 1024 ))
free_kb=$(df -Pk "$TEST_TMP" | awk 'NR == 2 { print $4 }')
if [ "$free_kb" -lt "$need_kb" ]; then
	echo "not enough free space in $TEST_TMP: $((free_kb / 1024)) MiB free, $((need_kb / 1024)) MiB needed" >&2
	exit 1
fi

. "$src/bench/lib.sh" # bench_now, bench_median, bench_min
one_run() {
	local s; s=$(bench_now)
	"$@" >"$TEST_TMP/last.log" 2>&1 || { echo "failed: $*" >&2; tail -n 20 "$TEST_TMP/last.log" >&2; exit 1; }
	echo "$(bench_now) - $s" | bc -l
}

echo "== a pgBackRest backup of a pgbench database (scale $SCALE)"
t0=$(bench_now)
pg_primary_start bench "max_wal_size = 4GB" "checkpoint_timeout = 30min" >/dev/null
runuser -u postgres -- "$PGBIN/pgbench" -h 127.0.0.1 -p "$(pg_port bench)" -U postgres \
	-i -s "$SCALE" -q postgres >/dev/null 2>&1
db_bytes=$(pg_psql bench "select pg_database_size('postgres')")
pgbr_setup bench
pgbr_backup full
LABEL=$(pgbr_last_label)
pg_stop bench
repo_bytes=$(du -sb "$PGBR_REPO" | cut -f1)
echo "  database $((db_bytes / 1000000)) MB, backup $LABEL ($((repo_bytes / 1000000)) MB in the repository) in $(printf '%.0f' "$(echo "$(bench_now) - $t0" | bc -l)") s"
[ "$db_bytes" -ge 1000000000 ] || { echo "database below 1 GB: raise SCALE" >&2; exit 1; }
ROWS=$((SCALE * 100000))

mkdir -m 755 "$TEST_TMP/scratch" "$TEST_TMP/state"
chmod 700 "$TEST_TMP/state"
cat > "$TEST_TMP/rehearse.yaml" <<EOF
version: 1
name: bench-rehearse
checks:
  - id: pgbr
    type: pgbackrest.restore
    with:
      stanza: $PGBR_STANZA
      config: $PGBR_CONF
      scratch_dir: $TEST_TMP/scratch
      process_max: $PROCESS_MAX
      probes:
        - {name: accounts, sql: "select count(*) from pgbench_accounts", min: $ROWS}
        - {name: branches, sql: "select count(*) from pgbench_branches", equals: $SCALE}
EOF
chmod 644 "$TEST_TMP/rehearse.yaml"
by_gate() { "$GATE_BIN" rehearse -q --state-dir "$TEST_TMP/state" "$TEST_TMP/rehearse.yaml"; }

# by hand, as a DBA would script it
PORT=$(( 20000 + RANDOM % 10000 ))
by_hand() {
	local d
	d=$(mktemp -d "$TEST_TMP/scratch/by-hand-XXXXXX") && chown postgres: "$d" && chmod 700 "$d" &&
	(cd "$d" && runuser -u postgres -- pgbackrest --config="$PGBR_CONF" --stanza="$PGBR_STANZA" \
		--pg1-path="$d/data" --set="$LABEL" --type=immediate --target-action=promote \
		--archive-mode=off --process-max="$PROCESS_MAX" --log-level-console=warn \
		--log-level-file=off restore) &&
	(cd "$d" && runuser -u postgres -- "$PGBIN/pg_ctl" start -w -t 3600 -D "$d/data" -l "$d/server.log" \
		-o "-c listen_addresses='' -c port=$PORT -c unix_socket_directories='$d' -c archive_mode=off") &&
	test "$(runuser -u postgres -- psql -X -A -t -h "$d" -p "$PORT" -d postgres \
		-c "select count(*) from pgbench_accounts")" -ge "$ROWS" &&
	test "$(runuser -u postgres -- psql -X -A -t -h "$d" -p "$PORT" -d postgres \
		-c "select count(*) from pgbench_branches")" = "$SCALE" &&
	(cd "$d" && runuser -u postgres -- "$PGBIN/pg_ctl" stop -w -m fast -D "$d/data") &&
	rm -rf "$d"
}

echo "== by hand (A) vs gate rehearse (B): warm-up, then $RUNS interleaved pairs"
ta=$(one_run by_hand); tb=$(one_run by_gate)
echo "  warm-up: by hand $(printf '%.1f' "$ta") s, gate $(printf '%.1f' "$tb") s"
ra=() rb=() r=()
for ((i = 0; i < RUNS; i++)); do
	if ((i % 2)); then tb=$(one_run by_gate); ta=$(one_run by_hand)
	else ta=$(one_run by_hand); tb=$(one_run by_gate); fi
	ra+=("$ta"); rb+=("$tb"); r+=("$(echo "$tb / $ta" | bc -l)")
	echo "  pair $((i + 1)): by hand $(printf '%.2f' "$ta") s, gate $(printf '%.2f' "$tb") s"
done
[ -z "$(ls "$TEST_TMP/scratch")" ] || { echo "scratch directories left behind" >&2; exit 1; }
rec=$(ls -t "$TEST_TMP/state"/*.json | head -n 1)
phases=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["phases_ms"]))' "$rec")

ratio=$(bench_median "${r[@]}")
echo
echo "== results ($(date -u +%Y-%m-%d), $RUNS interleaved pairs; $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}'), $(pgbackrest version); load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf 'database %d MB (backup %s, %d MB in the repository), process-max %d:\n' \
	"$((db_bytes / 1000000))" "$LABEL" "$((repo_bytes / 1000000))" "$PROCESS_MAX"
printf '  by hand median %.2f s (min %.2f), gate rehearse median %.2f s (min %.2f): ratio %.3fx median of pairs (target <= 1.1x)\n' \
	"$(bench_median "${ra[@]}")" "$(bench_min "${ra[@]}")" "$(bench_median "${rb[@]}")" "$(bench_min "${rb[@]}")" "$ratio"
echo "  gate's last phases (ms): $phases"
if [ "$(echo "$ratio <= 1.1" | bc -l)" = 1 ]; then echo "target met"; else echo "FAIL: ratio above 1.1"; exit 1; fi
