/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The btrfs backend: every tree is a subvolume (see snapshot.h for the
 * store it plugs into).
 *
 *   layer      tmp/<id>/rw, a writable snapshot of the parent layer (or a
 *              new subvolume for a base layer), takes the layer; then
 *              tmp/<id>/fs, a read-only snapshot of rw, is what is kept
 *              (rw is destroyed) and the file system synced before the
 *              tree moves to trees/ and its record is written.
 *   active     trees/<id>/fs, a writable snapshot of the parent, bind
 *              mounted as a container's rootfs; committing it sets the
 *              subvolume's read-only flag (same tree, same id, so the
 *              store's commit and recovery rules hold unchanged).
 *   view       trees/<id>/fs, an empty directory: a view mounts its
 *              parent's read-only subvolume.
 *
 * A subvolume cannot be unlinked like a directory (and a read-only one not
 * emptied), so trees are removed here: every subvolume in the tree's
 * directory destroyed by id, then what is left as files. Usage comes from
 * quota groups (the bytes only this snapshot holds) where quotas are on and
 * consistent; elsewhere the store walks the tree.
 *
 * Only ioctls on descriptors: nothing here mounts, and <sys/mount.h> is
 * not included (its definitions clash with the kernel headers').
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

/* musl's <sys/ioctl.h> defines the _IO* macros itself (the same numbers,
   spelt differently from the kernel's, which would redefine them); glibc's
   includes the kernel's. */
#ifndef _ASM_GENERIC_IOCTL_H
#undef _IOC
#undef _IO
#undef _IOR
#undef _IOW
#undef _IOWR
#endif
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>

#include "image/image.h"
#include "snapshot/snapshot-internal.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#ifndef BTRFS_SUPER_MAGIC
#define BTRFS_SUPER_MAGIC 0x9123683E
#endif
/* Headers older than Linux 5.7: the by-id destroy is asked for anyway and
   the kernel's answer decides. */
#ifndef BTRFS_SUBVOL_SPEC_BY_ID
#define BTRFS_SUBVOL_SPEC_BY_ID (1ULL << 4)
#endif
#ifndef BTRFS_IOC_SNAP_DESTROY_V2
#define BTRFS_IOC_SNAP_DESTROY_V2 _IOW(BTRFS_IOCTL_MAGIC, 63, struct btrfs_ioctl_vol_args_v2)
#endif

/* The root directory of every subvolume has this inode number. */
#define SUBVOL_ROOT_INO BTRFS_FIRST_FREE_OBJECTID

static int is_subvol(const struct stat *st)
{
	return S_ISDIR(st->st_mode) && st->st_ino == SUBVOL_ROOT_INO;
}

static int subvol_id(int fd, uint64_t *id, struct ember_error *e)
{
	/* 4 KiB: on the heap, as this may run on a worker's small stack. */
	_cleanup_free_ struct btrfs_ioctl_ino_lookup_args *a = calloc(1, sizeof(*a));

	if (!a)
		return err_set(e, ENOMEM, "out of memory");
	a->objectid = BTRFS_FIRST_FREE_OBJECTID;
	if (ioctl(fd, BTRFS_IOC_INO_LOOKUP, a) < 0)
		return err_sys(e, errno, "look up the subvolume's id");
	*id = a->treeid;
	return 0;
}

static int check(struct snapshotter *sn, struct ember_error *e)
{
	struct statfs st;

	if (fstatfs(sn->dir_fd, &st) < 0)
		return err_sys(e, errno, "snapshotter btrfs: %s", sn->path);
	if ((uint32_t)st.f_type != (uint32_t)BTRFS_SUPER_MAGIC)
		return err_set_name(e, EMBER_ERROR_UNAVAILABLE, ENOTSUP,
				    "snapshotter btrfs: %s is not a btrfs file system", sn->path);
	return 0;
}

/* name in dir_fd: a snapshot of the subvolume src_fd (read-only or not),
   or a new empty subvolume when src_fd < 0. Either commits a transaction:
   the subvolume is on disk when this returns. */
static int subvol_make(int dir_fd, const char *name, int src_fd, int rdonly, struct ember_error *e)
{
	_cleanup_free_ struct btrfs_ioctl_vol_args_v2 *a = calloc(1, sizeof(*a));

	if (!a)
		return err_set(e, ENOMEM, "out of memory");
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->fd = src_fd;
	a->flags = rdonly ? BTRFS_SUBVOL_RDONLY : 0;
	if (ioctl(dir_fd, src_fd < 0 ? BTRFS_IOC_SUBVOL_CREATE_V2 : BTRFS_IOC_SNAP_CREATE_V2, a) < 0)
		return src_fd < 0 ? err_sys(e, errno, "create subvolume %s", name)
				  : err_sys(e, errno, "snapshot into subvolume %s", name);
	return 0;
}

static int make(int dir_fd, const char *name, int parent_fd, struct ember_error *e)
{
	return subvol_make(dir_fd, name, parent_fd, 0, e);
}

/* Destroy subvolume name of dir_fd by its id, which names exactly the
   subvolume looked up, whatever is renamed meanwhile. Kernels before 5.7
   know no BTRFS_IOC_SNAP_DESTROY_V2 (ENOTTY) and others may refuse the
   by-id form (EOPNOTSUPP, EINVAL): then by name. */
static int subvol_destroy(int dir_fd, const char *name, struct ember_error *e)
{
	uint64_t id;
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(e, errno, "open subvolume %s", name);
	int r = subvol_id(fd, &id, e);
	close(fd);
	if (r < 0)
		return err_wrap(e, "subvolume %s", name);
	_cleanup_free_ struct btrfs_ioctl_vol_args_v2 *a = calloc(1, sizeof(*a));
	if (!a)
		return err_set(e, ENOMEM, "out of memory");
	a->flags = BTRFS_SUBVOL_SPEC_BY_ID;
	a->subvolid = id;
	if (ioctl(dir_fd, BTRFS_IOC_SNAP_DESTROY_V2, a) == 0)
		return 0;
	if (errno != ENOTTY && errno != EOPNOTSUPP && errno != EINVAL)
		return err_sys(e, errno, "destroy subvolume %s (id %llu)", name, (unsigned long long)id);
	_cleanup_free_ struct btrfs_ioctl_vol_args *v = calloc(1, sizeof(*v));
	if (!v)
		return err_set(e, ENOMEM, "out of memory");
	snprintf(v->name, sizeof(v->name), "%s", name);
	if (ioctl(dir_fd, BTRFS_IOC_SNAP_DESTROY, v) < 0)
		return err_sys(e, errno, "destroy subvolume %s", name);
	return 0;
}

/* Layer: rw, filled and unmounted, becomes the read-only fs. */
static int seal(int dir_fd, struct ember_error *e)
{
	int src = openat(dir_fd, "rw", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (src < 0)
		return err_sys(e, errno, "open the layer's subvolume");
	int r = subvol_make(dir_fd, "fs", src, 1, e);
	close(src);
	if (r == 0)
		r = subvol_destroy(dir_fd, "rw", e);
	return r;
}

static int set_readonly(int fs_fd, int rdonly, struct ember_error *e)
{
	uint64_t flags;

	if (ioctl(fs_fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags) < 0)
		return err_sys(e, errno, "read the subvolume's flags");
	if (!!(flags & BTRFS_SUBVOL_RDONLY) == !!rdonly)
		return 0;
	flags = rdonly ? flags | BTRFS_SUBVOL_RDONLY : flags & ~(uint64_t)BTRFS_SUBVOL_RDONLY;
	if (ioctl(fs_fd, BTRFS_IOC_SUBVOL_SETFLAGS, &flags) < 0)
		return err_sys(e, errno, "make the subvolume %s", rdonly ? "read-only" : "writable");
	return 0;
}

/* dir_fd/name: every subvolume in it destroyed, then the rest removed. */
static int remove_tree(int dir_fd, const char *name, struct ember_error *e)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ENOTDIR || errno == ELOOP)
			return fs_remove_tree(dir_fd, name, e);
		return err_sys(e, errno, "open snapshot tree %s", name);
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close_keep_errno(fd);
		return err_sys(e, errno, "read snapshot tree %s", name);
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && is_subvol(&st))
			r = subvol_destroy(dirfd(d), de->d_name, e);
	}
	closedir(d);
	if (r < 0)
		return err_wrap(e, "remove snapshot tree %s", name);
	return fs_remove_tree(dir_fd, name, e);
}

