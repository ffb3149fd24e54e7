#!/usr/bin/env bash
# The report formats through the real binary, with real exec checks
# (/bin/true, /bin/false): JSON fields on stdout and in -o FILE (exit_status
# after a run), text -q / -v / overrides / dry-run, JUnit validated by
# xmllint, TAP read by prove (its verdict is the decision), Nagios lines and
# exit statuses, and no password in any format.
. "$(dirname "$0")/lib/test-lib.sh"

require_cmd xmllint prove python3
cd "$TEST_TMP" || exit 1
SECRET=hunter2-0201
PGPORT=$(free_port)

# check ID SEVERITY OVERRIDABLE ARGV...: one exec check (exit protocol).
check() {
	local id=$1 sev=$2 ovr=$3; shift 3
	local args="" a
	for a in "$@"; do args="$args\"$a\", "; done
	cat <<EOF
  - id: $id
    type: exec
    severity: $sev
    overridable: $ovr
    hint: run $id by hand
    with:
      command: [${args%, }]
      protocol: exit
EOF
}
rb() { # rb NAME: the runbook header; the checks follow on stdin
	{ printf 'version: 1\nname: %s\ndescription: report formats %s\nchecks:\n' "$1" "$1"; cat; } >"$1.yaml"
	chmod 644 "$1.yaml"
}
check probe block true /bin/true | rb pass
{ check probe block true /bin/false; check hard block false /bin/false; check fine block false /bin/true; } | rb block
{ check probe block false /bin/true; check disk warn false /bin/false; } | rb warn
{ check probe block false /bin/true; cat <<EOF
  - id: pgwarn
    type: postgres.replication
    severity: warn
    timeout: 3s
    with:
      conninfo: "host=127.0.0.1 port=$PGPORT user=gate password=$SECRET dbname=postgres"
  - id: chatty
    type: exec
    severity: warn
    with:
      command: ["/bin/sh", "-c", "echo 'CRITICAL - postgresql://gate:$SECRET@db1/x: host=db1 password=$SECRET refused'; echo 'PGPASSWORD=$SECRET'; exit 2"]
EOF
} | rb secret

test_expect_success 'json: the doc/report.md fields of a block' '
	expect_status 75 gate check -f json block.yaml >r.json 2>err &&
	test "$(json_get r.json .decision)" = block &&
	test "$(json_get r.json .mode)" = check &&
	test "$(json_get r.json .runbook)" = block &&
	test "$(json_get r.json .runbook_path)" = block.yaml &&
	test "$(json_get r.json .gate_version)" = "$(gate version | head -1 | awk "{print \$2}")" &&
	test "$(json_get r.json .exit_status)" = null &&
	test "$(json_get r.json ".checks[?id=probe].status")" = fail &&
	test "$(json_get r.json ".checks[?id=fine].status")" = pass &&
	test "$(json_get r.json ".checks[?id=probe].severity")" = block &&
	test "$(json_get r.json ".checks[?id=probe].hint")" = "run probe by hand" &&
	test "$(json_get r.json ".checks[?id=probe].overridden")" = false &&
	test "$(json_get r.json ".checks[?id=probe].attempts")" = 1 &&
	json_get r.json ".checks[?id=probe].duration_ms" | grep -Eq "^[0-9.]+$" &&
	json_get r.json ".checks[?id=probe].details" | grep -q "{" &&
	json_get r.json .started_at | grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$" &&
	json_get r.json ".reasons[0]" | grep -q "^probe: " &&
	json_get r.json ".reasons[1]" | grep -q "^hard: " &&
	test "$(json_get r.json .overrides)" = "[]"
'

test_expect_success 'json -o after a run: exit_status and mode run' '
	expect_status 4 gate run -q -o r2.json pass.yaml -- sh -c "exit 4" >/dev/null &&
	test "$(json_get r2.json .exit_status)" = 4 &&
	test "$(json_get r2.json .decision)" = allow &&
	test "$(json_get r2.json .mode)" = run &&
	test "$(json_get r2.json ".command[0]")" = sh
'

test_expect_success 'dry-run: the command that would run, in text and json' '
	gate run --dry-run pass.yaml -- apt-get install -y postgresql-15 >out &&
	test_grep "^command  apt-get install -y postgresql-15 (would run)$" out &&
	test_grep "^ALLOWED " out &&
	gate run --dry-run -f json pass.yaml -- apt-get install -y postgresql-15 >r.json &&
	test "$(json_get r.json .mode)" = dry-run &&
	test "$(json_get r.json ".command[3]")" = postgresql-15
