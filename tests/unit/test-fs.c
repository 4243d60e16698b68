/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "util/fs.h"
#include "util/record.h"
#include "util/timestamp.h"

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_write_atomic_creates_and_replaces(void **state)
{
	char *dir = unit_mkdtemp();
	struct ember_error e;
	char *data;
	size_t len;
	struct stat st;

	(void)state;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(fs_write_atomic(fd, "r.json", "one", 3, 0640, &e), 0);
	assert_int_equal(fs_read_file(fd, "r.json", 100, &data, &len, &e), 0);
	assert_string_equal(data, "one");
	free(data);
	assert_int_equal(fstatat(fd, "r.json", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(fs_write_atomic(fd, "r.json", "second", 6, 0640, &e), 0);
	assert_int_equal(fs_read_file(fd, "r.json", 100, &data, &len, &e), 0);
	assert_string_equal(data, "second");
	assert_int_equal(len, 6);
	free(data);
	/* Nothing but the record: no temporary file is left behind. */
	assert_int_equal(count_entries(dir), 1);
	close(fd);
	unit_rmdir(dir);
}

static void test_write_atomic_failure_leaves_no_tmp(void **state)
{
	char *dir = unit_mkdtemp();
	struct ember_error e;

	(void)state;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	/* The target is a non-empty directory: rename must fail. */
	assert_int_equal(mkdirat(fd, "target", 0700), 0);
	unit_write(fd, "target/x", "x");
	assert_int_equal(fs_write_atomic(fd, "a/b", "x", 1, 0600, &e), -EINVAL);
	assert_true(fs_write_atomic(fd, "target", "data", 4, 0600, &e) < 0);
	assert_msg_contains(&e, "write target");
	assert_int_equal(count_entries(dir), 1);
	close(fd);
	unit_rmdir(dir);
}

/* A pid file by path: its directory anywhere, the bytes as given. */
static void test_write_path(void **state)
{
	char *dir = unit_mkdtemp();
	struct ember_error e;
	char path[4096], *data;
	size_t len;

	(void)state;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	snprintf(path, sizeof(path), "%s/ember.pid", dir);
	assert_int_equal(fs_write_path(path, "42\n", 3, 0644, &e), 0);
	assert_int_equal(fs_read_file(fd, "ember.pid", 100, &data, &len, &e), 0);
	assert_string_equal(data, "42\n");
	free(data);
	assert_int_equal(fs_write_path(path, "7", 1, 0644, &e), 0);
	assert_int_equal(fs_read_file(fd, "ember.pid", 100, &data, &len, &e), 0);
	assert_string_equal(data, "7");
	free(data);
	assert_int_equal(count_entries(dir), 1);
	/* Errors name the path. */
	snprintf(path, sizeof(path), "%s/no/such/ember.pid", dir);
	assert_int_equal(fs_write_path(path, "7", 1, 0644, &e), -ENOENT);
	assert_msg_contains(&e, path);
	assert_int_equal(fs_write_path(dir, "7", 1, 0644, &e) < 0, 1);
	snprintf(path, sizeof(path), "%s/", dir);
	assert_int_equal(fs_write_path(path, "7", 1, 0644, &e), -EINVAL);
	assert_int_equal(count_entries(dir), 1);
	close(fd);
	unit_rmdir(dir);
}

static void test_read_file_limits(void **state)
{
	char *dir = unit_mkdtemp();
	struct ember_error e;
	char *data;

	(void)state;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(fs_write_atomic(fd, "big", "0123456789", 10, 0600, &e), 0);
	assert_int_equal(fs_read_file(fd, "big", 9, &data, NULL, &e), -E2BIG);
	assert_msg_contains(&e, "big");
	assert_int_equal(fs_read_file(fd, "missing", 9, &data, NULL, &e), -ENOENT);
	assert_msg_contains(&e, "missing");
	assert_int_equal(mkdirat(fd, "adir", 0700), 0);
	assert_int_equal(fs_read_file(fd, "adir", 9, &data, NULL, &e), -EINVAL);
	close(fd);
	unit_rmdir(dir);
}

static void test_remove_tree_and_tmp(void **state)
{
	char *dir = unit_mkdtemp();
	struct ember_error e;

	(void)state;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(mkdirat(fd, ".tmp-a", 0700), 0);
	assert_int_equal(mkdirat(fd, ".tmp-a/b", 0700), 0);
	unit_write(fd, ".tmp-a/b/c", "x");
	assert_int_equal(symlinkat("/etc/passwd", fd, ".tmp-a/link"), 0);
	assert_int_equal(fs_write_atomic(fd, ".tmp-file", "x", 1, 0600, &e), 0);
	assert_int_equal(fs_write_atomic(fd, "keep", "x", 1, 0600, &e), 0);
	assert_int_equal(fs_remove_tmp(fd, &e), 2);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(faccessat(fd, "keep", F_OK, 0), 0);
	/* The symlink was removed, not followed. */
	assert_int_equal(access("/etc/passwd", F_OK), 0);
	assert_int_equal(fs_remove_tree(fd, "keep", &e), 0);
	assert_int_equal(fs_remove_tree(fd, "keep", &e), 0); /* missing is fine */
	assert_int_equal(count_entries(dir), 0);
	close(fd);
	unit_rmdir(dir);
}

/* A file system mounted below a tree is never emptied by its removal. */
static void test_remove_tree_stops_at_mounts(void **state)
{
	char *dir = unit_mkdtemp();
	struct ember_error e;
	char mnt[4200];

	(void)state;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(mkdirat(fd, "t", 0700), 0);
	assert_int_equal(mkdirat(fd, "t/m", 0700), 0);
	snprintf(mnt, sizeof(mnt), "%s/t/m", dir);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") < 0) {
		/* Only root can mount: the test suite runs as root (CI too). */
		assert_int_equal(errno, EPERM);
		fail_msg("mount a tmpfs on %s: not root?", mnt);
	}
	int m = open(mnt, O_RDONLY | O_DIRECTORY);
	unit_write(m, "precious", "x");
	assert_int_equal(fs_remove_tree(fd, "t", &e), -EBUSY);
	assert_non_null(strstr(e.message, "another file system is mounted there"));
	assert_int_equal(faccessat(m, "precious", F_OK, 0), 0);
	close(m);
	assert_int_equal(umount(mnt), 0);
	assert_int_equal(fs_remove_tree(fd, "t", &e), 0);
	assert_int_equal(count_entries(dir), 0);
	close(fd);
	unit_rmdir(dir);
}

static void test_mkdir_p(void **state)
{
	char *dir = unit_mkdtemp();
	char path[4200];
	struct ember_error e;

	(void)state;
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(fs_mkdir_p(path, 0700, &e), 0);
	assert_int_equal(fs_mkdir_p(path, 0700, &e), 0);
	snprintf(path, sizeof(path), "%s/a/file", dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	snprintf(path, sizeof(path), "%s/a/file/sub", dir);
	assert_true(fs_mkdir_p(path, 0700, &e) < 0);
	assert_msg_contains(&e, "file");
	unit_rmdir(dir);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(fs_name_is_component("a.json"));
	assert_false(fs_name_is_component(""));
	assert_false(fs_name_is_component("."));
	assert_false(fs_name_is_component(".."));
	assert_false(fs_name_is_component("a/b"));
}

static void test_record_roundtrip(void **state)
{
	char *dir = unit_mkdtemp();
	struct ember_error e;
	json_t *in = json_pack("{s:s, s:{s:s}}", "name", "x", "labels", "k", "v"), *out;
	char ts[TIMESTAMP_LEN];

	(void)state;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(record_write(fd, "r.json", in, &e), 0);
	assert_int_equal(record_read(fd, "r.json", &out, &e), 0);
	assert_true(json_equal(in, out));
	json_decref(out);
	assert_int_equal(fs_write_atomic(fd, "bad.json", "{\"a\":", 5, 0600, &e), 0);
	assert_int_equal(record_read(fd, "bad.json", &out, &e), -EBADMSG);
	assert_msg_contains(&e, "damaged record");
	assert_int_equal(fs_write_atomic(fd, "arr.json", "[]", 2, 0600, &e), 0);
	assert_int_equal(record_read(fd, "arr.json", &out, &e), -EBADMSG);
	timestamp_now(ts);
	assert_int_equal(strlen(ts), 30);
	assert_int_equal(ts[29], 'Z');
	json_decref(in);
	close(fd);
	unit_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_atomic_creates_and_replaces),
		cmocka_unit_test(test_write_atomic_failure_leaves_no_tmp),
		cmocka_unit_test(test_write_path),
		cmocka_unit_test(test_read_file_limits),
		cmocka_unit_test(test_remove_tree_and_tmp),
		cmocka_unit_test(test_remove_tree_stops_at_mounts),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_record_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
