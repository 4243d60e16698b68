/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The uncompressed byte stream of a layer: read from an fd, decompressed
 * here (zlib, libzstd) so that the bytes libarchive parses are the very
 * bytes the diff ID is computed over, counted against the size limit.
 */
#include "image/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "image/image-internal.h"
#include "util/err.h"

#define IN_SIZE (64 * 1024)
#define OUT_SIZE (128 * 1024)

static int stream_bad(struct ember_error *e, const char *fmt, const char *detail)
{
	return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, fmt, detail);
}

/* More compressed input: 1 when there is some, 0 at the end of the fd. */
static int fill(struct layer_stream *s, struct ember_error *e)
{
	if (s->in_pos < s->in_len)
		return 1;
	if (s->in_eof)
		return 0;
	for (;;) {
		ssize_t n = read(s->fd, s->in, IN_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, errno, "layer: read");
		s->in_pos = 0;
		s->in_len = (size_t)n;
		if (n == 0)
			s->in_eof = 1;
		return n > 0;
	}
}

int layer_stream_open(struct layer_stream *s, int fd, int compression, uint64_t max, struct ember_error *e)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->max = max;
	digest_init(&s->digest);
	s->in = malloc(IN_SIZE);
	s->out = malloc(OUT_SIZE);
	if (!s->in || !s->out) {
		layer_stream_done(s);
		return err_set(e, ENOMEM, "out of memory");
	}
	if (compression < 0) {
		/* Sniff: up to 4 bytes, which may come in more than one read. */
		while (s->in_len < 4 && !s->in_eof) {
			ssize_t n = read(fd, s->in + s->in_len, IN_SIZE - s->in_len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				int saved = errno;
				layer_stream_done(s);
				return err_sys(e, saved, "layer: read");
			}
			if (n == 0)
				s->in_eof = 1;
			s->in_len += (size_t)n;
		}
		static const unsigned char zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
		if (s->in_len >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b)
			compression = LAYER_GZIP;
		else if (s->in_len >= 4 && !memcmp(s->in, zstd_magic, 4))
			compression = LAYER_ZSTD;
		else
			compression = LAYER_TAR;
	}
	s->compression = compression;
	if (compression == LAYER_GZIP) {
		z_stream *z = calloc(1, sizeof(*z));
		/* 16 + MAX_WBITS: gzip framing only, not zlib's. */
		if (!z || inflateInit2(z, 16 + MAX_WBITS) != Z_OK) {
			free(z);
			layer_stream_done(s);
			return err_set(e, ENOMEM, "out of memory");
		}
		s->z = z;
	} else if (compression == LAYER_ZSTD) {
		s->zs = ZSTD_createDStream();
		if (!s->zs || ZSTD_isError(ZSTD_initDStream(s->zs))) {
			layer_stream_done(s);
			return err_set(e, ENOMEM, "out of memory");
		}
	} else if (compression != LAYER_TAR) {
		layer_stream_done(s);
		return err_set(e, EINVAL, "layer: unknown compression %d", compression);
	}
	return 0;
}

void layer_stream_done(struct layer_stream *s)
{
	if (s->z) {
		inflateEnd(s->z);
		free(s->z);
	}
	if (s->zs)
		ZSTD_freeDStream(s->zs);
	free(s->in);
	free(s->out);
	s->z = s->zs = NULL;
	s->in = s->out = NULL;
}

/* Decompressed bytes into out[]: their count, 0 at the end, < 0 on error. */
static ssize_t gzip_read(struct layer_stream *s, struct ember_error *e)
{
	z_stream *z = s->z;

	for (;;) {
		int r = fill(s, e);
		if (r < 0)
			return r;
		if (s->end) {
			/* A member ended: the stream ends too, or another member follows. */
			if (r == 0)
				return 0;
			if (s->in[s->in_pos] != 0x1f)
				return stream_bad(e, "layer: gzip: %s", "data after the end of the compressed stream");
			inflateReset(z);
			s->end = 0;
		}
		if (r == 0)
			return stream_bad(e, "layer: gzip: %s", "truncated stream");
		z->next_in = s->in + s->in_pos;
		z->avail_in = (uInt)(s->in_len - s->in_pos);
		z->next_out = s->out;
		z->avail_out = OUT_SIZE;
		int zr = inflate(z, Z_NO_FLUSH);
		s->in_pos = s->in_len - z->avail_in;
		if (zr == Z_STREAM_END)
			s->end = 1;
		else if (zr == Z_MEM_ERROR)
			return err_set(e, ENOMEM, "out of memory");
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return stream_bad(e, "layer: gzip: %s", z->msg ? z->msg : "corrupt data");
		size_t n = OUT_SIZE - z->avail_out;
		if (n)
			return (ssize_t)n;
	}
}

static ssize_t zstd_read(struct layer_stream *s, struct ember_error *e)
{
	for (;;) {
		int r = fill(s, e);
		if (r < 0)
			return r;
		/* At the end of the input only a decoder holding no unflushed
		   output may stop: s->end says the last call finished a frame. */
		if (r == 0 && s->end)
			return 0;
		ZSTD_inBuffer in = { s->in, s->in_len, s->in_pos };
		ZSTD_outBuffer out = { s->out, OUT_SIZE, 0 };
		size_t zr = ZSTD_decompressStream(s->zs, &out, &in);
		s->in_pos = in.pos;
		if (ZSTD_isError(zr))
			return stream_bad(e, "layer: zstd: %s", ZSTD_getErrorName(zr));
		s->end = zr == 0;
		if (out.pos)
			return (ssize_t)out.pos;
		if (r == 0)
			return stream_bad(e, "layer: zstd: %s", "truncated stream");
	}
}

ssize_t layer_stream_read(struct layer_stream *s, const void **buf, struct ember_error *e)
{
	ssize_t n;

	if (s->done)
		return 0;
	if (s->compression == LAYER_GZIP) {
		n = gzip_read(s, e);
		*buf = s->out;
	} else if (s->compression == LAYER_ZSTD) {
		n = zstd_read(s, e);
		*buf = s->out;
	} else {
		n = fill(s, e);
		if (n > 0) {
			*buf = s->in + s->in_pos;
			n = (ssize_t)(s->in_len - s->in_pos);
			s->in_pos = s->in_len;
		}
	}
	if (n < 0)
		return n;
	if (n == 0) {
		s->done = 1;
		return 0;
	}
	if ((uint64_t)n > s->max - s->bytes)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EFBIG,
				    "layer expands beyond %llu bytes (the unpack limit)", (unsigned long long)s->max);
	s->bytes += (uint64_t)n;
	digest_update(&s->digest, *buf, (size_t)n);
	return n;
}
