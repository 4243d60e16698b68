/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A push: every blob the image needs (layers and configs) that the
 * registry lacks is mounted from another repository of the same registry
 * when one of our images came from there, else uploaded (in one PUT, or in
 * PATCH chunks); then the manifests, children of an index first.
 */
#include "remote/remote.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"
#include "remote/remote-internal.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/err.h"

#define DOC_MAX ((size_t)CONFIG_PULL_MAX_MANIFEST_KIB * 1024)

enum push_state { P_WAITING, P_CHECKING, P_UPLOADING, P_EXISTS, P_MOUNTED, P_DONE };
static const char *const push_state_names[] = { "waiting", "checking", "uploading", "exists", "mounted", "done" };

struct push_blob {
	char digest[DIGEST_MAX];
	char *media_type;
	int64_t size;
	int64_t offset;           /* bytes sent (chunked) */
	enum push_state state;
	char *location;           /* upload session */
	int fd;
	char *data;               /* not from the store: these bytes (a signature's) */
};

struct push_manifest {
	char digest[DIGEST_MAX];
	char *media_type;
	char *data;
	size_t len;
	int by_tag;               /* the top level: PUT under the tag */
	char *tag;                /* PUT under this tag instead (a signature's) */
};

struct push {
	struct remote *rm;
	struct push_options o;
	char *ns;
	struct registry *reg;
	char *target_name;        /* canonical target reference */
	char *mount_from;         /* a repository of the same registry that has our blobs */
	struct push_blob *blobs;
	size_t n_blobs, cur_blob;
	struct push_manifest *manifests;
	size_t n_manifests, cur_manifest;
	struct registry_call *call;
	struct loop_source *finish;
	struct ember_error err;
	int failed;
	uint64_t last_progress;
	json_t *sig_layers;       /* our signature's layer, until the manifest is made */
	char *sig_tag;
	char *sig_buf;            /* what the signature tag held */
	size_t sig_len;
};

static void push_free(struct push *p)
{
	registry_call_cancel(p->call);
	for (size_t i = 0; i < p->n_blobs; i++) {
		free(p->blobs[i].media_type);
		free(p->blobs[i].location);
		free(p->blobs[i].data);
		close_keep_errno(p->blobs[i].fd);
	}
	free(p->blobs);
	for (size_t i = 0; i < p->n_manifests; i++) {
		free(p->manifests[i].media_type);
		free(p->manifests[i].data);
		free(p->manifests[i].tag);
	}
	free(p->manifests);
	loop_source_free(p->finish);
	registry_close(p->reg);
	free(p->target_name);
	free(p->mount_from);
	json_decref(p->sig_layers);
	free(p->sig_tag);
	free(p->sig_buf);
	free(p->ns);
	free(p);
}

void push_cancel(struct push *p)
{
	if (p)
		push_free(p);
}

static json_t *progress_json(struct push *p, const char *phase)
{
	json_t *blobs = json_array();
	for (size_t i = 0; i < p->n_blobs; i++) {
		struct push_blob *b = &p->blobs[i];
		json_array_append_new(blobs, json_pack("{s:s, s:s, s:I, s:I, s:s}", "digest", b->digest,
						       "mediaType", b->media_type, "size", (json_int_t)b->size,
						       "offset", (json_int_t)b->offset, "status",
						       push_state_names[b->state]));
	}
	return json_pack("{s:s, s:s, s:o}", "reference", p->target_name, "phase", phase, "blobs", blobs);
}

static void report(struct push *p, int force)
{
	uint64_t now = loop_now_ms();

	if (!p->o.on_progress || (!force && now - p->last_progress < 200))
		return;
	p->last_progress = now;
	p->o.on_progress(p, progress_json(p, "pushing"), p->o.userdata);
}

static void on_finish(struct loop_source *s, void *userdata)
{
	struct push *p = userdata;

	(void)s;
	if (!p->failed && p->o.on_progress)
		p->o.on_progress(p, progress_json(p, "done"), p->o.userdata);
	p->o.on_done(p, p->failed ? &p->err : NULL, p->o.userdata);
	push_free(p);
}

