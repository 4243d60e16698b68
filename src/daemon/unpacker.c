/* SPDX-License-Identifier: Apache-2.0 */
/* The unpacker (see unpacker.h): a coordinating job and one thread per layer being extracted. */
#include "daemon/unpacker.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/gc.h"
#include "daemon/jobs.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/err.h"

/* Virtual: only what a thread touches is memory. The native tree copy
   recurses once per directory level (a few hundred bytes each), and an
   unpacked layer may nest 2000 deep. */
#define WORKER_STACK (8u << 20)

enum layer_state { L_WAITING, L_READY, L_RUNNING, L_UNPACKED, L_COMMITTED };

struct worker {
	struct worker *next;
	struct unpacker *u;
	size_t index;
	pthread_t thread;
	int ended; /* under u->mu: ready to be joined */
};

struct unpacker {
	struct daemon *d;
	struct snapshotter *sn;
	char *ns;
	struct image_layers l;
	struct hold *owner;
	int drop_blobs;
	struct unpacker_options o; /* callbacks and userdata */
	atomic_int refs;
	int detached;  /* loop only */
	int delivered; /* loop only: the end reached the loop */

	pthread_mutex_t mu;
	pthread_cond_t cond;
	/* Under mu. */
	enum layer_state *state;
	struct snapshot_extract **x; /* L_UNPACKED: the tree to commit */
	struct worker *workers;
	unsigned running;
	size_t next_commit;
	int cancelled;
	int failed;
	int finished;
	int result;
	struct ember_error err;
};

static void unpacker_free(struct unpacker *u)
{
	for (size_t i = 0; u->x && i < u->l.n; i++)
		snapshot_extract_abort(u->x[i]);
	free(u->x);
	free(u->state);
	image_layers_done(&u->l);
	free(u->ns);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cond);
	free(u);
}

void unpacker_unref(struct unpacker *u)
{
	if (u && atomic_fetch_sub(&u->refs, 1) == 1)
		unpacker_free(u);
}

/* ---- reports ------------------------------------------------------------------------ */

/* From the unpacker's threads: to the loop (events, the owner's
   callbacks) and to a thread owner. */
static void report(struct job *j, struct unpacker *u, size_t i, const char *state)
{
	if (u->o.thread_layer)
		u->o.thread_layer(u, u->l.layers[i].digest, state, u->o.userdata);
	job_post(j, json_pack("{s:s, s:s, s:s}", "digest", u->l.layers[i].digest, "state", state, "key",
				   u->l.chain[i]));
}

static void on_message(struct job *j, json_t *msg)
{
	struct unpacker *u = job_data(j);
	const char *state = json_string_value(json_object_get(msg, "state"));

	if (state && !strcmp(state, "unpacked"))
		events_publish(u->d, u->ns, "/snapshot/commit",
			       json_pack("{s:O, s:s}", "key", json_object_get(msg, "key"), "snapshotter",
					 snapshot_name(u->sn)));
	/* The owner may keep the state string: give it a static one. */
	if (state && !u->detached && u->o.layer)
		u->o.layer(u, json_string_value(json_object_get(msg, "digest")),
			   !strcmp(state, "unpacked") ? "unpacked" : "unpacking", u->o.userdata);
	json_decref(msg);
}

static void on_done(struct job *j, int result, const struct ember_error *e)
{
	struct unpacker *u = job_data(j);

	if (result < 0 && e->code != ECANCELED)
		log_warn(&u->d->log, "unpack into %s (namespace %s): %s", snapshot_name(u->sn), u->ns, e->message);
	u->delivered = 1;
	if (!u->detached && u->o.done)
		u->o.done(u, result < 0 ? e : NULL, u->o.userdata);
	unpacker_unref(u); /* the job's reference */
}

/* ---- one layer ------------------------------------------------------------------------ */

static int worker_cancelled(void *arg)
{
	struct unpacker *u = arg;

	pthread_mutex_lock(&u->mu);
	int c = u->cancelled || u->failed;
	pthread_mutex_unlock(&u->mu);
	return c;
}

/* Any thread (jobs.h): wake the coordinator, stop the workers. */
static void on_cancel(struct job *j)
{
	unpacker_cancel(job_data(j));
}

