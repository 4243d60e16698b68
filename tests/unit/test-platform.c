/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include "image/image.h"
#include "util/cleanup.h"

static struct platform mk(const char *os, const char *arch, const char *variant, const char *os_version)
{
	struct platform p;

	memset(&p, 0, sizeof(p));
	snprintf(p.os, sizeof(p.os), "%s", os);
	snprintf(p.arch, sizeof(p.arch), "%s", arch);
	snprintf(p.variant, sizeof(p.variant), "%s", variant);
	snprintf(p.os_version, sizeof(p.os_version), "%s", os_version);
	return p;
}

static void test_normalize(void **state)
{
	static const struct {
		const char *os, *arch, *variant;
		const char *want_os, *want_arch, *want_variant;
	} table[] = {
		{ "linux", "x86_64", "", "linux", "amd64", "" },
		{ "Linux", "X86-64", "", "linux", "amd64", "" },
		{ "linux", "amd64", "v1", "linux", "amd64", "" },
		{ "linux", "amd64", "v3", "linux", "amd64", "v3" },
		{ "linux", "x86_64", "V2", "linux", "amd64", "v2" },
		{ "linux", "aarch64", "", "linux", "arm64", "v8" },
		{ "linux", "arm64", "", "linux", "arm64", "v8" },
		{ "linux", "arm64", "8", "linux", "arm64", "v8" },
		{ "linux", "arm64", "v8.0", "linux", "arm64", "v8" },
		{ "linux", "arm64", "v8.2", "linux", "arm64", "v8.2" },
		{ "linux", "arm64", "9", "linux", "arm64", "v9" },
		{ "linux", "arm64", "v9.0", "linux", "arm64", "v9" },
		{ "linux", "armhf", "", "linux", "arm", "v7" },
		{ "linux", "armel", "", "linux", "arm", "v6" },
		{ "linux", "arm", "", "linux", "arm", "v7" },
		{ "linux", "arm", "7", "linux", "arm", "v7" },
		{ "linux", "arm", "5", "linux", "arm", "v5" },
		{ "linux", "arm", "6", "linux", "arm", "v6" },
		{ "linux", "arm", "8", "linux", "arm", "v8" },
		{ "linux", "arm", "v6", "linux", "arm", "v6" },
		{ "linux", "armv7l", "", "linux", "arm", "v7" },
		{ "linux", "armv6l", "", "linux", "arm", "v6" },
		{ "linux", "armv5tel", "", "linux", "arm", "v5" },
		{ "linux", "armv8l", "", "linux", "arm", "v8" },
		{ "linux", "i386", "", "linux", "386", "" },
		{ "linux", "i686", "", "linux", "386", "" },
		{ "linux", "ppc64el", "", "linux", "ppc64le", "" },
		{ "linux", "mips64el", "", "linux", "mips64le", "" },
		{ "linux", "mipsel", "", "linux", "mipsle", "" },
		{ "linux", "loongarch64", "", "linux", "loong64", "" },
		{ "linux", "riscv64", "", "linux", "riscv64", "" },
		{ "linux", "s390x", "", "linux", "s390x", "" },
		{ "macos", "arm64", "", "darwin", "arm64", "v8" },
		{ "", "s390x", "", "linux", "s390x", "" },
		{ "unknown", "unknown", "", "unknown", "unknown", "" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		struct platform p = mk(table[i].os, table[i].arch, table[i].variant, "");
		platform_normalize(&p);
		if (strcmp(p.os, table[i].want_os) || strcmp(p.arch, table[i].want_arch) ||
		    strcmp(p.variant, table[i].want_variant))
			fail_msg("normalize %s/%s/%s = %s/%s/%s, want %s/%s/%s", table[i].os, table[i].arch,
				 table[i].variant, p.os, p.arch, p.variant, table[i].want_os, table[i].want_arch,
				 table[i].want_variant);
		/* Normalising is idempotent. */
		struct platform again = p;
		platform_normalize(&again);
		assert_true(platform_equal(&p, &again));
	}
}

static void test_parse(void **state)
{
	static const struct {
		const char *in, *want;
	} table[] = {
		{ "linux/arm64/v8", "linux/arm64/v8" },
		{ "linux/arm64", "linux/arm64/v8" },
		{ "linux/aarch64", "linux/arm64/v8" },
		{ "linux/amd64", "linux/amd64" },
		{ "linux/amd64/v3", "linux/amd64/v3" },
		{ "LINUX/AMD64", "linux/amd64" },
		{ "linux/arm", "linux/arm/v7" },
		{ "linux/arm/v6", "linux/arm/v6" },
		{ "linux/armhf", "linux/arm/v7" },
		{ "arm64", "linux/arm64/v8" },
		{ "armhf", "linux/arm/v7" },
		{ "armel", "linux/arm/v6" },
		{ "x86_64", "linux/amd64" },
		{ "i686", "linux/386" },
		{ "riscv64", "linux/riscv64" },
		{ "windows(10.0.17763)/amd64", "windows(10.0.17763)/amd64" },
		{ "linux()/amd64", "linux/amd64" },
		{ "freebsd/amd64", "freebsd/amd64" },
	};
	char buf[PLATFORM_STRING_MAX];
	struct ember_error e;
	struct platform p, q;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		if (platform_parse(table[i].in, &p, &e) != 0)
			fail_msg("parse \"%s\": %s", table[i].in, e.message);
		assert_string_equal(platform_string(&p, buf), table[i].want);
		/* The string form parses back to the same platform. */
		assert_int_equal(platform_parse(buf, &q, &e), 0);
		assert_true(platform_equal(&p, &q));
	}
	assert_int_equal(platform_parse("windows(10.0.17763)/amd64", &p, &e), 0);
	assert_string_equal(p.os, "windows");
	assert_string_equal(p.os_version, "10.0.17763");
	assert_string_equal(p.arch, "amd64");
	assert_string_equal(p.variant, "");

	/* One word naming an OS takes the host's architecture. */
	struct platform host;
	platform_default(&host);
	assert_int_equal(platform_parse("linux", &p, &e), 0);
	assert_true(platform_equal(&p, &host));
	assert_int_equal(platform_parse("windows", &p, &e), 0);
	assert_string_equal(p.os, "windows");
	assert_string_equal(p.arch, host.arch);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *in, *fragment;
	} table[] = {
		{ "", "platform: empty" },
		{ "linux//v7", "platform \"linux//v7\": empty" },
		{ "/amd64", "platform \"/amd64\": empty" },
		{ "linux/amd64/", "platform \"linux/amd64/\": empty" },
		{ "linux/arm/v7/x", "platform \"linux/arm/v7/x\": want os/arch[/variant]" },
		{ "linux/*", "wildcards are not supported" },
		{ "*", "wildcards are not supported" },
		{ "foo", "platform \"foo\": unknown operating system or architecture" },
		{ "linux/am d64", "has a character other than [A-Za-z0-9._-]" },
		{ "linux/amd64\n", "platform \"linux/amd64?\": \"amd64?\" has a character other than" },
		{ "linux(10/amd64", "want os(version)" },
		{ "linux(a b)/amd64", "has a character other than" },
		{ "linux/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "is longer than 31 characters" },
	};
	struct ember_error e;
	struct platform p;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		if (platform_parse(table[i].in, &p, &e) != -EINVAL)
			fail_msg("parse \"%s\" accepted", table[i].in);
		assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
		assert_msg_contains(&e, table[i].fragment);
		assert_null(strchr(e.message, '\n'));
		assert_string_equal(p.os, "");
	}
	assert_int_equal(platform_parse(NULL, &p, &e), -EINVAL);
	char long_spec[400];
	memset(long_spec, 'a', sizeof(long_spec) - 1);
	long_spec[sizeof(long_spec) - 1] = '\0';
	assert_int_equal(platform_parse(long_spec, &p, &e), -EINVAL);
	assert_msg_contains(&e, "too long");
}

