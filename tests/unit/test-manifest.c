/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include "image/image.h"
#include "util/cleanup.h"

/* "sha256:" and 64 hex digits made of a repeated two-digit pattern. */
#define R4(s) s s s s
#define R32(s) R4(R4(s s))
#define DG(s) "sha256:" R32(s)

/* ---- fixtures, shaped like what registries serve ---- */

static const char oci_manifest[] =
	"{\n"
	"  \"schemaVersion\": 2,\n"
	"  \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n"
	"  \"config\": {\n"
	"    \"mediaType\": \"application/vnd.oci.image.config.v1+json\",\n"
	"    \"digest\": \"" DG("c0") "\",\n"
	"    \"size\": 7023\n"
	"  },\n"
	"  \"layers\": [\n"
	"    {\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\",\n"
	"     \"digest\": \"" DG("a0") "\", \"size\": 32654},\n"
	"    {\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+zstd\",\n"
	"     \"digest\": \"" DG("a1") "\", \"size\": 16724,\n"
	"     \"annotations\": {\"org.opencontainers.image.title\": \"app.tar.zst\"}},\n"
	"    {\"mediaType\": \"application/vnd.oci.image.layer.v1.tar\",\n"
	"     \"digest\": \"" DG("a2") "\", \"size\": 73109,\n"
	"     \"urls\": [\"https://example.com/layer\"]}\n"
	"  ],\n"
	"  \"annotations\": {\"com.example.key1\": \"value1\", \"com.example.key2\": \"value2\"}\n"
	"}\n";

static const char docker_manifest[] =
	"{\n"
	"   \"schemaVersion\": 2,\n"
	"   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
	"   \"config\": {\n"
	"      \"mediaType\": \"application/vnd.docker.container.image.v1+json\",\n"
	"      \"size\": 1457,\n"
	"      \"digest\": \"" DG("d0") "\"\n"
	"   },\n"
	"   \"layers\": [\n"
	"      {\n"
	"         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
	"         \"size\": 2220094,\n"
	"         \"digest\": \"" DG("d1") "\"\n"
	"      },\n"
	"      {\n"
	"         \"mediaType\": \"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\",\n"
	"         \"size\": 1024,\n"
	"         \"digest\": \"" DG("d2") "\",\n"
	"         \"urls\": [\"https://mcr.microsoft.com/v2/blob\"]\n"
	"      }\n"
	"   ]\n"
	"}";

#define BB_ANN(arch)                                                                                \
	"\"annotations\": {\"com.docker.official-images.bashbrew.arch\": \"" arch "\", "          \
	"\"org.opencontainers.image.base.name\": \"scratch\", "                                     \
	"\"org.opencontainers.image.created\": \"2024-09-26T21:31:42Z\", "                          \
	"\"org.opencontainers.image.source\": \"https://github.com/docker-library/busybox.git\", " \
	"\"org.opencontainers.image.version\": \"1.37.0-glibc\"}"

#define BB_IMAGE(dg, plat, arch)                                                                      \
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"" DG(dg) "\", " \
	"\"size\": 610, " BB_ANN(arch) ", \"platform\": " plat "}"

#define BB_ATTEST(dg, of)                                                                             \
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"" DG(dg) "\", " \
	"\"size\": 839, \"annotations\": {\"vnd.docker.reference.digest\": \"" DG(of) "\", "           \
	"\"vnd.docker.reference.type\": \"attestation-manifest\"}, "                                   \
	"\"platform\": {\"architecture\": \"unknown\", \"os\": \"unknown\"}}"

/* Docker Hub's busybox:latest index, with made-up digests. */
static const char busybox_index[] =
	"{\"manifests\": [\n"
	BB_IMAGE("01", "{\"architecture\": \"amd64\", \"os\": \"linux\"}", "amd64") ",\n"
	BB_ATTEST("02", "01") ",\n"
	BB_IMAGE("03", "{\"architecture\": \"arm\", \"os\": \"linux\", \"variant\": \"v5\"}", "arm32v5") ",\n"
	BB_ATTEST("04", "03") ",\n"
	BB_IMAGE("05", "{\"architecture\": \"arm\", \"os\": \"linux\", \"variant\": \"v6\"}", "arm32v6") ",\n"
	BB_ATTEST("06", "05") ",\n"
	BB_IMAGE("07", "{\"architecture\": \"arm\", \"os\": \"linux\", \"variant\": \"v7\"}", "arm32v7") ",\n"
	BB_ATTEST("08", "07") ",\n"
	BB_IMAGE("09", "{\"architecture\": \"arm64\", \"os\": \"linux\", \"variant\": \"v8\"}", "arm64v8") ",\n"
	BB_ATTEST("0a", "09") ",\n"
	BB_IMAGE("0b", "{\"architecture\": \"386\", \"os\": \"linux\"}", "i386") ",\n"
	BB_ATTEST("0c", "0b") ",\n"
	BB_IMAGE("0d", "{\"architecture\": \"ppc64le\", \"os\": \"linux\"}", "ppc64le") ",\n"
	BB_ATTEST("0e", "0d") ",\n"
	BB_IMAGE("0f", "{\"architecture\": \"riscv64\", \"os\": \"linux\"}", "riscv64") ",\n"
	BB_ATTEST("10", "0f") ",\n"
	BB_IMAGE("11", "{\"architecture\": \"s390x\", \"os\": \"linux\"}", "s390x") ",\n"
	BB_ATTEST("12", "11") "\n"
	"], \"mediaType\": \"application/vnd.oci.image.index.v1+json\", \"schemaVersion\": 2}\n";

/* Positions in busybox_index. */
enum { BB_AMD64 = 0, BB_ARMV5 = 2, BB_ARMV6 = 4, BB_ARMV7 = 6, BB_ARM64 = 8, BB_386 = 10, BB_PPC64LE = 12,
       BB_RISCV64 = 14, BB_S390X = 16, BB_N = 18 };

static const char docker_list[] =
	"{\n"
	"  \"schemaVersion\": 2,\n"
	"  \"mediaType\": \"application/vnd.docker.distribution.manifest.list.v2+json\",\n"
	"  \"manifests\": [\n"
	"    {\"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\", \"size\": 7143,\n"
	"     \"digest\": \"" DG("e1") "\",\n"
	"     \"platform\": {\"architecture\": \"ppc64le\", \"os\": \"linux\"}},\n"
	"    {\"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\", \"size\": 7682,\n"
	"     \"digest\": \"" DG("e2") "\",\n"
	"     \"platform\": {\"architecture\": \"amd64\", \"os\": \"linux\", \"features\": [\"sse4\"]}},\n"
	"    {\"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\", \"size\": 7682,\n"
	"     \"digest\": \"" DG("e3") "\",\n"
	"     \"platform\": {\"architecture\": \"amd64\", \"os\": \"windows\", \"os.version\": \"10.0.17763.5696\",\n"
	"                  \"os.features\": [\"win32k\"]}}\n"
	"  ]\n"
	"}\n";

static const char oci_config[] =
	"{\n"
	"    \"created\": \"2015-10-31T22:22:56.015925234Z\",\n"
	"    \"author\": \"Alyssa P. Hacker <alyspdev@example.com>\",\n"
	"    \"architecture\": \"amd64\",\n"
	"    \"os\": \"linux\",\n"
	"    \"config\": {\n"
	"        \"User\": \"alice\",\n"
	"        \"Memory\": 2048,\n"
	"        \"ExposedPorts\": {\"8080/tcp\": {}},\n"
	"        \"Env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\n"
	"                \"FOO=oci_is_a\"],\n"
	"        \"Entrypoint\": [\"/bin/my-app-binary\"],\n"
	"        \"Cmd\": [\"--foreground\", \"--config\", \"/etc/my-app.d/default.cfg\"],\n"
	"        \"Volumes\": {\"/var/job-result-data\": {}},\n"
	"        \"WorkingDir\": \"/home/alice\",\n"
	"        \"StopSignal\": \"SIGTERM\",\n"
	"        \"Labels\": {\"com.example.project.git.url\": \"https://example.com/project.git\"}\n"
	"    },\n"
	"    \"rootfs\": {\n"
	"      \"diff_ids\": [\n"
	"        \"" DG("f0") "\",\n"
	"        \"" DG("f1") "\",\n"
	"        \"" DG("f2") "\"\n"
	"      ],\n"
	"      \"type\": \"layers\"\n"
	"    },\n"
	"    \"history\": [\n"
	"      {\"created\": \"2015-10-31T22:22:54.690851953Z\",\n"
	"       \"created_by\": \"/bin/sh -c #(nop) ADD file in /\"},\n"
	"      {\"created\": \"2015-10-31T22:22:55.613815829Z\",\n"
	"       \"created_by\": \"CMD [\\\"sh\\\"]\", \"empty_layer\": true}\n"
	"    ]\n"
	"}\n";

