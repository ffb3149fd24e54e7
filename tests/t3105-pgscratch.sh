#!/bin/bash
# The scratch server of the restore rehearsals (checks/lib/pgscratch.h),
# driven directly through tests/tools/gate-pgscratch on a real PostgreSQL
# 15 cluster made with initdb in the scratch directory: probes pass and
# fail by name, nothing is left behind after a run, the guardian removes
# the server and the directory when the process that made them is killed
# (alone, or with its whole process group as the core kills a check: the
# server's shared memory segment goes too), the
# server has no TCP listener, and the refusals (a parent the user cannot
# reach, too little space, no such user) say why.
. "$(dirname "$0")/lib/test-lib.sh"
require_cmd runuser ss pgrep ipcs
PGS=$GATE_TOOLS_DIR/gate-pgscratch
cd "$TEST_TMP" || exit 1
mkdir -p scratch && chmod 755 scratch

# no_server DIR: no process runs on DIR's data directory
no_server() { ! pgrep -f -- "-D $1/data" >/dev/null; }
# left DIR: what the run left: nothing when DIR and its server are gone
gone() { [ ! -e "$1" ] && no_server "$1"; }
field() { json_get out.json ".$1"; }

test_expect_success 'a cluster in scratch: probes pass, nothing is left' '
	expect_status 0 "$PGS" --sql "create table accounts(id int); insert into accounts select generate_series(1, 1200)" \
		--probes "[{\"name\": \"accounts\", \"sql\": \"select count(*) from accounts\", \"min\": 1000},
		           {\"sql\": \"select not pg_is_in_recovery()\", \"equals\": true},
		           {\"sql\": \"select current_setting('"'"'max_logical_replication_workers'"'"')::int\", \"equals\": 0}]" scratch > out.json &&
	test "$(field probes[0].value)" = 1200 &&
	test "$(field probes[2].ok)" = true &&
	test "$(field probes[0].ok)" = true &&
	test "$(field probes[1].value)" = true &&
	dir=$(field dir) && case "$dir" in "$TEST_TMP"/scratch/gate-rehearsal-*) ;; *) false ;; esac &&
	gone "$dir" && test -z "$(ls scratch)" &&
	! kill -0 "$(field guardian)" 2>/dev/null
'

