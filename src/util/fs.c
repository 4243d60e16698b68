/* SPDX-License-Identifier: Apache-2.0 */
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/err.h"

void fs_random_suffix(char out[13])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[6];

	if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != (ssize_t)sizeof(raw)) {
		/* Early boot without entropy: uniqueness only needs pid, time to the
		   nanosecond and where this call's frame is. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned long v = (unsigned long)getpid() * 2654435761u ^ (unsigned long)ts.tv_nsec * 40503u ^
				  (unsigned long)ts.tv_sec ^ (unsigned long)(uintptr_t)&ts;
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)(v >> (i * 8));
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[12] = '\0';
}

int fs_name_is_component(const char *name)
{
	return name[0] && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_fsync_dir(int dirfd, const char *what, struct ember_error *e)
{
	if (fsync(dirfd) < 0)
		return err_sys(e, errno, "fsync directory %s", what);
	return 0;
}

static int write_renamed(int dirfd, const char *name, const void *data, size_t len, mode_t mode, int durable,
			 struct ember_error *e)
{
	char tmp[NAME_MAX + 1];
	char suffix[13];
	int r;

	/* The temporary file must sit in the same directory as the target. */
	if (!fs_name_is_component(name))
		return err_set(e, EINVAL, "write %s: not a file name in its directory", name);
	fs_random_suffix(suffix);
	if ((size_t)snprintf(tmp, sizeof(tmp), FS_TMP_PREFIX "%s-%.180s", suffix, name) >= sizeof(tmp))
		return err_set(e, ENAMETOOLONG, "write %s: name too long", name);

	_cleanup_close_ int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return err_sys(e, errno, "create %s", tmp);
	r = write_all(fd, data, len);
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return err_sys(e, -r, "write %s", name);
	}
	if (durable && fsync(dirfd) < 0)
		return err_sys(e, errno, "write %s: fsync directory", name);
	return 0;
}

int fs_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		    struct ember_error *e)
{
	return write_renamed(dirfd, name, data, len, mode, 1, e);
}

int fs_write_path(const char *path, const void *data, size_t len, mode_t mode, struct ember_error *e)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];

	if (!*path || (slash && !slash[1]))
		return err_set(e, EINVAL, "\"%.80s\": not a file name", path);
	if (slash && (size_t)(slash - path) >= sizeof(dir))
		return err_set(e, ENAMETOOLONG, "%.80s...: name too long", path);
	/* "/pid" is in "/", "pid" in ".". */
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + (slash == path) : 1, slash ? path : ".");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(e, errno, "%s", path);
	int r = fs_write_atomic(dfd, slash ? slash + 1 : path, data, len, mode, e);
	close_keep_errno(dfd);
	return r < 0 ? err_wrap(e, "%s", path) : 0;
}

int fs_replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode, struct ember_error *e)
{
	return write_renamed(dirfd, name, data, len, mode, 0, e);
}

int fs_read_file(int dirfd, const char *name, size_t max, char **data, size_t *len,
		 struct ember_error *e)
{
	struct stat st;
	size_t got = 0;

	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_sys(e, errno, "open %s", name);
	if (fstat(fd, &st) < 0)
		return err_sys(e, errno, "stat %s", name);
	if (!S_ISREG(st.st_mode))
		return err_set(e, EINVAL, "read %s: not a regular file", name);
	if ((size_t)st.st_size > max)
		return err_set(e, E2BIG, "read %s: %lld bytes is over the limit of %zu",
			       name, (long long)st.st_size, max);

	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return err_set(e, ENOMEM, "read %s: out of memory", name);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, errno, "read %s", name);
		}
		if (n == 0)
			break; /* shrank meanwhile: take what is there */
		got += (size_t)n;
	}
	buf[got] = '\0';
	*data = TAKE_PTR(buf);
	if (len)
		*len = got;
	return 0;
}

