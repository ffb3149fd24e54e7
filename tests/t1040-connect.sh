#!/bin/bash
# How the postgres checks connect: a closed port (refused), a listener that
# accepts and never answers and one whose backlog is full (both errors within
# the check's timeout, never a hang), a wrong password over SCRAM (an error
# that never echoes the password, in the report, stderr, text output and the
# audit file), and passwords from libpq's own sources (PGPASSFILE,
# PGPASSWORD, a service file), URIs and service= names.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/report.sh"
. "$(dirname "$0")/lib/pg.sh"
require_cmd ss psql runuser
T=$TEST_TMP
PY=/usr/bin/python3
SERVERS="$GATE_SOURCE_DIR/tests/servers"

test_cleanup pg_stop_all
pg_primary_start primary "password_encryption = 'scram-sha-256'" ||
	{ echo "# could not start the primary"; echo "0 passed, 1 failed"; exit 1; }
PORT=$(pg_port primary)
# gatepw must use SCRAM; every other role keeps trust (first match wins).
pg_psql primary "create role gatepw login password 'Right-Pass-42'" &&
	{ echo "host all gatepw 127.0.0.1/32 scram-sha-256"; cat "$T/pg/primary/pg_hba.conf"; } >"$T/hba" &&
	cat "$T/hba" >"$T/pg/primary/pg_hba.conf" && pg_psql primary "select pg_reload_conf()" >/dev/null

listening() { ss -Hltn "sport = :$1" | grep -q .; }
AP=$(free_port)
$PY "$SERVERS/blackhole.py" "$AP" accept >/dev/null 2>&1 &
test_cleanup "kill $!"
NP=$(free_port)
$PY "$SERVERS/blackhole.py" "$NP" noaccept >/dev/null 2>&1 &
test_cleanup "kill $!"
wait_until 10 listening "$AP" && wait_until 10 listening "$NP" || echo "# blackholes did not start"
CLOSED=$(free_port)

runbook() { { printf 'version: 1\nname: %s\naudit: {file: %s/audit.jsonl}\nchecks:\n' "$1" "$T"; cat; } >"$T/$1.yaml"; }
# conn NAME TIMEOUT CONNINFO: one postgres.replication check "c" (no
# replicas needed: min_streaming 0) with that conninfo
conn() {
	printf '  - id: c\n    type: postgres.replication\n    timeout: %s\n    with:\n      conninfo: "%s"\n      min_streaming: 0\n' \
		"$2" "$3" | runbook "$1"
}
ms() { test_now_ms; }
q_is() { test "$(pg_psql "$1" "$2")" = "$3"; }
no_secret() { # no_secret SECRET FILES...: the secret appears in none of them (all exist)
	local s=$1 f; shift
	for f in "$@"; do test -e "$f" || { echo "missing $f"; return 1; }; done
	! grep -F -- "$s" "$@"
}

test_expect_success 'trust: the primary passes (the fixture works), and is audited' '
	conn ok 5s "host=127.0.0.1 port=$PORT dbname=postgres user=postgres" &&
	check ok && rc_is ok 0 && test "$(st ok c)" = pass &&
	test -s "$T/audit.jsonl"
'

test_expect_success 'a closed port: error "connection refused", at once (not at the 30s timeout)' '
	conn refused 30s "host=127.0.0.1 port=$CLOSED dbname=postgres user=postgres" &&
	t0=$(ms) && check refused && t1=$(ms) &&
	rc_is refused 75 && test "$(st refused c)" = error &&
	test "$(summary refused c)" = "127.0.0.1:$CLOSED: connection refused" &&
	test $((t1 - t0)) -lt $((1000 + TEST_SLACK_MS))
'

test_expect_success 'a port that accepts and never answers: error within the 3s timeout, not a hang' '
	conn bh 3s "host=127.0.0.1 port=$AP dbname=postgres user=postgres" &&
	t0=$(ms) && check bh && t1=$(ms) &&
	rc_is bh 75 && test "$(st bh c)" = error &&
	summary bh c | grep -E "^127.0.0.1:$AP: no answer within 2\.[0-9]s$" &&
	test $((t1 - t0)) -ge 2000 && test $((t1 - t0)) -lt $((3000 + TEST_SLACK_MS))
'

