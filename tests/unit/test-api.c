/* SPDX-License-Identifier: Apache-2.0 */
/* The API contract: the method table, the handlers and the .varlink files
   in src/api/idl/ must agree (run from the top of the source tree). */
#include "unit.h"

#include <dirent.h>

#include "api/varlink.h"
#include "daemon/daemon.h"
#include "daemon/server.h"

#define IDL_DIR "src/api/idl"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	if (!f)
		fail_msg("open %s: %s (run from the source tree)", path, strerror(errno));
	fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	return buf;
}

/* "interface NAME" and every "method NAME(" of an IDL text. */
static int idl_parse(const char *text, char *iface, size_t len, char methods[][64], int max)
{
	int n = 0;

	iface[0] = '\0';
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (!strncmp(line, "interface ", 10)) {
			size_t k = strcspn(line + 10, " \n");
			assert_true(k < len);
			memcpy(iface, line + 10, k);
			iface[k] = '\0';
		} else if (!strncmp(line, "method ", 7)) {
			size_t k = strcspn(line + 7, "( \n");
			assert_true(n < max && k < 64);
			memcpy(methods[n], line + 7, k);
			methods[n][k] = '\0';
			n++;
		}
	}
	return n;
}

static void test_table_sorted_and_valid(void **state)
{
	(void)state;
	assert_true(api_methods_count > 0);
	for (size_t i = 0; i < api_methods_count; i++) {
		assert_true(vl_qualified_name_split(api_methods[i].name, NULL));
		assert_non_null(api_methods[i].fn);
		if (i > 0 && strcmp(api_methods[i - 1].name, api_methods[i].name) >= 0)
			fail_msg("method table not sorted at %s", api_methods[i].name);
		assert_ptr_equal(api_method_find(api_methods[i].name), &api_methods[i]);
		/* Streaming replies need a handler that can finish later. */
		if (api_methods[i].flags & API_STREAM)
			assert_true(api_methods[i].flags & API_ASYNC);
	}
	assert_null(api_method_find("io.ember.System.Nope"));
}

static void test_idl_matches_handlers(void **state)
{
	DIR *d = opendir(IDL_DIR);
	struct dirent *de;
	size_t declared = 0;

	(void)state;
	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[512], iface[128], methods[64][64], file_iface[128];
		if (!strstr(de->d_name, ".varlink"))
			continue;
		snprintf(path, sizeof(path), IDL_DIR "/%s", de->d_name);
		char *text = slurp(path);
		int n = idl_parse(text, iface, sizeof(iface), methods, 64);
		snprintf(file_iface, sizeof(file_iface), "%.*s", (int)(strlen(de->d_name) - 8), de->d_name);
		if (strcmp(iface, file_iface))
			fail_msg("%s declares interface \"%s\"", path, iface);
		for (int i = 0; i < n; i++) {
			char full[256];
			if (snprintf(full, sizeof(full), "%s.%s", iface, methods[i]) >= (int)sizeof(full))
				fail_msg("name too long in %s", path);
			if (!api_method_find(full))
				fail_msg("%s declares %s but no handler serves it", path, full);
			declared++;
		}
		free(text);
	}
	closedir(d);
	/* And no handler without a declaration. */
	assert_int_equal(declared, api_methods_count);
}

static void test_embedded_idl_is_current(void **state)
{
	DIR *d = opendir(IDL_DIR);
	struct dirent *de;
	int n = 0;

	(void)state;
	if (!ENABLED(CONFIG_API_INTROSPECTION))
		skip();
	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[512], iface[128];
		if (!strstr(de->d_name, ".varlink"))
			continue;
		snprintf(path, sizeof(path), IDL_DIR "/%s", de->d_name);
		snprintf(iface, sizeof(iface), "%.*s", (int)(strlen(de->d_name) - 8), de->d_name);
		char *text = slurp(path);
		const char *embedded = idl_lookup(iface);
		if (!embedded)
			fail_msg("%s is not embedded", iface);
		assert_string_equal(embedded, text);
		free(text);
		n++;
	}
	closedir(d);
	assert_true(n >= 5);
	assert_null(idl_lookup("io.ember.Nope"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_sorted_and_valid),
		cmocka_unit_test(test_idl_matches_handlers),
		cmocka_unit_test(test_embedded_idl_is_current),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
