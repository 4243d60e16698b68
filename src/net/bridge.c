/* SPDX-License-Identifier: Apache-2.0 */
/* A bridge: one request creates it, up. */
#include "net/net-internal.h"

#include <linux/if_link.h>

#include "util/err.h"

int net_bridge_create(struct net_nl *nl, const char *name, unsigned mtu, struct ember_error *e)
{
	char buf[NET_NL_SEND_MAX] __attribute__((aligned(4)));
	struct net_reply r = { 0 };

	if (net_ifname_check(name, "create bridge", e) < 0)
		return -e->code;
	/* NLM_F_EXCL: a bridge of that name that is there already, ours or
	   not, is an error here; the caller decides what it means. */
	struct nlmsghdr *nlh = net_nl_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	if (net_nl_talk(nl, nlh, &r) < 0)
		return net_fail(&r, e, "create bridge \"%s\"", name);
	return 0;
}
