# shellcheck shell=bash
# One check "b" of type $RB_TYPE, its with: from stdin, judged over and over
# (source after test-lib.sh, with RB_NAME and RB_TYPE set):
#
#   write_rb ok.yaml <<-EOF     # the with: lines, unindented
#   path: /backups/*
#   EOF
#   run_check ok.yaml 0          # gate check --format json > out.json; exit status 0 (default 75)
#   expect pass "backup * verified*"   # status, and the summary matching a glob
#   detail .age_s                # a member of the check's details

write_rb() {
	{
		printf 'version: 1\nname: %s\nchecks:\n  - id: b\n    type: %s\n' "${RB_NAME:?}" "${RB_TYPE:?}"
		printf '    timeout: %s\n    with:\n' "${RB_TIMEOUT:-60s}"
		sed 's/^/      /'
	} > "$1"
}
run_check() { expect_status "${2:-75}" gate check --format json "$1" > out.json 2> err.txt; }
status() { json_get out.json '.checks[?id=b].status'; }
summary() { json_get out.json '.checks[?id=b].summary'; }
detail() { json_get out.json ".checks[?id=b].details$1"; }
expect() {
	local s; s=$(status); local m; m=$(summary)
	echo "status=$s summary=$m"
	[ "$s" = "$1" ] || { echo "expected status $1"; return 1; }
	case "$m" in $2) ;; *) echo "summary does not match: $2"; return 1 ;; esac
}