/* What `docker build` writes: nulls, container_config, an arm variant. */
static const char docker_config[] =
	"{\"architecture\":\"arm\",\"variant\":\"v7\",\"config\":{\"Hostname\":\"\",\"Domainname\":\"\","
	"\"User\":\"\",\"AttachStdin\":false,\"Tty\":false,"
	"\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],"
	"\"Cmd\":[\"sh\"],\"Image\":\"" DG("b0") "\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,"
	"\"OnBuild\":null,\"Labels\":null},\"container\":\"7a2d2b7b\","
	"\"container_config\":{\"Cmd\":[\"/bin/sh\",\"-c\",\"#(nop) \",\"CMD [\\\"sh\\\"]\"]},"
	"\"created\":\"2023-07-18T23:19:33.655005962Z\",\"docker_version\":\"20.10.23\","
	"\"history\":[{\"created\":\"2023-07-18T23:19:33.538571854Z\",\"created_by\":\"ADD file:7e9 in / \"}],"
	"\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DG("b1") "\",\"" DG("b2") "\"]}}";

/* ---- helpers ---- */

static void expect_error(int r, const struct ember_error *e, int code, const char *fragment)
{
	if (r != -code)
		fail_msg("returned %d (want %d), message \"%s\"", r, -code, r < 0 ? e->message : "");
	assert_int_equal(e->code, code);
	assert_string_equal(e->name, EMBER_ERROR_INVALID_ARGUMENT);
	assert_msg_contains(e, fragment);
	for (const char *c = e->message; *c; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

/* A manifest around one layer descriptor (fmt is its JSON). */
static char *manifest_with_layer(const char *layer)
{
	char *s;

	assert_true(asprintf(&s,
			     "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\","
			     "\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"digest\":\"" DG("c0") "\",\"size\":2},"
			     "\"layers\":[%s]}",
			     layer) > 0);
	return s;
}

static char *many(const char *head, const char *item, size_t n, const char *tail)
{
	size_t len = strlen(head) + n * (strlen(item) + 1) + strlen(tail) + 1;
	char *s = malloc(len), *p = s;

	p += sprintf(p, "%s", head);
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", item);
	sprintf(p, "%s", tail);
	return s;
}

#define LAYER_OK "{\"mediaType\":\"" MT_OCI_LAYER_GZIP "\",\"digest\":\"" DG("a0") "\",\"size\":1}"

/* ---- media types ---- */

static void test_media_kind(void **state)
{
	static const struct {
		const char *mt;
		enum mt_kind kind;
	} table[] = {
		{ MT_OCI_INDEX, MT_KIND_INDEX },
		{ MT_DOCKER_LIST, MT_KIND_INDEX },
		{ MT_OCI_MANIFEST, MT_KIND_MANIFEST },
		{ MT_DOCKER_MANIFEST, MT_KIND_MANIFEST },
		{ MT_OCI_CONFIG, MT_KIND_CONFIG },
		{ MT_DOCKER_CONFIG, MT_KIND_CONFIG },
		{ MT_OCI_LAYER, MT_KIND_LAYER },
		{ MT_OCI_LAYER_GZIP, MT_KIND_LAYER },
		{ MT_OCI_LAYER_ZSTD, MT_KIND_LAYER },
		{ MT_OCI_LAYER_ND, MT_KIND_LAYER },
		{ MT_OCI_LAYER_ND_GZIP, MT_KIND_LAYER },
		{ MT_OCI_LAYER_ND_ZSTD, MT_KIND_LAYER },
		{ MT_DOCKER_LAYER, MT_KIND_LAYER },
		{ MT_DOCKER_LAYER_FOREIGN, MT_KIND_LAYER },
		{ MT_DOCKER_LAYER_TAR, MT_KIND_LAYER },
		{ MT_DOCKER_LAYER_FOREIGN_TAR, MT_KIND_LAYER },
		{ "Application/VND.OCI.Image.Manifest.v1+JSON", MT_KIND_MANIFEST },
		{ MT_DOCKER_SCHEMA1, MT_KIND_UNKNOWN },
		{ MT_DOCKER_SCHEMA1_SIGNED, MT_KIND_UNKNOWN },
		{ "application/vnd.oci.image.layer.v1.tar+gzip+encrypted", MT_KIND_UNKNOWN },
		{ "application/vnd.oci.empty.v1+json", MT_KIND_UNKNOWN },
		{ "application/vnd.in-toto+json", MT_KIND_UNKNOWN },
		{ "application/vnd.oci.image.manifest.v1+json ", MT_KIND_UNKNOWN },
		{ "", MT_KIND_UNKNOWN },
		{ NULL, MT_KIND_UNKNOWN },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (image_media_kind(table[i].mt) != table[i].kind)
			fail_msg("kind of \"%s\" is %d, want %d", table[i].mt ? table[i].mt : "(null)",
				 image_media_kind(table[i].mt), table[i].kind);
}

static void test_layer_compression(void **state)
{
	static const struct {
		const char *mt;
		enum layer_compression c;
	} table[] = {
		{ MT_OCI_LAYER, LAYER_TAR },           { MT_OCI_LAYER_GZIP, LAYER_GZIP },
		{ MT_OCI_LAYER_ZSTD, LAYER_ZSTD },     { MT_OCI_LAYER_ND, LAYER_TAR },
		{ MT_OCI_LAYER_ND_GZIP, LAYER_GZIP },  { MT_OCI_LAYER_ND_ZSTD, LAYER_ZSTD },
		{ MT_DOCKER_LAYER, LAYER_GZIP },       { MT_DOCKER_LAYER_FOREIGN, LAYER_GZIP },
		{ MT_DOCKER_LAYER_TAR, LAYER_TAR },    { MT_DOCKER_LAYER_FOREIGN_TAR, LAYER_TAR },
	};
	enum layer_compression c;
	struct ember_error e;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		c = 99;
		assert_int_equal(image_layer_compression(table[i].mt, &c, &e), 0);
		assert_int_equal(c, table[i].c);
	}
	expect_error(image_layer_compression(MT_OCI_CONFIG, &c, &e), &e, ENOTSUP,
		     "unsupported layer media type \"application/vnd.oci.image.config.v1+json\"");
	expect_error(image_layer_compression("application/vnd.in-toto+json", &c, &e), &e, ENOTSUP,
		     "unsupported layer media type \"application/vnd.in-toto+json\"");
	expect_error(image_layer_compression("application/vnd.oci.image.layer.v1.tar+gzip+encrypted", &c, &e), &e,
		     ENOTSUP, "encrypted layers are not supported");
	expect_error(image_layer_compression(NULL, &c, &e), &e, ENOTSUP, "unsupported layer media type \"\"");
}

/* ---- manifests ---- */

static void test_oci_manifest(void **state)
{
	struct ember_error e;
	struct manifest m;

	(void)state;
	assert_int_equal(manifest_parse(oci_manifest, strlen(oci_manifest), &m, &e), 0);
	assert_int_equal(m.schema_version, 2);
	assert_string_equal(m.media_type, MT_OCI_MANIFEST);
	assert_string_equal(m.config.media_type, MT_OCI_CONFIG);
	assert_string_equal(m.config.digest, DG("c0"));
	assert_int_equal(m.config.size, 7023);
	assert_null(m.config.platform);
	assert_null(m.config.annotations);
	assert_int_equal(m.n_layers, 3);
	assert_string_equal(m.layers[0].media_type, MT_OCI_LAYER_GZIP);
	assert_string_equal(m.layers[0].digest, DG("a0"));
	assert_int_equal(m.layers[0].size, 32654);
	assert_string_equal(m.layers[1].media_type, MT_OCI_LAYER_ZSTD);
	json_t *title = json_object_get(m.layers[1].annotations, "org.opencontainers.image.title");
	assert_string_equal(json_string_value(title), "app.tar.zst");
	assert_string_equal(m.layers[2].digest, DG("a2"));
	assert_int_equal(m.layers[2].size, 73109);
	assert_string_equal(json_string_value(json_object_get(m.annotations, "com.example.key2")), "value2");
	manifest_done(&m);
	assert_true(all_zero(&m, sizeof(m)));
	manifest_done(&m);
	manifest_done(NULL);
}

static void test_docker_manifest(void **state)
{
	struct ember_error e;
	struct manifest m;

	(void)state;
	assert_int_equal(manifest_parse(docker_manifest, strlen(docker_manifest), &m, &e), 0);
	assert_string_equal(m.media_type, MT_DOCKER_MANIFEST);
	assert_string_equal(m.config.media_type, MT_DOCKER_CONFIG);
	assert_int_equal(m.config.size, 1457);
	assert_int_equal(m.n_layers, 2);
	assert_string_equal(m.layers[0].media_type, MT_DOCKER_LAYER);
	assert_int_equal(m.layers[0].size, 2220094);
	assert_string_equal(m.layers[1].media_type, MT_DOCKER_LAYER_FOREIGN);
	assert_string_equal(m.layers[1].digest, DG("d2"));
	assert_null(m.annotations);
	manifest_done(&m);
}

static void test_manifest_defaults(void **state)
{
	struct ember_error e;
	struct manifest m;

	(void)state;
	/* No mediaType (OCI allows it): told by the config's type. */
	static const char oci[] = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MT_OCI_CONFIG
				  "\",\"digest\":\"" DG("c0") "\",\"size\":2},\"layers\":[]}";
	assert_int_equal(manifest_parse(oci, strlen(oci), &m, &e), 0);
	assert_string_equal(m.media_type, MT_OCI_MANIFEST);
	assert_int_equal(m.n_layers, 0);
	assert_null(m.layers);
	manifest_done(&m);
	static const char docker[] = "{\"schemaVersion\":2,\"mediaType\":null,"
				     "\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"digest\":\"" DG("c0") "\","
				     "\"size\":0},\"layers\":[" LAYER_OK "]}";
	assert_int_equal(manifest_parse(docker, strlen(docker), &m, &e), 0);
	assert_string_equal(m.media_type, MT_DOCKER_MANIFEST);
	assert_int_equal(m.config.size, 0);
	assert_int_equal(m.n_layers, 1);
	manifest_done(&m);
	/* An artifact's config type and layer types parse (they are refused
	   by image_check_layers, not here); so does the largest size. */
	char *art = manifest_with_layer("{\"mediaType\":\"application/vnd.in-toto+json\",\"digest\":\"" DG("a0")
					"\",\"size\":9007199254740992,\"artifactType\":\"x/y\",\"data\":\"e30=\"}");
	assert_int_equal(manifest_parse(art, strlen(art), &m, &e), 0);
	assert_string_equal(m.layers[0].media_type, "application/vnd.in-toto+json");
	assert_int_equal(m.layers[0].size, IMAGE_MAX_SIZE);
	manifest_done(&m);
	free(art);
	/* The limit itself is fine. */
	char *big = many("{\"schemaVersion\":2,\"config\":" LAYER_OK ",\"layers\":[", LAYER_OK, IMAGE_MAX_LAYERS,
			 "]}");
	assert_int_equal(manifest_parse(big, strlen(big), &m, &e), 0);
	assert_int_equal(m.n_layers, IMAGE_MAX_LAYERS);
	manifest_done(&m);
	free(big);
}

static void test_manifest_errors(void **state)
{
	static const struct {
		const char *doc;
		int code;
		const char *fragment;
	} docs[] = {
		{ "", EINVAL, "manifest: invalid JSON at line 1" },
		{ "{\"schemaVersion\":2,", EINVAL, "manifest: invalid JSON" },
		{ "[]", EINVAL, "manifest: not a JSON object" },
		{ "\"x\"", EINVAL, "manifest: invalid JSON at line 1 column 3: '[' or '{' expected" },
		{ "{} {}", EINVAL, "manifest: invalid JSON" },
		{ "{\"schemaVersion\":2,\"schemaVersion\":2}", EINVAL, "manifest: invalid JSON at line 1 column" },
		{ "{\"a\":\"\\u0000\"}", EINVAL, "manifest: invalid JSON" },
		{ "{\"a\":\"\xff\"}", EINVAL, "manifest: invalid JSON" },
		{ "{}", EINVAL, "manifest: schemaVersion: missing" },
		{ "{\"schemaVersion\":\"2\"}", EINVAL, "manifest: schemaVersion: not an integer" },
		{ "{\"schemaVersion\":2.0}", EINVAL, "manifest: schemaVersion: not an integer" },
		{ "{\"schemaVersion\":1,\"fsLayers\":[]}", ENOTSUP,
		  "manifest: Docker schema 1 manifests are not supported (deprecated); "
		  "re-push the image with a current tool" },
		{ "{\"schemaVersion\":3}", ENOTSUP, "manifest: schemaVersion: 3 is not supported (want 2)" },
		{ "{\"schemaVersion\":2,\"mediaType\":5}", EINVAL, "manifest: mediaType: not a string" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\"}", EINVAL,
		  "manifest: mediaType: \"application/vnd.oci.image.index.v1+json\" is an index, not a manifest" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_SCHEMA1_SIGNED "\"}", ENOTSUP,
		  "Docker schema 1 manifests are not supported" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.artifact.manifest.v1+json\"}", ENOTSUP,
		  "manifest: mediaType: unsupported media type \"application/vnd.oci.artifact.manifest.v1+json\"" },
		{ "{\"schemaVersion\":2,\"manifests\":[],\"config\":" LAYER_OK ",\"layers\":[]}", EINVAL,
		  "manifest: manifests: not allowed in a manifest" },
		{ "{\"schemaVersion\":2,\"layers\":[]}", EINVAL, "manifest: config: missing" },
		{ "{\"schemaVersion\":2,\"config\":[],\"layers\":[]}", EINVAL, "manifest: config: not an object" },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DG("c0") "\",\"size\":1},\"layers\":[]}", EINVAL,
		  "manifest: config.mediaType: missing" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":1},\"layers\":[]}", EINVAL,
		  "manifest: config.mediaType: not a string" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"nonsense\"},\"layers\":[]}", EINVAL,
		  "manifest: config.mediaType: malformed media type \"nonsense\"" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b c\"},\"layers\":[]}", EINVAL,
		  "config.mediaType: malformed media type \"a/b c\"" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b/c\"},\"layers\":[]}", EINVAL,
		  "config.mediaType: malformed media type" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"/json\"},\"layers\":[]}", EINVAL,
		  "config.mediaType: malformed media type" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/.json\"},\"layers\":[]}", EINVAL,
		  "config.mediaType: malformed media type" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"size\":1},\"layers\":[]}", EINVAL,
		  "manifest: config.digest: missing" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"digest\":\"" DG("c0") "\"},"
		  "\"layers\":[]}", EINVAL, "manifest: config.size: missing" },
		{ "{\"schemaVersion\":2,\"config\":" LAYER_OK "}", EINVAL, "manifest: layers: missing" },
		{ "{\"schemaVersion\":2,\"config\":" LAYER_OK ",\"layers\":{}}", EINVAL, "manifest: layers: not an array" },
		{ "{\"schemaVersion\":2,\"config\":" LAYER_OK ",\"layers\":[" LAYER_OK ",1]}", EINVAL,
		  "manifest: layers[1]: not an object" },
		{ "{\"schemaVersion\":2,\"config\":" LAYER_OK ",\"layers\":[" LAYER_OK "," LAYER_OK ","
		  "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"sha256:zz\",\"size\":1}]}", EINVAL,
		  "manifest: layers[2].digest: malformed digest \"sha256:zz\"" },
		{ "{\"schemaVersion\":2,\"config\":" LAYER_OK ",\"layers\":[],\"annotations\":[]}", EINVAL,
		  "manifest: annotations: not an object" },
		{ "{\"schemaVersion\":2,\"config\":" LAYER_OK ",\"layers\":[],\"annotations\":{\"a\":\"b\",\"c\":1}}",
		  EINVAL, "manifest: annotations[\"c\"]: not a string" },
	};
	static const struct {
		const char *layer;
		int code;
		const char *fragment;
	} layers[] = {
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"size\":1}", EINVAL, "manifest: layers[0].digest: missing" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":7,\"size\":1}", EINVAL,
		  "manifest: layers[0].digest: not a string" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"sha512:" R32("ab") R32("ab") "\",\"size\":1}",
		  ENOTSUP, "manifest: layers[0].digest: unsupported digest algorithm \"sha512\"" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"sha256:" R32("AB") "\",\"size\":1}", EINVAL,
		  "manifest: layers[0].digest: malformed digest" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"" DG("ab") "0\",\"size\":1}", EINVAL,
		  "manifest: layers[0].digest: malformed digest" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"sha256:ab\\ncd\",\"size\":1}", EINVAL,
		  "manifest: layers[0].digest: malformed digest \"sha256:ab?cd\"" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"" DG("ab") "\"}", EINVAL,
		  "manifest: layers[0].size: missing" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"" DG("ab") "\",\"size\":-1}", EINVAL,
		  "manifest: layers[0].size: -1 is out of range (0 to 2^53)" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"" DG("ab") "\",\"size\":9007199254740993}", EINVAL,
		  "manifest: layers[0].size: 9007199254740993 is out of range" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"" DG("ab") "\",\"size\":99999999999999999999}",
		  EINVAL, "manifest: invalid JSON" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"" DG("ab") "\",\"size\":1.5}", EINVAL,
		  "manifest: layers[0].size: not an integer" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"" DG("ab") "\",\"size\":1e3}", EINVAL,
		  "manifest: layers[0].size: not an integer" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"" DG("ab") "\",\"size\":\"12\"}", EINVAL,
		  "manifest: layers[0].size: not an integer" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"" DG("ab") "\",\"size\":1,\"annotations\":{\"k\":{}}}",
		  EINVAL, "manifest: layers[0].annotations[\"k\"]: not a string" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"" DG("ab") "\",\"size\":1,"
		  "\"platform\":{\"os\":\"linux\"}}",
		  EINVAL, "manifest: layers[0].platform.architecture: missing" },
		{ "{\"mediaType\":\"" MT_OCI_LAYER "\",\"mediaType\":\"" MT_OCI_LAYER "\"}", EINVAL,
		  "manifest: invalid JSON" },
	};
	struct ember_error e;
	struct manifest m;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		memset(&m, 0x5a, sizeof(m));
		expect_error(manifest_parse(docs[i].doc, strlen(docs[i].doc), &m, &e), &e, docs[i].code,
			     docs[i].fragment);
		assert_true(all_zero(&m, sizeof(m)));
	}
	for (size_t i = 0; i < ARRAY_SIZE(layers); i++) {
		char *doc = manifest_with_layer(layers[i].layer);
		expect_error(manifest_parse(doc, strlen(doc), &m, &e), &e, layers[i].code, layers[i].fragment);
		assert_true(all_zero(&m, sizeof(m)));
		free(doc);
	}

	/* Too many layers, too deep, too big. */
	char *big = many("{\"schemaVersion\":2,\"config\":" LAYER_OK ",\"layers\":[", LAYER_OK,
			 IMAGE_MAX_LAYERS + 1, "]}");
	expect_error(manifest_parse(big, strlen(big), &m, &e), &e, EINVAL,
		     "manifest: layers: 1001 entries, more than the limit of 1000");
	free(big);
	char deep[200] = "";
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	expect_error(manifest_parse(deep, strlen(deep), &m, &e), &e, EINVAL,
		     "manifest: JSON nested deeper than 32 levels");
	/* Brackets inside strings do not count. */
	char *brackets = manifest_with_layer(LAYER_OK);
	char *s;
	assert_true(asprintf(&s, "%.*s,\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}",
			     (int)strlen(brackets) - 1, brackets) > 0);
	assert_int_equal(manifest_parse(s, strlen(s), &m, &e), 0);
	manifest_done(&m);
	free(s);
	free(brackets);
	size_t n = IMAGE_DOC_MAX + 1;
	char *huge = malloc(n);
	memset(huge, ' ', n);
	huge[0] = '{';
	huge[n - 1] = '}';
	expect_error(manifest_parse(huge, n, &m, &e), &e, EMSGSIZE,
		     "manifest: 4194305 bytes, more than the limit of 4194304 (CONFIG_PULL_MAX_MANIFEST_KIB)");
	expect_error(manifest_parse(NULL, 5, &m, &e), &e, EINVAL, "manifest: no data");
	free(huge);
}

