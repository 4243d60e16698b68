/* SPDX-License-Identifier: Apache-2.0 */
/* The revision document (daemon/revisions.h): defaults, and one line
   naming the field for each way a document can be wrong. */
#include "unit.h"

#include <jansson.h>

#include "daemon/revisions.h"

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	assert_non_null(j);
	return j;
}

/* text must be refused with a message containing needle. */
static void bad(const char *text, const char *needle)
{
	json_t *doc = load(text), *out = (json_t *)1;
	struct ember_error e;

	assert_int_equal(revision_doc_check(doc, &out, &e), -EINVAL);
	assert_null(out);
	if (!strstr(e.message, needle))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", text, e.message, needle);
	assert_null(strchr(e.message, '\n'));
	json_decref(doc);
}

static void test_defaults(void **state)
{
	(void)state;
	json_t *doc = load("{\"id\": \"r1\", \"containers\": [{\"id\": \"web\", \"image\": \"example.com/web:1\"},"
			   " {\"id\": \"job\", \"image\": \"busybox\", \"health\": {\"exited\": 0}},"
			   " {\"id\": \"db\", \"image\": \"db\", \"restart\": \"always\", \"options\": {\"args\": [\"x\"]},"
			   "  \"health\": {\"exec\": {\"cmd\": [\"true\"]}}}]}");
	json_t *out;
	struct ember_error e;

	assert_int_equal(revision_doc_check(doc, &out, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(out, "test_timeout")), REVISION_DEFAULT_TEST_TIMEOUT);
	assert_int_equal(json_integer_value(json_object_get(out, "commit_delay")), 0);
	json_t *cs = json_object_get(out, "containers");
	json_t *h0 = json_object_get(json_array_get(cs, 0), "health");
	assert_int_equal(json_integer_value(json_object_get(h0, "running")), REVISION_DEFAULT_RUNNING);
	json_t *x = json_object_get(json_object_get(json_array_get(cs, 2), "health"), "exec");
	assert_int_equal(json_integer_value(json_object_get(x, "interval")), 5);
	assert_int_equal(json_integer_value(json_object_get(x, "timeout")), 5);
	assert_int_equal(json_integer_value(json_object_get(x, "retries")), 3);
	assert_int_equal(json_integer_value(json_object_get(out, "stop_timeout")), REVISION_DEFAULT_STOP_TIMEOUT);
	/* A service restarts always, a one-shot job never, unless told. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 0), "restart")), "always");
	assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 1), "restart")), "no");
	/* The caller's document is left as it was. */
	assert_null(json_object_get(doc, "test_timeout"));
	assert_null(json_object_get(json_array_get(json_object_get(doc, "containers"), 0), "health"));
	/* Checking the result again changes nothing. */
	json_t *again;
	assert_int_equal(revision_doc_check(out, &again, &e), 0);
	assert_true(json_equal(out, again));
	json_decref(again);
	json_decref(out);
	json_decref(doc);
}

static void test_bad_documents(void **state)
{
	(void)state;
	bad("[]", "revision: must be a JSON object");
	bad("{\"containers\": []}", "revision: id: missing");
	bad("{\"id\": \"a b\", \"containers\": []}", "revision");
	bad("{\"id\": \"r\", \"containers\": [], \"extra\": 1}", "revision: unknown key \"extra\"");
	bad("{\"id\": \"r\"}", "revision: containers: missing");
	bad("{\"id\": \"r\", \"containers\": {}}", "revision: containers: wrong type");
	bad("{\"id\": \"r\", \"containers\": [], \"test_timeout\": 1}", "test_timeout: must be 2 to 86400 seconds");
	bad("{\"id\": \"r\", \"containers\": [], \"test_timeout\": \"60\"}", "test_timeout: wrong type");
	bad("{\"id\": \"r\", \"containers\": [], \"commit_delay\": -1}", "commit_delay: must be 0 to 86400");
	bad("{\"id\": \"r\", \"containers\": [], \"labels\": {\"k\": 1}}", "revision: labels");
	bad("{\"id\": \"r\", \"containers\": [1]}", "revision: containers[0]: must be an object");
	bad("{\"id\": \"r\", \"containers\": [{\"image\": \"x\"}]}", "containers[0]: id: missing");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"../x\", \"image\": \"x\"}]}", "containers[0]");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\"}]}", "containers[0] (a): image: missing");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"\"}]}", "not an image name");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\\ny\"}]}", "not an image name");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"nope\": 1}]}",
	    "containers[0] (a): unknown key \"nope\"");
	bad("{\"id\": \"r\", \"stop_timeout\": 0, \"containers\": []}", "revision: stop_timeout: must be 1 to 3600 seconds");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"restart\": \"sometimes\"}]}",
	    "containers[0] (a): restart");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"options\": {\"argz\": []}}]}",
	    "containers[0] (a): options: unknown option \"argz\"");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"options\": {\"mounts\": [\"type=x\"]}}]}",
	    "containers[0] (a): mount");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\"}, {\"id\": \"a\", \"image\": \"y\"}]}",
	    "containers[0] and [1] are both \"a\"");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"health\": {}}]}",
	    "health: give one of running, exited, exec or healthcheck");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"health\": {\"running\": 1, \"exited\": 0}}]}",
	    "health: give one of");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"health\": {\"running\": 60}}]}",
	    "health: running (60 s) must be shorter than test_timeout (60 s)");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"health\": {\"running\": 0}}]}",
	    "health: running: must be 1 to 86400 seconds");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"health\": {\"exited\": 256}}]}",
	    "health: exited: must be 0 to 255");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"health\": {\"exec\": {}}}]}",
	    "health: exec: cmd: give 1 to 256 arguments");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"health\": {\"exec\": {\"cmd\": [1]}}}]}",
	    "health: exec: cmd[0]: must be a string");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"health\": {\"exec\": {\"cmd\": [\"\"]}}}]}",
	    "health: exec: cmd[0]: may not be empty");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"health\": {\"exec\": {\"cmd\": [\"t\"], \"retries\": 0}}}]}",
	    "health: exec: retries: must be 1 to 100");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"health\": {\"exec\": {\"cmd\": [\"t\"], \"shell\": 1}}}]}",
	    "health: exec: unknown key \"shell\"");
	bad("{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"x\", \"health\": {\"healthcheck\": false}}]}",
	    "health: healthcheck: only true");

	/* Too many containers. */
	json_t *doc = json_pack("{s:s, s:[]}", "id", "r", "containers");
	for (int i = 0; i <= REVISION_MAX_CONTAINERS; i++) {
		char id[16];
		snprintf(id, sizeof(id), "c%d", i);
		json_array_append_new(json_object_get(doc, "containers"), json_pack("{s:s, s:s}", "id", id, "image", "x"));
	}
	json_t *out;
	struct ember_error e;
	assert_int_equal(revision_doc_check(doc, &out, &e), -EINVAL);
	assert_msg_contains(&e, "65 of them, at most 64");
	json_array_remove(json_object_get(doc, "containers"), 0);
	assert_int_equal(revision_doc_check(doc, &out, &e), 0);
	json_decref(out);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
