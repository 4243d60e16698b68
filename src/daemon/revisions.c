/* SPDX-License-Identifier: Apache-2.0 */
/* Revision records (revisions.h): stage, list, get, remove, and the images
   they pin for garbage collection. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/containers.h"
#include "daemon/daemon.h"
#include "daemon/images.h"
#include "daemon/revisions.h"
#include "daemon/tasks.h"
#include "snapshot/snapshot.h"
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

/* An image config's Healthcheck as an exec probe. */
static int healthcheck_probe(json_t *config, const char *what, json_t **out, struct ember_error *e)
{
	json_t *hc = json_object_get(config, "Healthcheck");
	json_t *test = json_object_get(hc, "Test");
	const char *kind = json_string_value(json_array_get(test, 0));
	_cleanup_(json_decrefp) json_t *cmd = NULL;

	if (!kind || !strcmp(kind, "NONE"))
		return err_invalid(e, "%s: health: healthcheck: the image config has no Healthcheck", what);
	if (!strcmp(kind, "CMD-SHELL") && json_is_string(json_array_get(test, 1)))
		cmd = json_pack("[s, s, O]", "/bin/sh", "-c", json_array_get(test, 1));
	else if (!strcmp(kind, "CMD") && json_array_size(test) > 1 && (cmd = json_array()))
		for (size_t i = 1; i < json_array_size(test); i++)
			json_array_append(cmd, json_array_get(test, i));
	if (!cmd)
		return err_invalid(e, "%s: health: healthcheck: the image's Test \"%s\" is not CMD or CMD-SHELL", what,
				   kind);
	/* Durations in nanoseconds; whole seconds here, at least one. */
	json_int_t iv = json_integer_value(json_object_get(hc, "Interval")) / 1000000000;
	json_int_t to = json_integer_value(json_object_get(hc, "Timeout")) / 1000000000;
	json_int_t re = json_integer_value(json_object_get(hc, "Retries"));
	*out = json_pack("{s:{s:O, s:I, s:I, s:I}}", "exec", "cmd", cmd, "interval", iv > 0 ? iv : 5, "timeout",
			 to > 0 ? to : 5, "retries", re > 0 ? re : 3);
	return *out ? 0 : err_set(e, ENOMEM, "out of memory");
}

/* What makes a container the same in two revisions: its document entry
   but its health, and the image's digest. */
json_t *revision_definition(json_t *c, const char *digest)
{
	json_t *def = json_deep_copy(c);

	if (def) {
		json_object_del(def, "id");
		json_object_del(def, "health");
		json_object_set_new(def, "digest", json_string(digest));
	}
	return def;
}

static void unprepare_all(struct daemon *d, const char *ns, json_t *containers)
{
	const char *cid;
	json_t *rec;

	json_object_foreach(containers, cid, rec)
		container_unprepare(d, ns, rec);
}

/* Each container's record, its snapshot prepared under ID@REVISION, and
   its health condition resolved. */
