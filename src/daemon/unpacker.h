/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_UNPACKER_H
#define EMBER_DAEMON_UNPACKER_H

/*
 * The unpacker: an image's layers applied into a snapshotter, each as soon
 * as its blob is in the store (a pull still downloading the others, an
 * import still reading its archive). It is a job (daemon/jobs.h) whose
 * thread coordinates: up to CONFIG_UNPACK_JOBS layers are extracted at
 * once, each in a thread of its own and a tree of its own (overlay layers
 * are independent until stacked; a native layer starts from a copy of its
 * parent, so those go one after the other); each checks its diff ID and
 * syncs its tree; the coordinator then commits the snapshots in layer
 * order, keyed by chain ID with the previous one as parent. Nothing is
 * committed for a layer whose extraction or check failed.
 *
 * Every snapshot of the image's chain is held (daemon/holds.h) in the
 * owner's hold from the start, so GC leaves them until the owner has
 * written the image record and releases its hold; the owner holds the
 * blobs too. With drop_blobs, a layer's blob is removed once its snapshot
 * is committed, unless a holder other than the owner, a record, or a
 * later layer of this image still needs it.
 */

#include <ember/error.h>

#include "daemon/holds.h"
#include "image/image.h"
#include "util/err.h"

struct daemon;
struct hold;
struct snapshotter;
struct unpacker;

struct unpacker_options {
	struct snapshotter *sn;
	const char *ns;
	const struct image_layers *l; /* copied */
	int drop_blobs;
	struct hold *owner; /* the owner's hold: it gets the snapshots too */
	/* In the loop (the job's messages), each may be NULL: a layer starts
	   ("unpacking") or is committed ("unpacked"; static strings); the
	   end, once (err NULL:
	   every layer is committed). Not called once unpacker_detach() ran. */
	void (*layer)(struct unpacker *u, const char *digest, const char *state, void *userdata);
	void (*done)(struct unpacker *u, const struct ember_error *err, void *userdata);
	/* In the unpacker's thread, for an owner that is a thread itself
	   (an import): the same reports, before unpacker_wait() returns. */
	void (*thread_layer)(struct unpacker *u, const char *digest, const char *state, void *userdata);
	void *userdata;
};

/*
 * Start (any thread). Layers whose snapshot is committed already are not
 * unpacked again; skip (may be NULL, else o->l->n entries) says which
 * blobs are not needed then (every layer with that digest is unpacked,
 * and drop_blobs is on). The returned reference is the caller's, for
 * unpacker_blob(), _busy(), _wait(), _cancel(); unpacker_unref() gives it up.
 */
#ifdef CONFIG_IMAGE_UNPACK
int unpacker_start(struct daemon *d, const struct unpacker_options *o, int *skip, struct unpacker **out,
		   struct ember_error *e);
/* A layer blob is in the store (any thread). */
void unpacker_blob(struct unpacker *u, const char *digest);
/* Loop only. 1: still working, or its end (done()) not delivered yet;
   0: done() ran. */
int unpacker_busy(struct unpacker *u);
/* From a thread that is not the loop: until finished. 0, or the error. */
int unpacker_wait(struct unpacker *u, struct ember_error *e);
/* Stop early (any thread): trees being written are thrown away. */
void unpacker_cancel(struct unpacker *u);
/* No more loop callbacks (the owner is going away). Loop only. */
void unpacker_detach(struct unpacker *u);
void unpacker_unref(struct unpacker *u);
#else
/* Without the unpacker no one starts one: these are never reached. */
static inline int unpacker_start(struct daemon *d, const struct unpacker_options *o, int *skip,
				 struct unpacker **out, struct ember_error *e)
{
	(void)d;
	(void)o;
	(void)skip;
	*out = NULL;
	return err_unsupported(e, "this ember was built without unpacking");
}
static inline void unpacker_blob(struct unpacker *u, const char *digest)
{
	(void)u;
	(void)digest;
}
static inline int unpacker_busy(struct unpacker *u)
{
	(void)u;
	return 0;
}
static inline int unpacker_wait(struct unpacker *u, struct ember_error *e)
{
	(void)u;
	(void)e;
	return 0;
}
static inline void unpacker_cancel(struct unpacker *u)
{
	(void)u;
}
static inline void unpacker_detach(struct unpacker *u)
{
	(void)u;
}
static inline void unpacker_unref(struct unpacker *u)
{
	(void)u;
}
#endif

#endif
