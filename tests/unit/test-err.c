/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include "util/err.h"

static void test_set_returns_negative_code(void **state)
{
	struct ember_error e;

	(void)state;
	assert_int_equal(err_set(&e, ENOENT, "open %s", "x"), -ENOENT);
	assert_int_equal(e.code, ENOENT);
	assert_string_equal(e.message, "open x");
	assert_string_equal(e.name, "");
	/* A code <= 0 is a bug in the caller; it must still be an error. */
	assert_int_equal(err_set(&e, 0, "oops"), -EIO);
}

static void test_sys_appends_strerror(void **state)
{
	struct ember_error e;

	(void)state;
	assert_int_equal(err_sys(&e, ENOSPC, "write %s", "f"), -ENOSPC);
	assert_string_equal(e.message, "write f: No space left on device");
}

static void test_wrap_builds_a_chain(void **state)
{
	struct ember_error e;

	(void)state;
	err_set_name(&e, EMBER_ERROR_NOT_FOUND, ENOENT, "blob sha256:ab not found");
	assert_int_equal(err_wrap(&e, "pull %s", "busybox"), -ENOENT);
	assert_int_equal(err_wrap(&e, "ota"), -ENOENT);
	assert_string_equal(e.message, "ota: pull busybox: blob sha256:ab not found");
	assert_string_equal(e.name, EMBER_ERROR_NOT_FOUND);
}

static void test_wrap_truncates_safely(void **state)
{
	struct ember_error e;
	char big[1000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, EINVAL, "%s", big);
	assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
	err_wrap(&e, "%s", big);
	assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
	err_wrap(&e, "context");
	assert_memory_equal(e.message, "context: ", 9);
}

static void test_api_names(void **state)
{
	static const struct {
		int code;
		const char *name;
	} cases[] = {
		{ ENOENT, EMBER_ERROR_NOT_FOUND },
		{ EEXIST, EMBER_ERROR_ALREADY_EXISTS },
		{ EINVAL, EMBER_ERROR_INVALID_ARGUMENT },
		{ ENOTEMPTY, EMBER_ERROR_FAILED_PRECONDITION },
		{ EACCES, EMBER_ERROR_PERMISSION_DENIED },
		{ ENOSPC, EMBER_ERROR_RESOURCE_EXHAUSTED },
		{ ECANCELED, EMBER_ERROR_CANCELED },
		{ EIO, EMBER_ERROR_INTERNAL },
	};
	struct ember_error e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err_set(&e, cases[i].code, "x");
		assert_string_equal(err_api_name(&e), cases[i].name);
	}
	/* A name set by the component wins over the errno mapping. */
	err_set_name(&e, EMBER_ERROR_UNAVAILABLE, ENOENT, "x");
	assert_string_equal(err_api_name(&e), EMBER_ERROR_UNAVAILABLE);
}

static void test_code_from_name(void **state)
{
	(void)state;
	assert_int_equal(err_code_from_name(EMBER_ERROR_NOT_FOUND), ENOENT);
	assert_int_equal(err_code_from_name(EMBER_ERROR_ALREADY_EXISTS), EEXIST);
	assert_int_equal(err_code_from_name(EMBER_VARLINK_METHOD_NOT_FOUND), ENOENT);
	assert_int_equal(err_code_from_name(EMBER_VARLINK_PERMISSION_DENIED), EACCES);
	assert_int_equal(err_code_from_name("com.example.Whatever"), EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_returns_negative_code),
		cmocka_unit_test(test_sys_appends_strerror),
		cmocka_unit_test(test_wrap_builds_a_chain),
		cmocka_unit_test(test_wrap_truncates_safely),
		cmocka_unit_test(test_api_names),
		cmocka_unit_test(test_code_from_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
