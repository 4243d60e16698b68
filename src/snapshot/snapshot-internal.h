/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_SNAPSHOT_INTERNAL_H
#define EMBER_SNAPSHOT_INTERNAL_H

/* What a backend adds to the shared store (store.c). */

#include "snapshot/snapshot.h"

/* Trees that are more than directories (btrfs subvolumes). A tree's
   directory (tmp/<id> or trees/<id>) holds fs, the tree; while a layer is
   unpacked, rw, the writable tree that seal turns into a read-only fs. */
struct snapshot_trees {
	/* Whether the store's file system can hold them (at open, before the
	   snapshotter's directories are made): else -ENOTSUP, named. */
	int (*check)(struct snapshotter *sn, struct ember_error *e);
	/* A writable tree name in dir_fd: a snapshot of the tree parent_fd,
	   or empty (parent_fd < 0); on disk when this returns. */
	int (*make)(int dir_fd, const char *name, int parent_fd, struct ember_error *e);
	/* A layer's directory dir_fd: read-only fs from rw, rw gone. */
	int (*seal)(int dir_fd, struct ember_error *e);
	/* The tree fs_fd made read-only (1) or writable again (0). */
	int (*set_readonly)(int fs_fd, int rdonly, struct ember_error *e);
	/* dir_fd/name, a tree's directory, and all it holds. Missing is fine. */
	int (*remove)(int dir_fd, const char *name, struct ember_error *e);
	/* 1 with *u where the file system counts it; 0: walk the tree. */
	int (*usage)(int fs_fd, struct snapshot_usage *u, struct ember_error *e);
};

struct snapshot_backend {
	const char *name;
	int whiteouts;   /* enum unpack_whiteouts for its layers */
	int work_dir;    /* active trees get a work/ directory (overlayfs) */
	int copy_parent; /* active trees start as a copy of the parent */
	/* chain: tree ids, the snapshot's own first, then its parents. */
	int (*mounts)(struct snapshotter *sn, int kind, json_t *chain, json_t **out, struct ember_error *e);
	const struct snapshot_trees *trees; /* NULL: plain directories */
};

struct snapshotter {
	const struct snapshot_backend *be;
	char *path;     /* absolute <root>/snapshots/<name>, for mounts */
	int dir_fd;
	int records_fd;
	int trees_fd;
	int tmp_fd;
};

#ifdef CONFIG_SNAPSHOT_OVERLAY
extern const struct snapshot_backend snapshot_overlay;
#endif
#ifdef CONFIG_SNAPSHOT_NATIVE
extern const struct snapshot_backend snapshot_native;
#endif
#ifdef CONFIG_SNAPSHOT_BTRFS
extern const struct snapshot_backend snapshot_btrfs;
#endif

/* {"type", "source", "options"} with a bind mount of tree id's fs. */
json_t *snapshot_bind_mount(struct snapshotter *sn, const char *id, int readonly);
/* Mounts of whole trees (native, btrfs): a bind mount of the snapshot's
   own tree, or for a view of its parent's, read-only but for an active. */
int snapshot_whole_mounts(struct snapshotter *sn, int kind, json_t *chain, json_t **out, struct ember_error *e);

#endif
