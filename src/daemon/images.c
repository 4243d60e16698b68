/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's images: its stores, names and records, and garbage collection as a job (see images.h). */
#include "daemon/images.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/holds.h"
#include "daemon/jobs.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/timestamp.h"

/* ---- the stores ------------------------------------------------------------------------ */

static void snapshots_stop(struct daemon *d)
{
	if (!ENABLED(CONFIG_SNAPSHOTS_STORE))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(d->snapshotters); i++) {
		snapshot_close(d->snapshotters[i]);
		d->snapshotters[i] = NULL;
		free(d->snapshotter_why[i]);
		d->snapshotter_why[i] = NULL;
	}
}

static int snapshots_start(struct daemon *d, struct ember_error *e)
{
	char root[PATH_MAX];

	if (!realpath(d->cfg.root, root))
		return err_sys(e, errno, "resolve the root %s", d->cfg.root);
	for (size_t i = 0; snapshot_backends[i] && i < ARRAY_SIZE(d->snapshotters); i++) {
		struct snapshot_recovery st;
		uint64_t t0 = loop_now_ms();
		int r = snapshot_open(d->root_fd, root, snapshot_backends[i], &d->snapshotters[i], e);
		if (r == -ENOTSUP) {
			/* Not on this store's file system (btrfs): the others serve,
			   and a call that names this one gets the reason. */
			log_info(&d->log, "%s", e->message);
			if (!(d->snapshotter_why[i] = strdup(e->message))) {
				snapshots_stop(d);
				return err_set(e, ENOMEM, "out of memory");
			}
			continue;
		}
		if (r < 0 || snapshot_recover(d->snapshotters[i], &st, e) < 0) {
			snapshots_stop(d);
			return -e->code;
		}
		if (st.removed_tmp || st.removed_orphans || st.removed_records)
			log_info(&d->log,
				 "snapshots (%s): removed %u unfinished tree(s), %u tree(s) without a record, %u stale record(s), in %llu ms",
				 snapshot_backends[i], st.removed_tmp, st.removed_orphans, st.removed_records,
				 (unsigned long long)(loop_now_ms() - t0));
	}
	return 0;
}

/* ---- the registry client's blocking work, as jobs (remote.h) ---- */

struct offload {
	int (*work)(void *arg, struct ember_error *e);
	void (*done)(void *arg, int result, const struct ember_error *err);
	void *arg;
};

static int offload_run(struct job *j, struct ember_error *e)
{
	struct offload *o = job_data(j);

	return o->work(o->arg, e);
}

static void offload_done(struct job *j, int result, const struct ember_error *e)
{
	struct offload *o = job_data(j);

	o->done(o->arg, result, e);
	free(o);
}

static const struct job_ops offload_ops = { .run = offload_run, .done = offload_done };

static int offload_start(void *ctx, const char *kind, const char *ns, const char *what,
			 int (*work)(void *arg, struct ember_error *e),
			 void (*done)(void *arg, int result, const struct ember_error *err), void *arg,
			 struct ember_error *e)
{
	struct daemon *d = ctx;
	struct offload *o = malloc(sizeof(*o));

	if (!o)
		return err_set(e, ENOMEM, "out of memory");
	*o = (struct offload){ work, done, arg };
	if (!job_start(d->jobs, &offload_ops, o, kind, ns, what, e)) {
		free(o);
		return -e->code;
	}
	return 0;
}