static int extract(struct unpacker *u, size_t i, struct snapshot_extract **out, struct ember_error *e)
{
	enum layer_compression comp;
	struct unpack_options opts = {
		.whiteouts = (enum unpack_whiteouts)snapshot_whiteouts(u->sn),
		.same_owner = geteuid() == 0,
		.devices = geteuid() == 0,
		.cancelled = worker_cancelled,
		.cancel_arg = u,
	};
	struct unpack_stats st;
	struct snapshot_extract *x = NULL;
	_cleanup_close_ int blob = -1;
	const struct descriptor *desc = &u->l.layers[i];
	/* A native layer starts from a copy of its (committed) parent. */
	const char *parent = snapshot_whiteouts(u->sn) == UNPACK_WHITEOUT_DELETE && i ? u->l.chain[i - 1] : NULL;

	opts.compression = image_layer_compression(desc->media_type, &comp, e) == 0 ? (int)comp : UNPACK_COMPRESSION_SNIFF;
	int r = content_blob_open(&u->d->cs, desc->digest, &blob, e);
	if (r == 0)
		r = snapshot_extract_begin(u->sn, u->ns, parent, &x, e);
	if (r == 0)
		r = snapshot_extract_fill(x, e);
	if (r == 0)
		r = image_unpack(blob, snapshot_extract_fd(x), &opts, &st, e);
	if (r == 0 && strcmp(st.diff_id, u->l.diff_ids[i]))
		r = err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EBADMSG,
				 "diff ID mismatch: its uncompressed content hashes to %s, the image config says %s",
				 st.diff_id, u->l.diff_ids[i]);
	if (r == 0)
		r = snapshot_extract_sync(x, e);
	if (r < 0) {
		snapshot_extract_abort(x);
		return err_wrap(e, "unpack layer %zu (%s)", i, desc->digest);
	}
	*out = x;
	return 0;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct unpacker *u = w->u;
	struct snapshot_extract *x = NULL;
	struct ember_error e;

	int r = extract(u, w->index, &x, &e);
	pthread_mutex_lock(&u->mu);
	if (r < 0 && !u->failed && !u->cancelled) {
		u->failed = 1;
		u->err = e;
	}
	if (r == 0) {
		u->x[w->index] = x;
		u->state[w->index] = L_UNPACKED;
	}
	u->running--;
	w->ended = 1;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

/* ---- the coordinator --------------------------------------------------------------------- */

/* Join the workers that ended. Under mu. */
static void join_ended(struct unpacker *u)
{
	for (struct worker **pp = &u->workers; *pp;) {
		struct worker *w = *pp;
		if (!w->ended) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		pthread_join(w->thread, NULL);
		free(w);
	}
}

/* Under mu. */
static int start_worker(struct unpacker *u, size_t i, struct ember_error *e)
{
	struct worker *w = calloc(1, sizeof(*w));
	pthread_attr_t attr;

	if (!w)
		return err_set(e, ENOMEM, "out of memory");
	w->u = u;
	w->index = i;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	int pr = pthread_create(&w->thread, &attr, worker, w);
	pthread_attr_destroy(&attr);
	if (pr != 0) {
		free(w);
		return err_sys(e, pr, "start an unpack thread");
	}
	w->next = u->workers;
	u->workers = w;
	u->state[i] = L_RUNNING;
	u->running++;
	return 0;
}

/* drop_blobs: may layer i's blob go now? Not while a later layer of this
   image with the same digest is still to be unpacked (asked under mu by
   the caller), a holder other than the owner (another pull or import)
   needs it, or a record reaches it. The record check reads files: it is
   made first, outside the holds' lock (a record can only come to name the
   blob through a holder, which the check under the lock sees). */
static void drop_blob(struct unpacker *u, const char *digest)
{
	struct ember_error e;

	if (gc_blob_recorded(&u->d->gc, digest))
		return;
	holds_lock(u->d->holds);
	int r = holds_blob_held_except(u->d->holds, digest, u->owner) ? 0 : content_blob_delete(&u->d->cs, digest, &e);
	holds_unlock(u->d->holds);
	if (r < 0 && e.code != ENOENT)
		log_warn(&u->d->log, "drop blob %s after unpack: %s", digest, e.message);
}

