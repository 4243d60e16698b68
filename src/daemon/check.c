/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ember system check [--verify] [--repair]` (io.ember.System.Check), and
 * the same without repair at every start-up: what the records say against
 * what the store holds. Start-up recovery (meta, content, snapshots) has
 * already removed temporary files and half-made trees; this finds what no
 * crash rule should leave but a bad disk, a hand or a bug can:
 *
 *   records that do not parse        repair: moved aside (<file>.damaged)
 *   an image that misses a blob      repair: labelled ember.io/incomplete,
 *                                    which the next pull or import of it
 *                                    clears; the pull fetches what is missing
 *   a blob whose bytes no longer     repair: the blob removed (it is of no
 *   hash to its digest (--verify)    use), its image labelled as above
 *   a container without its snapshot reported (nothing to repair it with)
 *   a snapshot without its parent    reported
 *
 * It never deletes what a record references, except a corrupt blob.
 */
#include "daemon/check.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/images.h"
#include "daemon/jobs.h"
#include "daemon/services.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/err.h"

#define CHECK_INCOMPLETE_LABEL "ember.io/incomplete"

struct check {
	struct daemon *d;
	int repair, verify;
	int startup; /* no call: the findings go to the log */
	json_t *problems;
	unsigned images, containers, snapshots, blobs_verified;
	struct meta_check meta;
	uint64_t t0, ms;
	/* the image being walked */
	const char *ns;
	json_t *img;
	char bad[DIGEST_MAX]; /* its first corrupt blob */
};

static void problem(struct check *c, const char *kind, const char *ns, const char *name, int repaired,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void problem(struct check *c, const char *kind, const char *ns, const char *name, int repaired,
		    const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	json_array_append_new(c->problems, json_pack("{s:s, s:s, s:s, s:s, s:b}", "kind", kind, "namespace", ns,
						     "name", name, "problem", what, "repaired", repaired));
}

static int on_damaged(const char *ns, const char *kind, const char *file, const char *why, int repaired,
		      void *userdata)
{
	if (repaired)
		problem(userdata, "record", ns, file, 1, "%s record does not parse (%s); moved aside to %s.damaged", kind,
			why, file);
	else
		problem(userdata, "record", ns, file, 0, "%s record does not parse (%s)", kind, why);
	return 0;
}

/* ---- images ---------------------------------------------------------------------------- */

static int verify_one(const struct descriptor *desc, int present, void *userdata)
{
	struct check *c = userdata;
	struct ember_error e;

	if (!present || c->bad[0])
		return 0;
	c->blobs_verified++;
	if (content_blob_verify(&c->d->cs, desc->digest, NULL, &e) == -EBADMSG)
		snprintf(c->bad, sizeof(c->bad), "%s", desc->digest);
	return 0;
}

/* Whether the host platform's layers are unpacked in some snapshotter: a
   layer blob may then be gone on purpose ([snapshots] drop_blobs). */
static int unpacked(struct check *c, const struct descriptor *t, const char *digest)
{
	struct image_layers l;
	struct ember_error ignored;
	int found = 0, layer = 0;

	if (!ENABLED(CONFIG_SNAPSHOTS_STORE) || image_layers_load(&c->d->cs, t, NULL, &l, &ignored) < 0)
		return 0;
	for (size_t i = 0; i < l.n; i++)
		layer |= !strcmp(l.layers[i].digest, digest);
	found = layer && images_unpacked_in(c->d, c->ns, &l, NULL) > 0;
	image_layers_done(&l);
	return found;
}

static int mark_incomplete(struct check *c, const char *name, const char *why)
{
	struct ember_error e;
	json_t *rec = NULL;

	/* The record as it is now: a pull or import may have written a new
	   one (with its blobs) since the walk read it. */
	if (meta_object_get(&c->d->meta, c->ns, "images", "image", name, &rec, &e) < 0 ||
	    !json_equal(json_object_get(rec, "target"), json_object_get(c->img, "target"))) {
		json_decref(rec);
		return 0;
	}
	json_t *labels = json_object_get(rec, "labels");

	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(rec, "labels", labels);
	}
	json_object_set_new(labels, CHECK_INCOMPLETE_LABEL, json_string(why));
	int ok = rec && meta_object_put(&c->d->meta, c->ns, "images", name, rec, &e) == 0;
	json_decref(rec);
	return ok;
}

static int check_image(const char *ns, json_t *img, void *userdata)
{
	struct check *c = userdata;
	const char *name = json_string_value(json_object_get(img, "name"));
	struct descriptor t;
	struct ember_error e;
	char missing[DIGEST_MAX] = "", why[200];

	c->images++;
	c->ns = ns;
	c->img = img;
	c->bad[0] = '\0';
	if (descriptor_parse(json_object_get(img, "target"), "target", &t, &e) < 0) {
		problem(c, "image", ns, name, 0, "its target does not parse (%s)", e.message);
		return 0;
	}
	if (image_check_complete(&c->d->cs, &t, missing, &e) < 0) {
		problem(c, "image", ns, name, 0, "%s", e.message);
	} else if (missing[0] && !unpacked(c, &t, missing)) {
		snprintf(why, sizeof(why), "blob %s missing", missing);
		int done = c->repair && !json_object_get(json_object_get(img, "labels"), CHECK_INCOMPLETE_LABEL) &&
			   mark_incomplete(c, name, why);
		problem(c, "image", ns, name, done, "blob %s is missing%s", missing,
			done ? "; labelled " CHECK_INCOMPLETE_LABEL ": pull it again" : "; pull it again");
	}
	if (c->verify && image_walk(&c->d->cs, &t, NULL, IMAGE_WALK_PRESENT, verify_one, c, &e) == 0 && c->bad[0]) {
		snprintf(why, sizeof(why), "blob %s corrupt", c->bad);
		int done = c->repair && content_blob_delete(&c->d->cs, c->bad, &e) == 0 && mark_incomplete(c, name, why);
		problem(c, "image", ns, name, done, "blob %s does not hash to its digest%s", c->bad,
			done ? "; removed, image labelled " CHECK_INCOMPLETE_LABEL ": pull it again" : "");
	}
	descriptor_done(&t);
	return 0;
}

/* ---- containers and snapshots ---------------------------------------------------------- */

static int check_container(const char *ns, json_t *rec, void *userdata)
{
	struct check *c = userdata;
	const char *name = json_string_value(json_object_get(rec, "name"));
	const char *sname = json_string_value(json_object_get(rec, "snapshotter"));
	const char *key = json_string_value(json_object_get(rec, "snapshot_key"));
	struct ember_error e;
	json_t *snap;

	c->containers++;
	if (!ENABLED(CONFIG_SNAPSHOTS_STORE) || !sname || !key)
		return 0;
	struct snapshotter *sn = snapshots_get(c->d, sname, &e);
	if (!sn) {
		problem(c, "container", ns, name, 0, "%s", e.message);
	} else if (snapshot_get(sn, ns, key, &snap, &e) < 0) {
		if (e.code == ENOENT)
			problem(c, "container", ns, name, 0, "its snapshot %s (%s) is missing: it cannot start", key,
				sname);
		else
			problem(c, "container", ns, name, 0, "%s", e.message);
	} else {
		json_decref(snap);
	}
	return 0;
}

struct snap_walk {
	struct check *c;
	struct snapshotter *sn;
};

static int check_snapshot(const char *ns, json_t *rec, void *userdata)
{
	struct snap_walk *w = userdata;
	const char *key = json_string_value(json_object_get(rec, "key"));
	const char *parent = json_string_value(json_object_get(rec, "parent"));
	struct ember_error e;
	json_t *p;

	w->c->snapshots++;
	if (!parent)
		return 0;
	if (snapshot_get(w->sn, ns, parent, &p, &e) == 0)
		json_decref(p);
	else if (e.code == ENOENT)
		problem(w->c, "snapshot", ns, key ? key : "", 0, "its parent %s (%s) is missing", parent,
			snapshot_name(w->sn));
	return 0;
}

/* ---- the job ----------------------------------------------------------------------------- */

static int check_run(struct job *j, void *data, struct ember_error *e)
{
	struct check *c = data;

	(void)j;
	c->meta.fn = on_damaged;
	c->meta.userdata = c;
	if (meta_check(&c->d->meta, c->repair, &c->meta, e) < 0 ||
	    meta_object_walk_all(&c->d->meta, "images", check_image, c, e) < 0 ||
	    meta_object_walk_all(&c->d->meta, "containers", check_container, c, e) < 0)
		return -e->code;
	for (size_t i = 0; ENABLED(CONFIG_SNAPSHOTS_STORE) && i < ARRAY_SIZE(c->d->snapshotters); i++) {
		struct snap_walk w = { c, c->d->snapshotters[i] };
		if (w.sn && snapshot_walk_all(w.sn, check_snapshot, &w, e) < 0)
			return -e->code;
	}
	c->ms = loop_now_ms() - c->t0;
	return 0;
}

static json_t *check_reply(struct daemon *d, void *data)
{
	struct check *c = data;

	(void)d;
	return json_pack("{s:O, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I}", "problems", c->problems, "checked",
			 "namespaces", (json_int_t)c->meta.namespaces, "records", (json_int_t)c->meta.records,
			 "images", (json_int_t)c->images, "containers", (json_int_t)c->containers, "snapshots",
			 (json_int_t)c->snapshots, "blobs_verified", (json_int_t)c->blobs_verified, "elapsed_ms",
			 (json_int_t)c->ms);
}

/* Start-up's check (no call): its findings in the log. */
static void check_done(struct daemon *d, void *data, int result, const struct ember_error *e)
{
	struct check *c = data;
	size_t i;
	json_t *p;

	if (!c->startup)
		return; /* a user's: the reply says it */
	if (result < 0) {
		log_warn(&d->log, "check: %s", e->message);
		return;
	}
	json_array_foreach(c->problems, i, p)
		log_warn(&d->log, "check: %s %s/%s: %s (ember system check --repair)",
			 json_string_value(json_object_get(p, "kind")), json_string_value(json_object_get(p, "namespace")),
			 json_string_value(json_object_get(p, "name")), json_string_value(json_object_get(p, "problem")));
	log_info(&d->log, "check: %u record(s), %u image(s), %u container(s), %u snapshot(s): %zu problem(s), in %llu ms",
		 c->meta.records, c->images, c->containers, c->snapshots, json_array_size(c->problems),
		 (unsigned long long)c->ms);
}

static void check_free(void *data)
{
	struct check *c = data;

	json_decref(c->problems);
	free(c);
}

static const struct call_job_ops check_ops = {
	.kind = "check",
	.run = check_run,
	.reply = check_reply,
	.done = check_done,
	.free = check_free,
};

void system_check(struct daemon *d, struct api_call *call, int verify, int repair)
{
	struct check *c = calloc(1, sizeof(*c));

	if (!c || !(c->problems = json_array())) {
		free(c);
		if (call)
			api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	c->d = d;
	c->verify = verify;
	c->repair = repair;
	c->startup = !call;
	c->t0 = loop_now_ms();
	call_job_start(d, call, &check_ops, c, "", "the store");
}

void svc_system_check(struct api_call *call, json_t *params, void *ctx)
{
	struct p {
		int verify, repair;
	} p = { 0 };
	static const struct api_param table[] = {
		{ "verify", API_T_BOOL, offsetof(struct p, verify), 0 },
		{ "repair", API_T_BOOL, offsetof(struct p, repair), 0 },
		{ NULL, 0, 0, 0 },
	};

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	system_check(ctx, call, p.verify, p.repair);
}
