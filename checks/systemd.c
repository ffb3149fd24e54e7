/* SPDX-License-Identifier: MIT */
/* The systemd check family: unit states read from the service manager
 * over D-Bus (sd-bus), never by running systemctl.
 *
 * Every wait on the bus (connecting, the authentication handshake, each
 * method call) is bounded by the check's deadline, so a manager that
 * accepts and never answers ends as "timed out", not as a hang. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "gate/module.h"
#include "kit/timefmt.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"

static int64_t sd_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One conversation with a service manager, and its deadline. */
struct sdconn {
	sd_bus *bus;
	const char *which;   /* "system" or "user" */
	int64_t deadline;    /* CLOCK_MONOTONIC ms; ours, a little before the core's */
	int64_t timeout_ms;  /* the check's timeout, for messages */
};

static void sdconn_init(struct sdconn *c, const char *which,
                        const struct gate_run_env *env)
{
	memset(c, 0, sizeof(*c));
	c->which = which;
	c->timeout_ms = env->timeout_ms;
	int64_t now = sd_mono_ms();
	int64_t end = env->deadline_ms > 0 ? env->deadline_ms
	              : now + (env->timeout_ms > 0 ? env->timeout_ms : 30000);
	/* Leave a margin so that our message, not the core's kill, says
	 * what timed out. */
	int64_t margin = (end - now) / 10;
	if (margin > 200)
		margin = 200;
	c->deadline = end - margin;
}

/* Microseconds left, at least 1 (sd-bus reads 0 as "the default"). */
static uint64_t sdconn_left_usec(const struct sdconn *c)
{
	int64_t left = c->deadline - sd_mono_ms();
	return left > 0 ? (uint64_t)left * 1000u : 1u;
}

static void sdconn_release(struct sdconn *c)
{
	/* Close without flushing: sd_bus_flush() would wait (up to sd-bus's
	 * 90 s) for a handshake that never completes, and every call we
	 * make is synchronous, so nothing is left to send. */
	if (c->bus)
		sd_bus_close_unref(c->bus);
	c->bus = NULL;
}

