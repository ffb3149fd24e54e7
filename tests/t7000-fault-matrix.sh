#!/bin/bash
# The fault matrix (issue 10): every check type against every fault that
# applies to it.  Every fault cell must come out `error` or `fail`, never
# `pass`; the decision is block (75); the reason names the check (its id is
# ROW--FAULT) and the fault; the answer comes within the check's timeout
# (2 s) plus one second, timed on the monotonic clock around the whole
# `gate check` (tests/lib/faultcells.py).  Each row also has a `healthy`
# control, the same check against the same setup without the fault, that
# must pass: a cell fails because of its fault, not because of its setup.
#
# Where the faults come from:
#  - PostgreSQL: real servers.  Refused: a port nobody listens on.  Hang: a
#    real postmaster frozen with SIGSTOP (the kernel accepts, nobody
#    answers).  Slow, reset, truncated, killed in flight: a proxy
#    (tests/servers/faultd.py pg-*) in front of a real server that holds,
#    cuts or kills at the check's own query; "killed" SIGSTOPs the backends
#    until all four sessions have their query in flight, then SIGKILLs the
#    postmaster and them.  Garbage and non-UTF-8: faultd answering the
#    startup packet with bytes of no protocol.
#  - http, prometheus.alerts, alertmanager.alerts, prometheus.query,
#    patroni.cluster: faultd's HTTP modes.  A mock
#    only because a real Prometheus, Alertmanager or Patroni cannot be made to hang, send
#    half a body, reset mid-body, send garbage or die mid-request on demand;
#    the healthy answers have the shapes of tests/t4100 and t4200 (3.0.4
#    `streaming`; 3.0.2 `running` plus the leader's /patroni, whose faults
#    are the patroni.cluster-leader row).
#  - pgbackrest.backup: a real repository (tests/lib/pgbackrest.sh); the
#    network faults through its `conninfo` (system-id check), the output
#    and tool faults through `binary:` wrappers around the real pgbackrest
#    (a real pgbackrest cannot be made to hang, die or print garbage).
#  - backup.basebackup: a real pg_basebackup and the real pg_verifybackup;
#    damaged copies of the backup, and `binary:` wrappers for the tool
#    faults (for the same reason).  backup.file: real files and gzip -t as
#    restore_test; scripts for the tool faults.
#  - systemd.unit/failed: the user bus of XDG_RUNTIME_DIR: a stale socket
#    (refused), none (missing), faultd on a UNIX socket for the rest; the
#    control is a real systemd user manager (tests/lib/systemd.sh).
#  - exec: scripts.  With exit 0 any output passes by the Nagios contract,
#    so garbage and non-UTF-8 come with an exit status that fails; the cells
#    prove such output neither breaks the report nor turns into a pass.
#  - an external module (built here) that dereferences NULL, or spins with
#    SIGTERM ignored.
# n/a: the fault has nothing to strike (backup.file, backup.basebackup, exec
# and modules open no connection; only checks that run a tool have tool
# faults; on a D-Bus socket the reply to the first line is all there is, so
# slow, reset and truncated are the hang and garbage cells; a frozen real
# manager is in t5000).  The matrix is printed as "# " lines and written to
# $T7000_MATRIX (default $GATE_BUILD_DIR/fault-matrix.txt); README.md,
# "Fault matrix", shows it.
. "$(dirname "$0")/lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/pg.sh"
. "$GATE_SOURCE_DIR/tests/lib/pgbackrest.sh"
. "$GATE_SOURCE_DIR/tests/lib/systemd.sh"
require_cmd psql runuser pgbackrest ss cc pkg-config gzip sha256sum
test_cleanup pg_stop_all
cd "$TEST_TMP" || exit 1
T=$TEST_TMP
unset DBUS_SESSION_BUS_ADDRESS
TMO=2000          # every check's timeout, ms
JOBS=8            # cells (groups) at a time
PY=/usr/bin/python3
HANG=4242.$$      # what hanging tools sleep: unique to this run, for pgrep
FAULTD=$GATE_SOURCE_DIR/tests/servers/faultd.py

# ---------------------------------------------------------------- servers
# Three real primaries (p0 healthy, with a streaming replica r1; pstop to be
# frozen; pkill to be killed) and, in the background, the pgBackRest
# repository and a base backup of p0.
(pg_primary_start p0 && pg_replica_start r1 p0) >pg-p0.log 2>&1 & P0_JOB=$!
pg_primary_start pstop >pg-pstop.log 2>&1 & PSTOP_JOB=$!
pg_primary_start pkill >pg-pkill.log 2>&1 & PKILL_JOB=$!