# The postgres family's checks that start together share one child, a
# thread each (module ABI 1.2): a check that hangs there costs only itself;
# the others' results, and its own message, are theirs (gate/runner_host.c;
# tests/unit/test_runner_host.c shows that they share it).
test_expect_success 'checks sharing a child: one that never gets an answer times out alone, the others pass' '
	{
		printf "  - id: hung\n    type: postgres.replication\n    timeout: 3s\n    with:\n      conninfo: \"host=127.0.0.1 port=%s dbname=postgres user=postgres\"\n      min_streaming: 0\n" "$AP"
		printf "  - id: fine\n    type: postgres.replication\n    with:\n      conninfo: \"host=127.0.0.1 port=%s dbname=postgres user=postgres\"\n      min_streaming: 0\n" "$PORT"
		printf "  - id: refused\n    type: postgres.archiver\n    with:\n      conninfo: \"host=127.0.0.1 port=%s dbname=postgres user=postgres\"\n" "$CLOSED"
	} | runbook shared &&
	check shared && rc_is shared 75 &&
	test "$(st shared fine)" = pass &&
	test "$(st shared hung)" = error &&
	summary shared hung | grep -E "^127.0.0.1:$AP: no answer within 2\.[0-9]s$" &&
	test "$(summary shared refused)" = "127.0.0.1:$CLOSED: connection refused"
'

test_expect_success 'a port whose backlog is full (SYNs dropped): error "could not connect within"' '
	conn syn 2s "host=127.0.0.1 port=$NP dbname=postgres user=postgres" &&
	t0=$(ms) && check syn && t1=$(ms) &&
	rc_is syn 75 && test "$(st syn c)" = error &&
	summary syn c | grep -E "^127.0.0.1:$NP: (could not connect|no answer) within 1\.[0-9]s$" &&
	test $((t1 - t0)) -lt $((2000 + TEST_SLACK_MS))
'

test_expect_success 'a hung PostgreSQL (postmaster stopped with SIGSTOP): error within the timeout' '
	pm=$(pg_pid primary) && test -n "$pm" &&
	test_cleanup "kill -CONT $pm" &&
	conn hung 2s "host=127.0.0.1 port=$PORT dbname=postgres user=postgres" &&
	kill -STOP "$pm" &&
	t0=$(ms) && check hung; t1=$(ms); kill -CONT "$pm";
	rc_is hung 75 && test "$(st hung c)" = error &&
	summary hung c | grep -E "^127.0.0.1:$PORT: no answer within 1\.[0-9]s$" &&
	test $((t1 - t0)) -lt $((2000 + TEST_SLACK_MS))
'

test_expect_success 'a query that never returns (its view locked by another session): error within the timeout' '
	(psql -XAtq -h 127.0.0.1 -p "$PORT" -U postgres -d postgres \
		-c "begin; lock table pg_stat_archiver in access exclusive mode; select pg_sleep(60); commit" >/dev/null 2>&1 &) &&
	wait_until 5 q_is primary "select count(*) from pg_locks where relation = '"'"'pg_stat_archiver'"'"'::regclass and granted" 1 &&
	printf "  - id: c\n    type: postgres.archiver\n    timeout: 2s\n    with:\n      conninfo: \"host=127.0.0.1 port=%s dbname=postgres user=postgres\"\n" "$PORT" |
		runbook locked &&
	t0=$(ms) && check locked && t1=$(ms)
	pg_psql primary "select pg_terminate_backend(pid) from pg_locks where relation = '"'"'pg_stat_archiver'"'"'::regclass and granted and pid <> pg_backend_pid()" >/dev/null &&
	rc_is locked 75 && test "$(st locked c)" = error &&
	summary locked c | grep -E "^127.0.0.1:$PORT: no answer to a query within 1\.[0-9]s$" &&
	test $((t1 - t0)) -lt $((2000 + TEST_SLACK_MS))
'

test_expect_success 'connect_timeout in the conninfo is honoured when shorter than the check timeout' '
	conn ct 20s "host=127.0.0.1 port=$AP dbname=postgres user=postgres connect_timeout=2" &&
	t0=$(ms) && check ct && t1=$(ms) &&
	rc_is ct 75 && summary ct c | grep -E "no answer within 2\.[0-9]s$" &&
	test $((t1 - t0)) -lt $((2000 + TEST_SLACK_MS))
'

test_expect_success 'a wrong password: authentication error, and the password is in no output' '
	conn badpw 5s "host=127.0.0.1 port=$PORT dbname=postgres user=gatepw password=Wrong-Pass-99" &&
	check badpw && rc_is badpw 75 && test "$(st badpw c)" = error &&
	test "$(summary badpw c)" = "127.0.0.1:$PORT: password authentication failed for user \"gatepw\"" &&
	expect_status 75 gate check "$T/badpw.yaml" >"$T/badpw.txt" 2>&1 &&
	grep -F "password authentication failed" "$T/badpw.txt" &&
	expect_status 75 gate check --format junit "$T/badpw.yaml" >"$T/badpw.xml" 2>&1 &&
	no_secret Wrong-Pass-99 "$T/badpw.json" "$T/badpw.err" "$T/badpw.txt" "$T/badpw.xml" "$T/audit.jsonl"
'

test_expect_success 'a wrong password in a URI: the same error, not echoed either' '
	conn uri 5s "postgresql://gatepw:Wrong-Pass-99@127.0.0.1:$PORT/postgres?application_name=gate-t1040" &&
	check uri && rc_is uri 75 && test "$(st uri c)" = error &&
	summary uri c | grep -F "password authentication failed for user \"gatepw\"" &&
	no_secret Wrong-Pass-99 "$T/uri.json" "$T/uri.err" "$T/audit.jsonl"
