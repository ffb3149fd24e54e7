#!/bin/bash
# prometheus.query against the real Prometheus from Debian's package
# (tests/lib/ha.sh: one alert always firing, one pending, so ALERTS has two
# series).  A value within bounds passes; outside fails naming the series
# and its value; more or fewer series than allowed fails; an empty result
# is an error unless min_series: 0 or max_series: 0 allows it; NaN is an
# error, +Inf is above every max; a scalar is one series; a range vector
# or a string is an error; a syntax error and an execution error are
# errors with Prometheus' message; bad conditions are lint errors; a
# closed port and a port that accepts and never answers are errors.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/report.sh"
require_cmd prometheus curl ss
. "$GATE_SOURCE_DIR/tests/lib/ha.sh"

T=$TEST_TMP
if ! ha_prometheus_start; then
	echo "# Prometheus did not come up:"; tail -n 20 "$HA/log/prom.log"
	echo "0 passed, 1 failed"; exit 1
fi
# The rules' ALERTS series are written at their first evaluation.
wait_until 30 ha_body_has "$PROM_URL/api/v1/query?query=count(ALERTS)" '"2"\]' ||
	echo "# ALERTS does not have two series"
SP=$(free_port) || exit 1
/usr/bin/python3 "$GATE_SOURCE_DIR/tests/servers/blackhole.py" "$SP" accept "$T/bh.ready" >"$T/bh.log" 2>&1 &
test_cleanup "kill $! 2>/dev/null"
wait_until 10 test -s "$T/bh.ready" || echo "# the blackhole did not get ready"

FIRING='ALERTS{alertname="FixtureAlwaysFiring", alertstate="firing", severity="critical"}'
PENDING='ALERTS{alertname="FixturePending", alertstate="pending", severity="info"}'

# q ID QUERY [CONDITIONS]: one prometheus.query check, as YAML lines
q() {
	printf '  - id: %s\n    type: prometheus.query\n    with: {url: "%s", query: %s%s}\n' \
		"$1" "$PROM_URL" "$2" "${3:+, $3}"
}

test_expect_success 'values within bounds pass; outside fails naming the series' '
	{
		q count "\"count(ALERTS)\"" "min: 1, max: 5"
		q scalar "\"scalar(count(ALERTS))\"" "min: 2"
		q firing "\"ALERTS{alertstate=\\\"firing\\\"}\"" "max: 0"
		q both "ALERTS" "max: 0.5"
		q low "\"count(ALERTS)\"" "min: 2.5"
	} | runbook bounds &&
	check bounds && rc_is bounds 75 &&
	test "$(st bounds count)" = pass &&
	test "$(summary bounds count)" = "1 series within min 1 and max 5: {} 2" &&
	test "$(st bounds scalar)" = pass &&
	test "$(summary bounds scalar)" = "1 series within min 2: scalar 2" &&
	test "$(st bounds firing)" = fail &&
	test "$(summary bounds firing)" = "1 of 1 series outside max 0: $FIRING 1" &&
	test "$(detail bounds firing .outside[0].series)" = "$FIRING" &&
	test "$(st bounds both)" = fail &&
	test "$(summary bounds both)" = "2 of 2 series outside max 0.5: $FIRING 1, $PENDING 1" &&
	test "$(st bounds low)" = fail &&
	test "$(summary bounds low)" = "1 of 1 series outside min 2.5: {} 2" &&
	test "$(json_get $T/bounds.json .decision)" = block
'

test_expect_success 'gate run runs the command only when every condition holds' '
	q ok "\"count(ALERTS)\"" "max: 2" | runbook okrun &&
	gate run "$T/okrun.yaml" -- touch "$T/ran" && test -e "$T/ran" &&
	q no "\"count(ALERTS)\"" "max: 1" | runbook norun &&
	expect_status 75 gate run "$T/norun.yaml" -- touch "$T/ran2" && test ! -e "$T/ran2"
'

test_expect_success 'the number of series: min_series and max_series' '
	{
		q two ALERTS "min_series: 2, max_series: 2"
		q few ALERTS "min_series: 3"
		q many ALERTS "max_series: 1"
		q nofiring "\"ALERTS{alertstate=\\\"firing\\\"}\"" "max_series: 0"
	} | runbook count &&
	check count && rc_is count 75 &&
	test "$(st count two)" = pass &&
	test "$(st count few)" = fail &&
	test "$(summary count few)" = "2 series, fewer than min_series 3: $FIRING 1, $PENDING 1" &&
	test "$(st count many)" = fail &&
	test "$(summary count many)" = "2 series, more than max_series 1: $FIRING 1, $PENDING 1" &&
	test "$(st count nofiring)" = fail &&
	test "$(summary count nofiring)" = "1 series, more than max_series 0: $FIRING 1"
