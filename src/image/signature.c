/* SPDX-License-Identifier: Apache-2.0 */
/* cosign "simple signing" payloads, their signatures (BearSSL), and the
   verdict on one signature layer (image.h). */
#include "image/image.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bearssl_ec.h>
#include <bearssl_hash.h>
#include <bearssl_rsa.h>

#include "image/image-internal.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/err.h"

/* ---- payloads -------------------------------------------------------------- */

static const char *str_at(json_t *root, const char *a, const char *b)
{
	json_t *v = json_object_get(root, a);

	if (b)
		v = json_object_get(v, b);
	return json_string_value(v);
}

int sig_payload_parse(const char *buf, size_t len, struct sig_payload *p, struct ember_error *e)
{
	char q[IMAGE_QUOTE_MAX];
	json_error_t je;

	memset(p, 0, sizeof(*p));
	if (len > SIG_PAYLOAD_MAX)
		return image_bad(e, "payload: %zu bytes, more than %d", len, SIG_PAYLOAD_MAX);
	_cleanup_(json_decrefp) json_t *j = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return image_bad(e, "payload: invalid JSON at line %d column %d: %s", je.line, je.column,
				 image_quote(je.text, q));
	json_t *crit = json_object_get(j, "critical");
	if (!json_is_object(crit))
		return image_bad(e, "payload: no \"critical\" object");
	const char *ref = str_at(crit, "identity", "docker-reference");
	const char *digest = str_at(crit, "image", "docker-manifest-digest");
	const char *type = str_at(crit, "type", NULL);
	if (!ref || !*ref)
		return image_bad(e, "payload: no critical.identity.docker-reference string");
	if (!digest)
		return image_bad(e, "payload: no critical.image.docker-manifest-digest string");
	if (!type)
		return image_bad(e, "payload: no critical.type string");
	/* digest_check() puts the input in its message as it is: ours quotes. */
	if (digest_check(digest, e) < 0)
		return image_bad(e, "payload: critical.image.docker-manifest-digest: malformed digest \"%s\"",
				 image_quote(digest, q));
	p->reference = strdup(ref);
	p->type = strdup(type);
	if (!p->reference || !p->type) {
		sig_payload_done(p);
		return err_set(e, ENOMEM, "out of memory");
	}
	snprintf(p->digest, sizeof(p->digest), "%s", digest);
	return 0;
}

void sig_payload_done(struct sig_payload *p)
{
	if (!p)
		return;
	free(p->reference);
	free(p->type);
	memset(p, 0, sizeof(*p));
}

char *sig_payload_make(const char *digest, const char *reference)
{
	/* The field order cosign writes; "optional" null, as skopeo does. */
	json_t *j = json_pack("{s:{s:{s:s}, s:{s:s}, s:s}, s:n}", "critical", "identity", "docker-reference",
			      reference, "image", "docker-manifest-digest", digest, "type", SIG_PAYLOAD_TYPE,
			      "optional");
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(j);
	return s;
}

void sig_tag(const char *digest, char out[SIG_TAG_MAX])
{
	snprintf(out, SIG_TAG_MAX, DIGEST_ALGO "-%s" SIG_TAG_SUFFIX, digest_hex(digest));
}

/* ---- signatures ------------------------------------------------------------ */

int sig_verify(const struct sig_key *k, const void *payload, size_t len, const unsigned char *sig, size_t sig_len)
{
	unsigned char hash[32];
	br_sha256_context sc;

	br_sha256_init(&sc);
	br_sha256_update(&sc, payload, len);
	br_sha256_out(&sc, hash);
	if (k->type == SIG_KEY_EC_P256) {
		br_ec_public_key pk = { BR_EC_secp256r1, (unsigned char *)k->q, sizeof(k->q) };
		return br_ecdsa_vrfy_asn1_get_default()(br_ec_get_default(), hash, sizeof(hash), &pk, sig, sig_len) == 1;
	}
	if (k->type == SIG_KEY_RSA) {
		unsigned char got[32];
		br_rsa_public_key pk = { (unsigned char *)k->n, k->nlen, (unsigned char *)k->e, k->elen };
		if (sig_len != k->nlen)
			return 0;
		return br_rsa_pkcs1_vrfy_get_default()(sig, sig_len, BR_HASH_OID_SHA256, sizeof(got), &pk, got) == 1 &&
		       !memcmp(got, hash, sizeof(hash));
	}
	return 0;
}

int sig_sign(const struct sig_private_key *k, const void *payload, size_t len, unsigned char *sig,
	     struct ember_error *e)
{
	unsigned char hash[32];
	br_sha256_context sc;
	br_ec_private_key sk = { BR_EC_secp256r1, (unsigned char *)k->x, sizeof(k->x) };

