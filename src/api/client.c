/* SPDX-License-Identifier: Apache-2.0 */
/* libember: the client side of the API (see include/ember/client.h). */
#include <ember/client.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/varlink.h"
#include "util/cleanup.h"
#include "util/err.h"

/* Replies can list many objects; calls are small. */
#define CLIENT_MAX_MESSAGE (16u << 20)
#define CLIENT_MAX_OUTPUT (16u << 20)

struct pending {
	struct pending *next;
	ember_reply_fn fn; /* NULL: abandoned, replies are dropped */
	void *userdata;
};

struct ember_client {
	int fd;
	int timeout_ms;
	struct vl_reader in;
	struct vl_writer out;
	struct pending *head, *tail;
	int npending;
	int dead; /* 0, or the errno that ended the connection */
	int fds[EMBER_MAX_FDS]; /* to send with the next call */
	unsigned nfds;
	int rfds[EMBER_MAX_FDS]; /* received (SCM_RIGHTS), oldest first */
	unsigned nrfds;
};

static int set_error(struct ember_error *err, int code, const char *fmt, const char *arg)
{
	struct ember_error tmp;

	if (!err)
		err = &tmp;
	return err_set(err, code, fmt, arg);
}

int ember_client_connect(ember_client **client, const char *address, struct ember_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ember_error tmp;

	if (!err)
		err = &tmp;
	if (!address || !*address)
		address = getenv("EMBER_ADDRESS");
	if (!address || !*address)
		address = CONFIG_DEFAULT_ADDRESS;
	if (strlen(address) >= sizeof(sa.sun_path))
		return err_set(err, ENAMETOOLONG, "connect %.200s: socket path longer than %zu bytes",
			       address, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, address, strlen(address) + 1);

	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int code = errno;
		if (code == ENOENT || code == ECONNREFUSED)
			return err_set(err, code, "connect %s: %s (is the ember daemon running? see --address, EMBER_ADDRESS)",
				       address, strerror(code));
		return err_sys(err, code, "connect %s", address);
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return err_sys(err, errno, "connect %s: set non-blocking", address);

	ember_client *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(err, ENOMEM, "out of memory");
	c->fd = TAKE_FD(fd);
	vl_reader_init(&c->in, CLIENT_MAX_MESSAGE);
	vl_writer_init(&c->out, CLIENT_MAX_OUTPUT);
	*client = c;
	return 0;
}

ember_client *ember_client_free(ember_client *c)
{
	if (!c)
		return NULL;
	while (c->head) {
		struct pending *p = c->head;
		c->head = p->next;
		free(p);
	}
	close_keep_errno(c->fd);
	for (unsigned i = 0; i < c->nrfds; i++)
		close_keep_errno(c->rfds[i]);
	vl_reader_done(&c->in);
	vl_writer_done(&c->out);
	free(c);
	return NULL;
}

void ember_client_freep(ember_client **c)
{
	*c = ember_client_free(*c);
}

int ember_client_get_fd(const ember_client *c)
{
	return c->fd;
}

void ember_client_set_timeout(ember_client *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
}

int ember_client_pending(const ember_client *c)
{
	return c->npending;
}

static void pending_pop(ember_client *c)
{
	struct pending *p = c->head;

	c->head = p->next;
	if (!c->head)
		c->tail = NULL;
	c->npending--;
	free(p);
}

/* The connection is gone: every waiting call ends with that error. */
static int client_kill(ember_client *c, int code, const char *why, struct ember_error *err)
{
	struct ember_error e;

	if (!c->dead) {
		c->dead = code;
		err_set(&e, code, "connection to the ember daemon: %s", why);
		while (c->head) {
			if (c->head->fn)
				(void)c->head->fn(c, "{}", 0, &e, c->head->userdata);
			pending_pop(c);
		}
	}
	return set_error(err, code, "connection to the ember daemon: %s", why);
}

static void error_from_reply(struct ember_error *e, const struct vl_reply *r)
{
	json_t *msg = json_object_get(r->parameters, "message");
	json_t *code = json_object_get(r->parameters, "errno");

	err_set_name(e, r->error, err_code_from_name(r->error), "%s",
		     json_is_string(msg) ? json_string_value(msg) : r->error);
	if (json_is_integer(code) && json_integer_value(code) > 0 && json_integer_value(code) < 4096)
		e->code = (int)json_integer_value(code);
	/* Standard varlink errors carry the offending name in a parameter. */
	if (!json_is_string(msg)) {
		static const char *const keys[] = { "parameter", "method", "interface" };
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			json_t *v = json_object_get(r->parameters, keys[i]);
			if (json_is_string(v)) {
				err_set_name(e, r->error, e->code, "%s: %s %s", r->error, keys[i],
					     json_string_value(v));
				break;
			}
		}
	}
}