static void test_string(void **state)
{
	char buf[PLATFORM_STRING_MAX];
	struct platform p;

	(void)state;
	p = mk("linux", "amd64", "", "");
	assert_string_equal(platform_string(&p, buf), "linux/amd64");
	p = mk("linux", "arm", "v7", "");
	assert_string_equal(platform_string(&p, buf), "linux/arm/v7");
	p = mk("windows", "amd64", "", "10.0.20348.1547");
	assert_string_equal(platform_string(&p, buf), "windows(10.0.20348.1547)/amd64");
	/* Fields at their longest still fit. */
	memset(&p, 'x', sizeof(p));
	p.os[sizeof(p.os) - 1] = p.arch[sizeof(p.arch) - 1] = p.variant[sizeof(p.variant) - 1] = '\0';
	p.os_version[sizeof(p.os_version) - 1] = '\0';
	assert_int_equal(strlen(platform_string(&p, buf)), 31 * 3 + 63 + 4);
}

static void test_default(void **state)
{
	char buf[PLATFORM_STRING_MAX];
	struct platform p;

	(void)state;
	platform_default(&p);
	assert_string_equal(p.os, "linux");
#if defined(__x86_64__)
	assert_string_equal(platform_string(&p, buf), "linux/amd64");
#elif defined(__aarch64__)
	assert_string_equal(platform_string(&p, buf), "linux/arm64/v8");
#elif defined(__arm__)
	assert_string_equal(p.arch, "arm");
	assert_true(p.variant[0] == 'v' && p.variant[1] >= '5' && p.variant[1] <= '8');
#else
	assert_true(p.arch[0] != '\0');
	(void)buf;
#endif
	/* It is already normal, and it matches itself exactly. */
	struct platform n = p;
	platform_normalize(&n);
	assert_true(platform_equal(&p, &n));
	assert_int_equal(platform_match(&p, &p), PLATFORM_MATCH_EXACT);
}

