/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_BASE64_H
#define EMBER_UTIL_BASE64_H

/* Base64 with the standard alphabet (RFC 4648 §4), as HTTP Basic
   authentication and docker config.json use it. */

#include <stddef.h>

#include <ember/error.h>

/* Padded encoding of len bytes; the caller frees it. NULL when out of
   memory. */
char *base64_encode(const void *data, size_t len);

/*
 * Decode len characters of s. Padding may be present ("YQ==") or left out
 * ("YQ"); whitespace, '=' before the end and characters outside the
 * alphabet are errors (io.ember.InvalidArgument naming the offset, never
 * the data: it often holds credentials). On success *out is a new buffer
 * of *outlen bytes followed by a NUL the length does not count.
 */
int base64_decode(const char *s, size_t len, unsigned char **out, size_t *outlen, struct ember_error *e);

#endif
