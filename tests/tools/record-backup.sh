#!/bin/bash
# Record the answers the backup checks judge, from the real tools the
# scenario tests run (t3000, t3010, t3020): a PostgreSQL 15 primary
# archiving into a pgBackRest 2.45 repository (tests/lib/pgbackrest.sh),
# pg_basebackup + pg_verifybackup 15, pg_dump -Fc + pg_restore 15 and
# sha256sum (coreutils).  Healthy answers and real faults: a flipped byte,
# a missing file, a missing or corrupt WAL segment, a missing stanza, a
# stanza without backups, a backup that met invalid page checksums.  Stale
# and future-dated backups are the same answers judged at another "now"
# (the table tests' rows).
#
# Writes tests/data/recorded/backup/<kind>/<case> (tests/unit/
# test_backup_judge.c reads them) and the same files, as seeds, into
# fuzz/corpus/<target>/rec-<case>.  Parts of one answer are separated by a
# line "%%" (fuzz/README.md):
#   pgbackrest/CASE     info --output=json %% verify stdout %% verify stderr
#                       %% repo-ls --output=json of the backup's WAL directory
#   verifybackup/CASE   exit code %% stdout %% stderr of pg_verifybackup
#   backup_label/CASE   a backup_label as pg_basebackup wrote it
#   file/sidecar-*      sidecars as sha256sum writes them (text, -b, --tag)
#   file/restore-*      exit code %% stdout %% stderr of pg_restore
#   file/dump.stat      "SIZE MTIME" of the dump the sidecars describe
# The seeds of fuzz targets that take several answers at once
# (basebackup, backup_file) join these the same way.
# Everything else lives in a temporary directory; every server is stopped
# at exit.  Needs root (servers run as postgres) and what
# scripts/install-deps.sh installs.  Takes about a minute.
#
#   tests/tools/record-backup.sh [pgbackrest|basebackup|file]...
set -u
# shellcheck source=tests/lib/test-lib.sh
. "$(dirname "$0")/../lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
. "$GATE_SOURCE_DIR/tests/lib/pgbackrest.sh" # pgbr_*, flip_byte
test_cleanup pg_stop_all
R=$GATE_SOURCE_DIR/tests/data/recorded/backup
C=$GATE_SOURCE_DIR/fuzz/corpus
T=$TEST_TMP
cd "$T" || exit 1
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(pgbackrest basebackup file)
want() { case " ${parts[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
# rec KIND CASE PART...: the parts joined by "\n%%\n" into $R/KIND/CASE
rec() {
	local kind=$1 name=$2 i=0 p
	shift 2
	mkdir -p "$R/$kind"
	{
		for p in "$@"; do
			[ $i -gt 0 ] && printf '\n%%%%\n'
			cat "$p"
			i=$((i + 1))
		done
	} >"$R/$kind/$name"
	echo "# $kind/$name ($(wc -c <"$R/$kind/$name") bytes)"
}
# seed TARGET CASE FILE: FILE as a seed of fuzz target TARGET
seed() { mkdir -p "$C/$1" && cp "$3" "$C/$1/rec-$2"; }
put() { printf '%s' "$2" >"$1"; }

pg_primary_start primary || exit 1
runuser -u postgres -- "$PGBIN/pgbench" -h 127.0.0.1 -p "$(pg_port primary)" -U postgres -i -s 1 -q postgres >/dev/null 2>&1

if want pgbackrest; then
	rm -rf "$R/pgbackrest" "$R/pgbackrest-verify"
	pgbr_setup primary || { echo "pgbackrest setup failed"; exit 1; }
	pgbr_backup full || exit 1
	label=$(pgbr_last_label)
	archid=$(pgbr_archive_id)
	waldir=$PGBR_REPO/archive/demo/$archid/0000000100000000
	# as the check runs it (checks/backup_pgbackrest.c)
	q() { pgbr --log-level-file=off --log-level-console=off "$@"; }
	ls_wal() {
		(cd "$PGBR_DIR" && runuser -u postgres -- pgbackrest --config="$PGBR_CONF" \
			--log-level-file=off --log-level-console=off --log-level-stderr=warn \
			--output=json repo-ls "archive/demo/$archid/0000000100000000")
	}
	# answer CASE: info, verify and repo-ls as they are now
	answer() {
		q --log-level-stderr=warn --output=json info >info.json
		q --log-level-stderr=info --output=text --verbose verify >v.out 2>v.err
		ls_wal >ls.json
		rec pgbackrest "$1" info.json v.out v.err ls.json
		seed pgbackrest_info "$1" "$R/pgbackrest/$1"
		put v.label "$(pgbr_last_label)"
		rec pgbackrest-verify "$1" v.label v.out v.err
		seed pgbackrest_verify "$1" "$R/pgbackrest-verify/$1"
		seed pgbackrest_repo_ls "$1" ls.json
	}
	answer healthy
	# a flipped byte in the biggest file of the backup
	f=$(find "$PGBR_REPO/backup/demo/$label/pg_data" -name '*.gz' -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2)
	flip_byte "$f"
	answer checksum
	flip_byte "$f"
	mv "$f" aside.gz
	answer file-missing
	mv aside.gz "$f"
	# the WAL segment the backup starts in, removed
	w=$(pgbr_wal_file "$(pgbr_backup_field "$label" archive start)")
	mv "$w" aside.wal
	answer wal-missing
	mv aside.wal "$w"
	# a corrupt WAL segment after the backup (the stanza's, not the backup's)
	next=$(pg_psql primary "create table rec(v int); insert into rec values (1); select pg_walfile_name(pg_switch_wal())")
	wait_until 60 pgbr_archived primary "$next"
	w=$(pgbr_wal_file "$next")
	flip_byte "$w"
	answer wal-corrupt
	flip_byte "$w"
	# a stanza that does not exist (status 1) and one without backups (2)
	PGBR_STANZA=nope q --log-level-stderr=warn --output=json info >info.json 2>/dev/null
	rec pgbackrest missing-stanza info.json
	seed pgbackrest_info missing-stanza "$R/pgbackrest/missing-stanza"
	printf '\n[empty]\npg1-path=%s\npg1-port=%s\npg1-socket-path=%s\npg1-user=postgres\n' \
		"$(pg_datadir primary)" "$(pg_port primary)" "$PG_ROOT/run" >>"$PGBR_CONF"
	PGBR_STANZA=empty pgbr stanza-create >/dev/null
	PGBR_STANZA=empty q --log-level-stderr=warn --output=json info >info.json
	rec pgbackrest no-backups info.json
	seed pgbackrest_info no-backups "$R/pgbackrest/no-backups"
	# an incremental after the full (types: [full] still judges the full)
	pgbr_backup incr || exit 1
	answer incr
fi

if want basebackup; then
	rm -rf "$R/verifybackup" "$R/backup_label"
	mkdir -p bb && chown postgres:postgres bb
	runuser -u postgres -- "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$(pg_port primary)" \
		-U postgres -D "$T/bb/base1" -X stream -c fast || exit 1
	vb() {
		local rc=0
		runuser -u postgres -- "$PGBIN/pg_verifybackup" -- "$T/bb/base1" >vb.out 2>vb.err || rc=$?
		put vb.rc "$rc"
		rec verifybackup "$1" vb.rc vb.out vb.err
		seed verifybackup "$1" "$R/verifybackup/$1"
		mkdir -p "$C/basebackup"
		{ cat bb/base1/backup_label; printf '\n%%%%\n'; cat "$R/verifybackup/$1"; } >"$C/basebackup/rec-$1"
	}
	rec backup_label base1 bb/base1/backup_label
	seed backup_label base1 bb/base1/backup_label
	vb ok
	rel=$(pg_psql primary "select pg_relation_filepath('pgbench_accounts')")
	flip_byte "bb/base1/$rel"
	vb checksum
	flip_byte "bb/base1/$rel"
	mv bb/base1/PG_VERSION aside.pgv
	echo x >bb/base1/extra-file
	vb missing-extra
	mv aside.pgv bb/base1/PG_VERSION
	rm -f bb/base1/extra-file
	seg=$(find bb/base1/pg_wal -name '[0-9A-F]*' -printf '%f\n' | grep -E '^[0-9A-F]{24}$' | sort | head -n 1)
	mv "bb/base1/pg_wal/$seg" aside.seg
	vb wal-missing
	mv aside.seg "bb/base1/pg_wal/$seg"
	mv bb/base1/backup_manifest aside.manifest
	vb no-manifest
	mv aside.manifest bb/base1/backup_manifest
fi

if want file; then
	rm -rf "$R/file"
	mkdir -p "$R/file" d
	pg_dump -h 127.0.0.1 -p "$(pg_port primary)" -U postgres -Fc -f d/db.dump postgres || exit 1
	stat -c '%s %Y' d/db.dump >"$R/file/dump.stat"
	(cd d && sha256sum db.dump) >"$R/file/sidecar-text"
	(cd d && sha256sum -b db.dump) >"$R/file/sidecar-binary"
	(cd d && sha256sum --tag db.dump) >"$R/file/sidecar-tag"
	(cd d && cp db.dump other.dump && sha256sum other.dump) >"$R/file/sidecar-other"
	cp d/db.dump d/flipped.dump && flip_byte d/flipped.dump
	(cd d && sha256sum flipped.dump | sed 's/flipped.dump/db.dump/') >"$R/file/sidecar-flipped"
	rt() {
		local rc=0
		pg_restore "$@" >rt.out 2>rt.err || rc=$?
		put rt.rc "$rc"
	}
	rt --list d/db.dump
	rec file restore-ok rt.rc rt.out rt.err
	cp d/db.dump d/trunc.dump && truncate -s 4000 d/trunc.dump
	rt --list d/trunc.dump
	rec file restore-truncated rt.rc rt.out rt.err
	cp d/db.dump d/cut.dump && truncate -s $(( $(stat -c %s d/db.dump) / 2 )) d/cut.dump
	rt -f /dev/null d/cut.dump
	rec file restore-cut-data rt.rc rt.out rt.err
	for s in text binary tag other flipped; do
		for r in ok truncated cut-data; do
			rec file-seed "$s-$r" "$R/file/sidecar-$s" "$R/file/sidecar-text" "$R/file/restore-$r"
			seed backup_file "$s-$r" "$R/file-seed/$s-$r"
		done
	done
	rm -rf "$R/file-seed"
fi
# last: it turns the primary's data checksums on and breaks one page
if want pgbackrest; then
	# a backup that met an invalid page checksum in the database (error: true)
	rel=$(pg_psql primary "select pg_relation_filepath('pgbench_tellers')")
	pg_stop primary
	runuser -u postgres -- "$PGBIN/pg_checksums" --enable -D "$(pg_datadir primary)" >/dev/null
	/usr/bin/python3 -c 'import sys;f=open(sys.argv[1],"r+b");f.seek(4000);b=f.read(1);f.seek(4000);f.write(bytes([b[0]^255]))' "$(pg_datadir primary)/$rel"
	_pg_start primary
	pgbr_backup full || exit 1
	answer page-error
fi
echo "done"
