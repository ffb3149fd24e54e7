#!/bin/bash
# basebackup.restore against real pg_basebackup directories (PostgreSQL
# 15, plain format, -X stream) of a real primary initialised without data
# checksums, driven by `gate check --format json`: the newest complete
# backup is copied into a scratch directory, started there (crash recovery
# from its backup_label), probed, stopped and removed.  Real faults: the
# backup's WAL removed from its pg_wal (the copy cannot reach a consistent
# state), and a heap page of the table corrupted on the primary's disk
# before the backup was taken (pg_verifybackup passes; only the probe
# finds it).  After each rehearsal no scratch directory and no scratch
# server is left.
. "$(dirname "$0")/lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
require_cmd psql runuser pgrep sha256sum
test_cleanup pg_stop_all
cd "$TEST_TMP" || exit 1

RB_NAME=t3110 RB_TYPE=basebackup.restore RB_TIMEOUT=180s
. "$GATE_SOURCE_DIR/tests/lib/onecheck.sh"
basebackup() {
	(cd "$TEST_TMP" && runuser -u postgres -- "$PGBIN/pg_basebackup" -h 127.0.0.1 \
		-p "$(pg_port primary)" -U postgres -D "$1" -X stream -c fast)
}
# nothing_left: the scratch directory is empty and no process runs on it
nothing_left() {
	test -z "$(ls -A scratch)" &&
	! pgrep -f "$TEST_TMP/scratch/" >/dev/null
}

pg_primary_start primary || exit 1
pg_psql primary "create table t(id int primary key, note text);
	insert into t select g, repeat('n', 40) || g from generate_series(1, 20000) g;
	checkpoint" || exit 1
NOTES=$(pg_psql primary "select sum(length(note)) from t")
mkdir -p bb scratch && chown postgres:postgres bb scratch
basebackup "$TEST_TMP/bb/base1" || exit 1

# rb FILE PATH: a rehearsal of the backups at PATH with the two probes
rb() {
	write_rb "$1" <<-EOF
	path: $2
	scratch_dir: $TEST_TMP/scratch
	probes:
	  - {name: rows, sql: "select count(*) from t", equals: 20000}
	  - {name: notes, sql: "select sum(length(note)) from t", equals: $NOTES}
	EOF
}

test_expect_success 'a good base backup restores and passes its probes' '
	rb ok.yaml "$TEST_TMP/bb/base*" &&
	run_check ok.yaml 0 &&
	expect pass "backup $TEST_TMP/bb/base1 restored in * s; 2 probes passed" &&
	test "$(detail .rehearsal.backup.kind)" = basebackup &&
	test "$(detail .rehearsal.backup.path)" = "$TEST_TMP/bb/base1" &&
	grep -qx "START TIME: $(detail .rehearsal.backup.start_time)" bb/base1/backup_label &&
	test "$(detail .rehearsal.backup.manifest_checksum)" = \
		"$(sed "\$d" bb/base1/backup_manifest | sha256sum | cut -c1-64)" &&
	test "$(detail .rehearsal.probes[0].value)" = 20000 &&
	test "$(detail .rehearsal.probes[1].value)" = "$NOTES" &&
	test "$(detail .rehearsal.probes[1].ok)" = true &&
	case "$(detail .rehearsal.scratch_dir)" in "$TEST_TMP/scratch/gate-rehearsal-"*) ;; *) false ;; esac &&
	test "$(detail .rehearsal.phases_ms.restore)" -ge 0 &&
	nothing_left
'

test_expect_success 'the backup is left as it was (the copy ran, not the backup)' '
	test ! -e bb/base1/backup_label.old &&
	test ! -e bb/base1/postmaster.pid &&
	runuser -u postgres -- "$PGBIN/pg_verifybackup" -q bb/base1
'

test_expect_success 'a probe that misses its expectation fails, naming it' '
	write_rb miss.yaml <<-EOF &&
	path: $TEST_TMP/bb/base1
	scratch_dir: $TEST_TMP/scratch
	probes:
	  - {name: rows, sql: "select count(*) from t", min: 1000000}
	EOF
	run_check miss.yaml &&
	expect fail "probe '\''rows'\'' (select count(*) from t): 20000 is below min 1000000*" &&
	test "$(detail .rehearsal.backup.path)" = "$TEST_TMP/bb/base1" &&
	nothing_left
