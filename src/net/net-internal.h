/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_NET_INTERNAL_H
#define EMBER_NET_INTERNAL_H

/* src/net's own: the socket, the reply parser (fuzzed), error messages. */

#include "net/mnl.h"
#include "net/net.h"

#include <linux/rtnetlink.h>

/* The kernel sends dump datagrams of up to 32 KiB when the reader's buffer
   is that large: a smaller one would see them cut (ENOSPC). */
#define NET_NL_RECV_MAX 32768
/* Requests are small: names, a few integers, one nest or two. */
#define NET_NL_SEND_MAX 1024
#define NET_EXT_MAX 200

struct net_nl {
	struct mnl_socket *sock;
	unsigned portid;
	unsigned seq;
	char buf[NET_NL_RECV_MAX];
};

/*
 * What the replies to one request say. Data messages (RTM_NEWLINK) go to
 * one (a get: the link) or to fn (a dump); after fn fails, the rest of
 * the dump is read but not passed on, so the socket is clean for the next
 * request.
 */
struct net_reply {
	struct net_link *one;
	net_link_fn fn;
	void *data;
	struct ember_error *fn_err;
	int fn_failed;
	int links;             /* RTM_NEWLINK messages seen */
	int error;             /* errno: the kernel's answer, or a reply that
				  was not what netlink promises; 0: none */
	char ext[NET_EXT_MAX]; /* the extended ACK's message, "" */
};

/*
 * One datagram of replies to the request numbered seq from the socket
 * portid: MNL_CB_OK (1) when more is to come, MNL_CB_STOP (0) at the end
 * (the ACK, or a dump's NLMSG_DONE), MNL_CB_ERROR (-1) with r->error set.
 * Every length is checked: buf may hold anything.
 */
int net_reply_parse(const void *buf, size_t len, unsigned seq, unsigned portid, struct net_reply *r);

/* An NLMSG_ERROR: 0 for an ACK, else the errno (EBADMSG when it is too
   short); its extended ACK message, when there is one, into r->ext. */
int net_ack_read(const struct nlmsghdr *nlh, struct net_reply *r);

/* A socket of another netlink bus (NETLINK_NETFILTER), as net_nl_open(). */
int net_nl_open_bus(int bus, int netns_fd, struct net_nl **out, struct ember_error *e);

/* A link's attributes (RTM_NEWLINK): -1 when malformed. */
int net_link_parse(const struct nlmsghdr *nlh, struct net_link *out);

/* A request header in buf (NET_NL_SEND_MAX bytes, aligned). */
struct nlmsghdr *net_nl_msg(void *buf, uint16_t type, uint16_t flags);

/* Send nlh (sequence number and NLM_F_REQUEST|NLM_F_ACK added) and read
   the replies into r: 0, or -errno with r->error and r->ext set. */
int net_nl_talk(struct net_nl *nl, struct nlmsghdr *nlh, struct net_reply *r);

/* "network: <what>: <strerror(r->error)> (kernel: <r->ext>)" into e. */
int net_fail(const struct net_reply *r, struct ember_error *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* IFNAMSIZ - 1 bytes at most, not empty, no '/', ':' or space: EINVAL. */
int net_ifname_check(const char *name, const char *what, struct ember_error *e);

#endif
