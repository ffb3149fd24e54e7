#!/bin/bash
# backup.file against real dumps: `pg_dump -Fc` of a real PostgreSQL 15
# database with a sidecar written by sha256sum(1), checked through
# `gate check --format json`.  Real faults: a sidecar that does not match,
# a truncated dump that pg_restore --list rejects, an empty file, no match,
# an old file, one dated in the future, a missing sidecar.
. "$(dirname "$0")/lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
require_cmd psql pg_dump pg_restore sha256sum runuser
test_cleanup pg_stop_all
cd "$TEST_TMP" || exit 1

RB_NAME=t3020 RB_TYPE=backup.file
. "$GATE_SOURCE_DIR/tests/lib/onecheck.sh"

pg_primary_start primary || exit 1
runuser -u postgres -- "$PGBIN/pgbench" -h 127.0.0.1 -p "$(pg_port primary)" -U postgres -i -s 1 -q postgres >/dev/null 2>&1
mkdir -p dumps
# An older dump first, then the newest one: the check must judge the newest.
pg_dump -h 127.0.0.1 -p "$(pg_port primary)" -U postgres -Fc -f dumps/db-1.dump postgres || exit 1
touch -d '-2 hours' dumps/db-1.dump
pg_dump -h 127.0.0.1 -p "$(pg_port primary)" -U postgres -Fc -f dumps/db-2.dump postgres || exit 1
(cd dumps && sha256sum db-1.dump > db-1.dump.sha256 && sha256sum db-2.dump > db-2.dump.sha256)
touch -d '-2 hours' dumps/db-1.dump.sha256
SUM=$(cut -c1-64 dumps/db-2.dump.sha256)

