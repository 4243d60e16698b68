/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/varlink.h"
#include "util/cleanup.h"

/* The most a client (libember) accepts in one message. */
#define API_MAX_REPLY (16u << 20)

struct conn {
	struct server *srv;
	int fd;
	struct loop_source *io;
	struct loop_source *defer; /* process buffered input, or free */
	struct api_peer peer;
	struct vl_reader in;
	struct vl_writer out;
	struct api_call *current; /* the call being answered; one at a time */
	uint64_t partial_since;   /* when an incomplete message started, or 0 */
	uint32_t events;          /* epoll interest */
	int eof;                  /* the peer shut its writing side */
	int denied;               /* refused by the peer policy: answer, then close */
	int closing;              /* flush what is queued, then free */
	int dead;                 /* free at the next deferred run */
	int dispatching;
	/* Descriptors received (SCM_RIGHTS) with the byte at stream offset
	   fd_at[i]; a call takes those sent with its first byte. */
	int fds[API_MAX_FDS];
	uint64_t fd_at[API_MAX_FDS];
	unsigned nfds;
	uint64_t bytes_in;        /* stream offset of the next byte read */
	uint64_t msg_start;       /* stream offset of the next message */
	struct conn *next, *prev;
};

struct api_call {
	struct conn *conn;
	const struct api_method *method;
	struct vl_call msg;
	int finished;
	api_cancel_fn cancel;
	void *cancel_data;
	int fds[API_MAX_FDS];
	unsigned nfds;
};

struct server {
	struct loop *loop;
	const struct logger *log;
	struct server_limits limits;
	void *ctx;
	int fd;
	char *path;
	struct loop_source *listen;
	struct loop_source *sweep;
	struct conn *conns;
	unsigned nconns;
	gid_t group;
	int has_group;
};

static void conn_update_events(struct conn *c);
static void conn_close(struct conn *c);

/* ---- methods -------------------------------------------------------------- */

static int method_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct api_method *)elem)->name);
}

const struct api_method *api_method_find(const char *name)
{
	return bsearch(name, api_methods, api_methods_count, sizeof(api_methods[0]), method_cmp);
}

static int interface_known(const char *method, size_t iface_len)
{
	for (size_t i = 0; i < api_methods_count; i++)
		if (strncmp(api_methods[i].name, method, iface_len) == 0 &&
		    api_methods[i].name[iface_len] == '.' &&
		    !strchr(api_methods[i].name + iface_len + 1, '.'))
			return 1;
	return 0;
}

/* ---- sending ---------------------------------------------------------------- */

/* Queue one message. A client that lets its backlog grow past the limit is
   disconnected: it cannot make the daemon hold unbounded memory. */
static int conn_send(struct conn *c, const char *msg, size_t len)
{
	int r;

	if (c->dead || c->closing)
		return -ECONNRESET;
	r = vl_writer_append(&c->out, msg, len);
	if (r < 0) {
		log_warn(c->srv->log, "api: client pid %d uid %u: %s; disconnecting", (int)c->peer.pid,
			 (unsigned)c->peer.uid,
			 r == -ENOBUFS ? "not reading its replies" : "out of memory");
		c->dead = 1;
		conn_close(c);
		return -ECONNRESET;
	}
	r = vl_writer_flush(&c->out, c->fd);
	if (r < 0) {
		c->dead = 1;
		conn_close(c);
		return -ECONNRESET;
	}
	conn_update_events(c);
	return 0;
}

static void call_free(struct api_call *call)
{
	for (unsigned i = 0; i < call->nfds; i++)
		close_keep_errno(call->fds[i]);
	vl_call_done(&call->msg);
	free(call);
}

/* The call got its last reply: the connection may take the next one. */
static void call_finish(struct api_call *call)
{
	struct conn *c = call->conn;

	call->finished = 1;
	if (!c) {
		call_free(call);
		return;
	}
	if (c->current == call)
		c->current = NULL;
	call_free(call);
	if (!c->dispatching)
		loop_defer_arm(c->defer);
}

