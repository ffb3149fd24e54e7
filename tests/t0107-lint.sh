#!/usr/bin/env bash
# gate lint: parse and validate only, contact nothing, run nothing; each
# error as file:line:col: message; 0 when every file is valid, else 78.
. "$(dirname "$0")/lib/test-lib.sh"

cd "$TEST_TMP" || exit 1

write_rb good.yaml <<EOF
version: 1
name: good
checks:
  - id: would-touch
    type: exec
    with:
      command: ["touch", "$TEST_TMP/check-ran"]
      protocol: exit
  - id: db
    type: postgres.replica
    with:
      conninfo: "host=127.0.0.1 port=1 connect_timeout=1"
EOF

write_rb typo.yaml <<'EOF'
version: 1
name: typo
checks:
  - id: backup
    type: backup.file
    with:
      path: /var/backups/*.dump
      max_agee: 24h
EOF

write_rb badtype.yaml <<'EOF'
version: 1
name: badtype
checks:
  - id: lag
    type: pg_lag
EOF

test_expect_success 'a valid runbook: 0, and no check ran' '
	gate lint good.yaml >out &&
	test_grep "good.yaml: ok (2 checks)" out &&
	test ! -e check-ran
'

test_expect_success '-v lists the checks, -q prints nothing' '
	gate lint -v good.yaml >out && test_grep "^  db (postgres.replica)" out &&
	gate lint -q good.yaml >out && test ! -s out
'

test_expect_success 'an unknown parameter: 78 with file:line:col' '
	expect_status 78 gate lint typo.yaml 2>err &&
	test_grep "typo.yaml:8:7: .*max_agee" err
'

test_expect_success 'an unknown check type: 78 with its position' '
	expect_status 78 gate lint badtype.yaml 2>err &&
	test_grep "badtype.yaml:5:[0-9]*: .*pg_lag" err
'

test_expect_success 'several files: every error is reported, 78 if any is invalid' '
	expect_status 78 gate lint good.yaml typo.yaml badtype.yaml >out 2>err &&
	test_grep "good.yaml: ok" out &&
	test_grep "typo.yaml:8:7" err && test_grep "badtype.yaml:5" err
'

test_expect_success 'a missing file is an error (78)' '
	expect_status 78 gate lint nonexistent.yaml 2>err &&
	test_grep "nonexistent.yaml" err
'

test_expect_success 'lint takes no command and no evaluation options' '
	expect_status 64 gate lint good.yaml -- true &&
	expect_status 64 gate lint -j 2 good.yaml &&
	expect_status 64 gate lint
'

test_expect_success 'a git-hook configuration is recognised and validated' '
	mkdir -p .gate &&
	cat >.gate/hooks.yaml <<-EOF &&
	version: 1
	hooks:
	  pre-push:
	    - refs: ["refs/heads/main"]
	      runbook: good.yaml
	EOF
	gate lint .gate/hooks.yaml >out &&
	test_grep "hooks.yaml: ok (git-hook configuration)" out &&
	sed -i "s/refs:/refz:/" .gate/hooks.yaml &&
	expect_status 78 gate lint .gate/hooks.yaml 2>err &&
	test_grep "hooks.yaml:[0-9]*:[0-9]*: .*refz" err
'

test_expect_success 'a policy with only a window or a freeze is recognised, not run' '
	write_rb window.yaml <<-EOF &&
	version: 1
	name: policy-nights
	window:
	  - {days: [sat], start: "01:00", end: "05:00"}
	EOF
	gate lint window.yaml >out &&
	test_grep "window.yaml: ok (policy to include: 0 checks, window)" out &&
	expect_status 78 gate check window.yaml 2>err &&
	test_grep "missing .checks. in the runbook" err &&
	printf "include: [window.yaml]\nfreeze: [{from: 2030-01-01T00:00:00Z, to: 2030-01-02T00:00:00Z}]\n" >both.yaml &&
	chmod 644 both.yaml &&
	gate lint both.yaml >out &&
	test_grep "both.yaml: ok (policy to include: 0 checks, window, freeze)" out
'

test_expect_success 'a policy is held to an included file rules; nothing at all is no policy' '
	write_rb cmdpolicy.yaml <<-EOF &&
	version: 1
	name: cmd
	command: ["true"]
	window:
	  - {days: [sat], start: "01:00", end: "05:00"}
	EOF
	expect_status 78 gate lint cmdpolicy.yaml 2>err &&
	test_grep "cmdpolicy.yaml:1:1: missing .checks. in the runbook" err &&
	printf "version: 1\nname: empty\ndescription: nothing\n" >empty.yaml && chmod 644 empty.yaml &&
	expect_status 78 gate lint empty.yaml 2>err &&
	test_grep "empty.yaml:1:1: missing .checks. in the runbook" err &&
	write_rb badwin.yaml <<-EOF &&
	version: 1
	name: badwin
	window:
	  - {days: [sat], start: "25:00", end: "05:00"}
	EOF
	expect_status 78 gate lint badwin.yaml 2>err &&
	test_grep "badwin.yaml:4:" err
'

test_done
