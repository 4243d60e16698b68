/* SPDX-License-Identifier: Apache-2.0 */
#include "image/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image/image-internal.h"
#include "util/cleanup.h"
#include "util/err.h"

#define _cleanup_json_ _cleanup_(json_decrefp)

#define SCHEMA1_MESSAGE \
	"Docker schema 1 manifests are not supported (deprecated); re-push the image with a current tool"

/* ---- errors ---- */

static int oom(struct ember_error *e)
{
	return err_set_name(e, EMBER_ERROR_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
}

/* ---- media types ---- */

static const struct media_type {
	const char *name;
	enum mt_kind kind;
	enum layer_compression compression;
} media_types[] = {
	{ MT_OCI_INDEX, MT_KIND_INDEX, LAYER_TAR },
	{ MT_DOCKER_LIST, MT_KIND_INDEX, LAYER_TAR },
	{ MT_OCI_MANIFEST, MT_KIND_MANIFEST, LAYER_TAR },
	{ MT_DOCKER_MANIFEST, MT_KIND_MANIFEST, LAYER_TAR },
	{ MT_OCI_CONFIG, MT_KIND_CONFIG, LAYER_TAR },
	{ MT_DOCKER_CONFIG, MT_KIND_CONFIG, LAYER_TAR },
	{ MT_OCI_LAYER, MT_KIND_LAYER, LAYER_TAR },
	{ MT_OCI_LAYER_GZIP, MT_KIND_LAYER, LAYER_GZIP },
	{ MT_OCI_LAYER_ZSTD, MT_KIND_LAYER, LAYER_ZSTD },
	{ MT_OCI_LAYER_ND, MT_KIND_LAYER, LAYER_TAR },
	{ MT_OCI_LAYER_ND_GZIP, MT_KIND_LAYER, LAYER_GZIP },
	{ MT_OCI_LAYER_ND_ZSTD, MT_KIND_LAYER, LAYER_ZSTD },
	{ MT_DOCKER_LAYER, MT_KIND_LAYER, LAYER_GZIP },
	{ MT_DOCKER_LAYER_FOREIGN, MT_KIND_LAYER, LAYER_GZIP },
	{ MT_DOCKER_LAYER_TAR, MT_KIND_LAYER, LAYER_TAR },
	{ MT_DOCKER_LAYER_FOREIGN_TAR, MT_KIND_LAYER, LAYER_TAR },
};

static const struct media_type *mt_lookup(const char *s)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(media_types); i++)
		if (strcasecmp(s, media_types[i].name) == 0)
			return &media_types[i];
	return NULL;
}

static int is_schema1(const char *s)
{
	return !strcasecmp(s, MT_DOCKER_SCHEMA1) || !strcasecmp(s, MT_DOCKER_SCHEMA1_SIGNED);
}

static const char *kind_name(enum mt_kind k)
{
	switch (k) {
	case MT_KIND_INDEX:
		return "an index";
	case MT_KIND_MANIFEST:
		return "a manifest";
	case MT_KIND_CONFIG:
		return "an image config";
	case MT_KIND_LAYER:
		return "a layer";
	case MT_KIND_UNKNOWN:
		break;
	}
	return "unknown";
}

enum mt_kind image_media_kind(const char *media_type)
{
	const struct media_type *m = mt_lookup(media_type);

	return m ? m->kind : MT_KIND_UNKNOWN;
}

int image_media_is_checkpoint(const char *media_type)
{
	return media_type && !strncasecmp(media_type, MT_CHECKPOINT_PREFIX, strlen(MT_CHECKPOINT_PREFIX));
}

int image_layer_compression(const char *media_type, enum layer_compression *c, struct ember_error *e)
{
	const struct media_type *m = mt_lookup(media_type);
	char q[IMAGE_QUOTE_MAX];

	if (!m || m->kind != MT_KIND_LAYER) {
		if (media_type && strstr(media_type, "+encrypted"))
			return image_unsupported(e, "encrypted layers are not supported (\"%s\")",
						 image_quote(media_type, q));
		return image_unsupported(e, "unsupported layer media type \"%s\"", image_quote(media_type, q));
	}
	*c = m->compression;
	return 0;
}