/* Under mu: no later layer with the same digest is still to be unpacked. */
static int blob_done(struct unpacker *u, size_t i)
{
	for (size_t k = 0; k < u->l.n; k++)
		if (k != i && u->state[k] != L_COMMITTED && !strcmp(u->l.layers[k].digest, u->l.layers[i].digest))
			return 0;
	return 1;
}

static int coordinate(struct job *j, struct ember_error *e)
{
	struct unpacker *u = job_data(j);
	int serial = snapshot_whiteouts(u->sn) == UNPACK_WHITEOUT_DELETE;

	pthread_mutex_lock(&u->mu);
	while (!u->cancelled && !u->failed && u->next_commit < u->l.n) {
		join_ended(u);
		size_t i = u->next_commit;
		if (u->state[i] == L_UNPACKED) {
			/* Commit in layer order, each on its committed parent. */
			struct snapshot_extract *x = TAKE_PTR(u->x[i]);
			pthread_mutex_unlock(&u->mu);
			struct ember_error ce;
			int r = snapshot_extract_commit(x, u->l.chain[i], i ? u->l.chain[i - 1] : NULL, NULL, &ce);
			if (r < 0)
				err_wrap(&ce, "layer %zu (%s)", i, u->l.layers[i].digest);
			pthread_mutex_lock(&u->mu);
			if (r < 0) {
				if (!u->failed) {
					u->failed = 1;
					u->err = ce;
				}
				break;
			}
			u->state[i] = L_COMMITTED;
			u->next_commit++;
			int drop = u->drop_blobs && blob_done(u, i);
			pthread_mutex_unlock(&u->mu);
			report(j, u, i, "unpacked");
			if (drop)
				drop_blob(u, u->l.layers[i].digest);
			pthread_mutex_lock(&u->mu);
			continue;
		}
		int started = 0;
		for (size_t k = i; k < u->l.n && u->running < CONFIG_UNPACK_JOBS; k++) {
			if (serial && k != i)
				break; /* a native layer starts from its committed parent */
			if (u->state[k] != L_READY)
				continue;
			struct ember_error we;
			if (start_worker(u, k, &we) < 0) {
				u->failed = 1;
				u->err = we;
				break;
			}
			pthread_mutex_unlock(&u->mu);
			report(j, u, k, "unpacking");
			pthread_mutex_lock(&u->mu);
			started = 1;
		}
		if (u->failed)
			break;
		/* The lock was let go to report: a worker may have ended and
		   signalled meanwhile, with nobody waiting. Look again first. */
		if (started)
			continue;
		pthread_cond_wait(&u->cond, &u->mu);
	}
	/* Workers still extracting see the cancel or the failure and stop. */
	while (u->running)
		pthread_cond_wait(&u->cond, &u->mu);
	join_ended(u);
	int r = 0;
	if (u->failed) {
		*e = u->err;
		r = -e->code;
	} else if (u->next_commit < u->l.n) {
		r = err_set_name(e, EMBER_ERROR_CANCELED, ECANCELED, "unpack cancelled");
	}
	u->result = r;
	if (r < 0)
		u->err = *e;
	u->finished = 1;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->mu);
	return r;
}

static const struct job_ops unpack_ops = {
	.run = coordinate,
	.message = on_message,
	.done = on_done,
	.cancel = on_cancel,
};

/* ---- the owner's side ------------------------------------------------------------------ */

int unpacker_start(struct daemon *d, const struct unpacker_options *o, int *skip, struct unpacker **out,
		   struct ember_error *e)
{
	const struct image_layers *l = o->l;
	struct unpacker *u = calloc(1, sizeof(*u));

