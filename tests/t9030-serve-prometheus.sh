#!/bin/bash
# A real Prometheus scrapes gate serve's /metrics, and its query API then
# returns gate's series: gate_runbook_allowed for each runbook (1 for the
# one that allows, 0 for the one that blocks), a check's one-hot status,
# gate_build_info; the scrape target is up.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/serve.sh"
. "$(dirname "$0")/lib/ha.sh"
require_cmd curl ss prometheus
T=$TEST_TMP
cd "$T" || exit 1

write_pass_rb open.yaml
write_rb shut.yaml <<EOF
version: 1
name: shut
checks:
  - id: never
    type: exec
    with: {command: ["false"], protocol: exit}
EOF
serve_start a open.yaml shut.yaml || exit 1

ha_port PROM_PORT || exit 1
mkdir -p "$HA/prom/data"
cat >"$HA/prom/prometheus.yml" <<EOF
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: gate
    static_configs: [{targets: ["127.0.0.1:$SERVE_PORT"]}]
EOF
setsid prometheus --config.file="$HA/prom/prometheus.yml" --storage.tsdb.path="$HA/prom/data" \
	--web.listen-address="127.0.0.1:$PROM_PORT" </dev/null >"$HA/log/prom.log" 2>&1 &
echo $! >"$HA/prom.pid"
test_cleanup ha_prometheus_stop
PROM_URL=http://127.0.0.1:$PROM_PORT
wait_until 60 ha_http_is 200 "$PROM_URL/-/ready" || { cat "$HA/log/prom.log"; exit 1; }

# prom_value QUERY: the value of the query's only series ("" if none)
prom_value() {
	curl -s -m 5 -G "$PROM_URL/api/v1/query" --data-urlencode "query=$1" |
		/usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "")'
}
prom_is() { [ "$(prom_value "$1")" = "$2" ]; }

test_expect_success 'Prometheus scrapes gate serve: the target is up' '
	wait_until 60 prom_is "up{job=\"gate\"}" 1
'

test_expect_success 'its query API returns gate_runbook_allowed of each runbook' '
	wait_until 60 prom_is "gate_runbook_allowed{runbook=\"open\"}" 1 &&
	wait_until 60 prom_is "gate_runbook_allowed{runbook=\"shut\"}" 0 &&
	prom_is "gate_check_status{runbook=\"shut\",check=\"never\",status=\"fail\"}" 1 &&
	prom_is "gate_runbook_valid{runbook=\"open\"}" 1 &&
	test "$(prom_value "count(gate_build_info)")" = 1 &&
	curl -s -m 5 -G "$PROM_URL/api/v1/query" --data-urlencode "query=gate_runbook_allowed" >all.json &&
	test_grep "\"job\":\"gate\"" all.json
'

test_expect_success 'the scrapes drive the evaluations: more than one per runbook after the interval' '
	wait_until 90 prom_is "gate_runbook_evaluations_total{runbook=\"open\"} > bool 1" 1
'

ha_prometheus_stop
serve_stop
test_expect_success 'stopped cleanly' 'test "$SERVE_RC" = 0'

test_done
