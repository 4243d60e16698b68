/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include "remote/parse.h"

#define DIR "/etc/ember/certs.d/reg.example:5000"

/* Parse text (copied to a buffer of exactly its length) for reg.example:5000. */
static int parse(const char *text, const char *domain, struct registry_hosts *h, struct ember_error *e)
{
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);
	int r;

	memcpy(copy, text, len);
	r = hosts_parse(copy, len, "hosts.toml", DIR, domain, h, e);
	free(copy);
	return r;
}

static struct registry_hosts parse_ok(const char *text)
{
	struct ember_error e = { 0 };
	struct registry_hosts h;

	if (parse(text, "reg.example:5000", &h, &e) < 0)
		fail_msg("%s\n--\n%s", e.message, text);
	assert_int_equal(e.code, 0);
	return h;
}

static void assert_host(const struct registry_host *h, const char *scheme, const char *host,
			const char *path, unsigned caps)
{
	assert_string_equal(h->scheme, scheme);
	assert_string_equal(h->host, host);
	assert_string_equal(h->path, path);
	assert_int_equal(h->caps, caps);
}

/* No optional settings on h. */
static void assert_plain(const struct registry_host *h)
{
	assert_int_equal(h->n_ca, 0);
	assert_int_equal(h->n_client, 0);
	assert_int_equal(h->n_headers, 0);
	assert_int_equal(h->skip_verify, 0);
}

static void parse_err(const char *text, const char *domain, const char *what)
{
	struct ember_error e = { 0 };
	struct registry_hosts h = { (struct registry_host *)1, 7 };

	if (parse(text, domain, &h, &e) == 0)
		fail_msg("parsed, %zu hosts:\n%s", h.n, text);
	assert_int_equal(e.code, EINVAL);
	if (strncmp(e.message, "hosts.toml:", 11) || !strstr(e.message, what))
		fail_msg("message \"%s\", want \"hosts.toml:...%s\"", e.message, what);
	assert_null(strchr(e.message, '\n'));
	assert_null(h.v);
	assert_int_equal(h.n, 0);
}

#define ERR(text, what) parse_err(text, "reg.example:5000", what)

static void test_mirrors_in_order(void **state)
{
	/* Keys in reverse alphabetical order: file order must win. */
	struct registry_hosts h = parse_ok("server = \"https://reg.example:5000\"\n"
					   "\n"
					   "[host.\"https://z-mirror.example\"]\n"
					   "  capabilities = [\"pull\"]\n"
					   "[host.\"http://10.0.0.1:5000\"]\n"
					   "  capabilities = [\"pull\", \"resolve\"]\n"
					   "[host.\"a-mirror.example:8443\"]\n");

	(void)state;
	assert_int_equal(h.n, 4);
	assert_host(&h.v[0], "https", "z-mirror.example", "/v2", HOST_CAP_PULL);
	assert_host(&h.v[1], "http", "10.0.0.1:5000", "/v2", HOST_CAP_PULL | HOST_CAP_RESOLVE);
	assert_host(&h.v[2], "https", "a-mirror.example:8443", "/v2", HOST_CAP_ALL);
	assert_host(&h.v[3], "https", "reg.example:5000", "/v2", HOST_CAP_ALL);
	for (size_t i = 0; i < h.n; i++)
		assert_plain(&h.v[i]);
	hosts_done(&h);
	assert_null(h.v);
	assert_int_equal(h.n, 0);
	hosts_done(NULL);
}

