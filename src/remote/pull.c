/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pull: resolve the reference, fetch the manifest (and the platform's
 * manifest from an index), the config, then the layers, a few at a time,
 * each streamed into a resumable ingest. The image record is written last
 * (DESIGN.md §4), so an interrupted pull leaves no image, and the next pull
 * finds every finished blob in the store and every partial one resumable.
 */
#include "remote/remote.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "remote/remote-internal.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/timestamp.h"

#define DOC_MAX ((size_t)CONFIG_PULL_MAX_MANIFEST_KIB * 1024)
#define PROGRESS_INTERVAL_MS 200
#define SPACE_MARGIN (16ll << 20)

static const char *const ACCEPT[] = {
	"Accept: " MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST,
	NULL,
};

enum blob_state { B_WAITING, B_FETCHING, B_RETRYING, B_COMMITTING, B_DONE, B_EXISTS, B_UNPACKED };
static const char *const state_names[] = { "waiting", "downloading", "retrying", "committing", "done", "exists",
					   "unpacked" };

/* A blob's commit (fsync, rename) off the loop; b is NULL once the pull
   that waited for it is gone (the commit still ends, its blob unheld). */
struct pull_commit {
	struct pull_blob *b;
	struct content_ingest *ing;
};

/* A durable point of a blob's ingest (fdatasync, the ingest's record) off
   the loop while the bytes go on arriving; b is NULL once the blob let go
   of the ingest (then the sync closes it when done). */
struct pull_sync {
	struct pull_blob *b;
	struct content_ingest *ing;
	int64_t upto;
};

/* A blob's ingest opened off the loop (it hashes what an earlier attempt
   left, which may be much, and writes its record durably); b is NULL once
   the pull is gone (then the ingest is closed when it is open). */
struct pull_open {
	struct pull_blob *b;
	struct content_store *cs;
	char ref[256];
	char digest[DIGEST_MAX];
	int64_t size;
	struct content_ingest *ing;
};

struct pull_blob {
	struct pull *p;
	char digest[DIGEST_MAX];
	char *media_type;
	int64_t size;
	enum blob_state state;
	int64_t offset;
	int64_t attempt_start;    /* offset when this attempt began */
	unsigned attempts;        /* attempts in a row without progress */
	struct content_ingest *ing;
	struct registry_call *call;
	struct loop_source *timer;
	int fatal;                /* the current attempt failed for good */
	const char *note;         /* shown instead of the state: "unpacking", "unpacked" */
	struct pull_commit *commit; /* B_COMMITTING */
	struct pull_sync *sync;     /* running on ing */
	struct pull_open *opening;  /* ing being opened */
	int commit_after_sync;      /* every byte is in: commit once it ends */
};

/* A document fetched into memory: manifest, index or config. */
struct pull_doc {
	char digest[DIGEST_MAX];  /* "" for the first (by tag) */
	int64_t size;             /* -1 unknown */
	char *buf;
	size_t len;
	char *content_type;
	char *docker_digest;
	int kind_blob;            /* fetched from /blobs/ (a config), not /manifests/ */
	int no_store;             /* checked, kept in memory, not stored (signatures, a target on hold) */
	int sig_manifest;         /* the signature tag's manifest: a 404 means "unsigned" */
	char tag[SIG_TAG_MAX];    /* fetched by this tag ("" for a digest, or the reference's) */
	unsigned attempts;        /* failed attempts so far */
	int fatal;                /* the current attempt failed for good */
	void (*then)(struct pull *p, struct pull_doc *d);
	struct pull_doc *next;
};

struct pull {
	struct remote *rm;
	struct pull_options o;
	char (*stored)[DIGEST_MAX]; /* documents stored so far (GC must keep them) */
	size_t n_stored;
	char *ns;
	struct registry *reg;
	struct platform want;
	char *image_name;
	struct descriptor target;
	int have_target;
	struct pull_doc *docs;   /* queue; the head is being fetched */
	struct registry_call *doc_call;
	struct loop_source *doc_timer; /* the head document's next attempt */
	struct pull_blob **blobs;
	size_t n_blobs;
	unsigned active;
	int fetching;            /* layers phase */
	uint64_t last_progress;
	struct loop_source *progress_timer;
	struct loop_source *finish;
	struct ember_error err;
	int failed;
	json_t *image;
	/* Unpack hooks: the manifest chosen for unpacking and its config. */
	char unpack_manifest[DIGEST_MAX];
	char unpack_config[DIGEST_MAX];
	char *um_buf, *uc_buf;
	size_t um_len, uc_len;
	int unpack_waiting;   /* all blobs stored, the unpacker not finished */
	int unpack_released;  /* the unpacker finished: write the record */
	/* The signature check (o.verify): the target document waits here,
	   unstored, until a signature of it verifies. */
	struct pull_doc *held;
	char sig_manifest[DIGEST_MAX];  /* the signature tag's manifest, once fetched */
	struct sig_layer_ref {
		char digest[DIGEST_MAX];
		char *b64;  /* the annotation, or NULL */
	} *sig_layers;
	size_t n_sig_layers;
	unsigned sig_pending;           /* payloads still to come */
	struct sig_result verdict;
	json_t *verified;               /* for the record: which key, which signature */
};

/* ---- helpers --------------------------------------------------------------- */

/* Close the ingest (its bytes stay for a resume); a sync running on it
   takes it along. */
static void blob_close_ingest(struct pull_blob *b)
{
	if (b->opening) {
		b->opening->b = NULL;
		b->opening = NULL;
	}
	if (b->sync) {
		b->sync->b = NULL;
		b->sync = NULL;
		b->ing = NULL;
		return;
	}
	content_ingest_close(TAKE_PTR(b->ing));
}

static void blob_free(struct pull_blob *b)
{
	if (b->commit)
		b->commit->b = NULL;
	registry_call_cancel(b->call);
	loop_source_free(b->timer);
	blob_close_ingest(b);
	free(b->media_type);
	free(b);
}

static void doc_free(struct pull_doc *d)
{
	free(d->buf);
	free(d->content_type);
	free(d->docker_digest);
	free(d);
}

static void pull_free(struct pull *p)
{
	if (p->held)
		doc_free(p->held);
	for (size_t i = 0; i < p->n_sig_layers; i++)
		free(p->sig_layers[i].b64);
	free(p->sig_layers);
	json_decref(p->verified);
	registry_call_cancel(p->doc_call);
	loop_source_free(p->doc_timer);
	while (p->docs) {
		struct pull_doc *d = p->docs;
		p->docs = d->next;
		doc_free(d);
	}
	for (size_t i = 0; i < p->n_blobs; i++)
		blob_free(p->blobs[i]);
	free(p->blobs);
	free(p->stored);
	loop_source_free(p->progress_timer);
	loop_source_free(p->finish);
	registry_close(p->reg);
	descriptor_done(&p->target);
	json_decref(p->image);
	free(p->um_buf);
	free(p->uc_buf);
	free(p->image_name);
	free(p->ns);
	free(p);
}

