/* SPDX-License-Identifier: MIT */
/* A conversation with a systemd service manager over D-Bus, within a
 * deadline (checks/lib/bus.h). */
#include "bus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kit/clock.h"
#include "kit/timefmt.h"

static void manager_bus_init(struct manager_bus *mb, const char *which,
                             const struct gate_run_env *env)
{
	memset(mb, 0, sizeof(*mb));
	mb->which = which;
	mb->timeout_ms = env->timeout_ms;
	int64_t now = gate_mono_ms();
	int64_t end = env->deadline_ms > 0 ? env->deadline_ms
	                                   : now + (env->timeout_ms > 0 ? env->timeout_ms : 30000);
	/* Leave a margin so that our message, not the core's kill, says
	 * what timed out. */
	int64_t margin = (end - now) / 10;
	if (margin > 200)
		margin = 200;
	mb->deadline = end - margin;
}

uint64_t manager_bus_left_usec(const struct manager_bus *mb)
{
	int64_t left = mb->deadline - gate_mono_ms();
	return left > 0 ? (uint64_t)left * 1000u : 1u;
}

void manager_bus_close(struct manager_bus *mb)
{
	/* Close without flushing: sd_bus_flush() would wait (up to sd-bus's
	 * 90 s) for a handshake that never completes, and every call we
	 * make is synchronous, so nothing is left to send. */
	if (mb->bus)
		sd_bus_close_unref(mb->bus);
	mb->bus = NULL;
}

static int is_socket(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Wait until the connection is authenticated (and, on a bus, has said
 * Hello), within the deadline.  sd-bus would otherwise wait for its own
 * 90 s authentication timeout inside the first call. */
static int wait_ready(struct manager_bus *mb)
{
	for (;;) {
		int r = sd_bus_is_ready(mb->bus);
		if (r != 0)
			return r < 0 ? r : 0;
		r = sd_bus_process(mb->bus, NULL);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		if (gate_mono_ms() >= mb->deadline)
			return -ETIMEDOUT;
		r = sd_bus_wait(mb->bus, manager_bus_left_usec(mb));
		if (r < 0)
			return r;
	}
}

/* Why connecting failed: strerror, or "timed out after 2s". */
static void connect_errstr(const struct manager_bus *mb, int r, char *buf, size_t len)
{
	if (r == -ETIMEDOUT) {
		char t[32];
		check_fmt_timeout(mb->timeout_ms, t, sizeof(t));
		snprintf(buf, len, "timed out after %s", t);
	} else {
		snprintf(buf, len, "%s", strerror(-r));
	}
}

/* A peer-to-peer connection to systemd's private socket at addr. */
static int open_private(struct manager_bus *mb, const char *addr)
{
	int r = sd_bus_new(&mb->bus);
	if (r >= 0)
		r = sd_bus_set_address(mb->bus, addr);
	if (r >= 0)
		r = sd_bus_start(mb->bus);
	return r;
}

/* The user manager: its D-Bus session bus ($XDG_RUNTIME_DIR/bus, or
 * DBUS_SESSION_BUS_ADDRESS) when there is one, else systemd's private
 * socket ($XDG_RUNTIME_DIR/systemd/private), which answers the same
 * Manager calls peer to peer. */
static int open_user(struct manager_bus *mb, json_t *details, char *why, size_t wl)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (!xdg || !*xdg) {
		snprintf(why, wl,
		         "cannot connect to the user bus: XDG_RUNTIME_DIR is not set "
		         "(is a systemd user manager running?)");
		return -1;
	}
	char bus_path[4096], priv_path[4096];
	snprintf(bus_path, sizeof(bus_path), "%s/bus", xdg);
	snprintf(priv_path, sizeof(priv_path), "%s/systemd/private", xdg);
	const char *session = getenv("DBUS_SESSION_BUS_ADDRESS");
	int r;
	if ((session && *session) || is_socket(bus_path) || !is_socket(priv_path)) {
		json_object_set_new(details, "connection", json_string("user bus"));
		r = sd_bus_open_user(&mb->bus);
	} else {
		json_object_set_new(details, "connection",
		                    json_string("systemd private socket (no user bus)"));
		char addr[4200];
		snprintf(addr, sizeof(addr), "unix:path=%s", priv_path);
		r = open_private(mb, addr);
	}
	if (r >= 0)
		r = wait_ready(mb);
	if (r < 0) {
		char t[48];
		connect_errstr(mb, r, t, sizeof(t));
		snprintf(why, wl,
		         "cannot connect to the user bus: %s (is a systemd user "
		         "manager running? XDG_RUNTIME_DIR=%s)",
		         t, xdg);
		return -1;
	}
	return 0;
}

/* The system manager: the system bus, else systemd's private socket
 * (root only; it answers when dbus-daemon is down). */
static int open_system(struct manager_bus *mb, json_t *details, char *why, size_t wl)
{
	const char *addr = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	int r;
	if ((addr && *addr) || is_socket("/run/dbus/system_bus_socket") ||
	    !is_socket("/run/systemd/private")) {
		json_object_set_new(details, "connection", json_string("system bus"));
		r = sd_bus_open_system(&mb->bus);
	} else {
		json_object_set_new(details, "connection",
		                    json_string("systemd private socket (no system bus)"));
		r = open_private(mb, "unix:path=/run/systemd/private");
	}
	if (r >= 0)
		r = wait_ready(mb);
	if (r < 0) {
		char t[48];
		connect_errstr(mb, r, t, sizeof(t));
		snprintf(why, wl,
		         "cannot connect to the system bus: %s (is systemd the "
		         "init system here?)",
		         t);
		return -1;
	}
	return 0;
}

int manager_bus_open(struct manager_bus *mb, const char *which, const struct gate_run_env *env,
                     json_t *details, char *why, size_t wl)
{
	manager_bus_init(mb, which, env);
	int r = strcmp(which, "user") ? open_system(mb, details, why, wl)
	                              : open_user(mb, details, why, wl);
	if (r < 0)
		manager_bus_close(mb);
	return r;
}

int manager_bus_arm(struct manager_bus *mb)
{
	if (gate_mono_ms() >= mb->deadline)
		return -ETIMEDOUT;
	sd_bus_set_method_call_timeout(mb->bus, manager_bus_left_usec(mb));
	return 0;
}

void manager_bus_call_error(const struct manager_bus *mb, int r, const sd_bus_error *e, char *buf,
                            size_t len)
{
	if (r == -ETIMEDOUT || sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT) ||
	    sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY)) {
		char t[32];
		check_fmt_timeout(mb->timeout_ms, t, sizeof(t));
		snprintf(buf, len, "the %s manager did not answer: timed out after %s", mb->which,
		         t);
	} else if (sd_bus_error_is_set(e)) {
		snprintf(buf, len, "%s (%s)", e->message ? e->message : e->name, e->name);
	} else {
		snprintf(buf, len, "%s", strerror(-r));
	}
}
