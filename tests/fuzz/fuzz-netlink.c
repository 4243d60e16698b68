/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: the parser of the kernel's netlink replies (net_reply_parse:
 * messages, ACKs with extended ACK attributes, link attributes and their
 * nests), on mnl-lite in this flavour. The input is the request's sequence
 * number and the socket's port id (4 bytes each, host order), then one
 * datagram; corpus/netlink/ holds replies captured from a kernel. Short
 * inputs are also tried as subnets (net_subnet_parse).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net-internal.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

static void check_link(const struct net_link *l)
{
	CHECK(l->index > 0 && l->master >= 0);
	CHECK(l->name[0] && memchr(l->name, '\0', sizeof(l->name)));
	CHECK(memchr(l->kind, '\0', sizeof(l->kind)));
}

static int on_link(const struct net_link *l, void *data, struct ember_error *e)
{
	int *n = data;

	check_link(l);
	/* Every third one fails, as a caller's callback may: the rest of
	   the dump is still read, and never passed on. */
	if (++*n % 3 == 0)
		return err_set(e, EIO, "stop");
	return 0;
}

static void check_reply(const struct net_reply *r, int ret)
{
	CHECK(ret == MNL_CB_OK || ret == MNL_CB_STOP || ret == MNL_CB_ERROR);
	CHECK(ret == MNL_CB_ERROR ? r->error > 0 && r->error < 4096 : r->error == 0);
	CHECK(memchr(r->ext, '\0', sizeof(r->ext)));
	for (const char *p = r->ext; *p; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
}

static void subnet(const uint8_t *data, size_t size)
{
	char s[64], again[NET_SUBNET_STR_MAX];
	struct net_subnet sn, sn2;
	struct ember_error e = { 0 };

	memcpy(s, data, size);
	s[size] = '\0';
	if (net_subnet_parse(s, &sn, &e) < 0) {
		CHECK(e.code == EINVAL && !strchr(e.message, '\n'));
		return;
	}
	/* What it prints parses to the same subnet. */
	CHECK(net_subnet_parse(net_subnet_str(&sn, again), &sn2, &e) == 0);
	CHECK(net_addr_equal(&sn.net, &sn2.net) && sn.prefix == sn2.prefix);
	struct net_addr gw, next;
	net_subnet_gateway(&sn, &gw);
	CHECK(net_subnet_check_gateway(&sn, &gw, &e) == 0);
	CHECK(net_ipam_next(&sn, &gw, &gw, 1, &next, &e) == 0);
	CHECK(net_subnet_contains(&sn, &next) && !net_addr_equal(&next, &gw));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seq, portid;

	if (size < 64)
		subnet(data, size);
	if (size < 8 || size > NET_NL_RECV_MAX + 8)
		return 0;
	memcpy(&seq, data, 4);
	memcpy(&portid, data + 4, 4);
	/* Aligned, as a datagram from recvmsg into the socket's buffer is. */
	size -= 8;
	uint32_t *buf = malloc(size + 4);
	if (!buf)
		return 0;
	memcpy(buf, data + 8, size);

	int n = 0;
	struct ember_error e = { 0 };
	struct net_reply dump = { .fn = on_link, .data = &n, .fn_err = &e };
	check_reply(&dump, net_reply_parse(buf, size, seq, portid, &dump));
	CHECK(n == (dump.links < 3 ? dump.links : 3) && dump.fn_failed == (n == 3));

	struct net_link one;
	struct net_reply get = { .one = &one };
	check_reply(&get, net_reply_parse(buf, size, seq, portid, &get));
	if (get.links)
		check_link(&one);
	free(buf);
	return 0;
}