static int is_socket(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Wait until the connection is authenticated (and, on a bus, has said
 * Hello), within the deadline.  sd-bus would otherwise wait for its own
 * 90 s authentication timeout inside the first call. */
static int sdconn_wait_ready(struct sdconn *c)
{
	for (;;) {
		int r = sd_bus_is_ready(c->bus);
		if (r != 0)
			return r < 0 ? r : 0;
		r = sd_bus_process(c->bus, NULL);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		if (sd_mono_ms() >= c->deadline)
			return -ETIMEDOUT;
		r = sd_bus_wait(c->bus, sdconn_left_usec(c));
		if (r < 0)
			return r;
	}
}

/* Why connecting failed: strerror, or "timed out after 2s". */
static void connect_errstr(const struct sdconn *c, int r, char *buf, size_t len)
{
	if (r == -ETIMEDOUT) {
		char t[32];
		check_fmt_timeout(c->timeout_ms, t, sizeof(t));
		snprintf(buf, len, "timed out after %s", t);
	} else {
		snprintf(buf, len, "%s", strerror(-r));
	}
}

/* The user manager: its D-Bus session bus ($XDG_RUNTIME_DIR/bus, or
 * DBUS_SESSION_BUS_ADDRESS) when there is one, else systemd's private
 * socket ($XDG_RUNTIME_DIR/systemd/private), which answers the same
 * Manager calls peer to peer. */
static int open_user(struct sdconn *c, json_t *details, char *why, size_t wl)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (!xdg || !*xdg) {
		snprintf(why, wl, "cannot connect to the user bus: XDG_RUNTIME_DIR is not set "
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
		r = sd_bus_open_user(&c->bus);
	} else {
		json_object_set_new(details, "connection",
		                    json_string("systemd private socket (no user bus)"));
		char addr[4200];
		snprintf(addr, sizeof(addr), "unix:path=%s", priv_path);
		r = sd_bus_new(&c->bus);
		if (r >= 0)
			r = sd_bus_set_address(c->bus, addr);
		if (r >= 0)
			r = sd_bus_start(c->bus);
	}
	if (r >= 0)
		r = sdconn_wait_ready(c);
	if (r < 0) {
		char t[48];
		connect_errstr(c, r, t, sizeof(t));
		snprintf(why, wl, "cannot connect to the user bus: %s (is a systemd user "
		         "manager running? XDG_RUNTIME_DIR=%s)", t, xdg);
		return -1;
	}
	return 0;
}

/* The system manager: the system bus, else systemd's private socket
 * (root only; it answers when dbus-daemon is down). */
static int open_system(struct sdconn *c, json_t *details, char *why, size_t wl)
{
	const char *addr = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	int r;
	if ((addr && *addr) || is_socket("/run/dbus/system_bus_socket") ||
	    !is_socket("/run/systemd/private")) {
		json_object_set_new(details, "connection", json_string("system bus"));
		r = sd_bus_open_system(&c->bus);
	} else {
		json_object_set_new(details, "connection",
		                    json_string("systemd private socket (no system bus)"));
		r = sd_bus_new(&c->bus);
		if (r >= 0)
			r = sd_bus_set_address(c->bus, "unix:path=/run/systemd/private");
		if (r >= 0)
			r = sd_bus_start(c->bus);
	}
	if (r >= 0)
		r = sdconn_wait_ready(c);
	if (r < 0) {
		char t[48];
		connect_errstr(c, r, t, sizeof(t));
		snprintf(why, wl, "cannot connect to the system bus: %s (is systemd the "
		         "init system here?)", t);
		return -1;
	}
	return 0;
}

static int sdconn_open(struct sdconn *c, json_t *details, char *why, size_t wl)
{
	int r = strcmp(c->which, "user") ? open_system(c, details, why, wl)
	                                 : open_user(c, details, why, wl);
	if (r < 0)
		sdconn_release(c);
	return r;
}

/* Bound the next call by what is left of the deadline. */
static int sdconn_arm(struct sdconn *c)
{
	if (sd_mono_ms() >= c->deadline)
		return -ETIMEDOUT;
	sd_bus_set_method_call_timeout(c->bus, sdconn_left_usec(c));
	return 0;
}

/* Describe a failed call: "timed out after 3s" or "NAME: message". */
static void call_error(const struct sdconn *c, int r, const sd_bus_error *e,
                       char *buf, size_t len)
{
	if (r == -ETIMEDOUT || sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT) ||
	    sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY)) {
		char t[32];
		check_fmt_timeout(c->timeout_ms, t, sizeof(t));
		snprintf(buf, len, "the %s manager did not answer: timed out after %s",
		         c->which, t);
	} else if (sd_bus_error_is_set(e)) {
		snprintf(buf, len, "%s (%s)", e->message ? e->message : e->name, e->name);
	} else {
		snprintf(buf, len, "%s", strerror(-r));
	}
}

/* ---- systemd.unit ---- */