void pull_cancel(struct pull *p)
{
	if (p)
		pull_free(p);
}

static json_t *progress_json(struct pull *p, const char *phase)
{
	json_t *blobs = json_array();
	for (size_t i = 0; i < p->n_blobs; i++) {
		struct pull_blob *b = p->blobs[i];
		json_array_append_new(blobs, json_pack("{s:s, s:s, s:I, s:I, s:s}", "digest", b->digest,
						       "mediaType", b->media_type, "size", (json_int_t)b->size,
						       "offset", (json_int_t)b->offset, "status",
						       b->note ? b->note : state_names[b->state]));
	}
	return json_pack("{s:s, s:s, s:o}", "reference", p->image_name, "phase", phase, "blobs", blobs);
}

static void report(struct pull *p, int force)
{
	uint64_t now = loop_now_ms();

	if (!p->o.on_progress || (!force && now - p->last_progress < PROGRESS_INTERVAL_MS))
		return;
	p->last_progress = now;
	p->o.on_progress(p, progress_json(p, p->unpack_waiting ? "unpacking" : p->fetching ? "fetching" : "resolving"), p->o.userdata);
}

/* The end runs from a deferred source, outside any curl callback, since it
   frees everything. */
static void on_finish(struct loop_source *s, void *userdata)
{
	struct pull *p = userdata;

	(void)s;
	if (!p->failed && p->o.on_progress)
		p->o.on_progress(p, progress_json(p, "done"), p->o.userdata);
	json_t *image = TAKE_PTR(p->image);
	struct ember_error err = p->err;
	int failed = p->failed;
	void (*done)(struct pull *, json_t *, const struct ember_error *, void *) = p->o.on_done;
	void *ud = p->o.userdata;
	/* Stop everything first: the callback may start another pull. */
	for (size_t i = 0; i < p->n_blobs; i++) {
		registry_call_cancel(p->blobs[i]->call);
		p->blobs[i]->call = NULL;
	}
	done(p, failed ? NULL : image, failed ? &err : NULL, ud);
	if (failed)
		json_decref(image);
	pull_free(p);
}

static void finish(struct pull *p)
{
	if (!p->finish) {
		struct ember_error e;
		p->finish = loop_add_defer(p->rm->loop, on_finish, p, "pull finish", &e);
		if (!p->finish) {
			/* Cannot even defer: nothing sensible is left but to stop here. */
			return;
		}
	}
	loop_defer_arm(p->finish);
}

static void pull_fail(struct pull *p, const struct ember_error *err)
{
	if (p->failed)
		return;
	p->failed = 1;
	p->err = *err;
	err_wrap(&p->err, "pull %s", p->image_name);
	/* Stop the transfers now; partial blobs stay resumable. */
	registry_call_cancel(p->doc_call);
	p->doc_call = NULL;
	p->doc_timer = loop_source_free(p->doc_timer);
	for (size_t i = 0; i < p->n_blobs; i++) {
		struct pull_blob *b = p->blobs[i];
		registry_call_cancel(b->call);
		b->call = NULL;
		b->timer = loop_source_free(b->timer);
		blob_close_ingest(b);
	}
	finish(p);
}

static void fail_with(struct pull *p, int code, const char *name, const char *fmt, const char *arg)
{
	struct ember_error e;
	if (name)
		err_set_name(&e, name, code, fmt, arg);
	else
		err_set(&e, code, fmt, arg);
	pull_fail(p, &e);
}

static const char *status_name(long status)
{
	return status == 401 ? EMBER_ERROR_PERMISSION_DENIED
	     : status == 403 ? EMBER_ERROR_PERMISSION_DENIED
	     : status == 404 ? EMBER_ERROR_NOT_FOUND
	     : status == 429 ? EMBER_ERROR_RESOURCE_EXHAUSTED
	     : EMBER_ERROR_UNAVAILABLE;
}

static int status_errno(long status)
{
	return status == 401 || status == 403 ? EACCES : status == 404 ? ENOENT : status == 429 ? EAGAIN : EIO;
}

/* Statuses worth another try: the registry is busy or broken for now. */
static int retryable(long status)
{
	return status == 408 || status == 429 || status >= 500;
}

/* Exponential back-off from retry_base_ms, capped at 30 s, or what the
   server asked for (Retry-After, capped at 60 s). */
static uint64_t backoff_ms(const struct pull *p, unsigned attempts, long retry_after_s)
{
	uint64_t base = p->o.retry_base_ms ? p->o.retry_base_ms : 500;
	uint64_t delay = base << (attempts - 1 < 6 ? attempts - 1 : 6);

	if (delay > 30000)
		delay = 30000;
	if (retry_after_s >= 0)
		delay = (uint64_t)(retry_after_s > 60 ? 60 : retry_after_s) * 1000;
	return delay ? delay : 1;
}

/* ---- documents (manifests, indexes, configs) -------------------------------- */

static void start_next_doc(struct pull *p);
static void start_layers(struct pull *p);

static int doc_headers(struct registry_call *c, const struct http_response *resp, void *userdata)
{
	struct pull *p = userdata;
	struct pull_doc *d = p->docs;

	(void)c;
	if (resp->status != 200)
		return 0; /* the body is an error message: ignored */
	if (resp->content_length > (int64_t)DOC_MAX) {
		struct ember_error e;
		err_set_name(&e, EMBER_ERROR_INVALID_ARGUMENT, EFBIG,
			     "%s is %" PRId64 " bytes, over the limit of %zu", d->digest[0] ? d->digest : "manifest",
			     resp->content_length, DOC_MAX);
		d->fatal = 1;
		registry_call_fail(c, &e);
		return -1;
	}
	free(d->content_type);
	d->content_type = resp->content_type ? strdup(resp->content_type) : NULL;
	free(d->docker_digest);
	d->docker_digest = resp->docker_digest ? strdup(resp->docker_digest) : NULL;
	return 0;
}

static int doc_data(struct registry_call *c, const char *data, size_t len, void *userdata)
{
	struct pull *p = userdata;
	struct pull_doc *d = p->docs;
	struct ember_error e;

	if (d->len + len > DOC_MAX || (d->size >= 0 && (int64_t)(d->len + len) > d->size)) {
		if (d->size >= 0 && (int64_t)(d->len + len) > d->size)
			err_set_name(&e, EMBER_ERROR_INVALID_ARGUMENT, EFBIG,
				     "%s: the registry sent more than the %" PRId64 " bytes declared", d->digest,
				     d->size);
		else
			err_set_name(&e, EMBER_ERROR_INVALID_ARGUMENT, EFBIG,
				     "%s is over the limit of %zu bytes", d->digest[0] ? d->digest : "manifest", DOC_MAX);
		d->fatal = 1;
		registry_call_fail(c, &e);
		return -1;
	}
	char *n = realloc(d->buf, d->len + len + 1);
	if (!n) {
		err_set(&e, ENOMEM, "out of memory");
		registry_call_fail(c, &e);
		return -1;
	}
	memcpy(n + d->len, data, len);
	d->len += len;
	n[d->len] = '\0';
	d->buf = n;
	return 0;
}

