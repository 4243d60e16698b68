/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/net's pure parts: IPAM (addresses, subnets, the next free address)
 * and the parser of the kernel's netlink replies, fed hand-made replies
 * (run on mnl-lite in the static build, on libmnl in the development one).
 */
#include "unit.h"

#include <arpa/inet.h>

#include <linux/if_link.h>

#include "net/net-internal.h"
#include "util/cleanup.h"
#include "util/err.h"

/* ---- IPAM ---- */

static struct net_subnet SN(const char *s)
{
	struct net_subnet sn;
	struct ember_error e = { 0 };

	if (net_subnet_parse(s, &sn, &e) < 0)
		fail_msg("subnet %s: %s", s, e.message);
	return sn;
}

static struct net_addr A(const char *s)
{
	struct net_addr a;
	struct ember_error e = { 0 };

	if (net_addr_parse(s, &a, &e) < 0)
		fail_msg("address %s: %s", s, e.message);
	return a;
}

static void assert_addr(const struct net_addr *a, const char *want)
{
	char buf[NET_ADDR_STR_MAX];

	assert_string_equal(net_addr_str(a, buf), want);
}

static void test_addr_parse(void **state)
{
	struct net_addr a;
	struct ember_error e = { 0 };
	(void)state;

	a = A("10.89.0.2");
	assert_int_equal(a.family, AF_INET);
	assert_memory_equal(a.a, "\x0a\x59\x00\x02", 4);
	assert_addr(&a, "10.89.0.2");
	a = A("fd00:e::2");
	assert_int_equal(a.family, AF_INET6);
	assert_addr(&a, "fd00:e::2");

	const char *bad[] = { "", "10.89.0", "10.89.0.256", "10.89.0.2/24", "fd00::g", " 10.0.0.1", "host" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(net_addr_parse(bad[i], &a, &e), -EINVAL);
		assert_int_equal(a.family, 0);
		assert_msg_contains(&e, "not an IPv4 or IPv6 address");
		assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
	}
	assert_int_equal(net_addr_parse(NULL, &a, &e), -EINVAL);
}

static void test_subnet_parse(void **state)
{
	char buf[NET_SUBNET_STR_MAX];
	struct net_subnet s;
	(void)state;

	s = SN("10.89.0.0/24");
	assert_int_equal(s.prefix, 24);
	assert_string_equal(net_subnet_str(&s, buf), "10.89.0.0/24");
	s = SN("172.30.0.0/16");
	assert_string_equal(net_subnet_str(&s, buf), "172.30.0.0/16");
	s = SN("10.0.0.0/8");
	assert_string_equal(net_subnet_str(&s, buf), "10.0.0.0/8");
	s = SN("192.168.7.4/30");
	assert_string_equal(net_subnet_str(&s, buf), "192.168.7.4/30");
	s = SN("fd00:e::/64");
	assert_int_equal(s.net.family, AF_INET6);
	assert_string_equal(net_subnet_str(&s, buf), "fd00:e::/64");
	s = SN("fd00:e::8/126");
	assert_string_equal(net_subnet_str(&s, buf), "fd00:e::8/126");
	s = SN("10.89.0.0/024");
	assert_int_equal(s.prefix, 24);
}

