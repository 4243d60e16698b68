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

static json_t *rec(const char *name, int v)
{
	return json_pack("{s:s, s:i}", "name", name, "v", v);
}

static void test_put_get_list_delete(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	json_t *got, *list;

	/* Nothing yet: not found, and an empty list; the namespace need not exist. */
	assert_int_equal(meta_object_get(&f->m, "default", "images", "image", "x", &got, &e), -ENOENT);
	assert_string_equal(e.name, EMBER_ERROR_NOT_FOUND);
	assert_msg_contains(&e, "image \"x\" not found");
	assert_int_equal(meta_object_list(&f->m, "default", "images", &list, &e), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);

	/* put creates the namespace, as containerd does. */
	json_t *r = rec("docker.io/library/busybox:latest", 1);
	assert_int_equal(meta_object_put(&f->m, "default", "images", "docker.io/library/busybox:latest", r, &e), 0);
	json_decref(r);
	r = rec("a/b:1", 2);
	assert_int_equal(meta_object_put(&f->m, "default", "images", "a/b:1", r, &e), 0);
	json_decref(r);
	json_t *ns;
	assert_int_equal(meta_namespace_get(&f->m, "default", &ns, &e), 0);
	json_decref(ns);

	assert_int_equal(meta_object_get(&f->m, "default", "images", "image", "a/b:1", &got, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(got, "v")), 2);
	json_decref(got);

	assert_int_equal(meta_object_list(&f->m, "default", "images", &list, &e), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")), "a/b:1");
	json_decref(list);
	assert_int_equal(meta_count(&f->m, "images"), 2);

	/* The namespace now holds objects: it cannot be deleted. */
	assert_int_equal(meta_namespace_delete(&f->m, "default", &e), -ENOTEMPTY);

	assert_int_equal(meta_object_delete(&f->m, "default", "images", "image", "a/b:1", &e), 0);
	assert_int_equal(meta_object_delete(&f->m, "default", "images", "image", "a/b:1", &e), -ENOENT);
	assert_int_equal(meta_object_get(&f->m, "bad name", "images", "image", "x", &got, &e), -EINVAL);
}

static void test_names_are_escaped(void **state)
{
	struct fixture *f = *state;
	char file[META_FILE_NAME_MAX], longname[400];
	struct ember_error e;
	json_t *got;

	(void)state;
	meta_object_file_name("docker.io/library/busybox:latest", file);
	assert_string_equal(file, "docker.io%2Flibrary%2Fbusybox%3Alatest.json");
	meta_object_file_name("..", file);
	assert_string_equal(file, "%2E..json");
	meta_object_file_name("a@sha256:00", file);
	assert_string_equal(file, "a%40sha256%3A00.json");
	/* Too long to escape: a hash of the name, still one safe component. */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	meta_object_file_name(longname, file);
	assert_int_equal(file[0], '=');
	assert_int_equal(strlen(file), 1 + 64 + 5);
	assert_true(fs_name_is_component(file));

	json_t *r = rec(longname, 7);
	assert_int_equal(meta_object_put(&f->m, "ns1", "leases", longname, r, &e), 0);
	json_decref(r);
	assert_int_equal(meta_object_get(&f->m, "ns1", "leases", "lease", longname, &got, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(got, "v")), 7);
	json_decref(got);
}

static int count(const char *ns, json_t *r, void *userdata)
{
	int *n = userdata;
	(void)r;
	assert_true(!strcmp(ns, "one") || !strcmp(ns, "two"));
	(*n)++;
	return 0;
}

static void test_walk_all(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	int n = 0;

	json_t *r = rec("x", 1);
	assert_int_equal(meta_object_put(&f->m, "one", "images", "x", r, &e), 0);
	assert_int_equal(meta_object_put(&f->m, "two", "images", "x", r, &e), 0);
	assert_int_equal(meta_object_put(&f->m, "two", "images", "y", r, &e), 0);
	json_decref(r);
	/* A damaged record is skipped, not fatal. */
	int fd = openat(f->root, "meta/two/images/zz.json", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{not json", 9), 9);
	close(fd);
	assert_int_equal(meta_object_walk_all(&f->m, "images", count, &n, &e), 0);
	assert_int_equal(n, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_list_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_are_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_all, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
