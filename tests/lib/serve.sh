# shellcheck shell=bash
# `gate serve` in the background for the 9000 series, on a probed free
# port, stopped at exit.  Source after test-lib.sh.
#
#   serve_start NAME ARGS...    start `gate serve --listen 127.0.0.1:PORT
#                               ARGS...` (stderr in $TEST_TMP/NAME.log, its
#                               snapshots under $TEST_TMP/NAME.tmp); sets
#                               SERVE_URL and SERVE_PID, waits for /healthz
#   serve_code PATH             the HTTP status of GET $SERVE_URL$PATH
#   serve_metric NAME{LABELS}   a sample's value from /metrics ("" if absent)
#   serve_metric_is / serve_metric_ge / serve_code_is: for wait_until
#   serve_stop [SECONDS]        SIGTERM, wait for the exit; its status in
#                               SERVE_RC (124 when it did not end in time)

serve_start() {
	local name=$1
	shift
	SERVE_PORT=$(free_port) || return 1
	SERVE_LOG=$TEST_TMP/$name.log
	mkdir -p "$TEST_TMP/$name.tmp"
	TMPDIR=$TEST_TMP/$name.tmp "$GATE_BIN" serve --listen "127.0.0.1:$SERVE_PORT" "$@" \
		</dev/null 2>"$SERVE_LOG" &
	SERVE_PID=$!
	test_cleanup "kill -KILL $SERVE_PID 2>/dev/null"
	SERVE_URL=http://127.0.0.1:$SERVE_PORT
	wait_until 30 curl -sf -m 2 "$SERVE_URL/healthz" || { cat "$SERVE_LOG"; return 1; }
}

serve_code() { curl -s -m 60 -o /dev/null -w '%{http_code}' "$SERVE_URL$1"; }

serve_metric() {
	curl -s -m 10 "$SERVE_URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}

# serve_metric_is NAME{LABELS} VALUE: for wait_until
serve_metric_is() { [ "$(serve_metric "$1")" = "$2" ]; }

serve_stop() {
	local n=$((${1:-30} * 10)) i
	kill -TERM "$SERVE_PID" 2>/dev/null
	for ((i = 0; i < n; i++)); do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SERVE_PID" 2>/dev/null; then
		SERVE_RC=124
		return 1
	fi
	wait "$SERVE_PID"
	SERVE_RC=$?
}

# serve_code_is PATH CODE: for wait_until (the status asked again each time)
serve_code_is() { [ "$(serve_code "$1")" = "$2" ]; }
# serve_metric_ge NAME{LABELS} N: the sample is there and at least N
serve_metric_ge() { local v; v=$(serve_metric "$1") && [ -n "$v" ] && [ "${v%.*}" -ge "$2" ]; }
