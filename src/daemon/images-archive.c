/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Import and export as jobs (see images.h).
 *
 * An import reads the archive in its thread, holding every blob before it
 * is committed. Each manifest whose config is stored and that is for this
 * machine's exact platform gets an unpacker at once, fed each of its
 * layers as it arrives, so layers unpack while the archive is still being
 * read (an archive written by ember export, skopeo or ctr has its
 * manifests and configs before the layers). Once the archive is read, the
 * images it names are checked whole, their host platform's manifest
 * unpacked if that did not start yet, the other unpackers cancelled, and
 * only then are the records written: a failed or cancelled import leaves
 * no record, and removes the blobs and snapshots it made (unless another
 * holder uses them); a crash leaves only what GC removes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/holds.h"
#include "daemon/images.h"
#include "daemon/jobs.h"
#include "daemon/unpacker.h"
#include "daemon/verify.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/err.h"

#define PROGRESS_INTERVAL_MS 200

/* ---- import ------------------------------------------------------------------------------ */

struct import_unpack {
	char manifest[DIGEST_MAX];
	struct unpacker *u;
	json_t *created; /* chain keys that were not there before: removed on failure */
	int wanted;      /* the host's manifest of an image of the archive */
};

struct import {
	struct daemon *d;
	struct job *j;
	int fd;
	char *ns, *base_name;
	json_t *labels;
	struct snapshotter *sn;
	struct hold *hold;
	struct platform host;
	json_t *stored;    /* digest -> true when this import created it */
	json_t *manifests; /* manifest digest -> its config's digest, waiting for it */
	struct import_unpack *unpacks;
	size_t n_unpacks;
	int failed;        /* a hook failed (out of memory) */
	int runnable_only; /* fail unless an image runs here */
	json_t *images;    /* the records written: the reply */

	pthread_mutex_t mu; /* progress: the unpackers' threads report too */
	json_t *blobs;      /* [{digest, size, offset, status}] */
	json_t *by_digest;  /* digest -> its entry in blobs */
	json_t *reading;    /* the entry being read */
	uint64_t last_post;
	const char *phase;
};

static void import_free(void *data)
{
	struct import *im = data;

	for (size_t i = 0; i < im->n_unpacks; i++) {
		unpacker_unref(im->unpacks[i].u);
		json_decref(im->unpacks[i].created);
	}
	free(im->unpacks);
	hold_release(im->hold);
	close_keep_errno(im->fd);
	json_decref(im->labels);
	json_decref(im->stored);
	json_decref(im->manifests);
	json_decref(im->images);
	json_decref(im->blobs);
	json_decref(im->by_digest);
	json_decref(im->reading);
	pthread_mutex_destroy(&im->mu);
	free(im->ns);
	free(im->base_name);
	free(im);
}

/* Under mu: a progress reply, at most every PROGRESS_INTERVAL_MS unless forced. */
static void post_locked(struct import *im, int force)
{
	uint64_t now = loop_now_ms();

	if (!force && now - im->last_post < PROGRESS_INTERVAL_MS)
		return;
	im->last_post = now;
	/* Copies: the loop's thread writes them out while this one goes on
	   changing the originals, and takes ownership of what is posted. */
	json_t *blobs = json_deep_copy(im->blobs);
	if (im->reading)
		json_array_append_new(blobs, json_deep_copy(im->reading));
	json_int_t n = (json_int_t)json_array_size(blobs);
	call_job_progress(im->j, json_pack("{s:s, s:o}", "phase", im->phase, "blobs", blobs));
	job_progress(im->j, json_pack("{s:s, s:I}", "phase", im->phase, "blobs", n));
}

static void set_status(struct import *im, const char *digest, const char *status)
{
	pthread_mutex_lock(&im->mu);
	json_t *b = json_object_get(im->by_digest, digest);
	if (b) {
		json_object_set_new(b, "status", json_string(status));
		post_locked(im, 1);
	}
	pthread_mutex_unlock(&im->mu);
}

