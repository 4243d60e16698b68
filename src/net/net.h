/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_NET_H
#define EMBER_NET_H

/*
 * Container networking (CONFIG_NET): addresses and subnets (IPAM, pure
 * code) and the kernel objects of a bridge network, made over rtnetlink
 * with libmnl's API (CONFIG_LIBMNL=y) or ember's mnl-lite (=n).
 *
 * Callers test ENABLED(CONFIG_NET) before they call anything here; with
 * the option off none of it is compiled.
 *
 * Errors are one line, start with "network: " and name the object and the
 * kernel's reason, with its extended ACK message when it gave one:
 *
 *     network: create bridge "em0": File exists
 *     network: create veth "ve0a1" (peer "eth0"): Invalid argument (kernel: ...)
 *     subnet "10.1.2.3/24": host bits are set (the subnet is 10.1.2.0/24)
 */

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net/if.h>

#include <ember/error.h>

/* ---- addresses and subnets (ipam.c): no system calls ---- */

struct net_addr {
	int family;    /* AF_INET or AF_INET6 */
	uint8_t a[16]; /* network byte order; IPv4 uses a[0..3], the rest 0 */
};

struct net_subnet {
	struct net_addr net; /* the network address: host bits are 0 */
	unsigned prefix;
};

/* Prefix lengths a container network may have: room for a gateway and a
   container at least, and (IPv6) a host part that fits 64 bits. */
#define NET_PREFIX4_MIN 8
#define NET_PREFIX4_MAX 30
#define NET_PREFIX6_MIN 64
#define NET_PREFIX6_MAX 126

#define NET_ADDR_STR_MAX 46   /* INET6_ADDRSTRLEN */
#define NET_SUBNET_STR_MAX 50 /* and "/128" */

/* "10.89.0.2", "fd00::2". EINVAL naming the text when it is neither. */
int net_addr_parse(const char *s, struct net_addr *out, struct ember_error *e);

/* "10.89.0.0/24", "fd00:e::/64": the prefix within the bounds above and
   no host bit set (the message gives the subnet that was probably meant). */
int net_subnet_parse(const char *s, struct net_subnet *out, struct ember_error *e);

const char *net_addr_str(const struct net_addr *a, char buf[NET_ADDR_STR_MAX]);
const char *net_subnet_str(const struct net_subnet *s, char buf[NET_SUBNET_STR_MAX]);

bool net_addr_equal(const struct net_addr *a, const struct net_addr *b);
bool net_subnet_contains(const struct net_subnet *s, const struct net_addr *a);
/* Whether the two share any address (one contains the other's network). */
bool net_subnet_overlap(const struct net_subnet *a, const struct net_subnet *b);

/* The default gateway: the first address after the network address. */
void net_subnet_gateway(const struct net_subnet *s, struct net_addr *gw);

/* gw may be a subnet's gateway: inside it, neither its network address
   nor (IPv4) its broadcast address. EINVAL naming both otherwise. */
int net_subnet_check_gateway(const struct net_subnet *s, const struct net_addr *gw, struct ember_error *e);

/*
 * The lowest address of s that is free: not the network address, not the
 * IPv4 broadcast address, not gw, and not one of used[0..n_used) (those
 * outside s, or of another family, are ignored; duplicates are allowed).
 * ENOSPC ('subnet 10.89.0.0/30: no free address') when there is none.
 * O(n log n) in n_used, whatever the subnet's size.
 */
int net_ipam_next(const struct net_subnet *s, const struct net_addr *gw, const struct net_addr *used,
		  size_t n_used, struct net_addr *out, struct ember_error *e);

/* ---- rtnetlink (nl.c, link.c, bridge.c, veth.c, addr.c) ---- */

/*
 * A NETLINK_ROUTE socket in one network namespace, with its buffers: one
 * request at a time (not shared between threads). netns_fd: the network
 * namespace (an open /proc/PID/ns/net or /run/netns/NAME), or -1 for the
 * caller's. The calling thread enters netns_fd only for the socket() call
 * and returns to its own at once: a thread that cannot return is an error
 * the caller must treat as fatal for that thread (the message says so).
 */
struct net_nl;
int net_nl_open(int netns_fd, struct net_nl **out, struct ember_error *e);
struct net_nl *net_nl_free(struct net_nl *nl);

static inline void net_nl_freep(struct net_nl **nl)
{
	*nl = net_nl_free(*nl);
}
#define _cleanup_net_nl_ __attribute__((cleanup(net_nl_freep)))

#define NET_KIND_MAX 16

struct net_link {
	int index;
	int master;          /* the bridge's index, 0: none */
	unsigned mtu;
	unsigned flags;      /* IFF_UP, IFF_LOWER_UP... */
	int link_netnsid;    /* a veth's peer: the namespace id it lives in
				(as this namespace numbers it), -1: here or
				unknown */
	char name[IFNAMSIZ];
	char kind[NET_KIND_MAX]; /* "bridge", "veth", ...; "" for none */
};

