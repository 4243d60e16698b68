/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collection of snapshots (see gc.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/gc.h"
#include "image/image.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/err.h"

struct snap_mark {
	const struct gc_env *env;
	struct snapshotter *sn;
	json_t *keep;  /* "<ns> <key>" -> true */
	json_t *nss;   /* the namespaces holding snapshots, to sweep */
	const char *ns;
	struct ember_error err; /* set when an image could not be read: then nothing is swept */
	int failed;
};

static void keep(struct snap_mark *sm, const char *ns, const char *key)
{
	char *k;

	if (key && asprintf(&k, "%s %s", ns, key) >= 0) {
		json_object_set_new(sm->keep, k, json_true());
		free(k);
	}
}

static int kept(struct snap_mark *sm, const char *ns, const char *key)
{
	char *k;

	if (asprintf(&k, "%s %s", ns, key) < 0)
		return 1; /* when in doubt, keep */
	int r = json_object_get(sm->keep, k) != NULL;
	free(k);
	return r;
}

static int mark_manifest(const struct descriptor *desc, int present, void *userdata)
{
	struct snap_mark *sm = userdata;
	struct image_layers l;
	struct ember_error e;

	if (!present || image_media_kind(desc->media_type) != MT_KIND_MANIFEST)
		return 0;
	struct descriptor one = *desc;
	if (image_layers_load(sm->env->cs, &one, NULL, &l, &e) < 0) {
		/* No config in the store, or documents that are no runnable image
		   (an attestation, a config of another type): nothing was unpacked
		   from them. Anything else (I/O, memory) stops the sweep. */
		if (e.code == ENOENT || e.code == EINVAL || e.code == ENOTSUP || e.code == EMSGSIZE || e.code == E2BIG)
			return 0;
		sm->err = e;
		sm->failed = 1;
		return 1;
	}
	if (l.n)
		keep(sm, sm->ns, l.chain[l.n - 1]);
	image_layers_done(&l);
	return 0;
}

static int mark_image(const char *ns, json_t *rec, void *userdata)
{
	struct snap_mark *sm = userdata;
	struct descriptor t;
	struct ember_error e;

	if (gc_image_skipped(sm->env, ns, rec))
		return 0;
	if (descriptor_parse(json_object_get(rec, "target"), "target", &t, &e) < 0) {
		sm->err = e;
		sm->failed = 1;
		return 1;
	}
	sm->ns = ns;
	if (image_walk(sm->env->cs, &t, NULL, IMAGE_WALK_PRESENT, mark_manifest, sm, &e) < 0 && !sm->failed &&
	    e.code != ENOENT) {
		sm->err = e;
		sm->failed = 1;
	}
	descriptor_done(&t);
	return sm->failed;
}

static int mark_lease(const char *ns, json_t *rec, void *userdata)
{
	struct snap_mark *sm = userdata;
	json_t *exp = json_object_get(rec, "expires_at"), *res;
	size_t i;
	char type[64];

	if (json_is_integer(exp) && json_integer_value(exp) <= (json_int_t)time(NULL))
		return 0;
	snprintf(type, sizeof(type), "snapshots/%s", snapshot_name(sm->sn));
	json_array_foreach(json_object_get(rec, "resources"), i, res)
		if (!strcmp(json_string_value(json_object_get(res, "type")) ?: "", type))
			keep(sm, ns, json_string_value(json_object_get(res, "id")));
	return 0;
}

static int mark_record(const char *ns, json_t *rec, void *userdata)
{
	struct snap_mark *sm = userdata;
	json_t *labels = json_object_get(rec, "labels");
	const char *kind = json_string_value(json_object_get(rec, "kind"));

	const char *key = json_string_value(json_object_get(rec, "key"));

	json_object_set_new(sm->nss, ns, json_true());
	holds_lock(sm->env->holds);
	int held = key && holds_snapshot_held(sm->env->holds, snapshot_name(sm->sn), ns, key);
	holds_unlock(sm->env->holds);
	if (strcmp(kind, "committed") || held || json_object_get(labels, "ember.io/gc.root") ||
	    json_object_get(labels, "containerd.io/gc.root"))
		keep(sm, ns, key);
	return 0;
}

/* Keep the parents of what is kept; return how many were added. */
static size_t mark_parents(struct snap_mark *sm, const char *ns, json_t *recs)
{
	size_t added = 0, i;
	json_t *rec;

	json_array_foreach(recs, i, rec) {
		const char *parent = json_string_value(json_object_get(rec, "parent"));
		if (parent && kept(sm, ns, json_string_value(json_object_get(rec, "key"))) && !kept(sm, ns, parent)) {
			keep(sm, ns, parent);
			added++;
		}
	}
	return added;
}

static int has_child(json_t *recs, const char *key)
{
	size_t i;
	json_t *rec;

	json_array_foreach(recs, i, rec)
		if (!strcmp(json_string_value(json_object_get(rec, "parent")) ?: "", key))
			return 1;
	return 0;
}

static int sweep_ns(struct snap_mark *sm, const char *ns, struct gc_stats *st, struct ember_error *e)
{
	json_t *recs;

	if (snapshot_list(sm->sn, ns, &recs, e) < 0)
		return -e->code;
	for (size_t round = 0; round <= json_array_size(recs) && mark_parents(sm, ns, recs); round++)
		;
	/* Leaves first: a parent goes once its children are gone. */
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = 0; i < json_array_size(recs); i++) {
			json_t *rec = json_array_get(recs, i);
			const char *key = json_string_value(json_object_get(rec, "key"));
			if (kept(sm, ns, key) || has_child(recs, key))
				continue;
			/* The record goes under the lock (nothing is held meanwhile),
			   its tree after: that may take long. */
			struct ember_error ignored;
			char id[SNAPSHOT_ID_MAX];
			holds_lock(sm->env->holds);
			int held = holds_snapshot_held(sm->env->holds, snapshot_name(sm->sn), ns, key);
			int r = held ? -EBUSY : sm->env->dry_run ? 1 : snapshot_remove_record(sm->sn, ns, key, id, &ignored);
			holds_unlock(sm->env->holds);
			if (r == 1) {
				st->removed_snapshots++;
				if (sm->env->snapshot_removed)
					sm->env->snapshot_removed(snapshot_name(sm->sn), ns, key, sm->env->userdata);
			} else if (r == 0) {
				snapshot_remove_tree(sm->sn, id);
				st->removed_snapshots++;
				if (sm->env->snapshot_removed)
					sm->env->snapshot_removed(snapshot_name(sm->sn), ns, key, sm->env->userdata);
			}
			json_array_remove(recs, i--);
			changed = 1;
		}
	}
	json_decref(recs);
	return 0;
}