static const struct gate_param unit_params[] = {
	{"unit", GATE_P_STRING, GATE_PF_REQUIRED, NULL, NULL,
	 "The unit's full name, with its type: postgresql@15-main.service."},
	{"state", GATE_P_ENUM, 0, "active",
	 "active|reloading|inactive|failed|activating|deactivating|maintenance",
	 "The ActiveState the unit must be in."},
	{"bus", GATE_P_ENUM, 0, "system", "system|user",
	 "Which service manager: the system's, or the user's ($XDG_RUNTIME_DIR)."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static int unit_validate(const json_t *params, const char **param, char *msg,
                         size_t msglen)
{
	const char *u = gate_param_str(params, "unit");
	if (!u || !*u) {
		*param = "unit";
		snprintf(msg, msglen, "must not be empty");
		return -1;
	}
	const char *dot = strrchr(u, '.');
	if (!dot || dot == u || !dot[1]) {
		*param = "unit";
		snprintf(msg, msglen, "'%s' is not a full unit name (add the type, e.g. %s.service)",
		         u, u);
		return -1;
	}
	if (strlen(u) > 255 || strpbrk(u, "/ \t\n")) {
		*param = "unit";
		snprintf(msg, msglen, "'%s' is not a valid unit name", u);
		return -1;
	}
	return 0;
}

/* Read one string property of a unit into *out (freed by the caller). */
static int unit_prop_str(struct sdconn *c, const char *path, const char *name,
                         char **out, char *why, size_t wl)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sdconn_arm(c);
	if (r >= 0)
		r = sd_bus_get_property_string(c->bus, SD_DEST, path, SD_UNIT, name,
		                               &e, out);
	if (r < 0) {
		char m[256];
		call_error(c, r, &e, m, sizeof(m));
		snprintf(why, wl, "cannot read %s: %s", name, m);
	}
	sd_bus_error_free(&e);
	return r;
}

/* The unit's object path: GetUnit, then LoadUnit for a unit that is not
 * loaded (a cleanly stopped unit is garbage-collected and GetUnit says
 * NoSuchUnit; LoadUnit loads it and reports inactive, or LoadState
 * not-found for a unit that does not exist). */
static int unit_path(struct sdconn *c, const char *unit, char **path,
                     char *why, size_t wl)
{
	static const char *const methods[] = {"GetUnit", "LoadUnit"};
	for (int i = 0; i < 2; i++) {
		sd_bus_error e = SD_BUS_ERROR_NULL;
		sd_bus_message *reply = NULL;
		int r = sdconn_arm(c);
		if (r >= 0)
			r = sd_bus_call_method(c->bus, SD_DEST, SD_PATH, SD_MANAGER,
			                       methods[i], &e, &reply, "s", unit);
		if (r >= 0) {
			const char *p = NULL;
			r = sd_bus_message_read(reply, "o", &p);
			if (r >= 0) {
				*path = strdup(p);
				if (!*path)
					abort();
			}
			sd_bus_message_unref(reply);
			if (r < 0)
				snprintf(why, wl, "%s: cannot read the %s reply: %s", unit,
				         methods[i], strerror(-r));
			return r;
		}
		if (i == 0 && sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
			sd_bus_error_free(&e);
			continue;
		}
		char m[320];
		call_error(c, r, &e, m, sizeof(m));
		snprintf(why, wl, "%s: %s failed: %s", unit, methods[i], m);
		sd_bus_error_free(&e);
		return r;
	}
	return -EINVAL; /* unreachable: LoadUnit either answers or fails */
}

/* ActiveEnterTimestamp (µs since the epoch, 0 if never active). */
static void unit_add_timestamp(struct sdconn *c, const char *path, json_t *d)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint64_t us = 0;
	if (sdconn_arm(c) >= 0 &&
	    sd_bus_get_property_trivial(c->bus, SD_DEST, path, SD_UNIT,
	                                "ActiveEnterTimestamp", &e, 't', &us) >= 0 &&
	    us > 0) {
		time_t t = (time_t)(us / 1000000u);
		struct tm tm;
		char buf[64];
		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(d, "ActiveEnterTimestamp", json_string(buf));
		json_object_set_new(d, "ActiveEnterTimestamp_us", json_integer((json_int_t)us));
	}
	sd_bus_error_free(&e);
}

static void unit_run(const json_t *params, const struct gate_run_env *env,
                     struct gate_result *res)
{
	const char *unit = gate_param_str(params, "unit");
	const char *want = gate_param_str(params, "state");
	const char *which = gate_param_str(params, "bus");
	if (!want)
		want = "active";
	if (!which)
		which = "system";
	if (!unit || !*unit) {
		gate_result_set(res, GATE_ERROR, "unit: not given");
		return;
	}
	json_t *d = res->details;
	json_object_set_new(d, "unit", json_string(unit));
	json_object_set_new(d, "bus", json_string(which));
	json_object_set_new(d, "expected", json_string(want));

