/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "metadata/metadata.h"
#include "util/fs.h"

struct fixture {
	char *dir;
	int root;
	struct meta m;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ember_error e;

	f->dir = unit_mkdtemp();
	f->root = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(meta_open(&f->m, f->root, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	meta_close(&f->m);
	close(f->root);
	unit_rmdir(f->dir);
	free(f);
	return 0;
}

static void test_identifiers(void **state)
{
	static const char *const good[] = { "default", "a", "A1", "ota-agent", "k8s.io", "a_b.c-d", "0" };
	static const char *const bad[] = { "", "-a", "a-", "a..b", "a.-b", "bad name", "a/b", "ä", ".",
					   "..", "a_", "_a" };
	struct ember_error e;
	char longname[80];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		if (meta_identifier_check("namespace", good[i], &e) < 0)
			fail_msg("\"%s\" refused: %s", good[i], e.message);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (meta_identifier_check("namespace", bad[i], &e) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
	}
	memset(longname, 'a', 76);
	longname[76] = '\0';
	assert_int_equal(meta_identifier_check("namespace", longname, &e), 0);
	longname[76] = 'a';
	longname[77] = '\0';
	assert_int_equal(meta_identifier_check("namespace", longname, &e), -EINVAL);
	assert_msg_contains(&e, "longer than 76");
}

static void test_labels(void **state)
{
	struct ember_error e;
	char big[5000];

	(void)state;
	json_t *ok = json_pack("{s:s, s:s}", "a", "b", "io.ember/x", "");
	assert_int_equal(meta_labels_check(ok, &e), 0);
	json_decref(ok);
	json_t *num = json_pack("{s:i}", "a", 1);
	assert_int_equal(meta_labels_check(num, &e), -EINVAL);
	json_decref(num);
	json_t *empty_key = json_pack("{s:s}", "", "v");
	assert_int_equal(meta_labels_check(empty_key, &e), -EINVAL);
	json_decref(empty_key);
	json_t *ctrl = json_pack("{s:s}", "a\nb", "v");
	assert_int_equal(meta_labels_check(ctrl, &e), -EINVAL);
	json_decref(ctrl);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_t *huge = json_pack("{s:s}", "k", big);
	assert_int_equal(meta_labels_check(huge, &e), -EINVAL);
	assert_msg_contains(&e, "4096");
	json_decref(huge);
	json_t *arr = json_array();
	assert_int_equal(meta_labels_check(arr, &e), -EINVAL);
	json_decref(arr);
}

static void test_namespace_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	json_t *ns, *list;

	json_t *labels = json_pack("{s:s}", "owner", "ota");
	assert_int_equal(meta_namespace_create(&f->m, "b", labels, &ns, &e), 0);
	assert_string_equal(json_string_value(json_object_get(ns, "name")), "b");
	assert_true(json_equal(json_object_get(ns, "labels"), labels));
	json_decref(ns);
	json_decref(labels);
	assert_int_equal(meta_namespace_create(&f->m, "a", NULL, NULL, &e), 0);
	assert_int_equal(meta_namespace_create(&f->m, "a", NULL, NULL, &e), -EEXIST);
	assert_string_equal(e.name, EMBER_ERROR_ALREADY_EXISTS);

	assert_int_equal(meta_namespace_list(&f->m, &list, &e), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")), "a");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "name")), "b");
	json_decref(list);

	json_t *change = json_pack("{s:s, s:s}", "owner", "", "tier", "edge");
	assert_int_equal(meta_namespace_set_labels(&f->m, "b", change, 0, &ns, &e), 0);
	json_t *want = json_pack("{s:s}", "tier", "edge");
	assert_true(json_equal(json_object_get(ns, "labels"), want));
	json_decref(ns);
	json_decref(want);
	json_decref(change);
	change = json_pack("{s:s}", "x", "y");
	assert_int_equal(meta_namespace_set_labels(&f->m, "b", change, 1, &ns, &e), 0);
	assert_true(json_equal(json_object_get(ns, "labels"), change));
	json_decref(ns);
	assert_int_equal(meta_namespace_set_labels(&f->m, "nope", change, 0, &ns, &e), -ENOENT);
	assert_string_equal(e.name, EMBER_ERROR_NOT_FOUND);
	json_decref(change);

	assert_int_equal(meta_namespace_get(&f->m, "b", &ns, &e), 0);
	json_decref(ns);
	assert_int_equal(meta_namespace_delete(&f->m, "b", &e), 0);
	assert_int_equal(meta_namespace_get(&f->m, "b", &ns, &e), -ENOENT);
	assert_int_equal(meta_namespace_delete(&f->m, "b", &e), -ENOENT);
	assert_int_equal(meta_namespace_get(&f->m, "../x", &ns, &e), -EINVAL);
}

static void test_delete_refuses_non_empty(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	json_t *ns;

	assert_int_equal(meta_namespace_create(&f->m, "full", NULL, NULL, &e), 0);
	int fd = openat(f->m.dir_fd, "full", O_RDONLY | O_DIRECTORY);
	assert_int_equal(mkdirat(fd, "images", 0700), 0);
	unit_write(fd, "images/busybox.json", "{}");
	unit_write(fd, "images/alpine.json", "{}");
	assert_int_equal(meta_namespace_delete(&f->m, "full", &e), -ENOTEMPTY);
	assert_string_equal(e.name, EMBER_ERROR_FAILED_PRECONDITION);
	assert_msg_contains(&e, "2 images");
	assert_int_equal(meta_namespace_get(&f->m, "full", &ns, &e), 0);
	json_decref(ns);
	assert_int_equal(meta_count(&f->m, "images"), 2);
	assert_int_equal(meta_count(&f->m, "containers"), 0);
	close(fd);
}

static void test_recover_removes_leftovers_only(void **state)
{
	struct fixture *f = *state;
	struct meta_recovery rec;
	struct ember_error e;
	json_t *list;

	assert_int_equal(meta_namespace_create(&f->m, "keep", NULL, NULL, &e), 0);
	assert_int_equal(mkdirat(f->m.dir_fd, ".tmp-ns-123", 0700), 0);
	unit_write(f->m.dir_fd, ".tmp-ns-123/namespace.json", "{}");
	assert_int_equal(mkdirat(f->m.dir_fd, ".tmp-del-456", 0700), 0);
	unit_write(f->m.dir_fd, "keep/.tmp-abc-namespace.json", "{\"na");
	assert_int_equal(mkdirat(f->m.dir_fd, "keep/images", 0700), 0);
	unit_write(f->m.dir_fd, "keep/images/.tmp-x", "{");
	assert_int_equal(meta_recover(&f->m, &rec, &e), 0);
	assert_int_equal(rec.removed_tmp, 4);
	assert_int_equal(meta_namespace_list(&f->m, &list, &e), 0);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	assert_int_equal(meta_recover(&f->m, &rec, &e), 0);
	assert_int_equal(rec.removed_tmp, 0);
}

static void test_list_skips_foreign_entries(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	json_t *list;

	assert_int_equal(meta_namespace_create(&f->m, "real", NULL, NULL, &e), 0);
	assert_int_equal(mkdirat(f->m.dir_fd, "norecord", 0700), 0);
	assert_int_equal(meta_namespace_list(&f->m, &list, &e), 0);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identifiers),
		cmocka_unit_test(test_labels),
		cmocka_unit_test_setup_teardown(test_namespace_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_refuses_non_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_removes_leftovers_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_skips_foreign_entries, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