/* Held first (the caller's GC protection), then looked for or stored. */
static int hold(struct pull *p, const char *digest, struct ember_error *e)
{
	if (p->o.hold && p->o.hold(p, digest, p->o.userdata) != 0)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

static int remember(struct pull *p, const char *digest, struct ember_error *e)
{
	if (hold(p, digest, e) < 0)
		return -e->code;
	void *v = realloc(p->stored, (p->n_stored + 1) * DIGEST_MAX);
	if (!v)
		return err_set(e, ENOMEM, "out of memory");
	p->stored = v;
	memcpy(p->stored[p->n_stored++], digest, DIGEST_MAX);
	return 0;
}

void pull_foreach_digest(const struct pull *p, void (*fn)(const char *digest, void *userdata), void *userdata)
{
	for (size_t i = 0; i < p->n_stored; i++)
		fn(p->stored[i], userdata);
	for (size_t i = 0; i < p->n_blobs; i++)
		fn(p->blobs[i]->digest, userdata);
}

/* A complete document: check it against what was asked and store it. */
static int doc_accept(struct pull *p, struct pull_doc *d, struct ember_error *e)
{
	char got[DIGEST_MAX];

	digest_buffer(d->buf ? d->buf : "", d->len, got);
	if (d->digest[0]) {
		if (strcmp(got, d->digest))
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EBADMSG,
					    "%s: digest mismatch: the registry sent bytes hashing to %s",
					    d->digest, got);
		if (d->size >= 0 && (int64_t)d->len != d->size)
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EBADMSG,
					    "%s: got %zu bytes, the descriptor says %" PRId64, d->digest, d->len,
					    d->size);
	} else if (d->docker_digest && !digest_check(d->docker_digest, e) && strcmp(d->docker_digest, got)) {
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EBADMSG,
				    "manifest: the registry says its digest is %.80s, its bytes hash to %s",
				    d->docker_digest, got);
	}
	memcpy(d->digest, got, sizeof(got));
	d->size = (int64_t)d->len;
	if (d->no_store)
		return 0;
	return remember(p, got, e) < 0 ? -e->code
	     : content_blob_put(p->rm->cs, d->buf ? d->buf : "", d->len, got, NULL, e) < 0 ? -e->code : 0;
}

static void verify_finish(struct pull *p);

static void doc_retry_timer(struct loop_source *s, void *userdata)
{
	struct pull *p = userdata;

	(void)s;
	p->doc_timer = loop_source_free(p->doc_timer);
	start_next_doc(p);
}

/* A transient failure of a document fetch: try it again after a pause. */
static void doc_retry(struct pull *p, struct pull_doc *d, long retry_after_s, const struct ember_error *why)
{
	struct ember_error e;

	if (++d->attempts >= (p->o.max_attempts ? p->o.max_attempts : 6)) {
		e = *why;
		err_wrap(&e, "giving up after %u attempts", d->attempts);
		pull_fail(p, &e);
		return;
	}
	free(d->buf);
	d->buf = NULL;
	d->len = 0;
	p->doc_timer = loop_add_timer(p->rm->loop, backoff_ms(p, d->attempts, retry_after_s), 0,
				      doc_retry_timer, p, "pull retry", &e);
	if (!p->doc_timer)
		pull_fail(p, &e);
}

static void doc_done(struct registry_call *c, int result, const struct http_response *resp,
		     const struct ember_error *err, void *userdata)
{
	struct pull *p = userdata;
	struct pull_doc *d = p->docs;
	struct ember_error e;

	p->doc_call = NULL;
	if (result < 0) {
		e = *err;
		err_wrap(&e, "fetch %s", d->digest[0] ? d->digest : "manifest");
		/* A certificate or TLS failure does not go away by itself. */
		if (d->fatal || e.code == EPROTO)
			pull_fail(p, &e);
		else
			doc_retry(p, d, -1, &e);
		return;
	}
	if (ENABLED(CONFIG_SIGNATURES) && resp->status == 404 && d->sig_manifest) {
		p->docs = d->next;
		doc_free(d);
		verify_finish(p);
		if (!p->failed)
			start_next_doc(p);
		return;
	}
	if (resp->status != 200) {
		const struct reference *ref = registry_reference(p->reg);
		char what[200];
		snprintf(what, sizeof(what), "%s", d->digest[0] ? d->digest : d->tag[0] ? d->tag : ref->tag ? ref->tag : ref->digest);
		const char *tried = registry_call_tried(c);
		err_set_name(&e, status_name(resp->status), status_errno(resp->status),
			     "%s: %s: HTTP %ld%s%s%s%s", registry_call_host(c), what, resp->status,
			     resp->status == 404 ? " (not found)" : resp->status == 401 ? " (unauthorized)" : "",
			     *tried ? " (tried before: " : "", tried, *tried ? ")" : "");
		if (retryable(resp->status))
			doc_retry(p, d, resp->retry_after, &e);
		else
			pull_fail(p, &e);
		return;
	}
	if (doc_accept(p, d, &e) < 0) {
		pull_fail(p, &e);
		return;
	}
	p->docs = d->next;
	d->then(p, d);
	doc_free(d);
	if (!p->failed)
		start_next_doc(p);
}

static struct pull_doc *queue_doc(struct pull *p, const char *digest, int64_t size, int blob,
				  void (*then)(struct pull *p, struct pull_doc *d))
{
	struct pull_doc *d = calloc(1, sizeof(*d)), **tail;

	if (!d) {
		fail_with(p, ENOMEM, NULL, "%s", "out of memory");
		return NULL;
	}
	if (digest)
		snprintf(d->digest, sizeof(d->digest), "%s", digest);
	d->size = size;
	d->kind_blob = blob;
	d->then = then;
	for (tail = &p->docs; *tail; tail = &(*tail)->next)
		;
	*tail = d;
	return d;
}

