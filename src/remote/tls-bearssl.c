/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What curl 7.88's BearSSL backend lacks, added through its SSL context
 * hook (CURLOPT_SSL_CTX_FUNCTION, which hands over the br_ssl_client_context
 * before the handshake starts):
 *
 *  - client certificates (hosts.toml `client`): PEM chain and key read
 *    with BearSSL's own decoders, kept by the HTTP engine for as long as a
 *    cached connection may still use them;
 *  - registries addressed by IP: curl refuses to verify an IP address, so
 *    it is asked not to check the name, and the chain it still verifies
 *    must end in a certificate whose subjectAltName lists that address.
 */
#include "remote/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#define PEM_MAX (1u << 20)

/* ---- client identities -------------------------------------------------------- */

struct tls_identity {
	char *cert_file, *key_file;
	br_x509_certificate *chain;
	size_t n_chain;
	br_skey_decoder_context key; /* holds the decoded key the engine points to */
	int key_type;
	struct tls_identity *next;
};

struct pem_ctx {
	struct tls_identity *id;
	int in_cert, in_key, failed;
	unsigned char *buf;
	size_t len, cap;
};

static void pem_append(void *userdata, const void *data, size_t len)
{
	struct pem_ctx *pc = userdata;

	if (pc->failed)
		return;
	if (pc->len + len > pc->cap) {
		size_t cap = pc->cap ? pc->cap * 2 : 4096;
		while (cap < pc->len + len)
			cap *= 2;
		unsigned char *n = realloc(pc->buf, cap);
		if (!n) {
			pc->failed = 1;
			return;
		}
		pc->buf = n;
		pc->cap = cap;
	}
	memcpy(pc->buf + pc->len, data, len);
	pc->len += len;
}

/* Decode every PEM object of text: certificates go to the chain, a
   private key to the key decoder. */
static int pem_load(struct tls_identity *id, const char *text, size_t len, const char *file,
		    struct ember_error *e)
{
	br_pem_decoder_context pem;
	struct pem_ctx pc = { .id = id };
	int r = 0;

	br_pem_decoder_init(&pem);
	while (len > 0 && r == 0) {
		size_t n = br_pem_decoder_push(&pem, text, len);
		text += n;
		len -= n;
		switch (br_pem_decoder_event(&pem)) {
		case BR_PEM_BEGIN_OBJ: {
			const char *name = br_pem_decoder_name(&pem);
			pc.in_cert = !strcmp(name, "CERTIFICATE") || !strcmp(name, "X509 CERTIFICATE");
			pc.in_key = !strcmp(name, "RSA PRIVATE KEY") || !strcmp(name, "EC PRIVATE KEY") ||
				    !strcmp(name, "PRIVATE KEY");
			pc.len = 0;
			br_pem_decoder_setdest(&pem, pc.in_cert || pc.in_key ? pem_append : NULL, &pc);
			break;
		}
		case BR_PEM_END_OBJ:
			if (pc.failed) {
				r = err_set(e, ENOMEM, "%s: out of memory", file);
			} else if (pc.in_cert) {
				br_x509_certificate *v = realloc(id->chain, (id->n_chain + 1) * sizeof(*v));
				unsigned char *der = malloc(pc.len ? pc.len : 1);
				if (!v || !der) {
					free(der);
					if (v)
						id->chain = v;
					r = err_set(e, ENOMEM, "%s: out of memory", file);
					break;
				}
				memcpy(der, pc.buf, pc.len);
				id->chain = v;
				v[id->n_chain].data = der;
				v[id->n_chain++].data_len = pc.len;
			} else if (pc.in_key) {
				br_skey_decoder_init(&id->key);
				br_skey_decoder_push(&id->key, pc.buf, pc.len);
				if (br_skey_decoder_last_error(&id->key) != 0)
					r = err_set(e, EINVAL, "%s: the private key cannot be decoded", file);
				else
					id->key_type = br_skey_decoder_key_type(&id->key);
			}
			pc.in_cert = pc.in_key = 0;
			break;
		case BR_PEM_ERROR:
			r = err_set(e, EINVAL, "%s: not PEM", file);
			break;
		default:
			break;
		}
	}
	free(pc.buf);
	return r;
}

static void identity_free(struct tls_identity *id)
{
	for (size_t i = 0; i < id->n_chain; i++)
		free(id->chain[i].data);
	free(id->chain);
	free(id->cert_file);
	free(id->key_file);
	free(id);
}

static int read_pem(const char *file, struct tls_identity *id, struct ember_error *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (fs_read_file(AT_FDCWD, file, PEM_MAX, &text, &len, e) < 0)
		return err_wrap(e, "client certificate");
	return pem_load(id, text, len, file, e);
}

