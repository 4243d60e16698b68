/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Snapshots, the daemon's snapshotters, and an image's layer chain. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/services.h"
#include "daemon/snapshots.h"
#include "daemon/svc-images.h"
#include "util/cleanup.h"
#include "util/err.h"

/* ---- start-up ------------------------------------------------------------------ */

int snapshots_start(struct daemon *d, struct ember_error *e)
{
	char root[PATH_MAX];

	if (!realpath(d->cfg.root, root))
		return err_sys(e, errno, "resolve the root %s", d->cfg.root);
	for (size_t i = 0; snapshot_backends[i]; i++) {
		struct snapshot_recovery st;
		uint64_t t0 = loop_now_ms();
		if (snapshot_open(d->root_fd, root, snapshot_backends[i], &d->snapshotters[i], e) < 0 ||
		    snapshot_recover(d->snapshotters[i], &st, e) < 0) {
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

void snapshots_stop(struct daemon *d)
{
#ifdef CONFIG_PULL_UNPACK
	/* A worker thread still reads its snapshotter: leave it to the exit. */
	if (unpackers_running(d))
		return;
#endif
	for (size_t i = 0; i < ARRAY_SIZE(d->snapshotters); i++) {
		snapshot_close(d->snapshotters[i]);
		d->snapshotters[i] = NULL;
	}
}

struct snapshotter *snapshots_get(struct daemon *d, const char *name, struct ember_error *e)
{
	if (!name || !*name)
		name = d->cfg.snapshotter ? d->cfg.snapshotter : CONFIG_DEFAULT_SNAPSHOTTER;
	if (!strcmp(name, "overlayfs"))
		name = "overlay";
	for (size_t i = 0; snapshot_backends[i]; i++)
		if (!strcmp(snapshot_backends[i], name) && d->snapshotters[i])
			return d->snapshotters[i];
	char have[64] = "";
	for (size_t i = 0; snapshot_backends[i]; i++)
		snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%s", i ? ", " : "", snapshot_backends[i]);
	err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "snapshotter \"%.64s\" is not compiled in (have: %s)", name,
		     have[0] ? have : "none");
	return NULL;
}

/* ---- an image's layers -------------------------------------------------------------- */

void image_layers_done(struct image_layers *l)
{
	for (size_t i = 0; l->layers && i < l->n; i++)
		descriptor_done(&l->layers[i]);
	free(l->layers);
	free(l->diff_ids);
	free(l->chain);
	json_decref(l->config);
	memset(l, 0, sizeof(*l));
}

int image_layers_from(const struct manifest *m, const struct image_config *c, struct image_layers *out,
		      struct ember_error *e)
{
	struct image_layers l = { .n = m->n_layers };

	memset(out, 0, sizeof(*out));
	if (m->n_layers != c->n_diff_ids)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
				    "the manifest has %zu layers, its config %zu diff_ids", m->n_layers, c->n_diff_ids);
	l.layers = calloc(l.n + 1, sizeof(*l.layers));
	l.diff_ids = malloc((l.n + 1) * DIGEST_MAX);
	l.chain = malloc((l.n + 1) * DIGEST_MAX);
	if (!l.layers || !l.diff_ids || !l.chain) {
		image_layers_done(&l);
		return err_set(e, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < l.n; i++) {
		memcpy(l.layers[i].digest, m->layers[i].digest, DIGEST_MAX);
		l.layers[i].size = m->layers[i].size;
		l.layers[i].media_type = strdup(m->layers[i].media_type ? m->layers[i].media_type : "");
		memcpy(l.diff_ids[i], c->diff_ids[i], DIGEST_MAX);
		if (!l.layers[i].media_type) {
			image_layers_done(&l);
			return err_set(e, ENOMEM, "out of memory");
		}
	}
	if (snapshot_chain_ids((const char(*)[DIGEST_MAX])l.diff_ids, l.n, l.chain, e) < 0) {
		image_layers_done(&l);
		return err_wrap(e, "image config");
	}
	*out = l;
	return 0;
}

int image_layers_load(struct daemon *d, const struct descriptor *target, const struct platform *want,
		      struct image_layers *out, struct ember_error *e)
{
	char *data = NULL;
	size_t len;
	enum mt_kind kind;
	const char *mt;
	char digest[DIGEST_MAX];
	struct platform host;

	memcpy(digest, target->digest, DIGEST_MAX);
	if (!want) {
		platform_default(&host);
		want = &host;
	}
	if (content_blob_read(&d->cs, digest, IMAGE_DOC_MAX, &data, &len, e) < 0)
		return -e->code;
	if (image_document_kind(data, len, target->media_type, &kind, &mt, e) < 0) {
		free(data);
		return -e->code;
	}
	if (kind == MT_KIND_INDEX) {
		struct index ix;
		int r = index_parse(data, len, &ix, e);
		free(data);
		data = NULL;
		if (r < 0)
			return r;
		int i = index_select(&ix, want, e);
		if (i >= 0)
			memcpy(digest, ix.manifests[i].digest, DIGEST_MAX);
		index_done(&ix);
		if (i < 0)
			return i;
		if (content_blob_read(&d->cs, digest, IMAGE_DOC_MAX, &data, &len, e) < 0)
			return -e->code;
	} else if (kind != MT_KIND_MANIFEST) {
		free(data);
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, ENOTSUP, "%s is a \"%.80s\", not an image", digest, mt);
	}
	struct manifest m;
	int r = manifest_parse(data, len, &m, e);
	free(data);
	if (r < 0)
		return err_wrap(e, "manifest %s", digest);
	struct image_config c;
	r = content_blob_read(&d->cs, m.config.digest, IMAGE_DOC_MAX, &data, &len, e);
	if (r == 0) {
		r = image_config_parse(data, len, &c, e);
		free(data);
		if (r == 0) {
			r = image_layers_from(&m, &c, out, e);
			if (r == 0)
				out->config = json_incref(c.config);
			image_config_done(&c);
		}
		if (r < 0)
			err_wrap(e, "config %s", m.config.digest);
	}
	manifest_done(&m);
	if (r == 0)
		memcpy(out->manifest, digest, DIGEST_MAX);
	return r;
}

/* ---- io.ember.Snapshots ------------------------------------------------------------- */

struct snap_params {
	const char *namespace, *snapshotter, *key, *parent, *image, *platform, *name;
	json_t *labels;
};

#define P_NS { "namespace", API_T_STRING, offsetof(struct snap_params, namespace), 0 }
#define P_SN { "snapshotter", API_T_STRING, offsetof(struct snap_params, snapshotter), 0 }
#define P_KEY(flags) { "key", API_T_STRING, offsetof(struct snap_params, key), flags }
#define P_END { NULL, 0, 0, 0 }

/* Parse, check the namespace and find the snapshotter; NULL: answered. */
static struct snapshotter *begin(struct api_call *call, json_t *params, const struct api_param *table,
				 struct snap_params *p, void *ctx)
{
	struct daemon *d = ctx;
	struct ember_error e;

	memset(p, 0, sizeof(*p));
	if (api_params_parse(call, params, table, p) < 0)
		return NULL;
	p->namespace = images_namespace(p->namespace);
	struct snapshotter *sn = NULL;
	if (meta_identifier_check("namespace", p->namespace, &e) < 0 ||
	    (p->labels && meta_labels_check(p->labels, &e) < 0) || !(sn = snapshots_get(d, p->snapshotter, &e)))
		api_error_from(call, &e);
	return sn;
}

static void reply(struct api_call *call, int r, const char *field, json_t *value, const struct ember_error *e)
{
	if (r < 0)
		api_error_from(call, e);
	else
		api_reply(call, field ? json_pack("{s:o}", field, value) : json_object());
}

void svc_snapshots_list(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_SN, P_END };
	struct snap_params p;
	struct ember_error e;
	json_t *list;

	struct snapshotter *sn = begin(call, params, table, &p, ctx);
	if (!sn)
		return;
	if (snapshot_list(sn, p.namespace, &list, &e) < 0)
		api_error_from(call, &e);
	else
		api_reply(call, json_pack("{s:s, s:o}", "snapshotter", snapshot_name(sn), "snapshots", list));
}

