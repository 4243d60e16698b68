/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NAT over nf_tables, without nft: ember's own inet table with a
 * masquerade rule for a bridge network's subnet and a DNAT rule per
 * published port, written in one batch (atomic: all of it or nothing) and
 * deleted in one. The table is owned by the socket that made it
 * (NFT_TABLE_F_OWNER, Linux 5.12): no other program can change or flush
 * it, and it goes when the socket closes; kernels without ownership get
 * a plain table.
 */
#include "net/net-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "util/cleanup.h"
#include "util/err.h"

/* A datagram of a batch; the buffer has room for one message more. */
#define NAT_BATCH_MAX (128 * 1024) /* ~150 published ports; under the default socket buffer */
#define NAT_MSG_MAX 2048

struct batch {
	struct mnl_nlmsg_batch *b;
	uint32_t seq0, seq; /* the first message's number, the next one's */
	int n;              /* messages that want an ACK */
	const char *what[64];
	int too_big;
};

static struct nlmsghdr *msg_put(struct batch *bt, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(bt->b));

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = bt->seq++;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	return nlh;
}

/* An nf_tables message that the kernel ACKs; what names it in errors. */
static struct nlmsghdr *nft_put(struct batch *bt, uint16_t type, uint16_t flags, const char *what)
{
	if (bt->n < (int)ARRAY_SIZE(bt->what))
		bt->what[bt->n] = what;
	bt->n++;
	return msg_put(bt, (NFNL_SUBSYS_NFTABLES << 8) | type, flags | NLM_F_ACK, NFPROTO_INET, 0);
}

static void msg_end(struct batch *bt)
{
	if (!mnl_nlmsg_batch_next(bt->b))
		bt->too_big = 1;
}

static void put_be32(struct nlmsghdr *nlh, uint16_t type, uint32_t v)
{
	mnl_attr_put_u32(nlh, type, htonl(v));
}

static void put_data(struct nlmsghdr *nlh, uint16_t type, const void *p, size_t n)
{
	struct nlattr *d = mnl_attr_nest_start(nlh, type);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, n, p);
	mnl_attr_nest_end(nlh, d);
}

/* ---- expressions: each a list element {name, data} ---- */

struct expr {
	struct nlattr *elem, *data;
};

static struct expr expr_start(struct nlmsghdr *nlh, const char *name)
{
	struct expr x;

	x.elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, name);
	x.data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
	return x;
}

static void expr_end(struct nlmsghdr *nlh, struct expr x)
{
	mnl_attr_nest_end(nlh, x.data);
	mnl_attr_nest_end(nlh, x.elem);
}

static void meta(struct nlmsghdr *nlh, uint32_t key, uint32_t dreg)
{
	struct expr x = expr_start(nlh, "meta");
	put_be32(nlh, NFTA_META_KEY, key);
	put_be32(nlh, NFTA_META_DREG, dreg);
	expr_end(nlh, x);
}

static void cmp(struct nlmsghdr *nlh, uint32_t op, const void *v, size_t n)
{
	struct expr x = expr_start(nlh, "cmp");
	put_be32(nlh, NFTA_CMP_SREG, NFT_REG_1);
	put_be32(nlh, NFTA_CMP_OP, op);
	put_data(nlh, NFTA_CMP_DATA, v, n);
	expr_end(nlh, x);
}

static void payload(struct nlmsghdr *nlh, uint32_t base, uint32_t off, uint32_t len)
{
	struct expr x = expr_start(nlh, "payload");
	put_be32(nlh, NFTA_PAYLOAD_DREG, NFT_REG_1);
	put_be32(nlh, NFTA_PAYLOAD_BASE, base);
	put_be32(nlh, NFTA_PAYLOAD_OFFSET, off);
	put_be32(nlh, NFTA_PAYLOAD_LEN, len);
	expr_end(nlh, x);
}

