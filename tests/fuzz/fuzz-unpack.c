/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: layer unpack. The input is a layer (tar, gzip or zstd, sniffed)
 * applied twice, with overlay whiteouts to an empty root and with deleting
 * whiteouts to a small lower tree, in a sandbox:
 *
 *   sandbox/canary  sandbox/outside/passwd  sandbox/lvl/canary  sandbox/lvl/root/
 *
 * Traps when anything outside root changed (a name added or removed, a
 * canary's content, inode or times, a directory's mtime), or when an error
 * breaks the error rule (code > 0, one non-empty line). The root is emptied
 * after each run, without following links.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static const char canary_text[] = "canary: must stay as it is\n";
static char sandbox[64];
static char root_path[128];
static int root_fd = -1;

/* Below sandbox, with their stat before any run. */
static const char *const watched_path[] = { ".", "canary", "outside", "outside/passwd", "lvl", "lvl/canary" };
#define N_WATCHED (sizeof(watched_path) / sizeof(watched_path[0]))
static struct stat watched_st[N_WATCHED];

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

static int remove_any(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

static void remove_sandbox(void)
{
	(void)nftw(sandbox, remove_any, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void setup(void)
{
	char p[256];

	snprintf(sandbox, sizeof(sandbox), "/tmp/ember-fuzz-unpack.XXXXXX");
	if (!mkdtemp(sandbox))
		abort();
	snprintf(p, sizeof(p), "%s/outside", sandbox);
	if (mkdir(p, 0755) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/lvl", sandbox);
	if (mkdir(p, 0755) < 0)
		abort();
	snprintf(root_path, sizeof(root_path), "%s/lvl/root", sandbox);
	if (mkdir(root_path, 0755) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/canary", sandbox);
	write_file(p, canary_text);
	snprintf(p, sizeof(p), "%s/outside/passwd", sandbox);
	write_file(p, canary_text);
	snprintf(p, sizeof(p), "%s/lvl/canary", sandbox);
	write_file(p, canary_text);
	root_fd = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		abort();
	atexit(remove_sandbox);
	for (size_t i = 0; i < N_WATCHED; i++) {
		snprintf(p, sizeof(p), "%s/%s", sandbox, watched_path[i]);
		if (lstat(p, &watched_st[i]) < 0)
			abort();
	}
}

static size_t count_names(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		__builtin_trap();
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void check_outside(void)
{
	char p[256], got[sizeof(canary_text) + 8];

	for (size_t i = 0; i < N_WATCHED; i++) {
		struct stat st, *w = &watched_st[i];
		snprintf(p, sizeof(p), "%s/%s", sandbox, watched_path[i]);
		if (lstat(p, &st) < 0 || st.st_ino != w->st_ino || st.st_mode != w->st_mode ||
		    st.st_uid != w->st_uid || st.st_gid != w->st_gid || st.st_nlink != w->st_nlink ||
		    st.st_size != w->st_size || st.st_mtim.tv_sec != w->st_mtim.tv_sec ||
		    st.st_mtim.tv_nsec != w->st_mtim.tv_nsec || st.st_ctim.tv_sec != w->st_ctim.tv_sec ||
		    st.st_ctim.tv_nsec != w->st_ctim.tv_nsec)
			__builtin_trap();
		if (S_ISREG(st.st_mode)) {
			int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			ssize_t n = fd < 0 ? -1 : read(fd, got, sizeof(got));
			if (fd >= 0)
				close(fd);
			if (n != (ssize_t)strlen(canary_text) || memcmp(got, canary_text, (size_t)n))
				__builtin_trap();
		}
	}
	snprintf(p, sizeof(p), "%s", sandbox);
	if (count_names(p) != 3)
		__builtin_trap();
	snprintf(p, sizeof(p), "%s/outside", sandbox);
	if (count_names(p) != 1)
		__builtin_trap();
	snprintf(p, sizeof(p), "%s/lvl", sandbox);
	if (count_names(p) != 2)
		__builtin_trap();
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level == 0)
		return 0; /* the root itself stays, so its parent's mtime does not move */
	if (remove(path) < 0 && errno != ENOENT)
		__builtin_trap();
	return 0;
}

/* Empty the root; chmod it first, in case the layer took its x bit (root
   does not need it, but a fuzzer run as a user would). */
static void clean_root(void)
{
	(void)fchmod(root_fd, 0755);
	if (nftw(root_path, remove_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		__builtin_trap();
	if (count_names(root_path) != 0)
		__builtin_trap();
}

static void lower_tree(void)
{
	char p[256];
	static const char *const dirs[] = { "a", "a/b", "etc", "usr", "usr/lib" };
	static const char *const files[] = { "a/b/file", "a/keep", "etc/passwd", "usr/lib/libc.so" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root_path, dirs[i]);
		if (mkdir(p, 0755) < 0)
			abort();
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root_path, files[i]);
		write_file(p, "lower\n");
	}
	snprintf(p, sizeof(p), "%s/lib", root_path);
	if (symlink("usr/lib", p) < 0)
		abort();
}

/* libFuzzer's mutations, then (9 times in 10) fresh checksums on every
   block that looks like a ustar header, so that mutated headers reach the
   unpacker instead of stopping at libarchive's checksum test. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % 10 == 0)
		return size;
	for (size_t off = 0; off + 512 <= size; off += 512) {
		uint8_t *h = data + off;
		if (memcmp(h + 257, "ustar", 5))
			continue;
		unsigned sum = 0;
		memset(h + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += h[i];
		char field[8];
		snprintf(field, sizeof(field), "%06o", sum & 0777777);
		memcpy(h + 148, field, 7);
		h[155] = ' ';
	}
	return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (root_fd < 0)
		setup();
	for (int mode = 0; mode < 2; mode++) {
		struct unpack_options o = {
			.whiteouts = mode ? UNPACK_WHITEOUT_DELETE : UNPACK_WHITEOUT_OVERLAY,
			.compression = UNPACK_COMPRESSION_SNIFF,
			.max_bytes = 1 << 20,
			.same_owner = geteuid() == 0,
			.devices = 0,
		};
		struct ember_error e;
		struct unpack_stats st;

		if (mode)
			lower_tree();
		int fd = memfd_create("layer", MFD_CLOEXEC);
		if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
			abort();
		memset(&e, 0, sizeof(e));
		int r = image_unpack(fd, root_fd, &o, &st, &e);
		close(fd);
		if (r < 0 && (r != -e.code || e.code <= 0 || !e.message[0] || strchr(e.message, '\n')))
			__builtin_trap();
		if (r == 0 && (st.bytes > o.max_bytes || strncmp(st.diff_id, "sha256:", 7)))
			__builtin_trap();
		if (r > 0)
			__builtin_trap();
		check_outside();
		clean_root();
	}
	return 0;
}