static int call_send(struct api_call *call, json_t *params, const char *error, int continues)
{
	struct conn *c = call->conn;
	size_t len;
	int r = 0;

	if (!c || (call->msg.flags & VL_ONEWAY)) {
		json_decref(params);
		return c ? 0 : -ECONNRESET;
	}
	char *msg = vl_reply_encode(params, error, continues, &len);
	json_decref(params);
	if (!msg)
		return -ENOMEM;
	/* The backlog limit applies behind a reply, so one large reply (a long
	   list) still goes out; only a reply beyond any client's reading limit
	   is replaced by an error. */
	if (len > API_MAX_REPLY) {
		free(msg);
		json_t *p = json_pack("{s:s}", "message", "reply larger than the API output limit");
		msg = vl_reply_encode(p, EMBER_ERROR_RESOURCE_EXHAUSTED, 0, &len);
		json_decref(p);
		if (!msg)
			return -ENOMEM;
	}
	r = conn_send(c, msg, len);
	free(msg);
	return r;
}

int api_reply(struct api_call *call, json_t *params)
{
	int r;

	if (call->finished) {
		json_decref(params);
		return -EALREADY;
	}
	r = call_send(call, params, NULL, 0);
	call_finish(call);
	return r;
}

int api_reply_fds(struct api_call *call, json_t *params, const int *fds, unsigned nfds)
{
	struct conn *c = call->conn;
	size_t len;
	int r = -ECONNRESET;

	if (call->finished) {
		json_decref(params);
		return -EALREADY;
	}
	if (!nfds)
		return api_reply(call, params);
	if (nfds > API_MAX_FDS) {
		json_decref(params);
		return -E2BIG;
	}
	char *msg = c && !c->dead && !c->closing ? vl_reply_encode(params, NULL, 0, &len) : NULL;
	json_decref(params);
	/* The descriptors ride on the reply's first byte. A client waits for
	   this reply, so nothing is queued before it; if something is, or the
	   socket is full, the call fails rather than sending them astray. */
	if (msg && vl_writer_queued(&c->out) == 0) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int) * API_MAX_FDS)];
		} cm;
		struct iovec iov = { msg, len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				     .msg_controllen = CMSG_SPACE(sizeof(int) * nfds) };
		memset(cm.buf, 0, sizeof(cm.buf));
		struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(h), fds, sizeof(int) * nfds);
		ssize_t n;
		do
			n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n > 0)
			r = (size_t)n < len ? conn_send(c, msg + n, len - (size_t)n) : 0;
	}
	free(msg);
	if (r < 0 && c && !c->dead) {
		call_finish(call);
		c->dead = 1;
		conn_close(c);
		return r;
	}
	call_finish(call);
	return r;
}

int api_notify(struct api_call *call, json_t *params)
{
	if (call->finished || !(call->msg.flags & VL_MORE)) {
		json_decref(params);
		return -EINVAL;
	}
	return call_send(call, params, NULL, 1);
}

static int call_error_v(struct api_call *call, const char *name, json_t *extra, int code,
			const char *fmt, va_list ap)
{
	char message[EMBER_ERROR_MESSAGE_MAX];
	json_t *params = extra ? extra : json_object();
	int r;

	if (call->finished) {
		json_decref(extra);
		return -EALREADY;
	}
	vsnprintf(message, sizeof(message), fmt, ap);
	json_object_set_new(params, "message", json_string(message));
	if (code > 0)
		json_object_set_new(params, "errno", json_integer(code));
	r = call_send(call, params, name, 0);
	call_finish(call);
	return r;
}

int api_error(struct api_call *call, const char *name, json_t *extra, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = call_error_v(call, name, extra, 0, fmt, ap);
	va_end(ap);
	return r;
}

static int call_error_code(struct api_call *call, const char *name, int code, const char *fmt, ...)
	ERR_PRINTF(4, 5);
static int call_error_code(struct api_call *call, const char *name, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = call_error_v(call, name, NULL, code, fmt, ap);
	va_end(ap);
	return r;
}

int api_error_from(struct api_call *call, const struct ember_error *e)
{
	return call_error_code(call, err_api_name(e), e->code, "%s", e->message);
}

int api_call_take_fd(struct api_call *call, unsigned index)
{
	if (index >= call->nfds || call->fds[index] < 0)
		return -1;
	int fd = call->fds[index];
	call->fds[index] = -1;
	return fd;
}

const char *api_call_method(const struct api_call *call)
{
	return call->msg.method;
}

const struct api_peer *api_call_peer(const struct api_call *call)
{
	static const struct api_peer gone = { (uid_t)-1, (gid_t)-1, 0 };

	return call->conn ? &call->conn->peer : &gone;
}

int api_call_wants_more(const struct api_call *call)
{
	return (call->msg.flags & VL_MORE) != 0;
}

