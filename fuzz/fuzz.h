/* SPDX-License-Identifier: MIT */
/* Helpers shared by the libFuzzer targets (fuzz/fuzz_*.c).
 *
 * A target that judges several answers at once (stdout and stderr, a
 * cluster and its leader...) takes them as parts of one input separated
 * by a line "%%" (the bytes "\n%%\n"); each part is handed over as a
 * NUL-terminated copy (a NUL inside a part ends it early, as it does for
 * the check, which reads tools' output as C strings). */
#ifndef GATE_FUZZ_H
#define GATE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "gate/module.h"

#define FUZZ_MAX_PARTS 8
#define FUZZ_SEP "\n%%\n"

struct fuzz_parts {
	char *part[FUZZ_MAX_PARTS]; /* NUL-terminated copies; "" when absent */
	size_t len[FUZZ_MAX_PARTS];
};

/* Split data into at most max parts (the last one takes the rest). */
static inline void fuzz_split(const uint8_t *data, size_t size, size_t max, struct fuzz_parts *fp)
{
	const char *in = (const char *)data;
	size_t off = 0;
	int done = 0;
	for (size_t i = 0; i < FUZZ_MAX_PARTS; i++) {
		size_t n = 0;
		if (i < max && !done) {
			size_t rest = size - off;
			n = rest;
			if (i + 1 < max) {
				const char *s = memmem(in + off, rest, FUZZ_SEP, 4);
				if (s)
					n = (size_t)(s - (in + off));
			}
		}
		fp->part[i] = malloc(n + 1);
		if (!fp->part[i])
			abort();
		if (n)
			memcpy(fp->part[i], in + off, n);
		fp->part[i][n] = '\0';
		fp->len[i] = n;
		if (i < max && !done) {
			if (n == size - off)
				done = 1;
			else
				off += n + 4;
		}
	}
}

static inline void fuzz_parts_free(struct fuzz_parts *fp)
{
	for (size_t i = 0; i < FUZZ_MAX_PARTS; i++)
		free(fp->part[i]);
}

/* A NUL-terminated copy of the whole input. */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A check's run environment with a deadline far away. */
static inline struct gate_run_env fuzz_env(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	struct gate_run_env env = {
		.abi_version = GATE_ABI_VERSION,
		.check_id = "fuzz",
		.timeout_ms = 30000,
		.deadline_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 30000,
	};
	return env;
}

static inline void fuzz_result_init(struct gate_result *res)
{
	memset(res, 0, sizeof(*res));
	res->status = GATE_ERROR;
	res->details = json_object();
}

/* What every judge promises: a known status, a NUL-terminated summary,
 * details that serialise. */
static inline void fuzz_result_check(struct gate_result *res)
{
	if ((unsigned)res->status > GATE_SKIP)
		abort();
	if (!memchr(res->summary, '\0', sizeof(res->summary)))
		abort();
	char *s = json_dumps(res->details, JSON_COMPACT);
	if (!s)
		abort();
	free(s);
	json_decref(res->details);
	res->details = NULL;
}

#endif
