/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: revision documents an OTA agent sends (io.ember.Revisions.Stage,
   ember revisions stage FILE). */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/revisions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je), *out = NULL, *again = NULL;
	struct ember_error e;

	if (!doc)
		return 0;
	int r = revision_doc_check(doc, &out, &e);
	if (r < 0) {
		CHECK(out == NULL && r == -e.code && e.message[0]);
		for (const char *c = e.message; *c; c++)
			CHECK(*c >= 0x20 && *c < 0x7f); /* one line of plain text */
	} else {
		/* What was accepted, with its defaults, is accepted as it is. */
		CHECK(out != NULL);
		CHECK(revision_doc_check(out, &again, &e) == 0 && json_equal(out, again));
	}
	json_decref(again);
	json_decref(out);
	json_decref(doc);
	return 0;
}
