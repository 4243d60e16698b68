/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer unpack: layers are built here, in memory (libarchive's writer, or
 * hand-made ustar blocks for what no writer makes), unpacked into a fresh
 * root inside a sandbox with canaries beside it, and the tree is checked.
 */
#include "unit.h"

#include <dirent.h>
#include <grp.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include <zstd.h>

#include "image/image.h"
#include "image/image-internal.h"
#include "util/cleanup.h"

/* ---- building layers ------------------------------------------------------- */

struct buf {
	unsigned char *p;
	size_t n, cap;
};

static void buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->n + len > b->cap) {
		b->cap = (b->n + len) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, data, len);
	b->n += len;
}

static la_ssize_t buf_write_cb(struct archive *a, void *userdata, const void *data, size_t len)
{
	(void)a;
	buf_add(userdata, data, len);
	return (la_ssize_t)len;
}

struct ent {
	const char *path;
	mode_t type;         /* AE_IF*; 0 with link set: a hard link */
	unsigned mode;
	const char *data;    /* regular files */
	const char *link;    /* symlink target or hard link target */
	int64_t uid, gid;
	time_t mtime;
	const char *xname;   /* one xattr */
	const void *xval;
	size_t xlen;
	unsigned major, minor;
};

struct layer {
	struct archive *a;
	struct buf tar;
};

static void layer_begin(struct layer *l)
{
	memset(l, 0, sizeof(*l));
	l->a = archive_write_new();
	assert_non_null(l->a);
	assert_int_equal(archive_write_set_format_pax_restricted(l->a), ARCHIVE_OK);
	assert_int_equal(archive_write_open(l->a, &l->tar, NULL, buf_write_cb, NULL), ARCHIVE_OK);
}

static void layer_add(struct layer *l, const struct ent *en)
{
	struct archive_entry *ae = archive_entry_new();
	size_t len = en->data ? strlen(en->data) : 0;

	archive_entry_set_pathname(ae, en->path);
	if (en->type == 0) {
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_hardlink(ae, en->link);
	} else {
		archive_entry_set_filetype(ae, en->type);
	}
	archive_entry_set_perm(ae, en->mode ? en->mode : (en->type == AE_IFDIR ? 0755 : 0644));
	archive_entry_set_uid(ae, en->uid);
	archive_entry_set_gid(ae, en->gid);
	archive_entry_set_mtime(ae, en->mtime ? en->mtime : 1600000000, 0);
	if (en->type == AE_IFREG)
		archive_entry_set_size(ae, (la_int64_t)len);
	if (en->type == AE_IFLNK)
		archive_entry_set_symlink(ae, en->link);
	if (en->type == AE_IFCHR || en->type == AE_IFBLK) {
		archive_entry_set_rdevmajor(ae, en->major);
		archive_entry_set_rdevminor(ae, en->minor);
	}
	if (en->xname)
		archive_entry_xattr_add_entry(ae, en->xname, en->xval, en->xlen);
	assert_int_equal(archive_write_header(l->a, ae), ARCHIVE_OK);
	if (len)
		assert_int_equal(archive_write_data(l->a, en->data, len), (la_ssize_t)len);
	archive_entry_free(ae);
}

static void layer_end(struct layer *l)
{
	assert_int_equal(archive_write_close(l->a), ARCHIVE_OK);
	archive_write_free(l->a);
}

static struct buf layer_of(const struct ent *ents, size_t n)
{
	struct layer l;

	layer_begin(&l);
	for (size_t i = 0; i < n; i++)
		layer_add(&l, &ents[i]);
	layer_end(&l);
	return l.tar;
}

static struct buf gzip_of(const struct buf *in)
{
	struct buf out = { 0 };
	z_stream z = { 0 };
	unsigned char chunk[65536];

	assert_int_equal(deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = in->p;
	z.avail_in = (uInt)in->n;
	int r;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		r = deflate(&z, Z_FINISH);
		assert_true(r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR);
		buf_add(&out, chunk, sizeof(chunk) - z.avail_out);
	} while (r != Z_STREAM_END);
	deflateEnd(&z);
	return out;
}

static struct buf zstd_of(const struct buf *in)
{
	struct buf out = { 0 };
	size_t cap = ZSTD_compressBound(in->n);

	out.p = malloc(cap);
	out.cap = cap;
	out.n = ZSTD_compress(out.p, cap, in->p, in->n, 3);
	assert_false(ZSTD_isError(out.n));
	return out;
}

/* A NUL-terminated octal field of width bytes. */
static void octal(unsigned char *field, size_t width, uint64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)width - 1, (unsigned long long)v);
	assert_int_equal(strlen(tmp), width - 1);
	memcpy(field, tmp, width);
}

/* A ustar header block, checksummed (unless bad_sum). */
static void ustar(unsigned char blk[512], const char *name, char type, uint64_t size, const char *link, int bad_sum)
{
	memset(blk, 0, 512);
	snprintf((char *)blk, 100, "%s", name);
	octal(blk + 100, 8, 0644);
	octal(blk + 108, 8, 0);
	octal(blk + 116, 8, 0);
	octal(blk + 124, 12, size);
	octal(blk + 136, 12, 1600000000);
	blk[156] = (unsigned char)type;
	if (link)
		snprintf((char *)blk + 157, 100, "%s", link);
	memcpy(blk + 257, "ustar", 6);
	memcpy(blk + 263, "00", 2);
	memset(blk + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += blk[i];
	snprintf((char *)blk + 148, 8, "%06o", sum + (bad_sum ? 1 : 0));
	blk[155] = ' ';
}

/* ---- the sandbox ----------------------------------------------------------- */

/* sandbox/{root/, canary, outside/passwd}: an unpack may touch root only. */
struct box {
	char *dir;
	int fd, root;
};

static const char canary_text[] = "canary: must stay as it is\n";

static void box_open(struct box *b)
{
	b->dir = unit_mkdtemp();
	b->fd = open(b->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(b->fd >= 0);
	assert_int_equal(mkdirat(b->fd, "root", 0755), 0);
	assert_int_equal(mkdirat(b->fd, "outside", 0755), 0);
	unit_write(b->fd, "canary", canary_text);
	unit_write(b->fd, "outside/passwd", canary_text);
	b->root = openat(b->fd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(b->root >= 0);
}

static void check_names(int dirfd, const char *dir, const char *const *want, size_t n)
{
	int fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fdopendir(fd);
	struct dirent *de;
	size_t seen = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		size_t i;
		for (i = 0; i < n && strcmp(want[i], de->d_name); i++)
			;
		if (i == n)
			fail_msg("%s: unexpected entry \"%s\" outside the root", dir, de->d_name);
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, n);
}

static void check_canary(int dirfd, const char *path)
{
	char got[256] = { 0 };
	struct stat st;
	int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(read(fd, got, sizeof(got) - 1), (ssize_t)strlen(canary_text));
	assert_string_equal(got, canary_text);
	close(fd);
}

/* Nothing outside the root changed: no new names, canaries intact. */
static void box_check(struct box *b)
{
	static const char *const top[] = { "root", "canary", "outside" };
	static const char *const out[] = { "passwd" };

	check_names(b->fd, ".", top, 3);
	check_names(b->fd, "outside", out, 1);
	check_canary(b->fd, "canary");
	check_canary(b->fd, "outside/passwd");
}

static void box_close(struct box *b)
{
	close(b->root);
	close(b->fd);
	unit_rmdir(b->dir);
}

static int unpack_buf(struct box *b, const struct buf *layer, const struct unpack_options *o, struct unpack_stats *st,
		      struct ember_error *e)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, layer->p, layer->n), (ssize_t)layer->n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	memset(e, 0, sizeof(*e));
	int r = image_unpack(fd, b->root, o, st, e);
	close(fd);
	if (r < 0) {
		/* The error rule: filled iff < 0, one line, names something. */
		assert_int_equal(r, -e->code);
		assert_true(e->code > 0);
		assert_true(e->message[0]);
		assert_null(strchr(e->message, '\n'));
	}
	return r;
}