/* ---- descriptors ---- */

static void test_descriptor(void **state)
{
	char buf[PLATFORM_STRING_MAX];
	struct ember_error e;
	struct descriptor d, d2;
	struct index ix;

	(void)state;
	assert_int_equal(index_parse(busybox_index, strlen(busybox_index), &ix, &e), 0);
	json_t *j = descriptor_to_json(&ix.manifests[BB_ARMV7]);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "mediaType")), MT_OCI_MANIFEST);
	assert_string_equal(json_string_value(json_object_get(j, "digest")), DG("07"));
	assert_int_equal(json_integer_value(json_object_get(j, "size")), 610);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "platform"), "variant")), "v7");
	/* A copy, not a shared reference. */
	assert_ptr_not_equal(json_object_get(j, "annotations"), ix.manifests[BB_ARMV7].annotations);

	/* Through text and back: the same descriptor. */
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	json_error_t je;
	j = json_loads(text, 0, &je);
	free(text);
	assert_int_equal(descriptor_parse(j, "record", &d, &e), 0);
	json_decref(j);
	assert_string_equal(d.media_type, MT_OCI_MANIFEST);
	assert_string_equal(d.digest, DG("07"));
	assert_int_equal(d.size, 610);
	assert_non_null(d.platform);
	assert_string_equal(platform_string(d.platform, buf), "linux/arm/v7");
	assert_true(json_equal(d.annotations, ix.manifests[BB_ARMV7].annotations));
	descriptor_done(&d);
	assert_true(all_zero(&d, sizeof(d)));
	descriptor_done(&d);
	descriptor_done(NULL);

	/* The smallest descriptor has no platform or annotations in JSON. */
	j = json_pack("{s:s, s:s, s:i}", "mediaType", MT_OCI_CONFIG, "digest", DG("c0"), "size", 0);
	assert_int_equal(descriptor_parse(j, "config", &d, &e), 0);
	json_decref(j);
	j = descriptor_to_json(&d);
	assert_int_equal(json_object_size(j), 3);
	assert_int_equal(descriptor_parse(j, "config", &d2, &e), 0);
	assert_string_equal(d2.digest, d.digest);
	json_decref(j);
	descriptor_done(&d);
	descriptor_done(&d2);

	/* descriptor_parse() names its field after where. */
	j = json_pack("{s:s, s:s, s:i}", "mediaType", MT_OCI_CONFIG, "digest", "sha256:zz", "size", 0);
	memset(&d, 0x5a, sizeof(d));
	expect_error(descriptor_parse(j, "subject", &d, &e), &e, EINVAL, "subject.digest: malformed digest");
	assert_true(all_zero(&d, sizeof(d)));
	json_decref(j);
	expect_error(descriptor_parse(NULL, "subject", &d, &e), &e, EINVAL, "subject: not an object");
	index_done(&ix);
}