static void finish(struct push *p)
{
	struct ember_error e;

	registry_call_cancel(p->call);
	p->call = NULL;
	if (!p->finish)
		p->finish = loop_add_defer(p->rm->loop, on_finish, p, "push finish", &e);
	if (p->finish)
		loop_defer_arm(p->finish);
}

static void push_fail(struct push *p, const struct ember_error *err)
{
	if (p->failed)
		return;
	p->failed = 1;
	p->err = *err;
	err_wrap(&p->err, "push %s", p->target_name ? p->target_name : p->o.reference);
	finish(p);
}

static void fail_status(struct push *p, struct registry_call *c, const char *what,
			const struct http_response *resp)
{
	struct ember_error e;
	long st = resp->status;

	err_set_name(&e, st == 401 || st == 403 ? EMBER_ERROR_PERMISSION_DENIED
			 : st == 404 ? EMBER_ERROR_NOT_FOUND : EMBER_ERROR_UNAVAILABLE,
		     st == 401 || st == 403 ? EACCES : st == 404 ? ENOENT : EIO,
		     "%s: %s: HTTP %ld", registry_call_host(c), what, st);
	push_fail(p, &e);
}

/* A call's end: 1 when it got one of the wanted statuses (0-terminated),
   else the push has failed and 0. */
static int answered(struct push *p, struct registry_call *c, int result, const struct http_response *resp,
		    const struct ember_error *err, const char *what, const long *want)
{
	if (result < 0) {
		push_fail(p, err);
		return 0;
	}
	for (; *want; want++)
		if (resp->status == *want)
			return 1;
	fail_status(p, c, what, resp);
	return 0;
}

/* ---- blobs ----------------------------------------------------------------- */

static void next_blob(struct push *p);
static void next_manifest(struct push *p);

static int call(struct push *p, const char *path, struct registry_call_options *o, struct ember_error *e)
{
	o->cap = HOST_CAP_PUSH;
	o->userdata = p;
	if (!o->body_fd)
		o->body_fd = -1;
	return registry_call(p->reg, path, o, &p->call, e);
}

/* Append "digest=..." to an upload Location. */
static char *with_digest(const char *location, const char *digest)
{
	char *url;
	if (asprintf(&url, "%s%sdigest=%s", location, strchr(location, '?') ? "&" : "?", digest) < 0)
		return NULL;
	return url;
}

static void blob_put_done(struct registry_call *c, int result, const struct http_response *resp,
			  const struct ember_error *err, void *userdata)
{
	struct push *p = userdata;
	struct push_blob *b = &p->blobs[p->cur_blob];

	if (!answered(p, c, result, resp, err, b->digest, (const long[]){ 201, 204, 0 }))
		return;
	b->state = P_DONE;
	b->offset = b->size;
	p->cur_blob++;
	report(p, 1);
	next_blob(p);
}

static void blob_put(struct push *p, struct push_blob *b, int with_body)
{
	struct ember_error e;
	_cleanup_free_ char *url = with_digest(b->location, b->digest);
	static const char *const octet[] = { "Content-Type: application/octet-stream", NULL };

	if (!url) {
		err_set(&e, ENOMEM, "out of memory");
		push_fail(p, &e);
		return;
	}
	struct registry_call_options o = {
		.method = "PUT",
		.headers = octet,
		.range_from = -1,
		.body_fd = with_body && !b->data ? b->fd : -1,
		.body_size = with_body && !b->data ? b->size : 0,
		.no_fallback = 1,
		.on_done = blob_put_done,
	};
	if (!with_body) {
		o.body = "";
		o.body_len = 0;
	} else if (b->data) {
		o.body = b->data;
		o.body_len = (size_t)b->size;
	}
	if (call(p, url, &o, &e) < 0)
		push_fail(p, &e);
}

static void blob_patch(struct push *p, struct push_blob *b);

