#!/bin/bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#  1. install what is needed (Debian 12 packages; idempotent);
#  2. check the source's habits (scripts/lint-source.sh: formatted as
#     .clang-format says, no file over 800 lines, no function over 80 without
#     a `/* long:` reason, nothing citing a document outside the repository);
#  3. build under AddressSanitizer and UndefinedBehaviorSanitizer and run
#     every test against that build: unit tests and scenarios, gate and the
#     check children it forks (they inherit the sanitizers; the tools they
#     start are other programs).  A finding fails the test: UBSan aborts
#     (-fno-sanitize-recover), ASan halts, and every report is also written
#     under build-asan/sanitizer-logs, which the test library checks after
#     each script.  Leaks are checked in gate itself; check children end
#     with _exit (async-signal-safe after fork), which skips LeakSanitizer,
#     and valgrind (t0106) looks at their leaks instead.  t0106 runs in
#     step 5 only: valgrind cannot run a sanitizer build;
#  4. build the libFuzzer targets (fuzz/, clang) and run each briefly
#     (20 s, as many at once as there are CPUs: scripts/fuzz.sh), so that
#     a parser that regressed is caught; a crash, leak or timeout fails;
#  5. build normally (what users ship) and run every test again.
# When step 1 ran (CI), a skipped test is a failure: everything the tests
# need is installed by scripts/install-deps.sh (GATE_TEST_NO_SKIP=1).
# Options: --no-install (skip step 1), -R REGEX / -L LABEL / -E REGEX
# (passed to ctest), --no-asan / --asan-only (one of the two runs),
# --no-fuzz (skip step 4).
set -euo pipefail
cd "$(dirname "$0")/.."
install=1 normal=1 asan=1 fuzz=1
ctest_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--no-install) install=0 ;;
	--no-asan) asan=0 ;;
	--asan-only) normal=0 ;;
	--no-fuzz) fuzz=0 ;;
	-R|-L|-E) ctest_args+=("$1" "$2"); shift ;;
	*) echo "usage: scripts/test.sh [--no-install] [--no-asan|--asan-only] [--no-fuzz] [-R REGEX] [-L LABEL] [-E REGEX]" >&2; exit 64 ;;
	esac
	shift
done
if [ "$install" = 1 ]; then
	scripts/install-deps.sh
	export GATE_TEST_NO_SKIP=1
fi
jobs=$(nproc)
fail=0

echo "== source habits (format, file and function sizes, no outside citations)"
scripts/lint-source.sh || fail=1

# ctest_run DIR ARGS...: ctest; a skipped test fails the run under
# GATE_TEST_NO_SKIP (ctest itself counts a skip as no failure).
ctest_run() {
	local dir=$1 log rc=0; shift
	log=$(mktemp)
	ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@" 2>&1 | tee "$log" || rc=$?
	if [ -n "${GATE_TEST_NO_SKIP:-}" ] && grep -q "\*\*\*Skipped\|Not Run" "$log"; then
		echo "== skipped tests (everything they need is installed, so this is a failure):" >&2
		grep "\*\*\*Skipped\|Not Run" "$log" >&2
		rc=1
	fi
	rm -f "$log"
	return $rc
}

if [ "$asan" = 1 ]; then
	echo "== all tests under ASan+UBSan"
	t0=$(date +%s)
	cmake -S . -B build-asan -DGATE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j"$jobs" >/dev/null
	logs=$PWD/build-asan/sanitizer-logs
	rm -rf "$logs" && mkdir -p "$logs" && chmod 1777 "$logs"
	# abort_on_error: a finding kills the process with SIGABRT (a check
	# child's death is an error result, never a pass); log_path: every
	# report is also kept for the test library to fail the test on;
	# intercept_tls_get_addr=0: GCC 12's __tls_get_addr interceptor can
	# take a dynamic TLS block of a dlopen'd family's libraries for a
	# pre-2.25 glibc one and LeakSanitizer's tracer then dies at exit
	# (doc/facts.md).
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1:intercept_tls_get_addr=0:log_path=$logs/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$logs/ubsan \
	GATE_TEST_SANITIZER_LOGS=$logs GATE_TEST_SLACK_MS=10000 \
		ctest_run build-asan -E '^t0106-valgrind$' "${ctest_args[@]}" || fail=1
	if [ -n "$(ls -A "$logs")" ]; then
		echo "== sanitizer reports:" >&2
		tail -n +1 "$logs"/* >&2
		fail=1
	fi
	echo "== ASan+UBSan run took $(( $(date +%s) - t0 ))s"
fi

if [ "$fuzz" = 1 ]; then
	echo "== fuzz targets, 20 s each"
	FUZZ_JOBS=$jobs scripts/fuzz.sh 20 || fail=1
fi

if [ "$normal" = 1 ]; then
	echo "== all tests, normal build"
	t0=$(date +%s)
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j"$jobs" >/dev/null
	ctest_run build "${ctest_args[@]}" || fail=1
	echo "== normal run took $(( $(date +%s) - t0 ))s"
fi
exit $fail
