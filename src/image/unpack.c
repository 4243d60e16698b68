/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer unpack: an OCI layer changeset applied below a directory fd. The
 * rules are in image.h; the invariants that keep a hostile layer inside the
 * root are:
 *
 *   - names are normalised lexically and never contain "..";
 *   - every directory is opened from the root with no symlink followed
 *     (openat2 RESOLVE_NO_SYMLINKS, or a walk with O_NOFOLLOW), and every
 *     final component is handled by *at() calls that do not follow it;
 *   - an existing final component is removed, never written through;
 *   - nothing recurses on the C stack over input-shaped trees.
 */
#include "image/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <archive.h>
#include <archive_entry.h>

#include "image/image-internal.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#ifndef SYS_openat2
#define SYS_openat2 437 /* the same number on every architecture */
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef RESOLVE_NO_SYMLINKS
#define RESOLVE_NO_SYMLINKS 0x04
#endif
#ifndef RESOLVE_IN_ROOT
#define RESOLVE_IN_ROOT 0x10
#endif

/* What the path set and the deferred directory list may hold (names of a
   layer's entries): a bound on memory for hostile layers. */
#define UNPACK_MEM_MAX ((size_t)64 << 20)

#define OPAQUE_MARKER ".wh..wh..opq"
#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

int unpack_force_walk;
/* Set once openat2 turned out to be missing or filtered (a hint, so a race
   on it is harmless). */
static int openat2_missing;

/* Paths an entry of this layer created or passed through (DELETE mode):
   prefix-closed, so a directory is in it whenever anything below is. */
struct pathset {
	char **slot;
	size_t cap, n;
};

struct dirfix {
	char *path;
	mode_t mode;
	struct timespec ts[2];
};

struct unpack {
	int root;
	struct unpack_options o;
	struct ember_error *e;
	struct archive *a;
	struct layer_stream stream;
	struct ember_error stream_err;
	int stream_failed;
	int walk;
	uint64_t entries, xattrs_skipped;
	size_t mem;
	struct pathset seen;
	struct dirfix *dirs;
	size_t n_dirs, cap_dirs;
	const char *name;          /* the current entry's name, as in the layer */
	char prev[IMAGE_QUOTE_MAX]; /* the last entry's name, quoted */
	char path[UNPACK_PATH_MAX + 1];
	char parent[UNPACK_PATH_MAX + 1];
	char link[UNPACK_PATH_MAX + 1];
	char tparent[UNPACK_PATH_MAX + 1];
	char proc[UNPACK_PATH_MAX + 64];
};

/* ---- errors ---------------------------------------------------------------- */

static int entry_va(struct unpack *u, const char *api, int code, int sys, const char *fmt, va_list ap)
{
	char q[IMAGE_QUOTE_MAX], msg[EMBER_ERROR_MESSAGE_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (sys)
		return err_sys(u->e, code, "layer entry \"%s\": %s", image_quote(u->name, q), msg);
	return err_set_name(u->e, api, code, "layer entry \"%s\": %s", image_quote(u->name, q), msg);
}

/* What the layer says is wrong: io.ember.InvalidArgument. */
__attribute__((format(printf, 3, 4))) static int entry_bad(struct unpack *u, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = entry_va(u, EMBER_ERROR_INVALID_ARGUMENT, code, 0, fmt, ap);
	va_end(ap);
	return r;
}

/* The system failed (ENOSPC, EIO, EPERM...): ": strerror" appended. */
__attribute__((format(printf, 3, 4))) static int entry_sys(struct unpack *u, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = entry_va(u, NULL, code, 1, fmt, ap);
	va_end(ap);
	return r;
}

/* libarchive failed: our stream's own error when it was the cause. */
static int archive_failed(struct unpack *u, int in_entry)
{
	if (u->stream_failed) {
		*u->e = u->stream_err;
		return -u->e->code;
	}
	const char *msg = archive_error_string(u->a);
	if (!msg)
		msg = u->stream.done ? "truncated tar archive" : "damaged tar archive";
	if (in_entry)
		return entry_bad(u, EINVAL, "%s", msg);
	if (!u->entries && strstr(msg, "Unrecognized"))
		return image_bad(u->e, "layer: not a tar archive (%s)", msg);
	if (!u->entries)
		return image_bad(u->e, "layer: first entry: %s", msg);
	return image_bad(u->e, "layer: entry %llu, after \"%s\": %s", (unsigned long long)u->entries + 1, u->prev,
			 msg);
}

/* ---- names ----------------------------------------------------------------- */

/* A layer name as a path below the root: "a/b/c", "" for the root itself. */
static int normalize(struct unpack *u, const char *raw, const char *what, char *out)
{
	size_t n = 0;
	int depth = 0, dotdot = 0;

	for (const char *p = raw; *p;) {
		while (*p == '/')
			p++;
		const char *c = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - c);
		if (len == 0 || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			dotdot = 1;
			if (--depth < 0)
				return entry_bad(u, EXDEV, "%spath escapes the root", what);
			continue;
		}
		if (len > NAME_MAX)
			return entry_bad(u, ENAMETOOLONG, "%sname has a component longer than %d bytes", what, NAME_MAX);
		if (n + !!n + len > UNPACK_PATH_MAX)
			return entry_bad(u, ENAMETOOLONG, "%sname longer than %d bytes", what, UNPACK_PATH_MAX);
		if (n)
			out[n++] = '/';
		memcpy(out + n, c, len);
		n += len;
		depth++;
	}
	if (dotdot)
		return entry_bad(u, EINVAL, "%spath has a \"..\" component", what);
	out[n] = '\0';
	return 0;
}

