#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/startup: what every gate invocation pays before it does anything,
# pair by pair against the least the machine can do:
#
#   gate version                          vs /bin/true
#   gate help                             vs /bin/true
#   gate lint of a small runbook          vs /bin/true
#     (10 exec checks of /bin/true)
#   gate check of that runbook            vs a shell loop running /bin/true
#                                            10 times (sh -c, dash on Debian)
#
#   bench/startup/run.sh                  (RUNS pairs, default 20; GATE_BIN)
#
# Each pair runs back to back (the order alternates) after the machine was
# quiet (bench/lib.sh bench_quiet); every command must exit 0.  Prints a
# table of medians, min-max spreads and the median of the per-pair ratios,
# next to issue 13's targets (3x for version, help, lint; 1.5x for check),
# and writes it to $RESULTS (default bench/startup/RESULTS.md).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GATE_BIN=${GATE_BIN:-$ROOT/build/gate}
RUNS=${RUNS:-20}
RESULTS=${RESULTS:-$ROOT/bench/startup/RESULTS.md}
[ -x "$GATE_BIN" ] || { echo "bench/startup: no gate binary at $GATE_BIN (build, or set GATE_BIN)" >&2; exit 2; }
T=$(mktemp -d /tmp/gate-bench-startup.XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$ROOT/bench/lib.sh"
bench_init "$T"
export GATE_STATE_DIR=$T/state NO_COLOR=1
mkdir -m 700 "$GATE_STATE_DIR"

{
	printf 'version: 1\nname: bench-startup\nchecks:\n'
	for i in $(seq -w 1 10); do
		printf '  - {id: t%s, type: exec, with: {command: [/bin/true], protocol: exit}}\n' "$i"
	done
} >"$T/rb.yaml"
chmod 644 "$T/rb.yaml"
LOOP=(sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done')

PAIRS=(version help lint check)
# argv NAME A|B: the two commands of a pair, in ARGV
argv() {
	case $1:$2 in
	version:A) ARGV=("$GATE_BIN" version) ;;
	help:A) ARGV=("$GATE_BIN" help) ;;
	lint:A) ARGV=("$GATE_BIN" lint "$T/rb.yaml") ;;
	check:A) ARGV=("$GATE_BIN" check "$T/rb.yaml") ;;
	check:B) ARGV=("${LOOP[@]}") ;;
	*:B) ARGV=(/bin/true) ;;
	esac
}
# one NAME A|B: one timed run that must pass, appended to $T/NAME.A|B
one() {
	local s rss rc
	argv "$1" "$2"
	read -r s rss rc < <(BENCH_LOG=$T/last.log bench_run "${ARGV[@]}")
	[ "$rc" = 0 ] || { echo "bench/startup: ${ARGV[*]} failed (exit $rc):" >&2; cat "$T/last.log" >&2; exit 1; }
	echo "$s $rss" >>"$T/$1.$2"
}

MACHINE=$(bench_machine)
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
for p in "${PAIRS[@]}"; do one "$p" A; one "$p" B; rm -f "$T/$p.A" "$T/$p.B"; done # warm-up
for ((r = 0; r < RUNS; r++)); do
	for p in "${PAIRS[@]}"; do
		bench_quiet
		if ((r % 2)); then one "$p" B; one "$p" A; else one "$p" A; one "$p" B; fi
	done
done

col() { awk '{ printf "%.3f\n", $1 * 1000 }' "$T/$1.$2"; }
cell() { printf '%.2f ms (%s)' "$(col "$1" "$2" | bench_median)" \
	"$(col "$1" "$2" | bench_spread | awk -F- '{ printf "%.2f–%.2f", $1, $2 }')"; }
{
	echo "# bench/startup: gate's fixed cost"
	echo
	echo "Measured $STARTED by \`bench/startup/run.sh\`, $RUNS interleaved pairs"
	echo "(medians, min–max in brackets; ratio: median of the per-pair ratios)."
	echo
	echo "- Machine: $MACHINE"
	echo "- $(bench_quiet_note pairs)"
	echo
	echo "| gate | time | against | time | ratio | target | gate peak RSS |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	for p in "${PAIRS[@]}"; do
		case $p in
		version) what='`gate version`' base='`/bin/true`' target=3 ;;
		help) what='`gate help`' base='`/bin/true`' target=3 ;;
		lint) what='`gate lint`, 10 exec checks' base='`/bin/true`' target=3 ;;
		check) what='`gate check`, 10 exec checks of /bin/true' base='`sh -c` loop, /bin/true 10 times' target=1.5 ;;
		esac
		ratio=$(paste -d' ' "$T/$p.A" "$T/$p.B" | awk '{ printf "%.6f\n", $1 / $3 }' | bench_median)
		printf '| %s | %s | %s | %s | %.1f× | ≤ %s× (%s) | %.1f MB |\n' "$what" "$(cell "$p" A)" "$base" "$(cell "$p" B)" \
			"$ratio" "$target" "$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r <= t ? "met" : "missed") }')" \
			"$(awk '{ print $2 }' "$T/$p.A" | bench_median | awk '{ print $1 / 1024 }')"
	done
	echo
	echo "Shared libraries gate's executable loads at start: $(ldd "$GATE_BIN" | grep -c "=> /") (ldd; the loader and the vDSO not counted)."
} >"$T/results.md"
cp "$T/results.md" "$RESULTS"
cat "$T/results.md"
