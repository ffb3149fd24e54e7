# shellcheck shell=bash
# Sessions that hold a PostgreSQL advisory lock for the postgres lock kind's
# tests (t81xx) and its recorder (tests/tools/record-hold-postgres.sh).
# A holder is a process whose stdin is a FIFO kept open by a writer; ending
# the writer gives it end of file, which ends it.  Files in $TEST_TMP:
# NAME.out (its stdout), NAME.err, NAME.pid, NAME.writer.
#
#   holder_start NAME CMD...          start CMD (gate-hold ... take -1)
#   holder_psql NAME PSQL-ARGS... -- SQL
#                                     a psql session that runs SQL and stays
#   holder_end NAME                   end of file: it lets go and exits
#   holder_kill NAME                  SIGKILL (not waiting)
#   holder_gone NAME                  true when its process has exited
#   holder_stop_all                   for test_cleanup
#   pg_lock_id_sql "'KEY'"            SQL for the key's id (the argument is an SQL
#                                     literal), as PostgreSQL computes it

holder_start() {
	local name=$1 d=$TEST_TMP; shift
	rm -f "$d/$name.in" "$d/$name.out" && mkfifo "$d/$name.in"
	"$@" <"$d/$name.in" >"$d/$name.out" 2>"$d/$name.err" &
	echo $! >"$d/$name.pid"
	# the writer: holds the FIFO open (and so the holder's stdin) until killed
	exec sleep 3600 >"$d/$name.in" &
	echo $! >"$d/$name.writer"
}

holder_psql() {
	local name=$1 d=$TEST_TMP args=(); shift
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	rm -f "$d/$name.in" "$d/$name.out" && mkfifo "$d/$name.in"
	psql -XAtq "${args[@]}" <"$d/$name.in" >"$d/$name.out" 2>"$d/$name.err" &
	echo $! >"$d/$name.pid"
	{ printf '%s\n' "$1"; exec sleep 3600; } >"$d/$name.in" &
	echo $! >"$d/$name.writer"
}

# gone: no such process, or a zombie (its parent may be slow to reap it)
holder_gone() {
	local p st
	p=$(cat "$TEST_TMP/$1.pid") || return 1
	st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || return 0
	[ "${st%% *}" = Z ]
}

holder_end() {
	kill "$(cat "$TEST_TMP/$1.writer")" 2>/dev/null
	wait_until 30 holder_gone "$1"
}

holder_kill() { kill -KILL "$(cat "$TEST_TMP/$1.pid")"; }

holder_stop_all() {
	local f
	for f in "$TEST_TMP"/*.writer "$TEST_TMP"/*.pid; do
		[ -f "$f" ] && { kill -KILL "$(cat "$f")" 2>/dev/null || :; }
	done
	return 0
}

# the same id as holds/lock_postgres_judge.c, computed by the server
pg_lock_id_sql() {
	printf "select (('x' || left(encode(sha256(convert_to(%s, 'UTF8')), 'hex'), 16))::bit(64))::bigint" "$1"
}
