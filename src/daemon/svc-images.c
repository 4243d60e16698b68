/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Images: records (List, Get, Delete, Tag), Check and Unpack. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/images.h"
#include "daemon/services.h"
#include "daemon/verify.h"
#include "util/timestamp.h"

struct img_params {
	const char *namespace;
	const char *name;
	const char *target;
	json_t *labels;
	int replace;
};

void svc_images_list(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct img_params, namespace), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct img_params p = { 0 };
	struct ember_error e;
	json_t *list;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	if (meta_object_list(&d->meta, daemon_namespace(p.namespace), "images", &list, &e) < 0)
		api_error_from(call, &e);
	else
		api_reply(call, json_pack("{s:o}", "images", list));
}

static const struct api_param name_table[] = {
	{ "namespace", API_T_STRING, offsetof(struct img_params, namespace), 0 },
	{ "name", API_T_STRING, offsetof(struct img_params, name), API_MANDATORY },
	{ NULL, 0, 0, 0 },
};

void svc_images_get(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct img_params p = { 0 };
	struct ember_error e;
	json_t *img;

	if (api_params_parse(call, params, name_table, &p) < 0)
		return;
	char *name = images_normalize(p.name);
	if (meta_object_get(&d->meta, daemon_namespace(p.namespace), "images", "image", name, &img, &e) < 0)
		api_error_from(call, &e);
	else
		api_reply(call, json_pack("{s:o}", "image", img));
	free(name);
}

struct delete_wait {
	struct api_call *call; /* NULL once the client is gone */
};

static void delete_gone(struct api_call *call, void *userdata)
{
	struct delete_wait *w = userdata;

	(void)call;
	w->call = NULL;
}

static void deleted(struct daemon *d, const struct gc_stats *st, const struct ember_error *err, void *userdata)
{
	struct delete_wait *w = userdata;

	(void)d;
	(void)st;
	(void)err; /* logged by the GC: the image itself is removed */
	if (w->call) {
		api_call_on_cancel(w->call, NULL, NULL);
		api_reply(w->call, NULL);
	}
	free(w);
}

void svc_images_delete(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct img_params p = { 0 };
	struct ember_error e;

	if (api_params_parse(call, params, name_table, &p) < 0)
		return;
	const char *ns = daemon_namespace(p.namespace);
	char *name = images_normalize(p.name);
	if (meta_object_delete(&d->meta, ns, "images", "image", name, &e) < 0) {
		api_error_from(call, &e);
	} else {
		(void)meta_object_delete(&d->meta, ns, "images-used", "image", name, &e);
		events_publish(d, ns, "/images/delete", json_pack("{s:s}", "name", name));
		/* Collect what it alone used before answering, so that what a
		   client sees next is the store as it will stay. */
		struct delete_wait *w = calloc(1, sizeof(*w));
		if (!w || (w->call = call, images_gc(d, deleted, w, &e) < 0)) {
			free(w);
			api_reply(call, NULL); /* removed; collected by the next GC */
		} else {
			api_call_on_cancel(call, delete_gone, w);
		}
	}
	free(name);
}

/* A namespace that requires signed images holds only verified ones: a
   tag of a verified image within its repository (another tag) stays
   verified; anything else is refused. */
static int tag_verified(struct daemon *d, const char *ns, json_t *img, const char *dst, json_t *rec,
			struct ember_error *e)
{
	struct verify_policy pol;
	struct reference a, b;

	if (verify_policy_get(d, ns, &pol, e) < 0)
		return -e->code;
	int require = pol.require;
	int r = require ? verify_image_check(&pol, ns, img, e) : 0;
	verify_policy_done(&pol);
	if (r < 0 || !json_object_get(img, "verified"))
		return r;
	if (!ENABLED(CONFIG_SIGNATURES))
		return 0;
	const char *src = json_string_value(json_object_get(img, "name")) ?: "";
	if (reference_parse(src, &a, e) < 0)
		return -e->code;
	if (reference_parse(dst, &b, e) < 0) {
		reference_done(&a);
		return -e->code;
	}
	int same = !strcmp(a.domain, b.domain) && !strcmp(a.path, b.path);
	reference_done(&a);
	reference_done(&b);
	if (same)
		return json_object_set(rec, "verified", json_object_get(img, "verified")) < 0
			       ? err_set(e, ENOMEM, "out of memory")
			       : 0;
	if (require)
		return err_set_name(e, EMBER_ERROR_PERMISSION_DENIED, EACCES,
				    "refused by the signature policy of namespace %s: %s is signed for its own repository, "
				    "not for %s's", ns, src, dst);
	return 0;
}

