/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <fcntl.h>
#include <sys/socket.h>

#include "api/varlink.h"

static void feed(struct vl_reader *r, const char *data, size_t len)
{
	while (len > 0) {
		size_t avail;
		char *p = vl_reader_space(r, &avail);
		assert_non_null(p);
		size_t n = len < avail ? len : avail;
		memcpy(p, data, n);
		vl_reader_commit(r, n);
		data += n;
		len -= n;
	}
}

static void test_reader_splits_messages(void **state)
{
	static const char data[] = "{\"a\":1}\0{\"b\":2}\0{\"c\"";
	struct vl_reader r;
	const char *msg;
	size_t len;

	(void)state;
	vl_reader_init(&r, 1024);
	feed(&r, data, sizeof(data) - 1);
	assert_int_equal(vl_reader_next(&r, &msg, &len), 1);
	assert_int_equal(len, 7);
	assert_memory_equal(msg, "{\"a\":1}", 7);
	/* Not consumed: the same message again. */
	assert_int_equal(vl_reader_next(&r, &msg, &len), 1);
	assert_memory_equal(msg, "{\"a\":1}", 7);
	vl_reader_consume(&r);
	assert_int_equal(vl_reader_next(&r, &msg, &len), 1);
	assert_memory_equal(msg, "{\"b\":2}", 7);
	vl_reader_consume(&r);
	assert_int_equal(vl_reader_next(&r, &msg, &len), 0);
	assert_int_equal(vl_reader_pending(&r), 4);
	feed(&r, ":3}", 4); /* with its NUL */
	assert_int_equal(vl_reader_next(&r, &msg, &len), 1);
	assert_string_equal(msg, "{\"c\":3}");
	vl_reader_consume(&r);
	assert_int_equal(vl_reader_pending(&r), 0);
	vl_reader_done(&r);
}

static void test_reader_byte_by_byte(void **state)
{
	static const char data[] = "{\"method\":\"a.b.C\"}";
	struct vl_reader r;
	const char *msg;
	size_t len;

	(void)state;
	vl_reader_init(&r, 64);
	for (size_t i = 0; i < sizeof(data); i++) {
		assert_int_equal(vl_reader_next(&r, &msg, &len), 0);
		feed(&r, data + i, 1);
	}
	assert_int_equal(vl_reader_next(&r, &msg, &len), 1);
	assert_string_equal(msg, data);
	vl_reader_done(&r);
}

static void test_reader_limit(void **state)
{
	struct vl_reader r;
	const char *msg;
	size_t len, avail;
	char big[100];

	(void)state;
	memset(big, 'x', sizeof(big));
	vl_reader_init(&r, 64);
	feed(&r, big, 64);
	assert_null(vl_reader_space(&r, &avail));
	assert_int_equal(avail, 0);
	assert_int_equal(vl_reader_next(&r, &msg, &len), -EMSGSIZE);
	vl_reader_done(&r);

	/* Exactly max bytes including the NUL is allowed. */
	vl_reader_init(&r, 64);
	feed(&r, big, 63);
	feed(&r, "", 1);
	assert_int_equal(vl_reader_next(&r, &msg, &len), 1);
	assert_int_equal(len, 63);
	vl_reader_done(&r);
}

static void test_writer_limit_and_flush(void **state)
{
	struct vl_writer w;
	int sv[2];
	char buf[64];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	vl_writer_init(&w, 10);
	assert_int_equal(vl_writer_append(&w, "hello", 6), 0);
	assert_int_equal(vl_writer_append(&w, "world!", 6), -ENOBUFS);
	assert_int_equal(vl_writer_queued(&w), 6);
	assert_int_equal(vl_writer_flush(&w, sv[0]), 0);
	assert_int_equal(vl_writer_queued(&w), 0);
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 6);
	assert_string_equal(buf, "hello");
	/* The limit is on the backlog: an empty writer takes one big message. */
	assert_int_equal(vl_writer_append(&w, "0123456789abcdef", 17), 0);
	assert_int_equal(vl_writer_append(&w, "x", 1), -ENOBUFS);
	assert_int_equal(vl_writer_flush(&w, sv[0]), 0);
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 17);
	close(sv[1]);
	/* A dead peer is an error, not a signal. */
	assert_int_equal(vl_writer_append(&w, "again", 6), 0);
	assert_int_equal(vl_writer_flush(&w, sv[0]), -EPIPE);
	close(sv[0]);
	vl_writer_done(&w);
}

