/* SPDX-License-Identifier: MIT */
/* The systemd check family: unit states read from the service manager
 * over D-Bus (sd-bus), never by running systemctl.
 *
 * Each check fetches the unit's properties (or the list of units) into
 * JSON facts named after the manager's own properties, and a pure judge
 * (checks/systemd_judge.c) decides.  Every wait on the bus (connecting,
 * the authentication handshake, each method call) is bounded by the
 * check's deadline (checks/lib/bus.c), so a manager that accepts and
 * never answers ends as "timed out", not as a hang. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "builtin.h"
#include "gate/module.h"
#include "kit/alloc.h"
#include "lib/bus.h"
#include "systemd_judge.h"

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

static int unit_validate(const json_t *params, const char **param, char *msg, size_t msglen)
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
		snprintf(msg, msglen,
		         "'%s' is not a full unit name (add the type, e.g. %s.service)", u, u);
		return -1;
	}
	if (strlen(u) > 255 || strpbrk(u, "/ \t\n")) {
		*param = "unit";
		snprintf(msg, msglen, "'%s' is not a valid unit name", u);
		return -1;
	}
	return 0;
}

/* Read one string property of a unit into facts[name]. */
static int unit_prop_str(struct manager_bus *mb, const char *path, const char *name, json_t *facts,
                         char *why, size_t wl)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *out = NULL;
	int r = manager_bus_arm(mb);
	if (r >= 0)
		r = sd_bus_get_property_string(mb->bus, MANAGER_DEST, path, MANAGER_UNIT_IFACE,
		                               name, &e, &out);
	if (r < 0) {
		char m[256];
		manager_bus_call_error(mb, r, &e, m, sizeof(m));
		snprintf(why, wl, "cannot read %s: %s", name, m);
	} else {
		json_object_set_new(facts, name, json_string(out ? out : ""));
	}
	free(out);
	sd_bus_error_free(&e);
	return r;
}

/* The unit's object path: GetUnit, then LoadUnit for a unit that is not
 * loaded (a cleanly stopped unit is garbage-collected and GetUnit says
 * NoSuchUnit; LoadUnit loads it and reports inactive, or LoadState
 * not-found for a unit that does not exist). */
static int unit_path(struct manager_bus *mb, const char *unit, char **path, char *why, size_t wl)
{
	static const char *const methods[] = {"GetUnit", "LoadUnit"};
	for (int i = 0; i < 2; i++) {
		sd_bus_error e = SD_BUS_ERROR_NULL;
		sd_bus_message *reply = NULL;
		int r = manager_bus_arm(mb);
		if (r >= 0)
			r = sd_bus_call_method(mb->bus, MANAGER_DEST, MANAGER_PATH, MANAGER_IFACE,
			                       methods[i], &e, &reply, "s", unit);
		if (r >= 0) {
			const char *p = NULL;
			r = sd_bus_message_read(reply, "o", &p);
			if (r >= 0)
				*path = xstrdup(p);
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
		manager_bus_call_error(mb, r, &e, m, sizeof(m));
		snprintf(why, wl, "%s: %s failed: %s", unit, methods[i], m);
		sd_bus_error_free(&e);
		return r;
	}
	return -EINVAL; /* unreachable: LoadUnit either answers or fails */
}

/* The facts sd_unit_judge reads: LoadState, ActiveState and SubState
 * (-1 with why when one cannot be read), UnitFileState and
 * ActiveEnterTimestamp when they can. */
static int unit_fetch(struct manager_bus *mb, const char *unit, json_t *facts, char *why, size_t wl)
{
	char *path = NULL;
	int r = unit_path(mb, unit, &path, why, wl);
	static const char *const props[] = {"LoadState", "ActiveState", "SubState"};
	for (size_t i = 0; r >= 0 && i < 3; i++)
		r = unit_prop_str(mb, path, props[i], facts, why, wl);
	if (r < 0) {
		free(path);
		return -1;
	}
	char ignore[8];
	unit_prop_str(mb, path, "UnitFileState", facts, ignore, sizeof(ignore));
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint64_t us = 0;
	if (manager_bus_arm(mb) >= 0 &&
	    sd_bus_get_property_trivial(mb->bus, MANAGER_DEST, path, MANAGER_UNIT_IFACE,
	                                "ActiveEnterTimestamp", &e, 't', &us) >= 0)
		json_object_set_new(facts, "ActiveEnterTimestamp", json_integer((json_int_t)us));
	sd_bus_error_free(&e);
	free(path);
	return 0;
}

static void unit_run(const json_t *params, const struct gate_run_env *env, struct gate_result *res)
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

	struct manager_bus mb;
	char why[GATE_SUMMARY_MAX];
	json_t *facts = json_object();
	if (manager_bus_open(&mb, which, env, d, why, sizeof(why)) < 0 ||
	    unit_fetch(&mb, unit, facts, why, sizeof(why)) < 0)
		gate_result_set(res, GATE_ERROR, "%s", why);
	else
		sd_unit_judge(facts, unit, want, res);
	json_decref(facts);
	manager_bus_close(&mb);
}

