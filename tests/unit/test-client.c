/* SPDX-License-Identifier: Apache-2.0 */
/* libember against a server played by the test: replies are written into
   the socket before the client reads them. */
#include "unit.h"

#include <jansson.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ember/client.h>
#include <ember/networks.h>
#include <ember/revisions.h>

struct fixture {
	char *dir;
	char path[4200];
	int listen_fd;
	int peer; /* the server side of the client's connection */
	ember_client *c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ember_error e;

	f->dir = unit_mkdtemp();
	snprintf(f->path, sizeof(f->path), "%s/s", f->dir);
	assert_true(strlen(f->path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 4), 0);
	assert_int_equal(ember_client_connect(&f->c, f->path, &e), 0);
	f->peer = accept(f->listen_fd, NULL, NULL);
	assert_true(f->peer >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ember_client_free(f->c);
	close(f->peer);
	close(f->listen_fd);
	unit_rmdir(f->dir);
	free(f);
	return 0;
}

static void serve(struct fixture *f, const char *reply)
{
	assert_int_equal(write(f->peer, reply, strlen(reply) + 1), (ssize_t)strlen(reply) + 1);
}

/* The next call the client sent, as JSON. */
static json_t *received(struct fixture *f)
{
	static char buf[65536];
	static size_t have;
	char *nul;

	while (!(nul = memchr(buf, '\0', have))) {
		ssize_t n = read(f->peer, buf + have, sizeof(buf) - have);
		assert_true(n > 0);
		have += (size_t)n;
	}
	json_t *j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	size_t used = (size_t)(nul - buf) + 1;
	memmove(buf, buf + used, have - used);
	have -= used;
	return j;
}

static void test_call_and_reply(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	char *reply = NULL;

	serve(f, "{\"parameters\":{\"namespaces\":[]}}");
	assert_int_equal(ember_call(f->c, "io.ember.Namespaces.List", "{\"a\":1}", &reply, &e), 0);
	assert_string_equal(reply, "{\"namespaces\":[]}");
	free(reply);
	json_t *call = received(f);
	assert_string_equal(json_string_value(json_object_get(call, "method")), "io.ember.Namespaces.List");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(call, "parameters"), "a")), 1);
	assert_null(json_object_get(call, "more"));
	json_decref(call);
	assert_int_equal(ember_client_pending(f->c), 0);
}

static void test_error_reply(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;

	serve(f, "{\"error\":\"io.ember.NotFound\",\"parameters\":{\"message\":\"namespace \\\"x\\\" not found\",\"errno\":2}}");
	assert_int_equal(ember_call(f->c, "io.ember.Namespaces.Get", NULL, NULL, &e), -ENOENT);
	assert_string_equal(e.name, "io.ember.NotFound");
	assert_string_equal(e.message, "namespace \"x\" not found");
	/* Standard varlink errors carry the name of what was wrong. */
	serve(f, "{\"error\":\"org.varlink.service.MethodNotFound\",\"parameters\":{\"method\":\"a.b.C\"}}");
	assert_int_equal(ember_call(f->c, "a.b.C", NULL, NULL, &e), -ENOENT);
	assert_msg_contains(&e, "a.b.C");
}

struct stream {
	int replies, last_flags, errors;
	char seen[256];
};

static int collect(ember_client *c, const char *params, unsigned flags, const struct ember_error *err,
		   void *ud)
{
	struct stream *s = ud;

	(void)c;
	if (err) {
		s->errors++;
		return 0;
	}
	s->replies++;
	s->last_flags = (int)flags;
	strncat(s->seen, params, sizeof(s->seen) - strlen(s->seen) - 1);
	return 0;
}

static void test_stream(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	struct stream s = { 0 };

	serve(f, "{\"parameters\":{\"n\":1},\"continues\":true}");
	serve(f, "{\"parameters\":{\"n\":2},\"continues\":true}");
	serve(f, "{\"parameters\":{\"n\":3}}");
	assert_int_equal(ember_call_more(f->c, "io.ember.Events.Subscribe", NULL, collect, &s, &e), 0);
	assert_int_equal(s.replies, 3);
	assert_int_equal(s.last_flags, 0);
	assert_string_equal(s.seen, "{\"n\":1}{\"n\":2}{\"n\":3}");
	json_t *call = received(f);
	assert_true(json_is_true(json_object_get(call, "more")));
	json_decref(call);
}