/* ---- indexes ---- */

static void test_busybox_index(void **state)
{
	char buf[PLATFORM_STRING_MAX];
	struct ember_error e;
	struct index ix;

	(void)state;
	assert_int_equal(index_parse(busybox_index, strlen(busybox_index), &ix, &e), 0);
	assert_int_equal(ix.schema_version, 2);
	assert_string_equal(ix.media_type, MT_OCI_INDEX);
	assert_int_equal(ix.n_manifests, BB_N);
	assert_null(ix.annotations);
	assert_string_equal(platform_string(ix.manifests[BB_ARMV5].platform, buf), "linux/arm/v5");
	assert_string_equal(platform_string(ix.manifests[BB_ARMV5 + 1].platform, buf), "unknown/unknown");
	assert_string_equal(json_string_value(json_object_get(ix.manifests[BB_ARM64].annotations,
							       "com.docker.official-images.bashbrew.arch")),
			    "arm64v8");
	assert_string_equal(ix.manifests[BB_S390X].digest, DG("11"));

	static const struct {
		const char *want;
		int pick;
	} table[] = {
		{ "linux/amd64", BB_AMD64 },
		{ "linux/x86_64", BB_AMD64 },
		{ "linux/amd64/v3", BB_AMD64 },
		{ "linux/arm64/v8", BB_ARM64 },
		{ "linux/arm64", BB_ARM64 },
		{ "aarch64", BB_ARM64 },
		{ "linux/arm64/v9", BB_ARM64 },
		{ "linux/arm/v8", BB_ARMV7 },
		{ "linux/arm/v7", BB_ARMV7 },
		{ "linux/arm", BB_ARMV7 },
		{ "armhf", BB_ARMV7 },
		{ "linux/arm/v6", BB_ARMV6 },
		{ "armel", BB_ARMV6 },
		{ "linux/arm/v5", BB_ARMV5 },
		{ "linux/386", BB_386 },
		{ "i686", BB_386 },
		{ "linux/ppc64le", BB_PPC64LE },
		{ "linux/riscv64", BB_RISCV64 },
		{ "linux/s390x", BB_S390X },
	};
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		struct platform want;
		assert_int_equal(platform_parse(table[i].want, &want, &e), 0);
		int r = index_select(&ix, &want, &e);
		if (r != table[i].pick)
			fail_msg("select %s: %d (%s), want %d", table[i].want, r, r < 0 ? e.message : "",
				 table[i].pick);
	}

	static const char has[] = "(has: linux/amd64, linux/arm/v5, linux/arm/v6, linux/arm/v7, linux/arm64/v8, "
				  "linux/386, linux/ppc64le, linux/riscv64, linux/s390x)";
	struct platform want;
	assert_int_equal(platform_parse("linux/mips64le", &want, &e), 0);
	assert_int_equal(index_select(&ix, &want, &e), -ENOENT);
	assert_int_equal(e.code, ENOENT);
	assert_string_equal(e.name, EMBER_ERROR_NOT_FOUND);
	char msg[512];
	snprintf(msg, sizeof(msg), "no manifest for platform linux/mips64le in index %s", has);
	assert_string_equal(e.message, msg);
	assert_int_equal(platform_parse("windows/amd64", &want, &e), 0);
	assert_int_equal(index_select(&ix, &want, &e), -ENOENT);
	assert_msg_contains(&e, "no manifest for platform windows/amd64 in index (has: linux/amd64, ");
	/* Attestations are never picked, even when asked for. */
	assert_int_equal(platform_parse("unknown/unknown", &want, &e), 0);
	assert_int_equal(index_select(&ix, &want, &e), -ENOENT);
	index_done(&ix);
	assert_true(all_zero(&ix, sizeof(ix)));
	index_done(NULL);
}

