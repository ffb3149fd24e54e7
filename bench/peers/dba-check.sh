#!/bin/bash
# SPDX-License-Identifier: MIT
# The same judgements as bench/peers' runbook, as a DBA would script them
# before maintenance: one server after another with psql, then pgBackRest's
# info with jq, then the health endpoint with curl.  Exit 0 when all pass,
# 1 when any fails (each failure on stderr).
#
#   PRIMARY_PORT=5432 REPLICA_PORTS="5433 5434" BACKREST_CONF=/etc/pgbackrest.conf \
#   BACKREST_STANZA=main HEALTH_URL=http://127.0.0.1:8008/ bench/peers/dba-check.sh
#
# Connection settings from libpq's environment (PGHOST, PGUSER, PGDATABASE,
# PGCONNECT_TIMEOUT).  Bounds: 16 MiB of WAL not yet replayed, 60 s since
# the WAL receiver heard from the primary, 10 WAL segments waiting to be
# archived, a backup younger than 24 h.
set -u
: "${PRIMARY_PORT:?}" "${REPLICA_PORTS?}" "${BACKREST_CONF:?}" "${BACKREST_STANZA:?}" "${HEALTH_URL:?}"
MAX_REPLAY_BYTES=$((16 * 1024 * 1024))
MAX_RECEIVE_AGE=60
MAX_READY=10
MAX_BACKUP_AGE=$((24 * 3600))
bad=0
fail() { echo "FAIL: $*" >&2; bad=1; }

for port in $REPLICA_PORTS; do
	row=$(psql -XAt -p "$port" -c "SELECT pg_is_in_recovery(), coalesce(w.status, 'none'),
		coalesce(extract(epoch FROM now() - w.last_msg_receipt_time)::int, -1),
		coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint, -1)
		FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS w ON true") ||
		{ fail "replica :$port: cannot query"; continue; }
	IFS='|' read -r recovery status age behind <<<"$row"
	[ "$recovery" = t ] || { fail "replica :$port: not in recovery"; continue; }
	[ "$status" = streaming ] || { fail "replica :$port: WAL receiver $status"; continue; }
	[ "$age" -ge 0 ] && [ "$age" -lt "$MAX_RECEIVE_AGE" ] ||
		fail "replica :$port: last message from the primary ${age}s ago"
	[ "$behind" -ge 0 ] && [ "$behind" -lt "$MAX_REPLAY_BYTES" ] ||
		fail "replica :$port: $behind bytes received but not replayed"
done

row=$(psql -XAt -p "$PRIMARY_PORT" -c "SELECT current_setting('archive_mode'),
	coalesce(a.last_failed_time > coalesce(a.last_archived_time, '-infinity'), false),
	(SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready')
	FROM pg_stat_archiver AS a") || fail "primary :$PRIMARY_PORT: cannot query"
if [ -n "${row:-}" ]; then
	IFS='|' read -r mode failing ready <<<"$row"
	[ "$mode" = on ] || [ "$mode" = always ] || fail "primary: archive_mode is $mode"
	[ "$failing" = f ] || fail "primary: the last archive attempt failed"
	[ "$ready" -lt "$MAX_READY" ] || fail "primary: $ready WAL segments waiting to be archived"
fi

if info=$(pgbackrest --config="$BACKREST_CONF" --stanza="$BACKREST_STANZA" --log-level-file=off \
	--output=json info); then
	read -r code stop error < <(jq -r '.[0] | [.status.code, (.backup[-1].timestamp.stop // 0),
		(.backup[-1].error | tostring)] | @tsv' <<<"$info")
	[ "$code" = 0 ] || fail "pgbackrest: stanza status $code"
	[ "$error" = false ] || fail "pgbackrest: the newest backup has errors"
	[ $(($(date +%s) - stop)) -lt "$MAX_BACKUP_AGE" ] || fail "pgbackrest: the newest backup is too old"
else
	fail "pgbackrest info failed"
fi

curl -fsS -o /dev/null --max-time 10 "$HEALTH_URL" || fail "health endpoint $HEALTH_URL"
exit $bad