static void test_subnet_parse_bad(void **state)
{
	static const struct {
		const char *in, *msg;
	} bad[] = {
		{ "10.89.0.0", "subnet \"10.89.0.0\": not ADDRESS/PREFIX (e.g. 10.89.0.0/24)" },
		{ "/24", "subnet \"/24\": not ADDRESS/PREFIX" },
		{ "", "subnet \"\": not ADDRESS/PREFIX" },
		{ "10.89.0/24", "subnet \"10.89.0/24\": not an IPv4 or IPv6 address before the '/'" },
		{ "10.89.0.0/", "subnet \"10.89.0.0/\": the prefix length is not a number" },
		{ "10.89.0.0/2a", "the prefix length is not a number" },
		{ "10.89.0.0/-24", "the prefix length is not a number" },
		{ "10.89.0.0/+24", "the prefix length is not a number" },
		{ "10.89.0.0/ 24", "the prefix length is not a number" },
		{ "10.89.0.0/0024", "the prefix length is not a number" },
		{ "10.89.0.0/24/8", "the prefix length is not a number" },
		{ "10.0.0.0/7", "subnet \"10.0.0.0/7\": the prefix length must be 8 to 30 for IPv4" },
		{ "10.89.0.0/31", "the prefix length must be 8 to 30 for IPv4" },
		{ "10.89.0.0/32", "the prefix length must be 8 to 30 for IPv4" },
		{ "10.89.0.0/999", "the prefix length must be 8 to 30 for IPv4" },
		{ "fd00::/63", "the prefix length must be 64 to 126 for IPv6" },
		{ "fd00::/127", "the prefix length must be 64 to 126 for IPv6" },
		{ "10.89.0.1/24", "subnet \"10.89.0.1/24\": host bits are set (the subnet is 10.89.0.0/24)" },
		{ "10.89.3.0/22", "host bits are set (the subnet is 10.89.0.0/22)" },
		{ "fd00:e::1/64", "host bits are set (the subnet is fd00:e::/64)" },
		{ "127.0.0.0/8", "subnet \"127.0.0.0/8\": loopback addresses are not for containers" },
		{ "0.0.0.0/8", "\"this network\" (0.0.0.0/8) addresses are not for containers" },
		{ "224.0.0.0/24", "multicast addresses are not for containers" },
		{ "240.0.0.0/8", "reserved (240.0.0.0/4) addresses" },
		{ "::/64", "loopback and mapped IPv4 (::/64) addresses" },
		{ "fe80::/64", "link-local addresses" },
		{ "ff02::/64", "multicast addresses" },
	};
	struct net_subnet s;
	struct ember_error e;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		if (net_subnet_parse(bad[i].in, &s, &e) != -EINVAL)
			fail_msg("%s: accepted", bad[i].in);
		assert_msg_contains(&e, bad[i].msg);
		assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
		assert_int_equal(s.prefix, 0);
		assert_null(strchr(e.message, '\n'));
	}
	/* Input-derived text is quoted safely. */
	assert_int_equal(net_subnet_parse("10.0.0.0/\n24", &s, &e), -EINVAL);
	assert_null(strchr(e.message, '\n'));
}

static void test_contains_overlap(void **state)
{
	struct net_subnet a = SN("10.0.0.0/8"), b = SN("10.1.0.0/16"), c = SN("10.2.0.0/16"), d = SN("fd00::/64"),
			  f = SN("10.1.128.0/17");
	struct net_addr x = A("10.1.200.3"), y = A("fd00::1");
	(void)state;

	assert_true(net_subnet_contains(&a, &x));
	assert_true(net_subnet_contains(&b, &x));
	assert_false(net_subnet_contains(&c, &x));
	assert_true(net_subnet_contains(&f, &x));
	assert_false(net_subnet_contains(&a, &y));
	assert_true(net_subnet_contains(&d, &y));

	assert_true(net_subnet_overlap(&a, &b));
	assert_true(net_subnet_overlap(&b, &a));
	assert_true(net_subnet_overlap(&b, &f));
	assert_true(net_subnet_overlap(&a, &a));
	assert_false(net_subnet_overlap(&b, &c));
	assert_false(net_subnet_overlap(&c, &f));
	assert_false(net_subnet_overlap(&a, &d));
	assert_false(net_subnet_overlap(&d, &a));
	/* Neighbours share no address. */
	struct net_subnet g = SN("10.89.0.0/25"), h = SN("10.89.0.128/25");
	assert_false(net_subnet_overlap(&g, &h));
}