int gc_snapshots(const struct gc_env *env, struct gc_stats *st, struct ember_error *e)
{
	for (size_t i = 0; i < env->n_snapshotters; i++) {
		if (!env->snapshotters[i])
			continue;
		struct snap_mark sm = { env, env->snapshotters[i], json_object(), json_object(), NULL, { 0 }, 0 };
		int r = !sm.keep || !sm.nss ? err_set(e, ENOMEM, "out of memory") : 0;
		if (r == 0)
			r = meta_object_walk_all(env->meta, "images", mark_image, &sm, e);
		if (sm.failed) {
			/* Fail closed: an image not read may use any snapshot. */
			*e = sm.err;
			r = -(e->code ? e->code : EIO);
		}
		if (r == 0)
			r = meta_object_walk_all(env->meta, "leases", mark_lease, &sm, e);
		if (r == 0)
			r = snapshot_walk_all(sm.sn, mark_record, &sm, e);
		const char *ns;
		json_t *v;
		json_object_foreach(sm.nss, ns, v) {
			if (r == 0)
				r = sweep_ns(&sm, ns, st, e);
		}
		json_decref(sm.nss);
		json_decref(sm.keep);
		if (r < 0)
			return err_wrap(e, "garbage collection of snapshots (%s)", snapshot_name(sm.sn));
	}
	return 0;
}
