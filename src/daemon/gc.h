/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_GC_H
#define EMBER_DAEMON_GC_H

/*
 * Garbage collection of the content store: mark from the roots (every
 * image record of every namespace, blobs labelled ember.io/gc.root or
 * containerd.io/gc.root), following indexes and manifests to their
 * manifests, configs and layers; then delete every unmarked blob. Deleting
 * a blob is one unlink, so an interrupted GC leaves a consistent store.
 */

#include <stdint.h>

#include "daemon/daemon.h"

struct gc_stats {
	uint64_t removed_blobs;
	uint64_t removed_bytes;
	uint64_t kept_blobs;
	uint64_t removed_snapshots;
};

/* Also roots: leases that have not expired (expired ones are deleted),
   and every blob a running pull has stored or will store. */
int gc_run(struct daemon *d, struct gc_stats *st, struct ember_error *e);
#ifdef CONFIG_SNAPSHOTS_STORE
/* Snapshots (gc-snapshots.c): committed snapshots that no image (its top
   layer's chain ID, for every manifest the store holds), lease
   ("snapshots/<name>" resources), gc.root label, unpack at work, or active
   or view snapshot above them reaches. Active snapshots and views are
   roots: they are someone's working tree (a container's rootfs, a mount). */
int gc_snapshots(struct daemon *d, struct gc_stats *st, struct ember_error *e);
#endif
/* 1 when an image record, a gc.root label or a lease reaches the blob
   (pulls in progress are not asked; 1 also when that cannot be told). */
int gc_blob_recorded(struct daemon *d, const char *digest);
/* 1, with the image name in by, when a root reaches the blob; else 0. */
int gc_blob_in_use(struct daemon *d, const char *digest, char *by, size_t len);

#endif