static void test_gateway(void **state)
{
	struct net_subnet s = SN("10.89.0.0/24"), s6 = SN("fd00:e::/64");
	struct net_addr gw;
	struct ember_error e;
	(void)state;

	net_subnet_gateway(&s, &gw);
	assert_addr(&gw, "10.89.0.1");
	assert_int_equal(net_subnet_check_gateway(&s, &gw, &e), 0);
	net_subnet_gateway(&s6, &gw);
	assert_addr(&gw, "fd00:e::1");
	assert_int_equal(net_subnet_check_gateway(&s6, &gw, &e), 0);

	gw = A("10.89.0.254");
	assert_int_equal(net_subnet_check_gateway(&s, &gw, &e), 0);
	gw = A("10.89.0.0");
	assert_int_equal(net_subnet_check_gateway(&s, &gw, &e), -EINVAL);
	assert_string_equal(e.message, "gateway 10.89.0.0: the network address of subnet 10.89.0.0/24");
	gw = A("10.89.0.255");
	assert_int_equal(net_subnet_check_gateway(&s, &gw, &e), -EINVAL);
	assert_string_equal(e.message, "gateway 10.89.0.255: the broadcast address of subnet 10.89.0.0/24");
	gw = A("10.89.1.1");
	assert_int_equal(net_subnet_check_gateway(&s, &gw, &e), -EINVAL);
	assert_string_equal(e.message, "gateway 10.89.1.1: not in subnet 10.89.0.0/24");
	gw = A("fd00:e::1");
	assert_int_equal(net_subnet_check_gateway(&s, &gw, &e), -EINVAL);
	/* IPv6 has no broadcast: the last address is a host's. */
	gw = A("fd00:e::ffff:ffff:ffff:ffff");
	assert_int_equal(net_subnet_check_gateway(&s6, &gw, &e), 0);
}

/* net_ipam_next() of s with gateway gw and the used addresses given. */
static void next_is(const char *subnet, const char *gw, const char *const *used, size_t n, const char *want)
{
	struct net_subnet s = SN(subnet);
	struct net_addr g, out, u[16];
	struct ember_error e = { 0 };

	assert_true(n <= ARRAY_SIZE(u));
	for (size_t i = 0; i < n; i++)
		u[i] = A(used[i]);
	if (gw)
		g = A(gw);
	if (net_ipam_next(&s, gw ? &g : NULL, u, n, &out, &e) < 0)
		fail_msg("%s: %s", subnet, e.message);
	assert_addr(&out, want);
	assert_true(net_subnet_contains(&s, &out));
}

static void test_ipam_next(void **state)
{
	(void)state;

	next_is("10.89.0.0/24", "10.89.0.1", NULL, 0, "10.89.0.2");
	next_is("10.89.0.0/24", NULL, NULL, 0, "10.89.0.1");
	next_is("10.89.0.0/24", "10.89.0.1", (const char *[]){ "10.89.0.2", "10.89.0.3" }, 2, "10.89.0.4");
	/* Unsorted, with duplicates and holes. */
	next_is("10.89.0.0/24", "10.89.0.1",
		(const char *[]){ "10.89.0.5", "10.89.0.2", "10.89.0.2", "10.89.0.3", "10.89.0.4" }, 5, "10.89.0.6");
	next_is("10.89.0.0/24", "10.89.0.1", (const char *[]){ "10.89.0.4", "10.89.0.2" }, 2, "10.89.0.3");
	/* Addresses of other subnets and families are not this subnet's. */
	next_is("10.89.0.0/24", "10.89.0.1", (const char *[]){ "10.89.1.2", "fd00::2", "10.88.0.2" }, 3,
		"10.89.0.2");
	/* A gateway elsewhere in the subnet. */
	next_is("10.89.0.0/30", "10.89.0.2", NULL, 0, "10.89.0.1");
	next_is("10.89.0.0/29", "10.89.0.2", (const char *[]){ "10.89.0.1" }, 1, "10.89.0.3");
	/* A subnet that does not start at a byte boundary. */
	next_is("10.89.0.64/26", "10.89.0.65", (const char *[]){ "10.89.0.66" }, 1, "10.89.0.67");
	/* Crossing a byte: .255 is a host's in a /16. */
	next_is("10.89.0.0/16", "10.89.0.1", (const char *[]){ "10.89.0.254" }, 1, "10.89.0.2");

	next_is("fd00:e::/64", "fd00:e::1", NULL, 0, "fd00:e::2");
	next_is("fd00:e::/64", "fd00:e::1", (const char *[]){ "fd00:e::2", "fd00:e::3" }, 2, "fd00:e::4");
	/* IPv6 has no broadcast: the last address is a host's. */
	next_is("fd00:e::/126", "fd00:e::1", (const char *[]){ "fd00:e::2" }, 1, "fd00:e::3");
}

