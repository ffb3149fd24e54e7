/* SPDX-License-Identifier: MIT */
/* The http check's judgement of an answer (checks/http.c): expect_json
 * assertions (RFC 6901 pointers, equals/matches/max/min; http_judge_json),
 * expect_body (http_judge_body) and the whole of it (http_check_judge:
 * status 200, or the 302 of a redirect not followed when the first byte
 * is odd).  Input: the expect_json list as JSON, then (each after a line
 * "%%") the expect_body expression and the body.  Seeds: the bodies in
 * tests/data/recorded/http/ with the scenario tests' assertions
 * (tests/tools/record-http.sh).
 * The assertions are validated first, as the loader does (an invalid list
 * never reaches a judgement); so are the expressions, which are also kept
 * short and free of back-references, bounds (`{`) and stacked quantifiers
 * (`a++++`, which glibc's regcomp expands exponentially): a runbook's
 * expression is the operator's, and glibc's regex engine is not what is
 * fuzzed here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/http_judge.h"
#include "fuzz.h"

static int re_ok(const char *re)
{
	if (strlen(re) > 24 || strpbrk(re, "\\{"))
		return 0;
	for (const char *p = re; *p; p++) /* stacked quantifiers: a++++ */
		if (strchr("*+?", p[0]) && p[1] && strchr("*+?", p[1]))
			return 0;
	return 1;
}

static int regexes_ok(const json_t *ej)
{
	size_t i;
	json_t *item;
	json_array_foreach(ej, i, item) {
		const char *m = json_string_value(json_object_get(item, "matches"));
		if (m && !re_ok(m))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts fp;
	fuzz_split(data, size, 3, &fp);
	json_t *params = json_pack("{s:s}", "url", "http://127.0.0.1:8080/");
	json_t *ej = fp.len[0] ? json_loadb(fp.part[0], fp.len[0], 0, NULL) : NULL;
	if (ej)
		json_object_set_new(params, "expect_json", ej);
	if (fp.len[1])
		json_object_set_new(params, "expect_body", json_string(fp.part[1]));
	const char *eb = json_string_value(json_object_get(params, "expect_body"));
	const char *param = NULL;
	char msg[512];
	if ((!ej || regexes_ok(ej)) && (!eb || re_ok(eb)) &&
	    http_check_validate(params, &param, msg, sizeof(msg)) == 0) {
		/* as http_fetch leaves it: NUL-terminated, maybe with NULs inside */
		struct http_response rs = {
			.status = 200, .body = fp.part[2], .body_len = fp.len[2]};
		struct gate_result res;
		fuzz_result_init(&res);
		int ok = 1;
		if (eb)
			ok = http_judge_body(eb, &rs, &res);
		if (ok && ej)
			ok = http_judge_json(ej, &rs, &res);
		if (!ok && res.status == GATE_PASS)
			abort(); /* a judgement that did not hold never passes */
		fuzz_result_check(&res);
		if (size && (data[0] & 1)) {
			rs.status = 302;
			static char loc[] = "http://gate:secret@127.0.0.1:8080/elsewhere";
			rs.location = loc;
		}
		fuzz_result_init(&res);
		http_check_judge(params, &rs, &res);
		if (res.status == GATE_PASS && (!ok || rs.status != 200))
			abort();
		if (rs.location && strstr(res.summary, "secret"))
			abort(); /* a password in a URL is never shown */
		fuzz_result_check(&res);
	}
	json_decref(params);
	fuzz_parts_free(&fp);
	return 0;
}
