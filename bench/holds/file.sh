#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/holds/file.sh: how long taking and releasing a file lock takes (bench/holds/file.md).
#
#   bench/holds/file.sh [BUILD_DIR] [N]
#
# 1. In one process (tests/tools/gate-hold-bench): N takes and releases of
#    the file lock, the median of each, in microseconds.
# 2. Through the real binary: N `gate run` of a runbook with one exec
#    check and a file lock, against the same runbook without the lock;
#    the difference of the medians is what the lock adds to a run.
# Exit 0, 2 on a setup problem.
set -u
B=$(readlink -f "${1:-build}")
N=${2:-50}
[ -x "$B/gate" ] && [ -x "$B/tests/gate-hold-bench" ] || { echo "build first: $B"; exit 2; }
T=$(mktemp -d /tmp/gate-bench-hold.XXXXXX)
trap 'rm -rf "$T"' EXIT
export GATE_STATE_DIR=$T/state NO_COLOR=1
mkdir -m 700 "$T/state"

echo "== in one process: $N takes and releases of {file: $T/b.lock}"
"$B/tests/gate-hold-bench" file "{\"file\":\"$T/b.lock\"}" "$N" |
	python3 -c 'import json,sys; d=json.load(sys.stdin); print("take median %d us, release median %d us (min %d/%d, max %d/%d)" % (d["take_median_us"], d["release_median_us"], min(d["take_us"]), min(d["release_us"]), max(d["take_us"]), max(d["release_us"])))'

for lock in no yes; do
	{
		printf 'version: 1\nname: bench\nchecks:\n  - id: ok\n    type: exec\n    with: {command: ["true"], protocol: exit}\n'
		[ $lock = yes ] && printf 'lock:\n  - file: %s/r.lock\n' "$T"
	} >"$T/$lock.yaml"
	chmod 644 "$T/$lock.yaml"
done
echo "== gate run, $N times each, median wall time (ms)"
python3 - "$B/gate" "$T" "$N" <<'PY'
import statistics, subprocess, sys, time
gate, t, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
# alternated, so that the load of a shared machine weighs on both alike
runs = {"no": [], "yes": []}
for _ in range(n):
    for lock in ("no", "yes"):
        t0 = time.monotonic()
        subprocess.run([gate, "run", "-q", f"{t}/{lock}.yaml", "--", "true"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        runs[lock].append((time.monotonic() - t0) * 1000)
med = {}
for lock, r in runs.items():
    med[lock] = statistics.median(r)
    print(f"lock: {lock:3}  median {med[lock]:.1f} ms  (min {min(r):.1f}, max {max(r):.1f})")
print(f"the file lock adds {med['yes'] - med['no']:.1f} ms to a run (median difference)")
PY
