/* SPDX-License-Identifier: Apache-2.0 */
#include "api/varlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/err.h"

/* ---- framing ---------------------------------------------------------- */

void vl_reader_init(struct vl_reader *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
}

void vl_reader_done(struct vl_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

char *vl_reader_space(struct vl_reader *r, size_t *avail)
{
	*avail = 0;
	if (r->len >= r->max)
		return NULL;
	if (r->cap - r->len < 4096 && r->cap < r->max) {
		size_t cap = r->cap ? r->cap * 2 : 8192;
		if (cap > r->max)
			cap = r->max;
		char *b = realloc(r->buf, cap);
		if (!b)
			return NULL;
		r->buf = b;
		r->cap = cap;
	}
	*avail = r->cap - r->len;
	return r->buf + r->len;
}

void vl_reader_commit(struct vl_reader *r, size_t n)
{
	r->len += n;
}

int vl_reader_next(struct vl_reader *r, const char **msg, size_t *len)
{
	if (r->msg)
		return 1; /* not consumed yet: hand out the same message */
	char *nul = r->len > r->scan ? memchr(r->buf + r->scan, '\0', r->len - r->scan) : NULL;
	if (!nul) {
		r->scan = r->len;
		return r->len >= r->max ? -EMSGSIZE : 0;
	}
	*len = (size_t)(nul - r->buf);
	*msg = r->buf;
	r->msg = *len + 1;
	return 1;
}

void vl_reader_consume(struct vl_reader *r)
{
	if (!r->msg)
		return;
	memmove(r->buf, r->buf + r->msg, r->len - r->msg);
	r->len -= r->msg;
	r->msg = 0;
	r->scan = 0;
	/* Give memory back after a large message. */
	if (r->len == 0 && r->cap > 65536) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
}

size_t vl_reader_pending(const struct vl_reader *r)
{
	return r->len - r->msg;
}

void vl_writer_init(struct vl_writer *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void vl_writer_done(struct vl_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

size_t vl_writer_queued(const struct vl_writer *w)
{
	return w->len - w->off;
}

int vl_writer_append(struct vl_writer *w, const char *data, size_t len)
{
	/* max bounds the backlog behind a message: an empty writer takes any
	   message (its size is the caller's to bound). */
	if (vl_writer_queued(w) > 0 && vl_writer_queued(w) + len > w->max)
		return -ENOBUFS;
	if (w->off > 0 && w->len + len > w->cap) {
		memmove(w->buf, w->buf + w->off, w->len - w->off);
		w->len -= w->off;
		w->off = 0;
	}
	if (w->len + len > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->len + len)
			cap *= 2;
		char *b = realloc(w->buf, cap);
		if (!b)
			return -ENOMEM;
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, data, len);
	w->len += len;
	return 0;
}

int vl_writer_flush(struct vl_writer *w, int fd)
{
	while (w->off < w->len) {
		ssize_t n = send(fd, w->buf + w->off, w->len - w->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -errno;
		}
		w->off += (size_t)n;
	}
	w->off = w->len = 0;
	if (w->cap > 65536) {
		free(w->buf);
		w->buf = NULL;
		w->cap = 0;
	}
	return 0;
}

/* ---- names ------------------------------------------------------------- */

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int vl_interface_name_valid(const char *s, size_t n)
{
	/* Dot-separated labels of [A-Za-z0-9-], no label starts or ends with
	   '-', the first starts with a letter, at least two labels. */
	size_t labels = 0, i = 0;

	if (n == 0 || n > 255 || !is_alpha(s[0]))
		return 0;
	while (i < n) {
		size_t start = i;
		while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-'))
			i++;
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return 0;
		labels++;
		if (i < n) {
			if (s[i] != '.')
				return 0;
			i++;
			if (i == n)
				return 0;
		}
	}
	return labels >= 2;
}

int vl_member_name_valid(const char *s, size_t n)
{
	if (n == 0 || n > 255 || !(s[0] >= 'A' && s[0] <= 'Z'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]))
			return 0;
	return 1;
}

int vl_qualified_name_split(const char *s, size_t *iface_len)
{
	const char *dot = strrchr(s, '.');

	if (!dot)
		return 0;
	if (!vl_interface_name_valid(s, (size_t)(dot - s)) ||
	    !vl_member_name_valid(dot + 1, strlen(dot + 1)))
		return 0;
	if (iface_len)
		*iface_len = (size_t)(dot - s);
	return 1;
}

/* ---- messages ---------------------------------------------------------- */

static json_t *parse_object(const char *msg, size_t len, const char *what, struct ember_error *e)
{
	json_error_t je;
	json_t *root = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &je);

	if (!root) {
		err_set(e, EBADMSG, "malformed %s: %s at byte %d", what, je.text, je.position);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		err_set(e, EBADMSG, "malformed %s: not a JSON object", what);
		return NULL;
	}
	return root;
}

static int get_bool(json_t *root, const char *key, int *out, const char *what, struct ember_error *e)
{
	json_t *v = json_object_get(root, key);

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return err_set(e, EINVAL, "malformed %s: \"%s\" must be a boolean", what, key);
	*out = json_is_true(v);
	return 0;
}

