/* SPDX-License-Identifier: MIT */
/* The systemd checks' judges (checks/systemd_judge.c), table by table, fed
 * with what a real systemd user manager answered, recorded by
 * tests/tools/record-systemd.sh: units running, exited, failed, crashed,
 * stopped, restarting in a loop, masked, badly configured and missing
 * (systemd.unit), and the lists of failed units and of every unit
 * (systemd.failed).  Then what no manager sends but the judges must
 * survive: answers that lack a property, more failed units than the
 * summary can name. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kit/timefmt.h"
#include "systemd_judge.h"

/* The facts of a recording (new reference). */
static json_t *facts(const char *name)
{
	const char *src = getenv("GATE_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/recorded/systemd/%s.json", src ? src : ".",
	         name);
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);
	if (!doc)
		fail_msg("%s: %s", path, je.text);
	json_t *f = json_incref(json_object_get(doc, "facts"));
	json_decref(doc);
	assert_non_null(f);
	return f;
}

static void result_init(struct gate_result *res)
{
	memset(res, 0, sizeof(*res));
	res->status = GATE_ERROR;
	strcpy(res->summary, "module returned no result");
	res->details = json_object();
}

static const char *dstr(const struct gate_result *res, const char *key)
{
	return json_string_value(json_object_get(res->details, key));
}

