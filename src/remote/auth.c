/* SPDX-License-Identifier: Apache-2.0 */
#include "remote/parse.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "remote/remote-internal.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/err.h"

#define _cleanup_json_ _cleanup_(json_decrefp)

/* ---- WWW-Authenticate ---- */

/*
 * RFC 7235 §4.1 with RFC 7230's list rule:
 *
 *   header    = 1#challenge
 *   challenge = scheme [ 1*SP ( token68 / #( name BWS "=" BWS ( token / quoted-string ) ) ) ]
 *
 * A comma ends either a parameter or a challenge; what follows tells them
 * apart: "name =" starts a parameter, anything else a new challenge. Values
 * without quotes are taken up to a comma or space even where RFC tokens
 * would stop (some registries send realm=https://… unquoted).
 */

struct hdr {
	const char *s;
	size_t i;
	struct ember_error *e;
};

static int hdr_fail(struct hdr *h, const char *fmt, ...) ERR_PRINTF(2, 3);

static int hdr_fail(struct hdr *h, const char *fmt, ...)
{
	char what[EMBER_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set_name(h->e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
			    "invalid WWW-Authenticate header \"%s\": %s", QUOTE(h->s), what);
}

static bool is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token68(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-._~+/", c));
}

static bool is_ows(int c)
{
	return c == ' ' || c == '\t';
}

static size_t skip_ows(const char *s, size_t i)
{
	while (is_ows(s[i]))
		i++;
	return i;
}

static size_t token_end(const char *s, size_t i)
{
	while (is_tchar((unsigned char)s[i]))
		i++;
	return i;
}

/* What is at s[i], for a message. */
static const char *found(const char *s, size_t i, char buf[16])
{
	unsigned char c = (unsigned char)s[i];

	if (!c)
		return "the end";
	if (c > 0x20 && c < 0x7f && c != '\'')
		snprintf(buf, 16, "'%c'", c);
	else
		snprintf(buf, 16, "byte 0x%02x", c);
	return buf;
}

/* A quoted-string at h->i into a new string *out. */
static int quoted(struct hdr *h, char **out)
{
	const char *s = h->s;
	size_t i = h->i + 1, o = 0;
	_cleanup_free_ char *v = malloc(strlen(s + i) + 1);

	if (!v)
		return err_set(h->e, ENOMEM, "WWW-Authenticate: out of memory");
	for (;;) {
		unsigned char c = (unsigned char)s[i];

		if (!c)
			return hdr_fail(h, "unterminated quoted string at offset %zu", h->i);
		if (c == '"')
			break;
		if (c == '\\') {
			c = (unsigned char)s[++i];
			if (!c)
				return hdr_fail(h, "unterminated quoted string at offset %zu", h->i);
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return hdr_fail(h, "control character in a quoted string at offset %zu", i);
		v[o++] = (char)c;
		i++;
	}
	v[o] = '\0';
	h->i = i + 1;
	*out = TAKE_PTR(v);
	return 0;
}

/* An unquoted value: up to a comma, a space or the end. */
static int bare(struct hdr *h, const char *name, size_t nlen, char **out)
{
	const char *s = h->s;
	size_t i = h->i;
	char d[16];

	while (s[i] && s[i] != ',' && !is_ows(s[i])) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '"')
			return hdr_fail(h, "%s in the value of parameter \"%s\"", found(s, i, d),
					QUOTE_N(name, nlen));
		i++;
	}
	if (i == h->i)
		return hdr_fail(h, "parameter \"%s\" has no value", QUOTE_N(name, nlen));
	*out = strndup(s + h->i, i - h->i);
	if (!*out)
		return err_set(h->e, ENOMEM, "WWW-Authenticate: out of memory");
	h->i = i;
	return 0;
}

static char **param_slot(struct auth_challenge *c, const char *name, size_t len)
{
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
		{ "realm", offsetof(struct auth_challenge, realm) },
		{ "service", offsetof(struct auth_challenge, service) },
		{ "scope", offsetof(struct auth_challenge, scope) },
		{ "error", offsetof(struct auth_challenge, error) },
	};

	for (size_t k = 0; k < ARRAY_SIZE(known); k++)
		if (strlen(known[k].name) == len && !strncasecmp(known[k].name, name, len))
			return (char **)((char *)c + known[k].off);
	return NULL;
}

/* Does a token68 (then OWS) run from i to the end of this list element? */
static bool token68_here(const char *s, size_t i)
{
	size_t j = i;

	while (is_token68((unsigned char)s[j]))
		j++;
	if (j == i)
		return false;
	while (s[j] == '=')
		j++;
	j = skip_ows(s, j);
	return !s[j] || s[j] == ',';
}