/* Unpack ents as a plain tar; fail the test on error. */
static void unpack_ok(struct box *b, const struct ent *ents, size_t n, const struct unpack_options *o)
{
	struct buf tar = layer_of(ents, n);
	struct ember_error e;
	struct unpack_stats st;

	if (unpack_buf(b, &tar, o, &st, &e) < 0)
		fail_msg("unpack: %s", e.message);
	free(tar.p);
}

/* Unpack ents; it must fail with a message containing each of the needles,
   and leave everything outside the root as it was. */
static void unpack_fails(struct box *b, const struct ent *ents, size_t n, const struct unpack_options *o, int code,
			 const char *needle1, const char *needle2)
{
	struct buf tar = layer_of(ents, n);
	struct ember_error e;

	assert_true(unpack_buf(b, &tar, o, NULL, &e) < 0);
	if (code)
		assert_int_equal(e.code, code);
	if (needle1)
		assert_msg_contains(&e, needle1);
	if (needle2)
		assert_msg_contains(&e, needle2);
	box_check(b);
	free(tar.p);
}

/* ---- checks on the tree ---------------------------------------------------- */

static struct stat lst(int root, const char *path)
{
	struct stat st;

	if (fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		fail_msg("stat %s: %s", path, strerror(errno));
	return st;
}

static int exists(int root, const char *path)
{
	struct stat st;
	return fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void check_file(int root, const char *path, const char *content, unsigned mode)
{
	struct stat st = lst(root, path);
	char got[4096] = { 0 };

	assert_true(S_ISREG(st.st_mode));
	if (mode)
		assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_size, (off_t)strlen(content));
	int fd = openat(root, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, got, sizeof(got) - 1), (ssize_t)strlen(content));
	assert_string_equal(got, content);
	close(fd);
}

static void check_link(int root, const char *path, const char *target)
{
	char got[4096];
	struct stat st = lst(root, path);

	assert_true(S_ISLNK(st.st_mode));
	ssize_t n = readlinkat(root, path, got, sizeof(got) - 1);
	assert_true(n >= 0);
	got[n] = '\0';
	assert_string_equal(got, target);
}

static void check_xattr(int root, const char *path, const char *name, const void *value, size_t len)
{
	char proc[4200], got[256];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", root, path);
	ssize_t n = lgetxattr(proc, name, got, sizeof(got));
	if (n < 0)
		fail_msg("%s: xattr %s: %s", path, name, strerror(errno));
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(got, value, len);
}

static int has_xattr(int root, const char *path, const char *name)
{
	char proc[4200];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", root, path);
	return lgetxattr(proc, name, NULL, 0) >= 0;
}

static int is_root(void)
{
	return geteuid() == 0;
}

static const struct unpack_options delete_opts = { .whiteouts = UNPACK_WHITEOUT_DELETE, .compression = -1 };
static const struct unpack_options overlay_opts = { .whiteouts = UNPACK_WHITEOUT_OVERLAY, .compression = -1 };

/* ---- a full tree, three ways ----------------------------------------------- */

/* security.capability v2: cap_net_raw (13) permitted and effective. */
static const unsigned char fcap[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00 };

static const struct ent tree[] = {
	{ .path = "./", .type = AE_IFDIR, .mode = 0751, .mtime = 1500000000 },
	{ .path = "./etc/", .type = AE_IFDIR, .mode = 0755, .mtime = 1500000001, .xname = "user.dir", .xval = "d", .xlen = 1 },
	{ .path = "./etc/passwd", .type = AE_IFREG, .mode = 0644, .data = "root:x:0:0::/root:/bin/sh\n", .mtime = 1500000002 },
	{ .path = "./etc/shadow", .type = AE_IFREG, .mode = 0640, .uid = 0, .gid = 42, .data = "root:*:1::::::\n" },
	{ .path = "./bin/", .type = AE_IFDIR, .mode = 0755, .mtime = 1500000003 },
	{ .path = "./bin/busybox", .type = AE_IFREG, .mode = 04755, .uid = 0, .gid = 0, .data = "\177ELF busybox",
	  .mtime = 1500000004, .xname = "user.checksum", .xval = "abc", .xlen = 3 },
	{ .path = "./bin/sh", .type = AE_IFLNK, .link = "busybox", .mtime = 1500000005 },
	{ .path = "./bin/ls", .link = "bin/busybox" },
	{ .path = "./bin/ping", .type = AE_IFREG, .mode = 0755, .data = "ping", .xname = "security.capability",
	  .xval = fcap, .xlen = sizeof(fcap) },
	{ .path = "./usr/bin/wall", .type = AE_IFREG, .mode = 02755, .uid = 0, .gid = 5, .data = "wall" },
	{ .path = "./tmp/", .type = AE_IFDIR, .mode = 01777, .mtime = 1500000006 },
	{ .path = "./home/user/", .type = AE_IFDIR, .mode = 0700, .uid = 1000, .gid = 1000 },
	{ .path = "./home/user/big-ids", .type = AE_IFREG, .mode = 0600, .uid = 5000000, .gid = 5000001, .data = "x" },
	{ .path = "./run/initctl", .type = AE_IFIFO, .mode = 0600 },
	{ .path = "./dev/null", .type = AE_IFCHR, .mode = 0666, .major = 1, .minor = 3 },
	{ .path = "./etc/motd", .type = AE_IFREG, .mode = 0644, .data = "" },
	{ .path = "./etc/dangling", .type = AE_IFLNK, .link = "/nonexistent/target" },
};

static void check_tree(int root, int owners)
{
	struct stat st;

	st = lst(root, ".");
	assert_int_equal(st.st_mode & 07777, 0751);
	assert_int_equal(st.st_mtime, 1500000000);
	st = lst(root, "etc");
	assert_true(S_ISDIR(st.st_mode));
	/* Written into after its entry, yet it keeps its own mtime. */
	assert_int_equal(st.st_mtime, 1500000001);
	check_xattr(root, "etc", "user.dir", "d", 1);
	check_file(root, "etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644);
	assert_int_equal(lst(root, "etc/passwd").st_mtime, 1500000002);
	check_file(root, "etc/shadow", "root:*:1::::::\n", 0640);
	check_file(root, "etc/motd", "", 0644);
	check_file(root, "bin/busybox", "\177ELF busybox", 04755);
	check_xattr(root, "bin/busybox", "user.checksum", "abc", 3);
	assert_int_equal(lst(root, "bin/busybox").st_mtime, 1500000004);
	check_link(root, "bin/sh", "busybox");
	assert_int_equal(lst(root, "bin/sh").st_mtime, 1500000005);
	check_link(root, "etc/dangling", "/nonexistent/target");
	/* A hard link is the same inode. */
	struct stat a = lst(root, "bin/busybox"), b = lst(root, "bin/ls");
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_nlink, 2);
	check_file(root, "usr/bin/wall", "wall", 02755);
	st = lst(root, "usr");
	assert_int_equal(st.st_mode & 07777, 0755); /* an implicit parent */
	st = lst(root, "tmp");
	assert_int_equal(st.st_mode & 07777, 01777);
	assert_int_equal(st.st_mtime, 1500000006);
	st = lst(root, "home/user");
	assert_int_equal(st.st_mode & 07777, 0700);
	st = lst(root, "run/initctl");
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	if (owners) {
		assert_int_equal(lst(root, "etc/shadow").st_gid, 42);
		assert_int_equal(lst(root, "usr/bin/wall").st_gid, 5);
		assert_int_equal(lst(root, "home/user").st_uid, 1000);
		st = lst(root, "home/user/big-ids"); /* PAX uid/gid */
		assert_int_equal(st.st_uid, 5000000);
		assert_int_equal(st.st_gid, 5000001);
		check_xattr(root, "bin/ping", "security.capability", fcap, sizeof(fcap));
		st = lst(root, "dev/null");
		assert_true(S_ISCHR(st.st_mode));
		assert_int_equal(st.st_rdev, makedev(1, 3));
		assert_int_equal(st.st_mode & 07777, 0666);
	} else {
		assert_int_equal(lst(root, "etc/shadow").st_uid, geteuid());
	}
}

