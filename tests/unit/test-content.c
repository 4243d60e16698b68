/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "content/content.h"
#include "util/fs.h"

struct fixture {
	char *dir;
	int root;
	struct content_store cs;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ember_error e;

	f->dir = unit_mkdtemp();
	f->root = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(content_open(&f->cs, f->root, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	content_close(&f->cs);
	close(f->root);
	unit_rmdir(f->dir);
	free(f);
	return 0;
}

static int exists(struct fixture *f, const char *path)
{
	return faccessat(f->root, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static const char abc[] = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
#define ABC_BLOB "content/blobs/sha256/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ABC_INGEST "content/ingest/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void test_put_read_delete(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	char digest[DIGEST_MAX];
	char *data;
	size_t len;
	int64_t size;

	/* A wrong expected digest stores nothing. */
	assert_int_equal(content_blob_put(&f->cs, "abd", 3, abc, NULL, &e), -EBADMSG);
	assert_msg_contains(&e, "digest mismatch");
	assert_false(exists(f, ABC_BLOB));

	assert_int_equal(content_blob_put(&f->cs, "abc", 3, abc, digest, &e), 0);
	assert_string_equal(digest, abc);
	assert_true(exists(f, ABC_BLOB));
	assert_int_equal(content_blob_put(&f->cs, "abc", 3, NULL, digest, &e), 0); /* idempotent */
	assert_int_equal(content_blob_stat(&f->cs, abc, &size, &e), 0);
	assert_int_equal(size, 3);
	assert_int_equal(content_blob_read(&f->cs, abc, 16, &data, &len, &e), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "abc", 3);
	free(data);
	assert_int_equal(content_blob_read(&f->cs, abc, 2, &data, &len, &e), -E2BIG);
	assert_int_equal(content_blob_verify(&f->cs, abc, &size, &e), 0);

	assert_int_equal(content_blob_delete(&f->cs, abc, &e), 0);
	assert_int_equal(content_blob_stat(&f->cs, abc, &size, &e), -ENOENT);
	assert_string_equal(e.name, EMBER_ERROR_NOT_FOUND);
	assert_int_equal(content_blob_delete(&f->cs, abc, &e), -ENOENT);
	assert_int_equal(content_blob_stat(&f->cs, "sha256:../../x", &size, &e), -EINVAL);
	assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
}

static void test_verify_detects_damage(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;

	assert_int_equal(content_blob_put(&f->cs, "abc", 3, abc, NULL, &e), 0);
	chmod(f->dir, 0700);
	int fd = openat(f->root, ABC_BLOB, O_WRONLY);
	assert_true(fd >= 0); /* root ignores the 0444 mode */
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(content_blob_verify(&f->cs, abc, NULL, &e), -EBADMSG);
	assert_msg_contains(&e, "damaged");
}

static void test_ingest_resume_and_commit(void **state)
{
	struct fixture *f = *state;
	struct content_ingest *ing;
	struct ember_error e;

	assert_int_equal(content_ingest_open(&f->cs, "test", abc, 3, &ing, &e), 0);
	assert_int_equal(content_ingest_offset(ing), 0);
	assert_int_equal(content_ingest_write(ing, "ab", 2, &e), 0);
	content_ingest_close(ing); /* e.g. the connection dropped */
	assert_true(exists(f, ABC_INGEST "/data"));

	assert_int_equal(content_ingest_open(&f->cs, "test", abc, 3, &ing, &e), 0);
	assert_int_equal(content_ingest_offset(ing), 2);
	/* More than declared is refused and changes nothing. */
	assert_int_equal(content_ingest_write(ing, "cd", 2, &e), -EFBIG);
	assert_msg_contains(&e, "more data than the 3 bytes declared");
	assert_int_equal(content_ingest_offset(ing), 2);
	assert_int_equal(content_ingest_write(ing, "c", 1, &e), 0);
	assert_int_equal(content_ingest_commit(ing, &e), 0);
	assert_true(exists(f, ABC_BLOB));
	assert_false(exists(f, ABC_INGEST));
	assert_int_equal(content_blob_verify(&f->cs, abc, NULL, &e), 0);

	/* Already there. */
	assert_int_equal(content_ingest_open(&f->cs, "test", abc, 3, &ing, &e), -EEXIST);
}

static void test_ingest_unsynced_tail_is_cut(void **state)
{
	struct fixture *f = *state;
	struct content_ingest *ing;
	struct ember_error e;

	assert_int_equal(content_ingest_open(&f->cs, "test", abc, 3, &ing, &e), 0);
	assert_int_equal(content_ingest_write(ing, "a", 1, &e), 0);
	assert_int_equal(content_ingest_sync(ing, &e), 0);
	content_ingest_close(ing);
	/* A power cut left bytes past the durable offset (maybe garbage). */
	int fd = openat(f->root, ABC_INGEST "/data", O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ZZ", 2), 2);
	close(fd);
	assert_int_equal(content_ingest_open(&f->cs, "test", abc, 3, &ing, &e), 0);
	assert_int_equal(content_ingest_offset(ing), 1);
	assert_int_equal(content_ingest_write(ing, "bc", 2, &e), 0);
	assert_int_equal(content_ingest_commit(ing, &e), 0);
	assert_int_equal(content_blob_verify(&f->cs, abc, NULL, &e), 0);
}

static int durable_offset(const struct content_ingest_info *info, void *u)
{
	*(int64_t *)u = info->offset;
	return 0;
}

/* Deferred syncs: writes past CONTENT_SYNC_BYTES leave the record alone
   until the owner has the sync run; the record then says the offset the
   sync was started at, not where the writes got meanwhile. */
static void test_ingest_deferred_sync(void **state)
{
	struct fixture *f = *state;
	struct content_ingest *ing;
	struct ember_error e;
	size_t n = CONTENT_SYNC_BYTES + 4096;
	char *data = malloc(n), digest[DIGEST_MAX];
	int64_t rec = -1;

	assert_non_null(data);
	memset(data, 'x', n);
	digest_buffer(data, n, digest);
	assert_int_equal(content_ingest_open(&f->cs, "test", digest, (int64_t)n, &ing, &e), 0);
	content_ingest_defer_syncs(ing);
	assert_int_equal(content_ingest_write(ing, data, CONTENT_SYNC_BYTES + 10, &e), 0);
	assert_true(content_ingest_sync_due(ing));
	assert_int_equal(content_ingest_walk(&f->cs, durable_offset, &rec, &e), 0);
	assert_int_equal(rec, 0);

	int64_t upto = content_ingest_offset(ing);
	assert_int_equal(content_ingest_write(ing, data + upto, 100, &e), 0); /* meanwhile */
	assert_int_equal(content_ingest_sync_upto(ing, upto, &e), 0);
	assert_int_equal(content_ingest_walk(&f->cs, durable_offset, &rec, &e), 0);
	assert_int_equal(rec, upto);
	assert_true(content_ingest_sync_due(ing));
	content_ingest_synced(ing, upto);
	assert_false(content_ingest_sync_due(ing));

	int64_t at = content_ingest_offset(ing);
	assert_int_equal(content_ingest_write(ing, data + at, n - (size_t)at, &e), 0);
	assert_int_equal(content_ingest_commit(ing, &e), 0);
	assert_int_equal(content_blob_verify(&f->cs, digest, NULL, &e), 0);
	free(data);
}

static void test_ingest_size_change_starts_over(void **state)
{
	struct fixture *f = *state;
	struct content_ingest *ing;
	struct ember_error e;

	assert_int_equal(content_ingest_open(&f->cs, "test", abc, 30, &ing, &e), 0);
	assert_int_equal(content_ingest_write(ing, "abc", 3, &e), 0);
	content_ingest_close(ing);
	assert_int_equal(content_ingest_open(&f->cs, "test", abc, 3, &ing, &e), 0);
	assert_int_equal(content_ingest_offset(ing), 0);
	content_ingest_discard(ing);
	assert_false(exists(f, ABC_INGEST));
}

static void test_ingest_bad_digest_and_short(void **state)
{
	struct fixture *f = *state;
	struct content_ingest *ing;
	struct ember_error e;

	assert_int_equal(content_ingest_open(&f->cs, "test", abc, 3, &ing, &e), 0);
	assert_int_equal(content_ingest_write(ing, "ab", 2, &e), 0);
	assert_int_equal(content_ingest_commit(ing, &e), -EPIPE); /* kept for resume */
	assert_msg_contains(&e, "got 2 of 3 bytes");
	assert_true(exists(f, ABC_INGEST "/data"));

	assert_int_equal(content_ingest_open(&f->cs, "test", abc, 3, &ing, &e), 0);
	assert_int_equal(content_ingest_offset(ing), 2);
	assert_int_equal(content_ingest_write(ing, "X", 1, &e), 0);
	assert_int_equal(content_ingest_commit(ing, &e), -EBADMSG);
	assert_msg_contains(&e, "digest mismatch");
	assert_false(exists(f, ABC_BLOB));
	assert_false(exists(f, ABC_INGEST)); /* wrong bytes are not kept */

	/* reset: the server ignored Range */
	assert_int_equal(content_ingest_open(&f->cs, "test", abc, 3, &ing, &e), 0);
	assert_int_equal(content_ingest_write(ing, "xy", 2, &e), 0);
	assert_int_equal(content_ingest_reset(ing, &e), 0);
	assert_int_equal(content_ingest_offset(ing), 0);
	assert_int_equal(content_ingest_write(ing, "abc", 3, &e), 0);
	assert_int_equal(content_ingest_commit(ing, &e), 0);
}

static void test_ingest_in_use(void **state)
{
	struct fixture *f = *state;
	struct content_ingest *a, *b;
	struct ember_error e;

	assert_int_equal(content_ingest_open(&f->cs, "one", abc, 3, &a, &e), 0);
	assert_int_equal(content_ingest_open(&f->cs, "two", abc, 3, &b, &e), -EBUSY);
	assert_string_equal(e.name, EMBER_ERROR_UNAVAILABLE);
	content_ingest_close(a);
}

static int count_ingest(const struct content_ingest_info *info, void *u)
{
	int *n = u;

	assert_string_equal(info->digest, abc);
	assert_string_equal(info->ref, "walker");
	assert_int_equal(info->offset, 1);
	assert_int_equal(info->size, 3);
	(*n)++;
	return 0;
}

static int count_blob(const char *digest, int64_t size, int64_t mtime, void *u)
{
	int *n = u;

	(void)mtime;
	assert_int_equal(digest_check(digest, &(struct ember_error){ 0 }), 0);
	assert_true(size >= 0);
	(*n)++;
	return 0;
}

static void test_recover_and_walk(void **state)
{
	struct fixture *f = *state;
	struct content_ingest *ing;
	struct content_recovery st;
	struct ember_error e;
	int n = 0;

	assert_int_equal(content_ingest_open(&f->cs, "walker", abc, 3, &ing, &e), 0);
	assert_int_equal(content_ingest_write(ing, "a", 1, &e), 0);
	content_ingest_close(ing);
	/* Leftovers a crash can leave. */
	assert_int_equal(mkdirat(f->root, "content/ingest/not-a-key", 0700), 0);
	assert_int_equal(mkdirat(f->root, "content/ingest/" FS_TMP_PREFIX "x", 0700), 0);
	assert_int_equal(mkdirat(f->root, "content/ingest/"
				 "0000000000000000000000000000000000000000000000000000000000000000", 0700), 0);
	unit_write(f->root, "content/blobs/sha256/" FS_TMP_PREFIX "half", "partial");
	/* A blob committed right before the crash, its ingest not yet removed. */
	assert_int_equal(content_blob_put(&f->cs, "x", 1, NULL, NULL, &e), 0);
	char digest[DIGEST_MAX], path[256];
	digest_buffer("x", 1, digest);
	snprintf(path, sizeof(path), "content/ingest/%s", digest_hex(digest));
	assert_int_equal(mkdirat(f->root, path, 0700), 0);
	snprintf(path, sizeof(path), "content/ingest/%s/ingest.json", digest_hex(digest));
	char rec[300];
	snprintf(rec, sizeof(rec), "{\"ref\":\"r\",\"digest\":\"%s\",\"size\":1,\"offset\":0,\"started_at\":0}", digest);
	unit_write(f->root, path, rec);
	snprintf(path, sizeof(path), "content/ingest/%s/data", digest_hex(digest));
	unit_write(f->root, path, "");

	assert_int_equal(content_recover(&f->cs, &st, &e), 0);
	assert_int_equal(st.removed_tmp, 2);
	assert_int_equal(st.removed_ingests, 3);
	assert_int_equal(st.kept_ingests, 1);
	assert_false(exists(f, "content/ingest/not-a-key"));
	assert_false(exists(f, "content/blobs/sha256/" FS_TMP_PREFIX "half"));
	assert_true(exists(f, ABC_INGEST "/data"));

	assert_int_equal(content_ingest_walk(&f->cs, count_ingest, &n, &e), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(content_walk(&f->cs, count_blob, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(content_ingest_remove(&f->cs, digest_hex(abc), &e), 0);
	assert_false(exists(f, ABC_INGEST));
	assert_int_equal(content_ingest_remove(&f->cs, digest_hex(abc), &e), -ENOENT);
	assert_int_equal(content_ingest_remove(&f->cs, "../x", &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_read_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_detects_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ingest_resume_and_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ingest_unsynced_tail_is_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ingest_deferred_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ingest_size_change_starts_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ingest_bad_digest_and_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ingest_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_and_walk, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