const struct tls_identity *tls_identity_get(struct tls_identity **cache, const char *cert, const char *key,
					    struct ember_error *e)
{
	for (struct tls_identity *id = *cache; id; id = id->next)
		if (!strcmp(id->cert_file, cert) && !strcmp(id->key_file ? id->key_file : "", key ? key : ""))
			return id;

	struct tls_identity *id = calloc(1, sizeof(*id));
	if (!id || !(id->cert_file = strdup(cert)) || (key && !(id->key_file = strdup(key)))) {
		if (id)
			identity_free(id);
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	if (read_pem(cert, id, e) < 0 || (key && read_pem(key, id, e) < 0)) {
		identity_free(id);
		return NULL;
	}
	if (!id->n_chain || !id->key_type) {
		err_set(e, EINVAL, "client certificate %s: needs a certificate and its private key (PEM)%s", cert,
			key ? "" : " in the same file, or a key file");
		identity_free(id);
		return NULL;
	}
	id->next = *cache;
	*cache = id;
	return id;
}

void tls_identities_free(struct tls_identity **cache)
{
	while (*cache) {
		struct tls_identity *id = *cache;
		*cache = id->next;
		identity_free(id);
	}
}

/* ---- IP address subjectAltName ------------------------------------------------- */

/* One DER TLV at *p (within end): tag, and the value's bounds. */
static int der_next(const unsigned char **p, const unsigned char *end, unsigned *tag, const unsigned char **v,
		    size_t *vlen)
{
	const unsigned char *q = *p;

	if (end - q < 2)
		return -1;
	*tag = *q++;
	size_t len = *q++;
	if (len & 0x80) {
		unsigned n = len & 0x7f;
		if (n == 0 || n > 4 || (size_t)(end - q) < n)
			return -1;
		len = 0;
		while (n--)
			len = (len << 8) | *q++;
	}
	if ((size_t)(end - q) < len)
		return -1;
	*v = q;
	*vlen = len;
	*p = q + len;
	return 0;
}

/* Does the certificate (DER) list ip (4 or 16 bytes) among its iPAddress names? */
static int cert_has_ip(const unsigned char *der, size_t len, const unsigned char *ip, size_t iplen)
{
	static const unsigned char san_oid[] = { 0x55, 0x1d, 0x11 };
	const unsigned char *p = der, *end = der + len, *v;
	size_t vlen;
	unsigned tag;

	/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { ... [3] extensions } ... } */
	if (der_next(&p, end, &tag, &v, &vlen) < 0 || tag != 0x30)
		return 0;
	p = v;
	end = v + vlen;
	if (der_next(&p, end, &tag, &v, &vlen) < 0 || tag != 0x30)
		return 0;
	p = v;
	end = v + vlen;
	while (p < end) {
		if (der_next(&p, end, &tag, &v, &vlen) < 0)
			return 0;
		if (tag != 0xa3)
			continue;
		const unsigned char *q = v, *qend = v + vlen;
		if (der_next(&q, qend, &tag, &v, &vlen) < 0 || tag != 0x30)
			return 0;
		q = v;
		qend = v + vlen;
		while (q < qend) { /* each Extension ::= SEQUENCE { OID, [BOOLEAN], OCTET STRING } */
			const unsigned char *x, *xend, *oid, *val;
			size_t xlen, oidlen, vallen;
			if (der_next(&q, qend, &tag, &x, &xlen) < 0 || tag != 0x30)
				return 0;
			xend = x + xlen;
			if (der_next(&x, xend, &tag, &oid, &oidlen) < 0 || tag != 0x06)
				return 0;
			if (oidlen != sizeof(san_oid) || memcmp(oid, san_oid, sizeof(san_oid)))
				continue;
			if (der_next(&x, xend, &tag, &val, &vallen) < 0)
				return 0;
			if (tag == 0x01 && der_next(&x, xend, &tag, &val, &vallen) < 0)
				return 0;
			if (tag != 0x04)
				return 0;
			const unsigned char *g = val, *gend = val + vallen;
			if (der_next(&g, gend, &tag, &v, &vlen) < 0 || tag != 0x30)
				return 0;
			g = v;
			gend = v + vlen;
			while (g < gend) {
				if (der_next(&g, gend, &tag, &v, &vlen) < 0)
					return 0;
				if (tag == 0x87 && vlen == iplen && !memcmp(v, ip, iplen))
					return 1;
			}
			return 0;
		}
	}
	return 0;
}