static void start_next_doc(struct pull *p)
{
	struct ember_error e;
	char path[128];

	while (p->docs && !p->failed && !p->doc_timer) {
		struct pull_doc *d = p->docs;
		d->fatal = 0;
		/* Already in the store (an earlier pull): no need to fetch it. */
		if (d->digest[0] && hold(p, d->digest, &e) < 0) {
			pull_fail(p, &e);
			return;
		}
		if (d->digest[0] && content_blob_read(p->rm->cs, d->digest, DOC_MAX, &d->buf, &d->len, &e) == 0 &&
		    remember(p, d->digest, &e) == 0) {
			if (d->size >= 0 && (int64_t)d->len != d->size) {
				free(d->buf);
				d->buf = NULL;
				d->len = 0;
			} else {
				p->docs = d->next;
				d->then(p, d);
				doc_free(d);
				continue;
			}
		}
		const struct reference *ref = registry_reference(p->reg);
		snprintf(path, sizeof(path), "/%s/%s", d->kind_blob ? "blobs" : "manifests",
			 d->digest[0] ? d->digest : d->tag[0] ? d->tag : ref->digest ? ref->digest : ref->tag);
		struct registry_call_options o = {
			.cap = d->digest[0] || (ref->digest && !d->tag[0]) ? HOST_CAP_PULL : HOST_CAP_RESOLVE,
			.headers = d->kind_blob ? NULL : ACCEPT,
			.range_from = -1,
			.body_fd = -1,
			.on_headers = doc_headers,
			.on_data = doc_data,
			.on_done = doc_done,
			.userdata = p,
		};
		/* The "resolving" phase the API promises: one reply per document. */
		report(p, 1);
		if (registry_call(p->reg, path, &o, &p->doc_call, &e) < 0)
			pull_fail(p, &e);
		return;
	}
	if (!p->failed && !p->docs && !p->doc_timer)
		start_layers(p);
}

/* ---- what the documents say ------------------------------------------------ */

static void add_blob(struct pull *p, const struct descriptor *desc)
{
	for (size_t i = 0; i < p->n_blobs; i++)
		if (!strcmp(p->blobs[i]->digest, desc->digest))
			return; /* shared by two platforms' manifests */
	struct pull_blob **v = realloc(p->blobs, (p->n_blobs + 1) * sizeof(*v));
	struct pull_blob *b = calloc(1, sizeof(*b));
	if (!v || !b) {
		free(b);
		if (v)
			p->blobs = v;
		fail_with(p, ENOMEM, NULL, "%s", "out of memory");
		return;
	}
	p->blobs = v;
	struct ember_error e;
	if (hold(p, desc->digest, &e) < 0) {
		free(b);
		pull_fail(p, &e);
		return;
	}
	b->p = p;
	memcpy(b->digest, desc->digest, sizeof(b->digest));
	b->media_type = strdup(desc->media_type ? desc->media_type : "");
	b->size = desc->size;
	p->blobs[p->n_blobs++] = b;
}

static void on_config(struct pull *p, struct pull_doc *d)
{
	struct image_config cfg;
	struct ember_error e;

	if (image_config_parse(d->buf ? d->buf : "", d->len, &cfg, &e) < 0) {
		err_wrap(&e, "config %s", d->digest);
		pull_fail(p, &e);
		return;
	}
	image_config_done(&cfg);
	if (p->o.unpack && !p->uc_buf && !strcmp(d->digest, p->unpack_config) &&
	    (p->uc_buf = malloc(d->len + 1))) {
		memcpy(p->uc_buf, d->buf ? d->buf : "", d->len);
		p->uc_len = d->len;
	}
}

static void on_manifest(struct pull *p, struct pull_doc *d)
{
	struct manifest m;
	struct ember_error e;

	if (manifest_parse(d->buf ? d->buf : "", d->len, &m, &e) < 0) {
		err_wrap(&e, "manifest %s", d->digest);
		pull_fail(p, &e);
		return;
	}
	if (p->o.unpack && !p->um_buf && !strcmp(d->digest, p->unpack_manifest) &&
	    (p->um_buf = malloc(d->len + 1))) {
		memcpy(p->um_buf, d->buf ? d->buf : "", d->len);
		p->um_len = d->len;
		memcpy(p->unpack_config, m.config.digest, DIGEST_MAX);
	}
	/* The config is small: fetched and checked before the layers. */
	queue_doc(p, m.config.digest, m.config.size, 1, on_config);
	for (size_t i = 0; i < m.n_layers && !p->failed; i++) {
		if (image_layer_compression(m.layers[i].media_type, &(enum layer_compression){ 0 }, &e) < 0) {
			err_wrap(&e, "manifest %s: layers[%zu]", d->digest, i);
			pull_fail(p, &e);
			break;
		}
		add_blob(p, &m.layers[i]);
	}
	manifest_done(&m);
}

static void on_index(struct pull *p, struct pull_doc *d)
{
	struct index ix;
	struct ember_error e;

	if (index_parse(d->buf ? d->buf : "", d->len, &ix, &e) < 0) {
		err_wrap(&e, "index %s", d->digest);
		pull_fail(p, &e);
		return;
	}
	if (p->o.all_platforms) {
		/* Unpacked: the manifest a single-platform pull would take. */
		struct ember_error ignored;
		int pick = index_select(&ix, &p->want, &ignored);
		if (pick >= 0)
			memcpy(p->unpack_manifest, ix.manifests[pick].digest, DIGEST_MAX);
		for (size_t i = 0; i < ix.n_manifests; i++)
			if (image_media_kind(ix.manifests[i].media_type) == MT_KIND_MANIFEST)
				queue_doc(p, ix.manifests[i].digest, ix.manifests[i].size, 0, on_manifest);
	} else {
		int i = index_select(&ix, &p->want, &e);
		if (i < 0) {
			pull_fail(p, &e);
		} else {
			memcpy(p->unpack_manifest, ix.manifests[i].digest, DIGEST_MAX);
			queue_doc(p, ix.manifests[i].digest, ix.manifests[i].size, 0, on_manifest);
		}
	}
	/* A checkpoint: its CRIU images, rw layer and spec are the index's own entries. */
	for (size_t i = 0; i < ix.n_manifests && !p->failed; i++)
		if (image_media_is_checkpoint(ix.manifests[i].media_type))
			add_blob(p, &ix.manifests[i]);
	index_done(&ix);
}

/* The document the reference names: an index or a manifest. */
static void on_target(struct pull *p, struct pull_doc *d)
{
	enum mt_kind kind;
	const char *media_type = NULL;
	struct ember_error e;

	if (image_document_kind(d->buf ? d->buf : "", d->len, d->content_type, &kind, &media_type, &e) < 0) {
		pull_fail(p, &e);
		return;
	}
	p->target.media_type = strdup(media_type);
	memcpy(p->target.digest, d->digest, sizeof(p->target.digest));
	p->target.size = d->size;
	p->have_target = 1;
	if (kind == MT_KIND_INDEX)
		on_index(p, d);
	else if (kind == MT_KIND_MANIFEST) {
		memcpy(p->unpack_manifest, d->digest, DIGEST_MAX);
		on_manifest(p, d);
	}
	else
		fail_with(p, ENOTSUP, EMBER_ERROR_INVALID_ARGUMENT,
			  "the reference names a \"%.100s\", not an image manifest or index", media_type);
}

