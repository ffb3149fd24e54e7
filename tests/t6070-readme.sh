#!/bin/bash
# The README's promises hold: its runbook sample is a valid runbook (with
# the policy it includes), its two commands exist, and CI runs the test
# command it names.
. "$(dirname "$0")/lib/test-lib.sh"
S=$GATE_SOURCE_DIR

test_expect_success 'the README runbook sample lints against the shipped policies' '
	mkdir -p rd/runbooks &&
	ln -s "$S/policies" rd/policies &&
	python3 - "$S/README.md" rd/runbooks/sample.yaml <<-PY &&
	import sys
	s = open(sys.argv[1]).read()
	i = s.index("\`\`\`yaml\nversion: 1\nname: pg-minor-upgrade")
	j = s.index("\`\`\`", i + 7)
	open(sys.argv[2], "w").write(s[i + 8:j])
	PY
	chmod 644 rd/runbooks/sample.yaml &&
	gate lint rd/runbooks/sample.yaml >out &&
	test_grep "ok (2 checks)" out
'

test_expect_success 'a typo in the sample is caught as the README says' '
	sed "s/min_streaming: 2/min_streamin: 2/" rd/runbooks/sample.yaml >rd/runbooks/typo.yaml &&
	chmod 644 rd/runbooks/typo.yaml &&
	expect_status 78 gate lint rd/runbooks/typo.yaml 2>err &&
	test_grep -E "typo.yaml:[0-9]+:[0-9]+: unknown parameter .min_streamin. for check type .postgres.replication.; did you mean .min_streaming.\?" err
'

test_expect_success 'the two commands of the README exist, and CI runs the test command' '
	test_grep -F "scripts/demo.sh" "$S/README.md" &&
	test_grep -F "scripts/test.sh" "$S/README.md" &&
	test -x "$S/scripts/demo.sh" && test -x "$S/scripts/test.sh" &&
	test_grep -E "^exec scripts/test.sh$" "$S/.ci/run"
'

test_done
