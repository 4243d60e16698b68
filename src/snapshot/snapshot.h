/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_SNAPSHOT_H
#define EMBER_SNAPSHOT_H

/*
 * Snapshotters (DESIGN.md §3, §4): trees of files that images are unpacked
 * into and containers run on, in containerd's model. A snapshot has a key,
 * a kind and, except for a base layer, a committed parent:
 *
 *   committed  read-only, the parent of others (an image layer, keyed by
 *              its chain ID, or `snapshots commit`)
 *   active     writable, on top of its parent (a container's rootfs)
 *   view       read-only, on top of its parent (`images mount`)
 *
 * Keys are per namespace. The backends differ only in how a tree is made
 * and mounted: overlay (each snapshot holds its own changes; mounts stack
 * the parents as lower directories), native (each snapshot is a full
 * copy of its parent; mounts are bind mounts) and btrfs (each snapshot is
 * a btrfs snapshot of its parent, read-only once committed; bind mounts).
 *
 * On disk, below <root>/snapshots/<snapshotter>/:
 *
 *   records/<namespace>/<escaped-key>.json   {"key", "kind", "parent", "id", "labels",
 *                                             "created_at", "updated_at", "usage",
 *                                             "layer" (made by an unpack)}
 *   trees/<id>/fs                            the tree (+ work/ for overlay; a
 *                                            subvolume for btrfs); one
 *                                            layer's tree may be named by
 *                                            the records of several
 *                                            namespaces (snapshot_share)
 *   tmp/<id>/                                trees being built
 *
 * Crash rules: a tree is built in tmp/ and renamed into trees/ before its
 * record is written; a committed record is written only after the tree was
 * synced (syncfs of its file system; for btrfs, after the layer became a
 * read-only snapshot). Start-up recovery empties tmp/,
 * drops the active record of a commit that was interrupted after its
 * committed record was written, and removes trees no record names. It never
 * removes a tree that a record names. Removal deletes the record first.
 *
 * Records are changed only by the daemon's loop thread; the
 * snapshot_extract_fill/_sync steps may run in worker threads (they touch
 * only their own tree).
 */

#include <stdint.h>
#include <jansson.h>

#include <ember/error.h>

#include "util/digest.h"

enum snapshot_kind { SNAPSHOT_COMMITTED, SNAPSHOT_ACTIVE, SNAPSHOT_VIEW };

struct snapshotter;

/* The backends compiled in, by name ("overlay", "native", "btrfs"); NULL-terminated. */
extern const char *const snapshot_backends[];

/* Open (creating its directories) the snapshotter name below
   <root_fd>/snapshots. "overlayfs" is taken for "overlay", as containerd
   names it. -ENOENT (io.ember.NotFound) for a backend not compiled in;
   -ENOTSUP (io.ember.Unavailable, "snapshotter btrfs: <path> is not
   a btrfs file system") where the store cannot hold its trees. */
int snapshot_open(int root_fd, const char *root_path, const char *name, struct snapshotter **out,
		  struct ember_error *e);
void snapshot_close(struct snapshotter *sn);
const char *snapshot_name(const struct snapshotter *sn);
/* How layers are unpacked into this backend's trees (enum unpack_whiteouts). */
int snapshot_whiteouts(const struct snapshotter *sn);

struct snapshot_recovery {
	unsigned removed_tmp;     /* trees being built */
	unsigned removed_orphans; /* trees without a record */
	unsigned removed_records; /* active records of interrupted commits */
};
int snapshot_recover(struct snapshotter *sn, struct snapshot_recovery *st, struct ember_error *e);

const char *snapshot_kind_name(enum snapshot_kind k);

/* A record (new reference) by key: -ENOENT (NotFound). */
int snapshot_get(struct snapshotter *sn, const char *ns, const char *key, json_t **out, struct ember_error *e);
/* A new array of the namespace's records, sorted by key. */
int snapshot_list(struct snapshotter *sn, const char *ns, json_t **out, struct ember_error *e);
/* fn for every record of every namespace; non-zero stops. */
typedef int (*snapshot_walk_fn)(const char *ns, json_t *rec, void *userdata);
int snapshot_walk_all(struct snapshotter *sn, snapshot_walk_fn fn, void *userdata, struct ember_error *e);

/* A new active or view snapshot key on parent (a committed key, or NULL).
   Native copies the parent's tree for an active snapshot (time grows with
   its size). *out: the record. */