static void tree_roundtrip(int compression, int sniff, int walk)
{
	struct box b;
	struct buf tar = layer_of(tree, ARRAY_SIZE(tree)), layer = tar;
	struct ember_error e;
	struct unpack_stats st;
	char want[DIGEST_MAX];
	int root = is_root();
	struct unpack_options o = { .whiteouts = UNPACK_WHITEOUT_OVERLAY, .same_owner = root, .devices = root };

	if (compression == LAYER_GZIP)
		layer = gzip_of(&tar);
	else if (compression == LAYER_ZSTD)
		layer = zstd_of(&tar);
	o.compression = sniff ? UNPACK_COMPRESSION_SNIFF : compression;
	digest_buffer(tar.p, tar.n, want);
	box_open(&b);
	unpack_force_walk = walk;
	int r = unpack_buf(&b, &layer, root ? &o : NULL, &st, &e);
	unpack_force_walk = 0;
	if (!root && r < 0 && e.code == EPERM)
		skip(); /* devices and capabilities need root */
	if (r < 0)
		fail_msg("unpack: %s", e.message);
	assert_string_equal(st.diff_id, want);
	assert_int_equal(st.bytes, tar.n);
	assert_int_equal(st.entries, ARRAY_SIZE(tree));
	/* libarchive pads to 10240 bytes: the diff ID covers the padding. */
	assert_int_equal(tar.n % 10240, 0);
	check_tree(b.root, root);
	box_check(&b);
	box_close(&b);
	if (layer.p != tar.p)
		free(layer.p);
	free(tar.p);
}

static void test_tree_tar(void **state)
{
	(void)state;
	tree_roundtrip(LAYER_TAR, 1, 0);
	tree_roundtrip(LAYER_TAR, 0, 0);
}

static void test_tree_gzip(void **state)
{
	(void)state;
	tree_roundtrip(LAYER_GZIP, 1, 0);
	tree_roundtrip(LAYER_GZIP, 0, 0);
}

static void test_tree_zstd(void **state)
{
	(void)state;
	tree_roundtrip(LAYER_ZSTD, 1, 0);
	tree_roundtrip(LAYER_ZSTD, 0, 0);
}

static void test_tree_walk(void **state)
{
	(void)state;
	tree_roundtrip(LAYER_GZIP, 1, 1);
}

