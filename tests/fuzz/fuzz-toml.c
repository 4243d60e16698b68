/* SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ember_error e = { 0 }, e2 = { 0 };
	struct toml_lines *lines;
	json_t *j = toml_parse((const char *)data, size, "fuzz", &e);
	json_t *j2 = toml_parse_lines((const char *)data, size, "fuzz", &lines, &e2);
	const char *key;
	json_t *v;

	/* The contract: a result and no error, or no result and an error. */
	if (j) {
		if (e.code != 0 || !json_is_object(j))
			__builtin_trap();
		/* Recording lines changes nothing, and knows every top-level key. */
		if (!j2 || !lines || !json_equal(j, j2))
			__builtin_trap();
		json_object_foreach(j2, key, v)
			if (toml_line(lines, j2, key) == 0)
				__builtin_trap();
		json_decref(j);
	} else if (e.code <= 0 || e.message[0] == '\0' || strchr(e.message, '\n')) {
		__builtin_trap();
	} else if (j2 || lines || e2.code != e.code || strcmp(e.message, e2.message)) {
		__builtin_trap();
	}
	toml_lines_free(lines);
	json_decref(j2);
	return 0;
}