int snapshot_prepare(struct snapshotter *sn, const char *ns, const char *key, const char *parent,
		     enum snapshot_kind kind, json_t *labels, json_t **out, struct ember_error *e);
/* Commit active key as name: sync its tree, record its usage. */
int snapshot_commit(struct snapshotter *sn, const char *ns, const char *name, const char *key,
		    json_t *labels, json_t **out, struct ember_error *e);
/* FailedPrecondition while another snapshot has it as parent, or while it
   is mounted. */
int snapshot_remove(struct snapshotter *sn, const char *ns, const char *key, struct ember_error *e);
/* The same in two steps, for a caller that must decide under a lock: the
   record (after which the snapshot is gone; id gets its tree's id), then
   the tree, unless another record names it (removing a big tree takes
   long). A crash between the two leaves a tree recovery removes. */
#define SNAPSHOT_ID_MAX 16
int snapshot_remove_record(struct snapshotter *sn, const char *ns, const char *key, char id[SNAPSHOT_ID_MAX],
			   struct ember_error *e);
void snapshot_remove_tree(struct snapshotter *sn, const char *id);
/* Merge labels (an empty value removes a key). */
int snapshot_set_labels(struct snapshotter *sn, const char *ns, const char *key, json_t *labels,
			json_t **out, struct ember_error *e);

/* The mounts that make key's tree appear at a target, as containerd
   describes them: [{"type", "source", "options": [...]}, ...]. */
int snapshot_mounts(struct snapshotter *sn, const char *ns, const char *key, json_t **out,
		    struct ember_error *e);

struct snapshot_usage {
	uint64_t bytes;  /* allocated blocks of the snapshot's own tree, each inode once */
	uint64_t inodes;
};
/* Committed: as recorded at commit; else measured now (btrfs records none:
   the bytes only this snapshot holds, from quota groups where they are on,
   with inodes 0; else a walk of the whole tree, as for native). */
int snapshot_usage(struct snapshotter *sn, const char *ns, const char *key, struct snapshot_usage *u,
		   struct ember_error *e);

/* ---- building a committed snapshot from a layer ---------------------------- */

/*
 * The unpack path: begin (loop thread) makes tmp/<id>/fs and, for native
 * and btrfs, notes the parent's tree (parent: the tree to start from, NULL
 * for overlay layers, which hold only their own changes); fill (any thread,
 * always called) copies it (btrfs: snapshots it, or makes an empty
 * subvolume);
 * the caller writes the layer into snapshot_extract_fd(); sync (any thread)
 * syncs the file system and measures usage; commit (loop thread) renames the
 * tree into place and writes the committed record key with parent (which
 * must be committed by then). If key
 * exists already (another pull made it), commit discards this tree and
 * succeeds. abort removes the tree; a crash leaves it in tmp/ for recovery.
 */
struct snapshot_extract;
int snapshot_extract_begin(struct snapshotter *sn, const char *ns, const char *parent,
			   struct snapshot_extract **out, struct ember_error *e);
int snapshot_extract_fill(struct snapshot_extract *x, struct ember_error *e);
int snapshot_extract_fd(const struct snapshot_extract *x);
int snapshot_extract_sync(struct snapshot_extract *x, struct ember_error *e);
int snapshot_extract_commit(struct snapshot_extract *x, const char *key, const char *parent, json_t *labels,
			    struct ember_error *e);
void snapshot_extract_abort(struct snapshot_extract *x);

/*
 * Layers shared by namespaces: if ns has no snapshot key, and another
 * namespace has key as a committed layer that an unpack made (its record
 * says "layer": true) on the same parent, write a record of ns that names
 * the same tree. A layer is then stored once whatever the number of
 * namespaces that use it; its tree goes with its last record (removal and
 * recovery never take a tree another record names). parent must be
 * committed in ns. 1: ns has key committed (now or before); 0: nothing to
 * share, or ns has key as an active snapshot or view. The caller keeps
 * removals of key in every namespace away meanwhile (daemon/holds.h).
 */
int snapshot_share(struct snapshotter *sn, const char *ns, const char *key, const char *parent,
		   struct ember_error *e);

/* ---- trees (tree.c) -------------------------------------------------------- */

/* Copy the tree src_fd into the empty directory dst_fd: every type, owner,
   mode, xattr, time and hard link; reflinks where the file system can. Any
   depth, with a bounded number of open descriptors. */
int snapshot_tree_copy(int src_fd, int dst_fd, struct ember_error *e);
int snapshot_tree_usage(int fd, struct snapshot_usage *u, struct ember_error *e);

#endif
