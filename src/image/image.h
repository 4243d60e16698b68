/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_IMAGE_H
#define EMBER_IMAGE_H

/*
 * Image documents: OCI image-spec v1.1 and Docker manifest v2 schema 2
 * media types, descriptors, manifests, indexes (manifest lists) and image
 * configs, and platform matching with containerd's fallbacks.
 *
 * Everything here reads untrusted registry input, so the parsers are
 * strict about what ember relies on and ignore what it does not use:
 *
 *   - a document is at most IMAGE_DOC_MAX bytes, nests at most
 *     IMAGE_JSON_MAX_DEPTH deep, is one JSON object, and has no duplicate
 *     keys; schemaVersion is the integer 2;
 *   - a descriptor has mediaType (an RFC 6838 name), digest (sha256,
 *     util/digest.h) and size (an integer, 0 .. 2^53); annotations, when
 *     present, are a string-to-string map; urls, data and artifactType are
 *     ignored;
 *   - a manifest has at most IMAGE_MAX_LAYERS layers, an index at most
 *     IMAGE_MAX_MANIFESTS manifests, a config at most IMAGE_MAX_LAYERS
 *     diff_ids and rootfs.type "layers".
 *
 * Unknown media types of layers, configs and index entries are not an
 * error when parsing (the OCI spec requires that they be ignored);
 * image_check_layers() and image_layer_compression() refuse them where
 * ember would have to unpack or run them.
 *
 * Errors are io.ember.InvalidArgument: EINVAL for malformed documents,
 * ENOTSUP for formats ember does not handle (Docker schema 1, unknown
 * document media types, unsupported layer types), EMSGSIZE for oversize
 * documents. Messages are one line, start with the document and name the
 * field, e.g.
 *
 *     manifest: layers[2].digest: malformed digest "sha256:zz" (want ...)
 *
 * Input-derived text in messages is cut to 80 characters and anything but
 * printable ASCII is shown as '?'.
 */

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include <ember/error.h>

#include "util/digest.h"

/* ---- media types ---- */

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
/* Deprecated in image-spec v1.1, still found in the wild. */
#define MT_OCI_LAYER_ND "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define MT_OCI_LAYER_ND_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define MT_OCI_LAYER_ND_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
/* Uncompressed Docker layers: not in the Docker spec, but containerd
   reads (and some tools write) them. */
#define MT_DOCKER_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar"
#define MT_DOCKER_LAYER_FOREIGN_TAR "application/vnd.docker.image.rootfs.foreign.diff.tar"

/* Docker schema 1: recognised only to be refused with a useful message. */
#define MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* containerd 1.6's checkpoint images (images/mediatypes.go): an index
   whose entries are, besides the container's image manifest, these blobs
   themselves (no manifest of their own; registries take them so). */
#define MT_CHECKPOINT_PREFIX "application/vnd.containerd.container."
#define MT_CHECKPOINT_CRIU "application/vnd.containerd.container.criu.checkpoint.criu.tar"
#define MT_CHECKPOINT_RW "application/vnd.containerd.container.rw.tar"
#define MT_CHECKPOINT_CONFIG "application/vnd.containerd.container.checkpoint.config.v1+proto"
/* Whether an index entry is such a blob (MT_CHECKPOINT_PREFIX): pulled,
   pushed and exported with the index, never parsed. */
int image_media_is_checkpoint(const char *media_type);

enum mt_kind { MT_KIND_UNKNOWN, MT_KIND_INDEX, MT_KIND_MANIFEST, MT_KIND_CONFIG, MT_KIND_LAYER };

/* What a media type names; case-insensitive (RFC 6838), NULL is unknown.
   Encrypted layers (+encrypted) and schema 1 are MT_KIND_UNKNOWN. */
enum mt_kind image_media_kind(const char *media_type);

enum layer_compression { LAYER_TAR, LAYER_GZIP, LAYER_ZSTD };