static void test_ipam_full(void **state)
{
	struct net_subnet s = SN("10.89.0.0/30"), s6 = SN("fd00:e::/126");
	struct net_addr gw = A("10.89.0.1"), u[2] = { A("10.89.0.2"), A("10.89.0.2") }, out;
	struct ember_error e;
	(void)state;

	/* .0 network, .1 gateway, .2 used, .3 broadcast. */
	assert_int_equal(net_ipam_next(&s, &gw, u, 2, &out, &e), -ENOSPC);
	assert_string_equal(e.message, "subnet 10.89.0.0/30: no free address (3 taken, the gateway included)");
	assert_string_equal(err_api_name(&e), EMBER_ERROR_RESOURCE_EXHAUSTED);

	struct net_addr gw6 = A("fd00:e::1"), u6[2] = { A("fd00:e::2"), A("fd00:e::3") };
	assert_int_equal(net_ipam_next(&s6, &gw6, u6, 2, &out, &e), -ENOSPC);
	assert_msg_contains(&e, "subnet fd00:e::/126: no free address");
}

static void test_ipam_many(void **state)
{
	struct net_subnet s = SN("10.0.0.0/8");
	struct net_addr gw, out;
	struct ember_error e;
	size_t n = 70000;
	(void)state;

	/* 70000 addresses in use, given backwards: .0.0.2 ... */
	struct net_addr *u = calloc(n, sizeof(*u));
	assert_non_null(u);
	net_subnet_gateway(&s, &gw);
	for (size_t i = 0; i < n; i++) {
		uint32_t v = htonl((uint32_t)(0x0a000002 + (n - 1 - i)));
		u[i].family = AF_INET;
		memcpy(u[i].a, &v, 4);
	}
	assert_int_equal(net_ipam_next(&s, &gw, u, n, &out, &e), 0);
	assert_addr(&out, "10.1.17.114"); /* 2 + 70000 = 0x011172 */
	free(u);
}

/* ---- the netlink reply parser ---- */

#define SEQ 7
#define PORTID 4242

struct msgbuf {
	char b[4096] __attribute__((aligned(4)));
	size_t len;
};

static struct nlmsghdr *add_msg(struct msgbuf *m, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(m->b + m->len);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = SEQ;
	nlh->nlmsg_pid = PORTID;
	return nlh;
}

static void end_msg(struct msgbuf *m, struct nlmsghdr *nlh)
{
	m->len += MNL_ALIGN(nlh->nlmsg_len);
}

static void add_link(struct msgbuf *m, int index, const char *name, const char *kind, unsigned mtu, int master)
{
	struct nlmsghdr *nlh = add_msg(m, RTM_NEWLINK, NLM_F_MULTI);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_index = index;
	ifi->ifi_flags = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	if (kind) {
		struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
		mnl_attr_nest_end(nlh, info);
	}
	end_msg(m, nlh);
}

/* NLMSG_ERROR: code, and the extended ACK's message when ext. */
static void add_error(struct msgbuf *m, int code, const char *ext, int capped)
{
	struct nlmsghdr *nlh = add_msg(m, NLMSG_ERROR, (ext ? NLM_F_ACK_TLVS : 0) | (capped ? NLM_F_CAPPED : 0));
	struct nlmsgerr *err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err));

	err->error = code;
	err->msg.nlmsg_len = sizeof(struct nlmsghdr);
	if (!capped) {
		/* The request's payload comes back: 8 bytes of it. */
		err->msg.nlmsg_len += 8;
		memset(mnl_nlmsg_put_extra_header(nlh, 8), 0x5a, 8);
	}
	if (ext)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, ext);
	end_msg(m, nlh);
}

static int collect(const struct net_link *l, void *data, struct ember_error *e)
{
	struct net_link *all = data;

	(void)e;
	for (int i = 0; i < 8; i++)
		if (!all[i].index) {
			all[i] = *l;
			return 0;
		}
	return -1;
}

