/* SPDX-License-Identifier: Apache-2.0 */
/* The space model: who needs which bytes of the store (see gc.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "daemon/gc.h"
#include "daemon/revisions.h"
#include "image/image.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#define DOC_MAX ((size_t)CONFIG_PULL_MAX_MANIFEST_KIB * 1024)

enum obj_kind { OBJ_BLOB, OBJ_SNAPSHOT, OBJ_ACTIVE };

struct obj {
	uint64_t bytes;
	unsigned images; /* images that need it */
	unsigned left;   /* images that still need it, in a simulation */
	unsigned stamp;  /* the last visit that counted it */
	unsigned char kind, pinned, container;
};

/* A snapshot record: the snapshotter's index, its namespace's, its tree's
   object, its parent's record (or -1). */
struct srec {
	int sn, ns;
	size_t obj;
	long parent;
	int kind;  /* 1: committed */
	int pinme; /* not committed (someone's tree), held, or a gc.root label */
};

struct img {
	int ns;
	char *name, *repo, *updated_at, *last_used_at;
	char target[DIGEST_MAX];
	int64_t last_used;
	char *held;
	size_t *objs;
	size_t n_objs, cap;
};

struct ns_stats {
	uint64_t containers, log_files, log_bytes;
};

struct space {
	const struct gc_env *env;
	json_t *nss;   /* name -> index */
	char **ns_names;
	struct ns_stats *ns_stats;
	size_t n_ns;
	struct obj *objs;
	size_t n_objs;
	json_t *obj_index; /* "b <digest>" / "s <sn> <id>" -> index */
	struct srec *recs;
	size_t n_recs;
	json_t *rec_index; /* "<sn> <ns> <key>" -> index */
	struct img *imgs;
	size_t n_imgs;
	/* Pins of namespaces: obj and ns, for the df of each. */
	size_t (*pins)[2];
	size_t n_pins;
	unsigned stamp;
	uint64_t free, size;
	unsigned flags;
	int failed; /* out of memory somewhere: the caller fails */
};

#define GROW(arr, n, failed)                                                                   \
	do {                                                                                   \
		if ((n) == 0 || ((n) >= 16 && ((n) & ((n) - 1)) == 0)) {                       \
			void *g_ = realloc((arr), ((n) ? (n) * 2 : 16) * sizeof(*(arr)));      \
			if (!g_) {                                                             \
				(failed) = 1;                                                  \
				break;                                                         \
			}                                                                      \
			(arr) = g_;                                                            \
		}                                                                              \
	} while (0)

char *gc_image_key(const char *ns, const char *name)
{
	char *k;

	return asprintf(&k, "%s %s", ns, name) < 0 ? NULL : k;
}

/* ---- indexes -------------------------------------------------------------------------- */

static int ns_index(struct space *sp, const char *ns)
{
	json_t *v = json_object_get(sp->nss, ns);

	if (v)
		return (int)json_integer_value(v);
	size_t n = sp->n_ns;
	GROW(sp->ns_names, n, sp->failed);
	if (sp->failed)
		return 0;
	GROW(sp->ns_stats, n, sp->failed);
	if (sp->failed || !(sp->ns_names[n] = strdup(ns))) {
		sp->failed = 1;
		return 0;
	}
	memset(&sp->ns_stats[n], 0, sizeof(sp->ns_stats[n]));
	json_object_set_new(sp->nss, ns, json_integer((json_int_t)n));
	sp->n_ns++;
	return (int)n;
}

static long find(json_t *index, const char *fmt, const char *a, const char *b, const char *c)
{
	char key[1200];

	snprintf(key, sizeof(key), fmt, a, b, c);
	json_t *v = json_object_get(index, key);
	return v ? (long)json_integer_value(v) : -1;
}

static size_t add_obj(struct space *sp, const char *key, enum obj_kind kind, uint64_t bytes)
{
	json_t *v = json_object_get(sp->obj_index, key);

	if (v)
		return (size_t)json_integer_value(v);
	GROW(sp->objs, sp->n_objs, sp->failed);
	if (sp->failed)
		return 0;
	sp->objs[sp->n_objs] = (struct obj){ .bytes = bytes, .kind = (unsigned char)kind };
	if (json_object_set_new(sp->obj_index, key, json_integer((json_int_t)sp->n_objs)) < 0)
		sp->failed = 1;
	return sp->n_objs++;
}

static long blob_obj(struct space *sp, const char *digest)
{
	return find(sp->obj_index, "b %s%s%s", digest, "", "");
}

