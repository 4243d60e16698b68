/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image archives: the OCI image layout as a tar (oci-layout, index.json,
 * blobs/sha256/...), with a docker-save manifest.json beside it so
 * `docker load` takes it too; and on import also the older docker-save
 * layout (<id>/layer.tar, <id>.json). Every entry goes through the content
 * store's verifying writer, so a hostile archive can only add blobs that
 * hash to their names; records are the caller's (written last).
 */
#include "image/image.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "content/content.h"
#include "util/cleanup.h"
#include "util/err.h"

#define ENTRY_MAX_NAME 512
#define ARCHIVE_MAX_ENTRIES 100000

/* ---- export ---------------------------------------------------------------- */

static int aerr(struct archive *a, struct ember_error *e, const char *what)
{
	const char *msg = archive_error_string(a);
	int code = archive_errno(a) > 0 ? archive_errno(a) : EIO;
	return err_set(e, code, "%s: %s", what, msg ? msg : "archive error");
}

struct import_ctx;
static int cancelled(struct import_ctx *ic, struct archive *a, struct ember_error *e);

/* The archive being imported cannot be read: bad input, not ember's fault. */
static int bad_archive(struct archive *a, struct ember_error *e, const char *what)
{
	int r = aerr(a, e, what);
	snprintf(e->name, sizeof(e->name), "%s", EMBER_ERROR_INVALID_ARGUMENT);
	return r;
}

static int write_entry_header(struct archive *a, const char *name, int64_t size, struct ember_error *e)
{
	struct archive_entry *ent = archive_entry_new();
	if (!ent)
		return err_set(e, ENOMEM, "out of memory");
	archive_entry_set_pathname(ent, name);
	archive_entry_set_size(ent, size);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0444);
	archive_entry_set_mtime(ent, 0, 0); /* the same image gives the same archive */
	int r = archive_write_header(a, ent);
	archive_entry_free(ent);
	return r == ARCHIVE_OK ? 0 : aerr(a, e, name);
}

static int write_mem(struct archive *a, const char *name, const char *data, size_t len, struct ember_error *e)
{
	if (write_entry_header(a, name, (int64_t)len, e) < 0)
		return -e->code;
	if (len && archive_write_data(a, data, len) != (la_ssize_t)len)
		return aerr(a, e, name);
	return 0;
}

static int write_blob(struct archive *a, struct content_store *cs, const char *digest,
		      const struct image_export_hooks *h, struct ember_error *e)
{
	char name[128], buf[64 * 1024];
	int64_t size;

	if (content_blob_stat(cs, digest, &size, e) < 0)
		return -e->code;
	_cleanup_close_ int fd = -1;
	if (content_blob_open(cs, digest, &fd, e) < 0)
		return -e->code;
	snprintf(name, sizeof(name), "blobs/" DIGEST_ALGO "/%s", digest_hex(digest));
	if (write_entry_header(a, name, size, e) < 0)
		return -e->code;
	for (int64_t done = 0; done < size;) {
		if (h && h->cancelled && h->cancelled(h->userdata))
			return err_set_name(e, EMBER_ERROR_CANCELED, ECANCELED, "cancelled");
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(e, n < 0 ? errno : EIO, "read blob %s", digest);
		if (archive_write_data(a, buf, (size_t)n) != n)
			return aerr(a, e, name);
		done += n;
		if (h && h->progress)
			h->progress(digest, done, size, h->userdata);
	}
	return 0;
}

struct blob_set {
	char (*v)[DIGEST_MAX];
	size_t n;
};

static int set_add(struct blob_set *s, const char *digest)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], digest))
			return 0;
	void *v = realloc(s->v, (s->n + 1) * DIGEST_MAX);
	if (!v)
		return -ENOMEM;
	s->v = v;
	memcpy(s->v[s->n++], digest, DIGEST_MAX);
	return 0;
}

/* The blobs of one manifest; fills the docker-save entry when dm is set. */
static int collect_manifest(struct content_store *cs, const char *digest, struct blob_set *s, json_t *dm,
			    struct ember_error *e)
{
	char *data;
	size_t len;
	struct manifest m;

