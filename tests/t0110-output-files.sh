#!/usr/bin/env bash
# Files gate writes by name, often as root in a directory others can write
# to: the -o report is written to a new file with an unguessable name
# beside it and renamed over it, never through a symbolic link, never into
# a directory, FIFO or device, and never into an inode another name
# shares; the audit files are appended to without following a link, and
# --audit-log adds a file to the runbook's audit.file instead of replacing it.
. "$(dirname "$0")/lib/test-lib.sh"

cd "$TEST_TMP" || exit 1

write_pass_rb pass.yaml

write_rb audited.yaml <<EOF
version: 1
name: audited
audit:
  file: $TEST_TMP/runbook-audit.jsonl
checks:
  - id: ok
    type: exec
    with:
      command: ["true"]
      protocol: exit
EOF

# only_files NAME...: the scratch directory holds exactly these (and the
# runbooks): no temporary file is left behind.
only_files() {
	find . -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -v -e '^pass.yaml$' -e '^audited.yaml$' -e '^\.test-' -e '^have$' -e '^want$' | sort >have &&
	printf "%s\n" "$@" | sort >want &&
	test_cmp want have
}

test_expect_success '-o through a symbolic link: refused (64), the file it points at intact' '
	echo precious >victim &&
	ln -s victim rep.json &&
	expect_status 64 gate check -q -o rep.json pass.yaml 2>err &&
	test_grep "rep.json: is a symbolic link" err &&
	test "$(cat victim)" = precious &&
	test -L rep.json &&
	only_files err rep.json victim &&
	rm -f rep.json victim err
'

test_expect_success '-o to a directory or a FIFO: refused (64), nothing written' '
	mkdir dir.json && mkfifo fifo.json &&
	expect_status 64 gate check -q -o dir.json pass.yaml 2>err &&
	test_grep "dir.json: is a directory" err &&
	expect_status 64 timeout 60 "$GATE_BIN" check -q -o fifo.json pass.yaml 2>err &&
	test_grep "fifo.json: is a FIFO" err &&
	test -d dir.json && test -p fifo.json && test -z "$(ls -A dir.json)" &&
	only_files err dir.json fifo.json &&
	rm -rf dir.json fifo.json err
'

test_expect_success '-o never writes into an inode another name shares (a hard link)' '
	echo precious >victim &&
	ln victim rep.json &&
	gate check -q -o rep.json pass.yaml >/dev/null 2>&1 &&
	test "$(cat victim)" = precious &&
	test "$(json_get rep.json .decision)" = allow &&
	rm -f rep.json victim
'

test_expect_success 'the temporary file has no name to guess: a link planted at FILE.tmp.PID is not followed' '
	echo precious >victim &&
	sh -c "ln -s victim rep.json.tmp.\$\$ && exec \"\$GATE_BIN\" check -q -o rep.json pass.yaml" >/dev/null 2>&1 &&
	test "$(cat victim)" = precious &&
	test ! -L rep.json &&
	test "$(json_get rep.json .decision)" = allow &&
	rm -f rep.json.tmp.* victim &&
	only_files rep.json &&
	rm -f rep.json
'

test_expect_success 'a link put in place of -o while the command runs is refused, not followed' '
	echo precious >victim &&
	expect_status 3 gate run -q -o rep.json pass.yaml -- sh -c "rm rep.json && ln -s victim rep.json && exit 3" >/dev/null 2>err &&
	test_grep "rep.json: is a symbolic link" err &&
	test "$(cat victim)" = precious &&
	only_files err rep.json victim &&
	rm -f rep.json victim err
'

test_expect_success '--audit-log through a symbolic link: not written, the file it points at intact' '
	echo precious >victim &&
	ln -s victim audit.jsonl &&
	gate run -q --audit-log audit.jsonl pass.yaml -- true 2>err &&
	test_grep "audit.jsonl: .*symbolic link" err &&
	test "$(cat victim)" = precious &&
	rm -f audit.jsonl victim err
'

# audit_records FILE: "record decision" per line.
audit_records() {
	/usr/bin/python3 - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["record"], r["decision"])
PY
}

test_expect_success '--audit-log adds a file: the runbook audit.file gets every record too' '
	gate run -q --audit-log extra.jsonl audited.yaml -- true >/dev/null 2>&1 &&
	printf "decision allow\nresult allow\n" >want &&
	audit_records runbook-audit.jsonl >got && test_cmp want got &&
	audit_records extra.jsonl >got && test_cmp want got &&
	rm -f runbook-audit.jsonl extra.jsonl
'

test_expect_success '--audit-log naming the runbook audit.file: each record once' '
	gate run -q --audit-log runbook-audit.jsonl audited.yaml -- true >/dev/null 2>&1 &&
	printf "decision allow\nresult allow\n" >want &&
	audit_records runbook-audit.jsonl >got && test_cmp want got &&
	rm -f runbook-audit.jsonl
'

test_done
