/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resumable ingests. One per expected digest: content/ingest/<hex>/ holds
 * `data` and `ingest.json`. The record is rewritten (atomically) whenever
 * the data has been fsync'd, so its offset is always a prefix of the data
 * known to be on disk; bytes past it may be garbage after a power cut and
 * are cut off when the ingest is opened again.
 */
#include "content/content.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "content/content-internal.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/record.h"

#define INGEST_RECORD "ingest.json"
#define INGEST_DATA "data"

struct content_ingest {
	struct content_store *cs;
	char key[DIGEST_HEX_LEN + 1];
	char ref[256];
	char digest[DIGEST_MAX];
	int64_t size;
	int64_t offset;      /* bytes written */
	int64_t synced;      /* bytes known durable */
	int64_t started_at;
	int dir_fd;
	int data_fd;
	int defer_syncs; /* the owner runs them (content_ingest_sync_upto) */
	struct digester d;
};

/* Reads only what never changes after open, and offset: safe in another
   thread than the owner's (content_ingest_sync_upto). */
static int write_record_at(const struct content_ingest *ing, int64_t offset, struct ember_error *e)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I}", "ref", ing->ref, "digest", ing->digest,
			      "size", (json_int_t)ing->size, "offset", (json_int_t)offset,
			      "started_at", (json_int_t)ing->started_at);
	if (!j)
		return err_set(e, ENOMEM, "ingest %s: out of memory", ing->digest);
	int r = record_write(ing->dir_fd, INGEST_RECORD, j, e);
	json_decref(j);
	return r;
}

static int write_record(struct content_ingest *ing, struct ember_error *e)
{
	return write_record_at(ing, ing->synced, e);
}

/* Read what a record says; -EBADMSG when it is damaged or inconsistent. */
static int read_record(int dir_fd, struct content_ingest_info *info, struct ember_error *e)
{
	json_t *j = NULL;
	const char *ref, *digest;
	json_int_t size, offset, started;

	int r = record_read(dir_fd, INGEST_RECORD, &j, e);
	if (r < 0)
		return r;
	r = json_unpack(j, "{s:s, s:s, s:I, s:I, s:I}", "ref", &ref, "digest", &digest, "size", &size,
			"offset", &offset, "started_at", &started);
	if (r == 0 && (digest_check(digest, e) < 0 || offset < 0 || (size >= 0 && offset > size)))
		r = -1;
	if (r == 0) {
		snprintf(info->ref, sizeof(info->ref), "%s", ref);
		snprintf(info->digest, sizeof(info->digest), "%s", digest);
		info->size = size;
		info->offset = offset;
		info->started_at = started;
	}
	json_decref(j);
	return r < 0 ? err_set(e, EBADMSG, "damaged ingest record") : 0;
}

static void ingest_free(struct content_ingest *ing)
{
	close_keep_errno(ing->data_fd);
	close_keep_errno(ing->dir_fd);
	free(ing);
}

int content_ingest_open(struct content_store *cs, const char *ref, const char *digest, int64_t size,
			struct content_ingest **out, struct ember_error *e)
{
	struct content_ingest_info info;
	int r;