/* RFC 6838 §4.2: type "/" subtype, each a restricted-name of 1..127
   characters starting with a letter or digit. */
static int restricted_name(const char *s, size_t n)
{
	if (n == 0 || n > 127)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || !strchr("!#$&-^_.+", c)))
			return 0;
	}
	return 1;
}

static int media_type_valid(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash && restricted_name(s, slash - s) && restricted_name(slash + 1, strlen(slash + 1));
}

/* ---- JSON helpers ---- */

/* Nesting depth without recursion, before jansson (which recurses to 2048
   levels, too deep for a 128 KiB musl thread stack) sees the text. */
static int depth_ok(const char *s, size_t len, int max)
{
	int depth = 0, in_string = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 0;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return 1;
}

/* One JSON object; errors carry no document prefix (callers wrap). */
static int doc_load(const char *data, size_t len, json_t **out, struct ember_error *e)
{
	char q[IMAGE_QUOTE_MAX];
	json_error_t je;

	*out = NULL;
	if (!data && len)
		return image_bad(e, "no data");
	if (len > IMAGE_DOC_MAX)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EMSGSIZE,
				    "%zu bytes, more than the limit of %zu (CONFIG_PULL_MAX_MANIFEST_KIB)", len,
				    IMAGE_DOC_MAX);
	if (!depth_ok(data, len, IMAGE_JSON_MAX_DEPTH))
		return image_bad(e, "JSON nested deeper than %d levels", IMAGE_JSON_MAX_DEPTH);
	json_t *j = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return image_bad(e, "invalid JSON at line %d column %d: %s", je.line, je.column,
				 image_quote(je.text, q));
	if (!json_is_object(j)) {
		json_decref(j);
		return image_bad(e, "not a JSON object");
	}
	*out = j;
	return 0;
}

/* "where.key", or "key" at the top level. */
static const char *join(char *buf, size_t size, const char *where, const char *key)
{
	snprintf(buf, size, "%s%s%s", where, where[0] ? "." : "", key);
	return buf;
}

static int check_string_map(json_t *obj, const char *what, struct ember_error *e)
{
	char q[IMAGE_QUOTE_MAX];
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return image_bad(e, "%s: not an object", what);
	json_object_foreach(obj, key, v) {
		if (!json_is_string(v))
			return image_bad(e, "%s[\"%s\"]: not a string", what, image_quote(key, q));
	}
	return 0;
}

/* An optional string map; null is absent. *out gets a new reference. */
static int get_annotations(json_t *obj, const char *where, json_t **out, struct ember_error *e)
{
	char what[128];
	json_t *v = json_object_get(obj, "annotations");
	int r;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	r = check_string_map(v, join(what, sizeof(what), where, "annotations"), e);
	if (r < 0)
		return r;
	*out = json_incref(v);
	return 0;
}

static int check_digest(json_t *v, const char *what, char out[DIGEST_MAX], struct ember_error *e)
{
	char q[IMAGE_QUOTE_MAX];

	if (!v)
		return image_bad(e, "%s: missing", what);
	if (!json_is_string(v))
		return image_bad(e, "%s: not a string", what);
	const char *s = json_string_value(v);
	/* digest_check() quotes its input; keep the message one line. */
	for (const char *c = s; *c; c++)
		if (*c <= 0x20 || *c > 0x7e)
			return image_bad(e, "%s: malformed digest \"%s\"", what, image_quote(s, q));
	int r = digest_check(s, e);
	if (r < 0)
		return err_wrap(e, "%s", what);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int check_schema_version(json_t *root, struct ember_error *e)
{
	json_t *v = json_object_get(root, "schemaVersion");

	if (!v)
		return image_bad(e, "schemaVersion: missing");
	if (!json_is_integer(v))
		return image_bad(e, "schemaVersion: not an integer");
	json_int_t n = json_integer_value(v);
	if (n == 1)
		return image_unsupported(e, SCHEMA1_MESSAGE);
	if (n != 2)
		return image_unsupported(e, "schemaVersion: %lld is not supported (want 2)", (long long)n);
	return 0;
}

/* The document's own mediaType: absent (*out = NULL) or a known type of
   kind want (*out = its static name). */
static int doc_media_type(json_t *root, enum mt_kind want, const char **out, struct ember_error *e)
{
	char q[IMAGE_QUOTE_MAX];
	json_t *v = json_object_get(root, "mediaType");

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return image_bad(e, "mediaType: not a string");
	const char *s = json_string_value(v);
	if (is_schema1(s))
		return image_unsupported(e, SCHEMA1_MESSAGE);
	const struct media_type *m = mt_lookup(s);
	if (!m)
		return image_unsupported(e, "mediaType: unsupported media type \"%s\"", image_quote(s, q));
	if (m->kind != want)
		return image_bad(e, "mediaType: \"%s\" is %s, not %s", m->name, kind_name(m->kind), kind_name(want));
	*out = m->name;
	return 0;
}

/* ---- descriptors ---- */

void descriptor_done(struct descriptor *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->platform);
	json_decref(d->annotations);
	memset(d, 0, sizeof(*d));
}