static int hook_hold(const char *digest, void *userdata)
{
	struct import *im = userdata;

	return hold_blob(im->hold, digest);
}

static void hook_reading(const char *path, int64_t done, int64_t size, void *userdata)
{
	struct import *im = userdata;

	/* An OCI layout's entry is its digest; a docker-save one its path. */
	char name[DIGEST_MAX + 8];
	if (!strncmp(path, "blobs/sha256/", 13) && strlen(path + 13) == DIGEST_HEX_LEN)
		snprintf(name, sizeof(name), "sha256:%s", path + 13);
	else
		snprintf(name, sizeof(name), "%.*s", (int)sizeof(name) - 1, path);
	pthread_mutex_lock(&im->mu);
	if (!im->reading)
		im->reading = json_object();
	json_object_set_new(im->reading, "digest", json_string(name));
	json_object_set_new(im->reading, "size", json_integer(size));
	json_object_set_new(im->reading, "offset", json_integer(done));
	json_object_set_new(im->reading, "status", json_string("reading"));
	post_locked(im, done == 0);
	pthread_mutex_unlock(&im->mu);
}

static int hook_cancelled(void *userdata)
{
	struct import *im = userdata;

	return job_cancelled(im->j);
}

static void unpack_layer(struct unpacker *u, const char *digest, const char *state, void *userdata)
{
	(void)u;
	set_status(userdata, digest, state);
}

/* The chain keys of l that sn does not have yet. */
static json_t *missing_keys(struct import *im, const struct image_layers *l)
{
	json_t *keys = json_array();

	for (size_t i = 0; ENABLED(CONFIG_SNAPSHOTS_STORE) && keys && i < l->n; i++) {
		json_t *rec;
		struct ember_error ignored;
		if (snapshot_get(im->sn, im->ns, l->chain[i], &rec, &ignored) == 0)
			json_decref(rec);
		else
			json_array_append_new(keys, json_string(l->chain[i]));
	}
	return keys;
}

static struct import_unpack *find_unpack(struct import *im, const char *manifest)
{
	for (size_t i = 0; i < im->n_unpacks; i++)
		if (!strcmp(im->unpacks[i].manifest, manifest))
			return &im->unpacks[i];
	return NULL;
}

/* An unpacker for these layers (of manifest), fed what is stored already. */
static int unpack_start(struct import *im, const char *manifest, const struct image_layers *l, struct ember_error *e)
{
	struct import_unpack *v = realloc(im->unpacks, (im->n_unpacks + 1) * sizeof(*v));
	if (!v)
		return err_set(e, ENOMEM, "out of memory");
	im->unpacks = v;
	struct import_unpack *iu = &v[im->n_unpacks];
	memset(iu, 0, sizeof(*iu));
	memcpy(iu->manifest, manifest, DIGEST_MAX);
	if (!(iu->created = missing_keys(im, l)))
		return err_set(e, ENOMEM, "out of memory");
	struct unpacker_options o = {
		.sn = im->sn,
		.ns = im->ns,
		.l = l,
		.drop_blobs = im->d->cfg.drop_blobs,
		.owner = im->hold,
		.thread_layer = unpack_layer,
		.userdata = im,
	};
	if (unpacker_start(im->d, &o, NULL, &iu->u, e) < 0) {
		json_decref(iu->created);
		return -e->code;
	}
	im->n_unpacks++;
	for (size_t i = 0; i < l->n; i++)
		if (json_object_get(im->stored, l->layers[i].digest))
			unpacker_blob(iu->u, l->layers[i].digest);
	return 0;
}

/* A manifest and its config are both stored: unpack it now if it is
   for exactly this machine (others wait for the archive's index). */
