# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# The fixture of bench/peers (sourced by run.sh and growth.sh): on loopback,
# on probed free ports, everything under $T (a temporary directory):
#
#   a PostgreSQL primary ("primary", run as the postgres user by
#   tests/lib/pg.sh) archiving into a pgBackRest repository that holds one
#   full backup (tests/lib/pgbackrest.sh),
#   N streaming replicas, grown with peers_grow N (each has its own slot),
#   an HTTP health endpoint (tests/servers/httpd.py, a real HTTP/1.1 server).
#
#   peers_up                   primary, repository + full backup, HTTP server
#   peers_grow N               add replicas until N stream and have caught up
#   peers_runbook FILE         gate's runbook for the replicas there are
#   peers_env                  the environment dba-check.sh and
#                              check-postgres.sh read (export'ed)
#   peers_down                 stop everything (the caller traps it)
#
#   peers_prepare N            grow to N replicas, write $T/rbN.yaml, $T/ciN
#   peers_check N TOOL         one run of TOOL must pass (and warms it up)
#   peers_measure N TOOL       wait for a quiet machine (bench_quiet), time
#                              one run, append "SECONDS MAXRSS_KB" to $T/t.N.TOOL
# TOOL: gate, script (dba-check.sh), check_postgres (check-postgres.sh),
# floor ($T/floor, built from floor.c), pgbr_info (`pgbackrest info` alone).
#
# Needs ROOT (the source tree), T, GATE_BIN, and bench/lib.sh (bench_init'ed).

export LC_ALL=C.UTF-8
TEST_TMP=$T
. "$ROOT/tests/lib/pg.sh"
. "$ROOT/tests/lib/pgbackrest.sh"
PEERS_REPLICAS=()
PEERS_HTTP_PID=
PEERS_MAXN=${PEERS_MAXN:-64}

peers_down() {
	# never stop half-way (the caller may run under set -e)
	if [ -n "$PEERS_HTTP_PID" ]; then
		kill "$PEERS_HTTP_PID" 2>/dev/null || true
		_peers_wait 10 _peers_gone "$PEERS_HTTP_PID" || kill -KILL "$PEERS_HTTP_PID" 2>/dev/null || true
		PEERS_HTTP_PID=
	fi
	pg_stop_all >/dev/null 2>&1 || true
	return 0
}

_peers_free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		ss -Htan "( sport = :$p or dport = :$p )" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

_peers_gone() { ! kill -0 "$1" 2>/dev/null; }

