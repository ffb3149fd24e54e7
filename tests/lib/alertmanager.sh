# shellcheck shell=bash
# A real Alertmanager (Debian's prometheus-alertmanager, 0.25) on a free
# port under $TEST_TMP/am, for the maintenance-mode scenarios (what it
# answers: doc/facts.md, Alertmanager).  Source after test-lib.sh.  Gossip
# is off (--cluster.listen-address=) so nothing binds :9094; the process
# is stopped by its PID at exit (am_stop is registered with test_cleanup).
#
#   am_start          AM_URL, AM_PORT; waits for /-/ready
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
