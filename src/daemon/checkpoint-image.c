/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A checkpoint as an image (see tasks.h), laid out as containerd 1.6's
 * `ctr checkpoint` lays it out, so that it is pushed and pulled as any
 * image is: an OCI index whose entries are
 *
 *   the container's image manifest (with its platform): pulling the
 *     checkpoint brings the image's layers, unpacked as any pull does;
 *   the CRIU image directory as a tar (MT_CHECKPOINT_CRIU), ember.json
 *     (the external files, task-checkpoint.c) with it;
 *   the container's spec (MT_CHECKPOINT_CONFIG): a protobuf Any whose
 *     value is the spec's JSON, as containerd stores a container's spec;
 *   its rw layer (MT_CHECKPOINT_RW): the overlay upper directory as an OCI
 *     changeset tar, uncompressed;
 *
 * each blob entry with this device's platform, and containerd's annotations
 * naming the image, the runtime and the snapshotter. containerd also adds
 * its runtime's options (runc's protobuf): ember has none.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content/content.h"
#include "daemon/holds.h"
#include "daemon/images.h"
#include "daemon/tasks.h"
#include "image/image.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/pb.h"

#define ANN_IMAGE "org.opencontainers.image.ref.name"
#define ANN_RUNTIME "io.containerd.checkpoint.runtime"
#define ANN_SNAPSHOTTER "io.containerd.checkpoint.snapshotter"
#define RUNTIME_NAME "io.ember.v1"
/* google.protobuf.Any: type_url = 1, value = 2; containerd's spec type. */
#define ANY_TYPE_URL 1
#define ANY_VALUE 2
#define SPEC_TYPE_URL "types.containerd.io/opencontainers/runtime-spec/1/Spec"
#define SPEC_BLOB_MAX (4u << 20)

/* ---- the container's rw layer ---------------------------------------------------------- */

/* The directory that holds the container's own changes: the overlay
   snapshot's upper directory (or its only tree, when the image has no
   layers). The other snapshotters' trees are whole copies: refused. */
static int rw_dir(struct daemon *d, const char *ns, json_t *rec, struct snapshotter **snp, struct ember_error *e)
{
	const char *name = json_string_value(json_object_get(rec, "snapshotter"));
	const char *key = json_string_value(json_object_get(rec, "snapshot_key"));
	_cleanup_(json_decrefp) json_t *mounts = NULL;
	struct snapshotter *sn;

	if (!name || !key)
		return err_unsupported(e, "the container runs on a host directory (--rootfs), not an image");
	if (!(sn = snapshots_get(d, name, e)) || snapshot_mounts(sn, ns, key, &mounts, e) < 0)
		return -e->code;
	if (snp)
		*snp = sn;
	json_t *m = json_array_get(mounts, 0);
	const char *type = json_string_value(json_object_get(m, "type"));
	const char *dir = NULL;
	size_t i;
	json_t *o;
	if (strcmp(snapshot_name(sn), "overlay"))
		return err_unsupported(e, "its rw layer is an overlay snapshot's upper directory: snapshotter %s is "
					  "not supported", snapshot_name(sn));
	if (type && !strcmp(type, "bind"))
		dir = json_string_value(json_object_get(m, "source"));
	json_array_foreach(json_object_get(m, "options"), i, o)
		if (json_is_string(o) && !strncmp(json_string_value(o), "upperdir=", 9))
			dir = json_string_value(o) + 9;
	if (!dir)
		return err_set(e, EINVAL, "snapshot %s: no upper directory in its mounts", key);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? err_sys(e, errno, "snapshot %s: %s", key, dir) : fd;
}

int checkpoint_image_check(struct daemon *d, const char *ns, json_t *rec, struct ember_error *e)
{
	if (!json_string_value(json_object_get(rec, "image")))
		return err_unsupported(e, "checkpoint --image: the container runs on a host directory (--rootfs), "
					  "not an image");
	/* Its network namespace is in the dump, and a container made from
	   the image has no network to put its veth on. */
	if (!strcmp(json_string_value(json_object_get(json_object_get(rec, "network"), "mode")) ?: "", "bridge"))
		return err_unsupported(e, "checkpoint --image: the container is on a bridge network, which a container "
					  "made from the image would not have (checkpoint it with --image-path)");
	int fd = rw_dir(d, ns, rec, NULL, e);
	if (fd < 0)
		return err_wrap(e, "checkpoint --image");
	close(fd);
	return 0;
}

