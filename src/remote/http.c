/* SPDX-License-Identifier: Apache-2.0 */
#include "remote/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ember-version.h"
#include "remote/tls.h"
#include "util/cleanup.h"
#include "util/err.h"

struct http {
	struct loop *loop;
	CURLM *multi;
	struct loop_source *timer;
	struct http_request *requests;
	int checking; /* inside check_done: frees are deferred to it */
	int verbose;  /* $EMBER_HTTP_TRACE: libcurl's trace on stderr */
	int bearssl;  /* curl's TLS is BearSSL: client certificates and IP checks are ours */
	struct tls_identity *identities; /* client certificates, for as long as connections live */
};

struct http_request {
	struct http *h;
	CURL *easy;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	struct http_response resp;
	struct http_options o;
	void *body;
	int headers_delivered;
	int failed;
	struct ember_error fail;
	int64_t received;
	int64_t upload_pos;
	const struct tls_identity *identity;
	struct tls_ipcheck *ipcheck;
	struct http_request *next;
};

/* ---- responses ------------------------------------------------------------- */

static void response_reset(struct http_response *r)
{
	free(r->content_type);
	free(r->docker_digest);
	free(r->www_authenticate);
	free(r->location);
	free(r->range);
	free(r->url);
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	r->retry_after = -1;
}

static char *dup_trimmed(const char *p, size_t n)
{
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	return strndup(p, n);
}

static void set_field(char **field, const char *v, size_t n, int append)
{
	char *value = dup_trimmed(v, n);

	if (!value)
		return;
	if (append && *field) {
		/* Several WWW-Authenticate headers: one comma-separated list. */
		char *both;
		if (asprintf(&both, "%s, %s", *field, value) >= 0) {
			free(*field);
			*field = both;
		}
		free(value);
		return;
	}
	free(*field);
	*field = value;
}

static size_t on_header(char *line, size_t size, size_t n, void *userdata)
{
	struct http_request *r = userdata;
	size_t len = size * n;
	struct http_response *resp = &r->resp;

	if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
		/* A new response (after a redirect, or 100 Continue). */
		response_reset(resp);
		const char *sp = memchr(line, ' ', len);
		if (sp)
			resp->status = strtol(sp + 1, NULL, 10);
		return len;
	}
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return len;
	size_t nlen = (size_t)(colon - line);
	const char *v = colon + 1;
	size_t vlen = len - nlen - 1;
#define IS(name) (nlen == sizeof(name) - 1 && !strncasecmp(line, name, nlen))
	if (IS("Content-Type")) {
		set_field(&resp->content_type, v, vlen, 0);
	} else if (IS("Docker-Content-Digest")) {
		set_field(&resp->docker_digest, v, vlen, 0);
	} else if (IS("WWW-Authenticate")) {
		set_field(&resp->www_authenticate, v, vlen, 1);
	} else if (IS("Location")) {
		set_field(&resp->location, v, vlen, 0);
	} else if (IS("Content-Range")) {
		set_field(&resp->range, v, vlen, 0);
	} else if (IS("Content-Length")) {
		char *s = dup_trimmed(v, vlen);
		if (s) {
			char *end;
			long long cl = strtoll(s, &end, 10);
			if (end != s && !*end && cl >= 0)
				resp->content_length = cl;
			free(s);
		}
	} else if (IS("Retry-After")) {
		char *s = dup_trimmed(v, vlen);
		if (s) {
			char *end;
			long ra = strtol(s, &end, 10);
			/* Only the delta-seconds form; an HTTP date counts as absent. */
			if (end != s && !*end && ra >= 0)
				resp->retry_after = ra;
			free(s);
		}
	}
#undef IS
	return len;
}

static int deliver_headers(struct http_request *r)
{
	if (r->headers_delivered)
		return 0;
	r->headers_delivered = 1;
	char *url = NULL;
	if (curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url) {
		free(r->resp.url);
		r->resp.url = strdup(url);
	}
	return r->o.on_headers ? r->o.on_headers(r, &r->resp, r->o.userdata) : 0;
}