	if (content_check_digest(digest, e) < 0)
		return -e->code;
	if (faccessat(cs->blobs_fd, digest_hex(digest), F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST, "blob %s already exists", digest);

	struct content_ingest *ing = calloc(1, sizeof(*ing));
	if (!ing)
		return err_set(e, ENOMEM, "ingest %s: out of memory", digest);
	ing->cs = cs;
	ing->dir_fd = ing->data_fd = -1;
	ing->size = size;
	snprintf(ing->key, sizeof(ing->key), "%s", digest_hex(digest));
	snprintf(ing->digest, sizeof(ing->digest), "%s", digest);
	snprintf(ing->ref, sizeof(ing->ref), "%s", ref ? ref : digest);
	ing->started_at = time(NULL);

	ing->dir_fd = fs_open_dir(cs->ingest_fd, ing->key, 1, 0700, e);
	if (ing->dir_fd < 0)
		goto fail;
	ing->data_fd = openat(ing->dir_fd, INGEST_DATA, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (ing->data_fd < 0) {
		err_sys(e, errno, "open ingest data");
		goto fail;
	}
	/* The daemon holds the root lock, so this only guards against two
	   writers inside one daemon. */
	if (flock(ing->data_fd, LOCK_EX | LOCK_NB) < 0) {
		err_set_name(e, EMBER_ERROR_UNAVAILABLE, EBUSY, "ingest of %s is in use", digest);
		goto fail;
	}

	/* Resume from the durable offset of an earlier attempt, if it is for
	   the same blob and size; else start over. */
	int64_t keep = 0;
	struct ember_error ignored;
	if (read_record(ing->dir_fd, &info, &ignored) == 0 && !strcmp(info.digest, digest) &&
	    (size < 0 || info.size == size)) {
		keep = info.offset;
		ing->started_at = info.started_at;
	}
	struct stat st;
	if (fstat(ing->data_fd, &st) < 0) {
		err_sys(e, errno, "stat ingest data");
		goto fail;
	}
	if (st.st_size < keep)
		keep = st.st_size;
	if (ftruncate(ing->data_fd, keep) < 0) {
		err_sys(e, errno, "truncate ingest data");
		goto fail;
	}
	int64_t hashed;
	if (content_hash_fd(ing->data_fd, keep, &ing->d, &hashed, e) < 0)
		goto fail;
	ing->offset = ing->synced = hashed;
	if (lseek(ing->data_fd, hashed, SEEK_SET) < 0) {
		err_sys(e, errno, "seek ingest data");
		goto fail;
	}
	r = write_record(ing, e);
	if (r < 0)
		goto fail;
	*out = ing;
	return 0;
fail:
	ingest_free(ing);
	return err_wrap(e, "ingest %s", digest);
}

int64_t content_ingest_offset(const struct content_ingest *ing)
{
	return ing->offset;
}

int content_ingest_sync(struct content_ingest *ing, struct ember_error *e)
{
	if (ing->synced == ing->offset)
		return 0;
	if (fdatasync(ing->data_fd) < 0)
		return err_sys(e, errno, "ingest %s: sync data", ing->digest);
	ing->synced = ing->offset;
	int r = write_record(ing, e);
	return r < 0 ? err_wrap(e, "ingest %s", ing->digest) : 0;
}

int content_ingest_write(struct content_ingest *ing, const void *data, size_t len,
			 struct ember_error *e)
{
	const char *p = data;

	if (ing->size >= 0 && (int64_t)len > ing->size - ing->offset)
		return err_set(e, EFBIG, "blob %s: more data than the %lld bytes declared", ing->digest,
			       (long long)ing->size);
	while (len > 0) {
		ssize_t n = write(ing->data_fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int code = errno;
			/* Keep the file consistent with what was hashed (the
			   next write goes at offset whether or not the cut
			   worked; an open cuts the file back to the record's). */
			int cut = ftruncate(ing->data_fd, ing->offset);
			(void)lseek(ing->data_fd, ing->offset, SEEK_SET);
			return err_sys(e, code, "write blob %s%s", ing->digest,
				       cut < 0 ? " (and it could not be cut back)" : "");
		}
		digest_update(&ing->d, p, (size_t)n);
		ing->offset += n;
		p += n;
		len -= (size_t)n;
	}
	if (!ing->defer_syncs && content_ingest_sync_due(ing))
		return content_ingest_sync(ing, e);
	return 0;
}

void content_ingest_defer_syncs(struct content_ingest *ing)
{
	ing->defer_syncs = 1;
}

bool content_ingest_sync_due(const struct content_ingest *ing)
{
	return ing->offset - ing->synced >= (int64_t)CONTENT_SYNC_BYTES;
}

int content_ingest_sync_upto(const struct content_ingest *ing, int64_t upto, struct ember_error *e)
{
	/* Every byte below upto was written before this began: fdatasync
	   makes them durable whatever the owner writes meanwhile. */
	if (fdatasync(ing->data_fd) < 0)
		return err_sys(e, errno, "ingest %s: sync data", ing->digest);
	int r = write_record_at(ing, upto, e);
	return r < 0 ? err_wrap(e, "ingest %s", ing->digest) : 0;
}

void content_ingest_synced(struct content_ingest *ing, int64_t upto)
{
	if (upto > ing->synced && upto <= ing->offset)
		ing->synced = upto;
}

int content_ingest_reset(struct content_ingest *ing, struct ember_error *e)
{
	if (ftruncate(ing->data_fd, 0) < 0 || lseek(ing->data_fd, 0, SEEK_SET) < 0)
		return err_sys(e, errno, "ingest %s: start over", ing->digest);
	digest_init(&ing->d);
	ing->offset = ing->synced = 0;
	return write_record(ing, e);
}

static void remove_ingest_dir(struct content_store *cs, const char *key)
{
	struct ember_error ignored;
	char tmp[64];
	char suffix[13];

	/* Rename first, so a crash never leaves a half-removed ingest with a
	   valid name; recovery removes the temporary name. */
	fs_random_suffix(suffix);
	snprintf(tmp, sizeof(tmp), FS_TMP_PREFIX "%s", suffix);
	if (renameat(cs->ingest_fd, key, cs->ingest_fd, tmp) == 0)
		(void)fs_remove_tree(cs->ingest_fd, tmp, &ignored);
	else
		(void)fs_remove_tree(cs->ingest_fd, key, &ignored);
}

int content_ingest_commit(struct content_ingest *ing, struct ember_error *e)
{
	struct content_store *cs = ing->cs;
	char got[DIGEST_MAX];
	int r = 0;

	if (ing->size >= 0 && ing->offset != ing->size) {
		r = err_set(e, EPIPE, "blob %s: got %lld of %lld bytes", ing->digest,
			    (long long)ing->offset, (long long)ing->size);
		content_ingest_close(ing);
		return r;
	}
	digest_final(&ing->d, got);
	if (strcmp(got, ing->digest)) {
		r = err_set(e, EBADMSG, "blob %s: digest mismatch: the %lld bytes received hash to %s",
			    ing->digest, (long long)ing->offset, got);
		content_ingest_discard(ing);
		return r;
	}
	if (fsync(ing->data_fd) < 0) {
		r = err_sys(e, errno, "blob %s: sync", ing->digest);
		content_ingest_close(ing);
		return r;
	}
	(void)fchmod(ing->data_fd, 0444);
	if (renameat(ing->dir_fd, INGEST_DATA, cs->blobs_fd, ing->key) < 0) {
		r = err_sys(e, errno, "blob %s: commit", ing->digest);
		content_ingest_close(ing);
		return r;
	}
	if (fsync(cs->blobs_fd) < 0) {
		r = err_sys(e, errno, "blob %s: sync blobs directory", ing->digest);
		content_ingest_close(ing);
		return r;
	}
	char key[sizeof(ing->key)];
	memcpy(key, ing->key, sizeof(key));
	ingest_free(ing);
	remove_ingest_dir(cs, key);
	return 0;
}

void content_ingest_close(struct content_ingest *ing)
{
	struct ember_error ignored;

	if (!ing)
		return;
	(void)content_ingest_sync(ing, &ignored);
	ingest_free(ing);
}

void content_ingest_discard(struct content_ingest *ing)
{
	if (!ing)
		return;
	struct content_store *cs = ing->cs;
	char key[sizeof(ing->key)];
	memcpy(key, ing->key, sizeof(key));
	ingest_free(ing);
	remove_ingest_dir(cs, key);
}

static int is_hex_key(const char *name)
{
	return strlen(name) == DIGEST_HEX_LEN && strspn(name, "0123456789abcdef") == DIGEST_HEX_LEN;
}

/* Calls fn for each valid ingest; bad ones are reported through bad(). */
static int walk(struct content_store *cs, content_ingest_walk_fn fn, void *userdata,
		void (*bad)(struct content_store *cs, const char *name, void *u), struct ember_error *e)
{
	DIR *d = fs_opendir_at(cs->ingest_fd, ".");
	struct dirent *de;
	int r = 0;

	if (!d)
		return err_sys(e, errno, "list ingests");
	while (!r && (de = readdir(d))) {
		struct content_ingest_info info;
		struct ember_error ignored;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!is_hex_key(de->d_name)) {
			if (bad)
				bad(cs, de->d_name, userdata);
			continue;
		}
		_cleanup_close_ int dfd = openat(cs->ingest_fd, de->d_name,
						 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0 || read_record(dfd, &info, &ignored) < 0 ||
		    strcmp(digest_hex(info.digest), de->d_name) ||
		    fstatat(dfd, INGEST_DATA, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (bad)
				bad(cs, de->d_name, userdata);
			continue;
		}
		memcpy(info.key, de->d_name, sizeof(info.key));
		/* The data may hold more than the durable offset says. */
		if (st.st_size < info.offset)
			info.offset = st.st_size;
		r = fn(&info, userdata);
	}
	closedir(d);
	return 0;
}

int content_ingest_walk(struct content_store *cs, content_ingest_walk_fn fn, void *userdata,
			struct ember_error *e)
{
	return walk(cs, fn, userdata, NULL, e);
}

int content_ingest_remove(struct content_store *cs, const char *key, struct ember_error *e)
{
	if (!is_hex_key(key))
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "invalid ingest key \"%.80s\"", key);
	if (faccessat(cs->ingest_fd, key, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "ingest %s not found", key);
	remove_ingest_dir(cs, key);
	return 0;
}

struct recover_ctx {
	struct content_store *cs;
	struct content_recovery *st;
};

static void recover_bad(struct content_store *cs, const char *name, void *u)
{
	struct recover_ctx *rc = u;
	struct ember_error ignored;

	if (!strncmp(name, FS_TMP_PREFIX, strlen(FS_TMP_PREFIX)))
		rc->st->removed_tmp++;
	else
		rc->st->removed_ingests++;
	(void)fs_remove_tree(cs->ingest_fd, name, &ignored);
}

static int recover_one(const struct content_ingest_info *info, void *u)
{
	struct recover_ctx *rc = u;

	/* Committed just before a crash: the blob is there, the ingest is not needed. */
	if (faccessat(rc->cs->blobs_fd, info->key, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		remove_ingest_dir(rc->cs, info->key);
		rc->st->removed_ingests++;
	} else {
		rc->st->kept_ingests++;
	}
	return 0;
}

int content_ingest_recover(struct content_store *cs, struct content_recovery *st, struct ember_error *e)
{
	struct recover_ctx rc = { cs, st };
	int r = walk(cs, recover_one, &rc, recover_bad, e);
	return r < 0 ? err_wrap(e, "recover ingests") : 0;
}
