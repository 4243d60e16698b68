/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: what registries and users send for authentication. The same
 * input goes to the WWW-Authenticate parser, the docker config.json lookup,
 * the token response parser and base64.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "remote/parse.h"
#include "util/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

static void check_error(int r, const struct ember_error *e, const char *prefix)
{
	CHECK(r < 0 && r == -e->code && e->code > 0);
	CHECK(!strncmp(e->message, prefix, strlen(prefix)) && !strchr(e->message, '\n'));
}

static void challenge(const char *s)
{
	struct auth_challenge c;
	struct ember_error e = { 0 };
	int r = auth_challenge_parse(s, &c, &e);

	if (r < 0) {
		check_error(r, &e, "invalid WWW-Authenticate header \"");
		CHECK(!c.scheme && !c.realm && !c.service && !c.scope && !c.error);
		return;
	}
	CHECK(r == 0 && c.scheme);
	if (!strcmp(c.scheme, "bearer"))
		CHECK(c.realm && (!strncasecmp(c.realm, "http://", 7) ||
				  !strncasecmp(c.realm, "https://", 8)));
	else
		CHECK(!strcmp(c.scheme, "basic"));
	auth_challenge_done(&c);
}

static void dockercfg(const char *data, size_t size, const char *host)
{
	struct ember_error e = { 0 };
	char *user, *secret;
	int r = auth_dockercfg_lookup(data, size, host, &user, &secret, &e);

	if (r < 0) {
		check_error(r, &e, "docker config: ");
		CHECK(!user && !secret);
	} else if (r == 1) {
		CHECK(!user && !secret && e.code == 0);
	} else {
		CHECK(r == 0 && user && secret);
		/* An identity token, or a user name without ':' from "auth". */
		CHECK(user[0] ? 1 : secret[0] != '\0');
		free(user);
		free(secret);
	}
}

static void token(const char *data, size_t size)
{
	struct ember_error e = { 0 };
	char *t;
	long expires = 0;
	int r = auth_token_parse(data, size, &t, &expires, &e);

	if (r < 0) {
		check_error(r, &e, "token response: ");
		CHECK(!t);
		return;
	}
	CHECK(t && t[0] && strlen(t) <= AUTH_TOKEN_MAX);
	for (const char *q = t; *q; q++)
		CHECK(*q > 0x20 && *q < 0x7f);
	CHECK(expires >= AUTH_TOKEN_DEFAULT_EXPIRES && expires <= AUTH_TOKEN_MAX_EXPIRES);
	free(t);
}

static void base64(const uint8_t *data, size_t size)
{
	struct ember_error e = { 0 };
	unsigned char *dec;
	size_t n;
	char *enc = base64_encode(data, size);

	/* Encoding round-trips. */
	CHECK(enc && strlen(enc) == (size + 2) / 3 * 4);
	CHECK(base64_decode(enc, strlen(enc), &dec, &n, &e) == 0);
	CHECK(n == size && !memcmp(dec, data, size) && dec[n] == 0);
	free(dec);
	free(enc);
	/* Decoding arbitrary text either works or says why. */
	int r = base64_decode((const char *)data, size, &dec, &n, &e);
	if (r < 0) {
		check_error(r, &e, "invalid base64: ");
		CHECK(!dec && n == 0);
	} else {
		CHECK(dec && n <= size / 4 * 3 + 2 && dec[n] == 0);
		free(dec);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	challenge(s);
	dockercfg((const char *)data, size, "docker.io");
	dockercfg((const char *)data, size, "localhost:5000");
	token((const char *)data, size);
	base64(data, size);
	free(s);
	return 0;
}