/* Scores relative to an exact match: 0 exact, 1 the first fallback, ...;
   -1 no match. */
static void test_match(void **state)
{
	static const struct {
		const char *want, *have;
		int step;
	} table[] = {
		{ "linux/amd64", "linux/amd64", 0 },
		{ "linux/amd64", "linux/x86_64", 0 },
		{ "linux/amd64", "linux/amd64/v1", 0 },
		{ "linux/amd64", "linux/386", 1 },
		{ "linux/amd64", "linux/amd64/v2", -1 },
		{ "linux/amd64", "linux/arm64", -1 },
		{ "linux/amd64", "windows/amd64", -1 },
		{ "linux/amd64/v3", "linux/amd64/v3", 0 },
		{ "linux/amd64/v3", "linux/amd64/v2", 1 },
		{ "linux/amd64/v3", "linux/amd64", 2 },
		{ "linux/amd64/v3", "linux/amd64/v1", 2 },
		{ "linux/amd64/v3", "linux/386", 3 },
		{ "linux/amd64/v3", "linux/amd64/v4", -1 },
		{ "linux/arm64", "linux/arm64/v8", 0 },
		{ "linux/arm64/v8", "linux/arm64", 0 },
		{ "linux/arm64/v8", "linux/aarch64", 0 },
		{ "linux/arm64/v8", "linux/arm/v8", 1 },
		{ "linux/arm64/v8", "linux/arm/v7", 2 },
		{ "linux/arm64/v8", "linux/arm", 2 },
		{ "linux/arm64/v8", "linux/arm/v6", 3 },
		{ "linux/arm64/v8", "linux/arm/v5", 4 },
		{ "linux/arm64/v8", "linux/arm64/v8.2", -1 },
		{ "linux/arm64/v8", "linux/386", -1 },
		{ "linux/arm64/v8", "linux/amd64", -1 },
		{ "linux/arm64/v8.2", "linux/arm64/v8.1", 1 },
		{ "linux/arm64/v8.2", "linux/arm64/v8", 2 },
		{ "linux/arm64/v8.2", "linux/arm64/v8.3", -1 },
		{ "linux/arm64/v8.2", "linux/arm/v7", 4 },
		{ "linux/arm64/v9", "linux/arm64/v8.5", 1 },
		{ "linux/arm64/v9", "linux/arm64/v8", 6 },
		{ "linux/arm64/v9", "linux/arm64/v9.1", -1 },
		{ "linux/arm64/v9.2", "linux/arm64/v9", 2 },
		{ "linux/arm64/v9.2", "linux/arm64/v8.7", 3 },
		{ "linux/arm64/v9.2", "linux/arm64/v8.8", -1 },
		{ "linux/arm/v8", "linux/arm/v7", 1 },
		{ "linux/arm/v8", "linux/arm/v6", 2 },
		{ "linux/arm/v8", "linux/arm/v5", 3 },
		{ "linux/arm/v8", "linux/arm64", -1 },
		{ "linux/arm/v7", "linux/arm", 0 },
		{ "linux/arm/v7", "linux/armhf", 0 },
		{ "linux/arm/v7", "linux/arm/v6", 1 },
		{ "linux/arm/v7", "linux/armel", 1 },
		{ "linux/arm/v7", "linux/arm/v5", 2 },
		{ "linux/arm/v7", "linux/arm/v8", -1 },
		{ "linux/arm/v6", "linux/arm/v5", 1 },
		{ "linux/arm/v6", "linux/arm/v7", -1 },
		{ "linux/arm/v5", "linux/arm/v6", -1 },
		{ "linux/386", "linux/amd64", -1 },
		{ "linux/ppc64le", "linux/ppc64le", 0 },
		{ "linux/ppc64le", "linux/ppc64", -1 },
		{ "linux/s390x", "linux/s390x", 0 },
		{ "linux/amd64", "unknown/unknown", -1 },
		{ "windows(10.0.17763)/amd64", "windows(10.0.17763)/amd64", 0 },
		{ "windows(10.0.17763)/amd64", "windows(10.0.20348)/amd64", -1 },
		{ "windows(10.0.17763)/amd64", "windows/amd64", 0 },
		{ "windows/amd64", "windows(10.0.20348)/amd64", 0 },
		{ "linux/amd64", "linux(5.10)/amd64", 0 },
	};
	struct ember_error e;
	struct platform want, have;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		assert_int_equal(platform_parse(table[i].want, &want, &e), 0);
		assert_int_equal(platform_parse(table[i].have, &have, &e), 0);
		int score = platform_match(&want, &have);
		int expect = table[i].step < 0 ? 0 : PLATFORM_MATCH_EXACT - table[i].step;
		if (score != expect)
			fail_msg("match want %s have %s = %d, expected %d", table[i].want, table[i].have, score,
				 expect);
	}

	/* A variant as long as a field matches itself (fuzz-manifest found
	   the fallback list cutting it short). */
	want = mk("linux", "riscv64", "rva23u64.with-a-long-name", "");
	assert_int_equal(platform_match(&want, &want), PLATFORM_MATCH_EXACT);
	want = mk("linux", "arm64", "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv", "");
	assert_int_equal(platform_match(&want, &want), PLATFORM_MATCH_EXACT);

	/* Raw, unnormalised platforms (as an index spells them) match too. */
	want = mk("linux", "arm64", "v8", "");
	have = mk("Linux", "aarch64", "", "");
	assert_int_equal(platform_match(&want, &have), PLATFORM_MATCH_EXACT);
	have = mk("linux", "arm", "", "");
	assert_int_equal(platform_match(&want, &have), PLATFORM_MATCH_EXACT - 2);
	want = mk("linux", "x86_64", "", "");
	have = mk("linux", "amd64", "", "");
	assert_int_equal(platform_match(&want, &have), PLATFORM_MATCH_EXACT);
}