static void test_reply_ack(void **state)
{
	struct msgbuf m = { .len = 0 };
	struct net_reply r = { 0 };
	(void)state;

	add_error(&m, 0, NULL, 1);
	assert_int_equal(net_reply_parse(m.b, m.len, SEQ, PORTID, &r), MNL_CB_STOP);
	assert_int_equal(r.error, 0);
	assert_string_equal(r.ext, "");
}

static void test_reply_error(void **state)
{
	struct msgbuf m = { .len = 0 };
	struct net_reply r = { 0 };
	struct ember_error e;
	(void)state;

	add_error(&m, -EEXIST, "bridge exists\x01", 1);
	assert_int_equal(net_reply_parse(m.b, m.len, SEQ, PORTID, &r), MNL_CB_ERROR);
	assert_int_equal(r.error, EEXIST);
	/* Kept printable. */
	assert_string_equal(r.ext, "bridge exists?");
	assert_int_equal(net_fail(&r, &e, "create bridge \"%s\"", "em0"), -EEXIST);
	assert_string_equal(e.message, "network: create bridge \"em0\": File exists (kernel: bridge exists?)");

	/* Not capped: the TLVs follow the request's payload. */
	struct msgbuf m2 = { .len = 0 };
	struct net_reply r2 = { 0 };
	add_error(&m2, -EINVAL, "mtu too big", 0);
	assert_int_equal(net_reply_parse(m2.b, m2.len, SEQ, PORTID, &r2), MNL_CB_ERROR);
	assert_int_equal(r2.error, EINVAL);
	assert_string_equal(r2.ext, "mtu too big");

	/* Without an extended ACK. */
	struct msgbuf m3 = { .len = 0 };
	struct net_reply r3 = { 0 };
	add_error(&m3, -ENODEV, NULL, 0);
	assert_int_equal(net_reply_parse(m3.b, m3.len, SEQ, PORTID, &r3), MNL_CB_ERROR);
	assert_int_equal(r3.error, ENODEV);
	assert_int_equal(net_fail(&r3, &e, "delete link \"%s\"", "x"), -ENODEV);
	assert_string_equal(e.message, "network: delete link \"x\": No such device");

	/* A code outside errno's range is a protocol error, not UB. */
	struct msgbuf m4 = { .len = 0 };
	struct net_reply r4 = { 0 };
	add_error(&m4, INT32_MIN, NULL, 1);
	assert_int_equal(net_reply_parse(m4.b, m4.len, SEQ, PORTID, &r4), MNL_CB_ERROR);
	assert_int_equal(r4.error, EPROTO);
}

static void test_reply_dump(void **state)
{
	struct msgbuf m = { .len = 0 };
	struct net_link all[8] = { { 0 } };
	struct ember_error e = { 0 };
	struct net_reply r = { .fn = collect, .data = all, .fn_err = &e };
	(void)state;

	add_link(&m, 1, "lo", NULL, 65536, 0);
	add_link(&m, 2, "em0", "bridge", 1400, 0);
	/* The first datagram: no end yet. */
	assert_int_equal(net_reply_parse(m.b, m.len, SEQ, PORTID, &r), MNL_CB_OK);
	assert_int_equal(r.links, 2);

	struct msgbuf m2 = { .len = 0 };
	add_link(&m2, 3, "ve0", "veth", 1400, 2);
	struct nlmsghdr *done = add_msg(&m2, NLMSG_DONE, NLM_F_MULTI);
	int zero = 0;
	memcpy(mnl_nlmsg_put_extra_header(done, sizeof(zero)), &zero, sizeof(zero));
	end_msg(&m2, done);
	assert_int_equal(net_reply_parse(m2.b, m2.len, SEQ, PORTID, &r), MNL_CB_STOP);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.links, 3);

	assert_int_equal(all[0].index, 1);
	assert_string_equal(all[0].name, "lo");
	assert_string_equal(all[0].kind, "");
	assert_int_equal(all[0].link_netnsid, -1);
	assert_string_equal(all[1].name, "em0");
	assert_string_equal(all[1].kind, "bridge");
	assert_int_equal(all[1].mtu, 1400);
	assert_string_equal(all[2].name, "ve0");
	assert_string_equal(all[2].kind, "veth");
	assert_int_equal(all[2].master, 2);
	assert_true(all[2].flags & IFF_UP);
	assert_int_equal(all[3].index, 0);
}