static size_t on_write(char *data, size_t size, size_t n, void *userdata)
{
	struct http_request *r = userdata;
	size_t len = size * n;

	if (deliver_headers(r) < 0)
		return 0;
	r->received += (int64_t)len;
	if (r->o.on_data && r->o.on_data(r, data, len, r->o.userdata) < 0)
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *userdata)
{
	struct http_request *r = userdata;
	size_t want = size * n;
	int64_t left = r->o.body_size - r->upload_pos;

	if (left <= 0)
		return 0;
	if ((int64_t)want > left)
		want = (size_t)left;
	ssize_t got = pread(r->o.body_fd, buf, want, r->o.body_offset + r->upload_pos);
	if (got < 0)
		return CURL_READFUNC_ABORT;
	r->upload_pos += got;
	return (size_t)got;
}

void http_request_fail(struct http_request *r, const struct ember_error *err)
{
	if (r->failed)
		return;
	r->failed = 1;
	r->fail = *err;
}

int64_t http_request_received(const struct http_request *r)
{
	return r->received;
}

/* ---- the loop glue --------------------------------------------------------- */

static void check_done(struct http *h);

static void on_socket_event(struct loop_source *s, int fd, uint32_t events, void *userdata)
{
	struct http *h = userdata;
	int mask = 0, running;

	(void)s;
	if (events & EPOLLIN)
		mask |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(h->multi, fd, mask, &running);
	check_done(h);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	struct loop_source *src = socketp;
	uint32_t events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		loop_source_free(src);
		curl_multi_assign(h->multi, fd, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (src)
		return loop_io_set_events(src, events) < 0 ? -1 : 0;
	struct ember_error e;
	src = loop_add_io(h->loop, fd, events, on_socket_event, h, "http", &e);
	if (!src)
		return -1;
	curl_multi_assign(h->multi, fd, src);
	return 0;
}

static void on_timer(struct loop_source *s, void *userdata)
{
	struct http *h = userdata;
	int running;

	if (h->timer == s)
		h->timer = NULL;
	loop_source_free(s);
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;
	struct ember_error e;

	(void)multi;
	h->timer = loop_source_free(h->timer);
	if (timeout_ms < 0)
		return 0;
	/* 0 means "as soon as possible": a 1 ms timer keeps us out of curl's
	   own call stack. */
	h->timer = loop_add_timer(h->loop, timeout_ms ? (uint64_t)timeout_ms : 1, 0, on_timer, h,
				  "http timer", &e);
	return h->timer ? 0 : -1;
}

/* ---- requests -------------------------------------------------------------- */

static void request_free(struct http_request *r)
{
	struct http_request **p;

	for (p = &r->h->requests; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	curl_multi_remove_handle(r->h->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	response_reset(&r->resp);
	tls_ipcheck_free(r->ipcheck);
	free(r->body);
	free(r);
}

static int map_curl_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return ETIMEDOUT;
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		return ECONNRESET;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
		return EPROTO;
	case CURLE_TOO_MANY_REDIRECTS:
		return ELOOP;
	case CURLE_OUT_OF_MEMORY:
		return ENOMEM;
	default:
		return EIO;
	}
}

static void check_done(struct http *h)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct http_request *r = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (!r)
			continue;
		CURLcode rc = msg->data.result;
		struct ember_error err = { 0 };
		int result = 0;

		if (r->failed) {
			err = r->fail;
			result = -err.code;
		} else if (rc != CURLE_OK) {
			const char *what = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
			size_t n = strlen(what);
			while (n && (what[n - 1] == '\n' || what[n - 1] == ' '))
				n--;
			if (rc == CURLE_OPERATION_TIMEDOUT && r->received > 0)
				result = err_set(&err, ETIMEDOUT, "transfer stalled: %.*s", (int)n, what);
			else
				result = err_set(&err, map_curl_error(rc), "%.*s", (int)n, what);
		} else if (!r->headers_delivered && deliver_headers(r) < 0) {
			/* A response without a body that the caller refused. */
			err = r->failed ? r->fail : (struct ember_error){ .code = EIO, .message = "refused" };
			result = -err.code;
		}
		curl_multi_remove_handle(h->multi, r->easy);
		if (r->o.on_done)
			r->o.on_done(r, result, &r->resp, result < 0 ? &err : NULL, r->o.userdata);
		request_free(r);
	}
}