static void test_json(void **state)
{
	char buf[PLATFORM_STRING_MAX];
	struct ember_error e;
	struct platform p, q;
	json_t *j;

	(void)state;
	j = json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "architecture", "arm", "os", "linux", "variant", "v7",
		      "os.version", "5.10", "os.features", "x");
	assert_int_equal(platform_from_json(j, "platform", &p, &e), 0);
	json_decref(j);
	assert_string_equal(platform_string(&p, buf), "linux(5.10)/arm/v7");
	j = platform_to_json(&p);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "architecture")), "arm");
	assert_string_equal(json_string_value(json_object_get(j, "os.version")), "5.10");
	assert_int_equal(platform_from_json(j, "platform", &q, &e), 0);
	assert_true(platform_equal(&p, &q));
	json_decref(j);

	/* Not normalised on the way in; absent and empty optionals are "". */
	j = json_pack("{s:s, s:s, s:s}", "architecture", "aarch64", "os", "linux", "variant", "");
	assert_int_equal(platform_from_json(j, "platform", &p, &e), 0);
	json_decref(j);
	assert_string_equal(p.arch, "aarch64");
	assert_string_equal(p.variant, "");
	j = platform_to_json(&p);
	assert_null(json_object_get(j, "variant"));
	assert_null(json_object_get(j, "os.version"));
	json_decref(j);

	static const struct {
		const char *json, *fragment;
	} bad[] = {
		{ "[]", "platform: not an object" },
		{ "{\"os\":\"linux\"}", "platform.architecture: missing" },
		{ "{\"architecture\":\"amd64\"}", "platform.os: missing" },
		{ "{\"architecture\":\"amd64\",\"os\":null}", "platform.os: missing" },
		{ "{\"architecture\":1,\"os\":\"linux\"}", "platform.architecture: not a string" },
		{ "{\"architecture\":\"amd64\",\"os\":\"\"}", "platform.os: empty" },
		{ "{\"architecture\":\"amd64\",\"os\":\"linux\",\"variant\":7}", "platform.variant: not a string" },
		{ "{\"architecture\":\"amd 64\",\"os\":\"linux\"}", "platform.architecture: \"amd 64\" has a character" },
		{ "{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7/x\"}", "platform.variant: \"v7/x\" has a" },
		{ "{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\"}",
		  "platform.variant: \"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\" is longer than 31 characters" },
		{ "{\"architecture\":\"amd64\",\"os\":\"linux\",\"os.version\":\"a\\nb\"}",
		  "platform.os.version: \"a?b\" has a character" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_error_t je;
		j = json_loads(bad[i].json, 0, &je);
		assert_non_null(j);
		assert_int_equal(platform_from_json(j, "platform", &p, &e), -EINVAL);
		json_decref(j);
		assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
		assert_msg_contains(&e, bad[i].fragment);
		assert_string_equal(p.arch, "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize), cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_string),
		cmocka_unit_test(test_default), cmocka_unit_test(test_match),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