/* ---- writing ------------------------------------------------------------------------------- */

struct writer {
	struct daemon *d;
	struct hold *h;
	json_t *manifests;
	json_t *platform;
};

static int to_writer(const void *data, size_t len, void *userdata, struct ember_error *e)
{
	return content_writer_write(userdata, data, len, e);
}

/* An index entry for a blob of ours, with this device's platform. */
static int add_entry(struct writer *w, const char *media_type, const char *digest, int64_t size,
		     struct ember_error *e)
{
	json_t *desc = json_pack("{s:s, s:s, s:I, s:O}", "mediaType", media_type, "digest", digest, "size",
				 (json_int_t)size, "platform", w->platform);
	if (!desc || json_array_append_new(w->manifests, desc) < 0)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

/* A tree into the store as a tar blob, held before it is committed (the
   GC policy leaves it alone until the image record names it). */
static int put_tree(struct writer *w, int dir, unsigned flags, const char *media_type, struct ember_error *e)
{
	struct content_writer *cw;
	char digest[DIGEST_MAX];
	int64_t size;

	if (content_writer_open(&w->d->cs, &cw, e) < 0)
		return -e->code;
	if (image_tar_tree(dir, flags, to_writer, cw, e) < 0) {
		content_writer_abort(cw);
		return -e->code;
	}
	content_writer_sum(cw, digest, &size);
	if (hold_blob(w->h, digest) < 0) {
		content_writer_abort(cw);
		return err_set(e, ENOMEM, "out of memory");
	}
	if (content_writer_commit(cw, digest, digest, &size, e) < 0)
		return -e->code;
	return add_entry(w, media_type, digest, size, e);
}

static int put_data(struct writer *w, const void *data, size_t len, char digest[DIGEST_MAX], struct ember_error *e)
{
	digest_buffer(data, len, digest);
	if (hold_blob(w->h, digest) < 0)
		return err_set(e, ENOMEM, "out of memory");
	return content_blob_put(&w->d->cs, data, len, digest, NULL, e);
}

static int put_spec(struct writer *w, json_t *spec, struct ember_error *e)
{
	_cleanup_free_ char *text = json_dumps(spec, JSON_COMPACT);
	struct pb_buf b = { 0 };
	char digest[DIGEST_MAX];

	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	pb_put_string(&b, ANY_TYPE_URL, SPEC_TYPE_URL);
	pb_put_bytes(&b, ANY_VALUE, text, strlen(text));
	int r = b.failed ? err_set(e, ENOMEM, "out of memory") : put_data(w, b.data, b.len, digest, e);
	if (r == 0)
		r = add_entry(w, MT_CHECKPOINT_CONFIG, digest, (int64_t)b.len, e);
	pb_buf_done(&b);
	return r;
}

/* The image's manifest for this device (the entry an index of the image
   gives for it), so that the checkpoint is an image of its own. */
static int put_image(struct writer *w, const char *ns, const char *image, const struct platform *host,
		     struct ember_error *e)
{
	struct descriptor t;
	_cleanup_free_ char *data = NULL;
	size_t len;
	struct index ix;

	if (images_target(w->d, ns, image, &t, e) < 0)
		return -e->code;
	json_t *desc = NULL;
	if (image_media_kind(t.media_type) == MT_KIND_INDEX) {
		if (content_blob_read(&w->d->cs, t.digest, IMAGE_DOC_MAX, &data, &len, e) < 0 ||
		    index_parse(data, len, &ix, e) < 0) {
			descriptor_done(&t);
			return -e->code;
		}
		int i = index_select(&ix, host, e);
		if (i >= 0)
			desc = descriptor_to_json(&ix.manifests[i]);
		index_done(&ix);
		if (i < 0) {
			descriptor_done(&t);
			return err_wrap(e, "image %s", image);
		}
	} else {
		desc = descriptor_to_json(&t);
	}
	descriptor_done(&t);
	if (!desc)
		return err_set(e, ENOMEM, "out of memory");
	if (!json_object_get(desc, "platform"))
		json_object_set(desc, "platform", w->platform);
	if (json_array_append_new(w->manifests, desc) < 0)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

static int put_record(struct writer *w, const char *ns, const char *ref, json_t *index, struct ember_error *e)
{
	_cleanup_free_ char *text = json_dumps(index, JSON_COMPACT);
	_cleanup_free_ char *name = images_normalize(ref);
	struct descriptor t = { .media_type = (char *)MT_OCI_INDEX };
	json_t *old = NULL;
	struct ember_error ignored;

	if (!text || !name)
		return err_set(e, ENOMEM, "out of memory");
	t.size = (int64_t)strlen(text);
	if (put_data(w, text, strlen(text), t.digest, e) < 0)
		return -e->code;
	(void)meta_object_get(&w->d->meta, ns, "images", "image", name, &old, &ignored);
	json_t *rec = images_record(name, &t, NULL, old);
	json_decref(old);
	if (!rec)
		return err_set(e, ENOMEM, "out of memory");
	int r = meta_object_put(&w->d->meta, ns, "images", name, rec, e);
	json_decref(rec);
	return r;
}

int checkpoint_image_write(struct daemon *d, const char *ns, json_t *rec, int images_fd, const char *ref,
			   struct ember_error *e)
{
	struct platform host;
	struct writer w = { .d = d, .h = hold_new(d->holds), .manifests = json_array() };
	const char *image = json_string_value(json_object_get(rec, "image"));
	struct snapshotter *sn = NULL;
	_cleanup_close_ int rw = -1;
	int r;

