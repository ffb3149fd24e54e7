#!/bin/bash
# gate serve under systemd's protocols, with systemd's own tools: socket
# activation through systemd-socket-activate (it listens, then execs gate
# serve with LISTEN_FDS), sd_notify to a NOTIFY_SOCKET that this test
# reads (READY=1 at the start, WATCHDOG=1 every half WATCHDOG_USEC,
# RELOADING=1 and READY=1 around a SIGHUP, STOPPING=1 at SIGTERM), and
# the example units examples/systemd/gate-serve.{socket,service} checked
# by systemd-analyze verify.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/serve.sh"
require_cmd curl ss systemd-socket-activate
T=$TEST_TMP
S=$GATE_SOURCE_DIR
cd "$T" || exit 1

write_pass_rb rb.yaml

# The notification socket: every datagram one line (newlines as |).
/usr/bin/python3 - "$T/notify.sock" "$T/notify.log" <<-'PY' >notify.out 2>&1 &
	import socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.bind(sys.argv[1])
	with open(sys.argv[2], "a") as f:
	    while True:
	        f.write(s.recv(4096).decode().replace("\n", "|") + "\n")
	        f.flush()
PY
test_cleanup "kill $! 2>/dev/null"
wait_until 30 test -S "$T/notify.sock"
: >notify.log

watchdogs_at_least() { [ "$(grep -c '^WATCHDOG=1$' notify.log)" -ge "$1" ]; }

mkdir -p tmp
# listening_or_gone PID PORT: PID listens on PORT, or PID has ended
listening_or_gone() {
	! kill -0 "$1" 2>/dev/null || ss -Hltnp "sport = :$2" | grep -q "pid=$1,"
}
# A free port can be taken by another test between free_port and the
# bind: systemd-socket-activate then exits, and the port is another's.
# Retry with another port until the listener is ours.
for attempt in 1 2 3 4 5; do
	P=$(free_port)
	# WATCHDOG_USEC=1 s: a WATCHDOG=1 every 0.5 s
	systemd-socket-activate -l "127.0.0.1:$P" -E NOTIFY_SOCKET="$T/notify.sock" \
		-E WATCHDOG_USEC=1000000 -E TMPDIR="$T/tmp" -E PATH \
		"$GATE_BIN" serve --listen 127.0.0.1:1 rb.yaml 2>serve.log &
	SERVE_PID=$!
	wait_until 30 listening_or_gone "$SERVE_PID" "$P"
	kill -0 "$SERVE_PID" 2>/dev/null && break
	wait "$SERVE_PID" 2>/dev/null
done
test_cleanup "kill -KILL $SERVE_PID 2>/dev/null"
SERVE_URL=http://127.0.0.1:$P
SERVE_LOG=$T/serve.log

test_expect_success 'socket activation: the first connection starts gate serve on the passed socket' '
	test "$(serve_code /healthz/rb)" = 200 &&
	test_grep "a socket passed by systemd" serve.log &&
	test_grep "1 runbook on http://127.0.0.1:$P" serve.log &&
	! ss -Hltn "sport = :1" | grep -q .
'

test_expect_success 'READY=1 with a status, then WATCHDOG=1 every half WATCHDOG_USEC' '
	wait_until 30 grep -q "^READY=1|STATUS=serving on 127.0.0.1:$P$" notify.log &&
	wait_until 30 watchdogs_at_least 4
'

test_expect_success 'SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1' '
	kill -HUP $SERVE_PID &&
	wait_until 30 grep -q "^READY=1|STATUS=reloaded: 1 of 1 runbooks valid$" notify.log &&
	grep -n "" notify.log >numbered &&
	r=$(grep "RELOADING=1|MONOTONIC_USEC=[0-9]*$" numbered | cut -d: -f1) &&
	d=$(grep "READY=1|STATUS=reloaded" numbered | cut -d: -f1) &&
	test -n "$r" && test "$r" -lt "$d"
'

serve_stop 30
test_expect_success 'SIGTERM: STOPPING=1, exit 0' '
	test "$SERVE_RC" = 0 &&
	# sent before the exit, but the listener may not have logged it yet
	wait_until 30 grep -q "^STOPPING=1$" notify.log &&
	test -z "$(ls -A tmp)"
'

test_expect_success 'a socket that is not a listening stream socket is refused' '
	expect_status 1 sh -c "LISTEN_PID=\$\$ LISTEN_FDS=1 exec \"\$GATE_BIN\" serve rb.yaml 3<rb.yaml" 2>err &&
	test_grep "not a listening stream socket" err
'

if command -v systemd-analyze >/dev/null 2>&1; then
	test_expect_success 'the example units pass systemd-analyze verify' '
		mkdir -p units &&
		sed "s|/usr/local/bin/gate|$(readlink -f "$GATE_BIN")|" "$S/examples/systemd/gate-serve.service" >units/gate-serve.service &&
		cp "$S/examples/systemd/gate-serve.socket" units/ &&
		grep -q "^ExecStart=.* serve /etc/gate/runbooks/" units/gate-serve.service &&
		for k in DynamicUser=yes ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes \
			"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" SystemCallFilter=@system-service \
			Type=notify WatchdogSec=30s; do
			grep -qx "$k" units/gate-serve.service || { echo "missing $k"; exit 1; }
		done &&
		grep -qx "ListenStream=127.0.0.1:9741" units/gate-serve.socket &&
		# Documentation=man:gate(1) is looked up: the manual of this tree
		mkdir -p man/man1 && cp "$S/doc/gate.1" man/man1/ &&
		# verify runs a manager that touches /run/systemd/systemd-units-load:
		# give it a private /run/systemd so the host is left as it was
		unshare --mount --propagation private -- sh -c "mount -t tmpfs tmpfs /run/systemd &&
			cd units && MANPATH=$T/man SYSTEMD_LOG_LEVEL=warning systemd-analyze verify ./gate-serve.socket ./gate-serve.service" >verify.out 2>&1 &&
		test ! -s verify.out
	'
else
	test_skip 'the example units pass systemd-analyze verify' 'no systemd-analyze'
fi

test_done
