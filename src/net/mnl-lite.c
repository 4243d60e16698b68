/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mnl-lite: the part of libmnl's API that src/net uses (mnl.h), for builds
 * without libmnl (CONFIG_LIBMNL=n: the static musl build). Written for
 * ember from libmnl's documented behaviour (its header and manual pages):
 * same names, same return values and errno, so the code above it cannot
 * tell the two apart. Replies come from the kernel, but every length is
 * still checked before it is followed (the fuzz harness feeds this code
 * arbitrary bytes).
 */
#include "net/mnl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

struct mnl_socket {
	int fd;
	struct sockaddr_nl addr; /* ours, after bind */
};

/* ---- sockets ---- */

struct mnl_socket *mnl_socket_open2(int bus, int flags)
{
	struct mnl_socket *nl = calloc(1, sizeof(*nl));

	if (!nl)
		return NULL;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | flags, bus);
	if (nl->fd < 0) {
		int saved = errno;
		free(nl);
		errno = saved;
		return NULL;
	}
	return nl;
}

int mnl_socket_bind(struct mnl_socket *nl, unsigned int groups, pid_t pid)
{
	struct sockaddr_nl want = { .nl_family = AF_NETLINK, .nl_groups = groups, .nl_pid = (__u32)pid };
	socklen_t len = sizeof(nl->addr);

	if (bind(nl->fd, (struct sockaddr *)&want, sizeof(want)) < 0)
		return -1;
	if (getsockname(nl->fd, (struct sockaddr *)&nl->addr, &len) < 0)
		return -1;
	if (len != sizeof(nl->addr) || nl->addr.nl_family != AF_NETLINK) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int mnl_socket_close(struct mnl_socket *nl)
{
	int r = close(nl->fd);

	free(nl);
	return r;
}

unsigned int mnl_socket_get_portid(const struct mnl_socket *nl)
{
	return nl->addr.nl_pid;
}

ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *req, size_t siz)
{
	static const struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	return sendto(nl->fd, req, siz, 0, (const struct sockaddr *)&kernel, sizeof(kernel));
}

ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t siz)
{
	struct sockaddr_nl from;
	struct iovec iov = { .iov_base = buf, .iov_len = siz };
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(nl->fd, &msg, 0);

	if (n < 0)
		return n;
	/* A datagram larger than buf lost its end: never parse half of one. */
	if (msg.msg_flags & MSG_TRUNC) {
		errno = ENOSPC;
		return -1;
	}
	if (msg.msg_namelen != sizeof(from)) {
		errno = EINVAL;
		return -1;
	}
	return n;
}

int mnl_socket_setsockopt(const struct mnl_socket *nl, int type, void *buf, socklen_t len)
{
	return setsockopt(nl->fd, SOL_NETLINK, type, buf, len);
}

/* ---- messages ---- */

struct nlmsghdr *mnl_nlmsg_put_header(void *buf)
{
	struct nlmsghdr *nlh = buf;

	memset(nlh, 0, MNL_NLMSG_HDRLEN);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
	return nlh;
}

void *mnl_nlmsg_put_extra_header(struct nlmsghdr *nlh, size_t size)
{
	char *at = (char *)nlh + nlh->nlmsg_len;

	memset(at, 0, MNL_ALIGN(size));
	nlh->nlmsg_len += MNL_ALIGN(size);
	return at;
}

void *mnl_nlmsg_get_payload(const struct nlmsghdr *nlh)
{
	return (char *)nlh + MNL_NLMSG_HDRLEN;
}

size_t mnl_nlmsg_get_payload_len(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_len - MNL_NLMSG_HDRLEN;
}

void *mnl_nlmsg_get_payload_tail(const struct nlmsghdr *nlh)
{
	return (char *)nlh + MNL_ALIGN(nlh->nlmsg_len);
}

/* Room for a whole header, and the message's length fits in len. */
static bool nlmsg_fits(const struct nlmsghdr *nlh, size_t len)
{
	return len >= sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) && nlh->nlmsg_len <= len;
}

/* ---- batches ---- */

struct mnl_nlmsg_batch {
	char *buf;
	size_t limit; /* what one datagram may carry */
	size_t len;   /* the messages accepted so far */
};

struct mnl_nlmsg_batch *mnl_nlmsg_batch_start(void *buf, size_t limit)
{
	struct mnl_nlmsg_batch *b = calloc(1, sizeof(*b));