	platform_default(&host);
	w.platform = json_pack("{s:s, s:s}", "os", host.os, "architecture", host.arch);
	if (!w.h || !w.manifests || !w.platform || !image) {
		r = image ? err_set(e, ENOMEM, "out of memory") : err_unsupported(e, "the container has no image");
		goto out;
	}
	rw = rw_dir(d, ns, rec, &sn, e);
	if ((r = rw) < 0 || (r = put_image(&w, ns, image, &host, e)) < 0 ||
	    (r = put_tree(&w, images_fd, 0, MT_CHECKPOINT_CRIU, e)) < 0 ||
	    (r = put_spec(&w, json_object_get(rec, "spec"), e)) < 0 ||
	    (r = put_tree(&w, rw, IMAGE_TAR_OVERLAY, MT_CHECKPOINT_RW, e)) < 0)
		goto out;
	json_t *index = json_pack("{s:i, s:s, s:O, s:{s:s, s:s, s:s}}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
				  "manifests", w.manifests, "annotations", ANN_IMAGE, image, ANN_RUNTIME, RUNTIME_NAME,
				  ANN_SNAPSHOTTER, snapshot_name(sn));
	r = index ? put_record(&w, ns, ref, index, e) : err_set(e, ENOMEM, "out of memory");
	json_decref(index);
out:
	hold_release(w.h);
	json_decref(w.manifests);
	json_decref(w.platform);
	return r < 0 ? err_wrap(e, "checkpoint image %s", ref) : 0;
}

/* ---- reading ---------------------------------------------------------------------------------- */

void checkpoint_image_done(struct checkpoint_image *ck)
{
	json_decref(ck->spec);
	memset(ck, 0, sizeof(*ck));
}

/* The spec from containerd's Any. */
static int read_spec(struct daemon *d, const char *digest, json_t **out, struct ember_error *e)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	struct pb_reader rd;
	struct pb_field f;
	const uint8_t *value = NULL;
	size_t value_len = 0;
	int typed = 0, r;

	if (content_blob_read(&d->cs, digest, SPEC_BLOB_MAX, &data, &len, e) < 0)
		return -e->code;
	pb_reader_init(&rd, data, len);
	while ((r = pb_next(&rd, &f, e)) > 0) {
		if (f.num == ANY_TYPE_URL && f.wire == PB_LEN)
			typed = f.len == strlen(SPEC_TYPE_URL) && !memcmp(f.data, SPEC_TYPE_URL, f.len);
		else if (f.num == ANY_VALUE && f.wire == PB_LEN)
			value = f.data, value_len = f.len;
	}
	if (r < 0)
		return err_wrap(e, "its spec");
	if (!typed || !value)
		return err_invalid(e, "its spec is not a %s", SPEC_TYPE_URL);
	json_error_t je;
	*out = json_loadb((const char *)value, value_len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return err_invalid(e, "its spec: not a JSON object (%s)", je.text);
	}
	return 0;
}

static void take(struct checkpoint_blob *b, const struct descriptor *d)
{
	memcpy(b->digest, d->digest, sizeof(b->digest));
	b->size = d->size;
}

int checkpoint_image_load(struct daemon *d, const char *ns, const char *ref, struct checkpoint_image *ck,
			  struct ember_error *e)
{
	_cleanup_free_ char *name = images_normalize(ref);
	_cleanup_free_ char *data = NULL;
	struct checkpoint_blob cfg = { 0 };
	struct descriptor t;
	struct platform host;
	struct index ix;
	size_t len;
	const struct descriptor *criu = NULL;

