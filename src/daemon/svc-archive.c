/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Images.Import, .Export (archives through a file descriptor the client sends) and .Check. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/services.h"
#include "daemon/svc-images.h"
#include "image/image.h"
#include "util/cleanup.h"
#ifdef CONFIG_SNAPSHOTS_STORE
#include "daemon/snapshots.h"
#endif
#include "util/timestamp.h"

/* The image's record, with target parsed; -ENOENT (NotFound) when absent. */
static int load_target(struct daemon *d, const char *ns, const char *name, struct descriptor *t,
		       struct ember_error *e)
{
	json_t *img;

	if (meta_object_get(&d->meta, ns, "images", "image", name, &img, e) < 0)
		return -e->code;
	int r = descriptor_parse(json_object_get(img, "target"), "target", t, e);
	json_decref(img);
	return r < 0 ? err_wrap(e, "image %s: damaged record", name) : 0;
}

#ifdef CONFIG_IMAGE_ARCHIVE
/* The platform's manifest of an index target (export/push of one platform). */
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

/* A regular file, or the daemon would block on a pipe the client feeds slowly. */
static int take_file(struct api_call *call, int *fd)
{
	struct stat st;

	*fd = api_call_take_fd(call, 0);
	if (*fd < 0) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL,
			  "%s needs the archive's file descriptor sent with the call", api_call_method(call));
		return -1;
	}
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "the archive must be a regular file");
		return -1;
	}
	return 0;
}

void svc_images_export(struct api_call *call, json_t *params, void *ctx)
{
	struct p {
		const char *namespace, *platform;
		json_t *names;
	} p = { 0 };
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct p, namespace), 0 },
		{ "names", API_T_STRING_ARRAY, offsetof(struct p, names), API_MANDATORY },
		{ "platform", API_T_STRING, offsetof(struct p, platform), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct ember_error e;
	int fd;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	if (!json_array_size(p.names)) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "export: name at least one image");
		return;
	}
	if (take_file(call, &fd) < 0)
		return;
	const char *ns = images_namespace(p.namespace);
	size_t n = json_array_size(p.names);
	struct image_export_item *items = calloc(n, sizeof(*items));
	int r = items ? 0 : err_set(&e, ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < n; i++) {
		items[i].name = images_normalize(json_string_value(json_array_get(p.names, i)));
		r = load_target(d, ns, items[i].name, &items[i].target, &e);
		if (r == 0 && p.platform)
			r = pick_platform(d, &items[i].target, p.platform, &e);
	}
	if (r == 0 && (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0))
		r = err_sys(&e, errno, "export: truncate the archive");
	if (r == 0)
		r = image_export(&d->cs, items, n, fd, &e);
	if (r == 0 && fsync(fd) < 0)
		r = err_sys(&e, errno, "export: sync the archive");
	close(fd);
	for (size_t i = 0; items && i < n; i++) {
		free(items[i].name);
		descriptor_done(&items[i].target);
	}
	free(items);
	if (r < 0)
		api_error_from(call, &e);
	else
		api_reply(call, NULL);
}

void svc_images_import(struct api_call *call, json_t *params, void *ctx)
{
	struct p {
		const char *namespace, *base_name;
		json_t *labels;
	} p = { 0 };
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct p, namespace), 0 },
		{ "base_name", API_T_STRING, offsetof(struct p, base_name), 0 },
		{ "labels", API_T_STRING_MAP, offsetof(struct p, labels), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct ember_error e;
	struct image_import_result res;
	char now[TIMESTAMP_LEN];
	int fd;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	const char *ns = images_namespace(p.namespace);
	if (meta_identifier_check("namespace", ns, &e) < 0 || (p.labels && meta_labels_check(p.labels, &e) < 0)) {
		api_error_from(call, &e);
		return;
	}
	if (take_file(call, &fd) < 0)
		return;
	int r = image_import(&d->cs, fd, p.base_name, &res, &e);
	close(fd);
	if (r < 0) {
		api_error_from(call, &e);
		return;
	}
	/* Every image must be whole before any record is written. */
	for (size_t i = 0; r == 0 && i < res.n; i++) {
		char missing[DIGEST_MAX] = "";
		r = images_check_complete(d, &res.images[i].target, missing, &e);
		if (r == 0 && missing[0])
			r = err_set_name(&e, EMBER_ERROR_INVALID_ARGUMENT, ENOENT,
					 "import: image %s needs blob %s, which the archive lacks",
					 res.images[i].name, missing);
	}
	json_t *list = json_array();
	timestamp_now(now);
	for (size_t i = 0; r == 0 && i < res.n; i++) {
		char *name = images_normalize(res.images[i].name);
		json_t *rec = json_pack("{s:s, s:o, s:o, s:s, s:s}", "name", name, "target",
					descriptor_to_json(&res.images[i].target), "labels",
					p.labels ? json_deep_copy(p.labels) : json_object(), "created_at", now,
					"updated_at", now);
		r = rec ? meta_object_put(&d->meta, ns, "images", name, rec, &e) : err_set(&e, ENOMEM, "out of memory");
		if (r == 0) {
			events_publish(d, ns, "/images/create", json_pack("{s:s}", "name", name));
			json_array_append(list, rec);
		}
		json_decref(rec);
		free(name);
	}
	image_import_result_done(&res);
	if (r < 0) {
		json_decref(list);
		api_error_from(call, &e);
		return;
	}
	api_reply(call, json_pack("{s:o}", "images", list));
}

