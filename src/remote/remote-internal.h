/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_REMOTE_INTERNAL_H
#define EMBER_REMOTE_INTERNAL_H

/* Shared by the files of src/remote/; not for other components. */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Input bytes quoted in a message, and the buffer that holds them. */
#define QUOTE_INPUT_MAX 64
#define QUOTE_BUF (QUOTE_INPUT_MAX * 4 + 4)

/*
 * s (len bytes) for a message: printable ASCII as is, '"' and '\\'
 * escaped, every other byte as \xHH, cut after QUOTE_INPUT_MAX bytes with
 * "...". The result is one line of ASCII whatever the input, so messages
 * stay valid UTF-8 for the API's JSON.
 */
static inline const char *quote_n(char buf[QUOTE_BUF], const char *s, size_t len)
{
	size_t o = 0;

	if (!s)
		len = 0;
	for (size_t i = 0; i < len && i < QUOTE_INPUT_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			buf[o++] = (char)c;
		} else {
			snprintf(buf + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	if (len > QUOTE_INPUT_MAX) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* quote_n() of a C string, in a buffer that lives until the end of the
   enclosing block (use it in the argument list of one call). */
#define QUOTE(s) quote_n((char[QUOTE_BUF]){ 0 }, (s), (s) ? strlen(s) : 0)
#define QUOTE_N(s, n) quote_n((char[QUOTE_BUF]){ 0 }, (s), (n))

/*
 * Check a registry host, "name[:port]" or "[ipv6][:port]" (len bytes):
 * name is dot-separated [A-Za-z0-9] ([A-Za-z0-9-]* [A-Za-z0-9]) labels, the
 * port 1..65535 without leading zeros. Returns NULL when valid, else what
 * is wrong ("invalid port", ...). Defined in reference.c.
 */
const char *remote_host_check(const char *s, size_t len);

/* Length of the port-less host part of a checked host. */
size_t remote_host_name_len(const char *s, size_t len);

/* registry.c: the TLS settings of a host, for http_start(). */
struct registry_host;
struct http_tls;
void registry_host_tls(const struct registry_host *h, struct http_tls *tls);
/* registry.c: percent-encode for a URL query value (malloc'd). */
char *url_escape(const char *s);

#endif