static void test_docker_list(void **state)
{
	char buf[PLATFORM_STRING_MAX];
	struct ember_error e;
	struct platform want;
	struct index ix;

	(void)state;
	assert_int_equal(index_parse(docker_list, strlen(docker_list), &ix, &e), 0);
	assert_string_equal(ix.media_type, MT_DOCKER_LIST);
	assert_int_equal(ix.n_manifests, 3);
	assert_string_equal(ix.manifests[0].media_type, MT_DOCKER_MANIFEST);
	assert_string_equal(platform_string(ix.manifests[2].platform, buf), "windows(10.0.17763.5696)/amd64");
	assert_int_equal(platform_parse("linux/amd64", &want, &e), 0);
	assert_int_equal(index_select(&ix, &want, &e), 1);
	assert_int_equal(platform_parse("windows/amd64", &want, &e), 0);
	assert_int_equal(index_select(&ix, &want, &e), 2);
	assert_int_equal(platform_parse("windows(10.0.17763.5696)/amd64", &want, &e), 0);
	assert_int_equal(index_select(&ix, &want, &e), 2);
	assert_int_equal(platform_parse("windows(10.0.20348.1)/amd64", &want, &e), 0);
	assert_int_equal(index_select(&ix, &want, &e), -ENOENT);
	index_done(&ix);
}

/* An index of the given entries: "mt|platform-json|" pairs. */
static char *index_of(const char *const *entries, size_t n)
{
	char *s = strdup("{\"schemaVersion\":2,\"manifests\":[");

	for (size_t i = 0; i < n; i += 2) {
		char *next;
		assert_true(asprintf(&next, "%s%s{\"mediaType\":\"%s\",\"digest\":\"" DG("00") "\",\"size\":1%s%s}", s,
				     i ? "," : "", entries[i], entries[i + 1] ? ",\"platform\":" : "",
				     entries[i + 1] ? entries[i + 1] : "") > 0);
		free(s);
		s = next;
	}
	char *done;
	assert_true(asprintf(&done, "%s]}", s) > 0);
	free(s);
	return done;
}

static int select_from(const char *const *entries, size_t n, const char *want_s, struct ember_error *e)
{
	struct platform want;
	struct index ix;
	char *doc = index_of(entries, n);

	assert_int_equal(platform_parse(want_s, &want, e), 0);
	if (index_parse(doc, strlen(doc), &ix, e) != 0)
		fail_msg("index: %s", e->message);
	free(doc);
	int r = index_select(&ix, &want, e);
	index_done(&ix);
	return r;
}

#define P_AMD64 "{\"architecture\":\"amd64\",\"os\":\"linux\"}"
#define P_AMD64V2 "{\"architecture\":\"amd64\",\"os\":\"linux\",\"variant\":\"v2\"}"
#define P_386 "{\"architecture\":\"386\",\"os\":\"linux\"}"
#define P_ARMV6 "{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"}"
#define P_ARMV7 "{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}"
#define P_ARM64 "{\"architecture\":\"arm64\",\"os\":\"linux\"}"
#define P_ARM64V8 "{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}"

