#!/bin/bash
# gate serve with real checks: `exec` checks on files the test flips, an
# `http` check against tests/servers/httpd.py (a real HTTP server, made to
# answer 500), a check that hangs.  The report is gate check's; /healthz
# flips 200/503 once the minimum interval has passed; a hanging check does
# not hold up /metrics or another runbook; promtool accepts /metrics; a
# runbook with a command and a lock is served for its checks only (neither
# run nor taken); SIGHUP re-reads the runbooks and one made invalid keeps
# being served as it was; SIGTERM kills what is under way and leaves no
# process and no file behind.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/serve.sh"
require_cmd curl ss promtool
T=$TEST_TMP
cd "$T" || exit 1

HP=$(free_port)
/usr/bin/python3 "$GATE_SOURCE_DIR/tests/servers/httpd.py" "$HP" >httpd.log 2>&1 &
test_cleanup "kill $! 2>/dev/null"
wait_until 30 curl -sf -m 2 "http://127.0.0.1:$HP/"

touch allow
write_rb flip.yaml <<EOF
version: 1
name: flip-runbook
checks:
  - id: allow-file
    type: exec
    with: {command: [test, -e, "$T/allow"], protocol: exit}
EOF
write_rb web.yaml <<EOF
version: 1
name: web
checks:
  - id: site
    type: http
    with: {url: "http://127.0.0.1:$HP/"}
EOF
# 6131 s: a number no other test sleeps, to find leftovers by.  Its
# evaluation starts with gate serve and must still be under way when the
# hang test looks and when SIGTERM comes: a timeout longer than the script
# can take (at 60 s, a loaded machine reaching those tests after a minute
# would find it ended, and nothing there starts another).
write_rb hang.yaml <<EOF
version: 1
name: hang
timeout: 600s
checks:
  - id: hangs
    type: exec
    timeout: 600s
    with: {command: [sleep, "6131"], protocol: exit}
EOF
write_rb ops.yaml <<EOF
version: 1
name: ops
command: [touch, "$T/command-ran"]
lock: [{file: "$T/ops.lock"}]
checks:
  - id: ok
    type: exec
    with: {command: ["true"], protocol: exit}
EOF
cp ops.yaml edit.yaml

serve_start a "$T/flip.yaml" "$T/web.yaml" hang.yaml ops.yaml edit.yaml || exit 1

test_expect_success 'GET /v1/runbooks/NAME is the report gate check --format json gives' '
	curl -s -m 30 -o served.json -w "%{http_code} %{content_type}\n" "$SERVE_URL/v1/runbooks/flip" >got &&
	echo "200 application/json" >want && test_cmp want got &&
	gate check --format json "$T/flip.yaml" >direct.json 2>/dev/null &&
	/usr/bin/python3 - served.json direct.json <<-\PY
	import json, sys
	a, b = (json.load(open(f)) for f in sys.argv[1:])
	assert list(a) == list(b), (list(a), list(b))
	for k in ("runbook", "runbook_path", "mode", "decision", "reasons", "command"):
	    assert a[k] == b[k], (k, a[k], b[k])
	assert [(c["id"], c["status"]) for c in a["checks"]] == [(c["id"], c["status"]) for c in b["checks"]]
	PY
	test "$(json_get served.json .runbook_path)" = "$T/flip.yaml" &&
	test "$(json_get served.json .decision)" = allow
'

test_expect_success 'unknown runbooks and paths are 404, other methods 405, HEAD is a GET' '
	test "$(serve_code /v1/runbooks/nosuch)" = 404 &&
	test "$(serve_code /healthz/nosuch)" = 404 &&
	test "$(serve_code /v1/runbooks/)" = 404 &&
	test "$(serve_code /)" = 404 &&
	curl -s -o /dev/null -w "%{http_code}" -X POST "$SERVE_URL/metrics" >code && test "$(cat code)" = 405 &&
	curl -s -D hdr -o /dev/null -X DELETE "$SERVE_URL/healthz/flip" && test_grep -i "^allow: GET, HEAD" hdr &&
	curl -s -I -o /dev/null -w "%{http_code}" "$SERVE_URL/healthz/flip" >code && test "$(cat code)" = 200
'

test_expect_success '/healthz/NAME: 200 allow; 503 block once the condition changed and the interval passed' '
	curl -s -m 30 "$SERVE_URL/healthz/flip" >body && echo allow >want && test_cmp want body &&
	rm "$T/allow" &&
	wait_until 60 serve_code_is /healthz/flip 503 &&
	curl -s -m 30 "$SERVE_URL/healthz/flip" >body &&
	test_grep "^block: allow-file: exited 1$" body &&
	touch "$T/allow" &&
	wait_until 60 serve_code_is /healthz/flip 200
'

test_expect_success 'an http check against a real server: 500 blocks, in the report and in the metrics' '
	test "$(serve_code /healthz/web)" = 200 &&
	test "$(serve_metric "gate_check_status{runbook=\"web\",check=\"site\",status=\"pass\"}")" = 1 &&
	curl -sf -X POST "http://127.0.0.1:$HP/__set?path=/&status=500" >/dev/null &&
	wait_until 60 serve_code_is /healthz/web 503 &&
	curl -s -m 30 "$SERVE_URL/v1/runbooks/web" >web.json &&
	test "$(json_get web.json .decision)" = block &&
	test "$(json_get web.json ".checks[?id=site].status")" = fail &&
	wait_until 30 serve_metric_is "gate_check_status{runbook=\"web\",check=\"site\",status=\"fail\"}" 1 &&
	test "$(serve_metric "gate_check_status{runbook=\"web\",check=\"site\",status=\"pass\"}")" = 0 &&
	test "$(serve_metric "gate_runbook_allowed{runbook=\"web\"}")" = 0 &&
	curl -sf -X POST "http://127.0.0.1:$HP/__reset" >/dev/null
