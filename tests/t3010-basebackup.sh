#!/bin/bash
# backup.basebackup against real pg_basebackup directories (PostgreSQL 15,
# plain format, backup_manifest) and the real pg_verifybackup, driven by
# `gate check --format json`.  Real faults: a flipped byte in a data file,
# a removed file, an extra file, a directory left by a pg_basebackup killed
# mid-copy, one with only backup_manifest.tmp, WAL missing from pg_wal, an
# old backup, one dated in the future.
. "$(dirname "$0")/lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
require_cmd psql runuser
test_cleanup pg_stop_all
cd "$TEST_TMP" || exit 1

RB_NAME=t3010 RB_TYPE=backup.basebackup
. "$GATE_SOURCE_DIR/tests/lib/onecheck.sh"
# basebackup DIR [options]: a real pg_basebackup as postgres
basebackup() {
	local dir=$1; shift
	(cd "$TEST_TMP" && runuser -u postgres -- "$PGBIN/pg_basebackup" -h 127.0.0.1 \
		-p "$(pg_port primary)" -U postgres -D "$dir" -X stream -c fast "$@")
}

pg_primary_start primary || exit 1
runuser -u postgres -- "$PGBIN/pgbench" -h 127.0.0.1 -p "$(pg_port primary)" -U postgres -i -s 2 -q postgres >/dev/null 2>&1
mkdir -p bb && chown postgres:postgres bb
basebackup "$TEST_TMP/bb/base1" || exit 1
REL=$(pg_psql primary "select pg_relation_filepath('pgbench_accounts')")

write_rb ok.yaml <<EOF
path: $TEST_TMP/bb/base*
EOF

test_expect_success 'intact backup: pass, naming what it judged' '
	run_check ok.yaml 0 &&
	expect pass "$TEST_TMP/bb/base1: started *Z, *s old, * MiB, pg_verifybackup: backup successfully verified" &&
	test "$(detail .path)" = "$TEST_TMP/bb/base1" &&
	test "$(detail .verify.exit_code)" = 0 &&
	test "$(detail .size)" -gt 10000000 &&
	test "$(detail .age_s)" -lt 120 &&
	grep -q "^START TIME: $(detail .backup_label_start_time)" bb/base1/backup_label
'

test_expect_success 'a flipped byte in a data file' '
	/usr/bin/python3 -c "import sys;f=open(sys.argv[1],\"r+b\");f.seek(8192*3+100);b=f.read(1);f.seek(8192*3+100);f.write(bytes([b[0]^255]))" bb/base1/$REL &&
	run_check ok.yaml; rc=$?
	/usr/bin/python3 -c "import sys;f=open(sys.argv[1],\"r+b\");f.seek(8192*3+100);b=f.read(1);f.seek(8192*3+100);f.write(bytes([b[0]^255]))" bb/base1/$REL
	test $rc = 0 &&
	expect fail "base1: pg_verifybackup: checksum mismatch for file \"$REL\"" &&
	test "$(detail .verify.error_count)" = 1
'

test_expect_success 'a file removed from the backup' '
	mv bb/base1/PG_VERSION saved-PG_VERSION &&
	run_check ok.yaml; rc=$?; mv saved-PG_VERSION bb/base1/PG_VERSION; test $rc = 0 &&
	expect fail "base1: pg_verifybackup: \"PG_VERSION\" is present in the manifest but not on disk"
'

test_expect_success 'an extra file in the backup' '
	echo extra > bb/base1/extra.file &&
	run_check ok.yaml; rc=$?; rm -f bb/base1/extra.file; test $rc = 0 &&
	expect fail "base1: pg_verifybackup: \"extra.file\" is present on disk but not in the manifest"
'

test_expect_success 'several problems are counted and all listed' '
	echo extra > bb/base1/extra.file && mv bb/base1/PG_VERSION saved-PG_VERSION &&
	run_check ok.yaml; rc=$?
	rm -f bb/base1/extra.file; mv saved-PG_VERSION bb/base1/PG_VERSION; test $rc = 0 &&
	expect fail "base1: pg_verifybackup found 2 problems: *" &&
	test "$(detail .verify.error_count)" = 2
'

test_expect_success 'the repaired backup passes again' '
	run_check ok.yaml 0 && expect pass "$TEST_TMP/bb/base1: *"
'

test_expect_success 'WAL missing from pg_wal fails; parse_wal: false and wal_path are honoured' '
	cp -a bb/base1 bb/nowal && mkdir -p walarchive &&
	mv bb/nowal/pg_wal/0000* walarchive/ &&
	write_rb nowal.yaml <<-EOF &&
	path: $TEST_TMP/bb/nowal
	EOF
	run_check nowal.yaml &&
	expect fail "nowal: pg_verifybackup*WAL*" &&
	write_rb nowal-n.yaml <<-EOF &&
	path: $TEST_TMP/bb/nowal
	parse_wal: false
	EOF
	run_check nowal-n.yaml 0 &&
	json_get out.json ".checks[?id=b].details.verify.argv" | grep -q "\"-n\"" &&
	write_rb nowal-w.yaml <<-EOF &&
	path: $TEST_TMP/bb/nowal
	wal_path: $TEST_TMP/walarchive
	EOF
	run_check nowal-w.yaml 0 &&
	json_get out.json ".checks[?id=b].details.verify.argv" | grep -q "\"-w\"" &&
	rm -rf bb/nowal