# faultd for everything that does not need a real server behind it.
mkdir -m 700 xdg-hang xdg-garbage xdg-nonutf8 xdg-refused xdg-missing xdg-die-unit xdg-die-failed
$PY -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' xdg-refused/bus
start_faultd() { # start_faultd NAME SPEC...: one faultd process, ports in NAME.ports
	local name=$1; shift
	$PY "$FAULTD" "$T/$name.ports" "$@" >"$T/$name.log" 2>&1 &
	test_cleanup "kill $! 2>/dev/null"
	disown $!   # "die" is SIGKILLed on purpose: no job notice
	wait_until 20 test -s "$T/$name.ports" || { echo "# faultd $name did not start"; cat "$T/$name.log"; return 1; }
}
port() { awk -v n="$2" '$1 == n {print $2}' "$T/$1.ports"; }
start_faultd fd hang=hang garbage=garbage nonutf8=nonutf8 \
	http-ok=http-ok http-slow=http-slow,delay=2.5 http-reset=http-reset http-trunc=http-trunc \
	http-garbage=http-garbage http-nonutf8=http-nonutf8 \
	bus-hang=hang,unix=$T/xdg-hang/bus bus-garbage=garbage,unix=$T/xdg-garbage/bus \
	bus-nonutf8=nonutf8,unix=$T/xdg-nonutf8/bus || exit 1
# "die" kills its whole process: one process per cell.
for d in http prometheus alertmanager promql patroni leader; do start_faultd "die-$d" die=die || exit 1; done
start_faultd die-unit die=die,unix=$T/xdg-die-unit/bus || exit 1
start_faultd die-failed die=die,unix=$T/xdg-die-failed/bus || exit 1
REFUSED=$(free_port)

# A real systemd user manager for the systemd controls.
sd_unit gate-ok.service <<'EOF'
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
EOF
SD_OK=
if sd_available && sd_start >sd-start.log 2>&1 && sd_ctl start gate-ok.service; then
	SD_OK=1
else
	test_skip 'the systemd controls' "no systemd user manager here: $(tail -n 3 sd-start.log 2>/dev/null | tr '\n' ' ')"
fi

# The external module.
mkdir mod
cat >mod/fault.c <<'EOF'
#include <signal.h>
#include <gate/module.h>
static const struct gate_param none[] = {{NULL, 0, 0, NULL, NULL, NULL}};
static void ok_run(const json_t *p, const struct gate_run_env *e, struct gate_result *r)
{ (void)p; (void)e; gate_result_set(r, GATE_PASS, "fine"); }
static void crash_run(const json_t *p, const struct gate_run_env *e, struct gate_result *r)
{ (void)p; (void)e; (void)r; volatile int *np = 0; *np = 1; }
static void loop_run(const json_t *p, const struct gate_run_env *e, struct gate_result *r)
{ (void)p; (void)e; (void)r; signal(SIGTERM, SIG_IGN); for (volatile unsigned long n = 0;; n++) {} }
static const struct gate_check_type types[] = {
	{"fault.ok", "passes", NULL, none, NULL, ok_run},
	{"fault.crash", "dereferences NULL", NULL, none, NULL, crash_run},
	{"fault.loop", "spins forever, SIGTERM ignored", NULL, none, NULL, loop_run},
};
GATE_MODULE_DEFINE("fault", "1.0", types);
EOF
# shellcheck disable=SC2046
cc -shared -fPIC -O0 -I"$GATE_SOURCE_DIR" $(pkg-config --cflags jansson) -o mod/fault.so mod/fault.c >mod/build.log 2>&1
MOD_RC=$?

wait $P0_JOB; P0_RC=$?
wait $PSTOP_JOB; PSTOP_RC=$?
wait $PKILL_JOB; PKILL_RC=$?
test_expect_success 'setup: three real primaries, a streaming replica, faultd, the module' '
	cat pg-p0.log pg-pstop.log pg-pkill.log mod/build.log &&
	test $P0_RC = 0 && test $PSTOP_RC = 0 && test $PKILL_RC = 0 && test $MOD_RC = 0 &&
	pg_wait_streaming p0 1
'
[ $P0_RC = 0 ] && [ $PSTOP_RC = 0 ] && [ $PKILL_RC = 0 ] && [ $MOD_RC = 0 ] || test_done