static void blob_patch_done(struct registry_call *c, int result, const struct http_response *resp,
			    const struct ember_error *err, void *userdata)
{
	struct push *p = userdata;
	struct push_blob *b = &p->blobs[p->cur_blob];
	uint64_t chunk = p->o.chunk_size;

	if (!answered(p, c, result, resp, err, b->digest, (const long[]){ 202, 0 }))
		return;
	if (!resp->location) {
		fail_status(p, c, b->digest, resp);
		return;
	}
	free(b->location);
	b->location = strdup(resp->location);
	b->offset += (int64_t)chunk < b->size - b->offset ? (int64_t)chunk : b->size - b->offset;
	report(p, 0);
	if (b->offset < b->size)
		blob_patch(p, b);
	else
		blob_put(p, b, 0);
}

static void blob_patch(struct push *p, struct push_blob *b)
{
	struct ember_error e;
	int64_t len = b->size - b->offset;
	char range[80];

	if ((uint64_t)len > p->o.chunk_size)
		len = (int64_t)p->o.chunk_size;
	snprintf(range, sizeof(range), "Content-Range: %" PRId64 "-%" PRId64, b->offset, b->offset + len - 1);
	const char *headers[] = { "Content-Type: application/octet-stream", range, NULL };
	struct registry_call_options o = {
		.method = "PATCH",
		.headers = headers,
		.range_from = -1,
		.body_fd = b->fd,
		.body_offset = b->offset,
		.body_size = len,
		.no_fallback = 1,
		.on_done = blob_patch_done,
	};
	if (call(p, b->location, &o, &e) < 0)
		push_fail(p, &e);
}

static void upload_start_done(struct registry_call *c, int result, const struct http_response *resp,
			      const struct ember_error *err, void *userdata)
{
	struct push *p = userdata;
	struct push_blob *b = &p->blobs[p->cur_blob];

	if (result < 0) {
		push_fail(p, err);
		return;
	}
	if (resp->status == 201) {
		/* Mounted from the other repository: nothing to send. */
		b->state = P_MOUNTED;
		b->offset = b->size;
		p->cur_blob++;
		report(p, 1);
		next_blob(p);
		return;
	}
	if (resp->status != 202 || !resp->location) {
		fail_status(p, c, b->digest, resp);
		return;
	}
	free(b->location);
	b->location = strdup(resp->location);
	b->state = P_UPLOADING;
	report(p, 1);
	if (p->o.chunk_size && (uint64_t)b->size > p->o.chunk_size && !b->data)
		blob_patch(p, b);
	else
		blob_put(p, b, 1);
}

static void blob_head_done(struct registry_call *c, int result, const struct http_response *resp,
			   const struct ember_error *err, void *userdata)
{
	struct push *p = userdata;
	struct push_blob *b = &p->blobs[p->cur_blob];
	struct ember_error e;

	if (result < 0) {
		push_fail(p, err);
		return;
	}
	if (resp->status == 200) {
		b->state = P_EXISTS;
		b->offset = b->size;
		p->cur_blob++;
		report(p, 1);
		next_blob(p);
		return;
	}
	if (resp->status != 404) {
		fail_status(p, c, b->digest, resp);
		return;
	}
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *from = p->mount_from ? url_escape(p->mount_from) : NULL;
	int n = from ? asprintf(&path, "/blobs/uploads/?mount=%s&from=%s", b->digest, from)
		     : asprintf(&path, "/blobs/uploads/");
	if (n < 0) {
		err_set(&e, ENOMEM, "out of memory");
		push_fail(p, &e);
		return;
	}
	struct registry_call_options o = {
		.method = "POST",
		.range_from = -1,
		.body = "",
		.on_done = upload_start_done,
	};
	if (call(p, path, &o, &e) < 0)
		push_fail(p, &e);
}

static void next_blob(struct push *p)
{
	struct ember_error e;
	char path[128];

	if (p->failed)
		return;
	if (p->cur_blob == p->n_blobs) {
		next_manifest(p);
		return;
	}
	struct push_blob *b = &p->blobs[p->cur_blob];
	if (!b->data && content_blob_open(p->rm->cs, b->digest, &b->fd, &e) < 0) {
		err_wrap(&e, "the image needs it");
		push_fail(p, &e);
		return;
	}
	b->state = P_CHECKING;
	snprintf(path, sizeof(path), "/blobs/%s", b->digest);
	struct registry_call_options o = { .method = "HEAD", .range_from = -1, .on_done = blob_head_done };
	if (call(p, path, &o, &e) < 0)
		push_fail(p, &e);
}

