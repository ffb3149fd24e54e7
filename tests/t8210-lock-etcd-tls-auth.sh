#!/bin/bash
# Lock kind etcd (holds/lock_etcd.c) over TLS and with etcd's login, against
# real etcd 3.4 servers started here (tests/lib/ha.sh): one on https that
# asks for a client certificate (a CA, server and client certificates made
# with openssl in the test's directory), one with auth enabled (etcdctl:
# a user allowed only /gate/locks/, simple tokens that expire after 1 s
# unused).  Taken with the CA and the client certificate; refused without
# the client certificate, without the CA, or over http; taken with the
# right password, an error with a wrong one (never shown) or outside the
# user's permissions; a token that expired between keepalives is renewed.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd etcd etcdctl openssl curl ss setsid
. "$GATE_SOURCE_DIR/tests/lib/ha.sh"

T=$TEST_TMP
HOLD=$GATE_TOOLS_DIR/gate-hold
[ -x "$HOLD" ] || { echo "# $HOLD not built"; echo "0 passed, 1 failed"; exit 1; }

# etcd_start NAME ARGS...: a one-member etcd of its own under $HA/NAME,
# client URL in $URL_<NAME> (https when ARGS name a certificate).
etcd_start() {
	local name=$1 port peer scheme=http
	shift
	ha_port port && ha_port peer || return 1
	case " $* " in *" --cert-file "*) scheme=https ;; esac
	mkdir -p "$HA/$name"
	chmod 700 "$HA/$name"
	printf -v "URL_$name" '%s://127.0.0.1:%s' "$scheme" "$port"
	setsid etcd --name "$name" --data-dir "$HA/$name/data" --logger=zap \
		--listen-client-urls "$scheme://127.0.0.1:$port" --advertise-client-urls "$scheme://127.0.0.1:$port" \
		--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "$name=http://127.0.0.1:$peer" --initial-cluster-state new "$@" \
		</dev/null >"$HA/log/etcd-$name.log" 2>&1 &
	echo $! >"$HA/$name.pid"
	test_cleanup "ha_stop_pid \$(cat $HA/$name.pid)"
}

# A CA, and server and client certificates it signed (for 127.0.0.1).
pki() {
	local n
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 \
		-subj /CN=gate-test-ca 2>/dev/null || return 1
	for n in server client; do
		openssl req -newkey rsa:2048 -nodes -keyout "$T/$n.key" -out "$T/$n.csr" \
			-subj "/CN=$n" 2>/dev/null || return 1
		# The gateway dials its own gRPC server with the server's
		# certificate: it needs clientAuth too.
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$T/$n.ext"
		openssl x509 -req -in "$T/$n.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
			-out "$T/$n.pem" -days 2 -extfile "$T/$n.ext" 2>/dev/null || return 1
	done
}
tls_health() { curl -s -m 2 --cacert "$T/ca.pem" --cert "$T/client.pem" --key "$T/client.key" "$URL_tls/health" | grep -q '"health":"true"'; }
if ! pki || ! etcd_start tls --cert-file "$T/server.pem" --key-file "$T/server.key" \
	--client-cert-auth --trusted-ca-file "$T/ca.pem" || ! wait_until 30 tls_health; then
	echo "# the TLS etcd did not start:"; tail -n 15 "$HA"/log/etcd-tls.log
	echo "0 passed, 1 failed"; exit 1
fi
auth_health() { ha_body_has "$URL_auth/health" '"health":"true"'; }
ctl() { ETCDCTL_API=3 etcdctl --endpoints="$URL_auth" "$@" >>"$T/etcdctl.log" 2>&1; }
if ! etcd_start auth --auth-token=simple --auth-token-ttl=1 || ! wait_until 30 auth_health ||
	! { ctl user add root:fxroot && ctl role add gatelocks &&
		ctl role grant-permission gatelocks --prefix=true readwrite /gate/locks/ &&
		ctl user add gate:fxgate-secret && ctl user grant-role gate gatelocks && ctl auth enable; }; then
	echo "# the etcd with auth did not start:"; tail -n 15 "$HA"/log/etcd-auth.log "$T/etcdctl.log"
	echo "0 passed, 1 failed"; exit 1
fi

