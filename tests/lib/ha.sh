# shellcheck shell=bash
# Real Prometheus, etcd and Patroni (+ PostgreSQL 15) for the http-family
# scenarios (what they answer: doc/facts.md, Patroni, Prometheus), with free
# ports (below the ephemeral range) and everything under $TEST_TMP/ha.
# Source after test-lib.sh.  Every process is stopped by its PID at exit
# (ha_teardown is registered with test_cleanup), PostgreSQL leftovers by
# their postmaster.pid.
#
#   ha_prometheus_start            PROM_URL; with HA_PROM_RULES=FILE the
#                                  rules of FILE instead of the fixture's
#                                  (then it waits only for /-/ready), with
#                                  HA_PROM_ALERTMANAGER=HOST:PORT alerts go
#                                  there, resent every 3 s
#   ha_etcd_start                  ETCD_URL
#   ha_patroni_setup N             config for member pgN (N = 1, 2):
#                                  PATRONI_API_N, PG_PORT_N
#   ha_patroni_start pgN / ha_patroni_stop pgN [SIGNAL]
#   ha_cluster_up                  etcd + pg1 (leader) + pg2 streaming

HA=$TEST_TMP/ha
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
mkdir -p "$HA/log"
chmod 755 "$HA"

ha_http_is() { [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$2")" = "$1" ]; }
ha_body_has() { curl -s -m 2 "$1" | grep -q -- "$2"; }
ha_listening() { ss -Hltn "sport = :$1" | grep -q .; }

# ha_port VAR: set VAR to a free port not handed out before by this file
# (free_port only looks at sockets, so two calls before any bind could agree).
HA_PORTS=" "
ha_port() {
	local p i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		p=$(free_port) || return 1
		case "$HA_PORTS" in *" $p "*) continue ;; esac
		HA_PORTS="$HA_PORTS$p "
		printf -v "$1" '%s' "$p"
		return 0
	done
	return 1
}

# ha_stop_pid PID [SECONDS]: SIGTERM, wait, then SIGKILL.
ha_stop_pid() {
	local p=$1 n=$((${2:-20} * 10)) i
	kill -TERM "$p" 2>/dev/null || return 0
	for ((i = 0; i < n; i++)); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	return 0
}

ha_prometheus_start() {
	ha_port PROM_PORT || return 1
	mkdir -p "$HA/prom/data"
	cat >"$HA/prom/prometheus.yml" <<-'EOF'
	global: {scrape_interval: 1s, evaluation_interval: 1s}
	rule_files: [rules.yml]
	EOF
	# One alert that always fires, one that never does, and one that stays
	# pending (its `for` is never reached during a test).
	cat >"$HA/prom/rules.yml" <<-'EOF'
	groups:
	  - name: fixture
	    interval: 1s
	    rules:
	      - {alert: FixtureAlwaysFiring, expr: vector(1), for: 0s, labels: {severity: critical}, annotations: {summary: always firing}}
	      - {alert: FixtureNeverFiring, expr: vector(0) > 1, for: 0s, labels: {severity: warning}}
	      - {alert: FixturePending, expr: vector(1), for: 1h, labels: {severity: info}}
	EOF
	[ -n "${HA_PROM_RULES:-}" ] && cp "$HA_PROM_RULES" "$HA/prom/rules.yml"
	local resend=()
	if [ -n "${HA_PROM_ALERTMANAGER:-}" ]; then
		printf 'alerting:\n  alertmanagers:\n    - static_configs: [{targets: ["%s"]}]\n' \
			"$HA_PROM_ALERTMANAGER" >>"$HA/prom/prometheus.yml"
		# The first send after a start goes nowhere (the notifier learns
		# its targets ~5 s later); the default resend is a minute.  An
		# alert sent lasts 4 resend delays (its endsAt): at 1 s, a
		# Prometheus starved of CPU for 4 s would let it resolve.
		resend=(--rules.alert.resend-delay=3s)
	fi
	setsid prometheus --config.file="$HA/prom/prometheus.yml" \
		--storage.tsdb.path="$HA/prom/data" \
		--web.listen-address="127.0.0.1:$PROM_PORT" "${resend[@]}" \
		</dev/null >"$HA/log/prom.log" 2>&1 &
	echo $! >"$HA/prom.pid"
	PROM_URL=http://127.0.0.1:$PROM_PORT
	wait_until 30 ha_http_is 200 "$PROM_URL/-/ready" || return 1
	[ -z "${HA_PROM_RULES:-}" ] || return 0
	wait_until 30 ha_body_has "$PROM_URL/api/v1/alerts" '"alertname":"FixtureAlwaysFiring".*"state":"firing"' &&
	wait_until 30 ha_body_has "$PROM_URL/api/v1/alerts" '"alertname":"FixturePending".*"state":"pending"'
}

ha_prometheus_stop() { [ -f "$HA/prom.pid" ] && ha_stop_pid "$(cat "$HA/prom.pid")" && rm -f "$HA/prom.pid"; }

