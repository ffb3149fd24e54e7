#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmarks of the core (runner and CLI), on the real binary:
#
#  1. `gate check` of a runbook with 100 `exec` checks running /bin/true:
#     a child per check, all at once.  Budget: under 100 ms wall (2 cores).
#  2. N slow checks (`sleep 1`) at once: the total is about the slowest
#     (1 s), not the sum (N s).  Budget: under 1.3 s for N=20.
#  3. The same 20 slow checks with -j 4: about 20/4 = 5 s (for comparison).
#
#   bench/core/run.sh [GATE_BIN]
#
# Times with hyperfine when installed (apt-get install hyperfine), else a
# loop of `date`.  Exit 0 within budget, 1 over, 2 on a setup problem.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
gate=${1:-${GATE_BIN:-$src/build/gate}}
budget_fast_ms=${BUDGET_FAST_MS:-100}
budget_slow_ms=${BUDGET_SLOW_MS:-1300}
nslow=${NSLOW:-20}

if [ ! -x "$gate" ]; then
	echo "bench/core: no gate binary at $gate (give it as the first argument)" >&2
	exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# runbook FILE N ARGV-JSON
runbook() {
	python3 - "$@" <<'PY'
import sys
path, n, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("version: 1\nname: bench\ntimeout: 60s\nchecks:\n")
    for i in range(n):
        f.write(f"  - {{id: c{i:03d}, type: exec, with: {{command: {argv}, protocol: exit}}}}\n")
PY
	chmod 644 "$1"
}
runbook "$tmp/fast.yaml" 100 '["/bin/true"]'
runbook "$tmp/slow.yaml" "$nslow" '["sleep", "1"]'

# mean_ms NAME RUNS CMD...: mean wall time in ms (hyperfine's, or a loop's).
mean_ms() {
	local name=$1 runs=$2; shift 2
	if command -v hyperfine >/dev/null 2>&1; then
		hyperfine -N --warmup 2 --runs "$runs" --export-json "$tmp/$name.json" \
			--style none "$*" >/dev/null 2>&1 || true
		python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f %.1f %.1f" % (r["mean"]*1000, r["min"]*1000, r["max"]*1000))' "$tmp/$name.json"
	else
		local i t0 t1 sum=0 min=999999 max=0 d
		for ((i = 0; i < runs; i++)); do
			t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N)
			d=$(( (t1 - t0) / 1000000 )); sum=$((sum + d))
			((d < min)) && min=$d; ((d > max)) && max=$d
		done
		echo "$((sum / runs)) $min $max"
	fi
}

# The checks must really pass (a broken setup must not look fast).
"$gate" check -q "$tmp/fast.yaml" >/dev/null 2>&1 || { echo "bench/core: 100 x /bin/true did not allow" >&2; exit 2; }

export NO_COLOR=1
read -r fast fmin fmax < <(mean_ms fast 20 "$gate" check -q "$tmp/fast.yaml")
read -r slow smin smax < <(mean_ms slow 3 "$gate" check -q "$tmp/slow.yaml")
read -r j4 jmin jmax < <(mean_ms j4 1 "$gate" check -q -j 4 "$tmp/slow.yaml")

printf 'gate check, 100 exec checks of /bin/true:   mean %7.1f ms (min %.1f, max %.1f; budget %d ms)\n' "$fast" "$fmin" "$fmax" "$budget_fast_ms"
printf 'gate check, %d x sleep 1, all at once:       mean %7.1f ms (min %.1f, max %.1f; budget %d ms; the sum would be %d ms)\n' "$nslow" "$slow" "$smin" "$smax" "$budget_slow_ms" "$((nslow * 1000))"
printf 'gate check, %d x sleep 1, -j 4:               %7.1f ms\n' "$nslow" "$j4"

rc=0
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$fast" "$budget_fast_ms" || { echo "bench/core: 100 checks over budget" >&2; rc=1; }
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$slow" "$budget_slow_ms" || { echo "bench/core: slow checks not parallel" >&2; rc=1; }
exit $rc
