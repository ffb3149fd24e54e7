#!/bin/bash
# The `http` check against real servers on loopback: tests/servers/httpd.py
# (statuses, delays, slow and big bodies, redirects, TLS with a CA made
# here by openssl), a listener that accepts and never answers, one that
# never accepts (backlog full: SYNs dropped), and a closed port.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/report.sh"
require_cmd ss openssl

SERVERS="$GATE_SOURCE_DIR/tests/servers"
PY=/usr/bin/python3
T=$TEST_TMP

listening() { ss -Hltn "sport = :$1" | grep -q .; }
start_bg() { # start_bg NAME CMD...: run in the background, kill at exit
	local name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	echo $! >"$T/$name.pid"
	test_cleanup "kill $! 2>/dev/null"
}

HP=$(free_port) && start_bg httpd $PY "$SERVERS/httpd.py" "$HP"
AP=$(free_port) && start_bg accept $PY "$SERVERS/blackhole.py" "$AP" accept "$T/accept.ready"
NP=$(free_port) && start_bg noaccept $PY "$SERVERS/blackhole.py" "$NP" noaccept "$T/noaccept.ready"
# TLS: a throwaway CA and a server certificate for 127.0.0.1 signed by it.
(
	cd "$T" &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout ca.key -out ca.pem -days 2 -subj "/CN=gate t4000 CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout srv.key -out srv.csr -subj "/CN=127.0.0.1" &&
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >srv.ext &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-out srv.pem -days 2 -extfile srv.ext
) >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log"; echo "0 passed, 1 failed"; exit 1; }
H2=$(free_port) && start_bg httpd2 $PY "$SERVERS/httpd.py" "$H2"
SP=$(free_port) && start_bg httpsd $PY "$SERVERS/httpd.py" "$SP" --tls "$T/srv.pem" "$T/srv.key"
CP=$(free_port) # nothing listens here
for p in $HP $AP $NP $SP $H2; do
	wait_until 10 listening "$p" || { echo "# server on $p did not start"; cat "$T"/*.log; }
done
wait_until 10 test -s "$T/accept.ready" && wait_until 10 test -s "$T/noaccept.ready" ||
	echo "# a blackhole did not get ready"

# runbook NAME: the runbook's checks (YAML, two-space indented) come on stdin.
rc_is() { test "$(cat "$T/$1.rc")" = "$2" || { echo "exit $(cat "$T/$1.rc"), expected $2"; false; }; }
# show NAME: print a report's check results (after a failed assertion).
show() {
	$PY -c 'import json,sys
for c in json.load(open(sys.argv[1]))["checks"]: print(c["id"], c["status"], c["duration_ms"], c["summary"])' "$T/$1.json"
	false
}
ms() { test_now_ms; }

test_expect_success 'status, body and JSON assertions hold: allow' '
	runbook ok <<-EOF &&
	  - id: json
	    type: http
	    with:
	      url: http://127.0.0.1:$HP/json
	      expect_body: "\"status\": *\"ok\""
	      expect_json:
	        - {pointer: /status, equals: ok}
	        - {pointer: /replicas, equals: 2.0}
	        - {pointer: /version, matches: "^15\\\\."}
	        - {pointer: /nested/a~1b, equals: 1}
	        - {pointer: /nested/m~0n, equals: 2}
	        - {pointer: /nested/deep/x/2, min: 30, max: 30}
	        - {pointer: /lag, max: 1}
	        - {pointer: /ready, equals: true}
	  - id: accepts-503
	    type: http
	    with:
	      url: "http://127.0.0.1:$HP/?_status=503"
	      expect_status: [200, 503]
	EOF
	check ok && rc_is ok 0 &&
	test "$(json_get $T/ok.json .decision)" = allow &&
	test "$(st ok json)" = pass && test "$(st ok accepts-503)" = pass ||
	show ok
'

test_expect_success 'an unexpected status fails and blocks (75)' '
	runbook s503 <<-EOF &&
	  - id: down
	    type: http
	    with: {url: "http://127.0.0.1:$HP/?_status=503"}
	EOF
	check s503 && rc_is s503 75 &&
	test "$(st s503 down)" = fail &&
	summary s503 down | grep "status 503, expected 200" ||
	show s503
'

test_expect_success 'a failing JSON assertion fails and says which' '
	runbook badjson <<-EOF &&
	  - id: lag
	    type: http
	    with:
	      url: http://127.0.0.1:$HP/json
	      expect_json:
	        - {pointer: /status, equals: ok}
	        - {pointer: /lag, max: 0.1}
	        - {pointer: /missing, equals: 1}
	        - {pointer: /list/01, equals: 2}
	        - {pointer: /list/-, equals: 2}
	        - {pointer: /version, min: 16}
	EOF
	check badjson && rc_is badjson 75 &&
	test "$(st badjson lag)" = fail &&
	summary badjson lag | grep "5 of 6 JSON assertions failed" &&
	summary badjson lag | grep "/list/01 is absent; /list/- is absent; /version is \"15.4\", below min 16" &&
	summary badjson lag | grep "/lag is 0.5, above max 0.1" &&
	summary badjson lag | grep "/missing is absent" ||
	show badjson
'

test_expect_success 'a body that is not JSON is an error; a body that does not match fails' '
	runbook notjson <<-EOF &&
	  - id: notjson
	    type: http
	    with:
	      url: "http://127.0.0.1:$HP/?_body=not%20json%7B"
	      expect_json: [{pointer: /a, equals: 1}]
	  - id: nomatch
	    type: http
	    with:
	      url: "http://127.0.0.1:$HP/"
	      expect_body: "^healthy$"
	EOF
	check notjson && rc_is notjson 75 &&
	test "$(st notjson notjson)" = error &&
	summary notjson notjson | grep "not JSON" &&
	test "$(st notjson nomatch)" = fail &&
	summary notjson nomatch | grep "does not match" ||
	show notjson
'

test_expect_success 'a server that accepts and never answers: error, within the timeout' '
	runbook silent <<-EOF &&
	  - id: silent
	    type: http
	    timeout: 2s
	    with: {url: "http://127.0.0.1:$AP/"}
	EOF
	t0=$(ms) && check silent && t1=$(ms) && rc_is silent 75 &&
	test "$(st silent silent)" = error &&
	summary silent silent | grep "connected to 127.0.0.1:$AP, but no response within" &&
	echo "took $((t1 - t0)) ms" && test $((t1 - t0)) -lt $((2000 + TEST_SLACK_MS)) ||
	show silent
'

test_expect_success 'a server that never accepts: error, connect timed out' '
	runbook noacc <<-EOF &&
	  - id: noaccept
	    type: http
	    timeout: 2s
	    with: {url: "http://127.0.0.1:$NP/"}
	EOF
	t0=$(ms) && check noacc && t1=$(ms) && rc_is noacc 75 &&
	test "$(st noacc noaccept)" = error &&
	summary noacc noaccept | grep "connect to 127.0.0.1:$NP timed out: not accepted" &&
	test $((t1 - t0)) -lt $((2000 + TEST_SLACK_MS)) ||
	show noacc
'

test_expect_success 'a closed port: error, cannot connect' '
	runbook closed <<-EOF &&
	  - id: closed
	    type: http
	    with: {url: "http://127.0.0.1:$CP/"}
	EOF
	check closed && rc_is closed 75 &&
	test "$(st closed closed)" = error &&
	summary closed closed | grep "cannot connect to 127.0.0.1:$CP: Connection refused" ||
	show closed
'

test_expect_success 'an answer that is too slow: error, says it started and did not finish' '
	runbook slow <<-EOF &&
	  - id: trickle
	    type: http
	    timeout: 2s
	    with: {url: "http://127.0.0.1:$HP/json?_trickle=0.5"}
	  - id: late
	    type: http
	    timeout: 1s
	    with: {url: "http://127.0.0.1:$HP/json?_delay=3"}
	EOF
	t0=$(ms) && check slow && t1=$(ms) && rc_is slow 75 &&
	test "$(st slow trickle)" = error &&
	summary slow trickle | grep "too slow: started after" &&
	test "$(st slow late)" = error &&
	summary slow late | grep "no response within" &&
	test $((t1 - t0)) -lt $((2000 + TEST_SLACK_MS)) ||
	show slow
'

test_expect_success 'max_body is enforced while receiving (with and without Content-Length)' '
	runbook big <<-EOF &&
	  - id: chunked
	    type: http
	    with: {url: "http://127.0.0.1:$HP/stream?bytes=200000000", max_body: 1MiB}
	  - id: sized
	    type: http
	    with: {url: "http://127.0.0.1:$HP/big?bytes=2000000", max_body: 1MiB}
	  - id: fits
	    type: http
	    with: {url: "http://127.0.0.1:$HP/big?bytes=1000", max_body: 1kB}
	  - id: head
	    type: http
	    with: {url: "http://127.0.0.1:$HP/big?bytes=2000000", max_body: 1MiB, method: HEAD}
	EOF
	t0=$(ms) && check big && t1=$(ms) && rc_is big 75 &&
	test "$(st big chunked)" = error && test "$(st big sized)" = error &&
	summary big chunked | grep "larger than max_body (1048576 bytes)" &&
	test "$(st big fits)" = pass && test "$(st big head)" = pass &&
	echo "took $((t1 - t0)) ms" && test $((t1 - t0)) -lt $((2000 + TEST_SLACK_MS)) ||
	show big
'

test_expect_success 'redirects are not followed unless follow_redirects: true' '
	runbook redir <<-EOF &&
	  - id: nofollow
	    type: http
	    with: {url: "http://127.0.0.1:$HP/redirect?to=/json"}
	  - id: follow
	    type: http
	    with:
	      url: "http://127.0.0.1:$HP/redirect?to=/json"
	      follow_redirects: true
	      expect_json: [{pointer: /status, equals: ok}]
	EOF
	check redir && rc_is redir 75 &&
	test "$(st redir nofollow)" = fail &&
	summary redir nofollow | grep "status 302 (redirect to http://127.0.0.1:$HP/json, not followed)" &&
	test "$(st redir follow)" = pass ||
	show redir
'

test_expect_success 'followed redirects take secret headers only to the same origin' '
	export GATE_T4000_TOKEN=t4000-redirect-secret &&
	runbook xorigin <<-EOF &&
	  - id: same
	    type: http
	    with:
	      url: "http://127.0.0.1:$HP/redirect?to=/echo"
	      follow_redirects: true
	      headers: {X-Api-Key: "\${env:GATE_T4000_TOKEN}"}
	      expect_json: [{pointer: /headers, equals: [Accept, Host, User-Agent, X-Api-Key]}]
	  - id: other
	    type: http
	    with:
	      url: "http://127.0.0.1:$HP/redirect?to=http://127.0.0.1:$H2/echo"
	      follow_redirects: true
	      headers: {X-Api-Key: "\${env:GATE_T4000_TOKEN}"}
	      expect_json: [{pointer: /headers, equals: [Accept, Host, User-Agent]}]
	EOF
	check xorigin && rc_is xorigin 0 &&
	curl -s http://127.0.0.1:$H2/__log >"$T/h2.log" &&
	grep -F "/echo" "$T/h2.log" && ! grep -F "redirect-secret" "$T/h2.log" ||
	show xorigin
'

test_expect_success 'HEAD and POST reach the server as such' '
	runbook methods <<-EOF &&
	  - id: head
	    type: http
	    with: {url: "http://127.0.0.1:$HP/json", method: HEAD}
	  - id: post
	    type: http
	    with:
	      url: "http://127.0.0.1:$HP/echo"
	      method: POST
	      body: "{\"ping\": 1}"
	      expect_json:
	        - {pointer: /method, equals: POST}
	        - {pointer: /body, equals: "{\"ping\": 1}"}
	EOF
	check methods && rc_is methods 0 &&
	test "$(st methods head)" = pass && test "$(st methods post)" = pass &&
	curl -s http://127.0.0.1:$HP/__log | grep "\"method\": \"HEAD\", \"path\": \"/json\"" ||
	show methods
'

test_expect_success 'header values from ${env:...} reach the server and never the report' '
	export GATE_T4000_TOKEN=t4000-very-secret-token &&
	runbook secret <<-EOF &&
	  - id: auth
	    type: http
	    with:
	      url: "http://127.0.0.1:$HP/?_status=500"
	      headers:
	        Authorization: "Bearer \${env:GATE_T4000_TOKEN}"
	        X-Api-Key: "\${env:GATE_T4000_TOKEN}"
	EOF
	curl -s -X POST http://127.0.0.1:$HP/__reset >/dev/null &&
	check secret && rc_is secret 75 && test "$(st secret auth)" = fail &&
	{ gate check "$T/secret.yaml" >"$T/secret.txt" 2>&1 || true; } &&
	{ gate check -v --format json -o "$T/secret.out" --audit-log "$T/secret.audit" "$T/secret.yaml" >/dev/null 2>&1 || true; } &&
	test -s "$T/secret.audit" &&
	curl -s http://127.0.0.1:$HP/__log >"$T/secret.log" &&
	grep -F "Bearer t4000-very-secret-token" "$T/secret.log" &&
	grep -F "\"X-Api-Key\": \"t4000-very-secret-token\"" "$T/secret.log" &&
	! grep -F "very-secret" "$T/secret.json" "$T/secret.err" "$T/secret.txt" "$T/secret.out" "$T/secret.audit" ||
	show secret
'

test_expect_success 'a password in the URL is shown as ***' '
	runbook userinfo <<-EOF &&
	  - id: pw
	    type: http
	    with: {url: "http://gate:hunter2pass@127.0.0.1:$CP/"}
	  - id: pw2
	    type: http
	    with: {url: "http://gate:hunter2pass@127.0.0.1:$HP/redirect?to=http://gate:hunter2pass@127.0.0.1:$HP/json"}
	EOF
	check userinfo && rc_is userinfo 75 &&
	{ gate check --audit-log "$T/userinfo.audit" "$T/userinfo.yaml" >"$T/userinfo.txt" 2>&1 || true; } &&
	test -s "$T/userinfo.audit" &&
	! grep -F hunter2pass "$T/userinfo.json" "$T/userinfo.err" "$T/userinfo.txt" "$T/userinfo.audit" &&
	grep -F "gate:***@127.0.0.1:$HP" "$T/userinfo.json" ||
	show userinfo
'

test_expect_success 'TLS: verified by default, passes with ca_file or tls_verify: false' '
	runbook tls <<-EOF &&
	  - id: untrusted
	    type: http
	    with: {url: "https://127.0.0.1:$SP/json"}
	  - id: cafile
	    type: http
	    with: {url: "https://127.0.0.1:$SP/json", ca_file: "$T/ca.pem"}
	  - id: noverify
	    type: http
	    with: {url: "https://127.0.0.1:$SP/json", tls_verify: false}
	  - id: wrongname
	    type: http
	    with: {url: "https://localhost:$SP/json", ca_file: "$T/ca.pem"}
	  - id: prom-untrusted
	    type: prometheus.alerts
	    with: {url: "https://127.0.0.1:$SP"}
	  - id: prom-cafile
	    type: prometheus.alerts
	    with: {url: "https://127.0.0.1:$SP", ca_file: "$T/ca.pem"}
	  - id: patroni-untrusted
	    type: patroni.cluster
	    with: {url: "https://127.0.0.1:$SP"}
	  - id: patroni-cafile
	    type: patroni.cluster
	    with: {url: "https://127.0.0.1:$SP", ca_file: "$T/ca.pem"}
	EOF
	check tls && rc_is tls 75 &&
	test "$(st tls untrusted)" = error &&
	summary tls untrusted | grep "TLS with 127.0.0.1:$SP failed" &&
	test "$(st tls cafile)" = pass &&
	test "$(st tls noverify)" = pass &&
	test "$(st tls wrongname)" = error &&
	test "$(st tls prom-untrusted)" = error &&
	test "$(st tls prom-cafile)" = fail &&
	summary tls prom-cafile | grep "^1 firing: PostgresReplicationLag" &&
	test "$(st tls patroni-untrusted)" = error &&
	test "$(st tls patroni-cafile)" = pass ||
	show tls
'

test_expect_success 'lint rejects bad http parameters with their position (78)' '
	runbook badre <<-EOF &&
	  - id: re
	    type: http
	    with: {url: "http://127.0.0.1:$HP/", expect_body: "a(b"}
	EOF
	expect_status 78 gate lint "$T/badre.yaml" 2>"$T/badre.lint" &&
	grep "expect_body" "$T/badre.lint" &&
	runbook badej <<-EOF &&
	  - id: ej
	    type: http
	    with: {url: "http://127.0.0.1:$HP/", expect_json: [{equals: 1}]}
	EOF
	expect_status 78 gate lint "$T/badej.yaml" 2>"$T/badej.lint" &&
	grep "pointer" "$T/badej.lint" &&
	runbook badptr <<-EOF &&
	  - id: p
	    type: http
	    with: {url: "http://127.0.0.1:$HP/", expect_json: [{pointer: /a~2b, equals: 1}]}
	EOF
	expect_status 78 gate lint "$T/badptr.yaml" 2>"$T/badptr.lint" &&
	grep "not a JSON pointer" "$T/badptr.lint" &&
	runbook badbody <<-EOF &&
	  - id: b
	    type: http
	    with: {url: "ftp://127.0.0.1:$HP/", body: "x"}
	EOF
	expect_status 78 gate lint "$T/badbody.yaml" 2>"$T/badbody.lint" &&
	grep -E "url|body" "$T/badbody.lint"
'

test_done
