/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include "remote/parse.h"
#include "util/base64.h"

/* ---- base64 ---- */

static void test_base64_vectors(void **state)
{
	/* RFC 4648 §10. */
	static const char *const vec[][2] = {
		{ "", "" },	       { "f", "Zg==" },	      { "fo", "Zm8=" },
		{ "foo", "Zm9v" },     { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		struct ember_error e = { 0 };
		char *enc = base64_encode(vec[i][0], strlen(vec[i][0]));
		unsigned char *dec;
		size_t n;

		assert_string_equal(enc, vec[i][1]);
		free(enc);
		assert_int_equal(base64_decode(vec[i][1], strlen(vec[i][1]), &dec, &n, &e), 0);
		assert_int_equal(n, strlen(vec[i][0]));
		assert_memory_equal(dec, vec[i][0], n);
		assert_int_equal(dec[n], 0);
		free(dec);
	}
}

static void test_base64_unpadded_and_binary(void **state)
{
	struct ember_error e = { 0 };
	unsigned char all[256], *dec;
	char *enc;
	size_t n;

	(void)state;
	assert_int_equal(base64_decode("Zg", 2, &dec, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(dec[0], 'f');
	free(dec);
	assert_int_equal(base64_decode("Zm9vYmE", 7, &dec, &n, &e), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(dec, "fooba", 5);
	free(dec);
	/* Length is what counts, not a NUL. */
	assert_int_equal(base64_decode("Zm9vXXXX", 4, &dec, &n, &e), 0);
	assert_int_equal(n, 3);
	free(dec);
	/* Every byte value, and the + and / characters. */
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	enc = base64_encode(all, sizeof(all));
	assert_non_null(strchr(enc, '+'));
	assert_non_null(strchr(enc, '/'));
	assert_int_equal(strlen(enc), 344);
	assert_int_equal(base64_decode(enc, strlen(enc), &dec, &n, &e), 0);
	assert_int_equal(n, 256);
	assert_memory_equal(dec, all, 256);
	free(dec);
	free(enc);
	assert_int_equal(e.code, 0);
}

static void test_base64_invalid(void **state)
{
	static const struct {
		const char *in;
		const char *what;
	} bad[] = {
		{ "Zm9v!", "character outside the alphabet at offset 4" },
		{ "Zm 9v", "character outside the alphabet at offset 2" },
		{ "Zm9v\n", "character outside the alphabet at offset 4" },
		{ "Zm9v-_", "character outside the alphabet at offset 4" }, /* URL alphabet */
		{ "Z=g=", "'=' before the end at offset 1" },
		{ "Zg=", "padding that does not end a group of four" },
		{ "Zm9=v", "'=' before the end" },
		{ "Zm9vY", "a lone character at offset 4" },
		{ "Zm9vY===", "'=' before the end" },
		{ "Zm9vYg=", "padding" },
		{ "=", "padding" },
		{ "==", "padding" },
		{ "Zm9v=Zm9v", "'=' before the end at offset 4" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ember_error e = { 0 };
		unsigned char *dec = (unsigned char *)1;
		size_t n = 7;

		if (base64_decode(bad[i].in, strlen(bad[i].in), &dec, &n, &e) == 0)
			fail_msg("\"%s\" decoded", bad[i].in);
		assert_int_equal(e.code, EINVAL);
		assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
		assert_msg_contains(&e, "invalid base64: ");
		assert_msg_contains(&e, bad[i].what);
		assert_null(dec);
		assert_int_equal(n, 0);
	}
}

/* ---- WWW-Authenticate ---- */

static struct auth_challenge parse_ok(const char *h)
{
	struct ember_error e = { 0 };
	struct auth_challenge c;

	if (auth_challenge_parse(h, &c, &e) < 0)
		fail_msg("%s: %s", h, e.message);
	assert_int_equal(e.code, 0);
	return c;
}

#define assert_str_or_null(a, b) ((b) ? assert_string_equal((a), (b)) : assert_null(a))

static void check(const char *h, const char *scheme, const char *realm, const char *service,
		  const char *scope, const char *error)
{
	struct auth_challenge c = parse_ok(h);

	assert_string_equal(c.scheme, scheme);
	assert_str_or_null(c.realm, realm);
	assert_str_or_null(c.service, service);
	assert_str_or_null(c.scope, scope);
	assert_str_or_null(c.error, error);
	auth_challenge_done(&c);
	assert_null(c.scheme);
}

static void test_challenge_docker(void **state)
{
	(void)state;
	/* What Docker Hub and distribution send. */
	check("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
	      "scope=\"repository:library/busybox:pull\"",
	      "bearer", "https://auth.docker.io/token", "registry.docker.io",
	      "repository:library/busybox:pull", NULL);
	check("Bearer realm=\"https://r/token\",service=\"r\",scope=\"repository:a/b:pull,push\","
	      "error=\"insufficient_scope\"",
	      "bearer", "https://r/token", "r", "repository:a/b:pull,push", "insufficient_scope");
	check("Basic realm=\"Registry Realm\"", "basic", "Registry Realm", NULL, NULL, NULL);
	check("Basic", "basic", NULL, NULL, NULL, NULL);
	check("basic realm=x", "basic", "x", NULL, NULL, NULL);
}

static void test_challenge_syntax(void **state)
{
	(void)state;
	/* Case-insensitive schemes and names, spaces around '=' and ','. */
	check("BEARER Realm = \"https://a/t\" ,  SERVICE=s", "bearer", "https://a/t", "s", NULL, NULL);
	/* Quoted commas, escapes, an empty quoted value, tabs. */
	check("Bearer realm=\"https://a/t?x=1,y=2\",scope=\"a\\\"b\\\\c\\,d\",service=\"\"", "bearer",
	      "https://a/t?x=1,y=2", "", "a\"b\\c,d", NULL);
	check("Bearer\trealm=\"https://a/t\"", "bearer", "https://a/t", NULL, NULL, NULL);
	/* Unquoted URL realm (seen in the wild). */
	check("Bearer realm=https://auth.example/token,service=reg", "bearer", "https://auth.example/token",
	      "reg", NULL, NULL);
	/* Unknown parameters are skipped; empty list elements too. */
	check("Bearer ,, realm=\"https://a/t\", foo=bar,, charset=\"UTF-8\",", "bearer", "https://a/t",
	      NULL, NULL, NULL);
	/* Non-ASCII (obs-text) inside quotes is kept. */
	check("Basic realm=\"caf\xc3\xa9\"", "basic", "caf\xc3\xa9", NULL, NULL, NULL);
}

static void test_challenge_multiple(void **state)
{
	(void)state;
	/* Bearer wins over an earlier Basic. */
	check("Basic realm=\"r\", Bearer realm=\"https://a/t\",service=\"s\"", "bearer", "https://a/t",
	      "s", NULL, NULL);
	/* First of each kind. */
	check("Bearer realm=\"https://one/t\", Bearer realm=\"https://two/t\"", "bearer",
	      "https://one/t", NULL, NULL, NULL);
	check("Basic realm=\"one\", Basic realm=\"two\"", "basic", "one", NULL, NULL, NULL);
	/* Other schemes, with token68 or parameters, are skipped. */
	check("Negotiate, NTLM abc+/==, Digest realm=\"d\", nonce=\"x,y\", Basic realm=\"b\"", "basic",
	      "b", NULL, NULL, NULL);
	check("Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"",
	      "basic", "simple", NULL, NULL, NULL);
	check("Negotiate abc==, Bearer realm=\"https://a/t\"", "bearer", "https://a/t", NULL, NULL,
	      NULL);
}

static void check_err(const char *h, int code, const char *what)
{
	struct ember_error e = { 0 };
	struct auth_challenge c;
	int r = auth_challenge_parse(h, &c, &e);

	if (r >= 0)
		fail_msg("\"%s\" parsed (scheme %s)", h ? h : "(null)", c.scheme);
	assert_int_equal(r, -code);
	assert_int_equal(e.code, code);
	assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
	assert_msg_contains(&e, "invalid WWW-Authenticate header \"");
	assert_msg_contains(&e, what);
	assert_null(strchr(e.message, '\n'));
	assert_null(c.scheme);
	assert_null(c.realm);
}

static void test_challenge_errors(void **state)
{
	char *big;

	(void)state;
	check_err(NULL, EINVAL, "empty");
	check_err("", EINVAL, "\"\": empty");
	check_err("Bearer service=\"s\"", EINVAL, "the Bearer challenge has no realm");
	check_err("Bearer", EINVAL, "the Bearer challenge has no realm");
	check_err("Bearer realm=\"/token\"", EINVAL, "realm \"/token\" is not an http(s) URL");
	check_err("Bearer realm=\"ftp://a/t\"", EINVAL, "not an http(s) URL");
	check_err("Bearer realm=\"https://a/t", EINVAL, "unterminated quoted string at offset 13");
	check_err("Bearer realm=\"https://a/t\\", EINVAL, "unterminated quoted string");
	check_err("Bearer realm=\"a\x01\"", EINVAL, "control character in a quoted string");
	check_err("Bearer realm=\"https://a/t\" service=s", EINVAL,
		  "expected ',' after parameter \"realm\", found 's'");
	check_err("Bearer realm", EINVAL, "the Bearer challenge has no realm"); /* a token68 */
	check_err("Bearer realm=", EINVAL, "no realm");                         /* also one */
	check_err("Bearer service=x, realm=,scope=y", EINVAL, "parameter \"realm\" has no value");
	/* "realm=" alone is a token68, so what follows is another challenge. */
	check_err("Bearer realm=,service=x", EINVAL, "expected a space after the scheme \"service\"");
	check_err("Bearer realm=a\"b", EINVAL, "'\"' in the value of parameter \"realm\"");
	check_err("Bearer realm=\"https://a/t\", realm=\"https://b/t\"", EINVAL,
		  "parameter \"realm\" given twice");
	check_err("Bearer =x", EINVAL, "expected a parameter name at offset 7, found '='");
	check_err("Bearer realm=\"https://a/t\", =x", EINVAL, "expected an authentication scheme");
	check_err("\"Bearer\"", EINVAL, "expected an authentication scheme at offset 0");
	check_err("Bearer(realm=x)", EINVAL, "expected a space after the scheme \"Bearer\"");
	check_err("Negotiate abc==", ENOTSUP, "no Basic or Bearer challenge");
	check_err("Digest realm=\"x\", nonce=\"y\"", ENOTSUP, "no Basic or Bearer challenge");
	check_err("Bearer realm=\"https://a/t\"\n", EINVAL, "byte 0x0a");
	/* The message quotes the header escaped and truncated. */
	check_err("Bearer realm=\"\xff\"", EINVAL, "\"Bearer realm=\\\"\\xff\\\"\"");
	big = malloc(AUTH_HEADER_MAX + 2);
	memset(big, 'a', AUTH_HEADER_MAX + 1);
	big[AUTH_HEADER_MAX + 1] = '\0';
	check_err(big, EINVAL, "aaa...\": longer than 16384 bytes");
	free(big);
}

/* ---- docker config.json ---- */

static int lookup(const char *json, const char *host, char **user, char **secret,
		  struct ember_error *e)
{
	/* Exactly len bytes, no NUL after them, so ASan sees over-reads. */
	size_t len = strlen(json);
	char *copy = malloc(len ? len : 1);
	int r;

	memcpy(copy, json, len);
	r = auth_dockercfg_lookup(copy, len, host, user, secret, e);
	free(copy);
	return r;
}

static void cfg_ok(const char *json, const char *host, const char *user, const char *secret)
{
	struct ember_error e = { 0 };
	char *u, *s;

	if (lookup(json, host, &u, &s, &e) != 0)
		fail_msg("%s in %s: %s", host, json, e.code ? e.message : "not found");
	assert_string_equal(u, user);
	assert_string_equal(s, secret);
	free(u);
	free(s);
}

static void cfg_none(const char *json, const char *host)
{
	struct ember_error e = { 0 };
	char *u = (char *)1, *s = (char *)1;

	assert_int_equal(lookup(json, host, &u, &s, &e), 1);
	assert_null(u);
	assert_null(s);
	assert_int_equal(e.code, 0);
}

static void cfg_err(const char *json, const char *host, const char *what)
{
	struct ember_error e = { 0 };
	char *u = (char *)1, *s = (char *)1;

	assert_true(lookup(json, host, &u, &s, &e) < 0);
	assert_int_equal(e.code, EINVAL);
	assert_msg_contains(&e, "docker config: ");
	assert_msg_contains(&e, what);
	/* Never the secret. */
	assert_null(strstr(e.message, "hunter2"));
	assert_null(strstr(e.message, "aHVudGVy"));
	assert_null(u);
	assert_null(s);
}

/* base64("alice:hunter2"), base64("bob:pa:ss") */
#define ALICE "YWxpY2U6aHVudGVyMg=="
#define BOB "Ym9iOnBhOnNz"

static void test_dockercfg_keys(void **state)
{
	(void)state;
	cfg_ok("{\"auths\": {\"reg.example:5000\": {\"auth\": \"" ALICE "\"}}}", "reg.example:5000",
	       "alice", "hunter2");
	cfg_ok("{\"auths\": {\"https://reg.example:5000\": {\"auth\": \"" ALICE "\"}}}",
	       "reg.example:5000", "alice", "hunter2");
	cfg_ok("{\"auths\": {\"http://reg.example/v2/\": {\"auth\": \"" ALICE "\"}}}", "reg.example",
	       "alice", "hunter2");
	cfg_ok("{\"auths\": {\"HTTPS://Reg.Example/v1/\": {\"auth\": \"" ALICE "\"}}}", "reg.example",
	       "alice", "hunter2");
	/* Docker Hub under any of its names. */
	cfg_ok("{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"" ALICE "\"}}}", "docker.io",
	       "alice", "hunter2");
	cfg_ok("{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"" ALICE "\"}}}",
	       "registry-1.docker.io", "alice", "hunter2");
	cfg_ok("{\"auths\": {\"docker.io\": {\"auth\": \"" ALICE "\"}}}", "index.docker.io", "alice",
	       "hunter2");
	/* A password may hold ':'; the split is at the first one. */
	cfg_ok("{\"auths\": {\"r\": {\"auth\": \"" BOB "\"}}}", "r", "bob", "pa:ss");
	/* An exact key wins over an earlier one that only normalises the same. */
	cfg_ok("{\"auths\": {\"https://r/v1/\": {\"auth\": \"" BOB "\"}, \"r\": {\"auth\": \"" ALICE
	       "\"}}}",
	       "r", "alice", "hunter2");
	/* For Docker Hub, the key that is the host and the one Docker writes are both exact. */
	cfg_ok("{\"auths\": {\"docker.io\": {\"auth\": \"" BOB "\"}, \"https://index.docker.io/v1/\":"
	       " {\"auth\": \"" ALICE "\"}}}",
	       "docker.io", "bob", "pa:ss");
	cfg_ok("{\"auths\": {\"index.docker.io\": {\"auth\": \"" BOB "\"}, \"https://index.docker.io/v1/\":"
	       " {\"auth\": \"" ALICE "\"}}}",
	       "docker.io", "alice", "hunter2");
	/* Not a prefix match, not another port. */
	cfg_none("{\"auths\": {\"reg.example.com\": {\"auth\": \"" ALICE "\"}}}", "reg.example");
	cfg_none("{\"auths\": {\"reg:5000\": {\"auth\": \"" ALICE "\"}}}", "reg");
	cfg_none("{\"auths\": {\"reg\": {\"auth\": \"" ALICE "\"}}}", "reg:5000");
	cfg_none("{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"" ALICE "\"}}}", "quay.io");
	/* Malformed entries of other hosts are not looked at. */
	cfg_ok("{\"auths\": {\"other\": 5, \"r\": {\"auth\": \"" ALICE "\"}}}", "r", "alice", "hunter2");
}

static void test_dockercfg_forms(void **state)
{
	(void)state;
	cfg_ok("{\"auths\": {\"r\": {\"username\": \"carol\", \"password\": \"hunter2\"}}}", "r", "carol",
	       "hunter2");
	cfg_ok("{\"auths\": {\"r\": {\"username\": \"carol\"}}}", "r", "carol", "");
	cfg_ok("{\"auths\": {\"r\": {\"identitytoken\": \"tok-123\"}}}", "r", "", "tok-123");
	/* identitytoken > auth > username/password */
	cfg_ok("{\"auths\": {\"r\": {\"auth\": \"" ALICE "\", \"identitytoken\": \"tok\"}}}", "r", "",
	       "tok");
	cfg_ok("{\"auths\": {\"r\": {\"auth\": \"" ALICE "\", \"username\": \"x\", \"password\": \"y\"}}}",
	       "r", "alice", "hunter2");
	cfg_ok("{\"auths\": {\"r\": {\"auth\": \"\", \"username\": \"x\", \"password\": \"y\"}}}", "r",
	       "x", "y");
	/* Unpadded base64 is accepted; unknown members are ignored. */
	cfg_ok("{\"auths\": {\"r\": {\"auth\": \"YWxpY2U6aHVudGVyMg\", \"email\": \"a@b\"}},"
	       " \"credsStore\": \"desktop\", \"HttpHeaders\": {}}",
	       "r", "alice", "hunter2");
	/* Nothing usable: a credential-helper placeholder, no auths, no entry. */
	cfg_none("{\"auths\": {\"r\": {}}, \"credsStore\": \"desktop\"}", "r");
	cfg_none("{\"auths\": {\"r\": {\"email\": \"a@b\", \"identitytoken\": \"\"}}}", "r");
	cfg_none("{\"credHelpers\": {\"r\": \"ecr-login\"}}", "r");
	cfg_none("{}", "r");
	cfg_none("{\"auths\": null}", "r");
}

static void test_dockercfg_errors(void **state)
{
	struct ember_error e = { 0 };
	char *u, *s, *big;

	(void)state;
	cfg_err("", "r", "invalid JSON at line 1");
	cfg_err("{\"auths\": {\"r\": {\"auth\": \"aHVudGVy\"", "r", "invalid JSON");
	cfg_err("{\"auths\": {\"r\": {\"auth\": hunter2}}}", "r", "invalid JSON at line 1, column");
	cfg_err("[]", "r", "the top level is not an object");
	cfg_err("{\"auths\": []}", "r", "\"auths\" is not an object");
	cfg_err("{\"auths\": {\"r\": \"aHVudGVy\"}}", "r", "the entry for \"r\" is not an object");
	cfg_err("{\"auths\": {\"r\": {\"auth\": 5}}}", "r", "\"auth\" of \"r\" is not a string");
	cfg_err("{\"auths\": {\"r\": {\"username\": [\"hunter2\"]}}}", "r", "\"username\" of \"r\"");
	cfg_err("{\"auths\": {\"r\": {\"password\": true}}}", "r", "\"password\" of \"r\" is not a string");
	cfg_err("{\"auths\": {\"r\": {\"identitytoken\": {}}}}", "r", "\"identitytoken\" of \"r\"");
	cfg_err("{\"auths\": {\"r\": {\"auth\": \"aHVudGVy!\"}}}", "r",
		"\"auth\" of \"r\": invalid base64: character outside the alphabet at offset 8");
	/* base64("hunter2"): no ':' */
	cfg_err("{\"auths\": {\"r\": {\"auth\": \"aHVudGVyMg==\"}}}", "r", "is not base64 of user:password");
	/* base64(":hunter2") */
	cfg_err("{\"auths\": {\"r\": {\"auth\": \"Omh1bnRlcjI=\"}}}", "r", "empty user name");
	/* base64("a\0:hunter2") */
	cfg_err("{\"auths\": {\"r\": {\"auth\": \"YQA6aHVudGVyMg==\"}}}", "r", "holds a NUL byte");
	cfg_err("{\"auths\": {\"r\": {\"auth\": \"" ALICE "\"}}}", "", "no registry host");
	assert_true(auth_dockercfg_lookup("{}", 2, NULL, &u, &s, &e) < 0);
	assert_true(auth_dockercfg_lookup(NULL, 5, "r", &u, &s, &e) < 0);
	big = malloc(AUTH_DOCKERCFG_MAX + 1);
	memset(big, ' ', AUTH_DOCKERCFG_MAX + 1);
	big[0] = '{';
	big[AUTH_DOCKERCFG_MAX] = '}';
	assert_int_equal(auth_dockercfg_lookup(big, AUTH_DOCKERCFG_MAX + 1, "r", &u, &s, &e), -EINVAL);
	assert_msg_contains(&e, "larger than 1048576 bytes");
	big[AUTH_DOCKERCFG_MAX - 1] = '}';
	assert_int_equal(auth_dockercfg_lookup(big, AUTH_DOCKERCFG_MAX, "r", &u, &s, &e), 1);
	free(big);
}

/* ---- token responses ---- */

static void token_ok(const char *json, const char *token, long expires)
{
	struct ember_error e = { 0 };
	char *t;
	long x = -1;

	if (auth_token_parse(json, strlen(json), &t, &x, &e) < 0)
		fail_msg("%s: %s", json, e.message);
	assert_string_equal(t, token);
	assert_int_equal(x, expires);
	free(t);
}

static void token_err(const char *json, size_t len, const char *what)
{
	struct ember_error e = { 0 };
	char *t = (char *)1;

	assert_true(auth_token_parse(json, len, &t, NULL, &e) < 0);
	assert_int_equal(e.code, EINVAL);
	assert_msg_contains(&e, "token response: ");
	assert_msg_contains(&e, what);
	assert_null(strstr(e.message, "s3cr3t"));
	assert_null(t);
}

#define TOKEN_ERR(json, what) token_err(json, strlen(json), what)

static void test_token(void **state)
{
	struct ember_error e = { 0 };
	char *t, *big, *json;

	(void)state;
	token_ok("{\"token\": \"abc.def.ghi\"}", "abc.def.ghi", 60);
	token_ok("{\"access_token\": \"xyz\", \"expires_in\": 300}", "xyz", 300);
	token_ok("{\"token\": \"t1\", \"access_token\": \"t2\", \"expires_in\": 3600,"
		 " \"issued_at\": \"2024-01-01T00:00:00Z\", \"refresh_token\": \"r\"}",
		 "t1", 3600);
	/* An empty token falls back to access_token. */
	token_ok("{\"token\": \"\", \"access_token\": \"t2\"}", "t2", 60);
	token_ok("{\"token\": null, \"access_token\": \"t2\"}", "t2", 60);
	/* Lifetimes: under 60 s is raised to 60, absurd ones are capped, reals truncate. */
	token_ok("{\"token\": \"t\", \"expires_in\": 10}", "t", 60);
	token_ok("{\"token\": \"t\", \"expires_in\": -5}", "t", 60);
	token_ok("{\"token\": \"t\", \"expires_in\": 0}", "t", 60);
	token_ok("{\"token\": \"t\", \"expires_in\": 120.9}", "t", 120);
	token_ok("{\"token\": \"t\", \"expires_in\": 99999999999999}", "t", AUTH_TOKEN_MAX_EXPIRES);
	token_ok("{\"token\": \"t\", \"expires_in\": 1e300}", "t", AUTH_TOKEN_MAX_EXPIRES);
	token_ok("{\"token\": \"t\", \"expires_in\": null}", "t", 60);

	TOKEN_ERR("{}", "no \"token\" or \"access_token\"");
	TOKEN_ERR("{\"token\": \"\"}", "no \"token\"");
	TOKEN_ERR("{\"token\": \"\", \"access_token\": \"\"}", "no \"token\"");
	TOKEN_ERR("{\"token\": 5}", "\"token\" is not a string");
	TOKEN_ERR("{\"token\": {\"a\": \"s3cr3t\"}}", "\"token\" is not a string");
	TOKEN_ERR("{\"token\": \"s3cr3t\", \"access_token\": []}", "\"access_token\" is not a string");
	TOKEN_ERR("{\"token\": \"s3cr3t\", \"expires_in\": \"300\"}", "\"expires_in\" is not a number");
	TOKEN_ERR("{\"token\": \"s3cr3t\\r\\nX-Evil: 1\"}", "cannot go in an HTTP header");
	TOKEN_ERR("{\"token\": \"s3 cr3t\"}", "cannot go in an HTTP header");
	TOKEN_ERR("{\"token\": \"s3cr3t\\u00e9\"}", "cannot go in an HTTP header");
	TOKEN_ERR("{\"token\": \"s3cr3t\\u0000\"}", "invalid JSON");
	TOKEN_ERR("[\"s3cr3t\"]", "not a JSON object");
	TOKEN_ERR("{\"token\": \"s3cr3t\"", "invalid JSON at line 1");
	TOKEN_ERR("<html>s3cr3t</html>", "invalid JSON");
	token_err(NULL, 3, "no input");

	/* 64 KiB is the largest token. */
	big = malloc(AUTH_TOKEN_MAX + 2);
	memset(big, 'a', AUTH_TOKEN_MAX + 1);
	big[AUTH_TOKEN_MAX] = '\0';
	assert_int_equal(asprintf(&json, "{\"token\": \"%s\"}", big) > 0, 1);
	assert_int_equal(auth_token_parse(json, strlen(json), &t, NULL, &e), 0);
	assert_int_equal(strlen(t), AUTH_TOKEN_MAX);
	free(t);
	free(json);
	big[AUTH_TOKEN_MAX] = 'a';
	big[AUTH_TOKEN_MAX + 1] = '\0';
	assert_int_equal(asprintf(&json, "{\"token\": \"%s\"}", big) > 0, 1);
	token_err(json, strlen(json), "the token is longer than 65536 bytes");
	free(json);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_unpadded_and_binary),
		cmocka_unit_test(test_base64_invalid),
		cmocka_unit_test(test_challenge_docker),
		cmocka_unit_test(test_challenge_syntax),
		cmocka_unit_test(test_challenge_multiple),
		cmocka_unit_test(test_challenge_errors),
		cmocka_unit_test(test_dockercfg_keys),
		cmocka_unit_test(test_dockercfg_forms),
		cmocka_unit_test(test_dockercfg_errors),
		cmocka_unit_test(test_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