static void test_reply_dump_failed(void **state)
{
	struct msgbuf m = { .len = 0 };
	struct net_reply r = { 0 };
	int v = -EBUSY;
	(void)state;

	struct nlmsghdr *done = add_msg(&m, NLMSG_DONE, NLM_F_MULTI);
	memcpy(mnl_nlmsg_put_extra_header(done, sizeof(v)), &v, sizeof(v));
	end_msg(&m, done);
	assert_int_equal(net_reply_parse(m.b, m.len, SEQ, PORTID, &r), MNL_CB_ERROR);
	assert_int_equal(r.error, EBUSY);

	/* The kernel says the dump changed while it ran. */
	struct msgbuf m2 = { .len = 0 };
	struct net_reply r2 = { 0 };
	add_link(&m2, 1, "lo", NULL, 65536, 0);
	((struct nlmsghdr *)m2.b)->nlmsg_flags |= NLM_F_DUMP_INTR;
	assert_int_equal(net_reply_parse(m2.b, m2.len, SEQ, PORTID, &r2), MNL_CB_ERROR);
	assert_int_equal(r2.error, EINTR);
}

static void test_reply_not_ours(void **state)
{
	struct msgbuf m = { .len = 0 };
	struct net_reply r = { 0 };
	(void)state;

	add_error(&m, 0, NULL, 1);
	assert_int_equal(net_reply_parse(m.b, m.len, SEQ + 1, PORTID, &r), MNL_CB_ERROR);
	assert_int_equal(r.error, EPROTO);
	memset(&r, 0, sizeof(r));
	assert_int_equal(net_reply_parse(m.b, m.len, SEQ, PORTID + 1, &r), MNL_CB_ERROR);
	assert_int_equal(r.error, ESRCH);
}

static void test_reply_malformed(void **state)
{
	struct net_link one;
	(void)state;

	/* A name without its NUL. */
	struct msgbuf m = { .len = 0 };
	struct net_reply r = { .one = &one };
	add_link(&m, 5, "abcd", NULL, 1500, 0);
	struct nlattr *name = (struct nlattr *)((char *)mnl_nlmsg_get_payload((struct nlmsghdr *)m.b) +
						MNL_ALIGN(sizeof(struct ifinfomsg)));
	assert_int_equal(mnl_attr_get_type(name), IFLA_IFNAME);
	name->nla_len = MNL_ATTR_HDRLEN + 4; /* "abcd", the NUL cut */
	assert_int_equal(net_reply_parse(m.b, m.len, SEQ, PORTID, &r), MNL_CB_ERROR);
	assert_int_equal(r.error, EBADMSG);

	/* A name longer than IFNAMSIZ. */
	struct msgbuf m2 = { .len = 0 };
	struct net_reply r2 = { .one = &one };
	add_link(&m2, 5, "a-name-of-twenty-chars", NULL, 1500, 0);
	assert_int_equal(net_reply_parse(m2.b, m2.len, SEQ, PORTID, &r2), MNL_CB_ERROR);
	assert_int_equal(r2.error, EBADMSG);

	/* An MTU of the wrong size. */
	struct msgbuf m3 = { .len = 0 };
	struct net_reply r3 = { .one = &one };
	struct nlmsghdr *nlh = add_msg(&m3, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 3;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "x");
	mnl_attr_put_u8(nlh, IFLA_MTU, 1);
	end_msg(&m3, nlh);
	assert_int_equal(net_reply_parse(m3.b, m3.len, SEQ, PORTID, &r3), MNL_CB_ERROR);
	assert_int_equal(r3.error, EBADMSG);

	/* No ifinfomsg at all. */
	struct msgbuf m4 = { .len = 0 };
	struct net_reply r4 = { .one = &one };
	end_msg(&m4, add_msg(&m4, RTM_NEWLINK, 0));
	assert_int_equal(net_reply_parse(m4.b, m4.len, SEQ, PORTID, &r4), MNL_CB_ERROR);
	assert_int_equal(r4.error, EBADMSG);

	/* A message longer than the datagram: nothing is read past it. */
	struct msgbuf m5 = { .len = 0 };
	struct net_reply r5 = { .one = &one };
	add_link(&m5, 1, "lo", NULL, 65536, 0);
	assert_int_equal(net_reply_parse(m5.b, m5.len - 4, SEQ, PORTID, &r5), MNL_CB_OK);
	assert_int_equal(r5.links, 0);

	/* An error too short for its nlmsgerr. */
	struct msgbuf m6 = { .len = 0 };
	struct net_reply r6 = { 0 };
	end_msg(&m6, add_msg(&m6, NLMSG_ERROR, 0));
	assert_int_equal(net_reply_parse(m6.b, m6.len, SEQ, PORTID, &r6), MNL_CB_ERROR);
	assert_int_equal(r6.error, EBADMSG);
}

