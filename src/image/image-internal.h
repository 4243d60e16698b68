/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_IMAGE_INTERNAL_H
#define EMBER_IMAGE_INTERNAL_H

/* Shared by the files of src/image/ only. */

#include <stddef.h>

#include <ember/error.h>

/* Input-derived text for a message: at most 80 characters, anything but
   printable ASCII (and '"', '\\') as '?', "..." when cut. Returns buf. */
#define IMAGE_QUOTE_MAX 84
const char *image_quote(const char *s, char buf[IMAGE_QUOTE_MAX]);

/* A platform field: 1 .. max-1 characters of [A-Za-z0-9._-]. what names
   it in the message ("manifests[3].platform.os"). */
int image_platform_field_check(const char *what, const char *s, size_t max, struct ember_error *e);

/* Set an io.ember.InvalidArgument error, EINVAL or ENOTSUP. */
int image_bad(struct ember_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int image_unsupported(struct ember_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
