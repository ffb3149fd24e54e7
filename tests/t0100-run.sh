#!/usr/bin/env bash
# gate run / check / --dry-run end to end with the built-in `exec` check:
# the command runs only on allow, exactly once, and gate returns its status;
# a block, an invalid runbook or a bad command line runs nothing.
. "$(dirname "$0")/lib/test-lib.sh"

cd "$TEST_TMP" || exit 1

# mkrb NAME ARGV...: a runbook whose one blocking check runs ARGV with the
# exit protocol.
mkrb() {
	local name=$1; shift
	local args="" a
	for a in "$@"; do args="$args\"$a\", "; done
	cat >"$name.yaml" <<EOF
version: 1
name: $name
checks:
  - id: probe
    type: exec
    timeout: 5s
    with:
      command: [${args%, }]
      protocol: exit
EOF
	chmod 644 "$name.yaml"
}

mkrb pass /bin/true
mkrb fail /bin/false
mkrb cmd /bin/true
cat >>cmd.yaml <<'EOF'
command: ["sh", "-c", "echo from-runbook >> ran-runbook"]
EOF

test_expect_success 'allow: the command runs once and its status is returned' '
	expect_status 7 gate run pass.yaml -- sh -c "echo x >> ran; exit 7" &&
	test "$(cat ran)" = x
'

test_expect_success 'allow: exit 0 of the command is 0' '
	expect_status 0 gate run -q pass.yaml -- /bin/true
'

test_expect_success 'block: 75, and the command did not run' '
	rm -f ran &&
	expect_status 75 gate run fail.yaml -- sh -c "echo x >> ran" >out 2>err &&
	test ! -e ran &&
	test_grep "BLOCK" out
'

test_expect_success '--blocked-exit changes the block status' '
	expect_status 3 gate run --blocked-exit 3 fail.yaml -- touch ran &&
	test ! -e ran &&
	expect_status 64 gate run --blocked-exit 0 fail.yaml -- touch ran &&
	test ! -e ran
'

test_expect_success 'the runbook command is used without --' '
	expect_status 0 gate run cmd.yaml &&
	test "$(cat ran-runbook)" = from-runbook
'

test_expect_success 'no command at all is a usage error (64), nothing runs' '
	expect_status 64 gate run pass.yaml 2>err &&
	test_grep "no command" err &&
	test_grep "gate run --help" err
'

test_expect_success 'a typo in a key is 78 and nothing ran, not even a check' '
	cat >typo.yaml <<-EOF &&
	version: 1
	name: typo
	checks:
	  - id: probe
	    type: exec
	    with:
	      command: ["touch", "$TEST_TMP/check-ran"]
	      protocl: exit
	EOF
	chmod 644 typo.yaml &&
	expect_status 78 gate run typo.yaml -- touch ran 2>err &&
	test ! -e ran && test ! -e check-ran &&
	test_grep "typo.yaml:[0-9]*:[0-9]*: .*protocl" err
'

test_expect_success 'check: evaluates, runs no command, 0 or 75' '
	expect_status 0 gate check pass.yaml >out &&
	test_grep "ALLOW" out &&
	expect_status 75 gate check fail.yaml &&
	expect_status 64 gate check pass.yaml -- touch ran &&
	test ! -e ran
'

test_expect_success '--dry-run runs every check but not the command, and names it' '
	rm -f ran check-ran &&
	mkrb touching touch "$TEST_TMP/check-ran" &&
	expect_status 0 gate run --dry-run -f json touching.yaml -- touch ran >out.json &&
	test -e check-ran && test ! -e ran &&
	test "$(json_get out.json .mode)" = dry-run &&
	test "$(json_get out.json .command)" = "[\"touch\", \"ran\"]" &&
	test "$(json_get out.json .exit_status)" = null
'

test_expect_success 'command not found: 127; not executable: 126' '
	expect_status 127 gate run pass.yaml -- gate-no-such-command 2>err &&
	test_grep "gate-no-such-command: command not found" err &&
	printf "#!/bin/sh\necho hi\n" >noexec.sh && chmod 644 noexec.sh &&
	expect_status 126 gate run pass.yaml -- ./noexec.sh 2>err &&
	test_grep "Permission denied" err
'

test_expect_success 'killed by signal N: 128+N' '
	expect_status 137 gate run pass.yaml -- sh -c "kill -KILL \$\$" &&
	expect_status 143 gate run pass.yaml -- sh -c "kill -TERM \$\$"
'

test_expect_success 'arguments after -- belong to the command, options too' '
	expect_status 0 gate run pass.yaml -- sh -c "test \"\$1\" = -q && test \"\$2\" = --help" sh -q --help
