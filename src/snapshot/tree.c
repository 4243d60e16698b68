/* SPDX-License-Identifier: Apache-2.0 */
/* Whole trees: the native snapshotter's copy, usage, and chain IDs. */
#include "snapshot/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>


#include "util/cleanup.h"
#include "util/digest.h"
#include "util/err.h"

#ifndef FICLONE
#define FICLONE 0x40049409 /* _IOW(0x94, 9, int): linux/fs.h clashes with libc headers */
#endif

#define TREE_DEPTH_MAX 4096
#define XATTR_LIST_MAX_ 65536

/* ---- copy ------------------------------------------------------------------- */

struct link {
	dev_t dev;
	ino_t ino;
	char *path; /* relative to the destination root */
};

struct copy {
	int dst_root;
	struct link *links;
	size_t n_links, cap_links;
	char path[PATH_MAX];
	size_t path_len;
};

static int copy_xattrs(int src_dir, int dst_dir, const char *name, struct ember_error *e)
{
	char sp[64 + NAME_MAX], dp[64 + NAME_MAX];
	/* Through /proc/self/fd so that symlinks and devices are not followed or opened. */
	snprintf(sp, sizeof(sp), "/proc/self/fd/%d/%s", src_dir, name);
	snprintf(dp, sizeof(dp), "/proc/self/fd/%d/%s", dst_dir, name);
	ssize_t n = llistxattr(sp, NULL, 0);
	if (n <= 0)
		return n < 0 && errno != ENOTSUP ? err_sys(e, errno, "list xattrs of %s", name) : 0;
	_cleanup_free_ char *list = malloc((size_t)n);
	_cleanup_free_ char *val = malloc(XATTR_LIST_MAX_);
	if (!list || !val)
		return err_set(e, ENOMEM, "out of memory");
	n = llistxattr(sp, list, (size_t)n);
	if (n < 0)
		return err_sys(e, errno, "list xattrs of %s", name);
	for (char *k = list; k < list + n; k += strlen(k) + 1) {
		ssize_t v = lgetxattr(sp, k, val, XATTR_LIST_MAX_);
		if (v < 0) {
			if (errno == ENODATA)
				continue;
			return err_sys(e, errno, "read xattr %s of %s", k, name);
		}
		if (lsetxattr(dp, k, val, (size_t)v, 0) < 0 && errno != ENOTSUP)
			return err_sys(e, errno, "set xattr %s on %s", k, name);
	}
	return 0;
}

/* Owner, xattrs, then mode (chown clears setuid) and times. */
static int copy_meta(int src_dir, int dst_dir, const char *name, const struct stat *st, struct ember_error *e)
{
	if (fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, errno, "chown %s", name);
	if (copy_xattrs(src_dir, dst_dir, name, e) < 0)
		return -e->code;
	if (!S_ISLNK(st->st_mode) && fchmodat(dst_dir, name, st->st_mode & 07777, 0) < 0)
		return err_sys(e, errno, "chmod %s", name);
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (utimensat(dst_dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, errno, "set the times of %s", name);
	return 0;
}

static int copy_data(int in, int out, const char *name, struct ember_error *e)
{
	if (ioctl(out, FICLONE, in) == 0)
		return 0;
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return err_sys(e, errno, "copy %s", name);
		break;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, errno, "read %s", name);
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return err_sys(e, errno, "write %s", name);
			}
			off += w;
		}
	}
}

static struct link *find_link(struct copy *c, const struct stat *st)
{
	for (size_t i = 0; i < c->n_links; i++)
		if (c->links[i].ino == st->st_ino && c->links[i].dev == st->st_dev)
			return &c->links[i];
	return NULL;
}

static int remember_link(struct copy *c, const struct stat *st, struct ember_error *e)
{
	if (c->n_links == c->cap_links) {
		size_t cap = c->cap_links ? c->cap_links * 2 : 32;
		struct link *v = realloc(c->links, cap * sizeof(*v));
		if (!v)
			return err_set(e, ENOMEM, "out of memory");
		c->links = v;
		c->cap_links = cap;
	}
	char *p = strdup(c->path);
	if (!p)
		return err_set(e, ENOMEM, "out of memory");
	c->links[c->n_links++] = (struct link){ st->st_dev, st->st_ino, p };
	return 0;
}

static int copy_dir(struct copy *c, int src, int dst, int depth, struct ember_error *e);

