# shellcheck shell=bash
# A real pgBackRest 2.45 repository for tests and benchmarks, after the
# verified recipe for a local repository.  Everything lives
# under $PGBR_DIR (default $TEST_TMP/pgbackrest): the configuration file,
# the repository, lock, log and spool paths.  The host's
# /etc/pgbackrest.conf and /var/log/pgbackrest are never read or written:
# every call passes --config=$PGBR_CONF, which names the only file loaded,
# and that file keeps lock-path/log-path/spool-path inside $PGBR_DIR.
# pgBackRest runs as `postgres` (archive-push runs as postgres, so the
# repository must be owned by it).  Needs tests/lib/pg.sh.
#
#   pg_primary_start primary
#   pgbr_setup primary               # conf, archive_command, stanza-create, check
#   pgbr_backup full                 # a full backup; label in $(pgbr_last_label)
#   pgbr info --output=json          # any pgbackrest command, as postgres

: "${PGBR_DIR:=${TEST_TMP:?}/pgbackrest}"
: "${PGBR_STANZA:=demo}"
PGBR_CONF=$PGBR_DIR/pgbackrest.conf
PGBR_REPO=$PGBR_DIR/repo

# pgbr ARGS...: pgbackrest as postgres with the fixture's config and stanza
pgbr() {
	(cd "$PGBR_DIR" && runuser -u postgres -- pgbackrest --config="$PGBR_CONF" \
		--stanza="$PGBR_STANZA" "$@")
}

# pgbr_setup PRIMARY: configure a repository for PRIMARY (a pg.sh server),
# point its archive_command at it, create the stanza and prove archiving.
pgbr_setup() {
	local primary=$1
	mkdir -p "$PGBR_DIR"/{repo,lock,log,spool}
	cat > "$PGBR_CONF" <<EOC
[global]
repo1-path=$PGBR_REPO
repo1-retention-full=2
lock-path=$PGBR_DIR/lock
log-path=$PGBR_DIR/log
spool-path=$PGBR_DIR/spool
log-level-console=warn
log-level-file=detail
start-fast=y
archive-timeout=30

[$PGBR_STANZA]
pg1-path=$(pg_datadir "$primary")
pg1-port=$(pg_port "$primary")
pg1-socket-path=$PG_ROOT/run
pg1-user=postgres
EOC
	chown -R postgres:postgres "$PGBR_DIR"
	chmod 755 "$PGBR_DIR"
	pg_psql "$primary" "ALTER SYSTEM SET archive_command = 'pgbackrest --config=$PGBR_CONF --stanza=$PGBR_STANZA archive-push %p'" >/dev/null &&
	pg_psql "$primary" "SELECT pg_reload_conf()" >/dev/null &&
	pgbr stanza-create >/dev/null &&
	pgbr check >/dev/null
}

# pgbr_backup TYPE [extra options]: full, diff or incr
pgbr_backup() {
	local type=$1; shift
	pgbr --type="$type" "$@" backup >/dev/null
}

# the label of the newest backup
pgbr_last_label() {
	pgbr info --output=json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["backup"][-1]["label"])'
}

# pgbr_backup_json LABEL FIELD...: a field of a backup in `info`, e.g. archive start
pgbr_backup_field() {
	local label=$1; shift
	pgbr info --output=json | /usr/bin/python3 -c '
import json, sys
b = next(b for b in json.load(sys.stdin)[0]["backup"] if b["label"] == sys.argv[1])
for k in sys.argv[2:]:
    b = b[k]
print(b)' "$label" "$@"
}

# pgbr_wal_file SEGMENT: the one finished file of WAL segment SEGMENT in the
# repository (SEGMENT-<sha1>[.gz|...]).  Never pgBackRest's
# "....pgbackrest.tmp", which archive-push is still writing: only a name it
# has renamed into place counts.  Fails unless exactly one file matches.
pgbr_wal_file() {
	local seg=$1 dir
	dir=$PGBR_REPO/archive/$PGBR_STANZA/$(pgbr_archive_id)/${seg:0:16}
	find "$dir" -maxdepth 1 -type f -regextype posix-extended \
		-regex ".*/$seg-[0-9a-f]{40}(\.(gz|bz2|lz4|zst))?" 2>/dev/null |
		awk 'END { if (NR != 1) exit 1 } { print }'
}

# the archive id of the stanza (e.g. 15-1)
pgbr_archive_id() {
	pgbr info --output=json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["archive"][0]["id"])'
}

# pgbr_archived PRIMARY SEGMENT: PostgreSQL reports SEGMENT archived, that
# is archive-push returned success, which it does only after the file is
# complete in the repository.
pgbr_archived() {
	local n
	n=$(pg_psql "$1" "select count(*) from pg_stat_archiver where last_archived_wal >= '$2' and last_archived_wal ~ '^[0-9A-F]{24}\$'") &&
	test "$n" = 1
}

# flip_byte FILE: invert one byte in the middle of FILE (a real corruption)
flip_byte() {
	/usr/bin/python3 -c 'import sys
p = sys.argv[1]
f = open(p, "r+b"); f.seek(0, 2); o = f.tell() // 2; f.seek(o); b = f.read(1)
f.seek(o); f.write(bytes([b[0] ^ 255])); f.close()' "$1"
}
