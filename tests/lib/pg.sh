# shellcheck shell=bash
# Real PostgreSQL 15 servers for tests and the demo, after the verified
# recipe for PostgreSQL as root (initdb and pg_ctl run as postgres).  Everything lives under $PG_ROOT
# (default $TEST_TMP/pg); every server is stopped by PID at exit (the
# caller registers pg_stop_all with its cleanup).  PostgreSQL refuses to run
# as root, so servers run as the `postgres` user.
#
#   pg_primary_start primary            # initdb + start; port in $(pg_port primary)
#   pg_replica_start replica1 primary   # slot + pg_basebackup -R + start
#   pg_psql primary "select 1"          # psql -XAt as postgres over TCP
#   pg_stop replica1                    # fast stop
#   pg_conninfo primary                 # "host=127.0.0.1 port=N dbname=postgres user=postgres"

: "${PGBIN:=/usr/lib/postgresql/15/bin}"
: "${PG_ROOT:=${TEST_TMP:?}/pg}"

_pg_as() { (cd "$PG_ROOT" && runuser -u postgres -- "$@"); }

pg_init_root() {
	[ -d "$PG_ROOT/run" ] && return 0
	mkdir -p "$PG_ROOT/run" "$PG_ROOT/log"
	chmod 755 "$PG_ROOT"
	chown -R postgres:postgres "$PG_ROOT"
}

pg_port() { cat "$PG_ROOT/$1.port"; }
pg_datadir() { echo "$PG_ROOT/$1"; }
pg_conninfo() { echo "host=127.0.0.1 port=$(pg_port "$1") dbname=postgres user=postgres connect_timeout=5"; }

# pick a free port below the ephemeral range
_pg_free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		if ! ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null | grep -q .; then
			echo "$p"; return 0
		fi
	done
	return 1
}

_pg_start() {
	local name=$1 i
	for i in 1 2 3; do
		if _pg_as "$PGBIN/pg_ctl" -D "$PG_ROOT/$name" -l "$PG_ROOT/log/$name.log" -w -t 60 start >/dev/null; then
			return 0
		fi
		# port taken between the probe and the bind: pick another
		local port; port=$(_pg_free_port)
		echo "port = $port" >> "$PG_ROOT/$name/postgresql.auto.conf"
		echo "$port" > "$PG_ROOT/$name.port"
	done
	echo "pg: could not start $name" >&2; tail -n 20 "$PG_ROOT/log/$name.log" >&2
	return 1
}

# pg_primary_start NAME [extra postgresql.conf lines...]
pg_primary_start() {
	local name=$1; shift
	pg_init_root
	local port; port=$(_pg_free_port)
	echo "$port" > "$PG_ROOT/$name.port"
	_pg_as "$PGBIN/initdb" -D "$PG_ROOT/$name" -U postgres -A trust -E UTF8 \
		--locale=C.UTF-8 --no-instructions >/dev/null || return 1
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $port"
		echo "unix_socket_directories = '$PG_ROOT/run'"
		echo "cluster_name = '$name'"
		echo "archive_mode = on"
		echo "archive_command = '/bin/true'"
		echo "wal_receiver_status_interval = 1s"
		echo "max_wal_senders = 20"
		echo "max_replication_slots = 20"
		local l; for l in "$@"; do echo "$l"; done
	} >> "$PG_ROOT/$name/postgresql.conf"
	_pg_start "$name"
}

# pg_replica_start NAME PRIMARY: a streaming replica with a slot NAME
pg_replica_start() {
	local name=$1 primary=$2
	local pport; pport=$(pg_port "$primary")
	pg_psql "$primary" "select pg_create_physical_replication_slot('$name', true)" >/dev/null || return 1
	_pg_as "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres \
		-D "$PG_ROOT/$name" -R -X stream -S "$name" -c fast >/dev/null || return 1
	local port; port=$(_pg_free_port)
	echo "$port" > "$PG_ROOT/$name.port"
	printf "port = %s\ncluster_name = '%s'\n" "$port" "$name" >> "$PG_ROOT/$name/postgresql.auto.conf"
	_pg_start "$name"
}