/* An X.509 engine that runs curl's and also checks the end entity's IP. */
struct tls_ipcheck {
	const br_x509_class *vtable;
	const br_x509_class **inner;
	unsigned char ip[16];
	size_t iplen;
	unsigned depth;
	unsigned char *ee;
	size_t ee_len, ee_cap;
	int oom;
};

static void ip_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct tls_ipcheck *c = (struct tls_ipcheck *)ctx;

	c->depth = 0;
	c->ee_len = 0;
	(*c->inner)->start_chain(c->inner, server_name);
}

static void ip_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct tls_ipcheck *c = (struct tls_ipcheck *)ctx;

	if (c->depth == 0 && length > c->ee_cap) {
		unsigned char *n = realloc(c->ee, length);
		if (n) {
			c->ee = n;
			c->ee_cap = length;
		} else {
			c->oom = 1;
		}
	}
	(*c->inner)->start_cert(c->inner, length);
}

static void ip_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct tls_ipcheck *c = (struct tls_ipcheck *)ctx;

	if (c->depth == 0 && !c->oom && c->ee_len + len <= c->ee_cap) {
		memcpy(c->ee + c->ee_len, buf, len);
		c->ee_len += len;
	}
	(*c->inner)->append(c->inner, buf, len);
}

static void ip_end_cert(const br_x509_class **ctx)
{
	struct tls_ipcheck *c = (struct tls_ipcheck *)ctx;

	c->depth++;
	(*c->inner)->end_cert(c->inner);
}

static unsigned ip_end_chain(const br_x509_class **ctx)
{
	struct tls_ipcheck *c = (struct tls_ipcheck *)ctx;
	unsigned r = (*c->inner)->end_chain(c->inner);

	if (r == 0 && (c->oom || !cert_has_ip(c->ee, c->ee_len, c->ip, c->iplen)))
		r = BR_ERR_X509_BAD_SERVER_NAME;
	return r;
}

static const br_x509_pkey *ip_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct tls_ipcheck *c = (const struct tls_ipcheck *)ctx;
	return (*c->inner)->get_pkey(c->inner, usages);
}

static const br_x509_class ipcheck_vtable = {
	sizeof(struct tls_ipcheck), ip_start_chain, ip_start_cert, ip_append, ip_end_cert, ip_end_chain,
	ip_get_pkey,
};

/* ---- the hook ------------------------------------------------------------------ */

int tls_ip_parse(const char *host, unsigned char ip[16], size_t *len)
{
	char buf[64];
	size_t n = strlen(host);

	if (n >= sizeof(buf))
		return 0;
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
	} else {
		memcpy(buf, host, n + 1);
	}
	if (inet_pton(AF_INET, buf, ip) == 1) {
		*len = 4;
		return 1;
	}
	if (inet_pton(AF_INET6, buf, ip) == 1) {
		*len = 16;
		return 1;
	}
	return 0;
}

struct tls_ipcheck *tls_ipcheck_new(const unsigned char *ip, size_t len)
{
	struct tls_ipcheck *c = calloc(1, sizeof(*c));

	if (c) {
		memcpy(c->ip, ip, len);
		c->iplen = len;
	}
	return c;
}

void tls_ipcheck_free(struct tls_ipcheck *c)
{
	if (c) {
		free(c->ee);
		free(c);
	}
}

int tls_setup(void *sslctx, const struct tls_identity *id, struct tls_ipcheck *ipcheck)
{
	br_ssl_client_context *cc = sslctx;

	/* The hooks' state lives with one request: no renegotiation may use
	   the X.509 engine after the first handshake. */
	br_ssl_engine_add_flags(&cc->eng, BR_OPT_NO_RENEGOTIATION);
	if (id) {
		if (id->key_type == BR_KEYTYPE_RSA)
			br_ssl_client_set_single_rsa(cc, id->chain, id->n_chain, br_skey_decoder_get_rsa(&id->key),
						     br_rsa_pkcs1_sign_get_default());
		else if (id->key_type == BR_KEYTYPE_EC)
			br_ssl_client_set_single_ec(cc, id->chain, id->n_chain, br_skey_decoder_get_ec(&id->key),
						    BR_KEYTYPE_SIGN, BR_KEYTYPE_EC, br_ec_get_default(),
						    br_ecdsa_sign_asn1_get_default());
		else
			return -1;
	}
	if (ipcheck) {
		ipcheck->vtable = &ipcheck_vtable;
		ipcheck->inner = cc->eng.x509ctx;
		br_ssl_engine_set_x509(&cc->eng, &ipcheck->vtable);
	}
	return 0;
}
