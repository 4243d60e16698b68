/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: varlink framing and message parsing, as the daemon and the
   client library see bytes from a peer. The first byte picks the size of
   the chunks the stream arrives in, so message boundaries fall anywhere. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/varlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vl_reader r;
	struct ember_error e;
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] % 64) + 1;
	data++;
	size--;
	vl_reader_init(&r, 4096);
	while (size > 0) {
		size_t avail;
		char *space = vl_reader_space(&r, &avail);
		if (!space)
			break; /* over the limit: the peer gets disconnected */
		size_t n = size < chunk ? size : chunk;
		if (n > avail)
			n = avail;
		memcpy(space, data, n);
		vl_reader_commit(&r, n);
		data += n;
		size -= n;

		const char *msg;
		size_t len;
		while (vl_reader_next(&r, &msg, &len) == 1) {
			struct vl_call call;
			struct vl_reply reply;
			if (vl_call_parse(msg, len, &call, &e) == 0) {
				/* What is accepted must encode and parse back the same. */
				size_t elen;
				char *enc = vl_call_encode(call.method, call.parameters, call.flags, &elen);
				struct vl_call again;
				if (!enc || vl_call_parse(enc, elen - 1, &again, &e) != 0 ||
				    strcmp(again.method, call.method) || again.flags != call.flags ||
				    !json_equal(again.parameters, call.parameters))
					__builtin_trap();
				vl_call_done(&again);
				free(enc);
				vl_call_done(&call);
			} else if (e.code <= 0 || !e.message[0]) {
				__builtin_trap(); /* a failure must say what was wrong */
			}
			if (vl_reply_parse(msg, len, &reply, &e) == 0)
				vl_reply_done(&reply);
			vl_reader_consume(&r);
		}
	}
	vl_reader_done(&r);
	return 0;
}
