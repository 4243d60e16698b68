/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include "util/digest.h"

static void test_vectors(void **state)
{
	char out[DIGEST_MAX];
	struct digester d;

	(void)state;
	digest_buffer("", 0, out);
	assert_string_equal(out, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	digest_buffer("abc", 3, out);
	assert_string_equal(out, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* Streaming in pieces gives the same sum, and final() does not end the stream. */
	digest_init(&d);
	digest_update(&d, "a", 1);
	digest_final(&d, out);
	digest_update(&d, "bc", 2);
	digest_final(&d, out);
	assert_string_equal(out, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(d.bytes, 3);
	{ struct ember_error e; assert_int_equal(digest_check(out, &e), 0); }
	assert_string_equal(digest_hex(out), out + 7);
}

/* Whole blocks may take the CPU's SHA instructions, partial ones BearSSL:
   every length and every split between updates must give BearSSL's digest. */
static void test_splits_match_bearssl(void **state)
{
	(void)state;
	static unsigned char data[3000];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof(data); i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (unsigned char)(x >> 16);
	}
	for (size_t len = 0; len <= sizeof(data); len += len < 300 ? 1 : 97) {
		br_sha256_context ref;
		unsigned char sum[32];
		char want[DIGEST_MAX], got[DIGEST_MAX];
		static const char hex[] = "0123456789abcdef";
		br_sha256_init(&ref);
		br_sha256_update(&ref, data, len);
		br_sha256_out(&ref, sum);
		strcpy(want, "sha256:");
		for (int i = 0; i < 32; i++) {
			want[7 + 2 * i] = hex[sum[i] >> 4];
			want[8 + 2 * i] = hex[sum[i] & 15];
		}
		want[71] = '\0';
		digest_buffer(data, len, got);
		assert_string_equal(got, want);
		/* Split in three at assorted points, unaligned ones included. */
		for (size_t a = 0; a <= len; a += 1 + len / 7) {
			for (size_t b = a; b <= len; b += 1 + len / 5) {
				struct digester d;
				digest_init(&d);
				digest_update(&d, data, a);
				digest_update(&d, data + a, b - a);
				digest_update(&d, data + b, len - b);
				digest_final(&d, got);
				assert_string_equal(got, want);
				assert_int_equal(d.bytes, len);
			}
		}
	}
}

static void test_check(void **state)
{
	static const char *const bad[] = {
		"", "sha256", "sha256:", ":abc", "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
		"SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"sha 256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	};
	struct ember_error e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (digest_check(bad[i], &e) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
		assert_msg_contains(&e, "malformed digest");
	}
	assert_int_equal(digest_check("sha512:abcd", &e), -ENOTSUP);
	assert_msg_contains(&e, "unsupported digest algorithm \"sha512\"");
	assert_int_equal(digest_check(NULL, &e), -EINVAL);
	/* Input bytes never reach a message raw: one line, printable. */
	assert_int_equal(digest_check("sha256:ab\ncd\x1b[2J", &e), -EINVAL);
	assert_msg_contains(&e, "malformed digest \"sha256:ab?cd?[2J\"");
	assert_int_equal(digest_check("x\ny", &e), -EINVAL);
	assert_msg_contains(&e, "malformed digest \"x?y\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_splits_match_bearssl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