/* reg1 &= mask (^ 0). */
static void mask(struct nlmsghdr *nlh, const uint8_t *m, size_t n)
{
	static const uint8_t zero[16];
	struct expr x = expr_start(nlh, "bitwise");
	put_be32(nlh, NFTA_BITWISE_SREG, NFT_REG_1);
	put_be32(nlh, NFTA_BITWISE_DREG, NFT_REG_1);
	put_be32(nlh, NFTA_BITWISE_LEN, (uint32_t)n);
	put_data(nlh, NFTA_BITWISE_MASK, m, n);
	put_data(nlh, NFTA_BITWISE_XOR, zero, n);
	expr_end(nlh, x);
}

static void immediate(struct nlmsghdr *nlh, uint32_t dreg, const void *v, size_t n)
{
	struct expr x = expr_start(nlh, "immediate");
	put_be32(nlh, NFTA_IMMEDIATE_DREG, dreg);
	put_data(nlh, NFTA_IMMEDIATE_DATA, v, n);
	expr_end(nlh, x);
}

static uint8_t nfproto(const struct net_addr *a)
{
	return a->family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

/* ---- the table, its chains, its rules ---- */

static void table(struct batch *bt, const char *name, int owner)
{
	struct nlmsghdr *nlh = nft_put(bt, NFT_MSG_NEWTABLE, NLM_F_CREATE, "create the table");
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, name);
	if (owner)
		put_be32(nlh, NFTA_TABLE_FLAGS, NFT_TABLE_F_OWNER);
	msg_end(bt);
}

static void chain(struct batch *bt, const char *tbl, const char *name, const char *what, uint32_t hook,
		  int32_t prio)
{
	struct nlmsghdr *nlh = nft_put(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE, what);
	mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, tbl);
	mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, name);
	mnl_attr_put_strz(nlh, NFTA_CHAIN_TYPE, "nat");
	struct nlattr *h = mnl_attr_nest_start(nlh, NFTA_CHAIN_HOOK);
	put_be32(nlh, NFTA_HOOK_HOOKNUM, hook);
	put_be32(nlh, NFTA_HOOK_PRIORITY, (uint32_t)prio);
	mnl_attr_nest_end(nlh, h);
	msg_end(bt);
}

static struct nlmsghdr *rule_start(struct batch *bt, const char *tbl, const char *chn, const char *what,
				   struct nlattr **exprs)
{
	struct nlmsghdr *nlh = nft_put(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, what);
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, tbl);
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chn);
	*exprs = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	return nlh;
}

static void rule_end(struct batch *bt, struct nlmsghdr *nlh, struct nlattr *exprs)
{
	mnl_attr_nest_end(nlh, exprs);
	msg_end(bt);
}

/* A postrouting rule from the masquerade's subnet, out of its bridge
   (oif_op NFT_CMP_EQ) or any other link (NFT_CMP_NEQ): its start, up to
   the expressions that follow. */