	memset(ck, 0, sizeof(*ck));
	if (!name)
		return err_set(e, ENOMEM, "out of memory");
	if (images_target(d, ns, name, &t, e) < 0)
		return -e->code;
	int is_index = image_media_kind(t.media_type) == MT_KIND_INDEX;
	int r = is_index ? content_blob_read(&d->cs, t.digest, IMAGE_DOC_MAX, &data, &len, e) : 0;
	descriptor_done(&t);
	if (!is_index)
		return err_invalid(e, "%s is not a checkpoint: an image manifest, not an index", name);
	if (r < 0 || index_parse(data, len, &ix, e) < 0)
		return -e->code;
	for (size_t i = 0; i < ix.n_manifests; i++) {
		const struct descriptor *m = &ix.manifests[i];
		if (!strcasecmp(m->media_type, MT_CHECKPOINT_CRIU))
			criu = m;
		else if (!strcasecmp(m->media_type, MT_CHECKPOINT_CONFIG))
			take(&cfg, m);
		else if (!strcasecmp(m->media_type, MT_CHECKPOINT_RW))
			take(&ck->rw, m);
	}
	if (!criu || !cfg.digest[0]) {
		index_done(&ix);
		return err_invalid(e, "%s is not a checkpoint: its index has no %s", name,
				   criu ? MT_CHECKPOINT_CONFIG : MT_CHECKPOINT_CRIU);
	}
	take(&ck->criu, criu);
	platform_default(&host);
	if (criu->platform) {
		struct platform p = *criu->platform;
		platform_normalize(&p);
		if (strcmp(p.os, host.os) || strcmp(p.arch, host.arch)) {
			index_done(&ix);
			return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ENOEXEC,
					    "%s is a checkpoint taken on %s/%s: CRIU restores it only there (this is "
					    "%s/%s)", name, p.os, p.arch, host.os, host.arch);
		}
	}
	index_done(&ix);
	if (read_spec(d, cfg.digest, &ck->spec, e) < 0)
		return err_wrap(e, "checkpoint %s", name);
	return 0;
}

/* ---- a new container's rw layer and CRIU images -------------------------------------------- */

static int unpack_blob(struct daemon *d, const struct checkpoint_blob *b, int dir, int whiteouts,
		       struct ember_error *e)
{
	int fd;
	struct unpack_options o = {
		.whiteouts = whiteouts, .compression = LAYER_TAR, .same_owner = 1, .devices = 1,
	};

	if (content_blob_open(&d->cs, b->digest, &fd, e) < 0)
		return -e->code;
	int r = image_unpack(fd, dir, &o, NULL, e);
	close(fd);
	return r;
}

int checkpoint_image_unpack(struct daemon *d, const char *ns, json_t *rec, const struct checkpoint_image *ck,
			    const char *images_path, struct ember_error *e)
{
	struct snapshotter *sn;

	if (ck->rw.digest[0]) {
		_cleanup_close_ int rw = rw_dir(d, ns, rec, &sn, e);
		if (rw < 0 || unpack_blob(d, &ck->rw, rw, snapshot_whiteouts(sn), e) < 0)
			return err_wrap(e, "its rw layer");
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", images_path);
	char *slash = strrchr(parent, '/');
	if (slash)
		*slash = 0;
	if (fs_mkdir_p(parent, 0700, e) < 0)
		return -e->code;
	/* A directory there is a checkpoint of an earlier container of this
	   id: the user's to keep or remove. */
	if (mkdir(images_path, 0700) < 0)
		return errno == EEXIST ? err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST,
						       "%s exists (an earlier checkpoint: remove it, or restore under "
						       "another id)", images_path)
				       : err_sys(e, errno, "%s", images_path);
	_cleanup_close_ int dir = open(images_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 || unpack_blob(d, &ck->criu, dir, UNPACK_WHITEOUT_DELETE, e) < 0) {
		if (dir < 0)
			err_sys(e, errno, "%s", images_path);
		struct ember_error ignored;
		(void)fs_remove_tree(AT_FDCWD, images_path, &ignored);
		return err_wrap(e, "its CRIU images");
	}
	return 0;
}
