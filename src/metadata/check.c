/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Records that do not parse, for `ember system check`: listings skip them
 * (meta_object_list()), so nothing else would say they are there. Repair
 * moves one aside (<file>.damaged), never deletes it: an operator may want
 * what is left of it.
 */
#include "metadata/metadata.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/record.h"

#define RECORD_SUFFIX ".json"

static int is_record(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && n > strlen(RECORD_SUFFIX) && !strcmp(name + n - strlen(RECORD_SUFFIX), RECORD_SUFFIX);
}

/* One record file: parses, and (objects) names itself. */
static int check_file(int dir, const char *ns, const char *kind, const char *file, int repair,
		      struct meta_check *c, struct ember_error *e)
{
	json_t *rec = NULL;
	struct ember_error why;
	char aside[META_FILE_NAME_MAX + 16];

	c->records++;
	if (record_read(dir, file, &rec, &why) == 0) {
		int ok = !kind || json_is_string(json_object_get(rec, "name"));
		json_decref(rec);
		if (ok)
			return 0;
		err_set(&why, EINVAL, "%s: no \"name\"", file);
	}
	int repaired = 0;
	if (repair) {
		snprintf(aside, sizeof(aside), "%s.damaged", file);
		repaired = renameat(dir, file, dir, aside) == 0 && fs_fsync_dir(dir, "records", e) == 0;
	}
	return c->fn(ns, kind ? kind : "namespace", file, why.message, repaired, c->userdata);
}

static int check_kind(int ns_fd, const char *ns, const char *kind, int repair, struct meta_check *c,
		      struct ember_error *e)
{
	_cleanup_close_ int fd = openat(ns_fd, kind, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(e, errno, "check records: %s/%s", ns, kind);
	char **names;
	size_t n;
	if (fs_list_names(fd, &names, &n, e) < 0)
		return err_wrap(e, "check records: %s/%s", ns, kind);
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++)
		if (is_record(names[i]))
			r = check_file(fd, ns, kind, names[i], repair, c, e);
	fs_names_free(names, n);
	return r;
}

int meta_check(struct meta *m, int repair, struct meta_check *c, struct ember_error *e)
{
	static const char *const kinds[] = META_KINDS, *const aux[] = META_AUX_KINDS;
	char **nss;
	size_t n;

	if (fs_list_names(m->dir_fd, &nss, &n, e) < 0)
		return err_wrap(e, "check records");
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct ember_error ignored;
		if (nss[i][0] == '.' || meta_identifier_check("namespace", nss[i], &ignored) < 0)
			continue; /* a namespace being made or deleted: meta_recover()'s */
		_cleanup_close_ int ns_fd = openat(m->dir_fd, nss[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (ns_fd < 0)
			continue;
		c->namespaces++;
		r = check_file(ns_fd, nss[i], NULL, "namespace.json", repair, c, e);
		for (size_t k = 0; r == 0 && k < ARRAY_SIZE(kinds); k++)
			r = check_kind(ns_fd, nss[i], kinds[k], repair, c, e);
		for (size_t k = 0; r == 0 && k < ARRAY_SIZE(aux); k++)
			r = check_kind(ns_fd, nss[i], aux[k], repair, c, e);
	}
	fs_names_free(nss, n);
	return r;
}
