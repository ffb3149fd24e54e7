#!/bin/bash
# Record what the restore rehearsals read, from real runs of the real
# tools, on one PostgreSQL 15 primary (tests/lib/pg.sh).  Needs root
# (servers run as postgres).  Takes about 45 s.  Everything else lives in
# a temporary directory; every server is stopped at exit.
#
# 1. The server logs pgscratch reads (checks/lib/pgscratch_judge.c,
# pgscratch_log_reason): the primary archiving into a pgBackRest 2.45
# repository (tests/lib/pgbackrest.sh), a full backup restored as
# pgbackrest.restore restores it, and the copy started as pgscratch_start
# starts it (the same -c settings: log_line_prefix '%m [%p] ', lc_messages
# C, no TCP listener, restore_command an archive-get with no log file),
# its log kept.  pg_isready polls the socket meanwhile, as the
# rehearsal's pings do, so the log has the refused connections a real
# run has.
#
#   ok.log              the backup restored, consistent, promoted, stopped
#   missing-wal.log     the backup's stop segment moved out of the
#                       repository: recovery ends before consistency
#   bad-setting.log     a -c value the server rejects (never recovers)
#   no-restore-cmd.log  recovery.signal and an empty restore_command
#
# Writes tests/data/recorded/rehearse/server-log/<case> (tests/unit/
# test_pgscratch.c reads them) and the same files into
# fuzz/corpus/pgscratch/rec-<case>.
#
# 2. What basebackup.restore and dump.restore read from the backups
# themselves and from the tools that restore them, from the real tools the
# scenario tests run (t3110, t3120): pg_basebackup 15 (-Fp -X stream),
# pg_dump 15 in every format (-Fc, -Fd, -Ft, -Fp, and -Fp piped into
# gzip), pg_dumpall 15, and pg_restore, psql and createdb 15 failing on a
# scratch cluster (initdb -A trust --no-sync -E UTF8 --locale=C).
#
# Writes tests/data/recorded/rehearse/ (tests/unit/test_rehearse_dumps.c
# reads it) and seeds of the fuzz target fuzz/fuzz_rehearse_dumps.c
# (fuzz/corpus/rehearse_dumps/rec-*):
#   head-{custom,tar,plain,gzip,toc}  the first 512 bytes of each format
#                                    (toc: a directory dump's toc.dat)
#   tail-{plain,plain-cut,dumpall}   the last 4096 bytes of a plain dump,
#                                    of one cut short, of pg_dumpall's
#   manifest-tail                    backup_manifest's last 4096 bytes
#   manifest-checksum                its Manifest-Checksum, as sha256sum
#                                    of the manifest without that line says
#   backup_label                     the backup's backup_label
#   err-*                            a failing tool's stderr: pg_restore on
#                                    a cut custom dump, psql with
#                                    ON_ERROR_STOP on a dump naming a role
#                                    that does not exist, createdb of a
#                                    database that exists
#
#   tests/tools/record-rehearse.sh
set -u
# shellcheck source=tests/lib/test-lib.sh
. "$(dirname "$0")/../lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
. "$GATE_SOURCE_DIR/tests/lib/pgbackrest.sh"
test_cleanup pg_stop_all
R=$GATE_SOURCE_DIR/tests/data/recorded/rehearse/server-log
C=$GATE_SOURCE_DIR/fuzz/corpus/pgscratch
mkdir -p "$R" "$C"
cd "$TEST_TMP" || exit 1

pg_primary_start primary || exit 1
pg_psql primary "create table accounts(id int primary key); insert into accounts select generate_series(1, 1000)" >/dev/null
pgbr_setup primary || exit 1
pgbr_backup full || exit 1
label=$(pgbr_last_label)

