/* SPDX-License-Identifier: MIT */
/* SHA-256 (FIPS 180-4), streaming.  Our dependencies carry no crypto
 * library we may rely on, so the backup checks hash with this one.  On
 * x86-64 CPUs with the SHA extensions (SHA-NI) the block function uses
 * them, chosen once at run time from CPUID; elsewhere a portable C path
 * runs.  Both give the same digest (tests/unit/test_sha256.c). */
#ifndef GATE_CHECKS_SHA256_H
#define GATE_CHECKS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN 64

struct sha256 {
	uint32_t h[8];
	uint64_t nbytes;              /* message length so far */
	uint8_t buf[SHA256_BLOCK_LEN];
	size_t buflen;                /* bytes waiting in buf */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t n);
void sha256_final(struct sha256 *c, uint8_t out[SHA256_DIGEST_LEN]);

/* Hex of a digest: 64 lowercase characters and a NUL. */
void sha256_hex(const uint8_t d[SHA256_DIGEST_LEN], char hex[65]);

/* Which block function runs: "sha-ni" or "portable". */
const char *sha256_impl(void);
/* For tests and benchmarks: allow (1) or forbid (0) the SHA-NI path;
 * returns 1 when SHA-NI will be used afterwards. */
int sha256_use_hw(int allow);

#endif
