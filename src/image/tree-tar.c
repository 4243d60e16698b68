/* SPDX-License-Identifier: Apache-2.0 */
/* A directory tree as a tar stream: a checkpoint's CRIU images, and a
   container's overlay upper directory as an OCI layer changeset. */
#include "image/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/cleanup.h"
#include "util/err.h"

#define TREE_DEPTH_MAX 128

struct link_seen {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct tree_tar {
	struct archive *a;
	unsigned flags;
	image_tar_write_fn write;
	void *userdata;
	struct ember_error *e;
	int failed; /* the write callback failed: e holds why */
	struct link_seen *links;
	size_t n_links;
};

static la_ssize_t write_cb(struct archive *a, void *userdata, const void *buf, size_t len)
{
	struct tree_tar *t = userdata;

	(void)a;
	if (t->write(buf, len, t->userdata, t->e) < 0) {
		t->failed = 1;
		return -1;
	}
	return (la_ssize_t)len;
}

static int aerr(struct tree_tar *t, const char *path)
{
	if (t->failed)
		return -t->e->code;
	return err_set(t->e, EIO, "tar %s: %s", path, archive_error_string(t->a) ? archive_error_string(t->a) : "?");
}

static struct archive_entry *entry_new(const char *path, const struct stat *st)
{
	struct archive_entry *en = archive_entry_new();
	if (!en)
		return NULL;
	archive_entry_set_pathname(en, path);
	archive_entry_set_mode(en, st->st_mode);
	archive_entry_set_uid(en, st->st_uid);
	archive_entry_set_gid(en, st->st_gid);
	archive_entry_set_mtime(en, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	return en;
}

/* A header without content: a whiteout, or the opaque marker. */
static int put_marker(struct tree_tar *t, const char *dir, const char *name)
{
	char path[UNPACK_PATH_MAX + 1];
	struct stat st = { .st_mode = S_IFREG | 0600 };

	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", dir, *dir ? "/" : "", name) >= sizeof(path))
		return err_set(t->e, ENAMETOOLONG, "tar: %s/%s: name too long", dir, name);
	struct archive_entry *en = entry_new(path, &st);
	if (!en)
		return err_set(t->e, ENOMEM, "out of memory");
	archive_entry_set_size(en, 0);
	int r = archive_write_header(t->a, en) == ARCHIVE_OK ? 0 : aerr(t, path);
	archive_entry_free(en);
	return r;
}

static int put_content(struct tree_tar *t, int dir, const char *name, const char *path)
{
	char buf[64 << 10];
	_cleanup_close_ int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_sys(t->e, errno, "tar: %s", path);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(t->a, buf, (size_t)n) != n)
			return aerr(t, path);
	return n < 0 ? err_sys(t->e, errno, "tar: %s", path) : 0;
}

/* A second name of an inode already written: a hard link to the first. */
static const char *link_target(struct tree_tar *t, const struct stat *st, const char *path)
{
	for (size_t i = 0; i < t->n_links; i++)
		if (t->links[i].dev == st->st_dev && t->links[i].ino == st->st_ino)
			return t->links[i].path;
	struct link_seen *v = realloc(t->links, (t->n_links + 1) * sizeof(*v));
	if (v) {
		t->links = v;
		v[t->n_links] = (struct link_seen){ st->st_dev, st->st_ino, strdup(path) };
		if (v[t->n_links].path)
			t->n_links++;
	}
	return NULL;
}

static int put_tree(struct tree_tar *t, int dir, const char *prefix, int depth);

static int put_one(struct tree_tar *t, int dir, const char *prefix, const char *name, int depth)
{
	char path[UNPACK_PATH_MAX + 1], target[UNPACK_PATH_MAX + 1];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "/" : "", name) >= sizeof(path))
		return err_set(t->e, ENAMETOOLONG, "tar: %s/%s: name too long", prefix, name);
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(t->e, errno, "tar: %s", path);
	/* overlayfs says "deleted" with a 0/0 character device: OCI with .wh.<name>. */
	if ((t->flags & IMAGE_TAR_OVERLAY) && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
		char wh[NAME_MAX + 8];
		snprintf(wh, sizeof(wh), ".wh.%s", name);
		return put_marker(t, prefix, wh);
	}
	struct archive_entry *en = entry_new(path, &st);
	if (!en)
		return err_set(t->e, ENOMEM, "out of memory");
	int r = 0, content = 0;
	const char *hard = NULL;
	if (S_ISREG(st.st_mode) && st.st_nlink > 1)
		hard = link_target(t, &st, path);
	if (hard) {
		archive_entry_set_hardlink(en, hard);
		archive_entry_set_size(en, 0);
	} else if (S_ISREG(st.st_mode)) {
		archive_entry_set_size(en, st.st_size);
		content = st.st_size > 0;
	} else if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dir, name, target, sizeof(target) - 1);
		if (n < 0)
			r = err_sys(t->e, errno, "tar: %s", path);
		target[n < 0 ? 0 : n] = 0;
		archive_entry_set_symlink(en, target);
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		archive_entry_set_rdevmajor(en, major(st.st_rdev));
		archive_entry_set_rdevminor(en, minor(st.st_rdev));
	} else if (!S_ISDIR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		r = err_unsupported(t->e, "tar: %s: a socket or another file type a tar cannot hold", path);
	}
	if (r == 0 && archive_write_header(t->a, en) != ARCHIVE_OK)
		r = aerr(t, path);
	archive_entry_free(en);
	if (r == 0 && content)
		r = put_content(t, dir, name, path);
	if (r < 0 || !S_ISDIR(st.st_mode))
		return r;
	if (depth >= TREE_DEPTH_MAX)
		return err_set(t->e, ELOOP, "tar: %s: more than %d directories deep", path, TREE_DEPTH_MAX);
	_cleanup_close_ int sub = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return err_sys(t->e, errno, "tar: %s", path);
	/* An opaque directory hides its lower namesakes: OCI's .wh..wh..opq. */
	char v[2];
	if ((t->flags & IMAGE_TAR_OVERLAY) && fgetxattr(sub, "trusted.overlay.opaque", v, sizeof(v)) == 1 &&
	    v[0] == 'y' && (r = put_marker(t, path, ".wh..wh..opq")) < 0)
		return r;
	return put_tree(t, sub, path, depth + 1);
}