/* The compression a layer media type declares. Anything that is not a
   layer type is ENOTSUP. (Docker's uncompressed types are sometimes
   compressed anyway, as containerd notes: the unpacker should sniff.) */
int image_layer_compression(const char *media_type, enum layer_compression *c, struct ember_error *e);

/* ---- limits ---- */

#define IMAGE_DOC_MAX ((size_t)CONFIG_PULL_MAX_MANIFEST_KIB * 1024)
#define IMAGE_JSON_MAX_DEPTH 32
#define IMAGE_MAX_LAYERS 1000
#define IMAGE_MAX_MANIFESTS 1000
#define IMAGE_MAX_SIZE ((int64_t)1 << 53) /* largest size a descriptor may declare */

/* ---- platforms ---- */

/* Fixed-size fields: platforms never allocate, and normalising cannot
   fail. Each field is [A-Za-z0-9._-]; variant and os_version are "" when
   absent. */
#define PLATFORM_FIELD_MAX 32
#define PLATFORM_OS_VERSION_MAX 64
#define PLATFORM_STRING_MAX (3 * PLATFORM_FIELD_MAX + PLATFORM_OS_VERSION_MAX + 4)

struct platform {
	char os[PLATFORM_FIELD_MAX];
	char arch[PLATFORM_FIELD_MAX];
	char variant[PLATFORM_FIELD_MAX];
	char os_version[PLATFORM_OS_VERSION_MAX];
};

/* A user's platform specifier, normalised: "os[(os_version)]/arch[/variant]",
   or one word: a known OS (with the host's architecture) or a known
   architecture (on linux), e.g. "linux/arm64/v8", "linux/amd64", "arm64",
   "armhf", "x86_64". */
int platform_parse(const char *s, struct platform *p, struct ember_error *e);

/* containerd's normalisation, plus uname and Debian spellings: lower case;
   macos → darwin; x86_64, x86-64 → amd64 (variant v1 → ""); aarch64 → arm64;
   arm64 variant "", 8, v8.0 → v8 and 9, v9.0 → v9; armhf → arm/v7;
   armel → arm/v6; armv5*, armv6*, armv7*, armv8l → arm/vN; arm variant
   "" or 7 → v7, 5, 6, 8 → vN; i386, i486, i586, i686 → 386; ppc64el →
   ppc64le; mips64el → mips64le; mipsel → mipsle; loongarch64 → loong64;
   an empty os → linux. */
void platform_normalize(struct platform *p);

/* The platform this binary runs containers for: its compile-time
   architecture; on 32-bit arm the variant comes from uname(2) (armv7l →
   v7), falling back to the compiler's __ARM_ARCH. amd64 is v1 (no
   micro-architecture detection), arm64 is v8. Normalised. */
void platform_default(struct platform *p);

/* "os/arch[/variant]", with "(os_version)" after os when set; returns buf. */
char *platform_string(const struct platform *p, char buf[PLATFORM_STRING_MAX]);

/* Both normalised platforms are the same (os, arch, variant, os_version). */
int platform_equal(const struct platform *a, const struct platform *b);

#define PLATFORM_MATCH_EXACT 100

/*
 * Can an image built for have run where want is asked for? 0 when not,
 * else a score, PLATFORM_MATCH_EXACT for the same (normalised) platform
 * and less for each step down containerd's platforms.Only() fallbacks:
 *
 *   amd64/vN  → amd64/vN-1 … amd64 (v1) → 386
 *   arm64/v9.N → v9.N-1 … v9 → v8.min(N+5, 9) … v8; arm64/v8.N → … v8;
 *     then every arm64 → arm/v8 → arm/v7 → arm/v6 → arm/v5
 *   arm/vN    → arm/vN-1 … arm/v5
 *
 * The os must be the same; os_version counts only when both have one.
 */
int platform_match(const struct platform *want, const struct platform *have);

/* A platform object of a descriptor (architecture and os required, variant
   and os.version optional; os.features and features ignored), as found;
   not normalised. where names it in errors ("manifests[3].platform"). */
