#!/bin/bash
# pgbackrest.restore against a real PostgreSQL 15 primary archiving into a
# real pgBackRest 2.45 repository (tests/lib/pgbackrest.sh), driven
# through `gate check --format json` with YAML runbooks.  A good backup
# passes with its probes' values in details; real faults fail: the
# backup's stop WAL segment moved out of the repository ("did not reach a
# consistent state", while `pgbackrest verify` still says ok), a backup
# taken after a table was dropped (its row-count probe fails, named);
# a scratch filesystem too small (a tmpfs mounted in the test's own mount
# namespace) is an error.  After every run no scratch directory and no
# scratch server is left, also when the check is killed at its deadline;
# the copy never had a TCP listener; and the rehearsal neither touched
# the repository nor made the primary archive anything.
. "$(dirname "$0")/lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
. "$GATE_SOURCE_DIR/tests/lib/pgbackrest.sh"
require_cmd pgbackrest psql runuser unshare pgrep
test_cleanup pg_stop_all
cd "$TEST_TMP" || exit 1

RB_NAME=t3100 RB_TYPE=pgbackrest.restore RB_TIMEOUT=300s
. "$GATE_SOURCE_DIR/tests/lib/onecheck.sh"

SCR=$TEST_TMP/scr
mkdir -p "$SCR" && chmod 755 "$SCR"

t0=$(date +%s)
pg_primary_start primary || exit 1
runuser -u postgres -- "$PGBIN/pgbench" -h 127.0.0.1 -p "$(pg_port primary)" -U postgres -i -s 3 -q postgres >/dev/null 2>&1
pgbr_setup primary || { echo "pgbackrest setup failed"; tail -n 20 "$PG_ROOT/log/primary.log"; exit 1; }
pgbr_backup full || exit 1
FULL=$(pgbr_last_label)
say "fixture ready in $(( $(date +%s) - t0 ))s: full backup $FULL"

# with_lines [EXTRA...]: the check's with: lines (stanza, config,
# scratch_dir, the probes), then EXTRA lines
with_lines() {
	cat <<-EOF
	stanza: demo
	config: $PGBR_CONF
	scratch_dir: $SCR
	probes:
	  - {name: accounts, sql: "select count(*) from pgbench_accounts", min: 300000}
	  - {name: promoted, sql: "select not pg_is_in_recovery()", equals: true}
	  - {name: socket only, sql: "select current_setting('listen_addresses') = '' and inet_server_addr() is null", equals: true}
	  - {name: no archiving, sql: "select current_setting('archive_mode')", equals: "off"}
	EOF
	local l; for l in "$@"; do echo "$l"; done
}
with_lines | write_rb ok.yaml

# nothing_left: no scratch directory and no process of a scratch server
nothing_left() {
	[ -z "$(ls -A "$SCR")" ] && ! pgrep -f -- "-D $SCR/" >/dev/null
}
# the repository as a list of files with their sizes and times
repo_state() { find "$PGBR_DIR" -printf '%p %s %T@ %u\n' | sort; }
archiver() { pg_psql primary "select archived_count, last_archived_wal, failed_count from pg_stat_archiver"; }
rehearsal() { detail ".rehearsal$1"; }

test_expect_success 'a good backup restores: pass, the probes and their values in details' '
	repo_state >repo.before && archiver >arch.before &&
	run_check ok.yaml 0 &&
	expect pass "backup $FULL restored in * s; 4 probes passed" &&
	rehearsal .phases_ms &&
	test "$(rehearsal .backup.kind)" = pgbackrest &&
	test "$(rehearsal .backup.label)" = "$FULL" &&
	test "$(rehearsal .backup.stanza)" = demo &&
	test "$(rehearsal .backup.type)" = full &&
	test "$(rehearsal .backup.repo)" = 1 &&
	test "$(rehearsal .probes[0].name)" = accounts &&
	test "$(rehearsal .probes[0].value)" = 300000 &&
	test "$(rehearsal .probes[0].ok)" = true &&
	test "$(rehearsal .probes[0].expect)" = "{\"min\": 300000}" &&
	test "$(rehearsal .probes[2].value)" = true &&
	test "$(rehearsal .probes[3].value)" = off &&
	for p in restore start consistent promote probes stop cleanup; do
		test "$(rehearsal .phases_ms.$p)" -ge 0 || exit 1
	done &&
	case "$(rehearsal .scratch_dir)" in "$SCR"/gate-rehearsal-??????) ;; *) false ;; esac &&
	nothing_left