static void test_writer_backpressure(void **state)
{
	struct vl_writer w;
	int sv[2], size = 4096, r;
	char chunk[4096];

	(void)state;
	memset(chunk, 'y', sizeof(chunk));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	vl_writer_init(&w, 1 << 20);
	for (int i = 0; i < 64; i++)
		assert_int_equal(vl_writer_append(&w, chunk, sizeof(chunk)), 0);
	r = vl_writer_flush(&w, sv[0]);
	assert_int_equal(r, 1); /* the socket is full: bytes remain */
	assert_true(vl_writer_queued(&w) > 0);
	assert_true(vl_writer_queued(&w) < 64 * sizeof(chunk));
	close(sv[0]);
	close(sv[1]);
	vl_writer_done(&w);
}

static void test_names(void **state)
{
	static const char *const good_ifaces[] = { "io.ember", "org.varlink.service", "a.b", "x-1.y2.z" };
	static const char *const bad_ifaces[] = { "", "io", ".io.x", "io..x", "io.x.", "-io.x", "io.-x",
						  "io.x-", "1io.x", "io.x y", "io/x.y" };
	static const char *const good_members[] = { "GetInfo", "A", "X1" };
	static const char *const bad_members[] = { "", "getInfo", "Get_Info", "Get-Info", "1A", "Get.Info" };

	(void)state;
	for (size_t i = 0; i < sizeof(good_ifaces) / sizeof(*good_ifaces); i++)
		assert_true(vl_interface_name_valid(good_ifaces[i], strlen(good_ifaces[i])));
	for (size_t i = 0; i < sizeof(bad_ifaces) / sizeof(*bad_ifaces); i++)
		if (vl_interface_name_valid(bad_ifaces[i], strlen(bad_ifaces[i])))
			fail_msg("interface name \"%s\" accepted", bad_ifaces[i]);
	for (size_t i = 0; i < sizeof(good_members) / sizeof(*good_members); i++)
		assert_true(vl_member_name_valid(good_members[i], strlen(good_members[i])));
	for (size_t i = 0; i < sizeof(bad_members) / sizeof(*bad_members); i++)
		if (vl_member_name_valid(bad_members[i], strlen(bad_members[i])))
			fail_msg("member name \"%s\" accepted", bad_members[i]);
	size_t n;
	assert_true(vl_qualified_name_split("io.ember.System.Info", &n));
	assert_int_equal(n, strlen("io.ember.System"));
	assert_false(vl_qualified_name_split("Info", &n));
	assert_false(vl_qualified_name_split("io.Info", &n)); /* interface needs two labels */
}

static int parse_call(const char *text, struct vl_call *c, struct ember_error *e)
{
	return vl_call_parse(text, strlen(text), c, e);
}

static void test_call_parse(void **state)
{
	struct vl_call c;
	struct ember_error e;

	(void)state;
	assert_int_equal(parse_call("{\"method\":\"io.ember.System.Info\"}", &c, &e), 0);
	assert_string_equal(c.method, "io.ember.System.Info");
	assert_true(json_is_object(c.parameters));
	assert_int_equal(json_object_size(c.parameters), 0);
	assert_int_equal(c.flags, 0);
	vl_call_done(&c);

	assert_int_equal(parse_call("{\"method\":\"a.b.C\",\"parameters\":{\"x\":1},\"more\":true}", &c, &e), 0);
	assert_int_equal(c.flags, VL_MORE);
	assert_int_equal(json_integer_value(json_object_get(c.parameters, "x")), 1);
	vl_call_done(&c);

	assert_int_equal(parse_call("{\"method\":\"a.b.C\",\"oneway\":true,\"parameters\":null}", &c, &e), 0);
	assert_int_equal(c.flags, VL_ONEWAY);
	vl_call_done(&c);
}

