/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_SERVER_H
#define EMBER_DAEMON_SERVER_H

/*
 * The API edge: a varlink server on a unix socket. It frames messages,
 * checks the peer (root, the daemon's own uid, or the configured group),
 * enforces the limits, and dispatches calls to the handlers of
 * daemon/methods.c. A client's fault closes that client's connection and
 * nothing else.
 *
 * A handler ends every call with exactly one of api_reply() or api_error(),
 * possibly after api_notify()s (streaming, when the client asked "more").
 * Handlers that finish later (API_ASYNC) register a cancel callback: it
 * runs if the client goes away first, after which the call must not be
 * touched.
 */

#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include <ember/error.h>

#include "util/loop.h"
#include "util/err.h"
#include "util/log.h"

struct server;
struct api_call;

typedef void (*api_handler_fn)(struct api_call *call, json_t *params, void *ctx);

#define API_STREAM 1u /* replies continue; the client must ask "more" */
#define API_ASYNC 2u  /* may finish after the handler returns */

struct api_method {
	const char *name; /* "io.ember.System.Info" */
	api_handler_fn fn;
	unsigned flags;
};

/* The sorted method table (daemon/methods.c). */
extern const struct api_method api_methods[];
extern const size_t api_methods_count;

const struct api_method *api_method_find(const char *name);

struct server_limits {
	size_t max_message;   /* bytes of one request */
	size_t max_output;    /* bytes of unread replies per client */
	unsigned max_connections;
	unsigned read_timeout_ms; /* to finish a started message */
};

struct server *server_new(struct loop *loop, const struct logger *log,
			  const struct server_limits *limits, void *ctx, struct ember_error *e);
struct server *server_free(struct server *srv);

/* Bind and listen on path (0660, owned by root:group when has_group). */
int server_listen(struct server *srv, const char *path, gid_t group, int has_group,
		  struct ember_error *e);
/* Change the group that may connect (SIGHUP). */
int server_set_group(struct server *srv, gid_t group, int has_group, struct ember_error *e);
unsigned server_connections(const struct server *srv);

/* ---- calls ---------------------------------------------------------------- */

struct api_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

const char *api_call_method(const struct api_call *call);
/* A file descriptor the client sent with the call (SCM_RIGHTS), now the
   handler's to close; -1 when there is none at that index. */
#define API_MAX_FDS 4
int api_call_take_fd(struct api_call *call, unsigned index);
const struct api_peer *api_call_peer(const struct api_call *call);
int api_call_wants_more(const struct api_call *call);

/* Final reply; takes ownership of params (NULL means {}). */
int api_reply(struct api_call *call, json_t *params);
/* Final reply carrying file descriptors (SCM_RIGHTS; still the caller's
   to close): a terminal's master, log files. */
int api_reply_fds(struct api_call *call, json_t *params, const int *fds, unsigned nfds);
/* One of several replies ("continues"); takes ownership of params. Fails
   with -ECONNRESET when the client is gone or was disconnected for not
   reading (the call is then cancelled). */
int api_notify(struct api_call *call, json_t *params);
/* Final error reply with {"message": ...} plus the fields of extra (owned). */
int api_error(struct api_call *call, const char *name, json_t *extra, const char *fmt, ...)
	ERR_PRINTF(4, 5);
/* Final error reply from an ember_error (its name, or one from its errno). */
int api_error_from(struct api_call *call, const struct ember_error *e);

typedef void (*api_cancel_fn)(struct api_call *call, void *userdata);
void api_call_on_cancel(struct api_call *call, api_cancel_fn fn, void *userdata);

/* ---- parameters ------------------------------------------------------------ */

enum api_type {
	API_T_STRING,       /* const char * */
	API_T_BOOL,         /* int */
	API_T_INT,          /* int64_t */
	API_T_OBJECT,       /* json_t *, any object */
	API_T_STRING_MAP,   /* json_t *, object whose values are strings */
	API_T_STRING_ARRAY, /* json_t *, array of strings */
};

#define API_MANDATORY 1u

struct api_param {
	const char *name;
	enum api_type type;
	size_t offset; /* into the handler's struct */
	unsigned flags;
};

/*
 * Check params against a table (terminated by a NULL name) and store the
 * values (borrowed from params, valid for the call) into out. Unknown
 * names, wrong types and missing mandatory values are errors: the call is
 * then answered with org.varlink.service.InvalidParameter and -EINVAL is
 * returned; the handler just returns.
 */
int api_params_parse(struct api_call *call, json_t *params, const struct api_param *table,
		     void *out);

#endif