# _peers_wait SECONDS CMD...: until CMD succeeds, at most SECONDS
_peers_wait() {
	local end=$(($(date +%s) + $1)); shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

peers_up() {
	chmod 755 "$T"
	# Room for PEERS_MAXN replicas and the base backups that make them
	# (two WAL senders each, four at a time); little shared memory each,
	# as 65 servers share the machine (the replicas inherit this file).
	pg_primary_start primary "max_wal_senders = $((PEERS_MAXN + 16))" \
		"max_replication_slots = $((PEERS_MAXN + 16))" "shared_buffers = 16MB" \
		"max_connections = 50" >/dev/null || return 1
	pgbr_setup primary || { echo "pgbackrest: stanza-create or check failed" >&2; return 1; }
	pgbr_backup full || { echo "pgbackrest: the full backup failed" >&2; return 1; }
	PEERS_HTTP_PORT=$(_peers_free_port)
	# Not a job of this shell: pg_replicas_start's `wait` must not wait for it.
	(/usr/bin/python3 "$ROOT/tests/servers/httpd.py" "$PEERS_HTTP_PORT" --ready "$T/httpd.ready" \
		</dev/null >"$T/httpd.log" 2>&1 & echo $! >"$T/httpd.pid")
	PEERS_HTTP_PID=$(cat "$T/httpd.pid")
	_peers_wait 30 test -s "$T/httpd.ready" || { echo "the HTTP server did not start" >&2; return 1; }
	PEERS_URL="http://127.0.0.1:$PEERS_HTTP_PORT/"
}

# _peers_streaming N: N walsenders streaming with a reply and nothing left
# to replay, and the archiver has nothing waiting
_peers_streaming() {
	[ "$(pg_psql primary "select count(*) from pg_stat_replication where state = 'streaming'
		and reply_time is not null and replay_lsn = sent_lsn")" -ge "$1" ] &&
	[ "$(pg_psql primary "select count(*) from pg_ls_archive_statusdir() where name like '%.ready'")" = 0 ]
}

# peers_grow N: start replicas until there are N (names g<N>r1, g<N>r2, ...)
peers_grow() {
	local n=$1 have=${#PEERS_REPLICAS[@]} i
	[ "$n" -gt "$PEERS_MAXN" ] && { echo "N=$n is over PEERS_MAXN=$PEERS_MAXN" >&2; return 1; }
	if [ "$n" -gt "$have" ]; then
		pg_replicas_start primary $((n - have)) "g${n}r" || return 1
		for ((i = 1; i <= n - have; i++)); do PEERS_REPLICAS+=("g${n}r$i"); done
	fi
	_peers_wait $((60 + 2 * n)) _peers_streaming "$n" ||
		{ echo "the replicas did not all stream within $((60 + 2 * n)) s" >&2; return 1; }
}

# peers_runbook FILE: the judgements of every tool, as gate's runbook
peers_runbook() {
	local r
	{
		printf 'version: 1\nname: bench-peers-%s\nchecks:\n' "${#PEERS_REPLICAS[@]}"
		for r in "${PEERS_REPLICAS[@]}"; do
			printf '  - id: %s\n    type: postgres.replica\n    with:\n' "$r"
			printf '      conninfo: "%s"\n      max_replay_bytes: 16MiB\n      max_receive_age: 60s\n' \
				"$(pg_conninfo "$r")"
		done
		printf '  - id: archiver\n    type: postgres.archiver\n    with:\n'
		printf '      conninfo: "%s"\n      max_ready: 10\n' "$(pg_conninfo primary)"
		# Freshness from `pgbackrest info`, as the script and the DBA read
		# it: no verify, no WAL listing (each its own pgbackrest run).
		printf '  - id: backup\n    type: pgbackrest.backup\n    with:\n'
		printf '      stanza: %s\n      config: %s\n      max_age: 24h\n' "$PGBR_STANZA" "$PGBR_CONF"
		printf '      verify: false\n      require_wal: false\n'
		printf '  - id: health\n    type: http\n    with:\n      url: "%s"\n' "$PEERS_URL"
	} >"$1"
	chmod 644 "$1"
}

# peers_env: what dba-check.sh and check-postgres.sh read
peers_env() {
	local r ports=()
	for r in "${PEERS_REPLICAS[@]}"; do ports+=("$(pg_port "$r")"); done
	export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=postgres PGCONNECT_TIMEOUT=5
	export PRIMARY_PORT REPLICA_PORTS BACKREST_CONF BACKREST_STANZA HEALTH_URL
	PRIMARY_PORT=$(pg_port primary)
	REPLICA_PORTS=${ports[*]}
	BACKREST_CONF=$PGBR_CONF
	BACKREST_STANZA=$PGBR_STANZA
	HEALTH_URL=$PEERS_URL
}

# peers_conninfos: the primary's conninfo, then each replica's, one a line
peers_conninfos() {
	local r
	pg_conninfo primary
	for r in "${PEERS_REPLICAS[@]}"; do pg_conninfo "$r"; done
}

# peers_prepare N: N replicas, gate's runbook, the scripts' environment
peers_prepare() {
	local t0
	t0=$(date +%s)
	peers_grow "$1" || exit 1
	echo "# N=$1: $1 replicas streaming ($(($(date +%s) - t0)) s)" >&2
	peers_runbook "$T/rb$1.yaml"
	peers_env
	peers_conninfos >"$T/ci$1"
}

# _peers_once TOOL N: one run of TOOL; "SECONDS MAXRSS_KB EXIT"
_peers_once() {
	local argv ci
	case $1 in
	gate) argv=("$GATE_BIN" check "$T/rb$2.yaml") ;;
	script) argv=("$ROOT/bench/peers/dba-check.sh") ;;
	check_postgres) argv=("$ROOT/bench/peers/check-postgres.sh") ;;
	floor) mapfile -t ci <"$T/ci$2"; argv=("$T/floor" "${ci[@]}") ;;
	pgbr_info) argv=(pgbackrest --config="$PGBR_CONF" --stanza="$PGBR_STANZA"
		--log-level-file=off --output=json info) ;;
	esac
	BENCH_LOG=$T/last.log bench_run "${argv[@]}"
}

# peers_check N TOOL: a run that must pass (exit 0), or the script stops
peers_check() {
	local s rss rc
	read -r s rss rc < <(_peers_once "$2" "$1")
	if [ "$rc" != 0 ]; then
		echo "N=$1: $2 failed (exit $rc):" >&2
		cat "$T/last.log" >&2
		exit 1
	fi
	PEERS_LAST="$s $rss"
}

# peers_measure N TOOL: a quiet machine, then one timed run that must pass
peers_measure() {
	bench_quiet
	peers_check "$1" "$2"
	echo "$PEERS_LAST" >>"$T/t.$1.$2"
}