void api_call_on_cancel(struct api_call *call, api_cancel_fn fn, void *userdata)
{
	call->cancel = fn;
	call->cancel_data = userdata;
}

/* ---- parameters ------------------------------------------------------------ */

static const char *const type_names[] = {
	[API_T_STRING] = "a string",
	[API_T_BOOL] = "a boolean",
	[API_T_INT] = "an integer",
	[API_T_OBJECT] = "an object",
	[API_T_STRING_MAP] = "an object of strings",
	[API_T_STRING_ARRAY] = "an array of strings",
};

static int type_ok(json_t *v, enum api_type type)
{
	const char *k;
	json_t *x;
	size_t i;

	switch (type) {
	case API_T_STRING:
		return json_is_string(v);
	case API_T_BOOL:
		return json_is_boolean(v);
	case API_T_INT:
		return json_is_integer(v);
	case API_T_OBJECT:
		return json_is_object(v);
	case API_T_STRING_MAP:
		if (!json_is_object(v))
			return 0;
		json_object_foreach(v, k, x)
			if (!json_is_string(x))
				return 0;
		return 1;
	case API_T_STRING_ARRAY:
		if (!json_is_array(v))
			return 0;
		json_array_foreach(v, i, x)
			if (!json_is_string(x))
				return 0;
		return 1;
	}
	return 0;
}

static int invalid_parameter(struct api_call *call, const char *name, const char *fmt, ...)
	ERR_PRINTF(3, 4);
