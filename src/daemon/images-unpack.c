/* SPDX-License-Identifier: Apache-2.0 */
/* Images.Unpack: an image already in the store (imported with --no-unpack, or pulled into another snapshotter) unpacked as a job. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/holds.h"
#include "daemon/images.h"
#include "daemon/jobs.h"
#include "daemon/unpacker.h"
#include "snapshot/snapshot.h"
#include "util/err.h"

struct unpack {
	struct daemon *d;
	struct job *j;
	char *ns, *name;
	struct descriptor t;
	struct platform want;
	struct snapshotter *sn;
	struct hold *hold;
	struct image_layers l;
	json_t *status; /* digest -> state, for progress */
};

static void unpack_free(void *data)
{
	struct unpack *u = data;

	hold_release(u->hold);
	image_layers_done(&u->l);
	descriptor_done(&u->t);
	json_decref(u->status);
	free(u->ns);
	free(u->name);
	free(u);
}

static void post(struct unpack *u)
{
	json_t *blobs = json_array();

	for (size_t i = 0; i < u->l.n; i++)
		json_array_append_new(blobs, json_pack("{s:s, s:I, s:I, s:s}", "digest", u->l.layers[i].digest, "size",
						       (json_int_t)u->l.layers[i].size, "offset",
						       (json_int_t)u->l.layers[i].size, "status",
						       json_string_value(json_object_get(u->status, u->l.layers[i].digest)) ?: "waiting"));
	call_job_progress(u->j, json_pack("{s:s, s:s, s:o}", "reference", u->name, "phase", "unpacking", "blobs", blobs));
}

static void on_layer(struct unpacker *up, const char *digest, const char *state, void *userdata)
{
	struct unpack *u = userdata;

	(void)up;
	json_object_set_new(u->status, digest, json_string(state));
	post(u);
}

static int unpack_run(struct job *j, void *data, struct ember_error *e)
{
	struct unpack *u = data;
	struct unpacker *up;

	u->j = j;
	if (image_layers_load(&u->d->cs, &u->t, &u->want, &u->l, e) < 0)
		return err_wrap(e, "unpack %s", u->name);
	/* Every layer's blob must be there: held first, then looked for. */
	for (size_t i = 0; i < u->l.n; i++) {
		if (hold_blob(u->hold, u->l.layers[i].digest) < 0)
			return err_set(e, ENOMEM, "out of memory");
	}
	struct unpacker_options o = {
		.sn = u->sn,
		.ns = u->ns,
		.l = &u->l,
		.drop_blobs = u->d->cfg.drop_blobs,
		.owner = u->hold,
		.thread_layer = on_layer,
		.userdata = u,
	};
	if (unpacker_start(u->d, &o, NULL, &up, e) < 0)
		return err_wrap(e, "unpack %s", u->name);
	/* Layers up to the highest one committed (or shared by the start)
	   need no blob. */
	size_t done = 0;
	for (size_t i = u->l.n; i-- > 0 && !done;) {
		json_t *rec;
		struct ember_error ignored;
		if (snapshot_get(u->sn, u->ns, u->l.chain[i], &rec, &ignored) == 0) {
			if (!strcmp(json_string_value(json_object_get(rec, "kind")) ?: "", "committed"))
				done = i + 1;
			json_decref(rec);
		}
	}
	int r = 0;
	for (size_t i = 0; i < u->l.n; i++) {
		int64_t size;
		if (content_blob_stat(&u->d->cs, u->l.layers[i].digest, &size, e) == 0) {
			unpacker_blob(up, u->l.layers[i].digest);
		} else if (i >= done && r == 0) {
			r = err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ENOENT,
					 "unpack %s: layer %zu's blob %s is not in the store (its blobs were dropped after "
					 "an unpack into another snapshotter: pull the image again)",
					 u->name, i, u->l.layers[i].digest);
		}
	}
	post(u);
	if (r < 0)
		unpacker_cancel(up);
	struct ember_error ue;
	int ur = unpacker_wait(up, &ue);
	unpacker_unref(up);
	if (r == 0 && ur < 0) {
		*e = ue;
		r = err_wrap(e, "unpack %s", u->name);
	}
	return r;
}

static json_t *unpack_reply(struct daemon *d, void *data)
{
	struct unpack *u = data;

	(void)d;
	return json_pack("{s:s, s:s, s:s}", "name", u->name, "snapshotter", snapshot_name(u->sn), "key",
			 u->l.n ? u->l.chain[u->l.n - 1] : "");
}

static const struct call_job_ops unpack_ops = {
	.kind = "unpack",
	.run = unpack_run,
	.reply = unpack_reply,
	.free = unpack_free,
};

void images_unpack(struct daemon *d, struct api_call *call, const char *ns, const char *name,
		   const char *platform, struct snapshotter *sn)
{
	struct unpack *u = calloc(1, sizeof(*u));
	struct ember_error e;

	if (!u || !(u->ns = strdup(ns)) || !(u->name = images_normalize(name)) || !(u->hold = hold_new(d->holds)) ||
	    !(u->status = json_object())) {
		if (u)
			unpack_free(u);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	u->d = d;
	u->sn = sn;
	int r = 0;
	if (platform)
		r = platform_parse(platform, &u->want, &e);
	else
		platform_default(&u->want);
	if (r == 0)
		r = images_target(d, ns, u->name, &u->t, &e);
	if (r < 0) {
		unpack_free(u);
		api_error_from(call, &e);
		return;
	}
	call_job_start(d, call, &unpack_ops, u, ns, u->name);
}
