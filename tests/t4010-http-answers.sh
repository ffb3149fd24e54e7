#!/bin/bash
# patroni.cluster and prometheus.alerts against answers the real servers
# of t4100/t4200 cannot be made to give here: Patroni 3.0.4+ ("streaming",
# replay_lag; Debian 12 ships 3.0.2), a lagging replica, a timeline split,
# no leader, a leader API that fails, Prometheus errors and garbage.
# Served by tests/servers/httpd.py with sticky bodies (POST /__set): a mock
# only because no such real server can run here; the shapes are the ones
# in doc/facts.md and the Patroni/Prometheus API docs.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd ss curl

T=$TEST_TMP
HP=$(free_port)
/usr/bin/python3 "$GATE_SOURCE_DIR/tests/servers/httpd.py" "$HP" >"$T/httpd.log" 2>&1 &
test_cleanup "kill $! 2>/dev/null"
listening() { ss -Hltn "sport = :$1" | grep -q .; }
wait_until 10 listening "$HP" || { echo "# httpd did not start"; echo "0 passed, 1 failed"; exit 1; }
URL=http://127.0.0.1:$HP
API=$URL/patroni

# serve PATH [STATUS] [DELAY] < BODY: make httpd answer PATH with BODY.
serve() {
	curl -s -X POST --data-binary @- "$URL/__set?path=$1&status=${2:-200}&delay=${3:-0}" >/dev/null
}
check_one() { # check_one NAME TYPE 'WITH-FLOW-MAPPING'
	printf 'version: 1\nname: %s\nchecks:\n  - id: c\n    type: %s\n    timeout: 2s\n    with: %s\n' \
		"$1" "$2" "$3" >"$T/$1.yaml"
	local rc=0
	gate check --format json "$T/$1.yaml" >"$T/$1.json" 2>"$T/$1.err" || rc=$?
	echo "$rc" >"$T/$1.rc"
}
st() { json_get "$T/$1.json" ".checks[?id=c].status"; }
summary() { json_get "$T/$1.json" ".checks[?id=c].summary"; }
leader() { # leader [TIMELINE]: the leader's /cluster entry
	printf '{"name": "pg1", "role": "leader", "state": "running", "api_url": "%s", "host": "127.0.0.1", "port": 5432%s}' \
		"$API" "${1:+, \"timeline\": $1}"
}

test_expect_success 'Patroni 3.0.4+: a streaming replica counts without asking the leader' '
	serve /patroni 500 <<<"{}" &&
	serve /cluster <<-EOF &&
	{"members": [$(leader 3), {"name": "pg2", "role": "sync_standby", "state": "streaming", "timeline": 3, "lag": 0, "receive_lag": 0, "replay_lag": 4096},
	 {"name": "pg3", "role": "replica", "state": "in archive recovery", "timeline": 3, "lag": 0}]}
	EOF
	check_one s304 patroni.cluster "{url: \"$URL\"}" &&
	test "$(st s304)" = pass &&
	test "$(summary s304)" = "1 of 1 required replicas streaming: pg1 leader running tl 3, pg2 sync_standby streaming tl 3 lag 4096, pg3 replica in archive recovery tl 3 lag 0 (not streaming)"
'

test_expect_success 'replay_lag above max_lag_bytes does not count' '
	check_one lag patroni.cluster "{url: \"$URL\", max_lag_bytes: 4kB}" &&
	test "$(st lag)" = fail &&
	summary lag | grep "pg2 sync_standby streaming tl 3 lag 4096 (lag above 4000 bytes)"
'

test_expect_success 'a replica on another timeline, or without one, does not count' '
	serve /cluster <<-EOF &&
	{"members": [$(leader 2), {"name": "pg2", "role": "replica", "state": "streaming", "timeline": 1, "lag": 0},
	 {"name": "pg3", "role": "replica", "state": "streaming", "lag": 0}]}
	EOF
	check_one tl patroni.cluster "{url: \"$URL\"}" &&
	test "$(st tl)" = fail &&
	summary tl | grep "pg2 replica streaming tl 1 lag 0 (not on the leader.s timeline)" &&
	summary tl | grep "pg3 replica streaming lag 0 (no timeline)"
'

test_expect_success 'no leader fails' '
	serve /cluster <<-EOF &&
	{"members": [{"name": "pg2", "role": "replica", "state": "streaming", "timeline": 1, "lag": 0}]}
	EOF
	check_one noleader patroni.cluster "{url: \"$URL\", min_streaming: 0}" &&
	test "$(st noleader)" = fail &&
	summary noleader | grep "^no leader: pg2 replica streaming"
'

test_expect_success 'a leader that is not running fails' '
	serve /cluster <<-EOF &&
	{"members": [{"name": "pg1", "role": "leader", "state": "stopped", "api_url": "$API", "timeline": 1},
	 {"name": "pg2", "role": "replica", "state": "streaming", "timeline": 1, "lag": 0}]}
	EOF
	check_one leaderdown patroni.cluster "{url: \"$URL\"}" &&
	test "$(st leaderdown)" = fail &&
	test "$(summary leaderdown)" = "the leader is not running: pg1 leader stopped tl 1, pg2 replica streaming tl 1 lag 0"
'