/* Split path into its parent (copied to parent) and its last component. */
static const char *split(const char *path, char *parent)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		parent[0] = '\0';
		return path;
	}
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	return slash + 1;
}

/* dir/name into out (UNPACK_PATH_MAX + 1 bytes): its length, 0 when too long. */
static size_t join(char *out, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name), n = dl + !!dl + nl;

	if (n > UNPACK_PATH_MAX)
		return 0;
	memcpy(out, dir, dl);
	if (dl)
		out[dl] = '/';
	memcpy(out + dl + !!dl, name, nl + 1);
	return n;
}

/* ---- memory-bounded records ---------------------------------------------- */

static int mem_take(struct unpack *u, size_t n)
{
	if (n > UNPACK_MEM_MAX - u->mem)
		return err_set_name(u->e, EMBER_ERROR_INVALID_ARGUMENT, E2BIG,
				    "layer: more entries than the unpacker tracks (%zu MiB of names)",
				    UNPACK_MEM_MAX >> 20);
	u->mem += n;
	return 0;
}

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int set_has(const struct pathset *s, const char *p, size_t n)
{
	if (!s->cap)
		return 0;
	for (size_t i = hash(p, n) & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
		if (!strncmp(s->slot[i], p, n) && s->slot[i][n] == '\0')
			return 1;
	return 0;
}

static void set_place(char **slot, size_t cap, char *v)
{
	size_t i = hash(v, strlen(v)) & (cap - 1);

	while (slot[i])
		i = (i + 1) & (cap - 1);
	slot[i] = v;
}

static int set_add(struct unpack *u, const char *p, size_t n)
{
	struct pathset *s = &u->seen;

	if ((s->n + 1) * 10 > s->cap * 7) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		if (mem_take(u, (cap - s->cap) * sizeof(char *)) < 0)
			return -u->e->code;
		char **slot = calloc(cap, sizeof(char *));
		if (!slot)
			return err_set(u->e, ENOMEM, "out of memory");
		for (size_t i = 0; i < s->cap; i++)
			if (s->slot[i])
				set_place(slot, cap, s->slot[i]);
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	if (mem_take(u, n + 1) < 0)
		return -u->e->code;
	char *v = strndup(p, n);
	if (!v)
		return err_set(u->e, ENOMEM, "out of memory");
	set_place(s->slot, s->cap, v);
	s->n++;
	return 0;
}

/* Record path and every directory above it (DELETE mode only). */
static int set_add_all(struct unpack *u, const char *path)
{
	if (u->o.whiteouts != UNPACK_WHITEOUT_DELETE)
		return 0;
	for (size_t n = strlen(path); n > 0;) {
		if (set_has(&u->seen, path, n))
			return 0;
		if (set_add(u, path, n) < 0)
			return -u->e->code;
		while (n > 0 && path[n - 1] != '/')
			n--;
		if (n > 0)
			n--; /* the '/' */
	}
	return 0;
}

static void set_free(struct pathset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
}

/* ---- resolution ------------------------------------------------------------ */

/* Open the directory path ("" is the root) with flags (O_PATH or O_RDONLY)
   by opening one component at a time, never following a symlink; create
   makes missing directories (0755, tar's implicit parents). */
static int walk_dir(struct unpack *u, const char *path, int create, int flags)
{
	_cleanup_close_ int fd = openat(u->root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return entry_sys(u, errno, "open the root");
	for (const char *p = path; *p;) {
		const char *c = p;
		while (*p && *p != '/')
			p++;
		char comp[NAME_MAX + 1];
		size_t len = (size_t)(p - c);
		memcpy(comp, c, len);
		comp[len] = '\0';
		int prefix = (int)(p - path);
		if (*p == '/')
			p++;

		int next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) == 0) {
				/* The umask may have taken bits away. */
				_cleanup_close_ int t = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (t < 0 || fchmod(t, 0755) < 0)
					return entry_sys(u, errno, "create directory \"%.*s\"", prefix, path);
			} else if (errno != EEXIST) {
				return entry_sys(u, errno, "create directory \"%.*s\"", prefix, path);
			}
			next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			int saved = errno;
			struct stat st;
			if ((saved == ENOTDIR || saved == ELOOP) && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				if (S_ISLNK(st.st_mode))
					return entry_bad(u, ELOOP, "\"%.*s\" is a symbolic link (not followed)", prefix,
							 path);
				return entry_bad(u, ENOTDIR, "\"%.*s\" is not a directory", prefix, path);
			}
			return entry_sys(u, saved, "open \"%.*s\"", prefix, path);
		}
		close(fd);
		fd = next;
	}
	if (flags == O_PATH)
		return TAKE_FD(fd);
	int r = openat(fd, ".", flags | O_DIRECTORY | O_CLOEXEC);
	if (r < 0)
		return entry_sys(u, errno, "open \"%s\"", *path ? path : ".");
	return r;
}