/* Docker's empty layer: 1024 zero bytes, a well-known diff ID. */
static void test_empty_layer(void **state)
{
	struct box b;
	struct buf tar = { 0 };
	unsigned char zero[1024] = { 0 };
	struct ember_error e;
	struct unpack_stats st;

	(void)state;
	buf_add(&tar, zero, sizeof(zero));
	box_open(&b);
	assert_int_equal(unpack_buf(&b, &tar, NULL, &st, &e), 0);
	assert_string_equal(st.diff_id, "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 1024);
	box_close(&b);
	free(tar.p);
}

/* A multi-member gzip stream is one layer; data after it is an error. */
static void test_gzip_members_and_trailing_data(void **state)
{
	static const struct ent one[] = { { .path = "a", .type = AE_IFREG, .data = "1" } };
	struct box b;
	struct buf tar = layer_of(one, 1), gz;
	struct ember_error e;
	struct unpack_stats st;
	char want[DIGEST_MAX];

	(void)state;
	/* Two members: the tar's first 1000 bytes, then the rest. */
	struct buf h1 = { .p = tar.p, .n = 1000 }, h2 = { .p = tar.p + 1000, .n = tar.n - 1000 };
	struct buf g1 = gzip_of(&h1), g2 = gzip_of(&h2);
	gz = g1;
	buf_add(&gz, g2.p, g2.n);
	digest_buffer(tar.p, tar.n, want);
	box_open(&b);
	assert_int_equal(unpack_buf(&b, &gz, NULL, &st, &e), 0);
	assert_string_equal(st.diff_id, want);
	check_file(b.root, "a", "1", 0644);
	buf_add(&gz, "garbage", 7);
	assert_true(unpack_buf(&b, &gz, NULL, &st, &e) < 0);
	assert_msg_contains(&e, "data after the end");
	box_close(&b);
	free(g2.p);
	free(gz.p);
	free(tar.p);
}

/* ---- replacing ------------------------------------------------------------- */

static void test_replace_types(void **state)
{
	struct box b;

	(void)state;
	box_open(&b);
	/* A lower tree, as the native snapshotter copies it. */
	assert_int_equal(mkdirat(b.root, "d", 0755), 0);
	unit_write(b.root, "d/keep", "kept");
	unit_write(b.root, "f", "file");
	assert_int_equal(mkdirat(b.root, "tree", 0755), 0);
	assert_int_equal(mkdirat(b.root, "tree/sub", 0755), 0);
	unit_write(b.root, "tree/sub/x", "x");
	assert_int_equal(symlinkat("../outside", b.root, "ln"), 0);
	assert_int_equal(symlinkat("/", b.root, "ln2"), 0);
	static const struct ent ents[] = {
		{ .path = "d/", .type = AE_IFDIR, .mode = 0710 },     /* dir over dir: kept, mode set */
		{ .path = "f/", .type = AE_IFDIR, .mode = 0755 },     /* dir over file */
		{ .path = "f/inside", .type = AE_IFREG, .data = "in" },
		{ .path = "tree", .type = AE_IFREG, .data = "now a file" }, /* file over a non-empty tree */
		{ .path = "ln/", .type = AE_IFDIR },                  /* dir over a symlink: not followed */
		{ .path = "ln/passwd", .type = AE_IFREG, .data = "mine" },
		{ .path = "ln2", .type = AE_IFREG, .data = "file over symlink" },
		{ .path = "g", .type = AE_IFREG, .data = "first" },   /* within one layer */
		{ .path = "g", .type = AE_IFLNK, .link = "elsewhere" },
		{ .path = "g", .type = AE_IFREG, .data = "third" },
	};
	unpack_ok(&b, ents, ARRAY_SIZE(ents), &delete_opts);
	struct stat st = lst(b.root, "d");
	assert_int_equal(st.st_mode & 07777, 0710);
	check_file(b.root, "d/keep", "kept", 0);
	assert_true(S_ISDIR(lst(b.root, "f").st_mode));
	check_file(b.root, "f/inside", "in", 0644);
	check_file(b.root, "tree", "now a file", 0644);
	assert_true(S_ISDIR(lst(b.root, "ln").st_mode));
	check_file(b.root, "ln/passwd", "mine", 0644);
	check_file(b.root, "ln2", "file over symlink", 0644);
	check_file(b.root, "g", "third", 0644);
	box_check(&b);
	box_close(&b);
}

/* A lower file that is a hard link to something outside is replaced, not
   written through. */
static void test_no_write_through_hard_link(void **state)
{
	struct box b;
	static const struct ent ents[] = { { .path = "hl", .type = AE_IFREG, .data = "pwned" } };

	(void)state;
	box_open(&b);
	assert_int_equal(linkat(b.fd, "outside/passwd", b.root, "hl", 0), 0);
	unpack_ok(&b, ents, 1, &delete_opts);
	check_file(b.root, "hl", "pwned", 0644);
	assert_int_equal(unlinkat(b.root, "hl", 0), 0);
	box_check(&b);
	box_close(&b);
}

/* A tree deeper than fs_remove_tree() allows is still replaced. */
static void test_replace_deep_tree(void **state)
{
	struct box b;
	struct layer l;
	char path[4096] = "d";

	(void)state;
	box_open(&b);
	layer_begin(&l);
	for (int i = 0; i < 1500; i++) {
		struct ent d = { .path = path, .type = AE_IFDIR };
		layer_add(&l, &d);
		strcat(path, "/d");
	}
	struct ent f = { .path = "d", .type = AE_IFREG, .data = "flat" };
	layer_add(&l, &f);
	layer_end(&l);
	struct ember_error e;
	if (unpack_buf(&b, &l.tar, &delete_opts, NULL, &e) < 0)
		fail_msg("%s", e.message);
	check_file(b.root, "d", "flat", 0644);
	box_check(&b);
	box_close(&b);
	free(l.tar.p);
}

/* ---- whiteouts ------------------------------------------------------------- */

static void lower_tree(int root)
{
	assert_int_equal(mkdirat(root, "a", 0755), 0);
	assert_int_equal(mkdirat(root, "a/b", 0755), 0);
	assert_int_equal(mkdirat(root, "a/b/c", 0755), 0);
	unit_write(root, "a/b/c/bar", "lower");
	unit_write(root, "a/keep", "lower");
	assert_int_equal(mkdirat(root, "etc", 0755), 0);
	unit_write(root, "etc/conf", "lower");
	unit_write(root, "etc/other", "lower");
	assert_int_equal(mkdirat(root, "gone", 0755), 0);
	assert_int_equal(mkdirat(root, "gone/deep", 0755), 0);
	unit_write(root, "gone/deep/file", "lower");
}

static void check_after_whiteouts(int root)
{
	assert_false(exists(root, "etc/conf"));
	check_file(root, "etc/other", "lower", 0);
	assert_false(exists(root, "gone"));
	assert_false(exists(root, "a/keep"));
	assert_false(exists(root, "a/b/c/bar"));
	check_file(root, "a/b/c/foo", "upper", 0644);
	assert_false(exists(root, ".wh.gone"));
	assert_false(exists(root, "a/.wh..wh..opq"));
}

static void test_whiteouts_delete(void **state)
{
	/* OCI image-spec's example: the opaque marker before and after. */
	static const struct ent before[] = {
		{ .path = "etc/.wh.conf", .type = AE_IFREG },
		{ .path = ".wh.gone", .type = AE_IFREG },
		{ .path = "a/", .type = AE_IFDIR },
		{ .path = "a/.wh..wh..opq", .type = AE_IFREG },
		{ .path = "a/b/", .type = AE_IFDIR },
		{ .path = "a/b/c/", .type = AE_IFDIR },
		{ .path = "a/b/c/foo", .type = AE_IFREG, .data = "upper" },
		{ .path = ".wh.never-existed", .type = AE_IFREG },
		{ .path = "etc/.wh..wh.plnk", .type = AE_IFREG },
	};
	static const struct ent after[] = {
		{ .path = "a/", .type = AE_IFDIR },
		{ .path = "a/b/", .type = AE_IFDIR },
		{ .path = "a/b/c/", .type = AE_IFDIR },
		{ .path = "a/b/c/foo", .type = AE_IFREG, .data = "upper" },
		{ .path = "a/.wh..wh..opq", .type = AE_IFREG },
		{ .path = "etc/.wh.conf", .type = AE_IFREG },
		{ .path = ".wh.gone", .type = AE_IFREG },
	};
	/* A whiteout of what this very layer made does not remove it. */
	static const struct ent same_layer[] = {
		{ .path = "new", .type = AE_IFREG, .data = "mine" },
		{ .path = ".wh.new", .type = AE_IFREG },
		{ .path = "etc/conf2", .type = AE_IFREG, .data = "mine" },
		{ .path = ".wh.etc", .type = AE_IFREG }, /* this layer passed through etc */
	};
	struct box b;

	(void)state;
	box_open(&b);
	lower_tree(b.root);
	unpack_ok(&b, before, ARRAY_SIZE(before), &delete_opts);
	check_after_whiteouts(b.root);
	assert_false(exists(b.root, "etc/.wh..wh.plnk"));
	box_check(&b);
	box_close(&b);

	box_open(&b);
	lower_tree(b.root);
	unpack_ok(&b, after, ARRAY_SIZE(after), &delete_opts);
	check_after_whiteouts(b.root);
	box_check(&b);
	box_close(&b);

	box_open(&b);
	lower_tree(b.root);
	unpack_ok(&b, same_layer, ARRAY_SIZE(same_layer), &delete_opts);
	check_file(b.root, "new", "mine", 0644);
	check_file(b.root, "etc/conf2", "mine", 0644);
	assert_false(exists(b.root, "etc/conf")); /* lower parts of etc are gone */
	box_check(&b);
	box_close(&b);
}

static void test_whiteouts_overlay(void **state)
{
	static const struct ent ents[] = {
		{ .path = "etc/.wh.conf", .type = AE_IFREG },
		{ .path = "a/", .type = AE_IFDIR },
		{ .path = "a/.wh..wh..opq", .type = AE_IFREG },
		{ .path = "a/file", .type = AE_IFREG, .data = "upper" },
		{ .path = "mine/", .type = AE_IFDIR },
		{ .path = ".wh.mine", .type = AE_IFREG },    /* this layer's dir: becomes opaque */
		{ .path = ".wh.redone", .type = AE_IFREG },
		{ .path = "redone/", .type = AE_IFDIR },     /* a dir over the whiteout: opaque */
		{ .path = ".wh.file", .type = AE_IFREG },
		{ .path = "file", .type = AE_IFREG, .data = "new" },
		{ .path = "forged/", .type = AE_IFDIR, .xname = "trusted.overlay.redirect", .xval = "/etc", .xlen = 4 },
	};
	struct box b;
	struct buf tar = layer_of(ents, ARRAY_SIZE(ents));
	struct ember_error e;
	struct unpack_stats st;

	(void)state;
	if (!is_root())
		skip(); /* trusted.* xattrs */
	box_open(&b);
	if (unpack_buf(&b, &tar, &overlay_opts, &st, &e) < 0)
		fail_msg("%s", e.message);
	struct stat s = lst(b.root, "etc/conf");
	assert_true(S_ISCHR(s.st_mode));
	assert_int_equal(s.st_rdev, makedev(0, 0));
	check_xattr(b.root, "a", "trusted.overlay.opaque", "y", 1);
	check_file(b.root, "a/file", "upper", 0644);
	assert_false(exists(b.root, "a/.wh..wh..opq"));
	check_xattr(b.root, "mine", "trusted.overlay.opaque", "y", 1);
	check_xattr(b.root, "redone", "trusted.overlay.opaque", "y", 1);
	check_file(b.root, "file", "new", 0644);
	assert_false(has_xattr(b.root, "forged", "trusted.overlay.redirect"));
	assert_false(has_xattr(b.root, "etc", "trusted.overlay.opaque"));
	assert_true(st.xattrs_skipped >= 1);
	box_check(&b);
	box_close(&b);
	free(tar.p);
}

static void test_whiteout_bad_names(void **state)
{
	static const char *const names[] = { ".wh.", "a/.wh..", "a/.wh..." };
	struct box b;

	(void)state;
	box_open(&b);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct ent en = { .path = names[i], .type = AE_IFREG };
		unpack_fails(&b, &en, 1, &delete_opts, EINVAL, names[i], "whiteout of no entry");
	}
	box_close(&b);
}

