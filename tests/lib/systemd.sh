# shellcheck shell=bash
# A real systemd user manager for the scenario tests.
#
#   . "$(dirname "$0")/lib/systemd.sh"
#   sd_unit gate-ok.service <<'EOF'
#   [Service]
#   ExecStart=/bin/sleep 300
#   EOF
#   sd_start                       # manager up, cleanup registered
#   sd_ctl start gate-ok.service   # systemctl --user against it
#   XDG_RUNTIME_DIR=$SD_XDG gate check ...
#
# systemd --user refuses to start unless /run/systemd/system exists.  That
# directory must never be created on the host (pg_ctlcluster, invoke-rc.d
# and service would then believe systemd is PID 1), so the manager runs in a
# private mount namespace with a tmpfs over /run/systemd.  Its sockets live
# under $SD_XDG, in the test's own directory, so clients reach it from
# outside the namespace.  Stopped by PID with SIGTERM; the xdg dir removed.

SD_DIR=$TEST_TMP/systemd
SD_XDG=$SD_DIR/xdg
SD_UNITS=$SD_DIR/xdg-config/systemd/user
SD_PID=
export SD_DIR SD_XDG SD_UNITS

mkdir -p "$SD_XDG" "$SD_UNITS" "$SD_DIR/xdg-data" "$SD_DIR/xdg-state" \
	"$SD_DIR/xdg-cache" "$SD_DIR/home"
chmod 700 "$SD_XDG"

# sd_unit NAME: write a user unit file from stdin.
sd_unit() { cat >"$SD_UNITS/$1"; }

# sd_available: can this machine run the fixture at all?
sd_available() {
	[ "$(id -u)" = 0 ] && [ -x /lib/systemd/systemd ] &&
		command -v unshare >/dev/null && command -v systemctl >/dev/null
}

# sd_start: start the manager and wait for its private socket and its user
# bus (dbus-user-session's dbus.socket).  Fails after 20 s.
sd_start() {
	# The tmpfs goes over /run/systemd; on a host without that directory,
	# over /run itself (inside the namespace only), so that nothing is
	# created on the host either way.
	local over=/run/systemd
	[ -d /run/systemd ] && [ -z "${SD_TMPFS_OVER_RUN:-}" ] || over=/run
	unshare --mount --propagation private -- /bin/sh -c "
	  mount -t tmpfs -o mode=0755 tmpfs $over && mkdir -p /run/systemd/system &&
	  exec env -u DBUS_SESSION_BUS_ADDRESS HOME=$SD_DIR/home XDG_RUNTIME_DIR=$SD_XDG \
	       XDG_CONFIG_HOME=$SD_DIR/xdg-config XDG_DATA_HOME=$SD_DIR/xdg-data \
	       XDG_STATE_HOME=$SD_DIR/xdg-state XDG_CACHE_HOME=$SD_DIR/xdg-cache \
	       SYSTEMD_LOG_TARGET=console /lib/systemd/systemd --user" \
		>"$SD_DIR/manager.log" 2>&1 &
	SD_PID=$!
	test_cleanup sd_stop
	wait_until 20 test -S "$SD_XDG/systemd/private" || { sd_log; return 1; }
	wait_until 20 test -S "$SD_XDG/bus" || { sd_log; return 1; }
	# The manager answers once its startup job is done.
	wait_until 20 sd_ctl list-units --no-pager --no-legend
	return 0
}

sd_log() { echo "--- manager.log:"; tail -n 30 "$SD_DIR/manager.log"; }

# sd_ctl ARGS...: systemctl --user against the test's manager.
sd_ctl() {
	env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$SD_XDG" systemctl --user "$@"
}

# sd_stop: SIGTERM the manager (it stops every unit and exits in ~2 s),
# SIGKILL after 15 s, then remove its stale sockets.
sd_stop() {
	if [ -n "$SD_PID" ] && kill -0 "$SD_PID" 2>/dev/null; then
		kill -CONT "$SD_PID" 2>/dev/null   # in case a test froze it
		kill -TERM "$SD_PID"
		local i
		for i in $(seq 1 150); do
			kill -0 "$SD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$SD_PID" 2>/dev/null && kill -KILL "$SD_PID"
		wait "$SD_PID" 2>/dev/null
	fi
	SD_PID=
	rm -rf "$SD_XDG"
}
