/* SPDX-License-Identifier: Apache-2.0 */
#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void set_message(struct ember_error *e, const char *fmt, va_list ap)
{
	int n = vsnprintf(e->message, sizeof(e->message), fmt, ap);
	if (n < 0)
		e->message[0] = '\0';
}

static int err_setv(struct ember_error *e, const char *name, int code, const char *fmt, va_list ap)
{
	if (code <= 0)
		code = EIO; /* a caller's bug, but still an error */
	e->code = code;
	snprintf(e->name, sizeof(e->name), "%s", name ? name : "");
	set_message(e, fmt, ap);
	return -code;
}

int err_set(struct ember_error *e, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = err_setv(e, NULL, code, fmt, ap);
	va_end(ap);
	return r;
}

int err_set_name(struct ember_error *e, const char *name, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = err_setv(e, name, code, fmt, ap);
	va_end(ap);
	return r;
}

int err_sys(struct ember_error *e, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = err_setv(e, NULL, code, fmt, ap);
	va_end(ap);
	size_t len = strlen(e->message);
	snprintf(e->message + len, sizeof(e->message) - len, ": %s", strerror(-r));
	return r;
}

int err_wrap(struct ember_error *e, const char *fmt, ...)
{
	char prefix[sizeof(e->message)];
	char old[sizeof(e->message)];
	va_list ap;

	if (e->code <= 0)
		e->code = EIO;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->message, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	/* Truncation keeps the outermost context, which names the operation. */
	if (snprintf(e->message, sizeof(e->message), "%s: %s", prefix, old) < 0)
		e->message[0] = '\0';
	return -e->code;
}

void err_clear(struct ember_error *e)
{
	e->code = 0;
	e->name[0] = '\0';
	e->message[0] = '\0';
}

static const struct {
	int code;
	const char *name;
} errno_names[] = {
	{ ENOENT, EMBER_ERROR_NOT_FOUND },
	{ EEXIST, EMBER_ERROR_ALREADY_EXISTS },
	{ EINVAL, EMBER_ERROR_INVALID_ARGUMENT },
	{ ENOTEMPTY, EMBER_ERROR_FAILED_PRECONDITION },
	{ EBUSY, EMBER_ERROR_FAILED_PRECONDITION },
	{ EPERM, EMBER_ERROR_PERMISSION_DENIED },
	{ EACCES, EMBER_ERROR_PERMISSION_DENIED },
	{ ENOSPC, EMBER_ERROR_RESOURCE_EXHAUSTED },
	{ EMFILE, EMBER_ERROR_RESOURCE_EXHAUSTED },
	{ ENOMEM, EMBER_ERROR_RESOURCE_EXHAUSTED },
	{ E2BIG, EMBER_ERROR_RESOURCE_EXHAUSTED },
	{ EMSGSIZE, EMBER_ERROR_RESOURCE_EXHAUSTED },
	{ EAGAIN, EMBER_ERROR_UNAVAILABLE },
	{ ECONNREFUSED, EMBER_ERROR_UNAVAILABLE },
	{ ECANCELED, EMBER_ERROR_CANCELED },
	{ EOPNOTSUPP, EMBER_VARLINK_METHOD_NOT_IMPLEMENTED },
};

const char *err_api_name(const struct ember_error *e)
{
	if (e->name[0])
		return e->name;
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].code == e->code)
			return errno_names[i].name;
	return EMBER_ERROR_INTERNAL;
}

int err_code_from_name(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} extra[] = {
		{ EMBER_VARLINK_INTERFACE_NOT_FOUND, ENOENT },
		{ EMBER_VARLINK_METHOD_NOT_FOUND, ENOENT },
		{ EMBER_VARLINK_INVALID_PARAMETER, EINVAL },
		{ EMBER_VARLINK_PERMISSION_DENIED, EACCES },
		{ EMBER_VARLINK_EXPECTED_MORE, EINVAL },
	};

	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (strcmp(extra[i].name, name) == 0)
			return extra[i].code;
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (strcmp(errno_names[i].name, name) == 0)
			return errno_names[i].code;
	return EIO;
}

const char *err_quote(const char *s, char buf[ERR_QUOTE_MAX])
{
	size_t n = 0;

	for (; s && *s && n < ERR_QUOTE_MAX - 4; s++) {
		unsigned char c = (unsigned char)*s;
		buf[n++] = c < 0x20 || c > 0x7e || c == '"' || c == '\\' ? '?' : (char)c;
	}
	if (s && *s) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}
