/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/toml.h"

/*
 * Every input is copied into a heap buffer of exactly its length, with no
 * NUL after it, so AddressSanitizer catches any read past `len`.
 *
 * Expected JSON is written with ` for " to keep it readable.
 */

static char *dup_exact(const char *s, size_t len)
{
	char *d = malloc(len ? len : 1);

	assert_non_null(d);
	memcpy(d, s, len);
	return d;
}

static json_t *expected_json(const char *text)
{
	char *s = strdup(text);
	json_error_t jerr;
	json_t *j;

	assert_non_null(s);
	for (char *q = s; *q; q++)
		if (*q == '`')
			*q = '"';
	j = json_loads(s, 0, &jerr);
	if (!j)
		fail_msg("bad expected JSON %s: %s", s, jerr.text);
	free(s);
	return j;
}

static void check_ok(int line, const char *toml, size_t len, const char *json)
{
	struct ember_error e = { 0 };
	char *in = dup_exact(toml, len);
	json_t *got = toml_parse(in, len, "t.toml", &e);
	json_t *want = expected_json(json);

	free(in);
	if (!got)
		fail_msg("line %d: parse failed: %s", line, e.message);
	assert_int_equal(e.code, 0);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
		char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);

		fprintf(stderr, "line %d:\n  got:  %s\n  want: %s\n", line, g, w);
		free(g);
		free(w);
		fail_msg("line %d: unexpected JSON", line);
	}
	json_decref(got);
	json_decref(want);
}

/* pos is "line:col"; what must occur in the message after the position. */
static void check_err(int line, const char *toml, size_t len, const char *pos, const char *what)
{
	struct ember_error e = { 0 };
	char *in = dup_exact(toml, len);
	json_t *got = toml_parse(in, len, "t.toml", &e);
	char prefix[64];

	free(in);
	if (got) {
		char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);

		fprintf(stderr, "line %d: parsed as %s\n", line, g);
		free(g);
		json_decref(got);
		fail_msg("line %d: expected an error", line);
	}
	assert_int_equal(e.code, EINVAL);
	snprintf(prefix, sizeof(prefix), "t.toml:%s: ", pos);
	if (strncmp(e.message, prefix, strlen(prefix)) != 0 || !strstr(e.message, what))
		fail_msg("line %d: message \"%s\", want \"%s...%s\"", line, e.message, prefix,
			 what);
	if (strchr(e.message, '\n'))
		fail_msg("line %d: message has a line break: %s", line, e.message);
}

#define OK(toml, json) check_ok(__LINE__, toml, sizeof(toml) - 1, json)
#define ERR(toml, pos, what) check_err(__LINE__, toml, sizeof(toml) - 1, pos, what)

/* A heap string made of `n` copies of `unit` between `head` and `tail`. */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1), *o = s;

	assert_non_null(s);
	memcpy(o, head, hl);
	o += hl;
	for (size_t i = 0; i < n; i++, o += ul)
		memcpy(o, unit, ul);
	memcpy(o, tail, tl + 1);
	return s;
}

/* ---- valid input ---- */

static void test_empty_and_comments(void **state)
{
	(void)state;
	OK("", "{}");
	OK("\n\n  \t\n", "{}");
	OK("# only a comment", "{}");
	OK("# comment\n\n# another one \t with tab\n", "{}");
	OK("a = 1 # trailing comment", "{`a`: 1}");
	OK("a = 1#no space", "{`a`: 1}");
	OK("# comment with ünïcödé and \"quotes\" and 'x' and #\na = 1\n", "{`a`: 1}");
	OK("\r\n\r\na = 1\r\n# c\r\nb = 2\r\n", "{`a`: 1, `b`: 2}");
	OK("\xEF\xBB\xBF"
	   "a = 1\n",
	   "{`a`: 1}");
	OK("  \t a\t=\t1  \t\n", "{`a`: 1}");
}

static void test_keys(void **state)
{
	(void)state;
	OK("key = 1\nbare_key = 2\nbare-key = 3\n1234 = 4\nA-Z_09 = 5",
	   "{`key`: 1, `bare_key`: 2, `bare-key`: 3, `1234`: 4, `A-Z_09`: 5}");
	OK("true = 1\nfalse = 2\ninf = 3", "{`true`: 1, `false`: 2, `inf`: 3}");
	OK("\"127.0.0.1\" = 1\n\"character encoding\" = 2\n\"ʎǝʞ\" = 3\n'key2' = 4\n"
	   "'quoted \"value\"' = 5",
	   "{`127.0.0.1`: 1, `character encoding`: 2, `ʎǝʞ`: 3, `key2`: 4, "
	   "`quoted \\`value\\``: 5}");
	OK("\"\" = 1", "{``: 1}");
	OK("'' = 1", "{``: 1}");
	OK("\"a\\tb\\u00e9\" = 1", "{`a\\tb\u00e9`: 1}");
	OK("name = 1\nphysical.color = 2\nphysical.shape = 3\nsite.\"google.com\" = true",
	   "{`name`: 1, `physical`: {`color`: 2, `shape`: 3}, `site`: {`google.com`: true}}");
	OK("fruit . color = 1\nfruit\t.\tflavor = 2", "{`fruit`: {`color`: 1, `flavor`: 2}}");
	OK("3.14159 = 'pi'", "{`3`: {`14159`: `pi`}}");
	OK("a.b.c = 1\na.d = 2\na.b.e = 3", "{`a`: {`b`: {`c`: 1, `e`: 3}, `d`: 2}}");
	OK("a.'b.c'.\"d\" = 1", "{`a`: {`b.c`: {`d`: 1}}}");
}

static void test_tables(void **state)
{
	(void)state;
	OK("[table]", "{`table`: {}}");
	OK("[table-1]\nkey1 = 'x'\nkey2 = 1\n\n[table-2]\nkey1 = 'y'\n",
	   "{`table-1`: {`key1`: `x`, `key2`: 1}, `table-2`: {`key1`: `y`}}");
	OK("top = 0\n[a]\nx = 1\n[b]\nx = 2", "{`top`: 0, `a`: {`x`: 1}, `b`: {`x`: 2}}");
	OK("[dog.\"tater.man\"]\ntype.name = 'pug'",
	   "{`dog`: {`tater.man`: {`type`: {`name`: `pug`}}}}");
	OK("[ a . b . c ]\n[ d.'e'.\"f\" ]\n[ g . h ]  # comment",
	   "{`a`: {`b`: {`c`: {}}}, `d`: {`e`: {`f`: {}}}, `g`: {`h`: {}}}");
	/* An implicit parent may be defined later, once. */
	OK("[x.y.z.w]\n[x]\na = 1", "{`x`: {`a`: 1, `y`: {`z`: {`w`: {}}}}}");
	OK("[a.b]\nc = 1\n[a]\nd = 2", "{`a`: {`b`: {`c`: 1}, `d`: 2}}");
	/* Sub-tables of a table made by dotted keys. */
	OK("[fruit]\napple.color = 'red'\napple.taste.sweet = true\n[fruit.apple.texture]\n"
	   "smooth = true",
	   "{`fruit`: {`apple`: {`color`: `red`, `taste`: {`sweet`: true}, "
	   "`texture`: {`smooth`: true}}}}");
	OK("a.b = 1\n[a.c]\nd = 2", "{`a`: {`b`: 1, `c`: {`d`: 2}}}");
	/* Dotted keys may define a parent that a header only implied. */
	OK("[a.b.c]\n[a]\nb.d = 1", "{`a`: {`b`: {`c`: {}, `d`: 1}}}");
	OK("[host.\"https://mirror:5000\"]\nca = 'x'\n[host.\"https://mirror:5000\".header]\n"
	   "a = 'b'",
	   "{`host`: {`https://mirror:5000`: {`ca`: `x`, `header`: {`a`: `b`}}}}");
	OK("[a]\n[b]\n[a.c]", "{`a`: {`c`: {}}, `b`: {}}");
}

