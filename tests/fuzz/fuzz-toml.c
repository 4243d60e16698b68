/* SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ember_error e = { 0 };
	json_t *j = toml_parse((const char *)data, size, "fuzz", &e);

	/* The contract: a result and no error, or no result and an error. */
	if (j) {
		if (e.code != 0 || !json_is_object(j))
			__builtin_trap();
		json_decref(j);
	} else if (e.code <= 0 || e.message[0] == '\0' || strchr(e.message, '\n')) {
		__builtin_trap();
	}
	return 0;
}