int fs_mkdir_p(const char *path, mode_t mode, struct ember_error *e)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return err_set(e, ENAMETOOLONG, "create directory \"%s\": bad length", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return err_sys(e, errno, "create directory %s", buf);
		*p = saved;
		if (saved == '\0')
			break;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return err_sys(e, errno, "stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ENOTDIR, "%s exists and is not a directory", path);
	return 0;
}

DIR *fs_opendir_at(int dirfd, const char *name)
{
	/* A fresh open file description: its offset is not shared with dirfd. */
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close_keep_errno(fd);
	return d;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void fs_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int fs_list_names(int dirfd, char ***names, size_t *n, struct ember_error *e)
{
	DIR *d = fs_opendir_at(dirfd, ".");
	struct dirent *de;
	char **v = NULL;
	size_t k = 0, cap = 0;
	int r = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return err_sys(e, errno, "read the directory");
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (k == cap) {
			char **grown = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!grown) {
				r = err_set(e, ENOMEM, "out of memory");
				break;
			}
			v = grown;
		}
		if (!(v[k] = strdup(de->d_name)))
			r = err_set(e, ENOMEM, "out of memory");
		else
			k++;
	}
	if (r == 0 && errno)
		r = err_sys(e, errno, "read the directory");
	closedir(d);
	if (r < 0) {
		fs_names_free(v, k);
		return r;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_names);
	*names = v;
	*n = k;
	return 0;
}

int fs_open_dir(int dirfd, const char *name, int create, mode_t mode, struct ember_error *e)
{
	int fd;

	if (create && mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return err_sys(e, errno, "create directory %s", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_sys(e, errno, "open directory %s", name);
	return fd;
}

/* Directories deeper than this are moved up into the top directory and
   removed by the next pass, so a tree of any depth (an unpacked layer may
   nest 2000 levels) is removed with a bounded number of open descriptors. */
#define REMOVE_DEPTH 48

struct remove_ctx {
	int top;      /* the directory being emptied */
	dev_t dev;    /* its file system */
	int deferred; /* subtrees moved up during this pass */
};

static int remove_children(int fd, int depth, struct remove_ctx *rc, struct ember_error *e)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		int saved = errno;
		close(fd);
		return err_sys(e, saved, "read directory");
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			r = err_sys(e, errno, "remove %s", de->d_name);
			break;
		}
		if (depth >= REMOVE_DEPTH) {
			char up[32], suffix[13];
			fs_random_suffix(suffix);
			snprintf(up, sizeof(up), FS_TMP_PREFIX "deep-%s", suffix);
			if (renameat(dirfd(d), de->d_name, rc->top, up) < 0) {
				r = err_sys(e, errno, "move %s", de->d_name);
				break;
			}
			rc->deferred++;
			continue;
		}
		int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			r = err_sys(e, errno, "open %s", de->d_name);
			break;
		}
		/* Never empty a file system mounted below (a running container's
		   overlay, a tmpfs): that is data loss, not clean-up. (A bind
		   mount of the same file system is not told apart.) */
		struct stat st;
		if (fstat(sub, &st) == 0 && st.st_dev != rc->dev) {
			close(sub);
			r = err_set(e, EBUSY, "remove %s: another file system is mounted there", de->d_name);
			break;
		}
		r = remove_children(sub, depth + 1, rc, e);
		if (r == 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			r = err_sys(e, errno, "remove %s", de->d_name);
	}
	closedir(d);
	return r;
}

int fs_remove_tree(int dirfd, const char *name, struct ember_error *e)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return err_sys(e, errno, "remove %s", name);

	_cleanup_close_ int top = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (top < 0)
		return err_sys(e, errno, "open %s", name);
	struct stat st;
	if (fstat(top, &st) < 0)
		return err_sys(e, errno, "stat %s", name);
	struct remove_ctx rc = { .top = top, .dev = st.st_dev };
	do {
		rc.deferred = 0;
		int fd = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || remove_children(fd, 0, &rc, e) < 0) {
			if (fd < 0)
				err_sys(e, errno, "open %s", name);
			return err_wrap(e, "remove %s", name);
		}
	} while (rc.deferred);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return err_sys(e, errno, "remove %s", name);
	return 0;
}

int fs_remove_tmp(int dirfd, struct ember_error *e)
{
	int removed = 0;
	DIR *d = fs_opendir_at(dirfd, ".");

	if (!d)
		return err_sys(e, errno, "read directory");
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, FS_TMP_PREFIX, strlen(FS_TMP_PREFIX)) != 0)
			continue;
		r = fs_remove_tree(dirfd, de->d_name, e);
		if (r < 0)
			break;
		removed++;
	}
	closedir(d);
	return r < 0 ? r : removed;
}
