#!/bin/bash
# gate serve's cache and single-flight, counted in its own metrics
# (gate_runbook_evaluations_total): an answer within --min-interval comes
# from the cache even when the condition changed; SIGHUP drops the cache
# (and the metrics' decision with it);
# a hundred concurrent requests while the runbook is stale cause one
# evaluation (a check that takes 2 s keeps them together), all answered
# with its decision; --min-interval 0 evaluates for every request that
# comes after the last evaluation ended.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/serve.sh"
require_cmd curl ss
T=$TEST_TMP
cd "$T" || exit 1

touch allow
write_rb sf.yaml <<EOF
version: 1
name: single-flight
checks:
  - id: takes-two-seconds
    type: exec
    with: {command: [sleep, "2"], protocol: exit}
  - id: allow-file
    type: exec
    with: {command: [test, -e, "$T/allow"], protocol: exit}
EOF

serve_start a --min-interval 1h sf.yaml || exit 1
EVALS='gate_runbook_evaluations_total{runbook="sf"}'

test_expect_success 'the first evaluation runs at the start; answers within the interval come from the cache' '
	wait_until 60 serve_metric_is "$EVALS" 1 &&
	test "$(serve_code /healthz/sf)" = 200 &&
	rm allow &&
	test "$(serve_code /healthz/sf)" = 200 &&
	test "$(serve_code /v1/runbooks/sf)" = 200 &&
	test "$(serve_metric "$EVALS")" = 1
'

test_expect_success 'SIGHUP drops the cache; 100 concurrent requests then cause one evaluation' '
	kill -HUP $SERVE_PID &&
	wait_until 30 grep -q "reloaded: 1 of 1 runbooks valid" "$SERVE_LOG" &&
	urls=() &&
	for i in $(seq 100); do urls+=(-o /dev/null "$SERVE_URL/healthz/sf"); done &&
	curl -s -m 60 --parallel --parallel-immediate --parallel-max 100 -w "%{http_code}\n" "${urls[@]}" >codes &&
	test "$(wc -l <codes)" = 100 &&
	test "$(sort -u codes)" = 503 &&
	test "$(serve_metric "$EVALS")" = 2 &&
	curl -s -m 30 "$SERVE_URL/healthz/sf" >body &&
	test_grep "^block: allow-file: exited 1$" body
'
reloads_are() { [ "$(grep -c "reloaded: 1 of 1 runbooks valid" "$SERVE_LOG")" = "$1" ]; }
test_expect_success 'after SIGHUP, the metrics allow no more until an evaluation of the reload ended' '
	touch allow &&
	kill -HUP $SERVE_PID &&
	wait_until 30 reloads_are 2 &&
	test "$(serve_code /healthz/sf)" = 200 &&
	test "$(serve_metric "gate_runbook_allowed{runbook=\"sf\"}")" = 1 &&
	n=$(serve_metric "$EVALS") &&
	rm allow &&
	kill -HUP $SERVE_PID &&
	wait_until 30 reloads_are 3 &&
	# this scrape starts the evaluation (2 s): the last one is of the old load
	test "$(serve_metric "gate_runbook_allowed{runbook=\"sf\"}")" = 0 &&
	wait_until 60 serve_metric_is "$EVALS" $((n + 1)) &&
	test "$(serve_metric "gate_runbook_allowed{runbook=\"sf\"}")" = 0
'
serve_stop
test_expect_success 'stopped cleanly' 'test "$SERVE_RC" = 0'

serve_start b --min-interval 0 sf.yaml || exit 1
test_expect_success '--min-interval 0: every request after an evaluation ended gets a new one' '
	wait_until 60 serve_metric_ge "$EVALS" 1 &&
	test "$(serve_code /healthz/sf)" = 503 &&
	touch allow &&
	test "$(serve_code /healthz/sf)" = 200 &&
	n=$(curl -s -m 10 "$SERVE_URL/metrics" | awk -v k="$EVALS" "\$1 == k { print \$2 }") &&
	test "$n" -ge 3
'
serve_stop
test_expect_success 'stopped cleanly, nothing left' 'test "$SERVE_RC" = 0 && test -z "$(pgrep -f "$T/")"'

test_done
