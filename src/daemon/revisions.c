/* SPDX-License-Identifier: Apache-2.0 */
/* Revision records (revisions.h): stage, list, get, remove, and the images
   they pin for garbage collection. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/revisions.h"
#include "daemon/verify.h"
#include "metadata/metadata.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/timestamp.h"

static int pin_each(struct daemon *d, const char *ns, json_t *doc, const struct verify_policy *pol, json_t *pins,
		    struct ember_error *e)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(doc, "containers"), i, c) {
		const char *id = json_string_value(json_object_get(c, "id"));
		const char *name = json_string_value(json_object_get(c, "image"));
		json_t *img;
		if (meta_object_get(&d->meta, ns, "images", "image", name, &img, e) < 0) {
			if (e->code == ENOENT)
				return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT,
						    "revision: containers[%zu] (%s): image %s is not in namespace %s: pull or "
						    "import it first",
						    i, id, name, ns);
			return err_wrap(e, "containers[%zu] (%s)", i, id);
		}
		const char *digest = json_string_value(json_object_get(json_object_get(img, "target"), "digest"));
		if (!digest) {
			json_decref(img);
			return err_set(e, EIO, "image %s: its record has no target digest", name);
		}
		if (pol && verify_image_check(pol, ns, img, e) < 0) {
			json_decref(img);
			return err_wrap(e, "revision: containers[%zu] (%s)", i, id);
		}
		int r = json_object_set_new(pins, id, json_pack("{s:s, s:s}", "name", name, "digest", digest));
		json_decref(img);
		if (r < 0)
			return err_set(e, ENOMEM, "out of memory");
	}
	return 0;
}

/* Each container's image, as the namespace has it now: {id: {"name", "digest"}}.
   A namespace that requires signed images pins only images a pull
   verified, by a key it still trusts (verify.h). */
static int pin_images(struct daemon *d, const char *ns, json_t *doc, json_t **out, struct ember_error *e)
{
	_cleanup_(json_decrefp) json_t *pins = json_object();
	struct verify_policy pol;

	if (!pins)
		return err_set(e, ENOMEM, "out of memory");
	if (verify_policy_get(d, ns, &pol, e) < 0)
		return err_wrap(e, "revision");
	int r = pin_each(d, ns, doc, pol.require ? &pol : NULL, pins, e);
	verify_policy_done(&pol);
	if (r < 0)
		return r;
	*out = TAKE_PTR(pins);
	return 0;
}

int revisions_stage(struct daemon *d, const char *ns, json_t *doc, json_t **out, struct ember_error *e)
{
	_cleanup_(json_decrefp) json_t *norm = NULL, *pins = NULL, *old = NULL, *rec = NULL;
	char now[TIMESTAMP_LEN];

	if (revision_doc_check(doc, &norm, e) < 0)
		return -e->code;
	const char *id = json_string_value(json_object_get(norm, "id"));
	if (meta_object_get(&d->meta, ns, "revisions", "revision", id, &old, e) == 0) {
		if (!json_equal(json_object_get(old, "document"), norm))
			return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST,
					    "revision %s exists with another document: stage it under a new id", id);
		*out = TAKE_PTR(old);
		return 0;
	} else if (e->code != ENOENT) {
		return -e->code;
	}
	if (pin_images(d, ns, norm, &pins, e) < 0)
		return -e->code;
	timestamp_now(now);
	rec = json_pack("{s:s, s:s, s:O, s:O, s:s, s:s}", "name", id, "state", "staged", "document", norm, "images",
			pins, "created_at", now, "updated_at", now);
	if (!rec)
		return err_set(e, ENOMEM, "out of memory");
	if (meta_object_put(&d->meta, ns, "revisions", id, rec, e) < 0)
		return err_wrap(e, "stage revision %s", id);
	*out = TAKE_PTR(rec);
	return 0;
}

int revisions_list(struct daemon *d, const char *ns, json_t **out, struct ember_error *e)
{
	return meta_object_list(&d->meta, ns, "revisions", out, e);
}

int revisions_get(struct daemon *d, const char *ns, const char *id, json_t **out, struct ember_error *e)
{
	return meta_object_get(&d->meta, ns, "revisions", "revision", id, out, e);
}

int revisions_remove(struct daemon *d, const char *ns, const char *id, struct ember_error *e)
{
	json_t *rec;

	if (revisions_get(d, ns, id, &rec, e) < 0)
		return -e->code;
	const char *state = json_string_value(json_object_get(rec, "state")) ?: "?";
	int staged = !strcmp(state, "staged");
	if (!staged)
		err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY, "revision %s is %s: only a staged one goes", id,
			     state);
	json_decref(rec);
	if (!staged)
		return -e->code;
	return meta_object_delete(&d->meta, ns, "revisions", "revision", id, e);
}

struct walk {
	revision_image_fn fn;
	void *userdata;
};

static int walk_one(const char *ns, json_t *rec, void *userdata)
{
	struct walk *w = userdata;
	const char *cid;
	json_t *pin;

	json_object_foreach(json_object_get(rec, "images"), cid, pin) {
		const char *name = json_string_value(json_object_get(pin, "name"));
		const char *digest = json_string_value(json_object_get(pin, "digest"));
		int r = name && digest ? w->fn(ns, json_string_value(json_object_get(rec, "name")) ?: "?", name, digest,
					       w->userdata)
				       : 0;
		if (r)
			return r;
	}
	return 0;
}

int revisions_walk_images(struct meta *m, revision_image_fn fn, void *userdata, struct ember_error *e)
{
	struct walk w = { fn, userdata };

	return meta_object_walk_all(m, "revisions", walk_one, &w, e);
}
