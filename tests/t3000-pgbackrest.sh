#!/bin/bash
# pgbackrest.backup against a real PostgreSQL 15 primary archiving into a
# real pgBackRest 2.45 repository (tests/lib/pgbackrest.sh), driven through
# `gate check --format json` with YAML runbooks.  Real faults: a flipped
# byte in a backup file (verify exits 0 and says "status: error"), a WAL
# segment the backup needs removed, a corrupt WAL segment it does not
# need, a missing stanza and one without backups (info exits 0 for both),
# another cluster's system-id, pgbackrest not on PATH, an old backup, an
# incremental newer than the full when only full counts, a backup that met
# an invalid page checksum in the database (error: true), a stop time in
# the future (backup.info edited, its checksum recomputed).
#
# gate runs as root here and pgBackRest's repository belongs to postgres:
# root reads it, and the check passes --log-level-file=off, so nothing is
# written into the fixture's log or lock paths (asserted below).
. "$(dirname "$0")/lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
. "$GATE_SOURCE_DIR/tests/lib/pgbackrest.sh"
require_cmd pgbackrest psql runuser
test_cleanup pg_stop_all
cd "$TEST_TMP" || exit 1

# write_rb FILE: a runbook with one check `b` of type pgbackrest.backup
# whose `with:` lines come from stdin.
RB_NAME=t3000 RB_TYPE=pgbackrest.backup
. "$GATE_SOURCE_DIR/tests/lib/onecheck.sh"

t0=$(date +%s)
pg_primary_start primary || exit 1
runuser -u postgres -- "$PGBIN/pgbench" -h 127.0.0.1 -p "$(pg_port primary)" -U postgres -i -s 3 -q postgres >/dev/null 2>&1
pgbr_setup primary || { echo "pgbackrest setup failed"; tail -n 20 "$PG_ROOT/log/primary.log"; exit 1; }
pgbr_backup full || exit 1
FULL=$(pgbr_last_label)
say "fixture ready in $(( $(date +%s) - t0 ))s: full backup $FULL"

write_rb ok.yaml <<EOF
stanza: demo
config: $PGBR_CONF
conninfo: "$(pg_conninfo primary)"
EOF

test_expect_success 'intact repository: pass, naming the backup it judged' '
	run_check ok.yaml 0 &&
	expect pass "backup $FULL (full): stopped *, verify: valid, WAL * present*" &&
	test "$(detail .label)" = "$FULL" &&
	test "$(detail .type)" = full &&
	test "$(detail .verify.backup_status)" = valid &&
	test "$(detail .wal.missing)" = "[]" &&
	test "$(detail .system_id)" = "$(pg_psql primary "select system_identifier from pg_control_system()")" &&
	test "$(detail .live_system_id)" = "$(detail .system_id)" &&
	test "$(json_get out.json .decision)" = allow
'

test_expect_success 'gate wrote nothing into the fixture (log-level-file=off, no lock)' '
	test -z "$(find "$PGBR_DIR" -user root -print)"
'