static int deliver(ember_client *c, const char *msg, size_t len, struct ember_error *err)
{
	struct vl_reply r;
	struct ember_error e;
	int ret = 0;

	if (vl_reply_parse(msg, len, &r, &e) < 0)
		return client_kill(c, EBADMSG, e.message, err);
	if (!c->head) {
		vl_reply_done(&r);
		return client_kill(c, EBADMSG, "reply without a call", err);
	}
	struct pending *p = c->head;
	if (p->fn) {
		_cleanup_free_ char *params = json_dumps(r.parameters, JSON_COMPACT);
		if (r.error)
			error_from_reply(&e, &r);
		ret = p->fn(c, params ? params : "{}", r.continues ? EMBER_REPLY_CONTINUES : 0,
			    r.error ? &e : NULL, p->userdata);
		if (ret < 0)
			p->fn = NULL; /* abandoned: drop the rest of its stream */
	}
	if (!r.continues)
		pending_pop(c);
	vl_reply_done(&r);
	return ret < 0 ? ret : 1;
}

int ember_client_process(ember_client *c, struct ember_error *err)
{
	int delivered = 0;

	if (c->dead)
		return set_error(err, c->dead, "connection to the ember daemon: %s", strerror(c->dead));
	for (;;) {
		const char *msg;
		size_t len, avail;
		int r;

		while ((r = vl_reader_next(&c->in, &msg, &len)) == 1) {
			r = deliver(c, msg, len, err);
			vl_reader_consume(&c->in);
			if (c->dead)
				return -c->dead;
			if (r < 0)
				return set_error(err, -r, "%s", "reply handler stopped the call");
			delivered++;
		}
		if (r == -EMSGSIZE)
			return client_kill(c, EMSGSIZE, "reply larger than the client's limit", err);

		char *space = vl_reader_space(&c->in, &avail);
		if (!space)
			return client_kill(c, ENOMEM, "out of memory", err);
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int) * EMBER_MAX_FDS)];
		} cm;
		struct iovec iov = { space, avail };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				     .msg_controllen = sizeof(cm.buf) };
		ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		for (struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; h; h = CMSG_NXTHDR(&mh, h)) {
			if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
				if (c->nrfds < EMBER_MAX_FDS)
					c->rfds[c->nrfds++] = fd;
				else
					close(fd);
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return delivered;
			return client_kill(c, errno, strerror(errno), err);
		}
		if (n == 0) {
			if (vl_reader_pending(&c->in) || c->npending)
				return client_kill(c, ECONNRESET, "closed by the daemon", err);
			c->dead = ECONNRESET;
			return delivered;
		}
		vl_reader_commit(&c->in, (size_t)n);
	}
}

int ember_client_take_fd(ember_client *c)
{
	if (!c->nrfds)
		return -1;
	int fd = c->rfds[0];
	memmove(c->rfds, c->rfds + 1, --c->nrfds * sizeof(int));
	return fd;
}

int ember_client_attach_fds(ember_client *c, const int *fds, unsigned n)
{
	if (n > EMBER_MAX_FDS)
		return -E2BIG;
	memcpy(c->fds, fds, n * sizeof(*fds));
	c->nfds = n;
	return 0;
}

static int send_with_fds(ember_client *c, const char *first)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * EMBER_MAX_FDS)];
	} cm;
	struct iovec iov = { (void *)first, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			     .msg_controllen = CMSG_SPACE(sizeof(int) * c->nfds) };

	while (vl_writer_queued(&c->out)) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -errno;
		int r = vl_writer_flush(&c->out, c->fd);
		if (r < 0)
			return r;
	}
	memset(cm.buf, 0, sizeof(cm.buf));
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int) * c->nfds);
	memcpy(CMSG_DATA(h), c->fds, sizeof(int) * c->nfds);
	c->nfds = 0;
	for (;;) {
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n == 1)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
			(void)poll(&pfd, 1, -1);
			continue;
		}
		return n < 0 ? -errno : -EIO;
	}
}