static int descriptor_fill(json_t *obj, const char *where, struct descriptor *d, struct ember_error *e)
{
	char what[128], q[IMAGE_QUOTE_MAX];
	json_t *v;
	int r;

	if (!json_is_object(obj))
		return image_bad(e, "%s: not an object", where);

	join(what, sizeof(what), where, "mediaType");
	v = json_object_get(obj, "mediaType");
	if (!v || json_is_null(v))
		return image_bad(e, "%s: missing", what);
	if (!json_is_string(v))
		return image_bad(e, "%s: not a string", what);
	if (!media_type_valid(json_string_value(v)))
		return image_bad(e, "%s: malformed media type \"%s\"", what, image_quote(json_string_value(v), q));
	d->media_type = strdup(json_string_value(v));
	if (!d->media_type)
		return oom(e);

	r = check_digest(json_object_get(obj, "digest"), join(what, sizeof(what), where, "digest"), d->digest, e);
	if (r < 0)
		return r;

	join(what, sizeof(what), where, "size");
	v = json_object_get(obj, "size");
	if (!v)
		return image_bad(e, "%s: missing", what);
	if (!json_is_integer(v))
		return image_bad(e, "%s: not an integer", what);
	json_int_t size = json_integer_value(v);
	if (size < 0 || size > IMAGE_MAX_SIZE)
		return image_bad(e, "%s: %lld is out of range (0 to 2^53)", what, (long long)size);
	d->size = size;

	v = json_object_get(obj, "platform");
	if (v && !json_is_null(v)) {
		struct platform p;
		r = platform_from_json(v, join(what, sizeof(what), where, "platform"), &p, e);
		if (r < 0)
			return r;
		d->platform = malloc(sizeof(*d->platform));
		if (!d->platform)
			return oom(e);
		*d->platform = p;
	}
	return get_annotations(obj, where, &d->annotations, e);
}

int descriptor_parse(json_t *obj, const char *where, struct descriptor *d, struct ember_error *e)
{
	memset(d, 0, sizeof(*d));
	int r = descriptor_fill(obj, where, d, e);
	if (r < 0)
		descriptor_done(d);
	return r;
}