static void test_call_parse_errors(void **state)
{
	static const struct {
		const char *text;
		int code;
		const char *needle;
	} cases[] = {
		{ "", EBADMSG, "malformed call" },
		{ "not json", EBADMSG, "malformed call" },
		{ "[1,2]", EBADMSG, "not a JSON object" },
		{ "{}", EINVAL, "\"method\" must be a string" },
		{ "{\"method\":5}", EINVAL, "\"method\" must be a string" },
		{ "{\"method\":\"Info\"}", EINVAL, "not a method name" },
		{ "{\"method\":\"a.b.C\",\"bogus\":1}", EINVAL, "unknown field \"bogus\"" },
		{ "{\"method\":\"a.b.C\",\"parameters\":[]}", EINVAL, "\"parameters\" must be an object" },
		{ "{\"method\":\"a.b.C\",\"more\":\"yes\"}", EINVAL, "\"more\" must be a boolean" },
		{ "{\"method\":\"a.b.C\",\"more\":true,\"oneway\":true}", EINVAL, "exclude each other" },
		{ "{\"method\":\"a.b.C\",\"method\":\"a.b.D\"}", EBADMSG, "duplicate" },
		{ "{\"method\":\"a.b.C\"} trailing", EBADMSG, "malformed call" },
	};
	struct vl_call c;
	struct ember_error e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		if (parse_call(cases[i].text, &c, &e) != -cases[i].code)
			fail_msg("\"%s\": expected -%d, got code %d (%s)", cases[i].text, cases[i].code, e.code, e.message);
		assert_msg_contains(&e, cases[i].needle);
		assert_null(c.root);
	}
}

static void test_reply_parse_and_encode(void **state)
{
	struct vl_reply r;
	struct ember_error e;
	size_t len;
	json_t *p = json_pack("{s:i}", "n", 7);

	(void)state;
	char *s = vl_reply_encode(p, NULL, 1, &len);
	assert_int_equal(s[len - 1], '\0');
	assert_int_equal(vl_reply_parse(s, len - 1, &r, &e), 0);
	assert_true(r.continues);
	assert_null(r.error);
	assert_int_equal(json_integer_value(json_object_get(r.parameters, "n")), 7);
	vl_reply_done(&r);
	free(s);

	s = vl_reply_encode(NULL, "io.ember.NotFound", 0, &len);
	assert_int_equal(vl_reply_parse(s, len - 1, &r, &e), 0);
	assert_string_equal(r.error, "io.ember.NotFound");
	assert_false(r.continues);
	vl_reply_done(&r);
	free(s);
	json_decref(p);

	const char *bad[] = { "{\"error\":5}", "{\"error\":\"NotFound\"}",
			      "{\"error\":\"a.b.E\",\"continues\":true}", "{\"parameters\":1}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (vl_reply_parse(bad[i], strlen(bad[i]), &r, &e) == 0)
			fail_msg("reply \"%s\" accepted", bad[i]);
}

static void test_call_encode_roundtrip(void **state)
{
	struct vl_call c;
	struct ember_error e;
	size_t len;
	json_t *p = json_pack("{s:s}", "name", "ota");

	(void)state;
	char *s = vl_call_encode("io.ember.Namespaces.Get", p, VL_MORE, &len);
	assert_int_equal(vl_call_parse(s, len - 1, &c, &e), 0);
	assert_string_equal(c.method, "io.ember.Namespaces.Get");
	assert_true(json_equal(c.parameters, p));
	assert_int_equal(c.flags, VL_MORE);
	vl_call_done(&c);
	free(s);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_splits_messages),
		cmocka_unit_test(test_reader_byte_by_byte),
		cmocka_unit_test(test_reader_limit),
		cmocka_unit_test(test_writer_limit_and_flush),
		cmocka_unit_test(test_writer_backpressure),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_call_parse),
		cmocka_unit_test(test_call_parse_errors),
		cmocka_unit_test(test_reply_parse_and_encode),
		cmocka_unit_test(test_call_encode_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
