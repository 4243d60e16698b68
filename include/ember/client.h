/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_CLIENT_H
#define EMBER_CLIENT_H

/*
 * libember: talk to the ember daemon from a C program (an OTA agent, a
 * supervisor, a test tool). Link with `pkg-config --libs --static ember`
 * (libember.a and jansson).
 *
 * The daemon speaks varlink over a unix socket: a call names a method such
 * as "io.ember.Namespaces.List" and carries parameters as a JSON object; a
 * reply carries parameters, or an error name such as "io.ember.NotFound".
 * The interfaces are described by the daemon itself
 * (org.varlink.service.GetInterfaceDescription) and in src/api/idl/.
 *
 * Parameters cross this API as JSON text, so any JSON library (or none)
 * works on the caller's side.
 *
 * Threads: an ember_client is not thread-safe; use one per thread, or lock.
 * Event loops: ember_client_get_fd() + ember_call_async() +
 * ember_client_process() let a program wait for replies in its own loop.
 *
 * Errors: every function returns 0 (or a count) on success and a negative
 * errno on failure, and then fills *err. For an error reply from the
 * daemon, err->name holds the varlink error name and err->message the
 * daemon's message. err may be NULL when the caller does not want details.
 */

#include <ember/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ember_client ember_client;

/*
 * Connect to the daemon's socket. address: a socket path, or NULL for
 * $EMBER_ADDRESS, else the compiled-in default (/run/ember/ember.sock).
 * The connection is non-blocking and close-on-exec.
 */
int ember_client_connect(ember_client **client, const char *address, struct ember_error *err);

/* Close the connection and free everything. Accepts NULL; returns NULL. */
ember_client *ember_client_free(ember_client *client);

/* For __attribute__((cleanup(ember_client_freep))). */
void ember_client_freep(ember_client **client);

/* The socket, to poll for POLLIN in a program's own event loop. */
int ember_client_get_fd(const ember_client *client);

/*
 * Timeout for the blocking calls below, in milliseconds (default 0: wait
 * forever). A call that times out fails with -ETIMEDOUT; the connection is
 * then unusable (its reply may still arrive) and should be freed.
 */
void ember_client_set_timeout(ember_client *client, int timeout_ms);

/*
 * One call, one reply. parameters: a JSON object as text, or NULL for {}.
 * On success *reply (if not NULL) receives the reply's parameters as a
 * malloc'd JSON text that the caller frees.
 */
int ember_call(ember_client *client, const char *method, const char *parameters, char **reply,
	       struct ember_error *err);

#define EMBER_REPLY_CONTINUES 1u /* more replies follow for this call */

/*
 * Called once per reply. parameters is the reply's JSON text (valid during
 * the call only); error is NULL, or the error the call ended with. Return
 * 0 to go on, or a negative errno to stop waiting: the call is then
 * abandoned (later replies to it are dropped) and the blocking function
 * returns that value.
 */
typedef int (*ember_reply_fn)(ember_client *client, const char *parameters, unsigned flags,
			      const struct ember_error *error, void *userdata);

/*
 * A streaming call ("more"): fn sees every reply, until one arrives
 * without EMBER_REPLY_CONTINUES. Returns 0, or the error the call ended
 * with (also passed to fn), or what fn returned.
 */
int ember_call_more(ember_client *client, const char *method, const char *parameters,
		    ember_reply_fn fn, void *userdata, struct ember_error *err);

#define EMBER_CALL_MORE 1u   /* ask for a stream of replies */
#define EMBER_CALL_ONEWAY 2u /* no reply is wanted; fn must be NULL */

/*
 * Send a call without waiting. Replies are delivered to fn from
 * ember_client_process(). Calls on one connection are answered in order.
 */
int ember_call_async(ember_client *client, const char *method, const char *parameters,
		     unsigned flags, ember_reply_fn fn, void *userdata, struct ember_error *err);

/*
 * Read whatever the daemon has sent (never blocks) and run the callbacks.
 * Returns how many replies were delivered, or -ECONNRESET when the daemon
 * closed the connection (pending calls then get that error through fn).
 */
int ember_client_process(ember_client *client, struct ember_error *err);

/*
 * Send these file descriptors (SCM_RIGHTS) with the next call made on this
 * connection, e.g. the file an export writes into. The daemon gets
 * duplicates; the caller still owns and closes its own. At most
 * EMBER_MAX_FDS; returns 0 or -E2BIG.
 */
#define EMBER_MAX_FDS 4
int ember_client_attach_fds(ember_client *client, const int *fds, unsigned n);

/*
 * A file descriptor the daemon sent with a reply (a terminal's master, a
 * log file), oldest first: the caller owns it. -1 when none is waiting.
 * Take it after the reply that carried it was delivered.
 */
int ember_client_take_fd(ember_client *client);

/* Calls sent and still waiting for their last reply. */
int ember_client_pending(const ember_client *client);

#ifdef __cplusplus
}
#endif

#endif
