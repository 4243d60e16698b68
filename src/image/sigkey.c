/* SPDX-License-Identifier: Apache-2.0 */
/* Signature keys: PEM, SubjectPublicKeyInfo (ECDSA P-256, RSA) and P-256
   private keys (BearSSL's decoder), for image/signature.c. */
#include "image/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bearssl_ec.h>
#include <bearssl_x509.h>

#include "image/image-internal.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/err.h"

/* ---- PEM ------------------------------------------------------------------- */

static const char *find(const char *s, const char *end, const char *what)
{
	size_t n = strlen(what);

	for (; s && s + n <= end; s++)
		if (!memcmp(s, what, n))
			return s;
	return NULL;
}

int sig_pem_decode(const char *text, size_t len, char label[64], unsigned char **der, size_t *der_len,
		   struct ember_error *e)
{
	const char *end = text + len;

	*der = NULL;
	if (len > SIG_PEM_MAX)
		return image_bad(e, "PEM: %zu bytes, more than %d", len, SIG_PEM_MAX);
	const char *begin = find(text, end, "-----BEGIN ");
	if (!begin)
		return image_bad(e, "PEM: no \"-----BEGIN\" line");
	const char *l = begin + 11, *le = find(l, end, "-----");
	if (!le || le - l == 0 || le - l >= 64 || memchr(l, '\n', (size_t)(le - l)))
		return image_bad(e, "PEM: malformed BEGIN line");
	/* RFC 7468 labels are printable ASCII; ours are upper case words, and
	   only those go into messages. */
	for (const char *c = l; c < le; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == ' '))
			return image_bad(e, "PEM: malformed BEGIN line");
	memcpy(label, l, (size_t)(le - l));
	label[le - l] = '\0';
	char endline[96];
	snprintf(endline, sizeof(endline), "-----END %s-----", label);
	const char *body = le + 5, *stop = find(body, end, endline);
	if (!stop)
		return image_bad(e, "PEM: no \"%s\" line", endline);
	/* The base64 lines, without their line ends; a header ("Proc-Type:")
	   means an encrypted legacy key, which ember does not read. */
	_cleanup_free_ char *b64 = malloc((size_t)(stop - body) + 1);
	size_t n = 0;
	if (!b64)
		return err_set(e, ENOMEM, "out of memory");
	for (const char *s = body; s < stop; s++) {
		if (*s == ':')
			return image_unsupported(e, "PEM %s: encrypted (a header line): give an unencrypted key", label);
		if (*s != '\n' && *s != '\r' && *s != ' ' && *s != '\t')
			b64[n++] = *s;
	}
	if (base64_decode(b64, n, der, der_len, e) < 0)
		return err_wrap(e, "PEM %s", label);
	return 0;
}

/* ---- DER ------------------------------------------------------------------- */

struct der {
	const unsigned char *p;
	size_t len;
};

/* The next element of in, which must have tag; its contents go to out.
   Strict DER lengths: minimal, at most 3 length bytes. */
static int der_next(struct der *in, unsigned char tag, struct der *out)
{
	size_t n;

	if (in->len < 2 || in->p[0] != tag)
		return -1;
	unsigned char l = in->p[1];
	size_t hdr = 2;
	if (l < 0x80) {
		n = l;
	} else {
		unsigned k = l & 0x7f;
		if (k == 0 || k > 3 || in->len < 2 + k || in->p[2] == 0)
			return -1;
		n = 0;
		for (unsigned i = 0; i < k; i++)
			n = n << 8 | in->p[2 + i];
		if (n < 0x80)
			return -1;
		hdr += k;
	}
	if (n > in->len - hdr)
		return -1;
	out->p = in->p + hdr;
	out->len = n;
	in->p += hdr + n;
	in->len -= hdr + n;
	return 0;
}

static int der_is(const struct der *d, const unsigned char *want, size_t n)
{
	return d->len == n && !memcmp(d->p, want, n);
}

