#!/bin/bash
# postgres.archiver against a real primary: nothing archived yet, a working
# archive_command, archive_command = 'false' after a WAL switch (failed_count
# stays, the times tell), .ready files piling up, max_age, archive_mode off
# (a second server), and a role without pg_monitor.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/report.sh"
. "$(dirname "$0")/lib/pg.sh"
require_cmd ss psql runuser
T=$TEST_TMP

test_cleanup pg_stop_all
pg_primary_start primary || { echo "# could not start the primary"; echo "0 passed, 1 failed"; exit 1; }

q_is() { test "$(pg_psql "$1" "$2")" = "$3"; }
# arch NAME NODE [with: lines...]: one postgres.archiver check "a"
arch() {
	local name=$1 node=$2; shift 2
	{
		printf '  - id: a\n    type: postgres.archiver\n    timeout: 10s\n    with:\n'
		printf '      conninfo: "%s"\n' "$(pg_conninfo "$node")"
		local l; for l in "$@"; do printf '      %s\n' "$l"; done
	} | runbook "$name"
}
# switch NODE: write a little and switch WAL (the test's doing, never gate's)
switch() { pg_wal_write "$1" 10 && pg_psql "$1" "select pg_switch_wal()" >/dev/null; }
archived() { test "$(pg_psql primary "select archived_count from pg_stat_archiver")" -ge "$1"; }

test_expect_success 'a fresh primary that never archived anything fails' '
	test "$(pg_psql primary "select archived_count from pg_stat_archiver")" = 0 &&
	arch never primary &&
	check never && rc_is never 75 &&
	test "$(st never a)" = fail &&
	summary never a | grep -E "^127.0.0.1:[0-9]+: nothing has ever been archived$"
'

test_expect_success 'after a WAL switch is archived, the check passes' '
	switch primary && wait_until 10 archived 1 &&
	arch ok primary &&
	check ok && rc_is ok 0 && test "$(st ok a)" = pass &&
	summary ok a | grep -E "archiving works: last 0000000100000000000000[0-9A-F]{2} .* ago, 0 waiting" &&
	test "$(detail ok a .ready)" = 0
'

test_expect_success "archive_command = 'false' after a WAL switch: archiving fails" '
	pg_set primary archive_command false &&
	switch primary &&
	wait_until 15 q_is primary "select last_failed_time > last_archived_time from pg_stat_archiver" t &&
	arch failing primary &&
	check failing && rc_is failing 75 &&
	test "$(st failing a)" = fail &&
	summary failing a | grep -E "archiving fails: 0000000100000000000000[0-9A-F]{2} failed [0-9.]+m?s ago, after the last success" &&
	test "$(detail failing a .failed_count)" -ge 1
'

test_expect_success 'too many and too old .ready files fail max_ready and max_ready_age' '
	switch primary && switch primary &&
	wait_until 10 q_is primary "select count(*) >= 3 from pg_ls_archive_statusdir() where name like '"'"'%.ready'"'"'" t &&
	wait_until 30 q_is primary "select min(modification) < now() - interval '"'"'1.2 s'"'"' from pg_ls_archive_statusdir() where name like '"'"'%.ready'"'"'" t &&
	arch ready primary "max_ready: 2" "max_ready_age: 1s" &&
	check ready && rc_is ready 75 &&
	summary ready a | grep -E "[3-9] WAL segments waiting to be archived \(max 2\)" &&
	summary ready a | grep -E "oldest WAL segment waiting to be archived is [0-9.]+s old \(max 1s\)" &&
	test "$(detail ready a .ready)" -ge 3
'

test_expect_success 'healed: failed_count stays above 0 but the check passes again' '
	pg_set primary archive_command /bin/true &&
	wait_until 15 q_is primary "select count(*) from pg_ls_archive_statusdir() where name like '"'"'%.ready'"'"'" 0 &&
	arch healed primary &&
	check healed && rc_is healed 0 && test "$(st healed a)" = pass &&
	test "$(detail healed a .failed_count)" -ge 1
'

test_expect_success 'max_age: an old last_archived_time fails when max_age is set' '
	wait_until 30 q_is primary "select now() - last_archived_time > interval '"'"'2.1 s'"'"' from pg_stat_archiver" t &&
	arch old primary "max_age: 2s" &&
	check old && rc_is old 75 &&
	summary old a | grep -E "last WAL archived [0-9.]+s ago \(max 2s\)$" &&
	arch old2 primary "max_age: 1h" && check old2 && rc_is old2 0
'

test_expect_success 'archive_mode off: no archiving at all fails' '
	pg_primary_start noarch "archive_mode = off" &&
	arch off noarch &&
	check off && rc_is off 75 &&
	test "$(st off a)" = fail &&
	summary off a | grep -E "^127.0.0.1:[0-9]+: archiving is off \(archive_mode = off\)" &&
	test "$(detail off a .archive_mode)" = off &&
	pg_stop noarch
'

test_expect_success 'a role without pg_monitor: an error that says what to grant' '
	pg_psql primary "create role nomon login" &&
	printf "  - id: a\n    type: postgres.archiver\n    with:\n      conninfo: \"host=127.0.0.1 port=%s dbname=postgres user=nomon\"\n" \
		"$(pg_port primary)" | runbook perm &&
	check perm && rc_is perm 75 &&
	test "$(st perm a)" = error &&
	summary perm a | grep -F "permission denied for function pg_ls_archive_statusdir (the role needs pg_monitor or superuser)" &&
	pg_psql primary "grant pg_monitor to nomon" &&
	check perm && rc_is perm 0
'

test_expect_success 'lint: bad types and unknown parameters are rejected (78)' '
	arch l1 primary "max_ready: ten" && expect_status 78 gate lint "$T/l1.yaml" &&
	arch l2 primary "max_ready_age: 15" && expect_status 78 gate lint "$T/l2.yaml" &&
	arch l3 primary "max_ready: -1" && expect_status 78 gate lint "$T/l3.yaml" &&
	arch l4 primary "failed_count: 0" && expect_status 78 gate lint "$T/l4.yaml" &&
	arch l5 primary "max_ready: 10" "max_ready_age: 15m" "max_age: 1h" && expect_status 0 gate lint "$T/l5.yaml"
'

test_done
