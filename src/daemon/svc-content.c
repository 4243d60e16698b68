/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Content: blobs, their labels, ingests and garbage collection. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/gc.h"
#include "daemon/services.h"
#include "daemon/svc-images.h"
#include "util/cleanup.h"
#include "util/timestamp.h"

struct content_params {
	const char *namespace;
	const char *digest;
	const char *key;
	json_t *labels;
	int replace;
};

/* The blob as the API shows it: its labels are the namespace's. */
static json_t *blob_json(struct daemon *d, const char *ns, const char *digest, int64_t size, int64_t mtime)
{
	json_t *rec = NULL;
	struct ember_error ignored;
	char when[TIMESTAMP_LEN];

	json_t *labels = meta_object_get(&d->meta, ns, "content", "blob", digest, &rec, &ignored) == 0
				 ? json_incref(json_object_get(rec, "labels"))
				 : NULL;
	json_decref(rec);
	json_t *blob = json_pack("{s:s, s:I, s:o}", "digest", digest, "size", (json_int_t)size, "labels",
				 labels ? labels : json_object());
	if (blob && mtime > 0) {
		timestamp_format((time_t)mtime, when);
		json_object_set_new(blob, "created_at", json_string(when));
	}
	return blob;
}

struct list_ctx {
	struct daemon *d;
	const char *ns;
	json_t *list;
};

static int list_one(const char *digest, int64_t size, int64_t mtime, void *userdata)
{
	struct list_ctx *lc = userdata;

	json_array_append_new(lc->list, blob_json(lc->d, lc->ns, digest, size, mtime));
	return 0;
}

static const struct api_param ns_table[] = {
	{ "namespace", API_T_STRING, offsetof(struct content_params, namespace), 0 },
	{ NULL, 0, 0, 0 },
};

void svc_content_list(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct content_params p = { 0 };
	struct ember_error e;

	if (api_params_parse(call, params, ns_table, &p) < 0)
		return;
	struct list_ctx lc = { d, images_namespace(p.namespace), json_array() };
	if (content_walk(&d->cs, list_one, &lc, &e) < 0) {
		json_decref(lc.list);
		api_error_from(call, &e);
		return;
	}
	api_reply(call, json_pack("{s:o}", "blobs", lc.list));
}

static const struct api_param digest_table[] = {
	{ "namespace", API_T_STRING, offsetof(struct content_params, namespace), 0 },
	{ "digest", API_T_STRING, offsetof(struct content_params, digest), API_MANDATORY },
	{ NULL, 0, 0, 0 },
};