static int invalid_parameter(struct api_call *call, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	call_error_v(call, EMBER_VARLINK_INVALID_PARAMETER, json_pack("{s:s}", "parameter", name),
		     EINVAL, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int api_params_parse(struct api_call *call, json_t *params, const struct api_param *table, void *out)
{
	const char *key;
	json_t *v;

	json_object_foreach(params, key, v) {
		const struct api_param *p;
		for (p = table; p->name; p++)
			if (strcmp(p->name, key) == 0)
				break;
		if (!p->name)
			return invalid_parameter(call, key, "%s: unknown parameter \"%.64s\"",
						 call->msg.method, key);
	}
	for (const struct api_param *p = table; p->name; p++) {
		char *field = (char *)out + p->offset;
		v = json_object_get(params, p->name);
		if (!v || json_is_null(v)) {
			if (p->flags & API_MANDATORY)
				return invalid_parameter(call, p->name, "%s: missing parameter \"%s\"",
							 call->msg.method, p->name);
			continue;
		}
		if (!type_ok(v, p->type))
			return invalid_parameter(call, p->name, "%s: parameter \"%s\" must be %s",
						 call->msg.method, p->name, type_names[p->type]);
		switch (p->type) {
		case API_T_STRING:
			*(const char **)field = json_string_value(v);
			break;
		case API_T_BOOL:
			*(int *)field = json_is_true(v);
			break;
		case API_T_INT:
			*(int64_t *)field = json_integer_value(v);
			break;
		default:
			*(json_t **)field = v;
			break;
		}
	}
	return 0;
}

/* ---- dispatch ----------------------------------------------------------------- */

/* A message that is not a valid call: answer, then close, since the
   stream may be out of step. */
static void conn_reject(struct conn *c, const char *name, const char *message)
{
	json_t *p = json_pack("{s:s}", "message", message);
	size_t len;
	char *msg = vl_reply_encode(p, name, 0, &len);

	json_decref(p);
	log_debug(c->srv->log, "api: client pid %d: %s", (int)c->peer.pid, message);
	if (msg) {
		conn_send(c, msg, len);
		free(msg);
	}
	c->closing = 1;
	conn_update_events(c);
}

static void conn_dispatch(struct conn *c, const char *text, size_t len)
{
	struct ember_error e;
	size_t iface_len;

	struct api_call *call = calloc(1, sizeof(*call));
	if (!call) {
		conn_reject(c, EMBER_ERROR_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	if (vl_call_parse(text, len, &call->msg, &e) < 0) {
		free(call);
		conn_reject(c, EMBER_ERROR_INVALID_ARGUMENT, e.message);
		return;
	}
	call->conn = c;
	c->current = call;
	/* Descriptors that came with this message's bytes are the call's;
	   any older ones belong to nobody and are closed. */
	uint64_t end = c->msg_start + len + 1;
	unsigned keep = 0;
	for (unsigned i = 0; i < c->nfds; i++) {
		if (c->fd_at[i] >= end) {
			c->fds[keep] = c->fds[i];
			c->fd_at[keep++] = c->fd_at[i];
		} else if (c->fd_at[i] >= c->msg_start && call->nfds < API_MAX_FDS) {
			call->fds[call->nfds++] = c->fds[i];
		} else {
			close_keep_errno(c->fds[i]);
		}
	}
	c->nfds = keep;
	const char *method = call->msg.method;
	log_debug(c->srv->log, "api: pid %d calls %s", (int)c->peer.pid, method);

	call->method = api_method_find(method);
	if (!call->method) {
		vl_qualified_name_split(method, &iface_len);
		if (!interface_known(method, iface_len)) {
			json_t *x = json_pack("{s:s%}", "interface", method, iface_len);
			api_error(call, EMBER_VARLINK_INTERFACE_NOT_FOUND, x, "unknown interface %.*s",
				  (int)iface_len, method);
		} else {
			api_error(call, EMBER_VARLINK_METHOD_NOT_FOUND, json_pack("{s:s}", "method", method),
				  "unknown method %s", method);
		}
		return;
	}
	if (call->msg.upgrade) {
		invalid_parameter(call, "upgrade", "%s: connection upgrades are not supported", method);
		return;
	}
	if ((call->method->flags & API_STREAM) && !(call->msg.flags & VL_MORE)) {
		api_error(call, EMBER_VARLINK_EXPECTED_MORE, NULL,
			  "%s streams its replies: call it with \"more\": true", method);
		return;
	}
	unsigned flags = call->method->flags;
	call->method->fn(call, call->msg.parameters, c->srv->ctx);
	/* A finished call is already freed; c->current tells. */
	if (c->current == call && !(flags & API_ASYNC)) {
		/* A handler that forgot to answer is a bug; never leave the client hanging. */
		log_error(c->srv->log, "api: %s returned without a reply", method);
		api_error(call, EMBER_ERROR_INTERNAL, NULL, "%s returned without a reply", method);
	}
}

static void conn_process(struct conn *c)
{
	const char *msg;
	size_t len;
	int r;

	int progress = 0;

	c->dispatching = 1;
	while (!c->current && !c->closing && !c->dead) {
		r = vl_reader_next(&c->in, &msg, &len);
		if (r == 0)
			break;
		if (c->denied) {
			char text[128];
			snprintf(text, sizeof(text),
				 "permission denied: uid %u is not root and not in the socket's group",
				 (unsigned)c->peer.uid);
			conn_reject(c, EMBER_VARLINK_PERMISSION_DENIED, text);
			break;
		}
		if (r == -EMSGSIZE) {
			char text[96];
			snprintf(text, sizeof(text), "message larger than the limit of %zu bytes",
				 c->srv->limits.max_message);
			conn_reject(c, EMBER_ERROR_RESOURCE_EXHAUSTED, text);
			break;
		}
		conn_dispatch(c, msg, len);
		vl_reader_consume(&c->in);
		c->msg_start += len + 1;
		progress = 1;
	}
	c->dispatching = 0;
	/* The read timeout runs from the start of each message: a client that
	   keeps completing messages, however slowly, is not stalled. A refused
	   peer's clock never restarts. */
	if (!c->denied) {
		if (c->current || !vl_reader_pending(&c->in))
			c->partial_since = 0;
		else if (progress || !c->partial_since)
			c->partial_since = loop_now_ms();
	}
	if (c->eof && !c->current)
		c->closing = 1; /* nothing more can come: done once flushed */
	conn_update_events(c);
}

/* ---- connections ---------------------------------------------------------------- */

static void conn_free(struct conn *c)
{
	struct server *srv = c->srv;

	if (c->current) {
		/* Unfinished (finished calls are freed at once): tell its owner,
		   who must not touch it afterwards. */
		struct api_call *call = c->current;
		c->current = NULL;
		call->conn = NULL;
		if (call->cancel)
			call->cancel(call, call->cancel_data);
		call_free(call);
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	loop_source_free(c->io);
	loop_source_free(c->defer);
	for (unsigned i = 0; i < c->nfds; i++)
		close_keep_errno(c->fds[i]);
	close_keep_errno(c->fd);
	vl_reader_done(&c->in);
	vl_writer_done(&c->out);
	free(c);
}

/* Closing is deferred so callers up the stack (an events fan-out, say)
   never see the connection vanish under them. */
static void conn_close(struct conn *c)
{
	c->dead = 1;
	loop_io_set_events(c->io, 0);
	loop_defer_arm(c->defer);
}

static void conn_update_events(struct conn *c)
{
	uint32_t ev = 0;

	if (c->dead)
		return;
	if (c->closing && vl_writer_queued(&c->out) == 0) {
		conn_close(c);
		return;
	}
	if (!c->eof && !c->closing && vl_reader_pending(&c->in) < c->in.max)
		ev |= EPOLLIN;
	if (vl_writer_queued(&c->out))
		ev |= EPOLLOUT;
	if (ev != c->events) {
		c->events = ev;
		loop_io_set_events(c->io, ev);
	}
}

static void conn_deferred(struct loop_source *s, void *userdata)
{
	struct conn *c = userdata;

	(void)s;
	if (c->dead)
		conn_free(c);
	else
		conn_process(c);
}

/*
 * Keep the descriptors a message carried; more than a call may take are
 * closed. The kernel ends a read with the byte that carried descriptors
 * (it may start with earlier plain bytes), and clients send them with a
 * message's first byte: so they belong to the message starting at the
 * last byte read.
 */
static void conn_take_fds(struct conn *c, struct msghdr *mh, size_t n_read)
{
	for (struct cmsghdr *h = CMSG_FIRSTHDR(mh); h; h = CMSG_NXTHDR(mh, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(h);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, fds + i, sizeof(fd));
			if (c->nfds < API_MAX_FDS) {
				c->fds[c->nfds] = fd;
				c->fd_at[c->nfds++] = c->bytes_in + n_read - 1;
			} else {
				close_keep_errno(fd);
			}
		}
	}
}

static void conn_read(struct conn *c)
{
	for (;;) {
		size_t avail;
		char *space = vl_reader_space(&c->in, &avail);
		if (!space)
			return; /* full: conn_process reports an oversized message */
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int) * API_MAX_FDS)];
		} cm;
		struct iovec iov = { space, avail };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				     .msg_controllen = sizeof(cm.buf) };
		ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n > 0)
			conn_take_fds(c, &mh, (size_t)n);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c);
			return;
		}
		if (n == 0) {
			c->eof = 1;
			return;
		}
		vl_reader_commit(&c->in, (size_t)n);
		c->bytes_in += (uint64_t)n;
		if ((size_t)n < avail)
			return;
	}
}

