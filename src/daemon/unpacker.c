/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The unpacker: each layer is applied in a worker thread as soon as its
 * blob is in the store, into a tree of its own (overlay layers are
 * independent until stacked; a native layer starts from a copy of its
 * parent, so those go one after the other). The thread checks the diff ID
 * and syncs the tree; the loop commits the snapshots in layer order, each
 * keyed by its chain ID with the previous one as parent. Nothing is
 * committed for a layer whose unpack or check failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/gc.h"
#include "daemon/snapshots.h"
#include "daemon/svc-images.h"
#include "util/cleanup.h"
#include "util/err.h"

/* Virtual: only what a thread touches is memory. The native tree copy
   recurses once per directory level (a few hundred bytes each), and an
   unpacked layer may nest 2000 deep. */
#define WORKER_STACK (8u << 20)

enum layer_state { L_WAITING, L_READY, L_RUNNING, L_UNPACKED, L_COMMITTED };

struct unpack_work;

struct unpack_layer {
	struct unpacker *u;
	size_t index;
	struct descriptor desc;
	enum layer_state state;
	struct unpack_work *work;     /* L_RUNNING */
	struct snapshot_extract *x;   /* L_UNPACKED */
};

struct unpacker {
	struct daemon *d;
	struct snapshotter *sn;
	char *ns;
	struct image_layers l;
	struct unpack_layer *layers;
	size_t next_commit;
	unsigned running;
	int drop_blobs;
	int done_called;
	struct unpacker_callbacks cb;
	void *userdata;
	struct unpacker *next;
};

/* One thread's job. It outlives its unpacker when that is freed first. */
struct unpack_work {
	struct daemon *d;
	struct unpack_layer *layer; /* NULL: orphaned */
	pthread_t thread;
	int pipe[2];
	struct loop_source *src;
	struct snapshot_extract *x;
	int blob_fd;
	struct unpack_options opts;
	char digest[DIGEST_MAX];
	char expect[DIGEST_MAX];
	int result;
	struct ember_error err;
	struct unpack_stats st;
	struct unpack_work *next;
};

