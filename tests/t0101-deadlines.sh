#!/usr/bin/env bash
# Deadlines, retries and parallelism, measured on the real binary with the
# built-in `exec` check: a hanging check is killed at its timeout; the
# overall deadline bounds everything; -j limits how many checks run at
# once; retries retry.  Time bounds (test-lib.sh, "Time bounds"): the exec
# check stops its command up to 200 ms before the core's deadline so it can
# say what timed out, so a decision comes no sooner than deadline - 300 ms;
# the upper bounds are the deadline plus TEST_SLACK_MS, which still tells
# a killed 60 s command from one that ran.  Parallelism is shown by the
# checks themselves (a barrier they pass only together), not by timing.
# (t0102 has a module that does not stop itself, and is killed by the core.)
. "$(dirname "$0")/lib/test-lib.sh"

cd "$TEST_TMP" || exit 1

now_ms() { test_now_ms; }

# timed VAR CMD...: run CMD, store its wall time in ms in VAR, keep its status.
timed() {
	local __var=$1; shift
	local t0 rc=0
	t0=$(now_ms)
	"$@" || rc=$?
	printf -v "$__var" '%s' $(( $(now_ms) - t0 ))
	return $rc
}

# a sleep of its own, so that no other sleep on the machine is taken for it
ln -s "$(command -v sleep)" sleep-t0101
write_rb hang.yaml <<EOF
version: 1
name: hang
checks:
  - id: hangs
    type: exec
    timeout: 2s
    with:
      command: ["$TEST_TMP/sleep-t0101", "60"]
      protocol: exit
  - id: quick
    type: exec
    with:
      command: ["true"]
      protocol: exit
EOF

test_expect_success 'a hanging check is killed at its timeout, and the decision comes then' '
	rc=0 && timed ms gate check -f json hang.yaml >out.json || rc=$?
	say "hanging check, timeout 2s: decision after $ms ms" &&
	test $rc = 75 &&
	test $ms -ge 1700 && test $ms -lt $((2000 + TEST_SLACK_MS)) &&
	test "$(json_get out.json .checks[0].status)" = error &&
	json_get out.json .checks[0].summary | grep -q "timed out" &&
	test "$(json_get out.json .checks[1].status)" = pass &&
	! pgrep -f "^$TEST_TMP/sleep-t0101 60" >/dev/null
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
	rc=0 && timed ms gate check -q slow.yaml >out || rc=$?
	say "runbook timeout 1s, checks of 30s: decision after $ms ms" &&
	test $rc = 75 && test $ms -ge 700 && test $ms -lt $((1000 + TEST_SLACK_MS))
'

test_expect_success '--timeout replaces it, and bounds -j 1 too' '
	rc=0 && timed ms gate check -j 1 --timeout 1500ms -f json slow.yaml >out.json || rc=$?
	say "--timeout 1500ms -j 1: decision after $ms ms" &&
	test $rc = 75 && test $ms -ge 1200 && test $ms -lt $((1500 + TEST_SLACK_MS)) &&
	test "$(json_get out.json .checks[0].status)" = error &&
	test "$(json_get out.json .checks[1].status)" = error &&
	json_get out.json .checks[1].summary | grep -Eq "timed out after [0-9]+ms|not run: overall deadline"
'

# conc.sh DIR ID N: a check that proves how many checks run at once.  It
# marks itself running, notes how many are, waits (up to 60 s) until N
# checks have arrived, notes the count again and leaves.  It passes only
# when N checks reached it together; DIR/seen.log holds every count seen.
cat >conc.sh <<'EOS'
d=$1; id=$2; want=$3
touch "$d/run.$id" "$d/arrived.$id"
ls "$d" | grep -c "^run\." >>"$d/seen.log"
i=0
until [ "$(ls "$d" | grep -c "^arrived\.")" -ge "$want" ]; do
	i=$((i + 1)); [ $i -le 600 ] || { rm -f "$d/run.$id"; exit 1; }
	sleep 0.1
done
ls "$d" | grep -c "^run\." >>"$d/seen.log"
rm -f "$d/run.$id"
EOS
# par N: par<N>.yaml, four conc.sh checks that each wait for N of them
par() {
	{
		printf "version: 1\nname: par\nchecks:\n"
		for i in 1 2 3 4; do
			printf "  - {id: s%s, type: exec, timeout: 90s, with: {command: [sh, %s, %s, s%s, %s], protocol: exit}}\n" \
				"$i" "$TEST_TMP/conc.sh" "$TEST_TMP/conc" "$i" "$1"
		done
	} >"par$1.yaml"
	chmod 644 "par$1.yaml"
	rm -rf conc && mkdir conc
}
max_seen() { sort -n conc/seen.log | tail -n 1; }

test_expect_success 'checks run at once by default: four checks meet at a barrier of four' '
	par 4 &&
	gate check -f json par4.yaml >out.json &&
	test "$(json_get out.json .decision)" = allow &&
	test "$(max_seen)" = 4
'

test_expect_success '-j 2: two meet at a barrier of two, never more than two at once' '
	par 2 &&
	gate check -j 2 -q par2.yaml >/dev/null &&
	test "$(max_seen)" = 2 &&
	test "$(wc -l <conc/seen.log)" = 8
'

# (Once the first two are killed at the deadline the other two start, and
# find four arrived: only what the first two saw counts.)
test_expect_success '-j 2: the first two never see a barrier of four reached (they time out)' '
	par 4 &&
	rc=0 && gate check -j 2 --timeout 3s -f json par4.yaml >out.json || rc=$?
	test $rc = 75 &&
	test "$(head -n 2 conc/seen.log | sort -n | tail -n 1)" = 2 &&
	test "$(json_get out.json .checks[0].status)" = error &&
	test "$(json_get out.json .checks[1].status)" = error
'

write_rb sleeps.yaml <<'EOF'
version: 1
name: sleeps
checks:
  - {id: s1, type: exec, with: {command: ["sleep", "0.5"], protocol: exit}}
  - {id: s2, type: exec, with: {command: ["sleep", "0.5"], protocol: exit}}
  - {id: s3, type: exec, with: {command: ["sleep", "0.5"], protocol: exit}}
  - {id: s4, type: exec, with: {command: ["sleep", "0.5"], protocol: exit}}
EOF

test_expect_success '-j 1 serialises: one at a time, and four sleeps of 0.5 s add up' '
	par 1 &&
	gate check -q -j 1 par1.yaml >/dev/null &&
	test "$(max_seen)" = 1 &&
	timed one gate check -q -j 1 sleeps.yaml >/dev/null &&
	say "4 x sleep 0.5 with -j 1: $one ms" &&
	test $one -ge 1990
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
	rc=0 && timed ms gate check --timeout 10s -f json retry2.yaml >out.json || rc=$?
	say "retry_delay 10s, --timeout 10s: decision after $ms ms" &&
	test $rc = 75 && test $ms -lt 10000 &&
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