static void test_array_of_tables(void **state)
{
	(void)state;
	OK("[[products]]\nname = 'Hammer'\nsku = 738594937\n\n[[products]]\n\n"
	   "[[products]]\nname = 'Nail'\ncolor = 'gray'",
	   "{`products`: [{`name`: `Hammer`, `sku`: 738594937}, {}, "
	   "{`name`: `Nail`, `color`: `gray`}]}");
	OK("[[fruits]]\nname = 'apple'\n[fruits.physical]\ncolor = 'red'\n"
	   "[[fruits.varieties]]\nname = 'red delicious'\n[[fruits.varieties]]\n"
	   "name = 'granny smith'\n[[fruits]]\nname = 'banana'\n[[fruits.varieties]]\n"
	   "name = 'plantain'",
	   "{`fruits`: [{`name`: `apple`, `physical`: {`color`: `red`}, "
	   "`varieties`: [{`name`: `red delicious`}, {`name`: `granny smith`}]}, "
	   "{`name`: `banana`, `varieties`: [{`name`: `plantain`}]}]}");
	OK("[[a.b]]\nx = 1\n[a]\ny = 2", "{`a`: {`b`: [{`x`: 1}], `y`: 2}}");
	OK("[[ a . b ]]\n[[a.b]]", "{`a`: {`b`: [{}, {}]}}");
	OK("[[a]]\nb.c = 1\n[a.b.d]\ne = 2", "{`a`: [{`b`: {`c`: 1, `d`: {`e`: 2}}}]}");
}

static void test_basic_strings(void **state)
{
	(void)state;
	OK("s = \"I'm a string.\"", "{`s`: `I'm a string.`}");
	OK("s = \"\"", "{`s`: ``}");
	OK("s = \"\\b\\t\\n\\f\\r\\\"\\\\\"", "{`s`: `\\b\\t\\n\\f\\r\\`\\\\`}");
	OK("s = \"\\u0041\\u00e9\\u00E9\\u20AC\\uFFFF\"", "{`s`: `A\u00e9\u00e9\u20ac\\uffff`}");
	OK("s = \"\\U0001F600\\U0010FFFF\\U00000041\"",
	   "{`s`: `\\ud83d\\ude00\\udbff\\udfff\\u0041`}");
	OK("s = \"\\u0001\\u001f\\u007f\"", "{`s`: `\\u0001\\u001f\\u007f`}");
	OK("s = \"tab\there\"", "{`s`: `tab\\there`}");
	OK("s = \"ünïcödé 😀\"", "{`s`: `ünïcödé 😀`}");
	OK("s = \"# not a comment\" # a comment", "{`s`: `# not a comment`}");
	OK("s = \"'single' inside\"", "{`s`: `'single' inside`}");
}

static void test_literal_strings(void **state)
{
	(void)state;
	OK("winpath = 'C:\\Users\\nodejs\\templates'",
	   "{`winpath`: `C:\\\\Users\\\\nodejs\\\\templates`}");
	OK("regex = '<\\i\\c*\\s*>'", "{`regex`: `<\\\\i\\\\c*\\\\s*>`}");
	OK("quoted = 'Tom \"Dubs\" Preston'", "{`quoted`: `Tom \\`Dubs\\` Preston`}");
	OK("s = ''", "{`s`: ``}");
	OK("s = 'tab\there'", "{`s`: `tab\\there`}");
}

static void test_multiline_strings(void **state)
{
	(void)state;
	/* A line break right after the delimiter is dropped; CRLF becomes LF. */
	OK("s = \"\"\"\nRoses\nViolets\"\"\"", "{`s`: `Roses\\nViolets`}");
	OK("s = \"\"\"\r\nRoses\r\nViolets\r\n\"\"\"", "{`s`: `Roses\\nViolets\\n`}");
	OK("s = \"\"\"\n\nx\"\"\"", "{`s`: `\\nx`}");
	OK("s = \"\"\"one line\"\"\"", "{`s`: `one line`}");
	OK("s = \"\"\"\"\"\"", "{`s`: ``}");
	/* Line-ending backslash. */
	OK("s = \"\"\"\nThe quick brown \\\n\n\n  fox jumps over \\\n    the lazy dog.\"\"\"",
	   "{`s`: `The quick brown fox jumps over the lazy dog.`}");
	OK("s = \"\"\"\\\n       The quick \\\r\n       brown.\\\n       \"\"\"",
	   "{`s`: `The quick brown.`}");
	OK("s = \"\"\"a \\   \t\n  b\"\"\"", "{`s`: `a b`}");
	OK("s = \"\"\"a\\\\\nb\"\"\"", "{`s`: `a\\\\\\nb`}");
	/* Quotes inside and right before the closing delimiter. */
	OK("s = \"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"",
	   "{`s`: `Here are two quotation marks: \\`\\`. Simple enough.`}");
	OK("s = \"\"\"Here are three quotation marks: \"\"\\\".\"\"\"",
	   "{`s`: `Here are three quotation marks: \\`\\`\\`.`}");
	OK("s = \"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"",
	   "{`s`: `\\`This,\\` she said, \\`is just a pointless statement.\\``}");
	OK("s = \"\"\"a\"\"\"\"\"", "{`s`: `a\\`\\``}");
	OK("s = \"\"\"tab\tand escapes \\t \\u00e9\"\"\"", "{`s`: `tab\\tand escapes \\t \u00e9`}");
	/* Literal multi-line. */
	OK("s = '''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n"
	   "   is preserved. \\ \\n\n'''",
	   "{`s`: `The first newline is\\ntrimmed in raw strings.\\n   All other "
	   "whitespace\\n   is preserved. \\\\ \\\\n\\n`}");
	OK("s = '''I [dw]on't need \\d{2} apples'''", "{`s`: `I [dw]on't need \\\\d{2} apples`}");
	OK("s = ''''That,' she said, 'is still pointless.''''",
	   "{`s`: `'That,' she said, 'is still pointless.'`}");
	OK("s = '''a'''''", "{`s`: `a''`}");
	OK("s = ''''''", "{`s`: ``}");
	OK("s = '''\r\nx\r\n'''", "{`s`: `x\\n`}");
	OK("a = [\"\"\"x\ny\"\"\", '''\nz''']", "{`a`: [`x\\ny`, `z`]}");
}

static void test_integers(void **state)
{
	(void)state;
	OK("a = 99\nb = 42\nc = 0\nd = -17\ne = +99",
	   "{`a`: 99, `b`: 42, `c`: 0, `d`: -17, `e`: 99}");
	OK("a = +0\nb = -0", "{`a`: 0, `b`: 0}");
	OK("a = 1_000\nb = 5_349_221\nc = 53_49_221\nd = 1_2_3_4_5",
	   "{`a`: 1000, `b`: 5349221, `c`: 5349221, `d`: 12345}");
	OK("a = 0xDEADBEEF\nb = 0xdeadbeef\nc = 0xdead_beef\nd = 0x00ff",
	   "{`a`: 3735928559, `b`: 3735928559, `c`: 3735928559, `d`: 255}");
	OK("a = 0o01234567\nb = 0o755\nc = 0b11010110\nd = 0b1_0\ne = 0x0",
	   "{`a`: 342391, `b`: 493, `c`: 214, `d`: 2, `e`: 0}");
	OK("max = 9223372036854775807\nmin = -9223372036854775808",
	   "{`max`: 9223372036854775807, `min`: -9223372036854775808}");
	OK("a = 0x7FFFFFFFFFFFFFFF\nb = 0o777777777777777777777\n"
	   "c = 0b111111111111111111111111111111111111111111111111111111111111111",
	   "{`a`: 9223372036854775807, `b`: 9223372036854775807, `c`: 9223372036854775807}");
	OK("a = 9_223_372_036_854_775_807", "{`a`: 9223372036854775807}");
}

static void test_booleans(void **state)
{
	(void)state;
	OK("t = true\nf = false", "{`t`: true, `f`: false}");
	OK("a = [true,false]", "{`a`: [true, false]}");
	OK("a = {t=true}", "{`a`: {`t`: true}}");
}

