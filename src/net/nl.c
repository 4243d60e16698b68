/* SPDX-License-Identifier: Apache-2.0 */
/* The rtnetlink socket: one request, its replies, the kernel's errors. */
#include "net/net-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/err.h"

/* Opened in netns_fd's namespace: a netlink socket belongs to the
   namespace it was made in, whatever the thread does afterwards. */
static int socket_in(int bus, int netns_fd, struct mnl_socket **out, struct ember_error *e)
{
	if (netns_fd < 0) {
		*out = mnl_socket_open2(bus, SOCK_CLOEXEC);
		return *out ? 0 : err_sys(e, errno, "network: netlink socket");
	}
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return err_sys(e, errno, "network: open /proc/thread-self/ns/net");
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return err_sys(e, errno, "network: enter the network namespace of fd %d", netns_fd);
	struct mnl_socket *s = mnl_socket_open2(bus, SOCK_CLOEXEC);
	int saved = errno;
	if (setns(self, CLONE_NEWNET) < 0) {
		int r = err_sys(e, errno, "network: return to the thread's own network namespace (this thread "
					  "stays in another one)");
		if (s)
			mnl_socket_close(s);
		return r;
	}
	if (!s)
		return err_sys(e, saved, "network: netlink socket in the network namespace of fd %d", netns_fd);
	*out = s;
	return 0;
}

int net_nl_open_bus(int bus, int netns_fd, struct net_nl **out, struct ember_error *e)
{
	*out = NULL;
	_cleanup_net_nl_ struct net_nl *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return err_sys(e, ENOMEM, "network: netlink socket");
	int r = socket_in(bus, netns_fd, &nl->sock, e);
	if (r < 0)
		return r;
	/* The kernel's reason as text (extended ACK), and errors without a
	   copy of our request in them. Old kernels lack both: no matter. */
	int on = 1;
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &on, sizeof(on));
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &on, sizeof(on));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		return err_sys(e, errno, "network: bind the netlink socket");
	nl->portid = mnl_socket_get_portid(nl->sock);
	*out = TAKE_PTR(nl);
	return 0;
}

int net_nl_open(int netns_fd, struct net_nl **out, struct ember_error *e)
{
	return net_nl_open_bus(NETLINK_ROUTE, netns_fd, out, e);
}

struct net_nl *net_nl_free(struct net_nl *nl)
{
	if (nl) {
		if (nl->sock)
			mnl_socket_close(nl->sock);
		free(nl);
	}
	return NULL;
}

/* ---- replies ---- */

/* A kernel errno from a signed field: anything outside errno's range is a
   reply we do not understand. */
static int errno_of(int v)
{
	if (v < 0 && v > -4096)
		return -v;
	if (v > 0 && v < 4096)
		return v;
	return EPROTO;
}

/* NLMSGERR_ATTR_MSG: a NUL-terminated string; kept printable. */
static int ext_attr(const struct nlattr *attr, void *data)
{
	struct net_reply *r = data;

	if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG || mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	const char *s = mnl_attr_get_str(attr);
	size_t n = 0;
	for (; s[n] && n < sizeof(r->ext) - 1; n++)
		r->ext[n] = s[n] >= 0x20 && s[n] < 0x7f ? s[n] : '?';
	r->ext[n] = '\0';
	return MNL_CB_OK;
}

int net_ack_read(const struct nlmsghdr *nlh, struct net_reply *r)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t len = mnl_nlmsg_get_payload_len(nlh);

	if (len < sizeof(*err))
		return EBADMSG;
	/* The TLVs follow our request's header (NLM_F_CAPPED) or all of it. */
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		size_t off = sizeof(*err);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && err->msg.nlmsg_len >= sizeof(struct nlmsghdr))
			off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (off <= len)
			(void)mnl_attr_parse(nlh, (unsigned)off, ext_attr, r);
	}
	return err->error == 0 ? 0 : errno_of(err->error);
}

static int on_error(const struct nlmsghdr *nlh, void *data)
{
	struct net_reply *r = data;
	int code = net_ack_read(nlh, r);

	if (code == 0)
		return MNL_CB_STOP;
	r->error = code;
	errno = code;
	return MNL_CB_ERROR;
}

/* A dump's end: its payload, when there is one, is the dump's result. */
static int on_done(const struct nlmsghdr *nlh, void *data)
{
	struct net_reply *r = data;
	int v;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(v)) {
		memcpy(&v, mnl_nlmsg_get_payload(nlh), sizeof(v));
		if (v != 0) {
			r->error = errno_of(v);
			errno = r->error;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static int on_data(const struct nlmsghdr *nlh, void *data)
{
	struct net_reply *r = data;
	struct net_link l;

	if (nlh->nlmsg_type != RTM_NEWLINK || (!r->one && !r->fn))
		return MNL_CB_OK;
	if (net_link_parse(nlh, &l) < 0) {
		r->error = EBADMSG;
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	r->links++;
	if (r->one)
		*r->one = l;
	if (r->fn && !r->fn_failed && r->fn(&l, r->data, r->fn_err) < 0)
		r->fn_failed = 1;
	return MNL_CB_OK;
}

int net_reply_parse(const void *buf, size_t len, unsigned seq, unsigned portid, struct net_reply *r)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = on_error, [NLMSG_DONE] = on_done };

	errno = 0;
	int n = mnl_cb_run2(buf, len, seq, portid, on_data, r, ctl, NLMSG_MIN_TYPE);
	if (n == MNL_CB_ERROR && r->error == 0)
		r->error = errno > 0 ? errno : EPROTO; /* portid (ESRCH), seq (EPROTO), EINTR */
	return n;
}

/* ---- requests ---- */

struct nlmsghdr *net_nl_msg(void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

int net_nl_talk(struct net_nl *nl, struct nlmsghdr *nlh, struct net_reply *r)
{
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (++nl->seq == 0)
		nl->seq = 1;
	nlh->nlmsg_seq = nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
		r->error = errno;
		return -r->error;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r->error = errno;
			break;
		}
		if (net_reply_parse(nl->buf, (size_t)n, nl->seq, nl->portid, r) <= MNL_CB_STOP)
			break;
	}
	return r->error ? -r->error : 0;
}

int net_fail(const struct net_reply *r, struct ember_error *e, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	int code = r->error > 0 ? r->error : EIO;
	if (r->ext[0])
		return err_set(e, code, "network: %s: %s (kernel: %s)", what, strerror(code), r->ext);
	return err_set(e, code, "network: %s: %s", what, strerror(code));
}

int net_ifname_check(const char *name, const char *what, struct ember_error *e)
{
	char q[ERR_QUOTE_MAX];
	size_t n = name ? strlen(name) : 0;

	if (n == 0)
		return err_invalid(e, "network: %s: no name", what);
	if (n >= IFNAMSIZ)
		return err_invalid(e, "network: %s \"%s\": a name has at most %d characters", what, err_quote(name, q),
				   IFNAMSIZ - 1);
	if (strpbrk(name, "/: \t\n") || !strcmp(name, ".") || !strcmp(name, ".."))
		return err_invalid(e, "network: %s \"%s\": not a valid interface name", what, err_quote(name, q));
	return 0;
}
