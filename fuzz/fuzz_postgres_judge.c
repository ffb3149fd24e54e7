/* SPDX-License-Identifier: MIT */
/* The postgres checks' judges (checks/postgres_judge.c) on a facts
 * document, as tests/tools/gate-pgfacts writes them from real servers
 * (the seeds: tests/data/recorded/postgres/, copied to
 * corpus/postgres_judge/).  Judged with the defaults and, when the first
 * byte is odd, with strict limits.  Beyond what every judge promises
 * (fuzz.h): facts that do not read, or that say the fetch failed, are an
 * error, never a pass or a fail. */
#include <stdint.h>
#include <stdlib.h>

#include "checks/postgres_judge.h"
#include "fuzz.h"

static json_t *defaults, *strict;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	defaults = json_object();
	strict = json_pack(
		"{s:i,s:i,s:[ss],s:[],s:i,s:i,s:i,s:i,s:i,s:b,s:i,s:i,s:i,s:[s],s:b,s:I}",
		"min_streaming", 2, "min_sync", 1, "standbys", "replica1", "replica2", "ignore",
		"max_lag_bytes", 0, "max_replay_lag", 0, "max_reply_age", 0, "max_receive_age", 0,
		"max_replay_bytes", 0, "allow_paused", 0, "max_ready", 0, "max_ready_age", 0,
		"max_age", 0, "slots", "replica1", "require_active", 1, "min_safe_wal_size",
		(json_int_t)1 << 30);
	if (!defaults || !strict)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, size, 0, &je);
	if (!doc)
		return 0;
	struct pg_facts pf;
	char msg[256];
	int refused = pg_facts_from_json(doc, &pf, msg, sizeof(msg)) < 0;
	int failed = !refused && pg_facts_fetched(&pf)->error;
	pg_facts_free(&pf);

	struct gate_result res;
	fuzz_result_init(&res);
	pg_judge_json(doc, size && (data[0] & 1) ? strict : defaults, &res);
	if ((refused || failed) && res.status != GATE_ERROR)
		abort();
	if (res.status == GATE_PASS && !json_is_object(res.details))
		abort();
	fuzz_result_check(&res);
	json_decref(doc);
	return 0;
}
