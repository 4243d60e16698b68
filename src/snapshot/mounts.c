/* SPDX-License-Identifier: Apache-2.0 */
/* How each kind of snapshot is mounted: overlay, and whole trees (native, btrfs). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "snapshot/snapshot-internal.h"
#include "util/err.h"

/* The kernel takes at most a page of mount options. */
#define MOUNT_DATA_MAX 4000

json_t *snapshot_bind_mount(struct snapshotter *sn, const char *id, int readonly)
{
	char *src;

	if (asprintf(&src, "%s/trees/%s/fs", sn->path, id) < 0)
		return NULL;
	json_t *m = json_pack("{s:s, s:s, s:[s, s]}", "type", "bind", "source", src, "options",
			      readonly ? "ro" : "rw", "rbind");
	free(src);
	return m;
}

static int one(json_t *m, json_t **out, struct ember_error *e)
{
	if (!m || !(*out = json_pack("[o]", m)))
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

#ifdef CONFIG_SNAPSHOT_OVERLAY
/* Active: the snapshot's tree is the upper directory, its parents the
   lower ones (nearest first). A view or a committed snapshot: the lower
   directories alone, read-only. One tree alone is a bind mount. */
static int overlay_mounts(struct snapshotter *sn, int kind, json_t *chain, json_t **out, struct ember_error *e)
{
	size_t n = json_array_size(chain);
	size_t first_lower = kind == SNAPSHOT_ACTIVE ? 1 : kind == SNAPSHOT_VIEW ? 1 : 0;
	const char *self = json_string_value(json_array_get(chain, 0));

	if (n - first_lower == 0)
		return one(snapshot_bind_mount(sn, self, kind != SNAPSHOT_ACTIVE), out, e);
	if (kind != SNAPSHOT_ACTIVE && n - first_lower == 1)
		return one(snapshot_bind_mount(sn, json_string_value(json_array_get(chain, first_lower)), 1), out, e);

	size_t cap = MOUNT_DATA_MAX + 64, len = 0;
	char *lower = malloc(cap);
	if (!lower)
		return err_set(e, ENOMEM, "out of memory");
	len = (size_t)snprintf(lower, cap, "lowerdir=");
	for (size_t i = first_lower; i < n && len < cap; i++)
		len += (size_t)snprintf(lower + len, cap - len, "%s%s/trees/%s/fs", i > first_lower ? ":" : "", sn->path,
					json_string_value(json_array_get(chain, i)));
	if (len >= cap) {
		free(lower);
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, E2BIG,
				    "%zu layers do not fit in one overlay mount's options", n - first_lower);
	}
	json_t *opts = json_array();
	json_array_append_new(opts, json_string("index=off"));
	if (kind == SNAPSHOT_ACTIVE) {
		char *upper = NULL, *work = NULL;
		if (asprintf(&upper, "upperdir=%s/trees/%s/fs", sn->path, self) < 0)
			upper = NULL;
		if (asprintf(&work, "workdir=%s/trees/%s/work", sn->path, self) < 0)
			work = NULL;
		if (upper && work) {
			json_array_append_new(opts, json_string(work));
			json_array_append_new(opts, json_string(upper));
		}
		free(upper);
		free(work);
	} else {
		json_array_append_new(opts, json_string("ro"));
	}
	json_array_append_new(opts, json_string(lower));
	free(lower);
	size_t total = 0, k;
	json_t *o;
	json_array_foreach(opts, k, o)
		total += strlen(json_string_value(o)) + 1;
	if (total > MOUNT_DATA_MAX) {
		json_decref(opts);
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, E2BIG,
				    "%zu layers do not fit in one overlay mount's options (%zu bytes, the kernel takes %d)",
				    n - first_lower, total, MOUNT_DATA_MAX);
	}
	json_t *m = json_pack("{s:s, s:s, s:o}", "type", "overlay", "source", "overlay", "options", opts);
	return one(m, out, e);
}

const struct snapshot_backend snapshot_overlay = {
	.name = "overlay",
	.whiteouts = UNPACK_WHITEOUT_OVERLAY,
	.work_dir = 1,
	.mounts = overlay_mounts,
};
#endif

/* Every tree is whole: bind its own, or for a view its parent's. */
int snapshot_whole_mounts(struct snapshotter *sn, int kind, json_t *chain, json_t **out, struct ember_error *e)
{
	const char *id = json_string_value(json_array_get(chain, 0));

	if (kind == SNAPSHOT_VIEW && json_array_size(chain) > 1)
		id = json_string_value(json_array_get(chain, 1));
	return one(snapshot_bind_mount(sn, id, kind != SNAPSHOT_ACTIVE), out, e);
}

#ifdef CONFIG_SNAPSHOT_NATIVE
const struct snapshot_backend snapshot_native = {
	.name = "native",
	.whiteouts = UNPACK_WHITEOUT_DELETE,
	.copy_parent = 1,
	.mounts = snapshot_whole_mounts,
};
#endif