static void try_early(struct import *im, const char *manifest, const char *config)
{
	char *data = NULL;
	size_t len;
	struct manifest m;
	struct image_config c;
	struct image_layers l;
	struct ember_error e;

	if (find_unpack(im, manifest) || content_blob_read(&im->d->cs, manifest, IMAGE_DOC_MAX, &data, &len, &e) < 0)
		return;
	int r = manifest_parse(data, len, &m, &e);
	free(data);
	if (r < 0)
		return;
	if (content_blob_read(&im->d->cs, config, IMAGE_DOC_MAX, &data, &len, &e) == 0) {
		if (image_config_parse(data, len, &c, &e) == 0) {
			platform_normalize(&c.platform);
			if (platform_match(&im->host, &c.platform) == PLATFORM_MATCH_EXACT &&
			    image_check_layers(&m, &c, &e) == 0 && image_layers_from(&m, &c, &l, &e) == 0) {
				if (unpack_start(im, manifest, &l, &e) < 0)
					im->failed = 1;
				image_layers_done(&l);
			}
			image_config_done(&c);
		}
		free(data);
	}
	manifest_done(&m);
}

/* A small blob may be a manifest: its config is what it waits for. */
static void sniff(struct import *im, const char *digest, int64_t size)
{
	char *data = NULL;
	size_t len;
	enum mt_kind kind;
	struct manifest m;
	struct ember_error e;
	char first = 0;

	if (size > (int64_t)IMAGE_DOC_MAX || size < 2)
		return;
	_cleanup_close_ int fd = -1;
	if (content_blob_open(&im->d->cs, digest, &fd, &e) < 0 || pread(fd, &first, 1, 0) != 1 || first != '{')
		return;
	if (content_blob_read(&im->d->cs, digest, IMAGE_DOC_MAX, &data, &len, &e) < 0)
		return;
	if (image_document_kind(data, len, NULL, &kind, NULL, &e) == 0 && kind == MT_KIND_MANIFEST &&
	    manifest_parse(data, len, &m, &e) == 0) {
		json_object_set_new(im->manifests, digest, json_string(m.config.digest));
		if (json_object_get(im->stored, m.config.digest))
			try_early(im, digest, m.config.digest);
		manifest_done(&m);
	}
	free(data);
}

static void hook_stored(const char *digest, int64_t size, int created, void *userdata)
{
	struct import *im = userdata;
	const char *mdigest;
	json_t *cfg;

	/* Stored twice by one archive: created by the first time. */
	created |= json_is_true(json_object_get(im->stored, digest));
	if (json_object_set_new(im->stored, digest, json_boolean(created)) < 0) {
		im->failed = 1;
		return;
	}
	pthread_mutex_lock(&im->mu);
	json_decref(im->reading);
	im->reading = NULL;
	if (!json_object_get(im->by_digest, digest)) {
		json_t *b = json_pack("{s:s, s:I, s:I, s:s}", "digest", digest, "size", (json_int_t)size, "offset",
				      (json_int_t)size, "status", "stored");
		json_array_append(im->blobs, b);
		json_object_set_new(im->by_digest, digest, b);
	}
	post_locked(im, 1);
	pthread_mutex_unlock(&im->mu);
	if (!im->sn)
		return;
	for (size_t i = 0; i < im->n_unpacks; i++)
		unpacker_blob(im->unpacks[i].u, digest);
	/* A config that manifests wait for, or a manifest. */
	json_object_foreach(im->manifests, mdigest, cfg)
		if (!strcmp(json_string_value(cfg), digest))
			try_early(im, mdigest, digest);
	sniff(im, digest, size);
}

/* After a failure: what this import stored or unpacked and nothing else
   holds or records goes. Snapshots first (children before parents). */
