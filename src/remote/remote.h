/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_REMOTE_H
#define EMBER_REMOTE_H

/*
 * The registry client (DESIGN.md §7): references, hosts.toml, auth, and
 * pulls that stream blobs into the content store, resuming with HTTP Range
 * after any interruption. Everything runs in the daemon's event loop.
 */

#include <stdint.h>
#include <jansson.h>

#include <ember/error.h>

#include "content/content.h"
#include "util/loop.h"
#include "metadata/metadata.h"
#include "remote/http.h"
#include "remote/parse.h"

/* ---- registry access ------------------------------------------------------- */

struct registry_config {
	const char *certs_dir;     /* e.g. /etc/ember/certs.d; NULL: none */
	const char *docker_config; /* a docker config.json with credentials, or NULL */
	const char *auths;         /* the daemon config's credentials, config.json-shaped text, or NULL */
	const char *user;          /* explicit credentials win over the file */
	const char *secret;
	int plain_http;
	long stall_timeout_s;
};

struct registry;
struct registry_call;

int registry_open(struct http *http, const char *reference, const struct registry_config *cfg,
		  struct registry **out, struct ember_error *e);
void registry_close(struct registry *reg);
/* The hosts a call tried before the one it ended on, and why each was
   skipped ("mirror:5000: HTTP 404; ..."), or "". A transport failure of
   the last host already says so in its error. */
const char *registry_call_tried(const struct registry_call *c);
const struct reference *registry_reference(const struct registry *reg);

typedef int (*registry_headers_fn)(struct registry_call *c, const struct http_response *resp, void *userdata);
typedef int (*registry_data_fn)(struct registry_call *c, const char *data, size_t len, void *userdata);
typedef void (*registry_done_fn)(struct registry_call *c, int result, const struct http_response *resp,
				 const struct ember_error *err, void *userdata);

struct registry_call_options {
	unsigned cap;              /* HOST_CAP_PULL (default), _RESOLVE or _PUSH */
	const char *method;
	const char *const *headers; /* copied: they may be in the caller's stack frame */
	int64_t range_from;        /* -1: none */
	const void *body;
	size_t body_len;
	int body_fd;               /* -1: none */
	int64_t body_offset, body_size;
	int no_fallback;           /* do not move on to the next host */
	registry_headers_fn on_headers;
	registry_data_fn on_data;
	registry_done_fn on_done;
	void *userdata;
};

/* Send METHOD <host>/v2/<repository><path> with auth; *out (may be NULL)
   is cleared when the call ends. A path that is a URL, or starts with
   "/v2/" (an upload Location), is used as it is. */
int registry_call(struct registry *reg, const char *path, const struct registry_call_options *o,
		  struct registry_call **out, struct ember_error *e);
void registry_call_cancel(struct registry_call *c);
void registry_call_fail(struct registry_call *c, const struct ember_error *err);
const char *registry_call_host(const struct registry_call *c);

/* ---- pull ------------------------------------------------------------------ */

/*
 * Work that may block (a blob's fsyncs: every CONTENT_SYNC_BYTES and at
 * its commit, as long as the disk takes) run off the loop: run(ctx, kind,
 * ns, what, work, done, arg) calls work(arg) in another thread, then
 * done(arg, result, err) in the loop; it returns -errno (e filled) when it
 * cannot, and then nothing is called. kind, ns and what describe the work
 * ("commit", "default", a digest). The daemon gives its jobs; NULL runs
 * the work in the loop, at once.
 */
struct remote_offload {
	int (*run)(void *ctx, const char *kind, const char *ns, const char *what,
		   int (*work)(void *arg, struct ember_error *e),
		   void (*done)(void *arg, int result, const struct ember_error *err), void *arg, struct ember_error *e);
	void *ctx;
};

struct remote {
	struct loop *loop;
	struct http *http;   /* made on first use: an idle daemon carries no libcurl state */
	struct content_store *cs;
	struct meta *meta;
	struct remote_offload offload;
};

struct pull;
struct manifest;
struct image_config;
struct sig_keyset;
struct sig_private_key;