static void pin(struct space *sp, int ns, size_t obj)
{
	sp->objs[obj].pinned = 1;
	GROW(sp->pins, sp->n_pins, sp->failed);
	if (sp->failed)
		return;
	sp->pins[sp->n_pins][0] = obj;
	sp->pins[sp->n_pins][1] = (size_t)ns;
	sp->n_pins++;
}

/* A record and its parents. */
static void pin_chain(struct space *sp, long rec)
{
	for (unsigned depth = 0; rec >= 0 && depth < 1000; depth++) {
		pin(sp, sp->recs[rec].ns, sp->recs[rec].obj);
		rec = sp->recs[rec].parent;
	}
}

/* ---- what reaches what ----------------------------------------------------------------- */

struct reach {
	struct space *sp;
	int ns;
	struct img *img; /* add to it, or NULL: pin */
	int failed;
};

static void reach_obj(struct reach *r, size_t obj)
{
	struct space *sp = r->sp;

	if (!r->img) {
		pin(sp, r->ns, obj);
		return;
	}
	if (sp->objs[obj].stamp == sp->stamp)
		return;
	sp->objs[obj].stamp = sp->stamp;
	struct img *im = r->img;
	if (im->n_objs == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 16;
		void *g = realloc(im->objs, cap * sizeof(*im->objs));
		if (!g) {
			sp->failed = 1;
			return;
		}
		im->objs = g;
		im->cap = cap;
	}
	im->objs[im->n_objs++] = obj;
	sp->objs[obj].images++;
}

static void reach_chain(struct reach *r, const char *top)
{
	struct space *sp = r->sp;
	const struct gc_env *env = sp->env;

	for (size_t s = 0; ENABLED(CONFIG_SNAPSHOTS_STORE) && s < env->n_snapshotters; s++) {
		if (!env->snapshotters[s])
			continue;
		char sn[24];
		snprintf(sn, sizeof(sn), "%zu", s);
		long rec = find(sp->rec_index, "%s %s %s", sn, sp->ns_names[r->ns], top);
		for (unsigned depth = 0; rec >= 0 && depth < 1000; depth++) {
			reach_obj(r, sp->recs[rec].obj);
			rec = sp->recs[rec].parent;
		}
	}
}

static int reach_one(const struct descriptor *desc, int present, void *userdata)
{
	struct reach *r = userdata;
	long obj = present ? blob_obj(r->sp, desc->digest) : -1;
	struct image_layers l;
	struct ember_error e;

	if (obj < 0)
		return 0;
	reach_obj(r, (size_t)obj);
	if (ENABLED(CONFIG_SNAPSHOTS_STORE) && r->sp->env->n_snapshotters &&
	    image_media_kind(desc->media_type) == MT_KIND_MANIFEST) {
		struct descriptor one = *desc;
		if (image_layers_load(r->sp->env->cs, &one, NULL, &l, &e) == 0) {
			if (l.n)
				reach_chain(r, l.chain[l.n - 1]);
			image_layers_done(&l);
		}
	}
	return r->sp->failed;
}

/* From a digest whose media type is not known (a lease's, a label's). */
static void reach_digest(struct reach *r, const char *digest)
{
	struct space *sp = r->sp;
	long obj = blob_obj(sp, digest);
	struct ember_error e;
	_cleanup_free_ char *data = NULL;
	size_t len;
	enum mt_kind kind;
	const char *mt = NULL;

	if (obj < 0)
		return;
	if (sp->objs[obj].bytes > DOC_MAX || content_blob_read(sp->env->cs, digest, DOC_MAX, &data, &len, &e) < 0 ||
	    image_document_kind(data, len, NULL, &kind, &mt, &e) < 0 ||
	    (kind != MT_KIND_INDEX && kind != MT_KIND_MANIFEST)) {
		reach_obj(r, (size_t)obj);
		return;
	}
	struct descriptor d = { .media_type = (char *)mt, .size = (int64_t)len };
	snprintf(d.digest, sizeof(d.digest), "%s", digest);
	if (image_walk(sp->env->cs, &d, NULL, IMAGE_WALK_PRESENT, reach_one, r, &e) < 0)
		reach_obj(r, (size_t)obj);
}

/* ---- building -------------------------------------------------------------------------- */

static int add_blob(const char *digest, int64_t size, int64_t mtime, void *userdata)
{
	struct space *sp = userdata;
	struct ember_error e;
	uint64_t bytes;
	char key[DIGEST_MAX + 2];

	(void)mtime;
	if (content_blob_usage(sp->env->cs, digest, &bytes, &e) < 0)
		bytes = (uint64_t)size;
	snprintf(key, sizeof(key), "b %s", digest);
	add_obj(sp, key, OBJ_BLOB, bytes);
	return sp->failed;
}

