#!/bin/bash
# Benchmark: how long the postgres lock kind (holds/lock_postgres.c) takes
# to take, release and probe an advisory lock on a PostgreSQL 15 on this
# machine (loopback TCP, trust authentication), through the kind itself
# (tests/tools/gate-pglock bench: connect + name the session + try; unlock
# + close; connect + read pg_locks + close), and how soon the lock is free
# after its holder (tests/tools/gate-hold) is killed with SIGKILL.  Prints
# the median, the minimum and the maximum of each, in ms.
#
#   bench/holds/postgres.sh [RUNS]        default 25
#   GATE_BUILD_DIR=build-x bench/holds/postgres.sh
#
# Runs as root (the server runs as the postgres user, tests/lib/pg.sh);
# everything lives in a temporary directory and is stopped at exit.
set -eu
RUNS=${1:-25}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=${GATE_BUILD_DIR:-$ROOT/build}/tests
[ -x "$TOOLS/gate-pglock" ] || { echo "no $TOOLS/gate-pglock: build first" >&2; exit 1; }

TEST_TMP=$(mktemp -d /tmp/gate-bench-holds.XXXXXX)
chmod 755 "$TEST_TMP"
export TEST_TMP
. "$ROOT/tests/lib/pg.sh"
. "$ROOT/tests/lib/pglock.sh"
wait_until() {
	local end=$(($(date +%s) + $1)); shift
	until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.01; done
}
# (set +e: under set -e a failing kill would end the trap before the stop)
trap 'set +e; holder_stop_all; pg_stop_all; rm -rf "$TEST_TMP"' EXIT
export LC_ALL=C.UTF-8
now_ms() { echo $(($(date +%s%N) / 1000000)); }

pg_primary_start primary >/dev/null
CI=$(pg_conninfo primary)
echo "# $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r), $(psql --version)"

stats() { # stats NAME: median min max of stdin's numbers
	sort -n | awk -v n="$1" '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%-28s median %6.2f ms   min %6.2f   max %6.2f   (%d runs)\n", n, m, v[1], v[NR], NR }'
}
"$TOOLS/gate-pglock" bench "$CI" bench-warmup 2 >/dev/null
"$TOOLS/gate-pglock" bench "$CI" bench-key "$RUNS" >"$TEST_TMP/runs"
for s in take release probe; do
	sed -n "s/^$s //p" "$TEST_TMP/runs" | stats "$s"
done

# SIGKILL the holder, then probe until free (each probe is a process + a
# connection: the figure is an upper bound)
free() { "$TOOLS/gate-hold" lock postgres "{\"postgres\": \"$CI\", \"key\": \"k\"}" probe; }
taken() { grep -q '"state":"taken"' "$TEST_TMP/h.out"; }
for i in $(seq 1 "$RUNS"); do
	holder_start h "$TOOLS/gate-hold" lock postgres "{\"postgres\": \"$CI\", \"key\": \"k\"}" take -1
	wait_until 10 taken
	t0=$(now_ms)
	kill -KILL "$(cat "$TEST_TMP/h.pid")"
	wait_until 10 free
	echo $(($(now_ms) - t0))
	kill "$(cat "$TEST_TMP/h.writer")"
done 2>/dev/null | stats "free after SIGKILL (probed)"