static void test_index_select(void **state)
{
	struct ember_error e;

	(void)state;
	/* The brief's example: the error lists what the index has. */
	static const char *const two[] = { MT_OCI_MANIFEST, P_AMD64, MT_OCI_MANIFEST, P_ARMV7 };
	assert_int_equal(select_from(two, 4, "linux/ppc64le", &e), -ENOENT);
	assert_string_equal(e.message,
			    "no manifest for platform linux/ppc64le in index (has: linux/amd64, linux/arm/v7)");
	/* containerd's fallbacks: arm64 runs arm (AArch32), amd64 runs 386. */
	assert_int_equal(select_from(two, 4, "linux/arm64/v8", &e), 1);
	static const char *const only386[] = { MT_OCI_MANIFEST, P_ARMV6, MT_OCI_MANIFEST, P_386 };
	assert_int_equal(select_from(only386, 4, "linux/amd64", &e), 1);
	assert_int_equal(select_from(only386, 4, "linux/arm/v7", &e), 0);
	assert_int_equal(select_from(only386, 4, "linux/arm64", &e), 0);
	assert_int_equal(select_from(only386, 4, "linux/arm/v5", &e), -ENOENT);
	assert_string_equal(e.message,
			    "no manifest for platform linux/arm/v5 in index (has: linux/arm/v6, linux/386)");
	/* The best score wins wherever it is; among equals the first. */
	static const char *const levels[] = { MT_OCI_MANIFEST, P_386, MT_OCI_MANIFEST, P_AMD64, MT_OCI_MANIFEST,
					      P_AMD64V2, MT_DOCKER_MANIFEST, P_AMD64V2 };
	assert_int_equal(select_from(levels, 8, "linux/amd64/v3", &e), 2);
	assert_int_equal(select_from(levels, 8, "linux/amd64/v2", &e), 2);
	assert_int_equal(select_from(levels, 8, "linux/amd64", &e), 1);
	assert_int_equal(select_from(levels, 8, "linux/386", &e), 0);
	static const char *const arm64s[] = { MT_OCI_MANIFEST, P_ARMV7, MT_OCI_MANIFEST, P_ARM64, MT_OCI_MANIFEST,
					      P_ARM64V8 };
	assert_int_equal(select_from(arm64s, 6, "linux/arm64/v8", &e), 1);
	/* Duplicates are listed once, normalised. */
	assert_int_equal(select_from(arm64s, 6, "linux/s390x", &e), -ENOENT);
	assert_string_equal(e.message,
			    "no manifest for platform linux/s390x in index (has: linux/arm/v7, linux/arm64/v8)");

	/* Entries that are not image manifests are skipped. */
	static const char *const others[] = { MT_OCI_INDEX, P_AMD64, MT_DOCKER_SCHEMA1_SIGNED, P_AMD64,
					      "application/vnd.oci.artifact.manifest.v1+json", P_AMD64,
					      MT_OCI_CONFIG, P_AMD64, MT_DOCKER_MANIFEST, P_AMD64 };
	assert_int_equal(select_from(others, 10, "linux/amd64", &e), 4);
	assert_int_equal(select_from(others, 8, "linux/amd64", &e), -ENOENT);
	assert_string_equal(e.message, "no manifest for platform linux/amd64 in index (has: none)");

	/* Without a platform: only the lone image of an index. */
	static const char *const lone[] = { MT_OCI_MANIFEST, NULL };
	assert_int_equal(select_from(lone, 2, "linux/arm64", &e), 0);
	static const char *const lone_nested[] = { MT_OCI_INDEX, NULL, MT_OCI_MANIFEST, NULL };
	assert_int_equal(select_from(lone_nested, 4, "linux/arm64", &e), 1);
	static const char *const pair[] = { MT_OCI_MANIFEST, NULL, MT_OCI_MANIFEST, NULL };
	assert_int_equal(select_from(pair, 4, "linux/arm64", &e), -ENOENT);
	assert_string_equal(e.message, "no manifest for platform linux/arm64/v8 in index (has: none)");
	static const char *const mixed[] = { MT_OCI_MANIFEST, NULL, MT_OCI_MANIFEST, P_AMD64 };
	assert_int_equal(select_from(mixed, 4, "linux/amd64", &e), 1);
	assert_int_equal(select_from(mixed, 4, "linux/arm64", &e), -ENOENT);
	/* A lone image with a platform must match it. */
	static const char *const lone_amd64[] = { MT_OCI_MANIFEST, P_AMD64 };
	assert_int_equal(select_from(lone_amd64, 2, "linux/arm64", &e), -ENOENT);
	assert_int_equal(select_from(NULL, 0, "linux/arm64", &e), -ENOENT);
	assert_msg_contains(&e, "(has: none)");

	/* A long list is cut, and the message stays whole. */
	char *doc = strdup("{\"schemaVersion\":2,\"manifests\":[");
	for (int i = 0; i < 60; i++) {
		char *next;
		assert_true(asprintf(&next, "%s%s{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" DG("00")
				     "\",\"size\":1,\"platform\":{\"architecture\":\"arch%d\",\"os\":\"linux\"}}",
				     doc, i ? "," : "", i) > 0);
		free(doc);
		doc = next;
	}
	char *full;
	assert_true(asprintf(&full, "%s]}", doc) > 0);
	free(doc);
	struct index ix;
	struct platform want;
	assert_int_equal(index_parse(full, strlen(full), &ix, &e), 0);
	free(full);
	assert_int_equal(platform_parse("linux/amd64", &want, &e), 0);
	assert_int_equal(index_select(&ix, &want, &e), -ENOENT);
	assert_msg_contains(&e, "(has: linux/arch0, linux/arch1, ");
	assert_msg_contains(&e, ", ...)");
	index_done(&ix);
}

static void test_index_errors(void **state)
{
	static const struct {
		const char *doc;
		int code;
		const char *fragment;
	} docs[] = {
		{ "{\"schemaVersion\":2}", EINVAL, "index: manifests: missing" },
		{ "{\"manifests\":[]}", EINVAL, "index: schemaVersion: missing" },
		{ "{\"schemaVersion\":1,\"manifests\":[]}", ENOTSUP,
		  "index: Docker schema 1 manifests are not supported (deprecated)" },
		{ "{\"schemaVersion\":2,\"manifests\":{}}", EINVAL, "index: manifests: not an array" },
		{ "{\"schemaVersion\":2,\"manifests\":[null]}", EINVAL, "index: manifests[0]: not an object" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"manifests\":[]}", EINVAL,
		  "index: mediaType: \"application/vnd.oci.image.manifest.v1+json\" is a manifest, not an index" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"manifests\":[]}", EINVAL,
		  "is an image config, not an index" },
		{ "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}", EINVAL,
		  "index: layers: not allowed in an index" },
		{ "{\"schemaVersion\":2,\"manifests\":[],\"config\":{}}", EINVAL,
		  "index: config: not allowed in an index" },
		{ "{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"x\":true}}", EINVAL,
		  "index: annotations[\"x\"]: not a string" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" DG("00")
		  "\",\"size\":1,\"platform\":\"linux/amd64\"}]}", EINVAL, "index: manifests[0].platform: not an object" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" DG("00")
		  "\",\"size\":1},{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" DG("00")
		  "\",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}", EINVAL,
		  "index: manifests[1].platform.architecture: missing" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" DG("00")
		  "\",\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":3}}]}", EINVAL,
		  "index: manifests[0].platform.os: not a string" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" DG("00")
		  "\",\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":\"\"}}]}", EINVAL,
		  "index: manifests[0].platform.os: empty" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" DG("00")
		  "\",\"size\":1,\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7 \"}}]}",
		  EINVAL, "index: manifests[0].platform.variant: \"v7 \" has a character other than [A-Za-z0-9._-]" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" DG("00") "\",\"size\":1}]}", EINVAL,
		  "index: manifests[0].mediaType: missing" },
	};
	struct ember_error e;
	struct index ix;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		memset(&ix, 0x5a, sizeof(ix));
		expect_error(index_parse(docs[i].doc, strlen(docs[i].doc), &ix, &e), &e, docs[i].code,
			     docs[i].fragment);
		assert_true(all_zero(&ix, sizeof(ix)));
	}
	char *entry;
	assert_true(asprintf(&entry, "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" DG("00")
			     "\",\"size\":1}") > 0);
	char *big = many("{\"schemaVersion\":2,\"manifests\":[", entry, IMAGE_MAX_MANIFESTS + 1, "]}");
	expect_error(index_parse(big, strlen(big), &ix, &e), &e, EINVAL,
		     "index: manifests: 1001 entries, more than the limit of 1000");
	free(big);
	big = many("{\"schemaVersion\":2,\"manifests\":[", entry, IMAGE_MAX_MANIFESTS, "]}");
	assert_int_equal(index_parse(big, strlen(big), &ix, &e), 0);
	assert_int_equal(ix.n_manifests, IMAGE_MAX_MANIFESTS);
	index_done(&ix);
	free(big);
	free(entry);
	/* An empty index is valid. */
	static const char empty[] = "{\"schemaVersion\":2,\"manifests\":[]}";
	assert_int_equal(index_parse(empty, strlen(empty), &ix, &e), 0);
	assert_int_equal(ix.n_manifests, 0);
	assert_null(ix.manifests);
	index_done(&ix);
}

/* ---- image configs ---- */

static void test_oci_config(void **state)
{
	struct ember_error e;
	struct image_config c;

	(void)state;
	assert_int_equal(image_config_parse(oci_config, strlen(oci_config), &c, &e), 0);
	assert_string_equal(c.platform.os, "linux");
	assert_string_equal(c.platform.arch, "amd64");
	assert_string_equal(c.platform.variant, "");
	assert_int_equal(c.n_diff_ids, 3);
	assert_string_equal(c.diff_ids[0], DG("f0"));
	assert_string_equal(c.diff_ids[2], DG("f2"));
	assert_non_null(c.config);
	assert_string_equal(json_string_value(json_array_get(json_object_get(c.config, "Entrypoint"), 0)),
			    "/bin/my-app-binary");
	assert_int_equal(json_array_size(json_object_get(c.config, "Cmd")), 3);
	assert_string_equal(json_string_value(json_object_get(c.config, "WorkingDir")), "/home/alice");
	assert_string_equal(json_string_value(json_object_get(c.config, "StopSignal")), "SIGTERM");
	image_config_done(&c);
	assert_true(all_zero(&c, sizeof(c)));
	image_config_done(&c);
	image_config_done(NULL);
}

