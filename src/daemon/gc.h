/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_GC_H
#define EMBER_DAEMON_GC_H

/*
 * Garbage collection of the content store and the snapshotters: mark from
 * the roots (every image record of every namespace, blobs labelled
 * ember.io/gc.root or containerd.io/gc.root, unexpired leases, and what
 * work in progress holds, daemon/holds.h), following indexes and manifests
 * to their manifests, configs and layers; then delete every unmarked blob.
 * Deleting a blob is one unlink, so an interrupted GC leaves a consistent
 * store.
 *
 * Snapshots: committed snapshots that no image (its top layer's chain ID,
 * for every manifest the store holds), lease ("snapshots/<name>"
 * resources), gc.root label, hold, or active or view snapshot above them
 * reaches. Active snapshots and views are roots: they are someone's working
 * tree (a container's rootfs, a mount).
 *
 * Everything here reads and writes files only: it runs in a job's thread
 * (it never touches the loop's state), and GC and work in progress share
 * nothing but the holds.
 */

#include <stddef.h>
#include <stdint.h>

#include <ember/error.h>

#include "content/content.h"
#include "daemon/holds.h"
#include "metadata/metadata.h"

struct snapshotter;

struct gc_env {
	struct content_store *cs;
	struct meta *meta;
	struct holds *holds;
	struct snapshotter *const *snapshotters; /* NULL entries are skipped */
	size_t n_snapshotters;
	/* A snapshot was removed (in the collecting thread); may be NULL. */
	void (*snapshot_removed)(const char *snapshotter, const char *ns, const char *key, void *userdata);
	void *userdata;
};

struct gc_stats {
	uint64_t removed_blobs;
	uint64_t removed_bytes;
	uint64_t kept_blobs;
	uint64_t removed_snapshots;
};

/* Also: leases that have expired are deleted. */
int gc_collect(const struct gc_env *env, struct gc_stats *st, struct ember_error *e);
/* Snapshots only (part of gc_collect). */
int gc_snapshots(const struct gc_env *env, struct gc_stats *st, struct ember_error *e);
/* 1 when an image record, a gc.root label or a lease reaches the blob
   (holds are not asked; 1 also when that cannot be told). */
int gc_blob_recorded(const struct gc_env *env, const char *digest);
/* 1, with what reaches it in by, when a root or a hold reaches the blob;
   else 0. */
int gc_blob_in_use(const struct gc_env *env, const char *digest, char *by, size_t len);

#endif