'

test_expect_success 'the rehearsal changed nothing in the repository and archived nothing' '
	repo_state >repo.after && test_cmp repo.before repo.after &&
	archiver >arch.after && test_cmp arch.before arch.after &&
	test -z "$(find "$PGBR_REPO" -name "00000002*")"
'

test_expect_success 'the backup stop WAL segment moved out: fails, not consistent; verify still ok' '
	seg=$(pgbr_backup_field "$FULL" archive stop) &&
	f=$(pgbr_wal_file "$seg") &&
	mv "$f" "$TEST_TMP/saved-wal" &&
	pgbr --output=text --verbose verify >verify.out 2>&1; rc=$?
	run_check ok.yaml; rc2=$?; mv "$TEST_TMP/saved-wal" "$f" &&
	test $rc = 0 && test $rc2 = 0 &&
	grep -q "status: ok" verify.out &&
	expect fail "backup $FULL did not reach a consistent state: FATAL: recovery ended before configured recovery target was reached" &&
	test "$(rehearsal .backup.label)" = "$FULL" &&
	test "$(rehearsal .phases_ms.promote)" = null &&
	test "$(json_get out.json .decision)" = block &&
	nothing_left
'

test_expect_success 'the segment back: passes again' '
	run_check ok.yaml 0 && expect pass "backup $FULL restored in *" && nothing_left
'

test_expect_success 'a backup taken after the table was dropped: its row-count probe fails, named' '
	pg_psql primary "drop table pgbench_accounts" &&
	pgbr_backup full && DROPPED=$(pgbr_last_label) && test "$DROPPED" != "$FULL" &&
	run_check ok.yaml &&
	expect fail "probe '"'"'accounts'"'"' (select count(*) from pgbench_accounts): relation \"pgbench_accounts\" does not exist" &&
	test "$(rehearsal .backup.label)" = "$DROPPED" &&
	test "$(rehearsal .probes[0].ok)" = false &&
	test "$(rehearsal .probes[1].ok)" = true &&
	nothing_left
'

test_expect_success 'set names the older backup: it still passes' '
	with_lines "set: $FULL" | write_rb set.yaml &&
	run_check set.yaml 0 && expect pass "backup $FULL restored in *" && nothing_left
'

test_expect_success 'set names no backup of the stanza: fails' '
	with_lines "set: 20200101-000000F" | write_rb noset.yaml &&
	run_check noset.yaml && expect fail "stanza demo: no backup 20200101-000000F" &&
	test "$(rehearsal .backup)" = null
'

test_expect_success 'a scratch filesystem too small (tmpfs in our own mount namespace): error' '
	mkdir -p small && chmod 755 small &&
	with_lines | sed "s|^scratch_dir: .*|scratch_dir: $TEST_TMP/small|" | write_rb small.yaml &&
	unshare -m --propagation private sh -c "mount -t tmpfs -o size=8m,mode=755 gate-t3100 \"$TEST_TMP/small\" &&
		\"$GATE_BIN\" check --format json small.yaml >out.json 2>err.txt; echo \$? >rc; ls -A \"$TEST_TMP/small\" >small.ls" &&
	test "$(cat rc)" = 75 && test ! -s small.ls &&
	expect error "scratch filesystem $TEST_TMP/small has 8.00 MiB free; the restore needs * plus 64.0 MiB" &&
	test "$(rehearsal .backup.label)" = "$(pgbr_last_label)"
'

test_expect_success 'no such user: error before anything is made' '
	with_lines "user: no-such-user-gate" | write_rb nouser.yaml &&
	run_check nouser.yaml && expect error "user no-such-user-gate: no such user" && nothing_left
'

test_expect_success 'killed at its deadline (timeout shorter than the restore): nothing is left' '
	with_lines "set: $FULL" | RB_TIMEOUT=1s write_rb short.yaml &&
	run_check short.yaml && test "$(status)" = error && summary &&
	wait_until 60 nothing_left
'

test_expect_success 'invalid probes are refused when the runbook is loaded' '
	with_lines "  - {sql: select 1, minimum: 3}" | write_rb badprobe.yaml &&
	expect_status 78 gate check badprobe.yaml 2>err.txt &&
	grep -q "probe 5: unknown key .minimum." err.txt
'

test_done
