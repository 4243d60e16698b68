/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_REMOTE_TLS_H
#define EMBER_REMOTE_TLS_H

/* Private to src/remote/: BearSSL additions to curl's backend (tls-bearssl.c). */

#include <stddef.h>

#include <ember/error.h>

struct tls_identity;
struct tls_ipcheck;

/* A client certificate chain and key from PEM files (key NULL: in the
   certificate file), loaded once per engine and kept in *cache. */
const struct tls_identity *tls_identity_get(struct tls_identity **cache, const char *cert, const char *key,
					    struct ember_error *e);
void tls_identities_free(struct tls_identity **cache);

/* host ("1.2.3.4", "[::1]") as an address: 1 and the bytes, or 0. */
int tls_ip_parse(const char *host, unsigned char ip[16], size_t *len);
struct tls_ipcheck *tls_ipcheck_new(const unsigned char *ip, size_t len);
void tls_ipcheck_free(struct tls_ipcheck *c);

/* From curl's SSL context hook: the br_ssl_client_context, and what to add. */
int tls_setup(void *sslctx, const struct tls_identity *id, struct tls_ipcheck *ipcheck);

#endif
