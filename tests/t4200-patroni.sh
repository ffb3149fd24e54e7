#!/bin/bash
# patroni.cluster against a real Patroni 3.0.2 cluster (Debian's patroni,
# a one-member etcd-server through `etcd3:`, PostgreSQL 15): a leader and
# one replica, started here (tests/lib/ha.sh; doc/facts.md, Patroni).
# Patroni 3.0.2 says "running" for a healthy replica, so passing here
# exercises the leader's /patroni replication[] cross-check.  Judged
# against the same PostgreSQL: postgres.replication on the leader agrees.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/report.sh"
require_cmd patroni patronictl etcd curl ss runuser
. "$GATE_SOURCE_DIR/tests/lib/ha.sh"

T=$TEST_TMP
if ! ha_cluster_up; then
	echo "# the Patroni cluster did not come up:"
	tail -n 15 "$HA"/log/*.log
	echo "0 passed, 1 failed"; exit 1
fi
API1=http://127.0.0.1:$PATRONI_API_1
API2=http://127.0.0.1:$PATRONI_API_2
# The superuser password Patroni set; libpq reads it from the environment,
# so it is never in a runbook.
export PGPASSWORD=fxsuper
CONNINFO="host=127.0.0.1 port=$PG_PORT_1 user=postgres dbname=postgres connect_timeout=5"

check() {
	local rc=0
	gate check --format json "$T/$1.yaml" >"$T/$1.json" 2>"$T/$1.err" || rc=$?
	echo "$rc" >"$T/$1.rc"
}
rc_is() { test "$(cat "$T/$1.rc")" = "$2" || { echo "exit $(cat "$T/$1.rc"), expected $2"; show "$1"; }; }
# show NAME: print a report's check results (after a failed assertion).
show() {
	/usr/bin/python3 -c 'import json,sys
for c in json.load(open(sys.argv[1]))["checks"]: print(c["id"], c["status"], c["summary"])' "$T/$1.json"
	false
}
cluster_has() { curl -s -m 2 "$API1/cluster" | grep -q -- "$1"; }
cluster_lacks() { ! cluster_has "$1"; }

# The runbook used in every state: both members' APIs, the stricter
# variants, and postgres.replication on the leader.
runbook cluster <<EOF
  - id: via-leader
    type: patroni.cluster
    with: {url: "$API1"}
  - id: strict-lag
    type: patroni.cluster
    with: {url: "$API1/", max_lag_bytes: 1MiB}
  - id: pg
    type: postgres.replication
    with: {conninfo: "$CONNINFO"}
EOF

test_expect_success 'healthy: leader and a running replica pass (3.0.2 says running)' '
	curl -s "$API1/cluster" >"$T/healthy-cluster.json" &&
	grep "\"state\": \"running\"" "$T/healthy-cluster.json" &&
	! grep "\"streaming\"" "$T/healthy-cluster.json" &&
	check cluster && rc_is cluster 0 &&
	test "$(st cluster via-leader)" = pass &&
	test "$(st cluster strict-lag)" = pass &&
	summary cluster via-leader | grep "^1 of 1 required replicas streaming: pg1 leader running tl 1, pg2 replica running tl 1 lag 0$" &&
	test "$(json_get $T/cluster.json ".checks[?id=via-leader].details.members[1].streaming")" = true ||
	{ curl -s "$API1/cluster"; show cluster; }
'

test_expect_success 'healthy: postgres.replication on the leader agrees' '
	test "$(st cluster pg)" = pass || { curl -s "$API1/cluster"; show cluster; }
'

test_expect_success 'the replica API answers the same /cluster' '
	runbook viaapi2 <<-EOF &&
	  - id: c
	    type: patroni.cluster
	    with: {url: "$API2"}
	EOF
	check viaapi2 && rc_is viaapi2 0 && test "$(st viaapi2 c)" = pass
'

test_expect_success 'min_streaming above the replicas fails' '
	runbook two <<-EOF &&
	  - id: two
	    type: patroni.cluster
	    with: {url: "$API1", min_streaming: 2}
	EOF
	check two && rc_is two 75 &&
	test "$(st two two)" = fail &&
	summary two two | grep "^1 of 2 required replicas streaming"
'

test_expect_success 'paused: require_unpaused fails, the default still passes' '
	runuser -u postgres -- patronictl -c "$HA/patroni/pg1.yml" pause >"$T/pause.log" 2>&1 &&
	wait_until 20 cluster_has "\"pause\": true" &&
	runbook paused <<-EOF &&
	  - id: strict
	    type: patroni.cluster
	    with: {url: "$API1", require_unpaused: true}
	  - id: lenient
	    type: patroni.cluster
	    with: {url: "$API1"}
	EOF
	check paused && rc_is paused 75 &&
	test "$(st paused strict)" = fail &&
	summary paused strict | grep "^cluster is paused (maintenance mode); 1 of 1 required" &&
	test "$(st paused lenient)" = pass &&
	summary paused lenient | grep "^paused; 1 of 1" &&
	runuser -u postgres -- patronictl -c "$HA/patroni/pg1.yml" resume >>"$T/pause.log" 2>&1 &&
	wait_until 20 cluster_lacks "\"pause\"" &&
	check paused && test "$(st paused strict)" = pass
'

test_expect_success 'replica Patroni stopped (SIGTERM): stopped, lag unknown -> fail; postgres.replication agrees' '
	ha_patroni_stop pg2 &&
	wait_until 20 cluster_has "\"name\": \"pg2\", \"role\": \"replica\", \"state\": \"stopped\"" &&
	check cluster && rc_is cluster 75 &&
	test "$(st cluster via-leader)" = fail &&
	summary cluster via-leader | grep "^0 of 1 required replicas streaming: pg1 leader running tl 1, pg2 replica stopped lag unknown" &&
	test "$(st cluster pg)" = fail ||
	{ curl -s "$API1/cluster"; show cluster; }
'

test_expect_success 'then gone from members: still fails' '
	wait_until 30 cluster_lacks "\"pg2\"" &&
	check cluster && rc_is cluster 75 &&
	test "$(st cluster via-leader)" = fail &&
	test "$(summary cluster via-leader)" = "0 of 1 required replicas streaming: pg1 leader running tl 1" &&
	test "$(st cluster pg)" = fail
'

test_expect_success 'the leader API gone: error (cannot tell), never a pass' '
	ha_patroni_stop pg1 &&
	check cluster && rc_is cluster 75 &&
	test "$(st cluster via-leader)" = error &&
	summary cluster via-leader | grep "cannot connect to 127.0.0.1:$PATRONI_API_1"
'

test_done
