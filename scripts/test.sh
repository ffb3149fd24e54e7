#!/bin/bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#  1. install what is needed (Debian 12 packages; idempotent);
#  2. build and run the cmocka unit tests under AddressSanitizer and
#     UndefinedBehaviorSanitizer;
#  3. build the libFuzzer targets (fuzz/, clang) and run each briefly
#     (20 s, as many at once as there are CPUs: scripts/fuzz.sh), so that
#     a parser that regressed is caught; a crash, leak or timeout fails;
#  4. build normally and run every test (unit + scenarios against real
#     PostgreSQL, pgBackRest, journald, systemd, Prometheus, Patroni...).
# Options: --no-install (skip step 1), --no-fuzz (skip step 3),
# -R REGEX / -L LABEL (passed to ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
install=1
fuzz=1
ctest_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--no-install) install=0 ;;
	--no-fuzz) fuzz=0 ;;
	-R|-L|-E) ctest_args+=("$1" "$2"); shift ;;
	*) echo "usage: scripts/test.sh [--no-install] [--no-fuzz] [-R REGEX] [-L LABEL]" >&2; exit 64 ;;
	esac
	shift
done
[ "$install" = 1 ] && scripts/install-deps.sh
jobs=$(nproc)

echo "== unit tests under ASan+UBSan"
cmake -S . -B build-asan -DGATE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan -L unit --output-on-failure -j"$jobs"

if [ "$fuzz" = 1 ]; then
	echo "== fuzz targets, 20 s each"
	FUZZ_JOBS=$jobs scripts/fuzz.sh 20
fi

echo "== all tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
ctest --test-dir build --output-on-failure -j"$jobs" "${ctest_args[@]}"
