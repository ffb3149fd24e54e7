/* SPDX-License-Identifier: MIT */
/* The maintenance kinds' readers (holds/maint_judge.h) on anything: the
 * input is a matcher as a runbook writes it, a line "%%", the token
 * searched for, a line "%%" and a server's answer, which every reader
 * gets: Patroni's /cluster and PATCH /config, Alertmanager's
 * silence ID, error, silence and silences list.  What a reader accepts
 * must be what it promises (an ID fit for a URL path).  Seeds:
 * tests/data/recorded/holds/ (tests/tools/record-holds.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "holds/maint_judge.h"

static void readers(const char *token, const char *a, size_t n)
{
	char err[300], out[64], st[32];
	char *id = NULL;
	int p = patroni_pause_state(a, n, err, sizeof(err));
	if (p < -1 || p > 1)
		abort();
	p = patroni_config_pause(a, n, err, sizeof(err));
	if (p < -1 || p > 1)
		abort();
	if (am_silence_id(a, n, &id, err, sizeof(err)) == 0 && !am_id_ok(id))
		abort();
	free(id);
	am_error_text(500, a, n, err, sizeof(err));
	maint_answer_text(a, n, out, 1 + (n % sizeof(out)));
	am_silence_state(a, n, st, sizeof(st), err, sizeof(err));
	json_t *ids = am_silences_with_token(a, n, token, err, sizeof(err));
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		if (!am_id_ok(json_string_value(v)))
			abort();
	}
	json_decref(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 3, &fp);
	json_t *m = NULL;
	char err[300];
	if (am_matcher_parse(fp.part[0], &m, err, sizeof(err)) == 0) {
		json_t *list = json_pack("[O]", m);
		char *t = am_matchers_text(list);
		char *b = am_silence_body(list, 0, 60000, "gate fuzz@host", t);
		free(b);
		free(t);
		json_decref(list);
		json_decref(m);
	}
	readers(fp.part[1], fp.part[2], fp.len[2]);
	fuzz_parts_free(&fp);
	return 0;
}