int platform_from_json(json_t *obj, const char *where, struct platform *p, struct ember_error *e);
/* A new platform object, or NULL when out of memory. */
json_t *platform_to_json(const struct platform *p);

/* ---- descriptors ---- */

struct descriptor {
	char *media_type;
	char digest[DIGEST_MAX];
	int64_t size;               /* 0 .. IMAGE_MAX_SIZE */
	struct platform *platform;  /* NULL when absent */
	json_t *annotations;        /* a reference the descriptor owns; NULL when absent */
};

/* Parse obj into *d (zeroed first, and again on failure). where names the
   descriptor in errors, "layers[2]" → "layers[2].digest: ...". */
int descriptor_parse(json_t *obj, const char *where, struct descriptor *d, struct ember_error *e);
void descriptor_done(struct descriptor *d);
/* A new JSON object for d (for records), or NULL when out of memory. */
json_t *descriptor_to_json(const struct descriptor *d);

/* ---- documents ---- */

struct manifest {
	int schema_version;          /* 2 */
	const char *media_type;      /* MT_OCI_MANIFEST or MT_DOCKER_MANIFEST (static) */
	struct descriptor config;
	struct descriptor *layers;   /* base layer first */
	size_t n_layers;
	json_t *annotations;         /* owned reference or NULL */
};

struct index {
	int schema_version;          /* 2 */
	const char *media_type;      /* MT_OCI_INDEX or MT_DOCKER_LIST (static) */
	struct descriptor *manifests;
	size_t n_manifests;
	json_t *annotations;         /* owned reference or NULL */
};

struct image_config {
	struct platform platform;    /* architecture, os, variant, os.version as found */
	char (*diff_ids)[DIGEST_MAX];
	size_t n_diff_ids;
	/* The "config" object (Entrypoint, Cmd, Env, WorkingDir, User,
	   StopSignal, Labels, ...), owned reference, or NULL when absent or
	   null. Checked: User, WorkingDir, StopSignal are strings; Env,
	   Entrypoint, Cmd arrays of strings; Labels a string map;
	   ExposedPorts, Volumes objects (each may be null). */
	json_t *config;
};

/*
 * What a fetched document is. From content_type (the HTTP Content-Type,
 * parameters ignored; NULL, "application/json", "text/plain" and
 * "application/octet-stream" say nothing), else from its "mediaType" field,
 * else by shape: manifests[] → index, layers[] → manifest, rootfs → config.
 * When both the Content-Type and the mediaType field name a type they must
 * be the same, and the shape must not contradict the kind (an index with
 * layers, a manifest with manifests). Docker schema 1 is ENOTSUP, "Docker
 * schema 1 manifests are not supported (deprecated); re-push the image with
 * a current tool"; other document types are ENOTSUP too.
 * *media_type (may be NULL) gets one of the MT_* constants; for a document
 * told by shape, the OCI type (Docker's manifest type when the config is
 * Docker's). The caller still parses the document to use it. Messages start
 * with "manifest: ", as registries serve indexes and manifests alike from
 * /manifests/.
 */
int image_document_kind(const char *data, size_t len, const char *content_type, enum mt_kind *kind,
			const char **media_type, struct ember_error *e);

/* Each fills its struct only on success; on failure it is zeroed, so the
   _done() is safe either way. The _done()s accept NULL. */
int manifest_parse(const char *data, size_t len, struct manifest *m, struct ember_error *e);
int index_parse(const char *data, size_t len, struct index *ix, struct ember_error *e);
int image_config_parse(const char *data, size_t len, struct image_config *c, struct ember_error *e);
void manifest_done(struct manifest *m);
void index_done(struct index *ix);
void image_config_done(struct image_config *c);

/* A manifest and its config describe one runnable image: the config
   descriptor is an image config type, every layer has a supported layer
   type (ENOTSUP otherwise) and there are as many layers as diff_ids. */
int image_check_layers(const struct manifest *m, const struct image_config *c, struct ember_error *e);

