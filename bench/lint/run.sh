#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark: `gate lint` of a runbook with 10,000 checks (the loader's
# limit).  Budget (runbook loader task): under 200 ms and under 64 MB max
# RSS.  Times with hyperfine when installed (apt-get install hyperfine),
# else a loop; max RSS from GNU time (apt-get install time).
#
#   bench/lint/run.sh [GATE_BIN] [NCHECKS]
#
# Exit 0 when within budget, 1 when over, 2 on a setup problem.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
gate=${1:-${GATE_BIN:-$src/build/gate}}
n=${2:-10000}
budget_ms=${BUDGET_MS:-200}
budget_kb=${BUDGET_KB:-65536}

if [ ! -x "$gate" ]; then
	echo "bench/lint: no gate binary at $gate (give it as the first argument)" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The exec type when registered, else whichever type `gate checks` lists
# first that needs nothing but what we give it.
type=exec
if ! "$gate" checks exec >/dev/null 2>&1; then
	type=$("$gate" checks 2>/dev/null | awk 'NR==1 {print $1}')
	[ -n "$type" ] || { echo "bench/lint: no check type registered" >&2; exit 2; }
	echo "bench/lint: exec is not registered; using $type" >&2
fi

rb=$tmp/big.yaml
python3 - "$rb" "$n" "$type" <<'PY'
import sys
path, n, typ = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("version: 1\nname: lint-bench\n")
    f.write("description: %d checks, every one with vars, durations and params\n" % n)
    f.write("vars:\n  p: /usr/lib/nagios/plugins\n  m: /var/lib/postgresql\n")
    f.write("command: [\"apt-get\", \"install\", \"-y\", \"postgresql-15\"]\n")
    f.write("allow_commands: [\"apt-get *\"]\ntimeout: 10m\n")
    f.write("window:\n  - {days: [sat, sun], start: \"01:00\", end: \"05:00\", timezone: Europe/Berlin}\n")
    f.write("freeze:\n  - {from: 2026-12-20T00:00:00Z, to: 2027-01-04T00:00:00Z, reason: year end}\n")
    f.write("checks:\n")
    # 10,000 checks must fit the 1 MiB file limit: ~90 bytes each, so
    # flow style, still with a var, a duration and a parameter list.
    for i in range(n):
        sev = ", severity: warn" if i % 7 == 0 else ""
        if typ == "exec":
            f.write("  - {id: d%05d, type: exec, timeout: 90s%s, with: {command: [\"${p}/check_disk\", -p, \"${m}\"]}}\n" % (i, sev))
        else:
            f.write("  - {id: disk-%05d, type: %s, timeout: 1m30s%s}\n" % (i, typ, sev))
PY
chmod 0644 "$rb"
echo "bench/lint: $(wc -c <"$rb") bytes, $n checks of type $type"

# Correctness first: the runbook must lint clean.
if ! "$gate" lint "$rb" >"$tmp/lint.out" 2>&1; then
	echo "bench/lint: gate lint failed:" >&2
	cat "$tmp/lint.out" >&2
	exit 2
fi

if command -v hyperfine >/dev/null; then
	hyperfine -N --warmup 3 --runs 30 --export-json "$tmp/h.json" \
		"$gate lint $rb" >/dev/null 2>&1
	read -r mean max < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%.1f %.1f" % (r["mean"] * 1000, r["max"] * 1000))' "$tmp/h.json")
	how="hyperfine, 30 runs"
else
	runs=20
	start=$(date +%s%N)
	max=0
	for _ in $(seq $runs); do
		s=$(date +%s%N)
		"$gate" lint "$rb" >/dev/null
		e=$(( ($(date +%s%N) - s) / 1000000 ))
		[ "$e" -gt "$max" ] && max=$e
	done
	mean=$(( ($(date +%s%N) - start) / 1000000 / runs ))
	how="loop, $runs runs"
fi

if [ -x /usr/bin/time ]; then
	/usr/bin/time -v "$gate" lint "$rb" >/dev/null 2>"$tmp/time.out"
	rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.out")
else
	echo "bench/lint: /usr/bin/time missing (apt-get install time)" >&2
	exit 2
fi

echo "bench/lint: gate lint, $n checks: mean ${mean} ms, max ${max} ms ($how); max RSS ${rss_kb} kB"
echo "bench/lint: budget ${budget_ms} ms, ${budget_kb} kB"
over=0
awk -v m="$mean" -v b="$budget_ms" 'BEGIN {exit !(m >= b)}' && { echo "bench/lint: OVER the time budget" >&2; over=1; }
[ "$rss_kb" -ge "$budget_kb" ] && { echo "bench/lint: OVER the memory budget" >&2; over=1; }
exit $over