static void conn_io(struct loop_source *s, int fd, uint32_t events, void *userdata)
{
	struct conn *c = userdata;

	(void)s;
	(void)fd;
	if (c->dead)
		return;
	if (events & EPOLLOUT) {
		int r = vl_writer_flush(&c->out, c->fd);
		if (r < 0) {
			conn_close(c);
			return;
		}
	}
	if (events & EPOLLIN)
		conn_read(c);
	/* Both directions gone: nobody is left to answer, even a stream. */
	if ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN)) {
		conn_close(c);
		return;
	}
	if (!c->dead)
		conn_process(c);
}

static int peer_allowed(const struct server *srv, int fd, struct api_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	peer->pid = cred.pid;
	if (cred.uid == 0 || cred.uid == geteuid())
		return 1;
	if (!srv->has_group)
		return 0;
	if (cred.gid == srv->group)
		return 1;

	/* Supplementary groups, from the kernel rather than /proc (no race). */
	gid_t groups[256];
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return 0;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == srv->group)
			return 1;
	return 0;
}

static void server_accept(struct loop_source *s, int fd, uint32_t events, void *userdata)
{
	struct server *srv = userdata;
	struct ember_error e;

	(void)s;
	(void)events;
	for (int i = 0; i < 16; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn(srv->log, "api: accept: %s", strerror(errno));
			return;
		}
		if (srv->nconns >= srv->limits.max_connections) {
			log_warn(srv->log, "api: %u connections already: refusing one more",
				 srv->nconns);
			close(cfd);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			continue;
		}
		c->srv = srv;
		c->fd = cfd;
		vl_reader_init(&c->in, srv->limits.max_message);
		vl_writer_init(&c->out, srv->limits.max_output);
		c->io = loop_add_io(srv->loop, cfd, EPOLLIN, conn_io, c, "api connection", &e);
		c->defer = c->io ? loop_add_defer(srv->loop, conn_deferred, c, "api connection", &e) : NULL;
		if (!c->io || !c->defer) {
			loop_source_free(c->io);
			close(cfd);
			vl_reader_done(&c->in);
			vl_writer_done(&c->out);
			free(c);
			log_warn(srv->log, "api: %s", e.message);
			continue;
		}
		c->events = EPOLLIN;
		c->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = c;
		srv->conns = c;
		srv->nconns++;
		/* A refused peer gets its answer when its first message arrives:
		   closing at once would make its write fail before it could read
		   why. Until then it only holds a slot, bounded by the read timeout. */
		if (!peer_allowed(srv, cfd, &c->peer)) {
			c->denied = 1;
			c->partial_since = loop_now_ms();
			log_warn(srv->log, "api: refused pid %d uid %u gid %u: not root and not in the socket's group",
				 (int)c->peer.pid, (unsigned)c->peer.uid, (unsigned)c->peer.gid);
		}
	}
}