	if (content_blob_read(cs, digest, IMAGE_DOC_MAX, &data, &len, e) < 0)
		return -e->code;
	int r = manifest_parse(data, len, &m, e);
	free(data);
	if (r < 0)
		return err_wrap(e, "manifest %s", digest);
	json_t *layers = json_array();
	r = set_add(s, digest);
	if (!r)
		r = set_add(s, m.config.digest);
	for (size_t i = 0; !r && i < m.n_layers; i++) {
		char path[128];
		r = set_add(s, m.layers[i].digest);
		snprintf(path, sizeof(path), "blobs/" DIGEST_ALGO "/%s", digest_hex(m.layers[i].digest));
		json_array_append_new(layers, json_string(path));
	}
	if (!r && dm) {
		char path[128];
		snprintf(path, sizeof(path), "blobs/" DIGEST_ALGO "/%s", digest_hex(m.config.digest));
		json_object_set_new(dm, "Config", json_string(path));
		json_object_set(dm, "Layers", layers);
	}
	json_decref(layers);
	manifest_done(&m);
	if (r)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n; i++)
		if (content_blob_stat(cs, s->v[i], NULL, e) < 0)
			return err_wrap(e, "manifest %s needs it", digest);
	return 0;
}

/* Docker's short form of a canonical name: docker.io/library/busybox:latest -> busybox:latest. */
static const char *docker_familiar(const char *name)
{
	if (!strncmp(name, "docker.io/library/", 18))
		return name + 18;
	if (!strncmp(name, "docker.io/", 10))
		return name + 10;
	return name;
}

int image_export(struct content_store *cs, const struct image_export_item *items, size_t n, int fd,
		 const struct image_export_hooks *hooks, struct ember_error *e)
{
	struct blob_set set = { 0 };
	json_t *index = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX, "manifests");
	json_t *docker = json_array();
	char *ix_text = NULL, *dm_text = NULL;
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct descriptor *t = &items[i].target;
		json_t *desc = descriptor_to_json(t);
		json_t *ann = json_object_get(desc, "annotations");
		if (!ann)
			json_object_set_new(desc, "annotations", ann = json_object());
		json_object_set_new(ann, "io.containerd.image.name", json_string(items[i].name));
		const char *colon = strrchr(items[i].name, ':');
		if (colon && !strchr(colon, '/'))
			json_object_set_new(ann, "org.opencontainers.image.ref.name", json_string(colon + 1));
		json_array_append_new(json_object_get(index, "manifests"), desc);

		if (image_media_kind(t->media_type) == MT_KIND_MANIFEST) {
			json_t *dm = json_pack("{s:[s]}", "RepoTags", docker_familiar(items[i].name));
			r = collect_manifest(cs, t->digest, &set, dm, e);
			json_array_append_new(docker, dm);
			continue;
		}
		/* An index: every manifest it lists must be here. */
		char *data;
		size_t len;
		struct index ix;
		if (content_blob_read(cs, t->digest, IMAGE_DOC_MAX, &data, &len, e) < 0) {
			r = -e->code;
			break;
		}
		r = index_parse(data, len, &ix, e);
		free(data);
		if (r < 0)
			break;
		r = set_add(&set, t->digest) ? err_set(e, ENOMEM, "out of memory") : 0;
		for (size_t k = 0; r == 0 && k < ix.n_manifests; k++) {
			if (content_blob_stat(cs, ix.manifests[k].digest, NULL, e) < 0) {
				r = err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ENOENT,
						 "%s: the index lists %s, which is not in the store: export one "
						 "--platform, or pull with --all-platforms", items[i].name,
						 ix.manifests[k].digest);
				break;
			}
			if (image_media_is_checkpoint(ix.manifests[k].media_type))
				r = set_add(&set, ix.manifests[k].digest) ? err_set(e, ENOMEM, "out of memory") : 0;
			else
				r = collect_manifest(cs, ix.manifests[k].digest, &set, NULL, e);
		}
		index_done(&ix);
	}
	if (r < 0)
		goto out;

	struct archive *a = archive_write_new();
	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		r = a ? aerr(a, e, "export") : err_set(e, ENOMEM, "out of memory");
		if (a)
			archive_write_free(a);
		goto out;
	}
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	ix_text = json_dumps(index, JSON_COMPACT);
	dm_text = json_dumps(docker, JSON_COMPACT);
	r = ix_text && dm_text ? write_mem(a, "oci-layout", layout, strlen(layout), e)
			       : err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < set.n; i++)
		r = write_blob(a, cs, set.v[i], hooks, e);
	if (r == 0)
		r = write_mem(a, "index.json", ix_text, strlen(ix_text), e);
	if (r == 0 && json_array_size(docker))
		r = write_mem(a, "manifest.json", dm_text, strlen(dm_text), e);
	if (archive_write_close(a) != ARCHIVE_OK && r == 0)
		r = aerr(a, e, "export");
	archive_write_free(a);