static void test_async_in_order(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	struct stream a = { 0 }, b = { 0 };

	assert_int_equal(ember_call_async(f->c, "x.y.A", NULL, 0, collect, &a, &e), 0);
	assert_int_equal(ember_call_async(f->c, "x.y.B", NULL, 0, collect, &b, &e), 0);
	assert_int_equal(ember_call_async(f->c, "x.y.C", NULL, EMBER_CALL_ONEWAY, NULL, NULL, &e), 0);
	assert_int_equal(ember_client_pending(f->c), 2);
	assert_int_equal(ember_client_process(f->c, &e), 0); /* nothing yet, never blocks */
	serve(f, "{\"parameters\":{\"r\":\"a\"}}");
	serve(f, "{\"parameters\":{\"r\":\"b\"}}");
	usleep(10000);
	assert_int_equal(ember_client_process(f->c, &e), 2);
	assert_string_equal(a.seen, "{\"r\":\"a\"}");
	assert_string_equal(b.seen, "{\"r\":\"b\"}");
	assert_int_equal(ember_client_pending(f->c), 0);
	json_t *c1 = received(f), *c2 = received(f), *c3 = received(f);
	assert_string_equal(json_string_value(json_object_get(c3, "method")), "x.y.C");
	assert_true(json_is_true(json_object_get(c3, "oneway")));
	json_decref(c1);
	json_decref(c2);
	json_decref(c3);
}

static void test_server_closes(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	struct stream s = { 0 };

	assert_int_equal(ember_call_async(f->c, "x.y.A", NULL, 0, collect, &s, &e), 0);
	close(f->peer);
	f->peer = -1;
	usleep(10000);
	assert_int_equal(ember_client_process(f->c, &e), -ECONNRESET);
	assert_int_equal(s.errors, 1); /* the waiting call hears about it */
	assert_int_equal(ember_call(f->c, "x.y.A", NULL, NULL, &e), -ECONNRESET);
}

static void test_bad_reply_kills_connection(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;

	serve(f, "this is not json");
	assert_int_equal(ember_call(f->c, "x.y.A", NULL, NULL, &e), -EBADMSG);
	assert_msg_contains(&e, "malformed reply");
	/* A reply nobody asked for is a protocol error too. */
}

static void test_unsolicited_reply(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;

	serve(f, "{\"parameters\":{}}");
	usleep(10000);
	assert_int_equal(ember_client_process(f->c, &e), -EBADMSG);
	assert_msg_contains(&e, "reply without a call");
}

static void test_timeout(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;

	ember_client_set_timeout(f->c, 50);
	assert_int_equal(ember_call(f->c, "x.y.A", NULL, NULL, &e), -ETIMEDOUT);
}

static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;

	assert_int_equal(ember_call(f->c, "NoInterface", NULL, NULL, &e), -EINVAL);
	assert_int_equal(ember_call(f->c, "x.y.A", "[1]", NULL, &e), -EINVAL);
	assert_msg_contains(&e, "object");
	assert_int_equal(ember_call(f->c, "x.y.A", "{bad", NULL, &e), -EINVAL);
	assert_int_equal(ember_call_async(f->c, "x.y.A", NULL, EMBER_CALL_ONEWAY | EMBER_CALL_MORE, NULL, NULL, &e), -EINVAL);
	assert_int_equal(ember_client_pending(f->c), 0);
}

static void test_connect_errors(void **state)
{
	struct ember_error e;
	ember_client *c = NULL;
	char long_path[200];

	(void)state;
	assert_int_equal(ember_client_connect(&c, "/nonexistent/ember.sock", &e), -ENOENT);
	assert_msg_contains(&e, "/nonexistent/ember.sock");
	assert_msg_contains(&e, "is the ember daemon running");
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(ember_client_connect(&c, long_path, &e), -ENAMETOOLONG);
	assert_null(ember_client_free(NULL));
}

/* The typed network helpers: each call's method and parameters, the
   reply's member unwrapped, errors by name. */
