/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: what a registry or a configuration hands the signature code:
   simple-signing payloads, PEM and DER keys, and whole signature layers.
   The first byte picks the parser (the corpus names say which):
   0 payload, 1 public PEM, 2 private PEM, 3 SubjectPublicKeyInfo DER,
   4 a layer: payload, NUL, base64 signature (judged with a fixed key). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

static const char KEY[] = "-----BEGIN PUBLIC KEY-----\n"
			  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfJhE2DJlglGQqd664JgZx6H99mKM\n"
			  "R6BoQsejreRoR/GMnDbVleICzdrJAXii+hzLcdhl+mpw/ep/h6B4fSwUmA==\n"
			  "-----END PUBLIC KEY-----\n";

static void check_error(const struct ember_error *e, int r)
{
	CHECK(r < 0 && e->code > 0 && r == -e->code);
	CHECK(e->message[0] != '\0');
	for (const char *c = e->message; *c; c++)
		CHECK(*c >= 0x20 && *c < 0x7f); /* one line of plain text */
}

static int any_repo(const char *reference, void *userdata)
{
	(void)userdata;
	return reference[0] != '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ember_error e;
	int r;

	if (size < 1)
		return 0;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] % 5) {
	case 0: {
		struct sig_payload p;
		r = sig_payload_parse(s, n, &p, &e);
		if (r < 0) {
			check_error(&e, r);
		} else {
			CHECK(p.reference && p.reference[0] && p.type && !digest_check(p.digest, &e));
			sig_payload_done(&p);
		}
		break;
	}
	case 1: {
		struct sig_key k;
		r = sig_key_parse_pem(s, n, "fuzz", &k, &e);
		if (r < 0)
			check_error(&e, r);
		else
			CHECK(k.type == SIG_KEY_EC_P256 || (k.type == SIG_KEY_RSA && k.nlen >= 256));
		break;
	}
	case 2: {
		struct sig_private_key k;
		r = sig_private_key_parse_pem(s, n, &k, &e);
		if (r < 0) {
			check_error(&e, r);
		} else {
			unsigned char sig[SIG_DER_MAX];
			int len = sig_sign(&k, "x", 1, sig, &e);
			CHECK(len > 0 && sig_verify(&k.pub, "x", 1, sig, (size_t)len));
		}
		sig_private_key_done(&k);
		break;
	}
	case 3: {
		struct sig_key k;
		r = sig_key_parse_spki(data + 1, n, "fuzz", &k, &e);
		if (r < 0)
			check_error(&e, r);
		break;
	}
	case 4: {
		struct sig_key k;
		CHECK(sig_key_parse_pem(KEY, strlen(KEY), "fleet", &k, &e) == 0);
		struct sig_keyset ks = { &k, 1 };
		const char *nul = memchr(s, '\0', n);
		size_t plen = nul ? (size_t)(nul - s) : n;
		char *sig = nul ? strndup(nul + 1, n - plen - 1) : NULL;
		struct sig_check c = { &ks, "sha256:4242424242424242424242424242424242424242424242424242424242424242",
				       any_repo, NULL };
		struct sig_result res;
		memset(&res, 0, sizeof(res));
		sig_check_layer(&c, s, plen, sig, &res);
		CHECK(res.verdict <= SIG_OK);
		CHECK(res.verdict < SIG_OTHER_TYPE || res.key == &k);
		free(sig);
		break;
	}
	}
	return 0;
}
