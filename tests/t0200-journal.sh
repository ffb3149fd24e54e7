#!/usr/bin/env bash
# Audit records in a real systemd-journald (doc/report.md, doc/facts.md): a
# journald of our own in a private mount namespace, the real gate binary
# run inside that namespace, the records read back with journalctl.  Also:
# no journal at all (gate says so once and goes on), a required audit that
# cannot be written (block), the JSON-lines file, and no password in any
# record.  The host is untouched: inside the namespace a tmpfs covers
# /run/systemd and /run/log, so not even the mount points are created on
# the host; journald is stopped by PID and its socket directory deleted.
. "$(dirname "$0")/lib/test-lib.sh"

require_cmd unshare nsenter journalctl python3
JOURNALD=/lib/systemd/systemd-journald
[ -x "$JOURNALD" ] || { echo "# missing $JOURNALD (systemd)"; echo "0 passed, 1 failed"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "# needs root for mount namespaces"; echo "0 passed, 1 failed"; exit 1; }

cd "$TEST_TMP" || exit 1
FL=$TEST_TMP
SECRET=s3cretPW-0200      # in a runbook conninfo
CMDSECRET=cmdPW-0200-xyz  # in the wrapped command's argv
mkdir -p "$FL/journal/sock" "$FL/journal/store"
cat >"$FL/journal/journald.conf" <<'EOC'
[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToWall=no
ForwardToConsole=no
RateLimitIntervalSec=0
RuntimeMaxUse=64M
EOC

unshare --mount --propagation private -- /bin/sh -c "
  mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/journal &&
  mount -t tmpfs tmpfs /run/log && mkdir /run/log/journal &&
  mount --bind '$FL/journal/sock' /run/systemd/journal &&
  mount --bind '$FL/journal/store' /run/log/journal &&
  mount --bind '$FL/journal/journald.conf' /etc/systemd/journald.conf &&
  exec $JOURNALD" >"$FL/journal/journald.out" 2>&1 &
JPID=$!
test_cleanup "kill -CONT $JPID; kill -TERM $JPID; wait $JPID; rm -rf '$FL/journal/sock'"
if ! wait_until 10 test -S "$FL/journal/sock/socket"; then
	echo "# journald did not start:"; sed 's/^/#   /' "$FL/journal/journald.out"
	echo "0 passed, 1 failed"; exit 1
fi

# in_ns CMD...: run inside journald's mount namespace (absolute paths:
# nsenter starts in /).
in_ns() { nsenter -t "$JPID" -m -- "$@"; }
# no_journal CMD...: a private namespace where no journald exists.
no_journal() {
	unshare --mount --propagation private -- /bin/sh -c \
		'mount -t tmpfs tmpfs /run/systemd && exec "$@"' sh "$@"
}
# records FILE MATCH...: the journal entries matching, one JSON per line
# (--all: journalctl shows fields over 4096 bytes as null otherwise).
records() {
	local out=$1; shift
	in_ns journalctl --sync &&
	journalctl -D "$FL/journal/store" -o json --all "$@" >"$out"
}
# field FILE N NAME: field NAME of the N-th record (0-based) in FILE.
field() {
	python3 - "$@" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
v = recs[int(sys.argv[2])].get(sys.argv[3])
print("<absent>" if v is None else v)
PY
}
count_lines() { grep -c . "$1" || true; }

# A runbook: one blocking exec check running ARGV, a warn-severity
# postgres check whose conninfo carries a password (connection refused on
# a free port: it errors, says why, and must not print the password).
mkrb() {
	local name=$1 extra=$2; shift 2
	local args="" a
	for a in "$@"; do args="$args\"$a\", "; done
	cat >"$FL/$name.yaml" <<EOF
version: 1
name: $name
checks:
  - id: probe
    type: exec
    overridable: true
    timeout: 5s
    with:
      command: [${args%, }]
      protocol: exit
  - id: pgwarn
    type: postgres.replication
    severity: warn
    timeout: 3s
    with:
      conninfo: "host=127.0.0.1 port=$PGPORT user=gate password=$SECRET dbname=postgres"
$extra
EOF
	chmod 644 "$FL/$name.yaml"
}
PGPORT=$(free_port)
mkrb jallow "" /bin/true
mkrb jblock "" /bin/false
mkrb jfile "audit:
  file: $FL/audit.jsonl" /bin/true
mkrb jreq "audit:
  file: /dev/full
  required: true" /bin/true
mkrb jreqok "audit:
  file: $FL/req.jsonl
  required: true" /bin/true

test_expect_success 'allow: a decision and a result record with the documented fields' '
	expect_status 3 in_ns "$GATE_BIN" run "$FL/jallow.yaml" -- sh -c "exit 3" "postgresql://gate:$CMDSECRET@db1/x" >out 2>err &&
	records rec GATE_RUNBOOK=jallow &&
	test "$(count_lines rec)" = 2 &&
	test "$(field rec 0 MESSAGE_ID)" = 5e1c2a7b9d3f4e60a8b1c4d2e7f90a13 &&
	test "$(field rec 0 GATE_DECISION)" = allow &&
	test "$(field rec 0 GATE_MODE)" = run &&
	test "$(field rec 0 PRIORITY)" = 5 &&
	test "$(field rec 0 SYSLOG_IDENTIFIER)" = gate &&
	test "$(field rec 0 GATE_USER)" = "$(id -un)" &&
	test "$(field rec 0 GATE_FAILED_CHECKS)" = pgwarn &&
	test "$(field rec 0 GATE_EXIT_STATUS)" = "<absent>" &&
	field rec 0 MESSAGE | grep -q "^gate: allow jallow (run: sh -c exit 3 postgresql://gate:\*\*\*@db1/x)$" &&
	test "$(field rec 1 MESSAGE_ID)" = 8f4d3b2a1c6e4f0b9a7d5c3e1f2b4a68 &&
	test "$(field rec 1 GATE_EXIT_STATUS)" = 3 &&
	test "$(field rec 1 PRIORITY)" = 4 &&
	test "$(field rec 1 GATE_DECISION)" = allow &&
	field rec 1 GATE_DURATION_MS | grep -Eq "^[0-9]+$" &&
	field rec 0 GATE_COMMAND | grep -q "gate:\*\*\*@db1"
'

test_expect_success 'block: one decision record, warning priority, reasons, no result record' '
	rm -f ran &&
	expect_status 75 in_ns "$GATE_BIN" run "$FL/jblock.yaml" -- touch "$FL/ran" >out 2>err &&
	test ! -e "$FL/ran" &&
	records rec GATE_RUNBOOK=jblock &&
	test "$(count_lines rec)" = 1 &&
	test "$(field rec 0 GATE_DECISION)" = block &&
	test "$(field rec 0 PRIORITY)" = 4 &&
	test "$(field rec 0 MESSAGE_ID)" = 5e1c2a7b9d3f4e60a8b1c4d2e7f90a13 &&
	test "$(field rec 0 GATE_FAILED_CHECKS)" = probe,pgwarn &&
	field rec 0 MESSAGE | grep -q "^gate: block jblock (run: touch $FL/ran): probe: " &&
	field rec 0 GATE_BLOCKED_BY | grep -q "^probe: "
'

test_expect_success 'check mode and overrides are recorded with the reason' '
	in_ns "$GATE_BIN" check --override probe --reason "INC-0200 approved" "$FL/jblock.yaml" >out 2>err &&
	records rec GATE_RUNBOOK=jblock GATE_MODE=check &&
	test "$(count_lines rec)" = 1 &&
	test "$(field rec 0 GATE_DECISION)" = allow &&
	test "$(field rec 0 GATE_OVERRIDES)" = probe &&
	test "$(field rec 0 GATE_REASON)" = "INC-0200 approved"
'

# journald adds trusted fields of its own (_CMDLINE from /proc): a
# password typed into the wrapped command's argv shows there, whatever
# gate does, as it does in ps.  Every field gate writes is checked.
test_expect_success 'no field of any record holds a password' '
	records rec SYSLOG_IDENTIFIER=gate &&
	test "$(count_lines rec)" -ge 4 &&
	test_grep -v "$SECRET" rec &&
	python3 - rec "$CMDSECRET" <<-PY &&
	import json, sys
	n = 0
	for line in open(sys.argv[1]):
	    for k, v in json.loads(line).items():
	        if not k.startswith("_"):
	            n += 1
	            assert sys.argv[2] not in str(v), (k, v)
	assert n > 40, n
	PY
	test_grep -v "$SECRET" out && test_grep -v "$SECRET" err
'

test_expect_success 'the JSON-lines file: decision and result, 0600, no password' '
	rm -f "$FL/audit.jsonl" &&
	in_ns env SUDO_USER=alice "$GATE_BIN" run "$FL/jfile.yaml" -- /bin/true >out 2>err &&
	records rec GATE_RUNBOOK=jfile &&
	test "$(field rec 0 GATE_SUDO_USER)" = alice &&
	test "$(stat -c %a "$FL/audit.jsonl")" = 600 &&
	test "$(count_lines "$FL/audit.jsonl")" = 2 &&
	test_grep -v "$SECRET" "$FL/audit.jsonl" &&
	python3 - "$FL/audit.jsonl" <<-PY
	import json, sys
	d, r = [json.loads(l) for l in open(sys.argv[1])]
	assert d["record"] == "decision" and r["record"] == "result", (d["record"], r["record"])
	assert d["decision"] == "allow" and d["runbook"] == "jfile" and d["exit_status"] is None
	assert r["exit_status"] == 0 and d["user"] and d["host"] and d["sudo_user"] == "alice"
	assert [c["id"] for c in d["checks"]] == ["probe", "pgwarn"]
	PY
'

test_expect_success 'no journal: said once on stderr, the command still runs' '
	rm -f "$FL/ran" &&
	no_journal "$GATE_BIN" run "$FL/jallow.yaml" -- touch "$FL/ran" >out 2>err &&
	test -e "$FL/ran" &&
	test "$(grep -ci journal err)" = 1 &&
	expect_status 75 no_journal "$GATE_BIN" check "$FL/jblock.yaml" >out 2>err &&
	test "$(grep -ci journal err)" = 1
'

test_expect_success 'a stopped journald does not hang gate; its records arrive later' '
	kill -STOP $JPID &&
	rc=0;
	in_ns timeout 20 "$GATE_BIN" run "$FL/jallow.yaml" -- /bin/true >out 2>err || rc=$?;
	kill -CONT $JPID &&
	test $rc = 0 &&
	test_grep -v -i journal err &&
	records rec GATE_RUNBOOK=jallow GATE_EXIT_STATUS=0 &&
	test "$(count_lines rec)" = 1
'

test_expect_success 'a record with 400 failing checks: fields capped, the record arrives' '
	{
		printf "version: 1\nname: jbig\nchecks:\n"
		for i in $(seq 1 400); do
			printf "  - id: a-rather-long-check-id-to-make-the-record-large-%03d\n" $i
			printf "    type: exec\n    with:\n      command: [\"/bin/false\"]\n      protocol: exit\n"
		done
	} >"$FL/jbig.yaml" && chmod 644 "$FL/jbig.yaml" &&
	expect_status 75 in_ns "$GATE_BIN" check -q -j 8 "$FL/jbig.yaml" >out 2>err &&
	test_grep -v -i journal err &&
	records rec GATE_RUNBOOK=jbig &&
	test "$(count_lines rec)" = 1 &&
	field rec 0 GATE_FAILED_CHECKS | grep -q "^a-rather-long-check-id-to-make-the-record-large-001,.*\.\.\. (truncated)$" &&
	test "$(field rec 0 GATE_FAILED_CHECKS | wc -c)" -le 16385 &&
	test "$(field rec 0 GATE_BLOCKED_BY | wc -l)" -gt 100 &&
	field rec 0 MESSAGE | grep -q "^gate: block jbig (check): a-rather-long-check-id-to-make-the-record-large-001: exited 1; .*; and 397 more$"
'

# fill_queue: with journald stopped, datagrams until its socket's queue
# is full (net.unix.max_dgram_qlen: about ten).
fill_queue() {
	python3 - "$FL/journal/sock/socket" <<-PY
	import socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.setblocking(False)
	n = 0
	try:
	    while n < 100000:
	        s.sendto(b"MESSAGE=filler\\nSYSLOG_IDENTIFIER=t0200-filler\\n", sys.argv[1])
	        n += 1
	except BlockingIOError:
	    pass
	print("queued", n)
	assert n < 100000
	PY
}
ms() { test_now_ms; }

test_expect_success 'a stuck journald (stopped, queue full): gate gives up after 3s per record' '
	kill -STOP $JPID &&
	fill_queue &&
	rm -f "$FL/ran2" "$FL/ran3" "$FL/req.jsonl" &&
	rc=0 rc2=0 &&
	t0=$(ms) &&
	{ in_ns timeout 60 "$GATE_BIN" run "$FL/jallow.yaml" -- touch "$FL/ran2" >out 2>err || rc=$?; } &&
	t1=$(ms) &&
	{ in_ns timeout 60 "$GATE_BIN" run "$FL/jreqok.yaml" -- touch "$FL/ran3" >out3 2>err3 || rc2=$?; } &&
	t2=$(ms) &&
	kill -CONT $JPID &&
	say "allow with a stuck journal took $((t1 - t0)) ms, required audit $((t2 - t1)) ms" &&
	test $rc = 0 && test -e "$FL/ran2" &&
	test_grep -i "journal" err &&
	test $((t1 - t0)) -ge 3000 && test $((t1 - t0)) -lt 15000 &&
	test $rc2 = 75 && test ! -e "$FL/ran3" &&
	test_grep "BLOCKED" out3 &&
	test $((t2 - t1)) -lt 15000
'

test_expect_success 'audit.required and the file cannot be written: block, nothing runs' '
	rm -f "$FL/ran" &&
	expect_status 75 in_ns "$GATE_BIN" run "$FL/jreq.yaml" -- touch "$FL/ran" >out 2>err &&
	test ! -e "$FL/ran" &&
	test_grep "/dev/full" err &&
	test_grep "BLOCKED" out &&
	test_grep "audit" out &&
	records rec GATE_RUNBOOK=jreq &&
	test "$(field rec -1 GATE_DECISION)" = block
'

test_expect_success 'audit.required and no journal: block, nothing runs' '
	rm -f "$FL/ran" "$FL/req.jsonl" &&
	expect_status 75 no_journal "$GATE_BIN" run "$FL/jreqok.yaml" -- touch "$FL/ran" >out 2>err &&
	test ! -e "$FL/ran" &&
	test_grep -i "journal" err &&
	test "$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])[\"decision\"])" "$FL/req.jsonl")" = block
'

test_expect_success 'audit.required with journal and file working: allowed' '
	rm -f "$FL/ran" "$FL/req.jsonl" &&
	in_ns "$GATE_BIN" run "$FL/jreqok.yaml" -- touch "$FL/ran" >out 2>err &&
	test -e "$FL/ran" &&
	test "$(count_lines "$FL/req.jsonl")" = 2
'

test_done
