#!/bin/bash
# Maintenance kinds (holds/maint_patroni.c, holds/maint_alertmanager.c)
# against the real servers of their scenario tests (Patroni 3.0.2 on etcd
# with PostgreSQL 15: tests/lib/ha.sh; Alertmanager 0.25:
# tests/lib/alertmanager.sh), driven through tests/tools/gate-hold:
#   1. the median time of begin and of end over $RUNS runs of each kind
#      (gate-hold's "ms": the kind's own call, process start excluded);
#   2. what a holder killed with SIGKILL leaves behind: gate-hold begin is
#      killed $KILLS times, at delays spread over its run, and each time
#      the script reports what it had recorded, what the server shows, and
#      whether `end` with the last record put everything back.
#
#   bench/holds/maint.sh                  # needs build/tests/gate-hold
#   RUNS=21 KILLS=20 bench/holds/maint.sh patroni
#
# Root (PostgreSQL runs as postgres).  Everything lives in a temporary
# directory, removed at exit, every server stopped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export GATE_SOURCE_DIR=${GATE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
. "$GATE_SOURCE_DIR/tests/lib/test-lib.sh"
: "${RUNS:=11}"
: "${KILLS:=12}"
H=$GATE_TOOLS_DIR/gate-hold
[ -x "$H" ] || { echo "no $H (build first)" >&2; exit 1; }
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(patroni alertmanager)

ms_of() { grep "\"step\":\"$2\"" "$1" | sed 's/.*"ms":\([0-9]*\).*/\1/'; }
. "$here/../lib.sh" # bench_median
last_undo() { grep '^{"record"' "$1" | tail -n 1 | sed 's/^{"record":\(.*\)}$/\1/'; }

timing() { # KIND PARAMS
	local i b=() e=()
	for ((i = 0; i < RUNS; i++)); do
		"$H" maint "$1" "$2" begin >"$TEST_TMP/t.out" || { cat "$TEST_TMP/t.out"; return 1; }
		b+=("$(ms_of "$TEST_TMP/t.out" begin)")
		e+=("$(ms_of "$TEST_TMP/t.out" end)")
	done
	printf '%-13s begin median %s ms (%s)   end median %s ms (%s)\n' "$1" \
		"$(printf '%s\n' "${b[@]}" | bench_median)" "${b[*]}" \
		"$(printf '%s\n' "${e[@]}" | bench_median)" "${e[*]}"
}

# kills KIND PARAMS STATE-FN: kill gate-hold begin at spread delays (in
# ms, from its start); STATE-FN prints the server's state.
kills() {
	local i d undo recs st after
	for ((i = 0; i < KILLS; i++)); do
		d=$((i * ${KILL_STEP_MS:-3}))
		"$H" maint "$1" "$2" begin 30 </dev/null >"$TEST_TMP/k.out" 2>&1 &
		local pid=$!
		sleep "$(printf '0.%03d' "$d")"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		recs=$(grep -c '^{"record"' "$TEST_TMP/k.out")
		st=$($3)
		undo=$(last_undo "$TEST_TMP/k.out")
		if [ -n "$undo" ]; then
			"$H" maint "$1" "$2" end "$undo" >"$TEST_TMP/e.out" 2>&1
			after="end: $(sed 's/.*"state":"\([a-z]*\)".*/\1/' "$TEST_TMP/e.out" | head -n 1), then $($3)"
		else
			after="nothing recorded, nothing to undo; now $($3)"
		fi
		printf '  kill at %3d ms: %s record(s)%s; server: %s; %s\n' "$d" "$recs" \
			"$(grep -q '"step":"begin"' "$TEST_TMP/k.out" && echo ', begin done')" "$st" "$after"
		$4
	done
}

if printf '%s\n' "${kinds[@]}" | grep -qx patroni; then
	. "$GATE_SOURCE_DIR/tests/lib/ha.sh"
	ha_cluster_up || { echo "the Patroni cluster did not start"; exit 1; }
	API=http://127.0.0.1:$PATRONI_API_2
	P="{\"patroni\": \"$API\"}"
	pstate() { curl -s -m 2 "$API/cluster" | grep -q '"pause": true' && echo paused || echo "not paused"; }
	preset() { curl -s -m 5 -X PATCH -d '{"pause": null}' "$API/config" >/dev/null; }
	echo "# Patroni 3.0.2 (member REST API $API), $RUNS runs"
	timing patroni "$P"
	echo "# SIGKILL of gate-hold begin (then end with the last record):"
	kills patroni "$P" pstate preset
fi

if printf '%s\n' "${kinds[@]}" | grep -qx alertmanager; then
	. "$GATE_SOURCE_DIR/tests/lib/alertmanager.sh"
	am_start || exit 1
	A="{\"alertmanager\": \"$AM_URL\", \"matchers\": [\"alertname=\\\"Bench\\\"\"], \"duration\": 7200000}"
	astate() {
		echo "$(am_silences | grep -o '"state":"active"' | wc -l) active silence(s)"
	}
	areset() { :; }
	echo "# Alertmanager 0.25 ($AM_URL), $RUNS runs"
	timing alertmanager "$A"
	echo "# SIGKILL of gate-hold begin (then end with the last record):"
	kills alertmanager "$A" astate areset
fi