/* ---- a tree as a tar (image_tar_tree): an overlay upper directory, and back ---- */

static int tar_to_buf(const void *data, size_t len, void *userdata, struct ember_error *e)
{
	(void)e;
	buf_add(userdata, data, len);
	return 0;
}

/* A container's changes as the overlay upper directory holds them (the
   whiteouts layer unpacked so), written as a tar (a checkpoint's rw layer)
   and applied to the lower tree: what the layer itself does there, with
   the symlink and the hard link. */
static void test_tar_tree_overlay_round_trip(void **state)
{
	static const struct ent ents[] = {
		{ .path = "etc/.wh.conf", .type = AE_IFREG },
		{ .path = ".wh.gone", .type = AE_IFREG },
		{ .path = "a/", .type = AE_IFDIR },
		{ .path = "a/.wh..wh..opq", .type = AE_IFREG },
		{ .path = "a/b/", .type = AE_IFDIR },
		{ .path = "a/b/c/", .type = AE_IFDIR },
		{ .path = "a/b/c/foo", .type = AE_IFREG, .data = "upper" },
		{ .path = "a/b/c/foo2", .type = 0, .link = "a/b/c/foo" },
		{ .path = "ln", .type = AE_IFLNK, .link = "a/b/c/foo" },
	};
	struct box up, low;
	struct buf tar = layer_of(ents, ARRAY_SIZE(ents)), out = { 0 };
	struct ember_error e;
	char target[64];

	(void)state;
	if (!is_root())
		skip(); /* overlay whiteouts: 0/0 devices and trusted.* xattrs */
	box_open(&up);
	if (unpack_buf(&up, &tar, &overlay_opts, NULL, &e) < 0)
		fail_msg("%s", e.message);
	if (image_tar_tree(up.root, IMAGE_TAR_OVERLAY, tar_to_buf, &out, &e) < 0)
		fail_msg("%s", e.message);
	box_open(&low);
	lower_tree(low.root);
	if (unpack_buf(&low, &out, &delete_opts, NULL, &e) < 0)
		fail_msg("%s", e.message);
	check_after_whiteouts(low.root);
	assert_int_equal(lst(low.root, "a/b/c/foo2").st_ino, lst(low.root, "a/b/c/foo").st_ino);
	ssize_t n = readlinkat(low.root, "ln", target, sizeof(target) - 1);
	assert_int_equal(n, 9);
	target[n] = 0;
	assert_string_equal(target, "a/b/c/foo");
	/* A socket is no tar entry: named, refused. */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/root/sock", up.dir);
	assert_int_equal(bind(sk, (struct sockaddr *)&sa, sizeof(sa)), 0);
	free(out.p);
	out = (struct buf){ 0 };
	assert_int_equal(image_tar_tree(up.root, IMAGE_TAR_OVERLAY, tar_to_buf, &out, &e), -ENOTSUP);
	assert_non_null(strstr(e.message, "tar: sock: a socket"));
	close(sk);
	box_check(&up);
	box_check(&low);
	box_close(&up);
	box_close(&low);
	free(tar.p);
	free(out.p);
}

/* ---- hard links ------------------------------------------------------------ */

static void test_hard_links(void **state)
{
	struct box b;
	static const struct ent missing[] = { { .path = "h", .link = "nowhere" } };
	static const struct ent dir[] = { { .path = "d/", .type = AE_IFDIR }, { .path = "h", .link = "d" } };
	static const struct ent lower[] = { { .path = "h", .link = "/lower-file" }, { .path = "h", .link = "h" } };

	(void)state;
	box_open(&b);
	unpack_fails(&b, missing, 1, NULL, ENOENT, "layer entry \"h\"", "hard link target \"nowhere\" does not exist");
	unpack_fails(&b, dir, 2, NULL, EPERM, "layer entry \"h\"", "hard link to the directory \"d\"");
	/* To a file of the lower layer (native), absolute name confined. */
	unit_write(b.root, "lower-file", "lower");
	unpack_ok(&b, lower, 2, &delete_opts);
	assert_int_equal(lst(b.root, "h").st_ino, lst(b.root, "lower-file").st_ino);
	box_check(&b);
	box_close(&b);
}

/* ---- the hostile corpus ---------------------------------------------------- */

static void test_hostile_dotdot(void **state)
{
	struct box b;
	static const struct ent up[] = { { .path = "../x", .type = AE_IFREG, .data = "x" } };
	static const struct ent up2[] = { { .path = "etc/../../x", .type = AE_IFREG, .data = "x" } };
	static const struct ent up3[] = { { .path = "../outside/passwd", .type = AE_IFREG, .data = "pwned" } };
	static const struct ent inside[] = { { .path = "a/../b", .type = AE_IFREG, .data = "x" } };
	static const struct ent dir[] = { { .path = "../../newdir/", .type = AE_IFDIR } };

	(void)state;
	box_open(&b);
	unpack_fails(&b, up, 1, NULL, EXDEV, "layer entry \"../x\": path escapes the root", NULL);
	unpack_fails(&b, up2, 1, NULL, EXDEV, "layer entry \"etc/../../x\": path escapes the root", NULL);
	unpack_fails(&b, up3, 1, NULL, EXDEV, "path escapes the root", NULL);
	unpack_fails(&b, inside, 1, NULL, EINVAL, "layer entry \"a/../b\": path has a \"..\" component", NULL);
	unpack_fails(&b, dir, 1, NULL, EXDEV, "path escapes the root", NULL);
	unpack_force_walk = 1;
	unpack_fails(&b, up2, 1, NULL, EXDEV, "path escapes the root", NULL);
	unpack_force_walk = 0;
	box_close(&b);
}

/* Absolute names are relative to the root (OCI, tar, containerd). */
static void test_hostile_absolute_confined(void **state)
{
	struct box b;
	static const struct ent ents[] = {
		{ .path = "/etc/passwd", .type = AE_IFREG, .data = "confined" },
		{ .path = "//abs-dir///sub/", .type = AE_IFDIR },
	};

	(void)state;
	box_open(&b);
	unpack_ok(&b, ents, ARRAY_SIZE(ents), NULL);
	check_file(b.root, "etc/passwd", "confined", 0644);
	assert_true(S_ISDIR(lst(b.root, "abs-dir/sub").st_mode));
	box_check(&b);
	box_close(&b);
}