# pgBackRest repository of p0 (archiving into it proves archiver works too)
# and a base backup of p0.
(pgbr_setup p0 && pgbr_backup full) >pgbr.log 2>&1; PGBR_RC=$?
mkdir -p bb && chown postgres:postgres bb
(cd "$T" && runuser -u postgres -- "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$(pg_port p0)" \
	-U postgres -D "$T/bb/base" -X stream -c fast) >bb.log 2>&1; BB_RC=$?
test_expect_success 'setup: a pgBackRest backup and a pg_basebackup of p0' '
	cat pgbr.log bb.log && test $PGBR_RC = 0 && test $BB_RC = 0
'

# Proxies in front of the real servers.
pgproxies() { # NAME UPSTREAM
	echo "$1-slow=pg-slow,upstream=$2,delay=2.5 $1-reset=pg-reset,upstream=$2 $1-trunc=pg-trunc,upstream=$2"
}
# shellcheck disable=SC2046
start_faultd pgfd $(pgproxies p0 "$(pg_port p0)") $(pgproxies r1 "$(pg_port r1)") \
	pkill=pg-kill,upstream=$(pg_port pkill),barrier=4,pidfile=$(pg_datadir pkill)/postmaster.pid || exit 1
PKILL_PM=$(pg_pid pkill)
PKILL_KIDS=$(pgrep -P "$PKILL_PM" | tr '\n' ' ')
test_cleanup "kill -KILL $PKILL_KIDS 2>/dev/null"
PSTOP_PM=$(pg_pid pstop)
kill -STOP "$PSTOP_PM"
test_cleanup "kill -CONT $PSTOP_PM"

# ---------------------------------------------------------------- fakes
# Tools that fail on demand (a real pgbackrest, pg_verifybackup or plugin
# cannot be made to): each a script in tools/.
mkdir tools
tool() { cat >"tools/$1"; chmod 755 "tools/$1"; }
PGBR_REAL=$(command -v pgbackrest)
VERIFY_REAL=$PGBIN/pg_verifybackup
# pgbackrest wrappers: the fault strikes `info`; every other call is real.
for m in trunc garbage nonutf8 killed hangs; do
	tool "pgbackrest-$m" <<EOF
#!/bin/sh
case " \$* " in *" info "*) ;; *) exec $PGBR_REAL "\$@" ;; esac
mode=$m
[ \$mode = hangs ] && exec sleep $HANG
out=\$($PGBR_REAL "\$@") || exit \$?
half=\$(( \${#out} / 2 ))
case \$mode in
trunc) printf '%s' "\$out" | head -c \$half ;;
garbage) printf '\\000\\377\\033[2J garbage, not JSON \\001\\002\\n' ;;
nonutf8) printf '%s\\n' "\$out" | sed 's/"label":"/"label":"\\xff\\xfe/' ;;
killed) printf '%s' "\$out" | head -c \$half; kill -KILL \$\$ ;;
esac
EOF
done
tool verify-hangs <<EOF
#!/bin/sh
exec sleep $HANG
EOF
tool verify-killed <<'EOF'
#!/bin/sh
echo "backup successfully verified"
kill -KILL $$
EOF
tool verify-slow <<EOF
#!/bin/sh
sleep 2.5
exec $VERIFY_REAL "\$@"
EOF
tool exec-ok <<'EOF'
#!/bin/sh
echo 'OK - all good | load=0.1'
EOF
tool exec-hangs <<EOF
#!/bin/sh
exec sleep $HANG
EOF
tool exec-killed <<'EOF'
#!/bin/sh
echo 'OK - so far so good'
kill -KILL $$
EOF
tool exec-slow <<'EOF'
#!/bin/sh
sleep 2.5
echo 'OK - late but fine'
EOF
tool exec-garbage <<'EOF'
#!/bin/sh
printf '\000\377\033[2J garbage \001\002\n'
exit 255
EOF
tool exec-nonutf8 <<'EOF'
#!/bin/sh
printf 'CRITICAL - \377\376 disk \303\050 full\n'
exit 2
EOF
tool restore-hangs <<EOF
#!/bin/sh
exec sleep $HANG
EOF
tool restore-killed <<'EOF'
#!/bin/sh
kill -KILL $$
EOF
tool restore-slow <<'EOF'
#!/bin/sh
sleep 2.5
exec gzip -t "$1"
EOF

