/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container on a bridge: the veth pair (its end made inside the
 * container's network namespace), its address, up, its default route.
 * All of it or nothing: on failure the pair is deleted again, which takes
 * the container's end, its address and route with it.
 */
#include "net/net-internal.h"

#include "util/err.h"

static int inside(const struct net_attach *a, struct ember_error *e)
{
	_cleanup_net_nl_ struct net_nl *nl = NULL;
	struct net_link l;

	if (net_nl_open(a->netns_fd, &nl, e) < 0 || net_link_get(nl, a->peer, 0, &l, e) < 0 ||
	    net_addr_add(nl, &l, &a->addr, a->prefix, e) < 0)
		return -e->code;
	struct net_link_change up = { .master = NET_KEEP, .up = 1 };
	if (net_link_set(nl, a->peer, &up, e) < 0)
		return -e->code;
	if (a->gateway.family && net_route_add_default(nl, &l, &a->gateway, e) < 0)
		return -e->code;
	return 0;
}

int net_attach(struct net_nl *host, const struct net_attach *a, struct ember_error *e)
{
	struct net_veth v = { .name = a->veth, .peer = a->peer, .peer_netns_fd = a->netns_fd, .mtu = a->mtu,
			      .master = a->bridge, .up = true };

	if (a->netns_fd < 0)
		return err_invalid(e, "network: attach \"%s\": no network namespace", a->veth ? a->veth : "");
	if (net_veth_create(host, &v, e) < 0)
		return -e->code;
	if (inside(a, e) < 0) {
		struct ember_error ignored;
		(void)net_link_delete(host, a->veth, &ignored);
		return -e->code;
	}
	return 0;
}