int images_start(struct daemon *d, struct ember_error *e)
{
	struct content_recovery rec;
	uint64_t t0 = loop_now_ms();

	if (content_open(&d->cs, d->root_fd, e) < 0)
		return -e->code;
	if (content_recover(&d->cs, &rec, e) < 0) {
		content_close(&d->cs);
		return -e->code;
	}
	log_info(&d->log, "content: removed %u temporary file(s) and %u stale ingest(s), kept %u resumable, in %llu ms",
		 rec.removed_tmp, rec.removed_ingests, rec.kept_ingests, (unsigned long long)(loop_now_ms() - t0));
	if (ENABLED(CONFIG_SNAPSHOTS_STORE) && snapshots_start(d, e) < 0) {
		content_close(&d->cs);
		return -e->code;
	}
	d->gc = (struct gc_env){
		.cs = &d->cs,
		.meta = &d->meta,
		.holds = d->holds,
		.snapshotters = d->snapshotters,
		.n_snapshotters = ENABLED(CONFIG_SNAPSHOTS_STORE) ? ARRAY_SIZE(d->snapshotters) : 0,
	};
	d->remote.loop = d->loop;
	d->remote.cs = &d->cs;
	d->remote.meta = &d->meta;
	d->remote.offload = (struct remote_offload){ offload_start, d };
	/* The HTTP engine (libcurl) starts with the first pull or push. */
	d->images_up = 1;
	return 0;
}

void images_stop(struct daemon *d)
{
	if (!d->images_up)
		return;
	if (ENABLED(CONFIG_PULL))
		d->remote.http = http_free(d->remote.http);
	snapshots_stop(d);
	content_close(&d->cs);
	d->images_up = 0;
}

struct snapshotter *snapshots_get(struct daemon *d, const char *name, struct ember_error *e)
{
	if (!name || !*name)
		name = d->cfg.snapshotter ? d->cfg.snapshotter : CONFIG_DEFAULT_SNAPSHOTTER;
	if (!strcmp(name, "overlayfs"))
		name = "overlay";
	for (size_t i = 0; snapshot_backends[i] && i < ARRAY_SIZE(d->snapshotters); i++) {
		if (strcmp(snapshot_backends[i], name))
			continue;
		if (d->snapshotters[i])
			return d->snapshotters[i];
		if (d->snapshotter_why[i]) {
			err_set_name(e, EMBER_ERROR_UNAVAILABLE, ENOTSUP, "%s", d->snapshotter_why[i]);
			return NULL;
		}
	}
	char have[64] = "";
	for (size_t i = 0; snapshot_backends[i]; i++)
		snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%s", i ? ", " : "", snapshot_backends[i]);
	err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "snapshotter \"%.64s\" is not compiled in (have: %s)", name,
		     have[0] ? have : "none");
	return NULL;
}

/* ---- names and records ------------------------------------------------------------------- */

char *images_normalize(const char *name)
{
	if (ENABLED(CONFIG_PULL)) {
		struct reference ref;
		struct ember_error e;
		if (reference_parse(name, &ref, &e) == 0) {
			char *s = reference_string(&ref);
			reference_done(&ref);
			if (s)
				return s;
		}
	}
	return strdup(name);
}

int images_target(struct daemon *d, const char *ns, const char *name, struct descriptor *t, struct ember_error *e)
{
	json_t *img;

	if (meta_object_get(&d->meta, ns, "images", "image", name, &img, e) < 0)
		return -e->code;
	int r = descriptor_parse(json_object_get(img, "target"), "target", t, e);
	json_decref(img);
	return r < 0 ? err_wrap(e, "image %s: damaged record", name) : 0;
}

void images_touch(struct daemon *d, const char *ns, const char *name)
{
	struct ember_error e;
	char now[TIMESTAMP_LEN];

	timestamp_now(now);
	json_t *rec = json_pack("{s:s, s:s}", "name", name, "last_used_at", now);
	if (rec)
		(void)meta_object_put(&d->meta, ns, "images-used", name, rec, &e);
	json_decref(rec);
}

json_t *images_record(const char *name, const struct descriptor *target, json_t *labels, json_t *old)
{
	char now[TIMESTAMP_LEN];
	const char *created = json_string_value(json_object_get(old, "created_at"));

	timestamp_now(now);
	return json_pack("{s:s, s:o, s:o, s:s, s:s}", "name", name, "target", descriptor_to_json(target), "labels",
			 labels ? json_deep_copy(labels) : json_object(), "created_at", created ? created : now,
			 "updated_at", now);
}