# Damaged copies of the base backup (hard links; a changed file is replaced,
# never written through a link).
for v in ok trunc garbage nonutf8; do cp -al bb/base "bb/$v"; done
head -c "$(( $(stat -c %s bb/base/backup_manifest) / 2 ))" bb/base/backup_manifest >m.tmp
rm bb/trunc/backup_manifest && mv m.tmp bb/trunc/backup_manifest
rm bb/garbage/backup_label && printf '\000\377\033[2J garbage \001\002\n' >bb/garbage/backup_label
sed 's/^START TIME: 20/START TIME: \xff\xfe/' bb/base/backup_label >l.tmp
rm bb/nonutf8/backup_label && mv l.tmp bb/nonutf8/backup_label

# Backup files: a gzip'd dump with its sha256 sidecar, and damaged copies.
for v in ok trunc garbage nonutf8 missing hangs killed slow; do
	mkdir -p "files/$v"
	seq 1 20000 | gzip >"files/$v/dump.sql.gz"
	(cd "files/$v" && sha256sum dump.sql.gz >dump.sql.gz.sha256)
done
head -c "$(( $(stat -c %s files/ok/dump.sql.gz) / 2 ))" files/ok/dump.sql.gz >files/trunc/dump.sql.gz   # sidecar still of the whole
printf 'garbage, not a checksum \001\002\n' >files/garbage/dump.sql.gz.sha256
printf '\377\376%s\n' "$(cat files/nonutf8/dump.sql.gz.sha256)" >files/nonutf8/dump.sql.gz.sha256

# ---------------------------------------------------------------- cells
# cell ROW COL TYPE 'WITH (JSON)' [ENV] [PATTERN] [GROUP]
: >cells.tsv
mkdir -p rb out
cell() {
	local row=$1 col=$2 type=$3 with=$4 env=${5:--} pat=${6:-} group=${7:-$1--$2} want=block
	[ "$col" = healthy ] && want=pass && pat=-
	[ -n "$pat" ] || pat=$(colpat "$col")
	printf 'version: 1\nname: t7000-%s\nchecks:\n  - id: %s--%s\n    type: %s\n    timeout: %sms\n    with: %s\n' \
		"$row--$col" "$row" "$col" "$type" "$TMO" "$with" >"rb/$row--$col.yaml"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$col" "$group" "$TMO" "$want" \
		"$T/rb/$row--$col.yaml" "$env" "$pat" >>cells.tsv
}
# What each fault's reason must say (case-insensitive), unless a cell says more.
colpat() {
	case $1 in
	refused) echo '(?i)refused' ;;
	hang | slow | tool-hangs | loop) echo '(?i)no answer|no response|timed out|too slow|within' ;;
	reset) echo '(?i)reset|closed the connection|unexpected' ;;
	truncated) echo '(?i)clos|remaining|truncat|incomplete|unexpected|premature|end of' ;;
	garbage) echo '(?i)garbage|not JSON|invalid|unexpected|expected|protocol|HTTP/0.9' ;;
	non-utf8) echo '(?i)utf-8|not JSON|unable to decode byte|invalid|unexpected|expected|encoding' ;;
	server-killed) echo '(?i)closed|reset|terminat|unexpected|empty reply' ;;
	missing) echo '(?i)not found|no such file|not installed|missing' ;;
	tool-killed | crash) echo '(?i)signal|killed|crash' ;;
	*) echo - ;;
	esac
}
# sslmode=disable: garbage meets the protocol proper, not the SSL negotiation
ci() { echo "host=127.0.0.1 port=$1 dbname=postgres user=postgres sslmode=disable"; }
FD_HANG=$(port fd hang) FD_GARBAGE=$(port fd garbage) FD_NONUTF8=$(port fd nonutf8)

# postgres rows: p0/r1 healthy; the same faults for each
for row in replication replica archiver slots; do
	up=p0; [ $row = replica ] && up=r1
	extra=
	[ $row = replication ] && extra=', "min_streaming": 1'
	[ $row = slots ] && extra=', "slots": ["r1"]'
	pgcell() { cell "postgres.$row" "$1" "postgres.$row" "{\"conninfo\": \"$(ci "$2")\"$extra}" - "${3:-}" "${4:-}"; }
	pgcell healthy "$(pg_port $up)"
	pgcell refused "$REFUSED"
	pgcell hang "$(pg_port pstop)"
	pgcell slow "$(port pgfd $up-slow)"
	pgcell reset "$(port pgfd $up-reset)"
	pgcell truncated "$(port pgfd $up-trunc)"
	pgcell garbage "$FD_GARBAGE"
	pgcell non-utf8 "$FD_NONUTF8"
	pgcell server-killed "$(port pgfd pkill)" "" pkill