/* The directory path below the root, as walk_dir() but in one openat2()
   where the kernel has it. Returns an fd or < 0 (e filled; -ENOENT when it
   is missing and create is 0). */
static int open_dir(struct unpack *u, const char *path, int create, int flags)
{
	if (!u->walk) {
		struct open_how how = {
			.flags = (uint64_t)(flags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
		};
		for (int i = 0; i < 8; i++) {
			long fd = syscall(SYS_openat2, u->root, *path ? path : ".", &how, sizeof(how));
			if (fd >= 0)
				return (int)fd;
			if (errno != EAGAIN && errno != EINTR)
				break;
		}
		/* Missing (ENOSYS: from now on), or refused by a seccomp filter
		   or an old kernel's flag check (this layer): walk. The walk
		   also explains ELOOP and ENOTDIR, and creates what ENOENT
		   says is missing. */
		if (errno == ENOSYS)
			openat2_missing = 1;
		if (errno == ENOSYS || errno == EPERM || errno == EINVAL || errno == E2BIG)
			u->walk = 1;
		else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP && errno != EAGAIN)
			return entry_sys(u, errno, "open \"%s\"", *path ? path : ".");
		else if (errno == ENOENT && !create)
			return entry_sys(u, ENOENT, "open \"%s\"", path);
	}
	return walk_dir(u, path, create, flags);
}

/* ---- removal --------------------------------------------------------------- */

struct level {
	dev_t dev;
	ino_t ino;
	char *name;
};

/* Empty the directory fd, depth first, without recursion and with one
   directory open at a time: go down by name, come back up by "..",
   checking that ".." is the directory we came from. Returns 0 or -errno. */
static int empty_dir(int top)
{
	struct level *stack = NULL;
	size_t depth = 0, cap = 0;
	int cur = fcntl(top, F_DUPFD_CLOEXEC, 0), r = 0;

	if (cur < 0)
		return -errno;
	for (;;) {
		int dfd = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
		if (!d) {
			r = -errno;
			close_keep_errno(dfd);
			break;
		}
		struct dirent *de;
		int down = 0, removed = 0;
		while (!down && (errno = 0, de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (unlinkat(cur, de->d_name, 0) == 0) {
				removed = 1;
				continue;
			}
			if (errno == ENOENT)
				continue;
			if (errno != EISDIR) {
				r = -errno;
				break;
			}
			if (unlinkat(cur, de->d_name, AT_REMOVEDIR) == 0) {
				removed = 1;
				continue;
			}
			if (errno == ENOENT)
				continue;
			if (errno != ENOTEMPTY && errno != EEXIST) {
				r = -errno;
				break;
			}
			struct stat st;
			int sub = openat(cur, de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 || fstat(cur, &st) < 0) {
				r = -errno;
				close_keep_errno(sub);
				break;
			}
			if (depth == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct level *ns = realloc(stack, ncap * sizeof(*ns));
				if (!ns) {
					r = -ENOMEM;
					close(sub);
					break;
				}
				stack = ns;
				cap = ncap;
			}
			stack[depth].dev = st.st_dev;
			stack[depth].ino = st.st_ino;
			stack[depth].name = strdup(de->d_name);
			if (!stack[depth].name) {
				r = -ENOMEM;
				close(sub);
				break;
			}
			depth++;
			close(cur);
			cur = sub;
			down = 1;
		}
		if (!down && !r && errno)
			r = -errno;
		closedir(d);
		if (r < 0)
			break;
		/* Down into a subdirectory; or read again what removals may
		   have hidden from this pass (readdir is unspecified there). */
		if (down || removed)
			continue;
		if (depth == 0)
			break;
		/* cur is empty: up to its parent and remove it there. */
		struct stat st;
		int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0 || fstat(up, &st) < 0) {
			r = -errno;
			close_keep_errno(up);
			break;
		}
		depth--;
		if (st.st_dev != stack[depth].dev || st.st_ino != stack[depth].ino) {
			r = -ESTALE; /* the tree moved under us */
			free(stack[depth].name);
			close(up);
			break;
		}
		close(cur);
		cur = up;
		int rm = unlinkat(cur, stack[depth].name, AT_REMOVEDIR);
		free(stack[depth].name);
		if (rm < 0 && errno != ENOENT) {
			r = -errno;
			break;
		}
	}
	while (depth > 0)
		free(stack[--depth].name);
	free(stack);
	close(cur);
	return r;
}