'

test_expect_success 'a hanging check holds up neither /metrics nor another runbook' '
	# the request for hang waits for its evaluation; the others must not
	(curl -s -m 120 -o /dev/null "$SERVE_URL/healthz/hang" &) &&
	wait_until 30 pgrep -f "^sleep 6131$" &&
	serve_metric_is "gate_runbook_evaluation_running{runbook=\"hang\"}" 1 &&
	for url in /metrics /healthz/flip /v1/runbooks/ops /healthz; do
		t0=$(test_now_ms) &&
		test "$(serve_code $url)" = 200 &&
		t1=$(test_now_ms) &&
		say "$url answered in $((t1 - t0)) ms while hang evaluates" &&
		test $((t1 - t0)) -lt $((2000 + TEST_SLACK_MS)) || exit 1
	done
'

test_expect_success 'promtool check metrics accepts /metrics (status 0, nothing on stderr)' '
	curl -sf -m 10 "$SERVE_URL/metrics" >metrics.txt &&
	promtool check metrics <metrics.txt >promtool.out 2>promtool.err &&
	test ! -s promtool.err &&
	test_grep "^gate_build_info{version=\"[0-9.]*\"} 1$" metrics.txt &&
	test_grep "^gate_runbook_allowed{runbook=\"flip\"} 1$" metrics.txt &&
	test_grep "^gate_runbook_valid{runbook=\"hang\"} 1$" metrics.txt &&
	test_grep "^gate_check_status{runbook=\"flip\",check=\"allow-file\",status=\"pass\"} 1$" metrics.txt &&
	test_grep "^gate_check_duration_seconds{runbook=\"flip\",check=\"allow-file\"} [0-9.e-]*$" metrics.txt &&
	test_grep "^gate_runbook_last_evaluation_timestamp_seconds{runbook=\"flip\"} [0-9.]*$" metrics.txt &&
	test_grep "^gate_runbook_evaluations_total{runbook=\"flip\"} [1-9][0-9]*$" metrics.txt &&
	test_grep "^gate_runbook_reload_failures_total{runbook=\"flip\"} 0$" metrics.txt &&
	test_grep "^# TYPE gate_runbook_evaluations_total counter$" metrics.txt
'

test_expect_success 'a runbook with a command and a lock is served for its checks only' '
	test "$(serve_code /healthz/ops)" = 200 &&
	test_grep "ops: served for its checks only" "$SERVE_LOG" &&
	test ! -e "$T/command-ran" &&
	curl -s -m 30 "$SERVE_URL/v1/runbooks/ops" >ops.json &&
	test "$(json_get ops.json .mode)" = check
'

test_expect_success 'SIGHUP: a runbook made invalid keeps being served as it was, and says so' '
	n0=$(serve_metric "gate_runbook_evaluations_total{runbook=\"edit\"}") &&
	printf "version: 1\nname: edit\nchecks:\n  - {id: x, type: no.such.type}\n" >edit.yaml &&
	kill -HUP $SERVE_PID &&
	wait_until 30 serve_metric_is "gate_runbook_valid{runbook=\"edit\"}" 0 &&
	test "$(serve_metric "gate_runbook_reload_failures_total{runbook=\"edit\"}")" = 1 &&
	test_grep "edit: edit.yaml:4:19: unknown check type.*(the last valid version is still served)" "$SERVE_LOG" &&
	test "$(serve_code /healthz/edit)" = 200 &&
	curl -s -m 30 "$SERVE_URL/v1/runbooks/edit" >edit.json &&
	test "$(json_get edit.json .runbook_path)" = edit.yaml &&
	test "$(json_get edit.json .checks[0].id)" = ok &&
	test "$(serve_metric "gate_runbook_evaluations_total{runbook=\"edit\"}")" -gt "$n0" &&
	test "$(serve_metric "gate_runbook_valid{runbook=\"flip\"}")" = 1 &&
	cp ops.yaml edit.yaml &&
	kill -HUP $SERVE_PID &&
	wait_until 30 serve_metric_is "gate_runbook_valid{runbook=\"edit\"}" 1 &&
	test "$(serve_metric "gate_runbook_reload_failures_total{runbook=\"edit\"}")" = 1
'

# Stopped here, not inside a body: the server is a child of this shell.
hanging=$(pgrep -f "^sleep 6131$")
t0=$(test_now_ms)
serve_stop 30
t1=$(test_now_ms)
# The evaluation (a gate check) is SIGKILLed and reaped before gate serve
# exits; its check children, in groups of their own, die of their
# parent-death signal a moment later: waited for, not assumed.
test_expect_success 'SIGTERM stops it at once: the hanging evaluation is killed, nothing is left' '
	test "$SERVE_RC" = 0 &&
	test -n "$hanging" &&
	say "stopped in $((t1 - t0)) ms" &&
	test $((t1 - t0)) -lt $((3000 + TEST_SLACK_MS)) &&
	test_grep "stopping (signal 15)" "$SERVE_LOG" &&
	none() { test -z "$(pgrep -f "$1")"; } &&
	wait_until 10 none "^sleep 6131$" && wait_until 10 none "$T/" &&
	test -z "$(ls -A a.tmp)"
'

test_expect_success 'two runbooks with one name are refused at the start (78)' '
	mkdir other && cp flip.yaml other/ &&
	expect_status 78 gate serve --listen 127.0.0.1:$(free_port) flip.yaml other/flip.yaml 2>err &&
	test_grep "same name .flip." err &&
	expect_status 64 gate serve 2>err &&
	expect_status 64 gate serve --listen nope flip.yaml 2>err &&
	expect_status 64 gate serve --min-interval soon flip.yaml 2>err
'

test_done
