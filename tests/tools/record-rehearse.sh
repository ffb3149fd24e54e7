#!/bin/bash
# Record the server logs the restore rehearsals read (checks/lib/
# pgscratch_judge.c, pgscratch_log_reason), from real runs: a PostgreSQL
# 15 primary archiving into a pgBackRest 2.45 repository
# (tests/lib/pgbackrest.sh), a full backup restored as pgbackrest.restore
# restores it, and the copy started as pgscratch_start starts it (the
# same -c settings: log_line_prefix '%m [%p] ', lc_messages C, no TCP
# listener, restore_command an archive-get with no log file), its log
# kept.  pg_isready polls the socket meanwhile, as the rehearsal's pings
# do, so the log has the refused connections a real run has.
#
#   ok.log              the backup restored, consistent, promoted, stopped
#   missing-wal.log     the backup's stop segment moved out of the
#                       repository: recovery ends before consistency
#   bad-setting.log     a -c value the server rejects (never recovers)
#   no-restore-cmd.log  recovery.signal and an empty restore_command
#
# Writes tests/data/recorded/rehearse/server-log/<case> (tests/unit/
# test_pgscratch.c reads them) and the same files into
# fuzz/corpus/pgscratch/rec-<case>.  Needs root (servers run as
# postgres).  Takes about half a minute.
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