static void import_undo(struct import *im)
{
	const char *digest;
	json_t *created;
	struct ember_error e;

	for (size_t i = 0; ENABLED(CONFIG_SNAPSHOTS_STORE) && i < im->n_unpacks; i++) {
		json_t *keys = im->unpacks[i].created;
		for (size_t k = json_array_size(keys); k-- > 0;) {
			const char *key = json_string_value(json_array_get(keys, k));
			char id[SNAPSHOT_ID_MAX];
			holds_lock(im->d->holds);
			int held = holds_snapshot_held_except(im->d->holds, snapshot_name(im->sn), im->ns, key, im->hold);
			int r = held ? -EBUSY : snapshot_remove_record(im->sn, im->ns, key, id, &e);
			holds_unlock(im->d->holds);
			if (r == 0)
				snapshot_remove_tree(im->sn, id);
		}
	}
	json_object_foreach(im->stored, digest, created) {
		if (!json_is_true(created) || gc_blob_recorded(&im->d->gc, digest))
			continue;
		holds_lock(im->d->holds);
		if (!holds_blob_held_except(im->d->holds, digest, im->hold))
			(void)content_blob_delete(&im->d->cs, digest, &e);
		holds_unlock(im->d->holds);
	}
}

/* Every image of the archive: whole, and its host manifest unpacked. */
static int import_finish(struct import *im, const struct image_import_result *res, struct ember_error *e)
{
	for (size_t i = 0; i < res->n; i++) {
		char missing[DIGEST_MAX];
		if (image_check_complete(&im->d->cs, &res->images[i].target, missing, e) < 0)
			return -e->code;
		if (missing[0])
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, ENOENT,
					    "import: image %s needs blob %s, which the archive lacks", res->images[i].name,
					    missing);
	}
	if (!im->sn)
		return 0;
	size_t runnable = 0;
	struct ember_error why = { 0 };
	for (size_t i = 0; i < res->n; i++) {
		struct image_layers l;
		/* Not for this machine, or not a runnable image: kept, not unpacked. */
		if (image_layers_load(&im->d->cs, &res->images[i].target, &im->host, &l, &why) < 0)
			continue;
		/* A single manifest says its platform in its config only. */
		if (im->runnable_only && !platform_match(&im->host, &l.platform)) {
			err_set(&why, ENOEXEC, "%s is for %s/%s", res->images[i].name, l.platform.os, l.platform.arch);
			image_layers_done(&l);
			continue;
		}
		runnable++;
		struct import_unpack *iu = find_unpack(im, l.manifest);
		int r = iu ? 0 : unpack_start(im, l.manifest, &l, e);
		image_layers_done(&l);
		if (r < 0)
			return r;
		(iu ? iu : &im->unpacks[im->n_unpacks - 1])->wanted = 1;
	}
	if (im->runnable_only && !runnable)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, ENOEXEC,
				    "no image in the archive runs on this machine (%s/%s)%s%s", im->host.os, im->host.arch,
				    res->n ? ": " : "", res->n ? why.message : "");
	pthread_mutex_lock(&im->mu);
	im->phase = "unpacking";
	post_locked(im, 1);
	pthread_mutex_unlock(&im->mu);
	int r = 0;
	for (size_t i = 0; i < im->n_unpacks; i++) {
		struct ember_error ue;
		if (!im->unpacks[i].wanted)
			unpacker_cancel(im->unpacks[i].u);
		if (unpacker_wait(im->unpacks[i].u, &ue) < 0 && im->unpacks[i].wanted && r == 0) {
			*e = ue;
			r = -e->code;
		}
	}
	return r;
}

