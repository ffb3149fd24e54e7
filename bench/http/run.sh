#!/bin/bash
# Benchmark: a runbook with N `http` checks against a local server that
# answers after 200 ms.  gate runs checks in parallel, so `gate check` should
# take about 200 ms plus its own overhead, not N x 200 ms.  Compared with N
# sequential curl calls (what a shell script would do) and with `gate -j 1`.
#
#   bench/http/run.sh [RUNS] [N]        (GATE_BIN: the gate binary to time)
set -eu
RUNS=${1:-5}
N=${2:-20}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GATE_BIN=${GATE_BIN:-$ROOT/build/gate}
[ -x "$GATE_BIN" ] || { echo "no gate binary at $GATE_BIN (set GATE_BIN)" >&2; exit 1; }
T=$(mktemp -d /tmp/gate-bench-http.XXXXXX)
PORT=
for i in $(seq 1 50); do
	p=$((20000 + RANDOM % 12000))
	ss -Htan "( sport = :$p or dport = :$p )" | grep -q . || { PORT=$p; break; }
done
/usr/bin/python3 "$ROOT/tests/servers/httpd.py" "$PORT" >"$T/httpd.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$T"' EXIT
until ss -Hltn "sport = :$PORT" | grep -q .; do sleep 0.05; done

{
	printf 'version: 1\nname: bench-http\nchecks:\n'
	for i in $(seq 1 "$N"); do
		printf '  - id: http-%02d\n    type: http\n    with: {url: "http://127.0.0.1:%s/json?_delay=0.2&n=%d"}\n' "$i" "$PORT" "$i"
	done
} >"$T/rb.yaml"
# The same checks without the server's delay: gate's own overhead.
sed 's/_delay=0.2/_delay=0/' "$T/rb.yaml" >"$T/rb0.yaml"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# time_it LABEL CMD...: RUNS runs; prints every run and the median.
time_it() {
	local label=$1; shift
	local times=() t0 t1 r
	for r in $(seq 1 "$RUNS"); do
		t0=$(now_ms)
		"$@" >/dev/null 2>&1 || { [ $? -eq 75 ] && echo "$label: blocked (a check failed)" >&2; }
		t1=$(now_ms)
		times+=($((t1 - t0)))
	done
	local sorted
	sorted=$(printf '%s\n' "${times[@]}" | sort -n)
	printf '%-32s median %5d ms   runs: %s\n' "$label" \
		"$(echo "$sorted" | sed -n "$(((RUNS + 1) / 2))p")" "${times[*]}"
}
sequential_curl() {
	local i
	for i in $(seq 1 "$N"); do
		curl -s -o /dev/null "http://127.0.0.1:$PORT/json?_delay=0.2&n=$i"
	done
}

# The report must say allow: a benchmark of failing checks measures nothing.
"$GATE_BIN" check --format json "$T/rb.yaml" >"$T/report.json" 2>/dev/null ||
	{ echo "gate check did not allow:"; head -c 2000 "$T/report.json"; exit 1; }
echo "# $N http checks, server answers after 200 ms, $RUNS runs each, $(nproc) cores"
time_it "gate check ($N checks, parallel)" "$GATE_BIN" check "$T/rb.yaml"
time_it "gate check ($N checks, no delay)" "$GATE_BIN" check "$T/rb0.yaml"
time_it "gate check -j 1 (sequential)" "$GATE_BIN" check -j 1 "$T/rb.yaml"
time_it "$N sequential curl calls" sequential_curl