struct http *http_new(struct loop *loop, struct ember_error *e)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(h);
		err_set(e, EIO, "libcurl initialisation failed");
		return NULL;
	}
	h->loop = loop;
	h->verbose = getenv("EMBER_HTTP_TRACE") != NULL;
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	h->bearssl = vi && vi->ssl_version && !strncmp(vi->ssl_version, "BearSSL", 7);
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		curl_global_cleanup();
		err_set(e, ENOMEM, "libcurl: out of memory");
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/* Registries are few; keep a handful of connections for reuse. */
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 8L);
	return h;
}

struct http *http_free(struct http *h)
{
	if (!h)
		return NULL;
	while (h->requests)
		request_free(h->requests);
	loop_source_free(h->timer);
	curl_multi_cleanup(h->multi);
	tls_identities_free(&h->identities);
	curl_global_cleanup();
	free(h);
	return NULL;
}

void http_cancel(struct http_request *r)
{
	if (r)
		request_free(r);
}

static CURLcode ssl_ctx_cb(CURL *easy, void *sslctx, void *userdata)
{
	struct http_request *r = userdata;

	(void)easy;
	return tls_setup(sslctx, r->identity, r->ipcheck) < 0 ? CURLE_SSL_CERTPROBLEM : CURLE_OK;
}

