#!/bin/bash
# Record the http family's answers from the real servers its scenario tests
# start (tests/lib/ha.sh, tests/servers/httpd.py) into
# tests/data/recorded/http/, and seed the fuzz corpora (fuzz/corpus/http,
# prometheus, patroni) with the same files.  The unit tests of the judges
# (tests/unit/test_http_judge.c) read these recordings.
#
# Recorded last with Debian 12's packages: Prometheus 2.42.0, Alertmanager
# 0.25.0, Patroni 3.0.2 on etcd 3.4.23 with PostgreSQL 15, and the tests'
# own httpd.py (Python 3.11).  Needs root (PostgreSQL runs as postgres) and what
# scripts/install-deps.sh installs; takes a minute or two.  Every server is
# stopped at exit; everything else lives in a temporary directory.
#
#   tests/tools/record-http.sh [prometheus|promql|alertmanager|patroni|http]...
#
# prometheus/  alerts-firing.json  the fixture's rules: one alert firing,
#                                  one pending (GET /api/v1/alerts)
#              alerts-quiet.json   after a reload with only a rule that
#                                  never fires: no alerts at all
#              rules.json          GET /api/v1/rules (another shape)
#              query-error.json    GET /api/v1/query?query=( (status error)
#              query-NAME.json     GET /api/v1/query (promql; the fixture's
#                                  rules), NAME = count (count(ALERTS)),
#                                  vector (ALERTS), firing (ALERTS{alertstate=
#                                  "firing"}), empty (no series), nan
#                                  (vector(0/0)), inf (vector(1/0) and
#                                  -vector(1/0)), scalar (scalar(count(ALERTS))),
#                                  matrix (ALERTS[5s]), string ("gate")
#              query-NAME.http     whole error answers: syntax (sum(, 400),
#                                  execution (ALERTS / on() vector(1), 422)
# alertmanager/ alerts-all.json    GET /api/v2/alerts of Alertmanager fed by
#                                  Prometheus (tests/lib/alertmanager.sh
#                                  am_with_prometheus): GateDbDown and
#                                  GateDiskFull active, GateDbLag inhibited
#              alerts-asked.json   the same as alertmanager.alerts asks it
#                                  (active=true&silenced=false&inhibited=false)
#              alerts-filtered.json  ... and filter=severity=~"critical|page"
#              alerts-silenced.json  all, GateDbDown silenced
#              alerts-none.json    a filter that matches nothing ([])
#              bad-filter.http     a filter Alertmanager refuses (400)
# patroni/     NAME-cluster.json   GET /cluster, and NAME-leader.json the
#                                  leader's own GET /patroni, for NAME =
#              healthy             a leader and a streaming replica
#              paused              the same after `patronictl pause`
#              lagging             the replica's walreceiver stopped
#                                  (SIGSTOP) while the leader writes
#              replica-stopped     the replica's Patroni stopped (SIGTERM)
#              leader-missing      paused, then the leader's Patroni
#                                  stopped: its key expires, none is
#                                  elected (read from the replica's API)
#              healthy-replica.json  the replica's own GET /patroni
# plain/       *.http              whole answers (curl -si: status line,
#                                  headers, body) of Prometheus, Patroni
#                                  and httpd.py
set -u
# shellcheck source=tests/lib/test-lib.sh
. "$(dirname "$0")/../lib/test-lib.sh"
R=$GATE_SOURCE_DIR/tests/data/recorded/http
C=$GATE_SOURCE_DIR/fuzz/corpus
T=$TEST_TMP
cd "$T" || exit 1
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(prometheus promql alertmanager patroni http)
want() { case " ${parts[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
mkdir -p "$R/prometheus" "$R/alertmanager" "$R/patroni" "$R/plain"

# get URL FILE: a JSON answer, as the checks read it
get() { curl -s -m 10 "$1" >"$2" && echo "# ${2#"$GATE_SOURCE_DIR"/} ($(wc -c <"$2") bytes)"; }
# whole URL FILE: the whole answer (status line, headers, body)
whole() { curl -si -m 10 "$1" | tr -d '\r' >"$2" && echo "# ${2#"$GATE_SOURCE_DIR"/} ($(head -n 1 "$2"))"; }
# seed TARGET NAME FILE...: a fuzz seed, the files joined by lines "%%"
seed() {
	local target=$1 name=$2 i=0 p
	shift 2
	mkdir -p "$C/$target"
	{
		for p in "$@"; do
			[ $i -gt 0 ] && printf '\n%%%%\n'
			cat "$p"
			i=$((i + 1))
		done
	} >"$C/$target/rec-$name"
}
put() { printf '%s' "$2" >"$1"; }
lacks() { ! ha_body_has "$1" "$2"; }
# body FILE.http: the body of a whole answer
body() { sed '1,/^$/d' "$1" >"$T/body"; echo "$T/body"; }

if want prometheus || want promql || want alertmanager || want patroni; then
	. "$GATE_SOURCE_DIR/tests/lib/ha.sh"
fi

if want prometheus; then
	P=$R/prometheus
	ha_prometheus_start || { echo "prometheus did not start"; exit 1; }
	get "$PROM_URL/api/v1/alerts" "$P/alerts-firing.json"
	get "$PROM_URL/api/v1/rules" "$P/rules.json"
	curl -s -m 10 "$PROM_URL/api/v1/query?query=(" >"$P/query-error.json"
	whole "$PROM_URL/-/healthy" "$R/plain/prometheus-healthy.http"
	whole "$PROM_URL/api/v1/query?query=vector(1)" "$R/plain/prometheus-query.http"
	# The same server with only the rule that never fires.
	cat >"$HA/prom/rules.yml" <<-'EOF'
	groups:
	  - name: fixture
	    interval: 1s
	    rules:
	      - {alert: FixtureNeverFiring, expr: vector(0) > 1, for: 0s, labels: {severity: warning}}
	EOF
	kill -HUP "$(cat "$HA/prom.pid")"
	wait_until 30 ha_body_has "$PROM_URL/api/v1/alerts" '"alerts":\[\]' || { echo "no quiet answer"; exit 1; }
	get "$PROM_URL/api/v1/alerts" "$P/alerts-quiet.json"
	ha_prometheus_stop
	for n in alerts-firing alerts-quiet rules query-error; do seed prometheus "$n" "$P/$n.json"; done
	# the http check reading Prometheus
	put a.json '[{"pointer":"/status","equals":"success"},{"pointer":"/data/alerts/0/state","matches":"^(firing|pending)$"},{"pointer":"/data/alerts/0/value","min":1}]'
	put a.re '"alertname": *"Fixture'
	seed http prometheus-alerts a.json a.re "$P/alerts-firing.json"
	put a.json '[{"pointer":"/data/result/0/value/1","max":1},{"pointer":"/data/resultType","equals":"vector"}]'
	put a.re ''
	seed http prometheus-query a.json a.re "$(body "$R/plain/prometheus-query.http")"
fi

# q NAME QUERY: GET /api/v1/query, the body (a whole answer for *.http)
q() {
	case $1 in
	*.http) curl -si -m 10 -G "$PROM_URL/api/v1/query" --data-urlencode "query=$2" | tr -d '\r' >"$R/prometheus/$1" ;;
	*) curl -s -m 10 -G "$PROM_URL/api/v1/query" --data-urlencode "query=$2" >"$R/prometheus/$1" ;;
	esac
	echo "# prometheus/$1: $2"
}
if want promql; then
	ha_prometheus_start || { echo "prometheus did not start"; exit 1; }
	wait_until 30 ha_body_has "$PROM_URL/api/v1/query?query=count(ALERTS)" '"2"\]' || { echo "no ALERTS"; exit 1; }
	q query-count.json 'count(ALERTS)'
	q query-vector.json 'ALERTS'
	q query-firing.json 'ALERTS{alertstate="firing"}'
	q query-empty.json 'ALERTS{alertname="Nope"}'
	q query-nan.json 'vector(0/0)'
	q query-inf.json 'vector(1/0) or label_replace(-vector(1/0), "sign", "minus", "", "")'
	q query-scalar.json 'scalar(count(ALERTS))'
	q query-matrix.json 'ALERTS[5s]'
	q query-string.json '"gate"'
	q query-syntax.http 'sum('
	q query-execution.http 'ALERTS / on() vector(1)'
	ha_prometheus_stop
	for n in count vector firing empty nan inf scalar matrix string; do
		{ echo 200; printf '%%%%\n'; cat "$R/prometheus/query-$n.json"; } >"$T/seed"
		seed promql "$n" "$T/seed"
	done
	for n in syntax execution; do
		{ head -n 1 "$R/prometheus/query-$n.http" | cut -d' ' -f2; printf '%%%%\n'; cat "$(body "$R/prometheus/query-$n.http")"; } >"$T/seed"
		seed promql "$n" "$T/seed"
	done
