/* SPDX-License-Identifier: Apache-2.0 */
/* The protobuf wire format (util/pb.c) and CRIU's RPC messages (runtime/criu-rpc.c). */
#include "unit.h"

#ifdef CONFIG_CHECKPOINT
#include "runtime/runtime-internal.h"

static void assert_bytes(const struct pb_buf *b, const char *hex)
{
	char got[1024] = "";
	for (size_t i = 0; i < b->len && 2 * i + 2 < sizeof(got); i++)
		snprintf(got + 2 * i, 3, "%02x", b->data[i]);
	assert_false(b->failed);
	assert_string_equal(got, hex);
}

static void test_pb_encode(void **state)
{
	struct pb_buf b = { 0 };

	(void)state;
	pb_put_varint(&b, 1, 0);
	pb_put_varint(&b, 1, 300);
	assert_bytes(&b, "0800" "08ac02");
	pb_buf_done(&b);
	/* int32 -1: sign-extended, ten bytes, as proto2 writes it. */
	pb_put_int32(&b, 1, -1);
	assert_bytes(&b, "08ffffffffffffffffff01");
	pb_buf_done(&b);
	pb_put_string(&b, 10, "dump.log");
	pb_put_bool(&b, 26, true);
	assert_bytes(&b, "5208" "64756d702e6c6f67" "d00101");
	pb_buf_done(&b);
	struct pb_buf m = { 0 };
	pb_put_string(&m, 1, "/a");
	pb_put_message(&b, 23, &m);
	assert_bytes(&b, "ba0104" "0a022f61");
	pb_buf_done(&m);
	pb_buf_done(&b);
	pb_put_varint(&b, PB_FIELD_MAX, UINT64_MAX);
	struct pb_reader r;
	struct pb_field f;
	struct ember_error e;
	pb_reader_init(&r, b.data, b.len);
	assert_int_equal(pb_next(&r, &f, &e), 1);
	assert_int_equal(f.num, PB_FIELD_MAX);
	assert_true(f.v == UINT64_MAX);
	assert_int_equal(pb_next(&r, &f, &e), 0);
	pb_buf_done(&b);
}

