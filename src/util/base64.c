/* SPDX-License-Identifier: Apache-2.0 */
#include "util/base64.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/err.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t olen, o = 0, i = 0;
	char *out;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
		return NULL;
	olen = (len + 2) / 3 * 4;
	out = malloc(olen + 1);
	if (!out)
		return NULL;
	for (; len - i >= 3; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i > 0) {
		uint32_t v = (uint32_t)in[i] << 16 | (len - i > 1 ? (uint32_t)in[i + 1] << 8 : 0);

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = len - i > 1 ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

static int value_of(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int invalid(struct ember_error *e, const char *what, size_t at)
{
	return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "invalid base64: %s at offset %zu",
			    what, at);
}

int base64_decode(const char *s, size_t len, unsigned char **out, size_t *outlen, struct ember_error *e)
{
	size_t n = len, pad = 0, o = 0;
	uint32_t acc = 0;
	unsigned char *buf;

	*out = NULL;
	*outlen = 0;
	if (!s && len)
		return invalid(e, "no input", 0);
	while (n > 0 && pad < 2 && s[n - 1] == '=') {
		n--;
		pad++;
	}
	for (size_t i = 0; i < n; i++)
		if (value_of((unsigned char)s[i]) < 0)
			return invalid(e, s[i] == '=' ? "'=' before the end"
						       : "character outside the alphabet", i);
	if (pad && len % 4)
		return invalid(e, "padding that does not end a group of four", len - pad);
	if (n % 4 == 1)
		return invalid(e, "a lone character", n - 1);
	buf = malloc(n / 4 * 3 + 3);
	if (!buf)
		return err_set(e, ENOMEM, "base64: out of memory");
	for (size_t i = 0; i < n; i++) {
		acc = acc << 6 | (uint32_t)value_of((unsigned char)s[i]);
		if (i % 4 == 3) {
			buf[o++] = (unsigned char)(acc >> 16);
			buf[o++] = (unsigned char)(acc >> 8);
			buf[o++] = (unsigned char)acc;
			acc = 0;
		}
	}
	/* The bits left over after the last full byte are ignored. */
	if (n % 4 == 2) {
		buf[o++] = (unsigned char)(acc >> 4);
	} else if (n % 4 == 3) {
		buf[o++] = (unsigned char)(acc >> 10);
		buf[o++] = (unsigned char)(acc >> 2);
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
}
