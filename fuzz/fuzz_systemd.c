/* SPDX-License-Identifier: MIT */
/* The systemd checks' judges (checks/systemd_judge.c) of what a service
 * manager answered, as JSON facts (tests/tools/record-systemd.sh writes
 * them, {"source": ..., "facts": ...}; a document without "facts" is the
 * facts).  Every document goes to both judges: sd_unit_judge wanting
 * active, inactive and failed, sd_failed_judge with no ignore globs, a
 * glob for everything and a few that match some.  Besides the judges'
 * promises (fuzz.h): a unit that does not exist never passes, and a pass
 * of systemd.failed never lists a failed unit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/systemd_judge.h"
#include "fuzz.h"

static json_t *globs[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	globs[0] = NULL;
	globs[1] = json_pack("[s]", "*");
	globs[2] = json_pack("[s,s,s]", "gate-fail.service", "*.socket", "gate-[a-c]*");
	if (!globs[1] || !globs[2])
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, &je);
	if (!doc)
		return 0;
	json_t *facts = json_object_get(doc, "facts");
	if (!facts)
		facts = doc;
	static const char *const wants[] = {"active", "inactive", "failed"};
	for (size_t i = 0; i < 3; i++) {
		struct gate_result res;
		fuzz_result_init(&res);
		sd_unit_judge(facts, "gate-fuzz.service", wants[i], &res);
		const char *load = json_string_value(json_object_get(facts, "LoadState"));
		if (res.status == GATE_PASS && load && !strcmp(load, "not-found"))
			abort();
		fuzz_result_check(&res);
	}
	for (size_t i = 0; i < 3; i++) {
		struct gate_result res;
		fuzz_result_init(&res);
		sd_failed_judge(facts, globs[i], &res);
		if (res.status == GATE_PASS &&
		    json_array_size(json_object_get(res.details, "failed")) != 0)
			abort();
		fuzz_result_check(&res);
	}
	json_decref(doc);
	return 0;
}