/* Parameters of one challenge, h->i just after the scheme and its space. */
static int params(struct hdr *h, struct auth_challenge *c)
{
	const char *s = h->s;
	char d[16];

	for (;;) {
		size_t name = h->i, nend = token_end(s, name);
		char *value = NULL, **slot;
		int r;

		if (nend == name)
			return hdr_fail(h, "expected a parameter name at offset %zu, found %s", name,
					found(s, name, d));
		h->i = skip_ows(s, nend);
		if (s[h->i] != '=')
			return hdr_fail(h, "expected '=' after parameter \"%s\", found %s",
					QUOTE_N(s + name, nend - name), found(s, h->i, d));
		h->i = skip_ows(s, h->i + 1);
		if (s[h->i] == '"')
			r = quoted(h, &value);
		else
			r = bare(h, s + name, nend - name, &value);
		if (r < 0)
			return r;
		slot = param_slot(c, s + name, nend - name);
		if (slot && *slot) {
			free(value);
			return hdr_fail(h, "parameter \"%s\" given twice", QUOTE_N(s + name, nend - name));
		}
		if (slot)
			*slot = value;
		else
			free(value);

		h->i = skip_ows(s, h->i);
		if (!s[h->i])
			return 0;
		if (s[h->i] != ',')
			return hdr_fail(h, "expected ',' after parameter \"%s\", found %s",
					QUOTE_N(s + name, nend - name), found(s, h->i, d));
		while (s[h->i] == ',' || is_ows(s[h->i]))
			h->i++;
		if (!s[h->i])
			return 0;
		/* "name =" goes on with this challenge; anything else starts the next. */
		size_t j = skip_ows(s, token_end(s, h->i));
		if (s[j] != '=' || j == h->i)
			return 0;
	}
}

