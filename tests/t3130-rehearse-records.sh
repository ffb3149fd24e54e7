#!/bin/bash
# gate rehearse and backup.rehearsed.
#
# The command, with a restore-rehearsal type built here from
# tests/data/rehearse/rh_module.c (module ABI 1.1 `rehearsals`; it passes,
# fails, errors or crashes as told and reports details.rehearsal as the
# real types do): only rehearsals run; each leaves one record, 0600, in a
# 0700 state directory made when absent, named after its start and check
# id, written whole (nothing left beside it), secrets masked; exit 0, 75,
# 78; a runbook without rehearsals is refused; the run is audited; gate
# check on the same runbook records nothing.
#
# backup.rehearsed against the real thing: a PostgreSQL 15 primary
# archiving into a real pgBackRest 2.45 repository (tests/lib/
# pgbackrest.sh), real pg_basebackup directories and a real pg_dump file,
# with records written by gate rehearse (of the test type, and of the real
# pgbackrest.restore): a fresh pass of the newest backup passes; an old pass (max_age), a later failure, no record, and a record
# of the previous backup once a new one was taken fail, saying which.
. "$(dirname "$0")/lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
. "$GATE_SOURCE_DIR/tests/lib/pgbackrest.sh"
require_cmd cc pkg-config pgbackrest psql runuser
test_cleanup pg_stop_all
cd "$TEST_TMP" || exit 1

mkdir mod
cc -std=c17 -shared -fPIC -I"$GATE_SOURCE_DIR" $(pkg-config --cflags jansson) \
	-o mod/rh.so "$GATE_SOURCE_DIR/tests/data/rehearse/rh_module.c" || exit 1
export GATE_MODULE_PATH=$TEST_TMP/mod

# rh_rb FILE MODE IDENTITY [SOURCE-PATH]: a nightly runbook with one
# rehearsal `nightly` and one ordinary check `plain`
rh_rb() {
	write_rb "$1" <<EOF
version: 1
name: nightly
checks:
  - id: nightly
    type: rh.restore
    with:
      mode: $2
      stanza: demo
      path: "${4:-}"
      backup: $3
      password: rh-secret-value
      conninfo: "host=db password=hunter22"
  - id: plain
    type: rh.plain
EOF
}
ID='{kind: pgbackrest, stanza: demo, repo: 1, label: 20261128-020000F}'
# only_record DIR: the one record's path (fails unless there is exactly one)
only_record() { test "$(ls "$1" | wc -l)" = 1 && ls "$1"/*.json; }

test_expect_success 'a passing rehearsal: exit 0, one record, 0600 in a new 0700 directory' '
	rh_rb pass.yaml pass "$ID" &&
	expect_status 0 gate rehearse -f json --state-dir st/rehearsals --audit-log audit.jsonl pass.yaml >out.json &&
	test "$(stat -c %a st/rehearsals)" = 700 &&
	rec=$(only_record st/rehearsals) &&
	test "$(stat -c %a "$rec")" = 600 &&
	case "${rec##*/}" in [0-9][0-9][0-9][0-9][01][0-9][0-3][0-9]T[0-2][0-9][0-5][0-9][0-5][0-9].[0-9][0-9][0-9]Z-nightly.json) ;; *) false ;; esac &&
	test "$(json_get "$rec" .outcome)" = pass &&
	test "$(json_get "$rec" .record_version)" = 1 &&
	test "$(json_get "$rec" .check)" = nightly &&
	test "$(json_get "$rec" .type)" = rh.restore &&
	test "$(json_get "$rec" .runbook)" = "$TEST_TMP/pass.yaml" &&
	test "$(json_get "$rec" .host)" = "$(hostname)" &&
	test "$(json_get "$rec" .backup.label)" = 20261128-020000F &&
	test "$(json_get "$rec" .probes[0].name)" = rows &&
	test "$(json_get "$rec" .phases_ms.restore)" = 12 &&
	test "$(json_get "$rec" .summary)" = "backup restored in 0.1 s; 1 probe passed" &&
	test "$(json_get "$rec" .started)" = "$(json_get out.json .started_at)" &&
	test "$(json_get "$rec" .source.password)" = "***" &&
	test "$(json_get "$rec" .source.conninfo)" = "host=db password=***" &&
	! grep -r -e rh-secret-value -e hunter22 st out.json audit.jsonl &&
	test "$(json_get out.json .mode)" = rehearse &&
	test "$(json_get out.json .decision)" = allow &&
	test "$(json_get out.json .checks[0].id)" = nightly &&
	test "$(json_get out.json "checks" | grep -c plain)" = 0
'