static void test_unit_table(void **state)
{
	(void)state;
	static const struct {
		const char *rec, *unit, *want;
		enum gate_status status;
		const char *summary;
		const char *file_state; /* UnitFileState in the details, NULL: none */
		int since;              /* 1: ActiveEnterTimestamp in the details */
	} rows[] = {
		{"unit-gate-ok", "gate-ok.service", "active", GATE_PASS,
	         "gate-ok.service is active (SubState running)", "static", 1},
		{"unit-gate-ok", "gate-ok.service", "inactive", GATE_FAIL,
	         "gate-ok.service is active (SubState running), expected inactive", "static", 1},
		{"unit-gate-oneshot", "gate-oneshot.service", "active", GATE_PASS,
	         "gate-oneshot.service is active (SubState exited)", "static", 1},
		{"unit-gate-fail", "gate-fail.service", "active", GATE_FAIL,
	         "gate-fail.service is failed (SubState failed), expected active", "static", 0},
		{"unit-gate-fail", "gate-fail.service", "failed", GATE_PASS,
	         "gate-fail.service is failed (SubState failed)", "static", 0},
		{"unit-gate-crash", "gate-crash.service", "active", GATE_FAIL,
	         "gate-crash.service is failed (SubState failed), expected active", "transient", 1},
		{"unit-gate-stopped", "gate-stopped.service", "active", GATE_FAIL,
	         "gate-stopped.service is inactive (SubState dead), expected active", "static", 0},
		{"unit-gate-stopped", "gate-stopped.service", "inactive", GATE_PASS,
	         "gate-stopped.service is inactive (SubState dead)", "static", 0},
		/* restarting in a loop: never "active" between two restarts */
		{"unit-gate-flap", "gate-flap.service", "active", GATE_FAIL,
	         "gate-flap.service is activating (SubState auto-restart), expected active",
	         "static", 1},
		{"unit-gate-flap", "gate-flap.service", "activating", GATE_PASS,
	         "gate-flap.service is activating (SubState auto-restart)", "static", 1},
		/* not loaded: the LoadState is said */
		{"unit-gate-masked", "gate-masked.service", "active", GATE_FAIL,
	         "gate-masked.service is inactive (SubState dead, LoadState masked), expected "
	         "active",
	         "masked", 0},
		{"unit-gate-bad", "gate-bad.service", "active", GATE_FAIL,
	         "gate-bad.service is inactive (SubState dead, LoadState bad-setting), expected "
	         "active",
	         "static", 0},
		/* a unit that does not exist never passes, even as "inactive" */
		{"unit-nosuch", "nosuch.service", "active", GATE_FAIL,
	         "nosuch.service: no such unit (LoadState not-found)", NULL, 0},
		{"unit-nosuch", "nosuch.service", "inactive", GATE_FAIL,
	         "nosuch.service: no such unit (LoadState not-found)", NULL, 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *f = facts(rows[i].rec);
		struct gate_result res;
		result_init(&res);
		sd_unit_judge(f, rows[i].unit, rows[i].want, &res);
		if (res.status != rows[i].status || strcmp(res.summary, rows[i].summary))
			fail_msg("%s (row %zu): %d \"%s\", expected %d \"%s\"", rows[i].rec, i,
			         (int)res.status, res.summary, (int)rows[i].status,
			         rows[i].summary);
		/* the properties as the manager said them */
		assert_string_equal(dstr(&res, "ActiveState"),
		                    json_string_value(json_object_get(f, "ActiveState")));
		assert_string_equal(dstr(&res, "LoadState"),
		                    json_string_value(json_object_get(f, "LoadState")));
		if (rows[i].file_state)
			assert_string_equal(dstr(&res, "UnitFileState"), rows[i].file_state);
		else
			assert_null(json_object_get(res.details, "UnitFileState"));
		if (rows[i].since) {
			json_int_t us = json_integer_value(
				json_object_get(f, "ActiveEnterTimestamp"));
			char want[64];
			fmt_utc_s((int64_t)(us / 1000000), want, sizeof(want));
			assert_string_equal(dstr(&res, "ActiveEnterTimestamp"), want);
			assert_int_equal(json_integer_value(json_object_get(
						 res.details, "ActiveEnterTimestamp_us")),
			                 us);
		} else {
			assert_null(json_object_get(res.details, "ActiveEnterTimestamp"));
		}
		json_decref(res.details);
		json_decref(f);
	}
}

static void test_failed_table(void **state)
{
	(void)state;
	static const struct {
		const char *rec;
		const char *ignore; /* JSON list, or NULL */
		enum gate_status status;
		const char *summary; /* exact; NULL: "2 failed units: " naming both */
		int count, ignored;
	} rows[] = {
		{"list-failed", NULL, GATE_FAIL, NULL, 2, 0},
		{"list-failed", "[\"gate-fail.service\"]", GATE_FAIL,
	         "1 failed unit: gate-crash.service", 1, 1},
		{"list-failed", "[\"gate-fail.service\", \"gate-cr*\"]", GATE_PASS,
	         "no failed units (2 ignored)", 0, 2},
		{"list-failed", "[\"*.socket\"]", GATE_FAIL, NULL, 2, 0},
		/* every unit (ListUnits, systemd before 230): only failed ones count */
		{"list-all", NULL, GATE_FAIL, NULL, 2, 0},
		{"list-all", "[\"*.service\"]", GATE_PASS, "no failed units (2 ignored)", 0, 2},
		{"list-failed-reset", NULL, GATE_PASS, "no failed units", 0, 0},
		{"list-failed-reset", "[\"*\"]", GATE_PASS, "no failed units", 0, 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *f = facts(rows[i].rec);
		json_t *ign = rows[i].ignore ? json_loads(rows[i].ignore, 0, NULL) : NULL;
		struct gate_result res;
		result_init(&res);
		sd_failed_judge(f, ign, &res);
		if (res.status != rows[i].status)
			fail_msg("%s (row %zu): %d \"%s\"", rows[i].rec, i, (int)res.status,
			         res.summary);
		if (rows[i].summary) {
			assert_string_equal(res.summary, rows[i].summary);
		} else {
			/* the manager's order, whatever it is */
			assert_int_equal(strncmp(res.summary, "2 failed units: ", 16), 0);
			assert_non_null(strstr(res.summary, "gate-fail.service"));
			assert_non_null(strstr(res.summary, "gate-crash.service"));
		}
		assert_int_equal(json_integer_value(json_object_get(res.details, "count")),
		                 rows[i].count);
		json_t *failed = json_object_get(res.details, "failed");
		assert_int_equal(json_array_size(failed), rows[i].count);
		assert_int_equal(json_array_size(json_object_get(res.details, "ignored")),
		                 rows[i].ignored);
		size_t k;
		json_t *u;
		json_array_foreach(failed, k, u) {
			assert_string_equal(json_string_value(json_object_get(u, "ActiveState")),
			                    "failed");
			assert_string_equal(json_string_value(json_object_get(u, "LoadState")),
			                    "loaded");
			assert_non_null(json_string_value(json_object_get(u, "description")));
		}
		json_decref(res.details);
		json_decref(ign);
		json_decref(f);
	}
}

/* What a manager never sends, and the judges still answer for. */
static void test_odd_answers(void **state)
{
	(void)state;
	struct gate_result res;
	static const char *const unit_facts[] = {
		"{}",
		"{\"LoadState\": \"loaded\", \"ActiveState\": \"active\"}",
		"{\"LoadState\": 3, \"ActiveState\": \"active\", \"SubState\": \"running\"}",
	};
	for (size_t i = 0; i < 3; i++) {
		json_t *f = json_loads(unit_facts[i], 0, NULL);
		result_init(&res);
		sd_unit_judge(f, "x.service", "active", &res);
		assert_int_equal(res.status, GATE_ERROR);
		assert_int_equal(strncmp(res.summary, "x.service: the manager's answer lacks ", 38),
		                 0);
		json_decref(res.details);
		json_decref(f);
	}
	/* a negative timestamp (beyond 2^63 µs as sent) is no timestamp */
	json_t *f = json_loads("{\"LoadState\": \"loaded\", \"ActiveState\": \"active\", "
	                       "\"SubState\": \"running\", \"ActiveEnterTimestamp\": -1}",
	                       0, NULL);
	result_init(&res);
	sd_unit_judge(f, "x.service", "active", &res);
	assert_int_equal(res.status, GATE_PASS);
	assert_null(json_object_get(res.details, "ActiveEnterTimestamp"));
	json_decref(res.details);
	json_decref(f);

	/* entries without a name or a state; not an array at all */
	f = json_loads("[{\"ActiveState\": \"failed\"}, {\"unit\": \"a.service\"}, 7]", 0, NULL);
	result_init(&res);
	sd_failed_judge(f, NULL, &res);
	assert_int_equal(res.status, GATE_FAIL);
	assert_string_equal(res.summary, "1 failed unit: ");
	json_decref(res.details);
	json_decref(f);
	f = json_string("failed");
	result_init(&res);
	sd_failed_judge(f, NULL, &res);
	assert_int_equal(res.status, GATE_PASS);
	json_decref(res.details);
	json_decref(f);

	/* more failed units than the summary can name: counted */
	f = json_array();
	for (int i = 0; i < 200; i++) {
		char name[64];
		snprintf(name, sizeof(name), "a-rather-long-unit-name-number-%03d.service", i);
		json_array_append_new(
			f, json_pack("{s:s,s:s}", "unit", name, "ActiveState", "failed"));
	}
	result_init(&res);
	sd_failed_judge(f, NULL, &res);
	assert_int_equal(res.status, GATE_FAIL);
	assert_int_equal(strncmp(res.summary,
	                         "200 failed units: a-rather-long-unit-name-number-000"
	                         ".service, ",
	                         62),
	                 0);
	const char *more = strstr(res.summary, ", and ");
	assert_non_null(more);
	int named = 0, rest = 0;
	for (const char *p = res.summary; (p = strstr(p, ".service")); p++)
		named++;
	assert_int_equal(sscanf(more, ", and %d more", &rest), 1);
	assert_int_equal(named + rest, 200);
	assert_int_equal(json_array_size(json_object_get(res.details, "failed")), 200);
	json_decref(res.details);
	json_decref(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unit_table),
		cmocka_unit_test(test_failed_table),
		cmocka_unit_test(test_odd_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
