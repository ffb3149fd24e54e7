#!/bin/bash
# Benchmark of the backup checks' own cost on top of the tools they run
# (issue 4, "Speed"):
#   1. backup.basebackup with verify: true on a base backup of >= 1 GB
#      vs `pg_verifybackup` alone on the same directory (target <= 1.05x);
#   2. backup.file checksumming a 1 GiB file against its sha256 sidecar
#      vs `sha256sum` on the same file (target: >= 0.9x its speed).
# After one warm-up run of each (page cache hot on both sides, so the
# comparison is CPU and overhead, not the disk), $RUNS interleaved pairs
# are timed; the verdict is the median of the per-pair ratios, which
# holds up best on a machine shared with other work.
#
#   bench/backup/run.sh            # needs a built gate: $GATE_BIN or build/gate
#   RUNS=7 SCALE=70 bench/backup/run.sh
#
# Runs as root (PostgreSQL as the postgres user, as in the tests).  Every
# byte lives in one temporary directory, removed at exit, servers stopped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
: "${GATE_BIN:=$src/build/gate}"
: "${RUNS:=9}"
: "${SCALE:=70}"          # pgbench scale: 70 -> about 1.05 GB of data files
: "${FILE_MB:=1024}"
[ -x "$GATE_BIN" ] || { echo "no gate binary at $GATE_BIN (build first or set GATE_BIN)" >&2; exit 1; }