	if (b) {
		b->buf = buf;
		b->limit = limit;
	}
	return b;
}

/* Accept the message at the current position; false when it would make
   the batch larger than the limit (it stays where it is, not counted). */
bool mnl_nlmsg_batch_next(struct mnl_nlmsg_batch *b)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)(b->buf + b->len);

	if (b->len + nlh->nlmsg_len > b->limit)
		return false;
	b->len += nlh->nlmsg_len;
	return true;
}

void mnl_nlmsg_batch_stop(struct mnl_nlmsg_batch *b)
{
	free(b);
}

size_t mnl_nlmsg_batch_size(struct mnl_nlmsg_batch *b)
{
	return b->len;
}

void *mnl_nlmsg_batch_head(struct mnl_nlmsg_batch *b)
{
	return b->buf;
}

void *mnl_nlmsg_batch_current(struct mnl_nlmsg_batch *b)
{
	return b->buf + b->len;
}

/* ---- attributes ---- */

uint16_t mnl_attr_get_type(const struct nlattr *attr)
{
	return attr->nla_type & NLA_TYPE_MASK;
}

uint16_t mnl_attr_get_payload_len(const struct nlattr *attr)
{
	return (uint16_t)(attr->nla_len - MNL_ATTR_HDRLEN);
}

void *mnl_attr_get_payload(const struct nlattr *attr)
{
	return (char *)attr + MNL_ATTR_HDRLEN;
}

uint8_t mnl_attr_get_u8(const struct nlattr *attr)
{
	return *(const uint8_t *)mnl_attr_get_payload(attr);
}

