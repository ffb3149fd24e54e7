#!/usr/bin/env bash
# allow_commands is enforced before any check runs; loose runbook
# permissions are refused for run and only warned about for check/lint;
# --override needs --reason and works only on overridable checks.
. "$(dirname "$0")/lib/test-lib.sh"

cd "$TEST_TMP" || exit 1

# A check that leaves a trace: if it ran, check-ran exists.
write_rb allow.yaml <<EOF
version: 1
name: allow
allow_commands: ["systemctl restart postgresql@*", "true"]
checks:
  - id: trace
    type: exec
    with:
      command: ["touch", "$TEST_TMP/check-ran"]
      protocol: exit
EOF

test_expect_success 'a command outside allow_commands: 78 before any check' '
	expect_status 78 gate run allow.yaml -- rm -rf /nonexistent-gate-test 2>err &&
	test ! -e check-ran &&
	test_grep "matches none of allow_commands" err
'

test_expect_success 'also for --dry-run' '
	expect_status 78 gate run --dry-run allow.yaml -- touch ran 2>err &&
	test ! -e check-ran && test ! -e ran
'

test_expect_success 'a matching command passes the gate and runs' '
	expect_status 0 gate run allow.yaml -- true &&
	test -e check-ran
'

test_expect_success 'a glob word matches one argument' '
	rm -f check-ran &&
	gate run --dry-run -q allow.yaml -- systemctl restart postgresql@15-main >/dev/null &&
	test -e check-ran && rm check-ran &&
	expect_status 78 gate run --dry-run allow.yaml -- systemctl stop postgresql@15-main 2>/dev/null &&
	test ! -e check-ran
'

write_rb words.yaml <<EOF
version: 1
name: words
allow_commands: ["apt-get install *", "pg_ctl * start", "echo a*"]
checks:
  - id: trace
    type: exec
    with:
      command: ["touch", "$TEST_TMP/check-ran"]
      protocol: exit
EOF

test_expect_success 'allow_commands is matched word by word against the argv' '
	gate run -q --dry-run words.yaml -- apt-get install pkg1 pkg2 >/dev/null &&
	gate run -q --dry-run words.yaml -- apt-get install >/dev/null &&
	gate run -q --dry-run words.yaml -- pg_ctl /x start >/dev/null &&
	gate run -q words.yaml -- echo abc >out && test_grep "^abc\$" out &&
	gate run -q words.yaml -- echo "a b" >out && test_grep "^a b\$" out &&
	rm -f check-ran &&
	expect_status 78 gate run words.yaml -- pg_ctl -D /x stop start 2>err &&
	test_grep "matches none of allow_commands" err &&
	expect_status 78 gate run words.yaml -- echo a b 2>err &&
	expect_status 78 gate run words.yaml -- echo a "; touch ran" 2>err &&
	expect_status 78 gate run words.yaml -- apt-get remove pkg1 2>err &&
	expect_status 78 gate run words.yaml -- apt-get 2>err &&
	test ! -e check-ran
'

write_rb loose.yaml <<'EOF'
version: 1
name: loose
checks:
  - id: ok
    type: exec
    with:
      command: ["true"]
      protocol: exit
EOF
chmod 664 loose.yaml

test_expect_success 'a group-writable runbook is refused by run (78), nothing ran' '
	expect_status 78 gate run loose.yaml -- touch ran 2>err &&
	test ! -e ran &&
	test_grep "loose.yaml" err && test_grep -i "writable" err
'

test_expect_success 'check and run --dry-run refuse it too (checks run commands); lint only warns' '
	expect_status 78 gate check loose.yaml >out 2>err &&
	test_grep "error: .*loose.yaml.*writable" err &&
	expect_status 78 gate run --dry-run loose.yaml -- touch ran 2>err &&
	test ! -e ran &&
	expect_status 0 gate lint loose.yaml >out 2>err &&
	test_grep "warning: .*loose.yaml.*writable" err
'

write_rb over.yaml <<'EOF'
version: 1
name: over
checks:
  - id: base
    type: exec
    with:
      command: ["true"]
      protocol: exit
  - id: disk
    type: exec
    overridable: true
    with:
      command: ["false"]
      protocol: exit
  - id: replicas
    type: exec
    with:
      command: ["false"]
      protocol: exit
EOF
sed '/id: replicas/,$d' over.yaml >over1.yaml && chmod 644 over1.yaml

test_expect_success '--override without --reason: 64, nothing ran' '
	expect_status 64 gate run --override disk over1.yaml -- touch ran 2>err &&
	test ! -e ran && test_grep -- "--reason" err
'

test_expect_success '--override with --reason waives an overridable check' '
	expect_status 75 gate run over1.yaml -- touch ran &&
	test ! -e ran &&
	expect_status 0 gate run --override disk --reason "INC-7: known false alarm" -o rep.json over1.yaml -- touch ran &&
	test -e ran &&
	test "$(json_get rep.json .checks[?id=disk].status)" = overridden &&
	test "$(json_get rep.json .overrides[0].reason)" = "INC-7: known false alarm"
'

test_expect_success 'overriding a non-overridable check is refused: still 75' '
	rm -f ran &&
	expect_status 75 gate run --override disk --override replicas --reason "hurry" -f json over.yaml -- touch ran >out.json &&
	test ! -e ran &&
	test "$(json_get out.json .checks[?id=replicas].status)" = fail &&
	json_get out.json .reasons | grep -q "override refused"
'

test_done