test_expect_success '3.0.2 "running": counts only if the leader lists it streaming' '
	serve /cluster <<-EOF &&
	{"members": [$(leader 1), {"name": "pg2", "role": "replica", "state": "running", "timeline": 1, "lag": 0}]}
	EOF
	serve /patroni <<<"{\"role\": \"master\", \"timeline\": 1, \"replication\": [{\"application_name\": \"pg2\", \"state\": \"streaming\"}]}" &&
	check_one listed patroni.cluster "{url: \"$URL\"}" &&
	test "$(st listed)" = pass &&
	serve /patroni <<<"{\"role\": \"master\", \"timeline\": 1, \"replication\": [{\"application_name\": \"pg2\", \"state\": \"catchup\"}]}" &&
	check_one catchup patroni.cluster "{url: \"$URL\"}" &&
	test "$(st catchup)" = fail &&
	summary catchup | grep "(not streaming per the leader)" &&
	serve /patroni <<<"{\"role\": \"master\", \"timeline\": 1}" &&
	check_one unlisted patroni.cluster "{url: \"$URL\"}" &&
	test "$(st unlisted)" = fail
'

test_expect_success 'the leader API failing is an error, not a pass or a plain fail' '
	serve /patroni 500 <<<"{}" &&
	check_one apierr patroni.cluster "{url: \"$URL\"}" &&
	test "$(st apierr)" = error &&
	summary apierr | grep "^cannot ask the leader: .*answered status 500"
'

test_expect_success 'a leader entry without timeline takes it from the leader API' '
	serve /cluster <<-EOF &&
	{"members": [$(leader), {"name": "pg2", "role": "replica", "state": "running", "timeline": 1, "lag": 0}]}
	EOF
	serve /patroni <<<"{\"role\": \"master\", \"timeline\": 1, \"replication\": [{\"application_name\": \"pg2\", \"state\": \"streaming\"}]}" &&
	check_one notl patroni.cluster "{url: \"$URL\"}" &&
	test "$(st notl)" = pass &&
	test "$(json_get $T/notl.json ".checks[?id=c].details.timeline")" = 1
'

test_expect_success '/cluster unparsable, failing or silent is an error' '
	serve /cluster <<<"{\"members\": [" &&
	check_one garbage patroni.cluster "{url: \"$URL\"}" &&
	test "$(st garbage)" = error && summary garbage | grep "not JSON" &&
	serve /cluster 503 <<<"{}" &&
	check_one s503 patroni.cluster "{url: \"$URL\"}" &&
	test "$(st s503)" = error && summary s503 | grep "answered status 503" &&
	serve /cluster 200 5 <<<"{}" &&
	check_one slow patroni.cluster "{url: \"$URL\"}" &&
	test "$(st slow)" = error && summary slow | grep "no response within" &&
	serve /cluster <<<"{\"members\": []}" &&
	check_one empty patroni.cluster "{url: \"$URL\", min_streaming: 0}" &&
	test "$(st empty)" = error
'

test_expect_success 'Prometheus answering an error or another shape is an error' '
	serve /api/v1/alerts 422 <<<"{\"status\": \"error\", \"errorType\": \"bad_data\", \"error\": \"boom\"}" &&
	check_one perr prometheus.alerts "{url: \"$URL\"}" &&
	test "$(st perr)" = error &&
	serve /api/v1/alerts <<<"{\"status\": \"error\", \"error\": \"boom\"}" &&
	check_one perr2 prometheus.alerts "{url: \"$URL\"}" &&
	test "$(st perr2)" = error && summary perr2 | grep "boom" &&
	serve /api/v1/alerts <<<"{\"status\": \"success\", \"data\": {}}" &&
	check_one nolist prometheus.alerts "{url: \"$URL\"}" &&
	test "$(st nolist)" = error
'

test_expect_success 'prometheus.alerts sends its headers (a bearer token from the environment)' '
	export GATE_T4010_TOKEN=t4010-bearer-secret &&
	serve /api/v1/alerts <<<"{\"status\": \"success\", \"data\": {\"alerts\": []}}" &&
	check_one bearer prometheus.alerts "{url: \"$URL\", headers: {Authorization: \"Bearer \${env:GATE_T4010_TOKEN}\"}}" &&
	test "$(st bearer)" = pass &&
	test "$(summary bearer)" = "no firing alert" &&
	curl -s "$URL/__log" | grep -F "\"Authorization\": \"Bearer t4010-bearer-secret\"" &&
	! grep -F t4010-bearer-secret "$T/bearer.json" "$T/bearer.err"
'

test_expect_success 'the full endpoint URL works too; a missing label is the empty string' '
	serve /api/v1/alerts <<-EOF &&
	{"status": "success", "data": {"alerts": [
	 {"labels": {"alertname": "A", "instance": "db1"}, "state": "firing"},
	 {"labels": {"alertname": "B"}, "state": "firing"},
	 {"labels": {"alertname": "C", "instance": "db2"}, "state": "pending"}]}}
	EOF
	check_one full prometheus.alerts "{url: \"$URL/api/v1/alerts\", match: {instance: \"db.*\"}}" &&
	test "$(st full)" = fail &&
	test "$(summary full)" = "1 firing: A{instance=db1} (1 other ignored by match)" || {
		summary full; false; }
'

test_done