struct walk_sn {
	struct space *sp;
	int sn;
	json_t *parents; /* [rec index, parent key] to resolve once all are read */
};

static int add_record(const char *ns, json_t *rec, void *userdata)
{
	struct walk_sn *w = userdata;
	struct space *sp = w->sp;
	const char *key = json_string_value(json_object_get(rec, "key"));
	const char *id = json_string_value(json_object_get(rec, "id"));
	const char *kind = json_string_value(json_object_get(rec, "kind")) ?: "";
	const char *parent = json_string_value(json_object_get(rec, "parent"));
	char k[1200];

	if (!key || !id)
		return 0;
	int committed = !strcmp(kind, "committed");
	uint64_t bytes = 0;
	if (committed) {
		bytes = (uint64_t)json_integer_value(json_object_get(json_object_get(rec, "usage"), "size"));
	} else if (sp->flags & SPACE_MEASURE) {
		struct snapshot_usage u;
		struct ember_error e;
		if (snapshot_usage(sp->env->snapshotters[w->sn], ns, key, &u, &e) == 0)
			bytes = u.bytes;
	}
	snprintf(k, sizeof(k), "s %d %s", w->sn, id);
	size_t obj = add_obj(sp, k, committed ? OBJ_SNAPSHOT : OBJ_ACTIVE, bytes);
	int nsi = ns_index(sp, ns);
	GROW(sp->recs, sp->n_recs, sp->failed);
	if (sp->failed)
		return 1;
	json_t *labels = json_object_get(rec, "labels");
	holds_lock(sp->env->holds);
	int held = holds_snapshot_held(sp->env->holds, snapshot_name(sp->env->snapshotters[w->sn]), ns, key);
	holds_unlock(sp->env->holds);
	int pinme = !committed || held || json_object_get(labels, "ember.io/gc.root") ||
		    json_object_get(labels, "containerd.io/gc.root");
	sp->recs[sp->n_recs] = (struct srec){ w->sn, nsi, obj, -1, committed, pinme };
	snprintf(k, sizeof(k), "%d %s %s", w->sn, ns, key);
	json_object_set_new(sp->rec_index, k, json_integer((json_int_t)sp->n_recs));
	if (parent) {
		snprintf(k, sizeof(k), "%d %s %s", w->sn, ns, parent);
		json_array_append_new(w->parents, json_pack("[I, s]", (json_int_t)sp->n_recs, k));
	}
	sp->n_recs++;
	return 0;
}

static int build_snapshots(struct space *sp, struct ember_error *e)
{
	const struct gc_env *env = sp->env;

	for (size_t s = 0; ENABLED(CONFIG_SNAPSHOTS_STORE) && s < env->n_snapshotters; s++) {
		if (!env->snapshotters[s])
			continue;
		struct walk_sn w = { sp, (int)s, json_array() };
		size_t first = sp->n_recs, i;
		json_t *p;
		if (!w.parents)
			return err_set(e, ENOMEM, "out of memory");
		int r = snapshot_walk_all(env->snapshotters[s], add_record, &w, e);
		json_array_foreach(w.parents, i, p) {
			json_t *parent = json_object_get(sp->rec_index, json_string_value(json_array_get(p, 1)));
			if (parent)
				sp->recs[json_integer_value(json_array_get(p, 0))].parent = (long)json_integer_value(parent);
		}
		json_decref(w.parents);
		if (r < 0)
			return err_wrap(e, "snapshots (%s)", snapshot_name(env->snapshotters[s]));
		if (sp->failed)
			return err_set(e, ENOMEM, "out of memory");
		/* Pins: someone's trees (active snapshots, views) and their
		   parents, held snapshots, gc.root labels. */
		for (size_t k = first; k < sp->n_recs; k++)
			if (sp->recs[k].pinme)
				pin_chain(sp, (long)k);
	}
	return 0;
}

