/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_HOLDS_H
#define EMBER_DAEMON_HOLDS_H

/*
 * Holds: what work in progress needs that no record names yet. A pull or
 * an import holds every blob it stores or finds already stored before its
 * image record exists; an unpacker holds the snapshots it commits until
 * the image that names them is recorded. Garbage collection keeps
 * whatever is held, and reads nothing else of theirs: this set is the only
 * thing GC and the work in progress share.
 *
 * Thread-safe. The rule that makes it race-free: a worker holds a blob
 * before it looks whether the blob is already stored (or commits it), and
 * GC checks and deletes under holds_lock(); so either GC deleted first and
 * the worker sees the blob absent and stores it, or the worker's hold
 * came first and GC keeps it. A hold released while a GC runs stays in
 * force until that GC ends: the record written just before the release
 * may be newer than what that GC read.
 */

#include <ember/error.h>

struct holds;
struct hold;

struct holds *holds_new(void);
void holds_free(struct holds *hs);

/* A holder: what one pull, import or unpack holds. NULL: out of memory. */
struct hold *hold_new(struct holds *hs);
/* Hold a blob by digest; -ENOMEM. Holding one twice is fine. */
int hold_blob(struct hold *h, const char *digest);
/* Hold a snapshot by snapshotter name, namespace and key; -ENOMEM.
   HOLD_ANY_NS (no namespace's name) holds key in every namespace: what an
   unpacker does before it looks for a layer to share. */
#define HOLD_ANY_NS "*"
/* Hold a snapshot by snapshotter name, namespace and key; -ENOMEM. */
int hold_snapshot(struct hold *h, const char *snapshotter, const char *ns, const char *key);
/* Hold an image record by namespace and name (a container being created
   from it: the GC policy does not remove it meanwhile); -ENOMEM. */
int hold_image(struct hold *h, const char *ns, const char *name);
/* Drop every hold of h and free it (NULL is fine). */
void hold_release(struct hold *h);

/* GC: begin marks the start of a collection (holds released from now on
   stay until the matching end). Collections may overlap. */
void holds_gc_begin(struct holds *hs);
void holds_gc_end(struct holds *hs);
/* Under the lock, nothing can be newly held: check, then delete. */
void holds_lock(struct holds *hs);
void holds_unlock(struct holds *hs);
int holds_blob_held(struct holds *hs, const char *digest);
/* Held by a holder other than h. */
int holds_blob_held_except(struct holds *hs, const char *digest, const struct hold *h);
int holds_snapshot_held(struct holds *hs, const char *snapshotter, const char *ns, const char *key);
int holds_image_held(struct holds *hs, const char *ns, const char *name);
int holds_snapshot_held_except(struct holds *hs, const char *snapshotter, const char *ns, const char *key,
			       const struct hold *h);

#endif