done

# pgbackrest.backup
PB='"stanza": "'$PGBR_STANZA'", "config": "'$PGBR_CONF'"'
pbcell() { cell pgbackrest.backup "$1" pgbackrest.backup "{$PB, $2}" - "${3:-}"; }
pbcell healthy "\"conninfo\": \"$(ci "$(pg_port p0)")\""
pbcell refused "\"conninfo\": \"$(ci "$REFUSED")\""
pbcell hang "\"conninfo\": \"$(ci "$(pg_port pstop)")\""
pbcell slow "\"conninfo\": \"$(ci "$(port pgfd p0-slow)")\""
pbcell reset "\"conninfo\": \"$(ci "$(port pgfd p0-reset)")\""
pbcell truncated "\"binary\": \"$T/tools/pgbackrest-trunc\""
pbcell garbage "\"binary\": \"$T/tools/pgbackrest-garbage\""
pbcell non-utf8 "\"binary\": \"$T/tools/pgbackrest-nonutf8\""
pbcell missing "\"binary\": \"/nonexistent/pgbackrest\""
pbcell tool-hangs "\"binary\": \"$T/tools/pgbackrest-hangs\""
pbcell tool-killed "\"binary\": \"$T/tools/pgbackrest-killed\""

# backup.basebackup
bbcell() { cell backup.basebackup "$1" backup.basebackup "{\"path\": \"$T/bb/$2\", \"binary\": \"$3\"}" - "${4:-}"; }
bbcell healthy ok "$VERIFY_REAL"
bbcell truncated trunc "$VERIFY_REAL" "could not parse backup manifest"
bbcell garbage garbage "$VERIFY_REAL" "backup_label has no START TIME"
bbcell non-utf8 nonutf8 "$VERIFY_REAL" "backup_label START TIME not understood"
bbcell slow ok "$T/tools/verify-slow"
bbcell missing ok /nonexistent/pg_verifybackup
bbcell tool-hangs ok "$T/tools/verify-hangs"
bbcell tool-killed ok "$T/tools/verify-killed"

# backup.file
fcell() { cell backup.file "$1" backup.file "{\"path\": \"$T/files/$2/*.gz\", \"restore_test\": [$3, \"{path}\"]}" - "${4:-}"; }
fcell healthy ok '"gzip", "-t"'
fcell truncated trunc '"gzip", "-t"' "sha256 mismatch"
fcell garbage garbage '"gzip", "-t"' "not in sha256sum format"
fcell non-utf8 nonutf8 '"gzip", "-t"' "not in sha256sum format"
fcell slow slow "\"$T/tools/restore-slow\""
fcell missing missing '"/nonexistent/pg_restore", "--list"'
fcell tool-hangs hangs "\"$T/tools/restore-hangs\""
fcell tool-killed killed "\"$T/tools/restore-killed\""

# http, prometheus.alerts, alertmanager.alerts, prometheus.query, patroni.cluster
u() { echo "http://127.0.0.1:$1"; }
for row in http prometheus.alerts alertmanager.alerts prometheus.query patroni.cluster; do
	case $row in
	http) type=http; path=/health; extra=', "expect_json": [{"pointer": "/status", "equals": "ok"}]'; die="die-http" ;;
	prometheus.alerts) type=$row; path=; extra=; die="die-prometheus" ;;
	alertmanager.alerts) type=$row; path=; extra=', "matchers": ["severity=\"critical\""]'; die="die-alertmanager" ;;
	prometheus.query) type=$row; path=; extra=', "query": "vector(1)", "max": 1'; die="die-promql" ;;
	patroni.cluster) type=$row; path=; extra=; die="die-patroni" ;;
	esac
	hcell() { cell "$row" "$1" "$type" "{\"url\": \"$2$path\"$extra}" - "${3:-}"; }
	hcell healthy "$(u "$(port fd http-ok)")"
	hcell refused "$(u "$REFUSED")"
	hcell hang "$(u "$FD_HANG")"
	hcell slow "$(u "$(port fd http-slow)")"
	hcell reset "$(u "$(port fd http-reset)")"
	hcell truncated "$(u "$(port fd http-trunc)")"
	hcell garbage "$(u "$(port fd http-garbage)")"
	hcell non-utf8 "$(u "$(port fd http-nonutf8)")"
	hcell server-killed "$(u "$(port $die die)")"