'

# older_than FILE S: FILE was last changed at least S seconds ago (a state
# to wait for where a test needs a backup older by whole seconds)
older_than() { test $(( $(date +%s) - $(stat -c %Y "$1") )) -ge "$2"; }

test_expect_success 'a pg_basebackup killed mid-copy is never chosen; the older complete one is' '
	wait_until 30 older_than bb/base1/backup_label 2 &&
	(cd "$TEST_TMP" && exec runuser -u postgres -- "$PGBIN/pg_basebackup" -h 127.0.0.1 \
		-p "$(pg_port primary)" -U postgres -D "$TEST_TMP/bb/base2" -X fetch -c fast \
		--max-rate=32k) >/dev/null 2>&1 &
	pid=$! &&
	wait_until 20 test -f bb/base2/backup_label &&
	kids=$(pgrep -P $pid || true); kill -9 $kids $pid; wait $pid 2>/dev/null || true
	test ! -f bb/base2/backup_manifest &&
	run_check ok.yaml 0 &&
	expect pass "$TEST_TMP/bb/base1: *" &&
	test "$(detail .skipped[0].path)" = "$TEST_TMP/bb/base2" &&
	test "$(detail .skipped[0].reason)" = "no backup_manifest"
'

test_expect_success 'only backup_manifest.tmp (interrupted while writing the manifest): not complete' '
	rm -rf bb/base2 && basebackup "$TEST_TMP/bb/base3" &&
	mv bb/base3/backup_manifest bb/base3/backup_manifest.tmp &&
	write_rb tmp.yaml <<-EOF &&
	path: $TEST_TMP/bb/base3
	EOF
	run_check tmp.yaml &&
	expect fail "no complete backup under $TEST_TMP/bb/base3 (1 skipped; last: $TEST_TMP/bb/base3: interrupted (backup_manifest.tmp))" &&
	run_check ok.yaml 0 &&
	test "$(detail .path)" = "$TEST_TMP/bb/base1" &&
	mv bb/base3/backup_manifest.tmp bb/base3/backup_manifest &&
	run_check ok.yaml 0 &&
	test "$(detail .path)" = "$TEST_TMP/bb/base3"
'

test_expect_success 'backup older than max_age' '
	write_rb old.yaml <<-EOF &&
	path: $TEST_TMP/bb/base1
	max_age: 1s
	verify: false
	EOF
	wait_until 30 older_than bb/base1/backup_label 2 &&
	run_check old.yaml &&
	expect fail "$TEST_TMP/bb/base1 is *s old (max_age 1s; started *)" &&
	! json_get out.json ".checks[?id=b].details.verify" >/dev/null 2>&1
'

# backup_label's START TIME in the future: that backup is the "newest" and
# passed as "-26331d old", hiding that real backups had stopped.  Up to 5
# minutes ahead is clock skew and still counts as now.  (verify: false:
# pg_verifybackup would also see the edited backup_label.)
test_expect_success 'a backup started in the future fails, whatever the older ones say' '
	mkdir -p bbf && cp -a bb/base1 bbf/old && cp -a bb/base1 bbf/future &&
	sed -i "s/^START TIME: .*/START TIME: 2099-01-01 00:00:00 UTC/" bbf/future/backup_label &&
	write_rb future.yaml <<-EOF &&
	path: $TEST_TMP/bbf/*
	max_age: 365d
	verify: false
	EOF
	run_check future.yaml &&
	expect fail "$TEST_TMP/bbf/future is dated 2099-01-01T00:00:00Z, *d*h in the future; the clock or the backup is wrong" &&
	test "$(detail .path)" = "$TEST_TMP/bbf/future"
'

test_expect_success 'a backup started up to 5 minutes ahead (clock skew) still counts as now' '
	sed -i "s/^START TIME: .*/START TIME: $(date -u -d "+3 minutes" "+%Y-%m-%d %H:%M:%S") UTC/" bbf/future/backup_label &&
	run_check future.yaml 0 &&
	expect pass "$TEST_TMP/bbf/future: started *Z, -*s old, * MiB" &&
	sed -i "s/^START TIME: .*/START TIME: $(date -u -d "+10 minutes" "+%Y-%m-%d %H:%M:%S") UTC/" bbf/future/backup_label &&
	run_check future.yaml &&
	expect fail "$TEST_TMP/bbf/future is dated *, *m* in the future; the clock or the backup is wrong" &&
	rm -rf bbf
'

test_expect_success 'no backup directory matches' '
	write_rb none.yaml <<-EOF &&
	path: $TEST_TMP/bb/nothing-*
	EOF
	run_check none.yaml &&
	expect fail "no backup directory matches $TEST_TMP/bb/nothing-*"
'

test_expect_success 'pg_verifybackup not installed is an error' '
	write_rb nobin.yaml <<-EOF &&
	path: $TEST_TMP/bb/base1
	binary: /nonexistent/pg_verifybackup
	EOF
	run_check nobin.yaml &&
	expect error "pg_verifybackup: not installed*"
'

test_done