'

test_expect_success 'an empty result is an error, unless min_series: 0 or max_series: 0' '
	{
		q empty "\"ALERTS{alertname=\\\"Nope\\\"}\"" "max: 0"
		q allowed "\"ALERTS{alertname=\\\"Nope\\\"}\"" "min_series: 0"
		q none "\"ALERTS{alertname=\\\"Nope\\\"}\"" "max_series: 0"
	} | runbook empty &&
	check empty && rc_is empty 75 &&
	test "$(st empty empty)" = error &&
	test "$(summary empty empty)" = "the query gave no series (min_series: 0 allows an empty result)" &&
	test "$(st empty allowed)" = pass &&
	test "$(st empty none)" = pass &&
	test "$(summary empty none)" = "no series, as allowed (min_series 0)"
'

test_expect_success 'NaN is an error; +Inf is above every max' '
	{
		q nan "\"vector(0/0)\""
		q nanok "\"vector(0/0)\"" "min_series: 0"
		q inf "\"vector(1/0)\"" "max: 1e300"
		q infmin "\"vector(1/0)\"" "min: 0"
	} | runbook nan &&
	check nan && rc_is nan 75 &&
	test "$(st nan nan)" = error &&
	test "$(summary nan nan)" = "1 series is NaN: {} NaN" &&
	test "$(st nan nanok)" = error &&
	test "$(st nan inf)" = fail &&
	test "$(summary nan inf)" = "1 of 1 series outside max 1e+300: {} +Inf" &&
	test "$(st nan infmin)" = pass
'

test_expect_success 'query errors carry Prometheus message; a range vector or string is an error' '
	{
		q syntax "\"sum(\""
		q exec "\"ALERTS / on() vector(1)\""
		q matrix "\"ALERTS[1m]\""
		q string "\"\\\"gate\\\"\""
	} | runbook errors &&
	check errors && rc_is errors 75 &&
	test "$(st errors syntax)" = error &&
	test "$(summary errors syntax)" = "query error (bad_data, status 400): invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis" &&
	test "$(st errors exec)" = error &&
	summary errors exec | grep -F "query error (execution, status 422): multiple matches for labels: many-to-one matching must be explicit" &&
	test "$(st errors matrix)" = error &&
	summary errors matrix | grep -F "range vector (matrix)" &&
	test "$(st errors string)" = error &&
	test "$(summary errors string)" = "the query gives a string, not a number"
'

test_expect_success 'conditions that cannot hold are lint errors (78) naming the parameter' '
	q a "\"up\"" "min: 5, max: 1" | runbook minmax &&
	expect_status 78 gate lint "$T/minmax.yaml" 2>"$T/minmax.lint" &&
	grep -F "max: must not be below min (5)" "$T/minmax.lint" &&
	q a "\"up\"" "min_series: 2, max_series: 1" | runbook series &&
	expect_status 78 gate lint "$T/series.yaml" 2>"$T/series.lint" &&
	grep -F "max_series: must not be below min_series (2)" "$T/series.lint" &&
	q a "\" \"" | runbook blank &&
	expect_status 78 gate lint "$T/blank.yaml" 2>"$T/blank.lint" &&
	grep -F "query: must not be empty" "$T/blank.lint" &&
	q a "\"up\"" "min_series: -1" | runbook neg &&
	expect_status 78 gate lint "$T/neg.yaml" 2>"$T/neg.lint" &&
	grep -F "min_series: must be 0 or more" "$T/neg.lint"
'

test_expect_success 'a port that accepts and never answers: error within the timeout' '
	runbook silent <<-EOF &&
	  - id: a
	    type: prometheus.query
	    timeout: 2s
	    with: {url: "http://127.0.0.1:$SP", query: up}
	EOF
	t0=$(test_now_ms) && check silent && t1=$(test_now_ms) &&
	rc_is silent 75 &&
	test "$(st silent a)" = error &&
	summary silent a | grep -F "connected to 127.0.0.1:$SP, but no response within" &&
	test $((t1 - t0)) -lt $((2000 + TEST_SLACK_MS))
'

test_expect_success 'Prometheus stopped: error, and the gate blocks' '
	ha_prometheus_stop &&
	check okrun && rc_is okrun 75 &&
	test "$(st okrun ok)" = error &&
	summary okrun ok | grep -F "cannot connect to 127.0.0.1:$PROM_PORT" &&
	test "$(json_get $T/okrun.json .decision)" = block
'

test_done
