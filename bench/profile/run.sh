#!/bin/bash
# Where the time of `gate check` goes for a PostgreSQL runbook at N replicas
# (issue 13's fixture without pgBackRest and HTTP): a primary and N streaming
# replicas on loopback (tests/lib/pg.sh, as the postgres user), a runbook
# of one postgres.replica check per replica plus postgres.replication and
# postgres.archiver on the primary.  Prints, as markdown:
#
#  1. the machine, the versions, the load average;
#  2. round trips: the connections and statements each server saw for one
#     `gate check` (log_connections + log_statement = all, switched on for
#     that one run only), and the client's network and process syscalls
#     (strace -f -c);
#  3. time: `gate check` against the floor (bench/peers/floor.c: one
#     parallel round of libpq connections in one process, one query per
#     server, judged),
#     interleaved pair by pair, medians and spreads; the same runbook with
#     every server refused (the runner's and libpq's cost without a
#     server), and -j 1;
#  4. perf: `perf stat` of both, and `perf record -g` over repeated runs of
#     gate (its children included): the top symbols by DSO and by symbol,
#     and the share of CPU each command took machine-wide (the PostgreSQL
#     backends' start-up included).
#
#   bench/profile/run.sh [N] [RUNS] > bench/profile/before.md
#   GATE_BINS="before=/tmp/x/gate after=build/gate" bench/profile/run.sh 16 15
#
# With several GATE_BINS, each is timed interleaved with the floor and with
# each other.  Run as root; everything lives in a temporary directory and
# every server is stopped at exit.  perf.data stays in that directory.
set -eu
N=${1:-16}
RUNS=${2:-15}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# GATE_BINS: "[LABEL=]PATH ...", the last one profiled
GATE_BINS=${GATE_BINS:-build=$ROOT/build/gate}
declare -A LABEL
BINS=
for e in $GATE_BINS; do
	g=${e#*=}; [ "$g" = "$e" ] && e=${g#"$ROOT"/}=$g
	[ -x "$g" ] || { echo "no gate binary at $g" >&2; exit 1; }
	LABEL[$g]=${e%%=*}
	BINS="$BINS $g"
done
GATE_BINS=$BINS
GATE_MAIN=${GATE_BINS##* }
# perf (Debian: linux-perf, matching the running kernel) and strace are a
# developer's tools, not in scripts/install-deps.sh
for tool in perf strace pg_config cc; do
	command -v "$tool" >/dev/null ||
		{ echo "bench/profile: needs $tool (apt-get install linux-perf strace)" >&2; exit 2; }
done

TEST_TMP=$(mktemp -d /tmp/gate-bench-profile.XXXXXX)
chmod 755 "$TEST_TMP"
T=$TEST_TMP
. "$ROOT/tests/lib/pg.sh"
trap 'pg_stop_all; rm -rf "$T"' EXIT
export LC_ALL=C.UTF-8

# the floor of bench/peers: one parallel libpq round, one query per server
cc -O2 -Wall -Wextra -o "$T/floor" "$ROOT/bench/peers/floor.c" $(pkg-config --cflags --libs libpq)

now_us() { echo $(($(date +%s%N) / 1000)); }
t0=$(now_us)
pg_primary_start primary "max_wal_senders = 40" "max_replication_slots = 40" "max_connections = 200" >/dev/null
pg_replicas_start primary "$N" >/dev/null
until [ "$(pg_psql primary "select count(*) from pg_stat_replication where state = 'streaming' and reply_time is not null")" -ge "$N" ]; do sleep 0.1; done
# something archived, or postgres.archiver rightly fails
pg_wal_write primary 10
pg_psql primary "select pg_switch_wal()" >/dev/null
until [ "$(pg_psql primary "select archived_count from pg_stat_archiver")" -ge 1 ]; do sleep 0.1; done
# and every replica has replayed it (postgres.replication judges replay)
until pg_caught_up primary; do sleep 0.1; done
up_ms=$((($(now_us) - t0) / 1000))

runbook() { # runbook CONNINFO-OF: the fixture's runbook; CONNINFO-OF NAME prints a conninfo
	printf 'version: 1\nname: bench-profile-%s\nchecks:\n' "$N"
	printf '  - id: replication\n    type: postgres.replication\n    with:\n      conninfo: "%s"\n      min_streaming: %s\n' "$($1 primary)" "$N"
	printf '  - id: archiver\n    type: postgres.archiver\n    with:\n      conninfo: "%s"\n' "$($1 primary)"
	local i
	for i in $(seq 1 "$N"); do
		printf '  - id: replica%02d\n    type: postgres.replica\n    with:\n      conninfo: "%s"\n' "$i" "$($1 "replica$i")"
	done
}
refused_ci() { echo "host=127.0.0.1 port=$REFUSED dbname=postgres user=postgres connect_timeout=5"; }
REFUSED=$(_pg_free_port)
runbook pg_conninfo >"$T/rb.yaml"
runbook refused_ci >"$T/refused.yaml"
FLOOR_ARGS=("$(pg_conninfo primary)")
for i in $(seq 1 "$N"); do FLOOR_ARGS+=("$(pg_conninfo "replica$i")"); done
floor() { "$T/floor" "${FLOOR_ARGS[@]}"; }
for g in $GATE_BINS; do
	"$g" check --format json "$T/rb.yaml" >"$T/check.json" 2>&1 ||
		{ echo "$g check did not allow:" >&2; cat "$T/check.json" >&2; exit 1; }
done
floor

echo "# gate check of a PostgreSQL runbook at N = $N: where the time goes"
echo
echo "Produced by \`bench/profile/run.sh $N $RUNS\`, $(date -u '+%Y-%m-%d %H:%M UTC')."
echo
echo "- machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(free -m | awk '/^Mem:/ {print $2}') MB, $(uname -sr)"
echo "- $(psql --version), libpq $(pg_config --version | sed 's/PostgreSQL //'), $(perf --version)"
for g in $GATE_BINS; do echo "- gate ${LABEL[$g]}: ${g#"$ROOT"/} ($("$g" version 2>/dev/null | head -n 1))"; done
echo "- fixture: a primary + $N streaming replicas on 127.0.0.1 (up in $up_ms ms), ssl = off (initdb's default)"
echo "- runbook: postgres.replication (min_streaming $N) + postgres.archiver on the primary, one postgres.replica per replica: $((N + 2)) checks"
echo "- load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: other builds and tests run)"
echo

# ---- 2. round trips ----
logs_mark() { local s; for s in primary $(seq -f 'replica%g' 1 "$N"); do wc -c <"$PG_ROOT/log/$s.log" >"$T/mark.$s"; done; }
logs_since() { tail -c +"$(($(cat "$T/mark.$1") + 1))" "$PG_ROOT/log/$1.log"; }
all_set() { local s; for s in primary $(seq -f 'replica%g' 1 "$N"); do pg_psql "$s" "ALTER SYSTEM SET $1" >/dev/null; pg_psql "$s" "select pg_reload_conf()" >/dev/null; done; }
echo "## Round trips of one \`gate check\` (${LABEL[$GATE_MAIN]})"
echo
all_set "log_connections = on"
all_set "log_statement = 'all'"
all_set "log_min_messages = 'log'"
sleep 0.5 # the reload is asynchronous; nothing below is timed
logs_mark
"$GATE_MAIN" check --format json "$T/rb.yaml" >/dev/null 2>&1 || true
sleep 0.5
all_set "log_statement = 'none'"
all_set "log_connections = off"
echo "What each server logged for one run (log_connections, log_statement = all; gate's connections are those with application_name=gate, and the statements are gate's: this script's own ALTER SYSTEM and reload are left out):"
echo
echo '```'
printf '%-10s %12s %11s\n' server connections statements
for s in primary replica1 replica2 "replica$N"; do
	logs_since "$s" >"$T/log.$s"
	printf '%-10s %12s %11s\n' "$s" "$(grep -c 'connection authorized.*application_name=gate' "$T/log.$s")" \
		"$(grep -E 'LOG:  (statement|execute [^:]*):' "$T/log.$s" | grep -cvE 'ALTER SYSTEM|pg_reload_conf')"
done
echo '```'
echo
echo "The statements a replica's server saw (replica1), in order:"
echo
echo '```'
grep -E 'LOG:  (statement|execute [^:]*):' "$T/log.replica1" | grep -vE 'ALTER SYSTEM|pg_reload_conf' | sed -E 's/^.*LOG:  //; s/(.{400}).*/\1 …/' || true
echo '```'
echo
echo "And the primary's:"
echo
echo '```'
grep -E 'LOG:  (statement|execute [^:]*):' "$T/log.primary" | grep -vE 'ALTER SYSTEM|pg_reload_conf' | sed -E 's/^.*LOG:  //; s/(.{400}).*/\1 …/' || true
echo '```'
echo
strace -f -c -o "$T/strace.txt" "$GATE_MAIN" check --format json "$T/rb.yaml" >/dev/null 2>&1 || true
echo "Client-side system calls of one run, gate and its children (strace -f -c; the counts matter, not strace's times):"
echo
echo '```'
awk 'NR <= 2 || /^-/ || / (clone3?|fork|vfork|connect|poll|ppoll|sendto|recvfrom|socket|execve|wait4|waitid|pidfd_open|pipe2|mmap|munmap|mprotect|openat|read|write|total)$/' "$T/strace.txt"
echo '```'
echo
strace -f -qq -e trace=connect,sendto -o "$T/net.txt" "$GATE_MAIN" check --format json "$T/rb.yaml" >/dev/null 2>&1 || true
echo "Per check (its child, or its thread in a shared child; strace -f -e connect,sendto): TCP connections and messages sent:"
echo
echo '```'
awk '/connect\(.*AF_INET/ {c[$1]++} /sendto\(/ {s[$1]++} END {for (p in c) n[c[p] " connection(s), " s[p] " sendto"]++; for (k in n) print n[k] " checks: " k}' "$T/net.txt"

echo '```'
echo

# ---- 3. time ----
# wait_quiet: up to 3 minutes for a 1-minute load average under 1.5 (the
# machine is shared); says what it got either way.
wait_quiet() {
	local i l
	for i in $(seq 1 180); do
		l=$(cut -d' ' -f1 /proc/loadavg)
		awk -v l="$l" 'BEGIN { exit !(l < 1.5) }' && break
		sleep 1
	done
	echo "(load average before timing: $(cut -d' ' -f1-3 /proc/loadavg))"
	echo
}
wait_quiet
median_of() { sort -n | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f ms (min %.1f, max %.1f, n %d)", m / 1000, a[1] / 1000, a[NR] / 1000, NR}'; }
time_us() { local a b; a=$(now_us); "$@" >/dev/null 2>&1 || true; b=$(now_us); echo $((b - a)); }
echo "## Time ($RUNS interleaved rounds; each round runs every command once, in turn)"
echo
: >"$T/t.floor"
for g in $GATE_BINS; do : >"$T/t.$(echo "$g" | md5sum | cut -c1-8)"; done
for g in $GATE_BINS; do "$g" check "$T/rb.yaml" >/dev/null 2>&1 || true; done
for r in $(seq 1 "$RUNS"); do
	time_us floor >>"$T/t.floor"
	for g in $GATE_BINS; do time_us "$g" check "$T/rb.yaml" >>"$T/t.$(echo "$g" | md5sum | cut -c1-8)"; done
done
echo '```'
printf '%-44s %s\n' "floor (bench/peers/floor.c, $((N + 1)) connections)" "$(median_of <"$T/t.floor")"
fm=$(sort -n "$T/t.floor" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
for g in $GATE_BINS; do
	f=$T/t.$(echo "$g" | md5sum | cut -c1-8)
	printf '%-44s %s\n' "gate check (${LABEL[$g]})" "$(median_of <"$f")"
	# pair by pair: gate / floor of the same round
	paste "$T/t.floor" "$f" | awk '{print int(1000 * $2 / $1)}' | sort -n |
		awk -v g="$g" '{a[NR] = $1} END {printf "%-44s %.2fx (min %.2f, max %.2f)\n", "  ratio to the floor, pair by pair", a[int((NR + 1) / 2)] / 1000, a[1] / 1000, a[NR] / 1000}'
done
echo '```'
echo
echo "gate's own start (\`gate version\`, no check) for scale:"
echo
echo '```'
for g in $GATE_BINS; do
	: >"$T/t.v"
	for r in $(seq 1 "$RUNS"); do time_us "$g" version >>"$T/t.v"; done
	printf '%-44s %s\n' "gate version (${LABEL[$g]})" "$(median_of <"$T/t.v")"
done
echo '```'
echo
echo "Without a server (every check's port refused: the runner, the children and libpq, no PostgreSQL work), and one check at a time:"
echo
echo '```'
for g in $GATE_BINS; do
	: >"$T/t.ref"; : >"$T/t.j1"
	for r in $(seq 1 "$RUNS"); do
		time_us "$g" check "$T/refused.yaml" >>"$T/t.ref"
		time_us "$g" check -j 1 "$T/rb.yaml" >>"$T/t.j1"
	done
	printf '%-44s %s\n' "refused, $((N + 2)) checks (${LABEL[$g]})" "$(median_of <"$T/t.ref")"
	printf '%-44s %s\n' "gate check -j 1 (${LABEL[$g]})" "$(median_of <"$T/t.j1")"
done
echo '```'
echo

# ---- 4. perf ----
echo "## perf stat ($RUNS runs each; task-clock counts the CPU of the process and its children)"
echo
echo '```'
perf stat -r "$RUNS" -e task-clock,context-switches,cpu-migrations,page-faults -- "$T/floor" "${FLOOR_ARGS[@]}" 2>&1 >/dev/null |
	grep -E 'task-clock|context|migrations|faults|elapsed' | sed "s|^|floor: |"
perf stat -r "$RUNS" -e task-clock,context-switches,cpu-migrations,page-faults -- "$GATE_MAIN" check "$T/rb.yaml" 2>&1 >/dev/null |
	grep -E 'task-clock|context|migrations|faults|elapsed' | sed "s|^|gate:  |"
echo '```'
echo
loops=$((RUNS * 2))
cat >"$T/loop.sh" <<LOOP
for i in \$(seq 1 $loops); do "$GATE_MAIN" check "$T/rb.yaml" >/dev/null 2>&1; done
LOOP
perf record -q -g -F 4999 -o "$T/perf.data" -- bash "$T/loop.sh" >/dev/null 2>&1
echo "## perf record -g of $loops runs of \`gate check\` (gate and its check children)"
echo
echo "By command and shared object (self time, share of all samples):"
echo
echo '```'
perf report -i "$T/perf.data" --no-children --sort comm,dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -n 25
echo '```'
echo
echo "Top symbols (self time):"
echo
echo '```'
perf report -i "$T/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -n 40
echo '```'
echo
echo "Inclusive time of the phases (children included):"
echo
echo '```'
perf report -i "$T/perf.data" --children --sort sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' |
	grep -E 'main$|runner_run|start_attempt|spawn_start|child_run|_do_fork|kernel_clone|do_exit|exit_mmap|copy_process|pgconn_open|pgconn_query|PQconnectPoll|PQconnectStart|pqsecure_open_client|pg_GSS|gss_|SSL_|OPENSSL_init|dl_main|_dl_relocate|_dl_map|runbook_load|json_|registry|execve|do_syscall|page_fault|\bpoll\b|do_sys_poll' | head -n 40
echo '```'
echo
perf record -q -a -F 999 -o "$T/perf-all.data" -- bash "$T/loop.sh" >/dev/null 2>&1
echo "## Machine-wide (perf record -a during the same $loops runs): CPU share by command"
echo
echo "postgres is the backends each connection starts (and the servers' own work); other helpers' builds show up as cc1 and the like."
echo
echo '```'
perf report -i "$T/perf-all.data" --no-children --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -n 15
echo '```'
echo
echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
