/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_REMOTE_HTTP_H
#define EMBER_REMOTE_HTTP_H

/*
 * HTTP(S) requests driven by the daemon's event loop: libcurl's multi
 * interface with its sockets and timeouts registered in the loop, so any
 * number of transfers run in the one thread without blocking it. Bodies
 * are streamed to a callback (never buffered here).
 */

#include <stddef.h>
#include <stdint.h>

#include <ember/error.h>

#include "util/loop.h"

struct http;
struct http_request;

struct http *http_new(struct loop *loop, struct ember_error *e);
/* Cancels every request still running (without their done callbacks). */
struct http *http_free(struct http *h);

struct http_tls {
	const char *ca_file;   /* NULL: the system bundle */
	const char *cert_file; /* client certificate, or NULL */
	const char *key_file;  /* its key (NULL: in cert_file) */
	int skip_verify;
};

struct http_response {
	long status;           /* of the last response (after redirects) */
	int64_t content_length; /* -1 when not given */
	char *content_type;
	char *docker_digest;   /* Docker-Content-Digest */
	char *www_authenticate;
	char *location;
	char *range;           /* Content-Range */
	long retry_after;      /* seconds, -1 when absent */
	char *url;             /* effective URL */
};

typedef int (*http_headers_fn)(struct http_request *r, const struct http_response *resp, void *userdata);
typedef int (*http_data_fn)(struct http_request *r, const char *data, size_t len, void *userdata);
/* result 0: a response arrived (look at resp->status); < 0: transport
   failure described by err. Called once; the request is freed after it. */
typedef void (*http_done_fn)(struct http_request *r, int result, const struct http_response *resp,
			     const struct ember_error *err, void *userdata);

struct http_options {
	const char *method;          /* NULL: GET */
	const char *url;
	const char *const *headers;  /* "Name: value", NULL-terminated, or NULL */
	int64_t range_from;          /* >= 0: ask for bytes range_from- */
	const struct http_tls *tls;
	const char *user;            /* HTTP basic credentials, or NULL */
	const char *password;
	const void *body;            /* request body (copied), or NULL */
	size_t body_len;
	int body_fd;                 /* or stream the body from this fd (when >= 0) */
	int64_t body_offset, body_size;
	int follow_redirects;
	long connect_timeout_s;      /* 0: 30 */
	long stall_timeout_s;        /* abort when no byte arrives this long; 0: 60 */
	/* Called when the final response's headers are complete, before its
	   first body byte; a negative return aborts the request. */
	http_headers_fn on_headers;
	/* Body bytes of the final response; a negative return aborts (set
	   the reason with http_request_fail first). */
	http_data_fn on_data;
	http_done_fn on_done;
	void *userdata;
};

struct http_request *http_start(struct http *h, const struct http_options *o, struct ember_error *e);
/* Stop a request; its done callback is not called. NULL is fine. */
void http_cancel(struct http_request *r);
/* Record why a callback aborted; the done callback receives this error. */
void http_request_fail(struct http_request *r, const struct ember_error *err);
/* Bytes of body received for the final response so far. */
int64_t http_request_received(const struct http_request *r);

#endif