# The flipped byte lands in a gzip stream: usually the file still inflates
# and its checksum is wrong ("invalid checksum"); now and then the deflate
# data itself breaks ("invalid result", zlib data error).  Both are named.
test_expect_success 'one flipped byte in a backup file: verify says invalid although it exits 0' '
	f=$(ls -S "$PGBR_REPO/backup/demo/$FULL/pg_data/base/5/"*.gz | head -n 1) &&
	rel=${f#"$PGBR_REPO/backup/demo/$FULL/"} &&
	flip_byte "$f" &&
	run_check ok.yaml; rc=$?; flip_byte "$f"; test $rc = 0 &&
	expect fail "backup $FULL: pgbackrest verify: status invalid: 1 file with * $rel" &&
	test "$(detail .verify.exit_code)" = 0 &&
	test "$(detail .verify.invalid_files[0].file)" = "$rel" &&
	test "$(json_get out.json .decision)" = block &&
	json_get out.json .reasons[0] | grep -qF "$(summary)"
'

test_expect_success 'the repaired repository passes again' '
	run_check ok.yaml 0 && expect pass "backup $FULL *"
'

test_expect_success 'a WAL segment the backup needs removed from the repository' '
	seg=$(pgbr_backup_field "$FULL" archive start) &&
	f=$(pgbr_wal_file "$seg") &&
	mv "$f" "$TEST_TMP/saved-wal" &&
	run_check ok.yaml; rc=$?; mv "$TEST_TMP/saved-wal" "$f"; test $rc = 0 &&
	expect fail "backup $FULL: WAL segment $seg is missing from the repository*" &&
	test "$(detail .verify.backup_status)" = valid &&
	test "$(detail .wal.missing[0])" = "$seg"
'

test_expect_success 'a corrupt WAL segment outside the backup: stanza status error fails too' '
	stop=$(pgbr_backup_field "$FULL" archive stop) &&
	pg_psql primary "create table t3000(v int); insert into t3000 values (1)" &&
	next=$(pg_psql primary "select pg_walfile_name(pg_switch_wal())") &&
	test "$next" \> "$stop" &&
	wait_until 60 pgbr_archived primary "$next" &&
	f=$(pgbr_wal_file "$next") &&
	flip_byte "$f" &&
	run_check ok.yaml; rc=$?; flip_byte "$f"; test $rc = 0 &&
	expect fail "stanza demo: pgbackrest verify: status error: WAL 15-1: *: 1; 0000000100000000/$next-* (backup $FULL itself valid)"
'

test_expect_success 'backup older than max_age' '
	write_rb old.yaml <<-EOF &&
	stanza: demo
	config: $PGBR_CONF
	max_age: 1s
	verify: false
	require_wal: false
	EOF
	stop=$(pgbr_backup_field "$FULL" timestamp stop) &&
	wait_until 30 sh -c "test \$(( \$(date +%s) - $stop )) -ge 2" &&
	run_check old.yaml &&
	expect fail "backup $FULL (full) is *s old (max_age 1s; stopped *)" &&
	test "$(detail .age_s)" -ge 2
'

# set_stop LABEL EPOCH: the backup's stop time in the repository's
# backup.info (and backup.info.copy), with pgBackRest's checksum of the
# file recomputed (SHA-1 of its sections as JSON), so that the real
# `pgbackrest info` reports it.  Real pgBackRest takes the stop time from
# the clock, and faketime is not installed.  The originals are kept in
# saved-info/ for restore_info (run whatever the check said: set -e would
# stop a body at a failing run_check before a later restore).
set_stop() {
	mkdir -p saved-info &&
	cp -p "$PGBR_REPO/backup/demo/backup.info" "$PGBR_REPO/backup/demo/backup.info.copy" saved-info/ &&
	/usr/bin/python3 - "$PGBR_REPO/backup/demo" "$1" "$2" <<-'PY'
	import hashlib, json, re, sys
	d, label, stop = sys.argv[1], sys.argv[2], int(sys.argv[3])
	def sections(text):
	    out, cur = [], None
	    for line in text.splitlines():
	        if line.startswith("[") and line.endswith("]"):
	            cur = (line[1:-1], []); out.append(cur)
	        elif "=" in line and cur is not None:
	            k, v = line.split("=", 1); cur[1].append((k, v))
	    return out
	def checksum(text):
	    parts = []
	    for name, kvs in sections(text):
	        kvs = [(k, v) for k, v in kvs if not (name == "backrest" and k == "backrest-checksum")]
	        if kvs:  # the trailing [backrest] holds only the checksum
	            parts.append(json.dumps(name) + ":{" + ",".join(json.dumps(k) + ":" + v for k, v in kvs) + "}")
	    return hashlib.sha1(("{" + ",".join(parts) + "}").encode()).hexdigest()
	text = open(d + "/backup.info").read()
	old = re.search(r'^backrest-checksum="([0-9a-f]+)"$', text, re.M).group(1)
	assert checksum(text) == old, "the checksum recipe does not reproduce pgBackRest's"
	line = re.search("^" + re.escape(label) + "=.*$", text, re.M).group(0)
	new = re.sub(r'"backup-timestamp-stop":\d+', '"backup-timestamp-stop":%d' % stop, line)
	text = text.replace(line, new)
	text = text.replace(old, checksum(text))
	for f in ("backup.info", "backup.info.copy"):
	    open(d + "/" + f, "w").write(text)
	PY
}
restore_info() { cp -p saved-info/backup.info saved-info/backup.info.copy "$PGBR_REPO/backup/demo/"; }

test_expect_success 'a backup that stopped in the future fails (the clock or the backup is wrong)' '
	write_rb future.yaml <<-EOF &&
	stanza: demo
	config: $PGBR_CONF
	max_age: 365d
	verify: false
	require_wal: false
	EOF
	set_stop "$FULL" 4070908800 &&
	rc=0 && { test "$(pgbr_backup_field "$FULL" timestamp stop)" = 4070908800 &&
	          run_check future.yaml || rc=$?; } && restore_info && test $rc = 0 &&
	expect fail "backup $FULL (full) is dated 2099-01-01T00:00:00Z, *d*h in the future; the clock or the backup is wrong" &&
	run_check future.yaml 0
'

test_expect_success 'a stop time up to 5 minutes ahead (clock skew) still counts as now' '
	set_stop "$FULL" $(( $(date +%s) + 180 )) &&
	rc=0 && { run_check future.yaml 0 || rc=$?; } && restore_info && test $rc = 0 &&
	expect pass "backup $FULL (full): stopped *, -*s old, *" &&
	set_stop "$FULL" $(( $(date +%s) + 600 )) &&
	rc=0 && { run_check future.yaml || rc=$?; } && restore_info && test $rc = 0 &&
	expect fail "backup $FULL (full) is dated *, *m* in the future; the clock or the backup is wrong"
'

test_expect_success 'repo: 1 is passed through; a repository that is not configured is an error' '
	write_rb repo1.yaml <<-EOF &&
	stanza: demo
	config: $PGBR_CONF
	repo: 1
	EOF
	run_check repo1.yaml 0 &&
	expect pass "backup $FULL (full): *" &&
	test "$(detail .repo)" = 1 &&
	sed "s/repo: 1/repo: 2/" repo1.yaml > repo2.yaml &&
	run_check repo2.yaml &&
	expect error "pgbackrest info exited 32: ERROR: *: key * is not valid for * option"
'

test_expect_success 'missing stanza: info exits 0 with status code 1, the check fails' '
	write_rb nosuch.yaml <<-EOF &&
	stanza: nosuch
	config: $PGBR_CONF
	EOF
	run_check nosuch.yaml &&
	expect fail "stanza nosuch: missing stanza path (status 1)" &&
	test "$(detail .status_code)" = 1
'

test_expect_success 'a stanza without any backup (status code 2) fails' '
	cat >> "$PGBR_CONF" <<-EOF &&

	[empty]
	pg1-path=$(pg_datadir primary)
	pg1-port=$(pg_port primary)
	pg1-socket-path=$PG_ROOT/run
	pg1-user=postgres
	EOF
	PGBR_STANZA=empty pgbr stanza-create >/dev/null &&
	write_rb empty.yaml <<-EOF &&
	stanza: empty
	config: $PGBR_CONF
	EOF
	run_check empty.yaml &&
	expect fail "stanza empty: no valid backups (status 2)"
'

test_expect_success 'system-id of another cluster' '
	pg_primary_start other &&
	write_rb other.yaml <<-EOF &&
	stanza: demo
	config: $PGBR_CONF
	conninfo: "$(pg_conninfo other)"
	verify: false
	EOF
	run_check other.yaml &&
	expect fail "backup $FULL is of another cluster: system-id $(detail .system_id), live cluster $(pg_psql other "select system_identifier from pg_control_system()")" &&
	pg_stop other
'

test_expect_success 'an unreachable live cluster is an error, not a pass; its password is never shown' '
	port=$(free_port) &&
	write_rb down.yaml <<-EOF &&
	stanza: demo
	config: $PGBR_CONF
	conninfo: "host=127.0.0.1 port=$port dbname=postgres user=postgres password=hunter2-t3000"
	verify: false
	require_wal: false
	EOF
	run_check down.yaml &&
	expect error "conninfo: cannot connect: *" &&
	! grep -l hunter2 out.json err.txt
'

test_expect_success 'pgbackrest not on PATH is a clear error' '
	expect_status 75 env PATH=/nonexistent "$GATE_BIN" check --format json ok.yaml > out.json 2>err.txt &&
	expect error "pgbackrest info: not installed (not found on PATH)"
'

test_expect_success 'a pgbackrest that hangs is killed at the check timeout (mock: real pgBackRest cannot be made to hang on demand)' '
	printf "#!/bin/sh\nexec sleep 30\n" > hang.sh && chmod +x hang.sh &&
	RB_TIMEOUT=2s write_rb hang.yaml <<-EOF &&
	stanza: demo
	binary: $TEST_TMP/hang.sh
	EOF
	start=$(test_now_ms) &&
	run_check hang.yaml &&
	test $(( $(test_now_ms) - start )) -lt $(( 2000 + TEST_SLACK_MS )) &&
	expect error "pgbackrest info: timed out after *"
'

test_expect_success 'types: [full] judges the full even when a newer incremental exists' '
	full_stop=$(pgbr_backup_field "$FULL" timestamp stop) &&
	wait_until 60 sh -c "test \$(( \$(date +%s) - $full_stop )) -ge 30" &&
	pgbr_backup incr &&
	INCR=$(pgbr_last_label) && test "$INCR" != "$FULL" &&
	incr_stop=$(pgbr_backup_field "$INCR" timestamp stop) &&
	test $((incr_stop - full_stop)) -ge 30 &&
	max=$(( $(date +%s) - (full_stop + incr_stop) / 2 )) &&
	write_rb full.yaml <<-EOF &&
	stanza: demo
	config: $PGBR_CONF
	types: [full]
	max_age: ${max}s
	EOF
	write_rb any.yaml <<-EOF &&
	stanza: demo
	config: $PGBR_CONF
	max_age: ${max}s
	EOF
	run_check any.yaml 0 &&
	expect pass "backup $INCR (incr): *" &&
	test "$(detail .prior)" = "$FULL" &&
	run_check full.yaml &&
	expect fail "backup $FULL (full) is * old (max_age *" &&
	write_rb diff.yaml <<-EOF &&
	stanza: demo
	config: $PGBR_CONF
	types: [diff]
	EOF
	run_check diff.yaml &&
	expect fail "stanza demo: no diff backup (2 backups of other types)"
'

test_expect_success 'a backup that met an invalid page checksum (error: true) fails although verify is happy' '
	rel=$(pg_psql primary "select pg_relation_filepath('"'"'pgbench_tellers'"'"')") &&
	pg_stop primary &&
	runuser -u postgres -- "$PGBIN/pg_checksums" --enable -D "$(pg_datadir primary)" >/dev/null &&
	/usr/bin/python3 -c "import sys;f=open(sys.argv[1],\"r+b\");f.seek(4000);b=f.read(1);f.seek(4000);f.write(bytes([b[0]^255]))" "$(pg_datadir primary)/$rel" &&
	_pg_start primary &&
	pgbr_backup full &&
	BAD=$(pgbr_last_label) &&
	test "$(pgbr_backup_field "$BAD" error)" = True &&
	run_check ok.yaml &&
	expect fail "backup $BAD: pgBackRest recorded errors during the backup (error: true, e.g. invalid page checksums)" &&
	test "$(detail .verify.backup_status)" = valid &&
	test "$(detail .error)" = true
'

test_expect_success 'an unknown backup type in types is a runbook error (78)' '
	write_rb badtype.yaml <<-EOF &&
	stanza: demo
	types: [full, weekly]
	EOF
	expect_status 78 gate check --format json badtype.yaml >out.json 2>err.txt &&
	grep -q "weekly" err.txt
'

test_done
