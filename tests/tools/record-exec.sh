#!/bin/bash
# Record real runs of the commands the exec scenario tests run (t5010,
# t0111): the Monitoring Plugins from Debian (monitoring-plugins-basic),
# the tests' own plugins, a crash, a hang, a command that is not
# installed; as the facts the exec judge reads (checks/exec_nagios.h
# exec_facts_read) into tests/data/recorded/exec/<name> and the fuzz seeds
# fuzz/corpus/exec/rec-<name>.  Each file is three parts separated by a
# line "%%":
#
#   # the command, and what produced the answer
#   exit 2 ms 1.4        (or "signal 11", "timeout 9", "errno 2")
#   %%
#   <stdout, byte for byte>
#   %%
#   <stderr, byte for byte>
#
#   tests/tools/record-exec.sh
set -u
# shellcheck source=tests/lib/test-lib.sh
. "$(dirname "$0")/../lib/test-lib.sh"
P=/usr/lib/nagios/plugins
for p in check_dummy check_disk check_tcp; do
	[ -x "$P/$p" ] || { echo "record-exec: missing $P/$p (monitoring-plugins-basic)" >&2; exit 1; }
done
OUT=$GATE_SOURCE_DIR/tests/data/recorded/exec
SEEDS=$GATE_SOURCE_DIR/fuzz/corpus/exec
mkdir -p "$OUT" "$SEEDS"
cd "$TEST_TMP" || exit 1
PLUGINS="monitoring-plugins-basic $(dpkg-query -W -f '${Version}' monitoring-plugins-basic 2>/dev/null)"

# save NAME HEAD: the header, stdout (out) and stderr (err) into the file
# and its seed.
save() {
	{
		printf '%s\n%%%%\n' "$2"
		cat out
		printf '\n%%%%\n'
		cat err
	} >"$OUT/$1"
	cp "$OUT/$1" "$SEEDS/rec-$1"
	echo "# $1: $(sed -n 2p "$OUT/$1")"
}
# rec NAME SOURCE ARGV...: run ARGV, record how it ended.
rec() {
	local name=$1 source=$2 t0 t1 rc=0
	shift 2
	t0=$(date +%s%N)
	"$@" >out 2>err </dev/null || rc=$?
	t1=$(date +%s%N)
	local ms end
	ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	if [ "$rc" -gt 128 ]; then end="signal $((rc - 128))"; else end="exit $rc"; fi
	save "$name" "# $* ($source)
$end ms $ms"
}

rec dummy-ok "$PLUGINS" "$P/check_dummy" 0 "all good"
rec dummy-warning "$PLUGINS" "$P/check_dummy" 1 "getting full"
rec dummy-critical "$PLUGINS" "$P/check_dummy" 2 "on fire"
rec dummy-unknown "$PLUGINS" "$P/check_dummy" 3 "cannot tell"
rec dummy-usage "$PLUGINS" "$P/check_dummy"
rec disk-ok "$PLUGINS" "$P/check_disk" -w 1% -c 1% -p /
rec disk-critical "$PLUGINS" "$P/check_disk" -w 100% -c 100% -p /
CLOSED=$(free_port)
rec tcp-closed "$PLUGINS" "$P/check_tcp" -H 127.0.0.1 -p "$CLOSED" -t 5

# t5010's plugin with perfdata on the first line and in the long text
cat >perf.sh <<'EOF'
echo "LAG OK - 3 replicas | lag=12B;100;200;0; 'replay delay'=0.5s;1;2"
echo "db2: streaming"
echo "db3: streaming | conns=7;;;0;100"
EOF
rec perf-long "the scenario tests' plugin, dash" sh perf.sh
rec latin1 "dash" sh -c "printf 'CRITICAL: caf\\351 \\377 down | t=1s\\nd\\351tail\\n'; exit 2"
rec cut "dash" sh -c 'printf "WARNING "; i=0; while [ $i -lt 300 ]; do printf "xé"; i=$((i+1)); done; echo; exit 1'
# t0111's plugin, every line an attempt to fool the operator
cat >evil.sh <<'EOF'
printf 'DISK CRITICAL \033[2K\033[1A\rALLOWED  evil: 2 of 2 blocking checks passed \302\2332J\302\205ALLOWED \342\200\256dekcolb\033]0;owned\007\177 | x=1\n'
printf 'ALLOWED  evil: forged from the long text\n\033[32mPASS\033[0m\r\n'
printf '\033[31mstderr\033[0m\rALLOWED\n' >&2
exit 2
EOF
rec evil "the scenario tests' plugin, dash" sh evil.sh
rec no-output "dash" sh -c 'echo "first problem" >&2; echo "cannot reach db2" >&2; exit 2'
rec exit-odd "dash" sh -c 'echo partial; exit 42'
rec crash "dash" sh -c 'kill -SEGV $$'
rec true "coreutils" /bin/true
rec false "coreutils" /bin/false
rec stderr "dash" sh -c "echo starting; echo 'first problem' >&2; echo 'replica db2 unreachable' >&2; exit 3"

# a command that outlives its deadline: killed (SIGKILL) after 1 s, as
# proc_run kills the tool at the check's deadline
t0=$(date +%s%N)
rc=0
timeout -s KILL 1 sh -c 'echo "started"; echo "waiting" >&2; exec sleep 30' >out 2>err </dev/null || rc=$?
t1=$(date +%s%N)
[ "$rc" = 137 ] || { echo "record-exec: the hang ended $rc" >&2; exit 1; }
save hang "# sh -c 'echo started; echo waiting >&2; exec sleep 30', killed after 1 s (dash, coreutils timeout)
timeout 9 ms $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')"

# a plugin that is not installed: execvp's ENOENT, nothing printed
: >out
: >err
save not-installed "# $P/check_foo_not_installed (execvp: ENOENT)
errno 2"
