/* SPDX-License-Identifier: MIT */
/* prometheus.query's judgement (promql_judge, checks/http_promql.c) of a
 * GET /api/v1/query answer.  Input: the HTTP status, a line "%%", the
 * answer, parsed as the check parses it; judged with no conditions, with
 * bounds and a series count, and with min_series 0.  Besides what every
 * judge promises: an answer other than 200 never passes, and NaN never
 * passes.  Seeds: tests/data/recorded/http/prometheus/query-*
 * (tests/tools/record-http.sh). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/http_judge.h"
#include "fuzz.h"

static json_t *ways[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ways[0] = json_object();
	ways[1] = json_pack("{s:f,s:f,s:i,s:i}", "min", -1.5, "max", 100.0, "min_series", 1,
	                    "max_series", 3);
	ways[2] = json_pack("{s:i,s:f}", "min_series", 0, "max", 0.0);
	for (size_t i = 0; i < 3; i++)
		if (!ways[i])
			abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 2, &fp);
	long status = strtol(fp.part[0], NULL, 10);
	json_error_t je;
	json_t *doc = json_loadb(fp.part[1], fp.len[1], 0, &je);
	for (size_t i = 0; i < 3; i++) {
		struct gate_result res;
		fuzz_result_init(&res);
		promql_judge(ways[i], status, doc, "http://127.0.0.1:9090/api/v1/query", &res);
		if (res.status == GATE_PASS) {
			if (status != 200)
				abort();
			size_t k;
			json_t *v;
			json_array_foreach(json_object_get(res.details, "values"), k, v) {
				const char *t = json_string_value(json_object_get(v, "value"));
				if (!t || isnan(strtod(t, NULL)))
					abort();
			}
		}
		fuzz_result_check(&res);
	}
	json_decref(doc);
	fuzz_parts_free(&fp);
	return 0;
}