/* The batch API: what mnl-lite does, libmnl does (both flavours run it). */
static void test_batch(void **state)
{
	char buf[512 + 256] __attribute__((aligned(4)));
	(void)state;

	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, 512);
	assert_non_null(b);
	assert_ptr_equal(mnl_nlmsg_batch_head(b), buf);
	assert_ptr_equal(mnl_nlmsg_batch_current(b), buf);
	assert_int_equal(mnl_nlmsg_batch_size(b), 0);
	/* Three messages of 200 bytes: two fit in 512, the third does not. */
	for (int i = 0; i < 3; i++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
		nlh->nlmsg_type = (uint16_t)(100 + i);
		char pad[184] = { 0 };
		mnl_attr_put(nlh, 1, sizeof(pad) - 4, pad);
		assert_int_equal(nlh->nlmsg_len, 200);
		assert_int_equal(mnl_nlmsg_batch_next(b), i < 2);
		assert_int_equal(mnl_nlmsg_batch_size(b), i < 2 ? 200 * (i + 1) : 400);
	}
	assert_ptr_equal(mnl_nlmsg_batch_current(b), buf + 400);
	assert_int_equal(((struct nlmsghdr *)(buf + 200))->nlmsg_type, 101);
	mnl_nlmsg_batch_stop(b);
}

static void test_ifname(void **state)
{
	struct ember_error e;
	(void)state;

	assert_int_equal(net_ifname_check("eth0", "x", &e), 0);
	assert_int_equal(net_ifname_check("fifteen-chars-x", "x", &e), 0);
	assert_int_equal(net_ifname_check("sixteen-chars-xx", "create bridge", &e), -EINVAL);
	assert_string_equal(e.message,
			    "network: create bridge \"sixteen-chars-xx\": a name has at most 15 characters");
	assert_int_equal(net_ifname_check("", "create bridge", &e), -EINVAL);
	assert_string_equal(e.message, "network: create bridge: no name");
	assert_int_equal(net_ifname_check(NULL, "x", &e), -EINVAL);
	assert_int_equal(net_ifname_check("a/b", "x", &e), -EINVAL);
	assert_int_equal(net_ifname_check("a:b", "x", &e), -EINVAL);
	assert_int_equal(net_ifname_check("a b", "x", &e), -EINVAL);
	assert_int_equal(net_ifname_check("..", "x", &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),	 cmocka_unit_test(test_subnet_parse),
		cmocka_unit_test(test_subnet_parse_bad), cmocka_unit_test(test_contains_overlap),
		cmocka_unit_test(test_gateway),		 cmocka_unit_test(test_ipam_next),
		cmocka_unit_test(test_ipam_full),	 cmocka_unit_test(test_ipam_many),
		cmocka_unit_test(test_reply_ack),	 cmocka_unit_test(test_reply_error),
		cmocka_unit_test(test_reply_dump),	 cmocka_unit_test(test_reply_dump_failed),
		cmocka_unit_test(test_reply_not_ours),	 cmocka_unit_test(test_reply_malformed),
		cmocka_unit_test(test_batch),		 cmocka_unit_test(test_ifname),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
