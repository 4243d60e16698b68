/* SPDX-License-Identifier: Apache-2.0 */
#include "util/digest.h"

#include <errno.h>
#include <string.h>

#include "util/err.h"

void digest_init(struct digester *d)
{
	br_sha256_init(&d->ctx);
	d->bytes = 0;
}

void digest_update(struct digester *d, const void *data, size_t len)
{
	br_sha256_update(&d->ctx, data, len);
	d->bytes += len;
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

	if (!colon || colon == s)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "malformed digest \"%.80s\"",
				    s ? s : "");
	/* The OCI grammar: algorithm [a-z0-9]+ ([+._-][a-z0-9]+)* */
	if ((size_t)(colon - s) != sizeof(DIGEST_ALGO) - 1 || memcmp(s, DIGEST_ALGO, colon - s)) {
		for (const char *p = s; p < colon; p++)
			if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789+._-", *p))
				return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
						    "malformed digest \"%.80s\"", s);
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, ENOTSUP,
				    "unsupported digest algorithm \"%.*s\" (only sha256)", (int)(colon - s), s);
	}
	const char *h = colon + 1;
	size_t n = strlen(h);
	if (n != DIGEST_HEX_LEN || strspn(h, "0123456789abcdef") != n)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
				    "malformed digest \"%.80s\" (want sha256: and 64 lowercase hex digits)", s);
	return 0;
}
