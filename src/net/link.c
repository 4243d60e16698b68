/* SPDX-License-Identifier: Apache-2.0 */
/* Links: what the kernel says of one, find, list, change, delete. */
#include "net/net-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_link.h>

#include "util/err.h"

struct link_parse {
	struct net_link *l;
	int bad;
};

/* A NUL-terminated string of at most size - 1 characters, copied. */
static int copy_str(const struct nlattr *attr, char *dst, size_t size)
{
	if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0 || mnl_attr_get_payload_len(attr) > size)
		return -1;
	memcpy(dst, mnl_attr_get_str(attr), mnl_attr_get_payload_len(attr));
	dst[size - 1] = '\0';
	return 0;
}

static int info_attr(const struct nlattr *attr, void *data)
{
	struct link_parse *p = data;

	if (mnl_attr_get_type(attr) == IFLA_INFO_KIND && copy_str(attr, p->l->kind, sizeof(p->l->kind)) < 0) {
		p->bad = 1;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *attr, void *data)
{
	struct link_parse *p = data;
	int bad = 0;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		bad = copy_str(attr, p->l->name, sizeof(p->l->name));
		break;
	case IFLA_MTU:
		if (!(bad = mnl_attr_validate(attr, MNL_TYPE_U32)))
			p->l->mtu = mnl_attr_get_u32(attr);
		break;
	case IFLA_MASTER:
		if (!(bad = mnl_attr_validate(attr, MNL_TYPE_U32)))
			p->l->master = (int)mnl_attr_get_u32(attr);
		break;
	case IFLA_LINK_NETNSID:
		if (!(bad = mnl_attr_validate(attr, MNL_TYPE_U32)))
			p->l->link_netnsid = (int)mnl_attr_get_u32(attr);
		break;
	case IFLA_LINKINFO:
		bad = mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0 ||
		      mnl_attr_parse_nested(attr, info_attr, p) == MNL_CB_ERROR;
		break;
	}
	if (bad) {
		p->bad = 1;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int net_link_parse(const struct nlmsghdr *nlh, struct net_link *out)
{
	struct link_parse p = { .l = out };

	memset(out, 0, sizeof(*out));
	out->link_netnsid = -1;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return -1;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	out->index = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	if (mnl_attr_parse(nlh, sizeof(*ifi), link_attr, &p) == MNL_CB_ERROR || p.bad)
		return -1;
	if (out->index <= 0 || !out->name[0] || out->master < 0)
		return -1;
	return 0;
}

/* A link request: the header, and the name when there is one. */
static struct nlmsghdr *link_msg(void *buf, uint16_t type, uint16_t flags, int index, const char *name)
{
	struct nlmsghdr *nlh = net_nl_msg(buf, type, flags);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

int net_link_get(struct net_nl *nl, const char *name, int index, struct net_link *out, struct ember_error *e)
{
	char buf[NET_NL_SEND_MAX] __attribute__((aligned(4)));
	char what[64];
	struct net_reply r = { .one = out };

	if (name)
		snprintf(what, sizeof(what), "find link \"%s\"", name);
	else
		snprintf(what, sizeof(what), "find link %d", index);
	if (name && net_ifname_check(name, "find link", e) < 0)
		return -e->code;
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, 0, name ? 0 : index, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (net_nl_talk(nl, nlh, &r) < 0)
		return net_fail(&r, e, "%s", what);
	if (r.links != 1) {
		r.error = r.links ? EPROTO : ENODEV;
		return net_fail(&r, e, "%s", what);
	}
	return 0;
}

int net_link_dump(struct net_nl *nl, net_link_fn fn, void *data, struct ember_error *e)
{
	char buf[NET_NL_SEND_MAX] __attribute__((aligned(4)));
	struct net_reply r = { .fn = fn, .data = data, .fn_err = e };

	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, NLM_F_DUMP, 0, NULL);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (net_nl_talk(nl, nlh, &r) < 0)
		return net_fail(&r, e, "list links");
	return r.fn_failed ? -e->code : 0;
}

int net_link_delete(struct net_nl *nl, const char *name, struct ember_error *e)
{
	char buf[NET_NL_SEND_MAX] __attribute__((aligned(4)));
	struct net_reply r = { 0 };

	if (net_ifname_check(name, "delete link", e) < 0)
		return -e->code;
	if (net_nl_talk(nl, link_msg(buf, RTM_DELLINK, 0, 0, name), &r) < 0)
		return net_fail(&r, e, "delete link \"%s\"", name);
	return 0;
}

int net_link_set(struct net_nl *nl, const char *name, const struct net_link_change *c, struct ember_error *e)
{
	char buf[NET_NL_SEND_MAX] __attribute__((aligned(4)));
	struct net_reply r = { 0 };

	struct net_link l;
	if (net_ifname_check(name, "change link", e) < 0 || (c->rename && net_ifname_check(c->rename, "rename link", e) < 0))
		return -e->code;
	/* A rename names the link by its index, the new name in IFLA_IFNAME. */
	if (c->rename && net_link_get(nl, name, 0, &l, e) < 0)
		return -e->code;
	struct nlmsghdr *nlh = c->rename ? link_msg(buf, RTM_NEWLINK, 0, l.index, c->rename)
					 : link_msg(buf, RTM_NEWLINK, 0, 0, name);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	if (c->up != NET_KEEP) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = c->up ? IFF_UP : 0;
	}
	if (c->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, c->mtu);
	if (c->master != NET_KEEP)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)c->master);
	if (net_nl_talk(nl, nlh, &r) < 0)
		return net_fail(&r, e, "change link \"%s\"", name);
	return 0;
}
