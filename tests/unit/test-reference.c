/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include "remote/parse.h"

#define D64 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HEX64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* A string of n copies of c. */
static char *rep(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

struct good {
	const char *in;
	const char *domain, *path, *tag, *digest; /* tag/digest NULL: none */
	const char *canonical;
};

static const struct good goods[] = {
	{ "busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest" },
	{ "busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, "docker.io/library/busybox:1.36" },
	{ "user/app", "docker.io", "user/app", "latest", NULL, "docker.io/user/app:latest" },
	{ "user/app:v1.0-rc_1", "docker.io", "user/app", "v1.0-rc_1", NULL, "docker.io/user/app:v1.0-rc_1" },
	{ "library/busybox", "docker.io", "library/busybox", "latest", NULL,
	  "docker.io/library/busybox:latest" },
	{ "docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
	  "docker.io/library/busybox:latest" },
	{ "docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", NULL,
	  "docker.io/library/busybox:latest" },
	{ "index.docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
	  "docker.io/library/busybox:latest" },
	{ "index.docker.io/user/app:x", "docker.io", "user/app", "x", NULL, "docker.io/user/app:x" },
	{ "busybox@" D64, "docker.io", "library/busybox", NULL, D64, "docker.io/library/busybox@" D64 },
	{ "busybox:1@" D64, "docker.io", "library/busybox", "1", D64, "docker.io/library/busybox:1@" D64 },
	{ "localhost/app", "localhost", "app", "latest", NULL, "localhost/app:latest" },
	{ "localhost:5000/app", "localhost:5000", "app", "latest", NULL, "localhost:5000/app:latest" },
	{ "localhost:5000/a/b/c:t", "localhost:5000", "a/b/c", "t", NULL, "localhost:5000/a/b/c:t" },
	{ "localhost:5000/app@" D64, "localhost:5000", "app", NULL, D64, "localhost:5000/app@" D64 },
	{ "registry.example.com/team/app:2", "registry.example.com", "team/app", "2", NULL,
	  "registry.example.com/team/app:2" },
	{ "Registry.Example.COM/app", "Registry.Example.COM", "app", "latest", NULL,
	  "Registry.Example.COM/app:latest" },
	{ "myhost:443/x", "myhost:443", "x", "latest", NULL, "myhost:443/x:latest" },
	{ "10.0.0.1:5000/x", "10.0.0.1:5000", "x", "latest", NULL, "10.0.0.1:5000/x:latest" },
	{ "[::1]:5000/app:t", "[::1]:5000", "app", "t", NULL, "[::1]:5000/app:t" },
	{ "[2001:db8::1]/app", "[2001:db8::1]", "app", "latest", NULL, "[2001:db8::1]/app:latest" },
	{ "[::1]:65535/a@" D64, "[::1]:65535", "a", NULL, D64, "[::1]:65535/a@" D64 },
	{ "a.b-c.d/x", "a.b-c.d", "x", "latest", NULL, "a.b-c.d/x:latest" },
	/* Separators in path components. */
	{ "x/a.b_c__d-e---f/g", "docker.io", "x/a.b_c__d-e---f/g", "latest", NULL,
	  "docker.io/x/a.b_c__d-e---f/g:latest" },
	{ "example.com", "docker.io", "library/example.com", "latest", NULL,
	  "docker.io/library/example.com:latest" },
	/* "localhost:5000" alone is a name with a tag, as Docker reads it. */
	{ "localhost:5000", "docker.io", "library/localhost", "5000", NULL,
	  "docker.io/library/localhost:5000" },
	{ "x:_", "docker.io", "library/x", "_", NULL, "docker.io/library/x:_" },
	{ "x:Tag.With-UPPER_case", "docker.io", "library/x", "Tag.With-UPPER_case", NULL,
	  "docker.io/library/x:Tag.With-UPPER_case" },
	{ "0/1", "docker.io", "0/1", "latest", NULL, "docker.io/0/1:latest" },
	{ "docker.io/library/library", "docker.io", "library/library", "latest", NULL,
	  "docker.io/library/library:latest" },
	{ "docker.io:5000/x", "docker.io:5000", "x", "latest", NULL, "docker.io:5000/x:latest" },
};

static void test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		const struct good *g = &goods[i];
		struct ember_error e = { 0 };
		struct reference ref, again;
		char *s, *name, *want_name;

		if (reference_parse(g->in, &ref, &e) < 0)
			fail_msg("%s: %s", g->in, e.message);
		assert_int_equal(e.code, 0);
		assert_string_equal(ref.domain, g->domain);
		assert_string_equal(ref.path, g->path);
		if (g->tag)
			assert_string_equal(ref.tag, g->tag);
		else
			assert_null(ref.tag);
		if (g->digest)
			assert_string_equal(ref.digest, g->digest);
		else
			assert_null(ref.digest);
		s = reference_string(&ref);
		assert_string_equal(s, g->canonical);
		name = reference_name(&ref);
		assert_int_equal(asprintf(&want_name, "%s/%s", g->domain, g->path) > 0, 1);
		assert_string_equal(name, want_name);
		/* The canonical form is a fixed point. */
		assert_int_equal(reference_parse(s, &again, &e), 0);
		assert_string_equal(again.domain, ref.domain);
		assert_string_equal(again.path, ref.path);
		free(s);
		s = reference_string(&again);
		assert_string_equal(s, g->canonical);
		reference_done(&again);
		reference_done(&ref);
		assert_null(ref.domain);
		free(s);
		free(name);
		free(want_name);
	}
}