/*
 * Unpacking while the layers download (the daemon's unpacker implements
 * these). plan: the manifest chosen for this host (of an index: the one a
 * single-platform pull takes) and its config, at the start of the layers
 * phase; set skip[i] for layers whose blobs need not be fetched. blob: a
 * layer blob is in the store. wait: every blob is stored; return 1 when
 * unpacking goes on (the hooks then call pull_unpacked() once), 0 when the
 * image record may be written now. Not called with content_only, nor when
 * the image has no manifest for this host (all_platforms).
 */
struct pull_unpack_hooks {
	int (*plan)(struct pull *p, const struct manifest *m, const struct image_config *c, int *skip,
		    void *userdata, struct ember_error *e);
	void (*blob)(struct pull *p, const char *digest, void *userdata);
	int (*wait)(struct pull *p, void *userdata);
};

struct pull_options {
	const char *reference;
	const char *ns;
	const char *platform;      /* NULL: the host's */
	int all_platforms;
	int content_only;          /* fetch the blobs, write no image record */
	struct registry_config registry;
	unsigned concurrency;      /* blobs at once; 0: CONFIG_PULL_CONCURRENCY */
	unsigned max_attempts;     /* per blob; 0: 6 */
	uint64_t retry_base_ms;    /* first back-off; 0: 500 */
	json_t *labels;            /* for the image record, borrowed */
	/* Progress reports (owned by the callee), at most every 200 ms and at
	   every change of a blob's state. */
	void (*on_progress)(struct pull *p, json_t *progress, void *userdata);
	/* The end: image record (owned by the callee) or an error. */
	void (*on_done)(struct pull *p, json_t *image, const struct ember_error *err, void *userdata);
	/* Before a blob is looked for in the store or stored: the caller
	   holds it, so that garbage collection keeps it (daemon/holds.h).
	   Non-zero fails the pull (out of memory). May be NULL. */
	int (*hold)(struct pull *p, const char *digest, void *userdata);
	void *userdata;
	const struct pull_unpack_hooks *unpack; /* NULL: fetch only */
	void *unpack_userdata;
	/* Signed images (CONFIG_SIGNATURES): NULL, none; else a signature of
	   the target (cosign's tag) must verify with one of these keys before
	   anything of the image is stored; the record then says which
	   ("verified"). Borrowed for the pull's life. */
	const struct sig_keyset *verify;
};

int pull_start(struct remote *rm, const struct pull_options *o, struct pull **out, struct ember_error *e);
/* The unpacking the hooks' wait() announced ended (err NULL: write the
   image record now). */
void pull_unpacked(struct pull *p, const struct ember_error *err);
/* Show note (a static string: "unpacking", "unpacked") as the blob's status
   in progress reports from now on. */
void pull_blob_note(struct pull *p, const char *digest, const char *note);
/* Stop; the done callback is not called. Partial blobs stay for a resume. */
void pull_cancel(struct pull *p);
/* Every blob the pull has stored or will store. */
void pull_foreach_digest(const struct pull *p, void (*fn)(const char *digest, void *userdata), void *userdata);

/* ---- push ------------------------------------------------------------------ */

struct push;

struct push_options {
	const char *reference;     /* where to: a registry reference */
	const char *source;        /* the local image (canonical name); NULL: reference */
	const char *ns;
	const char *platform;      /* push only this platform's manifest of an index */
	struct registry_config registry;
	uint64_t chunk_size;       /* 0: each blob in one PUT; else PATCH chunks of this size */
	/* CONFIG_SIGNATURES: sign what goes under the tag (cosign's format:
	   one more layer at the tag sha256-<hex>.sig), with this key; NULL:
	   no signature.
	   Borrowed until push_start() returns. */
	const struct sig_private_key *sign_key;
	void (*on_progress)(struct push *p, json_t *progress, void *userdata);
	void (*on_done)(struct push *p, const struct ember_error *err, void *userdata);
	void *userdata;
};

int push_start(struct remote *rm, const struct push_options *o, struct push **out, struct ember_error *e);
void push_cancel(struct push *p);

#endif