out:
	free(ix_text);
	free(dm_text);
	json_decref(index);
	json_decref(docker);
	free(set.v);
	return r < 0 ? err_wrap(e, "export") : 0;
}

/* ---- import ---------------------------------------------------------------- */

struct entry_blob {
	char *path;
	char digest[DIGEST_MAX];
	int64_t size;
};

struct import_ctx {
	struct content_store *cs;
	const struct image_import_hooks *h;
	int fd;
	char buf[64 * 1024];
	struct entry_blob *blobs;
	size_t n_blobs;
	char *index_json;
	size_t index_len;
	char *docker_json;
	size_t docker_len;
};

/* The import stopped because it was cancelled: say that, not "damaged". */
static int cancelled(struct import_ctx *ic, struct archive *a, struct ember_error *e)
{
	if (archive_errno(a) != ECANCELED && !(ic->h && ic->h->cancelled && ic->h->cancelled(ic->h->userdata)))
		return 0;
	err_set_name(e, EMBER_ERROR_CANCELED, ECANCELED, "cancelled");
	return 1;
}

static const struct entry_blob *find_path(const struct import_ctx *ic, const char *path)
{
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	for (size_t i = 0; i < ic->n_blobs; i++)
		if (!strcmp(ic->blobs[i].path, path))
			return &ic->blobs[i];
	return NULL;
}

static int read_small(struct archive *a, const char *name, int64_t size, char **out, size_t *len,
		      struct ember_error *e)
{
	if (size < 0 || size > (int64_t)IMAGE_DOC_MAX)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EFBIG, "%s: %lld bytes is over the limit of %zu",
				    name, (long long)size, IMAGE_DOC_MAX);
	char *buf = malloc((size_t)size + 1);
	if (!buf)
		return err_set(e, ENOMEM, "out of memory");
	la_ssize_t n = size ? archive_read_data(a, buf, (size_t)size) : 0;
	if (n != size) {
		free(buf);
		return n < 0 ? bad_archive(a, e, name)
			     : err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EPIPE, "%s: truncated", name);
	}
	buf[size] = '\0';
	*out = buf;
	*len = (size_t)size;
	return 0;
}