static void test_arrays(void **state)
{
	(void)state;
	OK("a = []", "{`a`: []}");
	OK("a = [ ]", "{`a`: []}");
	OK("a = [1, 2, 3]", "{`a`: [1, 2, 3]}");
	OK("a = [\"red\", 'yellow', \"\"\"green\"\"\"]", "{`a`: [`red`, `yellow`, `green`]}");
	OK("a = [ [ 1, 2 ], [3, 4, 5] ]", "{`a`: [[1, 2], [3, 4, 5]]}");
	OK("a = [ [ 1, 2 ], [\"a\", 'b', \"c\"] ]", "{`a`: [[1, 2], [`a`, `b`, `c`]]}");
	OK("a = [ 1, 'x', true, [2], { b = 3 } ]", "{`a`: [1, `x`, true, [2], {`b`: 3}]}");
	OK("a = [\n  1,\n  2, # comment\n  # another\n  3,\n]", "{`a`: [1, 2, 3]}");
	OK("a = [\r\n 1\r\n ,\r\n 2\r\n ]", "{`a`: [1, 2]}");
	OK("a = [1,]", "{`a`: [1]}");
	OK("a = [ # comment after bracket\n]", "{`a`: []}");
	OK("a = [[[[]]]]", "{`a`: [[[[]]]]}");
	OK("client = [[\"cert.pem\", \"key.pem\"]]", "{`client`: [[`cert.pem`, `key.pem`]]}");
	OK("points = [ { x = 1, y = 2, z = 3 },\n{ x = 7, y = 8, z = 9 } ]",
	   "{`points`: [{`x`: 1, `y`: 2, `z`: 3}, {`x`: 7, `y`: 8, `z`: 9}]}");
}

static void test_inline_tables(void **state)
{
	(void)state;
	OK("a = {}", "{`a`: {}}");
	OK("a = { }", "{`a`: {}}");
	OK("name = { first = \"Tom\", last = \"Preston-Werner\" }",
	   "{`name`: {`first`: `Tom`, `last`: `Preston-Werner`}}");
	OK("point = { x = 1, y = 2 }", "{`point`: {`x`: 1, `y`: 2}}");
	OK("animal = { type.name = \"pug\" }", "{`animal`: {`type`: {`name`: `pug`}}}");
	OK("a = { b.c = 1, b.d = 2, e = { f = [1, { g = 3 }] } }",
	   "{`a`: {`b`: {`c`: 1, `d`: 2}, `e`: {`f`: [1, {`g`: 3}]}}}");
	OK("a={x=1,y='z'}", "{`a`: {`x`: 1, `y`: `z`}}");
	/* A value inside may span lines. */
	OK("a = { b = [\n1,\n2\n], c = \"\"\"x\ny\"\"\" }", "{`a`: {`b`: [1, 2], `c`: `x\\ny`}}");
	OK("[t]\na.b = { c = 1 }", "{`t`: {`a`: {`b`: {`c`: 1}}}}");
}

static char *deep(const char *open, const char *close, size_t n)
{
	char *inner = repeat("a = ", open, n, "");
	char *s = repeat(inner, close, n, "");

	free(inner);
	return s;
}

static void test_depth_limit_ok(void **state)
{
	char *s, *json;

	(void)state;
	/* 64 nested arrays below the root are fine. */
	s = deep("[", "]", TOML_MAX_DEPTH);
	json = repeat("{`a`: ", "[", TOML_MAX_DEPTH, "");
	{
		char *full = repeat(json, "]", TOML_MAX_DEPTH, "}");

		check_ok(__LINE__, s, strlen(s), full);
		free(full);
	}
	free(s);
	free(json);

	/* 64 nested inline tables. */
	s = repeat("", "{a=", TOML_MAX_DEPTH, "");
	{
		char *t = repeat("a = ", "{a=", TOML_MAX_DEPTH - 1, "{}");
		char *u = repeat(t, "}", TOML_MAX_DEPTH - 1, "");
		char *j1 = repeat("{`a`: ", "{`a`: ", TOML_MAX_DEPTH - 1, "{}");
		char *j2 = repeat(j1, "}", TOML_MAX_DEPTH, "");

		check_ok(__LINE__, u, strlen(u), j2);
		free(t);
		free(u);
		free(j1);
		free(j2);
	}
	free(s);

	/* A key of 65 parts: 64 tables and a value. */
	s = repeat("", "a.", TOML_MAX_DEPTH, "a = 1");
	json = repeat("", "{`a`: ", TOML_MAX_DEPTH + 1, "1");
	{
		char *full = repeat(json, "}", TOML_MAX_DEPTH + 1, "");

		check_ok(__LINE__, s, strlen(s), full);
		free(full);
	}
	free(s);
	free(json);

	/* A header of 64 parts. */
	s = repeat("[", "a.", TOML_MAX_DEPTH - 1, "a]");
	json = repeat("", "{`a`: ", TOML_MAX_DEPTH, "{}");
	{
		char *full = repeat(json, "}", TOML_MAX_DEPTH, "");

		check_ok(__LINE__, s, strlen(s), full);
		free(full);
	}
	free(s);
	free(json);
}

static void test_size_limit_ok(void **state)
{
	char *s = malloc(TOML_MAX_SIZE);

	(void)state;
	assert_non_null(s);
	memset(s, '\n', TOML_MAX_SIZE);
	memcpy(s, "a = 1", 5);
	check_ok(__LINE__, s, TOML_MAX_SIZE, "{`a`: 1}");
	free(s);
}

static void test_ember_config(void **state)
{
	(void)state;
	OK("# /etc/ember/config.toml\n"
	   "root = \"/var/lib/ember\"\n"
	   "state = \"/run/ember\"\n"
	   "log-level = \"info\"   # debug, info, warn, error\n"
	   "\n"
	   "[api]\n"
	   "socket = \"/run/ember/ember.sock\"\n"
	   "group = \"ember\"\n"
	   "max-connections = 64\n"
	   "max-connections-per-uid = 16\n"
	   "call-timeout-seconds = 300\n"
	   "\n"
	   "[content]\n"
	   "gc.interval-seconds = 3_600\n"
	   "gc.keep-unreferenced = false\n"
	   "\n"
	   "[snapshotter]\n"
	   "default = 'overlay'\n"
	   "overlay.mount-options = [\"index=off\", \"metacopy=off\"]\n"
	   "\n"
	   "[registry]\n"
	   "config-path = \"/etc/ember/certs.d\"\n"
	   "mirrors = [\n"
	   "  \"https://mirror.local:5000\",  # LAN cache\n"
	   "  \"https://registry-1.docker.io\",\n"
	   "]\n"
	   "\n"
	   "[runtime]\n"
	   "default-umask = 0o022\n"
	   "cgroup.parent = \"/ember\"\n"
	   "cgroup.memory-max = 0x4000_0000\n"
	   "env = { PATH = \"/usr/sbin:/usr/bin:/sbin:/bin\", TERM = \"xterm\" }\n"
	   "\n"
	   "[[namespace]]\n"
	   "name = \"default\"\n"
	   "\n"
	   "[[namespace]]\n"
	   "name = \"ota\"\n"
	   "labels = { \"io.ember.owner\" = \"updater\" }\n"
	   "[namespace.limits]\n"
	   "containers = 8\n",
	   "{`root`: `/var/lib/ember`, `state`: `/run/ember`, `log-level`: `info`,"
	   " `api`: {`socket`: `/run/ember/ember.sock`, `group`: `ember`, `max-connections`: 64,"
	   "         `max-connections-per-uid`: 16, `call-timeout-seconds`: 300},"
	   " `content`: {`gc`: {`interval-seconds`: 3600, `keep-unreferenced`: false}},"
	   " `snapshotter`: {`default`: `overlay`,"
	   "                 `overlay`: {`mount-options`: [`index=off`, `metacopy=off`]}},"
	   " `registry`: {`config-path`: `/etc/ember/certs.d`,"
	   "              `mirrors`: [`https://mirror.local:5000`, "
	   "`https://registry-1.docker.io`]},"
	   " `runtime`: {`default-umask`: 18,"
	   "             `cgroup`: {`parent`: `/ember`, `memory-max`: 1073741824},"
	   "             `env`: {`PATH`: `/usr/sbin:/usr/bin:/sbin:/bin`, `TERM`: `xterm`}},"
	   " `namespace`: [{`name`: `default`},"
	   "               {`name`: `ota`, `labels`: {`io.ember.owner`: `updater`},"
	   "                `limits`: {`containers`: 8}}]}");
}