static struct nlmsghdr *from_subnet(struct batch *bt, const struct net_nat *n, const struct net_masq *q,
				    uint32_t oif_op, const char *what, struct nlattr **exprs)
{
	const struct net_subnet *s = q->subnet;
	size_t len = s->net.family == AF_INET6 ? 16 : 4;
	uint8_t proto = nfproto(&s->net), m[16] = { 0 };
	char ifname[IFNAMSIZ] = { 0 };

	for (unsigned i = 0; i < s->prefix; i++)
		m[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	strncpy(ifname, q->bridge, sizeof(ifname) - 1);
	struct nlmsghdr *nlh = rule_start(bt, n->table, "postrouting", what, exprs);
	meta(nlh, NFT_META_NFPROTO, NFT_REG_1);
	cmp(nlh, NFT_CMP_EQ, &proto, 1);
	/* The source address: IPv4's at 12, IPv6's at 8. */
	payload(nlh, NFT_PAYLOAD_NETWORK_HEADER, len == 16 ? 8 : 12, (uint32_t)len);
	mask(nlh, m, len);
	cmp(nlh, NFT_CMP_EQ, s->net.a, len);
	meta(nlh, NFT_META_OIFNAME, NFT_REG_1);
	cmp(nlh, oif_op, ifname, sizeof(ifname));
	return nlh;
}

/* From the subnet, out of any link but the bridge: masquerade. */
static void masquerade(struct batch *bt, const struct net_nat *n, const struct net_masq *q)
{
	struct nlattr *exprs;
	struct nlmsghdr *nlh = from_subnet(bt, n, q, NFT_CMP_NEQ, "add the masquerade rule", &exprs);
	struct expr x = expr_start(nlh, "masq");
	expr_end(nlh, x);
	rule_end(bt, nlh, exprs);

	/* Hairpin: a container reaching another's published port through a
	   host address comes back out of the bridge DNAT'ed; without its
	   source rewritten, the other would answer it directly, bypassing
	   the translation. Only DNAT'ed packets: plain traffic between
	   containers keeps its addresses (also with br_netfilter). */
	uint32_t dnat = IPS_DST_NAT, zero = 0;
	nlh = from_subnet(bt, n, q, NFT_CMP_EQ, "add the hairpin rule", &exprs);
	x = expr_start(nlh, "ct");
	put_be32(nlh, NFTA_CT_DREG, NFT_REG_1);
	put_be32(nlh, NFTA_CT_KEY, NFT_CT_STATUS);
	expr_end(nlh, x);
	mask(nlh, (const uint8_t *)&dnat, sizeof(dnat));
	cmp(nlh, NFT_CMP_NEQ, &zero, sizeof(zero));
	x = expr_start(nlh, "masq");
	expr_end(nlh, x);
	rule_end(bt, nlh, exprs);
}

/* To a local address of this namespace, proto and host port: DNAT to the
   container. In prerouting (from outside) and output (from the host). */
static void publish(struct batch *bt, const struct net_nat *n, const struct net_publish *p, const char *chn)
{
	size_t len = p->addr.family == AF_INET6 ? 16 : 4;
	uint8_t proto = nfproto(&p->addr);
	uint16_t hport = htons(p->host_port), cport = htons(p->port);
	uint32_t local = RTN_LOCAL;
	struct nlattr *exprs;

	struct nlmsghdr *nlh = rule_start(bt, n->table, chn, "add a publish rule", &exprs);
	meta(nlh, NFT_META_NFPROTO, NFT_REG_1);
	cmp(nlh, NFT_CMP_EQ, &proto, 1);
	struct expr x = expr_start(nlh, "fib");
	put_be32(nlh, NFTA_FIB_DREG, NFT_REG_1);
	put_be32(nlh, NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	put_be32(nlh, NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR);
	expr_end(nlh, x);
	cmp(nlh, NFT_CMP_EQ, &local, sizeof(local));
	if (p->host_addr.family == p->addr.family) {
		/* The destination address: IPv4's at 16, IPv6's at 24. */
		payload(nlh, NFT_PAYLOAD_NETWORK_HEADER, len == 16 ? 24 : 16, (uint32_t)len);
		cmp(nlh, NFT_CMP_EQ, p->host_addr.a, len);
	}
	meta(nlh, NFT_META_L4PROTO, NFT_REG_1);
	cmp(nlh, NFT_CMP_EQ, &p->proto, 1);
	/* The destination port: at 2 in both TCP's and UDP's header. */
	payload(nlh, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	cmp(nlh, NFT_CMP_EQ, &hport, 2);
	immediate(nlh, NFT_REG_1, p->addr.a, len);
	immediate(nlh, NFT_REG_2, &cport, 2);
	x = expr_start(nlh, "nat");
	put_be32(nlh, NFTA_NAT_TYPE, NFT_NAT_DNAT);
	put_be32(nlh, NFTA_NAT_FAMILY, proto);
	put_be32(nlh, NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
	put_be32(nlh, NFTA_NAT_REG_PROTO_MIN, NFT_REG_2);
	expr_end(nlh, x);
	rule_end(bt, nlh, exprs);
}

/* ---- one batch, its ACKs ---- */

struct acks {
	struct batch *bt;
	struct net_reply r;
	int seen;
	int failed; /* the index of the first message that failed, -1 */
};

static int on_ack(const struct nlmsghdr *nlh, void *data)
{
	struct acks *a = data;
	uint32_t seq = nlh->nlmsg_seq;

	/* A reply to an earlier batch that was given up: not ours. */
	if (seq < a->bt->seq0 || seq >= a->bt->seq)
		return MNL_CB_OK;
	int code = net_ack_read(nlh, &a->r);
	a->seen++;
	if (code && !a->r.error) {
		a->r.error = code;
		/* seq0 is the batch's begin: the batch as a whole failed. */
		a->failed = (int)(seq - a->bt->seq0) - 1;
		return MNL_CB_STOP;
	}
	return a->seen >= a->bt->n ? MNL_CB_STOP : MNL_CB_OK;
}

static int batch_talk(struct net_nl *nl, struct batch *bt, struct net_reply *r, const char **what)
{
	struct acks a = { .bt = bt, .failed = -1 };
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = on_ack };

	*what = "the batch";
	if (mnl_socket_sendto(nl->sock, mnl_nlmsg_batch_head(bt->b), mnl_nlmsg_batch_size(bt->b)) < 0) {
		r->error = errno;
		return -r->error;
	}
	while (a.seen < bt->n && !a.r.error) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			a.r.error = errno;
			break;
		}
		if (mnl_cb_run2(nl->buf, (size_t)n, 0, nl->portid, NULL, &a, ctl, NLMSG_MIN_TYPE) == MNL_CB_ERROR &&
		    !a.r.error)
			a.r.error = errno > 0 ? errno : EPROTO;
	}
	*r = a.r;
	if (a.failed >= 0 && a.failed < (int)ARRAY_SIZE(bt->what) && a.failed < bt->n)
		*what = bt->what[a.failed];
	return r->error ? -r->error : 0;
}

/* Begin, fill (table, chains and rules, or the table's deletion), end,
   send: the kernel applies all of it or nothing. */
static int nat_batch(struct net_nl *nl, const struct net_nat *n, int del, int owner, struct net_reply *r,
		     const char **what, struct ember_error *e)
{
	_cleanup_free_ char *buf = malloc(NAT_BATCH_MAX + NAT_MSG_MAX);
	if (!buf)
		return err_sys(e, ENOMEM, "network: nf_tables batch");
	struct batch bt = { .seq0 = nl->seq + 1, .seq = nl->seq + 1 };
	bt.b = mnl_nlmsg_batch_start(buf, NAT_BATCH_MAX);
	if (!bt.b)
		return err_sys(e, ENOMEM, "network: nf_tables batch");

	msg_put(&bt, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	msg_end(&bt);
	/* Made (if missing) and deleted, then, to add, made again with its
	   rules: the table's whole content is replaced, nothing doubled. */
	table(&bt, n->table, owner);
	struct nlmsghdr *nlh = nft_put(&bt, NFT_MSG_DELTABLE, 0, "delete the table");
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, n->table);
	msg_end(&bt);
	if (!del) {
		table(&bt, n->table, owner);
		if (n->subnet || n->n_masq)
			chain(&bt, n->table, "postrouting", "create chain postrouting", NF_INET_POST_ROUTING, 100);
		if (n->subnet)
			masquerade(&bt, n, &(struct net_masq){ .subnet = n->subnet, .bridge = n->bridge });
		for (size_t i = 0; i < n->n_masq && !bt.too_big; i++)
			masquerade(&bt, n, &n->masq[i]);
		if (n->n_publish) {
			chain(&bt, n->table, "prerouting", "create chain prerouting", NF_INET_PRE_ROUTING, -100);
			chain(&bt, n->table, "output", "create chain output", NF_INET_LOCAL_OUT, -100);
		}
		for (size_t i = 0; i < n->n_publish && !bt.too_big; i++) {
			publish(&bt, n, &n->publish[i], "prerouting");
			publish(&bt, n, &n->publish[i], "output");
		}
	}
	msg_put(&bt, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	msg_end(&bt);
	nl->seq = bt.seq;

	int ret;
	if (bt.too_big)
		ret = err_set(e, E2BIG, "network: table \"%s\": too many rules for one batch", n->table);
	else
		ret = batch_talk(nl, &bt, r, what) < 0 ? -r->error : 0;
	mnl_nlmsg_batch_stop(bt.b);
	return ret;
}

int net_nft_open(int netns_fd, struct net_nl **out, struct ember_error *e)
{
	return net_nl_open_bus(NETLINK_NETFILTER, netns_fd, out, e);
}

static int check(const struct net_nat *n, struct ember_error *e)
{
	if (!n->table || !n->table[0] || strlen(n->table) > 64)
		return err_invalid(e, "network: nf_tables: a table name of 1 to 64 characters");
	if (n->subnet && net_ifname_check(n->bridge, "masquerade: bridge", e) < 0)
		return -e->code;
	for (size_t i = 0; i < n->n_masq; i++)
		if (!n->masq[i].subnet || net_ifname_check(n->masq[i].bridge, "masquerade: bridge", e) < 0)
			return n->masq[i].subnet ? -e->code : err_invalid(e, "network: masquerade: no subnet");
	for (size_t i = 0; i < n->n_publish; i++) {
		const struct net_publish *p = &n->publish[i];
		if ((p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) || !p->host_port || !p->port ||
		    (p->addr.family != AF_INET && p->addr.family != AF_INET6) ||
		    (p->host_addr.family && p->host_addr.family != p->addr.family))
			return err_invalid(e, "network: publish %u: a TCP or UDP port to an address and port", p->host_port);
	}
	return 0;
}

int net_nat_add(struct net_nl *nft, const struct net_nat *n, struct ember_error *e)
{
	struct net_reply r = { 0 };
	const char *what;

	if (check(n, e) < 0)
		return -e->code;
	int ret = nat_batch(nft, n, 0, 1, &r, &what, e);
	/* Before Linux 5.12 no table has an owner: a plain one. */
	if (ret == -EOPNOTSUPP && r.error == EOPNOTSUPP) {
		memset(&r, 0, sizeof(r));
		ret = nat_batch(nft, n, 0, 0, &r, &what, e);
	}
	if (ret < 0 && r.error)
		return net_fail(&r, e, "nf_tables table \"%s\": %s", n->table, what);
	return ret;
}

int net_nat_delete(struct net_nl *nft, const char *table, struct ember_error *e)
{
	struct net_nat n = { .table = table };
	struct net_reply r = { 0 };
	const char *what;

	if (check(&n, e) < 0)
		return -e->code;
	int ret = nat_batch(nft, &n, 1, 1, &r, &what, e);
	if (ret == -EOPNOTSUPP && r.error == EOPNOTSUPP) {
		memset(&r, 0, sizeof(r));
		ret = nat_batch(nft, &n, 1, 0, &r, &what, e);
	}
	if (ret < 0 && r.error)
		return net_fail(&r, e, "nf_tables table \"%s\": %s", table, what);
	return ret;
}

int net_nat_delete_in(pid_t pid, const char *table, struct ember_error *e)
{
	struct stat mine, its;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &its) < 0 || stat("/proc/self/ns/net", &mine) < 0)
		return err_sys(e, errno, "network namespace of %d", (int)pid);
	if (its.st_ino == mine.st_ino && its.st_dev == mine.st_dev)
		return 0;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "%s", path);
	_cleanup_net_nl_ struct net_nl *nft = NULL;
	if (net_nft_open(fd, &nft, e) < 0)
		return -e->code;
	return net_nat_delete(nft, table, e);
}
