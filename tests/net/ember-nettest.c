/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-nettest: src/net's netlink operations on real kernel objects, for
 * tests/integration/netlink.bats. Built in both flavours: the static one
 * runs on mnl-lite, the development one on Debian's libmnl.
 *
 * Run it only inside a network namespace the test made (ip netns exec):
 * it acts on its own namespace, or on the one given with --in PATH.
 *
 *   ember-nettest impl                      libmnl or mnl-lite
 *   ember-nettest [--in NS] bridge NAME [--mtu N]
 *   ember-nettest [--in NS] veth NAME PEER (--peer-netns PATH | --peer-fd N)
 *                                  [--master BRIDGE] [--mtu N] [--up]
 *   ember-nettest [--in NS] set NAME [--mtu N] [--master BRIDGE|--nomaster]
 *                                  [--up|--down] [--rename NEW]
 *   ember-nettest [--in NS] addr NAME ADDRESS/PREFIX
 *   ember-nettest [--in NS] route NAME GATEWAY
 *   ember-nettest [--in NS] del NAME
 *   ember-nettest [--in NS] get NAME|#INDEX    index name kind mtu master up|down
 *   ember-nettest [--in NS] dump               the same, one line a link
 *   ember-nettest attach BRIDGE VETH NS SUBNET [--mtu N]
 *           net_attach(), the peer named eth0: the next free address of
 *           SUBNET (the gateway, its first address, taken), printed
 *   ember-nettest nat TABLE [--subnet SUBNET --bridge BRIDGE]
 *                         [--publish tcp|udp:HOSTPORT:ADDRESS:PORT]...
 *           net_nat_add() on a socket that it keeps (the table's owner):
 *           prints "ready", then per line of stdin "del" (net_nat_delete(),
 *           prints "deleted") or "add" (again, prints "ready"); exits at
 *           the end of stdin, which closes the socket
 *   ember-nettest nat-del TABLE   net_nat_delete() from a socket of its own
 *   ember-nettest bench N NS SUBNET
 *           N times: bridge emb0 + gateway address, then net_attach()
 *           of vebench0 (ebench0 in NS); both
 *           deleted again (not timed); prints the medians in microseconds
 *
 * Errors: the message on stderr, exit 1. Usage: exit 2.
 */
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "util/cleanup.h"

#define MAX_PUBLISH 8

struct opts {
	const char *in, *peer_netns, *master, *subnet, *bridge, *rename;
	const char *publish[MAX_PUBLISH];
	int n_publish;
	int peer_fd, nomaster, up;
	unsigned mtu;
};

static int usage(void)
{
	fprintf(stderr, "usage: ember-nettest [--in NETNS] COMMAND ARGS (see tests/net/ember-nettest.c)\n");
	return 2;
}

static int fail(const struct ember_error *e)
{
	fprintf(stderr, "%s\n", e->message);
	return 1;
}

/* Options anywhere after the command; the rest are positional. */
static int parse(int argc, char **argv, struct opts *o, char **pos, int max)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--mtu") && i + 1 < argc)
			o->mtu = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(a, "--rename") && i + 1 < argc)
			o->rename = argv[++i];
		else if (!strcmp(a, "--master") && i + 1 < argc)
			o->master = argv[++i];
		else if (!strcmp(a, "--peer-netns") && i + 1 < argc)
			o->peer_netns = argv[++i];
		else if (!strcmp(a, "--peer-fd") && i + 1 < argc)
			o->peer_fd = atoi(argv[++i]);
		else if (!strcmp(a, "--subnet") && i + 1 < argc)
			o->subnet = argv[++i];
		else if (!strcmp(a, "--bridge") && i + 1 < argc)
			o->bridge = argv[++i];
		else if (!strcmp(a, "--publish") && i + 1 < argc && o->n_publish < MAX_PUBLISH)
			o->publish[o->n_publish++] = argv[++i];
		else if (!strcmp(a, "--nomaster"))
			o->nomaster = 1;
		else if (!strcmp(a, "--up"))
			o->up = 1;
		else if (!strcmp(a, "--down"))
			o->up = 0;
		else if (a[0] == '-' && a[1] == '-')
			return -1;
		else if (n < max)
			pos[n++] = argv[i];
		else
			return -1;
	}
	return n;
}

