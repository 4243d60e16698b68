/* SPDX-License-Identifier: Apache-2.0 */
/* An image's layers: from its manifest and config in the store, with the chain IDs its snapshots are keyed by. */
#include "image/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content/content.h"
#include "util/err.h"

int image_chain_ids(const char (*diff_ids)[DIGEST_MAX], size_t n, char (*chain)[DIGEST_MAX], struct ember_error *e)
{
	for (size_t i = 0; i < n; i++) {
		if (digest_check(diff_ids[i], e) < 0)
			return err_wrap(e, "diff_ids[%zu]", i);
		if (i == 0) {
			memcpy(chain[0], diff_ids[0], DIGEST_MAX);
			continue;
		}
		char buf[2 * DIGEST_MAX + 2];
		int len = snprintf(buf, sizeof(buf), "%s %s", chain[i - 1], diff_ids[i]);
		digest_buffer(buf, (size_t)len, chain[i]);
	}
	return 0;
}

void image_layers_done(struct image_layers *l)
{
	for (size_t i = 0; l->layers && i < l->n; i++)
		descriptor_done(&l->layers[i]);
	free(l->layers);
	free(l->diff_ids);
	free(l->chain);
	json_decref(l->config);
	memset(l, 0, sizeof(*l));
}

/* Room for n layers; descriptors zeroed. */
static int layers_alloc(struct image_layers *l, size_t n, struct ember_error *e)
{
	memset(l, 0, sizeof(*l));
	l->n = n;
	l->layers = calloc(n + 1, sizeof(*l->layers));
	l->diff_ids = malloc((n + 1) * DIGEST_MAX);
	l->chain = malloc((n + 1) * DIGEST_MAX);
	if (!l->layers || !l->diff_ids || !l->chain) {
		image_layers_done(l);
		return err_set(e, ENOMEM, "out of memory");
	}
	return 0;
}

/* Layer i's descriptor: digest, size and media type (the rest is not needed). */
static int layer_set(struct image_layers *l, size_t i, const struct descriptor *d, struct ember_error *e)
{
	memcpy(l->layers[i].digest, d->digest, DIGEST_MAX);
	l->layers[i].size = d->size;
	l->layers[i].media_type = strdup(d->media_type ? d->media_type : "");
	return l->layers[i].media_type ? 0 : err_set(e, ENOMEM, "out of memory");
}

int image_layers_from(const struct manifest *m, const struct image_config *c, struct image_layers *out,
		      struct ember_error *e)
{
	struct image_layers l;

	memset(out, 0, sizeof(*out));
	if (m->n_layers != c->n_diff_ids)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
				    "the manifest has %zu layers, its config %zu diff_ids", m->n_layers, c->n_diff_ids);
	if (layers_alloc(&l, m->n_layers, e) < 0)
		return -e->code;
	for (size_t i = 0; i < l.n; i++) {
		memcpy(l.diff_ids[i], c->diff_ids[i], DIGEST_MAX);
		if (layer_set(&l, i, &m->layers[i], e) < 0) {
			image_layers_done(&l);
			return -e->code;
		}
	}
	if (image_chain_ids((const char(*)[DIGEST_MAX])l.diff_ids, l.n, l.chain, e) < 0) {
		image_layers_done(&l);
		return err_wrap(e, "image config");
	}
	*out = l;
	return 0;
}

int image_layers_copy(const struct image_layers *l, struct image_layers *out, struct ember_error *e)
{
	if (layers_alloc(out, l->n, e) < 0)
		return -e->code;
	memcpy(out->diff_ids, l->diff_ids, l->n * DIGEST_MAX);
	memcpy(out->chain, l->chain, l->n * DIGEST_MAX);
	memcpy(out->manifest, l->manifest, DIGEST_MAX);
	out->config = json_incref(l->config);
	for (size_t i = 0; i < l->n; i++)
		if (layer_set(out, i, &l->layers[i], e) < 0) {
			image_layers_done(out);
			return -e->code;
		}
	return 0;
}

int image_layers_load(struct content_store *cs, const struct descriptor *target, const struct platform *want,
		      struct image_layers *out, struct ember_error *e)
{
	char *data = NULL;
	size_t len;
	enum mt_kind kind;
	const char *mt;
	char digest[DIGEST_MAX];
	struct platform host;

	memcpy(digest, target->digest, DIGEST_MAX);
	if (!want) {
		platform_default(&host);
		want = &host;
	}
	if (content_blob_read(cs, digest, IMAGE_DOC_MAX, &data, &len, e) < 0)
		return -e->code;
	if (image_document_kind(data, len, target->media_type, &kind, &mt, e) < 0) {
		free(data);
		return -e->code;
	}
	if (kind == MT_KIND_INDEX) {
		struct index ix;
		int r = index_parse(data, len, &ix, e);
		free(data);
		data = NULL;
		if (r < 0)
			return r;
		int i = index_select(&ix, want, e);
		if (i >= 0)
			memcpy(digest, ix.manifests[i].digest, DIGEST_MAX);
		index_done(&ix);
		if (i < 0)
			return i;
		if (content_blob_read(cs, digest, IMAGE_DOC_MAX, &data, &len, e) < 0)
			return -e->code;
	} else if (kind != MT_KIND_MANIFEST) {
		free(data);
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, ENOTSUP, "%s is a \"%.80s\", not an image", digest, mt);
	}
	struct manifest m;
	int r = manifest_parse(data, len, &m, e);
	free(data);
	if (r < 0)
		return err_wrap(e, "manifest %s", digest);
	struct image_config c;
	r = content_blob_read(cs, m.config.digest, IMAGE_DOC_MAX, &data, &len, e);
	if (r == 0) {
		r = image_config_parse(data, len, &c, e);
		free(data);
		if (r == 0) {
			r = image_layers_from(&m, &c, out, e);
			if (r == 0) {
				out->config = json_incref(c.config);
				out->platform = c.platform;
			}
			image_config_done(&c);
		}
		if (r < 0)
			err_wrap(e, "config %s", m.config.digest);
	}
	manifest_done(&m);
	if (r == 0)
		memcpy(out->manifest, digest, DIGEST_MAX);
	return r;
}

struct complete_ctx {
	char *missing;
};

static int note_missing(const struct descriptor *desc, int present, void *userdata)
{
	struct complete_ctx *cc = userdata;

	if (!present && !cc->missing[0])
		memcpy(cc->missing, desc->digest, DIGEST_MAX);
	return 0;
}

int image_check_complete(struct content_store *cs, const struct descriptor *target, char missing[DIGEST_MAX],
			 struct ember_error *e)
{
	struct complete_ctx cc = { missing };

	missing[0] = '\0';
	/* An archive holds the platforms it holds, but each of them whole. */
	return image_walk(cs, target, NULL, IMAGE_WALK_PRESENT, note_missing, &cc, e);
}
