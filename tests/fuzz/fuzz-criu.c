/* SPDX-License-Identifier: Apache-2.0 */
/* CRIU's responses (runtime/criu-rpc.c) and the protobuf reader under them (util/pb.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/runtime-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rt_criu_resp r;
	struct ember_error e = { 0 };
	struct pb_reader rd;
	struct pb_field f;
	int k;

	/* The contract: 0, or -EBADMSG with a one-line message. */
	k = rt_criu_resp_decode(data, size, &r, &e);
	if (k < 0 && (k != -EBADMSG || e.message[0] == '\0' || strchr(e.message, '\n')))
		__builtin_trap();
	/* Text from CRIU ends up in one-line messages: printable only. */
	if (k == 0)
		for (const char *s = r.cr_errmsg; *s; s++)
			if (*s < 0x20 || *s > 0x7e)
				__builtin_trap();
	/* The reader never leaves the input, and always makes progress. */
	pb_reader_init(&rd, data, size);
	while ((k = pb_next(&rd, &f, &e)) > 0) {
		if (rd.p > data + size || f.num == 0 || f.num > PB_FIELD_MAX)
			__builtin_trap();
		if (f.wire == PB_LEN && (f.data < data || f.data + f.len > data + size))
			__builtin_trap();
	}
	if (rd.p > data + size)
		__builtin_trap();
	return 0;
}