void svc_images_tag(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct img_params, namespace), 0 },
		{ "source", API_T_STRING, offsetof(struct img_params, name), API_MANDATORY },
		{ "target", API_T_STRING, offsetof(struct img_params, target), API_MANDATORY },
		{ "labels", API_T_STRING_MAP, offsetof(struct img_params, labels), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct img_params p = { 0 };
	struct ember_error e;
	json_t *img, *old;
	char now[TIMESTAMP_LEN];

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	const char *ns = daemon_namespace(p.namespace);
	char *src = images_normalize(p.name), *dst = images_normalize(p.target);
	if (!src || !dst) {
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		goto out;
	}
	if (p.labels && meta_labels_check(p.labels, &e) < 0) {
		api_error_from(call, &e);
		goto out;
	}
	struct reference ref;
	if (ENABLED(CONFIG_PULL)) {
		if (reference_parse(p.target, &ref, &e) < 0) {
			api_error_from(call, &e);
			goto out;
		}
		reference_done(&ref);
	}
	if (meta_object_get(&d->meta, ns, "images", "image", src, &img, &e) < 0) {
		api_error_from(call, &e);
		goto out;
	}
	int existed = meta_object_get(&d->meta, ns, "images", "image", dst, &old, &e) == 0;
	timestamp_now(now);
	json_t *rec = json_pack("{s:s, s:O, s:o, s:s, s:s}", "name", dst, "target",
				json_object_get(img, "target"), "labels",
				p.labels ? json_deep_copy(p.labels) : json_deep_copy(json_object_get(img, "labels")),
				"created_at", existed ? json_string_value(json_object_get(old, "created_at")) : now,
				"updated_at", now);
	if (existed)
		json_decref(old);
	if (rec && tag_verified(d, ns, img, dst, rec, &e) < 0) {
		json_decref(img);
		json_decref(rec);
		api_error_from(call, &e);
		goto out;
	}
	json_decref(img);
	if (!rec || meta_object_put(&d->meta, ns, "images", dst, rec, &e) < 0) {
		json_decref(rec);
		if (!rec)
			api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		else
			api_error_from(call, &e);
		goto out;
	}
	events_publish(d, ns, existed ? "/images/update" : "/images/create", json_pack("{s:s}", "name", dst));
	api_reply(call, json_pack("{s:o}", "image", rec));
out:
	free(src);
	free(dst);
}

void svc_images_unpack(struct api_call *call, json_t *params, void *ctx)
{
	struct p {
		const char *namespace, *name, *platform, *snapshotter;
	} p = { 0 };
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct p, namespace), 0 },
		{ "name", API_T_STRING, offsetof(struct p, name), API_MANDATORY },
		{ "platform", API_T_STRING, offsetof(struct p, platform), 0 },
		{ "snapshotter", API_T_STRING, offsetof(struct p, snapshotter), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct ember_error e;
	struct snapshotter *sn;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	const char *ns = daemon_namespace(p.namespace);
	if (meta_identifier_check("namespace", ns, &e) < 0 || !(sn = snapshots_get(d, p.snapshotter, &e))) {
		api_error_from(call, &e);
		return;
	}
	images_unpack(d, call, ns, p.name, p.platform, sn);
}

void svc_images_check(struct api_call *call, json_t *params, void *ctx)
{
	struct p {
		const char *namespace, *name, *platform;
		int verify, all_platforms;
	} p = { 0 };
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct p, namespace), 0 },
		{ "name", API_T_STRING, offsetof(struct p, name), API_MANDATORY },
		{ "verify", API_T_BOOL, offsetof(struct p, verify), 0 },
		{ "platform", API_T_STRING, offsetof(struct p, platform), 0 },
		{ "all_platforms", API_T_BOOL, offsetof(struct p, all_platforms), 0 },
		{ NULL, 0, 0, 0 },
	};

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	images_check(ctx, call, daemon_namespace(p.namespace), p.name, p.platform, p.all_platforms, p.verify);
}
