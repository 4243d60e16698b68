/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_FS_H
#define EMBER_UTIL_FS_H

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

#include <ember/error.h>

/*
 * Filesystem helpers that follow DESIGN.md §4's crash rules. Paths are
 * relative to a directory fd wherever possible.
 */

/* Temporary files start with this prefix; start-up recovery removes them. */
#define FS_TMP_PREFIX ".tmp-"

/*
 * The one way a record reaches the disk: write to a temporary file in the
 * same directory, fsync it, rename it over `name`, fsync the directory.
 * After a crash, `name` holds either the old or the new content, never a mix.
 */
int fs_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		    struct ember_error *e);

/* The same without the fsyncs, for the state directory (a tmpfs: it does
   not outlive a power cut, only a crash of the daemon, which the rename
   alone survives). Each fsync costs a disk flush where --state is on one
   anyway, and a task's state is written at every start and exit. */
int fs_replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode, struct ember_error *e);

/* A file given by path (relative to the cwd, or absolute), in any
   directory, written as fs_write_atomic() writes one: a pid file (the
   daemon's --pidfile, ember oci's --pid-file), whose reader must never
   see it half written. Errors name the path. */
int fs_write_path(const char *path, const void *data, size_t len, mode_t mode, struct ember_error *e);

/* fsync a directory given by fd. */
int fs_fsync_dir(int dirfd, const char *what, struct ember_error *e);

/* Read a whole file (at most max bytes, else E2BIG) into a NUL-terminated buffer. */
int fs_read_file(int dirfd, const char *name, size_t max, char **data, size_t *len,
		 struct ember_error *e);

/* mkdir -p for an absolute or relative path (mode for the created ones). */
int fs_mkdir_p(const char *path, mode_t mode, struct ember_error *e);

/* Open a directory below dirfd, creating it (mode) when create is set. */
int fs_open_dir(int dirfd, const char *name, int create, mode_t mode, struct ember_error *e);

/* opendir() of a directory below dirfd (name may be "."), with its own offset. */
DIR *fs_opendir_at(int dirfd, const char *name);
/* The names in directory dirfd that do not start with '.', sorted (strcmp);
   *names is an array of *n strings (fs_names_free). */
int fs_list_names(int dirfd, char ***names, size_t *n, struct ember_error *e);
void fs_names_free(char **names, size_t n);

/* Remove a tree below dirfd without following symlinks. Missing is fine. */
int fs_remove_tree(int dirfd, const char *name, struct ember_error *e);

/* Remove every entry of dirfd whose name starts with FS_TMP_PREFIX; returns
   how many were removed. */
int fs_remove_tmp(int dirfd, struct ember_error *e);

/* A random name suffix of 12 hex characters (for temporary names). */
void fs_random_suffix(char out[13]);

/* True when name is a single, safe path component (no '/', not "." or ".."). */
int fs_name_is_component(const char *name);

#endif