static void test_containerd_hosts(void **state)
{
	(void)state;
	OK("server = \"https://registry-1.docker.io\"    # Exclude this to not use upstream\n"
	   "\n"
	   "[host.\"https://public-mirror.example.com\"]\n"
	   "  capabilities = [\"pull\"]   # Requires less trust, won't resolve tag to digest\n"
	   "\n"
	   "[host.\"https://docker-mirror.internal:5000\"]\n"
	   "  capabilities = [\"pull\", \"resolve\"]\n"
	   "  ca = \"docker-mirror.crt\"    # Or absolute path /etc/containerd/certs.d/...\n"
	   "  client = [[\"/etc/certs/client.cert\", \"/etc/certs/client.key\"],"
	   "[\"/etc/certs/client2.cert\", \"/etc/certs/client2.key\"]]\n"
	   "  skip_verify = false\n"
	   "\n"
	   "[host.\"https://docker-mirror.internal:5000\".header]\n"
	   "  x-custom-2 = [\"value1\", \"value2\"]\n"
	   "  Authorization = \"Basic dXNlcjpwYXNz\"\n"
	   "\n"
	   "[host.\"http://192.168.31.250:5000\"]\n"
	   "  capabilities = [\"pull\", \"resolve\", \"push\"]\n"
	   "  skip_verify = true\n"
	   "  override_path = true\n"
	   "  ca = [\"/etc/certs/a.pem\", '/etc/certs/b.pem']\n",
	   "{`server`: `https://registry-1.docker.io`,"
	   " `host`: {"
	   "  `https://public-mirror.example.com`: {`capabilities`: [`pull`]},"
	   "  `https://docker-mirror.internal:5000`: {"
	   "    `capabilities`: [`pull`, `resolve`], `ca`: `docker-mirror.crt`,"
	   "    `client`: [[`/etc/certs/client.cert`, `/etc/certs/client.key`],"
	   "               [`/etc/certs/client2.cert`, `/etc/certs/client2.key`]],"
	   "    `skip_verify`: false,"
	   "    `header`: {`x-custom-2`: [`value1`, `value2`],"
	   "               `Authorization`: `Basic dXNlcjpwYXNz`}},"
	   "  `http://192.168.31.250:5000`: {"
	   "    `capabilities`: [`pull`, `resolve`, `push`], `skip_verify`: true,"
	   "    `override_path`: true, `ca`: [`/etc/certs/a.pem`, `/etc/certs/b.pem`]}}}");
}

/* ---- errors ---- */

static void test_err_unsupported(void **state)
{
	(void)state;
	ERR("a = 1.5", "1:5", "floats are not supported");
	ERR("a = 0.0", "1:5", "floats are not supported");
	ERR("a = -3.14", "1:5", "floats are not supported");
	ERR("a = 1e6", "1:5", "floats are not supported");
	ERR("a = 5E+22", "1:5", "floats are not supported");
	ERR("x = 1\na = [1, 2.5]", "2:9", "floats are not supported");
	ERR("a = inf", "1:5", "inf and nan are not supported");
	ERR("a = +inf", "1:5", "inf and nan are not supported");
	ERR("a = -inf", "1:5", "inf and nan are not supported");
	ERR("a = nan", "1:5", "inf and nan are not supported");
	ERR("a = -nan", "1:5", "inf and nan are not supported");
	ERR("a = 1979-05-27", "1:5", "dates and times are not supported");
	ERR("a = 1979-05-27T07:32:00Z", "1:5", "dates and times are not supported");
	ERR("a = 1979-05-27 07:32:00-08:00", "1:5", "dates and times are not supported");
	ERR("a = 07:32:00", "1:5", "dates and times are not supported");
	ERR("a = 00:32:00.999999", "1:5", "dates and times are not supported");
}

static void test_err_duplicates(void **state)
{
	(void)state;
	ERR("a = 1\na = 2", "2:1", "duplicate key 'a'");
	ERR("a = 1\n\"a\" = 2", "2:1", "duplicate key 'a'");
	ERR("a = 1\n'a' = 2", "2:1", "duplicate key 'a'");
	ERR("spelling = \"favorite\"\n\"spelling\" = \"favourite\"", "2:1",
	    "duplicate key 'spelling'");
	ERR("[t]\nx.y = 1\nx.y = 2", "3:3", "duplicate key 'x.y'");
	ERR("a = { b = 1, b = 2 }", "1:14", "duplicate key 'b'");
	ERR("a = [ { b = 1, c.d = 1, c.d = 2 } ]", "1:27", "duplicate key 'c.d'");
	ERR("[t]\n\"a b\" = 1\n'a b' = 2", "3:1", "duplicate key '\"a b\"'");
	/* A value, then a table of the same name. */
	ERR("a = 1\na.b = 2", "2:1", "cannot add to 'a' with dotted keys: it is a value");
	ERR("fruit.apple = 1\nfruit.apple.smooth = true", "2:7",
	    "cannot add to 'fruit.apple' with dotted keys: it is a value");
	ERR("a.b = 1\na = 2", "2:1", "duplicate key 'a'");
	ERR("[a]\nb = 1\n[a.b]", "3:4", "cannot define [a.b]: 'a.b' is a value");
	ERR("[a]\nb = 1\n[a.b.c]", "3:4", "cannot define [a.b.c]: 'a.b' is a value");
	ERR("[a]\nb = [1]\n[a.b.c]", "3:4", "cannot define [a.b.c]: 'a.b' is an array");
}

static void test_err_redefine(void **state)
{
	(void)state;
	ERR("[a]\n[a]", "2:1", "table [a] is already defined by an earlier header");
	ERR("[a]\nb = 1\n\n[a]\nc = 2", "4:1", "table [a] is already defined");
	ERR("[a.b]\n[a]\n[a]", "3:1", "table [a] is already defined");
	ERR("[a]\n[ \"a\" ]", "2:1", "table [a] is already defined");
	ERR("[fruit]\napple.color = 'red'\n[fruit.apple]", "3:1",
	    "table [fruit.apple] is already defined by dotted keys");
	ERR("[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]", "3:1",
	    "table [fruit.apple.taste] is already defined by dotted keys");
	ERR("[a.b.c]\nb = 1\n[a]\nb.d = 2\n[a.b]", "5:1",
	    "table [a.b] is already defined by dotted keys");
	ERR("a = {}\n[a]", "2:1", "table [a] is already defined as an inline table");
	ERR("[[a]]\n[a]", "2:1", "cannot define [a]: it is already an array of tables");
	ERR("[a]\n[[a]]", "2:1", "cannot define [[a]]: it is already a table");
	ERR("[a.b]\n[[a]]", "2:1", "cannot define [[a]]: it is already a table");
	ERR("a = []\n[[a]]", "2:3", "cannot define [[a]]: 'a' is an array");
	ERR("a = [{b = 1}]\n[[a]]", "2:3", "cannot define [[a]]: 'a' is an array");
	ERR("a = [{b = 1}]\n[a.c]", "2:2", "cannot define [a.c]: 'a' is an array");
	ERR("a = 1\n[[a]]", "2:3", "cannot define [[a]]: 'a' is a value");
	ERR("[[a.b]]\n[a]\nb.y = 2", "3:1",
	    "cannot add to 'b' with dotted keys: it is an array of tables");
}

