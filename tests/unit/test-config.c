/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <jansson.h>

#include "daemon/config.h"

static int parse(struct daemon_config *c, const char *text, struct ember_error *e)
{
	return config_parse(c, text, strlen(text), "config.toml", e);
}

static void test_defaults(void **state)
{
	struct daemon_config c;
	struct ember_error e;

	(void)state;
	assert_int_equal(parse(&c, "", &e), 0);
	assert_string_equal(c.root, CONFIG_DEFAULT_ROOT);
	assert_string_equal(c.state, CONFIG_DEFAULT_STATE);
	assert_string_equal(c.address, CONFIG_DEFAULT_ADDRESS);
	assert_null(c.group);
	assert_int_equal(c.level, LOG_LEVEL_INFO);
	assert_int_equal(c.use_syslog, 0);
	assert_null(c.warnings);
	config_done(&c);
}

static void test_registry_table(void **state)
{
	static const char text[] =
		"[registry]\n"
		"config_path = \"/etc/x/certs.d\"\n"
		"docker_config = \"/root/.docker/config.json\"\n"
		"stall_timeout = 5\n"
		"[registry.auths.\"127.0.0.1:5000\"]\n"
		"username = \"u\"\n"
		"password = \"p\"\n";
	struct daemon_config c;
	struct ember_error e;

	(void)state;
	assert_int_equal(parse(&c, "", &e), 0);
	assert_string_equal(c.certs_dir, CONFIG_DEFAULT_CERTS_DIR);
	assert_null(c.docker_config);
	assert_null(c.auths);
	assert_int_equal(c.stall_timeout_s, 30);
	config_done(&c);

	assert_int_equal(parse(&c, text, &e), 0);
	assert_string_equal(c.certs_dir, "/etc/x/certs.d");
	assert_string_equal(c.docker_config, "/root/.docker/config.json");
	assert_int_equal(c.stall_timeout_s, 5);
	assert_non_null(c.auths);
	json_t *j = json_loads(c.auths, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "auths"),
									       "127.0.0.1:5000"), "username")), "u");
	json_decref(j);
	config_done(&c);

	static const char *const bad[][2] = {
		{ "[registry]\nstall_timeout = 0\n", "seconds from 1 to 3600" },
		{ "[registry]\nstall_timeout = \"5\"\n", "seconds from 1 to 3600" },
		{ "[registry]\nconfig_path = \"relative\"\n", "absolute path" },
		{ "[registry.auths.\"h\"]\nuser = \"x\"\n", "unknown key" },
		{ "[registry.auths.\"h\"]\npassword = 1\n", "must be a string" },
		{ "[registry]\nauths = 1\n", "table of registries" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (parse(&c, bad[i][0], &e) == 0)
			fail_msg("accepted: %s", bad[i][0]);
		assert_msg_contains(&e, bad[i][1]);
	}
}

static void test_full_file(void **state)
{
	static const char text[] =
		"# ember\n"
		"version = 1\n"
		"root = \"/data/ember\"\n"
		"state = '/run/e'\n"
		"[api]\n"
		"address = \"/run/e/e.sock\"\n"
		"group = \"ember\"\n"
		"[debug]\n"
		"level = \"debug\"\n"
		"log = \"syslog\"\n";
	struct daemon_config c;
	struct ember_error e;

	(void)state;
	assert_int_equal(parse(&c, text, &e), 0);
	assert_string_equal(c.root, "/data/ember");
	assert_string_equal(c.state, "/run/e");
	assert_string_equal(c.address, "/run/e/e.sock");
	assert_string_equal(c.group, "ember");
	assert_int_equal(c.level, LOG_LEVEL_DEBUG);
	assert_int_equal(c.use_syslog, 1);
	config_done(&c);

	/* A numeric group, containerd's level names. */
	assert_int_equal(parse(&c, "[api]\ngroup = 4242\n[debug]\nlevel = \"warning\"\n", &e), 0);
	assert_string_equal(c.group, "4242");
	assert_int_equal(c.level, LOG_LEVEL_WARN);
	config_done(&c);
}

