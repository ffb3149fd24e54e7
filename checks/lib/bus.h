/* SPDX-License-Identifier: MIT */
/* A conversation with a systemd service manager over D-Bus (sd-bus) that
 * never outlives its deadline: the system manager (the system bus, else
 * systemd's private socket /run/systemd/private), or the user manager of
 * $XDG_RUNTIME_DIR (its user bus, else $XDG_RUNTIME_DIR/systemd/private).
 *
 * Every wait (connecting, the authentication handshake, each method call)
 * is bounded by a deadline a little before the core's, so a manager that
 * accepts and never answers ends as "timed out after 2s", said by us, not
 * as the core's kill.  Used inside the check's child process. */
#ifndef GATE_CHECKS_BUS_H
#define GATE_CHECKS_BUS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <systemd/sd-bus.h>

#include "gate/module.h"

#define MANAGER_DEST "org.freedesktop.systemd1"
#define MANAGER_PATH "/org/freedesktop/systemd1"
#define MANAGER_IFACE "org.freedesktop.systemd1.Manager"
#define MANAGER_UNIT_IFACE "org.freedesktop.systemd1.Unit"

struct manager_bus {
	sd_bus *bus;
	const char *which;  /* "system" or "user" */
	int64_t deadline;   /* CLOCK_MONOTONIC ms (gate_mono_ms) */
	int64_t timeout_ms; /* the check's timeout, for messages */
};

/* Connect to the "system" or "user" manager within env's deadline.  Puts
 * how ("user bus", "systemd private socket (no user bus)") into
 * details.connection.  -1 with why ("cannot connect to the user bus: ...
 * (is a systemd user manager running? XDG_RUNTIME_DIR=...)") and nothing
 * left open; 0 when ready for calls.  Close with manager_bus_close. */
int manager_bus_open(struct manager_bus *mb, const char *which, const struct gate_run_env *env,
                     json_t *details, char *why, size_t wl);
/* Closes without flushing (nothing is left to send); accepts a bus that
 * was never opened. */
void manager_bus_close(struct manager_bus *mb);

/* Bound the next call by what is left of the deadline: -ETIMEDOUT when
 * nothing is. */
int manager_bus_arm(struct manager_bus *mb);
/* Microseconds left, at least 1 (sd-bus reads 0 as "the default"). */
uint64_t manager_bus_left_usec(const struct manager_bus *mb);
/* Why a call failed: "the user manager did not answer: timed out after
 * 3s", "NAME's message (NAME)", or strerror. */
void manager_bus_call_error(const struct manager_bus *mb, int r, const sd_bus_error *e, char *buf,
                            size_t len);

#endif
