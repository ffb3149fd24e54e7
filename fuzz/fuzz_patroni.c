/* SPDX-License-Identifier: MIT */
/* patroni.cluster's judgement (patroni_cluster_judge,
 * checks/http_patroni.c) of a GET /cluster answer and, after a line "%%",
 * the leader's own GET /patroni (used when the judgement asks for it;
 * when that part is not JSON, the leader "did not answer").  Parsed as
 * http_get_json parses them; judged with the default parameters and,
 * when the first byte is odd, stricter ones. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/http_judge.h"
#include "fuzz.h"

static json_t *defaults, *strict;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	defaults = json_pack("{s:s,s:i,s:i,s:b}", "url", "http://127.0.0.1:8008",
	                     "min_streaming", 1, "max_lag_bytes", 16777216, "require_unpaused", 0);
	strict = json_pack("{s:s,s:i,s:i,s:b}", "url", "http://127.0.0.1:8008",
	                   "min_streaming", 2, "max_lag_bytes", 0, "require_unpaused", 1);
	if (!defaults || !strict)
		abort();
	return 0;
}

struct leader_answer {
	const char *text;
	size_t len;
	int asked;
};

static json_t *leader_view(const json_t *leader, void *ud, struct gate_result *res)
{
	(void)leader;
	struct leader_answer *a = ud;
	a->asked++;
	json_error_t je;
	json_t *doc = json_loadb(a->text, a->len, 0, &je);
	if (!doc)
		json_object_set_new(res->details, "leader_api_error", json_string("not JSON"));
	return doc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 2, &fp);
	json_error_t je;
	json_t *doc = json_loadb(fp.part[0], fp.len[0], 0, &je);
	if (doc) {
		struct leader_answer a = {fp.part[1], fp.len[1], 0};
		struct gate_result res;
		fuzz_result_init(&res);
		patroni_cluster_judge(size && (data[0] & 1) ? strict : defaults, doc,
		                      "http://127.0.0.1:8008/cluster", leader_view, &a, &res);
		if (a.asked > 1)
			abort(); /* the leader is asked once at most */
		fuzz_result_check(&res);
		json_decref(doc);
	}
	fuzz_parts_free(&fp);
	return 0;
}
