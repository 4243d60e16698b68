/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Content: blobs, their labels, ingests and garbage collection. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/gc.h"
#include "daemon/gc-policy.h"
#include "daemon/images.h"
#include "daemon/jobs.h"
#include "daemon/services.h"
#include "util/cleanup.h"
#include "util/err.h"
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
	struct list_ctx lc = { d, daemon_namespace(p.namespace), json_array() };
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
	api_reply(call, json_pack("{s:o}", "blob", blob_json(d, daemon_namespace(p.namespace), p.digest, size, 0)));
}

/* Delete: whether a root reaches the blob reads every image record and
   manifest, so the check and the delete run as a job. */
struct delete {
	struct daemon *d;
	char *ns;
	char digest[DIGEST_MAX];
};

static void delete_free(void *data)
{
	struct delete *x = data;

	free(x->ns);
	free(x);
}

static int delete_run(struct job *j, void *data, struct ember_error *e)
{
	struct delete *x = data;
	char user[300];

	if (gc_blob_in_use(&x->d->gc, x->digest, user, sizeof(user)) > 0)
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY, "blob %s is in use by %s; remove that first",
				    x->digest, user);
	/* Nothing may come to hold it between the check and the unlink. */
	holds_lock(x->d->holds);
	int held = holds_blob_held(x->d->holds, x->digest);
	int r = held ? err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
				    "blob %s is in use by work in progress (a pull, an import or an unpack)", x->digest)
		     : content_blob_delete(&x->d->cs, x->digest, e);
	holds_unlock(x->d->holds);
	if (r < 0)
		return r;
	(void)meta_object_delete(&x->d->meta, x->ns, "content", "blob", x->digest, e);
	call_job_event(j, x->ns, "/content/delete", json_pack("{s:s}", "digest", x->digest));
	return 0;
}

static const struct call_job_ops delete_ops = { .kind = "delete", .run = delete_run, .free = delete_free };

void svc_content_delete(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct content_params p = { 0 };
	struct ember_error e;

	if (api_params_parse(call, params, digest_table, &p) < 0)
		return;
	if (digest_check(p.digest, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	struct delete *x = calloc(1, sizeof(*x));
	if (!x || !(x->ns = strdup(daemon_namespace(p.namespace)))) {
		free(x);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	x->d = d;
	snprintf(x->digest, sizeof(x->digest), "%s", p.digest);
	call_job_start(d, call, &delete_ops, x, x->ns, x->digest);
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
	const char *ns = daemon_namespace(p.namespace);
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
	struct gc_params {
		const char *namespace;
		int dry_run, policy;
	} p = { NULL, 0, 1 };
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct gc_params, namespace), 0 },
		{ "dry_run", API_T_BOOL, offsetof(struct gc_params, dry_run), 0 },
		{ "policy", API_T_BOOL, offsetof(struct gc_params, policy), 0 },
		{ NULL, 0, 0, 0 },
	};

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	/* A collection runs to its end even when its client goes. */
	gc_policy_call(ctx, call, p.dry_run, p.policy);
}

/* Read: a blob copied into the client's file, by a job. */
struct read {
	struct daemon *d;
	char digest[DIGEST_MAX];
	int in, out;
};

static void read_free(void *data)
{
	struct read *x = data;

	close_keep_errno(x->in);
	close_keep_errno(x->out);
	free(x);
}

static int read_run(struct job *j, void *data, struct ember_error *e)
{
	struct read *x = data;
	char buf[64 * 1024];

	if (ftruncate(x->out, 0) < 0 || lseek(x->out, 0, SEEK_SET) < 0)
		return err_sys(e, errno, "truncate the output");
	for (;;) {
		if (job_cancelled(j))
			return err_set_name(e, EMBER_ERROR_CANCELED, ECANCELED, "cancelled");
		ssize_t n = read(x->in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, errno, "read blob %s", x->digest);
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(x->out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return err_sys(e, errno, "write blob %s", x->digest);
			off += w;
		}
	}
}

static const struct call_job_ops read_ops = { .kind = "read", .run = read_run, .free = read_free };

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
	struct read *x = calloc(1, sizeof(*x));
	if (!x) {
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	x->d = d;
	snprintf(x->digest, sizeof(x->digest), "%s", p.digest);
	x->in = TAKE_FD(in);
	x->out = TAKE_FD(out);
	call_job_start(d, call, &read_ops, x, daemon_namespace(p.namespace), x->digest);
}