/* ---- manifests ------------------------------------------------------------- */

static void manifest_put_done(struct registry_call *c, int result, const struct http_response *resp,
			      const struct ember_error *err, void *userdata)
{
	struct push *p = userdata;
	struct push_manifest *m = &p->manifests[p->cur_manifest];

	if (!answered(p, c, result, resp, err, m->digest, (const long[]){ 200, 201, 0 }))
		return;
	p->cur_manifest++;
	next_manifest(p);
}

static void next_manifest(struct push *p)
{
	struct ember_error e;
	char path[400], ctype[200];

	if (p->failed)
		return;
	if (p->cur_manifest == p->n_manifests) {
		finish(p);
		return;
	}
	struct push_manifest *m = &p->manifests[p->cur_manifest];
	const struct reference *ref = registry_reference(p->reg);
	snprintf(path, sizeof(path), "/manifests/%s", m->tag ? m->tag : m->by_tag && ref->tag ? ref->tag : m->digest);
	snprintf(ctype, sizeof(ctype), "Content-Type: %s", m->media_type);
	const char *headers[] = { ctype, NULL };
	struct registry_call_options o = {
		.method = "PUT",
		.headers = headers,
		.range_from = -1,
		.body = m->data,
		.body_len = m->len,
		.on_done = manifest_put_done,
	};
	if (call(p, path, &o, &e) < 0)
		push_fail(p, &e);
}

/* ---- plan ------------------------------------------------------------------ */

static int add_blob(struct push *p, const struct descriptor *d, struct ember_error *e)
{
	for (size_t i = 0; i < p->n_blobs; i++)
		if (!strcmp(p->blobs[i].digest, d->digest))
			return 0;
	struct push_blob *v = realloc(p->blobs, (p->n_blobs + 1) * sizeof(*v));
	if (!v)
		return err_set(e, ENOMEM, "out of memory");
	p->blobs = v;
	struct push_blob *b = &v[p->n_blobs++];
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	memcpy(b->digest, d->digest, sizeof(b->digest));
	b->media_type = strdup(d->media_type ? d->media_type : "");
	b->size = d->size;
	return 0;
}

static int add_manifest(struct push *p, const char *digest, const char *media_type, char *data, size_t len,
			int by_tag, struct ember_error *e)
{
	struct push_manifest *v = realloc(p->manifests, (p->n_manifests + 1) * sizeof(*v));
	if (!v) {
		free(data);
		return err_set(e, ENOMEM, "out of memory");
	}
	p->manifests = v;
	struct push_manifest *m = &v[p->n_manifests++];
	memset(m, 0, sizeof(*m));
	snprintf(m->digest, sizeof(m->digest), "%s", digest);
	m->media_type = strdup(media_type);
	m->data = data;
	m->len = len;
	m->by_tag = by_tag;
	return 0;
}

/* A manifest's blobs and the manifest itself (pushed after its blobs). */
static int plan_manifest(struct push *p, const char *digest, int by_tag, struct ember_error *e)
{
	char *data;
	size_t len;
	struct manifest m;
	const char *mt;
	enum mt_kind kind;

	if (content_blob_read(p->rm->cs, digest, DOC_MAX, &data, &len, e) < 0)
		return -e->code;
	if (image_document_kind(data, len, NULL, &kind, &mt, e) < 0 || manifest_parse(data, len, &m, e) < 0) {
		free(data);
		return err_wrap(e, "manifest %s", digest);
	}
	int r = add_blob(p, &m.config, e);
	for (size_t i = 0; r == 0 && i < m.n_layers; i++)
		r = add_blob(p, &m.layers[i], e);
	manifest_done(&m);
	if (r < 0) {
		free(data);
		return r;
	}
	return add_manifest(p, digest, mt, data, len, by_tag, e);
}

