# shellcheck shell=bash
# gate's scenario test library, in the style of git's t/test-lib.sh.
#
#   . "$(dirname "$0")/lib/test-lib.sh"
#   test_expect_success 'allow runs the command' '
#       gate run rb.yaml -- touch marker && test -f marker
#   '
#   test_done
#
# Each script gets its own scratch directory $TEST_TMP (world-readable so
# the postgres user can use it), removed at exit along with every process
# registered with test_cleanup.  The last line is "N passed, N failed".

set -u
TEST_NAME=$(basename "$0" .sh)
: "${GATE_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${GATE_BUILD_DIR:=$GATE_SOURCE_DIR/build}"
: "${GATE_BIN:=$GATE_BUILD_DIR/gate}"
: "${GATE_TOOLS_DIR:=$GATE_BUILD_DIR/tests}"
# absolute, since test bodies run in $TEST_TMP
GATE_SOURCE_DIR=$(readlink -f "$GATE_SOURCE_DIR")
GATE_BUILD_DIR=$(readlink -m "$GATE_BUILD_DIR")
GATE_BIN=$(readlink -m "$GATE_BIN")
GATE_TOOLS_DIR=$(readlink -m "$GATE_TOOLS_DIR")
export GATE_SOURCE_DIR GATE_BUILD_DIR GATE_BIN GATE_TOOLS_DIR
export NO_COLOR=1 LC_ALL=C.UTF-8 TZ=UTC
unset GATE_MODULE_PATH

# Under scripts/test.sh's sanitizer run every ASan/UBSan report of this
# script's processes (gate and the check children it forks, which may die
# of a finding without the test seeing it) goes to a file named after the
# script; any such file fails the script at exit.
if [ -n "${GATE_TEST_SANITIZER_LOGS:-}" ]; then
	rm -f "$GATE_TEST_SANITIZER_LOGS/$TEST_NAME".*san.*
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$GATE_TEST_SANITIZER_LOGS/$TEST_NAME.asan"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$GATE_TEST_SANITIZER_LOGS/$TEST_NAME.ubsan"
fi

TEST_TMP=$(mktemp -d "/tmp/gate-$TEST_NAME.XXXXXX")
chmod 755 "$TEST_TMP"
export TEST_TMP
test_count=0 test_pass=0 test_fail=0 test_skip=0
_cleanups=()

gate() { "$GATE_BIN" "$@"; }