#endif

struct check_ctx {
	struct daemon *d;
	json_t *blobs;
	int verify;
	int complete;
	char *missing;
};

static int check_one(const struct descriptor *desc, int present, void *userdata)
{
	struct check_ctx *cc = userdata;
	struct ember_error e;
	json_t *b = json_pack("{s:s, s:s, s:I, s:b}", "digest", desc->digest, "mediaType",
			      desc->media_type ? desc->media_type : "", "size", (json_int_t)desc->size,
			      "present", present);

	if (!present) {
		cc->complete = 0;
		if (cc->missing && !cc->missing[0])
			memcpy(cc->missing, desc->digest, DIGEST_MAX);
	} else if (cc->verify) {
		int ok = content_blob_verify(&cc->d->cs, desc->digest, NULL, &e) == 0;
		json_object_set_new(b, "verified", json_boolean(ok));
		if (!ok) {
			cc->complete = 0;
			json_object_set_new(b, "error", json_string(e.message));
		}
	}
	if (cc->blobs)
		json_array_append_new(cc->blobs, b);
	else
		json_decref(b);
	return 0;
}

int images_check_complete(struct daemon *d, const struct descriptor *target, char missing[DIGEST_MAX],
			  struct ember_error *e)
{
	struct check_ctx cc = { .d = d, .complete = 1, .missing = missing };
	/* An archive holds the platforms it holds, but each of them whole. */
	return image_walk(&d->cs, target, NULL, IMAGE_WALK_PRESENT, check_one, &cc, e);
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
	struct daemon *d = ctx;
	struct ember_error e;
	struct descriptor t;
	struct platform want;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	if (p.platform) {
		if (platform_parse(p.platform, &want, &e) < 0) {
			api_error_from(call, &e);
			return;
		}
	} else {
		platform_default(&want);
	}
	_cleanup_free_ char *name = images_normalize(p.name);
	if (load_target(d, images_namespace(p.namespace), name, &t, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	struct check_ctx cc = { .d = d, .blobs = json_array(), .verify = p.verify, .complete = 1 };
	int r = image_walk(&d->cs, &t, p.all_platforms ? NULL : &want, 0, check_one, &cc, &e);
	json_t *unpacked = json_array();
#ifdef CONFIG_SNAPSHOTS_STORE
	/* Where the platform's layers are unpacked (blobs may be dropped then). */
	struct image_layers l;
	struct ember_error ignored;
	if (r == 0 && image_layers_load(d, &t, &want, &l, &ignored) == 0) {
		for (size_t i = 0; l.n && i < ARRAY_SIZE(d->snapshotters); i++) {
			json_t *rec;
			if (d->snapshotters[i] &&
			    snapshot_get(d->snapshotters[i], images_namespace(p.namespace), l.chain[l.n - 1], &rec, &ignored) == 0) {
				json_array_append_new(unpacked, json_string(snapshot_name(d->snapshotters[i])));
				json_decref(rec);
			}
		}
		image_layers_done(&l);
	}
#endif
	descriptor_done(&t);
	if (r < 0) {
		json_decref(cc.blobs);
		json_decref(unpacked);
		api_error_from(call, &e);
		return;
	}
	api_reply(call, json_pack("{s:s, s:b, s:o, s:o}", "name", name, "complete", cc.complete, "blobs", cc.blobs,
				  "unpacked", unpacked));
}