struct badref {
	const char *in;
	const char *what; /* a fragment of the message */
};

static const struct badref bads[] = {
	{ "", "invalid reference \"\": empty reference" },
	{ "Foo//bar", "invalid reference \"Foo//bar\": repository name must be lowercase" },
	{ "Busybox", "repository name must be lowercase" },
	{ "user/App:tag", "repository name must be lowercase" },
	{ "example.com/Team/app", "repository name must be lowercase" },
	{ "LOCALHOST/app", "repository name must be lowercase" },
	{ "http://example.com/app", "references have no scheme" },
	{ "https://docker.io/library/busybox", "references have no scheme" },
	{ "/busybox", "must not start with '/'" },
	{ "busybox/", "must not end with '/'" },
	{ "user//app", "must not contain '//'" },
	{ "localhost:5000//app", "must not start with '/'" },
	{ "localhost:5000/", "repository name is missing" },
	{ ":tag", "repository name is missing" },
	{ "@" D64, "repository name is missing" },
	{ "busybox:", "invalid tag \"\"" },
	{ "busybox:.hidden", "invalid tag \".hidden\"" },
	{ "busybox:-x", "invalid tag \"-x\"" },
	{ "busybox:a+b", "invalid tag \"a+b\"" },
	{ "busybox@", "malformed digest" },
	{ "busybox@sha256:abc", "malformed digest" },
	{ "busybox@sha512:" HEX64 HEX64, "unsupported digest" },
	{ "busybox@SHA256:" HEX64, "malformed digest" },
	{ "busybox@sha256:" HEX64 "@x", "malformed digest" },
	{ "bu sy", "invalid repository name component \"bu sy\"" },
	{ "a..b", "invalid repository name component \"a..b\"" },
	{ "a___b", "invalid repository name component \"a___b\"" },
	{ "a.-b", "invalid repository name component" },
	{ "-a", "invalid repository name component \"-a\"" },
	{ "a-", "invalid repository name component \"a-\"" },
	{ "a:b:c", "invalid repository name component \"a:b\"" },
	{ "a/b/c:d/e", "invalid repository name component \"c:d\"" },
	{ "localhost:0/x", "port must be a number from 1 to 65535" },
	{ "localhost:65536/x", "port must be a number from 1 to 65535" },
	{ "localhost:05000/x", "port must be a number from 1 to 65535" },
	{ "localhost:/x", "port must be a number from 1 to 65535" },
	{ "localhost:http/x", "port must be a number from 1 to 65535" },
	{ "[::1/x", "invalid domain \"[::1\": unterminated IPv6 address" },
	{ "[::g]:5000/x", "invalid IPv6 address" },
	{ "[]:5000/x", "invalid IPv6 address" },
	{ "[::1]x:5/y", "expected ':' and a port" },
	{ "-bad.com/x", "invalid domain \"-bad.com\"" },
	{ "bad-.com/x", "invalid host name" },
	{ "a..com/x", "invalid host name" },
	{ "my_host.com/x", "invalid host name" },
	/* A first component with a '.' is a domain, even if it reads as a path. */
	{ "a.b_c/x", "invalid domain \"a.b_c\"" },
	{ ".com/x", "invalid host name" },
	{ ":5000/x", "empty host name" },
	{ HEX64, "image ID" },
	{ "busybox\n", "invalid repository name component \"busybox\\x0a\"" },
	{ "a\"b", "invalid reference \"a\\\"b\"" },
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct ember_error e = { 0 };
		struct reference ref;
		int r = reference_parse(bads[i].in, &ref, &e);

		if (r >= 0) {
			char *s = reference_string(&ref);

			fail_msg("\"%s\" parsed as %s", bads[i].in, s);
		}
		assert_int_equal(r, -e.code);
		assert_true(e.code == EINVAL || e.code == ENOTSUP);
		assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
		if (strncmp(e.message, "invalid reference \"", 19))
			fail_msg("\"%s\": message \"%s\"", bads[i].in, e.message);
		assert_msg_contains(&e, bads[i].what);
		assert_null(strchr(e.message, '\n'));
		assert_null(ref.domain);
		assert_null(ref.path);
		assert_null(ref.tag);
		assert_null(ref.digest);
	}
}