/* "2026-11-23T17:56:00.123Z" -> unix seconds; 0 when unreadable. */
static int64_t parse_time(const char *s)
{
	struct tm tm = { 0 };

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			 &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

/* The repository of a canonical name: without its digest and tag. */
static char *repository(const char *name)
{
	char *r = strdup(name);

	if (!r)
		return NULL;
	char *at = strchr(r, '@');
	if (at)
		*at = '\0';
	char *colon = strrchr(r, ':'), *slash = strrchr(r, '/');
	if (colon && (!slash || colon > slash))
		*colon = '\0';
	return r;
}

static int add_image(const char *ns, json_t *rec, void *userdata)
{
	struct space *sp = userdata;
	const char *name = json_string_value(json_object_get(rec, "name"));
	const char *digest = json_string_value(json_object_get(json_object_get(rec, "target"), "digest"));
	struct descriptor t;
	struct ember_error e;

	if (!name)
		return 0;
	GROW(sp->imgs, sp->n_imgs, sp->failed);
	if (sp->failed)
		return 1;
	struct img *im = &sp->imgs[sp->n_imgs++];
	memset(im, 0, sizeof(*im));
	im->ns = ns_index(sp, ns);
	const char *updated = json_string_value(json_object_get(rec, "updated_at")) ?: "";
	const char *created = json_string_value(json_object_get(rec, "created_at")) ?: "";
	const char *latest = strcmp(created, updated) > 0 ? created : updated;
	im->name = strdup(name);
	im->repo = repository(name);
	im->updated_at = strdup(updated);
	im->last_used_at = strdup(latest);
	im->last_used = parse_time(latest);
	if (!im->name || !im->repo || !im->updated_at || !im->last_used_at) {
		sp->failed = 1;
		return 1;
	}
	if (digest)
		snprintf(im->target, sizeof(im->target), "%s", digest);
	json_t *labels = json_object_get(rec, "labels");
	if (json_object_get(labels, "ember.io/gc.root") || json_object_get(labels, "containerd.io/gc.root"))
		im->held = strdup("a gc.root label");
	if (descriptor_parse(json_object_get(rec, "target"), "target", &t, &e) < 0)
		return 0; /* damaged: it reaches nothing (and GC fails closed) */
	struct reach r = { sp, im->ns, im, 0 };
	sp->stamp++;
	(void)image_walk(sp->env->cs, &t, NULL, IMAGE_WALK_PRESENT, reach_one, &r, &e);
	descriptor_done(&t);
	return sp->failed;
}

static struct img *image_find(struct space *sp, const char *ns, const char *name)
{
	for (size_t i = 0; i < sp->n_imgs; i++)
		if (!strcmp(sp->imgs[i].name, name) && !strcmp(sp->ns_names[sp->imgs[i].ns], ns))
			return &sp->imgs[i];
	return NULL;
}

/* meta/<ns>/images-used/: when a container last held the image. */
static int add_used(const char *ns, json_t *rec, void *userdata)
{
	struct space *sp = userdata;
	const char *name = json_string_value(json_object_get(rec, "name"));
	const char *used = json_string_value(json_object_get(rec, "last_used_at"));
	struct img *im = name && used ? image_find(sp, ns, name) : NULL;

	if (im && strcmp(used, im->last_used_at) > 0) {
		char *s = strdup(used);
		if (!s) {
			sp->failed = 1;
			return 1;
		}
		free(im->last_used_at);
		im->last_used_at = s;
		im->last_used = parse_time(s);
	}
	return 0;
}

static void hold(struct space *sp, struct img *im, const char *fmt, const char *what)
{
	if (im->held)
		return;
	if (asprintf(&im->held, fmt, what) < 0) {
		im->held = NULL;
		sp->failed = 1;
	}
}

static int add_lease(const char *ns, json_t *rec, void *userdata)
{
	struct space *sp = userdata;
	json_t *exp = json_object_get(rec, "expires_at"), *res;
	const char *id = json_string_value(json_object_get(rec, "name")) ?: "?";
	size_t i;

	if (json_is_integer(exp) && json_integer_value(exp) <= (json_int_t)time(NULL))
		return 0;
	struct reach r = { sp, ns_index(sp, ns), NULL, 0 };
	json_array_foreach(json_object_get(rec, "resources"), i, res) {
		const char *type = json_string_value(json_object_get(res, "type")) ?: "";
		const char *rid = json_string_value(json_object_get(res, "id"));
		if (!rid)
			continue;
		if (!strcmp(type, "content")) {
			reach_digest(&r, rid);
			for (size_t k = 0; k < sp->n_imgs; k++)
				if (sp->imgs[k].ns == r.ns && !strcmp(sp->imgs[k].target, rid))
					hold(sp, &sp->imgs[k], "lease %s", id);
		} else if (ENABLED(CONFIG_SNAPSHOTS_STORE) && !strncmp(type, "snapshots/", 10)) {
			for (size_t s = 0; s < sp->env->n_snapshotters; s++) {
				char sn[24];
				if (!sp->env->snapshotters[s] || strcmp(snapshot_name(sp->env->snapshotters[s]), type + 10))
					continue;
				snprintf(sn, sizeof(sn), "%zu", s);
				pin_chain(sp, find(sp->rec_index, "%s %s %s", sn, ns, rid));
			}
		}
	}
	return sp->failed;
}

/* A revision holds the images it pinned (by target digest), and what they reach. */
static int add_revision(const char *ns, const char *revision, const char *name, const char *digest,
			void *userdata)
{
	struct space *sp = userdata;
	struct reach r = { sp, ns_index(sp, ns), NULL, 0 };

	(void)name;
	reach_digest(&r, digest);
	for (size_t k = 0; k < sp->n_imgs; k++)
		if (sp->imgs[k].ns == r.ns && !strcmp(sp->imgs[k].target, digest))
			hold(sp, &sp->imgs[k], "revision %s", revision);
	return sp->failed;
}

static int add_label(const char *ns, json_t *rec, void *userdata)
{
	struct space *sp = userdata;
	json_t *labels = json_object_get(rec, "labels");
	const char *digest = json_string_value(json_object_get(rec, "name"));

	if (!digest || !(json_object_get(labels, "ember.io/gc.root") || json_object_get(labels, "containerd.io/gc.root")))
		return 0;
	struct reach r = { sp, ns_index(sp, ns), NULL, 0 };
	reach_digest(&r, digest);
	for (size_t k = 0; k < sp->n_imgs; k++)
		if (sp->imgs[k].ns == r.ns && !strcmp(sp->imgs[k].target, digest))
			hold(sp, &sp->imgs[k], "%s", "a gc.root label on its target");
	return sp->failed;
}

static void add_logs(struct space *sp, int nsi, const char *ns, const char *id)
{
	const char *state = sp->env->state_path;
	char path[1200];
	struct stat st;

	for (int i = 0; state && i < 2; i++) {
		snprintf(path, sizeof(path), "%s/tasks/%s/%s/log.%d", state, ns, id, i);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			sp->ns_stats[nsi].log_files++;
			sp->ns_stats[nsi].log_bytes += (uint64_t)st.st_blocks * 512;
		}
	}
}

