/* SPDX-License-Identifier: Apache-2.0 */
/* The protocol buffers wire format (see pb.h). */
#include "util/pb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

void pb_buf_done(struct pb_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static bool reserve(struct pb_buf *b, size_t more)
{
	if (b->failed)
		return false;
	if (more <= b->cap - b->len)
		return true;
	size_t cap = b->cap ? b->cap : 64;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	uint8_t *p = realloc(b->data, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

static void put_raw_varint(struct pb_buf *b, uint64_t v)
{
	if (!reserve(b, 10))
		return;
	while (v >= 0x80) {
		b->data[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->data[b->len++] = (uint8_t)v;
}

static void put_key(struct pb_buf *b, uint32_t field, enum pb_wire wire)
{
	put_raw_varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

void pb_put_varint(struct pb_buf *b, uint32_t field, uint64_t v)
{
	put_key(b, field, PB_VARINT);
	put_raw_varint(b, v);
}

void pb_put_int32(struct pb_buf *b, uint32_t field, int32_t v)
{
	/* Sign-extended to 64 bits, as every proto2 implementation does. */
	pb_put_varint(b, field, (uint64_t)(int64_t)v);
}

void pb_put_bool(struct pb_buf *b, uint32_t field, bool v)
{
	pb_put_varint(b, field, v ? 1 : 0);
}

void pb_put_bytes(struct pb_buf *b, uint32_t field, const void *data, size_t len)
{
	put_key(b, field, PB_LEN);
	put_raw_varint(b, len);
	if (!reserve(b, len))
		return;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
}

void pb_put_string(struct pb_buf *b, uint32_t field, const char *s)
{
	pb_put_bytes(b, field, s, strlen(s));
}

void pb_put_message(struct pb_buf *b, uint32_t field, const struct pb_buf *m)
{
	if (m->failed)
		b->failed = true;
	pb_put_bytes(b, field, m->data, m->len);
}

static int get_varint(struct pb_reader *r, uint64_t *v, struct ember_error *e)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (r->p >= r->end)
			return err_set(e, EBADMSG, "protobuf: truncated varint");
		uint8_t c = *r->p++;
		/* The tenth byte may carry only the top bit of 64. */
		if (shift == 63 && c > 1)
			return err_set(e, EBADMSG, "protobuf: varint overflows 64 bits");
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return err_set(e, EBADMSG, "protobuf: varint longer than 10 bytes");
}

int pb_next(struct pb_reader *r, struct pb_field *f, struct ember_error *e)
{
	uint64_t key;

	memset(f, 0, sizeof(*f));
	if (r->p >= r->end)
		return 0;
	if (get_varint(r, &key, e) < 0)
		return -e->code;
	if ((key >> 3) == 0 || (key >> 3) > PB_FIELD_MAX)
		return err_set(e, EBADMSG, "protobuf: field number %llu out of range", (unsigned long long)(key >> 3));
	f->num = (uint32_t)(key >> 3);
	f->wire = (enum pb_wire)(key & 7);
	size_t left;
	switch ((int)(key & 7)) {
	case PB_VARINT:
		return get_varint(r, &f->v, e) < 0 ? -e->code : 1;
	case PB_I64:
	case PB_I32: {
		size_t n = f->wire == PB_I64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < n)
			return err_set(e, EBADMSG, "protobuf: field %u: truncated fixed value", f->num);
		for (size_t i = 0; i < n; i++)
			f->v |= (uint64_t)r->p[i] << (8 * i);
		r->p += n;
		return 1;
	}
	case PB_LEN:
		if (get_varint(r, &f->v, e) < 0)
			return -e->code;
		left = (size_t)(r->end - r->p);
		if (f->v > left)
			return err_set(e, EBADMSG, "protobuf: field %u: length %llu past the end (%zu left)", f->num,
				       (unsigned long long)f->v, left);
		f->data = r->p;
		f->len = (size_t)f->v;
		r->p += f->len;
		return 1;
	default:
		return err_set(e, EBADMSG, "protobuf: field %u: unsupported wire type %u", f->num, (unsigned)(key & 7));
	}
}
