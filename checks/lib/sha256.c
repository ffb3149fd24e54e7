/* SPDX-License-Identifier: MIT */
/* SHA-256 after FIPS 180-4, with an x86 SHA-NI block function chosen at
 * run time.  sha256sum(1) from coreutils uses OpenSSL's SHA-NI code on
 * such CPUs; without the same instructions a C implementation runs at
 * about a third of its speed, and backup.file must keep up with it. */
#include "sha256.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define SHA256_HAVE_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* ---- portable block function (FIPS 180-4, 6.2.2) ---- */

static inline uint32_t rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	       (uint32_t)p[3];
}

static void blocks_portable(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	while (nblocks--) {
		uint32_t w[64];
		for (int t = 0; t < 16; t++)
			w[t] = load_be32(p + 4 * t);
		for (int t = 16; t < 64; t++) {
			uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
			uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
			w[t] = w[t - 16] + s0 + w[t - 7] + s1;
		}
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
		uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];
		for (int t = 0; t < 64; t++) {
			uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
			uint32_t ch = (e & f) ^ (~e & g);
			uint32_t t1 = hh + S1 + ch + K[t] + w[t];
			uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
			uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
			uint32_t t2 = S0 + maj;
			hh = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
		h[4] += e;
		h[5] += f;
		h[6] += g;
		h[7] += hh;
		p += SHA256_BLOCK_LEN;
	}
}

/* ---- SHA-NI block function ---- */

#ifdef SHA256_HAVE_NI
/* The SHA extensions keep the state as two registers, ABEF and CDGH, and
 * do two rounds per sha256rnds2; sha256msg1/msg2 extend the message
 * schedule four words at a time.  Each group g below is rounds 4g..4g+3
 * on schedule words W[g%4]; the next group's words are completed (msg2)
 * from g = 3 on, and prepared (msg1) from g = 1 to 12. */
__attribute__((target("sha,sse4.1"))) static void
blocks_ni(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i tmp = _mm_loadu_si128((const __m128i *)&h[0]);  /* DCBA */
	__m128i st1 = _mm_loadu_si128((const __m128i *)&h[4]);  /* HGFE */
	tmp = _mm_shuffle_epi32(tmp, 0xB1);                     /* CDAB */
	st1 = _mm_shuffle_epi32(st1, 0x1B);                     /* EFGH */
	__m128i st0 = _mm_alignr_epi8(tmp, st1, 8);             /* ABEF */
	st1 = _mm_blend_epi16(st1, tmp, 0xF0);                  /* CDGH */

	while (nblocks--) {
		__m128i save0 = st0, save1 = st1, w[4], m;
#pragma GCC unroll 16
		for (int g = 0; g < 16; g++) {
			if (g < 4)
				w[g] = _mm_shuffle_epi8(
					_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
			m = _mm_add_epi32(w[g & 3], _mm_loadu_si128((const __m128i *)&K[4 * g]));
			st1 = _mm_sha256rnds2_epu32(st1, st0, m);
			if (g >= 3 && g <= 14) {
				__m128i t = _mm_alignr_epi8(w[g & 3], w[(g + 3) & 3], 4);
				w[(g + 1) & 3] = _mm_sha256msg2_epu32(
					_mm_add_epi32(w[(g + 1) & 3], t), w[g & 3]);
			}
			m = _mm_shuffle_epi32(m, 0x0E);
			st0 = _mm_sha256rnds2_epu32(st0, st1, m);
			if (g >= 1 && g <= 12)
				w[(g + 3) & 3] = _mm_sha256msg1_epu32(w[(g + 3) & 3], w[g & 3]);
		}
		st0 = _mm_add_epi32(st0, save0);
		st1 = _mm_add_epi32(st1, save1);
		p += SHA256_BLOCK_LEN;
	}

	tmp = _mm_shuffle_epi32(st0, 0x1B);                     /* FEBA */
	st1 = _mm_shuffle_epi32(st1, 0xB1);                     /* DCHG */
	st0 = _mm_blend_epi16(tmp, st1, 0xF0);                  /* DCBA */
	st1 = _mm_alignr_epi8(st1, tmp, 8);                     /* HGFE */
	_mm_storeu_si128((__m128i *)&h[0], st0);
	_mm_storeu_si128((__m128i *)&h[4], st1);
}

/* CPUID: leaf 7 EBX bit 29 is SHA; leaf 1 ECX bits 9 and 19 are SSSE3 and
 * SSE4.1 (used for the shuffles and blends around the SHA rounds). */
static int cpu_has_sha_ni(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & (1u << 9)) || !(c & (1u << 19)))
		return 0;
	if (__get_cpuid_max(0, NULL) < 7)
		return 0;
	__cpuid_count(7, 0, a, b, c, d);
	return (b >> 29) & 1;
}
#endif

typedef void (*blocks_fn)(uint32_t h[8], const uint8_t *p, size_t nblocks);

static blocks_fn chosen;

static blocks_fn pick(int allow_hw)
{
#ifdef SHA256_HAVE_NI
	if (allow_hw && cpu_has_sha_ni())
		return blocks_ni;
#else
	(void)allow_hw;
#endif
	return blocks_portable;
}

static inline blocks_fn blocks(void)
{
	if (!chosen)
		chosen = pick(1);
	return chosen;
}

int sha256_use_hw(int allow)
{
	chosen = pick(allow);
	return chosen != blocks_portable;
}

const char *sha256_impl(void)
{
	return blocks() == blocks_portable ? "portable" : "sha-ni";
}

/* ---- streaming interface ---- */

void sha256_init(struct sha256 *c)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(c->h, iv, sizeof(iv));
	c->nbytes = 0;
	c->buflen = 0;
}

void sha256_update(struct sha256 *c, const void *data, size_t n)
{
	const uint8_t *p = data;
	blocks_fn fn = blocks();
	c->nbytes += n;
	if (c->buflen) {
		size_t take = SHA256_BLOCK_LEN - c->buflen;
		if (take > n)
			take = n;
		memcpy(c->buf + c->buflen, p, take);
		c->buflen += take;
		p += take;
		n -= take;
		if (c->buflen < SHA256_BLOCK_LEN)
			return;
		fn(c->h, c->buf, 1);
		c->buflen = 0;
	}
	if (n >= SHA256_BLOCK_LEN) {
		size_t nb = n / SHA256_BLOCK_LEN;
		fn(c->h, p, nb);
		p += nb * SHA256_BLOCK_LEN;
		n -= nb * SHA256_BLOCK_LEN;
	}
	if (n) {
		memcpy(c->buf, p, n);
		c->buflen = n;
	}
}

/* Padding (5.1.1): a 1 bit, zeros up to 56 mod 64, the bit length
 * big-endian in 64 bits. */
void sha256_final(struct sha256 *c, uint8_t out[SHA256_DIGEST_LEN])
{
	uint64_t bits = c->nbytes * 8;
	blocks_fn fn = blocks();
	c->buf[c->buflen++] = 0x80;
	if (c->buflen > 56) {
		memset(c->buf + c->buflen, 0, SHA256_BLOCK_LEN - c->buflen);
		fn(c->h, c->buf, 1);
		c->buflen = 0;
	}
	memset(c->buf + c->buflen, 0, 56 - c->buflen);
	for (int i = 0; i < 8; i++)
		c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	fn(c->h, c->buf, 1);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
	memset(c, 0, sizeof(*c));
}

void sha256_hex(const uint8_t d[SHA256_DIGEST_LEN], char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < SHA256_DIGEST_LEN; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[64] = '\0';
}