static void test_err_extend_closed(void **state)
{
	(void)state;
	/* Dotted keys into a table defined by a header. */
	ERR("[a.b.c]\nz = 9\n[a]\nb.c.t = 1", "4:3",
	    "cannot add to 'b.c' with dotted keys: it is a table defined by a header");
	ERR("[a.b.c.d]\nz = 9\n[a]\nb.c.d.k.t = 1", "4:5",
	    "cannot add to 'b.c.d' with dotted keys: it is a table defined by a header");
	/* Inline tables are complete. */
	ERR("a = { b = 1 }\na.c = 2", "2:1",
	    "cannot add to 'a' with dotted keys: it is an inline table");
	ERR("a = { b = { c = 1 } }\n[a.b]", "2:2", "cannot define [a.b]: 'a' is an inline table");
	ERR("a = {}\n[a.b]", "2:2", "cannot define [a.b]: 'a' is an inline table");
	ERR("a = { b = {} }\n[[a.b.c]]", "2:3", "cannot define [[a.b.c]]: 'a' is an inline table");
	ERR("a = { b = { c = 1 }, b.d = 2 }", "1:22",
	    "cannot add to 'b' with dotted keys: it is an inline table");
	ERR("product = { type.name = \"Nail\", type = { edible = false } }", "1:33",
	    "duplicate key 'type'");
	/* Arrays. */
	ERR("a = [1]\na.b = 2", "2:1", "cannot add to 'a' with dotted keys: it is an array");
	ERR("[[a]]\n[b]\n[c]\n[x]\ny.z = 1\n[x.y.q]\n[x]", "7:1", "table [x] is already defined");
}

static void test_err_strings(void **state)
{
	(void)state;
	/* Unterminated. */
	ERR("a = \"abc", "1:5", "unterminated string");
	ERR("a = \"abc\nb = 1", "1:5", "unterminated string");
	ERR("a = 'abc", "1:5", "unterminated string");
	ERR("a = 'abc\r\n'", "1:5", "unterminated string");
	ERR("x = 1\na = \"\"\"abc\n\n", "2:5", "unterminated multi-line string");
	ERR("a = '''abc''", "1:5", "unterminated multi-line string");
	ERR("a = \"\"\"abc\\\"\"\"", "1:5", "unterminated multi-line string");
	ERR("a = \"\\", "1:6", "invalid escape sequence: backslash followed by end of input");
	ERR("[\"abc]", "1:2", "unterminated string");
	ERR("\"abc = 1", "1:1", "unterminated string");
	/* Too many quotes at the end of a multi-line string. */
	ERR("a = \"\"\"x\"\"\"\"\"\"", "1:9", "too many quotes");
	ERR("a = '''x''''''", "1:9", "too many quotes");
	ERR("a = \"\"\"x\"\"\"\"\"\"\"", "1:9", "too many quotes");
	/* Invalid escapes. */
	ERR("a = \"\\q\"", "1:6", "invalid escape sequence '\\q'");
	ERR("a = \"x\\x41\"", "1:7", "invalid escape sequence '\\x'");
	ERR("a = \"\\e\"", "1:6", "invalid escape sequence '\\e'");
	ERR("a = \"\\ \"", "1:6", "invalid escape sequence: backslash followed by a space");
	ERR("a = \"\\u12\"", "1:6", "'\\u' needs 4 hex digits");
	ERR("a = \"\\u12G4\"", "1:6", "'\\u' needs 4 hex digits");
	ERR("a = \"\\U0001F60\"", "1:6", "'\\U' needs 8 hex digits");
	ERR("a = \"\\uD800\"", "1:6", "'\\uD800' is not a Unicode scalar value");
	ERR("a = \"\\uDFFF\"", "1:6", "'\\uDFFF' is not a Unicode scalar value");
	ERR("a = \"\\U00110000\"", "1:6", "'\\U00110000' is not a Unicode scalar value");
	ERR("a = \"\\UFFFFFFFF\"", "1:6", "not a Unicode scalar value");
	ERR("a = \"\\u0000\"", "1:6", "(NUL) is not allowed");
	ERR("\"a\\u0000\" = 1", "1:3", "(NUL) is not allowed");
	ERR("a = \"\"\"\\q\"\"\"", "1:8", "invalid escape sequence '\\q'");
	ERR("a = \"\"\"x\\  y\"\"\"", "1:9", "backslash followed by a space");
	/* Control characters. */
	ERR("a = \"x\x01y\"", "1:7", "control character U+0001 in a string");
	ERR("a = \"x\x7fy\"", "1:7", "control character U+007F in a string");
	ERR("a = 'x\x1fy'", "1:7", "control character U+001F in a string");
	ERR("a = \"\"\"\nx\x08y\"\"\"", "2:2", "control character U+0008 in a string");
	ERR("a = '''\nx\x0cy'''", "2:2", "control character U+000C in a string");
	ERR("a = \"x\ry\"", "1:7", "control character U+000D in a string");
	ERR("a = \"\"\"x\ry\"\"\"", "1:9", "control character U+000D in a string");
	ERR("a = '''x\ry'''", "1:9", "control character U+000D in a string");
	ERR("# ok\n# bell \x07 here", "2:8", "control character U+0007 in a comment");
	ERR("a = 1 # del \x7f", "1:13", "control character U+007F in a comment");
	ERR("a = 1 # cr \r", "1:12", "control character U+000D in a comment");
	ERR("a = 1 # cr \rx\n", "1:12", "control character U+000D in a comment");
	ERR("a = [ # \x02\n]", "1:9", "control character U+0002 in a comment");
	/* Multi-line strings are no keys. */
	ERR("\"\"\"a\"\"\" = 1", "1:1", "multi-line strings cannot be keys");
	ERR("[t]\n'''a''' = 1", "2:1", "multi-line strings cannot be keys");
}

static void test_err_encoding(void **state)
{
	(void)state;
	ERR("a = \"\xff\"", "1:6", "invalid UTF-8 (byte 0xFF)");
	ERR("a = 1\n# \xc0\x80 overlong", "2:3", "invalid UTF-8 (byte 0xC0)");
	ERR("a = 'é\xe0\x80\x80'", "1:7", "invalid UTF-8 (byte 0xE0)");
	ERR("a = '\xed\xa0\x80'", "1:6", "invalid UTF-8 (byte 0xED)");
	ERR("a = '\xf4\x90\x80\x80'", "1:6", "invalid UTF-8 (byte 0xF4)");
	ERR("a = '\xf8\x88\x80\x80\x80'", "1:6", "invalid UTF-8 (byte 0xF8)");
	ERR("a = 1 # \xe2\x82", "1:9", "invalid UTF-8 (byte 0xE2)");
	ERR("\xe2\x82\xac\x80 = 1", "1:2", "invalid UTF-8 (byte 0x80)");
	ERR("ké\xff = 1", "1:3", "invalid UTF-8");
	/* NUL bytes anywhere. */
	ERR("a = 1\0", "1:6", "NUL byte in input");
	ERR("a = \"x\0y\"", "1:7", "NUL byte in input");
	ERR("\0", "1:1", "NUL byte in input");
	ERR("a = 1\n# comment\0", "2:10", "NUL byte in input");
	/* A carriage return must start a CRLF. */
	ERR("a = 1\r", "1:6", "found a carriage return without a line feed");
	ERR("a = 1\rb = 2", "1:6", "found a carriage return without a line feed");
	ERR("\r", "1:1", "expected a key, found a carriage return without a line feed");
	/* Unicode outside strings is no key. */
	ERR("é = 1", "1:1", "expected a key, found U+00E9");
	ERR("a\xc2\xa0= 1", "1:2", "expected '=' after key 'a', found U+00A0");
	/* Columns count characters, not bytes. */
	ERR("s = \"ĳé😀\" x", "1:11", "found 'x'");
	/* The byte order mark is not counted, and only allowed first. */
	ERR("\xEF\xBB\xBF"
	    "a = 1 x",
	    "1:7", "found 'x'");
	ERR("a = 1\n\xEF\xBB\xBF"
	    "b = 2",
	    "2:1", "expected a key, found U+FEFF");
}