int ember_call_async(ember_client *c, const char *method, const char *parameters, unsigned flags,
		     ember_reply_fn fn, void *userdata, struct ember_error *err)
{
	struct ember_error tmp;
	json_t *params = NULL;
	size_t iface;
	int r;

	if (!err)
		err = &tmp;
	if (c->dead)
		return err_set(err, c->dead, "connection to the ember daemon: %s", strerror(c->dead));
	if (!method || !vl_qualified_name_split(method, &iface))
		return err_set(err, EINVAL, "\"%.128s\" is not a method name (interface.Method)",
			       method ? method : "");
	if ((flags & EMBER_CALL_ONEWAY) && (fn || (flags & EMBER_CALL_MORE)))
		return err_set(err, EINVAL, "a oneway call has no replies");
	if (parameters && *parameters) {
		json_error_t je;
		params = json_loads(parameters, JSON_REJECT_DUPLICATES, &je);
		if (!params)
			return err_set(err, EINVAL, "parameters: %s at position %d", je.text, je.position);
		if (!json_is_object(params)) {
			json_decref(params);
			return err_set(err, EINVAL, "parameters must be a JSON object");
		}
	}

	size_t len;
	_cleanup_free_ char *msg = vl_call_encode(method, params,
						  ((flags & EMBER_CALL_MORE) ? VL_MORE : 0) |
						  ((flags & EMBER_CALL_ONEWAY) ? VL_ONEWAY : 0), &len);
	json_decref(params);
	if (!msg)
		return err_set(err, ENOMEM, "out of memory");

	struct pending *p = NULL;
	if (!(flags & EMBER_CALL_ONEWAY)) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return err_set(err, ENOMEM, "out of memory");
		p->fn = fn;
		p->userdata = userdata;
	}
	if (c->nfds) {
		/* The descriptors travel with the message's first byte, which
		   must therefore leave now, after everything queued before it. */
		r = send_with_fds(c, msg);
		if (r < 0) {
			free(p);
			return client_kill(c, -r, strerror(-r), err);
		}
		memmove(msg, msg + 1, len - 1);
		len--;
	}
	r = vl_writer_append(&c->out, msg, len);
	if (r < 0) {
		free(p);
		return err_set(err, -r, "call %s: %s", method,
			       r == -ENOBUFS ? "too much unsent data" : strerror(-r));
	}
	if (p) {
		if (c->tail)
			c->tail->next = p;
		else
			c->head = p;
		c->tail = p;
		c->npending++;
	}
	r = vl_writer_flush(&c->out, c->fd);
	if (r < 0)
		return client_kill(c, -r, strerror(-r), err);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Block until *done is set by a callback, the timeout passes, or the
   connection dies. */
static int wait_until(ember_client *c, const int *done, struct ember_error *err)
{
	long long deadline = c->timeout_ms ? now_ms() + c->timeout_ms : 0;

	while (!*done) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int timeout = -1, r;

		if (vl_writer_queued(&c->out))
			pfd.events |= POLLOUT;
		if (deadline) {
			long long left = deadline - now_ms();
			if (left <= 0)
				return set_error(err, ETIMEDOUT, "%s", "no reply from the ember daemon in time");
			timeout = (int)left;
		}
		r = poll(&pfd, 1, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return set_error(err, errno, "poll: %s", strerror(errno));
		}
		if (pfd.revents & POLLOUT) {
			r = vl_writer_flush(&c->out, c->fd);
			if (r < 0)
				return client_kill(c, -r, strerror(-r), err);
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			r = ember_client_process(c, err);
			if (r < 0)
				return r;
			if (c->dead && !*done)
				return set_error(err, c->dead, "connection to the ember daemon: %s",
						 "closed by the daemon");
		}
	}
	return 0;
}

struct sync_state {
	int done;
	int result;
	char *reply;
	struct ember_error error;
	ember_reply_fn fn; /* for ember_call_more */
	void *userdata;
};

static int sync_collect(ember_client *c, const char *parameters, unsigned flags,
			const struct ember_error *error, void *userdata)
{
	struct sync_state *s = userdata;

	(void)c;
	if (error) {
		s->error = *error;
		s->result = -error->code;
	} else if (!(flags & EMBER_REPLY_CONTINUES)) {
		free(s->reply);
		s->reply = strdup(parameters);
		if (!s->reply)
			s->result = err_set(&s->error, ENOMEM, "out of memory");
	}
	if (!(flags & EMBER_REPLY_CONTINUES) || error)
		s->done = 1;
	return 0;
}

/* Send a call whose callback fills s, and wait for its last reply. */
static int call_and_wait(ember_client *c, const char *method, const char *parameters, unsigned flags,
			 ember_reply_fn fn, struct sync_state *s, struct ember_error *err)
{
	int r = ember_call_async(c, method, parameters, flags, fn, s, err);

	if (r < 0)
		return r;
	r = wait_until(c, &s->done, err);
	if (r == 0 && s->result < 0) {
		if (err)
			*err = s->error;
		r = s->result;
	}
	return r;
}

int ember_call(ember_client *c, const char *method, const char *parameters, char **reply,
	       struct ember_error *err)
{
	struct sync_state s = { 0 };
	int r = call_and_wait(c, method, parameters, 0, sync_collect, &s, err);

	if (r == 0 && reply)
		*reply = TAKE_PTR(s.reply);
	free(s.reply);
	return r;
}

static int more_forward(ember_client *c, const char *parameters, unsigned flags,
			const struct ember_error *error, void *userdata)
{
	struct sync_state *s = userdata;
	int r = s->fn(c, parameters, flags, error, s->userdata);

	if (error) {
		s->error = *error;
		s->result = -error->code;
	}
	if (r < 0) {
		err_set(&s->error, -r, "stopped by the reply handler");
		s->result = r;
	}
	if (r < 0 || error || !(flags & EMBER_REPLY_CONTINUES))
		s->done = 1;
	return r;
}

int ember_call_more(ember_client *c, const char *method, const char *parameters, ember_reply_fn fn,
		    void *userdata, struct ember_error *err)
{
	struct sync_state s = { .fn = fn, .userdata = userdata };

	return call_and_wait(c, method, parameters, EMBER_CALL_MORE, more_forward, &s, err);
}
