/* SPDX-License-Identifier: Apache-2.0 */
/*
 * User namespaces, the parent's side: the id maps of a child cloned into
 * a new user namespace, and its root file system as a detached mount the
 * container's root owns.
 *
 * The rootfs is mounted here, by the daemon, not in the child: overlay
 * reads its trusted.* attributes (opaque directories) with the mounter's
 * credentials, which inside the namespace could not read them, and the
 * snapshot directories are root's alone. Ownership is shifted with
 * idmapped mounts (the image's uid 0 is the namespace's root): on each
 * lower layer, as overlay itself cannot be idmapped, and on a native
 * snapshot (a --rootfs directory is bound as it is). The overlay's upper directory is not idmapped (overlay
 * creates its work files as the mounter, whom the map does not hold): its
 * root is given to the container's root, and what the container writes
 * there is stored with host ids, as containerd does.
 */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "runtime/runtime-internal.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/mount.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x4
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE _IO(0xb7, 0x3)
#endif

/* The host id of the container's id 0, or -1 when the map has none. */
static long long map_zero(json_t *maps)
{
	size_t i;
	json_t *m;

	json_array_foreach(maps, i, m) {
		json_int_t c = json_integer_value(json_object_get(m, "containerID"));
		json_int_t h = json_integer_value(json_object_get(m, "hostID"));
		json_int_t n = json_integer_value(json_object_get(m, "size"));
		if (c == 0 && n > 0)
			return h;
	}
	return -1;
}

static int write_map(pid_t pid, const char *file, json_t *maps, struct ember_error *e)
{
	char path[64], buf[4096];
	size_t len = 0, i;
	json_t *m;

	json_array_foreach(maps, i, m) {
		int n = snprintf(buf + len, sizeof(buf) - len, "%lld %lld %lld\n",
				 (long long)json_integer_value(json_object_get(m, "containerID")),
				 (long long)json_integer_value(json_object_get(m, "hostID")),
				 (long long)json_integer_value(json_object_get(m, "size")));
		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			return rt_bad(e, "user namespace: %s: too many mappings", file);
		len += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "user namespace: open %s", file);
	/* The kernel takes a map in one write, once. */
	if (write(fd, buf, len) != (ssize_t)len)
		return err_sys(e, errno, "user namespace: write %s \"%.*s\"", file, (int)(len ? len - 1 : 0), buf);
	return 0;
}

void rt_userns_root(json_t *lx, long long *uid, long long *gid)
{
	*uid = map_zero(json_object_get(lx, "uidMappings"));
	*gid = map_zero(json_object_get(lx, "gidMappings"));
}

int rt_userns_maps(pid_t pid, json_t *lx, struct ember_error *e)
{
	int r = write_map(pid, "uid_map", json_object_get(lx, "uidMappings"), e);
	return r < 0 ? r : write_map(pid, "gid_map", json_object_get(lx, "gidMappings"), e);
}

/* A detached copy of the tree at path, private (a copy of a shared mount
   would stay the host's peer: what the container mounts below it would
   show on the host), its ids shifted into userns unless userns is -1. */
int rt_detached_tree(const char *path, int userns, int recursive, int rdonly, struct ember_error *e)
{
	long fd = syscall(SYS_open_tree, AT_FDCWD, path,
			  OPEN_TREE_CLONE | O_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
	if (fd < 0)
		return err_sys(e, errno, "\"%s\"", path);
	struct rt_mount_attr a = { .attr_set = (userns >= 0 ? RT_MOUNT_ATTR_IDMAP : 0) | (rdonly ? RT_MOUNT_ATTR_RDONLY : 0),
				   .propagation = RT_MS_PRIVATE,
				   .userns_fd = userns >= 0 ? (uint64_t)userns : 0 };
	if (syscall(SYS_mount_setattr, (int)fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a)) < 0) {
		int err = errno;
		close((int)fd);
		return err_sys(e, err, "%s \"%s\"%s", userns >= 0 ? "idmapped mount of" : "private copy of", path,
			       err == EINVAL && userns >= 0 ? " (its file system cannot be idmapped)" : "");
	}
	return (int)fd;
}