json_t *descriptor_to_json(const struct descriptor *d)
{
	_cleanup_json_ json_t *o = json_object();

	if (!o || !d->media_type)
		return NULL;
	if (json_object_set_new(o, "mediaType", json_string(d->media_type)) < 0 ||
	    json_object_set_new(o, "digest", json_string(d->digest)) < 0 ||
	    json_object_set_new(o, "size", json_integer(d->size)) < 0)
		return NULL;
	if (d->platform && json_object_set_new(o, "platform", platform_to_json(d->platform)) < 0)
		return NULL;
	if (d->annotations && json_object_set_new(o, "annotations", json_deep_copy(d->annotations)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

/* An array of at most max descriptors, "key[i]" in errors. */
static int descriptor_array(json_t *root, const char *key, size_t max, struct descriptor **out, size_t *n_out,
			    struct ember_error *e)
{
	char where[64];
	json_t *arr = json_object_get(root, key);

	if (!arr)
		return image_bad(e, "%s: missing", key);
	if (!json_is_array(arr))
		return image_bad(e, "%s: not an array", key);
	size_t n = json_array_size(arr);
	if (n > max)
		return image_bad(e, "%s: %zu entries, more than the limit of %zu", key, n, max);
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return oom(e);
	for (size_t i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		int r = descriptor_parse(json_array_get(arr, i), where, &(*out)[i], e);
		if (r < 0)
			return r;
		*n_out = i + 1;
	}
	return 0;
}

/* ---- manifests ---- */

void manifest_done(struct manifest *m)
{
	if (!m)
		return;
	descriptor_done(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_done(&m->layers[i]);
	free(m->layers);
	json_decref(m->annotations);
	memset(m, 0, sizeof(*m));
}

static int manifest_fill(json_t *root, struct manifest *m, struct ember_error *e)
{
	int r;

	if ((r = check_schema_version(root, e)) < 0)
		return r;
	m->schema_version = 2;
	if ((r = doc_media_type(root, MT_KIND_MANIFEST, &m->media_type, e)) < 0)
		return r;
	/* A document that is both would be read differently by others. */
	if (json_object_get(root, "manifests"))
		return image_bad(e, "manifests: not allowed in a manifest (an index?)");
	json_t *config = json_object_get(root, "config");
	if (!config)
		return image_bad(e, "config: missing");
	if ((r = descriptor_parse(config, "config", &m->config, e)) < 0)
		return r;
	if ((r = descriptor_array(root, "layers", IMAGE_MAX_LAYERS, &m->layers, &m->n_layers, e)) < 0)
		return r;
	if ((r = get_annotations(root, "", &m->annotations, e)) < 0)
		return r;
	if (!m->media_type)
		m->media_type = strcasecmp(m->config.media_type, MT_DOCKER_CONFIG) == 0 ? MT_DOCKER_MANIFEST
										   : MT_OCI_MANIFEST;
	return 0;
}

int manifest_parse(const char *data, size_t len, struct manifest *m, struct ember_error *e)
{
	_cleanup_json_ json_t *root = NULL;

	memset(m, 0, sizeof(*m));
	int r = doc_load(data, len, &root, e);
	if (r >= 0)
		r = manifest_fill(root, m, e);
	if (r < 0) {
		manifest_done(m);
		return err_wrap(e, "manifest");
	}
	return 0;
}

/* ---- indexes ---- */

void index_done(struct index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->n_manifests; i++)
		descriptor_done(&ix->manifests[i]);
	free(ix->manifests);
	json_decref(ix->annotations);
	memset(ix, 0, sizeof(*ix));
}

static int index_fill(json_t *root, struct index *ix, struct ember_error *e)
{
	int r;

	if ((r = check_schema_version(root, e)) < 0)
		return r;
	ix->schema_version = 2;
	if ((r = doc_media_type(root, MT_KIND_INDEX, &ix->media_type, e)) < 0)
		return r;
	if (json_object_get(root, "layers"))
		return image_bad(e, "layers: not allowed in an index (a manifest?)");
	if (json_object_get(root, "config"))
		return image_bad(e, "config: not allowed in an index (a manifest?)");
	r = descriptor_array(root, "manifests", IMAGE_MAX_MANIFESTS, &ix->manifests, &ix->n_manifests, e);
	if (r < 0)
		return r;
	if ((r = get_annotations(root, "", &ix->annotations, e)) < 0)
		return r;
	if (!ix->media_type)
		ix->media_type = MT_OCI_INDEX;
	return 0;
}

int index_parse(const char *data, size_t len, struct index *ix, struct ember_error *e)
{
	_cleanup_json_ json_t *root = NULL;

	memset(ix, 0, sizeof(*ix));
	int r = doc_load(data, len, &root, e);
	if (r >= 0)
		r = index_fill(root, ix, e);
	if (r < 0) {
		index_done(ix);
		return err_wrap(e, "index");
	}
	return 0;
}

static int is_attestation(const struct descriptor *d)
{
	json_t *t = d->annotations ? json_object_get(d->annotations, "vnd.docker.reference.type") : NULL;

	if (t && json_is_string(t) && strcmp(json_string_value(t), "attestation-manifest") == 0)
		return 1;
	return d->platform && !strcmp(d->platform->os, "unknown") && !strcmp(d->platform->arch, "unknown");
}

/* Image manifests, as opposed to nested indexes, schema 1, artifacts and
   BuildKit's attestation manifests. */
static int selectable(const struct descriptor *d)
{
	return image_media_kind(d->media_type) == MT_KIND_MANIFEST && !is_attestation(d);
}

int index_select(const struct index *ix, const struct platform *want, struct ember_error *e)
{
	size_t n_images = 0;
	int best = -1, best_score = 0;

	for (size_t i = 0; i < ix->n_manifests; i++)
		n_images += selectable(&ix->manifests[i]);
	for (size_t i = 0; i < ix->n_manifests; i++) {
		const struct descriptor *d = &ix->manifests[i];
		int score;

		if (!selectable(d))
			continue;
		if (d->platform)
			score = platform_match(want, d->platform);
		else
			score = n_images == 1; /* the lone image of a platformless index */
		if (score > best_score) {
			best = (int)i;
			best_score = score;
		}
	}
	if (best >= 0)
		return best;

	/* "has: a, b, c": each (normalised) platform once, cut to fit the
	   message. O(n²) in the entries, on this error path only. */
	char has[240], ps[PLATFORM_STRING_MAX], ws[PLATFORM_STRING_MAX];
	size_t len = 0;
	int cut = 0;

	has[0] = '\0';
	for (size_t i = 0; i < ix->n_manifests && !cut; i++) {
		const struct descriptor *d = &ix->manifests[i];
		int seen = 0;

		if (!d->platform || !selectable(d))
			continue;
		struct platform p = *d->platform;
		platform_normalize(&p);
		for (size_t j = 0; j < i && !seen; j++) {
			const struct descriptor *o = &ix->manifests[j];
			if (!o->platform || !selectable(o))
				continue;
			struct platform op = *o->platform;
			platform_normalize(&op);
			seen = platform_equal(&op, &p);
		}
		if (seen)
			continue;
		platform_string(&p, ps);
		if (len + strlen(ps) + 2 + 5 >= sizeof(has)) {
			cut = 1;
			break;
		}
		len += snprintf(has + len, sizeof(has) - len, "%s%s", len ? ", " : "", ps);
	}
	if (cut)
		snprintf(has + len, sizeof(has) - len, ", ...");
	struct platform w = *want;
	platform_normalize(&w);
	return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "no manifest for platform %s in index (has: %s)",
			    platform_string(&w, ws), len ? has : "none");
}

/* ---- image configs ---- */

void image_config_done(struct image_config *c)
{
	if (!c)
		return;
	free(c->diff_ids);
	json_decref(c->config);
	memset(c, 0, sizeof(*c));
}

enum field_type { F_STRING, F_STRINGS, F_STRING_MAP, F_OBJECT };

/* The parts of "config" that ember turns into a runtime spec. */
static const struct {
	const char *key;
	enum field_type type;
} config_fields[] = {
	{ "User", F_STRING },        { "WorkingDir", F_STRING },     { "StopSignal", F_STRING },
	{ "Env", F_STRINGS },        { "Entrypoint", F_STRINGS },    { "Cmd", F_STRINGS },
	{ "Labels", F_STRING_MAP },  { "ExposedPorts", F_OBJECT },   { "Volumes", F_OBJECT },
};

static int check_exec_config(json_t *config, struct ember_error *e)
{
	char what[64];

	if (!json_is_object(config))
		return image_bad(e, "config: not an object");
	for (size_t i = 0; i < ARRAY_SIZE(config_fields); i++) {
		json_t *v = json_object_get(config, config_fields[i].key);
		if (!v || json_is_null(v))
			continue;
		snprintf(what, sizeof(what), "config.%s", config_fields[i].key);
		switch (config_fields[i].type) {
		case F_STRING:
			if (!json_is_string(v))
				return image_bad(e, "%s: not a string", what);
			break;
		case F_STRINGS:
			if (!json_is_array(v))
				return image_bad(e, "%s: not an array", what);
			for (size_t j = 0; j < json_array_size(v); j++)
				if (!json_is_string(json_array_get(v, j)))
					return image_bad(e, "%s[%zu]: not a string", what, j);
			break;
		case F_STRING_MAP: {
			int r = check_string_map(v, what, e);
			if (r < 0)
				return r;
			break;
		}
		case F_OBJECT:
			if (!json_is_object(v))
				return image_bad(e, "%s: not an object", what);
			break;
		}
	}
	return 0;
}

static int image_config_fill(json_t *root, struct image_config *c, struct ember_error *e)
{
	char what[64], q[IMAGE_QUOTE_MAX];
	int r;

	if ((r = platform_from_json(root, "", &c->platform, e)) < 0)
		return r;

	json_t *config = json_object_get(root, "config");
	if (config && !json_is_null(config)) {
		if ((r = check_exec_config(config, e)) < 0)
			return r;
		c->config = json_incref(config);
	}

	json_t *rootfs = json_object_get(root, "rootfs");
	if (!rootfs)
		return image_bad(e, "rootfs: missing");
	if (!json_is_object(rootfs))
		return image_bad(e, "rootfs: not an object");
	json_t *type = json_object_get(rootfs, "type");
	if (!type)
		return image_bad(e, "rootfs.type: missing");
	if (!json_is_string(type))
		return image_bad(e, "rootfs.type: not a string");
	if (strcmp(json_string_value(type), "layers") != 0)
		return image_bad(e, "rootfs.type: \"%s\" is not \"layers\"", image_quote(json_string_value(type), q));

	json_t *ids = json_object_get(rootfs, "diff_ids");
	if (!ids)
		return image_bad(e, "rootfs.diff_ids: missing");
	if (!json_is_array(ids))
		return image_bad(e, "rootfs.diff_ids: not an array");
	size_t n = json_array_size(ids);
	if (n > IMAGE_MAX_LAYERS)
		return image_bad(e, "rootfs.diff_ids: %zu entries, more than the limit of %d", n, IMAGE_MAX_LAYERS);
	if (n == 0)
		return 0;
	c->diff_ids = malloc(n * sizeof(*c->diff_ids));
	if (!c->diff_ids)
		return oom(e);
	for (size_t i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "rootfs.diff_ids[%zu]", i);
		if ((r = check_digest(json_array_get(ids, i), what, c->diff_ids[i], e)) < 0)
			return r;
		c->n_diff_ids = i + 1;
	}
	return 0;
}

int image_config_parse(const char *data, size_t len, struct image_config *c, struct ember_error *e)
{
	_cleanup_json_ json_t *root = NULL;

	memset(c, 0, sizeof(*c));
	int r = doc_load(data, len, &root, e);
	if (r >= 0)
		r = image_config_fill(root, c, e);
	if (r < 0) {
		image_config_done(c);
		return err_wrap(e, "image config");
	}
	return 0;
}

int image_check_layers(const struct manifest *m, const struct image_config *c, struct ember_error *e)
{
	char q[IMAGE_QUOTE_MAX];
	enum layer_compression comp;

	if (image_media_kind(m->config.media_type) != MT_KIND_CONFIG)
		return image_unsupported(e, "image: config.mediaType \"%s\" is not an image config (not a container image?)",
					 image_quote(m->config.media_type, q));
	for (size_t i = 0; i < m->n_layers; i++)
		if (image_layer_compression(m->layers[i].media_type, &comp, e) < 0)
			return err_wrap(e, "image: layers[%zu]", i);
	if (m->n_layers != c->n_diff_ids)
		return image_bad(e, "image: the manifest has %zu layers but the config has %zu diff_ids", m->n_layers,
				 c->n_diff_ids);
	return 0;
}

/* ---- telling documents apart ---- */

static const char *const generic_types[] = {
	"application/json", "text/plain", "application/octet-stream", "binary/octet-stream",
};

/* The type part of a Content-Type, lower case, without parameters or
   blanks; "" when it says nothing about the document. -1 when too long. */
static int content_type_base(const char *ct, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	if (!ct)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	for (; *ct && *ct != ';'; ct++) {
		if (n + 1 >= size)
			return -1;
		out[n++] = *ct >= 'A' && *ct <= 'Z' ? *ct + ('a' - 'A') : *ct;
	}
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(generic_types); i++)
		if (strcmp(out, generic_types[i]) == 0)
			out[0] = '\0';
	return 0;
}

