/* SPDX-License-Identifier: Apache-2.0 */
#include "content/content.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "content/content-internal.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

int content_open(struct content_store *cs, int root_fd, struct ember_error *e)
{
	cs->dir_fd = cs->blobs_fd = cs->ingest_fd = -1;
	cs->dir_fd = fs_open_dir(root_fd, "content", 1, 0700, e);
	if (cs->dir_fd < 0)
		return cs->dir_fd;
	_cleanup_close_ int blobs = fs_open_dir(cs->dir_fd, "blobs", 1, 0700, e);
	if (blobs < 0)
		goto fail;
	cs->blobs_fd = fs_open_dir(blobs, DIGEST_ALGO, 1, 0700, e);
	if (cs->blobs_fd < 0)
		goto fail;
	cs->ingest_fd = fs_open_dir(cs->dir_fd, "ingest", 1, 0700, e);
	if (cs->ingest_fd < 0)
		goto fail;
	return 0;
fail:
	content_close(cs);
	return -e->code;
}

void content_close(struct content_store *cs)
{
	close_keep_errno(cs->ingest_fd);
	close_keep_errno(cs->blobs_fd);
	close_keep_errno(cs->dir_fd);
	cs->dir_fd = cs->blobs_fd = cs->ingest_fd = -1;
}

int content_check_digest(const char *digest, struct ember_error *e)
{
	int r = digest_check(digest, e);
	return r < 0 ? r : 0;
}

int content_blob_stat(struct content_store *cs, const char *digest, int64_t *size,
		      struct ember_error *e)
{
	struct stat st;

	if (content_check_digest(digest, e) < 0)
		return -e->code;
	if (fstatat(cs->blobs_fd, digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "blob %s not found", digest);
		return err_sys(e, errno, "stat blob %s", digest);
	}
	if (!S_ISREG(st.st_mode))
		return err_set(e, EBADMSG, "blob %s is not a regular file", digest);
	if (size)
		*size = st.st_size;
	return 0;
}

int content_blob_usage(struct content_store *cs, const char *digest, uint64_t *bytes, struct ember_error *e)
{
	struct stat st;

	if (content_check_digest(digest, e) < 0)
		return -e->code;
	if (fstatat(cs->blobs_fd, digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, errno, "stat blob %s", digest);
	*bytes = (uint64_t)st.st_blocks * 512;
	return 0;
}

int content_blob_open(struct content_store *cs, const char *digest, int *fd, struct ember_error *e)
{
	if (content_check_digest(digest, e) < 0)
		return -e->code;
	*fd = openat(cs->blobs_fd, digest_hex(digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0) {
		if (errno == ENOENT)
			return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "blob %s not found", digest);
		return err_sys(e, errno, "open blob %s", digest);
	}
	return 0;
}

int content_blob_read(struct content_store *cs, const char *digest, size_t max, char **data,
		      size_t *len, struct ember_error *e)
{
	if (content_check_digest(digest, e) < 0)
		return -e->code;
	int r = fs_read_file(cs->blobs_fd, digest_hex(digest), max, data, len, e);
	if (r == -ENOENT)
		return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "blob %s not found", digest);
	if (r < 0)
		return err_wrap(e, "read blob %s", digest);
	return 0;
}

int content_hash_fd(int fd, int64_t limit, struct digester *d, int64_t *bytes, struct ember_error *e)
{
	char buf[64 * 1024];
	int64_t total = 0;

	digest_init(d);
	while (limit < 0 || total < limit) {
		size_t want = sizeof(buf);
		if (limit >= 0 && (int64_t)want > limit - total)
			want = (size_t)(limit - total);
		ssize_t n = pread(fd, buf, want, total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, errno, "read");
		}
		if (n == 0)
			break;
		digest_update(d, buf, (size_t)n);
		total += n;
	}
	*bytes = total;
	return 0;
}

int content_blob_verify(struct content_store *cs, const char *digest, int64_t *size,
			struct ember_error *e)
{
	_cleanup_close_ int fd = -1;
	struct digester d;
	char got[DIGEST_MAX];
	int64_t n;

	if (content_blob_open(cs, digest, &fd, e) < 0)
		return -e->code;
	if (content_hash_fd(fd, -1, &d, &n, e) < 0)
		return err_wrap(e, "verify blob %s", digest);
	digest_final(&d, got);
	if (strcmp(got, digest))
		return err_set(e, EBADMSG, "blob %s is damaged: its bytes hash to %s", digest, got);
	if (size)
		*size = n;
	return 0;
}

int content_blob_delete(struct content_store *cs, const char *digest, struct ember_error *e)
{
	if (content_check_digest(digest, e) < 0)
		return -e->code;
	if (unlinkat(cs->blobs_fd, digest_hex(digest), 0) < 0) {
		if (errno == ENOENT)
			return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "blob %s not found", digest);
		return err_sys(e, errno, "delete blob %s", digest);
	}
	/* The deletion need not be durable: a blob that comes back after a
	   power cut is still valid, and GC will find it again. */
	return 0;
}