static int import_run(struct job *j, void *data, struct ember_error *e)
{
	struct import *im = data;
	struct image_import_result res;
	struct image_import_hooks hooks = {
		.hold = hook_hold,
		.stored = hook_stored,
		.reading = hook_reading,
		.cancelled = hook_cancelled,
		.cancel_fd = job_cancel_fd(j),
		.userdata = im,
	};

	im->j = j;
	int r = image_import(&im->d->cs, im->fd, im->base_name, &hooks, &res, e);
	if (r == 0 && im->failed)
		r = err_set(e, ENOMEM, "import: out of memory");
	if (r == 0) {
		r = import_finish(im, &res, e);
		if (r < 0)
			err_wrap(e, "import");
	}
	/* The records last, once every image is whole and unpacked. */
	for (size_t i = 0; r == 0 && i < res.n; i++) {
		char *name = images_normalize(res.images[i].name);
		json_t *old = NULL, *rec;
		struct ember_error ignored;
		(void)meta_object_get(&im->d->meta, im->ns, "images", "image", name ? name : "", &old, &ignored);
		rec = name ? images_record(name, &res.images[i].target, im->labels, old) : NULL;
		r = rec ? meta_object_put(&im->d->meta, im->ns, "images", name, rec, e) : err_set(e, ENOMEM, "out of memory");
		if (r == 0) {
			call_job_event(j, im->ns, old ? "/images/update" : "/images/create", json_pack("{s:s}", "name", name));
			json_array_append(im->images, rec);
		}
		json_decref(old);
		json_decref(rec);
		free(name);
	}
	image_import_result_done(&res);
	if (r < 0) {
		/* Unpackers still at work stop first: what they commit is undone too. */
		for (size_t i = 0; i < im->n_unpacks; i++) {
			struct ember_error ignored;
			unpacker_cancel(im->unpacks[i].u);
			(void)unpacker_wait(im->unpacks[i].u, &ignored);
		}
		import_undo(im);
		return r;
	}
	pthread_mutex_lock(&im->mu);
	im->phase = "done";
	post_locked(im, 1);
	pthread_mutex_unlock(&im->mu);
	return 0;
}

static json_t *import_reply(struct daemon *d, void *data)
{
	struct import *im = data;

	(void)d;
	return json_pack("{s:O}", "images", im->images);
}

static const struct call_job_ops import_ops = {
	.kind = "import",
	.run = import_run,
	.reply = import_reply,
	.free = import_free,
};

/* NULL when out of memory (a->fd closed). */
static struct import *import_new(struct daemon *d, const struct images_import_args *a)
{
	struct import *im = calloc(1, sizeof(*im));

	if (!im || !(im->ns = strdup(a->ns)) || (a->base_name && !(im->base_name = strdup(a->base_name))) ||
	    !(im->hold = hold_new(d->holds)) || !(im->stored = json_object()) || !(im->manifests = json_object()) ||
	    !(im->images = json_array()) || !(im->blobs = json_array()) || !(im->by_digest = json_object())) {
		close_keep_errno(a->fd);
		if (im) {
			im->fd = -1;
			pthread_mutex_init(&im->mu, NULL);
			import_free(im);
		}
		return NULL;
	}
	pthread_mutex_init(&im->mu, NULL);
	im->d = d;
	im->fd = a->fd;
	im->sn = a->sn;
	im->labels = json_incref(a->labels);
	im->runnable_only = a->runnable_only;
	im->phase = "importing";
	platform_default(&im->host);
	return im;
}

/* Archives (OCI layouts, docker save) carry no cosign signature that
   ember reads: a namespace that requires signed images takes none. */
int images_import_allowed(struct daemon *d, const char *ns, struct ember_error *e)
{
	struct verify_policy pol;

	if (verify_policy_get(d, ns, &pol, e) < 0)
		return err_wrap(e, "import");
	int require = pol.require;
	verify_policy_done(&pol);
	if (require)
		return err_set_name(e, EMBER_ERROR_PERMISSION_DENIED, EACCES,
				    "import: refused by the signature policy of namespace %s: unsigned (an archive carries "
				    "no signature ember can check: pull signed images from a registry)", ns);
	return 0;
}