static int put_tree(struct tree_tar *t, int dir, const char *prefix, int depth)
{
	int fd = fcntl(dir, F_DUPFD_CLOEXEC, 3);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		close_keep_errno(fd);
		return err_sys(t->e, errno, "tar: %s", *prefix ? prefix : ".");
	}
	/* A duplicate shares the caller's offset: from the start. */
	rewinddir(d);
	while (r == 0 && (errno = 0, de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = put_one(t, dir, prefix, de->d_name, depth);
	if (r == 0 && errno)
		r = err_sys(t->e, errno, "tar: %s", *prefix ? prefix : ".");
	closedir(d);
	return r;
}

int image_tar_tree(int dir_fd, unsigned flags, image_tar_write_fn write, void *userdata, struct ember_error *e)
{
	struct tree_tar t = { .flags = flags, .write = write, .userdata = userdata, .e = e };
	int r;

	t.a = archive_write_new();
	if (!t.a)
		return err_set(e, ENOMEM, "out of memory");
	if (archive_write_set_format_pax_restricted(t.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t.a, 1) != ARCHIVE_OK ||
	    archive_write_open2(t.a, &t, NULL, write_cb, NULL, NULL) != ARCHIVE_OK)
		r = aerr(&t, "open");
	else
		r = put_tree(&t, dir_fd, "", 0);
	if (r == 0 && archive_write_close(t.a) != ARCHIVE_OK)
		r = aerr(&t, "close");
	archive_write_free(t.a);
	for (size_t i = 0; i < t.n_links; i++)
		free(t.links[i].path);
	free(t.links);
	return r;
}