/* Remove dfd/name, a whole tree when it is a directory. Returns 0 or -errno. */
static int remove_tree(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return -errno;
	if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST)
		return -errno;
	_cleanup_close_ int fd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = empty_dir(fd);
	if (r < 0)
		return r;
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* ---- attributes ------------------------------------------------------------ */

static void entry_times(struct archive_entry *ent, struct timespec ts[2])
{
	ts[1].tv_sec = 0;
	ts[1].tv_nsec = UTIME_OMIT;
	if (archive_entry_mtime_is_set(ent)) {
		long ns = archive_entry_mtime_nsec(ent);
		ts[1].tv_sec = archive_entry_mtime(ent);
		ts[1].tv_nsec = ns < 0 || ns > 999999999 ? 0 : ns;
	}
	ts[0] = ts[1];
	if (archive_entry_atime_is_set(ent)) {
		long ns = archive_entry_atime_nsec(ent);
		ts[0].tv_sec = archive_entry_atime(ent);
		ts[0].tv_nsec = ns < 0 || ns > 999999999 ? 0 : ns;
	}
}

static int times_omitted(const struct timespec ts[2])
{
	return ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT;
}

/* chown to the entry's ids (same_owner): fd, else dfd/base not followed. */
static int set_owner(struct unpack *u, struct archive_entry *ent, int fd, int dfd, const char *base)
{
	if (!u->o.same_owner)
		return 0;
	la_int64_t uid = archive_entry_uid(ent), gid = archive_entry_gid(ent);
	/* (uid_t)-1 would mean "leave it". */
	if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
		return entry_bad(u, EINVAL, "uid/gid %lld:%lld out of range", (long long)uid, (long long)gid);
	int r = fd >= 0 ? fchown(fd, (uid_t)uid, (gid_t)gid)
			: fchownat(dfd, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		return entry_sys(u, errno, "chown to %lld:%lld", (long long)uid, (long long)gid);
	return 0;
}

/* The entry's xattrs: on fd, else on dfd/base (not followed) through
   /proc/self/fd, which is the only way to name a symlink or a device node
   relative to a directory fd. type is the file type (for the EPERM rule). */
static int set_xattrs(struct unpack *u, struct archive_entry *ent, int fd, int dfd, const char *base, mode_t type)
{
	const char *name;
	const void *value;
	size_t size;

	if (archive_entry_xattr_reset(ent) == 0)
		return 0;
	if (fd < 0)
		snprintf(u->proc, sizeof(u->proc), "/proc/self/fd/%d/%s", dfd, base);
	while (archive_entry_xattr_next(ent, &name, &value, &size) == ARCHIVE_OK) {
		/* A layer must not forge overlayfs metadata (redirects, opaque
		   bits, metacopy): only the unpacker writes those. */
		if (!strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13)) {
			u->xattrs_skipped++;
			continue;
		}
		int r = fd >= 0 ? fsetxattr(fd, name, value, size, 0) : lsetxattr(u->proc, name, value, size, 0);
		if (r == 0)
			continue;
		int privileged = !strncmp(name, "trusted.", 8) || !strncmp(name, "security.", 9);
		if (errno == ENOTSUP || errno == EOPNOTSUPP ||
		    (errno == EPERM && privileged && !u->o.same_owner) ||
		    (errno == EPERM && !strncmp(name, "user.", 5) && type != AE_IFREG && type != AE_IFDIR)) {
			u->xattrs_skipped++;
			continue;
		}
		char q[IMAGE_QUOTE_MAX];
		return entry_sys(u, errno, "set xattr %s", image_quote(name, q));
	}
	return 0;
}