void svc_snapshots_info(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_SN, P_KEY(API_MANDATORY), P_END };
	struct snap_params p;
	struct ember_error e;
	json_t *rec = NULL;

	struct snapshotter *sn = begin(call, params, table, &p, ctx);
	if (sn) {
		int r = snapshot_get(sn, p.namespace, p.key, &rec, &e);
		reply(call, r, "snapshot", rec, &e);
	}
}

int image_unpacked_top(struct daemon *d, struct snapshotter *sn, const char *ns, const char *image,
		       const char *platform, char top[DIGEST_MAX], json_t **config, struct ember_error *e)
{
	_cleanup_free_ char *name = images_normalize(image);
	json_t *img, *rec;
	struct descriptor t;
	struct image_layers l;
	struct platform want;

	if (config)
		*config = NULL;
	if (!name)
		return err_set(e, ENOMEM, "out of memory");
	if (platform && platform_parse(platform, &want, e) < 0)
		return -e->code;
	if (meta_object_get(&d->meta, ns, "images", "image", name, &img, e) < 0)
		return -e->code;
	int r = descriptor_parse(json_object_get(img, "target"), "target", &t, e);
	json_decref(img);
	if (r < 0)
		return err_wrap(e, "image %s: damaged record", name);
	r = image_layers_load(d, &t, platform ? &want : NULL, &l, e);
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
				    "image %s is not unpacked in snapshotter %s (pull it with --snapshotter %s)", name,
				    snapshot_name(sn), snapshot_name(sn));
	}
	json_decref(rec);
	return 0;
}