step() {
	local name=$1 rc=0
	shift
	"$HOLD" lock etcd "$@" >"$T/$name.json" 2>"$T/$name.err" || rc=$?
	echo "$rc" >"$T/$name.rc"
}
rc_is() { test "$(cat "$T/$1.rc")" = "$2" || { echo "exit $(cat "$T/$1.rc"), expected $2"; cat "$T/$1.json" "$T/$1.err"; false; }; }
released() { grep -q '"state":"taken","step":"release"' "$T/$1.json"; }
TLS="\"ca_file\": \"$T/ca.pem\", \"cert_file\": \"$T/client.pem\", \"key_file\": \"$T/client.key\""

test_expect_success 'https with the CA and a client certificate: taken and released' '
	step tls "{\"etcd\": [\"$URL_tls\"], \"group\": \"g\", $TLS}" take &&
	rc_is tls 0 && released tls
'

test_expect_success 'https without the client certificate: error, nothing taken' '
	step nocert "{\"etcd\": [\"$URL_tls\"], \"group\": \"g\", \"ca_file\": \"$T/ca.pem\"}" take &&
	rc_is nocert 2 && grep -q "cannot grant a lease: no etcd endpoint answered: $URL_tls: " "$T/nocert.json"
'

test_expect_success 'https without the CA: the server is not trusted' '
	step noca "{\"etcd\": [\"$URL_tls\"], \"group\": \"g\"}" take &&
	rc_is noca 2 && grep -q "TLS with 127.0.0.1:[0-9]* failed: SSL certificate problem" "$T/noca.json"
'

test_expect_success 'http to the https port: error' '
	step plain "{\"etcd\": [\"${URL_tls/https/http}\"], \"group\": \"g\"}" take &&
	rc_is plain 2 && grep -q "no etcd endpoint answered" "$T/plain.json"
'

AUTH="\"etcd\": [\"$URL_auth\"], \"user\": \"gate\""
# no_leases: etcd holds no lease (every one granted here was revoked).
no_leases() {
	local tok
	tok=$(curl -s -m 5 -X POST -d '{"name":"root","password":"fxroot"}' "$URL_auth/v3/auth/authenticate" |
		sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
	curl -s -m 5 -X POST -H "Authorization: $tok" -d '{}' "$URL_auth/v3/lease/leases" >"$T/leases.json"
	grep -q '"header"' "$T/leases.json" && ! grep -q '"leases"' "$T/leases.json"
}
# What etcd logged each time a request came with an expired token.
invalid_tokens() { awk '/"invalid auth token"/ { n++ } END { print n + 0 }' "$HA/log/etcd-auth.log"; }
test_expect_success 'login with the right password: taken, probed, released' '
	step login "{$AUTH, \"password\": \"fxgate-secret\", \"group\": \"g\"}" take &&
	rc_is login 0 && released login &&
	step loginprobe "{$AUTH, \"password\": \"fxgate-secret\", \"group\": \"g\"}" probe &&
	rc_is loginprobe 0
'

test_expect_success 'a wrong password: error that does not show it' '
	step badpw "{$AUTH, \"password\": \"wrong-secret-42\", \"group\": \"g\"}" take &&
	rc_is badpw 2 &&
	grep -q "login as gate refused: etcd at $URL_auth: status 400: etcdserver: authentication failed" "$T/badpw.json" &&
	! grep -q "wrong-secret-42" "$T/badpw.json" "$T/badpw.err"
'

test_expect_success 'a prefix outside the user'"'"'s permissions: error, the lease revoked' '
	step denied "{$AUTH, \"password\": \"fxgate-secret\", \"group\": \"g\", \"prefix\": \"/other/\"}" take &&
	rc_is denied 2 && grep -q "cannot take a slot: .*permission denied (code 7)" "$T/denied.json" &&
	! grep -q "fxgate-secret" "$T/denied.json" "$T/denied.err" &&
	no_leases
'

test_expect_success 'a token that expired between keepalives is fetched again (ttl 6 s, token 1 s)' '
	n0=$(invalid_tokens) &&
	step relogin "{$AUTH, \"password\": \"fxgate-secret\", \"group\": \"re\", \"ttl\": 6000}" take 7 &&
	rc_is relogin 0 && released relogin &&
	! grep -q "\"step\":\"keepalive\"" "$T/relogin.json" &&
	test "$(invalid_tokens)" -gt "$n0"
'

test_done
