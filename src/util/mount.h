/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_MOUNT_H
#define EMBER_UTIL_MOUNT_H

/*
 * Mounts described as containerd describes them (io.ember.Snapshots):
 * [{"type": "overlay"|"bind"|..., "source": ..., "options": [...]}]. The
 * flag options (ro, rw, bind, rbind, nosuid, nodev, noexec, ...) become
 * mount flags, the rest the file system's data ("lowerdir=...").
 */

#include <jansson.h>

#include <ember/error.h>

/* A mount's options: flag words become flags (MS_RDONLY, MS_BIND|MS_REC
   for rbind, ...), propagation words (rprivate, rslave, ...) propagation,
   recursive words (rro, rnoexec, ...) rattr_*, idmap and ridmap idmap,
   the rest data ("lowerdir=...,upperdir=..."). target names the mount in
   errors. */
#define MOUNT_DATA_MAX 4096
#define MOUNT_MS_NOSYMFOLLOW 256UL /* MS_NOSYMFOLLOW, which older C libraries lack */
struct mount_options {
	unsigned long flags, propagation;
	/* rro, rnosuid...: mount_setattr()'s attributes for the whole tree. */
	unsigned long long rattr_set, rattr_clr;
	int idmap; /* idmap: 1, ridmap: 2 (the whole tree) */
	char data[MOUNT_DATA_MAX];
};
int mount_options_parse(json_t *options, struct mount_options *out, const char *target, struct ember_error *e);
/* The i-th option name mount_options_parse() knows as a flag, a
   propagation, a recursive attribute or an idmap ("ro", "rbind", "rslave",
   "rro", "idmap"...); NULL past the last. Any other
   option goes to the file system as data. */
const char *mount_option_name(size_t i);

/* Mount them, in order, on the directory open at target_fd (O_PATH is
   enough): through the descriptor, never a path that may have changed
   since it was checked. A bind is made with its flags in one step
   (open_tree, mount_setattr, move_mount; a remount before Linux 5.12).
   name is the target in errors. On failure what was mounted is undone. */
int mount_apply(json_t *mounts, int target_fd, const char *name, struct ember_error *e);
/* What a kernel without file system type needs (ENODEV from mount):
   "CONFIG_OVERLAY_FS" for "overlay", ...; "" for a type not known here.
   No allocation: the container's child calls it too. */
const char *mount_fs_kconfig(const char *type);
/* The mount(8) command line of one mount, for people (caller frees). */
char *mount_command(json_t *mount, const char *target);

#endif