static void symlink_parent_cases(int walk)
{
	struct box b;
	char name[64], abs_probe[80];

	/* A name that cannot exist in / beforehand. */
	snprintf(name, sizeof(name), "ember-unpack-probe-%d-%ld", getpid(), (long)time(NULL));
	snprintf(abs_probe, sizeof(abs_probe), "/%s", name);
	char p1[128], p2[128], p3[128];
	snprintf(p1, sizeof(p1), "evil/%s", name);
	snprintf(p2, sizeof(p2), "up/%s", name);
	snprintf(p3, sizeof(p3), "chain1/%s", name);
	const struct ent to_root[] = {
		{ .path = "evil", .type = AE_IFLNK, .link = "/" },
		{ .path = p1, .type = AE_IFREG, .data = "pwned" },
	};
	const struct ent to_up[] = {
		{ .path = "up", .type = AE_IFLNK, .link = "../.." },
		{ .path = p2, .type = AE_IFREG, .data = "pwned" },
	};
	static const struct ent to_outside[] = {
		{ .path = "out", .type = AE_IFLNK, .link = "../outside" },
		{ .path = "out/passwd", .type = AE_IFREG, .data = "pwned" },
	};
	const struct ent chain[] = {
		{ .path = "chain1", .type = AE_IFLNK, .link = "chain2" },
		{ .path = "chain2", .type = AE_IFLNK, .link = "chain3/" },
		{ .path = "chain3", .type = AE_IFLNK, .link = "../../" },
		{ .path = p3, .type = AE_IFREG, .data = "pwned" },
	};
	static const struct ent dir_through[] = {
		{ .path = "out", .type = AE_IFLNK, .link = "../outside" },
		{ .path = "out/newdir/", .type = AE_IFDIR },
	};
	static const struct ent deep_through[] = {
		{ .path = "a/b/", .type = AE_IFDIR },
		{ .path = "a/b/c", .type = AE_IFLNK, .link = "../../../" },
		{ .path = "a/b/c/d/e", .type = AE_IFREG, .data = "pwned" },
	};
	static const struct ent link_through[] = {
		{ .path = "out", .type = AE_IFLNK, .link = "../outside" },
		{ .path = "h", .link = "out/passwd" },
	};
	static const struct ent whiteout_through[] = {
		{ .path = "out", .type = AE_IFLNK, .link = "../outside" },
		{ .path = "out/.wh.passwd", .type = AE_IFREG },
	};
	static const struct ent opaque_through[] = {
		{ .path = "out", .type = AE_IFLNK, .link = "../outside" },
		{ .path = "out/.wh..wh..opq", .type = AE_IFREG },
	};

	unpack_force_walk = walk;
	box_open(&b);
	unpack_fails(&b, to_root, 2, NULL, ELOOP, "\"evil\" is a symbolic link", p1);
	assert_int_equal(access(abs_probe, F_OK), -1);
	check_link(b.root, "evil", "/");
	box_close(&b);
	box_open(&b);
	unpack_fails(&b, to_up, 2, NULL, ELOOP, "\"up\" is a symbolic link", p2);
	box_close(&b);
	box_open(&b);
	unpack_fails(&b, to_outside, 2, NULL, ELOOP, "layer entry \"out/passwd\": \"out\" is a symbolic link", NULL);
	box_close(&b);
	box_open(&b);
	unpack_fails(&b, chain, 4, NULL, ELOOP, "\"chain1\" is a symbolic link", NULL);
	assert_int_equal(access(abs_probe, F_OK), -1);
	box_close(&b);
	box_open(&b);
	unpack_fails(&b, dir_through, 2, NULL, ELOOP, "symbolic link", NULL);
	box_close(&b);
	box_open(&b);
	unpack_fails(&b, deep_through, 3, NULL, ELOOP, "\"a/b/c\" is a symbolic link", NULL);
	box_close(&b);
	box_open(&b);
	unpack_fails(&b, link_through, 2, NULL, ELOOP, "layer entry \"h\"", "symbolic link");
	box_close(&b);
	box_open(&b);
	unpack_fails(&b, whiteout_through, 2, &delete_opts, ELOOP, "symbolic link", NULL);
	box_close(&b);
	box_open(&b);
	unpack_fails(&b, opaque_through, 2, &delete_opts, ELOOP, "symbolic link", NULL);
	box_close(&b);
	/* A symlink of a lower layer is not followed either. */
	box_open(&b);
	assert_int_equal(symlinkat("../outside", b.root, "lowerlink"), 0);
	static const struct ent lower_through[] = { { .path = "lowerlink/passwd", .type = AE_IFREG, .data = "pwned" } };
	unpack_fails(&b, lower_through, 1, &delete_opts, ELOOP, "\"lowerlink\" is a symbolic link", NULL);
	box_close(&b);
	unpack_force_walk = 0;
}

static void test_hostile_symlink_parents(void **state)
{
	(void)state;
	symlink_parent_cases(0);
}

static void test_hostile_symlink_parents_walk(void **state)
{
	(void)state;
	symlink_parent_cases(1);
}

static void test_hostile_hard_links(void **state)
{
	struct box b;
	static const struct ent abs[] = { { .path = "h", .link = "/etc/passwd" } };
	static const struct ent up[] = { { .path = "h", .link = "../outside/passwd" } };
	static const struct ent root[] = { { .path = "h", .link = "/" } };
	/* A symlink to outside, then a hard link to it: links the symlink itself. */
	static const struct ent to_symlink[] = {
		{ .path = "s", .type = AE_IFLNK, .link = "../outside/passwd" },
		{ .path = "h", .link = "s" },
		{ .path = "h", .type = AE_IFREG, .data = "replaced, not written through" },
	};

	(void)state;
	box_open(&b);
	unpack_fails(&b, abs, 1, NULL, ENOENT, "layer entry \"h\"", "hard link target \"etc/passwd\" does not exist");
	unpack_fails(&b, up, 1, NULL, EXDEV, "layer entry \"h\"", "hard link target: path escapes the root");
	unpack_fails(&b, root, 1, NULL, EPERM, "hard link to the root", NULL);
	unpack_ok(&b, to_symlink, 3, NULL);
	check_link(b.root, "s", "../outside/passwd");
	check_file(b.root, "h", "replaced, not written through", 0644);
	box_check(&b);
	box_close(&b);
}

static void test_hostile_devices(void **state)
{
	struct box b;
	static const struct ent chr[] = { { .path = "dev/sda", .type = AE_IFCHR, .major = 8, .minor = 0 } };
	static const struct ent blk[] = { { .path = "dev/sda", .type = AE_IFBLK, .major = 8, .minor = 0 } };
	static const struct ent fifo[] = { { .path = "fifo", .type = AE_IFIFO } };

	(void)state;
	box_open(&b);
	unpack_fails(&b, chr, 1, NULL, EPERM, "layer entry \"dev/sda\": character device 8:0 not created", NULL);
	unpack_fails(&b, blk, 1, NULL, EPERM, "block device 8:0", NULL);
	assert_false(exists(b.root, "dev/sda"));
	unpack_ok(&b, fifo, 1, NULL); /* fifos need no privilege */
	assert_true(S_ISFIFO(lst(b.root, "fifo").st_mode));
	box_close(&b);
}

static void test_hostile_sizes(void **state)
{
	struct box b;
	struct buf tar = { 0 };
	unsigned char blk[512];
	struct ember_error e;
	struct unpack_options small = { .compression = -1, .max_bytes = 1 << 20 };

	(void)state;
	box_open(&b);
	/* 1 GiB declared, 512 bytes there. */
	ustar(blk, "huge", '0', 1ull << 30, NULL, 0);
	buf_add(&tar, blk, 512);
	memset(blk, 'x', 512);
	buf_add(&tar, blk, 512);
	assert_true(unpack_buf(&b, &tar, NULL, NULL, &e) < 0);
	assert_msg_contains(&e, "layer entry \"huge\"");
	assert_msg_contains(&e, "runcated");
	box_check(&b);
	/* More than the limit declared: refused before any data is read. */
	assert_true(unpack_buf(&b, &tar, &small, NULL, &e) < 0);
	assert_int_equal(e.code, EFBIG);
	assert_msg_contains(&e, "layer entry \"huge\": declares 1073741824 bytes");
	box_check(&b);
	box_close(&b);
	free(tar.p);
}

