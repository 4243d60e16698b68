/* SPDX-License-Identifier: Apache-2.0 */
#include "util/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

int record_read(int dirfd, const char *name, json_t **out, struct ember_error *e)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	json_error_t je;
	int r;

	r = fs_read_file(dirfd, name, RECORD_MAX_SIZE, &data, &len, e);
	if (r < 0)
		return r;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return err_set(e, EBADMSG, "%s: damaged record: %s at byte %d", name, je.text, je.position);
	if (!json_is_object(j)) {
		json_decref(j);
		return err_set(e, EBADMSG, "%s: damaged record: not an object", name);
	}
	*out = j;
	return 0;
}

int record_write(int dirfd, const char *name, json_t *record, struct ember_error *e)
{
	_cleanup_free_ char *data = json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS);

	if (!data)
		return err_set(e, ENOMEM, "write %s: out of memory", name);
	return fs_write_atomic(dirfd, name, data, strlen(data), 0644, e);
}

struct keyed {
	const char *key;
	json_t *rec;
};

static int cmp_keyed(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

int record_sort(json_t *records, const char *field)
{
	size_t n = json_array_size(records);

	if (n < 2)
		return 0;
	/* json arrays are plain vectors: sort a copy of the pointers. */
	struct keyed *v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i].rec = json_incref(json_array_get(records, i));
		v[i].key = json_string_value(json_object_get(v[i].rec, field));
		if (!v[i].key)
			v[i].key = "";
	}
	qsort(v, n, sizeof(*v), cmp_keyed);
	json_array_clear(records);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(records, v[i].rec);
	free(v);
	return 0;
}
