/* SPDX-License-Identifier: Apache-2.0 */
/* The snapshot store: records, the crash rules and recovery, mounts,
   tree copies and chain IDs. (Mounting itself is tested in unpack.bats.) */
#include "unit.h"

#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <sys/xattr.h>

#include "image/image.h"
#include "snapshot/snapshot.h"
#include "util/fs.h"

struct fixture {
	char *dir;
	int root;
	struct snapshotter *ov, *nat;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ember_error e;

	f->dir = unit_mkdtemp();
	f->root = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(snapshot_open(f->root, f->dir, "overlayfs", &f->ov, &e), 0);
	assert_int_equal(snapshot_open(f->root, f->dir, "native", &f->nat, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	snapshot_close(f->ov);
	snapshot_close(f->nat);
	close(f->root);
	unit_rmdir(f->dir);
	free(f);
	return 0;
}

/* unit_write() with the parent directories made first. */
static void write_deep(int dirfd, const char *path, const char *data)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		assert_true(mkdirat(dirfd, buf, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	unit_write(dirfd, path, data);
}

static int exists(struct fixture *f, const char *path)
{
	return faccessat(f->root, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int count_dir(struct fixture *f, const char *path)
{
	DIR *d = fs_opendir_at(f->root, path);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static const char *kind(struct snapshotter *sn, const char *key)
{
	static char buf[32];
	json_t *rec;
	struct ember_error e;

	if (snapshot_get(sn, "default", key, &rec, &e) < 0)
		return "absent";
	snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(rec, "kind")));
	json_decref(rec);
	return buf;
}

static char *tree_of(struct snapshotter *sn, struct fixture *f, const char *key)
{
	json_t *rec;
	struct ember_error e;
	char *p;

	assert_int_equal(snapshot_get(sn, "default", key, &rec, &e), 0);
	assert_true(asprintf(&p, "snapshots/%s/trees/%s/fs", snapshot_name(sn), json_string_value(json_object_get(rec, "id"))) > 0);
	json_decref(rec);
	(void)f;
	return p;
}

/* A committed base "L0" holding one file, made the unpack way. */
static void make_layer(struct snapshotter *sn, const char *key, const char *parent, const char *file)
{
	struct snapshot_extract *x;
	struct ember_error e;

	assert_int_equal(snapshot_extract_begin(sn, "default", snapshot_whiteouts(sn) ? parent : NULL, &x, &e), 0);
	assert_int_equal(snapshot_extract_fill(x, &e), 0);
	unit_write(snapshot_extract_fd(x), file, "data\n");
	assert_int_equal(snapshot_extract_sync(x, &e), 0);
	assert_int_equal(snapshot_extract_commit(x, key, parent, NULL, &e), 0);
}

static void test_extract_commit_and_records(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	json_t *rec, *list;

	make_layer(f->ov, "L0", NULL, "a");
	make_layer(f->ov, "L1", "L0", "b");
	assert_string_equal(kind(f->ov, "L1"), "committed");
	assert_int_equal(snapshot_get(f->ov, "default", "L1", &rec, &e), 0);
	assert_string_equal(json_string_value(json_object_get(rec, "parent")), "L0");
	/* Usage measured at commit: the tree's one file and its blocks. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "usage"), "inodes")), 1);
	json_decref(rec);
	/* Overlay layers hold their own changes only. */
	char *t1 = tree_of(f->ov, f, "L1");
	char path[256];
	snprintf(path, sizeof(path), "%s/a", t1);
	assert_false(exists(f, path));
	free(t1);

	/* The same key again (another pull's layer): discarded, no error. */
	struct snapshot_extract *x;
	assert_int_equal(snapshot_extract_begin(f->ov, "default", NULL, &x, &e), 0);
	assert_int_equal(snapshot_extract_sync(x, &e), 0);
	assert_int_equal(snapshot_extract_commit(x, "L0", NULL, NULL, &e), 0);
	assert_int_equal(count_dir(f, "snapshots/overlay/trees"), 2);
	assert_int_equal(count_dir(f, "snapshots/overlay/tmp"), 0);

	/* A parent that does not exist: nothing committed. */
	assert_int_equal(snapshot_extract_begin(f->ov, "default", NULL, &x, &e), 0);
	assert_int_equal(snapshot_extract_sync(x, &e), 0);
	assert_int_equal(snapshot_extract_commit(x, "L9", "nope", NULL, &e), -ENOENT);
	assert_msg_contains(&e, "\"nope\" not found");
	snapshot_extract_abort(x);
	assert_string_equal(kind(f->ov, "L9"), "absent");
	assert_int_equal(count_dir(f, "snapshots/overlay/tmp"), 0);

	/* Commit before sync is a bug, refused. */
	assert_int_equal(snapshot_extract_begin(f->ov, "default", NULL, &x, &e), 0);
	assert_int_equal(snapshot_extract_commit(x, "L8", NULL, NULL, &e), -EINVAL);
	snapshot_extract_abort(x);

	assert_int_equal(snapshot_list(f->ov, "default", &list, &e), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "key")), "L0");
	json_decref(list);
	/* Namespaces are separate. */
	assert_int_equal(snapshot_list(f->ov, "other", &list, &e), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(snapshot_get(f->ov, "other", "L0", &rec, &e), -ENOENT);
}

static void test_prepare_commit_remove(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	json_t *rec;

	make_layer(f->ov, "L0", NULL, "a");
	assert_int_equal(snapshot_prepare(f->ov, "default", "work", "L0", SNAPSHOT_ACTIVE, NULL, &rec, &e), 0);
	json_decref(rec);
	assert_string_equal(kind(f->ov, "work"), "active");
	/* Keys are unique; a parent must be committed. */
	assert_int_equal(snapshot_prepare(f->ov, "default", "work", "L0", SNAPSHOT_ACTIVE, NULL, NULL, &e), -EEXIST);
	assert_int_equal(snapshot_prepare(f->ov, "default", "w2", "work", SNAPSHOT_ACTIVE, NULL, NULL, &e), -EINVAL);
	assert_msg_contains(&e, "is active, not committed");
	assert_int_equal(snapshot_prepare(f->ov, "default", "", NULL, SNAPSHOT_ACTIVE, NULL, NULL, &e), -EINVAL);
	assert_int_equal(snapshot_prepare(f->ov, "default", "a\nb", NULL, SNAPSHOT_ACTIVE, NULL, NULL, &e), -EINVAL);

	/* Commit: the active record goes, the committed one has its tree. */
	char *t = tree_of(f->ov, f, "work");
	char path[300];
	snprintf(path, sizeof(path), "%s/new", t);
	unit_write(f->root, path, "new\n");
	assert_int_equal(snapshot_commit(f->ov, "default", "L1", "work", NULL, &rec, &e), 0);
	json_decref(rec);
	assert_string_equal(kind(f->ov, "work"), "absent");
	assert_string_equal(kind(f->ov, "L1"), "committed");
	char *t1 = tree_of(f->ov, f, "L1");
	assert_string_equal(t, t1);
	assert_true(exists(f, path));
	free(t1);
	/* Committing a committed snapshot is refused. */
	assert_int_equal(snapshot_commit(f->ov, "default", "L2", "L1", NULL, NULL, &e), -EINVAL);

	/* A parent is not removed while it has children. */
	assert_int_equal(snapshot_remove(f->ov, "default", "L0", &e), -EBUSY);
	assert_msg_contains(&e, "is the parent of \"L1\"");
	assert_int_equal(snapshot_remove(f->ov, "default", "L1", &e), 0);
	assert_false(exists(f, path));
	free(t);
	assert_int_equal(snapshot_remove(f->ov, "default", "L0", &e), 0);
	assert_int_equal(count_dir(f, "snapshots/overlay/trees"), 0);
	assert_int_equal(snapshot_remove(f->ov, "default", "L0", &e), -ENOENT);
}

static void test_mounts(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	json_t *m;

	make_layer(f->ov, "L0", NULL, "a");
	make_layer(f->ov, "L1", "L0", "b");
	assert_int_equal(snapshot_prepare(f->ov, "default", "c", "L1", SNAPSHOT_ACTIVE, NULL, NULL, &e), 0);
	assert_int_equal(snapshot_mounts(f->ov, "default", "c", &m, &e), 0);
	json_t *m0 = json_array_get(m, 0);
	assert_string_equal(json_string_value(json_object_get(m0, "type")), "overlay");
	char *opts = json_dumps(json_object_get(m0, "options"), 0);
	char *t0 = tree_of(f->ov, f, "L0"), *t1 = tree_of(f->ov, f, "L1"), *tc = tree_of(f->ov, f, "c");
	char want[1024];
	/* Nearest parent first. */
	snprintf(want, sizeof(want), "lowerdir=%s/%s:%s/%s", f->dir, t1, f->dir, t0);
	assert_non_null(strstr(opts, want));
	snprintf(want, sizeof(want), "upperdir=%s/%s", f->dir, tc);
	assert_non_null(strstr(opts, want));
	assert_non_null(strstr(opts, "workdir="));
	free(opts);
	json_decref(m);

	/* A view of one layer is a read-only bind mount of it. */
	assert_int_equal(snapshot_prepare(f->ov, "default", "v", "L0", SNAPSHOT_VIEW, NULL, NULL, &e), 0);
	assert_int_equal(snapshot_mounts(f->ov, "default", "v", &m, &e), 0);
	m0 = json_array_get(m, 0);
	assert_string_equal(json_string_value(json_object_get(m0, "type")), "bind");
	snprintf(want, sizeof(want), "%s/%s", f->dir, t0);
	assert_string_equal(json_string_value(json_object_get(m0, "source")), want);
	opts = json_dumps(json_object_get(m0, "options"), 0);
	assert_non_null(strstr(opts, "\"ro\""));
	free(opts);
	json_decref(m);
	free(t0);
	free(t1);
	free(tc);

	/* Native: an active snapshot is a full copy, bound read-write. */
	make_layer(f->nat, "N0", NULL, "a");
	assert_int_equal(snapshot_prepare(f->nat, "default", "nc", "N0", SNAPSHOT_ACTIVE, NULL, NULL, &e), 0);
	char *tn = tree_of(f->nat, f, "nc");
	char path[300];
	snprintf(path, sizeof(path), "%s/a", tn);
	assert_true(exists(f, path));
	assert_int_equal(snapshot_mounts(f->nat, "default", "nc", &m, &e), 0);
	opts = json_dumps(json_object_get(json_array_get(m, 0), "options"), 0);
	assert_non_null(strstr(opts, "\"rw\""));
	free(opts);
	json_decref(m);
	free(tn);
}

static void test_recovery(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	struct snapshot_recovery st;
	struct snapshot_extract *x;

	make_layer(f->ov, "L0", NULL, "a");
	assert_int_equal(snapshot_prepare(f->ov, "default", "work", "L0", SNAPSHOT_ACTIVE, NULL, NULL, &e), 0);
	/* A crash mid-unpack: a tree in tmp/ that nothing names. */
	assert_int_equal(snapshot_extract_begin(f->ov, "default", NULL, &x, &e), 0);
	unit_write(snapshot_extract_fd(x), "half", "x");
	/* A crash between renaming a tree into place and writing its record. */
	write_deep(f->root, "snapshots/overlay/trees/0123456789ab/fs/orphan", "x");
	/* A commit cut between its two record writes: the committed record is
	   there and the active one too, both naming one tree. */
	json_t *rec;
	assert_int_equal(snapshot_get(f->ov, "default", "work", &rec, &e), 0);
	json_object_set_new(rec, "key", json_string("done"));
	json_object_set_new(rec, "kind", json_string("committed"));
	int ns = openat(f->root, "snapshots/overlay/records/default", O_RDONLY | O_DIRECTORY);
	char *text = json_dumps(rec, 0);
	assert_int_equal(fs_write_atomic(ns, "done.json", text, strlen(text), 0600, &e), 0);
	free(text);
	json_decref(rec);

	assert_int_equal(snapshot_recover(f->ov, &st, &e), 0);
	assert_int_equal(st.removed_tmp, 1);
	assert_int_equal(st.removed_orphans, 1);
	assert_int_equal(st.removed_records, 1);
	assert_string_equal(kind(f->ov, "work"), "absent");
	assert_string_equal(kind(f->ov, "done"), "committed");
	assert_string_equal(kind(f->ov, "L0"), "committed");
	assert_false(exists(f, "snapshots/overlay/trees/0123456789ab"));
	assert_int_equal(count_dir(f, "snapshots/overlay/tmp"), 0);
	assert_int_equal(count_dir(f, "snapshots/overlay/trees"), 2);
	snapshot_extract_abort(x); /* its tree is already gone: harmless */

	/* A damaged record might name any tree: then no tree is removed. */
	write_deep(f->root, "snapshots/overlay/trees/ba9876543210/fs/keep", "x");
	assert_int_equal(fs_write_atomic(ns, "broken.json", "{", 1, 0600, &e), 0);
	assert_int_equal(snapshot_recover(f->ov, &st, &e), 0);
	assert_int_equal(st.removed_orphans, 0);
	assert_true(exists(f, "snapshots/overlay/trees/ba9876543210/fs/keep"));

	/* So may a record of a kind this version does not know (a newer one's). */
	assert_int_equal(unlinkat(ns, "broken.json", 0), 0);
	const char *future = "{\"key\": \"f\", \"kind\": \"frozen\", \"id\": \"ba9876543210\"}";
	assert_int_equal(fs_write_atomic(ns, "future.json", future, strlen(future), 0600, &e), 0);
	assert_int_equal(snapshot_recover(f->ov, &st, &e), 0);
	assert_int_equal(st.removed_orphans, 0);
	assert_true(exists(f, "snapshots/overlay/trees/ba9876543210/fs/keep"));
	assert_int_equal(unlinkat(ns, "future.json", 0), 0);
	assert_int_equal(snapshot_recover(f->ov, &st, &e), 0);
	assert_int_equal(st.removed_orphans, 1);
	close(ns);

	/* Recovery twice is recovery once. */
	assert_int_equal(snapshot_recover(f->nat, &st, &e), 0);
	assert_int_equal(st.removed_tmp + st.removed_orphans + st.removed_records, 0);
}

/* Records that name the same tree, or no valid one (damage, or a hand-made
   file): removal keeps a tree another record names, and no path or mount
   is ever built from a bad id. */
static void test_shared_and_bad_ids(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	json_t *rec, *m;

	make_layer(f->ov, "L0", NULL, "a");
	assert_int_equal(snapshot_get(f->ov, "default", "L0", &rec, &e), 0);
	json_object_set_new(rec, "key", json_string("twin"));
	char *text = json_dumps(rec, 0);
	json_decref(rec);
	int ns = openat(f->root, "snapshots/overlay/records/default", O_RDONLY | O_DIRECTORY);
	assert_int_equal(fs_write_atomic(ns, "twin.json", text, strlen(text), 0600, &e), 0);
	free(text);
	char *t = tree_of(f->ov, f, "L0");
	assert_int_equal(snapshot_remove(f->ov, "default", "L0", &e), 0);
	assert_true(exists(f, t)); /* "twin" still names it */
	assert_int_equal(snapshot_remove(f->ov, "default", "twin", &e), 0);
	assert_false(exists(f, t));
	free(t);

	const char *bad = "{\"key\": \"evil\", \"kind\": \"committed\", \"id\": \"../../../etc\"}";
	assert_int_equal(fs_write_atomic(ns, "evil.json", bad, strlen(bad), 0600, &e), 0);
	assert_int_equal(snapshot_mounts(f->ov, "default", "evil", &m, &e), -EIO);
	assert_int_equal(snapshot_remove(f->ov, "default", "evil", &e), -EIO);
	assert_int_equal(snapshot_prepare(f->ov, "default", "c", "evil", SNAPSHOT_ACTIVE, NULL, NULL, &e), -EIO);
	close(ns);
}

/* Layers shared by namespaces: what an unpack committed is named by the
   other namespace's record, on the same parent only; removal and recovery
   keep the tree while a record names it. */
static void test_share(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	json_t *a, *b;
	struct snapshot_recovery st;

	make_layer(f->ov, "L0", NULL, "a");
	make_layer(f->ov, "L1", "L0", "b");
	/* The parent first: L1 of "ota" has no L0 yet. */
	assert_int_equal(snapshot_share(f->ov, "ota", "L1", "L0", &e), 0);
	assert_int_equal(snapshot_share(f->ov, "ota", "L0", NULL, &e), 1);
	assert_int_equal(snapshot_share(f->ov, "ota", "L1", "L0", &e), 1);
	assert_int_equal(snapshot_share(f->ov, "ota", "L1", "L0", &e), 1); /* there already */
	assert_int_equal(count_dir(f, "snapshots/overlay/trees"), 2);
	assert_int_equal(snapshot_get(f->ov, "default", "L1", &a, &e), 0);
	assert_int_equal(snapshot_get(f->ov, "ota", "L1", &b, &e), 0);
	assert_string_equal(json_string_value(json_object_get(a, "id")), json_string_value(json_object_get(b, "id")));
	assert_string_equal(json_string_value(json_object_get(b, "parent")), "L0");
	assert_true(json_is_true(json_object_get(b, "layer")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "usage"), "inodes")), 1);
	json_decref(a);
	json_decref(b);
	/* Another parent, or none where the layer has one: not that layer. */
	assert_int_equal(snapshot_share(f->ov, "x", "L1", NULL, &e), 0);
	assert_int_equal(snapshot_get(f->ov, "x", "L1", &a, &e), -ENOENT);
	/* Committed through the API: not shared. */
	assert_int_equal(snapshot_prepare(f->ov, "default", "w", NULL, SNAPSHOT_ACTIVE, NULL, NULL, &e), 0);
	assert_int_equal(snapshot_commit(f->ov, "default", "C", "w", NULL, NULL, &e), 0);
	assert_int_equal(snapshot_share(f->ov, "ota", "C", NULL, &e), 0);
	/* An active snapshot under the key in ns: 0, untouched. */
	assert_int_equal(snapshot_prepare(f->ov, "y", "L0", NULL, SNAPSHOT_ACTIVE, NULL, NULL, &e), 0);
	assert_int_equal(snapshot_share(f->ov, "y", "L0", NULL, &e), 0);
	assert_string_equal(kind(f->ov, "L0"), "committed");

	/* Recovery keeps trees both name; removal in one keeps them for the other. */
	assert_int_equal(snapshot_recover(f->ov, &st, &e), 0);
	assert_int_equal(st.removed_orphans, 0);
	assert_int_equal(st.removed_records, 0);
	assert_int_equal(snapshot_remove(f->ov, "default", "L1", &e), 0);
	assert_int_equal(snapshot_remove(f->ov, "default", "L0", &e), 0);
	assert_int_equal(count_dir(f, "snapshots/overlay/trees"), 4); /* L0, L1, C, y's L0 */
	assert_int_equal(snapshot_remove(f->ov, "ota", "L1", &e), 0);
	assert_int_equal(snapshot_remove(f->ov, "ota", "L0", &e), 0);
	assert_int_equal(count_dir(f, "snapshots/overlay/trees"), 2);
}

static void test_tree_copy(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	struct stat a, b;

	assert_int_equal(mkdirat(f->root, "src", 0750), 0);
	int src = openat(f->root, "src", O_RDONLY | O_DIRECTORY);
	write_deep(src, "d/file", "hello\n");
	assert_int_equal(fchmodat(src, "d/file", 04755, 0), 0);
	assert_int_equal(linkat(src, "d/file", src, "hard", 0), 0);
	assert_int_equal(symlinkat("../nowhere", src, "d/link"), 0);
	assert_int_equal(mkfifoat(src, "fifo", 0600), 0);
	assert_int_equal(mknodat(src, "null", S_IFCHR | 0666, makedev(1, 3)), 0);
	assert_int_equal(fchownat(src, "d/file", 1000, 1000, 0), 0);
	assert_int_equal(fchmodat(src, "d/file", 04755, 0), 0);
	char x[64];
	snprintf(x, sizeof(x), "%s/src/d/file", f->dir);
	assert_int_equal(lsetxattr(x, "user.k", "v", 1, 0), 0);
	/* Deeper than a remove or copy could go holding a descriptor per level
	   on a small descriptor limit: the copy and the removal still work. */
	char deep[2200] = "";
	for (int i = 0; i < 300; i++)
		strcat(deep, "n/");
	strcat(deep, "leaf");
	write_deep(src, deep, "deep\n");

	assert_int_equal(mkdirat(f->root, "dst", 0700), 0);
	int dst = openat(f->root, "dst", O_RDONLY | O_DIRECTORY);
	assert_int_equal(snapshot_tree_copy(src, dst, &e), 0);

	assert_int_equal(fstatat(dst, "d/file", &a, 0), 0);
	assert_int_equal(a.st_mode & 07777, 04755);
	assert_int_equal(a.st_uid, 1000);
	assert_int_equal(fstatat(dst, "hard", &b, 0), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	char target[64];
	ssize_t n = readlinkat(dst, "d/link", target, sizeof(target));
	assert_int_equal(n, 10);
	assert_memory_equal(target, "../nowhere", 10);
	assert_int_equal(fstatat(dst, "fifo", &a, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISFIFO(a.st_mode));
	assert_int_equal(fstatat(dst, "null", &a, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISCHR(a.st_mode));
	assert_int_equal(a.st_rdev, makedev(1, 3));
	snprintf(x, sizeof(x), "%s/dst/d/file", f->dir);
	char v[8] = "";
	assert_int_equal(lgetxattr(x, "user.k", v, sizeof(v)), 1);
	assert_int_equal(v[0], 'v');
	assert_int_equal(fstat(dst, &a), 0);
	assert_int_equal(a.st_mode & 07777, 0750);
	assert_int_equal(faccessat(dst, deep, F_OK, 0), 0);

	struct snapshot_usage u;
	assert_int_equal(snapshot_tree_usage(dst, &u, &e), 0);
	/* d, d/file (= hard, once), d/link, fifo, null, 300 n/ and leaf. */
	assert_int_equal(u.inodes, 5 + 300 + 1);

	assert_int_equal(fs_remove_tree(f->root, "dst", &e), 0);
	assert_false(exists(f, "dst"));
	close(src);
	close(dst);
}

static void test_chain_ids(void **state)
{
	(void)state;
	struct ember_error e;
	char diff[2][DIGEST_MAX] = {
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"sha256:cb8379ac2098aa165029e3938a51da0bcecfc008fd6795f401178647f96c5b34",
	};
	char chain[2][DIGEST_MAX];
	char joined[2 * DIGEST_MAX], want[DIGEST_MAX];

	assert_int_equal(image_chain_ids((const char(*)[DIGEST_MAX])diff, 2, chain, &e), 0);
	assert_string_equal(chain[0], diff[0]);
	snprintf(joined, sizeof(joined), "%s %s", diff[0], diff[1]);
	digest_buffer(joined, strlen(joined), want);
	assert_string_equal(chain[1], want);
	strcpy(diff[1], "sha256:nothex");
	assert_int_equal(image_chain_ids((const char(*)[DIGEST_MAX])diff, 2, chain, &e), -EINVAL);
	assert_msg_contains(&e, "diff_ids[1]");
}

/* A namespace whose records cannot be read: the error is filled in, never
   left as the caller's (here poisoned) struct had it. */
static void test_unreadable_namespace(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	json_t *list = NULL;

	/* A file where the namespace's records directory should be. */
	unit_write(f->root, "snapshots/overlay/records/broken", "not a directory\n");
	memset(&e, 0x5a, sizeof(e));
	assert_int_equal(snapshot_list(f->ov, "broken", &list, &e), -ENOTDIR);
	assert_null(list);
	assert_int_equal(e.code, ENOTDIR);
	assert_non_null(strstr(e.message, "namespace broken"));
	memset(&e, 0x5a, sizeof(e));
	assert_int_equal(snapshot_remove(f->ov, "broken", "L0", &e), -ENOTDIR);
	assert_int_equal(e.code, ENOTDIR);
	assert_non_null(strstr(e.message, "broken"));
}

static void test_unknown_backend(void **state)
{
	struct fixture *f = *state;
	struct snapshotter *sn;
	struct ember_error e;

	assert_int_equal(snapshot_open(f->root, f->dir, "zfs", &sn, &e), -ENOENT);
	assert_msg_contains(&e, "\"zfs\" is not compiled in");
}

/* btrfs where the store is not on btrfs (the unit tests' temporary
   directory: skipped where it is): one line naming the directory, and
   none of the snapshotter's directories made. */
static void test_btrfs_elsewhere(void **state)
{
	struct fixture *f = *state;
	struct snapshotter *sn = NULL;
	struct ember_error e;
	struct statfs st;
	char want[PATH_MAX + 64];

	if (!ENABLED(CONFIG_SNAPSHOT_BTRFS))
		skip();
	assert_int_equal(statfs(f->dir, &st), 0);
	if ((uint32_t)st.f_type == 0x9123683EU)
		skip();
	assert_int_equal(snapshot_open(f->root, f->dir, "btrfs", &sn, &e), -ENOTSUP);
	assert_null(sn);
	assert_string_equal(e.name, EMBER_ERROR_UNAVAILABLE);
	snprintf(want, sizeof(want), "snapshotter btrfs: %s/snapshots/btrfs is not a btrfs file system", f->dir);
	assert_string_equal(e.message, want);
	assert_int_equal(faccessat(f->root, "snapshots/btrfs/records", F_OK, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_extract_commit_and_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_commit_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_and_bad_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree_copy, setup, teardown),
		cmocka_unit_test(test_chain_ids),
		cmocka_unit_test_setup_teardown(test_unknown_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_btrfs_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_namespace, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
