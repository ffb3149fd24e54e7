#!/bin/bash
# dump.restore against real pg_dump output (PostgreSQL 15: custom, plain,
# directory) of a real primary, driven by `gate check --format json`: the
# newest dump is restored into a scratch cluster made with initdb,
# probed, and the cluster stopped and removed.  Real faults: a dump taken
# after the table was dropped (its row-count probe fails), a custom dump
# cut short (pg_restore's error), a plain dump cut short (its last line
# missing), a plain dump naming a role the scratch cluster lacks, a
# gzip-compressed dump.  After each rehearsal no scratch directory and no
# scratch server is left.
. "$(dirname "$0")/lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
require_cmd psql pg_dump runuser pgrep sha256sum gzip
test_cleanup pg_stop_all
cd "$TEST_TMP" || exit 1

RB_NAME=t3120 RB_TYPE=dump.restore RB_TIMEOUT=180s
. "$GATE_SOURCE_DIR/tests/lib/onecheck.sh"
dump() { runuser -u postgres -- pg_dump -h 127.0.0.1 -p "$(pg_port primary)" -U postgres "$@" postgres; }
nothing_left() {
	test -z "$(ls -A scratch)" &&
	! pgrep -f "$TEST_TMP/scratch/" >/dev/null
}

pg_primary_start primary || exit 1
pg_psql primary "create role app nologin;
	create table t(id int primary key, note text);
	insert into t select g, repeat('n', 40) || g from generate_series(1, 20000) g;
	alter table t owner to app" || exit 1
mkdir -p c p d scratch && chown postgres:postgres c p d scratch
dump -Fc -f "$TEST_TMP/c/old.dump" || exit 1
touch -d '-1 hour' c/old.dump
dump -Fc -f "$TEST_TMP/c/good.dump" || exit 1
dump -Fp -f "$TEST_TMP/p/good.sql" || exit 1
dump -Fd -f "$TEST_TMP/d/good.dir" || exit 1

# rb FILE PATH [more with: lines]: a rehearsal of the dumps at PATH
rb() {
	local f=$1 p=$2; shift 2
	{
		printf 'path: %s\nscratch_dir: %s\n' "$p" "$TEST_TMP/scratch"
		printf '%s\n' "$@"
		printf 'probes:\n  - {name: rows, sql: "select count(*) from t", equals: 20000}\n'
	} | write_rb "$f"
}

test_expect_success 'a good custom dump (the newest) restores and passes' '
	rb c.yaml "$TEST_TMP/c/*.dump" &&
	run_check c.yaml 0 &&
	expect pass "dump $TEST_TMP/c/good.dump restored in * s; 1 probe passed" &&
	test "$(detail .rehearsal.backup.kind)" = file &&
	test "$(detail .rehearsal.backup.path)" = "$TEST_TMP/c/good.dump" &&
	test "$(detail .rehearsal.backup.size)" = "$(stat -c %s c/good.dump)" &&
	test "$(detail .rehearsal.backup.sha256)" = "$(sha256sum c/good.dump | cut -c1-64)" &&
	test "$(detail .rehearsal.backup.mtime_ns)" = "$(stat -c %.9Y c/good.dump | tr -d .)" &&
	test "$(detail .rehearsal.format)" = custom &&
	test "$(detail .rehearsal.probes[0].value)" = 20000 &&
	test "$(detail .rehearsal.phases_ms.restore)" -ge 0 &&
	nothing_left
'

test_expect_success 'a good plain dump restores with the role it names' '
	rb p.yaml "$TEST_TMP/p/*.sql" "roles: [app]" &&
	run_check p.yaml 0 &&
	expect pass "dump $TEST_TMP/p/good.sql restored in * s; 1 probe passed" &&
	test "$(detail .rehearsal.format)" = plain &&
	nothing_left
'

test_expect_success 'a plain dump naming a role the scratch cluster lacks: psql stops at the error' '
	rb p-norole.yaml "$TEST_TMP/p/*.sql" &&
	run_check p-norole.yaml &&
	expect fail "dump $TEST_TMP/p/good.sql did not restore: psql:$TEST_TMP/p/good.sql:*: ERROR:  role \"app\" does not exist" &&
	nothing_left
