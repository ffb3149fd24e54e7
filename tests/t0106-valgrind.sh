#!/usr/bin/env bash
# The whole run path under valgrind: options, runbook, runner, policy,
# audit file, reports, exec, result record, and the check children: every
# check runs in a process forked from gate, so valgrind follows them
# (--child-silent-after-fork=no) and whatever gate itself executes
# (--trace-children=yes; the system tools the checks start are skipped:
# they are not gate's code).  Each process writes its own log; a run is
# clean when every log is empty: no invalid access, no uninitialised value,
# no leak (definite, indirect or possible).  Representative checks: exec
# (pass, fail, a timeout kill), backup.file, http (libcurl) against a real
# server and a closed port, postgres (libpq) against a closed port.
# tests/valgrind.supp holds suppressions for libraries only, each commented.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd valgrind ss
PY=/usr/bin/python3

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

# A real HTTP server, a closed port, and a dump for backup.file.
HP=$(free_port)
$PY "$GATE_SOURCE_DIR/tests/servers/httpd.py" "$HP" >httpd.log 2>&1 &
test_cleanup "kill $!"
wait_until 10 sh -c "ss -Hltn 'sport = :$HP' | grep -q LISTEN" || echo "# httpd did not start"
CLOSED=$(free_port)
while [ "$CLOSED" = "$HP" ]; do CLOSED=$(free_port); done
mkdir dumps && head -c 4096 /dev/urandom >dumps/db.dump
cat >kids.yaml <<EOF
version: 1
name: vg-children
checks:
  - id: http-ok
    type: http
    with: {url: "http://127.0.0.1:$HP/json", expect_status: [200]}
  - id: http-refused
    type: http
    with: {url: "http://127.0.0.1:$CLOSED/"}
  - id: pg-refused
    type: postgres.replication
    with: {conninfo: "host=127.0.0.1 port=$CLOSED dbname=postgres user=postgres connect_timeout=5"}
  - id: pg-replica-refused
    type: postgres.replica
    with: {conninfo: "host=127.0.0.1 port=$CLOSED dbname=postgres user=postgres connect_timeout=5"}
  - id: file
    type: backup.file
    with: {path: "$TEST_TMP/dumps/*.dump", max_age: 1h, checksum: none}
  - id: hang
    type: exec
    timeout: 3s
    with: {command: ["sleep", "60"], protocol: exit}
EOF
chmod 644 kids.yaml