static int hold(struct import_ctx *ic, const char *digest, struct ember_error *e)
{
	if (ic->h && ic->h->hold && ic->h->hold(digest, ic->h->userdata) < 0)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

/* The archive's bytes: a file, or a pipe a client feeds (then the wait
   ends when the import is cancelled). */
static la_ssize_t read_cb(struct archive *a, void *userdata, const void **buf)
{
	struct import_ctx *ic = userdata;
	int cfd = ic->h ? ic->h->cancel_fd : -1;

	*buf = ic->buf;
	for (;;) {
		if (ic->h && ic->h->cancelled && ic->h->cancelled(ic->h->userdata)) {
			archive_set_error(a, ECANCELED, "cancelled");
			return -1;
		}
		struct pollfd pf[2] = { { ic->fd, POLLIN, 0 }, { cfd, POLLIN, 0 } };
		if (poll(pf, cfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) {
			archive_set_error(a, errno, "poll");
			return -1;
		}
		if (cfd >= 0 && (pf[1].revents & POLLIN))
			continue; /* cancelled: said above */
		ssize_t n = read(ic->fd, ic->buf, sizeof(ic->buf));
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN) {
			archive_set_error(a, errno, "read");
			return -1;
		}
	}
}

/* Store an entry's bytes; entries named blobs/sha256/<hex> must hash to <hex>. */
static int store_entry(struct import_ctx *ic, struct archive *a, const char *path, int64_t size,
		       struct ember_error *e)
{
	char expected[DIGEST_MAX], buf[64 * 1024];
	const char *want = NULL;
	struct content_writer *w;
	int64_t done = 0;

	if (!strncmp(path, "blobs/" DIGEST_ALGO "/", 13)) {
		if (strlen(path + 13) != DIGEST_HEX_LEN)
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
					    "archive entry %.200s: not a sha256 blob name", path);
		memcpy(expected, DIGEST_ALGO ":", sizeof(DIGEST_ALGO));
		memcpy(expected + sizeof(DIGEST_ALGO), path + 13, DIGEST_HEX_LEN + 1);
		if (digest_check(expected, e) < 0)
			return err_wrap(e, "archive entry %.200s", path);
		want = expected;
	}
	if (want && hold(ic, want, e) < 0)
		return -e->code;
	if (content_writer_open(ic->cs, &w, e) < 0)
		return -e->code;
	if (ic->h && ic->h->reading)
		ic->h->reading(path, 0, size, ic->h->userdata);
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			content_writer_abort(w);
			return bad_archive(a, e, path);
		}
		done += n;
		if (done > size) {
			content_writer_abort(w);
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EFBIG,
					    "archive entry %.200s: more data than its declared size", path);
		}
		if (content_writer_write(w, buf, (size_t)n, e) < 0) {
			content_writer_abort(w);
			return -e->code;
		}
		if (ic->h && ic->h->reading)
			ic->h->reading(path, done, size, ic->h->userdata);
	}
	struct entry_blob *v = realloc(ic->blobs, (ic->n_blobs + 1) * sizeof(*v));
	if (!v) {
		content_writer_abort(w);
		return err_set(e, ENOMEM, "out of memory");
	}
	ic->blobs = v;
	struct entry_blob *b = &v[ic->n_blobs];
	/* Held before it is committed (or found there already). */
	content_writer_sum(w, b->digest, &b->size);
	if (!want && hold(ic, b->digest, e) < 0) {
		content_writer_abort(w);
		return -e->code;
	}
	int created = content_writer_commit(w, want, b->digest, &b->size, e);
	if (created < 0)
		return err_wrap(e, "archive entry %.200s", path);
	b->path = strdup(path);
	if (!b->path)
		return err_set(e, ENOMEM, "out of memory");
	ic->n_blobs++;
	if (ic->h && ic->h->stored)
		ic->h->stored(b->digest, b->size, created, ic->h->userdata);
	return 0;
}