static int get_parameters(json_t *root, json_t **out, const char *what, struct ember_error *e)
{
	json_t *p = json_object_get(root, "parameters");

	if (!p || json_is_null(p)) {
		p = json_object();
		if (!p || json_object_set_new(root, "parameters", p) < 0)
			return err_set(e, ENOMEM, "out of memory");
	} else if (!json_is_object(p)) {
		return err_set(e, EINVAL, "malformed %s: \"parameters\" must be an object", what);
	}
	*out = p;
	return 0;
}

int vl_call_parse(const char *msg, size_t len, struct vl_call *call, struct ember_error *e)
{
	static const char *const known[] = { "method", "parameters", "more", "oneway", "upgrade" };
	const char *key;
	json_t *v;
	int more, oneway, r;

	memset(call, 0, sizeof(*call));
	json_t *root = parse_object(msg, len, "call", e);
	if (!root)
		return -e->code;
	json_object_foreach(root, key, v) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(known); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == ARRAY_SIZE(known)) {
			r = err_set(e, EINVAL, "malformed call: unknown field \"%.64s\"", key);
			goto fail;
		}
	}
	v = json_object_get(root, "method");
	if (!json_is_string(v)) {
		r = err_set(e, EINVAL, "malformed call: \"method\" must be a string");
		goto fail;
	}
	if (!vl_qualified_name_split(json_string_value(v), NULL)) {
		r = err_set(e, EINVAL, "malformed call: \"%.128s\" is not a method name (interface.Method)",
			    json_string_value(v));
		goto fail;
	}
	if ((r = get_bool(root, "more", &more, "call", e)) < 0 ||
	    (r = get_bool(root, "oneway", &oneway, "call", e)) < 0 ||
	    (r = get_bool(root, "upgrade", &call->upgrade, "call", e)) < 0 ||
	    (r = get_parameters(root, &call->parameters, "call", e)) < 0)
		goto fail;
	if (more && oneway) {
		r = err_set(e, EINVAL, "malformed call: \"more\" and \"oneway\" exclude each other");
		goto fail;
	}
	call->root = root;
	call->method = json_string_value(v);
	call->flags = (more ? VL_MORE : 0) | (oneway ? VL_ONEWAY : 0);
	return 0;
fail:
	json_decref(root);
	memset(call, 0, sizeof(*call));
	return r;
}

void vl_call_done(struct vl_call *call)
{
	json_decref(call->root);
	memset(call, 0, sizeof(*call));
}

int vl_reply_parse(const char *msg, size_t len, struct vl_reply *reply, struct ember_error *e)
{
	json_t *v;
	int r;

	memset(reply, 0, sizeof(*reply));
	json_t *root = parse_object(msg, len, "reply", e);
	if (!root)
		return -e->code;
	v = json_object_get(root, "error");
	if (v && !json_is_null(v)) {
		size_t n;
		if (!json_is_string(v) || !vl_qualified_name_split(json_string_value(v), &n)) {
			r = err_set(e, EINVAL, "malformed reply: \"error\" must be an error name");
			goto fail;
		}
		reply->error = json_string_value(v);
	}
	if ((r = get_bool(root, "continues", &reply->continues, "reply", e)) < 0 ||
	    (r = get_parameters(root, &reply->parameters, "reply", e)) < 0)
		goto fail;
	if (reply->error && reply->continues) {
		r = err_set(e, EINVAL, "malformed reply: an error cannot continue");
		goto fail;
	}
	reply->root = root;
	return 0;
fail:
	json_decref(root);
	memset(reply, 0, sizeof(*reply));
	return r;
}

void vl_reply_done(struct vl_reply *reply)
{
	json_decref(reply->root);
	memset(reply, 0, sizeof(*reply));
}

static char *encode(json_t *root, size_t *len)
{
	char *s = json_dumps(root, JSON_COMPACT);

	if (!s)
		return NULL;
	*len = strlen(s) + 1; /* the NUL is the frame delimiter */
	return s;
}

char *vl_call_encode(const char *method, json_t *params, unsigned flags, size_t *len)
{
	json_t *root = json_pack("{s:s}", "method", method);
	char *s;

	if (!root)
		return NULL;
	if (params)
		json_object_set(root, "parameters", params);
	if (flags & VL_MORE)
		json_object_set_new(root, "more", json_true());
	if (flags & VL_ONEWAY)
		json_object_set_new(root, "oneway", json_true());
	s = encode(root, len);
	json_decref(root);
	return s;
}

char *vl_reply_encode(json_t *params, const char *error, int continues, size_t *len)
{
	json_t *root = json_object();
	char *s;

	if (!root)
		return NULL;
	json_object_set_new(root, "parameters", params ? json_incref(params) : json_object());
	if (error)
		json_object_set_new(root, "error", json_string(error));
	if (continues)
		json_object_set_new(root, "continues", json_true());
	s = encode(root, len);
	json_decref(root);
	return s;
}