/* The host of an http(s) URL, without port (brackets kept for IPv6). */
static void url_host(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n = strcspn(p, "/?#");
	const char *at = memchr(p, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (*p == '[') {
		const char *close = memchr(p, ']', n);
		n = close ? (size_t)(close - p + 1) : n;
	} else {
		const char *colon = memchr(p, ':', n);
		if (colon)
			n = (size_t)(colon - p);
	}
	snprintf(out, len, "%.*s", (int)n, p);
}

/* curl's BearSSL backend has no client certificates and cannot verify a
   host given as an IP address: the SSL context hook adds both. */
static int bearssl_extras(struct http_request *r, const struct http_options *o, struct ember_error *e)
{
	char host[300];
	unsigned char ip[16];
	size_t iplen;

	if (o->tls && o->tls->cert_file) {
		r->identity = tls_identity_get(&r->h->identities, o->tls->cert_file, o->tls->key_file, e);
		if (!r->identity)
			return -e->code;
	}
	url_host(o->url, host, sizeof(host));
	if (!(o->tls && o->tls->skip_verify) && tls_ip_parse(host, ip, &iplen)) {
		r->ipcheck = tls_ipcheck_new(ip, iplen);
		if (!r->ipcheck)
			return err_set(e, ENOMEM, "out of memory");
		/* The chain is still verified; the name check is ipcheck's. */
		if (curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK)
			return err_set(e, EINVAL, "libcurl refuses CURLOPT_SSL_VERIFYHOST");
	}
	if (!r->identity && !r->ipcheck)
		return 0;
	if (curl_easy_setopt(r->easy, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb) != CURLE_OK ||
	    curl_easy_setopt(r->easy, CURLOPT_SSL_CTX_DATA, r) != CURLE_OK)
		return err_set(e, ENOTSUP, "libcurl has no SSL context hook: client certificates and IP hosts need it");
	return 0;
}

#define SETOPT(opt, val)                                                           \
	do {                                                                       \
		if (curl_easy_setopt(r->easy, opt, val) != CURLE_OK) {             \
			err_set(e, EINVAL, "libcurl does not support option " #opt); \
			goto fail;                                                 \
		}                                                                  \
	} while (0)

struct http_request *http_start(struct http *h, const struct http_options *o, struct ember_error *e)
{
	struct http_request *r = calloc(1, sizeof(*r));

	if (!r) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	r->h = h;
	r->o = *o;
	response_reset(&r->resp);
	r->easy = curl_easy_init();
	if (!r->easy) {
		free(r);
		err_set(e, ENOMEM, "libcurl: out of memory");
		return NULL;
	}
	SETOPT(CURLOPT_URL, o->url);
	SETOPT(CURLOPT_PRIVATE, (char *)r);
	SETOPT(CURLOPT_ERRORBUFFER, r->errbuf);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	if (h->verbose)
		SETOPT(CURLOPT_VERBOSE, 1L);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(CURLOPT_HEADERDATA, r);
	SETOPT(CURLOPT_WRITEFUNCTION, on_write);
	SETOPT(CURLOPT_WRITEDATA, r);
	SETOPT(CURLOPT_USERAGENT, "ember/" EMBER_VERSION);
	SETOPT(CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s ? o->connect_timeout_s : 30L);
	SETOPT(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SETOPT(CURLOPT_LOW_SPEED_TIME, o->stall_timeout_s ? o->stall_timeout_s : 60L);
	if (o->follow_redirects) {
		SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
		SETOPT(CURLOPT_MAXREDIRS, 10L);
	}
	if (o->range_from >= 0) {
		char range[32];
		snprintf(range, sizeof(range), "%lld-", (long long)o->range_from);
		SETOPT(CURLOPT_RANGE, range);
	}
	if (o->user) {
		SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SETOPT(CURLOPT_USERNAME, o->user);
		SETOPT(CURLOPT_PASSWORD, o->password ? o->password : "");
	}
	if (o->tls) {
		if (o->tls->ca_file)
			SETOPT(CURLOPT_CAINFO, o->tls->ca_file);
		if (o->tls->cert_file && !h->bearssl)
			SETOPT(CURLOPT_SSLCERT, o->tls->cert_file);
		if (o->tls->key_file && !h->bearssl)
			SETOPT(CURLOPT_SSLKEY, o->tls->key_file);
		if (o->tls->skip_verify) {
			SETOPT(CURLOPT_SSL_VERIFYPEER, 0L);
			SETOPT(CURLOPT_SSL_VERIFYHOST, 0L);
		}
	}
	if (h->bearssl && !strncmp(o->url, "https://", 8) && bearssl_extras(r, o, e) < 0)
		goto fail;
	for (const char *const *hd = o->headers; hd && *hd; hd++) {
		struct curl_slist *l = curl_slist_append(r->headers, *hd);
		if (!l) {
			err_set(e, ENOMEM, "out of memory");
			goto fail;
		}
		r->headers = l;
	}
	const char *method = o->method ? o->method : "GET";
	if (!strcmp(method, "HEAD")) {
		SETOPT(CURLOPT_NOBODY, 1L);
	} else if (o->body_fd >= 0 && o->body_size >= 0 && strcmp(method, "GET")) {
		SETOPT(CURLOPT_UPLOAD, 1L);
		SETOPT(CURLOPT_READFUNCTION, on_read);
		SETOPT(CURLOPT_READDATA, r);
		SETOPT(CURLOPT_INFILESIZE_LARGE, (curl_off_t)o->body_size);
		SETOPT(CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET")) {
		r->body = malloc(o->body_len ? o->body_len : 1);
		if (!r->body) {
			err_set(e, ENOMEM, "out of memory");
			goto fail;
		}
		if (o->body_len)
			memcpy(r->body, o->body, o->body_len);
		SETOPT(CURLOPT_POSTFIELDS, r->body);
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
		SETOPT(CURLOPT_CUSTOMREQUEST, method);
		/* No "Expect: 100-continue" round trip. */
		struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
		if (l)
			r->headers = l;
	}
	if (r->headers)
		SETOPT(CURLOPT_HTTPHEADER, r->headers);
	r->next = h->requests;
	h->requests = r;
	if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
		h->requests = r->next;
		err_set(e, ENOMEM, "libcurl: cannot start request");
		goto fail;
	}
	return r;
fail:
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	response_reset(&r->resp);
	tls_ipcheck_free(r->ipcheck);
	free(r->body);
	free(r);
	return NULL;
}