static void prepare(struct api_call *call, json_t *params, void *ctx, enum snapshot_kind kind)
{
	static const struct api_param table[] = {
		P_NS, P_SN, P_KEY(API_MANDATORY),
		{ "parent", API_T_STRING, offsetof(struct snap_params, parent), 0 },
		{ "image", API_T_STRING, offsetof(struct snap_params, image), 0 },
		{ "platform", API_T_STRING, offsetof(struct snap_params, platform), 0 },
		{ "labels", API_T_STRING_MAP, offsetof(struct snap_params, labels), 0 },
		P_END,
	};
	struct daemon *d = ctx;
	struct snap_params p;
	struct ember_error e;
	char top[DIGEST_MAX];
	json_t *rec = NULL, *mounts = NULL;

	struct snapshotter *sn = begin(call, params, table, &p, ctx);
	if (!sn)
		return;
	if (p.image && p.parent) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "give a parent or an image, not both");
		return;
	}
	if (p.image) {
		if (image_unpacked_top(d, sn, p.namespace, p.image, p.platform, top, NULL, &e) < 0) {
			api_error_from(call, &e);
			return;
		}
		p.parent = top;
	}
	int r = snapshot_prepare(sn, p.namespace, p.key, p.parent, kind, p.labels, &rec, &e);
	if (r == 0 && (r = snapshot_mounts(sn, p.namespace, p.key, &mounts, &e)) < 0) {
		struct ember_error ignored;
		(void)snapshot_remove(sn, p.namespace, p.key, &ignored);
	}
	if (r < 0) {
		json_decref(rec);
		api_error_from(call, &e);
		return;
	}
	events_publish(d, p.namespace, "/snapshot/prepare",
		       json_pack("{s:s, s:s, s:s}", "key", p.key, "kind", snapshot_kind_name(kind), "snapshotter",
				 snapshot_name(sn)));
	api_reply(call, json_pack("{s:o, s:o}", "snapshot", rec, "mounts", mounts));
}

void svc_snapshots_prepare(struct api_call *call, json_t *params, void *ctx)
{
	prepare(call, params, ctx, SNAPSHOT_ACTIVE);
}

void svc_snapshots_view(struct api_call *call, json_t *params, void *ctx)
{
	prepare(call, params, ctx, SNAPSHOT_VIEW);
}