/* A positive INTEGER's magnitude, without the sign byte. */
static int der_uint(struct der *in, struct der *out)
{
	if (der_next(in, 0x02, out) < 0 || out->len == 0 || (out->p[0] & 0x80))
		return -1;
	if (out->p[0] == 0) {
		if (out->len == 1 || !(out->p[1] & 0x80))
			return -1; /* not minimal */
		out->p++;
		out->len--;
	}
	return 0;
}

/* ---- SubjectPublicKeyInfo -------------------------------------------------- */

static const unsigned char OID_EC[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const unsigned char OID_P256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char OID_RSA[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };

static int spki_rsa(struct der bits, struct sig_key *k, struct ember_error *e)
{
	struct der seq, n, ex;

	if (der_next(&bits, 0x30, &seq) < 0 || bits.len || der_uint(&seq, &n) < 0 || der_uint(&seq, &ex) < 0 ||
	    seq.len)
		return image_bad(e, "public key: malformed RSA key");
	if (n.len < 256 || n.len > SIG_RSA_MAX_BYTES)
		return image_unsupported(e, "public key: RSA keys of %zu bits are not supported (2048 to 4096)",
					 n.len * 8);
	if (ex.len == 0 || ex.len > sizeof(k->e) || !(n.p[n.len - 1] & 1))
		return image_bad(e, "public key: malformed RSA key");
	k->type = SIG_KEY_RSA;
	memcpy(k->n, n.p, n.len);
	k->nlen = n.len;
	memcpy(k->e, ex.p, ex.len);
	k->elen = ex.len;
	return 0;
}

int sig_key_parse_spki(const unsigned char *der, size_t len, const char *name, struct sig_key *k,
		       struct ember_error *e)
{
	struct der in = { der, len }, spki, alg, oid, bits;

	memset(k, 0, sizeof(*k));
	if (der_next(&in, 0x30, &spki) < 0 || in.len || der_next(&spki, 0x30, &alg) < 0 ||
	    der_next(&alg, 0x06, &oid) < 0 || der_next(&spki, 0x03, &bits) < 0 || spki.len || bits.len < 1 ||
	    bits.p[0] != 0)
		return image_bad(e, "public key: not a DER SubjectPublicKeyInfo");
	bits.p++;
	bits.len--;
	if (der_is(&oid, OID_EC, sizeof(OID_EC))) {
		struct der curve;
		if (der_next(&alg, 0x06, &curve) < 0 || alg.len)
			return image_bad(e, "public key: EC key without a named curve");
		if (!der_is(&curve, OID_P256, sizeof(OID_P256)))
			return image_unsupported(e, "public key: EC curves other than P-256 are not supported");
		if (bits.len != 65 || bits.p[0] != 0x04)
			return image_bad(e, "public key: P-256 point is not 65 bytes, uncompressed");
		k->type = SIG_KEY_EC_P256;
		memcpy(k->q, bits.p, 65);
		/* The point must be on the curve: BearSSL decodes (and checks) it
		   to multiply it by 1. */
		unsigned char pt[65];
		memcpy(pt, k->q, sizeof(pt));
		if (!br_ec_get_default()->mul(pt, sizeof(pt), (const unsigned char[]){ 1 }, 1, BR_EC_secp256r1))
			return image_bad(e, "public key: the P-256 point is not on the curve");
	} else if (der_is(&oid, OID_RSA, sizeof(OID_RSA))) {
		struct der null;
		if (alg.len && (der_next(&alg, 0x05, &null) < 0 || null.len || alg.len))
			return image_bad(e, "public key: RSA algorithm parameters are not NULL");
		if (spki_rsa(bits, k, e) < 0)
			return -e->code;
	} else {
		return image_unsupported(e, "public key: only ECDSA P-256 and RSA keys are supported");
	}
	digest_buffer(der, len, k->fingerprint);
	snprintf(k->name, sizeof(k->name), "%s", name ? name : "");
	return 0;
}

int sig_key_parse_pem(const char *text, size_t len, const char *name, struct sig_key *k, struct ember_error *e)
{
	char label[64];
	_cleanup_free_ unsigned char *der = NULL;
	size_t n;

	memset(k, 0, sizeof(*k));
	if (sig_pem_decode(text, len, label, &der, &n, e) < 0)
		return -e->code;
	if (strcmp(label, "PUBLIC KEY"))
		return image_unsupported(e, "PEM %s: want a PUBLIC KEY (SubjectPublicKeyInfo)", label);
	return sig_key_parse_spki(der, n, name, k, e);
}

/* The DER SubjectPublicKeyInfo of a P-256 point (91 bytes). */
static size_t spki_p256(const unsigned char q[65], unsigned char out[91])
{
	static const unsigned char head[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
					      0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
					      0x03, 0x01, 0x07, 0x03, 0x42, 0x00 };
	memcpy(out, head, sizeof(head));
	memcpy(out + sizeof(head), q, 65);
	return sizeof(head) + 65;
}

int sig_private_key_parse_pem(const char *text, size_t len, struct sig_private_key *k, struct ember_error *e)
{
	char label[64];
	_cleanup_free_ unsigned char *der = NULL;
	size_t n;
	br_skey_decoder_context dc;

	memset(k, 0, sizeof(*k));
	if (sig_pem_decode(text, len, label, &der, &n, e) < 0)
		return -e->code;
	if (!strcmp(label, "ENCRYPTED COSIGN PRIVATE KEY") || !strcmp(label, "ENCRYPTED PRIVATE KEY"))
		return image_unsupported(e, "PEM %s: encrypted keys are not supported: give a PKCS#8 \"PRIVATE KEY\" "
					 "or \"EC PRIVATE KEY\" (openssl ecparam -genkey -name prime256v1)", label);
	if (strcmp(label, "PRIVATE KEY") && strcmp(label, "EC PRIVATE KEY"))
		return image_unsupported(e, "PEM %s: want a PRIVATE KEY or EC PRIVATE KEY", label);
	br_skey_decoder_init(&dc);
	br_skey_decoder_push(&dc, der, n);
	int err = br_skey_decoder_last_error(&dc);
	explicit_bzero(der, n);
	if (err)
		return image_bad(e, "private key: malformed (BearSSL error %d)", err);
	const br_ec_private_key *sk = br_skey_decoder_get_ec(&dc);
	if (br_skey_decoder_key_type(&dc) != BR_KEYTYPE_EC || !sk || sk->curve != BR_EC_secp256r1 || sk->xlen > 32) {
		explicit_bzero(&dc, sizeof(dc));
		return image_unsupported(e, "private key: only ECDSA P-256 keys can sign");
	}
	memcpy(k->x + 32 - sk->xlen, sk->x, sk->xlen);
	explicit_bzero(&dc, sizeof(dc));
	br_ec_private_key priv = { BR_EC_secp256r1, k->x, 32 };
	br_ec_public_key pub;
	if (br_ec_compute_pub(br_ec_get_default(), &pub, k->pub.q, &priv) != 65) {
		sig_private_key_done(k);
		return image_bad(e, "private key: not a valid P-256 scalar");
	}
	unsigned char spki[91];
	k->pub.type = SIG_KEY_EC_P256;
	digest_buffer(spki, spki_p256(k->pub.q, spki), k->pub.fingerprint);
	return 0;
}

void sig_private_key_done(struct sig_private_key *k)
{
	if (k)
		explicit_bzero(k, sizeof(*k));
}

int sig_keyset_add(struct sig_keyset *ks, const struct sig_key *k, struct ember_error *e)
{
	struct sig_key *v = realloc(ks->keys, (ks->n + 1) * sizeof(*v));

	if (!v)
		return err_set(e, ENOMEM, "out of memory");
	ks->keys = v;
	v[ks->n++] = *k;
	return 0;
}

void sig_keyset_done(struct sig_keyset *ks)
{
	if (!ks)
		return;
	free(ks->keys);
	ks->keys = NULL;
	ks->n = 0;
}