static int add_container(const char *ns, json_t *rec, void *userdata)
{
	struct space *sp = userdata;
	const char *id = json_string_value(json_object_get(rec, "id")) ?: json_string_value(json_object_get(rec, "name"));
	const char *image = json_string_value(json_object_get(rec, "image"));
	const char *key = json_string_value(json_object_get(rec, "snapshot_key"));
	const char *snapshotter = json_string_value(json_object_get(rec, "snapshotter"));
	int nsi = ns_index(sp, ns);

	if (sp->failed || !id)
		return sp->failed;
	sp->ns_stats[nsi].containers++;
	struct img *im = image ? image_find(sp, ns, image) : NULL;
	if (im)
		hold(sp, im, "container %s", id);
	for (size_t s = 0; ENABLED(CONFIG_SNAPSHOTS_STORE) && key && snapshotter && s < sp->env->n_snapshotters; s++) {
		char sn[24];
		if (!sp->env->snapshotters[s] || strcmp(snapshot_name(sp->env->snapshotters[s]), snapshotter))
			continue;
		snprintf(sn, sizeof(sn), "%zu", s);
		long r = find(sp->rec_index, "%s %s %s", sn, ns, key);
		if (r >= 0 && !sp->recs[r].kind)
			sp->objs[sp->recs[r].obj].container = 1;
	}
	if (sp->flags & SPACE_MEASURE)
		add_logs(sp, nsi, ns, id);
	return sp->failed;
}

static int pin_held_blobs(struct space *sp)
{
	const char *key;
	json_t *v;

	holds_lock(sp->env->holds);
	json_object_foreach(sp->obj_index, key, v) {
		if (key[0] == 'b' && holds_blob_held(sp->env->holds, key + 2))
			sp->objs[json_integer_value(v)].pinned = 1;
	}
	for (size_t i = 0; i < sp->n_imgs; i++)
		if (holds_image_held(sp->env->holds, sp->ns_names[sp->imgs[i].ns], sp->imgs[i].name))
			hold(sp, &sp->imgs[i], "%s", "work in progress (a container being created)");
	holds_unlock(sp->env->holds);
	return sp->failed;
}

