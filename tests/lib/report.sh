# shellcheck shell=bash
# Named runbooks and their JSON reports, for scenario scripts that drive
# `gate check` many times (source after test-lib.sh):
#
#   printf '  - id: a\n    type: exec\n ...' | runbook healthy   # $TEST_TMP/healthy.yaml
#   check healthy            # gate check --format json: healthy.json, .rc, .err
#   rc_is healthy 0          # the exit status (prints the report when not)
#   st healthy a             # status of check a: pass, fail, error...
#   summary healthy a        # its summary
#   detail healthy a .lag    # a member of its details

runbook() { { printf 'version: 1\nname: %s\nchecks:\n' "$1"; cat; } >"$TEST_TMP/$1.yaml"; }
check() {
	local rc=0
	gate check --format json "$TEST_TMP/$1.yaml" >"$TEST_TMP/$1.json" 2>"$TEST_TMP/$1.err" || rc=$?
	echo "$rc" >"$TEST_TMP/$1.rc"
	cat "$TEST_TMP/$1.err" >&2
}
st() { json_get "$TEST_TMP/$1.json" ".checks[?id=$2].status"; }
summary() { json_get "$TEST_TMP/$1.json" ".checks[?id=$2].summary"; }
detail() { json_get "$TEST_TMP/$1.json" ".checks[?id=$2].details$3"; }
rc_is() {
	test "$(cat "$TEST_TMP/$1.rc")" = "$2" ||
		{ echo "exit $(cat "$TEST_TMP/$1.rc"), expected $2"; cat "$TEST_TMP/$1.json"; false; }
}