'

test_expect_success 'no password from anywhere: an error, not a pass' '
	conn nopw 5s "host=127.0.0.1 port=$PORT dbname=postgres user=gatepw" &&
	PGPASSFILE=/nonexistent check nopw && rc_is nopw 75 && test "$(st nopw c)" = error &&
	summary nopw c | grep -F "no password supplied"
'

test_expect_success 'the right password from PGPASSFILE (libpq own source): pass, and not shown' '
	echo "127.0.0.1:$PORT:*:gatepw:Right-Pass-42" >"$T/pgpass" && chmod 600 "$T/pgpass" &&
	conn pgpass 5s "host=127.0.0.1 port=$PORT dbname=postgres user=gatepw" &&
	PGPASSFILE="$T/pgpass" check pgpass && rc_is pgpass 0 && test "$(st pgpass c)" = pass &&
	no_secret Right-Pass-42 "$T/pgpass.json" "$T/pgpass.err" "$T/audit.jsonl"
'

test_expect_success 'PGPASSWORD from the environment: pass' '
	conn envpw 5s "host=127.0.0.1 port=$PORT dbname=postgres user=gatepw" &&
	PGPASSFILE=/nonexistent PGPASSWORD=Right-Pass-42 check envpw && rc_is envpw 0 &&
	no_secret Right-Pass-42 "$T/envpw.json" "$T/audit.jsonl"
'

test_expect_success 'service=NAME from a service file, with its password: pass' '
	printf "[gatesvc]\nhost=127.0.0.1\nport=%s\ndbname=postgres\nuser=gatepw\npassword=Right-Pass-42\n" "$PORT" >"$T/pg_service.conf" &&
	conn svc 5s "service=gatesvc" &&
	PGSERVICEFILE="$T/pg_service.conf" check svc && rc_is svc 0 && test "$(st svc c)" = pass &&
	no_secret Right-Pass-42 "$T/svc.json" "$T/svc.err" "$T/audit.jsonl" &&
	conn nosvc 5s "service=nosuchsvc" &&
	PGSERVICEFILE="$T/pg_service.conf" check nosvc && rc_is nosvc 75 && test "$(st nosvc c)" = error &&
	summary nosvc c | grep -F "definition of service \"nosuchsvc\" not found"
'

test_expect_success 'a right password in the conninfo passes; the report shows no password' '
	conn inline 5s "host=127.0.0.1 port=$PORT dbname=postgres user=gatepw password=Right-Pass-42" &&
	check inline && rc_is inline 0 &&
	no_secret Right-Pass-42 "$T/inline.json" "$T/inline.err" "$T/audit.jsonl"
'

# The session's set-up rides on the first query's message (one round
# trip); its transaction must be read-only as well, not only the later
# ones (default_transaction_read_only does not reach a transaction that
# has already begun).
PGFACTS=$GATE_TOOLS_DIR/gate-pgfacts
test_expect_success 'the first message is read-only too: a write in it or after it is refused' '
	ci="host=127.0.0.1 port=$PORT dbname=postgres user=postgres" &&
	"$PGFACTS" sql "$ci" "SELECT 1; SELECT 2" 2 >"$T/ro2.out" && grep -Fx "2 results" "$T/ro2.out" &&
	{ "$PGFACTS" sql "$ci" "CREATE TABLE gate_ro_probe(x int)" 1 >"$T/ro.out"; test $? = 2; } &&
	grep -F "read-only transaction" "$T/ro.out" &&
	{ "$PGFACTS" sql "$ci" "SELECT 1; CREATE TABLE gate_ro_probe(x int)" 2 >"$T/ro1.out"; test $? = 2; } &&
	grep -Fx "1 results" "$T/ro1.out" && grep -F "read-only transaction" "$T/ro1.out" &&
	test "$(pg_psql primary "select count(*) from pg_tables where tablename = '"'"'gate_ro_probe'"'"'")" = 0
'

test_expect_success 'lint: a malformed conninfo is rejected (78) without quoting any part of it' '
	conn bad 5s "host=127.0.0.1 password=Half Secret-Tail" &&
	expect_status 78 gate lint "$T/bad.yaml" 2>"$T/bad.err" &&
	grep -F "not a valid libpq conninfo" "$T/bad.err" &&
	no_secret Secret-Tail "$T/bad.err" && no_secret Half "$T/bad.err" &&
	conn baduri 5s "postgresql://u:pw@127.0.0.1:$PORT/postgres?nosuchoption=1" &&
	expect_status 78 gate lint "$T/baduri.yaml" 2>"$T/baduri.err" &&
	grep -F "invalid URI query parameter" "$T/baduri.err"
'

test_done