static int challenge(struct hdr *h, struct auth_challenge *c)
{
	const char *s = h->s;
	size_t start = h->i, end = token_end(s, start);
	char d[16];

	if (end == start)
		return hdr_fail(h, "expected an authentication scheme at offset %zu, found %s", start,
				found(s, start, d));
	c->scheme = strndup(s + start, end - start);
	if (!c->scheme)
		return err_set(h->e, ENOMEM, "WWW-Authenticate: out of memory");
	for (char *q = c->scheme; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	h->i = skip_ows(s, end);
	if (!s[h->i])
		return 0;
	if (s[h->i] == ',') {
		/* Empty list elements before the first parameter: "Bearer , realm=…". */
		while (s[h->i] == ',' || is_ows(s[h->i]))
			h->i++;
		size_t j = skip_ows(s, token_end(s, h->i));
		return s[j] == '=' && j > h->i ? params(h, c) : 0;
	}
	if (h->i == end)
		return hdr_fail(h, "expected a space after the scheme \"%s\", found %s",
				QUOTE_N(s + start, end - start), found(s, h->i, d));
	if (token68_here(s, h->i)) {
		/* Neither Basic nor Bearer uses one: skip it. */
		while (s[h->i] && s[h->i] != ',')
			h->i++;
		return 0;
	}
	return params(h, c);
}

void auth_challenge_done(struct auth_challenge *c)
{
	if (!c)
		return;
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	memset(c, 0, sizeof(*c));
}

static bool is_http_url(const char *s)
{
	return !strncasecmp(s, "https://", 8) || !strncasecmp(s, "http://", 7);
}

int auth_challenge_parse(const char *header, struct auth_challenge *c, struct ember_error *e)
{
	_cleanup_(auth_challenge_done) struct auth_challenge bearer = { 0 }, basic = { 0 };
	struct hdr h = { .s = header ? header : "", .e = e };

	memset(c, 0, sizeof(*c));
	if (!h.s[0])
		return hdr_fail(&h, "empty");
	if (strlen(h.s) > AUTH_HEADER_MAX)
		return hdr_fail(&h, "longer than %d bytes", AUTH_HEADER_MAX);
	for (;;) {
		_cleanup_(auth_challenge_done) struct auth_challenge cur = { 0 };

		while (h.s[h.i] == ',' || is_ows(h.s[h.i]))
			h.i++;
		if (!h.s[h.i])
			break;
		if (challenge(&h, &cur) < 0)
			return -e->code;
		if (!strcmp(cur.scheme, "bearer") && !bearer.scheme) {
			bearer = cur;
			memset(&cur, 0, sizeof(cur));
		} else if (!strcmp(cur.scheme, "basic") && !basic.scheme) {
			basic = cur;
			memset(&cur, 0, sizeof(cur));
		}
	}
	if (bearer.scheme) {
		if (!bearer.realm)
			return hdr_fail(&h, "the Bearer challenge has no realm");
		if (!is_http_url(bearer.realm))
			return hdr_fail(&h, "the Bearer realm \"%s\" is not an http(s) URL",
					QUOTE(bearer.realm));
		*c = bearer;
		memset(&bearer, 0, sizeof(bearer));
		return 0;
	}
	if (basic.scheme) {
		*c = basic;
		memset(&basic, 0, sizeof(basic));
		return 0;
	}
	hdr_fail(&h, "no Basic or Bearer challenge");
	e->code = ENOTSUP;
	return -ENOTSUP;
}

/* ---- docker config.json ---- */

static int cfg_fail(struct ember_error *e, const char *fmt, ...) ERR_PRINTF(2, 3);

static int cfg_fail(struct ember_error *e, const char *fmt, ...)
{
	char what[EMBER_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "docker config: %s", what);
}

/* jansson's message without its "near '<input>'" part, which may hold a
   piece of a credential. */
static const char *json_reason(json_error_t *jerr)
{
	char *near = strstr(jerr->text, " near ");

	if (near)
		*near = '\0';
	for (char *q = jerr->text; *q; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
			*q = '?';
	return jerr->text;
}

static bool is_docker_hub(const char *host, size_t len)
{
	static const char *const names[] = { REFERENCE_DEFAULT_DOMAIN, "index.docker.io",
					     REFERENCE_DOCKER_REGISTRY };

	for (size_t k = 0; k < ARRAY_SIZE(names); k++)
		if (strlen(names[k]) == len && !strncasecmp(names[k], host, len))
			return true;
	return false;
}

/* The host of a config.json key: no scheme, nothing from the first '/'. */
static const char *key_host(const char *key, size_t *len)
{
	if (!strncasecmp(key, "https://", 8))
		key += 8;
	else if (!strncasecmp(key, "http://", 7))
		key += 7;
	*len = strcspn(key, "/");
	return key;
}

static bool key_matches(const char *key, const char *host, bool exact)
{
	size_t hlen = strlen(host), klen;
	const char *kh;

	if (exact)
		return !strcmp(key, host) ||
		       (is_docker_hub(host, hlen) && !strcmp(key, "https://index.docker.io/v1/"));
	kh = key_host(key, &klen);
	if (klen == hlen && !strncasecmp(kh, host, hlen))
		return true;
	return is_docker_hub(host, hlen) && is_docker_hub(kh, klen);
}

/* A string member of an entry: NULL when absent, an error when not a string. */
static int member(const json_t *entry, const char *name, const char *key, const char **out,
		  struct ember_error *e)
{
	const json_t *v = json_object_get(entry, name);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return cfg_fail(e, "\"%s\" of \"%s\" is not a string", name, QUOTE(key));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return cfg_fail(e, "\"%s\" of \"%s\" holds a NUL byte", name, QUOTE(key));
	*out = json_string_value(v);
	return 0;
}

static int set_pair(const char *u, size_t ulen, const char *p, char **user, char **secret,
		    struct ember_error *e)
{
	*user = strndup(u, ulen);
	*secret = strdup(p);
	if (!*user || !*secret) {
		free(*user);
		free(*secret);
		*user = *secret = NULL;
		return err_set(e, ENOMEM, "docker config: out of memory");
	}
	return 0;
}

static int entry_credentials(const json_t *entry, const char *key, char **user, char **secret,
			     struct ember_error *e)
{
	const char *token, *auth, *username, *password;

	if (!json_is_object(entry))
		return cfg_fail(e, "the entry for \"%s\" is not an object", QUOTE(key));
	if (member(entry, "identitytoken", key, &token, e) < 0 ||
	    member(entry, "auth", key, &auth, e) < 0 || member(entry, "username", key, &username, e) < 0 ||
	    member(entry, "password", key, &password, e) < 0)
		return -e->code;
	if (token && *token)
		return set_pair("", 0, token, user, secret, e);
	if (auth && *auth) {
		_cleanup_free_ unsigned char *plain = NULL;
		size_t n;
		char *colon;

		if (base64_decode(auth, strlen(auth), &plain, &n, e) < 0)
			return err_wrap(e, "docker config: \"auth\" of \"%s\"", QUOTE(key));
		if (strlen((char *)plain) != n)
			return cfg_fail(e, "\"auth\" of \"%s\" holds a NUL byte", QUOTE(key));
		colon = strchr((char *)plain, ':');
		if (!colon)
			return cfg_fail(e, "\"auth\" of \"%s\" is not base64 of user:password", QUOTE(key));
		if (colon == (char *)plain)
			return cfg_fail(e, "\"auth\" of \"%s\" has an empty user name", QUOTE(key));
		int r = set_pair((char *)plain, (size_t)(colon - (char *)plain), colon + 1, user, secret, e);
		explicit_bzero(plain, n);
		return r;
	}
	if (username && *username)
		return set_pair(username, strlen(username), password ? password : "", user, secret, e);
	return 1;
}

int auth_dockercfg_lookup(const char *json, size_t len, const char *host, char **user, char **secret,
			  struct ember_error *e)
{
	json_error_t jerr;
	const json_t *auths, *entry;
	const char *key;

	*user = *secret = NULL;
	if (!host || !*host)
		return cfg_fail(e, "no registry host to look up");
	if (!json && len)
		return cfg_fail(e, "no input");
	if (len > AUTH_DOCKERCFG_MAX)
		return cfg_fail(e, "larger than %d bytes", AUTH_DOCKERCFG_MAX);

	_cleanup_json_ json_t *doc = json_loadb(json ? json : "", len, 0, &jerr);
	if (!doc)
		return cfg_fail(e, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
				json_reason(&jerr));
	if (!json_is_object(doc))
		return cfg_fail(e, "the top level is not an object");
	auths = json_object_get(doc, "auths");
	if (!auths || json_is_null(auths))
		return 1;
	if (!json_is_object(auths))
		return cfg_fail(e, "\"auths\" is not an object");
	for (int exact = 1; exact >= 0; exact--)
		json_object_foreach((json_t *)auths, key, entry)
			if (key_matches(key, host, exact))
				return entry_credentials(entry, key, user, secret, e);
	return 1;
}

/* ---- token responses ---- */

static int tok_fail(struct ember_error *e, const char *fmt, ...) ERR_PRINTF(2, 3);

static int tok_fail(struct ember_error *e, const char *fmt, ...)
{
	char what[EMBER_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "token response: %s", what);
}

static int token_member(const json_t *doc, const char *name, const json_t **out, struct ember_error *e)
{
	const json_t *v = json_object_get(doc, name);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return tok_fail(e, "\"%s\" is not a string", name);
	*out = json_string_length(v) ? v : NULL;
	return 0;
}

int auth_token_parse(const char *json, size_t len, char **token, long *expires_in, struct ember_error *e)
{
	const json_t *tok, *access, *exp;
	json_error_t jerr;
	long expires = AUTH_TOKEN_DEFAULT_EXPIRES;

	*token = NULL;
	if (!json && len)
		return tok_fail(e, "no input");
	/* A token may be 64 KiB; allow some room for the rest. */
	if (len > 2 * AUTH_TOKEN_MAX)
		return tok_fail(e, "larger than %d bytes", 2 * AUTH_TOKEN_MAX);

	_cleanup_json_ json_t *doc = json_loadb(json ? json : "", len, 0, &jerr);
	if (!doc)
		return tok_fail(e, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
				json_reason(&jerr));
	if (!json_is_object(doc))
		return tok_fail(e, "not a JSON object");
	if (token_member(doc, "token", &tok, e) < 0 || token_member(doc, "access_token", &access, e) < 0)
		return -e->code;
	if (!tok)
		tok = access;
	if (!tok)
		return tok_fail(e, "no \"token\" or \"access_token\"");
	if (json_string_length(tok) > AUTH_TOKEN_MAX)
		return tok_fail(e, "the token is longer than %d bytes", AUTH_TOKEN_MAX);
	/* It goes into an Authorization header as it is. */
	for (size_t i = 0; i < json_string_length(tok); i++) {
		unsigned char c = (unsigned char)json_string_value(tok)[i];

		if (c <= 0x20 || c >= 0x7f)
			return tok_fail(e, "the token holds a byte that cannot go in an HTTP header");
	}

	exp = json_object_get(doc, "expires_in");
	if (exp && !json_is_null(exp)) {
		double d;

		if (!json_is_number(exp))
			return tok_fail(e, "\"expires_in\" is not a number");
		d = json_number_value(exp);
		if (isnan(d))
			return tok_fail(e, "\"expires_in\" is not a number");
		if (d > (double)AUTH_TOKEN_MAX_EXPIRES)
			expires = AUTH_TOKEN_MAX_EXPIRES;
		else if (d > AUTH_TOKEN_DEFAULT_EXPIRES)
			expires = (long)d;
	}
	*token = strdup(json_string_value(tok));
	if (!*token)
		return err_set(e, ENOMEM, "token response: out of memory");
	if (expires_in)
		*expires_in = expires;
	return 0;
}
