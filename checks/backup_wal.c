/* SPDX-License-Identifier: MIT */
/* The WAL a pgBackRest backup needs: segment names and LSNs read, the
 * segment size inferred from the backup's own numbers, the range of
 * segments and the repository directories that hold them, and the
 * segment names a `repo-ls` of such a directory lists.  Pure. */
#include "backup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bk_parse_segment(const char *s, uint32_t *tli, uint32_t *log, uint32_t *seg)
{
	if (!s || strlen(s) != 24 || strspn(s, "0123456789ABCDEF") != 24)
		return -1;
	char part[9];
	part[8] = '\0';
	memcpy(part, s, 8);
	*tli = (uint32_t)strtoul(part, NULL, 16);
	memcpy(part, s + 8, 8);
	*log = (uint32_t)strtoul(part, NULL, 16);
	memcpy(part, s + 16, 8);
	*seg = (uint32_t)strtoul(part, NULL, 16);
	return 0;
}

int bk_parse_lsn(const char *s, uint64_t *lsn)
{
	unsigned hi, lo;
	if (!s || sscanf(s, "%X/%X", &hi, &lo) != 2)
		return -1;
	*lsn = (uint64_t)hi << 32 | lo;
	return 0;
}

/* WAL segment size, inferred from the backup itself: a segment's name
 * holds (lsn >> 32) and (lsn & 0xFFFFFFFF) / size, so archive.start must
 * match lsn.start and archive.stop lsn.stop (or lsn.stop - 1, when the
 * backup ended exactly on a boundary).  Of the sizes PostgreSQL allows
 * (1 MiB .. 1 GiB) the smallest consistent one is taken: if in doubt,
 * more segments are demanded, never fewer.  0 when none fits. */
uint64_t bk_wal_seg_size(uint64_t lsn_start, uint64_t lsn_stop, uint32_t slog, uint32_t sseg,
                         uint32_t elog, uint32_t eseg)
{
	for (uint64_t size = 1u << 20; size <= 1u << 30; size <<= 1) {
		uint64_t stop_prev = lsn_stop ? lsn_stop - 1 : 0;
		int ok_start = (lsn_start >> 32) == slog &&
		               (lsn_start & 0xFFFFFFFFu) / size == sseg;
		int ok_stop = ((lsn_stop >> 32) == elog &&
		               (lsn_stop & 0xFFFFFFFFu) / size == eseg) ||
		              ((stop_prev >> 32) == elog &&
		               (stop_prev & 0xFFFFFFFFu) / size == eseg);
		if (ok_start && ok_stop)
			return size;
	}
	return 0;
}

void bk_wal_segment_name(uint32_t tli, uint64_t segno, uint64_t seg_size, char out[25])
{
	uint64_t per_log = 0x100000000ull / seg_size;
	snprintf(out, 25, "%08X%08X%08X", tli, (uint32_t)(segno / per_log),
	         (uint32_t)(segno % per_log));
}

/* Segment names in one repository WAL directory, from repo-ls JSON:
 * "<24 hex>-<sha1>[.ext]" keys (".partial" and ".backup" files are not
 * segments). */
json_t *bk_pgbr_wal_names(const char *text, char *why, size_t whylen)
{
	json_error_t je;
	json_t *o = json_loads(text, 0, &je);
	if (!json_is_object(o)) {
		bk_copy(why, whylen, je.text);
		json_decref(o);
		return NULL;
	}
	json_t *names = json_object();
	const char *k;
	json_t *val;
	json_object_foreach(o, k, val) {
		if (strlen(k) >= 25 && strspn(k, "0123456789ABCDEF") == 24 && k[24] == '-') {
			char seg[25];
			memcpy(seg, k, 24);
			seg[24] = '\0';
			json_object_set_new(names, seg, bk_jstr(k));
		}
	}
	json_decref(o);
	return names;
}