static int plan(struct push *p, const char *target_digest, struct ember_error *e)
{
	char *data;
	size_t len;
	enum mt_kind kind;
	const char *mt;

	if (content_blob_read(p->rm->cs, target_digest, DOC_MAX, &data, &len, e) < 0)
		return -e->code;
	if (image_document_kind(data, len, NULL, &kind, &mt, e) < 0) {
		free(data);
		return -e->code;
	}
	if (kind == MT_KIND_MANIFEST) {
		free(data);
		return plan_manifest(p, target_digest, 1, e);
	}
	struct index ix;
	if (index_parse(data, len, &ix, e) < 0) {
		free(data);
		return -e->code;
	}
	int r = 0;
	if (p->o.platform) {
		/* One platform's manifest, under the tag. */
		struct platform want;
		free(data);
		if (platform_parse(p->o.platform, &want, e) < 0) {
			index_done(&ix);
			return -e->code;
		}
		int i = index_select(&ix, &want, e);
		r = i < 0 ? i : plan_manifest(p, ix.manifests[i].digest, 1, e);
		index_done(&ix);
		return r;
	}
	for (size_t i = 0; r == 0 && i < ix.n_manifests; i++) {
		/* A checkpoint's blobs are listed in the index itself. */
		if (image_media_is_checkpoint(ix.manifests[i].media_type)) {
			r = add_blob(p, &ix.manifests[i], e);
			continue;
		}
		if (image_media_kind(ix.manifests[i].media_type) != MT_KIND_MANIFEST)
			continue;
		if (content_blob_stat(p->rm->cs, ix.manifests[i].digest, NULL, e) < 0) {
			char plat[PLATFORM_STRING_MAX] = "?";
			if (ix.manifests[i].platform)
				platform_string(ix.manifests[i].platform, plat);
			r = err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ENOENT,
					 "the index lists %s (%s), which is not in the store: pull with "
					 "--all-platforms, or push one --platform", ix.manifests[i].digest, plat);
			break;
		}
		r = plan_manifest(p, ix.manifests[i].digest, 0, e);
	}
	index_done(&ix);
	if (r < 0) {
		free(data);
		return r;
	}
	return add_manifest(p, target_digest, mt, data, len, 1, e);
}

/* ---- signature (CONFIG_SIGNATURES) ----------------------------------------- */

/* Bytes of our own to upload, with their digest. */
static int add_blob_data(struct push *p, const char *media_type, char *data, size_t len, char digest[DIGEST_MAX],
			 struct ember_error *e)
{
	struct descriptor d = { .media_type = (char *)media_type, .size = (int64_t)len };

	digest_buffer(data, len, d.digest);
	memcpy(digest, d.digest, DIGEST_MAX);
	if (add_blob(p, &d, e) < 0) {
		free(data);
		return -e->code;
	}
	struct push_blob *b = &p->blobs[p->n_blobs - 1];
	if (b->data || strcmp(b->digest, d.digest))
		free(data); /* the same bytes were there already */
	else
		b->data = data;
	return 0;
}

/* cosign's signature of what goes under the tag: a payload naming its
   digest and this reference, signed, as one more layer of the manifest at
   the tag sha256-<hex>.sig (signatures already there stay, as cosign and
   skopeo keep them). Here the payload; the manifest once the registry
   said what the tag holds (sig_fetch). */
