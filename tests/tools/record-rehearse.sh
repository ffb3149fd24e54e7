#!/bin/bash
# Record what the restore rehearsals basebackup.restore and dump.restore
# read from the backups themselves and from the tools that restore them,
# from the real tools the scenario tests run (t3110, t3120): a PostgreSQL
# 15 primary (tests/lib/pg.sh), pg_basebackup 15 (-Fp -X stream), pg_dump
# 15 in every format (-Fc, -Fd, -Ft, -Fp, and -Fp piped into gzip),
# pg_dumpall 15, and pg_restore, psql and createdb 15 failing on a scratch
# cluster (initdb -A trust --no-sync -E UTF8 --locale=C).
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
# Everything else lives in a temporary directory; every server is stopped
# at exit.  Needs root (servers run as postgres).  Takes about 15 s.
#
#   tests/tools/record-rehearse.sh
set -u
# shellcheck source=tests/lib/test-lib.sh
. "$(dirname "$0")/../lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
test_cleanup pg_stop_all
R=$GATE_SOURCE_DIR/tests/data/recorded/rehearse
C=$GATE_SOURCE_DIR/fuzz/corpus/rehearse_dumps
T=$TEST_TMP
cd "$T" || exit 1
mkdir -p "$R" "$C"
as() { runuser -u postgres -- "$@"; }
rec() { cp "$2" "$R/$1" && cp "$2" "$C/rec-$1" && echo "# $1 ($(wc -c <"$R/$1") bytes)"; }

pg_primary_start primary || exit 1
P=$(pg_port primary)
pg_psql primary "create role app nologin; create table t(id int primary key, note text);
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
