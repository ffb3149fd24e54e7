/* SPDX-License-Identifier: MIT */
/* A Nagios plugin's stdout as the exec check reads it (checks/exec_judge.c):
 * summary, long text and performance data split (plugin_output_parse)
 * and the perfdata parsed (perf_parse), once on the raw bytes and once
 * made valid UTF-8 (text_utf8_valid), as exec_judge does before judging.
 * The whole judgement, exit status and stderr included, is fuzz_exec's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/exec_nagios.h"
#include "fuzz.h"
#include "kit/text.h"

static void parse(const char *out)
{
	struct plugin_output po;
	plugin_output_parse(out, &po);
	if (strchr(po.summary, '\n') || strchr(po.perf_raw, '\n'))
		abort(); /* both are one line */
	json_t *perf = perf_parse(po.perf_raw);
	if (!json_is_array(perf))
		abort();
	char *s = json_dumps(perf, JSON_COMPACT);
	free(s);
	json_decref(perf);
	plugin_output_release(&po);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = fuzz_strdup(data, size);
	parse(out);
	char *valid = text_utf8_valid(out);
	parse(valid);
	free(valid);
	free(out);
	return 0;
}
