/* SPDX-License-Identifier: MIT */
/*
 * Runbook values (doc/runbook.md, "Values"): durations, sizes, RFC 3339
 * timestamps and HH:MM times, parsed strictly.  Pure functions of their
 * text: no time zone, no locale.  Used by the runbook loader, the YAML
 * tree's typed getters, hooks.yaml and the command line.
 *
 * Every duration and size has an upper limit, so that no deadline
 * (now + timeout), no conversion (ms to us or ns) and no product (samples
 * x interval) can overflow, and a typo such as an extra digit is caught at
 * load time: a duration at most one year (365d), a size at most 1 PiB
 * (1024TiB).  0 on success; -1 when the text is not a duration or size;
 * GATE_VALUE_TOO_BIG when it is one but over the limit (*out untouched).
 */
#ifndef GATE_VALUES_H
#define GATE_VALUES_H

#include <stdint.h>

#define GATE_DURATION_MAX_MS (365LL * 86400000)
#define GATE_DURATION_MAX_TEXT "365d"
#define GATE_SIZE_MAX_BYTES (1ULL << 50)
#define GATE_SIZE_MAX_TEXT "1024TiB"
#define GATE_VALUE_TOO_BIG (-2)
int parse_duration_ms(const char *s, int64_t *out); /* "1h30m" */
int parse_size_bytes(const char *s, uint64_t *out); /* "16MiB", "512" */
int parse_rfc3339_ms(const char *s, int64_t *out);  /* "2026-12-20T00:00:00Z" */
int parse_hhmm(const char *s, int *minutes);        /* "01:00" */

#endif
