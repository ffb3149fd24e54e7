#!/usr/bin/env bash
# The postgres advisory lock through the real gate: two `gate run`s at
# once on one key of one real PostgreSQL 15 (exactly one command runs, the
# other is blocked, 75, with the holder's text read from the holding
# session's application_name); the dry run names the holder and blocks;
# a holder killed with SIGKILL frees the lock at once (the server ends its
# session), so the next run takes it; the password of the conninfo is in
# no output.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/pg.sh"
require_cmd psql runuser python3
T=$TEST_TMP
SECRET=Sekrit-Pass-42

test_cleanup pg_stop_all
test_cleanup "touch $T/go"
pg_primary_start primary "password_encryption = 'scram-sha-256'" ||
	{ echo "# could not start the server"; echo "0 passed, 1 failed"; exit 1; }
PORT=$(pg_port primary)
pg_psql primary "create role gatepw login password '$SECRET'" >/dev/null &&
	{ echo "host all gatepw 127.0.0.1/32 scram-sha-256"; cat "$T/pg/primary/pg_hba.conf"; } >"$T/hba" &&
	cat "$T/hba" >"$T/pg/primary/pg_hba.conf" && pg_psql primary "select pg_reload_conf()" >/dev/null

cd "$T" || exit 1
mkdir -m 700 state
export GATE_STATE_DIR=$T/state
write_rb pl.yaml <<EOF
version: 1
name: pl
checks:
  - id: ok
    type: exec
    with: {command: ["true"], protocol: exit}
lock:
  - postgres: "host=127.0.0.1 port=$PORT dbname=postgres user=gatepw password=$SECRET connect_timeout=10"
    key: cluster-main
EOF

cat >hold.sh <<'EOF'
echo "$1" >>ran
echo $$ >"started.$1"
while [ ! -f go ] && [ -f hold.sh ]; do sleep 0.05; done
EOF

test_expect_success 'two gate runs at once on one advisory lock: exactly one command runs, the other is blocked (75) naming the holder' '
	rm -f ran go started.*
	"$GATE_BIN" run -q pl.yaml -- sh hold.sh A >out.A 2>&1 &
	a=$!
	"$GATE_BIN" run -q pl.yaml -- sh hold.sh B >out.B 2>&1 &
	b=$!
	wait_until 30 sh -c "ls started.* && test \$(grep -l \"maintenance in progress\" out.A out.B | wc -l) = 1" &&
	touch go &&
	ra=0 && wait $a || ra=$? &&
	rb=0 && wait $b || rb=$? &&
	test "$(wc -l <ran)" = 1 &&
	if [ "$(cat ran)" = A ]; then winner=$a loser=B s_win=$ra s_lose=$rb; else winner=$b loser=A s_win=$rb s_lose=$ra; fi &&
	test $s_win = 0 && test $s_lose = 75 &&
	test_grep -E "maintenance in progress: pl by [^ ]+@[^ ]+ pid $winner since " out.$loser &&
	test_grep "key cluster-main" out.$loser &&
	! grep -r "$SECRET" out.A out.B
'

test_expect_success 'gate check while held: the holder is named, BLOCKED (75); nothing taken' '
	rm -f ran go started.*
	"$GATE_BIN" run -q pl.yaml -- sh hold.sh A >/dev/null 2>&1 &
	a=$!
	wait_until 30 test -f started.A &&
	expect_status 75 "$GATE_BIN" check pl.yaml >check.out 2>&1 &&
	test_grep -E "pl by [^ ]+@[^ ]+ pid $a since " check.out &&
	n=$(pg_psql primary "select count(*) from pg_locks where locktype = '"'"'advisory'"'"' and granted") &&
	test "$n" = 1 &&
	touch go && wait $a &&
	expect_status 0 "$GATE_BIN" check -q pl.yaml &&
	! grep "$SECRET" check.out
'

test_expect_success 'the holder killed with SIGKILL: the server ends its session, the next run takes the lock' '
	rm -f ran go started.*
	"$GATE_BIN" run -q pl.yaml -- sh hold.sh A >/dev/null 2>&1 &
	a=$!
	wait_until 30 test -f started.A &&
	kill -KILL $a &&
	free() { "$GATE_BIN" check pl.yaml >free.out 2>&1; } &&
	{ wait_until 30 free || { cat free.out; false; }; } &&
	touch go &&
	expect_status 0 "$GATE_BIN" run -q pl.yaml -- sh -c "echo B >>ran" &&
	test "$(tail -n 1 ran)" = B
'

test_done