static void test_network_helpers(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	char *out = NULL;
	struct ember_network_options o = { .subnet = "10.77.1.0/24", .internal = 1, .mtu = 1400 };

	serve(f, "{\"parameters\":{\"network\":{\"name\":\"b\\\"lue\",\"subnet\":\"10.77.1.0/24\"}}}");
	assert_int_equal(ember_network_create(f->c, "b\"lue", &o, &out, &e), 0);
	assert_string_equal(out, "{\"name\":\"b\\\"lue\",\"subnet\":\"10.77.1.0/24\"}");
	free(out);
	json_t *call = received(f);
	json_t *p = json_object_get(call, "parameters");
	assert_string_equal(json_string_value(json_object_get(call, "method")), "io.ember.Networks.Create");
	assert_string_equal(json_string_value(json_object_get(p, "name")), "b\"lue");
	assert_string_equal(json_string_value(json_object_get(p, "subnet")), "10.77.1.0/24");
	assert_true(json_is_true(json_object_get(p, "internal")));
	assert_int_equal(json_integer_value(json_object_get(p, "mtu")), 1400);
	assert_null(json_object_get(p, "gateway"));
	assert_null(json_object_get(p, "bridge"));
	json_decref(call);

	serve(f, "{\"parameters\":{\"networks\":[{\"name\":\"bridge\"}]}}");
	assert_int_equal(ember_network_list(f->c, &out, &e), 0);
	assert_string_equal(out, "[{\"name\":\"bridge\"}]");
	free(out);
	call = received(f);
	assert_string_equal(json_string_value(json_object_get(call, "method")), "io.ember.Networks.List");
	json_decref(call);

	serve(f, "{\"parameters\":{}}");
	assert_int_equal(ember_network_remove(f->c, "blue", NULL), 0);
	call = received(f);
	assert_string_equal(json_string_value(json_object_get(call, "method")), "io.ember.Networks.Remove");
	assert_string_equal(json_string_value(json_object_get(json_object_get(call, "parameters"), "name")), "blue");
	json_decref(call);

	serve(f, "{\"error\":\"io.ember.NotFound\",\"parameters\":{\"message\":\"network \\\"x\\\" not found\",\"errno\":2}}");
	out = NULL;
	assert_int_equal(ember_network_inspect(f->c, "x", &out, &e), -ENOENT);
	assert_string_equal(e.name, EMBER_ERROR_NOT_FOUND);
	assert_null(out);
	json_decref(received(f));

	/* A reply without the member is the daemon's fault, named. */
	serve(f, "{\"parameters\":{}}");
	assert_int_equal(ember_network_inspect(f->c, "x", &out, &e), -EPROTO);
	assert_msg_contains(&e, "no \"network\"");
	json_decref(received(f));
}

/* The typed revision helpers: method, namespace and parameters; a document
   that is not JSON never leaves the process. */
static void test_revision_helpers(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	char *out = NULL;

	serve(f, "{\"parameters\":{\"revision\":{\"name\":\"r1\",\"state\":\"staged\"}}}");
	assert_int_equal(ember_revision_stage(f->c, "ota", "{\"id\": \"r1\", \"containers\": []}", &out, &e), 0);
	assert_string_equal(out, "{\"name\":\"r1\",\"state\":\"staged\"}");
	free(out);
	json_t *call = received(f);
	json_t *p = json_object_get(call, "parameters");
	assert_string_equal(json_string_value(json_object_get(call, "method")), "io.ember.Revisions.Stage");
	assert_string_equal(json_string_value(json_object_get(p, "namespace")), "ota");
	assert_string_equal(json_string_value(json_object_get(json_object_get(p, "document"), "id")), "r1");
	json_decref(call);

	serve(f, "{\"parameters\":{\"revisions\":[]}}");
	assert_int_equal(ember_revision_list(f->c, NULL, &out, &e), 0);
	assert_string_equal(out, "[]");
	free(out);
	call = received(f);
	assert_string_equal(json_string_value(json_object_get(call, "method")), "io.ember.Revisions.List");
	assert_null(json_object_get(json_object_get(call, "parameters"), "namespace")); /* the daemon's default */
	json_decref(call);

	serve(f, "{\"parameters\":{\"revision\":{\"name\":\"r1\"}}}");
	assert_int_equal(ember_revision_get(f->c, NULL, "r1", &out, &e), 0);
	free(out);
	call = received(f);
	assert_string_equal(json_string_value(json_object_get(call, "method")), "io.ember.Revisions.Get");
	assert_string_equal(json_string_value(json_object_get(json_object_get(call, "parameters"), "id")), "r1");
	json_decref(call);

	serve(f, "{\"error\":\"io.ember.FailedPrecondition\",\"parameters\":{\"message\":\"revision r1 is testing\",\"errno\":16}}");
	assert_int_equal(ember_revision_remove(f->c, "ota", "r1", &e), -EBUSY);
	assert_string_equal(e.name, EMBER_ERROR_FAILED_PRECONDITION);
	call = received(f);
	assert_string_equal(json_string_value(json_object_get(call, "method")), "io.ember.Revisions.Remove");
	json_decref(call);

	/* Not JSON, duplicate keys, or nothing: refused here, nothing sent. */
	out = NULL;
	assert_int_equal(ember_revision_stage(f->c, NULL, "{\"id\": ", &out, &e), -EINVAL);
	assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
	assert_msg_contains(&e, "revision document: ");
	assert_int_equal(ember_revision_stage(f->c, NULL, "{\"id\": \"a\", \"id\": \"b\"}", &out, NULL), -EINVAL);
	assert_int_equal(ember_revision_stage(f->c, NULL, NULL, &out, &e), -EINVAL);
	assert_msg_contains(&e, "none given");
	assert_null(out);
	assert_int_equal(ember_client_pending(f->c), 0);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_call_and_reply), T(test_error_reply), T(test_stream), T(test_async_in_order),
		T(test_server_closes), T(test_bad_reply_kills_connection), T(test_unsolicited_reply),
		T(test_timeout), T(test_bad_arguments), T(test_network_helpers), T(test_revision_helpers), cmocka_unit_test(test_connect_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