static void print_link(const struct net_link *l)
{
	printf("%d %s %s %u %d %s\n", l->index, l->name, l->kind[0] ? l->kind : "-", l->mtu, l->master,
	       (l->flags & IFF_UP) ? "up" : "down");
}

static int print_one(const struct net_link *l, void *data, struct ember_error *e)
{
	(void)data;
	(void)e;
	print_link(l);
	return 0;
}

static int index_of(struct net_nl *nl, const char *name, int *index, struct ember_error *e)
{
	struct net_link l;

	if (net_link_get(nl, name, 0, &l, e) < 0)
		return -e->code;
	*index = l.index;
	return 0;
}

static int open_ns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
	return fd;
}

static int cmd_veth(struct net_nl *nl, char **pos, int n, struct opts *o, struct ember_error *e)
{
	_cleanup_close_ int fd = -1;
	struct net_veth v = { .up = o->up == 1, .mtu = o->mtu, .peer_netns_fd = o->peer_fd };

	if (n != 2 || (!o->peer_netns && o->peer_fd < 0))
		return usage();
	if (o->peer_netns) {
		if ((fd = open_ns(o->peer_netns)) < 0)
			return 1;
		v.peer_netns_fd = fd;
	}
	v.name = pos[0];
	v.peer = pos[1];
	if (o->master && index_of(nl, o->master, &v.master, e) < 0)
		return fail(e);
	return net_veth_create(nl, &v, e) < 0 ? fail(e) : 0;
}

static int cmd_set(struct net_nl *nl, char **pos, int n, struct opts *o, struct ember_error *e)
{
	struct net_link_change c = { .mtu = o->mtu, .master = NET_KEEP, .up = o->up, .rename = o->rename };

	if (n != 1)
		return usage();
	if (o->nomaster)
		c.master = 0;
	else if (o->master && index_of(nl, o->master, &c.master, e) < 0)
		return fail(e);
	return net_link_set(nl, pos[0], &c, e) < 0 ? fail(e) : 0;
}

/* "10.89.0.1/24": an address and a prefix length (host bits allowed). */
static int addr_prefix(const char *s, struct net_addr *a, unsigned *prefix, struct ember_error *e)
{
	char buf[64];
	const char *slash = strchr(s, '/');

	if (!slash || (size_t)(slash - s) >= sizeof(buf)) {
		fprintf(stderr, "not ADDRESS/PREFIX: %s\n", s);
		return -1;
	}
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	*prefix = (unsigned)atoi(slash + 1);
	if (net_addr_parse(buf, a, e) < 0) {
		fail(e);
		return -1;
	}
	return 0;
}

static int cmd_addr(struct net_nl *nl, char **pos, int n, struct ember_error *e)
{
	struct net_addr a;
	struct net_link l;
	unsigned prefix;

	if (n != 2)
		return usage();
	if (addr_prefix(pos[1], &a, &prefix, e) < 0)
		return 1;
	if (net_link_get(nl, pos[0], 0, &l, e) < 0 || net_addr_add(nl, &l, &a, prefix, e) < 0)
		return fail(e);
	return 0;
}

static int cmd_route(struct net_nl *nl, char **pos, int n, struct ember_error *e)
{
	struct net_addr gw;
	struct net_link l;

	if (n != 2)
		return usage();
	if (net_addr_parse(pos[1], &gw, e) < 0 || net_link_get(nl, pos[0], 0, &l, e) < 0 ||
	    net_route_add_default(nl, &l, &gw, e) < 0)
		return fail(e);
	return 0;
}

static int cmd_get(struct net_nl *nl, char **pos, int n, struct ember_error *e)
{
	struct net_link l;

	if (n != 1)
		return usage();
	int r = pos[0][0] == '#' ? net_link_get(nl, NULL, atoi(pos[0] + 1), &l, e) : net_link_get(nl, pos[0], 0, &l, e);
	if (r < 0)
		return fail(e);
	print_link(&l);
	return 0;
}

/* The sequence the daemon runs for a container: the bridge exists and
   has the subnet's gateway. */
