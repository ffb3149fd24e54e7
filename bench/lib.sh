# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Helpers shared by the benchmarks in bench/ (sourced, never run):
#
#   bench_median 3 1 2        -> 2      (numbers as arguments, or on stdin)
#   bench_min / bench_max     the smallest / largest
#   bench_spread 1 2 3 4      -> "1-4"  (min-max)
#   bench_now                 seconds since the epoch, microseconds (no fork)
#   bench_init DIR            build bench_run's helper (bench/lib.c, cc) in DIR
#   bench_run CMD...          one timed run: prints "SECONDS MAXRSS_KB EXIT"
#   bench_quiet               wait (bounded) until the machine is quiet
#   bench_quiet_note WHAT     how quiet it was, in a sentence
#   bench_machine             one line: CPU, cores, kernel, load, versions
#
# Medians and spreads, never means: a shared machine's outliers go one way.

# _bench_nums ARGS...: the arguments one a line, or stdin when there are none
_bench_nums() {
	if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cat; fi
}

# bench_median [NUMBERS...]: the median (the mean of the middle two of an
# even count)
bench_median() {
	_bench_nums "$@" | sort -g | awk '{ a[NR] = $1 }
		END { if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
bench_min() { _bench_nums "$@" | sort -g | head -n 1; }
bench_max() { _bench_nums "$@" | sort -g | tail -n 1; }

# bench_spread [NUMBERS...]: "MIN-MAX"
bench_spread() {
	_bench_nums "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR) printf "%s-%s\n", a[1], a[NR] }'
}

# bench_now: the wall clock in seconds with microseconds, without a fork
bench_now() { echo "${EPOCHREALTIME/,/.}"; }

# bench_init DIR: build bench_run's helper (bench/lib.c) into DIR
bench_init() {
	BENCH_RUNNER=$1/bench-run
	cc -O2 -Wall -Wextra -o "$BENCH_RUNNER" "$(dirname "${BASH_SOURCE[0]}")/lib.c"
}

# bench_run CMD...: run CMD once (stdout and stderr to $BENCH_LOG, default
# /dev/null) and print "SECONDS MAXRSS_KB EXIT": the wall time from spawn
# to reap, and ru_maxrss from wait4, which is the largest resident set of
# the process and of the children it reaped (as GNU time reports it).
# Timed by a small C program (bench_init builds it), so neither a shell's
# nor an interpreter's start-up is counted, nor its memory.
bench_run() {
	"${BENCH_RUNNER:?bench_init first}" "${BENCH_LOG:-/dev/null}" "$@"
}

# _bench_cpu: "IDLE TOTAL" jiffies of all CPUs (idle counts iowait too)
_bench_cpu() {
	local _ user nice sys idle iowait irq softirq steal
	read -r _ user nice sys idle iowait irq softirq steal _ </proc/stat
	echo "$((idle + iowait)) $((user + nice + sys + idle + iowait + irq + softirq + steal))"
}

# bench_quiet: wait until the CPUs were at least $BENCH_IDLE percent idle
# (default 90) over one second, at most $BENCH_QUIET_MAX seconds (default
# 10).  Sets BENCH_QUIET_IDLE (the idle percentage last seen) and
# BENCH_QUIET_OK (1: quiet; 0: gave up, load recorded in BENCH_QUIET_LOAD),
# and counts both in BENCH_QUIET_YES, BENCH_QUIET_NO and BENCH_QUIET_LOADS
# for bench_quiet_note.  Returns 0 either way.
BENCH_QUIET_YES=0 BENCH_QUIET_NO=0 BENCH_QUIET_LOADS=()
bench_quiet() {
	local want=${BENCH_IDLE:-90} max=${BENCH_QUIET_MAX:-10} end i0 t0 i1 t1
	end=$(($(date +%s) + max))
	while :; do
		read -r i0 t0 < <(_bench_cpu)
		sleep 1
		read -r i1 t1 < <(_bench_cpu)
		BENCH_QUIET_IDLE=$(((i1 - i0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))
		if [ "$BENCH_QUIET_IDLE" -ge "$want" ]; then
			BENCH_QUIET_OK=1
			BENCH_QUIET_YES=$((BENCH_QUIET_YES + 1))
			return 0
		fi
		if [ "$(date +%s)" -ge "$end" ]; then
			BENCH_QUIET_OK=0
			BENCH_QUIET_LOAD=$(cut -d' ' -f1 /proc/loadavg)
			BENCH_QUIET_NO=$((BENCH_QUIET_NO + 1))
			BENCH_QUIET_LOADS+=("$BENCH_QUIET_LOAD")
			return 0
		fi
	done
}

# bench_quiet_note WHAT: a sentence on how quiet the machine was before
# the WHAT (timings, pairs) bench_quiet was called for
bench_quiet_note() {
	local idle=${BENCH_IDLE:-90}
	if [ "$BENCH_QUIET_NO" = 0 ]; then
		echo "Quiet (≥ $idle % idle over 1 s) before every one of the $BENCH_QUIET_YES $1."
	else
		echo "Quiet (≥ $idle % idle over 1 s) before $BENCH_QUIET_YES of $((BENCH_QUIET_YES + BENCH_QUIET_NO)) $1;" \
			"the other $BENCH_QUIET_NO ran after waiting ${BENCH_QUIET_MAX:-10} s, at load averages" \
			"$(bench_min "${BENCH_QUIET_LOADS[@]}")–$(bench_max "${BENCH_QUIET_LOADS[@]}"): noisy numbers."
	fi
}

# bench_machine: the machine, the versions and the source commit in one line
bench_machine() {
	local cpu pgv brv commit root
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	pgv=$(psql --version 2>/dev/null | awk '{ print $3 }')
	brv=$(pgbackrest version 2>/dev/null | awk '{ print $NF }')
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
	git -C "$root" diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
	printf '%s, %s cores, %s GiB, Linux %s, PostgreSQL %s, pgBackRest %s, gate %s, load average %s\n' \
		"${cpu:-unknown CPU}" "$(nproc)" \
		"$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" \
		"$(uname -r)" "${pgv:-none}" "${brv:-none}" "$commit" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
}