	struct sdconn c;
	char why[GATE_SUMMARY_MAX];
	char *path = NULL, *load = NULL, *active = NULL, *sub = NULL, *file = NULL;
	sdconn_init(&c, which, env);
	if (sdconn_open(&c, d, why, sizeof(why)) < 0 ||
	    unit_path(&c, unit, &path, why, sizeof(why)) < 0 ||
	    unit_prop_str(&c, path, "LoadState", &load, why, sizeof(why)) < 0 ||
	    unit_prop_str(&c, path, "ActiveState", &active, why, sizeof(why)) < 0 ||
	    unit_prop_str(&c, path, "SubState", &sub, why, sizeof(why)) < 0) {
		gate_result_set(res, GATE_ERROR, "%s", why);
		goto out;
	}
	json_object_set_new(d, "LoadState", json_string(load));
	json_object_set_new(d, "ActiveState", json_string(active));
	json_object_set_new(d, "SubState", json_string(sub));
	/* Cheap extras: their absence changes nothing. */
	if (unit_prop_str(&c, path, "UnitFileState", &file, why, sizeof(why)) >= 0 &&
	    file && *file)
		json_object_set_new(d, "UnitFileState", json_string(file));
	unit_add_timestamp(&c, path, d);

	if (!strcmp(load, "not-found")) {
		/* Never a pass, whatever state was asked for: a unit that
		 * does not exist is "inactive" to systemd, and a typo in
		 * the runbook must not read as "the service is stopped". */
		gate_result_set(res, GATE_FAIL, "%s: no such unit (LoadState not-found)", unit);
	} else if (!strcmp(active, want)) {
		gate_result_set(res, GATE_PASS, "%s is %s (SubState %s)", unit, active, sub);
	} else if (strcmp(load, "loaded")) {
		gate_result_set(res, GATE_FAIL, "%s is %s (SubState %s, LoadState %s), expected %s",
		                unit, active, sub, load, want);
	} else {
		gate_result_set(res, GATE_FAIL, "%s is %s (SubState %s), expected %s", unit,
		                active, sub, want);
	}
out:
	free(path);
	free(load);
	free(active);
	free(sub);
	free(file);
	sdconn_release(&c);
}

/* ---- systemd.failed ---- */