static void test_err_integers(void **state)
{
	(void)state;
	ERR("a = 9223372036854775808", "1:5", "integer out of range");
	ERR("a = -9223372036854775809", "1:5", "integer out of range");
	ERR("a = 99999999999999999999999", "1:5", "integer out of range");
	ERR("a = 0x8000000000000000", "1:5", "integer out of range");
	ERR("a = 0o1000000000000000000000", "1:5", "integer out of range");
	ERR("a = 0b1000000000000000000000000000000000000000000000000000000000000000", "1:5",
	    "integer out of range");
	ERR("a = 0x1_0000_0000_0000_0000", "1:5", "integer out of range");
	ERR("a = 0123", "1:5", "leading zeros are not allowed");
	ERR("a = -01", "1:5", "leading zeros are not allowed");
	ERR("a = 0_1", "1:5", "leading zeros are not allowed");
	ERR("a = 1__2", "1:6", "'_' in an integer must be between digits");
	ERR("a = 1_", "1:6", "'_' in an integer must be between digits");
	ERR("a = _1", "1:5", "invalid value starting with '_'");
	ERR("a = 0x_1", "1:7", "expected hexadecimal digits, found '_'");
	ERR("a = 0x", "1:7", "expected hexadecimal digits, found end of input");
	ERR("a = 0o8", "1:7", "expected octal digits, found '8'");
	ERR("a = 0b2", "1:7", "expected binary digits, found '2'");
	ERR("a = 0b12", "1:8", "invalid character '2' in an integer");
	ERR("a = 0o19", "1:8", "invalid character '9' in an integer");
	ERR("a = 0xfg", "1:8", "invalid character 'g' in an integer");
	ERR("a = 0X10", "1:6", "invalid character 'X' in an integer");
	ERR("a = +0x10", "1:5", "a sign is not allowed on hexadecimal integers");
	ERR("a = -0o7", "1:5", "a sign is not allowed on octal integers");
	ERR("a = +0b1", "1:5", "a sign is not allowed on binary integers");
	ERR("a = +", "1:5", "invalid number");
	ERR("a = -_1", "1:5", "invalid number");
	ERR("a = +-1", "1:5", "invalid number");
	ERR("a = 12abc", "1:7", "invalid character 'a' in an integer");
	ERR("a = 1-2", "1:6", "invalid character '-' in an integer");
	ERR("a = 1 -2", "1:7", "expected the end of the line after a value, found '-'");
}

static void test_err_values(void **state)
{
	(void)state;
	/* Garbage after a value. */
	ERR("a = 1 2", "1:7", "expected the end of the line after a value, found '2'");
	ERR("a = \"x\" y", "1:9", "expected the end of the line after a value, found 'y'");
	ERR("a = 'x''y'", "1:8", "found '''");
	ERR("a = true false", "1:10", "found 'f'");
	ERR("a = [1] ]", "1:9", "found ']'");
	ERR("a = {} }", "1:8", "found '}'");
	ERR("a = 1,", "1:6", "found ','");
	ERR("a = 1 b = 2", "1:7", "found 'b'");
	ERR("a = \"\"\"x\"\"\" y", "1:13", "found 'y'");
	ERR("[a] b = 1", "1:5", "expected the end of the line after a table header, found 'b'");
	ERR("[[a]] x", "1:7", "after a table header, found 'x'");
	/* Bad values. */
	ERR("a = tru", "1:5", "invalid value starting with 't' (strings must be quoted)");
	ERR("a = trueish", "1:5", "invalid value starting with 't'");
	ERR("a = True", "1:5", "invalid value starting with 'T'");
	ERR("a = hello", "1:5", "invalid value starting with 'h' (strings must be quoted)");
	ERR("a = nothing", "1:5", "invalid value starting with 'n'");
	ERR("a = .5", "1:5", "invalid value starting with '.'");
	ERR("a = =", "1:5", "invalid value starting with '='");
	ERR("a = é", "1:5", "invalid value starting with U+00E9");
	/* A key without a value. */
	ERR("a =", "1:4", "missing value for key 'a'");
	ERR("a = ", "1:5", "missing value for key 'a'");
	ERR("a =\nb = 1", "1:4", "missing value for key 'a'");
	ERR("a = # comment", "1:5", "missing value for key 'a'");
	ERR("[t]\nx.y =\r\n", "2:6", "missing value for key 'x.y'");
	ERR("a", "1:2", "key 'a' has no value (expected '=')");
	ERR("a\nb = 1", "1:2", "key 'a' has no value");
	ERR("a.b # comment", "1:5", "key 'a.b' has no value");
	ERR("a b = 1", "1:3", "expected '=' after key 'a', found 'b'");
	ERR("a : 1", "1:3", "expected '=' after key 'a', found ':'");
	ERR("= 1", "1:1", "expected a key, found '='");
	ERR("a. = 1", "1:4", "expected a key, found '='");
	ERR("a..b = 1", "1:3", "expected a key, found '.'");
	ERR(".a = 1", "1:1", "expected a key, found '.'");
	ERR("a.b. = 1", "1:6", "expected a key, found '='");
	ERR("x = 1\n  ] = 2", "2:3", "expected a key, found ']'");
	ERR("a = { b }", "1:9", "expected '=' after key 'b', found '}'");
	ERR("a = { b = }", "1:11", "invalid value starting with '}'");
	ERR("a = [ 1, = ]", "1:10", "invalid value starting with '='");
}

static void test_err_arrays_inline(void **state)
{
	(void)state;
	ERR("a = [1, 2", "1:5", "unterminated array");
	ERR("a = [1, 2,\n# comment\n", "1:5", "unterminated array");
	ERR("a = [", "1:5", "unterminated array");
	ERR("a = [1 2]", "1:8", "expected ',' or ']' in an array, found '2'");
	ERR("a = [1\n2]", "2:1", "expected ',' or ']' in an array, found '2'");
	ERR("a = [,]", "1:6", "invalid value starting with ','");
	ERR("a = [1,,2]", "1:8", "invalid value starting with ','");
	ERR("a = [1;2]", "1:7", "expected ',' or ']' in an array, found ';'");
	ERR("a = [1}", "1:7", "found '}'");
	ERR("a = [\"x\r\"]", "1:8", "control character U+000D in a string");
	ERR("a = {", "1:5", "unterminated inline table");
	ERR("a = { b = 1", "1:5", "unterminated inline table");
	ERR("a = { b = 1,", "1:5", "unterminated inline table");
	ERR("a = { b = 1, }", "1:12", "trailing comma in an inline table");
	ERR("a = {b=1,}", "1:9", "trailing comma in an inline table");
	ERR("a = { , }", "1:7", "expected a key, found ','");
	ERR("a = { b = 1 c = 2 }", "1:13", "expected ',' or '}' in an inline table, found 'c'");
	ERR("a = { b = 1 ]", "1:13", "found ']'");
	ERR("a = {\n}", "1:6", "line break in an inline table");
	ERR("a = { b = 1,\nc = 2 }", "1:13", "line break in an inline table");
	ERR("a = { b = 1\n}", "1:12", "line break in an inline table");
	ERR("a = { b = 1 # c\n}", "1:13", "found '#'");
	ERR("a = { b =\n1 }", "1:10", "missing value for key 'b'");
}

static void test_err_headers(void **state)
{
	(void)state;
	ERR("[a", "1:3", "expected ']' to close the header, found end of input");
	ERR("[a\n]", "1:3", "expected ']' to close the header, found end of line");
	ERR("[a b]", "1:4", "expected ']' to close the header, found 'b'");
	ERR("[]", "1:2", "expected a key, found ']'");
	ERR("[ ]", "1:3", "expected a key, found ']'");
	ERR("[a.]", "1:4", "expected a key, found ']'");
	ERR("[.a]", "1:2", "expected a key, found '.'");
	ERR("[[a]", "1:5", "expected ']]' to close the header, found ']' and end of input");
	ERR("[[a", "1:4", "expected ']]' to close the header, found end of input");
	ERR("[[a] ]", "1:5", "expected ']]' to close the header, found ']' and a space");
	ERR("[[a]\n", "1:5", "found ']' and end of line");
	ERR("[[a]\t]", "1:5", "found ']' and a tab");
	ERR("[ [a]]", "1:3", "expected a key, found '['");
	ERR("[a]]", "1:4", "after a table header, found ']'");
	ERR("[a] = 1", "1:5", "after a table header, found '='");
	ERR("[a = 1]", "1:4", "expected ']' to close the header, found '='");
	ERR("[\"\"\"a\"\"\"]", "1:2", "multi-line strings cannot be keys");
}