static int copy_entry(struct copy *c, int src, int dst, const char *name, int depth, struct ember_error *e)
{
	struct stat st;

	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, errno, "stat %s", name);
	size_t saved = c->path_len;
	int n = snprintf(c->path + saved, sizeof(c->path) - saved, "%s%s", saved ? "/" : "", name);
	if (n < 0 || (size_t)n >= sizeof(c->path) - saved)
		return err_set(e, ENAMETOOLONG, "a path below %.100s is too long", c->path);
	c->path_len += (size_t)n;
	int r = 0;
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		struct link *l = find_link(c, &st);
		if (l) {
			if (linkat(c->dst_root, l->path, dst, name, 0) < 0)
				r = err_sys(e, errno, "link %s", c->path);
			goto out;
		}
		if ((r = remember_link(c, &st, e)) < 0)
			goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dst, name, 0700) < 0) {
			r = err_sys(e, errno, "create directory %s", c->path);
			goto out;
		}
		int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int d = s < 0 ? -1 : openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0) {
			r = err_sys(e, errno, "open directory %s", c->path);
			close_keep_errno(s);
			goto out;
		}
		r = copy_dir(c, s, d, depth + 1, e);
		close(s);
		close(d);
	} else if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0) {
			r = err_sys(e, errno, "open %s", c->path);
			goto out;
		}
		_cleanup_close_ int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0) {
			r = err_sys(e, errno, "create %s", c->path);
			goto out;
		}
		r = copy_data(in, out, c->path, e);
	} else if (S_ISLNK(st.st_mode)) {
		/* On the heap: this frame is one per directory level. */
		_cleanup_free_ char *target = malloc(PATH_MAX);
		ssize_t len = target ? readlinkat(src, name, target, PATH_MAX - 1) : -1;
		if (len < 0) {
			r = target ? err_sys(e, errno, "read link %s", c->path) : err_set(e, ENOMEM, "out of memory");
			goto out;
		}
		target[len] = '\0';
		if (symlinkat(target, dst, name) < 0)
			r = err_sys(e, errno, "create symlink %s", c->path);
	} else if (mknodat(dst, name, st.st_mode & S_IFMT, st.st_rdev) < 0) {
		r = err_sys(e, errno, "create %s", c->path);
	}
	if (r == 0)
		r = copy_meta(src, dst, name, &st, e);
out:
	c->path_len = saved;
	c->path[saved] = '\0';
	return r;
}

static int copy_dir(struct copy *c, int src, int dst, int depth, struct ember_error *e)
{
	if (depth > TREE_DEPTH_MAX)
		return err_set(e, ELOOP, "the tree is more than %d directories deep", TREE_DEPTH_MAX);
	int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		close_keep_errno(fd);
		return err_sys(e, errno, "read directory %s", c->path_len ? c->path : ".");
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = copy_entry(c, src, dst, de->d_name, depth, e);
	if (r == 0 && errno)
		r = err_sys(e, errno, "read directory %s", c->path_len ? c->path : ".");
	closedir(d);
	return r;
}

int snapshot_tree_copy(int src_fd, int dst_fd, struct ember_error *e)
{
	struct copy c = { .dst_root = dst_fd };
	struct stat st;

	int r = copy_dir(&c, src_fd, dst_fd, 0, e);
	/* The root's own owner, mode, xattrs and times. */
	if (r == 0 && fstat(src_fd, &st) == 0) {
		if (fchown(dst_fd, st.st_uid, st.st_gid) < 0 || fchmod(dst_fd, st.st_mode & 07777) < 0)
			r = err_sys(e, errno, "set the owner and mode of the tree");
		else if ((r = copy_xattrs(src_fd, dst_fd, ".", e)) == 0) {
			struct timespec ts[2] = { st.st_atim, st.st_mtim };
			if (futimens(dst_fd, ts) < 0)
				r = err_sys(e, errno, "set the times of the tree");
		}
	}
	for (size_t i = 0; i < c.n_links; i++)
		free(c.links[i].path);
	free(c.links);
	return r;
}

/* ---- usage ------------------------------------------------------------------- */

struct usage_ctx {
	struct snapshot_usage *u;
	ino_t *seen; /* inodes with more than one link, counted once */
	size_t n_seen, cap_seen;
};

static int usage_dir(struct usage_ctx *uc, int fd, int depth, struct ember_error *e)
{
	if (depth > TREE_DEPTH_MAX)
		return err_set(e, ELOOP, "the tree is more than %d directories deep", TREE_DEPTH_MAX);
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		close_keep_errno(dfd);
		return err_sys(e, errno, "read a snapshot directory");
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = err_sys(e, errno, "stat %s", de->d_name);
			break;
		}
		if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
			int dup = 0;
			for (size_t i = 0; i < uc->n_seen && !dup; i++)
				dup = uc->seen[i] == st.st_ino;
			if (dup)
				continue;
			if (uc->n_seen == uc->cap_seen) {
				size_t cap = uc->cap_seen ? uc->cap_seen * 2 : 64;
				ino_t *v = realloc(uc->seen, cap * sizeof(*v));
				if (!v) {
					r = err_set(e, ENOMEM, "out of memory");
					break;
				}
				uc->seen = v;
				uc->cap_seen = cap;
			}
			uc->seen[uc->n_seen++] = st.st_ino;
		}
		uc->u->inodes++;
		uc->u->bytes += (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				r = err_sys(e, errno, "open %s", de->d_name);
				break;
			}
			r = usage_dir(uc, sub, depth + 1, e);
			close(sub);
		}
	}
	closedir(d);
	return r;
}

int snapshot_tree_usage(int fd, struct snapshot_usage *u, struct ember_error *e)
{
	struct usage_ctx uc = { .u = u };

	memset(u, 0, sizeof(*u));
	int r = usage_dir(&uc, fd, 0, e);
	free(uc.seen);
	return r < 0 ? err_wrap(e, "measure a snapshot") : 0;
}