static void test_unknown_keys_warn(void **state)
{
	struct daemon_config c;
	struct ember_error e;

	(void)state;
	assert_int_equal(parse(&c, "rooot = \"/x\"\n[api]\nadress = \"/y\"\n[plugins.x]\na = 1\n", &e), 0);
	assert_non_null(c.warnings);
	assert_non_null(strstr(c.warnings, "unknown key \"rooot\""));
	assert_non_null(strstr(c.warnings, "unknown key \"api.adress\""));
	assert_non_null(strstr(c.warnings, "unknown key \"plugins\""));
	assert_string_equal(c.root, CONFIG_DEFAULT_ROOT);
	config_done(&c);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
		{ "root = 5\n", "\"root\" must be a non-empty string" },
		{ "root = \"relative/path\"\n", "absolute path" },
		{ "root = \"\"\n", "non-empty" },
		{ "version = 2\n", "\"version\" must be 1" },
		{ "[api]\naddress = true\n", "\"api.address\"" },
		{ "[api]\ngroup = -1\n", "not a group id" },
		{ "[debug]\nlevel = \"loud\"\n", "unknown level \"loud\"" },
		{ "[debug]\nlog = \"file\"\n", "\"stderr\" or \"syslog\"" },
		{ "api = 1\n", "\"api\" must be a table" },
		{ "root = \"/a\"\nroot = \"/b\"\n", "config.toml:2:" },
		{ "[api\n", "config.toml:1:" },
		{ "\n\nroot = 1.5\n", "config.toml:3:" },
	};
	struct daemon_config c;
	struct ember_error e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		if (parse(&c, cases[i].text, &e) == 0)
			fail_msg("accepted: %s", cases[i].text);
		assert_int_equal(e.code, EINVAL);
		assert_memory_equal(e.message, "config: ", 8);
		assert_msg_contains(&e, cases[i].needle);
	}
}

static void test_verify_table(void **state)
{
	struct daemon_config c;
	struct ember_error e;

	(void)state;
	assert_int_equal(parse(&c, "[verify]\npolicy = \"require\"\nkeys = [\"/k/fleet.pub\", \"/k/spare.pub\"]\n"
				   "[verify.namespaces.lab]\npolicy = \"none\"\n"
				   "[verify.namespaces.prod]\nkeys = [\"/k/prod.pub\"]\n",
			       &e),
			 0);
	assert_int_equal(c.n_verify, 3);
	assert_null(c.verify[0].ns);
	assert_int_equal(c.verify[0].mode, VERIFY_REQUIRE);
	assert_string_equal(c.verify[0].keys[1], "/k/spare.pub");
	assert_null(c.verify[0].keys[2]);
	assert_string_equal(c.verify[1].ns, "lab");
	assert_int_equal(c.verify[1].mode, VERIFY_NONE);
	assert_null(c.verify[1].keys);
	assert_string_equal(c.verify[2].ns, "prod");
	assert_int_equal(c.verify[2].mode, VERIFY_UNSET);
	assert_string_equal(c.verify[2].keys[0], "/k/prod.pub");
	config_done(&c);

	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "[verify]\npolicy = \"maybe\"\n", "\"verify.policy\" must be \"none\" or \"require\"" },
		{ "[verify]\npolcy = \"require\"\n", "\"verify.polcy\": unknown key" },
		{ "[verify]\nkeys = \"/k.pub\"\n", "\"verify.keys\" must be an array" },
		{ "[verify]\nkeys = [\"k.pub\"]\n", "\"verify.keys[0]\" must be an absolute path" },
		{ "[verify.namespaces.x]\nnamespaces = 1\n", "\"verify.namespaces.x.namespaces\": unknown key" },
		{ "[verify]\nnamespaces = 1\n", "must be a table of namespaces" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (parse(&c, bad[i].text, &e) == 0)
			fail_msg("accepted: %s", bad[i].text);
		assert_msg_contains(&e, bad[i].needle);
	}
}