static void test_docker_config(void **state)
{
	struct ember_error e;
	struct image_config c;

	(void)state;
	assert_int_equal(image_config_parse(docker_config, strlen(docker_config), &c, &e), 0);
	assert_string_equal(c.platform.arch, "arm");
	assert_string_equal(c.platform.variant, "v7");
	assert_int_equal(c.n_diff_ids, 2);
	assert_string_equal(c.diff_ids[1], DG("b2"));
	assert_true(json_is_null(json_object_get(c.config, "Entrypoint")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(c.config, "Cmd"), 0)), "sh");
	image_config_done(&c);

	/* "config": null is no config; an image of no layers is fine. */
	static const char bare[] = "{\"architecture\":\"arm64\",\"os\":\"linux\",\"os.version\":\"\",\"config\":null,"
				   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	assert_int_equal(image_config_parse(bare, strlen(bare), &c, &e), 0);
	assert_null(c.config);
	assert_int_equal(c.n_diff_ids, 0);
	assert_null(c.diff_ids);
	image_config_done(&c);
}

#define CFG(extra, rootfs) "{\"architecture\":\"amd64\",\"os\":\"linux\"" extra ",\"rootfs\":" rootfs "}"
#define ROOTFS_OK "{\"type\":\"layers\",\"diff_ids\":[\"" DG("f0") "\"]}"

static void test_config_errors(void **state)
{
	static const struct {
		const char *doc;
		int code;
		const char *fragment;
	} docs[] = {
		{ "[1]", EINVAL, "image config: not a JSON object" },
		{ "{\"os\":\"linux\",\"rootfs\":" ROOTFS_OK "}", EINVAL, "image config: architecture: missing" },
		{ "{\"architecture\":\"amd64\",\"rootfs\":" ROOTFS_OK "}", EINVAL, "image config: os: missing" },
		{ "{\"architecture\":\"amd64\",\"os\":[],\"rootfs\":" ROOTFS_OK "}", EINVAL,
		  "image config: os: not a string" },
		{ "{\"architecture\":\"\",\"os\":\"linux\",\"rootfs\":" ROOTFS_OK "}", EINVAL,
		  "image config: architecture: empty" },
		{ CFG(",\"variant\":\"v/7\"", ROOTFS_OK), EINVAL, "image config: variant: \"v/7\" has a character" },
		{ "{\"architecture\":\"amd64\",\"os\":\"linux\"}", EINVAL, "image config: rootfs: missing" },
		{ CFG("", "[]"), EINVAL, "image config: rootfs: not an object" },
		{ CFG("", "{\"diff_ids\":[]}"), EINVAL, "image config: rootfs.type: missing" },
		{ CFG("", "{\"type\":1,\"diff_ids\":[]}"), EINVAL, "image config: rootfs.type: not a string" },
		{ CFG("", "{\"type\":\"layer\",\"diff_ids\":[]}"), EINVAL,
		  "image config: rootfs.type: \"layer\" is not \"layers\"" },
		{ CFG("", "{\"type\":\"layers\"}"), EINVAL, "image config: rootfs.diff_ids: missing" },
		{ CFG("", "{\"type\":\"layers\",\"diff_ids\":\"x\"}"), EINVAL,
		  "image config: rootfs.diff_ids: not an array" },
		{ CFG("", "{\"type\":\"layers\",\"diff_ids\":[\"" DG("f0") "\",\"sha256:f0\"]}"), EINVAL,
		  "image config: rootfs.diff_ids[1]: malformed digest \"sha256:f0\"" },
		{ CFG("", "{\"type\":\"layers\",\"diff_ids\":[null]}"), EINVAL,
		  "image config: rootfs.diff_ids[0]: not a string" },
		{ CFG(",\"config\":[]", ROOTFS_OK), EINVAL, "image config: config: not an object" },
		{ CFG(",\"config\":{\"Env\":\"A=1\"}", ROOTFS_OK), EINVAL, "image config: config.Env: not an array" },
		{ CFG(",\"config\":{\"Cmd\":[\"sh\",1]}", ROOTFS_OK), EINVAL, "image config: config.Cmd[1]: not a string" },
		{ CFG(",\"config\":{\"Entrypoint\":{}}", ROOTFS_OK), EINVAL,
		  "image config: config.Entrypoint: not an array" },
		{ CFG(",\"config\":{\"User\":0}", ROOTFS_OK), EINVAL, "image config: config.User: not a string" },
		{ CFG(",\"config\":{\"WorkingDir\":[]}", ROOTFS_OK), EINVAL,
		  "image config: config.WorkingDir: not a string" },
		{ CFG(",\"config\":{\"StopSignal\":15}", ROOTFS_OK), EINVAL,
		  "image config: config.StopSignal: not a string" },
		{ CFG(",\"config\":{\"Labels\":{\"a\":1}}", ROOTFS_OK), EINVAL,
		  "image config: config.Labels[\"a\"]: not a string" },
		{ CFG(",\"config\":{\"ExposedPorts\":[\"80/tcp\"]}", ROOTFS_OK), EINVAL,
		  "image config: config.ExposedPorts: not an object" },
		{ CFG(",\"config\":{\"Volumes\":\"/data\"}", ROOTFS_OK), EINVAL,
		  "image config: config.Volumes: not an object" },
	};
	struct ember_error e;
	struct image_config c;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		memset(&c, 0x5a, sizeof(c));
		expect_error(image_config_parse(docs[i].doc, strlen(docs[i].doc), &c, &e), &e, docs[i].code,
			     docs[i].fragment);
		assert_true(all_zero(&c, sizeof(c)));
	}
	char *big = many("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[",
			 "\"" DG("f0") "\"", IMAGE_MAX_LAYERS + 1, "]}}");
	expect_error(image_config_parse(big, strlen(big), &c, &e), &e, EINVAL,
		     "image config: rootfs.diff_ids: 1001 entries, more than the limit of 1000");
	free(big);
}

static void test_check_layers(void **state)
{
	struct ember_error e;
	struct manifest m;
	struct image_config c;

	(void)state;
	assert_int_equal(manifest_parse(oci_manifest, strlen(oci_manifest), &m, &e), 0);
	assert_int_equal(image_config_parse(oci_config, strlen(oci_config), &c, &e), 0);
	assert_int_equal(image_check_layers(&m, &c, &e), 0);
	image_config_done(&c);
	assert_int_equal(image_config_parse(docker_config, strlen(docker_config), &c, &e), 0);
	expect_error(image_check_layers(&m, &c, &e), &e, EINVAL,
		     "image: the manifest has 3 layers but the config has 2 diff_ids");
	manifest_done(&m);
	image_config_done(&c);

	assert_int_equal(manifest_parse(docker_manifest, strlen(docker_manifest), &m, &e), 0);
	assert_int_equal(image_config_parse(docker_config, strlen(docker_config), &c, &e), 0);
	assert_int_equal(image_check_layers(&m, &c, &e), 0);
	manifest_done(&m);

	char *doc = manifest_with_layer(LAYER_OK ",{\"mediaType\":\"" MT_OCI_LAYER_GZIP "+encrypted\",\"digest\":\""
					DG("a1") "\",\"size\":1}");
	assert_int_equal(manifest_parse(doc, strlen(doc), &m, &e), 0);
	expect_error(image_check_layers(&m, &c, &e), &e, ENOTSUP,
		     "image: layers[1]: encrypted layers are not supported");
	manifest_done(&m);
	free(doc);
	doc = manifest_with_layer("{\"mediaType\":\"application/vnd.in-toto+json\",\"digest\":\"" DG("a1")
				  "\",\"size\":1}");
	assert_int_equal(manifest_parse(doc, strlen(doc), &m, &e), 0);
	expect_error(image_check_layers(&m, &c, &e), &e, ENOTSUP,
		     "image: layers[0]: unsupported layer media type \"application/vnd.in-toto+json\"");
	manifest_done(&m);
	free(doc);
	static const char artifact[] = "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"artifactType\":"
				       "\"application/vnd.example+type\",\"config\":{\"mediaType\":"
				       "\"application/vnd.oci.empty.v1+json\",\"digest\":\"" DG("44")
				       "\",\"size\":2,\"data\":\"e30=\"},\"layers\":[" LAYER_OK "]}";
	assert_int_equal(manifest_parse(artifact, strlen(artifact), &m, &e), 0);
	expect_error(image_check_layers(&m, &c, &e), &e, ENOTSUP,
		     "image: config.mediaType \"application/vnd.oci.empty.v1+json\" is not an image config");
	manifest_done(&m);
	image_config_done(&c);
}

/* ---- telling documents apart ---- */