static void test_server_and_fallback(void **state)
{
	struct ember_error e = { 0 };
	struct registry_hosts h;

	(void)state;
	/* Empty file: the registry itself. */
	h = parse_ok("");
	assert_int_equal(h.n, 1);
	assert_host(&h.v[0], "https", "reg.example:5000", "/v2", HOST_CAP_ALL);
	assert_plain(&h.v[0]);
	hosts_done(&h);

	/* A mirror and no server: the registry comes last, with every capability. */
	h = parse_ok("capabilities = [\"pull\"]\n[host.\"https://m\"]\n");
	assert_int_equal(h.n, 2);
	assert_host(&h.v[0], "https", "m", "/v2", HOST_CAP_ALL);
	assert_host(&h.v[1], "https", "reg.example:5000", "/v2", HOST_CAP_ALL);
	hosts_done(&h);

	/* docker.io falls back to where Docker Hub really is. */
	assert_int_equal(parse("[host.\"https://mirror.gcr.io\"]\n", "docker.io", &h, &e), 0);
	assert_int_equal(h.n, 2);
	assert_host(&h.v[1], "https", "registry-1.docker.io", "/v2", HOST_CAP_ALL);
	hosts_done(&h);

	/* containerd's own docker.io example. */
	assert_int_equal(parse("server = \"https://docker.io\"\n\n[host.\"https://registry-1.docker.io\"]\n"
			       "  capabilities = [\"pull\", \"resolve\"]\n",
			       "docker.io", &h, &e),
			 0);
	assert_int_equal(h.n, 2);
	assert_host(&h.v[0], "https", "registry-1.docker.io", "/v2", HOST_CAP_PULL | HOST_CAP_RESOLVE);
	assert_host(&h.v[1], "https", "docker.io", "/v2", HOST_CAP_ALL);
	hosts_done(&h);

	/* A server without a scheme is https; http is kept; capabilities apply to it. */
	h = parse_ok("server = \"other.example\"\n");
	assert_host(&h.v[0], "https", "other.example", "/v2", HOST_CAP_ALL);
	hosts_done(&h);
	h = parse_ok("server = \"HTTP://[::1]:5000\"\ncapabilities = [\"pull\", \"push\"]\n");
	assert_int_equal(h.n, 1);
	assert_host(&h.v[0], "http", "[::1]:5000", "/v2", HOST_CAP_PULL | HOST_CAP_PUSH);
	hosts_done(&h);
	/* An empty server is no server (containerd). */
	h = parse_ok("server = \"\"\n");
	assert_host(&h.v[0], "https", "reg.example:5000", "/v2", HOST_CAP_ALL);
	hosts_done(&h);

	/* Neither server nor domain. */
	parse_err("[host.\"https://m\"]\n", NULL, "no \"server\" and no registry domain");
	parse_err("", "bad domain!", "hosts.toml: invalid registry host \"bad domain!\"");
	/* With a server the domain is not needed. */
	assert_int_equal(parse("server = \"https://s\"\n", NULL, &h, &e), 0);
	assert_host(&h.v[0], "https", "s", "/v2", HOST_CAP_ALL);
	hosts_done(&h);
}