/*
 * The best manifest of an index for want: the entry with the highest
 * platform_match() score, the first of equals. Skipped: entries whose media
 * type is not a manifest (nested indexes, schema 1, artifacts), BuildKit's
 * attestation manifests (vnd.docker.reference.type "attestation-manifest",
 * or platform unknown/unknown), and entries without a platform unless the
 * index has exactly one image manifest. Returns its position in
 * ix->manifests, or -ENOENT (io.ember.NotFound) naming the (normalised)
 * platforms it has, each once, e.g. "no manifest for platform linux/ppc64le
 * in index (has: linux/amd64, linux/arm/v7)".
 */
int index_select(const struct index *ix, const struct platform *want, struct ember_error *e);


/* ---- store-level operations (walk.c, archive.c) ------------------------------ */

struct content_store;

/* fn for the target and every blob it reaches (depth first: an index, its
   manifests, each manifest's config and layers); present says whether the
   store holds it with the declared size. Of an index, only the manifest
   index_select() picks for want, or (want NULL) every manifest; with
   IMAGE_WALK_PRESENT, every manifest the store holds. A non-zero return
   stops. */
#define IMAGE_WALK_PRESENT 1u
typedef int (*image_walk_fn)(const struct descriptor *d, int present, void *userdata);
int image_walk(struct content_store *cs, const struct descriptor *target, const struct platform *want,
	       unsigned flags, image_walk_fn fn, void *userdata, struct ember_error *e);

struct image_export_item {
	char *name;               /* canonical reference */
	struct descriptor target;
};

/* What an export tells its caller as it writes; members may be NULL. */
struct image_export_hooks {
	void (*progress)(const char *digest, int64_t done, int64_t size, void *userdata);
	int (*cancelled)(void *userdata); /* non-zero stops it (ECANCELED) */
	void *userdata;
};

/* Write the images as an OCI image layout tar (plus docker's manifest.json)
   to fd. Every blob must be in the store. hooks may be NULL. */
int image_export(struct content_store *cs, const struct image_export_item *items, size_t n, int fd,
		 const struct image_export_hooks *hooks, struct ember_error *e);

struct image_import_result {
	struct image_export_item *images;
	size_t n;
};

/* What an import tells its caller as it reads; every member may be NULL. */
struct image_import_hooks {
	/* Before a blob is committed, or found in the store already: the
	   caller holds it (daemon/holds.h). Non-zero fails (ENOMEM). */
	int (*hold)(const char *digest, void *userdata);
	/* A blob is in the store; created: this import stored it. */
	void (*stored)(const char *digest, int64_t size, int created, void *userdata);
	/* An entry is being read: done of size bytes so far. */
	void (*reading)(const char *path, int64_t done, int64_t size, void *userdata);
	/* Asked between reads: non-zero stops the import (ECANCELED). */
	int (*cancelled)(void *userdata);
	/* Readable once cancelled, for a wait on a pipe; -1: none. */
	int cancel_fd;
	void *userdata;
};

/* Read an OCI layout or docker-save tar (optionally gzip or zstd) from fd
   (a file or a pipe) into the store; the images it names are returned, for
   the caller to check and record. base_name names entries that carry only
   a tag. hooks may be NULL. */
int image_import(struct content_store *cs, int fd, const char *base_name, const struct image_import_hooks *hooks,
		 struct image_import_result *res, struct ember_error *e);
void image_import_result_done(struct image_import_result *res);

/* ---- an image's layers (layers.c) ------------------------------------------- */

/* chain[0] = diff_ids[0]; chain[i] = sha256(chain[i-1] + " " + diff_ids[i])
   (the OCI image spec's chain IDs: the keys of layer snapshots). */
int image_chain_ids(const char (*diff_ids)[DIGEST_MAX], size_t n, char (*chain)[DIGEST_MAX], struct ember_error *e);