static const struct gate_param failed_params[] = {
	{"bus", GATE_P_ENUM, 0, "system", "system|user",
	 "Which service manager: the system's, or the user's ($XDG_RUNTIME_DIR)."},
	{"ignore", GATE_P_STRING_LIST, 0, NULL, NULL,
	 "Unit name globs (fnmatch) whose failure does not count."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static int failed_validate(const json_t *params, const char **param, char *msg,
                           size_t msglen)
{
	const json_t *ign = json_object_get(params, "ignore");
	size_t i;
	const json_t *v;
	json_array_foreach(ign, i, v) {
		if (!json_is_string(v) || !json_string_length(v)) {
			*param = "ignore";
			snprintf(msg, msglen, "element %zu is not a non-empty glob", i);
			return -1;
		}
	}
	return 0;
}

static int ignored(const json_t *globs, const char *name)
{
	size_t i;
	const json_t *v;
	json_array_foreach(globs, i, v) {
		const char *g = json_string_value(v);
		if (g && fnmatch(g, name, 0) == 0)
			return 1;
	}
	return 0;
}

/* Append "name" to a summary list, or count it when the list is full. */
static void list_add(char *buf, size_t len, const char *name, int *more)
{
	size_t used = strlen(buf);
	size_t need = strlen(name) + (used ? 2 : 0);
	/* keep room for ", and 999 more" */
	if (*more || used + need + 16 >= len) {
		(*more)++;
		return;
	}
	snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
}

static void failed_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res)
{
	const char *which = gate_param_str(params, "bus");
	const json_t *globs = json_object_get(params, "ignore");
	if (!which)
		which = "system";
	json_t *d = res->details;
	json_object_set_new(d, "bus", json_string(which));

	struct sdconn c;
	char why[GATE_SUMMARY_MAX];
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *req = NULL, *reply = NULL;
	sdconn_init(&c, which, env);
	if (sdconn_open(&c, d, why, sizeof(why)) < 0) {
		gate_result_set(res, GATE_ERROR, "%s", why);
		goto out;
	}
	const char *method = "ListUnitsFiltered";
	int r = sdconn_arm(&c);
	if (r >= 0)
		r = sd_bus_message_new_method_call(c.bus, &req, SD_DEST, SD_PATH,
		                                   SD_MANAGER, method);
	if (r >= 0)
		r = sd_bus_message_append_strv(req, (char *[]){(char *)"failed", NULL});
	if (r >= 0)
		r = sd_bus_call(c.bus, req, sdconn_left_usec(&c), &e, &reply);
	if (r < 0 && sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_METHOD)) {
		/* systemd before 230: every unit, filtered below. */
		method = "ListUnits";
		sd_bus_error_free(&e);
		r = sdconn_arm(&c);
		if (r >= 0)
			r = sd_bus_call_method(c.bus, SD_DEST, SD_PATH, SD_MANAGER, method,
			                       &e, &reply, "");
	}
	if (r < 0) {
		char m[320];
		call_error(&c, r, &e, m, sizeof(m));
		gate_result_set(res, GATE_ERROR, "%s failed: %s", method, m);
		goto out;
	}

	json_t *failed = json_array(), *skipped = json_array();
	json_object_set_new(d, "failed", failed);
	json_object_set_new(d, "ignored", skipped);
	char names[GATE_SUMMARY_MAX - 64] = "";
	int more = 0;
	r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
	while (r >= 0) {
		const char *name, *desc, *load, *active, *sub, *following, *upath,
			*jtype, *jpath;
		uint32_t jid;
		r = sd_bus_message_read(reply, "(ssssssouso)", &name, &desc, &load,
		                        &active, &sub, &following, &upath, &jid,
		                        &jtype, &jpath);
		if (r <= 0)
			break;
		/* The filter is the manager's; judge the state ourselves too. */
		if (strcmp(active, "failed"))
			continue;
		if (ignored(globs, name)) {
			json_array_append_new(skipped, json_string(name));
			continue;
		}
		json_array_append_new(failed, json_pack("{s:s,s:s,s:s,s:s,s:s}", "unit", name,
		                                        "description", desc, "LoadState", load,
		                                        "ActiveState", active, "SubState", sub));
		list_add(names, sizeof(names), name, &more);
	}
	if (r < 0) {
		gate_result_set(res, GATE_ERROR, "cannot read the %s reply: %s", method,
		                strerror(-r));
		goto out;
	}
	size_t n = json_array_size(failed), ni = json_array_size(skipped);
	json_object_set_new(d, "count", json_integer((json_int_t)n));
	if (n == 0) {
		if (ni)
			gate_result_set(res, GATE_PASS, "no failed units (%zu ignored)", ni);
		else
			gate_result_set(res, GATE_PASS, "no failed units");
	} else if (more) {
		gate_result_set(res, GATE_FAIL, "%zu failed unit%s: %s, and %d more", n,
		                n == 1 ? "" : "s", names, more);
	} else {
		gate_result_set(res, GATE_FAIL, "%zu failed unit%s: %s", n, n == 1 ? "" : "s",
		                names);
	}
out:
	sd_bus_error_free(&e);
	sd_bus_message_unref(req);
	sd_bus_message_unref(reply);
	sdconn_release(&c);
}

static const struct gate_check_type systemd_types[] = {
	{
		"systemd.unit",
		"a systemd unit is in the required ActiveState",
		"Asks the service manager over D-Bus (sd-bus) for the unit "
		"(GetUnit, then LoadUnit for a unit that is not loaded) and "
		"compares its ActiveState with `state`. A unit that does not "
		"exist (LoadState not-found) always fails. bus: user talks to "
		"the manager of $XDG_RUNTIME_DIR (its bus, or its private socket).",
		unit_params,
		unit_validate,
		unit_run,
	},
	{
		"systemd.failed",
		"no systemd unit is in the failed state",
		"Lists the units whose ActiveState is failed "
		"(ListUnitsFiltered) and fails when any is left after the "
		"`ignore` globs; the summary names them.",
		failed_params,
		failed_validate,
		failed_run,
	},
};

const struct gate_module gate_builtin_systemd = {
	GATE_ABI_VERSION, "systemd", "1.0.0", systemd_types,
	sizeof(systemd_types) / sizeof(systemd_types[0]),
};
