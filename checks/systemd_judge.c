/* SPDX-License-Identifier: MIT */
/* The systemd checks' judges: facts from the service manager in, a
 * result out (checks/systemd_judge.h).  No I/O, no clock. */
#include "systemd_judge.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "kit/timefmt.h"

/* A string member of o, or NULL. */
static const char *member(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ---- systemd.unit ---- */

/* ActiveEnterTimestamp (µs since the epoch, 0 if never active) into d,
 * as RFC 3339 UTC and as the number itself. */
static void add_timestamp(const json_t *facts, json_t *d)
{
	json_int_t us = json_integer_value(json_object_get(facts, "ActiveEnterTimestamp"));
	if (us <= 0)
		return;
	char buf[64];
	fmt_utc_s((int64_t)(us / 1000000), buf, sizeof(buf));
	json_object_set_new(d, "ActiveEnterTimestamp", json_string(buf));
	json_object_set_new(d, "ActiveEnterTimestamp_us", json_integer(us));
}

void sd_unit_judge(const json_t *facts, const char *unit, const char *want, struct gate_result *res)
{
	const char *load = member(facts, "LoadState");
	const char *active = member(facts, "ActiveState");
	const char *sub = member(facts, "SubState");
	const char *file = member(facts, "UnitFileState");
	if (!load || !active || !sub) {
		/* the fetch reads all three or says why it could not */
		gate_result_set(res, GATE_ERROR, "%s: the manager's answer lacks %s", unit,
		                !load     ? "LoadState"
		                : !active ? "ActiveState"
		                          : "SubState");
		return;
	}
	json_t *d = res->details;
	json_object_set_new(d, "LoadState", json_string(load));
	json_object_set_new(d, "ActiveState", json_string(active));
	json_object_set_new(d, "SubState", json_string(sub));
	/* Cheap extras: their absence changes nothing. */
	if (file && *file)
		json_object_set_new(d, "UnitFileState", json_string(file));
	add_timestamp(facts, d);

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
		gate_result_set(res, GATE_FAIL, "%s is %s (SubState %s), expected %s", unit, active,
		                sub, want);
	}
}

/* ---- systemd.failed ---- */

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

/* A member as a string for the details ("" when the answer lacks it). */
static json_t *field(const json_t *u, const char *key)
{
	const char *s = member(u, key);
	return json_string(s ? s : "");
}

void sd_failed_judge(const json_t *units, const json_t *ignore, struct gate_result *res)
{
	json_t *d = res->details;
	json_t *failed = json_array(), *skipped = json_array();
	json_object_set_new(d, "failed", failed);
	json_object_set_new(d, "ignored", skipped);
	char names[GATE_SUMMARY_MAX - 64] = "";
	int more = 0;
	size_t i;
	const json_t *u;
	json_array_foreach(units, i, u) {
		const char *name = member(u, "unit");
		const char *active = member(u, "ActiveState");
		/* The filter is the manager's; judge the state ourselves too. */
		if (!active || strcmp(active, "failed"))
			continue;
		if (!name)
			name = "";
		if (ignored(ignore, name)) {
			json_array_append_new(skipped, json_string(name));
			continue;
		}
		json_t *o = json_object();
		json_object_set_new(o, "unit", json_string(name));
		json_object_set_new(o, "description", field(u, "description"));
		json_object_set_new(o, "LoadState", field(u, "LoadState"));
		json_object_set_new(o, "ActiveState", json_string(active));
		json_object_set_new(o, "SubState", field(u, "SubState"));
		json_array_append_new(failed, o);
		list_add(names, sizeof(names), name, &more);
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
}