int space_build(const struct gc_env *env, unsigned flags, struct space **out, struct ember_error *e)
{
	struct space *sp = calloc(1, sizeof(*sp));
	struct statvfs sv;

	*out = NULL;
	if (!sp || !(sp->nss = json_object()) || !(sp->obj_index = json_object()) || !(sp->rec_index = json_object())) {
		space_free(sp);
		return err_set(e, ENOMEM, "out of memory");
	}
	sp->env = env;
	sp->flags = flags;
	if (fstatvfs(env->root_fd, &sv) == 0) {
		sp->free = (uint64_t)sv.f_bavail * sv.f_frsize;
		sp->size = (uint64_t)sv.f_blocks * sv.f_frsize;
	}
	int r = content_walk(env->cs, add_blob, sp, e);
	if (r == 0)
		r = build_snapshots(sp, e);
	if (r == 0)
		r = meta_object_walk_all(env->meta, "images", add_image, sp, e);
	if (r == 0)
		r = meta_object_walk_all(env->meta, "images-used", add_used, sp, e);
	if (r == 0 && ENABLED(CONFIG_RUNTIME_DAEMON))
		r = meta_object_walk_all(env->meta, "containers", add_container, sp, e);
	if (r == 0)
		r = meta_object_walk_all(env->meta, "leases", add_lease, sp, e);
	if (r == 0)
		r = meta_object_walk_all(env->meta, "content", add_label, sp, e);
	if (r == 0)
		r = revisions_walk_images(env->meta, add_revision, sp, e);
	if (r == 0)
		(void)pin_held_blobs(sp);
	/* Callbacks stop a walk with 1 when memory ran out. */
	if (r >= 0 && sp->failed)
		r = err_set(e, ENOMEM, "out of memory");
	if (r < 0) {
		space_free(sp);
		return err_wrap(e, "the store's space");
	}
	/* Views and active snapshots of no container are someone's too. */
	for (size_t i = 0; i < sp->n_objs; i++)
		if (sp->objs[i].kind == OBJ_ACTIVE)
			sp->objs[i].pinned = 1;
	*out = sp;
	return 0;
}

struct space *space_free(struct space *sp)
{
	if (!sp)
		return NULL;
	for (size_t i = 0; i < sp->n_imgs; i++) {
		struct img *im = &sp->imgs[i];
		free(im->name);
		free(im->repo);
		free(im->updated_at);
		free(im->last_used_at);
		free(im->held);
		free(im->objs);
	}
	for (size_t i = 0; i < sp->n_ns; i++)
		free(sp->ns_names[i]);
	free(sp->ns_names);
	free(sp->ns_stats);
	free(sp->imgs);
	free(sp->objs);
	free(sp->recs);
	free(sp->pins);
	json_decref(sp->nss);
	json_decref(sp->obj_index);
	json_decref(sp->rec_index);
	free(sp);
	return NULL;
}

void space_image_info(const struct space *sp, size_t i, struct space_image_info *out)
{
	const struct img *im = &sp->imgs[i];

	*out = (struct space_image_info){ sp->ns_names[im->ns], im->name, im->updated_at, im->last_used, im->held };
}

/* ---- simulation: what removing images frees --------------------------------------------- */

static int collectable(const struct obj *o)
{
	return o->kind != OBJ_ACTIVE && !o->pinned;
}

static uint64_t sim_begin(struct space *sp)
{
	uint64_t garbage = 0;

	for (size_t i = 0; i < sp->n_objs; i++) {
		sp->objs[i].left = sp->objs[i].images;
		if (!sp->objs[i].images && collectable(&sp->objs[i]))
			garbage += sp->objs[i].bytes;
	}
	return garbage;
}

static uint64_t sim_remove(struct space *sp, size_t img)
{
	uint64_t freed = 0;
	struct img *im = &sp->imgs[img];

	for (size_t k = 0; k < im->n_objs; k++) {
		struct obj *o = &sp->objs[im->objs[k]];
		if (o->left && --o->left == 0 && collectable(o))
			freed += o->bytes;
	}
	return freed;
}

/* ---- the policy ------------------------------------------------------------------------- */

struct cand {
	size_t img;
	const struct space *sp;
};

/* Most recently used first; held images count as used now. */
static int cmp_recent(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	const struct img *i = &x->sp->imgs[x->img], *j = &y->sp->imgs[y->img];

	if (!!i->held != !!j->held)
		return i->held ? -1 : 1;
	int c = strcmp(j->last_used_at, i->last_used_at);
	return c ? c : strcmp(i->name, j->name);
}

static int cmp_group(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	const struct img *i = &x->sp->imgs[x->img], *j = &y->sp->imgs[y->img];

	if (i->ns != j->ns)
		return strcmp(x->sp->ns_names[i->ns], y->sp->ns_names[j->ns]);
	int c = strcmp(i->repo, j->repo);
	return c ? c : cmp_recent(a, b);
}

static int add_item(struct gc_plan *plan, size_t img, const char *reason, uint64_t frees)
{
	if (plan->n == 0 || (plan->n >= 8 && (plan->n & (plan->n - 1)) == 0)) {
		void *g = realloc(plan->items, (plan->n ? plan->n * 2 : 8) * sizeof(*plan->items));
		if (!g)
			return -ENOMEM;
		plan->items = g;
	}
	plan->items[plan->n++] = (struct gc_plan_item){ img, reason, frees };
	return 0;
}