/* One item of the quota tree: (0, type, offset). 1 found, 0 not there
   (no quota tree: quotas were never enabled), < 0 an error. */
static int quota_item(int fd, unsigned type, uint64_t offset, void *out, size_t len, struct ember_error *e)
{
	_cleanup_free_ struct btrfs_ioctl_search_args *a = calloc(1, sizeof(*a));

	if (!a)
		return err_set(e, ENOMEM, "out of memory");
	a->key.tree_id = BTRFS_QUOTA_TREE_OBJECTID;
	a->key.min_type = a->key.max_type = type;
	a->key.min_offset = a->key.max_offset = offset;
	a->key.max_transid = UINT64_MAX;
	a->key.nr_items = 1;
	if (ioctl(fd, BTRFS_IOC_TREE_SEARCH, a) < 0)
		return errno == ENOENT ? 0 : err_sys(e, errno, "search the quota tree");
	if (a->key.nr_items < 1)
		return 0;
	struct btrfs_ioctl_search_header h;
	memcpy(&h, a->buf, sizeof(h));
	if (h.type != type || h.offset != offset || h.len < len)
		return 0;
	memcpy(out, a->buf + sizeof(h), len);
	return 1;
}

/* The bytes only this subvolume holds, from its quota group: 1 when quotas
   are on and consistent, 0 when they say nothing (off, rescanning,
   inconsistent, or fs_fd not a subvolume: the store then walks). */