# pg_wait_streaming PRIMARY N: until N replicas stream
pg_wait_streaming() {
	local primary=$1 n=$2 end=$(( $(date +%s) + 30 ))
	until [ "$(pg_psql "$primary" "select count(*) from pg_stat_replication where state='streaming'")" -ge "$n" ]; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

pg_psql() {
	local name=$1; shift
	psql -XAtq -h 127.0.0.1 -p "$(pg_port "$name")" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$@"
}

pg_pid() { head -n 1 "$PG_ROOT/$1/postmaster.pid" 2>/dev/null; }

# _pg_shm_release DATADIR: the System V segment a killed postmaster leaves
# (postmaster.pid's line 7: key and id) is removed once nothing is
# attached to it and it is still that key, so a test that kills a server
# leaves nothing in the machine's IPC table.
_pg_shm_release() {
	local key id info
	read -r key id < <(sed -n 7p "$1/postmaster.pid" 2>/dev/null) || return 0
	[ -n "$id" ] || return 0
	for _ in $(seq 50); do
		info=$(ipcs -m -i "$id" 2>/dev/null) || return 0
		case $info in *"nattch=0"*) break ;; esac
		sleep 0.1
	done
	[ "$(ipcs -m | awk -v id="$id" '$2 == id {print $1}')" = "$(printf '0x%08x' "$key")" ] &&
		ipcrm -m "$id" 2>/dev/null
	return 0
}

pg_stop() {
	local name=$1
	[ -f "$PG_ROOT/$name/postmaster.pid" ] || return 0
	_pg_as "$PGBIN/pg_ctl" -D "$PG_ROOT/$name" -m fast -w -t 30 stop >/dev/null 2>&1 && return 0
	local pid; pid=$(pg_pid "$name")
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	_pg_shm_release "$PG_ROOT/$name"
	return 0
}

pg_restart() { pg_stop "$1"; _pg_start "$1"; }

pg_stop_all() {
	local d
	for d in "$PG_ROOT"/*/; do
		[ -f "$d/postmaster.pid" ] && pg_stop "$(basename "$d")"
	done
	return 0
}

# ---- appended by the postgres check family (t1xxx, bench/postgres) ----

# pg_replicas_start PRIMARY N [PREFIX]: N streaming replicas PREFIX1..PREFIXN
# (default "replica"), the way that works for many at once: every slot
# first, one after another, then the base backups a few at a time (a fast
# checkpoint must not invalidate a slot another backup is creating).
pg_replicas_start() {
	local primary=$1 n=$2 prefix=${3:-replica} i pport
	pport=$(pg_port "$primary")
	for i in $(seq 1 "$n"); do
		pg_psql "$primary" "select pg_create_physical_replication_slot('$prefix$i', true)" >/dev/null || return 1
	done
	for i in $(seq 1 "$n"); do
		_pg_as "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres \
			-D "$PG_ROOT/$prefix$i" -R -X stream -S "$prefix$i" -c fast >/dev/null &
		if [ $((i % 4)) = 0 ] || [ "$i" = "$n" ]; then wait || return 1; fi
	done
	wait
	for i in $(seq 1 "$n"); do
		local port; port=$(_pg_free_port)
		echo "$port" > "$PG_ROOT/$prefix$i.port"
		printf "port = %s\ncluster_name = '%s'\n" "$port" "$prefix$i" >> "$PG_ROOT/$prefix$i/postgresql.auto.conf"
		_pg_start "$prefix$i" || return 1
	done
}

# pg_set NAME "param" "value": ALTER SYSTEM SET and reload (value quoted as a literal).
pg_set() {
	pg_psql "$1" "ALTER SYSTEM SET $2 = '$3'" && pg_psql "$1" "SELECT pg_reload_conf()" >/dev/null
}

# pg_reset NAME "param": ALTER SYSTEM RESET and reload.
pg_reset() {
	pg_psql "$1" "ALTER SYSTEM RESET $2" && pg_psql "$1" "SELECT pg_reload_conf()" >/dev/null
}

# pg_wal_write PRIMARY ROWS: write about ROWS*40 bytes of WAL (a table gate_t).
pg_wal_write() {
	pg_psql "$1" "CREATE TABLE IF NOT EXISTS gate_t(v text); INSERT INTO gate_t SELECT 'wal' FROM generate_series(1, $2)" >/dev/null
}

# pg_caught_up PRIMARY: every walsender has replayed what the primary wrote.
pg_caught_up() {
	[ "$(pg_psql "$1" "select count(*) from pg_stat_replication where replay_lsn is distinct from pg_current_wal_lsn()")" = 0 ]
}