/* ---- signatures (CONFIG_SIGNATURES) ------------------------------------------ */

/* The payload's docker-reference names the repository pulled (its tag or
   digest, if any, does not matter: the payload's digest is what binds). */
static int same_repo(const char *reference, void *userdata)
{
	const struct reference *want = registry_reference(((struct pull *)userdata)->reg);
	struct reference got;
	struct ember_error e;

	if (reference_parse(reference, &got, &e) < 0)
		return 0;
	int same = !strcmp(got.domain, want->domain) && !strcmp(got.path, want->path);
	reference_done(&got);
	return same;
}

static void on_sig_payload(struct pull *p, struct pull_doc *d)
{
	struct sig_check c = { p->o.verify, p->held->digest, same_repo, p };

	for (size_t i = 0; i < p->n_sig_layers; i++)
		if (!strcmp(p->sig_layers[i].digest, d->digest))
			sig_check_layer(&c, d->buf ? d->buf : "", d->len, p->sig_layers[i].b64, &p->verdict);
	if (--p->sig_pending == 0)
		verify_finish(p);
}

/* The signature tag's manifest: each simple-signing layer's payload is
   fetched (into memory) and judged with its annotation. */
static void on_sig_manifest(struct pull *p, struct pull_doc *d)
{
	struct manifest m;
	struct ember_error e;

	memcpy(p->sig_manifest, d->digest, sizeof(p->sig_manifest));
	if (manifest_parse(d->buf ? d->buf : "", d->len, &m, &e) < 0) {
		snprintf(p->verdict.detail, sizeof(p->verdict.detail), "the signature manifest %.71s: %.100s", d->digest,
			 e.message);
		p->verdict.verdict = SIG_BAD;
		verify_finish(p);
		return;
	}
	p->sig_layers = calloc(m.n_layers ? m.n_layers : 1, sizeof(*p->sig_layers));
	if (!p->sig_layers) {
		manifest_done(&m);
		fail_with(p, ENOMEM, NULL, "%s", "out of memory");
		return;
	}
	for (size_t i = 0; i < m.n_layers && p->n_sig_layers < SIG_MAX_LAYERS && !p->failed; i++) {
		const struct descriptor *l = &m.layers[i];
		if (!l->media_type || strcmp(l->media_type, SIG_MT_SIMPLESIGNING))
			continue; /* attestations and the like: not signatures */
		if (l->size > SIG_PAYLOAD_MAX) {
			if (p->verdict.verdict <= SIG_BAD) {
				p->verdict.verdict = SIG_BAD;
				snprintf(p->verdict.detail, sizeof(p->verdict.detail),
					 "payload %s is %lld bytes, over %d", l->digest, (long long)l->size, SIG_PAYLOAD_MAX);
			}
			continue;
		}
		struct sig_layer_ref *ref = &p->sig_layers[p->n_sig_layers++];
		memcpy(ref->digest, l->digest, sizeof(ref->digest));
		const char *b64 = json_string_value(json_object_get(l->annotations, SIG_ANNOTATION));
		ref->b64 = b64 ? strdup(b64) : NULL;
		if (b64 && !ref->b64) {
			fail_with(p, ENOMEM, NULL, "%s", "out of memory");
			break;
		}
		/* Layers sharing a payload are judged together, fetched once. */
		int seen = 0;
		for (size_t k = 0; k + 1 < p->n_sig_layers; k++)
			seen |= !strcmp(p->sig_layers[k].digest, l->digest);
		if (seen)
			continue;
		struct pull_doc *pd = queue_doc(p, l->digest, l->size, 1, on_sig_payload);
		if (!pd)
			break;
		pd->no_store = 1;
		p->sig_pending++;
	}
	manifest_done(&m);
	if (!p->failed && p->sig_pending == 0)
		verify_finish(p);
}

/* The target document, checked against its digest but not stored: its
   signatures are fetched first. */
static void on_target_held(struct pull *p, struct pull_doc *d)
{
	struct pull_doc *h = calloc(1, sizeof(*h));

	if (!h) {
		fail_with(p, ENOMEM, NULL, "%s", "out of memory");
		return;
	}
	*h = *d;
	h->next = NULL;
	d->buf = d->content_type = d->docker_digest = NULL;
	p->held = h;
	struct pull_doc *sd = queue_doc(p, NULL, -1, 0, on_sig_manifest);
	if (!sd)
		return;
	sd->no_store = 1;
	sd->sig_manifest = 1;
	sig_tag(h->digest, sd->tag);
}

/* Every signature judged (or none found): on with the held target, or
   refuse the image. Nothing of it has been stored. */
static void verify_finish(struct pull *p)
{
	struct pull_doc *d = p->held;
	struct ember_error e;
	char tag[SIG_TAG_MAX];

	if (p->failed || !d)
		return;
	if (p->verdict.verdict != SIG_OK) {
		sig_tag(d->digest, tag);
		if (p->verdict.verdict == SIG_UNSIGNED)
			snprintf(p->verdict.detail, sizeof(p->verdict.detail), "no signature at the tag %s%s", tag,
				 p->n_sig_layers || p->sig_manifest[0] ? " (its manifest holds no signature)" : "");
		err_set_name(&e, EMBER_ERROR_PERMISSION_DENIED, EACCES,
			     "refused by the signature policy of namespace %s: %s: %s", p->ns,
			     sig_verdict_name(p->verdict.verdict), p->verdict.detail);
		pull_fail(p, &e);
		return;
	}
	const struct sig_key *k = p->verdict.key;
	p->verified = json_pack("{s:s, s:s, s:s, s:s}", "key", k->name, "fingerprint", k->fingerprint, "signature",
				p->sig_manifest, "digest", d->digest);
	if (!p->verified) {
		fail_with(p, ENOMEM, NULL, "%s", "out of memory");
		return;
	}
	p->held = NULL;
	if (remember(p, d->digest, &e) < 0 ||
	    content_blob_put(p->rm->cs, d->buf ? d->buf : "", d->len, d->digest, NULL, &e) < 0) {
		doc_free(d);
		pull_fail(p, &e);
		return;
	}
	on_target(p, d);
	doc_free(d);
}

/* ---- layers ---------------------------------------------------------------- */

static void schedule(struct pull *p);
static void blob_start(struct pull_blob *b);

static void blob_retry_timer(struct loop_source *s, void *userdata)
{
	struct pull_blob *b = userdata;

	(void)s;
	b->timer = loop_source_free(b->timer);
	blob_start(b);
}