	if (!u)
		return err_set(e, ENOMEM, "out of memory");
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cond, NULL);
	atomic_init(&u->refs, 1);
	u->d = d;
	u->sn = o->sn;
	u->owner = o->owner;
	u->drop_blobs = o->drop_blobs;
	u->o = *o;
	u->o.l = NULL;
	u->o.ns = NULL;
	if (!(u->ns = strdup(o->ns)) || !(u->state = calloc(l->n + 1, sizeof(*u->state))) ||
	    !(u->x = calloc(l->n + 1, sizeof(*u->x)))) {
		unpacker_free(u);
		return err_set(e, ENOMEM, "out of memory");
	}
	if (image_layers_copy(l, &u->l, e) < 0) {
		unpacker_free(u);
		return -e->code;
	}
	/* Held before looking: GC then keeps what is there, and what comes;
	   in every namespace, for the layers this one may share. */
	for (size_t i = 0; i < l->n; i++)
		if (o->owner && (hold_snapshot(o->owner, snapshot_name(o->sn), o->ns, l->chain[i]) < 0 ||
				 hold_snapshot(o->owner, snapshot_name(o->sn), HOLD_ANY_NS, l->chain[i]) < 0)) {
			unpacker_free(u);
			return err_set(e, ENOMEM, "out of memory");
		}
	/* Layers another namespace has unpacked are named, not unpacked again
	   (bottom up: each on its parent). Any failure only means unpacking. */
	for (size_t i = 0; o->owner && i < l->n; i++) {
		struct ember_error se;
		int r = snapshot_share(o->sn, o->ns, l->chain[i], i ? l->chain[i - 1] : NULL, &se);
		if (r < 0)
			log_warn(&d->log, "share layer %s with namespace %s: %s", l->chain[i], o->ns, se.message);
		if (r != 1)
			break;
	}
	/* The layers whose snapshots exist (a committed one implies its parents). */
	for (size_t i = l->n; i-- > 0;) {
		json_t *rec;
		struct ember_error ignored;
		if (snapshot_get(o->sn, o->ns, l->chain[i], &rec, &ignored) < 0)
			continue;
		int committed = !strcmp(json_string_value(json_object_get(rec, "kind")) ?: "", "committed");
		json_decref(rec);
		if (committed) {
			for (size_t k = 0; k <= i; k++)
				u->state[k] = L_COMMITTED;
			u->next_commit = i + 1;
			break;
		}
	}
	/* A blob is skipped only when every layer that has it is unpacked. */
	for (size_t i = 0; skip && i < l->n; i++) {
		skip[i] = u->drop_blobs && u->state[i] == L_COMMITTED;
		for (size_t k = 0; skip[i] && k < l->n; k++)
			if (u->state[k] != L_COMMITTED && !strcmp(l->layers[k].digest, l->layers[i].digest))
				skip[i] = 0;
	}
	atomic_fetch_add(&u->refs, 1); /* the job's */
	char what[DIGEST_MAX + 32];
	snprintf(what, sizeof(what), "%s %s", snapshot_name(o->sn), l->n ? l->chain[l->n - 1] : "");
	if (!job_start(d->jobs, &unpack_ops, u, "unpack", o->ns, what, e)) {
		unpacker_free(u);
		return -e->code;
	}
	*out = u;
	return 0;
}

void unpacker_blob(struct unpacker *u, const char *digest)
{
	pthread_mutex_lock(&u->mu);
	for (size_t i = 0; i < u->l.n; i++)
		if (u->state[i] == L_WAITING && !strcmp(u->l.layers[i].digest, digest))
			u->state[i] = L_READY; /* a digest may be two layers */
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->mu);
}

int unpacker_busy(struct unpacker *u)
{
	/* Until its end reached the loop: a loop owner learns of a failure
	   there, never from a "not busy" first. */
	return !u->delivered;
}

int unpacker_wait(struct unpacker *u, struct ember_error *e)
{
	pthread_mutex_lock(&u->mu);
	while (!u->finished)
		pthread_cond_wait(&u->cond, &u->mu);
	int r = u->result;
	if (r < 0)
		*e = u->err;
	pthread_mutex_unlock(&u->mu);
	return r;
}

void unpacker_cancel(struct unpacker *u)
{
	/* Not job_cancel(): the job may have ended and been freed already
	   (its end is the loop's to deliver); the flag is what counts. */
	pthread_mutex_lock(&u->mu);
	u->cancelled = 1;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->mu);
}

void unpacker_detach(struct unpacker *u)
{
	u->detached = 1;
}