static int plan_signature(struct push *p, struct ember_error *e)
{
	const struct reference *ref = registry_reference(p->reg);
	char digest[DIGEST_MAX] = "", pd[DIGEST_MAX], tag[SIG_TAG_MAX];
	unsigned char sig[SIG_DER_MAX];

	for (size_t i = 0; i < p->n_manifests; i++)
		if (p->manifests[i].by_tag)
			memcpy(digest, p->manifests[i].digest, DIGEST_MAX);
	if (!digest[0])
		return err_set(e, EINVAL, "nothing to sign");
	_cleanup_free_ char *name = reference_name(ref), *refstr = NULL, *b64 = NULL;
	if (!name || asprintf(&refstr, "%s%s%s", name, ref->tag ? ":" : "", ref->tag ? ref->tag : "") < 0)
		return err_set(e, ENOMEM, "out of memory");
	char *payload = sig_payload_make(digest, refstr);
	if (!payload)
		return err_set(e, ENOMEM, "out of memory");
	size_t plen = strlen(payload);
	int n = sig_sign(p->o.sign_key, payload, plen, sig, e);
	if (n < 0) {
		free(payload);
		return n;
	}
	if (!(b64 = base64_encode(sig, (size_t)n))) {
		free(payload);
		return err_set(e, ENOMEM, "out of memory");
	}
	if (add_blob_data(p, SIG_MT_SIMPLESIGNING, payload, plen, pd, e) < 0)
		return -e->code;
	sig_tag(digest, tag);
	p->sig_layers = json_pack("[{s:s, s:I, s:s, s:{s:s}}]", "mediaType", SIG_MT_SIMPLESIGNING, "size",
				  (json_int_t)plen, "digest", pd, "annotations", SIG_ANNOTATION, b64);
	p->sig_tag = strdup(tag);
	if (!p->sig_layers || !p->sig_tag)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

/* The signature manifest: the layers the tag had, then ours (unless the
   same signature is there already), and a config naming them. */
static int sig_compose(struct push *p, const struct manifest *old, struct ember_error *e)
{
	json_t *ours = json_array_get(p->sig_layers, 0);
	_cleanup_(json_decrefp) json_t *layers = json_array(), *diff_ids = json_array();
	char cd[DIGEST_MAX], md[DIGEST_MAX];
	int dup = 0;

	if (!layers || !diff_ids)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; old && i < old->n_layers; i++) {
		const struct descriptor *l = &old->layers[i];
		if (!l->media_type || strcmp(l->media_type, SIG_MT_SIMPLESIGNING))
			continue;
		json_t *a = l->annotations ? json_deep_copy(l->annotations) : json_object();
		dup |= !strcmp(l->digest, json_string_value(json_object_get(ours, "digest"))) &&
		       json_equal(json_object_get(a, SIG_ANNOTATION), json_object_get(json_object_get(ours, "annotations"),
										     SIG_ANNOTATION));
		if (json_array_append_new(layers, json_pack("{s:s, s:I, s:s, s:o}", "mediaType", l->media_type, "size",
							    (json_int_t)l->size, "digest", l->digest, "annotations",
							    a)) < 0)
			return err_set(e, ENOMEM, "out of memory");
	}
	if (!dup)
		json_array_append(layers, ours);
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l)
		json_array_append(diff_ids, json_object_get(l, "digest"));
	json_t *cfg = json_pack("{s:s, s:s, s:{}, s:{s:s, s:O}}", "architecture", "", "os", "", "config", "rootfs",
				"type", "layers", "diff_ids", diff_ids);
	char *cfg_text = cfg ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(cfg);
	if (!cfg_text)
		return err_set(e, ENOMEM, "out of memory");
	size_t clen = strlen(cfg_text);
	if (add_blob_data(p, MT_OCI_CONFIG, cfg_text, clen, cd, e) < 0)
		return -e->code;
	json_t *m = json_pack("{s:i, s:s, s:{s:s, s:I, s:s}, s:O}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST,
			      "config", "mediaType", MT_OCI_CONFIG, "size", (json_int_t)clen, "digest", cd, "layers",
			      layers);
	char *text = m ? json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(m);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	digest_buffer(text, strlen(text), md);
	if (add_manifest(p, md, MT_OCI_MANIFEST, text, strlen(text), 0, e) < 0)
		return -e->code;
	if (!(p->manifests[p->n_manifests - 1].tag = strdup(p->sig_tag)))
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

static int sig_data(struct registry_call *c, const char *data, size_t len, void *userdata)
{
	struct push *p = userdata;

	(void)c;
	if (p->sig_len + len > DOC_MAX)
		return -1; /* ends the call: an error below */
	char *n = realloc(p->sig_buf, p->sig_len + len + 1);
	if (!n)
		return -1;
	memcpy(n + p->sig_len, data, len);
	p->sig_len += len;
	n[p->sig_len] = '\0';
	p->sig_buf = n;
	return 0;
}

