#!/bin/bash
# examples/systemd/gate-rehearse.service and .timer for real.  Both pass
# `systemd-analyze verify`; the timer is nightly, Persistent= and spread
# by RandomizedDelaySec=.  The service, run by a real systemd manager
# (tests/lib/systemd.sh; root's user manager, so the sandbox is applied),
# with three substitutions (the gate binary and the runbook in ExecStart=,
# and the test's directory made reachable and writable: it lives in /tmp, which the
# unit's PrivateTmp= would hide), and without ProtectHome=,
# ProtectKernelTunables= and ProtectKernelLogs=, which the nested mount
# namespace of the fixture cannot set up (status 226/NAMESPACE even for
# /bin/true; `systemd-analyze verify` above checks them), rehearses: a pass leaves the unit
# inactive and a record in its StateDirectory=; a failing rehearsal fails
# the unit; `systemctl stop` mid-rehearsal (SIGTERM to gate alone,
# KillMode=mixed) leaves an interrupted record and no scratch directory.
# The rehearsal is the test type of tests/data/rehearse/rh_module.c.
. "$(dirname "$0")/lib/test-lib.sh"
. "$(dirname "$0")/lib/systemd.sh"
require_cmd cc pkg-config systemd-analyze unshare
cd "$TEST_TMP" || exit 1
EX=$GATE_SOURCE_DIR/examples/systemd
GATE_REAL=$(readlink -f "$GATE_BIN")

test_expect_success 'systemd-analyze verify accepts the service and the timer' '
	mkdir sa &&
	sed "s|/usr/local/bin/gate|$GATE_REAL|" "$EX/gate-rehearse.service" >sa/gate-rehearse.service &&
	cp "$EX/gate-rehearse.timer" sa/ &&
	# verify runs a manager that touches /run/systemd/systemd-units-load:
	# give it a private /run/systemd (or /run, on a host without one) so
	# the host is left as it was
	unshare --mount --propagation private -- sh -c "{ mount -t tmpfs tmpfs /run/systemd 2>/dev/null ||
		mount -t tmpfs tmpfs /run; } && cd sa &&
		systemd-analyze verify --man=no ./gate-rehearse.service ./gate-rehearse.timer"
'

test_expect_success 'the timer is nightly, persistent and spread' '
	grep -q "^Persistent=true$" "$EX/gate-rehearse.timer" &&
	grep -q "^RandomizedDelaySec=[1-9]" "$EX/gate-rehearse.timer" &&
	cal=$(sed -n "s/^OnCalendar=//p" "$EX/gate-rehearse.timer") &&
	systemd-analyze calendar --iterations=2 "$cal" >cal.txt &&
	test "$(grep -c "Next elapse\|Iter. #2" cal.txt)" = 2 &&
	grep -q "^ExecStart=/usr/local/bin/gate rehearse " "$EX/gate-rehearse.service" &&
	grep -q "^KillMode=mixed$" "$EX/gate-rehearse.service"
'

if ! sd_available; then
	test_skip 'the service under a systemd manager' 'needs root, systemd and unshare'
	test_done
fi

mkdir mod scratch
cc -std=c17 -shared -fPIC -I"$GATE_SOURCE_DIR" $(pkg-config --cflags jansson) \
	-o mod/rh.so "$GATE_SOURCE_DIR/tests/data/rehearse/rh_module.c" || exit 1
# rb MODE: the runbook the unit rehearses
rb() {
	write_rb rb.yaml <<-EOF
	version: 1
	name: nightly
	checks:
	  - id: nightly
	    type: rh.restore
	    with:
	      mode: $1
	      stanza: demo
	      scratch_dir: $TEST_TMP/scratch
	      backup: {kind: pgbackrest, stanza: demo, repo: 1, label: 20261128-020000F}
	EOF
}
sed -e "s|^ExecStart=/usr/local/bin/gate rehearse --no-color /etc/gate/runbooks/rehearse-nightly.yaml$|ExecStart=$GATE_REAL rehearse --no-color $TEST_TMP/rb.yaml|" \
	-e "s|^PrivateTmp=true$|PrivateTmp=false|" \
	-e "/^ProtectHome=/d" -e "/^ProtectKernelTunables=/d" -e "/^ProtectKernelLogs=/d" \
	-e "s|^ProtectSystem=strict$|ProtectSystem=strict\nReadWritePaths=$TEST_TMP\nEnvironment=GATE_MODULE_PATH=$TEST_TMP/mod|" \
	"$EX/gate-rehearse.service" | sd_unit gate-rehearse.service
# %S and StateDirectory= of a user unit: $XDG_CONFIG_HOME (systemd 252)
STATE=$SD_DIR/xdg-config/gate/rehearsals

sd_start >sd_start.log 2>&1
test_expect_success 'the manager is up and the unit is the example' '
	sd_ctl list-units --no-pager --no-legend >/dev/null || { cat sd_start.log; false; } &&
	grep -q "^ExecStart=$GATE_REAL rehearse --no-color $TEST_TMP/rb.yaml$" "$SD_UNITS/gate-rehearse.service" &&
	grep -q "^ProtectSystem=strict$" "$SD_UNITS/gate-rehearse.service"
'

test_expect_success 'a passing rehearsal: the unit succeeds, the record is in its StateDirectory=' '
	rb pass &&
	sd_ctl start gate-rehearse.service &&
	test "$(sd_ctl is-failed gate-rehearse.service)" != failed &&
	test "$(stat -c %a "$STATE")" = 700 &&
	test "$(ls "$STATE" | wc -l)" = 1 &&
	test "$(json_get "$STATE"/*.json .outcome)" = pass
'

test_expect_success 'a failing rehearsal fails the unit (exit 75)' '
	rb fail &&
	! sd_ctl start gate-rehearse.service &&
	test "$(sd_ctl is-failed gate-rehearse.service)" = failed &&
	sd_ctl show -p ExecMainStatus gate-rehearse.service >show &&
	test_grep "ExecMainStatus=75" show
'

test_expect_success 'systemctl stop mid-rehearsal: an interrupted record, no scratch directory left' '
	sd_ctl reset-failed gate-rehearse.service &&
	rb hang && rm -f scratch/current && rm -f "$STATE"/*.json &&
	sd_ctl start --no-block gate-rehearse.service &&
	wait_until 60 test -s scratch/current &&
	read -r sdir server guard <scratch/current && test -d "$sdir" &&
	sd_ctl stop gate-rehearse.service &&
	test ! -e "$sdir" && ! kill -0 "$server" 2>/dev/null && ! kill -0 "$guard" 2>/dev/null &&
	test "$(json_get "$STATE"/*.json .outcome)" = interrupted
'

test_done
