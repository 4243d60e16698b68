/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_CONTENT_H
#define EMBER_CONTENT_H

/*
 * The content store: immutable, content-addressed blobs shared by every
 * namespace (DESIGN.md §4).
 *
 *   <root>/content/blobs/sha256/<hex>     verified blobs, read-only
 *   <root>/content/ingest/<key>/data      bytes received so far
 *   <root>/content/ingest/<key>/ingest.json  {"ref", "digest", "size", "offset", "started_at"}
 *
 * A blob becomes visible only by rename(2) of a fully written, fsync'd and
 * verified file into blobs/, followed by an fsync of that directory. An
 * ingest is resumable: its record names the expected digest and size and an
 * offset up to which the data is known to be durable (fsync'd); after a crash
 * the data is cut back to that offset and hashed again, so a download goes
 * on from there instead of starting over.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ember/error.h>

#include "util/digest.h"

struct content_store {
	int dir_fd;    /* <root>/content */
	int blobs_fd;  /* content/blobs/sha256 */
	int ingest_fd; /* content/ingest */
};

int content_open(struct content_store *cs, int root_fd, struct ember_error *e);
void content_close(struct content_store *cs);

struct content_recovery {
	unsigned removed_tmp;      /* temporary files in blobs/ */
	unsigned removed_ingests;  /* damaged or already-committed ingests */
	unsigned kept_ingests;     /* resumable */
};

/* Start-up recovery; its cost grows with the number of ingests, not blobs. */
int content_recover(struct content_store *cs, struct content_recovery *st, struct ember_error *e);

/* ---- blobs ----------------------------------------------------------------- */

/* Size of a committed blob; -ENOENT (io.ember.NotFound) when absent. */
int content_blob_stat(struct content_store *cs, const char *digest, int64_t *size,
		      struct ember_error *e);
/* Bytes the blob occupies on its file system (allocated blocks). */
int content_blob_usage(struct content_store *cs, const char *digest, uint64_t *bytes, struct ember_error *e);
int content_blob_open(struct content_store *cs, const char *digest, int *fd, struct ember_error *e);
/* Read a whole blob of at most max bytes (else E2BIG). */
int content_blob_read(struct content_store *cs, const char *digest, size_t max, char **data,
		      size_t *len, struct ember_error *e);
/* Hash the blob again; -EBADMSG when its bytes no longer match its name. */
int content_blob_verify(struct content_store *cs, const char *digest, int64_t *size,
			struct ember_error *e);
int content_blob_delete(struct content_store *cs, const char *digest, struct ember_error *e);
/* Store a small blob from memory (manifests, configs). When expected is
   not NULL the data must hash to it. out (may be NULL) gets the digest. */
int content_blob_put(struct content_store *cs, const void *data, size_t len, const char *expected,
		     char out[DIGEST_MAX], struct ember_error *e);

/*
 * A blob of unknown digest streamed into the store (imports): written to a
 * temporary file in blobs/, then fsync'd, hashed and renamed to its
 * digest. When expected is not NULL the bytes must hash to it (else
 * -EBADMSG and nothing is stored). commit returns 1 when it stored the
 * blob, 0 when the store had it already. commit and abort free w.
 * sum gives the digest and size before the commit (a caller holds the
 * blob first, daemon/holds.h); nothing may be written after it.
 */
struct content_writer;
int content_writer_open(struct content_store *cs, struct content_writer **w, struct ember_error *e);
int content_writer_write(struct content_writer *w, const void *data, size_t len, struct ember_error *e);
void content_writer_sum(struct content_writer *w, char digest[DIGEST_MAX], int64_t *size);
int content_writer_commit(struct content_writer *w, const char *expected, char digest[DIGEST_MAX],
			  int64_t *size, struct ember_error *e);
void content_writer_abort(struct content_writer *w);

/* Call fn for every committed blob; a non-zero return stops the walk. */
typedef int (*content_walk_fn)(const char *digest, int64_t size, int64_t mtime, void *userdata);
int content_walk(struct content_store *cs, content_walk_fn fn, void *userdata, struct ember_error *e);

/* ---- ingests --------------------------------------------------------------- */

struct content_ingest;

/*
 * Open the ingest for a blob of known digest and size (size < 0: unknown),
 * resuming one left by an earlier attempt, run or boot. ref names the
 * writer (for listings). -EEXIST when the blob is already committed.
 */
int content_ingest_open(struct content_store *cs, const char *ref, const char *digest, int64_t size,
			struct content_ingest **out, struct ember_error *e);
/* Bytes already held (where the next write goes). */
int64_t content_ingest_offset(const struct content_ingest *ing);
/* Append; refuses to go past the expected size (EFBIG). Makes the data
   durable and records the offset every CONTENT_SYNC_BYTES. */
int content_ingest_write(struct content_ingest *ing, const void *data, size_t len,
			 struct ember_error *e);
/* Start over from byte 0 (the server ignored a Range request). */
int content_ingest_reset(struct content_ingest *ing, struct ember_error *e);
/* Make the data durable and record the offset now (before a retry pause). */
int content_ingest_sync(struct content_ingest *ing, struct ember_error *e);
/*
 * Syncs kept off the owner's thread (the daemon's loop): after
 * content_ingest_defer_syncs(), writes never sync; the owner asks
 * content_ingest_sync_due(), takes upto = content_ingest_offset() and has
 * content_ingest_sync_upto(ing, upto) run in another thread while it goes
 * on writing, then calls content_ingest_synced(ing, upto). One at a time
 * per ingest, and no reset, sync, commit or close while it runs.
 */
void content_ingest_defer_syncs(struct content_ingest *ing);
bool content_ingest_sync_due(const struct content_ingest *ing);
int content_ingest_sync_upto(const struct content_ingest *ing, int64_t upto, struct ember_error *e);
void content_ingest_synced(struct content_ingest *ing, int64_t upto);
/*
 * Verify size and digest, move the data into blobs/ and remove the ingest.
 * On a digest mismatch the ingest is removed too (its bytes are wrong) and
 * -EBADMSG is returned. Frees ing in every case.
 */
int content_ingest_commit(struct content_ingest *ing, struct ember_error *e);
/* Close, keeping the bytes for a later resume. NULL is fine. */
void content_ingest_close(struct content_ingest *ing);
/* Close and delete the bytes. NULL is fine. */
void content_ingest_discard(struct content_ingest *ing);

#define CONTENT_SYNC_BYTES (8u << 20)

struct content_ingest_info {
	char key[DIGEST_HEX_LEN + 1];
	char ref[256];
	char digest[DIGEST_MAX];
	int64_t size;
	int64_t offset;
	int64_t started_at; /* unix seconds */
};
typedef int (*content_ingest_walk_fn)(const struct content_ingest_info *info, void *userdata);
int content_ingest_walk(struct content_store *cs, content_ingest_walk_fn fn, void *userdata,
			struct ember_error *e);
/* Remove the ingest with this key (from a listing). */
int content_ingest_remove(struct content_store *cs, const char *key, struct ember_error *e);

/* Free bytes for unprivileged writers on the store's filesystem. */
int content_free_bytes(struct content_store *cs, uint64_t *bytes, struct ember_error *e);

#endif