/* A user namespace of uid_maps and gid_maps, for an idmapped mount: a
   child cloned into a new one waits while its maps are written and the
   namespace is opened, then goes (the descriptor keeps the namespace). In
   the child only read and _exit: the daemon has threads. */
static int userns_make(const char *what, json_t *uid_maps, json_t *gid_maps, struct ember_error *e)
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} ca = { /* CLONE_ARGS_SIZE_VER0 */ .flags = CLONE_NEWUSER | 0x1000 /* CLONE_PIDFD */, .exit_signal = SIGCHLD };
	int pfd[2], pidfd = -1, r;
	char path[64];

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys(e, errno, "%s: pipe", what);
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		char c;
		close(pfd[1]);
		(void)!read(pfd[0], &c, 1);
		_exit(0);
	}
	close(pfd[0]);
	if (pid < 0) {
		close(pfd[1]);
		return err_sys(e, errno, "%s: clone a user namespace", what);
	}
	snprintf(path, sizeof(path), "/proc/%ld/ns/user", pid);
	r = write_map((pid_t)pid, "uid_map", uid_maps, e);
	if (r == 0)
		r = write_map((pid_t)pid, "gid_map", gid_maps, e);
	int fd = r < 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (r == 0 && fd < 0)
		r = err_sys(e, errno, "%s: open %s", what, path);
	close(pfd[1]);
	siginfo_t si;
	while (waitid((idtype_t)3 /* P_PIDFD */, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	close(pidfd);
	return r < 0 ? r : fd;
}

int rt_idmapped_bind(json_t *m, const struct mount_options *mo, struct ember_error *e)
{
	const char *src = json_string_value(json_object_get(m, "source")) ?: "";
	int recursive = (mo->flags & MS_REC) != 0;

	_cleanup_close_ int userns =
		userns_make("idmapped mount", json_object_get(m, "uidMappings"), json_object_get(m, "gidMappings"), e);
	if (userns < 0)
		return userns;
	long fd = syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | O_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
	if (fd < 0)
		return err_sys(e, errno, "idmapped mount of \"%s\"", src);
	/* Private, as any bind (rt_detached_tree()); the ids shifted on the
	   top mount (idmap) or on all (ridmap). */
	struct rt_mount_attr priv = { .propagation = RT_MS_PRIVATE };
	struct rt_mount_attr idmap = { .attr_set = RT_MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
	if (syscall(SYS_mount_setattr, (int)fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &priv, sizeof(priv)) < 0 ||
	    syscall(SYS_mount_setattr, (int)fd, "", AT_EMPTY_PATH | (mo->idmap == 2 ? AT_RECURSIVE : 0), &idmap,
		    sizeof(idmap)) < 0) {
		int err = errno;
		close((int)fd);
		return err_sys(e, err, "idmapped mount of \"%s\"%s", src,
			       err == EINVAL ? " (its file system cannot be idmapped)" : "");
	}
	return (int)fd;
}

static int fs_set(int fs, const char *key, const char *value, int fd, struct ember_error *e)
{
	unsigned cmd = fd >= 0 ? RT_FSCONFIG_SET_FD : value ? RT_FSCONFIG_SET_STRING : RT_FSCONFIG_SET_FLAG;
	if (syscall(SYS_fsconfig, fs, cmd, key, fd >= 0 ? NULL : value, fd >= 0 ? fd : 0) == 0)
		return 0;
	if (fd >= 0 && errno == EINVAL)
		return err_sys(e, errno, "user namespace: overlay option %s (layers given by descriptor need Linux 6.13 or later)", key);
	return err_sys(e, errno, "user namespace: overlay option %s", key);
}

/* Overlay's layers stay detached mounts until it is made (closing one's
   last descriptor would unmount it): held here. */
#define RT_LAYERS_MAX 128
struct layers {
	int fd[RT_LAYERS_MAX];
	size_t n;
	size_t attached;  /* of them, attached below base (before Linux 6.13) */
	char base[4096];
};

static void layers_close(struct layers *l)
{
	char path[4096 + 24];

	/* The overlay holds its own references: the attached copies go. */
	for (size_t i = 0; i < l->attached; i++) {
		snprintf(path, sizeof(path), "%s/%zu", l->base, i);
		(void)umount2(path, MNT_DETACH);
		(void)rmdir(path);
	}
	if (l->attached)
		(void)rmdir(l->base);
	l->attached = 0;
	while (l->n)
		close(l->fd[--l->n]);
}

/* Before Linux 6.13 overlay takes no layer by descriptor (6.8 added
   "lowerdir+", by path): each idmapped layer is attached at base/N for
   the moment the overlay is made, and named in one "lowerdir". */
static int lowers_by_path(int fs, struct layers *l, struct ember_error *e)
{
	char *list = malloc(l->n * (strlen(l->base) + 24) + 1);
	size_t len = 0;

	if (!list)
		return rt_oom(e);
	list[0] = '\0';
	if (mkdir(l->base, 0700) < 0 && errno != EEXIST) {
		free(list);
		return err_sys(e, errno, "user namespace: mkdir \"%s\"", l->base);
	}
	for (size_t i = 0; i < l->n; i++) {
		char *at = list + len + (i ? 1 : 0);
		if (i)
			list[len] = ':';
		int n = sprintf(at, "%s/%zu", l->base, i);
		if (mkdir(at, 0700) < 0 ||
		    syscall(SYS_move_mount, l->fd[i], "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
			int err = errno;
			(void)rmdir(at);
			free(list);
			return err_sys(e, err, "user namespace: attach layer %zu", i);
		}
		l->attached = i + 1;
		len = (size_t)(at - list) + (size_t)n;
	}
	int r = fs_set(fs, "lowerdir", list, -1, e);
	free(list);
	return r;
}

static int lowers_set(int fs, struct layers *l, struct ember_error *e)
{
	for (size_t i = 0; i < l->n; i++) {
		int r = fs_set(fs, "lowerdir+", NULL, l->fd[i], e);
		if (r == 0)
			continue;
		if (i == 0 && (r == -EINVAL || r == -EOPNOTSUPP)) {
			err_clear(e);
			return lowers_by_path(fs, l, e);
		}
		return r;
	}
	return 0;
}

static int overlay_create(int fs, json_t *options, int userns, uid_t root_uid, gid_t root_gid,
			  struct layers *layers, unsigned *attrs, struct ember_error *e)
{
	const char *upper = NULL;
	size_t i;
	json_t *o;
	int r;

	json_array_foreach(options, i, o) {
		const char *opt = json_string_value(o) ?: "";
		const char *eq = strchr(opt, '=');
		if (!strcmp(opt, "ro")) {
			*attrs |= RT_MOUNT_ATTR_RDONLY;
		} else if (!strncmp(opt, "lowerdir=", 9)) {
			/* Nearest first, as in the option. */
			for (const char *d = opt + 9; *d;) {
				size_t n = strcspn(d, ":");
				char path[4096];
				if (n >= sizeof(path))
					return rt_bad(e, "user namespace: a lower directory's path is too long");
				memcpy(path, d, n);
				path[n] = '\0';
				if (layers->n == RT_LAYERS_MAX)
					return rt_unsupported(e, "user namespace: more than %d layers", RT_LAYERS_MAX);
				int l = rt_detached_tree(path, userns, 0, 1, e);
				if (l < 0)
					return err_wrap(e, "user namespace: layer");
				layers->fd[layers->n++] = l;
				d += n + (d[n] == ':');
			}
		} else if (eq) {
			char key[64];
			size_t n = (size_t)(eq - opt);
			if (n >= sizeof(key))
				return rt_bad(e, "user namespace: overlay option \"%.60s\": unknown", opt);
			memcpy(key, opt, n);
			key[n] = '\0';
			if (!strcmp(key, "upperdir"))
				upper = eq + 1;
			if ((r = fs_set(fs, key, eq + 1, -1, e)) < 0)
				return r;
		} else if (strcmp(opt, "rw") && (r = fs_set(fs, opt, NULL, -1, e)) < 0) {
			return r;
		}
	}
	if (layers->n && (r = lowers_set(fs, layers, e)) < 0)
		return r;
	/* The root directory is the container root's, as it would be the
	   image's root's without a user namespace. */
	if (upper && chown(upper, root_uid, root_gid) < 0)
		return err_sys(e, errno, "user namespace: chown \"%s\"", upper);
	if (syscall(SYS_fsconfig, fs, RT_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return err_sys(e, errno, "user namespace: mount the overlay");
	return 0;
}

static int overlay_root(const char *rootfs, json_t *options, int userns, uid_t root_uid, gid_t root_gid,
			struct ember_error *e)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, "overlay", RT_FSOPEN_CLOEXEC);
	struct layers layers = { .n = 0 };
	unsigned attrs = 0;

	if ((size_t)snprintf(layers.base, sizeof(layers.base), "%s.lower", rootfs) >= sizeof(layers.base))
		return rt_bad(e, "user namespace: the rootfs path is too long");
	if (fs < 0)
		return err_sys(e, errno, "user namespace: fsopen overlay");
	int r = overlay_create(fs, options, userns, root_uid, root_gid, &layers, &attrs, e);
	if (r == 0 && (r = (int)syscall(SYS_fsmount, fs, RT_FSMOUNT_CLOEXEC, attrs)) < 0)
		r = err_sys(e, errno, "user namespace: fsmount the overlay");
	layers_close(&layers);
	return r;
}

int rt_userns_rootfs(const struct runtime_start *s, int userns, long long ru, long long rg, struct ember_error *e)
{
	/* A directory of the user's is bound as it is, as runc does (chown it
	   to the mapped ids): idmapped, what root writes there would be the
	   host's root's, and setuid binaries there anyone's way up. */
	if (!s->rootfs_mounts) {
		int fd = rt_detached_tree(s->rootfs, -1, 1, 0, e);
		return fd < 0 ? err_wrap(e, "user namespace: rootfs") : fd;
	}
	if (json_array_size(s->rootfs_mounts) != 1)
		return rt_unsupported(e, "user namespace: a rootfs of %zu mounts", json_array_size(s->rootfs_mounts));
	json_t *m = json_array_get(s->rootfs_mounts, 0);
	const char *type = json_string_value(json_object_get(m, "type")) ?: "";
	json_t *options = json_object_get(m, "options");
	if (!strcmp(type, "overlay"))
		return overlay_root(s->rootfs, options, userns, ru < 0 ? (uid_t)-1 : (uid_t)ru, rg < 0 ? (gid_t)-1 : (gid_t)rg, e);
	if (strcmp(type, "bind"))
		return rt_unsupported(e, "user namespace: a rootfs of type \"%s\"", type);
	int rdonly = 0;
	size_t i;
	json_t *o;
	json_array_foreach(options, i, o)
		if (json_is_string(o) && !strcmp(json_string_value(o), "ro"))
			rdonly = 1;
	/* A snapshot (native): in the root-only store, so ids shift both ways. */
	int fd = rt_detached_tree(json_string_value(json_object_get(m, "source")) ?: "", userns, 1, rdonly, e);
	return fd < 0 ? err_wrap(e, "user namespace: rootfs") : fd;
}

int rt_userns_new(json_t *lx, struct ember_error *e)
{
	return userns_make("user namespace", json_object_get(lx, "uidMappings"), json_object_get(lx, "gidMappings"), e);
}

/* ---- a user namespace joined by path ---- */

#define MAP_TEXT_MAX 8192 /* 340 lines of three numbers of up to 10 digits */

/* The maps of the user namespace at fd, as /proc shows them to the host,
   into uid and gid (MAP_TEXT_MAX each): read from a child that joins it.
   The child only makes system calls: the daemon has threads. */
static int joined_maps(int fd, char *uid, char *gid, struct ember_error *e)
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} ca = { .flags = 0x1000 /* CLONE_PIDFD */, .exit_signal = SIGCHLD };
	int sv[2], pidfd = -1, err = EIO, r = 0;
	char path[64];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(e, errno, "socketpair");
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		char c;
		close(sv[0]);
		int res = setns(fd, CLONE_NEWUSER) < 0 ? errno : 0;
		(void)!write(sv[1], &res, sizeof(res));
		(void)!read(sv[1], &c, 1); /* until the parent has read the maps */
		_exit(0);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return err_sys(e, errno, "clone");
	}
	if (read(sv[0], &err, sizeof(err)) != (ssize_t)sizeof(err))
		err = EIO;
	if (err)
		r = err_sys(e, err, "join it");
	for (int i = 0; r == 0 && i < 2; i++) {
		char *buf = i ? gid : uid;
		snprintf(path, sizeof(path), "/proc/%ld/%s", pid, i ? "gid_map" : "uid_map");
		int mfd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = mfd < 0 ? -1 : read(mfd, buf, MAP_TEXT_MAX - 1);
		if (n < 0)
			r = err_sys(e, errno, "read %s", path);
		else
			buf[n] = '\0';
		if (mfd >= 0)
			close(mfd);
	}
	close(sv[0]);
	siginfo_t si;
	while (waitid((idtype_t)3 /* P_PIDFD */, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	close(pidfd);
	return r;
}

/* Whether the spec's maps are the lines of text (in any order). */
static int maps_same(json_t *maps, const char *text)
{
	size_t lines = 0, i;
	json_t *m;

	for (const char *l = text; *l; l++)
		lines += *l == '\n';
	if (json_array_size(maps) != lines)
		return 0;
	json_array_foreach(maps, i, m) {
		unsigned long long c = (unsigned long long)json_integer_value(json_object_get(m, "containerID"));
		unsigned long long h = (unsigned long long)json_integer_value(json_object_get(m, "hostID"));
		unsigned long long n = (unsigned long long)json_integer_value(json_object_get(m, "size"));
		int found = 0;
		for (const char *l = text; *l && !found;) {
			unsigned long long lc, lh, ln;
			found = sscanf(l, "%llu %llu %llu", &lc, &lh, &ln) == 3 && lc == c && lh == h && ln == n;
			l += strcspn(l, "\n");
			l += *l == '\n';
		}
		if (!found)
			return 0;
	}
	return 1;
}

/* The host id of id 0 in a map's text; -1 when it has none. */
static long long text_zero(const char *text)
{
	for (const char *l = text; *l;) {
		unsigned long long c, h, n;
		if (sscanf(l, "%llu %llu %llu", &c, &h, &n) == 3 && c == 0 && n > 0)
			return (long long)h;
		l += strcspn(l, "\n");
		l += *l == '\n';
	}
	return -1;
}

int rt_userns_join(int fd, const char *path, json_t *lx, long long *uid, long long *gid, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	struct stat mine, its;

	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWUSER)
		return rt_bad(e, "namespace user: \"%s\" is not a user namespace", rt_quote(path, q));
	/* setns() refuses the namespace the caller is in already. */
	if (fstat(fd, &its) == 0 && stat("/proc/self/ns/user", &mine) == 0 && its.st_ino == mine.st_ino &&
	    its.st_dev == mine.st_dev)
		return rt_bad(e, "namespace user: \"%s\" is ember's own (leave the user namespace out)", rt_quote(path, q));
	char *text = malloc(2 * MAP_TEXT_MAX);
	if (!text)
		return rt_oom(e);
	int r = joined_maps(fd, text, text + MAP_TEXT_MAX, e);
	if (r < 0) {
		free(text);
		return err_wrap(e, "namespace user: \"%s\"", rt_quote(path, q));
	}
	json_t *um = json_object_get(lx, "uidMappings"), *gm = json_object_get(lx, "gidMappings");
	if (json_array_size(um) && (!maps_same(um, text) || !maps_same(gm, text + MAP_TEXT_MAX)))
		r = rt_bad(e, "spec: linux.uidMappings, linux.gidMappings: not those of the user namespace at \"%s\" "
			      "(give its own, or none)",
			   rt_quote(path, q));
	*uid = text_zero(text);
	*gid = text_zero(text + MAP_TEXT_MAX);
	free(text);
	return r;
}