static void test_hostile_gzip_bomb(void **state)
{
	struct box b;
	struct buf tar = { 0 };
	unsigned char blk[512];
	struct ember_error e;
	struct unpack_options o = { .compression = -1, .max_bytes = 16 << 20 };
	size_t big = 64 << 20;
	struct timespec t0, t1;

	(void)state;
	/* An entry of 8 MiB of zeros, then zeros: the tar ends, the stream
	   goes on to 64 MiB, in well under 1 MiB of gzip. */
	ustar(blk, "bomb", '0', 8 << 20, NULL, 0);
	buf_add(&tar, blk, 512);
	tar.p = realloc(tar.p, 512 + big);
	memset(tar.p + 512, 0, big);
	tar.n = 512 + big;
	struct buf gz = gzip_of(&tar);
	assert_true(gz.n < 1 << 20);
	box_open(&b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(unpack_buf(&b, &gz, &o, NULL, &e) < 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(e.code, EFBIG);
	assert_string_equal(e.message, "layer expands beyond 16777216 bytes (the unpack limit)");
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	/* The entry alone is over a smaller limit: refused at its header. */
	o.max_bytes = 4 << 20;
	assert_true(unpack_buf(&b, &gz, &o, NULL, &e) < 0);
	assert_int_equal(e.code, EFBIG);
	assert_msg_contains(&e, "layer entry \"bomb\": declares 8388608 bytes");
	box_check(&b);
	box_close(&b);
	free(gz.p);
	free(tar.p);
}

static void test_hostile_zero_bomb(void **state)
{
	struct box b;
	struct buf zeros = { 0 };
	struct ember_error e;
	struct unpack_options o = { .compression = -1, .max_bytes = 4 << 20 };

	(void)state;
	/* The tar ends at once; what follows still counts. */
	zeros.p = calloc(1, 32 << 20);
	zeros.n = 32 << 20;
	struct buf z = zstd_of(&zeros);
	box_open(&b);
	assert_true(unpack_buf(&b, &z, &o, NULL, &e) < 0);
	assert_int_equal(e.code, EFBIG);
	assert_msg_contains(&e, "layer expands beyond");
	box_close(&b);
	free(z.p);
	free(zeros.p);
}

static void test_hostile_deep_nesting(void **state)
{
	struct box b;
	struct layer l;
	char *path = calloc(1, 3 * 3000 + 8);
	struct ember_error e;

	(void)state;
	box_open(&b);
	layer_begin(&l);
	strcpy(path, "d");
	for (int i = 0; i < 3000; i++) {
		struct ent d = { .path = path, .type = AE_IFDIR };
		layer_add(&l, &d);
		strcat(path, "/d");
	}
	layer_end(&l);
	assert_true(unpack_buf(&b, &l.tar, &delete_opts, NULL, &e) < 0);
	assert_int_equal(e.code, ENAMETOOLONG);
	assert_msg_contains(&e, "name longer than 4095 bytes");
	assert_msg_contains(&e, "layer entry \"d/d/d/");
	box_check(&b);
	box_close(&b);
	free(l.tar.p);
	free(path);
}

static void test_hostile_long_names(void **state)
{
	struct box b;
	char comp[300], *longpath = calloc(1, 5000), *target = calloc(1, 5000);

	(void)state;
	memset(comp, 'n', 299);
	comp[299] = '\0';
	for (int i = 0; i < 900; i++)
		strcat(longpath, "abcd/");
	strcat(longpath, "f");
	memset(target, 't', 4500);
	const struct ent c1[] = { { .path = comp, .type = AE_IFREG, .data = "x" } };
	const struct ent c2[] = { { .path = longpath, .type = AE_IFREG, .data = "x" } };
	const struct ent c3[] = { { .path = "ok", .link = longpath } };
	const struct ent c4[] = { { .path = "s", .type = AE_IFLNK, .link = target } };
	box_open(&b);
	unpack_fails(&b, c1, 1, NULL, ENAMETOOLONG, "component longer than 255 bytes", "layer entry \"nnnn");
	unpack_fails(&b, c2, 1, NULL, ENAMETOOLONG, "name longer than 4095 bytes", NULL);
	unpack_fails(&b, c3, 1, NULL, ENAMETOOLONG, "hard link target: name longer", NULL);
	unpack_fails(&b, c4, 1, NULL, ENAMETOOLONG, "symbolic link target longer", NULL);
	box_close(&b);
	free(longpath);
	free(target);
}

static void test_hostile_corrupt_headers(void **state)
{
	struct box b;
	struct buf tar = { 0 }, first = { 0 };
	unsigned char blk[512] = { 0 }, zero[1024] = { 0 };
	struct ember_error e;

	(void)state;
	box_open(&b);
	ustar(blk, "good", '0', 0, NULL, 0);
	buf_add(&tar, blk, 512);
	ustar(blk, "bad", '0', 0, NULL, 1);
	buf_add(&tar, blk, 512);
	buf_add(&tar, zero, 1024);
	assert_true(unpack_buf(&b, &tar, NULL, NULL, &e) < 0);
	assert_msg_contains(&e, "layer: entry 2, after \"good\"");
	assert_true(e.code == EINVAL);
	/* The first header bad: not a tar at all. */
	ustar(blk, "bad", '0', 0, NULL, 1);
	buf_add(&first, blk, 512);
	buf_add(&first, zero, 1024);
	assert_true(unpack_buf(&b, &first, NULL, NULL, &e) < 0);
	assert_msg_contains(&e, "layer: not a tar archive");
	/* Garbage, and nothing. */
	struct buf garbage = { .p = (unsigned char *)"this is not a layer at all, not even close, no", .n = 46 };
	assert_true(unpack_buf(&b, &garbage, NULL, NULL, &e) < 0);
	struct buf empty = { .p = zero, .n = 0 };
	assert_true(unpack_buf(&b, &empty, NULL, NULL, &e) < 0);
	/* An unknown entry type is refused. */
	struct buf odd = { 0 };
	ustar(blk, "sock", 'Z' + 1, 0, NULL, 0);
	buf_add(&odd, blk, 512);
	buf_add(&odd, zero, 1024);
	(void)unpack_buf(&b, &odd, NULL, NULL, &e); /* libarchive may take it as a file */
	box_check(&b);
	box_close(&b);
	free(tar.p);
	free(first.p);
	free(odd.p);
}

static void test_hostile_truncated(void **state)
{
	struct box b;
	static const struct ent ents[] = {
		{ .path = "a", .type = AE_IFREG, .data = "a file with some content in it, long enough" },
		{ .path = "b", .type = AE_IFREG, .data = "another" },
	};
	struct buf tar = layer_of(ents, 2);
	struct ember_error e;

	(void)state;
	box_open(&b);
	/* Cut inside a's data. */
	struct buf cut = { .p = tar.p, .n = 512 + 20 };
	assert_true(unpack_buf(&b, &cut, NULL, NULL, &e) < 0);
	assert_msg_contains(&e, "layer entry \"a\"");
	/* Cut compressed streams. */
	struct buf gz = gzip_of(&tar), zs = zstd_of(&tar);
	gz.n /= 2;
	zs.n /= 2;
	assert_true(unpack_buf(&b, &gz, NULL, NULL, &e) < 0);
	assert_true(unpack_buf(&b, &zs, NULL, NULL, &e) < 0);
	/* Claims gzip, is a tar. */
	struct unpack_options o = { .compression = LAYER_GZIP };
	assert_true(unpack_buf(&b, &tar, &o, NULL, &e) < 0);
	assert_msg_contains(&e, "layer: gzip:");
	box_check(&b);
	box_close(&b);
	free(gz.p);
	free(zs.p);
	free(tar.p);
}


/* A PAX extended header block setting path, then a ustar header. */
static void pax_path_entry(struct buf *tar, const char *path, const char *data)
{
	unsigned char blk[512];
	char rec[600];
	size_t n = strlen(" path=\n") + strlen(path), len = n + 1;

	while (snprintf(NULL, 0, "%zu", len) + n != len)
		len++;
	snprintf(rec, sizeof(rec), "%zu path=%s\n", len, path);
	ustar(blk, "PaxHeaders/x", 'x', strlen(rec), NULL, 0);
	buf_add(tar, blk, 512);
	memset(blk, 0, 512);
	memcpy(blk, rec, strlen(rec));
	buf_add(tar, blk, 512);
	ustar(blk, "placeholder", '0', strlen(data), NULL, 0);
	buf_add(tar, blk, 512);
	memset(blk, 0, 512);
	memcpy(blk, data, strlen(data));
	buf_add(tar, blk, 512);
}

/* Names are bytes: UTF-8 and latin-1 in ustar names, UTF-8 in a PAX path
   record, come out as they went in, whatever the locale. */
static void test_names_are_bytes(void **state)
{
	char longname[200];
	unsigned char blk[512] = { 0 };
	struct buf tar = { 0 };
	struct box b;
	struct ember_error e;

	(void)state;
	strcpy(longname, "\xe6\x97\xa5\xe6\x9c\xac/");
	for (int i = 0; i < 60; i++)
		strcat(longname, "\xc3\xbc");
	ustar(blk, "caf\xc3\xa9", '0', 0, NULL, 0);
	buf_add(&tar, blk, 512);
	ustar(blk, "lat\xe9", '0', 0, NULL, 0);
	buf_add(&tar, blk, 512);
	pax_path_entry(&tar, longname, "pax path");
	memset(blk, 0, 512);
	buf_add(&tar, blk, 512);
	buf_add(&tar, blk, 512);
	box_open(&b);
	if (unpack_buf(&b, &tar, NULL, NULL, &e) < 0)
		fail_msg("%s", e.message);
	check_file(b.root, "caf\xc3\xa9", "", 0644);
	check_file(b.root, "lat\xe9", "", 0644);
	check_file(b.root, longname, "pax path", 0644);
	box_close(&b);
	free(tar.p);
}

/* As an unprivileged user with same_owner 0: files are the caller's,
   privileged xattrs are skipped and counted, devices and the overlay
   opaque xattr are refused with EPERM, fifos and user.* xattrs work. */
static int unprivileged_child(int root)
{
	static const struct ent ents[] = {
		{ .path = "bin/", .type = AE_IFDIR, .mode = 0555 },
		{ .path = "bin/ping", .type = AE_IFREG, .mode = 04755, .uid = 0, .data = "ping",
		  .xname = "security.capability", .xval = fcap, .xlen = sizeof(fcap) },
		{ .path = "bin/t", .type = AE_IFREG, .data = "t", .xname = "trusted.x", .xval = "1", .xlen = 1 },
		{ .path = "bin/u", .type = AE_IFREG, .data = "u", .xname = "user.x", .xval = "1", .xlen = 1 },
		{ .path = "bin/fifo", .type = AE_IFIFO },
	};
	static const struct ent dev[] = { { .path = "null", .type = AE_IFCHR, .major = 1, .minor = 3 } };
	static const struct ent opq[] = { { .path = "d/.wh..wh..opq", .type = AE_IFREG } };
	struct unpack_options o = { .whiteouts = UNPACK_WHITEOUT_DELETE, .compression = -1 };
	struct ember_error e;
	struct unpack_stats st;
	struct stat sb;

	struct buf tar = layer_of(ents, ARRAY_SIZE(ents));
	int fd = memfd_create("layer", MFD_CLOEXEC);
	if (write(fd, tar.p, tar.n) != (ssize_t)tar.n || lseek(fd, 0, SEEK_SET) != 0)
		return 10;
	if (image_unpack(fd, root, &o, &st, &e) < 0) {
		fprintf(stderr, "unprivileged unpack: %s\n", e.message);
		return 11;
	}
	close(fd);
	/* libarchive's writer puts each xattr in two records (LIBARCHIVE.xattr
	   and SCHILY.xattr), and its reader returns both. */
	if (st.xattrs_skipped < 2)
		return 12;
	if (fstatat(root, "bin/ping", &sb, 0) < 0 || sb.st_uid != geteuid() || (sb.st_mode & 07777) != 04755)
		return 13;
	if (fstatat(root, "bin", &sb, 0) < 0 || (sb.st_mode & 07777) != 0555)
		return 14;
	if (fstatat(root, "bin/fifo", &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISFIFO(sb.st_mode))
		return 15;
	char proc[64], v[4];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/bin/u", root);
	if (getxattr(proc, "user.x", v, sizeof(v)) != 1)
		return 16;
	free(tar.p);

	tar = layer_of(dev, 1);
	fd = memfd_create("layer", MFD_CLOEXEC);
	if (write(fd, tar.p, tar.n) != (ssize_t)tar.n || lseek(fd, 0, SEEK_SET) != 0)
		return 20;
	o.devices = 1;
	if (image_unpack(fd, root, &o, &st, &e) != -EPERM || !strstr(e.message, "layer entry \"null\""))
		return 21;
	close(fd);
	free(tar.p);

	tar = layer_of(opq, 1);
	fd = memfd_create("layer", MFD_CLOEXEC);
	if (write(fd, tar.p, tar.n) != (ssize_t)tar.n || lseek(fd, 0, SEEK_SET) != 0)
		return 30;
	o.whiteouts = UNPACK_WHITEOUT_OVERLAY;
	if (image_unpack(fd, root, &o, &st, &e) != -EPERM || !strstr(e.message, "needs CAP_SYS_ADMIN"))
		return 31;
	close(fd);
	free(tar.p);
	return 0;
}

static void test_unprivileged(void **state)
{
	struct box b;
	int status;

	(void)state;
	if (!is_root())
		skip(); /* needs a user to become */
	box_open(&b);
	assert_int_equal(fchown(b.root, 65534, 65534), 0);
	/* The sandbox path must be searchable by that user. */
	assert_int_equal(fchmod(b.fd, 0755), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		_exit(unprivileged_child(b.root));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	box_check(&b);
	box_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_tar),
		cmocka_unit_test(test_tree_gzip),
		cmocka_unit_test(test_tree_zstd),
		cmocka_unit_test(test_tree_walk),
		cmocka_unit_test(test_empty_layer),
		cmocka_unit_test(test_gzip_members_and_trailing_data),
		cmocka_unit_test(test_replace_types),
		cmocka_unit_test(test_no_write_through_hard_link),
		cmocka_unit_test(test_replace_deep_tree),
		cmocka_unit_test(test_whiteouts_delete),
		cmocka_unit_test(test_whiteouts_overlay),
		cmocka_unit_test(test_whiteout_bad_names),
		cmocka_unit_test(test_tar_tree_overlay_round_trip),
		cmocka_unit_test(test_hard_links),
		cmocka_unit_test(test_names_are_bytes),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_hostile_dotdot),
		cmocka_unit_test(test_hostile_absolute_confined),
		cmocka_unit_test(test_hostile_symlink_parents),
		cmocka_unit_test(test_hostile_symlink_parents_walk),
		cmocka_unit_test(test_hostile_hard_links),
		cmocka_unit_test(test_hostile_devices),
		cmocka_unit_test(test_hostile_sizes),
		cmocka_unit_test(test_hostile_gzip_bomb),
		cmocka_unit_test(test_hostile_zero_bomb),
		cmocka_unit_test(test_hostile_deep_nesting),
		cmocka_unit_test(test_hostile_long_names),
		cmocka_unit_test(test_hostile_corrupt_headers),
		cmocka_unit_test(test_hostile_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
