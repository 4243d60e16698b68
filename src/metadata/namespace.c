/* SPDX-License-Identifier: Apache-2.0 */
#include "metadata/metadata.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/record.h"
#include "util/timestamp.h"

#define NAMESPACE_RECORD "namespace.json"

static int ns_not_found(const char *name, struct ember_error *e)
{
	return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "namespace \"%s\" not found", name);
}

static int ns_open(struct meta *m, const char *name, struct ember_error *e)
{
	int fd;

	if (meta_identifier_check("namespace", name, e) < 0)
		return -e->code;
	fd = openat(m->dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return ns_not_found(name, e);
		return err_sys(e, errno, "open namespace %s", name);
	}
	return fd;
}

static int ns_read(int ns_fd, const char *name, json_t **out, struct ember_error *e)
{
	if (record_read(ns_fd, NAMESPACE_RECORD, out, e) < 0)
		return err_wrap(e, "namespace %s", name);
	return 0;
}

int meta_namespace_get(struct meta *m, const char *name, json_t **out, struct ember_error *e)
{
	_cleanup_close_ int fd = ns_open(m, name, e);

	if (fd < 0)
		return fd;
	return ns_read(fd, name, out, e);
}

int meta_namespace_list(struct meta *m, json_t **out, struct ember_error *e)
{
	json_t *list = json_array();
	char **names;
	size_t n;

	if (!list)
		return err_set(e, ENOMEM, "list namespaces: out of memory");
	if (fs_list_names(m->dir_fd, &names, &n, e) < 0) {
		json_decref(list);
		return err_wrap(e, "list namespaces");
	}
	for (size_t i = 0; i < n; i++) {
		json_t *ns;
		struct ember_error ignored;
		/* A directory without a readable record is not a namespace
		   (a foreign entry); skip it rather than fail the whole list. */
		if (meta_namespace_get(m, names[i], &ns, &ignored) == 0)
			json_array_append_new(list, ns);
	}
	fs_names_free(names, n);
	*out = list;
	return 0;
}

static int renameat_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	/* Called directly: older musl has no renameat2() wrapper. */
	return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, 1 /* RENAME_NOREPLACE */);
}

int meta_namespace_create(struct meta *m, const char *name, json_t *labels, json_t **out,
			  struct ember_error *e)
{
	char tmp[128], now[TIMESTAMP_LEN], suffix[13];
	int r;

	if (meta_identifier_check("namespace", name, e) < 0)
		return -e->code;
	if (labels && meta_labels_check(labels, e) < 0)
		return err_wrap(e, "create namespace %s", name);
	if (faccessat(m->dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST, "namespace \"%s\" already exists", name);

	timestamp_now(now);
	json_t *rec = json_pack("{s:s, s:o, s:s, s:s}", "name", name, "labels",
				labels ? json_deep_copy(labels) : json_object(), "created_at", now,
				"updated_at", now);
	if (!rec)
		return err_set(e, ENOMEM, "create namespace %s: out of memory", name);

	/* Build the namespace under a temporary name, then rename it into
	   place: after a crash it is either complete or absent. */
	fs_random_suffix(suffix);
	snprintf(tmp, sizeof(tmp), FS_TMP_PREFIX "ns-%s", suffix);
	_cleanup_close_ int fd = fs_open_dir(m->dir_fd, tmp, 1, 0700, e);
	if (fd < 0) {
		json_decref(rec);
		return err_wrap(e, "create namespace %s", name);
	}
	r = record_write(fd, NAMESPACE_RECORD, rec, e);
	if (r == 0 && renameat_noreplace(m->dir_fd, tmp, m->dir_fd, name) < 0) {
		if (errno == EEXIST)
			r = err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST,
					 "namespace \"%s\" already exists", name);
		else
			r = err_sys(e, errno, "rename %s to %s", tmp, name);
	}
	if (r == 0)
		r = fs_fsync_dir(m->dir_fd, "meta", e);
	if (r < 0) {
		struct ember_error ignored;
		(void)fs_remove_tree(m->dir_fd, tmp, &ignored);
		json_decref(rec);
		return err_wrap(e, "create namespace %s", name);
	}
	if (out)
		*out = rec;
	else
		json_decref(rec);
	return 0;
}

/* How many objects of each kind a namespace holds; 0 when it is empty. */
static int ns_holdings(int ns_fd, char *what, size_t len)
{
	static const char *const kinds[] = META_KINDS;
	int total = 0;

	what[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		DIR *d = fs_opendir_at(ns_fd, kinds[i]);
		struct dirent *de;
		int n = 0;
		if (!d)
			continue;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
		if (n) {
			size_t used = strlen(what);
			snprintf(what + used, len - used, "%s%d %s", used ? ", " : "", n, kinds[i]);
			total += n;
		}
	}
	return total;
}

int meta_namespace_delete(struct meta *m, const char *name, struct ember_error *e)
{
	char tmp[128], suffix[13], what[128];
	_cleanup_close_ int fd = ns_open(m, name, e);

	if (fd < 0)
		return fd;
	if (ns_holdings(fd, what, sizeof(what)) > 0)
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ENOTEMPTY,
				    "namespace \"%s\" is not empty: it holds %s", name, what);

	/* Rename first: the namespace disappears atomically, and recovery
	   finishes the removal if we crash in the middle of it. */
	fs_random_suffix(suffix);
	snprintf(tmp, sizeof(tmp), FS_TMP_PREFIX "del-%s", suffix);
	if (renameat(m->dir_fd, name, m->dir_fd, tmp) < 0)
		return err_sys(e, errno, "delete namespace %s", name);
	if (fs_fsync_dir(m->dir_fd, "meta", e) < 0)
		return err_wrap(e, "delete namespace %s", name);
	if (fs_remove_tree(m->dir_fd, tmp, e) < 0)
		return err_wrap(e, "delete namespace %s", name);
	return 0;
}

int meta_namespace_set_labels(struct meta *m, const char *name, json_t *labels, int replace,
			      json_t **out, struct ember_error *e)
{
	const char *key;
	json_t *v, *rec;
	char now[TIMESTAMP_LEN];
	_cleanup_close_ int fd = ns_open(m, name, e);

	if (fd < 0)
		return fd;
	if (meta_labels_check(labels, e) < 0)
		return err_wrap(e, "namespace %s", name);
	if (ns_read(fd, name, &rec, e) < 0)
		return -e->code;

	json_t *cur = json_object_get(rec, "labels");
	json_t *next = replace || !json_is_object(cur) ? json_object() : json_deep_copy(cur);
	if (!next) {
		json_decref(rec);
		return err_set(e, ENOMEM, "out of memory");
	}
	json_object_foreach(labels, key, v) {
		if (json_string_length(v) == 0)
			json_object_del(next, key);
		else
			json_object_set(next, key, v);
	}
	if (meta_labels_check(next, e) < 0) {
		json_decref(next);
		json_decref(rec);
		return err_wrap(e, "namespace %s", name);
	}
	timestamp_now(now);
	json_object_set_new(rec, "labels", next);
	json_object_set_new(rec, "updated_at", json_string(now));
	if (record_write(fd, NAMESPACE_RECORD, rec, e) < 0) {
		json_decref(rec);
		return err_wrap(e, "namespace %s: update labels", name);
	}
	if (out)
		*out = rec;
	else
		json_decref(rec);
	return 0;
}
