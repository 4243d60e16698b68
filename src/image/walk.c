/* SPDX-License-Identifier: Apache-2.0 */
/* Everything an image's target reaches: indexes, manifests, configs, layers. */
#include "image/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "content/content.h"
#include "util/err.h"

struct walk {
	struct content_store *cs;
	const struct platform *want;
	unsigned flags;
	image_walk_fn fn;
	void *userdata;
};

static int walk(const struct walk *w, const struct descriptor *d, int depth, struct ember_error *e)
{
	struct content_store *cs = w->cs;
	int64_t size;
	int present = content_blob_stat(cs, d->digest, &size, e) == 0 && size == d->size;
	int r = w->fn(d, present, w->userdata);

	if (r || !present || depth > 4)
		return r;
	enum mt_kind kind = image_media_kind(d->media_type);
	if (kind != MT_KIND_INDEX && kind != MT_KIND_MANIFEST)
		return 0;
	char *data;
	size_t len;
	if (content_blob_read(cs, d->digest, IMAGE_DOC_MAX, &data, &len, e) < 0)
		return -e->code;
	if (kind == MT_KIND_INDEX) {
		struct index ix;
		r = index_parse(data, len, &ix, e);
		if (r == 0 && w->want) {
			/* The platform's manifest only: an index rarely comes whole. */
			int i = index_select(&ix, w->want, e);
			r = i < 0 ? i : walk(w, &ix.manifests[i], depth + 1, e);
		}
		for (size_t i = 0; r == 0 && !w->want && i < ix.n_manifests; i++) {
			if ((w->flags & IMAGE_WALK_PRESENT) &&
			    content_blob_stat(cs, ix.manifests[i].digest, NULL, e) < 0)
				continue;
			r = walk(w, &ix.manifests[i], depth + 1, e);
		}
		index_done(&ix);
	} else {
		struct manifest m;
		r = manifest_parse(data, len, &m, e);
		if (r == 0)
			r = walk(w, &m.config, depth + 1, e);
		for (size_t i = 0; r == 0 && i < m.n_layers; i++)
			r = walk(w, &m.layers[i], depth + 1, e);
		manifest_done(&m);
	}
	free(data);
	return r;
}

int image_walk(struct content_store *cs, const struct descriptor *target, const struct platform *want,
	       unsigned flags, image_walk_fn fn, void *userdata, struct ember_error *e)
{
	struct walk w = { cs, want, flags, fn, userdata };
	return walk(&w, target, 0, e);
}