/* A bridge, up. mtu 0: the kernel's default. */
int net_bridge_create(struct net_nl *nl, const char *name, unsigned mtu, struct ember_error *e);

/*
 * A veth pair, in one request: name in nl's namespace, peer created
 * directly in peer_netns_fd (nothing moves between namespaces later).
 * The host end gets master (a bridge's index; 0: none), mtu (both ends;
 * 0: default) and, with up, IFF_UP; the peer stays down (the container's
 * side brings it up once its addresses are set).
 */
struct net_veth {
	const char *name;
	const char *peer;
	int peer_netns_fd; /* -1: nl's namespace */
	unsigned mtu;
	int master;
	bool up;
};
int net_veth_create(struct net_nl *nl, const struct net_veth *v, struct ember_error *e);

/* Changes to a link, by name: 0 / NET_KEEP leave a property as it is. */
#define NET_KEEP (-2)
struct net_link_change {
	unsigned mtu; /* 0: keep */
	int master;   /* an index, 0: no master, NET_KEEP */
	int up;       /* 1 up, 0 down, NET_KEEP */
	const char *rename; /* a new name (the kernel wants the link down); NULL: keep */
};
int net_link_set(struct net_nl *nl, const char *name, const struct net_link_change *c, struct ember_error *e);

/* Delete a link (a veth: both ends). ENODEV when there is none. */
int net_link_delete(struct net_nl *nl, const char *name, struct ember_error *e);

/* A link by name, or by index when name is NULL. ENODEV when none. */
int net_link_get(struct net_nl *nl, const char *name, int index, struct net_link *out, struct ember_error *e);

/* Every link of nl's namespace, in the kernel's order: fn returns < 0 (and
   fills e) to stop the walk with that error. */
typedef int (*net_link_fn)(const struct net_link *l, void *data, struct ember_error *e);
int net_link_dump(struct net_nl *nl, net_link_fn fn, void *data, struct ember_error *e);

/* An address on a link: IPv4 or IPv6 (IFA_F_NODAD: usable at once). */
int net_addr_add(struct net_nl *nl, const struct net_link *l, const struct net_addr *a, unsigned prefix,
		 struct ember_error *e);

/* The default route of gw's family via gw on l. */
int net_route_add_default(struct net_nl *nl, const struct net_link *l, const struct net_addr *gw,
			  struct ember_error *e);

/*
 * A container on a bridge, the way the daemon makes it: a veth pair with
 * the host end `veth` on the bridge (its index), up, and the other end
 * `peer` created in netns_fd (the container's network namespace), with
 * addr/prefix, up, and a default route via gateway (family 0: none). One
 * request for the pair, then, on a socket opened in netns_fd: find the
 * peer, address, up, route. On failure the pair is deleted again: nothing
 * half-made is left.
 */
struct net_attach {
	const char *veth;
	const char *peer;
	int netns_fd;
	int bridge;
	unsigned mtu; /* 0: the kernel's default */
	struct net_addr addr;
	unsigned prefix;
	struct net_addr gateway;
};
int net_attach(struct net_nl *host, const struct net_attach *a, struct ember_error *e);

/* ---- nf_tables NAT (CONFIG_NET_NAT, nat.c) ---- */

/*
 * A socket for nf_tables (NETLINK_NETFILTER), in netns_fd's namespace
 * (-1: the caller's). The table net_nat_add() makes is owned by this
 * socket where the kernel can (Linux 5.12): nobody else can change or
 * flush it, and it is gone when the socket closes, so the daemon keeps
 * the socket open for as long as the rules must live and writes them
 * again after a restart. Free it with net_nl_free().
 */
int net_nft_open(int netns_fd, struct net_nl **out, struct ember_error *e);

struct net_publish {
	uint8_t proto;        /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t host_port;   /* on any local address of the namespace... */
	struct net_addr host_addr; /* ...or only this one (family 0: any) */
	struct net_addr addr; /* the container's */
	uint16_t port;        /* the container's */
};

/* Masquerade from subnet out of any link but bridge. */
struct net_masq {
	const struct net_subnet *subnet;
	const char *bridge;
};

struct net_nat {
	const char *table;                /* an inet table of ember's own */
	const struct net_subnet *subnet;  /* masquerade from it... (NULL: none) */
	const char *bridge;               /* ...out of any link but this */
	const struct net_masq *masq;      /* and from these (n_masq of them) */
	size_t n_masq;
	const struct net_publish *publish; /* DNAT, from outside (prerouting)
					      and from the host (output) */
	size_t n_publish;
};

/* The table's whole content, replaced in one batch (all or nothing):
   chains postrouting (masquerade), prerouting and output (DNAT). */
int net_nat_add(struct net_nl *nft, const struct net_nat *n, struct ember_error *e);
/* The table, deleted in one batch (made first if missing: no error). */
int net_nat_delete(struct net_nl *nft, const char *table, struct ember_error *e);
/* The same in the network namespace of pid, unless that is the caller's
   (a table of another program: CRIU's network lock). */
int net_nat_delete_in(pid_t pid, const char *table, struct ember_error *e);

#endif
