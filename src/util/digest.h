/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_DIGEST_H
#define EMBER_UTIL_DIGEST_H

/*
 * OCI content digests. Only sha256 is supported (it is what every registry
 * and image tool writes); BearSSL does the hashing, with the CPU's SHA
 * instructions for whole blocks where x86_64 has them.
 */

#include <stddef.h>
#include <stdint.h>
#include <bearssl_hash.h>

#include <ember/error.h>

#define DIGEST_ALGO "sha256"
#define DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define DIGEST_MAX (sizeof(DIGEST_ALGO ":") + DIGEST_HEX_LEN)

struct digester {
	br_sha256_context ctx;
	uint64_t bytes;
	int fast; /* x86_64 with SHA-NI: whole blocks bypass BearSSL */
};

void digest_init(struct digester *d);
void digest_update(struct digester *d, const void *data, size_t len);
/* Writes "sha256:<hex>"; the digester may be updated further afterwards. */
void digest_final(const struct digester *d, char out[DIGEST_MAX]);

/* The digest of a buffer. */
void digest_buffer(const void *data, size_t len, char out[DIGEST_MAX]);

/* s is "sha256:" followed by exactly 64 lowercase hex digits. Other
   algorithms get "unsupported digest algorithm"; everything else "malformed
   digest". Errors are io.ember.InvalidArgument. */
int digest_check(const char *s, struct ember_error *e);

/* The hex part of a checked digest. */
static inline const char *digest_hex(const char *digest)
{
	return digest + sizeof(DIGEST_ALGO);
}

#endif
