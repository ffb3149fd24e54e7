/* SPDX-License-Identifier: MIT */
/* SHA-256 (checks/lib/sha256.c) against the FIPS 180-4 / NIST CAVP test
 * vectors, on both block functions (SHA-NI when the CPU has it, and the
 * portable one), fed whole and in awkward pieces. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/sha256.h"

static void digest_hex(const void *data, size_t n, size_t piece, char hex[65])
{
	struct sha256 c;
	uint8_t d[SHA256_DIGEST_LEN];
	const uint8_t *p = data;
	sha256_init(&c);
	if (!piece)
		piece = n ? n : 1;
	for (size_t off = 0; off < n; off += piece)
		sha256_update(&c, p + off, n - off < piece ? n - off : piece);
	sha256_final(&c, d);
	sha256_hex(d, hex);
}

static const struct {
	const char *msg;
	const char *hex;
} vectors[] = {
	{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	{"The quick brown fox jumps over the lazy dog",
	 "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
};

static void run_vectors(void)
{
	size_t pieces[] = {0, 1, 3, 63, 64, 65};
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		for (size_t j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++) {
			char hex[65];
			digest_hex(vectors[i].msg, strlen(vectors[i].msg), pieces[j], hex);
			assert_string_equal(hex, vectors[i].hex);
		}
	}
}

/* One million 'a' (FIPS 180-2 appendix B.3), fed in 1000-byte pieces. */
static void run_million_a(void)
{
	char *a = malloc(1000000);
	assert_non_null(a);
	memset(a, 'a', 1000000);
	char hex[65];
	digest_hex(a, 1000000, 1000, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	digest_hex(a, 1000000, 777, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

static void test_portable_vectors(void **state)
{
	(void)state;
	sha256_use_hw(0);
	assert_string_equal(sha256_impl(), "portable");
	run_vectors();
	run_million_a();
}

static void test_hw_vectors(void **state)
{
	(void)state;
	if (!sha256_use_hw(1)) {
		sha256_use_hw(1);
		skip();
	}
	assert_string_equal(sha256_impl(), "sha-ni");
	run_vectors();
	run_million_a();
}

/* Every length from 0 to 300 (all padding cases) of pseudo-random bytes:
 * both block functions agree, whole and byte by byte. */
static void test_paths_agree(void **state)
{
	(void)state;
	uint8_t buf[300];
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
	for (size_t n = 0; n <= sizeof(buf); n++) {
		char a[65], b[65], c[65];
		sha256_use_hw(0);
		digest_hex(buf, n, 0, a);
		sha256_use_hw(1);
		digest_hex(buf, n, 0, b);
		digest_hex(buf, n, 1, c);
		assert_string_equal(a, b);
		assert_string_equal(a, c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_portable_vectors),
		cmocka_unit_test(test_hw_vectors),
		cmocka_unit_test(test_paths_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