fi

if want alertmanager; then
	. "$GATE_SOURCE_DIR/tests/lib/alertmanager.sh"
	P=$R/alertmanager
	am_with_prometheus || { echo "alertmanager did not get the alerts"; exit 1; }
	A=$AM_URL/api/v2/alerts
	ask='active=true&silenced=false&inhibited=false'
	get "$A" "$P/alerts-all.json"
	get "$A?$ask" "$P/alerts-asked.json"
	curl -s -m 10 -G "$A?$ask" --data-urlencode 'filter=severity=~"critical|page"' >"$P/alerts-filtered.json"
	curl -s -m 10 -G "$A" --data-urlencode 'filter=alertname="Nope"' >"$P/alerts-none.json"
	curl -si -m 10 -G "$A" --data-urlencode 'filter={alertname="X"}' | tr -d '\r' >"$P/bad-filter.http"
	id=$(am_silence_add '{"name":"alertname","value":"GateDbDown","isRegex":false,"isEqual":true}')
	wait_until 30 test "$(am_state GateDbDown)" = suppressed || { echo "not silenced"; exit 1; }
	get "$A" "$P/alerts-silenced.json"
	am_silence_expire "$id"
	# the fuzz target's input: matchers, one a line %% the answer
	printf '%s\n' 'team=~"db|ops"' 'alertname!="Watchdog"' 'instance=~"db[0-9]:.*"' >"$T/m.txt"
	for n in all asked filtered silenced none; do
		seed alertmanager "$n" "$T/m.txt" "$P/alerts-$n.json"
	done
