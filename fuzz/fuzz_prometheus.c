/* SPDX-License-Identifier: MIT */
/* prometheus.alerts' judgement (prom_alerts_judge, checks/http_prom.c) of
 * a GET /api/v1/alerts answer, parsed as http_get_json parses it.  Judged
 * three ways: every firing alert (max 0), severity=~critical|warning
 * firing or pending (max 1), and a match on a label most alerts lack.
 * Seeds: tests/data/recorded/http/prometheus/ (tests/tools/record-http.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/http_judge.h"
#include "fuzz.h"

struct way {
	const char *match; /* JSON */
	int any;
	int64_t max;
	json_t *j; /* the matchers' labels point into it */
	struct prom_matcher *m;
	size_t nm;
};

static struct way ways[] = {
	{"{}", 0, 0, NULL, NULL, 0},
	{"{\"severity\": \"critical|warning\", \"alertname\": \"Fixture.*\"}", 1, 1, NULL, NULL, 0},
	{"{\"team\": \"db\"}", 0, 2, NULL, NULL, 0},
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		ways[i].j = json_loads(ways[i].match, 0, NULL);
		char msg[256];
		if (!ways[i].j ||
		    prom_compile_match(ways[i].j, &ways[i].m, &ways[i].nm, msg, sizeof(msg)) < 0)
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, size, 0, &je);
	if (!doc)
		return 0;
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		struct gate_result res;
		fuzz_result_init(&res);
		prom_alerts_judge(doc, ways[i].m, ways[i].nm, ways[i].any, ways[i].max,
		                  "http://127.0.0.1:9090/api/v1/alerts", &res);
		fuzz_result_check(&res);
	}
	json_decref(doc);
	return 0;
}
