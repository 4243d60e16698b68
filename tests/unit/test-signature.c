/* SPDX-License-Identifier: Apache-2.0 */
/* image/sigkey.c and image/signature.c: keys, payloads, verdicts. The keys
   and signatures below were made by openssl (ecparam, genrsa, dgst -sha256
   -sign): an independent signer. */
#include "unit.h"

#include "image/image.h"
#include "util/base64.h"

static const char EC_PUB[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfJhE2DJlglGQqd664JgZx6H99mKM\n"
	"R6BoQsejreRoR/GMnDbVleICzdrJAXii+hzLcdhl+mpw/ep/h6B4fSwUmA==\n"
	"-----END PUBLIC KEY-----\n";

static const char EC_SEC1[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MHcCAQEEIJYmY7ux3OHrYLXgh85jU3GSpQiGVMUTGGAd/ReT3M89oAoGCCqGSM49\n"
	"AwEHoUQDQgAEfJhE2DJlglGQqd664JgZx6H99mKMR6BoQsejreRoR/GMnDbVleIC\n"
	"zdrJAXii+hzLcdhl+mpw/ep/h6B4fSwUmA==\n"
	"-----END EC PRIVATE KEY-----\n";

static const char EC_PKCS8[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgliZju7Hc4etgteCH\n"
	"zmNTcZKlCIZUxRMYYB39F5Pczz2hRANCAAR8mETYMmWCUZCp3rrgmBnHof32YoxH\n"
	"oGhCx6Ot5GhH8YycNtWV4gLN2skBeKL6HMtx2GX6anD96n+HoHh9LBSY\n"
	"-----END PRIVATE KEY-----\n";

static const char EC2_PUB[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEJCAP8c7oZWQhsRv5z+vxaZz7vBew\n"
	"X0BCC3DgtKP2uQAbPyYU1PrVznQZfAZhUrGmo//euARF/obCEtGThu9eOg==\n"
	"-----END PUBLIC KEY-----\n";

static const char RSA_PUB[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuc14qSiiibGzMPmNsH6z\n"
	"xIo3PC099G2mEJL1hvNgaYHyh2vcUov4ukUqg1X5aNMF+zk7Zn/oc6MnOnU6xIAQ\n"
	"BBikR3ZC0jRzszo0NsnGjmHQc6nGpw4av3g/+NsVQ6KrF4SfYOgpgmqXZ96ptKTu\n"
	"/rjTHHBBGr1yQntJc8e1ZF6C9v4aYsg2C9GWfPJuJztdXOpny4MeW89wL+90EudU\n"
	"MF5WkcwIQERcpCYn67polPXjJxjNpK2XrSxLqCWKkxkt3JmLe/tmkDZhVWPOCUUr\n"
	"3iLwnDqUhVtTJbUu5tI6mxaJ+F9GLLddJaniQJKX62fBRu6QAEfUB2PwOIFPHmPh\n"
	"8QIDAQAB\n"
	"-----END PUBLIC KEY-----\n";

static const char P384_PUB[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAErEMIz8CcBFME+kjKj7wZNXmFYSKKnVRu\n"
	"pfHn7UUi8pBIS8WB7sybio9f85Hc9eOhIw5L74SXfnZHYO02dIKqP9jLgH3A06m2\n"
	"EDI6aEnW7h2bwY5iS/mBVeKTsf0Chqiu\n"
	"-----END PUBLIC KEY-----\n";

static const char PAYLOAD[] = "{\"critical\":{\"identity\":{\"docker-reference\":\"registry.example.com/app\"},\"image\":{\"docker-manifest-digest\":\"sha256:4242424242424242424242424242424242424242424242424242424242424242\"},\"type\":\"cosign container image signature\"},\"optional\":null}";

static const char EC_SIG[] = "MEYCIQD2X2VrzPjBtzAaeRbzqH/0ZcxurRu4Uc77EsnjyiXCpwIhALD1iusjmpM+N87i1DFOkb4W6JJhZ8qNX7O2w0KEWOOG";

static const char RSA_SIG[] =
	"Hm91oCl8pRUEpZIvfmqeScsSWcJISAkm12z0iokOxP868n9aDZLMYLcMnlNSBTJPqSWB47tzSZZXxzlZTU+TZ3zg"
	"d6cYM21ymwIS9/2SpsMbOcz1vx5MfJCQ2hVP+lZCa++Z1vcrfYM6HcgLhXDaMvDYuB2gWAYxBs/S44Hf6n64cu6e"
	"BPnbx8J5HIRSU/0+gZdba5f4HtHOwIGC59DudM/Y6MOo1lk8M4cbgdJv8VJw30Rf7mNxxooJocCHSnbNS7Sg4YNC"
	"dVMtswQGgfgz2dKxDtZKGeV8OikmB5hxlX8Z0CBNJeCRsR0jtkmDBU4Vh70f5Jz4R/zX2jaxHbP+AA==";

#define PAYLOAD_DIGEST "sha256:4242424242424242424242424242424242424242424242424242424242424242"
/* sha256 of EC_PUB's DER (openssl ec -pubin -outform DER | sha256sum). */
#define EC_FINGERPRINT "sha256:22faaae26720380beb4c540eafcbe5a4bb9fa8ee64a58e6aa31cb0c6fe02de51"

static struct sig_key key_from(const char *pem, const char *name)
{
	struct sig_key k;
	struct ember_error e;

	if (sig_key_parse_pem(pem, strlen(pem), name, &k, &e) < 0)
		fail_msg("%s: %s", name, e.message);
	return k;
}

static unsigned char *b64(const char *s, size_t *len)
{
	unsigned char *out;
	struct ember_error e;

	assert_int_equal(base64_decode(s, strlen(s), &out, len, &e), 0);
	return out;
}

static void test_public_keys(void **state)
{
	(void)state;
	struct sig_key k = key_from(EC_PUB, "fleet");
	assert_int_equal(k.type, SIG_KEY_EC_P256);
	assert_string_equal(k.fingerprint, EC_FINGERPRINT);
	assert_string_equal(k.name, "fleet");
	assert_int_equal(k.q[0], 0x04);

	k = key_from(RSA_PUB, "rsa");
	assert_int_equal(k.type, SIG_KEY_RSA);
	assert_int_equal(k.nlen, 256);
	assert_int_equal(k.elen, 3);
}

static void test_key_errors(void **state)
{
	(void)state;
	struct sig_key k;
	struct ember_error e;
	static const struct {
		const char *pem, *msg;
	} bad[] = {
		{ "", "no \"-----BEGIN\" line" },
		{ "-----BEGIN PUBLIC KEY-----\nAAAA\n", "no \"-----END PUBLIC KEY-----\" line" },
		{ "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n", "PEM PUBLIC KEY" },
		{ "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n", "not a DER SubjectPublicKeyInfo" },
		{ "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n", "want a PUBLIC KEY" },
		{ P384_PUB, "other than P-256" },
		{ EC_SEC1, "want a PUBLIC KEY" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(sig_key_parse_pem(bad[i].pem, strlen(bad[i].pem), "x", &k, &e) < 0);
		assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
		assert_msg_contains(&e, bad[i].msg);
	}
	/* A point off the curve: the last byte of y changed. */
	char off[sizeof(EC_PUB)];
	memcpy(off, EC_PUB, sizeof(EC_PUB));
	char *p = strstr(off, "mA==");
	assert_non_null(p);
	p[0] = 'n';
	assert_true(sig_key_parse_pem(off, strlen(off), "x", &k, &e) < 0);
	assert_msg_contains(&e, "not on the curve");
}

static void test_verify_openssl(void **state)
{
	(void)state;
	struct sig_key ec = key_from(EC_PUB, "ec"), ec2 = key_from(EC2_PUB, "ec2"), rsa = key_from(RSA_PUB, "rsa");
	size_t n;
	unsigned char *sig = b64(EC_SIG, &n);

	assert_true(sig_verify(&ec, PAYLOAD, strlen(PAYLOAD), sig, n));
	assert_false(sig_verify(&ec2, PAYLOAD, strlen(PAYLOAD), sig, n));
	assert_false(sig_verify(&ec, PAYLOAD, strlen(PAYLOAD) - 1, sig, n));
	assert_false(sig_verify(&rsa, PAYLOAD, strlen(PAYLOAD), sig, n));
	free(sig);
	sig = b64(RSA_SIG, &n);
	assert_int_equal(n, 256);
	assert_true(sig_verify(&rsa, PAYLOAD, strlen(PAYLOAD), sig, n));
	assert_false(sig_verify(&ec, PAYLOAD, strlen(PAYLOAD), sig, n));
	sig[10] ^= 1;
	assert_false(sig_verify(&rsa, PAYLOAD, strlen(PAYLOAD), sig, n));
	free(sig);
}

static void test_sign(void **state)
{
	(void)state;
	struct ember_error e;
	struct sig_key pub = key_from(EC_PUB, "ec");
	unsigned char sig[SIG_DER_MAX];
	const char *const pems[] = { EC_SEC1, EC_PKCS8 };

	for (size_t i = 0; i < 2; i++) {
		struct sig_private_key k;
		if (sig_private_key_parse_pem(pems[i], strlen(pems[i]), &k, &e) < 0)
			fail_msg("%s", e.message);
		/* The public half of the private key is the public key's. */
		assert_string_equal(k.pub.fingerprint, EC_FINGERPRINT);
		int n = sig_sign(&k, PAYLOAD, strlen(PAYLOAD), sig, &e);
		assert_true(n > 8 && n <= 72);
		assert_true(sig_verify(&pub, PAYLOAD, strlen(PAYLOAD), sig, (size_t)n));
		sig_private_key_done(&k);
	}
	struct sig_private_key k;
	assert_true(sig_private_key_parse_pem(EC_PUB, strlen(EC_PUB), &k, &e) < 0);
	assert_msg_contains(&e, "want a PRIVATE KEY");
	static const char cosign[] = "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\nMAA=\n"
				     "-----END ENCRYPTED COSIGN PRIVATE KEY-----\n";
	assert_true(sig_private_key_parse_pem(cosign, strlen(cosign), &k, &e) < 0);
	assert_msg_contains(&e, "encrypted keys are not supported");
}

static void test_payload(void **state)
{
	(void)state;
	struct sig_payload p;
	struct ember_error e;

	assert_int_equal(sig_payload_parse(PAYLOAD, strlen(PAYLOAD), &p, &e), 0);
	assert_string_equal(p.reference, "registry.example.com/app");
	assert_string_equal(p.digest, PAYLOAD_DIGEST);
	assert_string_equal(p.type, SIG_PAYLOAD_TYPE);
	sig_payload_done(&p);

	char *made = sig_payload_make(PAYLOAD_DIGEST, "registry.example.com/app");
	assert_string_equal(made, PAYLOAD);
	free(made);

	static const struct {
		const char *doc, *msg;
	} bad[] = {
		{ "", "invalid JSON" },
		{ "[]", "no \"critical\" object" },
		{ "{\"critical\":{}}", "docker-reference" },
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"a/b\"}}}", "docker-manifest-digest" },
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"a/b\"},\"image\":{\"docker-manifest-digest\":"
		  "\"sha256:42\"},\"type\":\"t\"}}", "malformed digest" },
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"a/b\"},\"image\":{\"docker-manifest-digest\":"
		  "\"" PAYLOAD_DIGEST "\"}}}", "critical.type" },
		{ "{\"critical\":{},\"critical\":{}}", "invalid JSON" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(sig_payload_parse(bad[i].doc, strlen(bad[i].doc), &p, &e) < 0);
		assert_msg_contains(&e, bad[i].msg);
	}
	char tag[SIG_TAG_MAX];
	sig_tag(PAYLOAD_DIGEST, tag);
	assert_string_equal(tag, "sha256-4242424242424242424242424242424242424242424242424242424242424242.sig");
}

static int repo_is_app(const char *reference, void *userdata)
{
	(void)userdata;
	return !strcmp(reference, "registry.example.com/app");
}

static enum sig_verdict judge(const struct sig_keyset *ks, const char *digest, const char *payload,
			      const char *sig, struct sig_result *r)
{
	struct sig_check c = { ks, digest, repo_is_app, NULL };

	memset(r, 0, sizeof(*r));
	sig_check_layer(&c, payload, strlen(payload), sig, r);
	return r->verdict;
}

static void test_verdicts(void **state)
{
	(void)state;
	struct sig_key keys[] = { key_from(EC2_PUB, "other"), key_from(EC_PUB, "fleet") };
	struct sig_keyset ks = { keys, 2 }, other = { keys, 1 };
	struct sig_result r;

	assert_int_equal(judge(&ks, PAYLOAD_DIGEST, PAYLOAD, EC_SIG, &r), SIG_OK);
	assert_ptr_equal(r.key, &keys[1]);
	assert_int_equal(judge(&other, PAYLOAD_DIGEST, PAYLOAD, EC_SIG, &r), SIG_UNKNOWN_KEY);
	assert_int_equal(judge(&ks, "sha256:4343434343434343434343434343434343434343434343434343434343434343", PAYLOAD,
			       EC_SIG, &r),
			 SIG_OTHER_DIGEST);
	assert_string_equal(sig_verdict_name(r.verdict), "signed for another digest");
	assert_int_equal(judge(&ks, PAYLOAD_DIGEST, PAYLOAD, NULL, &r), SIG_BAD);
	assert_int_equal(judge(&ks, PAYLOAD_DIGEST, PAYLOAD, "bm90IGEgc2lnbmF0dXJl", &r), SIG_BAD);
	assert_int_equal(judge(&ks, PAYLOAD_DIGEST, PAYLOAD, "!!", &r), SIG_BAD);
	/* A tampered payload: the signature no longer verifies. */
	char tampered[sizeof(PAYLOAD)];
	memcpy(tampered, PAYLOAD, sizeof(PAYLOAD));
	tampered[strlen(tampered) - 3] = 'X';
	assert_int_equal(judge(&ks, PAYLOAD_DIGEST, tampered, EC_SIG, &r), SIG_UNKNOWN_KEY);

	/* The best verdict of several layers wins, whatever their order. */
	struct sig_check c = { &ks, PAYLOAD_DIGEST, repo_is_app, NULL };
	memset(&r, 0, sizeof(r));
	sig_check_layer(&c, PAYLOAD, strlen(PAYLOAD), "bm90IGEgc2lnbmF0dXJl", &r);
	sig_check_layer(&c, PAYLOAD, strlen(PAYLOAD), EC_SIG, &r);
	sig_check_layer(&c, PAYLOAD, strlen(PAYLOAD), NULL, &r);
	assert_int_equal(r.verdict, SIG_OK);
}

static void test_other_repo(void **state)
{
	(void)state;
	struct ember_error e;
	struct sig_private_key k;
	struct sig_key pub = key_from(EC_PUB, "fleet");
	struct sig_keyset ks = { &pub, 1 };
	struct sig_result r;
	unsigned char sig[SIG_DER_MAX];

	assert_int_equal(sig_private_key_parse_pem(EC_SEC1, strlen(EC_SEC1), &k, &e), 0);
	char *payload = sig_payload_make(PAYLOAD_DIGEST, "registry.example.com/other");
	int n = sig_sign(&k, payload, strlen(payload), sig, &e);
	char *s = base64_encode(sig, (size_t)n);
	assert_int_equal(judge(&ks, PAYLOAD_DIGEST, payload, s, &r), SIG_OTHER_REPO);
	assert_non_null(strstr(r.detail, "registry.example.com/other"));
	free(s);
	free(payload);
	sig_private_key_done(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_keys), cmocka_unit_test(test_key_errors),
		cmocka_unit_test(test_verify_openssl), cmocka_unit_test(test_sign),
		cmocka_unit_test(test_payload), cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_other_repo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