int image_unpacked_top(struct daemon *d, struct snapshotter *sn, const char *ns, const char *image,
		       const char *platform, char top[DIGEST_MAX], json_t **config, struct ember_error *e)
{
	_cleanup_free_ char *name = images_normalize(image);
	json_t *rec;
	struct descriptor t;
	struct image_layers l;
	struct platform want;

	if (config)
		*config = NULL;
	if (!name)
		return err_set(e, ENOMEM, "out of memory");
	if (platform && platform_parse(platform, &want, e) < 0)
		return -e->code;
	if (images_target(d, ns, name, &t, e) < 0)
		return -e->code;
	int r = image_layers_load(&d->cs, &t, platform ? &want : NULL, &l, e);
	descriptor_done(&t);
	if (r < 0)
		return err_wrap(e, "image %s", name);
	if (l.n == 0) {
		image_layers_done(&l);
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EINVAL, "image %s has no layers", name);
	}
	memcpy(top, l.chain[l.n - 1], DIGEST_MAX);
	if (config)
		*config = json_incref(l.config);
	image_layers_done(&l);
	if (snapshot_get(sn, ns, top, &rec, e) < 0) {
		if (config) {
			json_decref(*config);
			*config = NULL;
		}
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ENOENT,
				    "image %s is not unpacked in snapshotter %s (unpack it: ember images unpack "
				    "--snapshotter %s %s)",
				    name, snapshot_name(sn), snapshot_name(sn), name);
	}
	json_decref(rec);
	return 0;
}

/* ---- garbage collection ---------------------------------------------------------------- */

struct gc_job {
	struct daemon *d;
	struct job *j;
	struct gc_stats st;
	images_gc_fn done;
	void *userdata;
};

static void snapshot_removed(const char *snapshotter, const char *ns, const char *key, void *userdata)
{
	struct gc_job *g = userdata;

	job_post(g->j, json_pack("{s:s, s:s, s:s}", "snapshotter", snapshotter, "namespace", ns, "key", key));
}

static int gc_run(struct job *j, struct ember_error *e)
{
	struct gc_job *g = job_data(j);
	struct gc_env env = g->d->gc;

	g->j = j;
	env.snapshot_removed = snapshot_removed;
	env.userdata = g;
	return gc_collect(&env, &g->st, e);
}

static void gc_message(struct job *j, json_t *msg)
{
	struct gc_job *g = job_data(j);

	events_publish(g->d, json_string_value(json_object_get(msg, "namespace")), "/snapshot/remove",
		       json_pack("{s:O, s:O}", "key", json_object_get(msg, "key"), "snapshotter",
				 json_object_get(msg, "snapshotter")));
	json_decref(msg);
}

static void gc_done(struct job *j, int result, const struct ember_error *e)
{
	struct gc_job *g = job_data(j);

	if (result < 0)
		log_warn(&g->d->log, "garbage collection: %s", e->message);
	else if (g->st.removed_blobs || g->st.removed_snapshots)
		log_info(&g->d->log, "garbage collection: removed %llu blob(s), %llu bytes, %llu snapshot(s)",
			 (unsigned long long)g->st.removed_blobs, (unsigned long long)g->st.removed_bytes,
			 (unsigned long long)g->st.removed_snapshots);
	if (g->done)
		g->done(g->d, result < 0 ? NULL : &g->st, result < 0 ? e : NULL, g->userdata);
	free(g);
}

static const struct job_ops gc_ops = { .run = gc_run, .message = gc_message, .done = gc_done };

int images_gc(struct daemon *d, images_gc_fn done, void *userdata, struct ember_error *e)
{
	struct gc_job *g = calloc(1, sizeof(*g));

	if (!g)
		return err_set(e, ENOMEM, "out of memory");
	g->d = d;
	g->done = done;
	g->userdata = userdata;
	if (!job_start(d->jobs, &gc_ops, g, "gc", "", "content and snapshots", e)) {
		free(g);
		return -e->code;
	}
	return 0;
}