void svc_content_info(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct content_params p = { 0 };
	struct ember_error e;
	int64_t size;

	if (api_params_parse(call, params, digest_table, &p) < 0)
		return;
	if (content_blob_stat(&d->cs, p.digest, &size, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	api_reply(call, json_pack("{s:o}", "blob", blob_json(d, images_namespace(p.namespace), p.digest, size, 0)));
}

void svc_content_delete(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct content_params p = { 0 };
	struct ember_error e;

	if (api_params_parse(call, params, digest_table, &p) < 0)
		return;
	const char *ns = images_namespace(p.namespace);
	char user[300];
	if (gc_blob_in_use(d, p.digest, user, sizeof(user)) > 0) {
		api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL,
			  "blob %s is in use by %s; remove that first", p.digest, user);
		return;
	}
	if (content_blob_delete(&d->cs, p.digest, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	(void)meta_object_delete(&d->meta, ns, "content", "blob", p.digest, &e);
	events_publish(d, ns, "/content/delete", json_pack("{s:s}", "digest", p.digest));
	api_reply(call, NULL);
}

void svc_content_set_labels(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct content_params, namespace), 0 },
		{ "digest", API_T_STRING, offsetof(struct content_params, digest), API_MANDATORY },
		{ "labels", API_T_STRING_MAP, offsetof(struct content_params, labels), API_MANDATORY },
		{ "replace", API_T_BOOL, offsetof(struct content_params, replace), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct content_params p = { 0 };
	struct ember_error e;
	int64_t size;
	json_t *rec = NULL;
	const char *key;
	json_t *v;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	const char *ns = images_namespace(p.namespace);
	if (content_blob_stat(&d->cs, p.digest, &size, &e) < 0 || meta_labels_check(p.labels, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	json_t *labels = json_object();
	if (!p.replace && meta_object_get(&d->meta, ns, "content", "blob", p.digest, &rec, &e) == 0)
		json_object_update(labels, json_object_get(rec, "labels"));
	json_decref(rec);
	json_object_foreach(p.labels, key, v) {
		if (json_string_length(v) == 0)
			json_object_del(labels, key);
		else
			json_object_set(labels, key, v);
	}
	int r;
	if (json_object_size(labels) == 0) {
		r = meta_object_delete(&d->meta, ns, "content", "blob", p.digest, &e);
		if (r == -ENOENT)
			r = 0;
	} else {
		rec = json_pack("{s:s, s:O}", "name", p.digest, "labels", labels);
		r = rec ? meta_object_put(&d->meta, ns, "content", p.digest, rec, &e) : err_set(&e, ENOMEM, "out of memory");
		json_decref(rec);
	}
	json_decref(labels);
	if (r < 0) {
		api_error_from(call, &e);
		return;
	}
	api_reply(call, json_pack("{s:o}", "blob", blob_json(d, ns, p.digest, size, 0)));
}

static int ingest_one(const struct content_ingest_info *info, void *userdata)
{
	json_array_append_new(userdata, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "key", info->key,
						  "ref", info->ref, "digest", info->digest, "size",
						  (json_int_t)info->size, "offset", (json_int_t)info->offset,
						  "started_at", (json_int_t)info->started_at));
	return 0;
}

void svc_content_list_ingests(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct content_params p = { 0 };
	struct ember_error e;

	if (api_params_parse(call, params, ns_table, &p) < 0)
		return;
	json_t *list = json_array();
	if (content_ingest_walk(&d->cs, ingest_one, list, &e) < 0) {
		json_decref(list);
		api_error_from(call, &e);
		return;
	}
	api_reply(call, json_pack("{s:o}", "ingests", list));
}

void svc_content_abort_ingest(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct content_params, namespace), 0 },
		{ "key", API_T_STRING, offsetof(struct content_params, key), API_MANDATORY },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct content_params p = { 0 };
	struct ember_error e;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	if (content_ingest_remove(&d->cs, p.key, &e) < 0)
		api_error_from(call, &e);
	else
		api_reply(call, NULL);
}

void svc_content_garbage_collect(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct content_params p = { 0 };
	struct gc_stats st;
	struct ember_error e;

	if (api_params_parse(call, params, ns_table, &p) < 0)
		return;
	if (gc_run(d, &st, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	api_reply(call, json_pack("{s:I, s:I, s:I, s:I}", "removed_blobs", (json_int_t)st.removed_blobs,
				  "removed_bytes", (json_int_t)st.removed_bytes, "kept_blobs",
				  (json_int_t)st.kept_blobs, "removed_snapshots", (json_int_t)st.removed_snapshots));
}

void svc_content_read(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct content_params p = { 0 };
	struct ember_error e;
	struct stat st;

	if (api_params_parse(call, params, digest_table, &p) < 0)
		return;
	_cleanup_close_ int out = api_call_take_fd(call, 0);
	if (out < 0 || fstat(out, &st) < 0 || !S_ISREG(st.st_mode)) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL,
			  "Read needs a regular file's descriptor sent with the call");
		return;
	}
	_cleanup_close_ int in = -1;
	if (content_blob_open(&d->cs, p.digest, &in, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) < 0) {
		api_error(call, EMBER_ERROR_INTERNAL, NULL, "truncate the output: %s", strerror(errno));
		return;
	}
	char buf[64 * 1024];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			api_error(call, EMBER_ERROR_INTERNAL, NULL, "read blob %s: %s", p.digest, strerror(errno));
			return;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				api_error(call, errno == ENOSPC ? EMBER_ERROR_RESOURCE_EXHAUSTED : EMBER_ERROR_INTERNAL,
					  NULL, "write blob %s: %s", p.digest, strerror(errno));
				return;
			}
			off += w;
		}
	}
	api_reply(call, NULL);
}