done
# patroni.cluster on 3.0.2: /cluster is healthy, the leader's /patroni is faulted
enc() { $PY -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1/patroni"; }
lcell() { cell patroni.cluster-leader "$1" patroni.cluster "{\"url\": \"$(u "$(port fd http-ok)")/l302/$(enc "$2")\"}" - "${3:-}"; }
lcell healthy "$(u "$(port fd http-ok)")"
lcell refused "$(u "$REFUSED")"
lcell hang "$(u "$FD_HANG")"
lcell slow "$(u "$(port fd http-slow)")"
lcell reset "$(u "$(port fd http-reset)")"
lcell truncated "$(u "$(port fd http-trunc)")"
lcell garbage "$(u "$(port fd http-garbage)")"
lcell non-utf8 "$(u "$(port fd http-nonutf8)")"
lcell server-killed "$(u "$(port die-leader die)")"

# systemd.unit, systemd.failed over the user bus of XDG_RUNTIME_DIR.  sd-bus
# reports an authentication answer it cannot read as ECONNRESET.
SD_BAD="cannot connect to the user bus: Connection reset by peer"
for row in systemd.unit systemd.failed; do
	with='{"bus": "user"}'; dd="die-failed"
	[ $row = systemd.unit ] && with='{"unit": "gate-ok.service", "bus": "user"}' && dd="die-unit"
	[ -n "$SD_OK" ] && cell $row healthy $row "$with" "XDG_RUNTIME_DIR=$SD_XDG"
	cell $row refused $row "$with" "XDG_RUNTIME_DIR=$T/xdg-refused"
	cell $row missing $row "$with" "XDG_RUNTIME_DIR=$T/xdg-missing"
	cell $row hang $row "$with" "XDG_RUNTIME_DIR=$T/xdg-hang"
	cell $row garbage $row "$with" "XDG_RUNTIME_DIR=$T/xdg-garbage" "$SD_BAD"
	cell $row non-utf8 $row "$with" "XDG_RUNTIME_DIR=$T/xdg-nonutf8" "$SD_BAD"
	cell $row server-killed $row "$with" "XDG_RUNTIME_DIR=$T/xdg-$dd"
done

# exec (Nagios protocol)
ecell() { cell exec "$1" exec "{\"command\": [\"$2\"]}" - "${3:-}"; }
ecell healthy "$T/tools/exec-ok"
ecell slow "$T/tools/exec-slow"
ecell garbage "$T/tools/exec-garbage" "exited 255 \\(not a plugin state\\)"
ecell non-utf8 "$T/tools/exec-nonutf8" "^CRITICAL - "
ecell missing /nonexistent/check_thing
ecell tool-hangs "$T/tools/exec-hangs"
ecell tool-killed "$T/tools/exec-killed"

# an external module
MP="GATE_MODULE_PATH=$T/mod"
cell module healthy fault.ok '{}' "$MP"
cell module crash fault.crash '{}' "$MP"
cell module loop fault.loop '{}' "$MP"

# ---------------------------------------------------------------- run
T0=$(date +%s)
$PY "$GATE_SOURCE_DIR/tests/lib/faultcells.py" run cells.tsv out "$JOBS"
say "$(wc -l <cells.tsv) cells in $(( $(date +%s) - T0 )) s, load $(cut -d' ' -f1-3 /proc/loadavg)"
: "${T7000_MATRIX:=$GATE_BUILD_DIR/fault-matrix.txt}"
$PY "$GATE_SOURCE_DIR/tests/lib/faultcells.py" judge cells.tsv out "$T7000_MATRIX" >verdicts.tsv
say "cells: the check's status and the wall time of its gate check in ms (timeout ${TMO} ms); n/a: does not apply"
sed 's/^/# /' "$T7000_MATRIX"

while IFS=$'\t' read -r k verdict; do
	test_expect_success "$k" 'echo "$verdict"; test "$verdict" = ok'
done <verdicts.tsv

test_expect_success 'killed in flight: pkill is dead, every process it had is gone' '
	! kill -0 "$PKILL_PM" 2>/dev/null &&
	for p in $PKILL_KIDS; do wait_until 10 sh -c "! kill -0 $p 2>/dev/null"; done
'

test_expect_success 'no tool a cell started is left running' '
	! pgrep -f "sleep $HANG"
'

test_done
