/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Images, and the start-up of the content store and registry client. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/gc.h"
#include "daemon/services.h"
#include "daemon/snapshots.h"
#include "daemon/svc-images.h"
#include "util/timestamp.h"

/* An image was removed: collect what it alone used, before answering, so
   that what a client sees next is the store as it will stay. */
static void gc_after_remove(struct daemon *d)
{
	struct gc_stats st;
	struct ember_error e;

	if (gc_run(d, &st, &e) < 0)
		log_warn(&d->log, "garbage collection: %s", e.message);
	else if (st.removed_blobs || st.removed_snapshots)
		log_info(&d->log, "garbage collection: removed %llu blob(s), %llu bytes, %llu snapshot(s)",
			 (unsigned long long)st.removed_blobs, (unsigned long long)st.removed_bytes,
			 (unsigned long long)st.removed_snapshots);
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
		 rec.removed_tmp, rec.removed_ingests, rec.kept_ingests,
		 (unsigned long long)(loop_now_ms() - t0));
#ifdef CONFIG_SNAPSHOTS_STORE
	if (snapshots_start(d, e) < 0) {
		content_close(&d->cs);
		return -e->code;
	}
#endif
#ifdef CONFIG_PULL
	d->remote.loop = d->loop;
	d->remote.cs = &d->cs;
	d->remote.meta = &d->meta;
	/* The HTTP engine (libcurl) starts with the first pull or push. */
#endif
	d->images_up = 1;
	return 0;
}

void images_stop(struct daemon *d)
{
	if (!d->images_up)
		return;
#ifdef CONFIG_PULL
	pulls_shutdown(d);
	d->remote.http = http_free(d->remote.http);
#endif
#ifdef CONFIG_SNAPSHOTS_STORE
	snapshots_stop(d);
#endif
	content_close(&d->cs);
	d->images_up = 0;
}

const char *images_namespace(const char *ns)
{
	return ns && *ns ? ns : "default";
}

char *images_normalize(const char *name)
{
#ifdef CONFIG_PULL
	struct reference ref;
	struct ember_error e;

	if (reference_parse(name, &ref, &e) == 0) {
		char *s = reference_string(&ref);
		reference_done(&ref);
		if (s)
			return s;
	}
#endif
	return strdup(name);
}

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
	if (meta_object_list(&d->meta, images_namespace(p.namespace), "images", &list, &e) < 0)
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
	if (meta_object_get(&d->meta, images_namespace(p.namespace), "images", "image", name, &img, &e) < 0)
		api_error_from(call, &e);
	else
		api_reply(call, json_pack("{s:o}", "image", img));
	free(name);
}

void svc_images_delete(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct img_params p = { 0 };
	struct ember_error e;

	if (api_params_parse(call, params, name_table, &p) < 0)
		return;
	const char *ns = images_namespace(p.namespace);
	char *name = images_normalize(p.name);
	if (meta_object_delete(&d->meta, ns, "images", "image", name, &e) < 0) {
		api_error_from(call, &e);
	} else {
		events_publish(d, ns, "/images/delete", json_pack("{s:s}", "name", name));
		gc_after_remove(d);
		api_reply(call, NULL);
	}
	free(name);
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
	const char *ns = images_namespace(p.namespace);
	char *src = images_normalize(p.name), *dst = images_normalize(p.target);
	if (!src || !dst) {
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		goto out;
	}
	if (p.labels && meta_labels_check(p.labels, &e) < 0) {
		api_error_from(call, &e);
		goto out;
	}
#ifdef CONFIG_PULL
	struct reference ref;
	if (reference_parse(p.target, &ref, &e) < 0) {
		api_error_from(call, &e);
		goto out;
	}
	reference_done(&ref);
#endif
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
