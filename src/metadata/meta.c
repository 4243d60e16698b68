/* SPDX-License-Identifier: Apache-2.0 */
#include "metadata/metadata.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

int meta_open(struct meta *m, int root_fd, struct ember_error *e)
{
	m->dir_fd = fs_open_dir(root_fd, "meta", 1, 0700, e);
	return m->dir_fd < 0 ? m->dir_fd : 0;
}

void meta_close(struct meta *m)
{
	close_keep_errno(m->dir_fd);
	m->dir_fd = -1;
}

int meta_recover(struct meta *m, struct meta_recovery *stats, struct ember_error *e)
{
	static const char *const kinds[] = META_KINDS, *const aux[] = META_AUX_KINDS;
	int r;

	memset(stats, 0, sizeof(*stats));
	/* Half-created and half-deleted namespaces carry the temporary prefix. */
	r = fs_remove_tmp(m->dir_fd, e);
	if (r < 0)
		return err_wrap(e, "recover meta");
	stats->removed_tmp += (unsigned)r;

	DIR *d = fs_opendir_at(m->dir_fd, ".");
	if (!d)
		return err_sys(e, errno, "recover meta: read directory");
	struct dirent *de;
	while (r >= 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_close_ int ns = openat(m->dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (ns < 0)
			continue;
		r = fs_remove_tmp(ns, e);
		if (r >= 0)
			stats->removed_tmp += (unsigned)r;
		for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(kinds) + ARRAY_SIZE(aux); i++) {
			const char *kind = i < ARRAY_SIZE(kinds) ? kinds[i] : aux[i - ARRAY_SIZE(kinds)];
			_cleanup_close_ int kfd = openat(ns, kind, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (kfd < 0)
				continue;
			r = fs_remove_tmp(kfd, e);
			if (r >= 0)
				stats->removed_tmp += (unsigned)r;
		}
		if (r < 0)
			err_wrap(e, "recover namespace %s", de->d_name);
	}
	closedir(d);
	return r < 0 ? r : 0;
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int meta_identifier_check(const char *kind, const char *name, struct ember_error *e)
{
	size_t n = strlen(name);
	char q[ERR_QUOTE_MAX];

	if (n == 0)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "%s name is empty", kind);
	if (n > 76)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "%s name \"%s\" is longer than 76 characters",
				    kind, err_quote(name, q));
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (is_alnum(c))
			continue;
		if ((c == '.' || c == '_' || c == '-') && i > 0 && i + 1 < n && is_alnum(name[i + 1]))
			continue;
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
				    "%s name \"%s\" is invalid: use letters and digits, joined by single . _ or -",
				    kind, err_quote(name, q));
	}
	return 0;
}

int meta_labels_check(json_t *labels, struct ember_error *e)
{
	const char *key;
	json_t *v;
	size_t total = 0;
	char q[ERR_QUOTE_MAX];

	if (!json_is_object(labels))
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "labels must be an object");
	json_object_foreach(labels, key, v) {
		size_t klen = strlen(key);
		if (!json_is_string(v))
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
					    "label \"%s\": value must be a string", err_quote(key, q));
		if (klen == 0 || klen > 1024)
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
					    "label key must be 1 to 1024 bytes");
		for (size_t i = 0; i < klen; i++)
			if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f || key[i] == '=')
				return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
						    "label key \"%s\" holds '=' or a control character", err_quote(key, q));
		size_t vlen = json_string_length(v);
		if (klen + vlen > 4096)
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
					    "label \"%s\": key and value are over 4096 bytes", err_quote(key, q));
		total += klen + vlen;
	}
	if (total > 65536)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
				    "labels are over 64 KiB in all");
	return 0;
}

long meta_count(struct meta *m, const char *kind)
{
	long count = 0;
	DIR *d = fs_opendir_at(m->dir_fd, ".");
	struct dirent *de;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_close_ int ns = openat(m->dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (ns < 0)
			continue;
		DIR *k = fs_opendir_at(ns, kind);
		if (!k)
			continue;
		struct dirent *ke;
		while ((ke = readdir(k)))
			if (ke->d_name[0] != '.')
				count++;
		closedir(k);
	}
	closedir(d);
	return count;
}
