/* SPDX-License-Identifier: Apache-2.0 */
/* Everything an image's target reaches: indexes, manifests, configs, layers. */
#include "image/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "content/content.h"
#include "util/err.h"

static int walk(struct content_store *cs, const struct descriptor *d, int depth, image_walk_fn fn,
		void *userdata, struct ember_error *e)
{
	int64_t size;
	int present = content_blob_stat(cs, d->digest, &size, e) == 0 && size == d->size;
	int r = fn(d, present, userdata);

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
		for (size_t i = 0; r == 0 && i < ix.n_manifests; i++)
			r = walk(cs, &ix.manifests[i], depth + 1, fn, userdata, e);
		index_done(&ix);
	} else {
		struct manifest m;
		r = manifest_parse(data, len, &m, e);
		if (r == 0)
			r = walk(cs, &m.config, depth + 1, fn, userdata, e);
		for (size_t i = 0; r == 0 && i < m.n_layers; i++)
			r = walk(cs, &m.layers[i], depth + 1, fn, userdata, e);
		manifest_done(&m);
	}
	free(data);
	return r;
}

int image_walk(struct content_store *cs, const struct descriptor *target, image_walk_fn fn, void *userdata,
	       struct ember_error *e)
{
	return walk(cs, target, 0, fn, userdata, e);
}
