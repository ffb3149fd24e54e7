/* SPDX-License-Identifier: MIT */
/* A rehearsal record as backup.rehearsed reads it
 * (checks/backup_rehearsed_judge.c): bk_reh_parse, and, when it reads,
 * the judge with that record alone against a backup of each kind (its
 * identity the record's own and another), at the record's time and far
 * from it.  A record that does not parse must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/backup_rehearsed_judge.h"
#include "fuzz.h"

/* identity: owned, freed here */
static void judge(struct bk_reh_record *rec, const char *kind, json_t *identity, int64_t now)
{
	struct bk_reh_facts f = {.kind = kind, .source = "demo", .dir = "/st"};
	f.records = rec;
	f.nrecords = 1;
	f.identity = identity;
	snprintf(f.what, sizeof(f.what), "backup x");
	json_t *params = json_pack("{s:I}", "max_age", (json_int_t)172800000);
	struct gate_result res = {GATE_ERROR, "", json_object()};
	bk_reh_judge(&f, params, now, &res);
	if (res.status == GATE_PASS && strcmp(rec->outcome, "pass"))
		abort(); /* only a pass proves anything */
	if (!memchr(res.summary, '\0', sizeof(res.summary)))
		abort();
	json_decref(res.details);
	json_decref(params);
	json_decref(identity);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bk_reh_record rec;
	char why[300];
	why[0] = '\0';
	if (bk_reh_parse("fuzz.json", (const char *)data, size, &rec, why, sizeof(why)) != 0) {
		if (!why[0])
			abort();
		bk_reh_record_release(&rec);
		return 0;
	}
	static const char *const kinds[] = {"pgbackrest", "basebackup", "file"};
	for (size_t i = 0; i < 3; i++) {
		json_t *own = rec.backup ? json_deep_copy(rec.backup) : json_object();
		json_object_set_new(own, "kind", json_string(kinds[i]));
		judge(&rec, kinds[i], json_deep_copy(own), rec.started_ms / 1000);
		judge(&rec, kinds[i], json_deep_copy(own), INT64_MAX / 2);
		judge(&rec, kinds[i], json_deep_copy(own), INT64_MIN / 2);
		json_decref(own);
		judge(&rec, kinds[i], NULL, 0);
	}
	bk_reh_record_release(&rec);
	return 0;
}