write_rb ok.yaml <<EOF
path: $TEST_TMP/dumps/*.dump
restore_test: [pg_restore, --list, "{path}"]
EOF

test_expect_success 'intact newest dump: checksum matches, restore test passes' '
	run_check ok.yaml 0 &&
	expect pass "$TEST_TMP/dumps/db-2.dump: * KiB, *s old, sha256 matches, restore test pg_restore passed" &&
	test "$(detail .sha256)" = "$SUM" &&
	test "$(detail .restore_test.exit_code)" = 0 &&
	test "$(detail .size)" = "$(stat -c %s dumps/db-2.dump)" &&
	test "$(detail .matches)" = 2
'

test_expect_success 'the sidecar does not match (one flipped byte in the dump)' '
	cp dumps/db-2.dump saved.dump &&
	/usr/bin/python3 -c "import sys;f=open(sys.argv[1],\"r+b\");f.seek(5000);b=f.read(1);f.seek(5000);f.write(bytes([b[0]^1]))" dumps/db-2.dump &&
	touch -r saved.dump dumps/db-2.dump &&
	run_check ok.yaml; rc=$?; cp -p saved.dump dumps/db-2.dump; test $rc = 0 &&
	expect fail "db-2.dump: sha256 mismatch: sidecar says ${SUM:0:12}..., file is *" &&
	test "$(detail .sha256_expected)" = "$SUM" &&
	test "$(detail .sha256)" != "$SUM"
'

# pg_restore --list reads only the table of contents at the head of a
# custom-format dump: a dump cut inside it fails --list; one cut later
# (in the data) needs a restore test that reads everything, such as
# `pg_restore -f /dev/null` (a full restore into a script thrown away).
test_expect_success 'a truncated dump (its sidecar made after): pg_restore --list rejects it' '
	write_rb trunc.yaml <<-EOF &&
	path: $TEST_TMP/trunc/*.dump
	restore_test: [pg_restore, --list, "{path}"]
	EOF
	mkdir -p trunc && cp dumps/db-2.dump trunc/db.dump &&
	truncate -s 4000 trunc/db.dump &&
	(cd trunc && sha256sum db.dump > db.dump.sha256) &&
	run_check trunc.yaml &&
	expect fail "db.dump: restore test pg_restore exited 1: pg_restore: error: *" &&
	test "$(detail .checksum_ok)" = true &&
	test -n "$(detail .restore_test.stderr)"
'

test_expect_success 'a dump cut in its data: a full pg_restore into /dev/null rejects it' '
	write_rb trunc2.yaml <<-EOF &&
	path: $TEST_TMP/trunc2/*.dump
	restore_test: [pg_restore, -f, /dev/null, "{path}"]
	EOF
	mkdir -p trunc2 && cp dumps/db-2.dump trunc2/db.dump &&
	truncate -s $(( $(stat -c %s trunc2/db.dump) / 2 )) trunc2/db.dump &&
	(cd trunc2 && sha256sum db.dump > db.dump.sha256) &&
	run_check trunc2.yaml &&
	expect fail "db.dump: restore test pg_restore exited 1: pg_restore: error: could not read from input file: end of file" &&
	cp dumps/db-2.dump trunc2/db.dump && (cd trunc2 && sha256sum db.dump > db.dump.sha256) &&
	run_check trunc2.yaml 0
'

test_expect_success 'an empty file' '
	mkdir -p empty && : > empty/db.dump && (cd empty && sha256sum db.dump > db.dump.sha256) &&
	write_rb empty.yaml <<-EOF &&
	path: $TEST_TMP/empty/*.dump
	EOF
	run_check empty.yaml &&
	expect fail "db.dump is empty (0 bytes)"
'

test_expect_success 'no file matches' '
	write_rb none.yaml <<-EOF &&
	path: $TEST_TMP/nowhere/*.dump
	EOF
	run_check none.yaml &&
	expect fail "no file matches $TEST_TMP/nowhere/\*.dump"
'

test_expect_success 'the newest file is too old (and smaller than min_size)' '
	write_rb old.yaml <<-EOF &&
	path: $TEST_TMP/dumps/db-1.dump
	max_age: 1h
	min_size: 1GiB
	checksum: none
	EOF
	run_check old.yaml &&
	expect fail "db-1.dump is * KiB, below min_size 1.00 GiB (+1 more problem)" &&
	json_get out.json ".checks[?id=b].details.problems[1]" | grep -q "db-1.dump is [12]h[0-9]*m old (max_age 1h; modified "
'

# A file dated in the future was the "newest" and passed as "-26331d old",
# hiding that the real dumps had stopped.  Up to 5 minutes ahead is clock
# skew between hosts and still counts as now.
test_expect_success 'a dump dated in the future fails, whatever the older ones say' '
	mkdir -p future && cp -p dumps/db-1.dump dumps/db-1.dump.sha256 future/ &&
	cp dumps/db-2.dump future/db-3.dump && (cd future && sha256sum db-3.dump > db-3.dump.sha256) &&
	touch -d "2099-01-01 00:00:00 UTC" future/db-3.dump &&
	write_rb future.yaml <<-EOF &&
	path: $TEST_TMP/future/*.dump
	max_age: 365d
	EOF
	run_check future.yaml &&
	expect fail "db-3.dump is dated 2099-01-01T00:00:00Z, *d*h in the future; the clock or the backup is wrong" &&
	test "$(detail .path)" = "$TEST_TMP/future/db-3.dump" &&
	test "$(detail .age_s)" -lt -2000000000
'

test_expect_success 'a dump up to 5 minutes ahead (clock skew) still counts as now' '
	touch -d "+3 minutes" future/db-3.dump &&
	run_check future.yaml 0 &&
	expect pass "$TEST_TMP/future/db-3.dump: * KiB, -*s old, sha256 matches" &&
	touch -d "+10 minutes" future/db-3.dump &&
	run_check future.yaml &&
	expect fail "db-3.dump is dated *, *m* in the future; the clock or the backup is wrong"
'

test_expect_success 'a missing sidecar fails; checksum: none skips it' '
	mkdir -p nosc && cp dumps/db-2.dump nosc/db.dump &&
	write_rb nosc.yaml <<-EOF &&
	path: $TEST_TMP/nosc/*.dump
	EOF
	run_check nosc.yaml &&
	expect fail "db.dump: no checksum sidecar db.dump.sha256" &&
	write_rb nosc-none.yaml <<-EOF &&
	path: $TEST_TMP/nosc/*.dump
	checksum: none
	EOF
	run_check nosc-none.yaml 0
'

test_expect_success 'binary-mode and BSD-style sidecars are understood' '
	mkdir -p fmt && cp dumps/db-2.dump fmt/db.dump &&
	(cd fmt && sha256sum -b db.dump > db.dump.sha256) && grep -q " \*db.dump" fmt/db.dump.sha256 &&
	write_rb fmt.yaml <<-EOF &&
	path: $TEST_TMP/fmt/*.dump
	EOF
	run_check fmt.yaml 0 &&
	(cd fmt && sha256sum --tag db.dump > db.dump.sha256) &&
	run_check fmt.yaml 0 &&
	echo garbage > fmt/db.dump.sha256 &&
	run_check fmt.yaml &&
	expect fail "db.dump.sha256 is not in sha256sum format"
'

test_expect_success 'a restore test that is not installed is an error' '
	write_rb nort.yaml <<-EOF &&
	path: $TEST_TMP/dumps/*.dump
	restore_test: [no-such-restore-tool, "{path}"]
	EOF
	run_check nort.yaml &&
	expect error "restore test: no-such-restore-tool: not installed (not found on PATH)"
'

test_done
