#!/bin/bash
# The postgres lock kind ({postgres: CONNINFO, key: NAME}, holds/lock_postgres.c)
# against a real PostgreSQL 15, through tests/tools/gate-hold: two takes at
# once on one key (exactly one is taken, the other is busy and names the
# first); a probe that takes nothing, as a role without privileges too; a
# holder killed with SIGKILL (the server ends its session: free at once);
# another key is independent; psql holding the key's id as PostgreSQL
# computes it (an unknown holder, named by its address); bad conninfos and
# a wrong password (errors that never show the password); a port that
# accepts and never answers (an error within the deadline); the server
# stopped while the lock is held (the keepalive reports it lost); a
# server-wide idle_session_timeout (the holding session turns it off); a
# standby (advisory locks are not WAL-logged: refused).
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/pg.sh"
. "$(dirname "$0")/lib/pglock.sh"
require_cmd ss psql runuser mkfifo
T=$TEST_TMP
HOLD=$GATE_TOOLS_DIR/gate-hold
SECRET=Sekrit-Pass-42

test_cleanup pg_stop_all
test_cleanup holder_stop_all
pg_primary_start primary "password_encryption = 'scram-sha-256'" ||
	{ echo "# could not start the server"; echo "0 passed, 1 failed"; exit 1; }
PORT=$(pg_port primary)
CI=$(pg_conninfo primary)
pg_psql primary "create role plain login; create role gatepw login password '$SECRET'" &&
	{ echo "host all gatepw 127.0.0.1/32 scram-sha-256"; cat "$T/pg/primary/pg_hba.conf"; } >"$T/hba" &&
	cat "$T/hba" >"$T/pg/primary/pg_hba.conf" && pg_psql primary "select pg_reload_conf()" >/dev/null

listening() { ss -Hltn "sport = :$1" | grep -q .; }
BH=$(free_port)
/usr/bin/python3 "$GATE_SOURCE_DIR/tests/servers/blackhole.py" "$BH" accept >/dev/null 2>&1 &
test_cleanup "kill $!"
wait_until 10 listening "$BH" || echo "# the blackhole did not start"

# params KEY [CONNINFO]: the lock item as gate-hold takes it
params() { printf '{"postgres": "%s", "key": "%s"}' "${2:-$CI}" "$1"; }
# field FILE STEP KEY: KEY of the JSON line of STEP in FILE ("" if none)
field() {
	/usr/bin/python3 - "$@" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("step") == sys.argv[2]:
        v = o.get(sys.argv[3], "")
        print(v if isinstance(v, str) else json.dumps(v))
        break
PY
}
stepped() { test -n "$(field "$T/$1.out" "$2" state)"; }
probe() { "$HOLD" lock postgres "$(params "$@")" probe; }
is_free() { probe "$@" >/dev/null; }
ms() { test_now_ms; }

test_expect_success 'two takes at once on one key: exactly one is taken, the other is busy and names it' '
	holder_start a "$HOLD" lock postgres "$(params k1)" take -1 &&
	holder_start b "$HOLD" lock postgres "$(params k1)" take -1 &&
	wait_until 30 stepped a take && wait_until 30 stepped b take &&
	states="$(field a.out take state) $(field b.out take state)" &&
	case "$states" in
	"taken busy") win=a lose=b ;;
	"busy taken") win=b lose=a ;;
	*) echo "states: $states"; false ;;
	esac &&
	echo $win >winner &&
	field $lose.out take holder | tee holder &&
	grep -E "^gate-hold by [^ ]+@[^ ]+ pid $(cat $win.pid) since 20[0-9-]{8}T[0-9:]{8}Z$" holder &&
	wait_until 10 holder_gone $lose &&
	pg_psql primary "select application_name from pg_stat_activity where pid = $(field $win.out take details | sed -n "s/.*\"session_pid\": *\([0-9]*\).*/\1/p")" |
		grep -E "^gate: gate-hold by [^ ]+@[^ ]+ pid $(cat $win.pid) since "
'

test_expect_success 'a probe takes nothing and names the holder, as a role without privileges too' '
	win=$(cat winner) &&
	expect_status 1 probe k1 >p1 && field p1 probe holder | grep -E "^gate-hold by .* pid $(cat $win.pid) since " &&
	expect_status 1 probe k1 "host=127.0.0.1 port=$PORT dbname=postgres user=plain" >p2 &&
	field p2 probe holder | grep -E "^gate-hold by .* pid $(cat $win.pid) since " &&
	test "$(pg_psql primary "select count(*) from pg_locks where locktype = '"'advisory'"'")" = 1
'

test_expect_success 'another key is independent: taken and released while k1 is held' '
	"$HOLD" lock postgres "$(params k2)" take 0 >k2 &&
	test "$(field k2 take state)" = taken && test "$(field k2 release state)" = taken &&
	is_free k2 && expect_status 1 probe k1
'

