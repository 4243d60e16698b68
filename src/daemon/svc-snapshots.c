/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Snapshots. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/holds.h"
#include "daemon/images.h"
#include "daemon/jobs.h"
#include "daemon/services.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/err.h"

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
	p->namespace = daemon_namespace(p->namespace);
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

/* Prepare and View: a native active snapshot copies its parent's tree,
   which takes as long as the tree is big, so both are jobs. */
struct prepare {
	struct daemon *d;
	struct snapshotter *sn;
	enum snapshot_kind kind;
	char *ns, *key, *parent, *image, *platform;
	json_t *labels, *rec, *mounts;
};

static void prepare_free(void *data)
{
	struct prepare *x = data;

	json_decref(x->labels);
	json_decref(x->rec);
	json_decref(x->mounts);
	free(x->ns);
	free(x->key);
	free(x->parent);
	free(x->image);
	free(x->platform);
	free(x);
}

static int prepare_run(struct job *j, void *data, struct ember_error *e)
{
	struct prepare *x = data;
	char top[DIGEST_MAX];
	const char *parent = x->parent;

	if (x->image) {
		if (image_unpacked_top(x->d, x->sn, x->ns, x->image, x->platform, top, NULL, e) < 0)
			return -e->code;
		parent = top;
	}
	int r = snapshot_prepare(x->sn, x->ns, x->key, parent, x->kind, x->labels, &x->rec, e);
	if (r == 0 && (r = snapshot_mounts(x->sn, x->ns, x->key, &x->mounts, e)) < 0) {
		struct ember_error ignored;
		(void)snapshot_remove(x->sn, x->ns, x->key, &ignored);
	}
	if (r == 0)
		call_job_event(j, x->ns, "/snapshot/prepare",
			       json_pack("{s:s, s:s, s:s}", "key", x->key, "kind", snapshot_kind_name(x->kind),
					 "snapshotter", snapshot_name(x->sn)));
	return r;
}

static json_t *prepare_reply(struct daemon *d, void *data)
{
	struct prepare *x = data;

	(void)d;
	return json_pack("{s:O, s:O}", "snapshot", x->rec, "mounts", x->mounts);
}

static const struct call_job_ops prepare_ops = {
	.kind = "prepare",
	.run = prepare_run,
	.reply = prepare_reply,
	.free = prepare_free,
};

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
	struct snap_params p;
	int failed = 0;

	struct snapshotter *sn = begin(call, params, table, &p, ctx);
	if (!sn)
		return;
	if (p.image && p.parent) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "give a parent or an image, not both");
		return;
	}
	struct prepare *x = calloc(1, sizeof(*x));
	if (x) {
		x->d = ctx;
		x->sn = sn;
		x->kind = kind;
		x->ns = call_job_strdup(p.namespace, &failed);
		x->key = call_job_strdup(p.key, &failed);
		x->parent = call_job_strdup(p.parent, &failed);
		x->image = call_job_strdup(p.image, &failed);
		x->platform = call_job_strdup(p.platform, &failed);
		x->labels = json_incref(p.labels);
	}
	if (!x || failed) {
		if (x)
			prepare_free(x);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	call_job_start(ctx, call, &prepare_ops, x, x->ns, x->key);
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
	/* A container's rootfs goes with the container. */
	json_t *c;
	if (ENABLED(CONFIG_RUNTIME_DAEMON) &&
	    meta_object_get(&((struct daemon *)ctx)->meta, p.namespace, "containers", "container", p.key, &c, &e) == 0) {
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
	/* Not what a pull or an unpack in progress holds (it may be sharing
	   the layer with another namespace); the record goes under the
	   holds' lock, as GC removes it. */
	struct holds *hs = ((struct daemon *)ctx)->holds;
	char id[SNAPSHOT_ID_MAX];
	holds_lock(hs);
	int r = holds_snapshot_held(hs, snapshot_name(sn), p.namespace, p.key)
			? err_set_name(&e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
				       "snapshot %.200s is in use by a pull or an unpack in progress", p.key)
			: snapshot_remove_record(sn, p.namespace, p.key, id, &e);
	holds_unlock(hs);
	if (r == 0)
		snapshot_remove_tree(sn, id);
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
