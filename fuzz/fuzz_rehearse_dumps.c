/* SPDX-License-Identifier: MIT */
/* What the restore rehearsals read from a backup and from a failed tool
 * (checks/rehearse_dumps_pure.c): a dump's first bytes (rd_format_detect),
 * a plain dump's last bytes (rd_plain_complete), backup_manifest's last
 * bytes (rd_manifest_checksum: a checksum taken is 64 lowercase hex
 * digits) and a tool's message (rd_tool_error: one line, never longer
 * than the buffer), each on the whole input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks/rehearse_dumps.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strdup(data, size);
	enum rd_format f = rd_format_detect(data, size, 0);
	if (f != RD_FMT_CUSTOM && f != RD_FMT_TAR && f != RD_FMT_GZIP && f != RD_FMT_PLAIN)
		abort();
	(void)rd_plain_complete((const char *)data, size);
	char hex[65];
	memset(hex, 'x', sizeof(hex));
	if (rd_manifest_checksum((const char *)data, size, hex) == 0 &&
	    (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64))
		abort();
	char line[64];
	memset(line, 0x55, sizeof(line));
	rd_tool_error(s, line, sizeof(line));
	if (!memchr(line, '\0', sizeof(line)) || strchr(line, '\n'))
		abort();
	free(s);
	return 0;
}