/* An image's layers for one platform: descriptors, diff IDs, chain IDs. */
struct image_layers {
	size_t n;
	struct descriptor *layers;
	char (*diff_ids)[DIGEST_MAX];
	char (*chain)[DIGEST_MAX];
	char manifest[DIGEST_MAX];
	json_t *config; /* image_layers_load(): the config's "config" object, or NULL */
	struct platform platform; /* image_layers_load(): the config's, as found */
};
/* From a manifest and its config (both parsed). */
int image_layers_from(const struct manifest *m, const struct image_config *c, struct image_layers *out,
		      struct ember_error *e);
/* From a target in the store: an index is resolved for want (NULL: the
   host's platform). */
int image_layers_load(struct content_store *cs, const struct descriptor *target, const struct platform *want,
		      struct image_layers *out, struct ember_error *e);
/* A copy of l (deep); -ENOMEM. */
int image_layers_copy(const struct image_layers *l, struct image_layers *out, struct ember_error *e);
void image_layers_done(struct image_layers *l);

/* Walk the image (every platform the store holds); missing gets the first
   blob absent from the store, or "" when it is whole. */
int image_check_complete(struct content_store *cs, const struct descriptor *target, char missing[DIGEST_MAX],
			 struct ember_error *e);

/* ---- layer unpack (unpack.c, unpack-stream.c; CONFIG_UNPACK) ------------------ */

/*
 * image_unpack() applies one layer (an OCI image-spec layer changeset: a tar,
 * optionally gzip or zstd) to the directory root_fd. The layer is untrusted:
 *
 *   - Every name is resolved inside root_fd: a leading "/" is dropped (OCI
 *     names are relative to the root, as tar and containerd take them), "."
 *     and empty components are skipped, and a ".." component is refused
 *     ("path escapes the root" when it climbs above it). Names are at most
 *     UNPACK_PATH_MAX bytes, components at most 255.
 *   - No symlink is ever followed, wherever it came from (an earlier entry or
 *     a lower layer): a parent that is a symlink is refused (ELOOP,
 *     '"a/b" is a symbolic link (not followed)'), and the final component is
 *     always replaced (unlinked and created anew, O_EXCL|O_NOFOLLOW), never
 *     written through. Parents are opened with openat2(RESOLVE_IN_ROOT |
 *     RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS), or, where openat2 is
 *     missing (ENOSYS) or filtered, by a component walk with O_NOFOLLOW.
 *     Missing parents are created 0755 (tar's implicit directories); an
 *     entry for a directory that is a symlink below replaces the symlink.
 *     (containerd instead resolves a symlinked parent inside the root, so a
 *     layer that writes "bin/x" without a "bin/" entry over a lower
 *     "bin -> usr/bin" unpacks there and fails here. Layers diffed from a
 *     real tree never do that; overlay upper dirs have no lower to follow.)
 *   - A hard link's target is resolved the same way, must exist below the root
 *     (an earlier entry, or a lower layer under UNPACK_WHITEOUT_DELETE) and
 *     must not be a directory; a symlink target links the symlink itself.
 *   - An entry "./" (or "/") sets the root's own owner, xattrs, mode and
 *     times; any other type for it is refused.
 *   - An entry over an existing path of another type removes it first (a
 *     whole tree when it is a directory); a directory over a directory keeps
 *     it and sets its owner, xattrs, mode and times (xattrs it already has
 *     stay). Existing inodes are never opened for writing.
 *   - Regular files get their content, then owner (same_owner), xattrs, mode
 *     (with setuid/setgid/sticky, after chown, which clears them) and times.
 *     Directories get their mode and times at the end, so later entries
 *     neither disturb the times nor need write permission. Symlinks get owner
 *     and times with AT_SYMLINK_NOFOLLOW. Hard links share the target's inode.
 *   - xattrs come from PAX SCHILY.xattr.* records. trusted.overlay.* and
 *     user.overlay.* from the layer are dropped (a layer must not forge
 *     overlayfs metadata); ENOTSUP from the filesystem, and EPERM on trusted.*
 *     or security.* when same_owner is 0 (or on user.* of a symlink or
 *     device), skip the xattr (counted in xattrs_skipped); any other failure
 *     is an error. Symlinks and device nodes take xattrs through
 *     /proc/self/fd. POSIX ACL records other than xattrs are ignored.
 *   - Char and block devices need devices; without it they are EPERM. Fifos
 *     carry no privilege and are always created.
 *   - Whiteouts (any entry whose name starts with ".wh."):
 *       OVERLAY: ".wh.<name>" becomes a 0/0 character device <name> (or, when
 *         this layer already made <name> a directory, marks that directory
 *         opaque); ".wh..wh..opq" sets trusted.overlay.opaque="y" on its
 *         directory (needs CAP_SYS_ADMIN); a directory created over a
 *         whiteout of the same layer is made opaque too.
 *       DELETE: what the names removed from the tree below is removed; what
 *         this layer itself created stays, whatever the order of the entries
 *         (".wh..wh..opq" removes everything in its directory, recursively,
 *         that no entry of this layer created or passed through).
 *       Other ".wh..wh." names (aufs metadata) are ignored; ".wh.", ".wh.."
 *       and ".wh..." are refused.
 *   - The stream is read in bounded buffers, never whole. Each entry's data
 *     is exactly its declared size (a short stream is an error); an entry may
 *     not declare more than max_bytes; the uncompressed stream may not exceed
 *     max_bytes (EFBIG, "layer expands beyond N bytes"). It is read to its
 *     end, past the tar end-of-archive blocks, so diff_id covers all of it.
 *     A tar that stops at an entry boundary without end-of-archive blocks
 *     is taken as ended, as Go's archive/tar and GNU tar take it (the diff
 *     ID check catches a layer cut there). DELETE mode remembers every name
 *     of the layer, and directory times wait for the end: both within
 *     64 MiB of names (E2BIG beyond).
 *
 * Errors name the entry: 'layer entry "etc/../../x": path escapes the root'
 * (io.ember.InvalidArgument for what the layer says; errno-named for the
 * system's failures, e.g. ENOSPC). On failure the tree is left part-written:
 * the caller discards it (it never commits a snapshot whose unpack failed).
 * root_fd is not closed; it may be an O_PATH descriptor. Thread-safe: no
 * process-wide state is changed (no umask, no chdir).
 */