static int prepare_containers(struct daemon *d, const char *ns, json_t *doc, json_t *pins, json_t *recs, json_t *health,
			      struct ember_error *e)
{
	const char *rev = json_string_value(json_object_get(doc, "id"));
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(doc, "containers"), i, c) {
		const char *id = json_string_value(json_object_get(c, "id"));
		char key[200], what[160];
		struct restart rp;
		json_t *rec = NULL, *config = NULL, *h = json_object_get(c, "health");
		struct container_create p = {
			.namespace = ns,
			.id = id,
			.image = json_string_value(json_object_get(c, "image")),
			.snapshotter = json_string_value(json_object_get(c, "snapshotter")),
			.platform = json_string_value(json_object_get(c, "platform")),
			.restart = json_string_value(json_object_get(c, "restart")),
			.options = json_object_get(c, "options"),
			.labels = json_object_get(c, "labels"),
		};

		snprintf(what, sizeof(what), "revision: containers[%zu] (%s)", i, id);
		snprintf(key, sizeof(key), "%s@%s", id, rev);
		if (restart_parse(p.restart, &rp, e) < 0 || container_prepare(d, &p, &rp, key, rev, &rec, e) < 0)
			return err_wrap(e, "%s", what);
		const char *digest = json_string_value(json_object_get(json_object_get(pins, id), "digest"));
		json_object_set_new(rec, "revision", json_string(rev));
		json_object_set_new(rec, "definition", revision_definition(c, digest));
		if (json_object_set_new(recs, id, rec) < 0)
			return err_set(e, ENOMEM, "out of memory");
		if (json_is_true(json_object_get(h, "healthcheck"))) {
			char top[DIGEST_MAX];
			struct snapshotter *sn = snapshots_get(d, p.snapshotter, e);
			_cleanup_free_ char *image = images_normalize(p.image);
			if (!image)
				return err_set(e, ENOMEM, "out of memory");
			if (!sn || image_unpacked_top(d, sn, ns, image, p.platform, top, &config, e) < 0)
				return err_wrap(e, "%s", what);
			int r = healthcheck_probe(config, what, &h, e);
			json_decref(config);
			if (r < 0)
				return r;
			json_object_set_new(health, id, h);
		} else {
			json_object_set(health, id, h);
		}
	}
	return 0;
}

int revisions_stage(struct daemon *d, const char *ns, json_t *doc, json_t **out, struct ember_error *e)
{
	_cleanup_(json_decrefp) json_t *norm = NULL, *pins = NULL, *old = NULL, *rec = NULL;
	_cleanup_(json_decrefp) json_t *recs = json_object(), *health = json_object();
	char now[TIMESTAMP_LEN];

	if (!recs || !health)
		return err_set(e, ENOMEM, "out of memory");
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
	if (prepare_containers(d, ns, norm, pins, recs, health, e) < 0) {
		unprepare_all(d, ns, recs);
		return -e->code;
	}
	timestamp_now(now);
	rec = json_pack("{s:s, s:s, s:O, s:O, s:O, s:O, s:s, s:s}", "name", id, "state", "staged", "document", norm,
			"images", pins, "containers", recs, "health", health, "created_at", now, "updated_at", now);
	if (!rec)
		return err_set(e, ENOMEM, "out of memory");
	/* The snapshots before the record: a crash between leaves snapshots of
	   no revision, which start-up removes. */
	if (meta_object_put(&d->meta, ns, "revisions", id, rec, e) < 0) {
		unprepare_all(d, ns, recs);
		return err_wrap(e, "stage revision %s", id);
	}
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

/* Whether a container record names the snapshot key. */
static int key_in_use(struct daemon *d, const char *ns, const char *key)
{
	_cleanup_(json_decrefp) json_t *list = NULL;
	struct ember_error e;
	json_t *c;
	size_t i;

	if (meta_object_list(&d->meta, ns, "containers", &list, &e) < 0)
		return 1; /* unknown: keep it */
	json_array_foreach(list, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "snapshot_key")) ?: "", key))
			return 1;
	return 0;
}

void revisions_unprepare_unused(struct daemon *d, const char *ns, json_t *containers)
{
	const char *cid;
	json_t *rec;

	json_object_foreach(containers, cid, rec) {
		const char *key = json_string_value(json_object_get(rec, "snapshot_key"));
		if (key && !key_in_use(d, ns, key))
			container_unprepare(d, ns, rec);
	}
}