static int set_opaque(struct unpack *u, int fd)
{
	if (fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
		return entry_sys(u, errno, "set " OVERLAY_OPAQUE_XATTR "%s",
				 errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
	return 0;
}

/* ---- entries --------------------------------------------------------------- */

/*
 * Make way at dfd/base for a new entry of type type: an existing directory
 * stays for a directory (*kept); anything else existing is removed, a tree
 * for a directory. *whiteout says that what was removed was a 0/0 char
 * device (an overlay whiteout of this layer).
 */
static int make_way(struct unpack *u, int dfd, const char *base, mode_t type, int *kept, int *whiteout)
{
	struct stat st;

	*kept = *whiteout = 0;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return entry_sys(u, errno, "stat");
	}
	if (S_ISDIR(st.st_mode) && type == AE_IFDIR) {
		*kept = 1;
		return 0;
	}
	*whiteout = S_ISCHR(st.st_mode) && st.st_rdev == 0;
	int r = remove_tree(dfd, base);
	if (r < 0)
		return entry_sys(u, -r, "remove the %s there", S_ISDIR(st.st_mode) ? "directory" : "file");
	return 0;
}

static int write_all_at(int fd, const char *p, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int write_data(struct unpack *u, int fd, int64_t size)
{
	int64_t end = 0;

	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(u->a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return archive_failed(u, 1);
		if (off < 0 || off > size || (int64_t)len > size - off)
			return entry_bad(u, EFBIG, "more data than the %lld bytes it declares", (long long)size);
		if (len && (r = write_all_at(fd, buf, len, off)) < 0)
			return entry_sys(u, -r, "write");
		if (off + (int64_t)len > end)
			end = off + (int64_t)len;
	}
	/* A sparse file may end in a hole. */
	if (end < size && ftruncate(fd, size) < 0)
		return entry_sys(u, errno, "truncate to %lld bytes", (long long)size);
	return 0;
}

static int do_file(struct unpack *u, struct archive_entry *ent, int dfd, const char *base)
{
	int kept, wh;
	int64_t size = archive_entry_size(ent);
	struct timespec ts[2];

	if (size < 0)
		return entry_bad(u, EINVAL, "negative size");
	if ((uint64_t)size > u->o.max_bytes)
		return entry_bad(u, EFBIG, "declares %lld bytes, more than the layer may expand to (%llu)",
				 (long long)size, (unsigned long long)u->o.max_bytes);
	if (make_way(u, dfd, base, AE_IFREG, &kept, &wh) < 0)
		return -u->e->code;
	_cleanup_close_ int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return entry_sys(u, errno, "create");
	if (write_data(u, fd, size) < 0 || set_owner(u, ent, fd, dfd, base) < 0 ||
	    set_xattrs(u, ent, fd, dfd, base, AE_IFREG) < 0)
		return -u->e->code;
	/* After chown and writes, which clear setuid, setgid and capabilities. */
	if (fchmod(fd, archive_entry_perm(ent) & 07777) < 0)
		return entry_sys(u, errno, "chmod");
	entry_times(ent, ts);
	if (!times_omitted(ts) && futimens(fd, ts) < 0)
		return entry_sys(u, errno, "set times");
	if (close(TAKE_FD(fd)) < 0)
		return entry_sys(u, errno, "write");
	return 0;
}

static int dirfix_add(struct unpack *u, const char *path, struct archive_entry *ent)
{
	if (u->n_dirs == u->cap_dirs) {
		size_t cap = u->cap_dirs ? u->cap_dirs * 2 : 64;
		if (mem_take(u, (cap - u->cap_dirs) * sizeof(struct dirfix)) < 0)
			return -u->e->code;
		struct dirfix *v = realloc(u->dirs, cap * sizeof(*v));
		if (!v)
			return err_set(u->e, ENOMEM, "out of memory");
		u->dirs = v;
		u->cap_dirs = cap;
	}
	struct dirfix *d = &u->dirs[u->n_dirs];
	if (mem_take(u, strlen(path) + 1) < 0)
		return -u->e->code;
	d->path = strdup(path);
	if (!d->path)
		return err_set(u->e, ENOMEM, "out of memory");
	d->mode = archive_entry_perm(ent) & 07777;
	entry_times(ent, d->ts);
	u->n_dirs++;
	return 0;
}

/* A directory: owner and xattrs now, mode and times at the end. dfd < 0
   is the root itself. */
static int do_dir(struct unpack *u, struct archive_entry *ent, int dfd, const char *base)
{
	int kept = 1, wh = 0;
	_cleanup_close_ int fd = -1;

	if (dfd < 0) {
		fd = openat(u->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		if (make_way(u, dfd, base, AE_IFDIR, &kept, &wh) < 0)
			return -u->e->code;
		if (!kept && mkdirat(dfd, base, 0700) < 0)
			return entry_sys(u, errno, "create directory");
		fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return entry_sys(u, errno, "open directory");
	if (set_owner(u, ent, fd, dfd, base) < 0 || set_xattrs(u, ent, fd, dfd, base, AE_IFDIR) < 0)
		return -u->e->code;
	/* A directory over this layer's whiteout replaces what was below. */
	if (wh && u->o.whiteouts == UNPACK_WHITEOUT_OVERLAY && set_opaque(u, fd) < 0)
		return -u->e->code;
	return dirfix_add(u, u->path, ent);
}

static int do_symlink(struct unpack *u, struct archive_entry *ent, int dfd, const char *base)
{
	int kept, wh;
	const char *target = archive_entry_symlink(ent);
	struct timespec ts[2];

	if (!target)
		target = archive_entry_symlink_utf8(ent);
	if (!target || !*target)
		return entry_bad(u, EINVAL, "symbolic link without a target");
	if (strlen(target) > UNPACK_PATH_MAX)
		return entry_bad(u, ENAMETOOLONG, "symbolic link target longer than %d bytes", UNPACK_PATH_MAX);
	if (make_way(u, dfd, base, AE_IFLNK, &kept, &wh) < 0)
		return -u->e->code;
	if (symlinkat(target, dfd, base) < 0)
		return entry_sys(u, errno, "create symbolic link");
	if (set_owner(u, ent, -1, dfd, base) < 0 || set_xattrs(u, ent, -1, dfd, base, AE_IFLNK) < 0)
		return -u->e->code;
	entry_times(ent, ts);
	if (!times_omitted(ts) && utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_sys(u, errno, "set times");
	return 0;
}

/* Char and block devices (devices), fifos, and nothing else. */
static int do_node(struct unpack *u, struct archive_entry *ent, int dfd, const char *base, mode_t type)
{
	int kept, wh;
	dev_t rdev = makedev(archive_entry_rdevmajor(ent), archive_entry_rdevminor(ent));
	struct timespec ts[2];

	if (type != AE_IFIFO && !u->o.devices)
		return entry_bad(u, EPERM, "%s device %u:%u not created: device nodes are not allowed here",
				 type == AE_IFCHR ? "character" : "block", major(rdev), minor(rdev));
	if (make_way(u, dfd, base, type, &kept, &wh) < 0)
		return -u->e->code;
	if (mknodat(dfd, base, type | 0600, type == AE_IFIFO ? 0 : rdev) < 0)
		return entry_sys(u, errno, "create %s", type == AE_IFIFO ? "fifo" : "device node");
	if (set_owner(u, ent, -1, dfd, base) < 0 || set_xattrs(u, ent, -1, dfd, base, type) < 0)
		return -u->e->code;
	if (fchmodat(dfd, base, archive_entry_perm(ent) & 07777, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_sys(u, errno, "chmod");
	entry_times(ent, ts);
	if (!times_omitted(ts) && utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_sys(u, errno, "set times");
	return 0;
}

static int do_hardlink(struct unpack *u, const char *raw_target, int dfd, const char *base)
{
	char q[IMAGE_QUOTE_MAX];
	struct stat tst, st;
	int kept, wh;

	if (normalize(u, raw_target, "hard link target: ", u->link) < 0)
		return -u->e->code;
	if (!u->link[0])
		return entry_bad(u, EPERM, "hard link to the root directory");
	const char *tbase = split(u->link, u->tparent);
	_cleanup_close_ int tdfd = open_dir(u, u->tparent, 0, O_PATH);
	if (tdfd < 0 && u->e->code == ENOENT)
		return entry_bad(u, ENOENT, "hard link target \"%s\" does not exist", image_quote(u->link, q));
	if (tdfd < 0)
		return -u->e->code;
	if (fstatat(tdfd, tbase, &tst, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return entry_bad(u, ENOENT, "hard link target \"%s\" does not exist", image_quote(u->link, q));
		return entry_sys(u, errno, "stat hard link target \"%s\"", image_quote(u->link, q));
	}
	if (S_ISDIR(tst.st_mode))
		return entry_bad(u, EPERM, "hard link to the directory \"%s\"", image_quote(u->link, q));
	/* Already that inode (a link to itself, or the same link twice). */
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == tst.st_dev && st.st_ino == tst.st_ino)
		return 0;
	if (make_way(u, dfd, base, AE_IFREG, &kept, &wh) < 0)
		return -u->e->code;
	if (linkat(tdfd, tbase, dfd, base, 0) < 0)
		return entry_sys(u, errno, "hard link to \"%s\"", image_quote(u->link, q));
	return 0;
}

/* ---- whiteouts ------------------------------------------------------------- */

struct worklist {
	char **v;
	size_t n, cap;
};

static int work_push(struct worklist *w, const char *p, size_t n)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		char **v = realloc(w->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	if (!(w->v[w->n] = strndup(p, n)))
		return -ENOMEM;
	w->n++;
	return 0;
}

static void work_free(struct worklist *w)
{
	while (w->n)
		free(w->v[--w->n]);
	free(w->v);
}

/* Read the names of directory fd (not "." or ".."). */
static int list_dir(int fd, struct worklist *names)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		close_keep_errno(dfd);
		return -errno;
	}
	while ((errno = 0, de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    (r = work_push(names, de->d_name, strlen(de->d_name))) < 0)
			break;
	if (!r && errno)
		r = -errno;
	closedir(d);
	return r;
}

/* DELETE: remove below the directory path whatever this layer did not
   create or pass through; descend (iteratively) into what it did. */
static int clear_lower(struct unpack *u, const char *path)
{
	struct worklist todo = { 0 }, names = { 0 };
	int r = work_push(&todo, path, strlen(path)) < 0 ? err_set(u->e, ENOMEM, "out of memory") : 0;

	while (!r && todo.n) {
		char *dir = todo.v[--todo.n];
		int fd = open_dir(u, dir, 0, O_PATH);
		if (fd < 0) {
			free(dir);
			r = -u->e->code;
			break;
		}
		if ((r = list_dir(fd, &names)) < 0)
			r = entry_sys(u, -r, "read directory \"%s\"", *dir ? dir : ".");
		size_t dlen = strlen(dir);
		for (size_t i = 0; !r && i < names.n; i++) {
			const char *name = names.v[i];
			size_t n = join(u->link, dir, name);
			int mine = n && set_has(&u->seen, u->link, n);
			struct stat st;
			if (!mine) {
				int rr = remove_tree(fd, name);
				if (rr < 0)
					r = entry_sys(u, -rr, "remove \"%s%s%s\"", dir, dlen ? "/" : "", name);
			} else if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
				   work_push(&todo, u->link, n) < 0) {
				r = err_set(u->e, ENOMEM, "out of memory");
			}
		}
		while (names.n)
			free(names.v[--names.n]);
		close(fd);
		free(dir);
	}
	work_free(&todo);
	work_free(&names);
	return r;
}

/* ".wh..wh..opq" in the directory dir. */
static int opaque(struct unpack *u, const char *dir)
{
	_cleanup_close_ int fd = open_dir(u, dir, 1, O_RDONLY);
	if (fd < 0)
		return -u->e->code;
	if (u->o.whiteouts == UNPACK_WHITEOUT_OVERLAY)
		return set_opaque(u, fd);
	if (set_add_all(u, dir) < 0)
		return -u->e->code;
	return clear_lower(u, dir);
}

/* An entry named parent/.wh.<something>. */
static int whiteout(struct unpack *u, const char *parent, const char *base)
{
	const char *name = base + strlen(WHITEOUT_PREFIX);
	struct stat st;

	if (!strcmp(base, OPAQUE_MARKER))
		return opaque(u, parent);
	if (!strncmp(base, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)))
		return 0; /* aufs metadata (.wh..wh.plnk, .wh..wh.aufs) */
	if (!fs_name_is_component(name))
		return entry_bad(u, EINVAL, "whiteout of no entry");
	/* The directory holding a whiteout exists in this layer. */
	_cleanup_close_ int dfd = open_dir(u, parent, 1, O_PATH);
	if (dfd < 0 || set_add_all(u, parent) < 0)
		return -u->e->code;

	if (u->o.whiteouts == UNPACK_WHITEOUT_OVERLAY) {
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			/* This layer has the name too: what it made hides the lower
			   one already, except that a directory must not merge. */
			if (!S_ISDIR(st.st_mode))
				return 0;
			_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				return entry_sys(u, errno, "open directory");
			return set_opaque(u, fd);
		}
		if (errno != ENOENT)
			return entry_sys(u, errno, "stat");
		if (mknodat(dfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
			return entry_sys(u, errno, "create whiteout");
		return 0;
	}

	size_t n = join(u->link, parent, name);
	if (n && set_has(&u->seen, u->link, n)) {
		/* Whiteouts apply to lower layers only. */
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			char *dir = strdup(u->link);
			if (!dir)
				return err_set(u->e, ENOMEM, "out of memory");
			int r = clear_lower(u, dir);
			free(dir);
			return r;
		}
		return 0;
	}
	int r = remove_tree(dfd, name);
	if (r < 0)
		return entry_sys(u, -r, "remove \"%s\"", name);
	return 0;
}

/* ---- the layer ------------------------------------------------------------- */

static int apply_entry(struct unpack *u, struct archive_entry *ent)
{
	const char *raw = archive_entry_pathname(ent);

	if (!raw)
		raw = archive_entry_pathname_utf8(ent);
	u->name = raw ? raw : "?";
	if (!raw)
		return entry_bad(u, EINVAL, "unreadable name");
	if (normalize(u, raw, "", u->path) < 0)
		return -u->e->code;
	const char *base = split(u->path, u->parent);
	const char *hardlink = archive_entry_hardlink(ent);
	if (!hardlink)
		hardlink = archive_entry_hardlink_utf8(ent);
	mode_t type = archive_entry_filetype(ent);

	if (!strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)))
		return whiteout(u, u->parent, base);
	if (!u->path[0]) {
		if (type != AE_IFDIR || hardlink)
			return entry_bad(u, EINVAL, "names the root directory, and is not a directory");
		return do_dir(u, ent, -1, NULL);
	}
	_cleanup_close_ int dfd = open_dir(u, u->parent, 1, O_PATH);
	if (dfd < 0)
		return -u->e->code;
	int r;
	if (hardlink)
		r = do_hardlink(u, hardlink, dfd, base);
	else if (type == AE_IFREG)
		r = do_file(u, ent, dfd, base);
	else if (type == AE_IFDIR)
		r = do_dir(u, ent, dfd, base);
	else if (type == AE_IFLNK)
		r = do_symlink(u, ent, dfd, base);
	else if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO)
		r = do_node(u, ent, dfd, base, type);
	else
		r = entry_bad(u, ENOTSUP, "unsupported entry type (mode %#o)", (unsigned)type);
	if (r < 0)
		return r;
	return set_add_all(u, u->path);
}

/* Directory modes and times, now that nothing more is written below them.
   A directory a later entry removed or replaced is skipped. */
static int fix_dirs(struct unpack *u)
{
	for (size_t i = 0; i < u->n_dirs; i++) {
		struct dirfix *d = &u->dirs[i];
		u->name = *d->path ? d->path : ".";
		int fd = open_dir(u, d->path, 0, O_RDONLY);
		if (fd < 0) {
			int code = u->e->code;
			if (code == ENOENT || code == ENOTDIR || code == ELOOP)
				continue;
			return -code;
		}
		int r = fchmod(fd, d->mode);
		if (r == 0 && !times_omitted(d->ts))
			r = futimens(fd, d->ts);
		if (r < 0)
			r = entry_sys(u, errno, "set mode and times");
		close(fd);
		if (r < 0)
			return r;
	}
	return 0;
}

static la_ssize_t read_cb(struct archive *a, void *userdata, const void **buf)
{
	struct unpack *u = userdata;
	if (u->o.cancelled && u->o.cancelled(u->o.cancel_arg)) {
		err_set_name(&u->stream_err, EMBER_ERROR_CANCELED, ECANCELED, "cancelled");
		u->stream_failed = 1;
		archive_set_error(a, ECANCELED, "cancelled");
		return -1;
	}
	ssize_t n = layer_stream_read(&u->stream, buf, &u->stream_err);

	if (n < 0) {
		u->stream_failed = 1;
		archive_set_error(a, u->stream_err.code, "%s", u->stream_err.message);
		return -1;
	}
	return n;
}

static int run(struct unpack *u, int layer_fd, struct unpack_stats *st)
{
	struct archive_entry *ent;
	const void *buf;
	ssize_t n;

	if (layer_stream_open(&u->stream, layer_fd, u->o.compression, u->o.max_bytes, u->e) < 0)
		return -u->e->code;
	u->a = archive_read_new();
	if (!u->a)
		return err_set(u->e, ENOMEM, "out of memory");
	/* tar only: the stream is decompressed already. */
	if (archive_read_support_format_tar(u->a) != ARCHIVE_OK ||
	    archive_read_open(u->a, u, NULL, read_cb, NULL) != ARCHIVE_OK)
		return archive_failed(u, 0);
	for (;;) {
		int r = archive_read_next_header(u->a, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return archive_failed(u, 0);
		if (apply_entry(u, ent) < 0)
			return -u->e->code;
		u->entries++;
		image_quote(u->name, u->prev);
	}
	/* The rest of the stream (padding to the record size, whatever
	   follows): the diff ID covers it. */
	while ((n = layer_stream_read(&u->stream, &buf, u->e)) > 0)
		;
	if (n < 0)
		return (int)n;
	if (fix_dirs(u) < 0)
		return -u->e->code;
	if (st) {
		st->entries = u->entries;
		st->bytes = u->stream.bytes;
		st->xattrs_skipped = u->xattrs_skipped;
		digest_final(&u->stream.digest, st->diff_id);
	}
	return 0;
}

int image_unpack(int layer_fd, int root_fd, const struct unpack_options *o, struct unpack_stats *st,
		 struct ember_error *e)
{
	struct unpack *u = calloc(1, sizeof(*u));

	if (!u)
		return err_set(e, ENOMEM, "out of memory");
	u->root = root_fd;
	u->e = e;
	u->walk = unpack_force_walk || openat2_missing;
	if (o)
		u->o = *o;
	else
		u->o.compression = UNPACK_COMPRESSION_SNIFF;
	if (!u->o.max_bytes)
		u->o.max_bytes = UNPACK_DEFAULT_MAX_BYTES;
	u->name = "?";

	int r = run(u, layer_fd, st);

	if (u->a)
		archive_read_free(u->a);
	layer_stream_done(&u->stream);
	set_free(&u->seen);
	for (size_t i = 0; i < u->n_dirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
	free(u);
	return r;
}
