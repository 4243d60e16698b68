/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collection of blobs (see gc.h). */
#include "daemon/gc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/revisions.h"
#include "image/image.h"
#include "util/err.h"

#define DOC_MAX ((size_t)CONFIG_PULL_MAX_MANIFEST_KIB * 1024)

struct mark {
	char (*v)[DIGEST_MAX];
	size_t n, cap;
	struct content_store *cs;
	const char *want; /* gc_blob_in_use: stop when this is reached */
	int found;
	char *by;
	size_t by_len;
	const char *root; /* the root being followed */
	int failed;
	json_t *expired;  /* gc_run: leases past their expiry, to delete */
	const struct gc_env *env; /* gc_collect: its skip_images */
};

static int cmp_digest(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int marked(const struct mark *m, const char *digest)
{
	return m->n && bsearch(digest, m->v, m->n, DIGEST_MAX, cmp_digest) != NULL;
}

/* Add digest and everything it references; a blob that is missing or not
   a manifest simply has no children. */
static int mark(struct mark *m, const char *digest, int depth)
{
	struct ember_error e;

	if (digest_check(digest, &e) < 0 || marked(m, digest) || m->found)
		return 0;
	if (m->want && !strcmp(m->want, digest)) {
		m->found = 1;
		snprintf(m->by, m->by_len, "%s", m->root);
		return 0;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		void *v = realloc(m->v, cap * DIGEST_MAX);
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	size_t i = m->n;
	while (i > 0 && strcmp(m->v[i - 1], digest) > 0) {
		memcpy(m->v[i], m->v[i - 1], DIGEST_MAX);
		i--;
	}
	memcpy(m->v[i], digest, DIGEST_MAX);
	m->n++;
	if (depth > 8)
		return 0; /* an index of indexes of ...: nothing real goes this deep */

	char *data = NULL;
	size_t len;
	enum mt_kind kind;
	const char *mt = NULL;
	int64_t size;
	if (content_blob_stat(m->cs, digest, &size, &e) < 0 || size > (int64_t)DOC_MAX)
		return 0; /* absent (dropped layer) or a layer */
	if (content_blob_read(m->cs, digest, DOC_MAX, &data, &len, &e) < 0)
		return 0;
	int r = 0;
	if (image_document_kind(data, len, NULL, &kind, &mt, &e) == 0) {
		if (kind == MT_KIND_INDEX) {
			struct index ix;
			if (index_parse(data, len, &ix, &e) == 0) {
				for (size_t k = 0; r == 0 && k < ix.n_manifests; k++)
					r = mark(m, ix.manifests[k].digest, depth + 1);
				index_done(&ix);
			}
		} else if (kind == MT_KIND_MANIFEST) {
			struct manifest mf;
			if (manifest_parse(data, len, &mf, &e) == 0) {
				r = mark(m, mf.config.digest, depth + 1);
				for (size_t k = 0; r == 0 && k < mf.n_layers; k++)
					r = mark(m, mf.layers[k].digest, depth + 1);
				manifest_done(&mf);
			}
		}
	}
	free(data);
	return r;
}

int gc_image_skipped(const struct gc_env *env, const char *ns, json_t *rec)
{
	const char *name = json_string_value(json_object_get(rec, "name"));

	if (!env->skip_images || !name)
		return 0;
	char *k = gc_image_key(ns, name);
	int r = !k || json_object_get(env->skip_images, k) != NULL;
	free(k);
	return r;
}

static int mark_image(const char *ns, json_t *rec, void *userdata)
{
	struct mark *m = userdata;
	const char *digest = json_string_value(json_object_get(json_object_get(rec, "target"), "digest"));
	char root[300];

	if (m->env && gc_image_skipped(m->env, ns, rec))
		return 0;

	snprintf(root, sizeof(root), "image %s (namespace %s)",
		 json_string_value(json_object_get(rec, "name")) ?: "?", ns);
	m->root = root;
	int r = digest ? mark(m, digest, 0) : 0;
	m->root = NULL;
	return r < 0 ? r : m->found;
}

static int mark_labelled(const char *ns, json_t *rec, void *userdata)
{
	struct mark *m = userdata;
	json_t *labels = json_object_get(rec, "labels");
	const char *digest = json_string_value(json_object_get(rec, "name"));
	char root[300];

	if (!digest || !(json_object_get(labels, "ember.io/gc.root") ||
			 json_object_get(labels, "containerd.io/gc.root")))
		return 0;
	snprintf(root, sizeof(root), "a gc.root label (namespace %s)", ns);
	m->root = root;
	int r = mark(m, digest, 0);
	m->root = NULL;
	return r < 0 ? r : m->found;
}

/* A lease keeps its resources until it expires (GC then removes it). */
static int mark_lease(const char *ns, json_t *rec, void *userdata)
{
	struct mark *m = userdata;
	json_t *res, *exp = json_object_get(rec, "expires_at");
	size_t i;
	char root[300];

	if (json_is_integer(exp) && json_integer_value(exp) <= (json_int_t)time(NULL)) {
		if (m->expired)
			json_array_append_new(m->expired, json_pack("{s:s, s:O}", "ns", ns, "id", json_object_get(rec, "name")));
		return 0;
	}
	snprintf(root, sizeof(root), "lease %s (namespace %s)",
		 json_string_value(json_object_get(rec, "name")) ?: "?", ns);
	m->root = root;
	int r = 0;
	json_array_foreach(json_object_get(rec, "resources"), i, res) {
		const char *type = json_string_value(json_object_get(res, "type"));
		const char *id = json_string_value(json_object_get(res, "id"));
		if (type && id && !strcmp(type, "content") && (r = mark(m, id, 0)) != 0)
			break;
	}
	m->root = NULL;
	return r < 0 ? r : m->found;
}

/* A revision keeps the images it pinned, by digest. */
static int mark_revision(const char *ns, const char *revision, const char *name, const char *digest,
			 void *userdata)
{
	struct mark *m = userdata;
	char root[300];

	(void)name;
	snprintf(root, sizeof(root), "revision %s (namespace %s)", revision, ns);
	m->root = root;
	int r = mark(m, digest, 0);
	m->root = NULL;
	return r < 0 ? r : m->found;
}

static int mark_roots(const struct gc_env *env, struct mark *m, struct ember_error *e)
{
	int r = meta_object_walk_all(env->meta, "images", mark_image, m, e);
	if (r == 0)
		r = meta_object_walk_all(env->meta, "content", mark_labelled, m, e);
	if (r == 0)
		r = meta_object_walk_all(env->meta, "leases", mark_lease, m, e);
	if (r == 0)
		r = revisions_walk_images(env->meta, mark_revision, m, e);
	if (r == -ENOMEM)
		return err_set(e, ENOMEM, "garbage collection: out of memory");
	return r < 0 ? err_wrap(e, "garbage collection") : 0;
}

int gc_blob_in_use(const struct gc_env *env, const char *digest, char *by, size_t len)
{
	struct mark m = { .cs = env->cs, .want = digest, .by = by, .by_len = len };
	struct ember_error e;

	holds_lock(env->holds);
	int held = holds_blob_held(env->holds, digest);
	holds_unlock(env->holds);
	if (held) {
		snprintf(by, len, "work in progress (a pull, an import or an unpack)");
		return 1;
	}
	int r = mark_roots(env, &m, &e);
	free(m.v);
	return r < 0 ? 0 : m.found;
}

int gc_blob_recorded(const struct gc_env *env, const char *digest)
{
	char by[300];
	struct mark m = { .cs = env->cs, .want = digest, .by = by, .by_len = sizeof(by) };
	struct ember_error e;

	int r = mark_roots(env, &m, &e);
	free(m.v);
	return r < 0 ? 1 : m.found; /* unsure: in use */
}

struct sweep {
	const struct gc_env *env;
	struct mark *m;
	struct gc_stats *st;
};

static int drop_labels(const char *ns, json_t *rec, void *userdata)
{
	struct sweep *sw = userdata;
	const char *digest = json_string_value(json_object_get(rec, "name"));
	struct ember_error e;

	if (sw->env->dry_run)
		return 0;
	if (digest && !marked(sw->m, digest) &&
	    content_blob_stat(sw->env->cs, digest, NULL, &e) == -ENOENT)
		(void)meta_object_delete(sw->env->meta, ns, "content", "blob", digest, &e);
	return 0;
}

static int sweep_one(const char *digest, int64_t size, int64_t mtime, void *userdata)
{
	struct sweep *sw = userdata;
	struct ember_error e;

	(void)mtime;
	if (marked(sw->m, digest)) {
		sw->st->kept_blobs++;
		return 0;
	}
	/* Checked and deleted under the lock: nothing is held meanwhile. */
	holds_lock(sw->env->holds);
	int held = holds_blob_held(sw->env->holds, digest);
	int r = held ? -EBUSY : sw->env->dry_run ? 0 : content_blob_delete(sw->env->cs, digest, &e);
	holds_unlock(sw->env->holds);
	if (held) {
		sw->st->kept_blobs++;
	} else if (r == 0) {
		sw->st->removed_blobs++;
		sw->st->removed_bytes += (uint64_t)size;
		if (sw->env->blob_removed)
			sw->env->blob_removed(digest, size, sw->env->userdata);
	}
	return 0;
}

int gc_collect(const struct gc_env *env, struct gc_stats *st, struct ember_error *e)
{
	struct mark m = { .cs = env->cs, .env = env };

	memset(st, 0, sizeof(*st));
	holds_gc_begin(env->holds);
	m.expired = env->dry_run ? NULL : json_array();
	int r = mark_roots(env, &m, e);
	size_t i;
	json_t *x;
	json_array_foreach(m.expired, i, x) {
		struct ember_error ignored;
		(void)meta_object_delete(env->meta, json_string_value(json_object_get(x, "ns")), "leases", "lease",
					 json_string_value(json_object_get(x, "id")), &ignored);
	}
	json_decref(m.expired);
	if (r == 0) {
		struct sweep sw = { env, &m, st };
		r = content_walk(env->cs, sweep_one, &sw, e);
		if (r == 0)
			(void)meta_object_walk_all(env->meta, "content", drop_labels, &sw, e);
	}
	free(m.v);
	if (r == 0 && ENABLED(CONFIG_SNAPSHOTS_STORE) && env->n_snapshotters)
		r = gc_snapshots(env, st, e);
	holds_gc_end(env->holds);
	return r < 0 ? r : 0;
}
