#!/bin/bash
# Record what the postgres lock kind (holds/lock_postgres.c) reads from a
# real server, for its unit tests (tests/unit/test_hold_postgres.c) and
# its fuzz target (fuzz/fuzz_hold_postgres.c): a PostgreSQL 15 primary
# started as the scenario tests start it (tests/lib/pg.sh), and in it:
#
#   holders-<state>.json  the holders query's answer, byte for byte
#                         (tests/tools/gate-pglock holders), while the key
#                         is free, held by gate-hold, seen by a role
#                         without privileges, held by psql over TCP and
#                         over the local socket, held shared by two psql,
#                         and held by a holder whose text had to be cut;
#   keys.json             ids the server computes from keys with SHA-256
#                         (pglock_key_id must agree);
#   appname.json          what pg_stat_activity keeps of application_names
#                         set by a session (sent vs stored).
#
# Written to tests/data/recorded/holds/postgres/; the holders-*.json also
# to fuzz/corpus/hold_postgres/rec-*.json, and each stored application_name
# to fuzz/corpus/hold_postgres/rec-appname-N.txt.  Recorded last from
# PostgreSQL 15.20 (Debian 12's postgresql-15).  Needs root (the server
# runs as postgres), a build (GATE_BUILD_DIR, default build/) and a few
# seconds.  The server and every holder are stopped at exit.
#
#   tests/tools/record-hold-postgres.sh
set -u
# shellcheck source=tests/lib/test-lib.sh
. "$(dirname "$0")/../lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
. "$GATE_SOURCE_DIR/tests/lib/pglock.sh"
test_cleanup pg_stop_all
test_cleanup holder_stop_all
OUT=$GATE_SOURCE_DIR/tests/data/recorded/holds/postgres
CORPUS=$GATE_SOURCE_DIR/fuzz/corpus/hold_postgres
PGLOCK=$GATE_TOOLS_DIR/gate-pglock
HOLD=$GATE_TOOLS_DIR/gate-hold
[ -x "$PGLOCK" ] && [ -x "$HOLD" ] || { echo "no $PGLOCK or $HOLD: build first" >&2; exit 1; }
mkdir -p "$OUT" "$CORPUS"
rm -f "$OUT"/*.json "$CORPUS"/rec-*

die() { echo "record-hold-postgres: $*" >&2; exit 1; }
pg_primary_start primary || die "the server did not start"
pg_psql primary "create role plain login" >/dev/null || die "no role plain"
PORT=$(pg_port primary)
CI=$(pg_conninfo primary)
KEY=db-cluster-1
ID=$("$PGLOCK" id "$KEY")
params() { printf '{"postgres": "%s", "key": "%s"}' "$CI" "$KEY"; }
# rec STATE [CONNINFO]: the holders query's answer on KEY
rec() {
	local f="$OUT/holders-$1.json"
	"$PGLOCK" holders "${2:-$CI}" "$KEY" >"$f" || die "gate-pglock holders failed ($1)"
	cp "$f" "$CORPUS/rec-holders-$1.json"
	echo "# ${f#"$GATE_SOURCE_DIR"/}"
}
taken() { grep -q '"step":"take","state":"taken"\|"state":"taken","step":"take"\|"step":"take".*"state":"taken"' "$TEST_TMP/$1.out"; }
said_t() { grep -qx t "$TEST_TMP/$1.out"; }

rec none

holder_start g "$HOLD" lock postgres "$(params)" take -1
wait_until 10 taken g || die "gate-hold did not take the lock"
rec gate
rec gate-plain "host=127.0.0.1 port=$PORT dbname=postgres user=plain"
holder_end g || die "gate-hold did not let go"

USER="a-rather-long-user-name" holder_start long "$HOLD" lock postgres "$(params)" take -1
wait_until 10 taken long || die "gate-hold did not take the lock (long)"
rec gate-cut
holder_end long || die "gate-hold did not let go (long)"

holder_psql p -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -- "select pg_try_advisory_lock($ID);"
wait_until 10 said_t p || die "psql did not take the lock"
rec psql
rec psql-plain "host=127.0.0.1 port=$PORT dbname=postgres user=plain"
holder_end p

holder_psql s -h "$PG_ROOT/run" -p "$PORT" -U postgres -d postgres -- "select pg_try_advisory_lock($ID);"
wait_until 10 said_t s || die "psql did not take the lock (socket)"
rec socket
holder_end s

holder_psql s1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -- "set application_name = 'reader one'; select pg_try_advisory_lock_shared($ID);"
holder_psql s2 -h 127.0.0.1 -p "$PORT" -U plain -d postgres -- "select pg_try_advisory_lock_shared($ID);"
wait_until 10 said_t s1 && wait_until 10 said_t s2 || die "psql did not take the shared locks"
rec shared
holder_end s1
holder_end s2

# ---- the ids, as the server computes them ----
{
	echo "["
	sep=""
	for k in "$KEY" "x" "upgrade" "clé-été" "a key with spaces" "fleet/db/reboot"; do
		lit=$(printf "%s" "$k" | sed "s/'/''/g")
		id=$(pg_psql primary "$(pg_lock_id_sql "'$lit'")") || die "no id for $k"
		printf '%s  {"key": "%s", "lock_id": "%s"}' "$sep" "$k" "$id"
		sep=$',\n'
	done
	printf '\n]\n'
} >"$OUT/keys.json"
echo "# ${OUT#"$GATE_SOURCE_DIR"/}/keys.json"

# ---- what pg_stat_activity keeps of an application_name ----
{
	echo "["
	sep=""
	for s in "gate: upgrade by root@db1 pid 42 since 2026-11-28T20:31:00Z" \
		"$("$PGLOCK" appname pg-major-upgrade alice db-prod-03.eu-west.example.com 1234567 1795897860000)" \
		"gate: été by root@db1 pid 42 since 2026-11-28T20:31:00Z" \
		"gate: a runbook name that is far too long by alice@db-prod-03.eu-west.example.com pid 1234567 since 2026-11-28T20:31:00Z"; do
		lit=$(printf "%s" "$s" | sed "s/'/''/g")
		stored=$(pg_psql primary "select set_config('application_name', '$lit', false); select application_name from pg_stat_activity where pid = pg_backend_pid()" | tail -n 1) ||
			die "no application_name for $s"
		printf '%s  {"sent": "%s", "stored": "%s"}' "$sep" "$s" "$stored"
		sep=$',\n'
	done
	printf '\n]\n'
} >"$OUT/appname.json"
echo "# ${OUT#"$GATE_SOURCE_DIR"/}/appname.json"
python3 -c 'import json,sys; [json.load(open(f)) for f in sys.argv[1:]]' "$OUT"/*.json || die "a recording is not JSON"
python3 - "$OUT/appname.json" "$CORPUS" <<'PY' || die "no appname seeds"
import json, sys
for i, r in enumerate(json.load(open(sys.argv[1]))):
    open("%s/rec-appname-%d.txt" % (sys.argv[2], i), "w").write(r["stored"])
PY
