/* SPDX-License-Identifier: MIT */
/* patroni.cluster's judgement (patroni_cluster_judge,
 * checks/http_patroni.c) of a GET /cluster answer and, after a line "%%",
 * the leader's own GET /patroni (in the facts only when
 * patroni_needs_leader_view says the fetch would ask for it; when that
 * part is not JSON, the leader "did not answer").  Parsed as http_get_json
 * parses them; judged with the default parameters and, when the first
 * byte is odd, stricter ones.  Seeds: tests/data/recorded/http/patroni/
 * (tests/tools/record-http.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/http_judge.h"
#include "fuzz.h"

static json_t *defaults, *strict;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	defaults = json_pack("{s:s,s:i,s:i,s:b}", "url", "http://127.0.0.1:8008", "min_streaming",
	                     1, "max_lag_bytes", 16777216, "require_unpaused", 0);
	strict = json_pack("{s:s,s:i,s:i,s:b}", "url", "http://127.0.0.1:8008", "min_streaming", 2,
	                   "max_lag_bytes", 0, "require_unpaused", 1);
	if (!defaults || !strict)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 2, &fp);
	json_error_t je;
	struct patroni_facts f = {.cluster = json_loadb(fp.part[0], fp.len[0], 0, &je)};
	if (f.cluster) {
		if (patroni_needs_leader_view(f.cluster)) {
			f.leader_api_url = strdup("http://127.0.0.1:8008/patroni");
			f.leader_view = json_loadb(fp.part[1], fp.len[1], 0, &je);
			if (!f.leader_view)
				snprintf(f.leader_api_error, sizeof(f.leader_api_error),
				         "not JSON");
		}
		struct gate_result res;
		fuzz_result_init(&res);
		patroni_cluster_judge(size && (data[0] & 1) ? strict : defaults, &f,
		                      "http://127.0.0.1:8008/cluster", &res);
		fuzz_result_check(&res);
	}
	patroni_facts_release(&f);
	fuzz_parts_free(&fp);
	return 0;
}
