#!/usr/bin/env bash
# Secrets never reach a report or an audit record: the runner redacts what
# a check says (conninfo passwords), and gate registers values that came
# from ${env:...} into the runbook (here the exec check's env map) so that
# they are masked wherever they show up.
. "$(dirname "$0")/lib/test-lib.sh"

cd "$TEST_TMP" || exit 1

cat >leak.yaml <<'EOF'
version: 1
name: leak
checks:
  - id: says-conninfo
    type: exec
    with:
      command: ["sh", "-c", "echo 'CRITICAL - cannot connect: host=db1 password=hunter2pw user=gate'; exit 2"]
  - id: says-token
    type: exec
    with:
      command: ["sh", "-c", "echo \"CRITICAL - token $API_TOKEN refused\"; exit 2"]
      env:
        API_TOKEN: "${env:GATE_TEST_TOKEN}"
EOF
chmod 644 leak.yaml

test_expect_success 'control: a token written literally (not from ${env:}) is shown' '
	sed "s/\"\${env:GATE_TEST_TOKEN}\"/tok-7f3a9c1e/" leak.yaml >literal.yaml && chmod 644 literal.yaml &&
	test_grep -v "env:GATE" literal.yaml &&
	expect_status 75 gate check -f json literal.yaml >out.json &&
	test_grep "token tok-7f3a9c1e refused" out.json
'

test_expect_success 'text, JSON, -o and the audit file never show them' '
	export GATE_TEST_TOKEN=tok-7f3a9c1e &&
	expect_status 75 gate check leak.yaml >text 2>err &&
	expect_status 75 gate check -f json -o rep.json --audit-log audit.jsonl leak.yaml >out.json 2>>err &&
	for f in text out.json rep.json audit.jsonl err; do
		test_grep -v "hunter2pw" $f && test_grep -v "tok-7f3a9c1e" $f || return 1
	done &&
	test_grep "password=\*\*\*" out.json &&
	test_grep "token \*\*\* refused" out.json
'

test_done