int gc_plan_make(struct space *sp, const struct gc_policy *pol, int64_t now, struct gc_plan *plan,
		 struct ember_error *e)
{
	size_t n = sp->n_imgs;
	_cleanup_free_ struct cand *c = calloc(n ? n : 1, sizeof(*c));
	_cleanup_free_ unsigned char *gone = calloc(n ? n : 1, 1);

	memset(plan, 0, sizeof(*plan));
	if (!c || !gone)
		return err_set(e, ENOMEM, "out of memory");
	plan->free = sp->free;
	plan->size = sp->size;
	if (pol->free_low.n) {
		plan->low = config_gc_level_bytes(&pol->free_low, sp->size);
		plan->high = config_gc_level_bytes(&pol->free_high, sp->size);
		if (plan->high < plan->low)
			plan->high = plan->low;
	}
	plan->garbage = sim_begin(sp);
	uint64_t freed = plan->garbage;
	for (size_t i = 0; i < n; i++)
		c[i] = (struct cand){ i, sp };

	/* keep: past the N most recently used of a repository. */
	if (pol->keep > 0) {
		qsort(c, n, sizeof(*c), cmp_group);
		for (size_t i = 0, rank = 0; i < n; i++) {
			const struct img *im = &sp->imgs[c[i].img];
			if (i == 0 || sp->imgs[c[i - 1].img].ns != im->ns || strcmp(sp->imgs[c[i - 1].img].repo, im->repo))
				rank = 0;
			if (rank++ < (size_t)pol->keep)
				continue;
			if (im->held) {
				plan->held++;
			} else if (now - im->last_used < pol->min_age_s) {
				plan->young++;
			} else {
				uint64_t f = sim_remove(sp, c[i].img);
				freed += f;
				gone[c[i].img] = 1;
				if (add_item(plan, c[i].img, "keep", f) < 0)
					return err_set(e, ENOMEM, "out of memory");
			}
		}
	}

	/* free space: oldest used first, until high. */
	if (plan->low && sp->free < plan->low) {
		qsort(c, n, sizeof(*c), cmp_recent);
		unsigned held = 0, young = 0;
		for (size_t i = n; i-- > 0 && sp->free + freed < plan->high;) {
			const struct img *im = &sp->imgs[c[i].img];
			if (gone[c[i].img])
				continue;
			if (im->held) {
				held++;
			} else if (now - im->last_used < pol->min_age_s) {
				young++;
			} else {
				uint64_t f = sim_remove(sp, c[i].img);
				freed += f;
				gone[c[i].img] = 1;
				if (add_item(plan, c[i].img, "free-space", f) < 0)
					return err_set(e, ENOMEM, "out of memory");
			}
		}
		plan->held += held;
		plan->young += young;
		if (sp->free + freed < plan->high) {
			char f[16], h[16];
			struct gc_level lf = { sp->free + freed, 0 }, lh = { plan->high, 0 };
			config_gc_level_format(&lf, f, sizeof(f));
			config_gc_level_format(&lh, h, sizeof(h));
			snprintf(plan->warning, sizeof(plan->warning),
				 "cannot free space up to gc.free_high (%s): %s free after removing %zu unused image(s); "
				 "%u image(s) held (by containers, leases or gc.root labels), %u younger than gc.min_age",
				 h, f, plan->n, held, young);
		}
	}
	plan->expect_free = sp->free + freed;
	return 0;
}

void gc_plan_done(struct gc_plan *plan)
{
	free(plan->items);
	memset(plan, 0, sizeof(*plan));
}

/* ---- the df report ---------------------------------------------------------------------- */

struct row {
	uint64_t count, bytes, shared, exclusive, reclaimable;
};

static void row_add(struct row *r, const struct obj *o)
{
	r->count++;
	r->bytes += o->bytes;
	if (o->images > 1)
		r->shared += o->bytes;
	else if (o->images == 1)
		r->exclusive += o->bytes;
	else if (collectable(o))
		r->reclaimable += o->bytes;
}

static json_t *row_json(const struct row *r)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "count", (json_int_t)r->count, "bytes", (json_int_t)r->bytes,
			 "shared", (json_int_t)r->shared, "exclusive", (json_int_t)r->exclusive, "reclaimable",
			 (json_int_t)r->reclaimable);
}

/* What removing every image of ns (-1: all) that nothing holds frees. */
static uint64_t images_reclaimable(struct space *sp, int ns)
{
	uint64_t freed = 0;

	(void)sim_begin(sp);
	for (size_t i = 0; i < sp->n_imgs; i++)
		if ((ns < 0 || sp->imgs[i].ns == ns) && !sp->imgs[i].held)
			freed += sim_remove(sp, i);
	return freed;
}