test_expect_success 'the holder killed with SIGKILL: the server ends its session, the lock is free at once' '
	win=$(cat winner) &&
	t0=$(ms) && holder_kill $win && wait_until 10 is_free k1 && t1=$(ms) &&
	say "free $((t1 - t0)) ms after SIGKILL" && wait_until 10 holder_gone $win &&
	test $((t1 - t0)) -lt $((1000 + TEST_SLACK_MS)) &&
	"$HOLD" lock postgres "$(params k1)" take 0 >again && test "$(field again take state)" = taken
'

test_expect_success 'psql holding the id PostgreSQL computes from the key: busy, an unknown holder from its address' '
	holder_psql p -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -- "select pg_try_advisory_lock(($(pg_lock_id_sql "'"'k3'"'")));" &&
	wait_until 10 grep -qx t "$T/p.out" &&
	pid=$(pg_psql primary "select pid from pg_locks where locktype = '"'advisory'"'") &&
	expect_status 1 "$HOLD" lock postgres "$(params k3)" take 0 >k3 &&
	test "$(field k3 take holder)" = "an unknown holder (pid $pid on the server, from 127.0.0.1, application_name \"psql\")" &&
	holder_end p && is_free k3
'

test_expect_success 'bad conninfos and a wrong password: errors that never show the password' '
	expect_status 2 "$HOLD" lock postgres "$(params k1 "host=127.0.0.1 port=$PORT password=$SECRET user='"'"'x")" take 0 >bad1 2>&1 &&
	field bad1 take message | grep "not a valid libpq conninfo" &&
	expect_status 2 "$HOLD" lock postgres "$(params k1 "host=127.0.0.1 port=$PORT dbname=postgres user=gatepw password=$SECRET-x")" take 0 >bad2 2>&1 &&
	field bad2 take message | grep -F "password authentication failed for user \"gatepw\"" &&
	closed=$(free_port) &&
	expect_status 2 "$HOLD" lock postgres "$(params k1 "postgresql://gatepw:$SECRET@127.0.0.1:$closed/postgres")" probe >bad3 2>&1 &&
	field bad3 probe message | grep -F "127.0.0.1:$closed: connection refused" &&
	! grep -F "$SECRET" bad1 bad2 bad3
'

test_expect_success 'the right password: taken, and the password is nowhere' '
	"$HOLD" lock postgres "$(params k1 "host=127.0.0.1 port=$PORT dbname=postgres user=gatepw password=$SECRET")" take 0 >good 2>&1 &&
	test "$(field good take state)" = taken && ! grep -F "$SECRET" good
'

test_expect_success 'a port that accepts and never answers: an error within the deadline, not a hang' '
	t0=$(ms) &&
	expect_status 2 "$HOLD" lock postgres "$(params k1 "host=127.0.0.1 port=$BH dbname=postgres user=postgres connect_timeout=2")" take 0 >bh &&
	t1=$(ms) && field bh take message | grep -E "127.0.0.1:$BH: no answer within [0-9.]+s" &&
	test $((t1 - t0)) -ge 1900 && test $((t1 - t0)) -lt $((2000 + TEST_SLACK_MS))
'

test_expect_success 'a server-wide idle_session_timeout of 1s does not end the holding session' '
	pg_set primary idle_session_timeout 1s &&
	shown() { test "$(pg_psql primary "show idle_session_timeout")" = 1s; } &&
	wait_until 10 shown &&
	"$HOLD" lock postgres "$(params k4)" take 3 >idle &&
	test "$(field idle take state)" = taken && test "$(field idle release state)" = taken &&
	pg_reset primary idle_session_timeout
'

test_expect_success 'on a standby: take and probe are errors, and no lock is left on it' '
	pg_replica_start standby primary && pg_wait_streaming primary 1 &&
	SB="host=127.0.0.1 port=$(pg_port standby) dbname=postgres user=postgres connect_timeout=5" &&
	expect_status 2 "$HOLD" lock postgres "$(params k5 "$SB")" take 0 >sb1 &&
	test "$(field sb1 take state)" = error &&
	field sb1 take message | grep -E "^cannot take advisory lock .k5. on .*: the server is a standby" &&
	expect_status 2 "$HOLD" lock postgres "$(params k5 "$SB")" probe >sb2 &&
	field sb2 probe message | grep -E "^cannot probe advisory lock .k5. on .*: the server is a standby" &&
	test "$(pg_psql standby "select count(*) from pg_locks where locktype = '"'advisory'"'")" = 0 &&
	pg_stop standby
'

test_expect_success 'the server stopped while the lock is held: the keepalive reports it lost' '
	holder_start h "$HOLD" lock postgres "$(params k1)" take -1 &&
	wait_until 30 stepped h take && test "$(field h.out take state)" = taken &&
	t0=$(ms) && pg_stop primary &&
	wait_until $((10 + TEST_SLACK_MS / 1000)) stepped h keepalive && t1=$(ms) &&
	say "lost reported $((t1 - t0)) ms after the stop" &&
	field h.out keepalive message | grep -E "^advisory lock .k1. lost: its session ended" &&
	test "$(field h.out release state)" = error &&
	wait_until 10 holder_gone h &&
	_pg_start primary && is_free k1
'

test_done
