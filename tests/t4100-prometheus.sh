#!/bin/bash
# prometheus.alerts against the real Prometheus from Debian's package,
# started here with a rule file holding one alert that always fires, one
# that never does and one that stays pending (tests/lib/ha.sh).
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/report.sh"
require_cmd prometheus curl ss
. "$GATE_SOURCE_DIR/tests/lib/ha.sh"

T=$TEST_TMP
if ! ha_prometheus_start; then
	echo "# Prometheus did not come up:"; tail -n 20 "$HA/log/prom.log"
	echo "0 passed, 1 failed"; exit 1
fi

check() {
	local rc=0
	gate check --format json "$T/$1.yaml" >"$T/$1.json" 2>"$T/$1.err" || rc=$?
	echo "$rc" >"$T/$1.rc"
}

test_expect_success 'a firing alert blocks and is named' '
	runbook firing <<-EOF &&
	  - id: alerts
	    type: prometheus.alerts
	    with: {url: "$PROM_URL"}
	EOF
	check firing && rc_is firing 75 &&
	test "$(st firing alerts)" = fail &&
	test "$(summary firing alerts)" = "1 firing: FixtureAlwaysFiring{severity=critical}" &&
	test "$(json_get $T/firing.json ".checks[?id=alerts].details.matching")" = 1
'

test_expect_success 'gate run does not run the command while it fires' '
	runbook firing-run <<-EOF &&
	  - id: alerts
	    type: prometheus.alerts
	    with: {url: "$PROM_URL/"}
	EOF
	expect_status 75 gate run "$T/firing-run.yaml" -- touch "$T/ran" &&
	test ! -e "$T/ran"
'

test_expect_success 'a match that excludes the firing alert passes' '
	runbook excluded <<-EOF &&
	  - id: warnings
	    type: prometheus.alerts
	    with:
	      url: "$PROM_URL"
	      match: {severity: "warning|page"}
	  - id: other-name
	    type: prometheus.alerts
	    with:
	      url: "$PROM_URL"
	      match: {alertname: "Fixture", severity: ".*"}
	  - id: postgres
	    type: prometheus.alerts
	    with:
	      url: "$PROM_URL"
	      match: {alertname: "Postgres.*"}
	EOF
	check excluded && rc_is excluded 0 &&
	test "$(st excluded warnings)" = pass &&
	test "$(st excluded other-name)" = pass &&
	test "$(st excluded postgres)" = pass &&
	summary excluded warnings | grep "no firing alert matches"
'

test_expect_success 'a match that selects the firing alert fails' '
	runbook selected <<-EOF &&
	  - id: crit
	    type: prometheus.alerts
	    with:
	      url: "$PROM_URL"
	      match: {severity: crit.*, alertname: "Fixture(Always|Never)Firing"}
	EOF
	check selected && rc_is selected 75 &&
	test "$(st selected crit)" = fail
'

test_expect_success 'state: any counts pending alerts too; max allows some' '
	runbook pending <<-EOF &&
	  - id: firing-only
	    type: prometheus.alerts
	    with: {url: "$PROM_URL", match: {severity: info}}
	  - id: any
	    type: prometheus.alerts
	    with: {url: "$PROM_URL", match: {severity: info}, state: any}
	  - id: any-max
	    type: prometheus.alerts
	    with: {url: "$PROM_URL", state: any, max: 2}
	  - id: any-max1
	    type: prometheus.alerts
	    with: {url: "$PROM_URL", state: any, max: 1}
	EOF
	check pending && rc_is pending 75 &&
	test "$(st pending firing-only)" = pass &&
	test "$(st pending any)" = fail &&
	test "$(summary pending any)" = "1 firing or pending: FixturePending{severity=info} (1 other ignored by match)" &&
	test "$(st pending any-max)" = pass &&
	test "$(st pending any-max1)" = fail &&
	summary pending any-max1 | grep "2 firing or pending (max 1): Fixture"
'

test_expect_success 'a bad match regex is a lint error (78)' '
	runbook badre <<-EOF &&
	  - id: bad
	    type: prometheus.alerts
	    with: {url: "$PROM_URL", match: {severity: "(crit"}}
	EOF
	expect_status 78 gate lint "$T/badre.yaml" 2>"$T/badre.lint" &&
	grep "match" "$T/badre.lint"
'

test_expect_success 'Prometheus stopped: error, and the gate blocks' '
	ha_prometheus_stop &&
	runbook stopped <<-EOF &&
	  - id: alerts
	    type: prometheus.alerts
	    with: {url: "$PROM_URL", match: {severity: warning}}
	EOF
	check stopped && rc_is stopped 75 &&
	test "$(st stopped alerts)" = error &&
	summary stopped alerts | grep "cannot connect to 127.0.0.1:$PROM_PORT" &&
	test "$(json_get $T/stopped.json .decision)" = block
'

test_done
