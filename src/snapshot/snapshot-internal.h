/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_SNAPSHOT_INTERNAL_H
#define EMBER_SNAPSHOT_INTERNAL_H

/* What a backend adds to the shared store (store.c). */

#include "snapshot/snapshot.h"

struct snapshot_backend {
	const char *name;
	int whiteouts;   /* enum unpack_whiteouts for its layers */
	int work_dir;    /* active trees get a work/ directory (overlayfs) */
	int copy_parent; /* active trees start as a copy of the parent */
	/* chain: tree ids, the snapshot's own first, then its parents. */
	int (*mounts)(struct snapshotter *sn, int kind, json_t *chain, json_t **out, struct ember_error *e);
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

/* {"type", "source", "options"} with a bind mount of tree id's fs. */
json_t *snapshot_bind_mount(struct snapshotter *sn, const char *id, int readonly);

#endif