static int usage(int fs_fd, struct snapshot_usage *u, struct ember_error *e)
{
	struct stat st;
	struct btrfs_qgroup_status_item status;
	struct btrfs_qgroup_info_item info;
	uint64_t id;

	if (fstat(fs_fd, &st) < 0)
		return err_sys(e, errno, "stat the snapshot tree");
	if (!is_subvol(&st))
		return 0;
	int r = quota_item(fs_fd, BTRFS_QGROUP_STATUS_KEY, 0, &status, sizeof(status), e);
	if (r <= 0)
		return r;
	uint64_t flags = le64toh(status.flags);
	if (!(flags & BTRFS_QGROUP_STATUS_FLAG_ON) ||
	    (flags & (BTRFS_QGROUP_STATUS_FLAG_RESCAN | BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT)))
		return 0;
	if (subvol_id(fs_fd, &id, e) < 0)
		return -e->code;
	r = quota_item(fs_fd, BTRFS_QGROUP_INFO_KEY, id, &info, sizeof(info), e); /* level 0: the id */
	if (r <= 0)
		return r;
	u->bytes = le64toh(info.excl);
	u->inodes = 0; /* quota groups count bytes only */
	return 1;
}

static const struct snapshot_trees btrfs_trees = {
	.check = check,
	.make = make,
	.seal = seal,
	.set_readonly = set_readonly,
	.remove = remove_tree,
	.usage = usage,
};

const struct snapshot_backend snapshot_btrfs = {
	.name = "btrfs",
	.whiteouts = UNPACK_WHITEOUT_DELETE,
	.mounts = snapshot_whole_mounts,
	.trees = &btrfs_trees,
};