void images_import(struct daemon *d, struct api_call *call, const struct images_import_args *a)
{
	struct import *im = import_new(d, a);

	if (!im) {
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	call_job_start(d, call, &import_ops, im, a->ns, "archive");
}

int images_import_in(struct job *j, struct daemon *d, const struct images_import_args *a, json_t **images,
		     struct ember_error *e)
{
	if (images_import_allowed(d, a->ns, e) < 0)
		return -e->code;
	struct import *im = import_new(d, a);

	if (!im)
		return err_set(e, ENOMEM, "out of memory");
	int r = import_run(j, im, e);
	if (r == 0 && images)
		*images = json_incref(im->images);
	import_free(im);
	return r;
}

/* ---- export ------------------------------------------------------------------------------ */

struct export {
	struct daemon *d;
	struct job *j;
	int fd;
	struct image_export_item *items;
	size_t n;
	uint64_t last_post;
};

static void export_free(void *data)
{
	struct export *x = data;

	for (size_t i = 0; x->items && i < x->n; i++) {
		free(x->items[i].name);
		descriptor_done(&x->items[i].target);
	}
	free(x->items);
	close_keep_errno(x->fd);
	free(x);
}

static void export_progress(const char *digest, int64_t done, int64_t size, void *userdata)
{
	struct export *x = userdata;
	uint64_t now = loop_now_ms();

	if (done && done < size && now - x->last_post < PROGRESS_INTERVAL_MS)
		return;
	x->last_post = now;
	call_job_progress(x->j, json_pack("{s:s, s:[{s:s, s:I, s:I, s:s}]}", "phase", "exporting", "blobs", "digest",
					  digest, "size", (json_int_t)size, "offset", (json_int_t)done, "status",
					  done < size ? "writing" : "written"));
}

static int export_cancelled(void *userdata)
{
	struct export *x = userdata;

	return job_cancelled(x->j);
}

static int export_run(struct job *j, void *data, struct ember_error *e)
{
	struct export *x = data;
	struct image_export_hooks hooks = { export_progress, export_cancelled, x };

	x->j = j;
	if (ftruncate(x->fd, 0) < 0 || lseek(x->fd, 0, SEEK_SET) < 0)
		return err_sys(e, errno, "export: truncate the archive");
	if (image_export(&x->d->cs, x->items, x->n, x->fd, &hooks, e) < 0)
		return -e->code;
	if (fsync(x->fd) < 0)
		return err_sys(e, errno, "export: sync the archive");
	return 0;
}

static const struct call_job_ops export_ops = {
	.kind = "export",
	.run = export_run,
	.free = export_free,
};

/* The platform's manifest of an index target (export of one platform). */
static int pick_platform(struct daemon *d, struct descriptor *t, const char *platform, struct ember_error *e)
{
	struct platform want;
	char *data;
	size_t len;
	struct index ix;

	if (image_media_kind(t->media_type) != MT_KIND_INDEX)
		return 0;
	if (platform_parse(platform, &want, e) < 0)
		return -e->code;
	if (content_blob_read(&d->cs, t->digest, IMAGE_DOC_MAX, &data, &len, e) < 0)
		return -e->code;
	int r = index_parse(data, len, &ix, e);
	free(data);
	if (r < 0)
		return r;
	int i = index_select(&ix, &want, e);
	if (i >= 0) {
		descriptor_done(t);
		*t = ix.manifests[i];
		memset(&ix.manifests[i], 0, sizeof(ix.manifests[i]));
	}
	index_done(&ix);
	return i < 0 ? i : 0;
}

void images_export(struct daemon *d, struct api_call *call, const struct images_export_args *a)
{
	struct export *x = calloc(1, sizeof(*x));
	struct ember_error e;
	size_t n = json_array_size(a->names);

	if (!x || !(x->items = calloc(n + 1, sizeof(*x->items)))) {
		free(x);
		close_keep_errno(a->fd);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	x->d = d;
	x->fd = a->fd;
	x->n = n;
	/* The targets are read now (small records): the job sees the images
	   as they were when it was asked for. */
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		x->items[i].name = images_normalize(json_string_value(json_array_get(a->names, i)));
		r = !x->items[i].name ? err_set(&e, ENOMEM, "out of memory")
				      : images_target(d, a->ns, x->items[i].name, &x->items[i].target, &e);
		if (r == 0 && a->platform)
			r = pick_platform(d, &x->items[i].target, a->platform, &e);
	}
	if (r < 0) {
		export_free(x);
		api_error_from(call, &e);
		return;
	}
	call_job_start(d, call, &export_ops, x, a->ns, x->items[0].name);
}