static int document_kind(const char *data, size_t len, const char *content_type, enum mt_kind *kind,
			 const char **media_type, struct ember_error *e)
{
	char ct[256], q[IMAGE_QUOTE_MAX], q2[IMAGE_QUOTE_MAX];
	const struct media_type *declared = NULL, *field = NULL;
	int r;

	if (content_type_base(content_type, ct, sizeof(ct)) < 0)
		return image_unsupported(e, "Content-Type \"%s\" is not a manifest, index or image config",
					 image_quote(content_type, q));
	if (ct[0]) {
		if (is_schema1(ct))
			return image_unsupported(e, SCHEMA1_MESSAGE);
		declared = mt_lookup(ct);
		if (!declared || declared->kind == MT_KIND_LAYER)
			return image_unsupported(e, "Content-Type \"%s\" is not a manifest, index or image config",
						 image_quote(ct, q));
	}

	_cleanup_json_ json_t *root = NULL;
	if ((r = doc_load(data, len, &root, e)) < 0)
		return r;
	json_t *v = json_object_get(root, "schemaVersion");
	if (v && json_is_integer(v) && json_integer_value(v) == 1)
		return image_unsupported(e, SCHEMA1_MESSAGE);
	v = json_object_get(root, "mediaType");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v))
			return image_bad(e, "mediaType: not a string");
		const char *s = json_string_value(v);
		if (is_schema1(s))
			return image_unsupported(e, SCHEMA1_MESSAGE);
		field = mt_lookup(s);
		if (!field || field->kind == MT_KIND_LAYER)
			return image_unsupported(e, "mediaType: unsupported media type \"%s\"", image_quote(s, q));
	}
	if (declared && field && declared != field)
		return image_bad(e, "Content-Type \"%s\" does not match the document's mediaType \"%s\"",
				 image_quote(ct, q), image_quote(json_string_value(v), q2));

	int has_manifests = json_object_get(root, "manifests") != NULL;
	int has_layers = json_object_get(root, "layers") != NULL;
	enum mt_kind shape = MT_KIND_UNKNOWN;
	if (has_manifests && has_layers)
		return image_bad(e, "has both manifests and layers");
	if (has_manifests)
		shape = MT_KIND_INDEX;
	else if (has_layers)
		shape = MT_KIND_MANIFEST;
	else if (json_object_get(root, "rootfs"))
		shape = MT_KIND_CONFIG;

	const struct media_type *t = declared ? declared : field;
	if (t) {
		if (shape != MT_KIND_UNKNOWN && shape != t->kind)
			return image_bad(e, "%s \"%s\" says %s, but the document looks like %s",
					 declared ? "Content-Type" : "mediaType", t->name, kind_name(t->kind),
					 kind_name(shape));
		*kind = t->kind;
		if (media_type)
			*media_type = t->name;
		return 0;
	}
	const char *name;
	switch (shape) {
	case MT_KIND_INDEX:
		name = MT_OCI_INDEX;
		break;
	case MT_KIND_MANIFEST: {
		json_t *cfg = json_object_get(root, "config");
		json_t *cmt = json_is_object(cfg) ? json_object_get(cfg, "mediaType") : NULL;
		int docker = json_is_string(cmt) && !strcasecmp(json_string_value(cmt), MT_DOCKER_CONFIG);
		name = docker ? MT_DOCKER_MANIFEST : MT_OCI_MANIFEST;
		break;
	}
	case MT_KIND_CONFIG:
		name = MT_OCI_CONFIG;
		break;
	default:
		return image_bad(e, "cannot tell what the document is (no mediaType, manifests, layers or rootfs)");
	}
	*kind = shape;
	if (media_type)
		*media_type = name;
	return 0;
}

int image_document_kind(const char *data, size_t len, const char *content_type, enum mt_kind *kind,
			const char **media_type, struct ember_error *e)
{
	*kind = MT_KIND_UNKNOWN;
	if (media_type)
		*media_type = NULL;
	int r = document_kind(data, len, content_type, kind, media_type, e);
	if (r < 0) {
		*kind = MT_KIND_UNKNOWN;
		if (media_type)
			*media_type = NULL;
		return err_wrap(e, "manifest");
	}
	return 0;
}
