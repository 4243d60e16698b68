/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-namespace object records: meta/<ns>/<kind>/<escaped-name>.json. Names
 * such as "docker.io/library/busybox:latest" are escaped into one file name
 * (%XX for anything but [A-Za-z0-9._-]); a name too long for that is stored
 * under "=" + the hex SHA-256 of the name. The record itself carries the
 * real name, so listings never need to reverse the escaping.
 */
#include "metadata/metadata.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/record.h"

#define RECORD_SUFFIX ".json"
#define ESCAPED_MAX 200

static void escape_name(const char *name, char out[META_FILE_NAME_MAX])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-';
		/* "." and ".." would not be file names of their own. */
		if (p == (const unsigned char *)name && *p == '.')
			plain = 0;
		if (n + 3 > ESCAPED_MAX)
			goto hashed;
		if (plain) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	memcpy(out + n, RECORD_SUFFIX, sizeof(RECORD_SUFFIX));
	return;
hashed:;
	char digest[DIGEST_MAX];
	digest_buffer(name, strlen(name), digest);
	snprintf(out, META_FILE_NAME_MAX, "=%s" RECORD_SUFFIX, digest_hex(digest));
}

void meta_object_file_name(const char *name, char out[META_FILE_NAME_MAX])
{
	escape_name(name, out);
}

static int open_kind(struct meta *m, const char *ns, const char *kind, int create,
		     struct ember_error *e)
{
	if (meta_identifier_check("namespace", ns, e) < 0)
		return -e->code;
	int ns_fd = openat(m->dir_fd, ns, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (ns_fd < 0 && errno == ENOENT && create) {
		/* As in containerd, using a namespace creates it. */
		int r = meta_namespace_create(m, ns, NULL, NULL, e);
		if (r < 0 && r != -EEXIST)
			return r;
		ns_fd = openat(m->dir_fd, ns, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (ns_fd < 0) {
		if (errno == ENOENT)
			return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "namespace \"%s\" not found", ns);
		return err_sys(e, errno, "open namespace %s", ns);
	}
	int fd = create ? fs_open_dir(ns_fd, kind, 1, 0700, e)
			: openat(ns_fd, kind, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && !create) {
		if (errno == ENOENT)
			fd = -ENOENT; /* nothing of this kind yet */
		else
			fd = err_sys(e, errno, "open %s/%s", ns, kind);
	}
	close_keep_errno(ns_fd);
	return fd;
}

int meta_object_get(struct meta *m, const char *ns, const char *kind, const char *label,
		    const char *name, json_t **out, struct ember_error *e)
{
	char file[META_FILE_NAME_MAX];
	json_t *rec;

	_cleanup_close_ int fd = open_kind(m, ns, kind, 0, e);
	if (fd == -ENOENT)
		goto not_found;
	if (fd < 0)
		return fd;
	escape_name(name, file);
	int r = record_read(fd, file, &rec, e);
	if (r == -ENOENT)
		goto not_found;
	if (r < 0)
		return err_wrap(e, "%s \"%s\"", label, name);
	*out = rec;
	return 0;
not_found:
	return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "%s \"%s\" not found", label, name);
}

int meta_object_put(struct meta *m, const char *ns, const char *kind, const char *name, json_t *rec,
		    struct ember_error *e)
{
	char file[META_FILE_NAME_MAX];

	_cleanup_close_ int fd = open_kind(m, ns, kind, 1, e);
	if (fd < 0)
		return fd;
	escape_name(name, file);
	return record_write(fd, file, rec, e);
}

int meta_object_delete(struct meta *m, const char *ns, const char *kind, const char *label,
		       const char *name, struct ember_error *e)
{
	char file[META_FILE_NAME_MAX];

	_cleanup_close_ int fd = open_kind(m, ns, kind, 0, e);
	if (fd == -ENOENT)
		goto not_found;
	if (fd < 0)
		return fd;
	escape_name(name, file);
	if (unlinkat(fd, file, 0) < 0) {
		if (errno == ENOENT)
			goto not_found;
		return err_sys(e, errno, "delete %s \"%s\"", label, name);
	}
	return fs_fsync_dir(fd, kind, e);
not_found:
	return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "%s \"%s\" not found", label, name);
}

/* Every readable record of one kind in one namespace, sorted by name. */
static int list_fd(int fd, json_t **out, struct ember_error *e)
{
	json_t *list = json_array();
	DIR *d = fs_opendir_at(fd, ".");
	struct dirent *de;

	if (!list || !d) {
		json_decref(list);
		if (d)
			closedir(d);
		return err_sys(e, list ? errno : ENOMEM, "list records");
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		json_t *rec;
		struct ember_error ignored;

		if (de->d_name[0] == '.' || n <= strlen(RECORD_SUFFIX) ||
		    strcmp(de->d_name + n - strlen(RECORD_SUFFIX), RECORD_SUFFIX))
			continue;
		/* A damaged record is skipped (and reported by its own get). */
		if (record_read(fd, de->d_name, &rec, &ignored) == 0) {
			if (json_is_string(json_object_get(rec, "name")))
				json_array_append_new(list, rec);
			else
				json_decref(rec);
		}
	}
	closedir(d);
	if (record_sort(list, "name") < 0) {
		json_decref(list);
		return err_set(e, ENOMEM, "list records: out of memory");
	}
	*out = list;
	return 0;
}

int meta_object_list(struct meta *m, const char *ns, const char *kind, json_t **out,
		     struct ember_error *e)
{
	_cleanup_close_ int fd = open_kind(m, ns, kind, 0, e);
	if (fd == -ENOENT) {
		*out = json_array();
		return *out ? 0 : err_set(e, ENOMEM, "out of memory");
	}
	if (fd < 0)
		return fd;
	return list_fd(fd, out, e);
}

int meta_object_walk_all(struct meta *m, const char *kind, meta_object_fn fn, void *userdata,
			 struct ember_error *e)
{
	DIR *d = fs_opendir_at(m->dir_fd, ".");
	struct dirent *de;
	int r = 0;

	if (!d)
		return err_sys(e, errno, "list namespaces");
	while (r == 0 && (de = readdir(d))) {
		json_t *list;
		struct ember_error ignored;

		if (de->d_name[0] == '.')
			continue;
		_cleanup_close_ int fd = open_kind(m, de->d_name, kind, 0, &ignored);
		if (fd < 0)
			continue;
		r = list_fd(fd, &list, e);
		if (r < 0)
			break;
		size_t i;
		json_t *rec;
		json_array_foreach(list, i, rec) {
			r = fn(de->d_name, rec, userdata);
			if (r)
				break;
		}
		json_decref(list);
	}
	closedir(d);
	return r < 0 ? r : 0;
}
