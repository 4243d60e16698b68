/* SPDX-License-Identifier: Apache-2.0 */
#include "remote/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/remote-internal.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/err.h"

/*
 * The reference is split from the right, as Docker's grammar reads it:
 * "@digest" after the first '@', ":tag" after the last ':' that follows
 * the last '/', and the rest is the name, whose first component may be a
 * domain. Each piece is checked by hand against its grammar; nothing is
 * allocated until the whole reference is known to be valid.
 */

#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"

/* Longer input cannot be valid: a name (which "index.docker.io/" makes
   longer than normalised), ':' tag, '@' digest (DIGEST_MAX counts the '@'). */
#define REFERENCE_INPUT_MAX \
	(REFERENCE_NAME_MAX + sizeof(LEGACY_DOMAIN) + 1 + REFERENCE_TAG_MAX + DIGEST_MAX)

static bool is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(int c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int bad(struct ember_error *e, const char *s, size_t len, const char *fmt, ...)
	ERR_PRINTF(4, 5);

static int bad(struct ember_error *e, const char *s, size_t len, const char *fmt, ...)
{
	char what[EMBER_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "invalid reference \"%s\": %s",
			    QUOTE_N(s, len), what);
}

/* ---- hosts ---- */

/* One dot-separated label of a host name. */
static bool label_ok(const char *s, size_t len)
{
	if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

size_t remote_host_name_len(const char *s, size_t len)
{
	const char *end;

	if (len > 0 && s[0] == '[') {
		end = memchr(s, ']', len);
		return end ? (size_t)(end - s) + 1 : len;
	}
	end = memchr(s, ':', len);
	return end ? (size_t)(end - s) : len;
}

const char *remote_host_check(const char *s, size_t len)
{
	size_t hlen = remote_host_name_len(s, len);

	if (len == 0)
		return "empty host";
	if (s[0] == '[') {
		char addr[INET6_ADDRSTRLEN];
		unsigned char bin[16];

		if (s[hlen - 1] != ']')
			return "unterminated IPv6 address";
		if (hlen - 2 == 0 || hlen - 2 >= sizeof(addr))
			return "invalid IPv6 address";
		memcpy(addr, s + 1, hlen - 2);
		addr[hlen - 2] = '\0';
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return "invalid IPv6 address";
	} else {
		if (hlen == 0)
			return "empty host name";
		for (size_t i = 0; i < hlen;) {
			const char *dot = memchr(s + i, '.', hlen - i);
			size_t n = dot ? (size_t)(dot - (s + i)) : hlen - i;

			if (!label_ok(s + i, n))
				return "invalid host name (dot-separated letters, digits and '-')";
			i += n + 1;
			if (dot && i == hlen)
				return "invalid host name (dot-separated letters, digits and '-')";
		}
	}
	if (hlen == len)
		return NULL;
	if (s[hlen] != ':')
		return "expected ':' and a port after the IPv6 address";

	const char *port = s + hlen + 1;
	size_t plen = len - hlen - 1;
	unsigned long v = 0;

	if (plen == 0 || plen > 5 || port[0] == '0')
		return "port must be a number from 1 to 65535";
	for (size_t i = 0; i < plen; i++) {
		if (port[i] < '0' || port[i] > '9')
			return "port must be a number from 1 to 65535";
		v = v * 10 + (unsigned long)(port[i] - '0');
	}
	if (v > 65535)
		return "port must be a number from 1 to 65535";
	return NULL;
}

/* ---- pieces ---- */

/* [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static bool component_ok(const char *s, size_t len)
{
	size_t i = 0;

	for (;;) {
		size_t run = 0;

		while (i < len && is_lower_alnum(s[i])) {
			i++;
			run++;
		}
		if (run == 0)
			return false;
		if (i == len)
			return true;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < len && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < len && s[i] == '-')
				i++;
		} else {
			return false;
		}
	}
}

/* [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
static bool tag_ok(const char *s, size_t len)
{
	if (len == 0 || len > REFERENCE_TAG_MAX || !(is_alnum(s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_alnum(s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static int check_path(const char *s, size_t slen, const char *path, size_t len,
		      struct ember_error *e)
{
	if (len == 0)
		return bad(e, s, slen, "repository name is missing");
	if (path[0] == '/')
		return bad(e, s, slen, "repository name must not start with '/'");
	if (path[len - 1] == '/')
		return bad(e, s, slen, "repository name must not end with '/'");
	for (size_t i = 0; i < len;) {
		const char *slash = memchr(path + i, '/', len - i);
		size_t n = slash ? (size_t)(slash - (path + i)) : len - i;

		if (n == 0)
			return bad(e, s, slen, "repository name must not contain '//'");
		if (!component_ok(path + i, n))
			return bad(e, s, slen,
				   "invalid repository name component \"%s\" (lowercase letters and digits, "
				   "separated by '.', '_', '__' or '-')",
				   QUOTE_N(path + i, n));
		i += n + 1;
	}
	return 0;
}

static bool is_domain(const char *s, size_t len)
{
	return memchr(s, '.', len) || memchr(s, ':', len) ||
	       (len == strlen("localhost") && memcmp(s, "localhost", len) == 0);
}

int reference_parse(const char *s, struct reference *ref, struct ember_error *e)
{
	memset(ref, 0, sizeof(*ref));
	if (!s || !*s)
		return bad(e, "", 0, "empty reference");

	size_t n = strlen(s);
	if (n > REFERENCE_INPUT_MAX)
		return bad(e, s, n, "longer than %zu characters", REFERENCE_INPUT_MAX);
	if (strstr(s, "://"))
		return bad(e, s, n, "references have no scheme (write host/path, not a URL)");
	if (n == DIGEST_HEX_LEN && strspn(s, "0123456789abcdef") == n)
		return bad(e, s, n, "64 hexadecimal digits are an image ID, not a reference");

	const char *at = strchr(s, '@');
	size_t name_end = at ? (size_t)(at - s) : n;
	const char *slash = memrchr(s, '/', name_end);
	size_t tail = slash ? (size_t)(slash - s) + 1 : 0;
	const char *colon = memrchr(s + tail, ':', name_end - tail);
	size_t path_end = colon ? (size_t)(colon - s) : name_end;

	/* The domain, if the first component is one. */
	const char *first = memchr(s, '/', path_end);
	size_t dlen = first ? (size_t)(first - s) : 0;
	bool has_domain = first && is_domain(s, dlen);
	const char *path = has_domain ? first + 1 : s;
	size_t plen = path_end - (size_t)(path - s);

	for (size_t i = 0; i < plen; i++)
		if (path[i] >= 'A' && path[i] <= 'Z')
			return bad(e, s, n, "repository name must be lowercase");
	if (check_path(s, n, path, plen, e) < 0)
		return -e->code;
	if (has_domain) {
		const char *why = remote_host_check(s, dlen);

		if (why)
			return bad(e, s, n, "invalid domain \"%s\": %s", QUOTE_N(s, dlen), why);
	}
	if (colon && !tag_ok(colon + 1, name_end - path_end - 1))
		return bad(e, s, n,
			   "invalid tag \"%s\" (up to %d letters, digits, '_', '.' and '-', not starting "
			   "with '.' or '-')",
			   QUOTE_N(colon + 1, name_end - path_end - 1), REFERENCE_TAG_MAX);
	if (at) {
		struct ember_error de;
		int r = digest_check(at + 1, &de);

		if (r < 0) {
			bad(e, s, n, "%s digest \"%s\" (want sha256: and 64 lowercase hex digits)",
			    de.code == ENOTSUP ? "unsupported" : "malformed", QUOTE(at + 1));
			e->code = de.code;
			return -de.code;
		}
	}

	/* Normalise. */
	bool docker = !has_domain || (dlen == strlen(LEGACY_DOMAIN) && !memcmp(s, LEGACY_DOMAIN, dlen)) ||
		      (dlen == strlen(REFERENCE_DEFAULT_DOMAIN) &&
		       !memcmp(s, REFERENCE_DEFAULT_DOMAIN, dlen));
	const char *domain = docker ? REFERENCE_DEFAULT_DOMAIN : s;
	size_t domain_len = docker ? strlen(REFERENCE_DEFAULT_DOMAIN) : dlen;
	bool official = docker && !memchr(path, '/', plen);
	size_t prefix = official ? strlen(OFFICIAL_PREFIX) : 0;

	if (domain_len + 1 + prefix + plen > REFERENCE_NAME_MAX)
		return bad(e, s, n, "name is longer than %d characters", REFERENCE_NAME_MAX);

	_cleanup_(reference_done) struct reference r = { 0 };

	r.domain = strndup(domain, domain_len);
	r.path = malloc(prefix + plen + 1);
	if (r.path) {
		memcpy(r.path, OFFICIAL_PREFIX, prefix);
		memcpy(r.path + prefix, path, plen);
		r.path[prefix + plen] = '\0';
	}
	if (colon)
		r.tag = strndup(colon + 1, name_end - path_end - 1);
	else if (!at)
		r.tag = strdup(REFERENCE_DEFAULT_TAG);
	if (at)
		r.digest = strdup(at + 1);
	if (!r.domain || !r.path || (!r.tag && (colon || !at)) || (!r.digest && at))
		return err_set(e, ENOMEM, "parse reference: out of memory");
	*ref = r;
	memset(&r, 0, sizeof(r));
	return 0;
}

char *reference_name(const struct reference *ref)
{
	char *s;

	if (asprintf(&s, "%s/%s", ref->domain, ref->path) < 0)
		return NULL;
	return s;
}

char *reference_string(const struct reference *ref)
{
	char *s;

	if (asprintf(&s, "%s/%s%s%s%s%s", ref->domain, ref->path, ref->tag ? ":" : "",
		     ref->tag ? ref->tag : "", ref->digest ? "@" : "", ref->digest ? ref->digest : "") < 0)
		return NULL;
	return s;
}

int reference_registry_host(const struct reference *ref, char **host)
{
	*host = NULL;
	if (!ref || !ref->domain)
		return -EINVAL;
	*host = strdup(strcmp(ref->domain, REFERENCE_DEFAULT_DOMAIN) ? ref->domain
								       : REFERENCE_DOCKER_REGISTRY);
	return *host ? 0 : -ENOMEM;
}

void reference_done(struct reference *ref)
{
	if (!ref)
		return;
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}
