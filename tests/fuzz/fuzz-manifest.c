/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: image documents (manifests, indexes, configs) and platform
   specifiers, as a registry or a user could send them. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

static void check_error(const struct ember_error *e, int r)
{
	CHECK(r < 0 && e->code > 0 && r == -e->code);
	CHECK(e->name[0] != '\0');
	CHECK(e->message[0] != '\0');
	for (const char *c = e->message; *c; c++)
		CHECK(*c >= 0x20 && *c < 0x7f); /* one line of plain text */
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

static void check_field(const char *s, size_t max, int may_be_empty)
{
	size_t n = strnlen(s, max);

	CHECK(n < max);
	CHECK(n > 0 || may_be_empty);
	for (size_t i = 0; i < n; i++)
		CHECK(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]));
}

static void check_platform(const struct platform *p)
{
	check_field(p->os, sizeof(p->os), 0);
	check_field(p->arch, sizeof(p->arch), 0);
	check_field(p->variant, sizeof(p->variant), 1);
	check_field(p->os_version, sizeof(p->os_version), 1);
}

static void check_descriptor(const struct descriptor *d)
{
	struct ember_error e;
	struct descriptor back;

	CHECK(d->media_type && strchr(d->media_type, '/'));
	CHECK(digest_check(d->digest, &e) == 0);
	CHECK(d->size >= 0 && d->size <= IMAGE_MAX_SIZE);
	if (d->platform)
		check_platform(d->platform);
	CHECK(!d->annotations || json_is_object(d->annotations));

	/* What a record keeps reads back as the same descriptor. */
	json_t *j = descriptor_to_json(d);
	CHECK(j);
	CHECK(descriptor_parse(j, "record", &back, &e) == 0);
	json_decref(j);
	CHECK(strcmp(back.media_type, d->media_type) == 0 && strcmp(back.digest, d->digest) == 0);
	CHECK(back.size == d->size && !back.platform == !d->platform);
	CHECK(!d->platform || platform_equal(back.platform, d->platform));
	CHECK(!d->annotations || json_equal(back.annotations, d->annotations));
	descriptor_done(&back);
}

static void check_select(const struct index *ix, const char *spec)
{
	struct ember_error e;
	struct platform want;

	CHECK(platform_parse(spec, &want, &e) == 0);
	int r = index_select(ix, &want, &e);
	if (r >= 0) {
		const struct descriptor *d = &ix->manifests[r];
		CHECK((size_t)r < ix->n_manifests);
		CHECK(image_media_kind(d->media_type) == MT_KIND_MANIFEST);
		CHECK(!d->platform || platform_match(&want, d->platform) > 0);
	} else {
		check_error(&e, r);
		CHECK(r == -ENOENT && strcmp(e.name, EMBER_ERROR_NOT_FOUND) == 0);
		CHECK(strncmp(e.message, "no manifest for platform ", 25) == 0);
	}
}

static void fuzz_platform_spec(const uint8_t *data, size_t size)
{
	char s[256], buf[PLATFORM_STRING_MAX];
	struct ember_error e;
	struct platform p, q;

	if (size >= sizeof(s) || memchr(data, '\0', size))
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	int r = platform_parse(s, &p, &e);
	if (r < 0) {
		check_error(&e, r);
		CHECK(all_zero(&p, sizeof(p)));
		return;
	}
	check_platform(&p);
	/* Parsed platforms are normal, and their string form parses back. */
	q = p;
	platform_normalize(&q);
	CHECK(platform_equal(&p, &q));
	CHECK(platform_parse(platform_string(&p, buf), &q, &e) == 0);
	CHECK(platform_equal(&p, &q));
	CHECK(platform_match(&p, &p) == PLATFORM_MATCH_EXACT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const content_types[] = {
		NULL, MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_LIST, MT_DOCKER_CONFIG, "application/json",
	};
	const char *doc = (const char *)data;
	struct ember_error e;
	enum mt_kind kind_plain = MT_KIND_UNKNOWN;
	int r;

	for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++) {
		enum mt_kind kind;
		const char *mt;
		r = image_document_kind(doc, size, content_types[i], &kind, &mt, &e);
		if (r < 0) {
			check_error(&e, r);
			CHECK(kind == MT_KIND_UNKNOWN && mt == NULL);
			continue;
		}
		CHECK(kind == MT_KIND_INDEX || kind == MT_KIND_MANIFEST || kind == MT_KIND_CONFIG);
		CHECK(mt && image_media_kind(mt) == kind);
		if (i == 0)
			kind_plain = kind;
	}

	struct manifest m;
	int have_manifest = manifest_parse(doc, size, &m, &e) == 0;
	if (have_manifest) {
		CHECK(m.schema_version == 2);
		CHECK(!strcmp(m.media_type, MT_OCI_MANIFEST) || !strcmp(m.media_type, MT_DOCKER_MANIFEST));
		CHECK(m.n_layers <= IMAGE_MAX_LAYERS && (m.n_layers == 0) == (m.layers == NULL));
		check_descriptor(&m.config);
		for (size_t i = 0; i < m.n_layers; i++)
			check_descriptor(&m.layers[i]);
		/* Anything manifest_parse() takes is told to be a manifest. */
		CHECK(kind_plain == MT_KIND_MANIFEST);
	} else {
		check_error(&e, -e.code);
		CHECK(all_zero(&m, sizeof(m)));
	}

	struct index ix;
	if (index_parse(doc, size, &ix, &e) == 0) {
		CHECK(!have_manifest); /* never both */
		CHECK(ix.schema_version == 2);
		CHECK(!strcmp(ix.media_type, MT_OCI_INDEX) || !strcmp(ix.media_type, MT_DOCKER_LIST));
		CHECK(ix.n_manifests <= IMAGE_MAX_MANIFESTS);
		for (size_t i = 0; i < ix.n_manifests; i++)
			check_descriptor(&ix.manifests[i]);
		CHECK(kind_plain == MT_KIND_INDEX);
		check_select(&ix, "linux/arm64/v8");
		check_select(&ix, "linux/amd64");
		check_select(&ix, "linux/arm/v6");
		index_done(&ix);
	} else {
		check_error(&e, -e.code);
		CHECK(all_zero(&ix, sizeof(ix)));
	}

	struct image_config c;
	if (image_config_parse(doc, size, &c, &e) == 0) {
		check_field(c.platform.os, sizeof(c.platform.os), 0);
		check_field(c.platform.arch, sizeof(c.platform.arch), 0);
		CHECK(c.n_diff_ids <= IMAGE_MAX_LAYERS);
		for (size_t i = 0; i < c.n_diff_ids; i++)
			CHECK(digest_check(c.diff_ids[i], &e) == 0);
		CHECK(!c.config || json_is_object(c.config));
		if (have_manifest) {
			r = image_check_layers(&m, &c, &e);
			if (r < 0)
				check_error(&e, r);
			else
				CHECK(m.n_layers == c.n_diff_ids);
		}
		image_config_done(&c);
	} else {
		check_error(&e, -e.code);
		CHECK(all_zero(&c, sizeof(c)));
	}
	manifest_done(&m);

	fuzz_platform_spec(data, size);
	return 0;
}