# scratch CASE [-c settings...]: restore into a fresh scratch directory,
# start the copy there until it accepts connections or exits; its log
# into $R/CASE.
scratch() {
	local case=$1; shift
	local dir=$TEST_TMP/scr-$case
	install -d -o postgres -g postgres -m 700 "$dir" "$dir/data"
	echo "local all all trust" > "$dir/pg_hba.conf"
	: > "$dir/pg_ident.conf"
	chown postgres: "$dir/pg_hba.conf" "$dir/pg_ident.conf"
	pgbr --log-level-console=off --log-level-stderr=warn --log-level-file=off restore \
		--pg1-path="$dir/data" --set="$label" --type=immediate --target-action=promote \
		--archive-mode=off >/dev/null || return 1
	(cd "$dir" && exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$PGBIN/postgres" -D "$dir/data" \
		-c listen_addresses= -c archive_mode=off -c archive_command= \
		-c "restore_command=pgbackrest --config=$PGBR_CONF --stanza=$PGBR_STANZA --pg1-path=$dir/data --log-level-file=off --log-level-console=warn --log-level-stderr=off --no-archive-async archive-get %f \"%p\"" \
		-c recovery_end_command= -c archive_cleanup_command= -c primary_conninfo= \
		-c primary_slot_name= -c synchronous_standby_names= -c "external_pid_file=$dir/external.pid" \
		-c logging_collector=off -c log_destination=stderr -c "log_line_prefix=%m [%p] " \
		-c lc_messages=C -c ssl=off -c port=5432 -c "unix_socket_directories=$dir" \
		-c "hba_file=$dir/pg_hba.conf" -c "ident_file=$dir/pg_ident.conf" "$@" \
		>"$dir/server.log" 2>&1) &
	local pm=$!
	local i
	for i in $(seq 1 600); do
		kill -0 "$pm" 2>/dev/null || break
		"$PGBIN/pg_isready" -q -h "$dir" -p 5432 -U postgres && break
		sleep 0.05
	done
	if kill -0 "$pm" 2>/dev/null; then
		until [ "$(psql -XAt -h "$dir" -U postgres -d postgres -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; do sleep 0.05; done
		kill -INT "$pm"
	fi
	wait "$pm"
	sed "s|$TEST_TMP|/tmp/gate-rec|g" "$dir/server.log" > "$R/$case.log"
	cp "$R/$case.log" "$C/rec-$case"
	rm -rf "$dir"
	echo "recorded $case"
}

scratch ok
scratch bad-setting -c max_connections=-5
scratch no-restore-cmd -c restore_command=
seg=$(pgbr_backup_field "$label" archive stop)
f=$(pgbr_wal_file "$seg")
mv "$f" "$TEST_TMP/aside"
scratch missing-wal
mv "$TEST_TMP/aside" "$f"

# ---- 2. basebackup.restore and dump.restore ----
R=$GATE_SOURCE_DIR/tests/data/recorded/rehearse
C=$GATE_SOURCE_DIR/fuzz/corpus/rehearse_dumps
T=$TEST_TMP
cd "$T" || exit 1
mkdir -p "$R" "$C"
as() { runuser -u postgres -- "$@"; }
rec() { cp "$2" "$R/$1" && cp "$2" "$C/rec-$1" && echo "# $1 ($(wc -c <"$R/$1") bytes)"; }

P=$(pg_port primary)
# part 1's table dropped: the dumps hold only what this part makes
pg_psql primary "drop table accounts; create role app nologin; create table t(id int primary key, note text);
	insert into t select g, repeat('x', 50) || g from generate_series(1, 10000) g;
	alter table t owner to app" || exit 1
mkdir -p w && chown postgres w
as "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$P" -U postgres -D "$T/w/bb" -X stream -c fast || exit 1
for f in c d t p; do
	as pg_dump -h 127.0.0.1 -p "$P" -U postgres -F$f -f "$T/w/d.$f" postgres || exit 1
done
as pg_dumpall -h 127.0.0.1 -p "$P" -U postgres -f "$T/w/all.sql" || exit 1
gzip -c w/d.p >w/d.p.gz
head -c 300000 w/d.p >w/cut.p
head -c 30000 w/d.c >w/cut.c
chown postgres w/*

head -c 512 w/d.c >h && rec head-custom h
head -c 512 w/d.t >h && rec head-tar h
head -c 512 w/d.p >h && rec head-plain h
head -c 512 w/d.p.gz >h && rec head-gzip h
head -c 512 w/d.d/toc.dat >h && rec head-toc h
tail -c 4096 w/d.p >h && rec tail-plain h
tail -c 4096 w/cut.p >h && rec tail-plain-cut h
tail -c 4096 w/all.sql >h && rec tail-dumpall h
tail -c 4096 w/bb/backup_manifest >h && rec manifest-tail h
# PostgreSQL's Manifest-Checksum is the SHA-256 of the manifest up to and
# including the newline before that line: the recording proves it.
sed '$d' w/bb/backup_manifest | sha256sum | cut -c1-64 >h && rec manifest-checksum h
rec backup_label w/bb/backup_label

# The tools failing, against a scratch cluster as the rehearsals make it.
mkdir -p s && chown postgres s && chmod 700 s
as "$PGBIN/initdb" -D "$T/s/data" -A trust --no-sync -E UTF8 --locale=C --no-instructions >/dev/null || exit 1
SP=$(_pg_free_port)
as "$PGBIN/pg_ctl" -D "$T/s/data" -l "$T/s/log" -w -s \
	-o "-c listen_addresses='' -c port=$SP -c unix_socket_directories='$T/s'" start || exit 1
test_cleanup "runuser -u postgres -- $PGBIN/pg_ctl -D $T/s/data -m immediate -w stop >/dev/null 2>&1"
H=(-h "$T/s" -p "$SP")
as createdb "${H[@]}" -T template0 a && as createdb "${H[@]}" -T template0 b || exit 1
as "$PGBIN/pg_restore" --exit-on-error --no-owner --no-acl "${H[@]}" -d a "$T/w/cut.c" 2>h
rec err-pg_restore-cut h
as psql -X -q -v ON_ERROR_STOP=1 "${H[@]}" -d b -f "$T/w/d.p" >/dev/null 2>h
rec err-psql-role h
as createdb "${H[@]}" -T template0 a 2>h
rec err-createdb-exists h
rm -f h