test_expect_success 'a rehearsal without a timeout gets 1h under gate rehearse, 30s under gate check' '
	test "$(json_get out.json .checks[0].details.timeout_ms)" -gt $((3600000 - 60000)) &&
	test "$(json_get out.json .checks[0].details.timeout_ms)" -le 3600000 &&
	gate check -f json pass.yaml >check.json 2>/dev/null &&
	test "$(json_get check.json .checks[0].details.timeout_ms)" -le 30000 &&
	sed "s/^name: nightly$/name: nightly\ntimeout: 90s/" pass.yaml >short.yaml && chmod 644 short.yaml &&
	gate rehearse -f json --state-dir st/rehearsals short.yaml >short.json 2>/dev/null &&
	test "$(json_get short.json .checks[0].details.timeout_ms)" -le 90000
'

test_expect_success 'the run is audited like every decision (mode rehearse)' '
	test "$(wc -l <audit.jsonl)" = 1 &&
	/usr/bin/python3 -c "
import json, sys
r = json.loads(open(\"audit.jsonl\").readline())
assert r[\"record\"] == \"decision\" and r[\"mode\"] == \"rehearse\", r
assert r[\"decision\"] == \"allow\" and r[\"runbook\"] == \"nightly\", r
"
'

test_expect_success 'a failed rehearsal: 75 and a fail record; the audit says block' '
	rh_rb fail.yaml fail "$ID" &&
	expect_status 75 gate rehearse -f json --state-dir st2 --audit-log audit2.jsonl fail.yaml >out.json &&
	rec=$(only_record st2) &&
	test "$(json_get "$rec" .outcome)" = fail &&
	test "$(json_get "$rec" .probes[0].ok)" = false &&
	test "$(json_get "$rec" .summary)" = "probe '\''rows'\'' (select count(*) from t): 5 is below min 1000" &&
	grep -q "\"decision\": *\"block\"" audit2.jsonl
'

test_expect_success 'an error, and a crashed rehearsal (no details): 75, error records' '
	rh_rb err.yaml error "$ID" &&
	expect_status 75 gate rehearse --state-dir st3 err.yaml >/dev/null &&
	test "$(json_get "$(only_record st3)" .outcome)" = error &&
	rh_rb crash.yaml crash "$ID" &&
	expect_status 75 gate rehearse --state-dir st4 crash.yaml >/dev/null &&
	rec=$(only_record st4) &&
	test "$(json_get "$rec" .outcome)" = error &&
	test "$(json_get "$rec" .backup)" = null &&
	test "$(json_get "$rec" .source.stanza)" = demo &&
	case "$(json_get "$rec" .summary)" in "module crashed: killed by signal 11"*) ;; *) false ;; esac
'

test_expect_success 'no temporary file is left beside the records' '
	test -z "$(find st st2 st3 st4 -name "*gate-tmp*")"
'

test_expect_success 'a runbook with no rehearsal is refused (78), nothing recorded' '
	write_rb none.yaml <<-EOF &&
	version: 1
	name: none
	checks:
	  - id: plain
	    type: rh.plain
	EOF
	expect_status 78 gate rehearse --state-dir st5 none.yaml 2>err &&
	grep -q "none.yaml: no restore rehearsal (types: pgbackrest.restore, .*rh.restore)" err &&
	test ! -e st5
'

test_expect_success 'an invalid runbook: 78; a bad command line: 64' '
	printf "version: 1\nname: x\nchecks: [\n" >bad.yaml && chmod 644 bad.yaml &&
	expect_status 78 gate rehearse --state-dir st5 bad.yaml 2>/dev/null &&
	expect_status 64 gate rehearse --state-dir st5 2>/dev/null &&
	expect_status 64 gate rehearse --override x --reason y pass.yaml 2>/dev/null &&
	expect_status 64 gate rehearse pass.yaml -- true 2>/dev/null &&
	expect_status 64 gate check --state-dir st5 pass.yaml 2>/dev/null &&
	test ! -e st5
'

test_expect_success 'a state directory others may write is refused (78) before anything runs' '
	mkdir -m 777 open && chmod 777 open &&
	expect_status 78 gate rehearse --state-dir open pass.yaml >/dev/null 2>err &&
	grep -q "no one else may write" err &&
	test -z "$(ls open)"
'

test_expect_success 'GATE_STATE_DIR/rehearsals is the default state directory' '
	GATE_STATE_DIR=$TEST_TMP/state expect_status 0 gate rehearse -q pass.yaml 2>/dev/null &&
	only_record state/rehearsals >/dev/null
'

test_expect_success 'gate check runs a rehearsal as an ordinary check and records nothing' '
	GATE_STATE_DIR=$TEST_TMP/state2 expect_status 0 gate check -f json pass.yaml >out.json 2>/dev/null &&
	test "$(json_get out.json .checks[0].status)" = pass &&
	test ! -e state2
'

# ---- backup.rehearsed against a real pgBackRest repository ----

pg_primary_start primary || exit 1
pgbr_setup primary || { echo "pgbackrest setup failed"; exit 1; }
pgbr_backup full || exit 1
L1=$(pgbr_last_label)
pgbr_id() { printf '{kind: pgbackrest, stanza: demo, repo: 1, label: %s}' "$1"; }

# rehearse_as MODE LABEL DIR: gate rehearse writes a record for LABEL
rehearse_as() {
	rh_rb r.yaml "$1" "$(pgbr_id "$2")" &&
	gate rehearse -q --state-dir "$3" r.yaml >/dev/null 2>&1
	return 0
}
# pre RUNBOOK DIR [max_age]: the pre-maintenance check of the stanza
pre() {
	write_rb "$1" <<-EOF
	version: 1
	name: pre
	checks:
	  - id: b
	    type: backup.rehearsed
	    with:
	      stanza: demo
	      config: $PGBR_CONF
	      state_dir: $TEST_TMP/$2
	      max_age: ${3:-48h}
	EOF
}
# judged RUNBOOK STATUS PATTERN: gate check's verdict on check b
judged() {
	local s m rc=0
	gate check -f json "$1" >j.json 2>/dev/null || rc=$?
	echo "exit status $rc"
	s=$(json_get j.json ".checks[?id=b].status") m=$(json_get j.json ".checks[?id=b].summary")
	echo "status=$s summary=$m"
	[ "$s" = "$2" ] && case "$m" in $3) ;; *) false ;; esac
}

