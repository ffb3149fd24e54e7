#!/bin/bash
# postgres.slots against a real primary with two replicas on slots: a
# stopped replica (its slot goes inactive and retains WAL), a named slot
# that does not exist, and a spare slot that is lost for real once
# max_slot_wal_keep_size is set and more WAL than that is written.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/report.sh"
. "$(dirname "$0")/lib/pg.sh"
require_cmd ss psql runuser
T=$TEST_TMP

test_cleanup pg_stop_all
pg_primary_start primary && pg_replicas_start primary 2 && pg_wait_streaming primary 2 ||
	{ echo "# could not start the cluster"; echo "0 passed, 1 failed"; exit 1; }

q_is() { test "$(pg_psql "$1" "$2")" = "$3"; }
slots() {
	local name=$1; shift
	{
		printf '  - id: s\n    type: postgres.slots\n    timeout: 10s\n    with:\n'
		printf '      conninfo: "%s"\n' "$(pg_conninfo primary)"
		local l; for l in "$@"; do printf '      %s\n' "$l"; done
	} | runbook "$name"
}

test_expect_success 'both replica slots active and reserved: pass' '
	slots ok &&
	check ok && rc_is ok 0 && test "$(st ok s)" = pass &&
	test "$(summary ok s)" = "2 slots active, WAL reserved" &&
	test "$(detail ok s .slots[0].wal_status)" = reserved &&
	test "$(detail ok s .slots[1].active)" = true
'

test_expect_success 'a stopped replica: its slot is inactive and retains WAL' '
	pg_stop replica2 &&
	wait_until 10 q_is primary "select active from pg_replication_slots where slot_name = '"'"'replica2'"'"'" f &&
	pg_wal_write primary 1000 &&
	slots inactive &&
	check inactive && rc_is inactive 75 &&
	test "$(st inactive s)" = fail &&
	summary inactive s | grep -E "^slot replica2 is inactive \(retaining [0-9.]+ [kMG]?i?B\)$" &&
	slots lax "require_active: false" && check lax && rc_is lax 0
'

test_expect_success 'slots: only the named slots are judged, and each must exist' '
	slots named "slots: [replica1]" && check named && rc_is named 0 &&
	slots nosuch "slots: [replica1, nosuch]" && check nosuch && rc_is nosuch 75 &&
	test "$(summary nosuch s)" = "slot nosuch does not exist"
'

test_expect_success 'heal: replica2 back, every slot passes' '
	_pg_start replica2 && pg_wait_streaming primary 2 &&
	wait_until 10 q_is primary "select bool_and(active) from pg_replication_slots" t &&
	check ok && rc_is ok 0
'

test_expect_success 'a lost slot (max_slot_wal_keep_size exceeded) fails, and low safe_wal_size fails' '
	pg_psql primary "select pg_create_physical_replication_slot('"'"'spare'"'"', true)" >/dev/null &&
	pg_set primary max_slot_wal_keep_size 32MB &&
	for i in 1 2 3 4; do
		pg_wal_write primary 200000 && pg_psql primary "select pg_switch_wal()" >/dev/null || return 1
	done &&
	pg_psql primary "checkpoint" &&
	wait_until 10 q_is primary "select wal_status from pg_replication_slots where slot_name = '"'"'spare'"'"'" lost &&
	slots lost "slots: [spare]" "require_active: false" "min_safe_wal_size: 0" &&
	check lost && rc_is lost 75 &&
	test "$(summary lost s)" = "slot spare: wal_status lost (the WAL it needs is gone)" &&
	slots safe "slots: [replica1, replica2]" &&
	check safe && rc_is safe 75 &&
	summary safe s | grep -E "^slot replica1: [0-9.]+ MB of WAL left before it is lost \(min 1 GiB\)" &&
	slots safe2 "slots: [replica1, replica2]" "min_safe_wal_size: 1MB" &&
	check safe2 && rc_is safe2 0
'

test_expect_success 'no physical slot at all fails (nothing to judge is not a pass)' '
	pg_primary_start bare &&
	printf "  - id: s\n    type: postgres.slots\n    with:\n      conninfo: \"%s\"\n" "$(pg_conninfo bare)" | runbook bare &&
	check bare && rc_is bare 75 &&
	summary bare s | grep -E "no physical replication slots$" &&
	pg_stop bare
'

test_expect_success 'lint: bad size, bad boolean, unknown parameter (78)' '
	slots l1 "min_safe_wal_size: big" && expect_status 78 gate lint "$T/l1.yaml" &&
	slots l2 "require_active: 1" && expect_status 78 gate lint "$T/l2.yaml" &&
	slots l3 "slot: [a]" && expect_status 78 gate lint "$T/l3.yaml" &&
	slots l4 "slots: [a, b]" "require_active: true" "min_safe_wal_size: 1GiB" && expect_status 0 gate lint "$T/l4.yaml"
'

test_done
