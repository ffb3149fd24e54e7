# shellcheck shell=bash
# A real Alertmanager (Debian's prometheus-alertmanager, 0.25) on a free
# port under $TEST_TMP/am, for the maintenance-mode scenarios (what it
# answers: doc/facts.md, Alertmanager).  Source after test-lib.sh.  Gossip
# is off (--cluster.listen-address=) so nothing binds :9094; the process
# is stopped by its PID at exit (am_stop is registered with test_cleanup).
#
#   am_start          AM_URL, AM_PORT; waits for /-/ready; $AM_CONFIG_EXTRA
#                     (YAML, e.g. inhibit_rules:) is added to its config
#   am_stop           SIGTERM, then SIGKILL after 20 s
#   am_silence ID     GET /api/v2/silence/ID on stdout
#   am_silences       GET /api/v2/silences on stdout

AM=$TEST_TMP/am
mkdir -p "$AM/data"

am_start() {
	AM_PORT=$(free_port) || return 1
	AM_URL=http://127.0.0.1:$AM_PORT
	cat >"$AM/alertmanager.yml" <<-'EOF2'
	route:
	  receiver: none
	  group_wait: 0s
	  group_interval: 1s
	  repeat_interval: 1h
	receivers:
	  - name: none
	EOF2
	printf '%s\n' "${AM_CONFIG_EXTRA:-}" >>"$AM/alertmanager.yml"
	setsid prometheus-alertmanager --config.file="$AM/alertmanager.yml" \
		--storage.path="$AM/data" --web.listen-address="127.0.0.1:$AM_PORT" \
		--cluster.listen-address= </dev/null >>"$AM/am.log" 2>&1 &
	echo $! >"$AM/am.pid"
	wait_until 30 am_ready || { echo "# alertmanager did not start"; tail -5 "$AM/am.log"; return 1; }
}

am_ready() { [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$AM_URL/-/ready")" = 200 ]; }

am_stop() {
	local p i
	[ -s "$AM/am.pid" ] || return 0
	p=$(cat "$AM/am.pid")
	kill -TERM "$p" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	rm -f "$AM/am.pid"
	return 0
}

am_silence() { curl -s -m 5 "$AM_URL/api/v2/silence/$1"; }
am_silences() { curl -s -m 5 "$AM_URL/api/v2/silences"; }

test_cleanup am_stop

# am_with_prometheus: Alertmanager whose inhibit rule lets a critical alert
# inhibit the warnings of the same team, fed by a real Prometheus
# (tests/lib/ha.sh, sourced first) whose rules always fire GateDbDown
# (critical, team db), GateDbLag (warning, team db: inhibited by
# GateDbDown) and GateDiskFull (info, team ops).  Waits until Alertmanager
# has all three and GateDbLag reads inhibited (about 9 s: Prometheus'
# first send goes nowhere, the next follows 3 s later).
am_with_prometheus() {
	AM_CONFIG_EXTRA='inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [team]'
	am_start || return 1
	cat >"$AM/rules.yml" <<-'EOF2'
	groups:
	  - name: gate
	    interval: 1s
	    rules:
	      - {alert: GateDbDown, expr: vector(1), for: 0s, labels: {severity: critical, team: db, instance: "db1:9187"}, annotations: {summary: db1 is down}}
	      - {alert: GateDbLag, expr: vector(1), for: 0s, labels: {severity: warning, team: db, instance: "db2:9187"}}
	      - {alert: GateDiskFull, expr: vector(1), for: 0s, labels: {severity: info, team: ops, instance: "fs1:9100"}}
	EOF2
	HA_PROM_RULES=$AM/rules.yml HA_PROM_ALERTMANAGER=127.0.0.1:$AM_PORT ha_prometheus_start ||
		{ echo "# prometheus did not start"; tail -5 "$HA/log/prom.log"; return 1; }
	wait_until 60 am_has GateDbDown GateDiskFull &&
		wait_until 30 am_inhibited GateDbLag ||
		{ echo "# the alerts did not reach alertmanager"; tail -5 "$HA/log/prom.log"; return 1; }
}

# am_has NAME...: each is listed in GET /api/v2/alerts
am_has() {
	local all n
	all=$(curl -s -m 2 "$AM_URL/api/v2/alerts") || return 1
	for n in "$@"; do
		case "$all" in *"\"alertname\":\"$n\""*) ;; *) return 1 ;; esac
	done
}
# am_state NAME: its status.state ("" when absent)
am_state() {
	curl -s -m 2 -G "$AM_URL/api/v2/alerts" --data-urlencode "filter=alertname=\"$1\"" |
		/usr/bin/python3 -c 'import json,sys; a=json.load(sys.stdin); print(a[0]["status"]["state"] if a else "")'
}
am_inhibited() {
	curl -s -m 2 -G "$AM_URL/api/v2/alerts" --data-urlencode "filter=alertname=\"$1\"" |
		grep -q '"inhibitedBy":\["'
}
# am_silence_add MATCHER_JSON [SECONDS]: a silence for SECONDS (3600), its ID
am_silence_add() {
	local starts ends
	starts=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
	ends=$(date -u -d "+${2:-3600} seconds" +%Y-%m-%dT%H:%M:%S.%3NZ)
	curl -s -m 5 -X POST -H 'Content-Type: application/json' "$AM_URL/api/v2/silences" \
		-d "{\"matchers\":[$1],\"startsAt\":\"$starts\",\"endsAt\":\"$ends\",\"createdBy\":\"gate tests\",\"comment\":\"test\"}" |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["silenceID"])'
}
am_silence_expire() { curl -s -m 5 -o /dev/null -w '%{http_code}' -X DELETE "$AM_URL/api/v2/silence/$1" | grep -q 200; }