static void *worker(void *arg)
{
	struct unpack_work *w = arg;

	w->result = snapshot_extract_fill(w->x, &w->err);
	if (w->result == 0)
		w->result = image_unpack(w->blob_fd, snapshot_extract_fd(w->x), &w->opts, &w->st, &w->err);
	if (w->result == 0 && strcmp(w->st.diff_id, w->expect))
		w->result = err_set_name(&w->err, EMBER_ERROR_INVALID_ARGUMENT, EBADMSG,
					 "its uncompressed content hashes to %s, the image config says %s",
					 w->st.diff_id, w->expect);
	if (w->result == 0)
		w->result = snapshot_extract_sync(w->x, &w->err);
	close(w->blob_fd);
	w->blob_fd = -1;
	char c = 'x';
	while (write(w->pipe[1], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void work_free(struct unpack_work *w)
{
	for (struct unpack_work **p = &w->d->unpack_works; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	loop_source_free(w->src);
	close_keep_errno(w->pipe[0]);
	close_keep_errno(w->pipe[1]);
	close_keep_errno(w->blob_fd);
	free(w);
}

static void fail(struct unpacker *u, const struct ember_error *err)
{
	if (u->done_called)
		return;
	u->done_called = 1;
	u->cb.done(u, err, u->userdata);
}

static void start_more(struct unpacker *u);

/* drop_blobs: may layer i's blob go now? Not while a layer still to be
   unpacked (of this image or of another pull) has the same digest, nor
   while an image record, lease or label reaches it (blobs are shared by
   every namespace, and an image pulled with --no-unpack needs its own). */
static int blob_droppable(const struct unpacker *u, size_t i)
{
	const char *digest = u->layers[i].desc.digest;

	for (const struct unpacker *o = u->d->unpackers; o; o = o->next)
		for (size_t k = 0; k < o->l.n; k++)
			if ((o != u || k != i) && o->layers[k].state != L_COMMITTED &&
			    !strcmp(o->layers[k].desc.digest, digest))
				return 0;
	return !pulls_want_blob(u->d, digest, u) && !gc_blob_recorded(u->d, digest);
}

static void commit_ready(struct unpacker *u)
{
	struct ember_error e;

	while (!u->done_called && u->next_commit < u->l.n && u->layers[u->next_commit].state == L_UNPACKED) {
		size_t i = u->next_commit;
		struct unpack_layer *ly = &u->layers[i];
		if (snapshot_extract_commit(ly->x, u->l.chain[i], i ? u->l.chain[i - 1] : NULL, NULL, &e) < 0) {
			err_wrap(&e, "layer %zu (%s)", i, ly->desc.digest);
			snapshot_extract_abort(TAKE_PTR(ly->x));
			fail(u, &e);
			return;
		}
		ly->x = NULL;
		ly->state = L_COMMITTED;
		u->next_commit++;
		if (u->cb.layer)
			u->cb.layer(u, ly->desc.digest, "unpacked", u->userdata);
		events_publish(u->d, u->ns, "/snapshot/commit",
			       json_pack("{s:s, s:s}", "key", u->l.chain[i], "snapshotter", snapshot_name(u->sn)));
		if (u->drop_blobs && blob_droppable(u, i) && content_blob_delete(&u->d->cs, ly->desc.digest, &e) < 0 &&
		    e.code != ENOENT)
			log_warn(&u->d->log, "drop blob %s after unpack: %s", ly->desc.digest, e.message);
	}
	if (!u->done_called && u->next_commit == u->l.n)
		fail(u, NULL); /* done, no error */
	else
		start_more(u);
}

static void on_work_done(struct loop_source *s, int fd, uint32_t events, void *userdata)
{
	struct unpack_work *w = userdata;
	char c;

	(void)s;
	(void)events;
	if (read(fd, &c, 1) < 0 && errno == EAGAIN)
		return;
	pthread_join(w->thread, NULL);
	struct unpack_layer *ly = w->layer;
	struct snapshot_extract *x = TAKE_PTR(w->x);
	int result = w->result;
	struct ember_error err = w->err;
	char digest[DIGEST_MAX];
	memcpy(digest, w->digest, sizeof(digest));
	work_free(w);
	if (!ly) {
		snapshot_extract_abort(x);
		return;
	}
	struct unpacker *u = ly->u;
	ly->work = NULL;
	u->running--;
	if (result < 0) {
		snapshot_extract_abort(x);
		err_wrap(&err, "unpack layer %zu (%s)", ly->index, digest);
		log_warn(&u->d->log, "%s", err.message);
		fail(u, &err);
		return;
	}
	ly->x = x;
	ly->state = L_UNPACKED;
	commit_ready(u);
}

static int work_start(struct unpacker *u, struct unpack_layer *ly, struct ember_error *e)
{
	enum layer_compression comp;
	struct unpack_work *w = calloc(1, sizeof(*w));

	if (!w)
		return err_set(e, ENOMEM, "out of memory");
	w->d = u->d;
	w->layer = ly;
	w->pipe[0] = w->pipe[1] = w->blob_fd = -1;
	memcpy(w->digest, ly->desc.digest, DIGEST_MAX);
	memcpy(w->expect, u->l.diff_ids[ly->index], DIGEST_MAX);
	w->opts.whiteouts = (enum unpack_whiteouts)snapshot_whiteouts(u->sn);
	w->opts.compression = image_layer_compression(ly->desc.media_type, &comp, e) == 0 ? (int)comp
											   : UNPACK_COMPRESSION_SNIFF;
	w->opts.same_owner = geteuid() == 0;
	w->opts.devices = geteuid() == 0;
	int r = 0;
	const char *parent = snapshot_whiteouts(u->sn) == UNPACK_WHITEOUT_DELETE && ly->index ? u->l.chain[ly->index - 1]
											     : NULL;
	if (content_blob_open(&u->d->cs, ly->desc.digest, &w->blob_fd, e) < 0 ||
	    snapshot_extract_begin(u->sn, u->ns, parent, &w->x, e) < 0) {
		r = -e->code;
		goto fail;
	}
	if (pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = err_sys(e, errno, "pipe");
		goto fail;
	}
	w->src = loop_add_io(u->d->loop, w->pipe[0], EPOLLIN, on_work_done, w, "unpack", e);
	if (!w->src) {
		r = -e->code;
		goto fail;
	}
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	int pr = pthread_create(&w->thread, &attr, worker, w);
	pthread_attr_destroy(&attr);
	if (pr != 0) {
		r = err_sys(e, pr, "start an unpack thread");
		goto fail;
	}
	w->next = u->d->unpack_works;
	u->d->unpack_works = w;
	ly->work = w;
	ly->state = L_RUNNING;
	u->running++;
	if (u->cb.layer)
		u->cb.layer(u, ly->desc.digest, "unpacking", u->userdata);
	return 0;
fail:
	snapshot_extract_abort(TAKE_PTR(w->x));
	w->next = NULL;
	loop_source_free(TAKE_PTR(w->src));
	close_keep_errno(w->pipe[0]);
	close_keep_errno(w->pipe[1]);
	close_keep_errno(w->blob_fd);
	free(w);
	return r;
}

static void start_more(struct unpacker *u)
{
	struct ember_error e;
	int serial = snapshot_whiteouts(u->sn) == UNPACK_WHITEOUT_DELETE;

	for (size_t i = u->next_commit; i < u->l.n && u->running < CONFIG_UNPACK_JOBS && !u->done_called; i++) {
		struct unpack_layer *ly = &u->layers[i];
		if (serial && i != u->next_commit)
			break; /* a native layer starts from its committed parent */
		if (ly->state != L_READY)
			continue;
		if (work_start(u, ly, &e) < 0) {
			err_wrap(&e, "unpack layer %zu (%s)", i, ly->desc.digest);
			fail(u, &e);
			return;
		}
	}
}

int unpacker_new(struct daemon *d, struct snapshotter *sn, const char *ns, const struct image_layers *l,
		 int drop_blobs, const struct unpacker_callbacks *cb, void *userdata, struct unpacker **out,
		 struct ember_error *e)
{
	struct unpacker *u = calloc(1, sizeof(*u));

	if (!u)
		return err_set(e, ENOMEM, "out of memory");
	u->d = d;
	u->sn = sn;
	u->drop_blobs = drop_blobs;
	u->cb = *cb;
	u->userdata = userdata;
	u->ns = strdup(ns);
	u->layers = calloc(l->n + 1, sizeof(*u->layers));
	u->l.n = l->n;
	u->l.diff_ids = malloc((l->n + 1) * DIGEST_MAX);
	u->l.chain = malloc((l->n + 1) * DIGEST_MAX);
	if (!u->ns || !u->layers || !u->l.diff_ids || !u->l.chain) {
		unpacker_free(u);
		return err_set(e, ENOMEM, "out of memory");
	}
	memcpy(u->l.diff_ids, l->diff_ids, l->n * DIGEST_MAX);
	memcpy(u->l.chain, l->chain, l->n * DIGEST_MAX);
	for (size_t i = 0; i < l->n; i++) {
		u->layers[i].u = u;
		u->layers[i].index = i;
		memcpy(u->layers[i].desc.digest, l->layers[i].digest, DIGEST_MAX);
		u->layers[i].desc.size = l->layers[i].size;
		u->layers[i].desc.media_type = strdup(l->layers[i].media_type ? l->layers[i].media_type : "");
		if (!u->layers[i].desc.media_type) {
			unpacker_free(u);
			return err_set(e, ENOMEM, "out of memory");
		}
	}
	/* The layers whose snapshots exist (a committed one implies its parents). */
	for (size_t i = l->n; i-- > 0;) {
		json_t *rec;
		struct ember_error ignored;
		if (snapshot_get(sn, ns, l->chain[i], &rec, &ignored) < 0)
			continue;
		int committed = !strcmp(json_string_value(json_object_get(rec, "kind")) ?: "", "committed");
		json_decref(rec);
		if (committed) {
			for (size_t k = 0; k <= i; k++)
				u->layers[k].state = L_COMMITTED;
			u->next_commit = i + 1;
			break;
		}
	}
	u->next = d->unpackers;
	d->unpackers = u;
	*out = u;
	return 0;
}

void unpacker_skip(const struct unpacker *u, int *skip)
{
	/* A blob is skipped only when every layer that has it is unpacked. */
	for (size_t i = 0; i < u->l.n; i++) {
		skip[i] = u->drop_blobs && u->layers[i].state == L_COMMITTED;
		for (size_t k = 0; skip[i] && k < u->l.n; k++)
			if (u->layers[k].state != L_COMMITTED && !strcmp(u->layers[k].desc.digest, u->layers[i].desc.digest))
				skip[i] = 0;
	}
}

void unpacker_blob(struct unpacker *u, const char *digest)
{
	for (size_t i = 0; i < u->l.n; i++)
		if (u->layers[i].state == L_WAITING && !strcmp(u->layers[i].desc.digest, digest))
			u->layers[i].state = L_READY; /* a digest may be two layers */
	start_more(u);
}

int unpacker_busy(const struct unpacker *u)
{
	return !u->done_called && u->next_commit < u->l.n;
}

void unpacker_free(struct unpacker *u)
{
	if (!u)
		return;
	for (struct unpacker **p = &u->d->unpackers; *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			break;
		}
	for (size_t i = 0; u->layers && i < u->l.n; i++) {
		struct unpack_layer *ly = &u->layers[i];
		if (ly->work)
			ly->work->layer = NULL;
		snapshot_extract_abort(ly->x);
		descriptor_done(&ly->desc);
	}
	free(u->layers);
	free(u->l.diff_ids);
	free(u->l.chain);
	free(u->ns);
	free(u);
}

void unpackers_foreach_key(const struct daemon *d, void (*fn)(const char *sn, const char *ns, const char *key,
							     void *userdata),
			   void *userdata)
{
	for (const struct unpacker *u = d->unpackers; u; u = u->next)
		for (size_t i = 0; i < u->l.n; i++)
			fn(snapshot_name(u->sn), u->ns, u->l.chain[i], userdata);
}

unsigned unpackers_running(const struct daemon *d)
{
	unsigned n = 0;

	for (const struct unpack_work *w = d->unpack_works; w; w = w->next)
		n++;
	return n;
}