# vg ARGS...: gate under valgrind, one log per process in vglog/
vg() {
	rm -rf vglog && mkdir vglog
	valgrind -q --error-exitcode=99 --leak-check=full \
		--show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible \
		--trace-children=yes --child-silent-after-fork=no \
		--trace-children-skip='/bin/*,/usr/bin/*,/usr/sbin/*,/usr/lib/*' \
		--suppressions="$GATE_SOURCE_DIR/tests/valgrind.supp" \
		--log-file="$TEST_TMP/vglog/%p.log" "$GATE_BIN" "$@"
}
# vg_clean [MIN]: every process logged nothing (valgrind does not know
# pidfd_open, the runner then falls back to waitpid after EOF: that notice
# is not an error), and valgrind followed at least MIN processes.  The one
# known finding, a check child that does not free its result before
# _exit (gate/runner.c child_run), is set aside in known-leaks.txt for the
# known-breakage case at the end, not hidden.
vg_clean() {
	local min=${1:-1}
	test "$(ls vglog | wc -l)" -ge "$min" || { echo "only $(ls vglog | wc -l) processes followed"; return 1; }
	$PY - vglog/*.log <<-\PYEND
	import re, sys
	bad = 0
	for path in sys.argv[1:]:
	    text = open(path).read()
	    for block in re.split(r"(?m)^==\d+== *\n", text):
	        lines = [l for l in block.splitlines() if l.strip() and not re.match(r"==\d+== *$", l)]
	        if not lines:
	            continue
	        body = "\n".join(lines)
	        if re.search(r"pidfd_open|unhandled .* syscall|README_MISSING_SYSCALL|write your own handler|consider this a bug|bugs.kde.org", body) and "lost in" not in body:
	            continue
	        if "lost in loss record" in body and "child_run (runner.c" in body:
	            open("known-leaks.txt", "a").write(path + "\n" + body + "\n\n")
	            continue
	        print("--- " + path); print(body); bad = 1
	sys.exit(bad)
	PYEND
}

test_expect_success 'allow and run: clean under valgrind, status passed through' '
	rc=0 && vg run -o rep.json --audit-log a.jsonl --var x=y vars.yaml -- sh -c "exit 3" >out 2>err || rc=$? &&
	cat err && test $rc = 3 &&
	vg_clean 3 &&
	test "$(json_get rep.json .exit_status)" = 3 &&
	test $(wc -l <a.jsonl) = 2
'

test_expect_success 'block, json, override refused: clean under valgrind' '
	rc=0 && vg run -f json --override one --reason because block.yaml -- touch ran >out 2>err || rc=$? &&
	cat err && test $rc = 75 && test ! -e ran &&
	vg_clean 3 &&
	test "$(json_get out .decision)" = block
'

test_expect_success 'invalid runbook and usage errors: clean under valgrind' '
	printf "version: 1\nname: bad\nchecks:\n  - id: x\n    type: exec\n    wiht: {}\n" >bad.yaml && chmod 644 bad.yaml &&
	rc=0 && vg run bad.yaml -- true 2>err || rc=$? && test $rc = 78 &&
	rc=0 && vg check --override x rb.yaml 2>err || rc=$? && test $rc = 64 &&
	rc=0 && vg lint rb.yaml bad.yaml >/dev/null 2>err || rc=$? && test $rc = 78 &&
	vg_clean 1
'

# The two postgres checks share one child, a thread each (module ABI 1.2,
# gate/runner_host.c): that path is followed too.
test_expect_success 'check children (http, postgres, backup.file, exec killed at its timeout): clean under valgrind' '
	rc=0 && vg check -f json kids.yaml >kids.json 2>err || rc=$?
	cat err && test $rc = 75 &&
	vg_clean 6 &&
	test "$(json_get kids.json ".checks[?id=http-ok].status")" = pass &&
	test "$(json_get kids.json ".checks[?id=http-refused].status")" = error &&
	test "$(json_get kids.json ".checks[?id=pg-refused].status")" = error &&
	test "$(json_get kids.json ".checks[?id=pg-replica-refused].status")" = error &&
	json_get kids.json ".checks[?id=pg-replica-refused].summary" | grep -F "connection refused" &&
	test "$(json_get kids.json ".checks[?id=file].status")" = pass &&
	test "$(json_get kids.json ".checks[?id=hang].status")" = error
'

test_expect_success 'gate'"'"'s parts (a file lock, a notification to the real server, part-holds.so and part-notify.so loaded): clean under valgrind' '
	mkdir -p -m 700 state &&
	cat >parts.yaml <<-EOF &&
	version: 1
	name: vg-parts
	checks:
	  - id: one
	    type: exec
	    with: {command: ["true"], protocol: exit}
	lock:
	  - file: $TEST_TMP/parts.lock
	notify:
	  - url: http://127.0.0.1:$HP/hook
	EOF
	chmod 644 parts.yaml &&
	GATE_STATE_DIR=$TEST_TMP/state vg run -o parts.json parts.yaml -- true >out 2>err &&
	cat err &&
	vg_clean 2 &&
	test "$(json_get parts.json ".notifications[1].ok")" = true
'

# A check child frees its result before _exit (gate/runner.c child_run):
# valgrind, which follows the children, finds nothing lost in them.
test_expect_success 'check children free their result before _exit (gate/runner.c child_run)' '
	test ! -s known-leaks.txt
'

test_done