	br_sha256_init(&sc);
	br_sha256_update(&sc, payload, len);
	br_sha256_out(&sc, hash);
	/* RFC 6979: deterministic, no random source needed. */
	size_t n = br_ecdsa_sign_asn1_get_default()(br_ec_get_default(), &br_sha256_vtable, hash, &sk, sig);
	if (n == 0)
		return err_set(e, EINVAL, "ECDSA signing failed");
	return (int)n;
}

/* An ASN.1 ECDSA-Sig-Value whose integers fit P-256, or a block the
   length of one of the RSA keys: a signature, if not one we know. */
static int well_formed(const struct sig_keyset *ks, const unsigned char *sig, size_t len)
{
	for (size_t i = 0; i < ks->n; i++)
		if (ks->keys[i].type == SIG_KEY_RSA && ks->keys[i].nlen == len)
			return 1;
	if (len < 8 || len > 72 || sig[0] != 0x30 || sig[1] != len - 2)
		return 0;
	size_t o = 2;
	for (int i = 0; i < 2; i++) {
		if (o + 2 > len || sig[o] != 0x02 || sig[o + 1] == 0 || sig[o + 1] > 33 || o + 2 + sig[o + 1] > len)
			return 0;
		o += 2 + sig[o + 1];
	}
	return o == len;
}

static void keep(struct sig_result *best, enum sig_verdict v, const struct sig_key *k, const char *fmt, ...)
	ERR_PRINTF(4, 5);

static void keep(struct sig_result *best, enum sig_verdict v, const struct sig_key *k, const char *fmt, ...)
{
	va_list ap;

	if (v < best->verdict)
		return;
	if (v == best->verdict && best->detail[0])
		return; /* the first of equals tells */
	best->verdict = v;
	best->key = k;
	va_start(ap, fmt);
	vsnprintf(best->detail, sizeof(best->detail), fmt, ap);
	va_end(ap);
}

void sig_check_layer(const struct sig_check *c, const char *payload, size_t len, const char *sig_b64,
		     struct sig_result *best)
{
	char q[IMAGE_QUOTE_MAX];
	struct ember_error e;
	_cleanup_free_ unsigned char *sig = NULL;
	size_t sig_len;
	const struct sig_key *key = NULL;

	if (!sig_b64) {
		keep(best, SIG_BAD, NULL, "a signature layer has no %s annotation", SIG_ANNOTATION);
		return;
	}
	if (base64_decode(sig_b64, strlen(sig_b64), &sig, &sig_len, &e) < 0 || sig_len > SIG_DER_MAX) {
		keep(best, SIG_BAD, NULL, "the signature is not base64 of a signature");
		return;
	}
	for (size_t i = 0; !key && i < c->keys->n; i++)
		if (sig_verify(&c->keys->keys[i], payload, len, sig, sig_len))
			key = &c->keys->keys[i];
	if (!key) {
		if (well_formed(c->keys, sig, sig_len))
			keep(best, SIG_UNKNOWN_KEY, NULL, "no key of the policy verifies its signature");
		else
			keep(best, SIG_BAD, NULL, "the signature is not an ECDSA or RSA signature");
		return;
	}
	struct sig_payload p;
	if (sig_payload_parse(payload, len, &p, &e) < 0) {
		keep(best, SIG_BAD, key, "signed by %s, but %s", key->name, e.message);
		return;
	}
	if (strcmp(p.type, SIG_PAYLOAD_TYPE))
		keep(best, SIG_OTHER_TYPE, key, "critical.type is \"%s\", not \"%s\"", image_quote(p.type, q),
		     SIG_PAYLOAD_TYPE);
	else if (strcmp(p.digest, c->digest))
		keep(best, SIG_OTHER_DIGEST, key, "the signature is for %s, the image is %s", p.digest, c->digest);
	else if (!c->same_repo(p.reference, c->userdata))
		keep(best, SIG_OTHER_REPO, key, "the signature is for \"%s\"", image_quote(p.reference, q));
	else
		keep(best, SIG_OK, key, "signed by key %s (%s)", key->name, key->fingerprint);
	sig_payload_done(&p);
}

const char *sig_verdict_name(enum sig_verdict v)
{
	switch (v) {
	case SIG_UNSIGNED: return "unsigned";
	case SIG_BAD: return "wrongly signed";
	case SIG_UNKNOWN_KEY: return "signed by an unknown key";
	case SIG_OTHER_TYPE: return "signed as something else than a container image";
	case SIG_OTHER_REPO: return "signed for another repository";
	case SIG_OTHER_DIGEST: return "signed for another digest";
	case SIG_OK: return "verified";
	}
	return "?";
}