static void test_err_depth(void **state)
{
	char *s;

	(void)state;
	/* 65 nested arrays. */
	s = deep("[", "]", TOML_MAX_DEPTH + 1);
	check_err(__LINE__, s, strlen(s), "1:69", "nesting deeper than 64 levels");
	free(s);
	/* Far deeper: the parser must stop early, not run out of stack. */
	s = repeat("a = ", "[", 100000, "");
	check_err(__LINE__, s, strlen(s), "1:69", "nesting deeper than 64 levels");
	free(s);
	s = repeat("a = ", "{a=", 100000, "");
	check_err(__LINE__, s, strlen(s), "1:197", "nesting deeper than 64 levels");
	free(s);
	s = repeat("a = ", "[{a=", 100000, "");
	check_err(__LINE__, s, strlen(s), "1:133", "nesting deeper than 64 levels");
	free(s);
	/* A key of 66 parts. */
	s = repeat("", "a.", TOML_MAX_DEPTH + 1, "a = 1");
	check_err(__LINE__, s, strlen(s), "1:131", "nesting deeper than 64 levels");
	free(s);
	s = repeat("", "a.", 100000, "a = 1");
	check_err(__LINE__, s, strlen(s), "1:131", "nesting deeper than 64 levels");
	free(s);
	/* A key of 65 parts with an array value. */
	s = repeat("", "a.", TOML_MAX_DEPTH, "a = []");
	check_err(__LINE__, s, strlen(s), "1:133", "nesting deeper than 64 levels");
	free(s);
	/* Dotted keys below a deep table. */
	s = repeat("[", "a.", TOML_MAX_DEPTH - 1, "a]\nb.c = 1");
	check_err(__LINE__, s, strlen(s), "2:1", "nesting deeper than 64 levels");
	free(s);
	/* A header of 65 parts. */
	s = repeat("[", "a.", TOML_MAX_DEPTH, "a]");
	check_err(__LINE__, s, strlen(s), "1:130", "nesting deeper than 64 levels");
	free(s);
}

static void test_err_depth_aot(void **state)
{
	char *s, *t;

	(void)state;
	/* [[a]] then [[a.a]] ... : 32 levels of arrays of tables = 64 levels. */
	s = malloc(1);
	assert_non_null(s);
	s[0] = '\0';
	for (int i = 1; i <= TOML_MAX_DEPTH / 2; i++) {
		char *h = repeat("[[", "a.", (size_t)i - 1, "a]]\n");

		t = repeat(s, "", 0, h);
		free(s);
		free(h);
		s = t;
	}
	{
		struct ember_error e = { 0 };
		json_t *j = toml_parse(s, strlen(s), "t.toml", &e);

		if (!j)
			fail_msg("%s", e.message);
		json_decref(j);
	}
	/* One more level of array of tables is too deep. */
	{
		char *h = repeat("[[", "a.", TOML_MAX_DEPTH / 2, "a]]\n");

		t = repeat(s, "", 0, h);
		free(h);
		check_err(__LINE__, t, strlen(t), "33:67", "nesting deeper than 64 levels");
		free(t);
	}
	/* A new table below the deepest element is too deep, as part of a header too. */
	t = repeat(s, "", 0, "");
	{
		char *h = repeat("[", "a.", TOML_MAX_DEPTH / 2, "x.y]\n");
		char *u = repeat(t, "", 0, h);

		check_err(__LINE__, u, strlen(u), "33:66", "nesting deeper than 64 levels");
		free(h);
		free(u);
	}
	free(t);
	/* A value below the deepest element may be a scalar, not a container. */
	t = repeat(s, "", 0, "x = 1\ny = [1]");
	check_err(__LINE__, t, strlen(t), "34:5", "nesting deeper than 64 levels");
	free(t);
	free(s);
}

static void test_err_size(void **state)
{
	char *s = malloc(TOML_MAX_SIZE + 1);

	(void)state;
	assert_non_null(s);
	memset(s, ' ', TOML_MAX_SIZE + 1);
	check_err(__LINE__, s, TOML_MAX_SIZE + 1, "1:1048577",
		  "input is larger than 1048576 bytes");
	memset(s, '\n', TOML_MAX_SIZE + 1);
	check_err(__LINE__, s, TOML_MAX_SIZE + 1, "1048577:1",
		  "input is larger than 1048576 bytes");
	free(s);
}

static void test_error_message_keys(void **state)
{
	(void)state;
	/* Keys in messages are written as TOML, control characters escaped. */
	ERR("\"a\\nb\" = 1\n\"a\\nb\" = 2", "2:1", "duplicate key '\"a\\u000Ab\"'");
	ERR("[\"x y\".z]\n[\"x y\".z]", "2:1", "table [\"x y\".z] is already defined");
	ERR("'a\"b' = 1\n'a\"b' = 2", "2:1", "duplicate key '\"a\\\"b\"'");
	ERR("\"\" = 1\n'' = 2", "2:1", "duplicate key '\"\"'");
	{
		/* Long keys are cut short, the message stays one line. */
		char *s = repeat("", "k", 1000, " = 1\n");
		char *t = repeat(s, "k", 1000, " = 2");
		struct ember_error e = { 0 };
		json_t *j = toml_parse(t, strlen(t), "t.toml", &e);

		assert_null(j);
		assert_int_equal(e.code, EINVAL);
		assert_non_null(strstr(e.message, "t.toml:2:1: duplicate key 'kkk"));
		assert_non_null(strstr(e.message, "...'"));
		assert_true(strlen(e.message) < 200);
		free(s);
		free(t);
	}
	{
		/* Cutting never splits a UTF-8 sequence. */
		char *s = repeat("\"", "é", 300, "\" = 1\n");
		char *t = repeat(s, "", 0, s);
		struct ember_error e = { 0 };
		json_t *j = toml_parse(t, strlen(t), "t.toml", &e);
		const char *dots;

		assert_null(j);
		dots = strstr(e.message, "...");
		assert_non_null(dots);
		assert_true((unsigned char)dots[-1] == 0xA9); /* second byte of é */
		free(s);
		free(t);
	}
	{
		/* Many long parts: cut at a part boundary. */
		char *k = repeat("", "k", 61, "");
		char *line = repeat("", "", 0, "");
		char *t;
		struct ember_error e = { 0 };

		for (int i = 0; i < 2; i++) {
			char *l2 = repeat(line, "", 0, k);
			char *l3 = repeat(l2, "", 0, ".");

			free(line);
			free(l2);
			line = l3;
		}
		t = repeat(line, "", 0, "x = 1\n");
		free(line);
		line = repeat(t, "", 0, t);
		assert_null(toml_parse(line, strlen(line), "t.toml", &e));
		assert_non_null(strstr(e.message, "t.toml:2:125: duplicate key 'kkk"));
		assert_non_null(strstr(e.message, "k.kkk"));
		assert_non_null(strstr(e.message, "...'"));
		free(k);
		free(t);
		free(line);
	}
	{
		/* NULL source reads as "<input>". */
		struct ember_error e = { 0 };

		assert_null(toml_parse("a = ", 4, NULL, &e));
		assert_string_equal(e.message, "<input>:1:5: missing value for key 'a'");
	}
}

/* ---- files ---- */

static char *temp_file(const char *content, size_t len)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *path = malloc(strlen(dir) + 32);
	int fd;

	assert_non_null(path);
	sprintf(path, "%s/test-toml-XXXXXX", dir);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, content + off, len - off);

		assert_true(n > 0);
		off += (size_t)n;
	}
	close(fd);
	return path;
}

static void test_file_ok(void **state)
{
	const char text[] = "server = \"https://r.example\"\n[host.\"https://m\"]\nca = 'c.pem'\n";
	char *path = temp_file(text, sizeof(text) - 1);
	struct ember_error e = { 0 };
	json_t *j = toml_parse_file(path, &e);
	json_t *want = expected_json(
		"{`server`: `https://r.example`, `host`: {`https://m`: {`ca`: `c.pem`}}}");

	(void)state;
	assert_non_null(j);
	assert_int_equal(e.code, 0);
	assert_true(json_equal(j, want));
	json_decref(j);
	json_decref(want);
	unlink(path);
	free(path);
}

