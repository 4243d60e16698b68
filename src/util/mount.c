/* SPDX-License-Identifier: Apache-2.0 */
#include "util/mount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/err.h"

/* Flags older C libraries do not name. */
#define MOUNT_SILENT 32768UL
#define MOUNT_I_VERSION (1UL << 23)
#define MOUNT_LAZYTIME (1UL << 25)
#define MOUNT_ATTR_RDONLY_ 0x1ULL
#define MOUNT_ATTR_NOSUID_ 0x2ULL
#define MOUNT_ATTR_NODEV_ 0x4ULL
#define MOUNT_ATTR_NOEXEC_ 0x8ULL
#define MOUNT_ATTR_NOATIME_ 0x10ULL
#define MOUNT_ATTR_STRICTATIME_ 0x20ULL
#define MOUNT_ATTR_NODIRATIME_ 0x80ULL
#define MOUNT_ATTR_NOSYMFOLLOW_ 0x200000ULL

static const struct {
	const char *name;
	unsigned long set, clear;
} flags[] = {
	{ "ro", MS_RDONLY, 0 },        { "rw", 0, MS_RDONLY },         { "bind", MS_BIND, 0 },
	{ "rbind", MS_BIND | MS_REC, 0 }, { "nosuid", MS_NOSUID, 0 },   { "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },      { "dev", 0, MS_NODEV },         { "noexec", MS_NOEXEC, 0 },
	{ "exec", 0, MS_NOEXEC },      { "noatime", MS_NOATIME, 0 },   { "atime", 0, MS_NOATIME },
	{ "relatime", MS_RELATIME, 0 }, { "norelatime", 0, MS_RELATIME },
	{ "strictatime", MS_STRICTATIME, 0 }, { "nostrictatime", 0, MS_STRICTATIME },
	{ "nodiratime", MS_NODIRATIME, 0 }, { "diratime", 0, MS_NODIRATIME },
	{ "sync", MS_SYNCHRONOUS, 0 }, { "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },  { "mand", MS_MANDLOCK, 0 },     { "nomand", 0, MS_MANDLOCK },
	{ "remount", MS_REMOUNT, 0 },  { "nosymfollow", MOUNT_MS_NOSYMFOLLOW, 0 }, { "symfollow", 0, MOUNT_MS_NOSYMFOLLOW },
	{ "lazytime", MOUNT_LAZYTIME, 0 }, { "nolazytime", 0, MOUNT_LAZYTIME },
	{ "iversion", MOUNT_I_VERSION, 0 }, { "noiversion", 0, MOUNT_I_VERSION },
	{ "silent", MOUNT_SILENT, 0 },  { "loud", 0, MOUNT_SILENT },
};

/* The recursive ones of the runtime spec 1.1 (mount_setattr's attributes
   on every mount of the tree); an atime word sets the atime field whole. */
#define ATTR_ATIME 0x70ULL
static const struct {
	const char *name;
	unsigned long long set, clear;
} recursive[] = {
	{ "rro", MOUNT_ATTR_RDONLY_, 0 },       { "rrw", 0, MOUNT_ATTR_RDONLY_ },
	{ "rnosuid", MOUNT_ATTR_NOSUID_, 0 },   { "rsuid", 0, MOUNT_ATTR_NOSUID_ },
	{ "rnodev", MOUNT_ATTR_NODEV_, 0 },     { "rdev", 0, MOUNT_ATTR_NODEV_ },
	{ "rnoexec", MOUNT_ATTR_NOEXEC_, 0 },   { "rexec", 0, MOUNT_ATTR_NOEXEC_ },
	{ "rnodiratime", MOUNT_ATTR_NODIRATIME_, 0 }, { "rdiratime", 0, MOUNT_ATTR_NODIRATIME_ },
	{ "rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW_, 0 }, { "rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW_ },
	{ "rnoatime", MOUNT_ATTR_NOATIME_, ATTR_ATIME }, { "rstrictatime", MOUNT_ATTR_STRICTATIME_, ATTR_ATIME },
	{ "rrelatime", 0, ATTR_ATIME },         { "ratime", 0, ATTR_ATIME },
	{ "rnorelatime", 0, ATTR_ATIME },       { "rnostrictatime", 0, ATTR_ATIME },
};

static const struct {
	const char *name;
	unsigned long flags;
} propagations[] = {
	{ "private", MS_PRIVATE },      { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED },        { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE },          { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

const char *mount_option_name(size_t i)
{
	if (i < ARRAY_SIZE(flags))
		return flags[i].name;
	i -= ARRAY_SIZE(flags);
	if (i < ARRAY_SIZE(propagations))
		return propagations[i].name;
	i -= ARRAY_SIZE(propagations);
	if (i < ARRAY_SIZE(recursive))
		return recursive[i].name;
	i -= ARRAY_SIZE(recursive);
	return i == 0 ? "idmap" : i == 1 ? "ridmap" : NULL;
}

int mount_options_parse(json_t *opts, struct mount_options *out, const char *target, struct ember_error *e)
{
	json_t *o;
	size_t i, len = 0;

	memset(out, 0, sizeof(*out));
	json_array_foreach(opts, i, o) {
		const char *s = json_string_value(o);
		size_t k;
		if (!s)
			continue;
		for (k = 0; k < ARRAY_SIZE(flags); k++)
			if (!strcmp(flags[k].name, s))
				break;
		if (k < ARRAY_SIZE(flags)) {
			out->flags = (out->flags | flags[k].set) & ~flags[k].clear;
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(propagations); k++)
			if (!strcmp(propagations[k].name, s))
				break;
		if (k < ARRAY_SIZE(propagations)) {
			out->propagation = propagations[k].flags;
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(recursive); k++)
			if (!strcmp(recursive[k].name, s))
				break;
		if (k < ARRAY_SIZE(recursive)) {
			/* The last word about an attribute wins. */
			out->rattr_set = (out->rattr_set & ~recursive[k].clear) | recursive[k].set;
			out->rattr_clr = (out->rattr_clr & ~recursive[k].set) | recursive[k].clear;
			continue;
		}
		if (!strcmp(s, "idmap") || !strcmp(s, "ridmap")) {
			out->idmap = s[0] == 'r' ? 2 : 1;
			continue;
		}
		int n = snprintf(out->data + len, sizeof(out->data) - len, "%s%s", len ? "," : "", s);
		if (n < 0 || (size_t)n >= sizeof(out->data) - len)
			return err_set(e, E2BIG, "mount %s: options longer than a page", target);
		len += (size_t)n;
	}
	return 0;
}

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define OPEN_TREE_CLONE_ 1
#define AT_RECURSIVE_ 0x8000
#define MOVE_MOUNT_F_EMPTY_PATH_ 0x4
#define MOVE_MOUNT_T_EMPTY_PATH_ 0x40

/* A bind as one step: a detached copy of source, its flags set, then
   attached at the target descriptor; a read-only bind is never writable,
   not even for a moment. -ENOSYS before Linux 5.12. */
static int bind_at(const char *source, unsigned long fl, int target_fd)
{
	struct {
		uint64_t attr_set, attr_clr, propagation, userns_fd;
	} a = { 0 };
	long fd = syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE_ | O_CLOEXEC | ((fl & MS_REC) ? AT_RECURSIVE_ : 0));

	if (fd < 0)
		return -errno;
	a.attr_set = ((fl & MS_RDONLY) ? MOUNT_ATTR_RDONLY_ : 0) | ((fl & MS_NOSUID) ? MOUNT_ATTR_NOSUID_ : 0) |
		     ((fl & MS_NODEV) ? MOUNT_ATTR_NODEV_ : 0) | ((fl & MS_NOEXEC) ? MOUNT_ATTR_NOEXEC_ : 0);
	int r = 0;
	if (a.attr_set && syscall(SYS_mount_setattr, (int)fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		r = -errno;
	if (r == 0 && syscall(SYS_move_mount, (int)fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH_ | MOVE_MOUNT_T_EMPTY_PATH_) < 0)
		r = -errno;
	close((int)fd);
	return r;
}

static int one(json_t *m, int target_fd, const char *name, struct ember_error *e)
{
	const char *type = json_string_value(json_object_get(m, "type"));
	const char *source = json_string_value(json_object_get(m, "source"));
	struct mount_options mo;
	char target[64];

	if (!type || !source)
		return err_set(e, EINVAL, "mount: no type or source");
	if (mount_options_parse(json_object_get(m, "options"), &mo, name, e) < 0)
		return -e->code;
	/* Through the descriptor: whatever the path names by now. */
	snprintf(target, sizeof(target), "/proc/self/fd/%d", target_fd);
	unsigned long fl = mo.flags;
	size_t len = strlen(mo.data);
	char *data = mo.data;
	int bind = !strcmp(type, "bind") || (fl & MS_BIND);
	if (bind) {
		int r = bind_at(source, fl, target_fd);
		if (r == 0)
			return 0;
		if (r != -ENOSYS)
			return err_sys(e, -r, "mount %s on %s", type, name);
		fl |= MS_BIND;
	}
	if (mount(source, target, bind ? NULL : type, fl & ~(bind ? MS_RDONLY : 0), len ? data : NULL) < 0) {
		if (errno == ENODEV)
			return err_set(e, ENODEV, "mount %s on %s: this kernel has no %s file system (%s)", type, name,
				       type, *mount_fs_kconfig(type) ? mount_fs_kconfig(type) : "not built, or its module not loaded");
		return err_sys(e, errno, "mount %s on %s", type, name);
	}
	/* Before Linux 5.12 a bind mount takes ro only from a remount. */
	if (bind && (fl & MS_RDONLY) &&
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | (fl & (MS_NOSUID | MS_NODEV | MS_NOEXEC)), NULL) < 0) {
		int saved = errno;
		(void)umount2(target, MNT_DETACH);
		return err_sys(e, saved, "make %s read-only", name);
	}
	return 0;
}

int mount_apply(json_t *mounts, int target_fd, const char *name, struct ember_error *e)
{
	size_t i;
	json_t *m;
	char target[64];

	if (!json_is_array(mounts) || !json_array_size(mounts))
		return err_set(e, EINVAL, "no mounts");
	snprintf(target, sizeof(target), "/proc/self/fd/%d", target_fd);
	json_array_foreach(mounts, i, m) {
		if (one(m, target_fd, name, e) < 0) {
			while (i-- > 0)
				(void)umount2(target, MNT_DETACH);
			return -e->code;
		}
	}
	return 0;
}

char *mount_command(json_t *m, const char *target)
{
	json_t *opts = json_object_get(m, "options"), *o;
	size_t i, cap = 256, len = 0;
	char *s = NULL;

	json_array_foreach(opts, i, o)
		cap += strlen(json_string_value(o) ?: "") + 1;
	cap += strlen(target) + strlen(json_string_value(json_object_get(m, "source")) ?: "") +
	       strlen(json_string_value(json_object_get(m, "type")) ?: "");
	if (!(s = malloc(cap)))
		return NULL;
	len = (size_t)snprintf(s, cap, "mount -t %s %s %s", json_string_value(json_object_get(m, "type")) ?: "?",
			       json_string_value(json_object_get(m, "source")) ?: "?", target);
	json_array_foreach(opts, i, o)
		len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? "," : " -o ", json_string_value(o) ?: "");
	return s;
}

const char *mount_fs_kconfig(const char *type)
{
	static const struct {
		const char *type, *option;
	} known[] = {
		{ "overlay", "CONFIG_OVERLAY_FS" }, { "btrfs", "CONFIG_BTRFS_FS" },   { "tmpfs", "CONFIG_TMPFS" },
		{ "mqueue", "CONFIG_POSIX_MQUEUE" }, { "cgroup2", "CONFIG_CGROUPS" }, { "devpts", "CONFIG_UNIX98_PTYS" },
	};

	for (size_t i = 0; type && i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i].type, type))
			return known[i].option;
	return "";
}