static void test_digest_code(void **state)
{
	struct ember_error e = { 0 };
	struct reference ref;

	(void)state;
	assert_int_equal(reference_parse("a@sha512:" HEX64 HEX64, &ref, &e), -ENOTSUP);
	assert_int_equal(e.code, ENOTSUP);
	assert_int_equal(reference_parse("a@sha256:xyz", &ref, &e), -EINVAL);
	assert_int_equal(reference_parse(NULL, &ref, &e), -EINVAL);
	assert_msg_contains(&e, "empty reference");
}

static void test_lengths(void **state)
{
	struct ember_error e = { 0 };
	struct reference ref;
	char *s, *comp, *tag;

	(void)state;
	/* docker.io/ (10) + library/ (8) + 237 = 255: the longest official name. */
	comp = rep('a', 237);
	assert_int_equal(reference_parse(comp, &ref, &e), 0);
	s = reference_name(&ref);
	assert_int_equal(strlen(s), 255);
	free(s);
	reference_done(&ref);
	free(comp);
	comp = rep('a', 238);
	assert_int_equal(reference_parse(comp, &ref, &e), -EINVAL);
	assert_msg_contains(&e, "name is longer than 255 characters");
	/* The message quotes a truncated input. */
	assert_msg_contains(&e, "aaaa...\"");
	assert_true(strlen(e.message) < 200);
	free(comp);

	/* A domain counts too. */
	comp = rep('b', 255 - strlen("example.com/"));
	assert_int_equal(asprintf(&s, "example.com/%s", comp) > 0, 1);
	assert_int_equal(reference_parse(s, &ref, &e), 0);
	reference_done(&ref);
	free(s);
	assert_int_equal(asprintf(&s, "example.com/%sb", comp) > 0, 1);
	assert_int_equal(reference_parse(s, &ref, &e), -EINVAL);
	assert_msg_contains(&e, "name is longer than 255 characters");
	free(s);
	free(comp);

	/* Tags: 128 characters at most. */
	tag = rep('t', 128);
	assert_int_equal(asprintf(&s, "x:%s", tag) > 0, 1);
	assert_int_equal(reference_parse(s, &ref, &e), 0);
	assert_string_equal(ref.tag, tag);
	reference_done(&ref);
	free(s);
	assert_int_equal(asprintf(&s, "x:%st", tag) > 0, 1);
	assert_int_equal(reference_parse(s, &ref, &e), -EINVAL);
	assert_msg_contains(&e, "invalid tag");
	free(s);
	free(tag);

	/* The longest valid input: legacy domain, full name, tag and digest. */
	comp = rep('c', 255 - strlen("docker.io/u/"));
	tag = rep('t', 128);
	assert_int_equal(asprintf(&s, "index.docker.io/u/%s:%s@" D64, comp, tag) > 0, 1);
	assert_int_equal(reference_parse(s, &ref, &e), 0);
	assert_string_equal(ref.tag, tag);
	free(s);
	s = reference_name(&ref);
	assert_int_equal(strlen(s), 255);
	reference_done(&ref);
	free(s);
	free(tag);
	free(comp);

	/* Absurdly long input is refused before any work. */
	s = rep('a', 100000);
	assert_int_equal(reference_parse(s, &ref, &e), -EINVAL);
	assert_msg_contains(&e, "longer than");
	free(s);
}

static void test_registry_host(void **state)
{
	struct ember_error e = { 0 };
	struct reference ref;
	char *host;

	(void)state;
	assert_int_equal(reference_parse("busybox", &ref, &e), 0);
	assert_int_equal(reference_registry_host(&ref, &host), 0);
	assert_string_equal(host, "registry-1.docker.io");
	free(host);
	reference_done(&ref);

	assert_int_equal(reference_parse("[::1]:5000/a", &ref, &e), 0);
	assert_int_equal(reference_registry_host(&ref, &host), 0);
	assert_string_equal(host, "[::1]:5000");
	free(host);
	reference_done(&ref);

	assert_int_equal(reference_parse("docker.io:5000/a", &ref, &e), 0);
	assert_int_equal(reference_registry_host(&ref, &host), 0);
	assert_string_equal(host, "docker.io:5000");
	free(host);
	reference_done(&ref);

	/* A reference never parsed has no domain. */
	assert_int_equal(reference_registry_host(&ref, &host), -EINVAL);
	assert_null(host);
	reference_done(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_digest_code),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_registry_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