/* Try again later: back off exponentially, or as the server asked. */
static void blob_retry(struct pull_blob *b, long retry_after_s, const struct ember_error *why)
{
	struct pull *p = b->p;
	struct ember_error e;
	unsigned max = p->o.max_attempts ? p->o.max_attempts : 6;

	if (b->offset > b->attempt_start)
		b->attempts = 0; /* it made progress: a flaky link, not a dead one */
	if (++b->attempts >= max) {
		e = *why;
		err_wrap(&e, "blob %s: giving up after %u attempts", b->digest, b->attempts);
		pull_fail(p, &e);
		return;
	}
	uint64_t delay = backoff_ms(p, b->attempts, retry_after_s);
	b->state = B_RETRYING;
	/* What we have is kept durable while we wait (up to where a running
	   sync got, if one runs). */
	if (b->ing && !b->sync && content_ingest_sync(b->ing, &e) < 0) {
		pull_fail(p, &e);
		return;
	}
	b->timer = loop_add_timer(p->rm->loop, delay, 0, blob_retry_timer, b, "pull retry", &e);
	if (!b->timer)
		pull_fail(p, &e);
	report(p, 1);
}

static int blob_headers(struct registry_call *c, const struct http_response *resp, void *userdata)
{
	struct pull_blob *b = userdata;
	struct ember_error e;

	if (resp->status == 200 && b->offset > 0) {
		/* The server ignored our Range: start over (not under a running
		   sync: this attempt fails and the next one does it). */
		if (b->sync) {
			err_set(&e, EAGAIN, "blob %s: the registry ignored the range asked for", b->digest);
			goto fail;
		}
		if (content_ingest_reset(b->ing, &e) < 0)
			goto fail;
		b->offset = b->attempt_start = 0;
	} else if (resp->status == 206) {
		long long start = -1;
		if (!resp->range || sscanf(resp->range, "bytes %lld-", &start) != 1 || start != b->offset) {
			err_set(&e, EPROTO, "blob %s: asked for bytes from %" PRId64 ", got range \"%.60s\"",
				b->digest, b->offset, resp->range ? resp->range : "");
			goto fail;
		}
	} else if (resp->status != 200) {
		return 0; /* an error body: ignored, handled when done */
	}
	if (resp->content_length >= 0 && b->offset + resp->content_length > b->size) {
		err_set_name(&e, EMBER_ERROR_INVALID_ARGUMENT, EFBIG,
			     "blob %s: the registry sends %" PRId64 " bytes for a blob of %" PRId64, b->digest,
			     b->offset + resp->content_length, b->size);
		b->fatal = 1;
		goto fail;
	}
	return 0;
fail:
	registry_call_fail(c, &e);
	return -1;
}

static void blob_commit(struct pull_blob *b);

static int sync_work(void *arg, struct ember_error *e)
{
	struct pull_sync *ps = arg;

	return content_ingest_sync_upto(ps->ing, ps->upto, e);
}

static void sync_done(void *arg, int result, const struct ember_error *err)
{
	struct pull_sync *ps = arg;
	struct pull_blob *b = ps->b;

	if (!b) {
		content_ingest_close(ps->ing);
		free(ps);
		return;
	}
	b->sync = NULL;
	if (result == 0)
		content_ingest_synced(b->ing, ps->upto);
	free(ps);
	if (result < 0) {
		pull_fail(b->p, err);
		return;
	}
	if (b->commit_after_sync) {
		b->commit_after_sync = 0;
		blob_commit(b);
	}
}

/* Every CONTENT_SYNC_BYTES, where the daemon runs jobs: a sync of what
   arrived so far, in a job, while the rest arrives. */
static int blob_sync(struct pull_blob *b, struct ember_error *e)
{
	const struct remote_offload *o = &b->p->rm->offload;

	if (!o->run || b->sync || !content_ingest_sync_due(b->ing))
		return 0;
	struct pull_sync *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return err_set(e, ENOMEM, "out of memory");
	*ps = (struct pull_sync){ b, b->ing, content_ingest_offset(b->ing) };
	b->sync = ps;
	if (o->run(o->ctx, "sync", b->p->ns, b->digest, sync_work, sync_done, ps, e) < 0) {
		b->sync = NULL;
		free(ps);
		return -e->code;
	}
	return 0;
}

static int blob_data(struct registry_call *c, const char *data, size_t len, void *userdata)
{
	struct pull_blob *b = userdata;
	struct ember_error e;

	if (content_ingest_write(b->ing, data, len, &e) < 0) {
		if (e.code == EFBIG)
			err_set_name(&e, EMBER_ERROR_INVALID_ARGUMENT, EFBIG,
				     "blob %s: the registry sent more than the %" PRId64 " bytes declared",
				     b->digest, b->size);
		else if (e.code == ENOSPC)
			e.code = ENOSPC, snprintf(e.name, sizeof(e.name), "%s", EMBER_ERROR_RESOURCE_EXHAUSTED);
		b->fatal = 1;
		registry_call_fail(c, &e);
		return -1;
	}
	b->offset = content_ingest_offset(b->ing);
	if (blob_sync(b, &e) < 0) {
		b->fatal = 1;
		registry_call_fail(c, &e);
		return -1;
	}
	report(b->p, 0);
	return 0;
}

/* The blob is in the store: the unpacker may start on it. */
static void blob_stored(struct pull_blob *b)
{
	struct pull *p = b->p;

	if (p->o.unpack && !p->failed)
		p->o.unpack->blob(p, b->digest, p->o.unpack_userdata);
}

static void blob_finished(struct pull_blob *b)
{
	struct pull *p = b->p;

	blob_stored(b);
	p->active--;
	report(p, 1);
	schedule(p);
}

static int commit_work(void *arg, struct ember_error *e)
{
	struct pull_commit *pc = arg;

	return content_ingest_commit(TAKE_PTR(pc->ing), e);
}

static void commit_done(void *arg, int result, const struct ember_error *err)
{
	struct pull_commit *pc = arg;
	struct pull_blob *b = pc->b;

	content_ingest_close(pc->ing); /* not run: still open */
	free(pc);
	if (!b)
		return;
	b->commit = NULL;
	if (result < 0) {
		pull_fail(b->p, err);
		return;
	}
	b->state = B_DONE;
	blob_finished(b);
}

/* Every byte is in: the blob's commit, off the loop where the daemon can. */
static void blob_commit(struct pull_blob *b)
{
	const struct remote_offload *o = &b->p->rm->offload;
	struct ember_error e;
	if (b->sync) {
		/* A sync still runs on the ingest: the commit follows it. */
		b->commit_after_sync = 1;
		b->state = B_COMMITTING;
		report(b->p, 1);
		return;
	}
	struct pull_commit *pc = calloc(1, sizeof(*pc));

	if (!pc) {
		err_set(&e, ENOMEM, "out of memory");
		pull_fail(b->p, &e);
		return;
	}
	pc->b = b;
	pc->ing = TAKE_PTR(b->ing);
	b->state = B_COMMITTING;
	b->commit = pc;
	report(b->p, 1);
	if (!o->run) {
		int r = commit_work(pc, &e);
		commit_done(pc, r, r < 0 ? &e : NULL);
	} else if (o->run(o->ctx, "commit", b->p->ns, b->digest, commit_work, commit_done, pc, &e) < 0) {
		commit_done(pc, -e.code, &e);
	}
}