static int attach(struct net_nl *nl, const char *bridge, const char *veth, const char *peer, int ns_fd,
		  const struct net_subnet *s, unsigned mtu, struct net_addr *addr, struct ember_error *e)
{
	struct net_attach a = { .veth = veth, .peer = peer, .netns_fd = ns_fd, .mtu = mtu, .prefix = s->prefix };

	net_subnet_gateway(s, &a.gateway);
	if (index_of(nl, bridge, &a.bridge, e) < 0 || net_ipam_next(s, &a.gateway, NULL, 0, &a.addr, e) < 0)
		return -e->code;
	*addr = a.addr;
	return net_attach(nl, &a, e);
}

static int cmd_attach(struct net_nl *nl, char **pos, int n, struct opts *o, struct ember_error *e)
{
	struct net_subnet s;
	struct net_addr a;
	char text[NET_ADDR_STR_MAX];

	if (n != 4)
		return usage();
	_cleanup_close_ int fd = open_ns(pos[2]);
	if (fd < 0)
		return 1;
	if (net_subnet_parse(pos[3], &s, e) < 0 || attach(nl, pos[0], pos[1], "eth0", fd, &s, o->mtu, &a, e) < 0)
		return fail(e);
	printf("%s\n", net_addr_str(&a, text));
	return 0;
}

/* "tcp:8080:10.89.0.2:80" */
static int publish_parse(const char *s, struct net_publish *p, struct ember_error *e)
{
	char buf[96], *proto, *hport, *addr, *port, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	proto = strtok_r(buf, ":", &save);
	hport = strtok_r(NULL, ":", &save);
	addr = strtok_r(NULL, ":", &save);
	port = strtok_r(NULL, ":", &save);
	if (!proto || !hport || !addr || !port) {
		fprintf(stderr, "not PROTO:HOSTPORT:ADDRESS:PORT: %s\n", s);
		return -1;
	}
	p->proto = !strcmp(proto, "udp") ? IPPROTO_UDP : !strcmp(proto, "tcp") ? IPPROTO_TCP : 0;
	p->host_port = (uint16_t)atoi(hport);
	p->port = (uint16_t)atoi(port);
	if (net_addr_parse(addr, &p->addr, e) < 0) {
		fail(e);
		return -1;
	}
	return 0;
}

static int cmd_nat(char **pos, int n, struct opts *o, int in, struct ember_error *e)
{
	struct net_publish pub[MAX_PUBLISH];
	struct net_subnet s;
	struct net_nat nat = { .bridge = o->bridge, .publish = pub, .n_publish = (size_t)o->n_publish };
	char line[64];

	if (n != 1)
		return usage();
	nat.table = pos[0];
	if (o->subnet) {
		if (net_subnet_parse(o->subnet, &s, e) < 0)
			return fail(e);
		nat.subnet = &s;
	}
	for (int i = 0; i < o->n_publish; i++)
		if (publish_parse(o->publish[i], &pub[i], e) < 0)
			return 1;
	_cleanup_net_nl_ struct net_nl *nft = NULL;
	if (net_nft_open(in, &nft, e) < 0 || net_nat_add(nft, &nat, e) < 0)
		return fail(e);
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		int r = !strncmp(line, "del", 3) ? net_nat_delete(nft, nat.table, e) : net_nat_add(nft, &nat, e);
		if (r < 0)
			return fail(e);
		printf("%s\n", !strncmp(line, "del", 3) ? "deleted" : "ready");
		fflush(stdout);
	}
	return 0;
}

static int cmd_nat_del(char **pos, int n, int in, struct ember_error *e)
{
	_cleanup_net_nl_ struct net_nl *nft = NULL;

	if (n != 1)
		return usage();
	return net_nft_open(in, &nft, e) < 0 || net_nat_delete(nft, pos[0], e) < 0 ? fail(e) : 0;
}

