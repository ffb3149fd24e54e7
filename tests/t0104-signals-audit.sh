#!/usr/bin/env bash
# The wrapped command's life: signals sent to gate reach it; the allow
# record is in the audit file (fsync'd) before it starts and its result
# after; a required audit that cannot be written blocks.  The journal is a
# real systemd-journald in a private mount namespace (doc/facts.md,
# journald; with a tmpfs over /run inside the namespace so nothing on the host
# changes).
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd unshare nsenter python3

cd "$TEST_TMP" || exit 1

write_pass_rb pass.yaml

# A command that says it started, then waits for a signal; its trap
# decides the status.
cat >waiter.sh <<'EOF'
trap 'echo "$1" > trapped; exit 42' "$1"
echo $$ > started
i=0
while [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
exit 3
EOF

for sig in TERM HUP; do
	test_expect_success "SIG$sig sent to gate reaches the command; its status is returned" '
		rm -f started trapped
		"$GATE_BIN" run -q pass.yaml -- sh waiter.sh '$sig' >/dev/null 2>&1 &
		gpid=$! &&
		test_cleanup "kill -9 $gpid" &&
		wait_until 10 test -s started &&
		kill -'$sig' $gpid &&
		rc=0 && wait $gpid || rc=$? &&
		test $rc = 42 &&
		test "$(cat trapped)" = '$sig'
	'
done

test_expect_success 'a command killed by the forwarded signal: 128+N' '
	rm -f started
	"$GATE_BIN" run -q pass.yaml -- sh -c "echo \$\$ > started; exec sleep 30" >/dev/null 2>&1 &
	gpid=$! &&
	test_cleanup "kill -9 $gpid" &&
	wait_until 10 test -s started &&
	kill -TERM $gpid &&
	rc=0 && wait $gpid || rc=$? &&
	test $rc = 143
'

# audit_lines FILE: "record decision exit_status" per line.
audit_lines() {
	python3 - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["record"], r["decision"], r["exit_status"], r["mode"])
PY
}

test_expect_success 'the allow record is in the audit file before the command starts' '
	expect_status 4 gate run --audit-log audit.jsonl pass.yaml -- sh -c "cp audit.jsonl seen.jsonl; exit 4" &&
	audit_lines seen.jsonl >seen &&
	echo "decision allow None run" >want && test_cmp want seen &&
	audit_lines audit.jsonl >all &&
	printf "decision allow None run\nresult allow 4 run\n" >want && test_cmp want all
'

test_expect_success 'a block is audited too, and nothing else' '
	rm -f audit.jsonl &&
	sed "s/\"true\"/\"false\"/" pass.yaml >fail.yaml && chmod 644 fail.yaml &&
	expect_status 75 gate run --audit-log audit.jsonl fail.yaml -- touch ran &&
	test ! -e ran &&
	audit_lines audit.jsonl >all &&
	echo "decision block None run" >want && test_cmp want all
'

test_expect_success 'no journal reachable: said once on stderr, and gate goes on' '
	gate run --audit-log audit2.jsonl pass.yaml -- true 2>err &&
	test "$(grep -c "no systemd journal" err)" = 1
'

write_rb required-bad.yaml <<EOF
version: 1
name: required-bad
audit:
  file: $TEST_TMP/no-such-dir/audit.jsonl
  required: true
checks:
  - id: ok
    type: exec
    with:
      command: ["true"]
      protocol: exit
EOF

write_rb required-ok.yaml <<EOF
version: 1
name: required-ok
audit:
  file: $TEST_TMP/req-audit.jsonl
  required: true
checks:
  - id: ok
    type: exec
    with:
      command: ["true"]
      protocol: exit
EOF

# A real journald, private to this test.
J=$TEST_TMP/journal
mkdir -p "$J"
cat >"$J/journald.conf" <<'EOF'
[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToWall=no
RateLimitIntervalSec=0
RuntimeMaxUse=16M
EOF
unshare --mount --propagation private -- /bin/sh -c "
	mount -t tmpfs tmpfs /run &&
	mkdir -p /run/systemd/journal /run/log/journal &&
	mount --bind $J/journald.conf /etc/systemd/journald.conf &&
	exec /lib/systemd/systemd-journald" >"$J/out" 2>&1 &
JPID=$!
test_cleanup "kill -TERM $JPID"
in_ns() { nsenter -t "$JPID" -m --wd="$TEST_TMP" -- "$@"; }

test_expect_success 'a private journald is up' '
	wait_until 10 in_ns test -S /run/systemd/journal/socket
'

test_expect_success 'audit.required, journal and file writable: allow, the command runs' '
	in_ns "$GATE_BIN" run required-ok.yaml -- touch ran 2>err &&
	test -e ran &&
	test_grep -v "no systemd journal" err &&
	audit_lines req-audit.jsonl >all &&
	printf "decision allow None run\nresult allow 0 run\n" >want && test_cmp want all &&
	in_ns journalctl --sync &&
	in_ns journalctl -D /run/log/journal -o json GATE_RUNBOOK=required-ok >j.json &&
	grep -q "\"GATE_DECISION\":\"allow\"" j.json
'

test_expect_success 'audit.required and the file cannot be written: 75, nothing ran' '
	rm -f ran &&
	rc=0 && in_ns "$GATE_BIN" run -f json required-bad.yaml -- touch ran >out.json 2>err || rc=$? &&
	test $rc = 75 && test ! -e ran &&
	test "$(json_get out.json .decision)" = block &&
	json_get out.json .reasons | grep -q "audit" &&
	test_grep "audit file" err
'

test_expect_success '--audit-log adds a file, never replaces a required audit.file' '
	rm -f ran req-audit.jsonl extra.jsonl &&
	rc=0 && in_ns "$GATE_BIN" run --audit-log extra.jsonl required-bad.yaml -- touch ran 2>err || rc=$? &&
	test $rc = 75 && test ! -e ran &&
	test_grep "audit file .*no-such-dir" err &&
	audit_lines extra.jsonl | tail -n 1 >last &&
	echo "decision block None run" >want && test_cmp want last &&
	in_ns "$GATE_BIN" run --audit-log extra2.jsonl required-ok.yaml -- touch ran 2>err &&
	test -e ran &&
	printf "decision allow None run\nresult allow 0 run\n" >want &&
	audit_lines req-audit.jsonl >all && test_cmp want all &&
	audit_lines extra2.jsonl >all && test_cmp want all
'

test_expect_success 'audit.required and no journal reachable: 75, nothing ran' '
	rm -f ran &&
	expect_status 75 gate run required-ok.yaml -- touch ran 2>err &&
	test ! -e ran &&
	test_grep "no systemd journal is reachable" err
'

test_done
