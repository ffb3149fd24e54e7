#!/bin/bash
# SPDX-License-Identifier: MIT
# check_postgres (Debian's check-postgres package) over the PostgreSQL
# ground of bench/peers' runbook, one action after another as a Nagios or
# cron job runs them: `connection` and `archive_ready` on the primary,
# `hot_standby_delay` for each replica (it connects to the primary and the
# replica).  Exit 0 when every action says OK, else the first non-zero.
# Covers less than the runbook (no pgBackRest, no HTTP): check_postgres has
# no action for those.
#
#   PRIMARY_PORT=5432 REPLICA_PORTS="5433 5434" bench/peers/check-postgres.sh
#
# Host, user and database from PGHOST, PGUSER and PGDATABASE.
set -u
: "${PRIMARY_PORT:?}" "${REPLICA_PORTS?}"
CP=$(command -v check_postgres.pl || command -v check_postgres) ||
	{ echo "check_postgres is not installed (apt-get install check-postgres)" >&2; exit 3; }
H=${PGHOST:-127.0.0.1} U=${PGUSER:-postgres} D=${PGDATABASE:-postgres}
rc=0
run() { "$CP" --dbuser="$U" --dbname="$D" "$@" || { r=$?; [ "$rc" != 0 ] || rc=$r; }; }

run --action=connection --host="$H" --port="$PRIMARY_PORT"
run --action=archive_ready --host="$H" --port="$PRIMARY_PORT" --warning=5 --critical=10
for port in $REPLICA_PORTS; do
	run --action=hot_standby_delay --dbhost="$H,$H" --dbport="$PRIMARY_PORT,$port" \
		--warning=1048576 --critical=16777216
done
exit $rc
