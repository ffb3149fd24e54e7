#!/bin/bash
# Record rehearsal records as `gate rehearse` writes them (gate/rehearsal.c),
# for the table tests of backup.rehearsed (tests/unit/test_backup_rehearsed.c)
# and the seeds of fuzz/fuzz_rehearsal_record.c.  Each is a real run of the
# built gate rehearse on a runbook of the test rehearsal type
# tests/data/rehearse/rh_module.c (the types pgbackrest.restore,
# basebackup.restore and dump.restore report the same details.rehearsal),
# in this order, so that "later" in the table tests is real:
#   pgbr-old-pass    a pass of backup 20261127-020000F (the older backup)
#   pgbr-pass        a pass of backup 20261128-020000F (the newest)
#   pgbr-fail        a failed probe of 20261128-020000F
#   pgbr-error       an error of 20261128-020000F (free space short)
#   pgbr-crash       the type crashed: no details, no backup named; source stanza demo
#   pgbr-interrupted gate rehearse stopped by SIGTERM mid-rehearsal
#   bb-pass          a pass of a base backup directory
#   file-pass        a pass of a dump file
# and two of the real pgbackrest.restore (below).
# Writes tests/data/recorded/rehearse/records/<case>.json and
# fuzz/corpus/rehearsal_record/rec-<case>.json.  Needs cc, pkg-config, root
# (the servers run as postgres) and what scripts/install-deps.sh installs.
#
#   GATE_BUILD_DIR=$PWD/build tests/tools/record-rehearsal-records.sh
set -u
# shellcheck source=tests/lib/test-lib.sh
. "$(dirname "$0")/../lib/test-lib.sh"
R=$GATE_SOURCE_DIR/tests/data/recorded/rehearse/records
C=$GATE_SOURCE_DIR/fuzz/corpus/rehearsal_record
cd "$TEST_TMP" || exit 1
mkdir -p mod "$R" "$C" scratch
cc -std=c17 -shared -fPIC -I"$GATE_SOURCE_DIR" $(pkg-config --cflags jansson) \
	-o mod/rh.so "$GATE_SOURCE_DIR/tests/data/rehearse/rh_module.c" || exit 1

PGBR_NEW='{kind: pgbackrest, stanza: demo, repo: 1, label: 20261128-020000F, type: full, start: "2026-11-28T02:00:00Z", stop: "2026-11-28T02:03:10Z"}'
PGBR_OLD='{kind: pgbackrest, stanza: demo, repo: 1, label: 20261127-020000F, type: full, start: "2026-11-27T02:00:00Z", stop: "2026-11-27T02:03:02Z"}'
BB='{kind: basebackup, path: /var/backups/pg/base-20261128, start_time: "2026-11-28 02:00:01 UTC", manifest_checksum: 9c1e0f1b0b6c5f5e1ad0a1f3bb1b9d58d8a2a0b4f1e2c3d4e5f60718293a4b5c}'
FILE='{kind: file, path: /var/backups/pg/app-20261128.dump, size: 48213, mtime_ns: 1795831210123456789, sha256: 3b8f0e5e7d0f2c1a9b6e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c3b2a19080}'

# record CASE MODE IDENTITY [extra with: lines]: one rehearsal, its record kept
record() {
	local case=$1 mode=$2 id=$3 extra=${4:-}
	rm -rf st && mkdir -m 700 st
	write_rb rb.yaml <<EOR
version: 1
name: nightly
checks:
  - id: $case
    type: rh.restore
    with:
      mode: $mode
      stanza: demo
      backup: $id
$extra
EOR
	gate rehearse -q --module-path mod --state-dir st rb.yaml >/dev/null 2>&1
	cp st/*.json "$R/$case.json" && cp st/*.json "$C/rec-$case.json" && echo "recorded $case"
}
record pgbr-old-pass pass "$PGBR_OLD"
record pgbr-pass pass "$PGBR_NEW"
record pgbr-fail fail "$PGBR_NEW"
record pgbr-error error "$PGBR_NEW"
record pgbr-crash crash "$PGBR_NEW"
# interrupted: the hang mode's scratch file says when it is under way
rm -rf st && mkdir -m 700 st && rm -f scratch/current
write_rb rb.yaml <<EOR
version: 1
name: nightly
checks:
  - id: pgbr-interrupted
    type: rh.restore
    with: {mode: hang, stanza: demo, scratch_dir: $TEST_TMP/scratch, backup: $PGBR_NEW}
EOR
"$GATE_BIN" rehearse -q --module-path mod --state-dir st rb.yaml >/dev/null 2>&1 &
pid=$!
wait_until 30 test -s scratch/current && kill -TERM "$pid"
wait "$pid"
cp st/*.json "$R/pgbr-interrupted.json" && cp st/*.json "$C/rec-pgbr-interrupted.json" && echo "recorded pgbr-interrupted"
record bb-pass pass "$BB"
record file-pass pass "$FILE"

# The real pgbackrest.restore on a real PostgreSQL 15 primary and
# pgBackRest 2.45 repository (tests/lib/pgbackrest.sh): a pass, then a
# failed probe, of the same backup.
#   real-pgbr-pass   rows of a table counted on the restored copy
#   real-pgbr-fail   the same backup, a probe asking for more rows
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
. "$GATE_SOURCE_DIR/tests/lib/pgbackrest.sh"
test_cleanup pg_stop_all
pg_primary_start primary >/dev/null || exit 1
pg_psql primary "create table t as select generate_series(1, 100) as n" >/dev/null
pgbr_setup primary && pgbr_backup full || exit 1
mkdir -m 755 real
# real CASE MIN: one rehearsal of the newest backup, its record kept
real() {
	rm -rf st && mkdir -m 700 st
	write_rb rb.yaml <<EOR
version: 1
name: nightly
checks:
  - id: $1
    type: pgbackrest.restore
    with:
      stanza: demo
      config: $PGBR_CONF
      scratch_dir: $TEST_TMP/real
      probes:
        - {name: rows, sql: "select count(*) from t", min: $2}
EOR
	"$GATE_BIN" rehearse -q --state-dir st rb.yaml >/dev/null 2>&1
	cp st/*.json "$R/$1.json" && cp st/*.json "$C/rec-$1.json" && echo "recorded $1 (label $(pgbr_last_label))"
}
real real-pgbr-pass 100
real real-pgbr-fail 1000
