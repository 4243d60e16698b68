/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A veth pair whose peer is created in another network namespace by the
 * same request (IFLA_NET_NS_FD in the peer's attributes): the container's
 * end never exists in the host's namespace, so nothing is moved later
 * (moving a link between namespaces is the slow step).
 */
#include "net/net-internal.h"

#include <linux/if_link.h>
#include <linux/veth.h>

#include "util/err.h"

int net_veth_create(struct net_nl *nl, const struct net_veth *v, struct ember_error *e)
{
	char buf[NET_NL_SEND_MAX] __attribute__((aligned(4)));
	struct net_reply r = { 0 };

	if (net_ifname_check(v->name, "create veth", e) < 0 || net_ifname_check(v->peer, "create veth peer", e) < 0)
		return -e->code;
	struct nlmsghdr *nlh = net_nl_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	if (v->up)
		ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->name);
	if (v->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
	if (v->master > 0)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)v->master);

	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow an ifinfomsg of its own. */
	struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->peer);
	if (v->peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)v->peer_netns_fd);
	if (v->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);

	if (net_nl_talk(nl, nlh, &r) < 0)
		return net_fail(&r, e, "create veth \"%s\" (peer \"%s\")", v->name, v->peer);
	return 0;
}
