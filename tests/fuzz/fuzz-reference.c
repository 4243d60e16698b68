/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: image references (Docker normalisation). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "remote/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

static int streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* One line of printable ASCII: messages quote input escaped. */
static void check_error(int r, const struct ember_error *e)
{
	CHECK(r < 0 && r == -e->code && e->code > 0);
	CHECK(!strncmp(e->message, "invalid reference \"", 19));
	for (const char *q = e->message; *q; q++)
		CHECK(*q >= 0x20 && *q < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct ember_error e = { 0 };
	struct reference ref, again;
	int r;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	r = reference_parse(s, &ref, &e);
	if (r < 0) {
		check_error(r, &e);
		CHECK(!ref.domain && !ref.path && !ref.tag && !ref.digest);
		free(s);
		return 0;
	}
	CHECK(e.code == 0 && ref.domain && ref.path && (ref.tag || ref.digest));

	/* The canonical form parses back to itself. */
	char *canon = reference_string(&ref), *name = reference_name(&ref), *host;
	CHECK(canon && name && strlen(name) <= REFERENCE_NAME_MAX);
	CHECK(!strncmp(canon, name, strlen(name)));
	CHECK(reference_parse(canon, &again, &e) == 0);
	CHECK(streq(again.domain, ref.domain) && streq(again.path, ref.path));
	CHECK(streq(again.tag, ref.tag) && streq(again.digest, ref.digest));
	char *canon2 = reference_string(&again);
	CHECK(canon2 && !strcmp(canon, canon2));

	/* Docker Hub names always have a namespace. */
	if (!strcmp(ref.domain, REFERENCE_DEFAULT_DOMAIN))
		CHECK(strchr(ref.path, '/'));
	CHECK(reference_registry_host(&ref, &host) == 0 && host && *host);
	/* The domain is always a host hosts.toml can be looked up for. */
	struct registry_hosts hosts;
	CHECK(hosts_default(ref.domain, 0, &hosts, &e) == 0 && hosts.n == 1);
	CHECK(!strcmp(hosts.v[0].host, host));
	hosts_done(&hosts);

	free(host);
	free(canon2);
	free(canon);
	free(name);
	reference_done(&again);
	reference_done(&ref);
	free(s);
	return 0;
}
