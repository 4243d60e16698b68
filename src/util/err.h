/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_ERR_H
#define EMBER_UTIL_ERR_H

#include <errno.h>

#include <ember/error.h>

/*
 * Helpers for struct ember_error. The rule: a function fills *e if and only
 * if it returns < 0, and it returns -e->code.
 */

#define ERR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Set e to (code, message); returns -code. code must be > 0. */
int err_set(struct ember_error *e, int code, const char *fmt, ...) ERR_PRINTF(3, 4);

/* Like err_set, and give the error a stable API name. */
int err_set_name(struct ember_error *e, const char *name, int code, const char *fmt, ...)
	ERR_PRINTF(4, 5);

/* An io.ember.InvalidArgument error: what the caller was given is wrong
   (EINVAL), or asks for what ember does not do (ENOTSUP). */
#define err_invalid(e, ...) err_set_name((e), EMBER_ERROR_INVALID_ARGUMENT, EINVAL, __VA_ARGS__)
#define err_unsupported(e, ...) err_set_name((e), EMBER_ERROR_INVALID_ARGUMENT, ENOTSUP, __VA_ARGS__)

/* Input-derived text for a message: at most 80 characters, anything but
   printable ASCII (and '"', '\\') as '?', "..." when cut. Returns buf. */
#define ERR_QUOTE_MAX 84
const char *err_quote(const char *s, char buf[ERR_QUOTE_MAX]);

/* Like err_set, appending ": strerror(code)" to the message. */
int err_sys(struct ember_error *e, int code, const char *fmt, ...) ERR_PRINTF(3, 4);

/* Prepend "context: " to the message; keeps code and name; returns -code. */
int err_wrap(struct ember_error *e, const char *fmt, ...) ERR_PRINTF(2, 3);

/* Reset to "no error". */
void err_clear(struct ember_error *e);

/* The API name for e: its own name, or one derived from its errno. */
const char *err_api_name(const struct ember_error *e);

/* The errno that best matches a varlink error name (EIO when unknown). */
int err_code_from_name(const char *name);

#endif