'

test_expect_success 'a directory-format dump restores with 2 jobs' '
	rb d.yaml "$TEST_TMP/d/*" "jobs: 2" &&
	run_check d.yaml 0 &&
	expect pass "dump $TEST_TMP/d/good.dir restored in * s; 1 probe passed" &&
	test "$(detail .rehearsal.format)" = directory &&
	test "$(detail .rehearsal.backup.sha256)" = "$(sha256sum d/good.dir/toc.dat | cut -c1-64)" &&
	nothing_left
'

test_expect_success 'gate rehearse of the directory dump: backup.rehearsed of the same glob accepts its record' '
	expect_status 0 gate rehearse --state-dir "$TEST_TMP/records" d.yaml >/dev/null &&
	printf "version: 1\nname: pre\nchecks:\n  - id: r\n    type: backup.rehearsed\n    with: {file: \"%s\", state_dir: \"%s\"}\n" \
		"$TEST_TMP/d/*" "$TEST_TMP/records" >pre.yaml &&
	expect_status 0 gate check --format json pre.yaml >pre.json &&
	test "$(json_get pre.json ".checks[?id=r].status")" = pass &&
	touch d/good.dir/toc.dat &&
	expect_status 75 gate check --format json pre.yaml >pre2.json &&
	json_get pre2.json ".checks[?id=r].summary" | grep "no rehearsal of" &&
	nothing_left
'

test_expect_success 'a dump taken after the table was dropped fails its row-count probe' '
	pg_psql primary "drop table t" &&
	dump -Fc -f "$TEST_TMP/c/dropped.dump" &&
	run_check c.yaml &&
	expect fail "probe '\''rows'\'' (select count(*) from t): *relation \"t\" does not exist*" &&
	test "$(detail .rehearsal.backup.path)" = "$TEST_TMP/c/dropped.dump" &&
	test "$(detail .rehearsal.probes[0].ok)" = false &&
	nothing_left && rm c/dropped.dump
'

test_expect_success 'a custom dump cut short: did not restore, pg_restore says why' '
	mkdir -p cut && head -c $(( $(stat -c %s c/good.dump) * 2 / 3 )) c/good.dump > cut/cut.dump &&
	rb cut.yaml "$TEST_TMP/cut/*.dump" &&
	run_check cut.yaml &&
	expect fail "dump $TEST_TMP/cut/cut.dump did not restore: pg_restore: error: could not read from input file: end of file" &&
	test "$(detail .rehearsal.backup.sha256)" = "$(sha256sum cut/cut.dump | cut -c1-64)" &&
	nothing_left
'

test_expect_success 'a plain dump cut short fails before it is restored' '
	head -c $(( $(stat -c %s p/good.sql) / 2 )) p/good.sql > cut/cut.sql &&
	rb cutp.yaml "$TEST_TMP/cut/*.sql" "roles: [app]" &&
	run_check cutp.yaml &&
	expect fail "dump $TEST_TMP/cut/cut.sql is cut short: *" &&
	nothing_left
'

test_expect_success 'a gzip-compressed dump is an error (not proven bad), nothing made' '
	gzip -c p/good.sql > cut/good.sql.gz &&
	rb gz.yaml "$TEST_TMP/cut/*.gz" &&
	run_check gz.yaml &&
	expect error "dump $TEST_TMP/cut/good.sql.gz is gzip; *" &&
	test "$(detail .rehearsal.scratch_dir)" = null &&
	nothing_left
'

test_expect_success 'gate lint refuses jobs with a plain dump and a database every cluster has' '
	rb bad.yaml "$TEST_TMP/p/*.sql" "format: plain" "jobs: 2" &&
	expect_status 78 gate lint bad.yaml 2>err && grep -q jobs err &&
	rb bad2.yaml "$TEST_TMP/p/*.sql" "database: postgres" &&
	expect_status 78 gate lint bad2.yaml 2>err && grep -q database err
'

test_done