enum unpack_whiteouts {
	UNPACK_WHITEOUT_OVERLAY, /* 0/0 char devices and trusted.overlay.opaque (overlay upper dirs) */
	UNPACK_WHITEOUT_DELETE,  /* apply them to the tree below (native: a copy of the parent) */
};

#define UNPACK_COMPRESSION_SNIFF (-1)
#define UNPACK_DEFAULT_MAX_BYTES ((uint64_t)64 << 30)
#define UNPACK_PATH_MAX 4095

struct unpack_options {
	enum unpack_whiteouts whiteouts;
	/* UNPACK_COMPRESSION_SNIFF: from the magic (gzip 1f8b, zstd 28b52ffd,
	   else tar); else an enum layer_compression. Note that 0 is LAYER_TAR. */
	int compression;
	/* Limit on the uncompressed stream and on any entry's declared size;
	   0: UNPACK_DEFAULT_MAX_BYTES. */
	uint64_t max_bytes;
	int same_owner; /* chown entries to their uid/gid (needs root); else the caller's ids */
	int devices;    /* create char and block devices (needs CAP_MKNOD); else EPERM */
	/* Asked before each chunk of the stream (NULL: never): non-zero stops
	   the unpack with ECANCELED (io.ember.Canceled). */
	int (*cancelled)(void *arg);
	void *cancel_arg;
};

struct unpack_stats {
	uint64_t entries;        /* tar entries read, whiteouts included */
	uint64_t bytes;          /* uncompressed stream, all of it */
	uint64_t xattrs_skipped; /* dropped or refused by the filesystem (see above) */
	char diff_id[DIGEST_MAX]; /* sha256 of the uncompressed stream */
};