static void sig_fetched(struct registry_call *c, int result, const struct http_response *resp,
			const struct ember_error *err, void *userdata)
{
	struct push *p = userdata;
	struct ember_error e;
	struct manifest m;
	int have = 0;

	p->call = NULL;
	if (!answered(p, c, result, resp, err, p->sig_tag, (const long[]){ 200, 404, 0 }))
		return;
	if (resp->status == 200) {
		if (manifest_parse(p->sig_buf ? p->sig_buf : "", p->sig_len, &m, &e) < 0) {
			err_wrap(&e, "the signatures at %s", p->sig_tag);
			push_fail(p, &e);
			return;
		}
		have = 1;
	}
	int r = sig_compose(p, have ? &m : NULL, &e);
	if (have)
		manifest_done(&m);
	if (r < 0) {
		push_fail(p, &e);
		return;
	}
	report(p, 1);
	next_blob(p);
}

/* What the signature tag holds now, before anything is sent. */
static void sig_fetch(struct push *p)
{
	static const char *const accept[] = { "Accept: " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST, NULL };
	struct ember_error e;
	char path[128];

	snprintf(path, sizeof(path), "/manifests/%s", p->sig_tag);
	struct registry_call_options o = {
		.headers = accept,
		.range_from = -1,
		.on_data = sig_data,
		.on_done = sig_fetched,
	};
	if (call(p, path, &o, &e) < 0)
		push_fail(p, &e);
}

struct mount_ctx {
	const char *domain;
	const char *target_path;
	char *found;
};

/* A repository on the same registry that one of our images came from. */
static int find_mount(const char *ns, json_t *rec, void *userdata)
{
	struct mount_ctx *mc = userdata;
	struct reference ref;
	struct ember_error e;
	const char *name = json_string_value(json_object_get(rec, "name"));

	(void)ns;
	if (!name || reference_parse(name, &ref, &e) < 0)
		return 0;
	if (!strcmp(ref.domain, mc->domain) && strcmp(ref.path, mc->target_path) && !mc->found)
		mc->found = strdup(ref.path);
	reference_done(&ref);
	return mc->found != NULL;
}

int push_start(struct remote *rm, const struct push_options *o, struct push **out, struct ember_error *e)
{
	struct push *p = calloc(1, sizeof(*p));
	json_t *img = NULL;

	if (!p)
		return err_set(e, ENOMEM, "out of memory");
	p->rm = rm;
	p->o = *o;
	p->ns = strdup(o->ns ? o->ns : "default");
	if (!p->ns) {
		err_set(e, ENOMEM, "out of memory");
		goto fail;
	}
	if (!rm->http && !(rm->http = http_new(rm->loop, e)))
		goto fail;
	if (registry_open(rm->http, o->reference, &o->registry, &p->reg, e) < 0)
		goto fail;
	p->target_name = reference_string(registry_reference(p->reg));
	if (!p->target_name) {
		err_set(e, ENOMEM, "out of memory");
		goto fail;
	}
	const char *source = o->source ? o->source : p->target_name;
	if (meta_object_get(rm->meta, p->ns, "images", "image", source, &img, e) < 0)
		goto fail;
	const char *digest = json_string_value(json_object_get(json_object_get(img, "target"), "digest"));
	if (!digest) {
		err_set(e, EBADMSG, "image %s: damaged record (no target digest)", source);
		goto fail;
	}
	if (plan(p, digest, e) < 0)
		goto fail;
	if (ENABLED(CONFIG_SIGNATURES) && o->sign_key && plan_signature(p, e) < 0)
		goto fail;
	json_decref(img);
	img = NULL;
	struct mount_ctx mc = { registry_reference(p->reg)->domain, registry_reference(p->reg)->path, NULL };
	struct ember_error ignored;
	(void)meta_object_walk_all(rm->meta, "images", find_mount, &mc, &ignored);
	p->mount_from = mc.found;
	if (ENABLED(CONFIG_SIGNATURES) && p->sig_tag)
		sig_fetch(p);
	else
		next_blob(p);
	if (p->failed) {
		*e = p->err;
		push_free(p);
		return -e->code;
	}
	report(p, 1);
	*out = p;
	return 0;
fail:
	json_decref(img);
	err_wrap(e, "push %s", o->reference);
	push_free(p);
	return -e->code;
}