static void test_pb_decode(void **state)
{
	static const uint8_t ok[] = { 0x08, 0x96, 0x01, 0x12, 0x02, 'h', 'i', 0x1d, 1, 0, 0, 0,
				      0x21, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct pb_reader r;
	struct pb_field f;
	struct ember_error e;

	(void)state;
	pb_reader_init(&r, ok, sizeof(ok));
	assert_int_equal(pb_next(&r, &f, &e), 1);
	assert_int_equal(f.num, 1);
	assert_int_equal(f.wire, PB_VARINT);
	assert_int_equal(f.v, 150);
	assert_int_equal(pb_next(&r, &f, &e), 1);
	assert_int_equal(f.wire, PB_LEN);
	assert_int_equal(f.len, 2);
	assert_memory_equal(f.data, "hi", 2);
	assert_int_equal(pb_next(&r, &f, &e), 1);
	assert_int_equal(f.wire, PB_I32);
	assert_int_equal(f.v, 1);
	assert_int_equal(pb_next(&r, &f, &e), 1);
	assert_int_equal(f.wire, PB_I64);
	assert_true(f.v == 0x0807060504030201ull);
	assert_int_equal(pb_next(&r, &f, &e), 0);

	static const struct {
		const char *what;
		uint8_t data[16];
		size_t len;
		const char *msg;
	} bad[] = {
		{ "truncated varint", { 0x08, 0x80 }, 2, "truncated varint" },
		{ "11-byte varint", { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 12,
		  "overflows 64 bits" },
		{ "field 0", { 0x00, 0x01 }, 2, "field number 0 out of range" },
		{ "group", { 0x0b }, 1, "unsupported wire type 3" },
		{ "length past the end", { 0x12, 0x05, 'a' }, 3, "past the end" },
		{ "truncated fixed32", { 0x0d, 1, 2 }, 3, "truncated fixed value" },
		{ "huge length", { 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f }, 10, "past the end" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		pb_reader_init(&r, bad[i].data, bad[i].len);
		int k;
		while ((k = pb_next(&r, &f, &e)) > 0)
			;
		if (k != -EBADMSG)
			fail_msg("%s: accepted", bad[i].what);
		if (!strstr(e.message, bad[i].msg))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].what, e.message, bad[i].msg);
	}
}

/* The opts of a request, field by field, as CRIU would read them. */
static void test_req_encode(void **state)
{
	static const struct rt_criu_kv mnt[] = { { "/data", "/srv/data" } };
	static const struct rt_criu_inherit inh[] = { { "file[2a:1f]", 4 } };
	static const char *const ext[] = { "file[2a:1f]" };
	struct rt_criu_opts o = {
		.images_dir_fd = 7, .work_dir_fd = 8, .pid = 4242, .log_file = "restore.log", .log_level = 4,
		.root = "/run/x/rootfs", .tcp_established = true, .manage_cgroups = true,
		.manage_cgroups_mode = RT_CRIU_CG_SOFT, .rst_sibling = true, .ext_mnt = mnt, .n_ext_mnt = 1,
		.inherit_fd = inh, .n_inherit_fd = 1, .external = ext, .n_external = 1,
		.network_lock = RT_CRIU_NETLOCK_NFTABLES, .orphan_pts_master = true, .notify_scripts = true,
	};
	struct pb_buf b;
	struct ember_error e;
	struct pb_reader r, ro, rm;
	struct pb_field f, g, h;
	unsigned seen = 0;
	bool orphan = false;

	(void)state;
	assert_int_equal(rt_criu_req_encode(RT_CRIU_RESTORE, &o, false, &b, &e), 0);
	pb_reader_init(&r, b.data, b.len);
	assert_int_equal(pb_next(&r, &f, &e), 1);
	assert_int_equal(f.num, 1);
	assert_int_equal(f.v, RT_CRIU_RESTORE);
	assert_int_equal(pb_next(&r, &f, &e), 1);
	assert_int_equal(f.num, 2);
	assert_int_equal(pb_next(&r, &g, &e), 0);
	pb_reader_init(&ro, f.data, f.len);
	while (pb_next(&ro, &g, &e) > 0) {
		seen |= 1u << (g.num < 32 ? g.num : 0);
		switch (g.num) {
		case 1: assert_int_equal(g.v, 7); break;
		case 2: assert_int_equal(g.v, 4242); break;
		case 3: fail_msg("leave_running false is not sent"); break;
		case 5: assert_int_equal(g.v, 1); break;
		case 9: assert_int_equal(g.v, 4); break;
		case 12: assert_int_equal(g.v, 1); break;
		case 10: assert_int_equal(g.len, 11); assert_memory_equal(g.data, "restore.log", 11); break;
		case 13: assert_int_equal(g.len, 13); break;
		case 17: assert_int_equal(g.v, 8); break;
		case 23:
		case 27:
			pb_reader_init(&rm, g.data, g.len);
			assert_int_equal(pb_next(&rm, &h, &e), 1);
			assert_int_equal(h.num, 1);
			assert_int_equal(pb_next(&rm, &h, &e), 1);
			assert_int_equal(h.num, 2);
			if (g.num == 27)
				assert_int_equal(h.v, 4);
			else
				assert_memory_equal(h.data, "/srv/data", 9);
			break;
		case 24: case 26: assert_int_equal(g.v, 1); break;
		case 34: assert_int_equal(g.v, 3); break;
		case 37: assert_memory_equal(g.data, "file[2a:1f]", 11); seen |= 1; break;
		case 50: assert_int_equal(g.v, 1); orphan = true; break;
		case 64: assert_int_equal(g.v, 2); seen |= 1u << 31; break;
		default: fail_msg("unexpected opts field %u", g.num);
		}
	}
	assert_int_equal(seen, (1u << 1) | (1u << 2) | (1u << 5) | (1u << 9) | (1u << 10) | (1u << 12) | (1u << 13) |
				       (1u << 17) | (1u << 23) | (1u << 24) | (1u << 26) | (1u << 27) | (1u << 31) | 1u);
	assert_true(orphan);
	pb_buf_done(&b);

	/* A notification's answer: type and notify_success, no opts. */
	assert_int_equal(rt_criu_req_encode(RT_CRIU_NOTIFY, NULL, true, &b, &e), 0);
	assert_bytes(&b, "0806" "1801");
	pb_buf_done(&b);
}

static void test_resp_decode(void **state)
{
	struct rt_criu_resp r;
	struct ember_error e;

	(void)state;
	/* RESTORE, success, restore { pid 4242 }, an unknown field 99. */
	static const uint8_t restored[] = { 0x08, 0x02, 0x10, 0x01, 0x22, 0x03, 0x08, 0x92, 0x21, 0x98, 0x06, 0x05 };
	assert_int_equal(rt_criu_resp_decode(restored, sizeof(restored), &r, &e), 0);
	assert_int_equal(r.type, RT_CRIU_RESTORE);
	assert_true(r.success);
	assert_int_equal(r.restore_pid, 4242);
	assert_int_equal(r.version_major, -1);

	/* DUMP failed: cr_errno 5, cr_errmsg with a newline. */
	static const uint8_t failed[] = { 0x08, 0x01, 0x10, 0x00, 0x38, 0x05, 0x4a, 0x04, 'b', 'a', '\n', 'd' };
	assert_int_equal(rt_criu_resp_decode(failed, sizeof(failed), &r, &e), 0);
	assert_false(r.success);
	assert_int_equal(r.cr_errno, 5);
	assert_string_equal(r.cr_errmsg, "ba?d");

	/* NOTIFY { script "post-dump", pid 7 } and VERSION { 3, 17, sublevel 1 }. */
	static const uint8_t notify[] = { 0x08, 0x06, 0x10, 0x01, 0x2a, 0x0d, 0x0a, 0x09, 'p', 'o', 's', 't', '-', 'd',
					  'u', 'm', 'p', 0x10, 0x07, 0x52, 0x06, 0x08, 0x03, 0x10, 0x11, 0x20, 0x01 };
	assert_int_equal(rt_criu_resp_decode(notify, sizeof(notify), &r, &e), 0);
	assert_string_equal(r.notify_script, "post-dump");
	assert_int_equal(r.notify_pid, 7);
	assert_int_equal(r.version_major, 3);
	assert_int_equal(r.version_minor, 17);
	assert_int_equal(r.version_sublevel, 1);

	static const struct {
		const char *what;
		uint8_t data[12];
		size_t len;
		const char *msg;
	} bad[] = {
		{ "no success", { 0x08, 0x01 }, 2, "no success" },
		{ "no type", { 0x10, 0x01 }, 2, "no type" },
		{ "restore without pid", { 0x08, 0x02, 0x10, 0x01, 0x22, 0x00 }, 6, "restore: no pid" },
		{ "type as a string", { 0x0a, 0x01, 'x', 0x10, 0x01 }, 5, "not a varint" },
		{ "nested garbage", { 0x08, 0x02, 0x10, 0x01, 0x22, 0x02, 0x08, 0x80 }, 8, "restore: protobuf: truncated" },
		{ "notify not a message", { 0x08, 0x06, 0x10, 0x01, 0x28, 0x01 }, 6, "notify: not a message" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (rt_criu_resp_decode(bad[i].data, bad[i].len, &r, &e) != -EBADMSG)
			fail_msg("%s: accepted", bad[i].what);
		if (!strstr(e.message, bad[i].msg))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].what, e.message, bad[i].msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pb_encode),
		cmocka_unit_test(test_pb_decode),
		cmocka_unit_test(test_req_encode),
		cmocka_unit_test(test_resp_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
	printf("1..0 # SKIP built without CONFIG_CHECKPOINT\n");
	return 0;
}
#endif
