/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_PB_H
#define EMBER_UTIL_PB_H

/*
 * The protocol buffers wire format, only as much as CRIU's RPC needs
 * (runtime/criu-rpc.c): varints, length-delimited fields (strings, bytes,
 * nested messages) and skipping fixed 32- and 64-bit fields. No schema,
 * no reflection: callers write and read field numbers themselves.
 *
 * Writing appends to a growing buffer; an allocation failure is sticky
 * (b->failed) and checked once at the end, so encoders stay flat.
 * Reading is a pull parser over untrusted bytes: pb_next() never reads
 * past the end and rejects what proto2 parsers reject (varints longer than
 * 10 bytes, field number 0 or above 2^29-1, groups, lengths past the end).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ember/error.h>

enum pb_wire { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

#define PB_FIELD_MAX ((1u << 29) - 1)

struct pb_buf {
	uint8_t *data; /* malloc'd */
	size_t len, cap;
	bool failed; /* an allocation failed: data is incomplete */
};

void pb_buf_done(struct pb_buf *b);
void pb_put_varint(struct pb_buf *b, uint32_t field, uint64_t v);
/* int32 as proto2 writes it: negative values as 10-byte varints. */
void pb_put_int32(struct pb_buf *b, uint32_t field, int32_t v);
void pb_put_bool(struct pb_buf *b, uint32_t field, bool v);
void pb_put_bytes(struct pb_buf *b, uint32_t field, const void *data, size_t len);
void pb_put_string(struct pb_buf *b, uint32_t field, const char *s);
/* A nested message, already encoded in m (m->failed carries over). */
void pb_put_message(struct pb_buf *b, uint32_t field, const struct pb_buf *m);

struct pb_reader {
	const uint8_t *p, *end;
};

struct pb_field {
	uint32_t num;
	enum pb_wire wire;
	uint64_t v;          /* PB_VARINT, PB_I64, PB_I32 */
	const uint8_t *data; /* PB_LEN: borrowed from the input */
	size_t len;
};

static inline void pb_reader_init(struct pb_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->end = r->p + len;
}

/* The next field: 1, 0 at the end, or -EBADMSG (e filled) when malformed. */
int pb_next(struct pb_reader *r, struct pb_field *f, struct ember_error *e);

/* A varint field's value as proto2's int32 (the low 32 bits). */
static inline int32_t pb_int32(const struct pb_field *f)
{
	return (int32_t)(uint32_t)f->v;
}

#endif