static int read_archive(struct import_ctx *ic, struct ember_error *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	unsigned entries = 0;
	int r = 0;

	if (!a)
		return err_set(e, ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	if (archive_read_open(a, ic, NULL, read_cb, NULL) != ARCHIVE_OK) {
		r = cancelled(ic, a, e) ? -e->code : bad_archive(a, e, "not a tar archive");
		goto out;
	}
	for (;;) {
		int rr = archive_read_next_header(a, &ent);
		if (rr == ARCHIVE_EOF)
			break;
		if (rr != ARCHIVE_OK && rr != ARCHIVE_WARN) {
			r = cancelled(ic, a, e) ? -e->code : bad_archive(a, e, entries ? "damaged archive" : "not a tar archive");
			break;
		}
		if (++entries > ARCHIVE_MAX_ENTRIES) {
			r = err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, E2BIG, "more than %d entries",
					 ARCHIVE_MAX_ENTRIES);
			break;
		}
		if (archive_entry_filetype(ent) != AE_IFREG)
			continue; /* directories; links and the like are never needed */
		const char *path = archive_entry_pathname(ent);
		int64_t size = archive_entry_size(ent);
		if (!path || strlen(path) > ENTRY_MAX_NAME)
			continue;
		while (path[0] == '.' && path[1] == '/')
			path += 2;
		if (!strcmp(path, "index.json") && !ic->index_json)
			r = read_small(a, path, size, &ic->index_json, &ic->index_len, e);
		else if (!strcmp(path, "manifest.json") && !ic->docker_json)
			r = read_small(a, path, size, &ic->docker_json, &ic->docker_len, e);
		else if (!strcmp(path, "oci-layout") || !strcmp(path, "repositories"))
			continue;
		else
			r = store_entry(ic, a, path, size, e);
		if (r < 0) {
			if (cancelled(ic, a, e))
				r = -e->code;
			break;
		}
	}
out:
	archive_read_free(a);
	return r;
}

static int add_result(struct image_import_result *res, const char *name, const struct descriptor *d,
		      struct ember_error *e)
{
	struct image_export_item *v = realloc(res->images, (res->n + 1) * sizeof(*v));
	if (!v)
		return err_set(e, ENOMEM, "out of memory");
	res->images = v;
	struct image_export_item *it = &v[res->n];
	memset(it, 0, sizeof(*it));
	it->name = strdup(name);
	it->target.media_type = strdup(d->media_type);
	memcpy(it->target.digest, d->digest, DIGEST_MAX);
	it->target.size = d->size;
	if (!it->name || !it->target.media_type) {
		free(it->name);
		free(it->target.media_type);
		return err_set(e, ENOMEM, "out of memory");
	}
	res->n++;
	return 0;
}

/* index.json: every entry with a name is an image. */
static int import_oci(struct import_ctx *ic, const char *base_name, struct image_import_result *res,
		      struct ember_error *e)
{
	struct index ix;

	if (index_parse(ic->index_json, ic->index_len, &ix, e) < 0)
		return err_wrap(e, "index.json");
	int r = 0;
	for (size_t i = 0; r == 0 && i < ix.n_manifests; i++) {
		struct descriptor *d = &ix.manifests[i];
		const char *full = json_string_value(json_object_get(d->annotations, "io.containerd.image.name"));
		const char *ref = json_string_value(json_object_get(d->annotations, "org.opencontainers.image.ref.name"));
		char name[600];
		if (full)
			snprintf(name, sizeof(name), "%s", full);
		else if (ref && strpbrk(ref, "/:@"))
			snprintf(name, sizeof(name), "%s", ref);
		else if (ref && base_name)
			snprintf(name, sizeof(name), "%s:%s", base_name, ref);
		else if (base_name)
			snprintf(name, sizeof(name), "%s@%s", base_name, d->digest);
		else {
			r = err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
					 "index.json: manifests[%zu] is named only \"%s\": give a base name (--base-name)",
					 i, ref ? ref : "");
			break;
		}
		if (content_blob_stat(ic->cs, d->digest, NULL, e) < 0) {
			r = err_wrap(e, "index.json: manifests[%zu]", i);
			break;
		}
		r = add_result(res, name, d, e);
	}
	index_done(&ix);
	return r;
}