ha_etcd_start() {
	ha_port ETCD_PORT || return 1
	ha_port ETCD_PEER_PORT || return 1
	mkdir -p "$HA/etcd"
	chmod 700 "$HA/etcd"
	ETCD_URL=http://127.0.0.1:$ETCD_PORT
	setsid etcd --name fx --data-dir "$HA/etcd" --logger=zap \
		--listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "fx=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
		</dev/null >"$HA/log/etcd.log" 2>&1 &
	echo $! >"$HA/etcd.pid"
	wait_until 30 ha_body_has "$ETCD_URL/health" '"health":"true"'
}

# ha_patroni_setup N: write pgN.yml (REST API and PostgreSQL on free ports).
ha_patroni_setup() {
	local n=$1 api pg
	ha_port api && ha_port pg || return 1
	eval "PATRONI_API_$n=$api PG_PORT_$n=$pg"
	mkdir -p "$HA/patroni" "$HA/pg$n" "$HA/sock$n"
	chmod 700 "$HA/pg$n"
	cat >"$HA/patroni/pg$n.yml" <<-EOF
	scope: fx
	namespace: /gate-t4/
	name: pg$n
	restapi: {listen: 127.0.0.1:$api, connect_address: 127.0.0.1:$api}
	etcd3: {hosts: 127.0.0.1:$ETCD_PORT}
	bootstrap:
	  dcs:
	    ttl: 10
	    loop_wait: 1
	    retry_timeout: 4
	    maximum_lag_on_failover: 1048576
	    postgresql:
	      use_pg_rewind: false
	      parameters: {wal_level: replica, hot_standby: "on", max_wal_senders: 5, max_replication_slots: 5, wal_keep_size: 64MB}
	  initdb: [{encoding: UTF8}, {locale: C.UTF-8}]
	postgresql:
	  listen: 127.0.0.1:$pg
	  connect_address: 127.0.0.1:$pg
	  data_dir: $HA/pg$n
	  bin_dir: $PG_BIN
	  pgpass: $HA/patroni/pgpass$n
	  authentication: {superuser: {username: postgres, password: fxsuper}, replication: {username: replicator, password: fxrepl}}
	  parameters: {unix_socket_directories: $HA/sock$n, shared_buffers: 16MB}
	  pg_hba: [local all all trust, host all all 127.0.0.1/32 scram-sha-256, host replication replicator 127.0.0.1/32 scram-sha-256]
	watchdog: {mode: "off"}
	EOF
	chown -R postgres:postgres "$HA/patroni" "$HA/pg$n" "$HA/sock$n"
}

# ha_patroni_start pgN: the pidfile holds patroni's own PID (runuser forks).
ha_patroni_start() {
	(cd / && setsid runuser -u postgres -- sh -c "echo \$\$ > $HA/patroni/$1.pid; exec patroni $HA/patroni/$1.yml" \
		</dev/null >>"$HA/log/patroni-$1.log" 2>&1 &)
	wait_until 5 test -s "$HA/patroni/$1.pid"
}

# ha_patroni_stop pgN [SIGNAL]: SIGTERM makes Patroni stop its PostgreSQL
# and exit; wait for both.
ha_patroni_stop() {
	local f=$HA/patroni/$1.pid
	[ -s "$f" ] || return 0
	if [ "${2:-TERM}" = TERM ]; then
		ha_stop_pid "$(cat "$f")" 30
	else
		kill "-$2" "$(cat "$f")" 2>/dev/null
	fi
	rm -f "$f"
}

ha_cluster_up() {
	ha_etcd_start || { echo "# etcd did not start"; return 1; }
	ha_patroni_setup 1 && ha_patroni_setup 2 || return 1
	ha_patroni_start pg1
	wait_until 60 ha_http_is 200 "http://127.0.0.1:$PATRONI_API_1/primary" || { echo "# pg1 not primary"; return 1; }
	ha_patroni_start pg2
	wait_until 120 ha_http_is 200 "http://127.0.0.1:$PATRONI_API_2/replica" || { echo "# pg2 not replica"; return 1; }
	# /replica says 200 before pg2 really streams: wait for the leader's view.
	wait_until 60 ha_body_has "http://127.0.0.1:$PATRONI_API_1/patroni" '"state": "streaming"' ||
		{ echo "# pg2 not streaming"; return 1; }
	# /cluster is read from the DCS and trails the members by ~2 s: wait
	# until it, too, shows pg2 running with a byte lag.
	wait_until 30 ha_body_has "http://127.0.0.1:$PATRONI_API_1/cluster" \
		'"name": "pg2", "role": "replica", "state": "running", [^}]*"timeline": [0-9]*, "lag": [0-9]' ||
		{ echo "# /cluster does not show pg2 running"; return 1; }
}

# Stop everything this file started, replica first (so it does not take the
# leader lock), then any PostgreSQL left behind, etcd and Prometheus.
ha_teardown() {
	local m n pid
	for m in pg2 pg1; do ha_patroni_stop "$m"; done
	for n in 1 2; do
		if [ -f "$HA/pg$n/postmaster.pid" ]; then
			runuser -u postgres -- "$PG_BIN/pg_ctl" stop -D "$HA/pg$n" -m fast -t 30 >/dev/null 2>&1
			pid=$(head -n 1 "$HA/pg$n/postmaster.pid" 2>/dev/null)
			[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
		fi
	done
	[ -f "$HA/etcd.pid" ] && ha_stop_pid "$(cat "$HA/etcd.pid")"
	ha_prometheus_stop
	return 0
}
test_cleanup ha_teardown