int content_blob_put(struct content_store *cs, const void *data, size_t len, const char *expected,
		     char out[DIGEST_MAX], struct ember_error *e)
{
	char digest[DIGEST_MAX];

	digest_buffer(data, len, digest);
	if (expected) {
		if (content_check_digest(expected, e) < 0)
			return -e->code;
		if (strcmp(expected, digest))
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EBADMSG,
					    "digest mismatch: expected %s, content hashes to %s", expected,
					    digest);
	}
	if (out)
		memcpy(out, digest, DIGEST_MAX);
	if (faccessat(cs->blobs_fd, digest_hex(digest), F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	int r = fs_write_atomic(cs->blobs_fd, digest_hex(digest), data, len, 0444, e);
	return r < 0 ? err_wrap(e, "store blob %s", digest) : 0;
}

static int is_hex_name(const char *name)
{
	return strlen(name) == DIGEST_HEX_LEN && strspn(name, "0123456789abcdef") == DIGEST_HEX_LEN;
}

int content_walk(struct content_store *cs, content_walk_fn fn, void *userdata, struct ember_error *e)
{
	DIR *d = fs_opendir_at(cs->blobs_fd, ".");
	struct dirent *de;
	int r = 0;

	if (!d)
		return err_sys(e, errno, "list blobs");
	while (!r && (de = readdir(d))) {
		struct stat st;
		char digest[DIGEST_MAX];

		if (!is_hex_name(de->d_name))
			continue;
		if (fstatat(cs->blobs_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		memcpy(digest, DIGEST_ALGO ":", sizeof(DIGEST_ALGO));
		memcpy(digest + sizeof(DIGEST_ALGO), de->d_name, DIGEST_HEX_LEN + 1);
		r = fn(digest, st.st_size, st.st_mtime, userdata);
	}
	closedir(d);
	return 0;
}

int content_free_bytes(struct content_store *cs, uint64_t *bytes, struct ember_error *e)
{
	struct statvfs sv;

	if (fstatvfs(cs->dir_fd, &sv) < 0)
		return err_sys(e, errno, "statvfs content store");
	*bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

int content_recover(struct content_store *cs, struct content_recovery *st, struct ember_error *e)
{
	memset(st, 0, sizeof(*st));
	int r = fs_remove_tmp(cs->blobs_fd, e);
	if (r < 0)
		return err_wrap(e, "recover content");
	st->removed_tmp = (unsigned)r;
	return content_ingest_recover(cs, st, e);
}

struct content_writer {
	struct content_store *cs;
	char tmp[64];
	int fd;
	struct digester d;
	int summed; /* sum holds the digest: nothing more may be written */
	char sum[DIGEST_MAX];
};

int content_writer_open(struct content_store *cs, struct content_writer **out, struct ember_error *e)
{
	struct content_writer *w = calloc(1, sizeof(*w));
	char suffix[13];

	if (!w)
		return err_set(e, ENOMEM, "out of memory");
	w->cs = cs;
	fs_random_suffix(suffix);
	snprintf(w->tmp, sizeof(w->tmp), FS_TMP_PREFIX "w-%s", suffix);
	w->fd = openat(cs->blobs_fd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (w->fd < 0) {
		free(w);
		return err_sys(e, errno, "create a blob");
	}
	digest_init(&w->d);
	*out = w;
	return 0;
}

int content_writer_write(struct content_writer *w, const void *data, size_t len, struct ember_error *e)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(w->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, errno, "write a blob");
		}
		digest_update(&w->d, p, (size_t)n);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void content_writer_abort(struct content_writer *w)
{
	if (!w)
		return;
	close_keep_errno(w->fd);
	(void)unlinkat(w->cs->blobs_fd, w->tmp, 0);
	free(w);
}

void content_writer_sum(struct content_writer *w, char digest[DIGEST_MAX], int64_t *size)
{
	if (!w->summed) {
		digest_final(&w->d, w->sum);
		w->summed = 1;
	}
	memcpy(digest, w->sum, DIGEST_MAX);
	if (size)
		*size = (int64_t)w->d.bytes;
}

int content_writer_commit(struct content_writer *w, const char *expected, char digest[DIGEST_MAX],
			  int64_t *size, struct ember_error *e)
{
	struct content_store *cs = w->cs;
	int r = 0, created = 0;

	content_writer_sum(w, digest, size);
	if (expected && strcmp(expected, digest))
		r = err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EBADMSG,
				 "digest mismatch: expected %s, the content hashes to %s", expected, digest);
	else if (fsync(w->fd) < 0)
		r = err_sys(e, errno, "blob %s: sync", digest);
	if (r < 0) {
		content_writer_abort(w);
		return r;
	}
	close_keep_errno(w->fd);
	w->fd = -1;
	if (faccessat(cs->blobs_fd, digest_hex(digest), F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		(void)unlinkat(cs->blobs_fd, w->tmp, 0); /* had it already */
	} else if (renameat(cs->blobs_fd, w->tmp, cs->blobs_fd, digest_hex(digest)) < 0 ||
		   fsync(cs->blobs_fd) < 0) {
		r = err_sys(e, errno, "blob %s: commit", digest);
		(void)unlinkat(cs->blobs_fd, w->tmp, 0);
	} else {
		created = 1;
	}
	free(w);
	return r < 0 ? r : created;
}
