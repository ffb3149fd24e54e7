/* SPDX-License-Identifier: MIT */
/* gate/serve_metrics.c: gate serve's Prometheus exposition, from a
 * report as gate check --format json writes it (doc/report.md, "gate
 * serve"): label escaping, one-hot check statuses (a status not known is
 * error), series absent before the first evaluation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "serve_metrics.h"

static char *render(const struct serve_metrics_rb *rbs, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	serve_metrics_render(&sb, rbs, n, "9.9.9");
	return strbuf_detach(&sb);
}

static void has(const char *text, const char *line)
{
	char *want = malloc(strlen(line) + 3);
	sprintf(want, "\n%s\n", line);
	if (!strstr(text, want))
		fail_msg("no line '%s' in:\n%s", line, text);
	free(want);
}

static void lacks(const char *text, const char *part)
{
	if (strstr(text, part))
		fail_msg("'%s' should not be in:\n%s", part, text);
}

static void test_report(void **state)
{
	(void)state;
	json_t *report = json_loads(
		"{\"decision\": \"block\", \"checks\": ["
		"{\"id\": \"backup\", \"status\": \"pass\", \"duration_ms\": 1500},"
		"{\"id\": \"lag\", \"status\": \"fail\", \"duration_ms\": 2.5},"
		"{\"id\": \"odd\", \"status\": \"weird\"}]}",
		0, NULL);
	assert_non_null(report);
	struct serve_metrics_rb rb = {.name = "pg",
	                              .valid = 1,
	                              .evaluated = 1,
	                              .allow = 0,
	                              .report = report,
	                              .at_s = 1795906415.494,
	                              .duration_s = 0.045,
	                              .evaluations = 3,
	                              .reload_failures = 1};
	char *t = render(&rb, 1);
	has(t, "gate_build_info{version=\"9.9.9\"} 1");
	has(t, "# TYPE gate_runbook_evaluations_total counter");
	has(t, "gate_runbook_allowed{runbook=\"pg\"} 0");
	has(t, "gate_runbook_valid{runbook=\"pg\"} 1");
	has(t, "gate_runbook_last_evaluation_timestamp_seconds{runbook=\"pg\"} 1795906415.494");
	has(t, "gate_runbook_evaluation_duration_seconds{runbook=\"pg\"} 0.045");
	has(t, "gate_runbook_evaluations_total{runbook=\"pg\"} 3");
	has(t, "gate_runbook_reload_failures_total{runbook=\"pg\"} 1");
	has(t, "gate_check_status{runbook=\"pg\",check=\"backup\",status=\"pass\"} 1");
	has(t, "gate_check_status{runbook=\"pg\",check=\"backup\",status=\"fail\"} 0");
	has(t, "gate_check_status{runbook=\"pg\",check=\"lag\",status=\"fail\"} 1");
	has(t, "gate_check_status{runbook=\"pg\",check=\"lag\",status=\"pass\"} 0");
	/* not a status of doc/report.md: error, never pass */
	has(t, "gate_check_status{runbook=\"pg\",check=\"odd\",status=\"error\"} 1");
	has(t, "gate_check_status{runbook=\"pg\",check=\"odd\",status=\"pass\"} 0");
	has(t, "gate_check_duration_seconds{runbook=\"pg\",check=\"backup\"} 1.5");
	has(t, "gate_check_duration_seconds{runbook=\"pg\",check=\"lag\"} 0.0025");
	lacks(t, "check=\"odd\"} "); /* no duration, no duration series */
	free(t);
	json_decref(report);
}

static void test_never_evaluated_and_escapes(void **state)
{
	(void)state;
	struct serve_metrics_rb rb = {.name = "a\"b\\c\nd", .valid = 0, .running = 1};
	char *t = render(&rb, 1);
	has(t, "gate_runbook_allowed{runbook=\"a\\\"b\\\\c\\nd\"} 0");
	has(t, "gate_runbook_valid{runbook=\"a\\\"b\\\\c\\nd\"} 0");
	has(t, "gate_runbook_evaluation_running{runbook=\"a\\\"b\\\\c\\nd\"} 1");
	lacks(t, "gate_runbook_last_evaluation_timestamp_seconds{");
	lacks(t, "gate_runbook_evaluation_duration_seconds{");
	lacks(t, "gate_check_status{");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_never_evaluated_and_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