/* ---- systemd.failed ---- */

static const struct gate_param failed_params[] = {
	{"bus", GATE_P_ENUM, 0, "system", "system|user",
         "Which service manager: the system's, or the user's ($XDG_RUNTIME_DIR)."},
	{"ignore", GATE_P_STRING_LIST, 0, NULL, NULL,
         "Unit name globs (fnmatch) whose failure does not count."},
	{NULL, 0, 0, NULL, NULL, NULL},
};

static int failed_validate(const json_t *params, const char **param, char *msg, size_t msglen)
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

/* Ask for the failed units: ListUnitsFiltered(["failed"]), or ListUnits
 * on systemd before 230 (every unit; the judge filters).  The reply in
 * *reply, the method asked in *method; -1 with why. */
static int failed_call(struct manager_bus *mb, sd_bus_message **reply, const char **method,
                       char *why, size_t wl)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *req = NULL;
	*method = "ListUnitsFiltered";
	int r = manager_bus_arm(mb);
	if (r >= 0)
		r = sd_bus_message_new_method_call(mb->bus, &req, MANAGER_DEST, MANAGER_PATH,
		                                   MANAGER_IFACE, *method);
	if (r >= 0)
		r = sd_bus_message_append_strv(req, (char *[]){(char *)"failed", NULL});
	if (r >= 0)
		r = sd_bus_call(mb->bus, req, manager_bus_left_usec(mb), &e, reply);
	if (r < 0 && sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_METHOD)) {
		*method = "ListUnits";
		sd_bus_error_free(&e);
		r = manager_bus_arm(mb);
		if (r >= 0)
			r = sd_bus_call_method(mb->bus, MANAGER_DEST, MANAGER_PATH, MANAGER_IFACE,
			                       *method, &e, reply, "");
	}
	if (r < 0) {
		char m[320];
		manager_bus_call_error(mb, r, &e, m, sizeof(m));
		snprintf(why, wl, "%s failed: %s", *method, m);
	}
	sd_bus_error_free(&e);
	sd_bus_message_unref(req);
	return r < 0 ? -1 : 0;
}

/* The facts sd_failed_judge reads: the units the manager listed, each
 * {unit, description, LoadState, ActiveState, SubState}. */
static int failed_fetch(struct manager_bus *mb, json_t *units, char *why, size_t wl)
{
	sd_bus_message *reply = NULL;
	const char *method;
	if (failed_call(mb, &reply, &method, why, wl) < 0)
		return -1;
	int r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
	while (r >= 0) {
		const char *name, *desc, *load, *active, *sub, *following, *upath, *jtype, *jpath;
		uint32_t jid;
		r = sd_bus_message_read(reply, "(ssssssouso)", &name, &desc, &load, &active, &sub,
		                        &following, &upath, &jid, &jtype, &jpath);
		if (r <= 0)
			break;
		json_array_append_new(units, json_pack("{s:s,s:s,s:s,s:s,s:s}", "unit", name,
		                                       "description", desc, "LoadState", load,
		                                       "ActiveState", active, "SubState", sub));
	}
	sd_bus_message_unref(reply);
	if (r < 0) {
		snprintf(why, wl, "cannot read the %s reply: %s", method, strerror(-r));
		return -1;
	}
	return 0;
}

static void failed_run(const json_t *params, const struct gate_run_env *env,
                       struct gate_result *res)
{
	const char *which = gate_param_str(params, "bus");
	if (!which)
		which = "system";
	json_t *d = res->details;
	json_object_set_new(d, "bus", json_string(which));

	struct manager_bus mb;
	char why[GATE_SUMMARY_MAX];
	json_t *units = json_array();
	if (manager_bus_open(&mb, which, env, d, why, sizeof(why)) < 0 ||
	    failed_fetch(&mb, units, why, sizeof(why)) < 0)
		gate_result_set(res, GATE_ERROR, "%s", why);
	else
		sd_failed_judge(units, json_object_get(params, "ignore"), res);
	json_decref(units);
	manager_bus_close(&mb);
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

GATE_FAMILY_MODULE(systemd) = {
	.abi_version = GATE_ABI_VERSION,
	.name = "systemd",
	.version = "1.0.0",
	.types = systemd_types,
	.ntypes = sizeof(systemd_types) / sizeof(systemd_types[0]),
};
