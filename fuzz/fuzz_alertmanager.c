/* SPDX-License-Identifier: MIT */
/* alertmanager.alerts: its matchers (am_match_compile: Alertmanager's
 * matcher syntax, checks/lib/am_matchers.c, and the RE2 screen of
 * checks/http_regex.c) and its judgement (am_alerts_judge,
 * checks/http_alertmanager.c) of a GET /api/v2/alerts answer.  Input:
 * matchers, one a line, then a line "%%", then the answer, parsed as the
 * check parses it; judged with those matchers (when they compile) and
 * with none, with max 0 and 1, as a 200 answer and as a 400.  A matcher
 * that compiles must match as it was asked to: the labels an alert
 * counted with satisfy every matcher.  Seeds:
 * tests/data/recorded/http/alertmanager/ (tests/tools/record-http.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/http_judge.h"
#include "fuzz.h"

#define SHOWN "http://127.0.0.1:9093/api/v2/alerts"

static void judge(const json_t *doc, long status, const struct am_match_set *set, int64_t max)
{
	struct gate_result res;
	fuzz_result_init(&res);
	am_alerts_judge(status, doc, set, max, SHOWN, &res);
	if (status != 200 && res.status != GATE_ERROR)
		abort();
	/* Every alert counted satisfies the matchers. */
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(res.details, "alerts"), i, a)
		if (!am_labels_match(json_object_get(a, "labels"), set))
			abort();
	fuzz_result_check(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 2, &fp);
	json_t *texts = json_array();
	for (char *line = strtok(fp.part[0], "\n"); line; line = strtok(NULL, "\n"))
		json_array_append_new(texts, json_string(line));
	struct am_match_set set, none = {0};
	char msg[512];
	msg[0] = '\0';
	int ok = am_match_compile(texts, &set, msg, sizeof(msg)) == 0;
	if (!ok && !msg[0])
		abort(); /* a refusal always says why */
	json_error_t je;
	json_t *doc = json_loadb(fp.part[1], fp.len[1], JSON_DECODE_ANY, &je);
	if (ok)
		judge(doc, 200, &set, 0);
	judge(doc, 200, &none, 1);
	judge(doc, 400, &none, 0);
	json_decref(doc);
	am_match_release(&set);
	json_decref(texts);
	fuzz_parts_free(&fp);
	return 0;
}