/* o NULL: overlay whiteouts, sniffed compression, defaults, no chown, no
   devices. st may be NULL; it is filled only on success. */
int image_unpack(int layer_fd, int root_fd, const struct unpack_options *o, struct unpack_stats *st,
		 struct ember_error *e);


/* ---- a tree as a tar (tree-tar.c; CONFIG_CHECKPOINT) ------------------------- */

/* Where the stream goes: a negative return (e filled) stops it. */
typedef int (*image_tar_write_fn)(const void *data, size_t len, void *userdata, struct ember_error *e);
/* overlayfs upper directory: 0/0 character devices become .wh.<name>,
   trusted.overlay.opaque directories get .wh..wh..opq (OCI whiteouts). */
#define IMAGE_TAR_OVERLAY 1u
/* The tree below dir_fd as a pax tar, names relative to it: regular files,
   directories, symlinks, hard links (a second name links to the first),
   devices and fifos with owner, mode and mtime; xattrs are not kept.
   Symlinks are never followed; a socket is ENOTSUP naming it. */
int image_tar_tree(int dir_fd, unsigned flags, image_tar_write_fn write, void *userdata, struct ember_error *e);


/* ---- signatures (sigkey.c, signature.c; CONFIG_SIGNATURES) ------------------ */

/*
 * cosign's signatures as registries store them: the tag
 * "sha256-<hex>.sig" of the image's repository holds a manifest whose
 * layers (SIG_MT_SIMPLESIGNING) are "simple signing" JSON payloads, each
 * with its base64 signature in the SIG_ANNOTATION annotation. A payload
 * names the manifest digest (critical.image.docker-manifest-digest) and
 * the repository (critical.identity.docker-reference) it signs; the
 * signature is over the payload's bytes as stored: ECDSA P-256 (ASN.1 DER)
 * or RSA PKCS#1 v1.5, over SHA-256.
 *
 * Keys are PEM: public keys as SubjectPublicKeyInfo ("PUBLIC KEY"),
 * ECDSA P-256 or RSA (2048 to 4096 bits); private keys (for signing) as
 * PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"), ECDSA P-256 only.
 * Parsers here read untrusted input; errors are io.ember.InvalidArgument.
 */

#define SIG_MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define SIG_ANNOTATION "dev.cosignproject.cosign/signature"
#define SIG_PAYLOAD_TYPE "cosign container image signature"
#define SIG_TAG_SUFFIX ".sig"
/* "sha256-" + 64 hex + ".sig" + NUL */
#define SIG_TAG_MAX (DIGEST_MAX + sizeof(SIG_TAG_SUFFIX))
#define SIG_PEM_MAX (16 * 1024)
#define SIG_PAYLOAD_MAX (64 * 1024)
#define SIG_MAX_LAYERS 32      /* signatures looked at per image */
#define SIG_KEY_NAME_MAX 64
#define SIG_RSA_MAX_BYTES 512  /* 4096-bit moduli */
#define SIG_DER_MAX 600        /* the longest signature: RSA 4096 */

enum sig_key_type { SIG_KEY_EC_P256 = 1, SIG_KEY_RSA };

struct sig_key {
	char name[SIG_KEY_NAME_MAX];   /* how the policy names it ("fleet") */
	char fingerprint[DIGEST_MAX];  /* sha256 of the SubjectPublicKeyInfo DER */
	enum sig_key_type type;
	unsigned char q[65];           /* EC: the uncompressed point */
	unsigned char n[SIG_RSA_MAX_BYTES], e[8];
	size_t nlen, elen;             /* RSA: modulus and exponent, big-endian, no leading zeros */
};

struct sig_keyset {
	struct sig_key *keys;
	size_t n;
};

/* A private key for signing: never leaves the process that read it. */
struct sig_private_key {
	unsigned char x[32];
	struct sig_key pub;            /* its public half (fingerprint included) */
};

/* The first PEM block of text: its label ("PUBLIC KEY") and DER bytes
   (*der malloc'd). */