uint32_t mnl_attr_get_u32(const struct nlattr *attr)
{
	uint32_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

const char *mnl_attr_get_str(const struct nlattr *attr)
{
	return mnl_attr_get_payload(attr);
}

void mnl_attr_put(struct nlmsghdr *nlh, uint16_t type, size_t len, const void *data)
{
	struct nlattr *attr = mnl_nlmsg_get_payload_tail(nlh);
	size_t total = MNL_ATTR_HDRLEN + len;

	attr->nla_type = type;
	attr->nla_len = (uint16_t)total;
	if (len)
		memcpy(mnl_attr_get_payload(attr), data, len);
	/* The padding is zeroes, never what the buffer held. */
	memset((char *)attr + total, 0, MNL_ALIGN(total) - total);
	nlh->nlmsg_len += MNL_ALIGN(total);
}

void mnl_attr_put_u8(struct nlmsghdr *nlh, uint16_t type, uint8_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u32(struct nlmsghdr *nlh, uint16_t type, uint32_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_strz(struct nlmsghdr *nlh, uint16_t type, const char *data)
{
	mnl_attr_put(nlh, type, strlen(data) + 1, data);
}

struct nlattr *mnl_attr_nest_start(struct nlmsghdr *nlh, uint16_t type)
{
	struct nlattr *start = mnl_nlmsg_get_payload_tail(nlh);

	start->nla_type = NLA_F_NESTED | type;
	nlh->nlmsg_len += MNL_ATTR_HDRLEN;
	return start;
}

void mnl_attr_nest_end(struct nlmsghdr *nlh, struct nlattr *start)
{
	start->nla_len = (uint16_t)((char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)start);
}

int mnl_attr_type_valid(const struct nlattr *attr, uint16_t maxtype)
{
	if (mnl_attr_get_type(attr) > maxtype) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return 1;
}

int mnl_attr_validate(const struct nlattr *attr, enum mnl_attr_data_type type)
{
	static const uint8_t fixed[MNL_TYPE_MAX] = {
		[MNL_TYPE_U8] = 1,  [MNL_TYPE_U16] = 2,	 [MNL_TYPE_U32] = 4,
		[MNL_TYPE_U64] = 8, [MNL_TYPE_MSECS] = 8,
	};
	size_t len = mnl_attr_get_payload_len(attr);
	const char *p = mnl_attr_get_payload(attr);

	if ((unsigned)type >= MNL_TYPE_MAX) {
		errno = EINVAL;
		return -1;
	}
	/* Integers are exactly their size; the rest by kind. */
	if (fixed[type] && len != fixed[type]) {
		errno = ERANGE;
		return -1;
	}
	switch (type) {
	case MNL_TYPE_FLAG:
		if (len != 0) {
			errno = ERANGE;
			return -1;
		}
		break;
	case MNL_TYPE_STRING:
		if (len == 0) {
			errno = ERANGE;
			return -1;
		}
		break;
	case MNL_TYPE_NUL_STRING:
		if (len == 0) {
			errno = ERANGE;
			return -1;
		}
		if (p[len - 1] != '\0') {
			errno = EINVAL;
			return -1;
		}
		break;
	case MNL_TYPE_NESTED:
		/* Empty, or room for at least one attribute header. */
		if (len != 0 && len < MNL_ATTR_HDRLEN) {
			errno = ERANGE;
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

/* Walk the attributes in [at, at + len): each one whole and inside. */
static int attr_walk(const char *at, size_t len, mnl_attr_cb_t cb, void *data)
{
	while (len >= sizeof(struct nlattr)) {
		const struct nlattr *attr = (const struct nlattr *)at;
		if (attr->nla_len < sizeof(struct nlattr) || attr->nla_len > len)
			break;
		int r = cb(attr, data);
		if (r <= MNL_CB_STOP)
			return r;
		size_t step = MNL_ALIGN(attr->nla_len);
		if (step >= len)
			break;
		at += step;
		len -= step;
	}
	return MNL_CB_OK;
}

int mnl_attr_parse(const struct nlmsghdr *nlh, unsigned int offset, mnl_attr_cb_t cb, void *data)
{
	size_t payload = mnl_nlmsg_get_payload_len(nlh);

	if (MNL_ALIGN(offset) > payload)
		return MNL_CB_OK;
	return attr_walk((const char *)mnl_nlmsg_get_payload(nlh) + MNL_ALIGN(offset),
			 payload - MNL_ALIGN(offset), cb, data);
}

int mnl_attr_parse_nested(const struct nlattr *attr, mnl_attr_cb_t cb, void *data)
{
	return attr_walk(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr), cb, data);
}

/* ---- replies ---- */

/* NLMSG_ERROR: errno from the kernel's code; 0 is the ACK, the end. */
static int ctl_error(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*err)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	/* (INT_MIN has no positive counterpart: no errno at all.) */
	errno = err->error == INT_MIN ? EPROTO : err->error < 0 ? -err->error : err->error;
	return err->error == 0 ? MNL_CB_STOP : MNL_CB_ERROR;
}

static int ctl_default(const struct nlmsghdr *nlh)
{
	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR:
		return ctl_error(nlh);
	case NLMSG_DONE:
		return MNL_CB_STOP;
	default: /* NLMSG_NOOP, NLMSG_OVERRUN, the reserved ones */
		return MNL_CB_OK;
	}
}

int mnl_cb_run2(const void *buf, size_t numbytes, unsigned int seq, unsigned int portid, mnl_cb_t cb_data,
		void *data, mnl_cb_t *cb_ctl_array, unsigned int cb_ctl_array_len)
{
	const char *at = buf;
	size_t len = numbytes;
	int r = MNL_CB_OK;

	while (nlmsg_fits((const struct nlmsghdr *)at, len)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)at;

		/* 0 on either side means "do not check" (a notification, a
		   caller that does not track). */
		if (nlh->nlmsg_pid && portid && nlh->nlmsg_pid != portid) {
			errno = ESRCH;
			return MNL_CB_ERROR;
		}
		if (nlh->nlmsg_seq && seq && nlh->nlmsg_seq != seq) {
			errno = EPROTO;
			return MNL_CB_ERROR;
		}
		/* The dump changed under the kernel's feet: start again. */
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
			errno = EINTR;
			return MNL_CB_ERROR;
		}
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE)
			r = cb_data ? cb_data(nlh, data) : MNL_CB_OK;
		else if (cb_ctl_array && nlh->nlmsg_type < cb_ctl_array_len && cb_ctl_array[nlh->nlmsg_type])
			r = cb_ctl_array[nlh->nlmsg_type](nlh, data);
		else
			r = ctl_default(nlh);
		if (r <= MNL_CB_STOP)
			return r;
		size_t step = MNL_ALIGN(nlh->nlmsg_len);
		if (step >= len)
			break;
		at += step;
		len -= step;
	}
	return r;
}
