#!/bin/bash
# Record what a real systemd user manager answers, as the facts the systemd
# checks' judges read (checks/systemd_judge.h), into
# tests/data/recorded/systemd/*.json and the fuzz seeds
# fuzz/corpus/systemd/rec-*.json.  The manager is the scenario tests' own
# (tests/lib/systemd.sh: a private mount namespace, sockets under a
# temporary directory; /run/systemd/system is never created on the host),
# asked with busctl, not with gate, so the recordings are the manager's
# answer and not our reading of it.  Needs root, unshare, systemd and
# busctl; takes about ten seconds.
#
#   tests/tools/record-systemd.sh
#
# Units: gate-ok (active, running), gate-oneshot (active, exited),
# gate-fail (failed), gate-crash (a transient unit that failed),
# gate-stopped (stopped: inactive, dead), gate-flap (restarting every 2 s:
# activating, auto-restart), gate-masked (masked), gate-bad (no ExecStart:
# bad-setting), nosuch (not-found).  Each file is
#   {"source": "<how it was asked, of which systemd>", "facts": <facts>}
# with facts as sd_unit_judge (unit-*.json: the unit's properties) or
# sd_failed_judge (list-*.json: the units listed, but for the mounts,
# devices and swaps, which describe the recording machine) takes them.
set -u
# shellcheck source=tests/lib/test-lib.sh
. "$(dirname "$0")/../lib/test-lib.sh"
. "$GATE_SOURCE_DIR/tests/lib/systemd.sh"
sd_available || { echo "record-systemd: needs root, unshare and /lib/systemd/systemd" >&2; exit 1; }
require_cmd busctl python3
unset DBUS_SESSION_BUS_ADDRESS
# every client writes (if at all) into the manager's directories, never $HOME
export HOME=$SD_DIR/home XDG_CONFIG_HOME=$SD_DIR/xdg-config
OUT=$GATE_SOURCE_DIR/tests/data/recorded/systemd
SEEDS=$GATE_SOURCE_DIR/fuzz/corpus/systemd
mkdir -p "$OUT" "$SEEDS"
cd "$TEST_TMP" || exit 1

sd_unit gate-ok.service <<'EOF'
[Unit]
Description=gate recording: a service that runs
[Service]
ExecStart=/bin/sleep 300
EOF
sd_unit gate-oneshot.service <<'EOF'
[Unit]
Description=gate recording: a oneshot that stays active
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
EOF
sd_unit gate-fail.service <<'EOF'
[Unit]
Description=gate recording: a oneshot that fails
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo failing on purpose; exit 3'
EOF
sd_unit gate-stopped.service <<'EOF'
[Service]
ExecStart=/bin/sleep 300
EOF
sd_unit gate-flap.service <<'EOF'
[Unit]
Description=gate recording: a service that keeps failing and restarting
StartLimitIntervalSec=0
[Service]
ExecStart=/bin/sh -c 'exit 1'
Restart=always
RestartSec=2s
EOF
# masked: a link to /dev/null among the manager's own unit files
ln -s /dev/null "$SD_UNITS/gate-masked.service"
sd_unit gate-bad.service <<'EOF'
[Unit]
Description=gate recording: a unit without ExecStart
[Service]
Type=simple
EOF

sd_start || exit 1
bus() { env XDG_RUNTIME_DIR="$SD_XDG" busctl --user "$@"; }
sd_ctl start gate-ok.service gate-oneshot.service || exit 1
sd_ctl start gate-fail.service && { echo "gate-fail.service did not fail" >&2; exit 1; }
sd_ctl start gate-stopped.service && sd_ctl stop gate-stopped.service || exit 1
env XDG_RUNTIME_DIR="$SD_XDG" systemd-run --user --unit=gate-crash --quiet sh -c 'exit 7' || exit 1
crash_failed() { test "$(sd_ctl is-failed gate-crash.service)" = failed; }
wait_until 10 crash_failed || { echo "gate-crash.service did not fail" >&2; exit 1; }

VERSION=$(systemctl --version | head -n 1)
# wrap FILE SOURCE: {"source": SOURCE, "facts": <stdin as JSON>} into FILE
# and its fuzz seed.
wrap() {
	python3 -c '
import json, sys
facts = json.load(sys.stdin)
json.dump({"source": sys.argv[2], "facts": facts}, open(sys.argv[1], "w"), indent=1, sort_keys=True)
open(sys.argv[1], "a").write("\n")
' "$OUT/$1" "$2" || exit 1
	cp "$OUT/$1" "$SEEDS/rec-$1"
	echo "# $1"
}

# unit NAME: LoadUnit, then the properties systemd.unit reads.
unit() {
	local name=$1 path
	path=$(bus --json=short call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
		org.freedesktop.systemd1.Manager LoadUnit s "$name" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0])') || exit 1
	bus --json=short get-property org.freedesktop.systemd1 "$path" org.freedesktop.systemd1.Unit \
		LoadState ActiveState SubState UnitFileState ActiveEnterTimestamp |
		python3 -c '
import json, sys
names = ["LoadState", "ActiveState", "SubState", "UnitFileState", "ActiveEnterTimestamp"]
vals = [json.loads(l)["data"] for l in sys.stdin if l.strip()]
json.dump(dict(zip(names, vals)), sys.stdout)
' | wrap "unit-${name%.service}.json" "busctl --user get-property $name (after LoadUnit), $VERSION user manager"
}
# between two of its restarts
sd_ctl start gate-flap.service
flapping() { test "$(sd_ctl show -p SubState --value gate-flap.service)" = auto-restart; }
wait_until 10 flapping || { echo "gate-flap.service is not restarting" >&2; exit 1; }
unit gate-flap.service
for u in gate-ok gate-oneshot gate-fail gate-crash gate-stopped gate-masked gate-bad nosuch; do
	unit "$u.service"
done

# list NAME METHOD ARGS...: the units a Manager method lists, as the
# facts of systemd.failed.
list() {
	local name=$1 method=$2
	shift 2
	bus --json=short call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
		org.freedesktop.systemd1.Manager "$method" "$@" |
		python3 -c '
import json, sys
rows = json.load(sys.stdin)["data"][0]
keys = ["unit", "description", "LoadState", "ActiveState", "SubState"]
# mounts, devices and swaps describe the recording machine: left out
host = (".mount", ".automount", ".device", ".swap")
json.dump([dict(zip(keys, r[:5])) for r in rows if not r[0].endswith(host)], sys.stdout)
' | wrap "list-$name.json" "busctl --user call $method $*, $VERSION user manager"
}
list failed ListUnitsFiltered as 1 failed
list all ListUnits
sd_ctl reset-failed
list failed-reset ListUnitsFiltered as 1 failed
sd_stop
