/* SPDX-License-Identifier: Apache-2.0 */
#include "util/digest.h"

#include <errno.h>
#include <string.h>

#include "util/err.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/*
 * SHA-256 with the x86 SHA extensions (SHA-NI, on Intel since Goldmont and
 * Ice Lake, on AMD since Zen): about 8 times BearSSL's portable code here,
 * and every blob and every unpacked layer is hashed, so it is most of a
 * pull's CPU time. BearSSL keeps the partial blocks and the padding; whole
 * blocks go through sha_ni_blocks() between br_sha224_state() and
 * br_sha224_set_state(), its documented way to take the running state out
 * and back at a block boundary.
 */
#include <cpuid.h>
#include <immintrin.h>

#define HAVE_SHA_NI 1

static int cpu_has_sha_ni(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & bit_SHA) != 0;
}

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* n 64-byte blocks into the state h (a..h as integers). The instructions
   keep the state as two halves, ABEF and CDGH; each sha256rnds2 does two
   rounds, and sha256msg1/msg2 extend the message schedule four words at
   a time: W[i..i+3] = msg2(msg1(W[i-16..], W[i-12..]) + W[i-7..i-4], W[i-4..]). */
__attribute__((target("sha,sse4.1,ssse3"))) static void sha_ni_blocks(uint32_t h[8], const unsigned char *p,
								      size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bull, 0x0405060700010203ull);
	__m128i dcba = _mm_loadu_si128((const __m128i *)&h[0]);
	__m128i hgfe = _mm_loadu_si128((const __m128i *)&h[4]);
	__m128i cdab = _mm_shuffle_epi32(dcba, 0xb1);
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1b);
	__m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
	__m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xf0);

	for (; n > 0; n--, p += 64) {
		__m128i save_abef = abef, save_cdgh = cdgh;
		__m128i w[4];
		for (int g = 0; g < 16; g++) {
			__m128i m;
			if (g < 4) {
				m = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
			} else {
				m = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
				m = _mm_add_epi32(m, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
				m = _mm_sha256msg2_epu32(m, w[(g + 3) & 3]);
			}
			w[g & 3] = m;
			__m128i wk = _mm_add_epi32(m, _mm_loadu_si128((const __m128i *)&K256[4 * g]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));
		}
		abef = _mm_add_epi32(abef, save_abef);
		cdgh = _mm_add_epi32(cdgh, save_cdgh);
	}
	__m128i feba = _mm_shuffle_epi32(abef, 0x1b);
	__m128i dchg = _mm_shuffle_epi32(cdgh, 0xb1);
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(feba, dchg, 0xf0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dchg, feba, 8));
}
#endif

void digest_init(struct digester *d)
{
	br_sha256_init(&d->ctx);
	d->bytes = 0;
#ifdef HAVE_SHA_NI
	d->fast = cpu_has_sha_ni();
#endif
}

void digest_update(struct digester *d, const void *data, size_t len)
{
	const unsigned char *p = data;

	d->bytes += len;
#ifdef HAVE_SHA_NI
	if (d->fast && len >= 256) {
		unsigned char st[32];
		uint32_t h[8];
		uint64_t count = br_sha224_state(&d->ctx, st);
		size_t head = (size_t)((64 - count % 64) % 64);
		if (head) { /* finish BearSSL's partial block first */
			br_sha256_update(&d->ctx, p, head);
			p += head;
			len -= head;
			count = br_sha224_state(&d->ctx, st);
		}
		size_t blocks = len / 64;
		for (int i = 0; i < 8; i++)
			h[i] = (uint32_t)st[4 * i] << 24 | (uint32_t)st[4 * i + 1] << 16 | (uint32_t)st[4 * i + 2] << 8 |
			       st[4 * i + 3];
		sha_ni_blocks(h, p, blocks);
		for (int i = 0; i < 8; i++) {
			st[4 * i] = (unsigned char)(h[i] >> 24);
			st[4 * i + 1] = (unsigned char)(h[i] >> 16);
			st[4 * i + 2] = (unsigned char)(h[i] >> 8);
			st[4 * i + 3] = (unsigned char)h[i];
		}
		br_sha224_set_state(&d->ctx, st, count + blocks * 64);
		p += blocks * 64;
		len -= blocks * 64;
	}
#endif
	br_sha256_update(&d->ctx, p, len);
}

void digest_final(const struct digester *d, char out[DIGEST_MAX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char sum[br_sha256_SIZE];
	size_t n = sizeof(DIGEST_ALGO);

	br_sha256_out(&d->ctx, sum);
	memcpy(out, DIGEST_ALGO ":", n);
	for (size_t i = 0; i < sizeof(sum); i++) {
		out[n++] = hex[sum[i] >> 4];
		out[n++] = hex[sum[i] & 15];
	}
	out[n] = '\0';
}

void digest_buffer(const void *data, size_t len, char out[DIGEST_MAX])
{
	struct digester d;

	digest_init(&d);
	digest_update(&d, data, len);
	digest_final(&d, out);
}

int digest_check(const char *s, struct ember_error *e)
{
	const char *colon = s ? strchr(s, ':') : NULL;
	char q[ERR_QUOTE_MAX];

	/* s is anyone's input (a manifest, a URL, an API call): quoted. */
	if (!colon || colon == s)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "malformed digest \"%s\"", err_quote(s, q));
	/* The OCI grammar: algorithm [a-z0-9]+ ([+._-][a-z0-9]+)* */
	if ((size_t)(colon - s) != sizeof(DIGEST_ALGO) - 1 || memcmp(s, DIGEST_ALGO, colon - s)) {
		for (const char *p = s; p < colon; p++)
			if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789+._-", *p))
				return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
						    "malformed digest \"%s\"", err_quote(s, q));
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, ENOTSUP,
				    "unsupported digest algorithm \"%.*s\" (only sha256)", (int)(colon - s), s);
	}
	const char *h = colon + 1;
	size_t n = strlen(h);
	if (n != DIGEST_HEX_LEN || strspn(h, "0123456789abcdef") != n)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
				    "malformed digest \"%s\" (want sha256: and 64 lowercase hex digits)", err_quote(s, q));
	return 0;
}
