/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_SNAPSHOTS_H
#define EMBER_DAEMON_SNAPSHOTS_H

/*
 * The daemon's snapshotters (svc-snapshots.c) and the unpacker
 * (unpacker.c): layers applied in worker threads while a pull downloads,
 * committed in order as snapshots keyed by chain ID.
 */

#include "daemon/daemon.h"
#include "image/image.h"
#include "snapshot/snapshot.h"

#ifdef CONFIG_SNAPSHOTS_STORE
/* Open every compiled-in snapshotter and recover it. */
int snapshots_start(struct daemon *d, struct ember_error *e);
void snapshots_stop(struct daemon *d);
/* By name; NULL or "": the configured default. */
struct snapshotter *snapshots_get(struct daemon *d, const char *name, struct ember_error *e);

/* An image's layers for one platform: descriptors, diff IDs, chain IDs. */
struct image_layers {
	size_t n;
	struct descriptor *layers;
	char (*diff_ids)[DIGEST_MAX];
	char (*chain)[DIGEST_MAX];
	char manifest[DIGEST_MAX];
	json_t *config; /* image_layers_load(): the config's "config" object, or NULL */
};
/* From a manifest and its config (both parsed). */
int image_layers_from(const struct manifest *m, const struct image_config *c, struct image_layers *out,
		      struct ember_error *e);
/* From a target in the store: an index is resolved for want (NULL: host). */
int image_layers_load(struct daemon *d, const struct descriptor *target, const struct platform *want,
		      struct image_layers *out, struct ember_error *e);
void image_layers_done(struct image_layers *l);
/* The chain ID of the top layer of image (a name in namespace ns, for
   platform or the host's), which must be unpacked in sn; *config (may be
   NULL) gets the image config's "config" object or NULL. */
int image_unpacked_top(struct daemon *d, struct snapshotter *sn, const char *ns, const char *image,
		       const char *platform, char top[DIGEST_MAX], json_t **config, struct ember_error *e);
#endif

#ifdef CONFIG_PULL_UNPACK
struct unpacker;

/* Unpack the image's layers into sn, namespace ns; the callbacks run in
   the loop. drop_blobs removes each layer's blob once its snapshot is
   committed. */
struct unpacker_callbacks {
	/* Once, after every layer is committed (err NULL) or at the first failure. */
	void (*done)(struct unpacker *u, const struct ember_error *err, void *userdata);
	/* A layer's unpack starts ("unpacking") or its snapshot is committed
	   ("unpacked"); may be NULL. */
	void (*layer)(struct unpacker *u, const char *digest, const char *state, void *userdata);
};
int unpacker_new(struct daemon *d, struct snapshotter *sn, const char *ns, const struct image_layers *l,
		 int drop_blobs, const struct unpacker_callbacks *cb, void *userdata, struct unpacker **out,
		 struct ember_error *e);
/* skip[i]: layer i's snapshot exists and its blob is not wanted. */
void unpacker_skip(const struct unpacker *u, int *skip);
/* A layer blob is in the store. */
void unpacker_blob(struct unpacker *u, const char *digest);
/* 1: still working (done() comes later); 0: finished already. */
int unpacker_busy(const struct unpacker *u);
/* Stop (done() is not called). Threads still running finish on their own
   and their trees are thrown away. */
void unpacker_free(struct unpacker *u);
/* Chain IDs of every unpacker at work (GC keeps those snapshots). */
void unpackers_foreach_key(const struct daemon *d, void (*fn)(const char *sn, const char *ns, const char *key,
							     void *userdata),
			   void *userdata);
/* Threads still at work (shutdown leaves their memory alone). */
unsigned unpackers_running(const struct daemon *d);
#endif

#endif
