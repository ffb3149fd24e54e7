#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/peers/growth.sh: how gate's time and memory grow with the number of
# replicas, next to the floor (one parallel libpq round in one process,
# bench/peers/floor.c), on bench/peers' fixture (bench/peers/fixture.sh).
#
#   bench/peers/growth.sh [N...]       default: N = 1 2 4 8 16 32 64
#
# For each N (the fixture grows from one N to the next): RUNS rounds
# (default 7) of gate check and the floor, alternating, each after a quiet
# machine (bench/lib.sh bench_quiet), each required to pass.  Writes
# $OUT.csv (default bench/peers/growth.csv: medians, min and max of the
# wall time in ms, median peak RSS in KiB) and $OUT.svg (plotted by
# bench/peers/plot.py: time and memory against N), and prints the CSV.
#
# Run as root after scripts/install-deps.sh and the build; GATE_BIN
# (default build/gate).  64 replicas are 65 PostgreSQL servers: about
# 3 GB in the temporary directory and a few GB of memory; each server runs
# with shared_buffers = 16MB.  Everything is stopped at exit.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/peers
GATE_BIN=${GATE_BIN:-$ROOT/build/gate}
RUNS=${RUNS:-7}
OUT=${OUT:-$HERE/growth}
# shellcheck disable=SC2046
set -- $(printf '%s\n' "${@:-1 2 4 8 16 32 64}" | tr ' ' '\n' | sort -n | uniq)
SIZES=$*
PEERS_MAXN=${!#}

[ "$(id -u)" = 0 ] || { echo "bench/peers: run as root (the servers run as postgres)" >&2; exit 2; }
[ -x "$GATE_BIN" ] || { echo "bench/peers: no gate binary at $GATE_BIN (build, or set GATE_BIN)" >&2; exit 2; }
for t in psql pgbackrest curl cc pkg-config ss python3; do
	command -v "$t" >/dev/null || { echo "bench/peers: $t is missing (scripts/install-deps.sh)" >&2; exit 2; }
done

T=$(mktemp -d /tmp/gate-bench-growth.XXXXXX)
. "$ROOT/bench/lib.sh"
. "$HERE/fixture.sh"
trap 'peers_down; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
export GATE_STATE_DIR=$T/state NO_COLOR=1
mkdir -m 700 "$GATE_STATE_DIR"
bench_init "$T"
# shellcheck disable=SC2046
cc -O2 -Wall -Wextra -o "$T/floor" "$HERE/floor.c" $(pkg-config --cflags --libs libpq)

free_kb=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
need_kb=$(((PEERS_MAXN + 1) * 60 * 1024))
[ "$free_kb" -ge "$need_kb" ] ||
	{ echo "bench/peers: $((free_kb / 1024)) MiB free in $T, about $((need_kb / 1024)) MiB needed" >&2; exit 2; }

MACHINE=$(bench_machine)
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
peers_up
TOOLS=(gate floor)
for n in $SIZES; do
	peers_prepare "$n"
	for tool in "${TOOLS[@]}"; do peers_check "$n" "$tool"; done
	for ((r = 0; r < RUNS; r++)); do
		for ((k = 0; k < ${#TOOLS[@]}; k++)); do
			peers_measure "$n" "${TOOLS[$(((r + k) % ${#TOOLS[@]}))]}"
		done
	done
	echo "# N=$n: $RUNS rounds" >&2
done

ms() { awk '{ printf "%.2f\n", $1 * 1000 }' "$T/t.$1.$2"; }
kb() { awk '{ print $2 }' "$T/t.$1.$2"; }
{
	echo "# bench/peers/growth.sh, $STARTED, $RUNS rounds: $MACHINE"
	echo "# $(bench_quiet_note timings)"
	echo "# Memory: ru_maxrss from wait4, the largest single process (gate or one of its check children), not their sum."
	echo "n,gate_ms,gate_ms_min,gate_ms_max,gate_rss_kb,floor_ms,floor_ms_min,floor_ms_max,floor_rss_kb"
	for n in $SIZES; do
		printf '%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$n" \
			"$(ms "$n" gate | bench_median)" "$(ms "$n" gate | bench_min)" "$(ms "$n" gate | bench_max)" \
			"$(kb "$n" gate | bench_median)" \
			"$(ms "$n" floor | bench_median)" "$(ms "$n" floor | bench_min)" "$(ms "$n" floor | bench_max)" \
			"$(kb "$n" floor | bench_median)"
	done
} >"$T/growth.csv"
python3 "$HERE/plot.py" "$T/growth.csv" "$T/growth.svg"
cp "$T/growth.csv" "$OUT.csv"
cp "$T/growth.svg" "$OUT.svg"
cat "$T/growth.csv"
echo "# plotted: $OUT.svg" >&2
