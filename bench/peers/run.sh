#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/peers: gate against what people use today, on the same fixture and
# the same judgements, in the same run, pair by pair.
#
#   bench/peers/run.sh [N...]          default: N = 1 4 16 replicas
#
# For each N (ascending; the fixture grows, bench/peers/fixture.sh): a
# PostgreSQL primary + N streaming replicas, a pgBackRest repository with a
# full backup (the primary archives into it), an HTTP health endpoint, all
# on loopback.  Then RUNS rounds (default 10) of, each whole process:
#
#   gate check       the runbook: postgres.replica per replica,
#                    postgres.archiver, pgbackrest.backup (info only), http
#   DBA script       bench/peers/dba-check.sh: psql per server, pgbackrest
#                    info + jq, curl, one after another
#   check_postgres   bench/peers/check-postgres.sh: connection, archive_ready,
#                    hot_standby_delay per replica (no pgBackRest, no HTTP)
#   floor            bench/peers/floor.c: one parallel round of libpq
#                    connections in one process, one query each, judged
#   pgbackrest info  alone: the slowest single tool gate must run
#
# The order rotates from round to round; before each timing the machine
# must have been quiet (bench/lib.sh bench_quiet: BENCH_IDLE percent idle
# over one second, waiting at most BENCH_QUIET_MAX seconds; the timings
# taken without are counted and the load recorded).  Each command must
# pass (exit 0) every time.  Reports medians and min-max spreads, the ratios
# of issue 13's targets as medians of per-round ratios, and gate's peak RSS
# (ru_maxrss from wait4: gate and the children it reaped).  Writes the
# table to $RESULTS (default bench/peers/RESULTS.md) and prints it.
#
# Run as root (PostgreSQL and pgBackRest run as the postgres user) after
# scripts/install-deps.sh and the build; GATE_BIN (default build/gate).
# Everything lives in a temporary directory and is stopped at exit.  The
# only trace outside it: gate audits each decision to the systemd journal
# when one listens, as it does in use.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/peers
GATE_BIN=${GATE_BIN:-$ROOT/build/gate}
RUNS=${RUNS:-10}
RESULTS=${RESULTS:-$HERE/RESULTS.md}
# shellcheck disable=SC2046
set -- $(printf '%s\n' "${@:-1 4 16}" | tr ' ' '\n' | sort -n | uniq)
SIZES=$*
PEERS_MAXN=${!#}

[ "$(id -u)" = 0 ] || { echo "bench/peers: run as root (the servers run as postgres)" >&2; exit 2; }
[ -x "$GATE_BIN" ] || { echo "bench/peers: no gate binary at $GATE_BIN (build, or set GATE_BIN)" >&2; exit 2; }
for t in psql pgbackrest jq curl cc pkg-config ss; do
	command -v "$t" >/dev/null || { echo "bench/peers: $t is missing (scripts/install-deps.sh)" >&2; exit 2; }
done
command -v check_postgres.pl >/dev/null || command -v check_postgres >/dev/null ||
	{ echo "bench/peers: check_postgres is missing (scripts/install-deps.sh)" >&2; exit 2; }

T=$(mktemp -d /tmp/gate-bench-peers.XXXXXX)
. "$ROOT/bench/lib.sh"
. "$HERE/fixture.sh"
trap 'peers_down; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
export GATE_STATE_DIR=$T/state NO_COLOR=1
mkdir -m 700 "$GATE_STATE_DIR"
bench_init "$T"

# shellcheck disable=SC2046
cc -O2 -Wall -Wextra -o "$T/floor" "$HERE/floor.c" $(pkg-config --cflags --libs libpq)
MACHINE_START=$(bench_machine)
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
t0=$(date +%s)
peers_up
echo "# fixture: primary, pgBackRest full backup, HTTP server up in $(($(date +%s) - t0)) s" >&2

TOOLS=(gate script check_postgres floor pgbr_info)
for n in $SIZES; do
	peers_prepare "$n"
	for tool in "${TOOLS[@]}"; do peers_check "$n" "$tool"; done
	for ((r = 0; r < RUNS; r++)); do
		for ((k = 0; k < ${#TOOLS[@]}; k++)); do
			peers_measure "$n" "${TOOLS[$(((r + k) % ${#TOOLS[@]}))]}"
		done
		echo "# N=$n: round $((r + 1))/$RUNS" >&2
	done
done

# ---- the table ----
col() { awk '{ print $1 }' "$T/t.$1.$2"; }       # col N TOOL: seconds, by round
cell() { # cell N TOOL: "median (min–max)", in s from 1 s up, else in ms
	local m lo hi
	m=$(col "$1" "$2" | bench_median)
	IFS=- read -r lo hi <<<"$(col "$1" "$2" | bench_spread)"
	awk -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN {
		if (m >= 1) printf "%.2f s (%.2f–%.2f)", m, lo, hi
		else printf "%.1f ms (%.1f–%.1f)", m * 1000, lo * 1000, hi * 1000 }'
}
ratio() { # ratio N A B: median over rounds of A/B, with its spread
	local rs
	rs=$(paste -d' ' <(col "$1" "$2") <(col "$1" "$3") | awk '{ printf "%.6f\n", $1 / $2 }')
	printf '%.1f× (%s)' "$(bench_median <<<"$rs")" \
		"$(bench_spread <<<"$rs" | awk -F- '{ printf "%.1f–%.1f", $1, $2 }')"
}
rval() { paste -d' ' <(col "$1" "$2") <(col "$1" "$3") | awk '{ printf "%.6f\n", $1 / $2 }' | bench_median; }
rss_mb() { awk '{ print $2 }' "$T/t.$1.gate" | bench_median | awk '{ printf "%.1f", $1 / 1024 }'; }

{
	echo "# bench/peers: gate against the tools people use"
	echo
	echo "Measured $STARTED by \`bench/peers/run.sh $SIZES\`, $RUNS interleaved rounds"
	echo "(medians, min–max in brackets; ratios: median of the per-round ratios)."
	echo
	echo "- Machine: $MACHINE_START"
	echo "- At the end: load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- $(bench_quiet_note timings)"
	echo
	echo "| N replicas | gate check | floor: one parallel libpq round | DBA script (psql, pgbackrest, curl) | check_postgres | pgbackrest info alone | gate ÷ floor | script ÷ gate | check_postgres ÷ gate | gate ÷ pgbackrest info | gate peak RSS |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	for n in $SIZES; do
		echo "| $n | $(cell "$n" gate) | $(cell "$n" floor) | $(cell "$n" script) | $(cell "$n" check_postgres) | $(cell "$n" pgbr_info) | $(ratio "$n" gate floor) | $(ratio "$n" script gate) | $(ratio "$n" check_postgres gate) | $(ratio "$n" gate pgbr_info) | $(rss_mb "$n") MB |"
	done
	echo
	echo "Issue 13's targets:"
	echo
	target() { # target LABEL VALUE OP BOUND UNIT
		local ok
		ok=$(awk -v v="$2" -v b="$4" -v op="$3" 'BEGIN { print ((op == "<=" ? v <= b : v >= b) ? "met" : "missed") }')
		printf -- '- %s: %.1f%s (target %s %s%s): %s\n' "$1" "$2" "$5" "$3" "$4" "$5" "$ok" | sed 's/<=/≤/; s/>=/≥/'
	}
	big=${!#}
	case " $SIZES " in *" 16 "*) big=16 ;; esac
	target "gate ÷ floor at N=$big" "$(rval "$big" gate floor)" "<=" 1.5 ×
	target "script ÷ gate at N=$big" "$(rval "$big" script gate)" ">=" 10 ×
	target "check_postgres ÷ gate at N=$big" "$(rval "$big" check_postgres gate)" ">=" 80 ×
	target "gate ÷ pgbackrest info at N=$1" "$(rval "$1" gate pgbr_info)" "<=" 2 ×
	target "gate's peak RSS at N=$big" "$(rss_mb "$big")" "<=" 16 " MB"
	echo
	echo "The floor runs only the PostgreSQL part (no pgBackRest, no HTTP);"
	echo "check_postgres covers only PostgreSQL too (it has no action for the others)."
	echo "Peak RSS: ru_maxrss of gate's process from wait4 (gate and the children it reaped)."
} >"$T/results.md"
cp "$T/results.md" "$RESULTS"
cat "$T/results.md"
