#!/bin/bash
# Benchmark: gate serve under load.  CLIENTS concurrent clients (each a
# keep-alive connection, bench/serve/load.c on libcurl's multi interface)
# ask for SECONDS, round robin, /healthz/NAME, /v1/runbooks/NAME and
# /metrics of two runbooks (one `exec` check that takes 0.2 s each), with
# the default --min-interval of 10 s.  Prints the requests, requests/s,
# median and p99 latency, the answers by status, and the number of
# evaluations gate serve performed (its gate_runbook_evaluations_total).
#
#   bench/serve/run.sh [CLIENTS] [SECONDS]    (GATE_BIN: the gate binary)
set -eu
CLIENTS=${1:-200}
SECONDS_=${2:-30}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GATE_BIN=${GATE_BIN:-$ROOT/build/gate}
[ -x "$GATE_BIN" ] || { echo "no gate binary at $GATE_BIN (set GATE_BIN)" >&2; exit 1; }
T=$(mktemp -d /tmp/gate-bench-serve.XXXXXX)
cc -O2 -Wall -Wextra -o "$T/load" "$ROOT/bench/serve/load.c" $(pkg-config --cflags --libs libcurl)
PORT=
for i in $(seq 1 50); do
	p=$((20000 + RANDOM % 12000))
	ss -Htan "( sport = :$p or dport = :$p )" | grep -q . || { PORT=$p; break; }
done
for n in a b; do
	printf 'version: 1\nname: bench-%s\nchecks:\n  - id: nap\n    type: exec\n    with: {command: [sleep, "0.2"], protocol: exit}\n' "$n" >"$T/$n.yaml"
	chmod 644 "$T/$n.yaml"
done
ulimit -n 4096
TMPDIR=$T "$GATE_BIN" serve --listen "127.0.0.1:$PORT" "$T/a.yaml" "$T/b.yaml" 2>"$T/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$T"' EXIT
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 0.05; done
U=http://127.0.0.1:$PORT

echo "# gate serve, $CLIENTS clients for $SECONDS_ s, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r)"
echo "# URLs: /healthz/{a,b}, /v1/runbooks/{a,b}, /metrics; --min-interval 10s (default)"
"$T/load" "$CLIENTS" "$SECONDS_" "$U/healthz/a" "$U/v1/runbooks/b" "$U/metrics" "$U/healthz/b" \
	"$U/v1/runbooks/a"
curl -s "$U/metrics" | awk '/^gate_runbook_evaluations_total/ { n += $2; s = s " " $1 "=" $2 }
	END { printf "evaluations: %d (%s)\n", n, substr(s, 2) }'
echo "# gate serve's threads at the end: $(ls /proc/$SERVER/task | wc -l)"
