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
#include <jansson.h>

#include <ember/error.h>

#include "content/content.h"
#include "daemon/config.h"
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
	/* A blob was removed; may be NULL. */
	void (*blob_removed)(const char *digest, int64_t size, void *userdata);
	void *userdata;
	/* Image records to take as gone ("<ns> <name>" -> true; NULL: none),
	   and, with dry_run, nothing is removed: the callbacks say what would
	   be (what the policy would remove, then what a collection would). */
	json_t *skip_images;
	int dry_run;
	int root_fd; /* the root's file system: free space */
	const char *state_path; /* task state (logs); NULL: none */
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

/* 1 when the image record (of ns) is in env->skip_images. */
int gc_image_skipped(const struct gc_env *env, const char *ns, json_t *rec);
/* "<ns> <name>": the key of skip_images (malloc'd; NULL: out of memory). */
char *gc_image_key(const char *ns, const char *name);

/*
 * ---- the space model (gc-space.c) ----
 *
 * What the store occupies and who needs it: every blob and every snapshot
 * tree (each once, by digest or by snapshotter and tree id, whatever the
 * number of records naming it) with its allocated bytes; every image with
 * the blobs and committed snapshots it reaches (index, manifests present,
 * config and layers; each manifest's chain of layers); and what else keeps
 * them (pins: leases, gc.root labels, holds, containers and other active
 * snapshots and views with their parents). An image is held, and never
 * removed by the policy, when a container of its namespace names it, a
 * lease of its namespace names its target, a gc.root label is on it or on
 * its target, or work in progress holds it (holds.h).
 *
 * Built from the files, in a job's thread. Bytes are allocated bytes (du),
 * not lengths.
 */
struct space;

#define SPACE_MEASURE 1u /* also measure active snapshots' trees and the logs (df) */
int space_build(const struct gc_env *env, unsigned flags, struct space **out, struct ember_error *e);
struct space *space_free(struct space *sp);

/* The image removal policy over the model: which images go, in order,
   each with its reason ("keep", "free-space") and the bytes its removal
   frees after those before it. */
struct gc_plan_item {
	size_t image;
	const char *reason;
	uint64_t frees;
};
struct gc_plan {
	struct gc_plan_item *items;
	size_t n;
	uint64_t free, size;        /* the file system, now */
	uint64_t low, high;         /* the watermarks in bytes (0: none) */
	uint64_t garbage;           /* what a collection frees without removing an image */
	uint64_t expect_free;       /* free after the plan, as estimated */
	unsigned held, young;       /* candidates kept: held, or younger than min_age */
	char warning[300];          /* "" or why free_high cannot be reached */
};
int gc_plan_make(struct space *sp, const struct gc_policy *pol, int64_t now, struct gc_plan *plan,
		 struct ember_error *e);
void gc_plan_done(struct gc_plan *plan);

/* An image of the model. */
struct space_image_info {
	const char *ns, *name;
	const char *updated_at;      /* of the record, as read: the policy compares */
	int64_t last_used;           /* unix seconds */
	const char *held;            /* NULL or what holds it */
};
void space_image_info(const struct space *sp, size_t i, struct space_image_info *out);

/* The df report: {"free", "size", "total": {...}, "namespaces": [...]}
   (see io.ember.System.DiskUsage). ns: one namespace, or NULL: all. */
json_t *space_report(struct space *sp, const char *ns);

#endif