static void test_gc_table(void **state)
{
	static const struct {
		const char *text;
		uint64_t low, high;
		int percent;
	} good[] = {
		{ "[gc]\nfree_low = \"10%\"\nfree_high = \"20%\"\n", 10, 20, 1 },
		{ "[gc]\nfree_low = \"512M\"\nfree_high = \"1.5GiB\"\n", 512ull << 20, 1536ull << 20, 0 },
		{ "[gc]\nfree_low = 4096\nfree_high = \"8k\"\n", 4096, 8192, 0 },
		{ "[gc]\nfree_low = \"2 MB\"\nfree_high = \"2m\"\n", 2u << 20, 2u << 20, 0 },
		{ "[gc]\nfree_low = \"0\"\nfree_high = \"0%\"\n", 0, 0, 1 },
	};
	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "[gc]\nfree_low = \"ten\"\n", "\"gc.free_low\" must be free space in bytes" },
		{ "[gc]\nfree_low = \"101%\"\n", "\"gc.free_low\" must be" },
		{ "[gc]\nfree_high = -1\n", "\"gc.free_high\" must be free space in bytes (\"512M\", \"2G\") or a share of the file system (\"10%\", 0 to 100), not a negative number" },
		{ "[gc]\nfree_high = \"1e9\"\n", "not \"1e9\"" },
		{ "[gc]\nfree_high = \"5X\"\n", "\"gc.free_high\"" },
		{ "[gc]\nfree_low = \"10%\"\n", "\"gc.free_low\" is set but \"gc.free_high\" is not" },
		{ "[gc]\nfree_low = \"20%\"\nfree_high = \"10%\"\n", "\"gc.free_high\" (10%) must be at least \"gc.free_low\" (20%)" },
		{ "[gc]\nkeep = -1\n", "\"gc.keep\" must be a number of images per repository" },
		{ "[gc]\nkeep = \"3\"\n", "\"gc.keep\"" },
		{ "[gc]\nmin_age = 1.5\n", "config.toml:2:" },
		{ "[gc]\nmin_age = -5\n", "\"gc.min_age\" must be a number of seconds" },
		{ "[gc]\ninterval = 0\n", "\"gc.interval\" must be a number of seconds from 1" },
		{ "gc = 3\n", "\"gc\" must be a table" },
	};
	struct daemon_config c;
	struct ember_error e;

	(void)state;
	assert_int_equal(parse(&c, "", &e), 0);
	assert_int_equal(c.gc.free_low.n, 0);
	assert_int_equal(c.gc.free_high.n, 0);
	assert_int_equal(c.gc.keep, 0);
	assert_int_equal(c.gc.min_age_s, 300);
	assert_int_equal(c.gc.interval_s, 60);
	config_done(&c);
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		if (parse(&c, good[i].text, &e) != 0)
			fail_msg("refused: %s: %s", good[i].text, e.message);
		assert_int_equal(c.gc.free_low.n, good[i].low);
		assert_int_equal(c.gc.free_high.n, good[i].high);
		assert_int_equal(c.gc.free_high.percent, good[i].percent);
		config_done(&c);
	}
	assert_int_equal(parse(&c, "[gc]\nkeep = 3\nmin_age = 0\ninterval = 5\n", &e), 0);
	assert_int_equal(c.gc.keep, 3);
	assert_int_equal(c.gc.min_age_s, 0);
	assert_int_equal(c.gc.interval_s, 5);
	struct gc_level pct = { 10, 1 }, bytes = { 3u << 20, 0 };
	assert_int_equal(config_gc_level_bytes(&pct, 1000), 100);
	assert_int_equal(config_gc_level_bytes(&bytes, 1000), 3u << 20);
	char buf[32];
	config_gc_level_format(&bytes, buf, sizeof(buf));
	assert_string_equal(buf, "3.0 MiB");
	config_done(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (parse(&c, bad[i].text, &e) == 0)
			fail_msg("accepted: %s", bad[i].text);
		assert_int_equal(e.code, EINVAL);
		assert_null(strchr(e.message, '\n'));
		assert_msg_contains(&e, bad[i].needle);
	}
}

static void test_load_missing_file(void **state)
{
	struct daemon_config c;
	struct ember_error e;

	(void)state;
	/* The default file may be absent; a file asked for must exist. */
	assert_int_equal(config_load(&c, "/nonexistent/ember.toml", 0, &e), 0);
	assert_string_equal(c.root, CONFIG_DEFAULT_ROOT);
	config_done(&c);
	assert_int_equal(config_load(&c, "/nonexistent/ember.toml", 1, &e), -ENOENT);
	assert_msg_contains(&e, "/nonexistent/ember.toml");
}

static void test_group_resolve(void **state)
{
	struct ember_error e;
	gid_t gid;

	(void)state;
	assert_int_equal(config_group_resolve("4242", &gid, &e), 0);
	assert_int_equal(gid, 4242);
	assert_int_equal(config_group_resolve("root", &gid, &e), 0);
	assert_int_equal(gid, 0);
	assert_int_equal(config_group_resolve("no-such-group-xyz", &gid, &e), -ENOENT);
	assert_msg_contains(&e, "no-such-group-xyz");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_registry_table),
		cmocka_unit_test(test_unknown_keys_warn),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_gc_table),
		cmocka_unit_test(test_verify_table),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_group_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
