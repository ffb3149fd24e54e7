/* SPDX-License-Identifier: MIT */
/* The scratch server's readers (checks/lib/pgscratch_judge.c): a server
 * log read for the reason it gave (pgscratch_log_reason), and probes as
 * a runbook gives them (pgscratch_probes_validate) judged against a
 * value as libpq gives it (pgscratch_probe_value, pgscratch_probe_judge,
 * pgscratch_probe_label).  A reason always says whether the server
 * recovered; a probe judged failed always says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/lib/pgscratch.h"
#include "fuzz.h"

static void probes(const char *json, const char *value, const char *oid_text)
{
	json_t *p = json_loads(json, JSON_DECODE_ANY, NULL);
	char msg[256];
	if (!p || pgscratch_probes_validate(p, msg, sizeof(msg))) {
		json_decref(p);
		return;
	}
	unsigned oid = (unsigned)strtoul(oid_text, NULL, 10);
	size_t i;
	json_t *probe;
	json_array_foreach(p, i, probe) {
		json_t *v = *value == '-' ? NULL : pgscratch_probe_value(value, oid);
		char why[256] = "", label[200];
		if (!pgscratch_probe_judge(probe, v, why, sizeof(why)) && !*why)
			abort();
		pgscratch_probe_label(probe, i, label, sizeof(label));
		if (strncmp(label, "probe ", 6))
			abort();
		json_decref(pgscratch_probe_expect(probe));
		json_decref(v);
	}
	json_decref(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 4, &fp);
	char msg[300];
	pgscratch_log_reason(fp.part[0], msg, sizeof(msg));
	if (strncmp(msg, "did not ", 8))
		abort();
	probes(fp.part[1], fp.part[2], fp.part[3]);
	fuzz_parts_free(&fp);
	return 0;
}