static long long usec_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000LL + (t.tv_nsec - t0->tv_nsec) / 1000;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int cmd_bench(struct net_nl *nl, char **pos, int n, struct ember_error *e)
{
	struct net_subnet s;
	struct net_addr gw, a;
	struct net_link br;

	if (n != 3)
		return usage();
	int runs = atoi(pos[0]);
	_cleanup_close_ int fd = open_ns(pos[1]);
	if (runs < 1 || runs > 100000 || fd < 0 || net_subnet_parse(pos[2], &s, e) < 0)
		return fd < 0 ? 1 : runs < 1 ? usage() : fail(e);
	_cleanup_free_ long long *all = calloc((size_t)runs, sizeof(*all));
	_cleanup_free_ long long *att = calloc((size_t)runs, sizeof(*att));
	if (!all || !att)
		return 1;
	net_subnet_gateway(&s, &gw);
	for (int i = 0; i < runs; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (net_bridge_create(nl, "emb0", 0, e) < 0 || net_link_get(nl, "emb0", 0, &br, e) < 0 ||
		    net_addr_add(nl, &br, &gw, s.prefix, e) < 0)
			return fail(e);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (attach(nl, "emb0", "vebench0", "ebench0", fd, &s, 0, &a, e) < 0)
			return fail(e);
		all[i] = usec_since(&t0);
		att[i] = usec_since(&t1);
		if (net_link_delete(nl, "vebench0", e) < 0 || net_link_delete(nl, "emb0", e) < 0)
			return fail(e);
	}
	qsort(all, (size_t)runs, sizeof(*all), cmp_ll);
	qsort(att, (size_t)runs, sizeof(*att), cmp_ll);
	printf("runs %d\nbridge+veth+addr+route median_us %lld min_us %lld max_us %lld\n"
	       "veth+addr+route median_us %lld min_us %lld max_us %lld\n",
	       runs, all[runs / 2], all[0], all[runs - 1], att[runs / 2], att[0], att[runs - 1]);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .peer_fd = -1, .up = NET_KEEP };
	struct ember_error e = { 0 };
	char *pos[8];
	int i = 1;

	if (argc >= 2 && !strcmp(argv[1], "impl")) {
		puts(ENABLED(CONFIG_LIBMNL) ? "libmnl" : "mnl-lite");
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "--in")) {
		o.in = argv[2];
		i = 3;
	}
	if (i >= argc)
		return usage();
	const char *cmd = argv[i];
	int n = parse(argc - i - 1, argv + i + 1, &o, pos, 8);
	if (n < 0)
		return usage();

	_cleanup_close_ int in = -1;
	if (o.in && (in = open_ns(o.in)) < 0)
		return 1;
	if (!strcmp(cmd, "nat") || !strcmp(cmd, "nat-del")) {
		if (!ENABLED(CONFIG_NET_NAT)) {
			fprintf(stderr, "ember-nettest: nf_tables (CONFIG_NET_NAT) is not compiled in\n");
			return 1;
		}
		return !strcmp(cmd, "nat") ? cmd_nat(pos, n, &o, in, &e) : cmd_nat_del(pos, n, in, &e);
	}

	_cleanup_net_nl_ struct net_nl *nl = NULL;
	if (net_nl_open(in, &nl, &e) < 0)
		return fail(&e);

	if (!strcmp(cmd, "bridge"))
		return n != 1 ? usage() : net_bridge_create(nl, pos[0], o.mtu, &e) < 0 ? fail(&e) : 0;
	if (!strcmp(cmd, "veth"))
		return cmd_veth(nl, pos, n, &o, &e);
	if (!strcmp(cmd, "set"))
		return cmd_set(nl, pos, n, &o, &e);
	if (!strcmp(cmd, "addr"))
		return cmd_addr(nl, pos, n, &e);
	if (!strcmp(cmd, "route"))
		return cmd_route(nl, pos, n, &e);
	if (!strcmp(cmd, "del"))
		return n != 1 ? usage() : net_link_delete(nl, pos[0], &e) < 0 ? fail(&e) : 0;
	if (!strcmp(cmd, "get"))
		return cmd_get(nl, pos, n, &e);
	if (!strcmp(cmd, "dump"))
		return n != 0 ? usage() : net_link_dump(nl, print_one, NULL, &e) < 0 ? fail(&e) : 0;
	if (!strcmp(cmd, "attach"))
		return cmd_attach(nl, pos, n, &o, &e);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(nl, pos, n, &e);
	return usage();
}