TEST_TMP=$(mktemp -d /tmp/gate-bench-backup.XXXXXX)
chmod 755 "$TEST_TMP"
export TEST_TMP
. "$src/tests/lib/pg.sh"
cleanup() { pg_stop_all >/dev/null 2>&1 || true; rm -rf "$TEST_TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

need_kb=$(( (SCALE * 16 + 200) * 2 * 1024 + FILE_MB * 1024 * 2 ))
free_kb=$(df -Pk "$TEST_TMP" | awk 'NR == 2 { print $4 }')
if [ "$free_kb" -lt "$need_kb" ]; then
	echo "not enough free space in $TEST_TMP: $((free_kb / 1024)) MiB free, $((need_kb / 1024)) MiB needed" >&2
	exit 1
fi

. "$src/bench/lib.sh" # bench_now, bench_median, bench_min
# one_run CMD...: seconds taken by CMD (it must succeed)
one_run() {
	local s; s=$(bench_now)
	"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
	echo "$(bench_now) - $s" | bc -l
}
# compare NAME CMD_A -- CMD_B: one warm-up each, then $RUNS interleaved
# pairs (A B, B A, A B...) so that the load of a shared machine falls on
# both alike.  Sets NAME_a, NAME_b (medians), NAME_amin, NAME_bmin and
# NAME_ratio (median of the per-pair ratios B/A).
compare() {
	local name=$1; shift
	local a=() b=() i ta tb r=()
	while [ "$1" != -- ]; do a+=("$1"); shift; done; shift
	b=("$@")
	local ra=() rb=()
	one_run "${a[@]}" >/dev/null; one_run "${b[@]}" >/dev/null
	for ((i = 0; i < RUNS; i++)); do
		if ((i % 2)); then tb=$(one_run "${b[@]}"); ta=$(one_run "${a[@]}")
		else ta=$(one_run "${a[@]}"); tb=$(one_run "${b[@]}"); fi
		ra+=("$ta"); rb+=("$tb"); r+=("$(echo "$tb / $ta" | bc -l)")
	done
	printf -v "${name}_a" '%s' "$(bench_median "${ra[@]}")"
	printf -v "${name}_b" '%s' "$(bench_median "${rb[@]}")"
	printf -v "${name}_amin" '%s' "$(bench_min "${ra[@]}")"
	printf -v "${name}_bmin" '%s' "$(bench_min "${rb[@]}")"
	printf -v "${name}_ratio" '%s' "$(bench_median "${r[@]}")"
	echo "  ${a[0]##*/}: $(printf '%.3f ' "${ra[@]}")" >&2
	echo "  ${b[0]##*/}: $(printf '%.3f ' "${rb[@]}")" >&2
	echo "  per-pair ratios: $(printf '%.3f ' "${r[@]}")" >&2
}

echo "== building a base backup (pgbench scale $SCALE)"
t0=$(bench_now)
pg_primary_start bench "max_wal_size = 4GB" "checkpoint_timeout = 30min" >/dev/null
runuser -u postgres -- "$PGBIN/pgbench" -h 127.0.0.1 -p "$(pg_port bench)" -U postgres \
	-i -s "$SCALE" -q postgres >/dev/null 2>&1
mkdir -p "$TEST_TMP/bb" && chown postgres:postgres "$TEST_TMP/bb"
(cd "$TEST_TMP" && runuser -u postgres -- "$PGBIN/pg_basebackup" -h 127.0.0.1 \
	-p "$(pg_port bench)" -U postgres -D "$TEST_TMP/bb/base" -X stream -c fast)
pg_stop bench
bb_bytes=$(du -sb "$TEST_TMP/bb/base" | cut -f1)
echo "  base backup: $((bb_bytes / 1000000)) MB in $(printf '%.1f' "$(echo "$(bench_now) - $t0" | bc -l)") s"
[ "$bb_bytes" -ge 1000000000 ] || { echo "base backup below 1 GB: raise SCALE" >&2; exit 1; }

VERIFY=$PGBIN/pg_verifybackup
cat > "$TEST_TMP/bb.yaml" <<EOF
version: 1
name: bench-basebackup
checks:
  - id: bb
    type: backup.basebackup
    timeout: 10m
    with:
      path: $TEST_TMP/bb/base
      verify: true
      binary: $VERIFY
EOF
gate_bb() { "$GATE_BIN" check --format json "$TEST_TMP/bb.yaml"; }
gate_bb > "$TEST_TMP/bb.json" 2>/dev/null || { echo "gate check did not pass:" >&2; cat "$TEST_TMP/bb.json" >&2; exit 1; }

echo "== backup.basebackup verify: true vs pg_verifybackup alone ($RUNS pairs)"
verify_alone() { "$VERIFY" -- "$TEST_TMP/bb/base"; }
compare bb verify_alone -- gate_bb

echo "== backup.file (sha256 sidecar) vs sha256sum, $FILE_MB MiB"
mkdir -p "$TEST_TMP/file"
head -c "$((FILE_MB * 1024 * 1024))" /dev/urandom > "$TEST_TMP/file/big.dump"
(cd "$TEST_TMP/file" && sha256sum big.dump > big.dump.sha256)
cat > "$TEST_TMP/file.yaml" <<EOF
version: 1
name: bench-file
checks:
  - id: f
    type: backup.file
    timeout: 10m
    with:
      path: $TEST_TMP/file/*.dump
EOF
gate_file() { "$GATE_BIN" check --format json "$TEST_TMP/file.yaml"; }
gate_file > "$TEST_TMP/file.json" 2>/dev/null || { echo "gate check did not pass:" >&2; cat "$TEST_TMP/file.json" >&2; exit 1; }
impl=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checks"][0]["details"]["sha256_impl"])' "$TEST_TMP/file.json")
sha256sum_alone() { sha256sum "$TEST_TMP/file/big.dump"; }
compare file sha256sum_alone -- gate_file

r_bb=$bb_ratio
r_file=$(echo "1 / $file_ratio" | bc -l)
mbps() { echo "$FILE_MB / $1" | bc -l; }
echo
echo "== results ($RUNS interleaved pairs, warm page cache; $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf 'base backup %d MB: pg_verifybackup median %.3f s (min %.3f), gate backup.basebackup median %.3f s (min %.3f): ratio %.3fx median of pairs, %.3fx of minima (target <= 1.05x)\n' \
	"$((bb_bytes / 1000000))" "$bb_a" "$bb_amin" "$bb_b" "$bb_bmin" "$r_bb" "$(echo "$bb_bmin / $bb_amin" | bc -l)"
printf 'file %d MiB: sha256sum median %.3f s (%.0f MiB/s), gate backup.file median %.3f s (%.0f MiB/s, sha256 %s): speed %.2fx of sha256sum (target >= 0.9x)\n' \
	"$FILE_MB" "$file_a" "$(mbps "$file_a")" "$file_b" "$(mbps "$file_b")" "$impl" "$r_file"
ok=1
[ "$(echo "$r_bb <= 1.05" | bc -l)" = 1 ] || { echo "FAIL: basebackup ratio above 1.05"; ok=0; }
[ "$(echo "$r_file >= 0.9" | bc -l)" = 1 ] || { echo "FAIL: file speed below 0.9x"; ok=0; }
[ "$ok" = 1 ] && echo "both targets met"
[ "$ok" = 1 ]