/* One namespace's rows (ns >= 0), or the whole store's, each object once. */
static json_t *report_rows(struct space *sp, int ns)
{
	struct row blobs = { 0 }, snaps = { 0 }, conts = { 0 }, imgs = { 0 }, logs = { 0 };
	uint64_t in_use = 0;

	sp->stamp++;
	for (size_t i = 0; i < sp->n_imgs; i++) {
		struct img *im = &sp->imgs[i];
		if (ns >= 0 && im->ns != ns)
			continue;
		imgs.count++;
		in_use += im->held && !strncmp(im->held, "container ", 10);
		for (size_t k = 0; k < im->n_objs; k++) {
			struct obj *o = &sp->objs[im->objs[k]];
			if (o->stamp == sp->stamp)
				continue;
			o->stamp = sp->stamp;
			imgs.bytes += o->bytes;
			if (o->images > 1)
				imgs.shared += o->bytes;
			else
				imgs.exclusive += o->bytes;
		}
	}
	imgs.reclaimable = images_reclaimable(sp, ns);
	/* Blobs: the store's all, or those a namespace's images and pins reach. */
	sp->stamp++;
	if (ns < 0) {
		for (size_t i = 0; i < sp->n_objs; i++)
			if (sp->objs[i].kind == OBJ_BLOB)
				row_add(&blobs, &sp->objs[i]);
	} else {
		for (size_t i = 0; i < sp->n_imgs; i++) {
			struct img *im = &sp->imgs[i];
			for (size_t k = 0; im->ns == ns && k < im->n_objs; k++) {
				struct obj *o = &sp->objs[im->objs[k]];
				if (o->kind == OBJ_BLOB && o->stamp != sp->stamp) {
					o->stamp = sp->stamp;
					row_add(&blobs, o);
				}
			}
		}
		for (size_t i = 0; i < sp->n_pins; i++) {
			struct obj *o = &sp->objs[sp->pins[i][0]];
			if ((int)sp->pins[i][1] == ns && o->kind == OBJ_BLOB && o->stamp != sp->stamp) {
				o->stamp = sp->stamp;
				row_add(&blobs, o);
			}
		}
	}
	/* Snapshot trees (each once) of the namespace's records. */
	sp->stamp++;
	for (size_t i = 0; i < sp->n_recs; i++) {
		struct obj *o = &sp->objs[sp->recs[i].obj];
		if ((ns >= 0 && sp->recs[i].ns != ns) || o->stamp == sp->stamp)
			continue;
		o->stamp = sp->stamp;
		row_add(o->container ? &conts : &snaps, o);
	}
	/* Containers: their records, whether or not they have a snapshot. */
	conts.count = 0;
	for (size_t i = 0; i < sp->n_ns; i++) {
		if (ns >= 0 && (int)i != ns)
			continue;
		conts.count += sp->ns_stats[i].containers;
		logs.count += sp->ns_stats[i].log_files;
		logs.bytes += sp->ns_stats[i].log_bytes;
	}
	conts.exclusive = conts.bytes;
	conts.shared = conts.reclaimable = 0;
	logs.exclusive = logs.bytes;
	json_t *im = row_json(&imgs);
	json_object_set_new(im, "in_use", json_integer((json_int_t)in_use));
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "images", im, "blobs", row_json(&blobs), "snapshots",
			 row_json(&snaps), "containers", row_json(&conts), "logs", row_json(&logs));
}

json_t *space_report(struct space *sp, const char *only)
{
	json_t *nss = json_array();
	const char **names = calloc(sp->n_ns ? sp->n_ns : 1, sizeof(*names));

	if (!nss || !names) {
		free(names);
		json_decref(nss);
		return NULL;
	}
	for (size_t i = 0; i < sp->n_ns; i++)
		names[i] = sp->ns_names[i];
	/* Sorted by name. */
	for (size_t i = 1; i < sp->n_ns; i++)
		for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
			const char *t = names[k];
			names[k] = names[k - 1];
			names[k - 1] = t;
		}
	for (size_t i = 0; i < sp->n_ns; i++) {
		if (only && strcmp(only, names[i]))
			continue;
		int idx = (int)json_integer_value(json_object_get(sp->nss, names[i]));
		json_t *rows = report_rows(sp, idx);
		json_object_set_new(rows, "namespace", json_string(names[i]));
		json_array_append_new(nss, rows);
	}
	free(names);
	return json_pack("{s:I, s:I, s:o, s:o}", "free", (json_int_t)sp->free, "size", (json_int_t)sp->size, "total",
			 report_rows(sp, -1), "namespaces", nss);
}