static void blob_done(struct registry_call *c, int result, const struct http_response *resp,
		      const struct ember_error *err, void *userdata)
{
	struct pull_blob *b = userdata;
	struct pull *p = b->p;
	struct ember_error e;

	(void)c;
	b->call = NULL;
	if (result < 0) {
		if (b->fatal || err->code == EPROTO) {
			pull_fail(p, err);
			return;
		}
		e = *err;
		err_wrap(&e, "blob %s", b->digest);
		blob_retry(b, -1, &e);
		return;
	}
	if (resp->status != 200 && resp->status != 206) {
		const char *tried = registry_call_tried(c);
		err_set_name(&e, status_name(resp->status), status_errno(resp->status),
			     "blob %s: %s: HTTP %ld%s%s%s", b->digest, registry_call_host(c), resp->status,
			     *tried ? " (tried before: " : "", tried, *tried ? ")" : "");
		if (retryable(resp->status))
			blob_retry(b, resp->retry_after, &e);
		else
			pull_fail(p, &e);
		return;
	}
	if (b->offset < b->size) {
		/* The body ended early without a transport error. */
		err_set(&e, ECONNRESET, "blob %s: the body ended at byte %" PRId64 " of %" PRId64, b->digest,
			b->offset, b->size);
		blob_retry(b, -1, &e);
		return;
	}
	blob_commit(b);
}

static void blob_fetch(struct pull_blob *b);

/* The ingest is open (r == 0, in b->ing), or why not. */
static void blob_opened(struct pull_blob *b, int r, const struct ember_error *err)
{
	struct pull *p = b->p;
	struct ember_error e;

	if (r == -EEXIST) {
		b->state = B_EXISTS;
		b->offset = b->size;
		blob_finished(b);
	} else if (r == -EBUSY) {
		/* Another pull is fetching it: look again shortly. */
		b->state = B_WAITING;
		b->timer = loop_add_timer(p->rm->loop, 250, 0, blob_retry_timer, b, "pull wait", &e);
		if (!b->timer)
			pull_fail(p, &e);
	} else if (r < 0) {
		pull_fail(p, err);
	} else {
		blob_fetch(b);
	}
}

static int open_work(void *arg, struct ember_error *e)
{
	struct pull_open *po = arg;

	return content_ingest_open(po->cs, po->ref, po->digest, po->size, &po->ing, e);
}

static void open_done(void *arg, int result, const struct ember_error *err)
{
	struct pull_open *po = arg;
	struct pull_blob *b = po->b;

	if (b) {
		b->opening = NULL;
		b->ing = TAKE_PTR(po->ing);
	}
	content_ingest_close(po->ing);
	free(po);
	if (b)
		blob_opened(b, result, err);
}

static void blob_start(struct pull_blob *b)
{
	struct pull *p = b->p;
	const struct remote_offload *o = &p->rm->offload;
	struct ember_error e;

	if (b->ing) {
		blob_fetch(b);
		return;
	}
	if (!o->run) {
		int r = content_ingest_open(p->rm->cs, p->image_name, b->digest, b->size, &b->ing, &e);
		blob_opened(b, r, &e);
		return;
	}
	struct pull_open *po = calloc(1, sizeof(*po));
	if (!po) {
		err_set(&e, ENOMEM, "out of memory");
		pull_fail(p, &e);
		return;
	}
	po->b = b;
	po->cs = p->rm->cs;
	snprintf(po->ref, sizeof(po->ref), "%s", p->image_name);
	snprintf(po->digest, sizeof(po->digest), "%s", b->digest);
	po->size = b->size;
	b->opening = po;
	if (o->run(o->ctx, "ingest", p->ns, b->digest, open_work, open_done, po, &e) < 0) {
		b->opening = NULL;
		free(po);
		pull_fail(p, &e);
	}
}

static void blob_fetch(struct pull_blob *b)
{
	struct pull *p = b->p;
	struct ember_error e;
	char path[128];

	if (p->rm->offload.run)
		content_ingest_defer_syncs(b->ing);
	b->offset = b->attempt_start = content_ingest_offset(b->ing);
	b->fatal = 0;
	if (b->offset == b->size) {
		/* All bytes were there (a crash right before commit). */
		struct http_response none = { .status = 200, .content_length = -1, .retry_after = -1 };
		b->state = B_FETCHING;
		blob_done(NULL, 0, &none, NULL, b);
		return;
	}
	snprintf(path, sizeof(path), "/blobs/%s", b->digest);
	struct registry_call_options o = {
		.range_from = b->offset > 0 ? b->offset : -1,
		.body_fd = -1,
		.on_headers = blob_headers,
		.on_data = blob_data,
		.on_done = blob_done,
		.userdata = b,
	};
	b->state = B_FETCHING;
	if (registry_call(p->reg, path, &o, &b->call, &e) < 0) {
		blob_retry(b, -1, &e);
		return;
	}
	report(p, 1);
}

static int all_done(const struct pull *p)
{
	for (size_t i = 0; i < p->n_blobs; i++)
		if (p->blobs[i]->state != B_DONE && p->blobs[i]->state != B_EXISTS && p->blobs[i]->state != B_UNPACKED)
			return 0;
	return 1;
}

static int write_image(struct pull *p, struct ember_error *e)
{
	char now[TIMESTAMP_LEN];
	json_t *old = NULL;
	struct ember_error ignored;

	timestamp_now(now);
	json_t *target = descriptor_to_json(&p->target);
	json_t *labels = p->o.labels ? json_deep_copy(p->o.labels) : json_object();
	const char *created = now;
	if (meta_object_get(p->rm->meta, p->ns, "images", "image", p->image_name, &old, &ignored) == 0 &&
	    json_is_string(json_object_get(old, "created_at")))
		created = json_string_value(json_object_get(old, "created_at"));
	json_t *rec = json_pack("{s:s, s:o, s:o, s:s, s:s}", "name", p->image_name, "target", target,
				"labels", labels, "created_at", created, "updated_at", now);
	json_decref(old);
	if (!rec)
		return err_set(e, ENOMEM, "out of memory");
	if (p->verified && json_object_set(rec, "verified", p->verified) < 0) {
		json_decref(rec);
		return err_set(e, ENOMEM, "out of memory");
	}
	int r = meta_object_put(p->rm->meta, p->ns, "images", p->image_name, rec, e);
	if (r < 0) {
		json_decref(rec);
		return err_wrap(e, "write image record");
	}
	p->image = rec;
	return 0;
}

