#!/bin/bash
# gate rehearse stopped mid-rehearsal, or a rehearsal cut at its deadline,
# leaves nothing behind: no scratch directory, no scratch server, no
# guardian, when gate has exited (gate is the rehearsals' child subreaper
# and waits for their orphans), and an `interrupted` record (or an error
# record for the deadline).
#
# The rehearsal here is the test type of tests/data/rehearse/rh_module.c
# in its hang mode, which does what a real one does: a scratch directory,
# a long-lived "server" in the check's process group, and a guardian in a
# session of its own that removes both when the check process is gone.
# Then the same with the real pgbackrest.restore against a real PostgreSQL
# 15 and pgBackRest 2.45 repository (tests/lib/pgbackrest.sh): SIGTERM
# while the scratch server runs a long probe.
. "$(dirname "$0")/lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
. "$GATE_SOURCE_DIR/tests/lib/pgbackrest.sh"
require_cmd cc pkg-config pgbackrest psql runuser pgrep
test_cleanup pg_stop_all
cd "$TEST_TMP" || exit 1

mkdir mod scratch
cc -std=c17 -shared -fPIC -I"$GATE_SOURCE_DIR" $(pkg-config --cflags jansson) \
	-o mod/rh.so "$GATE_SOURCE_DIR/tests/data/rehearse/rh_module.c" || exit 1
export GATE_MODULE_PATH=$TEST_TMP/mod
# whatever a failed test left running: gate rehearse, started inside a
# body (a cleanup registered there would be lost with its subshell), is
# stopped as systemd would and waited for; then what is still there
test_cleanup 'for p in $(cat scratch/pids 2>/dev/null); do kill -9 $p; done'
test_cleanup 'for p in $(cat gate.pids 2>/dev/null); do kill -TERM $p && wait_until 60 sh -c "! kill -0 $p"; done'

write_rb hang.yaml <<EOF
version: 1
name: nightly
audit: {file: $TEST_TMP/audit.jsonl}
checks:
  - id: slow
    type: rh.restore
    with:
      mode: hang
      stanza: demo
      scratch_dir: $TEST_TMP/scratch
      backup: {kind: pgbackrest, stanza: demo, repo: 1, label: 20261128-020000F}
EOF

# rehearse_bg DIR [OPTIONS]: gate rehearse in the background (pid in $GPID),
# once its rehearsal is under way (scratch/current: "DIR SERVER GUARDIAN")
rehearse_bg() {
	local dir=$1; shift
	rm -f scratch/current
	# (a background job of a script starts with SIGINT ignored: given back)
	/usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$GATE_BIN" rehearse -f json --state-dir "$dir" "$@" \
		hang.yaml >out.json 2>err.txt &
	GPID=$!
	echo "$GPID" >>gate.pids
	wait_until 30 test -s scratch/current || return 1
	read -r SDIR SERVER GUARD <scratch/current
	echo "$SERVER $GUARD" >>scratch/pids
	test -d "$SDIR" && kill -0 "$SERVER" && kill -0 "$GUARD"
}
# gone: nothing of the rehearsal is left, right now (no waiting: gate has exited)
gone() {
	test ! -e "$SDIR" && ! kill -0 "$SERVER" 2>/dev/null && ! kill -0 "$GUARD" 2>/dev/null &&
	test -z "$(ls scratch | grep -v -e current -e pids)"
}

for sig in TERM INT; do
	test_expect_success "SIG$sig mid-rehearsal: gate dies of it, leaves nothing, records interrupted" '
		rehearse_bg st-'$sig' &&
		kill -'$sig' $GPID &&
		rc=0 && wait $GPID || rc=$? &&
		test "$rc" = $((128 + $(kill -l '$sig'))) &&
		gone &&
		rec=$(ls st-'$sig'/*.json) && test "$(echo "$rec" | wc -l)" = 1 &&
		test "$(json_get "$rec" .outcome)" = interrupted &&
		test "$(json_get "$rec" .summary)" = "interrupted by SIG'$sig'" &&
		test "$(json_get out.json .checks[0].summary)" = "interrupted by SIG'$sig'" &&
		test "$(tail -n 1 audit.jsonl | /usr/bin/python3 -c "import json,sys; r=json.load(sys.stdin); print(r[\"mode\"], r[\"decision\"])")" = "rehearse block"
	'
done

test_expect_success 'a rehearsal cut at its deadline: an error record, nothing left when gate exits' '
	sed "s/    type: rh.restore/    type: rh.restore\n    timeout: 3s/" hang.yaml >t.yaml && chmod 644 t.yaml &&
	cp t.yaml hang.yaml &&
	rehearse_bg st-timeout &&
	rc=0 && wait $GPID || rc=$? &&
	test "$rc" = 75 &&
	gone &&
	rec=$(ls st-timeout/*.json) &&
	test "$(json_get "$rec" .outcome)" = error &&
	case "$(json_get "$rec" .summary)" in *"timed out"*|*timeout*) ;; *) false ;; esac
'

# The guardian's delay is the window for the signal: between the record
# and the kill the test polls and forks, which load can stretch.
GUARD_S=$(( (4000 + TEST_SLACK_MS) / 1000 ))
test_expect_success 'a stop signal while gate waits for a slow guardian: it still waits, then dies of it' '
	sed "s/      mode: hang/      mode: hang\n      guard_delay: ${GUARD_S}s/" t.yaml >hang.yaml && chmod 644 hang.yaml &&
	rehearse_bg st-slow &&
	wait_until 60 sh -c "ls st-slow/*.json" &&
	echo "record written; scratch $SDIR" && test -d "$SDIR" &&
	kill -TERM $GPID &&
	rc=0 && wait $GPID || rc=$? &&
	echo "exit status $rc" && test "$rc" = 143 &&
	gone &&
	test "$(json_get "$(ls st-slow/*.json)" .outcome)" = error
'

# ---- the real pgbackrest.restore ----

pg_primary_start primary || exit 1
pgbr_setup primary || { echo "pgbackrest setup failed"; exit 1; }
pgbr_backup full || exit 1
mkdir real && chmod 755 real
write_rb real.yaml <<EOF
version: 1
name: nightly-real
audit: {file: $TEST_TMP/audit.jsonl}
checks:
  - id: demo-restore
    type: pgbackrest.restore
    with:
      stanza: demo
      config: $PGBR_CONF
      scratch_dir: $TEST_TMP/real
      probes:
        - {name: long, sql: "select pg_sleep(600)"}
EOF
# the scratch server of a rehearsal under real/
scratch_server() { pgrep -f -- "-D $TEST_TMP/real/gate-rehearsal-"; }

test_expect_success 'SIGTERM while a real scratch server runs a probe: nothing left, interrupted record' '
	"$GATE_BIN" rehearse -f json --state-dir st-real real.yaml >out.json 2>err.txt &
	pid=$! && echo "$pid" >>gate.pids &&
	wait_until 120 scratch_server &&
	sdir=$(ls -d real/gate-rehearsal-*) &&
	kill -TERM $pid &&
	rc=0 && wait $pid || rc=$? &&
	test "$rc" = 143 &&
	test ! -e "$sdir" && test -z "$(ls real)" &&
	! scratch_server &&
	rec=$(ls st-real/*.json) &&
	test "$(json_get "$rec" .outcome)" = interrupted &&
	test "$(json_get "$rec" .type)" = pgbackrest.restore
'

test_done