test_expect_success 'pgBackRest: no record of the newest backup: fail, naming it' '
	mkdir -m 700 none && pre pre-none.yaml none &&
	judged pre-none.yaml fail "no rehearsal of backup $L1"
'

test_expect_success 'pgBackRest: a fresh pass of the newest backup passes' '
	rehearse_as pass "$L1" r1 &&
	pre pre1.yaml r1 &&
	judged pre1.yaml pass "backup $L1: rehearsal passed * ago (max_age 2d)" &&
	test "$(json_get j.json ".checks[?id=b].details.backup.label")" = "$L1" &&
	test "$(json_get j.json ".checks[?id=b].details.rehearsal.outcome")" = pass
'

test_expect_success 'pgBackRest: an old pass fails (max_age)' '
	pre pre-old.yaml r1 1s &&
	wait_until 30 judged pre-old.yaml fail "rehearsal of backup $L1 passed * ago (max_age 1s)"
'

test_expect_success 'pgBackRest: a later failed rehearsal fails, with its summary' '
	cp -a r1 r2 && rehearse_as fail "$L1" r2 &&
	pre pre2.yaml r2 &&
	judged pre2.yaml fail "last rehearsal of backup $L1 failed at *: probe '\''rows'\''*"
'

test_expect_success 'pgBackRest: an unreadable record is an error naming it' '
	cp -a r1 r3 && echo "{" >r3/20991231T000000.000Z-x.json && chmod 600 r3/*.json &&
	pre pre3.yaml r3 &&
	judged pre3.yaml error "rehearsal record $TEST_TMP/r3/20991231T000000.000Z-x.json cannot be read: not JSON*"
'

# a record another user could have planted proves nothing: an error
test_expect_success 'pgBackRest: records others may write, a link, or the directory a link: errors' '
	rec=$(cd r1 && ls *.json | head -n 1) &&
	cp -a r1 r4 && chmod 620 "r4/$rec" && pre pre4.yaml r4 &&
	judged pre4.yaml error "rehearsal record $TEST_TMP/r4/$rec cannot be read: is writable by group or others" &&
	cp -a r1 r5 && chown postgres "r5/$rec" && pre pre5.yaml r5 &&
	judged pre5.yaml error "rehearsal record * cannot be read: belongs to another user" &&
	mkdir -m 700 r6 && ln -s "$TEST_TMP/r1/$rec" "r6/$rec" && pre pre6.yaml r6 &&
	judged pre6.yaml error "rehearsal record * cannot be read: *" &&
	ln -s r1 r7 && pre pre7.yaml r7 &&
	judged pre7.yaml error "state directory $TEST_TMP/r7: is a symbolic link" &&
	cp -a r1 r8 && chmod 770 r8 && pre pre8.yaml r8 &&
	judged pre8.yaml error "state directory $TEST_TMP/r8: is writable by group or others"
'

test_expect_success 'pgBackRest: a record of the previous backup once a new one was taken fails' '
	pgbr_backup full && L2=$(pgbr_last_label) && test "$L2" != "$L1" &&
	judged pre1.yaml fail "no rehearsal of backup $L2 (the last rehearsal, at *, was of backup $L1)" &&
	rehearse_as pass "$L2" r1 &&
	judged pre1.yaml pass "backup $L2: rehearsal passed*"
'

test_expect_success 'pgBackRest: gate rehearse of the real pgbackrest.restore writes a pass record backup.rehearsed accepts' '
	mkdir -p scratch && chmod 755 scratch &&
	pg_psql primary "create table rows_t as select generate_series(1, 500) as n" >/dev/null &&
	pgbr_backup full && L3=$(pgbr_last_label) &&
	write_rb real.yaml <<-EOF &&
	version: 1
	name: nightly-real
	checks:
	  - id: demo-restore
	    type: pgbackrest.restore
	    with:
	      stanza: demo
	      config: $PGBR_CONF
	      scratch_dir: $TEST_TMP/scratch
	      probes:
	        - {name: rows, sql: "select count(*) from rows_t", min: 500}
	EOF
	expect_status 0 gate rehearse -q --state-dir rreal real.yaml >/dev/null &&
	rec=$(only_record rreal) &&
	test "$(json_get "$rec" .outcome)" = pass &&
	test "$(json_get "$rec" .backup.label)" = "$L3" &&
	test "$(json_get "$rec" .backup.stanza)" = demo &&
	test "$(json_get "$rec" .probes[0].ok)" = true &&
	test "$(json_get "$rec" .source.config)" = "$PGBR_CONF" &&
	test -z "$(ls scratch)" &&
	pre pre-real.yaml rreal &&
	judged pre-real.yaml pass "backup $L3: rehearsal passed*"
'

test_expect_success 'pgBackRest: a missing stanza is an error' '
	sed "s/stanza: demo/stanza: nosuch/" pre1.yaml >pre4.yaml &&
	judged pre4.yaml error "pgbackrest info: stanza nosuch: missing stanza path (status code 1)"
'

# ---- real base backups and a real dump ----

basebackup() {
	runuser -u postgres -- "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$(pg_port primary)" \
		-U postgres -D "$1" -X stream -c fast
}
# the identity the rehearsal types record, computed from the files
bb_id() {
	/usr/bin/python3 - "$1" <<-'PY'
	import json, os, re, sys
	d = os.path.realpath(sys.argv[1])
	start = re.search(r"^START TIME: (.*)$", open(d + "/backup_label").read(), re.M).group(1)
	m = json.load(open(d + "/backup_manifest"))
	print(json.dumps({"kind": "basebackup", "path": d, "start_time": start,
	                  "manifest_checksum": m["Manifest-Checksum"]}))
	PY
}
file_id() {
	/usr/bin/python3 -c 'import json, os, sys
p = os.path.realpath(sys.argv[1]); s = os.stat(p)
print(json.dumps({"kind": "file", "path": p, "size": s.st_size, "mtime_ns": s.st_mtime_ns}))' "$1"
}
pre_path() {
	write_rb "$1" <<-EOF
	version: 1
	name: pre
	checks:
	  - id: b
	    type: backup.rehearsed
	    with:
	      $2: "$3"
	      state_dir: $TEST_TMP/$4
	EOF
}

test_expect_success 'pg_basebackup: the newest directory rehearsed passes; a newer one fails' '
	mkdir -p bb && chown postgres bb && basebackup "$TEST_TMP/bb/base1" &&
	rh_rb bb.yaml pass "$(bb_id bb/base1)" &&
	gate rehearse -q --state-dir rb1 bb.yaml 2>/dev/null &&
	pre_path pre-bb.yaml basebackup "$TEST_TMP/bb/base*" rb1 &&
	judged pre-bb.yaml pass "base backup $TEST_TMP/bb/base1: rehearsal passed*" &&
	basebackup "$TEST_TMP/bb/base2" &&
	judged pre-bb.yaml fail "no rehearsal of base backup $TEST_TMP/bb/base2 (the last rehearsal, at *, was of $TEST_TMP/bb/base1)"
'

test_expect_success 'a dump file: the file rehearsed passes; once rewritten it fails' '
	mkdir dumps && runuser -u postgres -- "$PGBIN/pg_dump" -h 127.0.0.1 -p "$(pg_port primary)" \
		-U postgres -Fc postgres >dumps/app.dump &&
	rh_rb f.yaml pass "$(file_id dumps/app.dump)" &&
	gate rehearse -q --state-dir rf f.yaml 2>/dev/null &&
	pre_path pre-f.yaml file "$TEST_TMP/dumps/*.dump" rf &&
	judged pre-f.yaml pass "file $TEST_TMP/dumps/app.dump: rehearsal passed*" &&
	touch -d "+1 second" dumps/app.dump &&
	judged pre-f.yaml fail "no rehearsal of file $TEST_TMP/dumps/app.dump (the last rehearsal, at *, was of $TEST_TMP/dumps/app.dump as it was before)"
'

test_done