'

test_expect_success 'options may follow the runbook' '
	expect_status 3 gate run fail.yaml --blocked-exit 3 -- touch ran &&
	test ! -e ran
'

test_expect_success '--format json on stdout and -o FILE with the exit status' '
	expect_status 5 gate run -f json -o rep.json pass.yaml -- sh -c "exit 5" >out.json &&
	test "$(json_get out.json .decision)" = allow &&
	test "$(json_get out.json .mode)" = run &&
	test "$(json_get out.json .checks[0].status)" = pass &&
	test "$(json_get rep.json .exit_status)" = 5 &&
	test "$(json_get rep.json .decision)" = allow &&
	expect_status 75 gate check -q -o rep2.json fail.yaml >/dev/null &&
	test "$(json_get rep2.json .decision)" = block &&
	test "$(json_get rep2.json .reasons[0])" != ""
'

test_expect_success '-o to an unwritable place is a usage error before any check' '
	rm -f check-ran &&
	expect_status 64 gate check -o /nonexistent/dir/r.json touching.yaml 2>err &&
	test ! -e check-ran
'

test_expect_success 'an earlier report in -o never survives a run that stops early' '
	gate check -q -o stale.json pass.yaml >/dev/null &&
	test "$(json_get stale.json .decision)" = allow &&
	expect_status 78 gate check -o stale.json typo.yaml 2>/dev/null &&
	test ! -s stale.json
'

test_expect_success '--format nagios: the Nagios status' '
	expect_status 0 gate check -f nagios pass.yaml &&
	expect_status 2 gate check -f nagios fail.yaml
'

test_expect_success 'bad usage: one line, a hint, 64' '
	expect_status 64 gate run --bogus pass.yaml 2>err && test_grep "unknown option" err &&
	expect_status 64 gate check 2>err && test_grep "no runbook" err &&
	expect_status 64 gate check -j 0 pass.yaml 2>err && test_grep "gate check --help" err &&
	expect_status 64 gate check --timeout 5 pass.yaml 2>err && test_grep "bad duration" err &&
	expect_status 64 gate check -f xml pass.yaml 2>err && test_grep "unknown format" err &&
	expect_status 64 gate lint --timeout 5s pass.yaml 2>err && test_grep "does not apply" err &&
	expect_status 64 gate frobnicate 2>err && test_grep "not a gate command" err &&
	expect_status 64 gate check --var novalue pass.yaml
'

test_expect_success '--help on every command: synopsis, options, exit statuses, example' '
	for c in run check lint checks version; do
		gate $c --help >h.$c &&
		test_grep "usage: gate $c" h.$c &&
		test_grep -i "exit status" h.$c || return 1
	done &&
	test_grep -- "--blocked-exit" h.run && test_grep -- "--wait" h.run &&
	test_grep "128+N" h.run && test_grep "Example" h.check &&
	gate help >h && test_grep "usage: gate COMMAND" h &&
	gate help run >h2 && test_cmp h.run h2 &&
	gate -h >h3 && test_cmp h h3
'

test_expect_success 'version names the module ABI' '
	gate version >v && test_grep "^gate [0-9]" v && test_grep "^module ABI 1\.[0-9]" v
'

test_expect_success 'checks lists types; checks TYPE shows the parameter table' '
	gate checks >list && test_grep "^exec  *run a command" list &&
	gate checks exec >desc &&
	test_grep "name  *type  *default  *required  *doc" desc &&
	test_grep "^  command  *list of strings  *-  *yes" desc &&
	test_grep "^  protocol  *one of nagios|exit  *nagios  *no" desc &&
	expect_status 64 gate checks no.such.type
'

test_expect_success '--var replaces a runbook variable' '
	cat >vars.yaml <<-EOF &&
	version: 1
	name: vars
	vars:
	  target: "$TEST_TMP/default"
	checks:
	  - id: probe
	    type: exec
	    with:
	      command: ["touch", "\${target}"]
	      protocol: exit
	EOF
	chmod 644 vars.yaml &&
	gate check -q vars.yaml && test -e default &&
	gate check -q --var target="$TEST_TMP/other" vars.yaml && test -e other
'

test_expect_success 'a parent that ignores SIGCHLD changes nothing' '
	expect_status 6 perl -e "\$SIG{CHLD} = q(IGNORE); exec @ARGV" "$GATE_BIN" run -q pass.yaml -- sh -c "exit 6" &&
	expect_status 75 perl -e "\$SIG{CHLD} = q(IGNORE); exec @ARGV" "$GATE_BIN" run -q fail.yaml -- true
'

test_done