/* Close connections that started a message and stalled: a client cannot
   hold a connection slot and a buffer forever by sending half a message. */
static void server_sweep(struct loop_source *s, void *userdata)
{
	struct server *srv = userdata;
	uint64_t now = loop_now_ms();

	(void)s;
	for (struct conn *c = srv->conns; c; c = c->next) {
		if (c->dead || !c->partial_since)
			continue;
		if (now - c->partial_since > srv->limits.read_timeout_ms) {
			log_warn(srv->log, "api: client pid %d %s; disconnecting", (int)c->peer.pid,
				 c->denied ? "was refused and sent no call" : "sent half a message and stalled");
			conn_close(c);
		}
	}
}

/* ---- server ---------------------------------------------------------------------- */

struct server *server_new(struct loop *loop, const struct logger *log,
			  const struct server_limits *limits, void *ctx, struct ember_error *e)
{
	struct server *srv = calloc(1, sizeof(*srv));

	if (!srv) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	srv->loop = loop;
	srv->log = log;
	srv->limits = *limits;
	srv->ctx = ctx;
	srv->fd = -1;
	return srv;
}

unsigned server_connections(const struct server *srv)
{
	return srv->nconns;
}

static int socket_in_use(const struct sockaddr_un *sa)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
}

int server_set_group(struct server *srv, gid_t group, int has_group, struct ember_error *e)
{
	srv->group = group;
	srv->has_group = has_group;
	if (srv->path && chown(srv->path, 0, has_group ? group : 0) < 0 && geteuid() == 0)
		return err_sys(e, errno, "chown %s", srv->path);
	return 0;
}

int server_listen(struct server *srv, const char *path, gid_t group, int has_group,
		  struct ember_error *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old_umask;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(e, ENAMETOOLONG, "listen on %s: socket path longer than %zu bytes", path,
			       sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);

	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_sys(e, errno, "socket");

	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(e, EEXIST, "listen on %s: exists and is not a socket", path);
		if (socket_in_use(&sa))
			return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EADDRINUSE,
					    "listen on %s: another daemon is answering there", path);
		(void)unlink(path); /* stale, from a daemon that died */
	}
	/* Never a moment when the socket is open to all. */
	old_umask = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (r < 0)
		return err_sys(e, errno, "bind %s", path);
	srv->path = strdup(path);
	if (!srv->path)
		return err_set(e, ENOMEM, "out of memory");
	r = server_set_group(srv, group, has_group, e);
	if (r == 0 && chmod(path, 0660) < 0)
		r = err_sys(e, errno, "chmod %s", path);
	if (r < 0) {
		(void)unlink(path);
		return r;
	}
	if (listen(fd, 64) < 0) {
		(void)unlink(path);
		return err_sys(e, errno, "listen %s", path);
	}
	srv->listen = loop_add_io(srv->loop, fd, EPOLLIN, server_accept, srv, "api socket", e);
	if (!srv->listen) {
		(void)unlink(path);
		return -e->code;
	}
	srv->sweep = loop_add_timer(srv->loop, 1000, 1000, server_sweep, srv, "api sweep", e);
	if (!srv->sweep) {
		(void)unlink(path);
		return -e->code;
	}
	srv->fd = TAKE_FD(fd);
	return 0;
}

struct server *server_free(struct server *srv)
{
	if (!srv)
		return NULL;
	while (srv->conns)
		conn_free(srv->conns);
	loop_source_free(srv->listen);
	loop_source_free(srv->sweep);
	if (srv->fd >= 0) {
		close(srv->fd);
		if (srv->path)
			(void)unlink(srv->path);
	}
	free(srv->path);
	free(srv);
	return NULL;
}
