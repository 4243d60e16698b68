/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_IMAGE_INTERNAL_H
#define EMBER_IMAGE_INTERNAL_H

/* Shared by the files of src/image/ only. */

#include <stddef.h>

#include <ember/error.h>

#include "util/err.h"

/* Input-derived text for messages: see err_quote(). */
#define IMAGE_QUOTE_MAX ERR_QUOTE_MAX
#define image_quote err_quote

/* A platform field: 1 .. max-1 characters of [A-Za-z0-9._-]. what names
   it in the message ("manifests[3].platform.os"). */
int image_platform_field_check(const char *what, const char *s, size_t max, struct ember_error *e);

/* Set an io.ember.InvalidArgument error, EINVAL or ENOTSUP. */
#define image_bad err_invalid
#define image_unsupported err_unsupported

/* ---- layer streams (unpack-stream.c) ---- */

#include <stdint.h>
#include <sys/types.h>

#include "util/digest.h"

/*
 * The uncompressed bytes of a layer read from fd, in bounded buffers:
 * gzip (every member) and zstd (every frame) are decompressed here rather
 * than by libarchive, so that what is handed out is exactly the stream the
 * diff ID covers; it is hashed and counted as it goes. Read errors, corrupt
 * or truncated compression, trailing garbage after a gzip stream, and more
 * than max bytes (EFBIG) are errors.
 */
struct layer_stream {
	int fd;
	int compression;      /* enum layer_compression, after sniffing */
	uint64_t max;
	uint64_t bytes;       /* uncompressed bytes handed out so far */
	struct digester digest;
	unsigned char *in, *out;
	size_t in_len;        /* valid bytes in in[] (tar: from in_pos) */
	size_t in_pos;
	int in_eof;
	int end;              /* gzip: a member ended; zstd: a frame ended */
	int done;             /* the whole stream was handed out */
	void *z;              /* z_stream * */
	void *zs;             /* ZSTD_DStream * */
};

/* compression: -1 to sniff, else an enum layer_compression. */
int layer_stream_open(struct layer_stream *s, int fd, int compression, uint64_t max, struct ember_error *e);
/* The next bytes (*buf valid until the next call): > 0 their count, 0 at
   the end, < 0 an error (e filled; messages start with "layer"). */
ssize_t layer_stream_read(struct layer_stream *s, const void **buf, struct ember_error *e);
void layer_stream_done(struct layer_stream *s);

/* Tests only: resolve paths by the O_NOFOLLOW component walk, as where
   openat2 is missing. */
extern int unpack_force_walk;

#endif