/* docker-save's manifest.json: build an OCI manifest for each entry. */
static int import_docker(struct import_ctx *ic, struct image_import_result *res, struct ember_error *e)
{
	json_error_t je;
	json_t *list = json_loadb(ic->docker_json, ic->docker_len, JSON_REJECT_DUPLICATES, &je);
	size_t i;
	json_t *ent;
	int r = 0;

	if (!json_is_array(list)) {
		json_decref(list);
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "manifest.json: not a JSON array");
	}
	json_array_foreach(list, i, ent) {
		const char *cfg = json_string_value(json_object_get(ent, "Config"));
		json_t *layers = json_object_get(ent, "Layers"), *tags = json_object_get(ent, "RepoTags");
		const struct entry_blob *cb = cfg ? find_path(ic, cfg) : NULL;
		if (!cb || !json_is_array(layers)) {
			r = err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
					 "manifest.json[%zu]: its Config or Layers are missing from the archive", i);
			break;
		}
		json_t *ls = json_array();
		size_t k;
		json_t *lp;
		json_array_foreach(layers, k, lp) {
			const struct entry_blob *lb = json_is_string(lp) ? find_path(ic, json_string_value(lp)) : NULL;
			if (!lb) {
				r = err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
						 "manifest.json[%zu]: layer %zu is missing from the archive", i, k);
				break;
			}
			/* Compressed or not, as the bytes say: gzip starts with 1f 8b. */
			_cleanup_close_ int fd = -1;
			unsigned char magic[4] = { 0 };
			const char *mt = MT_OCI_LAYER;
			if (content_blob_open(ic->cs, lb->digest, &fd, e) == 0 && pread(fd, magic, 4, 0) == 4) {
				if (magic[0] == 0x1f && magic[1] == 0x8b)
					mt = MT_OCI_LAYER "+gzip";
				else if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
					mt = MT_OCI_LAYER "+zstd";
			}
			json_array_append_new(ls, json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", lb->digest,
							    "size", (json_int_t)lb->size));
		}
		if (r < 0) {
			json_decref(ls);
			break;
		}
		json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
				      MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest", cb->digest,
				      "size", (json_int_t)cb->size, "layers", ls);
		_cleanup_free_ char *text = json_dumps(m, JSON_COMPACT);
		json_decref(m);
		struct descriptor d = { .media_type = (char *)MT_OCI_MANIFEST };
		if (!text) {
			r = err_set(e, ENOMEM, "out of memory");
			break;
		}
		digest_buffer(text, strlen(text), d.digest);
		if (hold(ic, d.digest, e) < 0 || content_blob_put(ic->cs, text, strlen(text), NULL, d.digest, e) < 0) {
			r = -e->code;
			break;
		}
		d.size = (int64_t)strlen(text);
		if (ic->h && ic->h->stored)
			ic->h->stored(d.digest, d.size, 1, ic->h->userdata);
		size_t t;
		json_t *tag;
		json_array_foreach(tags, t, tag)
			if (json_is_string(tag) && (r = add_result(res, json_string_value(tag), &d, e)) < 0)
				break;
		if (r < 0)
			break;
		if (!json_array_size(tags)) {
			char name[100];
			snprintf(name, sizeof(name), "import@%s", d.digest);
			if ((r = add_result(res, name, &d, e)) < 0)
				break;
		}
	}
	json_decref(list);
	return r;
}

void image_import_result_done(struct image_import_result *res)
{
	for (size_t i = 0; i < res->n; i++) {
		free(res->images[i].name);
		free(res->images[i].target.media_type);
	}
	free(res->images);
	memset(res, 0, sizeof(*res));
}

int image_import(struct content_store *cs, int fd, const char *base_name, const struct image_import_hooks *hooks,
		 struct image_import_result *res, struct ember_error *e)
{
	struct import_ctx ic = { .cs = cs, .h = hooks, .fd = fd };
	int r;

	memset(res, 0, sizeof(*res));
	r = read_archive(&ic, e);
	if (r == 0) {
		if (ic.index_json)
			r = import_oci(&ic, base_name, res, e);
		else if (ic.docker_json)
			r = import_docker(&ic, res, e);
		else
			r = err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
					 "neither index.json (OCI layout) nor manifest.json (docker save) in the archive");
	}
	for (size_t i = 0; i < ic.n_blobs; i++)
		free(ic.blobs[i].path);
	free(ic.blobs);
	free(ic.index_json);
	free(ic.docker_json);
	if (r < 0) {
		image_import_result_done(res);
		return err_wrap(e, "import");
	}
	return 0;
}