'

test_expect_success 'WAL removed from the backup: did not reach a consistent state' '
	cp -a bb/base1 bb/nowal && rm bb/nowal/pg_wal/0000* &&
	rb nowal.yaml "$TEST_TMP/bb/nowal" &&
	run_check nowal.yaml &&
	expect fail "backup $TEST_TMP/bb/nowal did not reach a consistent state: *FATAL*" &&
	test "$(detail .rehearsal.backup.path)" = "$TEST_TMP/bb/nowal" &&
	nothing_left
'

test_expect_success 'a backup whose postgresql.conf names the live data directory: the live one is not started' '
	conf=$(pg_datadir primary)/postgresql.conf &&
	echo "data_directory = '\''$(pg_datadir primary)'\''" >> "$conf" &&
	basebackup "$TEST_TMP/bb/livedir" &&
	sed -i "\$d" "$conf" &&
	grep -q "^data_directory" bb/livedir/postgresql.conf &&
	pg_stop primary &&
	cp "$(pg_datadir primary)/postmaster.opts" opts.before &&
	rb livedir.yaml "$TEST_TMP/bb/livedir" &&
	run_check livedir.yaml 0; rc=$?
	cmp -s opts.before "$(pg_datadir primary)/postmaster.opts"; same=$?
	_pg_start primary && rm -rf bb/livedir && test $rc = 0 && test $same = 0 &&
	expect pass "backup $TEST_TMP/bb/livedir restored in *; 2 probes passed" &&
	nothing_left
'

test_expect_success 'the WAL in wal_path: the same backup restores' '
	mkdir -p wal && cp -a bb/base1/pg_wal/0000* wal/ &&
	rb walpath.yaml "$TEST_TMP/bb/nowal" &&
	printf "      wal_path: %s\n" "$TEST_TMP/wal" >> walpath.yaml &&
	run_check walpath.yaml 0 &&
	expect pass "backup $TEST_TMP/bb/nowal restored in *; 2 probes passed" &&
	nothing_left && rm -rf bb/nowal
'

# flip_page FILE BLOCK: 64 bytes of the tuple area at the end of a heap
# page overwritten (its last tuple: header and data), as a bad disk would
test_expect_success 'a heap page corrupted on disk without data checksums: verify passes, the probe fails' '
	REL=$(pg_psql primary "select pg_relation_filepath('\''t'\'')") &&
	test "$(pg_psql primary "show data_checksums")" = off &&
	pg_stop primary &&
	/usr/bin/python3 -c "import sys;f=open(sys.argv[1],\"r+b\");f.seek(8192*3+8192-64);f.write(b\"\\xff\"*64)" "$(pg_datadir primary)/$REL" &&
	_pg_start primary &&
	basebackup "$TEST_TMP/bb/corrupt" &&
	runuser -u postgres -- "$PGBIN/pg_verifybackup" -q bb/corrupt &&
	rb corrupt.yaml "$TEST_TMP/bb/corrupt" &&
	run_check corrupt.yaml &&
	expect fail "probe '\''*'\'' (select *from t): *" &&
	test "$(detail .rehearsal.backup.path)" = "$TEST_TMP/bb/corrupt" &&
	nothing_left
'

test_expect_success 'no complete backup: fail, nothing made' '
	mkdir -p bb/empty-x && chown postgres bb/empty-x &&
	rb none.yaml "$TEST_TMP/bb/empty-*" &&
	run_check none.yaml &&
	expect fail "no complete base backup under $TEST_TMP/bb/empty-* (1 directory)" &&
	test "$(detail .rehearsal.backup)" = null &&
	nothing_left
'

test_expect_success 'gate lint refuses a malformed probe and a relative scratch_dir' '
	write_rb bad.yaml <<-EOF &&
	path: $TEST_TMP/bb/base1
	probes: [{name: x}]
	EOF
	expect_status 78 gate lint bad.yaml 2>err &&
	grep -q probes err &&
	write_rb bad2.yaml <<-EOF &&
	path: $TEST_TMP/bb/base1
	scratch_dir: scratch
	EOF
	expect_status 78 gate lint bad2.yaml 2>err &&
	grep -q "scratch_dir.*absolute" err
'

test_done