fi

if want patroni; then
	P=$R/patroni
	ha_cluster_up || { echo "the Patroni cluster did not come up"; tail -n 15 "$HA"/log/*.log; exit 1; }
	A1=http://127.0.0.1:$PATRONI_API_1 A2=http://127.0.0.1:$PATRONI_API_2
	ctl() { runuser -u postgres -- patronictl -c "$HA/patroni/pg1.yml" "$@" >>"$T/ctl.log" 2>&1; }
	psql_on() { runuser -u postgres -- "$PG_BIN/psql" -h "$HA/sock$1" -p "$(eval echo "\$PG_PORT_$1")" -U postgres -XAtq -c "$2" postgres; }
	both() { get "$A1/cluster" "$P/$1-cluster.json" && get "$A1/patroni" "$P/$1-leader.json"; }
	both healthy
	get "$A2/patroni" "$P/healthy-replica.json"
	whole "$A1/primary" "$R/plain/patroni-primary-leader.http"
	whole "$A2/primary" "$R/plain/patroni-primary-replica.http"
	whole "$A2/health" "$R/plain/patroni-health.http"

	ctl pause
	wait_until 30 ha_body_has "$A1/cluster" '"pause": true' &&
		wait_until 30 ha_body_has "$A1/patroni" '"pause": true' || { echo "not paused"; exit 1; }
	both paused
	ctl resume
	wait_until 30 lacks "$A1/cluster" '"pause"' || { echo "not resumed"; exit 1; }

	# The replica stops receiving (its walreceiver stopped) while the leader
	# writes some MB of WAL: /cluster shows the lag, the leader's
	# walsender still says streaming.
	wr=$(psql_on 2 "select pid from pg_stat_wal_receiver")
	[ -n "$wr" ] || { echo "no walreceiver on pg2"; exit 1; }
	kill -STOP "$wr"
	test_cleanup "kill -CONT $wr"
	psql_on 1 "create table lag as select g, repeat('x', 100) as pad from generate_series(1, 50000) g" >/dev/null
	wait_until 30 ha_body_has "$A1/cluster" '"name": "pg2", [^}]*"lag": [0-9]\{7,\}' || { echo "no lag shown"; exit 1; }
	both lagging
	kill -CONT "$wr"
	wait_until 30 ha_body_has "$A1/cluster" '"name": "pg2", [^}]*"lag": 0' || { echo "pg2 did not catch up"; exit 1; }

	ha_patroni_stop pg2
	wait_until 30 ha_body_has "$A1/cluster" '"name": "pg2", "role": "replica", "state": "stopped"' &&
		wait_until 30 lacks "$A1/patroni" '"state": "streaming"' || { echo "pg2 did not stop"; exit 1; }
	both replica-stopped

	# In pause a stopping Patroni keeps its PostgreSQL and its leader key,
	# which then expires (ttl 10 s); pg2 may not take over.
	ha_patroni_start pg2
	wait_until 60 ha_body_has "$A1/patroni" '"state": "streaming"' || { echo "pg2 did not come back"; exit 1; }
	ctl pause
	wait_until 30 ha_body_has "$A2/cluster" '"pause": true' || { echo "not paused"; exit 1; }
	ha_patroni_stop pg1
	wait_until 60 lacks "$A2/cluster" '"role": "leader"' || { echo "the leader stayed"; exit 1; }
	get "$A2/cluster" "$P/leader-missing-cluster.json"

	for n in healthy paused lagging replica-stopped; do
		seed patroni "$n" "$P/$n-cluster.json" "$P/$n-leader.json"
	done
	seed patroni leader-missing "$P/leader-missing-cluster.json"
	seed patroni replica-view "$P/healthy-cluster.json" "$P/healthy-replica.json"
	# the http check reading Patroni
	put a.json '[{"pointer":"/state","equals":"running"},{"pointer":"/replication/0/state","equals":"streaming"},{"pointer":"/xlog/location","min":0}]'
	put a.re '"role": *"(master|primary)"'
	seed http patroni-leader a.json a.re "$P/healthy-leader.json"
	put a.json '[{"pointer":"/role","equals":"replica"}]'
	put a.re ''
	seed http patroni-primary-replica a.json a.re "$(body "$R/plain/patroni-primary-replica.http")"
fi

if want http; then
	HP=$(free_port)
	/usr/bin/python3 "$GATE_SOURCE_DIR/tests/servers/httpd.py" "$HP" --ready "$T/httpd.ready" </dev/null >httpd.log 2>&1 &
	echo $! >httpd.pid
	test_cleanup 'kill $(cat "$TEST_TMP/httpd.pid")'
	wait_until 30 test -s "$T/httpd.ready" || { echo "httpd did not start"; exit 1; }
	H=http://127.0.0.1:$HP
	whole "$H/json" "$R/plain/httpd-json.http"
	whole "$H/" "$R/plain/httpd-root.http"
	whole "$H/nope" "$R/plain/httpd-notfound.http"
	whole "$H/redirect?to=/json" "$R/plain/httpd-redirect.http"
	whole "$H/json?_status=503" "$R/plain/httpd-503.http"
	# the assertions of t4000's 'status, body and JSON assertions hold'
	put a.json '[{"pointer":"/status","equals":"ok"},{"pointer":"/replicas","equals":2.0},{"pointer":"/version","matches":"^15\\."},{"pointer":"/nested/a~1b","equals":1},{"pointer":"/nested/m~0n","equals":2},{"pointer":"/nested/deep/x/2","min":30,"max":30},{"pointer":"/lag","max":1},{"pointer":"/ready","equals":true}]'
	put a.re '"status": *"ok"'
	seed http t4000-json a.json a.re "$(body "$R/plain/httpd-json.http")"
	# ... and of 'a failing JSON assertion fails and says which'
	put a.json '[{"pointer":"/status","equals":"ok"},{"pointer":"/lag","max":0.1},{"pointer":"/missing","equals":1},{"pointer":"/list/01","equals":2},{"pointer":"/list/-","equals":2},{"pointer":"/version","min":16}]'
	put a.re ''
	seed http t4000-badjson a.json a.re "$(body "$R/plain/httpd-json.http")"
	put a.json ''
	put a.re '^ok'
	seed http t4000-text a.json a.re "$(body "$R/plain/httpd-root.http")"
	put a.json '[{"pointer":"","equals":{"error":"not found"}},{"pointer":"/error","matches":"^not"}]'
	seed http t4000-notfound a.json a.re "$(body "$R/plain/httpd-notfound.http")"
fi
echo "done"