void svc_snapshots_commit(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_SN, P_KEY(API_MANDATORY),
		{ "name", API_T_STRING, offsetof(struct snap_params, name), API_MANDATORY },
		{ "labels", API_T_STRING_MAP, offsetof(struct snap_params, labels), 0 },
		P_END,
	};
	struct snap_params p;
	struct ember_error e;
	json_t *rec = NULL;

	struct snapshotter *sn = begin(call, params, table, &p, ctx);
	if (!sn)
		return;
	int r = snapshot_commit(sn, p.namespace, p.name, p.key, p.labels, &rec, &e);
	if (r == 0)
		events_publish(ctx, p.namespace, "/snapshot/commit",
			       json_pack("{s:s, s:s, s:s}", "key", p.name, "from", p.key, "snapshotter", snapshot_name(sn)));
	reply(call, r, "snapshot", rec, &e);
}

void svc_snapshots_remove(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_SN, P_KEY(API_MANDATORY), P_END };
	struct snap_params p;
	struct ember_error e;

	struct snapshotter *sn = begin(call, params, table, &p, ctx);
	if (!sn)
		return;
#ifdef CONFIG_RUNTIME_DAEMON
	/* A container's rootfs goes with the container. */
	json_t *c;
	if (meta_object_get(&((struct daemon *)ctx)->meta, p.namespace, "containers", "container", p.key, &c, &e) == 0) {
		int used = !strcmp(json_string_value(json_object_get(c, "snapshot_key")) ?: "", p.key) &&
			   !strcmp(json_string_value(json_object_get(c, "snapshotter")) ?: "", snapshot_name(sn));
		json_decref(c);
		if (used) {
			api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL,
				  "snapshot %s is container %s's rootfs: remove the container (ember containers rm %s)",
				  p.key, p.key, p.key);
			return;
		}
	}
#endif
	int r = snapshot_remove(sn, p.namespace, p.key, &e);
	if (r == 0)
		events_publish(ctx, p.namespace, "/snapshot/remove",
			       json_pack("{s:s, s:s}", "key", p.key, "snapshotter", snapshot_name(sn)));
	reply(call, r, NULL, NULL, &e);
}

void svc_snapshots_mounts(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_SN, P_KEY(API_MANDATORY), P_END };
	struct snap_params p;
	struct ember_error e;
	json_t *mounts = NULL;

	struct snapshotter *sn = begin(call, params, table, &p, ctx);
	if (sn) {
		int r = snapshot_mounts(sn, p.namespace, p.key, &mounts, &e);
		reply(call, r, "mounts", mounts, &e);
	}
}

void svc_snapshots_usage(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_SN, P_KEY(0), P_END };
	struct snap_params p;
	struct ember_error e;
	json_t *keys, *out = json_array();
	struct snapshot_usage u;

	struct snapshotter *sn = begin(call, params, table, &p, ctx);
	if (!sn) {
		json_decref(out);
		return;
	}
	int r = 0;
	if (p.key) {
		keys = json_pack("[{s:s}]", "key", p.key);
	} else if ((r = snapshot_list(sn, p.namespace, &keys, &e)) < 0) {
		json_decref(out);
		api_error_from(call, &e);
		return;
	}
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k) {
		const char *key = json_string_value(json_object_get(k, "key"));
		if ((r = snapshot_usage(sn, p.namespace, key, &u, &e)) < 0)
			break;
		json_array_append_new(out, json_pack("{s:s, s:I, s:I}", "key", key, "size", (json_int_t)u.bytes,
						     "inodes", (json_int_t)u.inodes));
	}
	json_decref(keys);
	if (r < 0)
		json_decref(out);
	reply(call, r, "usage", out, &e);
}

void svc_snapshots_set_labels(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_SN, P_KEY(API_MANDATORY),
		{ "labels", API_T_STRING_MAP, offsetof(struct snap_params, labels), API_MANDATORY },
		P_END,
	};
	struct snap_params p;
	struct ember_error e;
	json_t *rec = NULL;

	struct snapshotter *sn = begin(call, params, table, &p, ctx);
	if (sn) {
		int r = snapshot_set_labels(sn, p.namespace, p.key, p.labels, &rec, &e);
		reply(call, r, "snapshot", rec, &e);
	}
}