int revisions_remove(struct daemon *d, const char *ns, const char *id, struct ember_error *e)
{
	_cleanup_(json_decrefp) json_t *rec = NULL, *j = NULL;

	if (revisions_get(d, ns, id, &rec, e) < 0 || revisions_journal_get(d, ns, &j, e) < 0)
		return -e->code;
	const char *state = json_string_value(json_object_get(rec, "state")) ?: "?";
	if (!strcmp(json_string_value(json_object_get(j, "committed")) ?: "", id) ||
	    !strcmp(json_string_value(json_object_get(j, "pending")) ?: "", id))
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
				    "revision %s is %s: the committed one and one being applied stay", id, state);
	/* The record first: a crash after it leaves snapshots of no revision,
	   which start-up removes. */
	if (meta_object_delete(&d->meta, ns, "revisions", "revision", id, e) < 0)
		return -e->code;
	revisions_unprepare_unused(d, ns, json_object_get(rec, "containers"));
	return 0;
}

int revisions_set_state(struct daemon *d, const char *ns, const char *id, const char *state, const char *reason,
			struct ember_error *e)
{
	_cleanup_(json_decrefp) json_t *rec = NULL;
	char now[TIMESTAMP_LEN];

	if (revisions_get(d, ns, id, &rec, e) < 0)
		return -e->code;
	timestamp_now(now);
	json_object_set_new(rec, "state", json_string(state));
	json_object_set_new(rec, "updated_at", json_string(now));
	if (reason)
		json_object_set_new(rec, "reason", json_string(reason));
	else
		json_object_del(rec, "reason");
	return meta_object_put(&d->meta, ns, "revisions", id, rec, e);
}

#define JOURNAL "revisions"

int revisions_journal_get(struct daemon *d, const char *ns, json_t **out, struct ember_error *e)
{
	if (meta_object_get(&d->meta, ns, "journal", "journal", JOURNAL, out, e) == 0)
		return 0;
	if (e->code != ENOENT)
		return -e->code;
	*out = json_pack("{s:s, s:n, s:s, s:{}, s:[]}", "name", JOURNAL, "committed", "phase", "idle", "locks",
			 "history");
	return *out ? 0 : err_set(e, ENOMEM, "out of memory");
}

int revisions_locks_get(struct daemon *d, const char *ns, json_t **out, struct ember_error *e)
{
	_cleanup_(json_decrefp) json_t *rec = NULL;

	if (meta_object_get(&d->meta, ns, "journal", "journal", "locks", &rec, e) < 0 && e->code != ENOENT)
		return -e->code;
	*out = json_incref(json_object_get(rec, "locks"));
	if (!*out)
		*out = json_object();
	return *out ? 0 : err_set(e, ENOMEM, "out of memory");
}

int revisions_lock(struct daemon *d, const char *ns, const char *holder, const char *reason, int lock,
		   struct ember_error *e)
{
	_cleanup_(json_decrefp) json_t *locks = NULL;
	char now[TIMESTAMP_LEN];

	if (revisions_locks_get(d, ns, &locks, e) < 0)
		return -e->code;
	if (!lock) {
		if (!json_object_get(locks, holder))
			return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "namespace %s has no update lock of %s", ns,
					    holder);
		json_object_del(locks, holder);
	} else {
		timestamp_now(now);
		json_t *l = json_pack("{s:s}", "at", now);
		if (l && reason)
			json_object_set_new(l, "reason", json_string(reason));
		if (!l || json_object_set_new(locks, holder, l) < 0)
			return err_set(e, ENOMEM, "out of memory");
	}
	if (!json_object_size(locks))
		return meta_object_delete(&d->meta, ns, "journal", "journal", "locks", e) < 0 && e->code != ENOENT
			       ? -e->code
			       : 0;
	_cleanup_(json_decrefp) json_t *rec = json_pack("{s:s, s:O}", "name", "locks", "locks", locks);
	if (!rec)
		return err_set(e, ENOMEM, "out of memory");
	return meta_object_put(&d->meta, ns, "journal", "locks", rec, e);
}

int revisions_journal_put(struct daemon *d, const char *ns, json_t *journal, struct ember_error *e)
{
	return meta_object_put(&d->meta, ns, "journal", JOURNAL, journal, e);
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
