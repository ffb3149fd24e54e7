#!/bin/bash
# Build the libFuzzer targets (fuzz/fuzz_*.c; clang, ASan+UBSan, UBSan
# findings fatal) in build-fuzz/ and run each for SECONDS (default 20).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      TARGET: runbook, hooks, nagios, ...
#
# Each target works on a copy of its seed corpus (fuzz/corpus/TARGET/, and
# for runbook also every *.yaml of examples/ and policies/) in a temporary
# directory (in /dev/shm when there is one, else $TMPDIR or /tmp; it is
# also the targets' TMPDIR), so the tree is never modified, with its
# dictionary (fuzz/dict/TARGET.dict).  One line per target: name,
# runs, executions per second, result (ok, or crash/leak/timeout/oom with
# the saved input).  Exit status 1 when any target found something (its
# work directory is then kept: replay with build-fuzz/fuzz/fuzz_TARGET FILE).
# Environment: FUZZ_JOBS targets at once (default 1), FUZZ_BUILD_DIR
# (default build-fuzz), FUZZ_KEEP=1 keeps every work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=20
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
	secs=$1
	shift
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in fuzz/fuzz_*.c; do
		f=${f#fuzz/fuzz_}
		targets+=("${f%.c}")
	done
fi
for t in "${targets[@]}"; do
	[ -f "fuzz/fuzz_$t.c" ] || { echo "scripts/fuzz.sh: no target '$t' (fuzz/fuzz_$t.c)" >&2; exit 64; }
done
bd=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_JOBS:-1}
command -v clang >/dev/null || { echo "scripts/fuzz.sh: clang is not installed (scripts/install-deps.sh)" >&2; exit 1; }

echo "== fuzz targets: building in $bd"
cmake -S . -B "$bd" -DGATE_FUZZ=ON -DGATE_TESTS=OFF -DCMAKE_C_COMPILER=clang \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$bd" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null

root=${TMPDIR:-/tmp}
[ -w /dev/shm ] && [ -x /dev/shm ] && root=/dev/shm
work=$(mktemp -d "$root/gate-fuzz.XXXXXX")
# run_one TARGET: fuzz it; writes $work/TARGET/{log,result}
run_one() {
	local t=$1 d=$work/$1 rc=0
	mkdir -p "$d/corpus" "$d/artifacts" "$d/tmp"
	[ -d "fuzz/corpus/$t" ] && cp -R "fuzz/corpus/$t/." "$d/corpus/"
	if [ "$t" = runbook ]; then
		find examples policies -name '*.yaml' | while read -r f; do
			cp "$f" "$d/corpus/tree-$(echo "$f" | tr / _)"
		done
	fi
	local dict=()
	[ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
	TMPDIR=$d/tmp UBSAN_OPTIONS=print_stacktrace=1 "$bd/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$d/artifacts/" -print_final_stats=1 \
		"${dict[@]}" "$d/corpus" >"$d/log" 2>&1 || rc=$?
	local runs eps res art
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log" | tail -n 1)
	art=$(find "$d/artifacts" -type f | head -n 1)
	if [ "$rc" = 0 ] && [ -z "$art" ]; then
		res=ok
	else
		case "${art##*/}" in
		crash-*) res=crash ;;
		leak-*) res=leak ;;
		timeout-*) res=timeout ;;
		oom-*) res=oom ;;
		*) res="failed (exit $rc)" ;;
		esac
		res="$res: ${art:-see $d/log}"
	fi
	printf '%-22s runs %10s  exec/s %7s  %s\n' "$t" "${runs:-?}" "${eps:-?}" "$res" | tee "$d/result"
}

echo "== fuzzing ${#targets[@]} target(s) for ${secs}s each, $jobs at a time (work: $work)"
running=0
for t in "${targets[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	run_one "$t" &
	running=$((running + 1))
done
wait
failed=0
for t in "${targets[@]}"; do
	if ! grep -q '  ok$' "$work/$t/result" 2>/dev/null; then
		failed=$((failed + 1))
		echo "--- $t: the end of $work/$t/log"
		tail -n 30 "$work/$t/log"
	fi
done
if [ "$failed" -gt 0 ]; then
	echo "scripts/fuzz.sh: $failed target(s) found problems; inputs and logs kept in $work"
	exit 1
fi
if [ -n "${FUZZ_KEEP:-}" ]; then
	echo "kept $work"
else
	rm -rf "$work"
fi
echo "== fuzz targets: all ${#targets[@]} clean"