static void schedule(struct pull *p)
{
	unsigned max = p->o.concurrency ? p->o.concurrency : CONFIG_PULL_CONCURRENCY;
	struct ember_error e;

	if (p->failed)
		return;
	for (size_t i = 0; i < p->n_blobs && p->active < max; i++) {
		struct pull_blob *b = p->blobs[i];
		if (b->state != B_WAITING || b->timer || b->opening)
			continue;
		p->active++;
		blob_start(b);
		if (p->failed)
			return;
	}
	if (p->active == 0 && all_done(p)) {
		if (p->unpack_waiting)
			return;
		if (p->o.unpack && !p->o.content_only && !p->unpack_released &&
		    p->o.unpack->wait(p, p->o.unpack_userdata)) {
			p->unpack_waiting = 1;
			report(p, 1);
			return;
		}
		if (p->o.content_only) {
			/* What the done callback gets instead of a record. */
			p->image = json_pack("{s:s, s:o}", "name", p->image_name, "target", descriptor_to_json(&p->target));
			finish(p);
		} else if (write_image(p, &e) < 0) {
			pull_fail(p, &e);
		} else {
			finish(p);
		}
	}
}

struct space_ctx {
	struct pull *p;
	int64_t have; /* bytes already in ingests of this pull's blobs */
};

static int count_ingest(const struct content_ingest_info *info, void *userdata)
{
	struct space_ctx *sc = userdata;

	for (size_t i = 0; i < sc->p->n_blobs; i++)
		if (!strcmp(sc->p->blobs[i]->digest, info->digest))
			sc->have += info->offset;
	return 0;
}

/* The unpacker learns the layers and says which blobs it does not need
   (layers whose snapshots exist, when compressed blobs are dropped). */
static int plan_unpack(struct pull *p)
{
	struct manifest m;
	struct image_config c;
	struct ember_error e;

	if (!p->um_buf || !p->uc_buf)
		return 0; /* no manifest for this host among all platforms: nothing to unpack */
	if (manifest_parse(p->um_buf, p->um_len, &m, &e) < 0) {
		pull_fail(p, &e);
		return -1;
	}
	if (image_config_parse(p->uc_buf, p->uc_len, &c, &e) < 0) {
		manifest_done(&m);
		pull_fail(p, &e);
		return -1;
	}
	int *skip = calloc(m.n_layers + 1, sizeof(*skip));
	int r = !skip ? err_set(&e, ENOMEM, "out of memory")
	      : image_check_layers(&m, &c, &e) < 0 ? err_wrap(&e, "manifest %s", p->unpack_manifest)
	      : p->o.unpack->plan(p, &m, &c, skip, p->o.unpack_userdata, &e);
	for (size_t i = 0; r == 0 && i < m.n_layers; i++)
		for (size_t k = 0; skip[i] && k < p->n_blobs; k++)
			if (!strcmp(p->blobs[k]->digest, m.layers[i].digest)) {
				p->blobs[k]->state = B_UNPACKED;
				p->blobs[k]->offset = p->blobs[k]->size;
			}
	free(skip);
	manifest_done(&m);
	image_config_done(&c);
	if (r < 0) {
		pull_fail(p, &e);
		return -1;
	}
	return 0;
}

void pull_blob_note(struct pull *p, const char *digest, const char *note)
{
	for (size_t i = 0; i < p->n_blobs; i++)
		if (!strcmp(p->blobs[i]->digest, digest))
			p->blobs[i]->note = note;
	report(p, 1);
}

void pull_unpacked(struct pull *p, const struct ember_error *err)
{
	if (p->failed || p->unpack_released)
		return;
	if (err) {
		pull_fail(p, err);
		return;
	}
	p->unpack_released = 1;
	p->unpack_waiting = 0;
	schedule(p);
}

static void start_layers(struct pull *p)
{
	struct ember_error e;
	int64_t need = 0;
	uint64_t avail;

	p->fetching = 1;
	if (p->o.unpack && plan_unpack(p) < 0)
		return;
	for (size_t i = 0; i < p->n_blobs; i++) {
		struct pull_blob *b = p->blobs[i];
		int64_t size;
		if (b->state == B_UNPACKED)
			continue;
		if (content_blob_stat(p->rm->cs, b->digest, &size, &e) == 0 && size == b->size) {
			b->state = B_EXISTS;
			b->offset = b->size;
			blob_stored(b);
			if (p->failed)
				return;
		} else {
			need += b->size;
		}
	}
	/* Fail before the first byte, not half-way. */
	struct space_ctx sc = { p, 0 };
	if (need > 0 && content_ingest_walk(p->rm->cs, count_ingest, &sc, &e) == 0 &&
	    content_free_bytes(p->rm->cs, &avail, &e) == 0) {
		need -= sc.have;
		int64_t margin = SPACE_MARGIN + need / 20;
		if ((uint64_t)(need + margin) > avail) {
			err_set_name(&e, EMBER_ERROR_RESOURCE_EXHAUSTED, ENOSPC,
				     "not enough free space: the pull needs %" PRId64 " bytes (plus a margin of %" PRId64
				     "), the store has %" PRIu64 " bytes free", need, margin, avail);
			pull_fail(p, &e);
			return;
		}
	}
	report(p, 1);
	schedule(p);
}

/* ---- start ----------------------------------------------------------------- */

int pull_start(struct remote *rm, const struct pull_options *o, struct pull **out, struct ember_error *e)
{
	struct pull *p = calloc(1, sizeof(*p));

	if (!p)
		return err_set(e, ENOMEM, "out of memory");
	p->rm = rm;
	p->o = *o;
	p->ns = strdup(o->ns ? o->ns : "default");
	if (!p->ns)
		goto nomem;
	if (o->platform) {
		if (platform_parse(o->platform, &p->want, e) < 0)
			goto fail;
	} else {
		platform_default(&p->want);
	}
	if (!rm->http && !(rm->http = http_new(rm->loop, e)))
		goto fail;
	if (registry_open(rm->http, o->reference, &o->registry, &p->reg, e) < 0)
		goto fail;
	p->image_name = reference_string(registry_reference(p->reg));
	if (!p->image_name)
		goto nomem;
	const struct reference *ref = registry_reference(p->reg);
	struct pull_doc *target = queue_doc(p, ref->digest, -1, 0,
					    ENABLED(CONFIG_SIGNATURES) && o->verify ? on_target_held : on_target);
	if (p->failed)
		goto fail_async;
	/* Signed images: the target is judged before anything of it is
	   stored, so a refused image leaves the store as it was. */
	target->no_store = ENABLED(CONFIG_SIGNATURES) && o->verify;
	start_next_doc(p);
	if (p->failed)
		goto fail_async;
	*out = p;
	return 0;
fail_async:
	*e = p->err;
	pull_free(p);
	return -e->code;
nomem:
	err_set(e, ENOMEM, "out of memory");
fail:
	err_wrap(e, "pull %s", o->reference);
	pull_free(p);
	return -e->code;
}
