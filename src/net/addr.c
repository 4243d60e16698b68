/* SPDX-License-Identifier: Apache-2.0 */
/* Addresses and the default route of a link. */
#include "net/net-internal.h"

#include <linux/if_addr.h>

#include "util/err.h"

static size_t addr_len(const struct net_addr *a)
{
	return a->family == AF_INET6 ? 16 : 4;
}

static int family_check(const struct net_addr *a, const char *what, struct ember_error *e)
{
	if (a->family != AF_INET && a->family != AF_INET6)
		return err_invalid(e, "network: %s: not an IPv4 or IPv6 address", what);
	return 0;
}

int net_addr_add(struct net_nl *nl, const struct net_link *l, const struct net_addr *a, unsigned prefix,
		 struct ember_error *e)
{
	char buf[NET_NL_SEND_MAX] __attribute__((aligned(4)));
	char s[NET_ADDR_STR_MAX];
	struct net_reply r = { 0 };

	if (family_check(a, "add address", e) < 0)
		return -e->code;
	if (prefix > addr_len(a) * 8)
		return err_invalid(e, "network: add address %s/%u: the prefix is too long", net_addr_str(a, s), prefix);
	struct nlmsghdr *nlh = net_nl_msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)a->family;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)l->index;
	mnl_attr_put(nlh, IFA_LOCAL, addr_len(a), a->a);
	mnl_attr_put(nlh, IFA_ADDRESS, addr_len(a), a->a);
	/* A container's address is unique by construction (IPAM): no
	   duplicate address detection, usable at once. */
	if (a->family == AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	if (net_nl_talk(nl, nlh, &r) < 0)
		return net_fail(&r, e, "add address %s/%u to \"%s\"", net_addr_str(a, s), prefix, l->name);
	return 0;
}

int net_route_add_default(struct net_nl *nl, const struct net_link *l, const struct net_addr *gw,
			  struct ember_error *e)
{
	char buf[NET_NL_SEND_MAX] __attribute__((aligned(4)));
	char s[NET_ADDR_STR_MAX];
	struct net_reply r = { 0 };

	if (family_check(gw, "add default route", e) < 0)
		return -e->code;
	struct nlmsghdr *nlh = net_nl_msg(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)gw->family;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, addr_len(gw), gw->a);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)l->index);
	if (net_nl_talk(nl, nlh, &r) < 0)
		return net_fail(&r, e, "add default route via %s on \"%s\"", net_addr_str(gw, s), l->name);
	return 0;
}
