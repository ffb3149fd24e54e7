#!/usr/bin/env bash
# The whole run path under valgrind: options, runbook, runner (a forked
# child per check), policy, audit file, reports, exec, result record.  No
# invalid access and no leak (definite, indirect or possible) allowed.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd valgrind

cd "$TEST_TMP" || exit 1

cat >rb.yaml <<'EOF'
version: 1
name: vg
checks:
  - id: one
    type: exec
    with:
      command: ["true"]
      protocol: exit
  - id: two
    type: exec
    severity: warn
    with:
      command: ["sh", "-c", "echo 'DISK WARNING - 81% used | used=81%;80;90'; exit 1"]
EOF
chmod 644 rb.yaml
sed 's/\["true"\]/["false"]/' rb.yaml >block.yaml && chmod 644 block.yaml
sed 's/^name: vg$/name: vg\nvars: {x: "1"}/' rb.yaml >vars.yaml && chmod 644 vars.yaml

vg() {
	# valgrind does not know pidfd_open (the runner then falls back to
	# waitpid after EOF); that notice is not an error.
	valgrind -q --error-exitcode=99 --leak-check=full \
		--show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible \
		--child-silent-after-fork=yes "$GATE_BIN" "$@"
}

test_expect_success 'allow and run: clean under valgrind, status passed through' '
	rc=0 && vg run -o rep.json --audit-log a.jsonl --var x=y vars.yaml -- sh -c "exit 3" >out 2>err || rc=$? &&
	cat err && test $rc = 3 &&
	test_grep -v "definitely lost\|Invalid \(read\|write\)\|uninitialised" err &&
	test "$(json_get rep.json .exit_status)" = 3 &&
	test $(wc -l <a.jsonl) = 2
'

test_expect_success 'block, json, override refused: clean under valgrind' '
	rc=0 && vg run -f json --override one --reason because block.yaml -- touch ran >out 2>err || rc=$? &&
	cat err && test $rc = 75 && test ! -e ran &&
	test "$(json_get out .decision)" = block
'

test_expect_success 'invalid runbook and usage errors: clean under valgrind' '
	printf "version: 1\nname: bad\nchecks:\n  - id: x\n    type: exec\n    wiht: {}\n" >bad.yaml && chmod 644 bad.yaml &&
	rc=0 && vg run bad.yaml -- true 2>err || rc=$? && test $rc = 78 &&
	rc=0 && vg check --override x rb.yaml 2>err || rc=$? && test $rc = 64 &&
	rc=0 && vg lint rb.yaml bad.yaml >/dev/null 2>err || rc=$? && test $rc = 78
'

test_done