int sig_pem_decode(const char *text, size_t len, char label[64], unsigned char **der, size_t *der_len,
		   struct ember_error *e);
/* A DER SubjectPublicKeyInfo; name is copied (cut to fit). */
int sig_key_parse_spki(const unsigned char *der, size_t len, const char *name, struct sig_key *k,
		       struct ember_error *e);
/* A PEM "PUBLIC KEY". */
int sig_key_parse_pem(const char *text, size_t len, const char *name, struct sig_key *k, struct ember_error *e);
/* A PEM "PRIVATE KEY" (PKCS#8) or "EC PRIVATE KEY" (SEC1), P-256. */
int sig_private_key_parse_pem(const char *text, size_t len, struct sig_private_key *k, struct ember_error *e);
/* Wipe the secret. */
void sig_private_key_done(struct sig_private_key *k);
/* Append a copy of k. */
int sig_keyset_add(struct sig_keyset *ks, const struct sig_key *k, struct ember_error *e);
void sig_keyset_done(struct sig_keyset *ks);

/* What a payload says (the fields ember checks). */
struct sig_payload {
	char *reference;            /* critical.identity.docker-reference */
	char digest[DIGEST_MAX];    /* critical.image.docker-manifest-digest */
	char *type;                 /* critical.type */
};

int sig_payload_parse(const char *buf, size_t len, struct sig_payload *p, struct ember_error *e);
void sig_payload_done(struct sig_payload *p);
/* A new payload for digest and reference (JSON text, malloc'd; NULL when
   out of memory). */
char *sig_payload_make(const char *digest, const char *reference);

/* The tag that holds digest's signatures: "sha256-<hex>.sig". */
void sig_tag(const char *digest, char out[SIG_TAG_MAX]);

/* Does k verify sig (DER ECDSA, or RSA PKCS#1 v1.5) over payload? 1 yes, 0 no. */
int sig_verify(const struct sig_key *k, const void *payload, size_t len, const unsigned char *sig, size_t sig_len);
/* Sign payload with k: ECDSA P-256 over SHA-256, ASN.1 DER into sig
   (SIG_DER_MAX bytes); returns its length, or -errno with e set. */
int sig_sign(const struct sig_private_key *k, const void *payload, size_t len, unsigned char *sig,
	     struct ember_error *e);

/*
 * The verdict on an image's signatures, from the worst to the best: each
 * signature layer is checked alone, and the image gets the best verdict
 * any of them earned (a second, valid signature wins over a stale one).
 */
enum sig_verdict {
	SIG_UNSIGNED,      /* no signature at all */
	SIG_BAD,           /* not a signature, or a payload that is no simple-signing document */
	SIG_UNKNOWN_KEY,   /* a well-formed signature no key of the policy verifies */
	SIG_OTHER_TYPE,    /* verified, but critical.type is not cosign's */
	SIG_OTHER_REPO,    /* verified, but signed for another repository */
	SIG_OTHER_DIGEST,  /* verified, but signed for another manifest */
	SIG_OK,
};

struct sig_check {
	const struct sig_keyset *keys;
	const char *digest;   /* the manifest digest being pulled */
	/* Does the payload's docker-reference name the repository being
	   pulled? (remote/ knows how references normalise.) */
	int (*same_repo)(const char *reference, void *userdata);
	void *userdata;
};

struct sig_result {
	enum sig_verdict verdict;
	const struct sig_key *key;  /* the key that verified it (from OTHER_TYPE up) */
	char detail[256];           /* why, for the message */
};

/* Judge one signature layer (its payload and the annotation's base64
   text, NULL when absent) and keep it in *best when it is better. */
void sig_check_layer(const struct sig_check *c, const char *payload, size_t len, const char *sig_b64,
		     struct sig_result *best);
/* The one-line reason for a refusal ("unsigned", "wrongly signed", ...). */
const char *sig_verdict_name(enum sig_verdict v);

#endif