/* ---- check ------------------------------------------------------------------------------- */

struct check {
	struct daemon *d;
	char *ns, *name;
	struct descriptor t;
	struct platform want;
	int all_platforms, verify;
	json_t *blobs, *unpacked;
	int complete;
};

static void check_free(void *data)
{
	struct check *c = data;

	json_decref(c->blobs);
	json_decref(c->unpacked);
	descriptor_done(&c->t);
	free(c->ns);
	free(c->name);
	free(c);
}

static int check_one(const struct descriptor *desc, int present, void *userdata)
{
	struct check *c = userdata;
	struct ember_error e;
	json_t *b = json_pack("{s:s, s:s, s:I, s:b}", "digest", desc->digest, "mediaType",
			      desc->media_type ? desc->media_type : "", "size", (json_int_t)desc->size, "present", present);

	if (!present) {
		c->complete = 0;
	} else if (c->verify) {
		int ok = content_blob_verify(&c->d->cs, desc->digest, NULL, &e) == 0;
		json_object_set_new(b, "verified", json_boolean(ok));
		if (!ok) {
			c->complete = 0;
			json_object_set_new(b, "error", json_string(e.message));
		}
	}
	json_array_append_new(c->blobs, b);
	return 0;
}

static int check_run(struct job *j, void *data, struct ember_error *e)
{
	struct check *c = data;
	struct image_layers l;
	struct ember_error ignored;

	(void)j;
	if (image_walk(&c->d->cs, &c->t, c->all_platforms ? NULL : &c->want, 0, check_one, c, e) < 0)
		return -e->code;
	/* Where the platform's layers are unpacked (blobs may be dropped then). */
	if (ENABLED(CONFIG_SNAPSHOTS_STORE) && image_layers_load(&c->d->cs, &c->t, &c->want, &l, &ignored) == 0) {
		images_unpacked_in(c->d, c->ns, &l, c->unpacked);
		image_layers_done(&l);
	}
	return 0;
}

int images_unpacked_in(struct daemon *d, const char *ns, const struct image_layers *l, json_t *names)
{
	struct ember_error ignored;
	int n = 0;

	for (size_t i = 0; l->n && i < ARRAY_SIZE(d->snapshotters); i++) {
		json_t *rec;
		struct snapshotter *sn = d->snapshotters[i];
		if (sn && snapshot_get(sn, ns, l->chain[l->n - 1], &rec, &ignored) == 0) {
			if (names)
				json_array_append_new(names, json_string(snapshot_name(sn)));
			json_decref(rec);
			n++;
		}
	}
	return n;
}

static json_t *check_reply(struct daemon *d, void *data)
{
	struct check *c = data;

	(void)d;
	return json_pack("{s:s, s:b, s:O, s:O}", "name", c->name, "complete", c->complete, "blobs", c->blobs,
			 "unpacked", c->unpacked);
}

static const struct call_job_ops check_ops = {
	.kind = "check",
	.run = check_run,
	.reply = check_reply,
	.free = check_free,
};

void images_check(struct daemon *d, struct api_call *call, const char *ns, const char *name, const char *platform,
		  int all_platforms, int verify)
{
	struct check *c = calloc(1, sizeof(*c));
	struct ember_error e;

	if (!c || !(c->ns = strdup(ns)) || !(c->name = images_normalize(name)) || !(c->blobs = json_array()) ||
	    !(c->unpacked = json_array())) {
		if (c)
			check_free(c);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	c->d = d;
	c->verify = verify;
	c->all_platforms = all_platforms;
	c->complete = 1;
	int r = 0;
	if (platform)
		r = platform_parse(platform, &c->want, &e);
	else
		platform_default(&c->want);
	if (r == 0)
		r = images_target(d, ns, c->name, &c->t, &e);
	if (r < 0) {
		check_free(c);
		api_error_from(call, &e);
		return;
	}
	call_job_start(d, call, &check_ops, c, ns, c->name);
}