static void test_file_empty(void **state)
{
	char *path = temp_file("", 0);
	struct ember_error e = { 0 };
	json_t *j = toml_parse_file(path, &e);

	(void)state;
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);
	unlink(path);
	free(path);
}

static void test_file_parse_error_names_path(void **state)
{
	const char text[] = "a = 1\nb = 2.5\n";
	char *path = temp_file(text, sizeof(text) - 1);
	struct ember_error e = { 0 };
	char want[512];

	(void)state;
	assert_null(toml_parse_file(path, &e));
	assert_int_equal(e.code, EINVAL);
	snprintf(want, sizeof(want), "%s:2:5: floats are not supported", path);
	assert_string_equal(e.message, want);
	unlink(path);
	free(path);
}

static void test_file_missing(void **state)
{
	struct ember_error e = { 0 };

	(void)state;
	assert_null(toml_parse_file("/nonexistent/ember/config.toml", &e));
	assert_int_equal(e.code, ENOENT);
	assert_non_null(strstr(e.message, "/nonexistent/ember/config.toml"));
	assert_string_equal(e.message,
			    "open /nonexistent/ember/config.toml: No such file or directory");
}

static void test_file_directory(void **state)
{
	struct ember_error e = { 0 };

	(void)state;
	assert_null(toml_parse_file("/", &e));
	assert_int_equal(e.code, EISDIR);
	assert_non_null(strstr(e.message, "read /:"));
}

static void test_file_unsized(void **state)
{
	struct ember_error e = { 0 };
	json_t *j;

	(void)state;
	/* Files whose size stat() does not know are read to the end. */
	j = toml_parse_file("/dev/null", &e);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);
	assert_null(toml_parse_file("/proc/self/status", &e));
	assert_int_equal(e.code, EINVAL);
	assert_string_equal(e.message,
			    "/proc/self/status:1:5: expected '=' after key 'Name', found ':'");
	/* ... but not past the limit. */
	memset(&e, 0, sizeof(e));
	assert_null(toml_parse_file("/dev/zero", &e));
	assert_int_equal(e.code, EFBIG);
	assert_string_equal(e.message, "read /dev/zero: file is larger than 1048576 bytes");
}

static void test_null_text(void **state)
{
	struct ember_error e = { 0 };
	json_t *j;

	(void)state;
	j = toml_parse(NULL, 0, "t.toml", &e);
	assert_non_null(j);
	assert_int_equal(e.code, 0);
	json_decref(j);
	assert_null(toml_parse(NULL, 1, "t.toml", &e));
	assert_int_equal(e.code, EINVAL);
	assert_string_equal(e.message, "t.toml: no input");
}

static void test_file_too_big(void **state)
{
	char *big = malloc(TOML_MAX_SIZE + 1);
	char *path;
	struct ember_error e = { 0 };
	json_t *j;

	(void)state;
	assert_non_null(big);
	memset(big, '\n', TOML_MAX_SIZE + 1);
	path = temp_file(big, TOML_MAX_SIZE + 1);
	assert_null(toml_parse_file(path, &e));
	assert_int_equal(e.code, EFBIG);
	assert_non_null(strstr(e.message, path));
	assert_non_null(strstr(e.message, "larger than 1048576 bytes"));
	unlink(path);
	free(path);

	/* Exactly the limit is fine. */
	memcpy(big, "a = 1", 5);
	path = temp_file(big, TOML_MAX_SIZE);
	memset(&e, 0, sizeof(e));
	j = toml_parse_file(path, &e);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	json_decref(j);
	unlink(path);
	free(path);
	free(big);
}

static void test_lines(void **state)
{
	static const char text[] = "\xEF\xBB\xBF# hosts\n"
				   "server = 'https://r'\r\n"
				   "\n"
				   "[host.\"https://m1\"]\n"
				   "  ca = '''\n"
				   "x\n"
				   "'''\n"
				   "  client = [\n"
				   "    'a',\n"
				   "  ]\n"
				   "[host.\"https://m1\".header]\n"
				   "  x-a = { b.c = 1 }\n"
				   "a.b.c = 2\n"
				   "[[t]]\n"
				   "[[t]]\n"
				   "k = 3\n";
	struct ember_error e = { 0 };
	struct toml_lines *lines = (struct toml_lines *)1;
	json_t *doc = toml_parse_lines(text, sizeof(text) - 1, "h.toml", &lines, &e);
	json_t *host, *m1, *hdr, *xa, *a, *b, *t;

	(void)state;
	assert_non_null(doc);
	assert_non_null(lines);
	assert_int_equal(toml_line(lines, doc, "server"), 2);
	assert_int_equal(toml_line(lines, doc, "host"), 4);
	host = json_object_get(doc, "host");
	m1 = json_object_get(host, "https://m1");
	assert_int_equal(toml_line(lines, host, "https://m1"), 4);
	assert_int_equal(toml_line(lines, m1, "ca"), 5);
	assert_int_equal(toml_line(lines, m1, "client"), 8);
	assert_int_equal(toml_line(lines, m1, "header"), 11);
	hdr = json_object_get(m1, "header");
	assert_int_equal(toml_line(lines, hdr, "x-a"), 12);
	xa = json_object_get(hdr, "x-a");
	assert_int_equal(toml_line(lines, xa, "b"), 12);
	assert_int_equal(toml_line(lines, json_object_get(xa, "b"), "c"), 12);
	assert_int_equal(toml_line(lines, hdr, "a"), 13);
	a = json_object_get(hdr, "a");
	b = json_object_get(a, "b");
	assert_int_equal(toml_line(lines, a, "b"), 13);
	assert_int_equal(toml_line(lines, b, "c"), 13);
	assert_int_equal(toml_line(lines, doc, "t"), 14);
	t = json_object_get(doc, "t");
	assert_int_equal(toml_line(lines, json_array_get(t, 1), "k"), 16);
	/* Unknown keys, other tables and NULLs are 0. */
	assert_int_equal(toml_line(lines, doc, "nope"), 0);
	assert_int_equal(toml_line(lines, hdr, "server"), 0);
	assert_int_equal(toml_line(NULL, doc, "server"), 0);
	assert_int_equal(toml_line(lines, NULL, "server"), 0);
	assert_int_equal(e.code, 0);
	toml_lines_free(lines);
	json_decref(doc);
	toml_lines_free(NULL);

	/* On error: no document, no lines, the usual message. */
	lines = (struct toml_lines *)1;
	doc = toml_parse_lines("a = 1\na = 2\n", 12, "h.toml", &lines, &e);
	assert_null(doc);
	assert_null(lines);
	assert_int_equal(e.code, EINVAL);
	assert_string_equal(e.message, "h.toml:2:1: duplicate key 'a'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_array_of_tables),
		cmocka_unit_test(test_basic_strings),
		cmocka_unit_test(test_literal_strings),
		cmocka_unit_test(test_multiline_strings),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_inline_tables),
		cmocka_unit_test(test_depth_limit_ok),
		cmocka_unit_test(test_size_limit_ok),
		cmocka_unit_test(test_ember_config),
		cmocka_unit_test(test_containerd_hosts),
		cmocka_unit_test(test_err_unsupported),
		cmocka_unit_test(test_err_duplicates),
		cmocka_unit_test(test_err_redefine),
		cmocka_unit_test(test_err_extend_closed),
		cmocka_unit_test(test_err_strings),
		cmocka_unit_test(test_err_encoding),
		cmocka_unit_test(test_err_integers),
		cmocka_unit_test(test_err_values),
		cmocka_unit_test(test_err_arrays_inline),
		cmocka_unit_test(test_err_headers),
		cmocka_unit_test(test_err_depth),
		cmocka_unit_test(test_err_depth_aot),
		cmocka_unit_test(test_err_size),
		cmocka_unit_test(test_error_message_keys),
		cmocka_unit_test(test_file_ok),
		cmocka_unit_test(test_file_empty),
		cmocka_unit_test(test_file_parse_error_names_path),
		cmocka_unit_test(test_file_missing),
		cmocka_unit_test(test_file_directory),
		cmocka_unit_test(test_file_unsized),
		cmocka_unit_test(test_file_too_big),
		cmocka_unit_test(test_null_text),
		cmocka_unit_test(test_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