static void test_document_kind(void **state)
{
	static const char bare_manifest[] = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MT_OCI_CONFIG
					    "\",\"digest\":\"" DG("c0") "\",\"size\":2},\"layers\":[]}";
	static const char bare_docker[] = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG
					  "\",\"digest\":\"" DG("c0") "\",\"size\":2},\"layers\":[]}";
	static const char bare_index[] = "{\"schemaVersion\":2,\"manifests\":[]}";
	static const char schema1[] = "{\"schemaVersion\":1,\"name\":\"library/busybox\",\"tag\":\"latest\","
				      "\"architecture\":\"amd64\",\"fsLayers\":[],\"history\":[],\"signatures\":[]}";
	static const struct {
		const char *doc, *content_type;
		enum mt_kind kind;
		const char *mt;
	} ok[] = {
		{ oci_manifest, NULL, MT_KIND_MANIFEST, MT_OCI_MANIFEST },
		{ oci_manifest, MT_OCI_MANIFEST, MT_KIND_MANIFEST, MT_OCI_MANIFEST },
		{ oci_manifest, "application/vnd.oci.image.manifest.v1+json; charset=utf-8", MT_KIND_MANIFEST,
		  MT_OCI_MANIFEST },
		{ oci_manifest, " Application/VND.OCI.image.manifest.v1+json ", MT_KIND_MANIFEST, MT_OCI_MANIFEST },
		{ oci_manifest, "application/json", MT_KIND_MANIFEST, MT_OCI_MANIFEST },
		{ oci_manifest, "", MT_KIND_MANIFEST, MT_OCI_MANIFEST },
		{ docker_manifest, MT_DOCKER_MANIFEST, MT_KIND_MANIFEST, MT_DOCKER_MANIFEST },
		{ docker_manifest, "text/plain; charset=utf-8", MT_KIND_MANIFEST, MT_DOCKER_MANIFEST },
		{ bare_manifest, NULL, MT_KIND_MANIFEST, MT_OCI_MANIFEST },
		{ bare_manifest, MT_DOCKER_MANIFEST, MT_KIND_MANIFEST, MT_DOCKER_MANIFEST },
		{ bare_docker, "application/octet-stream", MT_KIND_MANIFEST, MT_DOCKER_MANIFEST },
		{ busybox_index, NULL, MT_KIND_INDEX, MT_OCI_INDEX },
		{ busybox_index, MT_OCI_INDEX, MT_KIND_INDEX, MT_OCI_INDEX },
		{ bare_index, NULL, MT_KIND_INDEX, MT_OCI_INDEX },
		{ bare_index, MT_DOCKER_LIST, MT_KIND_INDEX, MT_DOCKER_LIST },
		{ docker_list, MT_DOCKER_LIST, MT_KIND_INDEX, MT_DOCKER_LIST },
		{ oci_config, NULL, MT_KIND_CONFIG, MT_OCI_CONFIG },
		{ docker_config, MT_DOCKER_CONFIG, MT_KIND_CONFIG, MT_DOCKER_CONFIG },
		{ docker_config, "binary/octet-stream", MT_KIND_CONFIG, MT_OCI_CONFIG },
	};
	static const struct {
		const char *doc, *content_type;
		int code;
		const char *fragment;
	} bad[] = {
		{ oci_manifest, MT_DOCKER_MANIFEST, EINVAL,
		  "manifest: Content-Type \"application/vnd.docker.distribution.manifest.v2+json\" does not match "
		  "the document's mediaType \"application/vnd.oci.image.manifest.v1+json\"" },
		{ oci_manifest, MT_OCI_INDEX, EINVAL, "does not match the document's mediaType" },
		{ bare_manifest, MT_OCI_INDEX, EINVAL,
		  "manifest: Content-Type \"application/vnd.oci.image.index.v1+json\" says an index, but the "
		  "document looks like a manifest" },
		{ bare_index, MT_OCI_MANIFEST, EINVAL, "says a manifest, but the document looks like an index" },
		{ oci_config, MT_OCI_MANIFEST, EINVAL, "says a manifest, but the document looks like an image config" },
		{ "{\"mediaType\":\"" MT_OCI_INDEX "\",\"layers\":[]}", NULL, EINVAL,
		  "manifest: mediaType \"application/vnd.oci.image.index.v1+json\" says an index, but the document "
		  "looks like a manifest" },
		{ "not json", MT_DOCKER_SCHEMA1_SIGNED, ENOTSUP,
		  "manifest: Docker schema 1 manifests are not supported (deprecated); re-push the image with a "
		  "current tool" },
		{ schema1, MT_DOCKER_SCHEMA1, ENOTSUP, "manifest: Docker schema 1 manifests are not supported" },
		{ schema1, NULL, ENOTSUP, "manifest: Docker schema 1 manifests are not supported" },
		{ schema1, "text/plain", ENOTSUP, "manifest: Docker schema 1 manifests are not supported" },
		{ "{\"mediaType\":\"" MT_DOCKER_SCHEMA1 "\"}", NULL, ENOTSUP, "Docker schema 1 manifests" },
		{ oci_manifest, "application/vnd.oci.artifact.manifest.v1+json", ENOTSUP,
		  "manifest: Content-Type \"application/vnd.oci.artifact.manifest.v1+json\" is not a manifest, "
		  "index or image config" },
		{ oci_manifest, MT_OCI_LAYER_GZIP, ENOTSUP, "is not a manifest, index or image config" },
		{ oci_manifest, "text/html", ENOTSUP, "Content-Type \"text/html\" is not a manifest" },
		{ "{\"mediaType\":\"application/vnd.example\",\"layers\":[]}", NULL, ENOTSUP,
		  "manifest: mediaType: unsupported media type \"application/vnd.example\"" },
		{ "{\"mediaType\":\"" MT_DOCKER_LAYER "\"}", NULL, ENOTSUP, "mediaType: unsupported media type" },
		{ "{\"mediaType\":[]}", NULL, EINVAL, "manifest: mediaType: not a string" },
		{ "{\"schemaVersion\":2}", NULL, EINVAL,
		  "manifest: cannot tell what the document is (no mediaType, manifests, layers or rootfs)" },
		{ "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}", MT_OCI_INDEX, EINVAL,
		  "manifest: has both manifests and layers" },
		{ "{\"schemaVersion\":2,", NULL, EINVAL, "manifest: invalid JSON" },
		{ "[]", NULL, EINVAL, "manifest: not a JSON object" },
	};
	struct ember_error e;
	enum mt_kind kind;
	const char *mt;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		int r = image_document_kind(ok[i].doc, strlen(ok[i].doc), ok[i].content_type, &kind, &mt, &e);
		if (r != 0)
			fail_msg("document %zu: %s", i, e.message);
		assert_int_equal(kind, ok[i].kind);
		assert_string_equal(mt, ok[i].mt);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		kind = MT_KIND_INDEX;
		mt = "x";
		expect_error(image_document_kind(bad[i].doc, strlen(bad[i].doc), bad[i].content_type, &kind, &mt, &e),
			     &e, bad[i].code, bad[i].fragment);
		assert_int_equal(kind, MT_KIND_UNKNOWN);
		assert_null(mt);
	}
	/* media_type may be NULL. */
	assert_int_equal(image_document_kind(bare_index, strlen(bare_index), NULL, &kind, NULL, &e), 0);
	assert_int_equal(kind, MT_KIND_INDEX);
	char long_ct[400];
	memset(long_ct, 'a', sizeof(long_ct) - 1);
	long_ct[sizeof(long_ct) - 1] = '\0';
	expect_error(image_document_kind(bare_index, strlen(bare_index), long_ct, &kind, NULL, &e), &e, ENOTSUP,
		     "is not a manifest, index or image config");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_media_kind),
		cmocka_unit_test(test_layer_compression),
		cmocka_unit_test(test_oci_manifest),
		cmocka_unit_test(test_docker_manifest),
		cmocka_unit_test(test_manifest_defaults),
		cmocka_unit_test(test_manifest_errors),
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test(test_busybox_index),
		cmocka_unit_test(test_docker_list),
		cmocka_unit_test(test_index_select),
		cmocka_unit_test(test_index_errors),
		cmocka_unit_test(test_oci_config),
		cmocka_unit_test(test_docker_config),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_check_layers),
		cmocka_unit_test(test_document_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