# gate_copy DIR: a copy of gate's executable and its families directory
# (the check families and parts it loads from beside itself) under DIR,
# laid out as in the build tree, root's and 0755; prints the copy's path.
# For running gate as another user when the build tree may sit in a
# directory only root can reach (a fresh clone in a 0700 directory).
gate_copy() {
	local exe fam rel
	exe=$(readlink -f "$GATE_BIN")
	fam=$(dirname "$(find "$GATE_BUILD_DIR" -path '*/gate/families/exec.so' | head -n 1)")
	rel=${fam#"$GATE_BUILD_DIR"/}
	mkdir -p -m 755 "$1/bin" "$1/$rel" && chmod -R go-w,a+rX "$1" &&
		cp "$exe" "$1/bin/gate" && cp "$fam"/*.so "$1/$rel/" &&
		chmod -R go-w,a+rX "$1" && echo "$1/bin/gate"
}

# test_cleanup CMD: run CMD (eval'd) at exit, last registered first.
test_cleanup() { _cleanups+=("$1"); }

_test_exit() {
	local rc=$? i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	if [ -n "${GATE_TEST_SANITIZER_LOGS:-}" ] &&
		ls "$GATE_TEST_SANITIZER_LOGS/$TEST_NAME".*san.* >/dev/null 2>&1; then
		echo "not ok - AddressSanitizer/UndefinedBehaviorSanitizer reports from gate or its check children:"
		tail -n +1 "$GATE_TEST_SANITIZER_LOGS/$TEST_NAME".*san.* | sed 's/^/#   /' | head -n 200
		rc=1
	fi
	if [ -n "${TEST_KEEP:-}" ]; then
		echo "# kept $TEST_TMP" >&2
	else
		rm -rf "$TEST_TMP"
	fi
	exit $rc
}
trap _test_exit EXIT
trap 'exit 130' INT TERM

# write_rb FILE: stdin into FILE, mode 0644 (a runbook gate trusts).
write_rb() { cat >"$1"; chmod 644 "$1"; }

# write_pass_rb FILE [NAME]: a runbook of one exec check that passes.
write_pass_rb() {
	write_rb "$1" <<-EOF
	version: 1
	name: ${2:-pass}
	checks:
	  - id: ok
	    type: exec
	    with:
	      command: ["true"]
	      protocol: exit
	EOF
}

say() { printf '# %s\n' "$*"; }

test_expect_success() {
	local desc=$1 body=$2
	test_count=$((test_count + 1))
	local out="$TEST_TMP/.test-$test_count.out"
	# Each body runs in the script's scratch directory: relative files a
	# test writes never land in the caller's working tree.
	# Not inside `if`: bash ignores set -e in a condition, and a failing
	# command in the middle of a body must fail the test.
	# Nor on the left of || or &&: the subshell stands alone.
	local rc had_e=
	case $- in *e*) had_e=1; set +e ;; esac
	(cd "$TEST_TMP" || exit 1; set -e; eval "$body") >"$out" 2>&1
	rc=$?
	[ -n "$had_e" ] && set -e
	if [ "$rc" -eq 0 ]; then
		test_pass=$((test_pass + 1))
		echo "ok $test_count - $desc"
	else
		test_fail=$((test_fail + 1))
		echo "not ok $test_count - $desc"
		sed 's/^/#   /' "$out" | tail -n 40
	fi
}


# test_expect_failure DESC BODY: a known breakage, named in the script with
# what must change (git's t/test-lib.sh does the same).  A failing body is
# reported "# TODO known breakage" and does not fail the script; a body
# that passes says the breakage vanished: make it test_expect_success.
test_expect_failure() {
	local desc=$1 body=$2
	test_count=$((test_count + 1))
	local out="$TEST_TMP/.test-$test_count.out" rc had_e=
	case $- in *e*) had_e=1; set +e ;; esac
	(cd "$TEST_TMP" || exit 1; set -e; eval "$body") >"$out" 2>&1
	rc=$?
	[ -n "$had_e" ] && set -e
	if [ "$rc" -eq 0 ]; then
		test_pass=$((test_pass + 1))
		echo "ok $test_count - $desc # TODO known breakage vanished: make it test_expect_success"
	else
		echo "not ok $test_count - $desc # TODO known breakage"
	fi
}

# test_skip DESC REASON: count a test that cannot run here, and say why.
# A script with a skipped case and no failure exits 77, which ctest reports
# as skipped (SKIP_RETURN_CODE), never as passed.  With GATE_TEST_NO_SKIP=1
# (scripts/test.sh sets it after installing the dependencies, as CI does)
# a skip is a failure that names what is missing: everything a test needs
# is installed by scripts/install-deps.sh.
test_skip() {
	test_count=$((test_count + 1))
	if [ -n "${GATE_TEST_NO_SKIP:-}" ]; then
		test_fail=$((test_fail + 1))
		echo "not ok $test_count - $1 # SKIP not allowed (GATE_TEST_NO_SKIP): $2"
		return 0
	fi
	test_skip=$((test_skip + 1))
	echo "ok $test_count - $1 # SKIP $2"
}

test_done() {
	echo "$test_pass passed, $test_fail failed, $test_skip skipped"
	[ "$test_fail" -eq 0 ] || exit 1
	[ "$test_skip" -eq 0 ] || exit 77
	exit 0
}

# --- assertions (print what was wrong before failing) ---
test_cmp() { diff -u "$1" "$2"; }
test_grep() {
	# test_grep [-v] [grep options] PATTERN FILE
	local neg=
	if [ "$1" = "-v" ]; then neg=1; shift; fi
	if [ -n "$neg" ]; then
		if grep "$@"; then echo "unexpected match: $*"; return 1; fi
	else
		if ! grep "$@" >/dev/null; then
			echo "no match for: $*"; echo "--- in ${*: -1}:"; cat "${*: -1}" 2>/dev/null | head -n 60; return 1
		fi
	fi
}
# expect_status N CMD...: run CMD, require exit status N.
expect_status() {
	local want=$1; shift
	local got=0
	"$@" || got=$?
	if [ "$got" != "$want" ]; then echo "expected status $want, got $got: $*" >&2; return 1; fi
}
# json_get FILE JQ-LIKE-PATH: read a value from a JSON file with python3
# (the one-liner keeps tests free of a jq dependency).  Path: .a.b[0].c
json_get() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, re, sys
v = json.load(open(sys.argv[1]))
for part in re.findall(r'\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[\?id=([^\]]+)\]', sys.argv[2]):
    key, idx, sel = part
    if key:
        v = v[key]
    elif idx:
        v = v[int(idx)]
    else:
        v = next(c for c in v if c.get("id") == sel)
print(json.dumps(v) if isinstance(v, (dict, list)) or v is None or isinstance(v, bool) else v)
PY
}

# free_port: print a TCP port on 127.0.0.1 that nothing listens on, below
# the ephemeral range (32768-60999), where an outgoing connection may hold it.
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		if ! ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null | grep -q .; then
			# not listening and no connection uses it
			echo "$p"; return 0
		fi
	done
	return 1
}

# wait_until TIMEOUT_S CMD...: poll CMD every 0.1 s until it succeeds: wait
# for a state, never sleep for an ordering.
wait_until() {
	local end=$(( $(test_now_ms) + $1 * 1000 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(test_now_ms)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# --- time ---
# test_now_ms: a monotonic clock in ms (/proc/uptime, 10 ms steps; the wall
# clock can be stepped by NTP while a test measures).
test_now_ms() {
	local up
	read -r up _ </proc/uptime
	echo $(( 10#${up/./} * 10 ))
}
# Time bounds in tests (ISSUE 10: "never a bound tighter than load can
# explain"): a lower bound only where a timer guarantees it (a deadline, a
# sleep of N s, less the 10 ms of test_now_ms), an upper bound only as what
# is expected plus TEST_SLACK_MS, the delay a loaded machine can add (the
# suite runs beside other work, ctest -j, under sanitizers or valgrind).
# scripts/test.sh raises it for the sanitizer build.
: "${GATE_TEST_SLACK_MS:=5000}"
TEST_SLACK_MS=$GATE_TEST_SLACK_MS

# require_cmd CMD...: the test script cannot run without them.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || { echo "# $TEST_NAME: missing $c (run scripts/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
	done
}

[ -x "$GATE_BIN" ] || { echo "# gate binary not found at $GATE_BIN (build first)"; echo "0 passed, 1 failed"; exit 1; }

# No assertion may be swallowed: set -e does not stop a body at a failure
# inside an && / || list (only at its last command), so an `|| true` in a
# chain of assertions hides every failure before it.  Every script is
# checked once, before its tests run (tests/lib/lint-swallow.py); a finding
# is a failed test.  (GATE_TEST_NO_LINT is for tests/t0000-test-lib.sh.)
if [ -z "${GATE_TEST_NO_LINT:-}" ] &&
	! _lint_out=$(/usr/bin/python3 "$GATE_SOURCE_DIR/tests/lib/lint-swallow.py" "$0" 2>&1); then
	test_count=$((test_count + 1)) test_fail=$((test_fail + 1))
	echo "not ok $test_count - lint: an assertion can be swallowed"
	printf '%s\n' "$_lint_out" | sed 's/^/#   /'
fi