test_expect_success 'a probe that misses its expectation fails, named, with the value' '
	expect_status 1 "$PGS" --probes "[{\"name\": \"accounts\", \"sql\": \"select 0\", \"min\": 1000},
		{\"sql\": \"select * from missing_table\"}]" scratch > out.json &&
	test "$(field msg)" = "probe '"'"'accounts'"'"' (select 0): 0 is below min 1000" &&
	test "$(field failed)" = 2 &&
	test "$(field probes[1].error)" = "relation \"missing_table\" does not exist" &&
	gone "$(field dir)"
'

# Every held run is killed at the end, whatever a test left (a body runs
# in a subshell: it cannot register a cleanup itself).
test_cleanup 'while read -r p; do kill -KILL -- "-$p" "$p"; done <"$TEST_TMP/holds"'

# hold_run: gate-pgscratch --hold in a session (and process group) of its
# own; its JSON in out.json once the server is up; its pid in $HOLD.
hold_run() {
	GATE_T3105_SECRET=s3cret setsid "$PGS" --hold scratch > out.json 2> err.txt &
	HOLD=$!
	echo "$HOLD" >>"$TEST_TMP/holds"
	wait_until 60 json_get out.json .step
}

test_expect_success 'the scratch server listens on its socket only (no TCP)' '
	hold_run &&
	pm=$(field postmaster) && dir=$(field dir) &&
	test -S "$dir/.s.PGSQL.5432" &&
	! ss -Hltnp | grep -q "pid=$pm," &&
	! ss -Hlunp | grep -q "pid=$pm," &&
	test "$(stat -c %a%U "$dir")" = 700postgres &&
	kill -KILL "$HOLD" && wait_until 60 gone "$dir"
'

test_expect_success 'the server runs as postgres with a clean environment (nothing of gate secret)' '
	hold_run && pm=$(field postmaster) &&
	test "$(stat -c %U "/proc/$pm")" = postgres &&
	tr "\0" "\n" <"/proc/$pm/environ" >env.txt &&
	grep -qx "HOME=$(getent passwd postgres | cut -d: -f6)" env.txt &&
	grep -qx "USER=postgres" env.txt && grep -q "^PATH=" env.txt &&
	! grep -q s3cret env.txt &&
	kill -KILL "$HOLD" && wait_until 60 gone "$(field dir)"
'

test_expect_success 'killed alone (SIGKILL): the guardian stops the server and removes the directory' '
	hold_run && pm=$(field postmaster) && dir=$(field dir) && g=$(field guardian) &&
	kill -0 "$g" && kill -0 "$pm" &&
	kill -KILL "$HOLD" &&
	wait_until 60 gone "$dir" &&
	wait_until 30 eval "! kill -0 $g 2>/dev/null"
'

test_expect_success 'killed with its process group, as the core kills a check: nothing left' '
	hold_run && dir=$(field dir) && g=$(field guardian) &&
	test "$(ps -o pgid= -p "$(field postmaster)" | tr -d " ")" = "$HOLD" &&
	test "$(ps -o sid= -p "$g" | tr -d " ")" = "$g" &&
	read -r key shmid < <(sed -n 7p "$dir/data/postmaster.pid") &&
	ipcs -m -i "$shmid" >/dev/null &&
	kill -KILL -- "-$HOLD" &&
	wait_until 60 gone "$dir" &&
	wait_until 30 eval "! kill -0 $g 2>/dev/null" &&
	! ipcs -m | grep -qi "$(printf "0x%08x" "$key") *$shmid "
'

# postmaster.pid is the postgres user's to write: a segment it names that
# is not that user's (root's here, unattached) is not removed by root
test_expect_success 'a planted postmaster.pid naming root'"'"'s segment: the guardian leaves it' '
	rootkey=$((0x47410000 + $$ % 65536)) &&
	rootid=$(/usr/bin/python3 -c "import ctypes,sys; print(ctypes.CDLL(None).shmget(int(sys.argv[1]), 4096, 0o1600))" "$rootkey") &&
	test "$rootid" -ge 0 &&
	hold_run && dir=$(field dir) &&
	read -r key shmid < <(sed -n 7p "$dir/data/postmaster.pid") &&
	runuser -u postgres -- sed -i "7s/.*/$rootkey $rootid/" "$dir/data/postmaster.pid" &&
	kill -KILL "$HOLD" &&
	wait_until 60 gone "$dir" &&
	ipcs -m -i "$rootid" >/dev/null; rc=$?
	ipcrm -m "$rootid" 2>/dev/null; ipcrm -m "${shmid:-x}" 2>/dev/null
	test "$rc" = 0
'

test_expect_success 'SIGTERM to the group (gate stopped): the guardian ignores it and cleans up' '
	hold_run && dir=$(field dir) && g=$(field guardian) &&
	kill -TERM -- "-$HOLD" && kill -TERM "$g" &&
	wait_until 60 gone "$dir" &&
	wait_until 30 eval "! kill -0 $g 2>/dev/null"
'

test_expect_success 'run as the scratch user itself: no switch, the same result' '
	mkdir -p own && chown postgres own &&
	# The build directory may be one postgres cannot traverse (a clone
	# in a 0700 directory): the tool runs from a copy in the test'"'"'s own.
	install -m 755 "$PGS" own-pgs && PGS=$PWD/own-pgs &&
	runuser -u postgres -- "$PGS" --probes "[{\"sql\": \"select current_user\", \"equals\": \"postgres\"}]" own >out.json &&
	test "$(field ok)" = true && test -z "$(ls -A own)" &&
	expect_status 1 runuser -u postgres -- "$PGS" --user root own >out.json &&
	test "$(field msg)" = "user root is root: PostgreSQL refuses to run as root" &&
	expect_status 1 runuser -u postgres -- "$PGS" --user nobody own >out.json &&
	test "$(field msg)" = "gate runs as uid $(id -u postgres) and cannot run the scratch server as user nobody (run gate as root or as nobody)"
'

test_expect_success 'a parent the user cannot traverse: refused, and said so' '
	mkdir -p closed/inner && chmod 700 closed && chmod 777 closed/inner &&
	expect_status 1 "$PGS" closed/inner > out.json &&
	test "$(field step)" = create &&
	field msg | grep -q "^user postgres cannot reach the scratch directory $TEST_TMP/closed/inner/gate-rehearsal-" &&
	test -z "$(ls closed/inner)"
'

test_expect_success 'not enough free space: refused before anything is made' '
	expect_status 1 "$PGS" --need 1000000000000000000 scratch > out.json &&
	field msg | grep -q "^scratch filesystem $TEST_TMP/scratch has .* free; the restore needs 888.2 PiB plus 88.8 PiB$" &&
	test -z "$(ls scratch)"
'

test_expect_success 'no such user, a parent that is a file: refused' '
	expect_status 1 "$PGS" --user no-such-user-gate scratch > out.json &&
	test "$(field msg)" = "user no-such-user-gate: no such user" &&
	touch afile && expect_status 1 "$PGS" afile > out.json &&
	test "$(field msg)" = "scratch_dir afile: not a directory" &&
	expect_status 1 "$PGS" --user root scratch > out.json &&
	test "$(field msg)" = "user root is root: PostgreSQL refuses to run as root"
'

test_done
