#!/bin/bash
# gate in two minutes, on a fresh Debian 12 machine, as root:
#
#   scripts/demo.sh
#
# installs the dependencies (scripts/install-deps.sh), builds gate, then in a
# throwaway directory starts a real PostgreSQL 15 primary with one streaming
# replica, takes a pgBackRest full backup, and shows gate
#   1. allowing  (gate check; gate run -- echo "maintenance would run now"),
#   2. blocking once the replica is stopped (gate check; gate run exits 75
#      and the command never runs).
# Everything it started is stopped and removed at exit, whatever happens.
#
# Options: --no-install (skip install-deps.sh), --build-dir DIR (default
# build; an existing build is reused as is with --no-build).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD

install=1 build=1 build_dir=build
while [ $# -gt 0 ]; do
	case "$1" in
	--no-install) install=0 ;;
	--no-build) build=0 ;;
	--build-dir) build_dir=$2; shift ;;
	-h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "usage: scripts/demo.sh [--no-install] [--no-build] [--build-dir DIR]" >&2; exit 64 ;;
	esac
	shift
done

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B='' G='' R='' N=''; fi
section() { printf '\n%s==== %s ====%s\n\n' "$B" "$*" "$N"; }
say() { printf '%s\n' "$*"; }
show() { printf '%s$ %s%s\n' "$B" "$*" "$N"; }
die() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root: PostgreSQL runs as the postgres user (runuser), pgBackRest too"

if [ "$install" = 1 ]; then
	section "Installing the dependencies (Debian 12 packages)"
	scripts/install-deps.sh
fi
if [ "$build" = 1 ]; then
	section "Building gate"
	cmake -S . -B "$build_dir" >/dev/null
	cmake --build "$build_dir" -j"$(nproc)" >/dev/null
fi
GATE=$(cd "$build_dir" && pwd)/gate
[ -x "$GATE" ] || die "no gate binary at $GATE"
"$GATE" version

# --- the throwaway servers, under one directory, stopped and removed at exit
TEST_TMP=$(mktemp -d /tmp/gate-demo.XXXXXX)
chmod 755 "$TEST_TMP"
export TEST_TMP PG_ROOT=$TEST_TMP/pg PGBR_DIR=$TEST_TMP/pgbackrest PGBR_STANZA=demo
# shellcheck source=tests/lib/pg.sh
. "$SRC/tests/lib/pg.sh"
# shellcheck source=tests/lib/pgbackrest.sh
. "$SRC/tests/lib/pgbackrest.sh"
cleanup() {
	local rc=$?
	pg_stop_all >/dev/null 2>&1 || true
	rm -rf "$TEST_TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

section "Setting up a throwaway PostgreSQL primary, a replica and a pgBackRest backup"
say "everything lives in $TEST_TMP"
pg_primary_start primary || die "could not start the primary"
say "primary  listening on 127.0.0.1:$(pg_port primary)"
pg_replica_start replica primary || die "could not start the replica"
pg_wait_streaming primary 1 || die "the replica does not stream"
say "replica  listening on 127.0.0.1:$(pg_port replica), streaming"
pgbr_setup primary || die "pgBackRest stanza-create/check failed (see $PGBR_DIR/log)"
pgbr_backup full || die "pgBackRest backup failed (see $PGBR_DIR/log)"
say "pgBackRest full backup $(pgbr_last_label) in $PGBR_DIR/repo"

RB=examples/demo/runbook.yaml
VARS=(--var "pg_primary=$(pg_conninfo primary)"
      --var "pg_replica=$(pg_conninfo replica)"
      --var "pgbackrest_config=$PGBR_CONF"
      --var "pgbackrest_stanza=$PGBR_STANZA")
say
say "The runbook, $RB:"
sed -n '/^checks:/,$p' "$RB" | sed 's/^/    /'

gate() { "$GATE" "$@"; }
status() { # status WANT GOT WHAT
	if [ "$2" = "$1" ]; then
		printf '%s-> exit status %s: %s%s\n' "$G" "$2" "$3" "$N"
	else
		printf '%s-> exit status %s, expected %s (%s)%s\n' "$R" "$2" "$1" "$3" "$N"
		failed=1
	fi
}
failed=0

section "1. All healthy: gate check allows"
show "gate check $RB --var pg_primary=... --var pg_replica=... --var pgbackrest_config=..."
rc=0; gate check --no-color "${VARS[@]}" "$RB" || rc=$?
status 0 "$rc" "allowed"

section "2. gate run: the maintenance command runs"
show "gate run $RB --var ... -- echo \"maintenance would run now\""
rc=0; gate run -q --no-color "${VARS[@]}" "$RB" -- echo "maintenance would run now" || rc=$?
status 0 "$rc" "allowed, and the command ran"

section "3. Stopping the replica"
show "pg_ctl -D $(pg_datadir replica) -m fast stop"
pg_stop replica
say "the replica is down: it disappears from pg_stat_replication on the primary"

section "4. gate check now blocks"
show "gate check $RB --var ..."
rc=0; gate check --no-color "${VARS[@]}" "$RB" || rc=$?
status 75 "$rc" "blocked"

section "5. gate run refuses: the command does not run"
show "gate run $RB --var ... -- echo \"maintenance would run now\""
out=$TEST_TMP/run.out
rc=0; gate run -q --no-color "${VARS[@]}" "$RB" -- echo "maintenance would run now" >"$out" || rc=$?
cat "$out"
status 75 "$rc" "blocked, nothing ran"
if grep -qx "maintenance would run now" "$out"; then
	printf '%sthe command ran although gate blocked%s\n' "$R" "$N"
	failed=1
fi

section "Done"
if [ "$failed" = 0 ]; then
	say "gate allowed while everything was healthy and blocked once the replica stopped."
	say "Cleaning up: stopping PostgreSQL and removing $TEST_TMP."
else
	say "${R}the demo did not behave as expected (see above)${N}"
fi
exit "$failed"