static void test_paths(void **state)
{
	static const struct {
		const char *url;
		int override;
		const char *path;
	} cases[] = {
		{ "https://m", 0, "/v2" },
		{ "https://m/", 0, "/v2" },
		{ "https://m/v2", 0, "/v2" },
		{ "https://m/v2/", 0, "/v2" },
		{ "https://m/prefix", 0, "/prefix/v2" },
		{ "https://m/prefix/v2", 0, "/prefix/v2" },
		{ "https://m//a/./b/../c/", 0, "/a/c/v2" },
		{ "https://m/notv2", 0, "/notv2/v2" },
		{ "https://m/a%20b", 0, "/a%20b/v2" },
		{ "https://m/custom/api", 1, "/custom/api" },
		{ "https://m/custom/api/", 1, "/custom/api" },
		{ "https://m", 1, "" },
		{ "m/x", 0, "/x/v2" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;
		struct registry_hosts h;

		assert_int_equal(asprintf(&text, "[host.\"%s\"]\noverride_path = %s\n", cases[i].url,
					  cases[i].override ? "true" : "false") > 0,
				 1);
		h = parse_ok(text);
		assert_int_equal(h.n, 2);
		assert_string_equal(h.v[0].host, "m");
		if (strcmp(h.v[0].path, cases[i].path))
			fail_msg("%s (override %d): path \"%s\", want \"%s\"", cases[i].url,
				 cases[i].override, h.v[0].path, cases[i].path);
		hosts_done(&h);
		free(text);
	}
	/* override_path applies to the server too. */
	struct registry_hosts h = parse_ok("server = \"https://s/api\"\noverride_path = true\n");
	assert_host(&h.v[0], "https", "s", "/api", HOST_CAP_ALL);
	hosts_done(&h);
}

static void test_capabilities(void **state)
{
	struct registry_hosts h;

	(void)state;
	h = parse_ok("[host.\"https://a\"]\ncapabilities = [\"Pull\", \"RESOLVE\"]\n"
		     "[host.\"https://b\"]\ncapabilities = []\n"
		     "[host.\"https://c\"]\ncapabilities = [\"push\", \"push\"]\n");
	assert_int_equal(h.v[0].caps, HOST_CAP_PULL | HOST_CAP_RESOLVE);
	assert_int_equal(h.v[1].caps, HOST_CAP_ALL);
	assert_int_equal(h.v[2].caps, HOST_CAP_PUSH);
	hosts_done(&h);

	ERR("[host.\"https://a\"]\ncapabilities = [\"pull\", \"pul\"]\n",
	    "hosts.toml:2: unknown capability \"pul\" in [host.\"https://a\"] (pull, resolve, push)");
	ERR("\n\ncapabilities = \"pull\"\n",
	    "hosts.toml:3: \"capabilities\" must be an array of strings");
	ERR("[host.\"https://a\"]\n\ncapabilities = [1]\n",
	    "hosts.toml:3: \"capabilities\" in [host.\"https://a\"] must be an array of strings");
}

static void test_ca(void **state)
{
	struct registry_hosts h;

	(void)state;
	h = parse_ok("ca = \"/etc/ssl/registry.pem\"\n"
		     "[host.\"https://a\"]\n  ca = \"mirror.crt\"\n"
		     "[host.\"https://b\"]\n  ca = [\"/abs/one.pem\", \"sub/./two.pem\", \"../shared/three.pem\"]\n"
		     "[host.\"https://c\"]\n  ca = []\n");
	assert_int_equal(h.n, 4);
	assert_int_equal(h.v[0].n_ca, 1);
	assert_string_equal(h.v[0].ca[0], DIR "/mirror.crt");
	assert_int_equal(h.v[1].n_ca, 3);
	assert_string_equal(h.v[1].ca[0], "/abs/one.pem");
	assert_string_equal(h.v[1].ca[1], DIR "/sub/two.pem");
	assert_string_equal(h.v[1].ca[2], "/etc/ember/certs.d/shared/three.pem");
	assert_int_equal(h.v[2].n_ca, 0);
	/* The top-level ca is the server's. */
	assert_int_equal(h.v[3].n_ca, 1);
	assert_string_equal(h.v[3].ca[0], "/etc/ssl/registry.pem");
	hosts_done(&h);

	ERR("ca = 5\n", "hosts.toml:1: \"ca\" must be a string or an array of strings");
	ERR("[host.\"https://a\"]\nca = [\"x.pem\", true]\n",
	    "hosts.toml:2: \"ca\" in [host.\"https://a\"] must be a string or an array of strings");
	ERR("ca = [[\"x\"]]\n", "hosts.toml:1: \"ca\" must be a string or an array of strings");
	ERR("ca = \"\"\n", "hosts.toml:1: \"ca\" holds an empty path");
	ERR("ca = { path = \"x\" }\n", "hosts.toml:1: \"ca\" must be a string");
}

static void test_relative_needs_dir(void **state)
{
	struct ember_error e = { 0 };
	struct registry_hosts h;
	static const char text[] = "ca = \"rel.pem\"\n";

	(void)state;
	assert_int_equal(hosts_parse(text, strlen(text), "x/hosts.toml", NULL, "r", &h, &e), -EINVAL);
	assert_msg_contains(&e, "x/hosts.toml:1: \"ca\": relative path \"rel.pem\" but the directory of "
				"x/hosts.toml is not known");
	assert_int_equal(hosts_parse(text, strlen(text), "x/hosts.toml", "certs.d/r", "r", &h, &e), -EINVAL);
	/* Absolute paths need no directory. */
	assert_int_equal(hosts_parse("ca = \"/a.pem\"", 13, NULL, NULL, "r", &h, &e), 0);
	assert_string_equal(h.v[0].ca[0], "/a.pem");
	hosts_done(&h);
	/* file NULL reads as hosts.toml in messages. */
	assert_int_equal(hosts_parse("ca = 1", 6, NULL, NULL, "r", &h, &e), -EINVAL);
	assert_msg_contains(&e, "hosts.toml:1: \"ca\"");
}

static void test_client(void **state)
{
	struct registry_hosts h;

	(void)state;
	h = parse_ok("client = \"/etc/certs/both.pem\"\n"
		     "[host.\"https://a\"]\n  client = [\"c1.pem\", \"/c2.pem\"]\n"
		     "[host.\"https://b\"]\n  client = [[\"client.cert\", \"client.key\"], [\"/both.pem\", \"\"]]\n"
		     "[host.\"https://c\"]\n  client = [\"one.pem\", [\"two.cert\", \"/two.key\"]]\n");
	assert_int_equal(h.n, 4);
	/* An array of strings is several certs, each holding its key (containerd). */
	assert_int_equal(h.v[0].n_client, 2);
	assert_string_equal(h.v[0].client[0].cert, DIR "/c1.pem");
	assert_null(h.v[0].client[0].key);
	assert_string_equal(h.v[0].client[1].cert, "/c2.pem");
	assert_null(h.v[0].client[1].key);
	assert_int_equal(h.v[1].n_client, 2);
	assert_string_equal(h.v[1].client[0].cert, DIR "/client.cert");
	assert_string_equal(h.v[1].client[0].key, DIR "/client.key");
	assert_string_equal(h.v[1].client[1].cert, "/both.pem");
	assert_null(h.v[1].client[1].key);
	assert_int_equal(h.v[2].n_client, 2);
	assert_string_equal(h.v[2].client[0].cert, DIR "/one.pem");
	assert_string_equal(h.v[2].client[1].key, "/two.key");
	assert_int_equal(h.v[3].n_client, 1);
	assert_string_equal(h.v[3].client[0].cert, "/etc/certs/both.pem");
	assert_null(h.v[3].client[0].key);
	hosts_done(&h);

	ERR("client = 1\n", "hosts.toml:1: \"client\" must be a path, an array of paths or an array of "
			    "[cert, key] pairs");
	ERR("\nclient = [[\"a\"]]\n", "hosts.toml:2: \"client\": pair 1 must be [cert, key]");
	ERR("client = [\"a\", [\"b\", \"c\", \"d\"]]\n", "\"client\": pair 2 must be [cert, key]");
	ERR("client = [[\"a\", 1]]\n", "pair 1 must be [cert, key]");
	ERR("client = [[\"\", \"k\"]]\n", "\"client\" holds an empty path");
	ERR("client = [{}]\n", "\"client\" must be a path");
}

static void test_skip_verify(void **state)
{
	struct registry_hosts h;

	(void)state;
	h = parse_ok("skip_verify = true\n[host.\"https://a\"]\nskip_verify = true\n"
		     "[host.\"https://b\"]\nskip_verify = false\n[host.\"https://c\"]\n");
	assert_int_equal(h.v[0].skip_verify, 1);
	assert_int_equal(h.v[1].skip_verify, 0);
	assert_int_equal(h.v[2].skip_verify, 0);
	assert_int_equal(h.v[3].skip_verify, 1);
	hosts_done(&h);

	ERR("[host.\"https://a\"]\n# c\nskip_verify = \"yes\"\n",
	    "hosts.toml:3: \"skip_verify\" in [host.\"https://a\"] must be true or false");
	ERR("override_path = 1\n", "hosts.toml:1: \"override_path\" must be true or false");
}

static void test_headers(void **state)
{
	struct registry_hosts h;

	(void)state;
	h = parse_ok("[header]\n  x-server = \"s\"\n"
		     "[host.\"https://a\"]\n"
		     "[host.\"https://a\".header]\n  x-custom-1 = \"custom header\"\n"
		     "  X-Multi = [\"part a\", \"part b\"]\n  x-empty = []\n  x-tab = \"a\\tb\"\n");
	assert_int_equal(h.n, 2);
	assert_int_equal(h.v[0].n_headers, 4);
	assert_string_equal(h.v[0].header_names[0], "x-custom-1");
	assert_string_equal(h.v[0].header_values[0], "custom header");
	assert_string_equal(h.v[0].header_names[1], "X-Multi");
	assert_string_equal(h.v[0].header_values[1], "part a");
	assert_string_equal(h.v[0].header_names[2], "X-Multi");
	assert_string_equal(h.v[0].header_values[2], "part b");
	assert_string_equal(h.v[0].header_names[3], "x-tab");
	assert_string_equal(h.v[0].header_values[3], "a\tb");
	assert_int_equal(h.v[1].n_headers, 1);
	assert_string_equal(h.v[1].header_names[0], "x-server");
	hosts_done(&h);

	/* Inline and dotted forms are the same tables. */
	h = parse_ok("[host.\"https://a\"]\nheader = { x-a = \"1\" }\n[host.\"https://b\"]\nheader.x-b = \"2\"\n");
	assert_string_equal(h.v[0].header_names[0], "x-a");
	assert_string_equal(h.v[1].header_values[0], "2");
	hosts_done(&h);

	ERR("[host.\"https://a\"]\nheader = \"x\"\n",
	    "hosts.toml:2: \"header\" in [host.\"https://a\"] must be a table");
	ERR("[header]\nx-a = 1\n", "hosts.toml:2: header \"x-a\" must be a string or an array of strings");
	ERR("[header]\n\nx-a = [\"a\", 2]\n", "hosts.toml:3: header \"x-a\" must be a string");
	ERR("[header]\n\"bad name\" = \"v\"\n", "hosts.toml:2: invalid header name \"bad name\"");
	ERR("[header]\n\"\" = \"v\"\n", "hosts.toml:2: invalid header name \"\"");
	/* A line break in a value would split the request's headers. */
	ERR("[header]\nauthorization = \"Bearer s3cr3t\\r\\nX-Evil: 1\"\n",
	    "hosts.toml:2: header \"authorization\" has a control character in its value");
}

static void test_types_and_lines(void **state)
{
	(void)state;
	ERR("# comment\nserver = 5\n", "hosts.toml:2: \"server\" must be a string (a URL)");
	ERR("host = 1\n", "hosts.toml:1: \"host\" must be a table of [host.\"URL\"] tables");
	ERR("[[host]]\n", "hosts.toml:1: \"host\" must be a table");
	ERR("\n\nhost.\"https://a\" = \"x\"\n", "hosts.toml:3: host \"https://a\" must be a table");
	/* TOML errors come through with their column. */
	ERR("server = \"https://a\"\n[host.\"https://m\"\n", "hosts.toml:2:18: expected ']'");
	ERR("skip_verify = yes\n", "hosts.toml:1:15: invalid value");
	/* The first error in file order of hosts. */
	ERR("[host.\"https://a\"]\nca = \"x\"\n[host.\"https://b\"]\nca = 1\n",
	    "hosts.toml:4: \"ca\" in [host.\"https://b\"]");
}

static void test_unknown_keys(void **state)
{
	struct registry_hosts h;

	(void)state;
	h = parse_ok("version = 2\nproxy = \"http://p:8080\"\n[plugins.x]\ny = 1\n"
		     "[host.\"https://a\"]\ndial_timeout = \"1s\"\nfuture = [1, 2]\n[host.\"https://a\".other]\n");
	assert_int_equal(h.n, 2);
	assert_host(&h.v[0], "https", "a", "/v2", HOST_CAP_ALL);
	assert_plain(&h.v[0]);
	hosts_done(&h);
}

static void test_bad_urls(void **state)
{
	(void)state;
	ERR("\n[host.\"ftp://a\"]\n",
	    "hosts.toml:2: invalid host URL \"ftp://a\": unsupported scheme \"ftp\" (http or https)");
	ERR("server = \"unix:///run/x.sock\"\n", "hosts.toml:1: invalid host URL \"unix:///run/x.sock\": "
					       "unsupported scheme \"unix\"");
	ERR("[host.\"https://user:pw@a\"]\n", "user information is not allowed");
	ERR("[host.\"https://a/v2?ns=x\"]\n", "a host URL has no query or fragment");
	ERR("[host.\"https://a#frag\"]\n", "no query or fragment");
	ERR("[host.\"https://\"]\n", "invalid host URL \"https://\": empty host");
	ERR("[host.\"https:///v2\"]\n", "empty host");
	ERR("[host.\"\"]\n", "invalid host URL \"\": empty host");
	ERR("[host.\"https://a:0\"]\n", "port must be a number from 1 to 65535");
	ERR("[host.\"https://a:99999\"]\n", "port must be a number from 1 to 65535");
	ERR("[host.\"https://a:port\"]\n", "port must be a number from 1 to 65535");
	ERR("[host.\"https://[::1\"]\n", "unterminated IPv6 address");
	ERR("[host.\"https://[zz]:5000\"]\n", "invalid IPv6 address");
	ERR("[host.\"https://bad_host\"]\n", "invalid host name");
	ERR("[host.\"https://a b\"]\n", "invalid host name");
	ERR("[host.\"https://a/b c\"]\n", "invalid character in the path");
	ERR("[host.\"https://a/%zz\"]\n", "invalid character in the path");
	ERR("server = \"https://a/\\u00e9\"\n", "hosts.toml:1: invalid host URL \"https://a/\\xc3\\xa9\"");
}

static void test_default(void **state)
{
	struct ember_error e = { 0 };
	struct registry_hosts h;

	(void)state;
	assert_int_equal(hosts_default("reg.example:5000", 0, &h, &e), 0);
	assert_int_equal(h.n, 1);
	assert_host(&h.v[0], "https", "reg.example:5000", "/v2", HOST_CAP_ALL);
	assert_plain(&h.v[0]);
	hosts_done(&h);
	assert_int_equal(hosts_default("localhost:5000", 1, &h, &e), 0);
	assert_host(&h.v[0], "http", "localhost:5000", "/v2", HOST_CAP_ALL);
	hosts_done(&h);
	assert_int_equal(hosts_default("docker.io", 0, &h, &e), 0);
	assert_host(&h.v[0], "https", "registry-1.docker.io", "/v2", HOST_CAP_ALL);
	hosts_done(&h);
	assert_int_equal(hosts_default("[::1]:5000", 0, &h, &e), 0);
	assert_string_equal(h.v[0].host, "[::1]:5000");
	hosts_done(&h);

	assert_int_equal(hosts_default(NULL, 0, &h, &e), -EINVAL);
	assert_msg_contains(&e, "no registry host given");
	assert_null(h.v);
	assert_int_equal(hosts_default("a/b", 0, &h, &e), -EINVAL);
	assert_msg_contains(&e, "invalid registry host \"a/b\"");
	assert_int_equal(hosts_default("", 0, &h, &e), -EINVAL);
	assert_int_equal(e.code, EINVAL);
}

static void test_dir_names(void **state)
{
	struct ember_error e = { 0 };
	char *names[HOSTS_DIRS_MAX];

	(void)state;
	assert_int_equal(hosts_dir_names("reg.example:5000", names, &e), 3);
	assert_string_equal(names[0], "reg.example_5000_");
	assert_string_equal(names[1], "reg.example:5000");
	assert_string_equal(names[2], "_default");
	for (int i = 0; i < 3; i++)
		free(names[i]);
	assert_int_equal(hosts_dir_names("docker.io", names, &e), 2);
	assert_string_equal(names[0], "docker.io");
	assert_string_equal(names[1], "_default");
	assert_null(names[2]);
	free(names[0]);
	free(names[1]);
	assert_int_equal(hosts_dir_names("index.docker.io", names, &e), 2);
	assert_string_equal(names[0], "docker.io");
	free(names[0]);
	free(names[1]);
	assert_int_equal(hosts_dir_names("[::1]:5000", names, &e), 3);
	assert_string_equal(names[0], "[::1]_5000_");
	assert_string_equal(names[1], "[::1]:5000");
	for (int i = 0; i < 3; i++)
		free(names[i]);
	assert_int_equal(hosts_dir_names("[::1]", names, &e), 2);
	assert_string_equal(names[0], "[::1]");
	free(names[0]);
	free(names[1]);

	/* Nothing that could leave certs.d. */
	static const char *const bad[] = { "..", ".", "a/../b", "/etc", "a/b", "", "a:", "x\ny" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hosts_dir_names(bad[i], names, &e), -EINVAL);
		assert_msg_contains(&e, "invalid registry host");
		assert_null(names[0]);
	}
	assert_int_equal(hosts_dir_names(NULL, names, &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mirrors_in_order),
		cmocka_unit_test(test_server_and_fallback),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_ca),
		cmocka_unit_test(test_relative_needs_dir),
		cmocka_unit_test(test_client),
		cmocka_unit_test(test_skip_verify),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_types_and_lines),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_bad_urls),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_dir_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
