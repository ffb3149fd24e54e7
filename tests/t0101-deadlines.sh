#!/usr/bin/env bash
# Deadlines, retries and parallelism, measured on the real binary with the
# built-in `exec` check: a hanging check is killed at its timeout and the
# decision comes within timeout + 1 s; the overall deadline bounds
# everything; -j 1 serialises; retries retry.  (The exec check stops its
# command a little before the core's deadline so it can say what timed
# out: hence lower bounds of deadline - 300 ms.  t0102 has a module that
# does not, and is killed by the core.)
. "$(dirname "$0")/lib/test-lib.sh"

cd "$TEST_TMP" || exit 1

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# timed VAR CMD...: run CMD, store its wall time in ms in VAR, keep its status.
timed() {
	local __var=$1; shift
	local t0 rc=0
	t0=$(now_ms)
	"$@" || rc=$?
	printf -v "$__var" '%s' $(( $(now_ms) - t0 ))
	return $rc
}

write_rb() { cat >"$1"; chmod 644 "$1"; }

write_rb hang.yaml <<'EOF'
version: 1
name: hang
checks:
  - id: hangs
    type: exec
    timeout: 2s
    with:
      command: ["sleep", "60"]
      protocol: exit
  - id: quick
    type: exec
    with:
      command: ["true"]
      protocol: exit
EOF

test_expect_success 'a hanging check is killed at its timeout; decision within timeout + 1s' '
	rc=0; timed ms gate check -f json hang.yaml >out.json || rc=$? &&
	say "hanging check, timeout 2s: decision after $ms ms" &&
	test $rc = 75 &&
	test $ms -ge 1700 && test $ms -lt 3000 &&
	test "$(json_get out.json .checks[0].status)" = error &&
	json_get out.json .checks[0].summary | grep -q "timed out" &&
	test "$(json_get out.json .checks[1].status)" = pass &&
	! pgrep -f "^sleep 60$" >/dev/null
'

write_rb slow.yaml <<'EOF'
version: 1
name: slow
timeout: 1s
checks:
  - id: a
    type: exec
    with:
      command: ["sleep", "30"]
      protocol: exit
  - id: b
    type: exec
    with:
      command: ["sleep", "30"]
      protocol: exit
EOF

test_expect_success 'the runbook timeout bounds all checks' '
	rc=0; timed ms gate check -q slow.yaml >out || rc=$? &&
	say "runbook timeout 1s, checks of 30s: decision after $ms ms" &&
	test $rc = 75 && test $ms -ge 700 && test $ms -lt 2000
'

test_expect_success '--timeout replaces it, and bounds -j 1 too' '
	rc=0; timed ms gate check -j 1 --timeout 1500ms -f json slow.yaml >out.json || rc=$? &&
	say "--timeout 1500ms -j 1: decision after $ms ms" &&
	test $rc = 75 && test $ms -ge 1200 && test $ms -lt 2000 &&
	test "$(json_get out.json .checks[0].status)" = error &&
	test "$(json_get out.json .checks[1].status)" = error
'

write_rb par.yaml <<'EOF'
version: 1
name: par
checks:
  - {id: s1, type: exec, with: {command: ["sleep", "0.5"], protocol: exit}}
  - {id: s2, type: exec, with: {command: ["sleep", "0.5"], protocol: exit}}
  - {id: s3, type: exec, with: {command: ["sleep", "0.5"], protocol: exit}}
  - {id: s4, type: exec, with: {command: ["sleep", "0.5"], protocol: exit}}
EOF

test_expect_success 'checks run at once by default; -j 1 serialises, -j 2 halves' '
	timed all gate check -q par.yaml >/dev/null &&
	timed one gate check -q -j 1 par.yaml >/dev/null &&
	timed two gate check -q -j 2 par.yaml >/dev/null &&
	say "4 x sleep 0.5: all at once $all ms, -j 2 $two ms, -j 1 $one ms" &&
	test $all -lt 1000 &&
	test $two -ge 1000 && test $two -lt 1500 &&
	test $one -ge 2000
'

write_rb retry.yaml <<EOF
version: 1
name: retry
checks:
  - id: third-time-lucky
    type: exec
    retries: 3
    retry_delay: 200ms
    with:
      command: ["sh", "-c", "echo x >> $TEST_TMP/tries; test \$(wc -l < $TEST_TMP/tries) -ge 3"]
      protocol: exit
EOF

test_expect_success 'retries: a check that passes on its third attempt passes' '
	rm -f tries &&
	timed ms gate check -f json retry.yaml >out.json &&
	test "$(json_get out.json .checks[0].status)" = pass &&
	test "$(json_get out.json .checks[0].attempts)" = 3 &&
	test $(wc -l <tries) = 3 &&
	test $ms -ge 400
'

test_expect_success 'retries run out: the last failure blocks' '
	rm -f tries &&
	sed "s/retries: 3/retries: 1/" retry.yaml >retry1.yaml && chmod 644 retry1.yaml &&
	expect_status 75 gate check -f json retry1.yaml >out.json &&
	test "$(json_get out.json .checks[0].status)" = fail &&
	test "$(json_get out.json .checks[0].attempts)" = 2 &&
	test $(wc -l <tries) = 2
'

test_expect_success 'no retry is started past the overall deadline' '
	rm -f tries &&
	sed "s/retry_delay: 200ms/retry_delay: 10s/" retry.yaml >retry2.yaml && chmod 644 retry2.yaml &&
	rc=0; timed ms gate check --timeout 2s -f json retry2.yaml >out.json || rc=$? &&
	test $rc = 75 && test $ms -lt 1500 &&
	test "$(json_get out.json .checks[0].attempts)" = 1
'

python3 - <<'PY'
with open("many.yaml", "w") as f:
    f.write("version: 1\nname: many\nchecks:\n")
    for i in range(100):
        f.write(f"  - {{id: c{i}, type: exec, with: {{command: [\"true\"], protocol: exit}}}}\n")
PY
chmod 644 many.yaml

test_expect_success '100 checks "all at once" with only 40 fds: they wait for fds, all pass' '
	(ulimit -n 40 && "$GATE_BIN" check -f json many.yaml >out.json) &&
	test "$(json_get out.json .decision)" = allow
'

test_done