'

test_expect_success 'text: failures expanded with hint, banner with reasons; -q and -v' '
	expect_status 75 gate check block.yaml >out &&
	test_grep "^FAIL  probe " out &&
	test_grep "^PASS  fine " out &&
	test_grep "^        hint: run probe by hand$" out &&
	test_grep "^BLOCKED  block: 2 reasons$" out &&
	test_grep "^  - probe: " out &&
	expect_status 75 gate check -q block.yaml >q &&
	test_grep -v "PASS" q &&
	test_grep "^BLOCKED" q &&
	gate check pass.yaml >plain &&
	gate check -v pass.yaml >verbose &&
	test_grep -v "exit_code: 0" plain &&
	test_grep "exit_code: 0" verbose
'

test_expect_success 'text: an override applied, one refused' '
	expect_status 75 gate check --override probe --override hard --reason "INC-0201" block.yaml >out &&
	test_grep "^OVRD  probe .*(overridden, was fail)" out &&
	test_grep "^FAIL  hard .*(override refused: not overridable)" out &&
	test_grep "^override probe: applied (reason: INC-0201)$" out &&
	test_grep "^override hard: not applied: not overridable" out &&
	expect_status 75 gate check -f json --override probe --reason "INC-0201" block.yaml >r.json &&
	test "$(json_get r.json ".checks[?id=probe].status")" = overridden &&
	test "$(json_get r.json ".overrides[0].reason")" = INC-0201
'

test_expect_success 'junit: valid XML, one testcase per check plus the decision' '
	expect_status 75 gate check -f junit block.yaml >j.xml &&
	xmllint --noout j.xml &&
	test "$(xmllint --xpath "count(/testsuite/testcase)" j.xml)" = 4 &&
	test "$(xmllint --xpath "count(/testsuite/testcase/failure)" j.xml)" = 3 &&
	xmllint --xpath "string(//testcase[@name=\"probe\"]/failure/@message)" j.xml | grep -q . &&
	gate check -f junit pass.yaml >p.xml &&
	xmllint --noout p.xml &&
	test "$(xmllint --xpath "count(//failure)" p.xml)" = 0
'

test_expect_success 'tap: prove reads it and agrees with the decision' '
	expect_status 75 gate check -f tap block.yaml >b.tap &&
	head -2 b.tap | tr "\n" " " | grep -q "^TAP version 13 1\.\.4 $" &&
	! prove -e cat b.tap >prove.out 2>&1 &&
	test_grep -v "Parse errors" prove.out &&
	gate check -f tap warn.yaml >w.tap &&
	test_grep "^not ok 2 - disk: .* # TODO" w.tap &&
	prove -e cat w.tap >prove.out 2>&1 &&
	test_grep "Result: PASS" prove.out
'

test_expect_success 'nagios: one line, OK 0 / WARNING 1 / CRITICAL 2' '
	expect_status 0 gate check -f nagios pass.yaml >n0 &&
	expect_status 1 gate check -f nagios warn.yaml >n1 &&
	expect_status 2 gate check -f nagios block.yaml >n2 &&
	for f in n0 n1 n2; do test "$(wc -l <$f)" = 1 || exit 1; done &&
	grep -Eq "^GATE OK - allowed: pass, .* \| checks=1;;; failed=0;;; warnings=0;;; duration=[0-9.]+s;;;$" n0 &&
	grep -Eq "^GATE WARNING - allowed with warnings: warn: disk: .* \| checks=2;;; failed=1;;; warnings=1;;; " n1 &&
	grep -Eq "^GATE CRITICAL - blocked: block: probe: .*; hard: .* \| checks=3;;; failed=2;;; " n2
'

test_expect_success 'no format prints the password of a conninfo' '
	for f in text json junit tap nagios; do
		gate check -v -f $f secret.yaml >"s.$f" 2>>s.err || true
		test -s "s.$f" || { echo "empty $f"; exit 1; }
		if grep -q "$SECRET" "s.$f"; then echo "leak in $f"; cat "s.$f"; exit 1; fi
	done &&
	test_grep -v "$SECRET" s.err &&
	test "$(json_get s.json ".checks[?id=pgwarn].status")" = error &&
	test "$(json_get s.json ".checks[?id=chatty].status")" = fail &&
	json_get s.json ".checks[?id=chatty].summary" | grep -qF "postgresql://gate:***@db1/x" &&
	test_grep -F "password=***" s.text
'

test_done
