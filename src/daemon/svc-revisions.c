/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Revisions (revisions.h). Stage and Remove write records: jobs,
   one at a time per revision id (the loop reserves it). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/holds.h"
#include "daemon/images.h"
#include "daemon/jobs.h"
#include "daemon/revisions.h"
#include "daemon/services.h"
#include "util/cleanup.h"
#include "util/err.h"

struct rev_params {
	const char *namespace, *id, *holder, *reason;
	json_t *document;
	int wait, force, plain_http, pull;
};

#define P_NS { "namespace", API_T_STRING, offsetof(struct rev_params, namespace), 0 }
#define P_ID { "id", API_T_STRING, offsetof(struct rev_params, id), API_MANDATORY }
#define P_END { NULL, 0, 0, 0 }
#define P_REASON { "reason", API_T_STRING, offsetof(struct rev_params, reason), 0 }
#define P_HOLDER { "holder", API_T_STRING, offsetof(struct rev_params, holder), API_MANDATORY }

static int rev_begin(struct api_call *call, json_t *params, const struct api_param *table, struct rev_params *p)
{
	struct ember_error e;

	memset(p, 0, sizeof(*p));
	if (api_params_parse(call, params, table, p) < 0)
		return -1;
	p->namespace = daemon_namespace(p->namespace);
	if (meta_identifier_check("namespace", p->namespace, &e) < 0 ||
	    (p->id && meta_identifier_check("revision", p->id, &e) < 0) ||
	    (p->holder && meta_identifier_check("lock holder", p->holder, &e) < 0) ||
	    (p->reason && strlen(p->reason) > 256 && err_invalid(&e, "reason: at most 256 bytes") < 0)) {
		api_error_from(call, &e);
		return -1;
	}
	return 0;
}

void svc_revisions_list(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_END };
	struct rev_params p;
	struct ember_error e;
	json_t *list;

	if (rev_begin(call, params, table, &p) < 0)
		return;
	if (revisions_list(ctx, p.namespace, &list, &e) < 0)
		api_error_from(call, &e);
	else
		api_reply(call, json_pack("{s:o}", "revisions", list));
}

void svc_revisions_get(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_ID, P_END };
	struct rev_params p;
	struct ember_error e;
	json_t *rec;

	if (rev_begin(call, params, table, &p) < 0)
		return;
	if (revisions_get(ctx, p.namespace, p.id, &rec, &e) < 0)
		api_error_from(call, &e);
	else
		api_reply(call, json_pack("{s:o}", "revision", rec));
}

void svc_revisions_status(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_END };
	struct rev_params p;
	struct ember_error e;
	json_t *j, *locks;

	if (rev_begin(call, params, table, &p) < 0)
		return;
	if (revisions_journal_get(ctx, p.namespace, &j, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	if (revisions_locks_get(ctx, p.namespace, &locks, &e) < 0) {
		json_decref(j);
		api_error_from(call, &e);
		return;
	}
	/* What an agent reads; the records the journal keeps for a roll-back
	   are the daemon's. */
	json_object_del(j, "before");
	json_object_del(j, "name");
	json_object_set_new(j, "locks", locks);
	api_reply(call, json_pack("{s:o}", "status", j));
}

void svc_revisions_apply(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_ID,
		{ "wait", API_T_BOOL, offsetof(struct rev_params, wait), 0 },
		{ "force", API_T_BOOL, offsetof(struct rev_params, force), 0 },
		P_END,
	};
	struct rev_params p;

	if (rev_begin(call, params, table, &p) == 0)
		revisions_apply(ctx, call, p.namespace, p.id, p.wait, p.force);
}

void svc_revisions_commit(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_END };
	struct rev_params p;

	if (rev_begin(call, params, table, &p) == 0)
		revisions_commit(ctx, call, p.namespace);
}

void svc_revisions_rollback(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_REASON, P_END };
	struct rev_params p;

	if (rev_begin(call, params, table, &p) == 0)
		revisions_rollback(ctx, call, p.namespace, p.reason);
}

/* ---- the jobs ---------------------------------------------------------------------------- */

struct rev_job {
	struct daemon *d;
	char *ns, *id;
	json_t *document; /* Stage's; NULL: Remove */
	json_t *rec;
	char key[300]; /* its reservation */
};

static void rev_free(void *data)
{
	struct rev_job *r = data;

	json_object_del(r->d->revisions_busy, r->key);
	free(r->ns);
	free(r->id);
	json_decref(r->document);
	json_decref(r->rec);
	free(r);
}

/* The images a stage pins are held until its record names them: the GC
   policy does not remove one meanwhile. */
static int stage_run(struct job *j, void *data, struct ember_error *e)
{
	struct rev_job *r = data;
	struct hold *h = hold_new(r->d->holds);
	json_t *c;
	size_t i;

	if (!h)
		return err_set(e, ENOMEM, "out of memory");
	json_array_foreach(json_object_get(r->document, "containers"), i, c) {
		_cleanup_free_ char *name = images_normalize(json_string_value(json_object_get(c, "image")) ?: "");
		if (!name || hold_image(h, r->ns, name) < 0) {
			hold_release(h);
			return err_set(e, ENOMEM, "out of memory");
		}
	}
	int rc = revisions_stage(r->d, r->ns, r->document, &r->rec, e);
	hold_release(h);
	if (rc < 0)
		return rc;
	call_job_event(j, r->ns, "/revisions/staged",
		       json_pack("{s:s, s:I}", "id", r->id, "containers",
				 (json_int_t)json_array_size(json_object_get(r->document, "containers"))));
	return 0;
}

static json_t *stage_reply(struct daemon *d, void *data)
{
	struct rev_job *r = data;

	(void)d;
	return json_pack("{s:O}", "revision", r->rec);
}

static int remove_run(struct job *j, void *data, struct ember_error *e)
{
	struct rev_job *r = data;

	if (revisions_remove(r->d, r->ns, r->id, e) < 0)
		return -e->code;
	call_job_event(j, r->ns, "/revisions/remove", json_pack("{s:s}", "id", r->id));
	return 0;
}

static int lock_run(struct job *j, void *data, struct ember_error *e)
{
	struct rev_job *r = data;
	int lock = r->document != NULL;
	const char *reason = json_string_value(json_object_get(r->document, "reason"));

	if (revisions_lock(r->d, r->ns, r->id, reason, lock, e) < 0)
		return -e->code;
	call_job_event(j, r->ns, lock ? "/revisions/lock" : "/revisions/unlock", json_pack("{s:s}", "holder", r->id));
	return 0;
}

static const struct call_job_ops lock_ops = { .kind = "lock", .run = lock_run, .free = rev_free };

static const struct call_job_ops stage_ops = {
	.kind = "stage", .run = stage_run, .reply = stage_reply, .free = rev_free
};
static const struct call_job_ops remove_ops = { .kind = "remove", .run = remove_run, .free = rev_free };

static void rev_start(struct daemon *d, struct api_call *call, const struct call_job_ops *ops, const char *ns,
		      const char *id, json_t *document, const char *space)
{
	char key[300];

	/* Locks and revisions reserve names of their own. */
	snprintf(key, sizeof(key), "%s/%s%s", ns, space, id);
	if (json_object_get(d->revisions_busy, key)) {
		api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL, "revision %s is being staged or removed", id);
		return;
	}
	struct rev_job *r = calloc(1, sizeof(*r));
	int failed = !r;
	if (r) {
		r->d = d;
		snprintf(r->key, sizeof(r->key), "%s", key);
		r->ns = call_job_strdup(ns, &failed);
		r->id = call_job_strdup(id, &failed);
		r->document = document ? json_deep_copy(document) : NULL;
		failed |= (document && !r->document) || json_object_set_new(d->revisions_busy, key, json_true()) < 0;
	}
	if (failed) {
		if (r) {
			json_object_del(d->revisions_busy, key);
			free(r->ns);
			free(r->id);
			json_decref(r->document);
			free(r);
		}
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	call_job_start(d, call, ops, r, r->ns, r->id);
}

/* ---- pulls before a stage ------------------------------------------------------------- */

/* The images a document names that the namespace lacks are pulled first,
   all at once; the stage's job starts when every one is in. */
struct stage_pull {
	struct stage_pulls *sp;
	char what[200]; /* "revision: containers[I] (ID): pull NAME" */
};

struct stage_pulls {
	struct daemon *d;
	struct api_call *call; /* NULL once the client went away */
	char *ns;
	json_t *doc;     /* checked, defaults filled in */
	unsigned pending;
	struct ember_error err; /* the first failure */
	int failed;
};

static void stage_pulls_free(struct stage_pulls *sp)
{
	free(sp->ns);
	json_decref(sp->doc);
	free(sp);
}

static void stage_pulls_gone(struct api_call *call, void *userdata)
{
	struct stage_pulls *sp = userdata;

	(void)call;
	sp->call = NULL;
}

static void stage_pulls_end(struct daemon *d, struct stage_pulls *sp)
{
	if (--sp->pending)
		return;
	if (sp->call) {
		api_call_on_cancel(sp->call, NULL, NULL);
		if (sp->failed)
			api_error_from(sp->call, &sp->err);
		else
			rev_start(d, sp->call, &stage_ops, sp->ns, json_string_value(json_object_get(sp->doc, "id")), sp->doc,
				  "");
	}
	stage_pulls_free(sp);
}

static void stage_pulled(struct daemon *d, json_t *image, const struct ember_error *err, void *userdata)
{
	struct stage_pull *one = userdata;
	struct stage_pulls *sp = one->sp;

	(void)image;
	if (err && !sp->failed) {
		sp->failed = 1;
		sp->err = *err;
		err_wrap(&sp->err, "%s", one->what);
	}
	free(one);
	stage_pulls_end(d, sp);
}

/* 1: pulls started (the call is answered later); 0: none needed; -1: the
   call is answered with the error. */
static int stage_pull_missing(struct daemon *d, struct api_call *call, const char *ns, json_t *doc, int plain_http)
{
	struct stage_pulls *sp = calloc(1, sizeof(*sp));
	struct ember_error e;
	json_t *c;
	size_t i;

	if (!sp || !(sp->ns = strdup(ns))) {
		free(sp);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return -1;
	}
	sp->d = d;
	sp->call = call;
	sp->doc = json_incref(doc);
	sp->pending = 1; /* ours, until every pull is started */
	json_t *asked = json_object();
	json_array_foreach(json_object_get(doc, "containers"), i, c) {
		_cleanup_free_ char *name = images_normalize(json_string_value(json_object_get(c, "image")));
		json_t *img;
		if (!name || !asked) {
			sp->failed = 1;
			err_set(&sp->err, ENOMEM, "out of memory");
			break;
		}
		if (json_object_get(asked, name))
			continue;
		json_object_set_new(asked, name, json_true());
		if (meta_object_get(&d->meta, ns, "images", "image", name, &img, &e) == 0) {
			json_decref(img);
			continue;
		}
		struct stage_pull *one = calloc(1, sizeof(*one));
		if (!one) {
			sp->failed = 1;
			err_set(&sp->err, ENOMEM, "out of memory");
			break;
		}
		one->sp = sp;
		snprintf(one->what, sizeof(one->what), "revision: containers[%zu] (%s): pull %s", i,
			 json_string_value(json_object_get(c, "id")), name);
		sp->pending++;
		if (images_pull(d, ns, name, json_string_value(json_object_get(c, "snapshotter")),
				json_string_value(json_object_get(c, "platform")), plain_http, stage_pulled, one, &e) < 0) {
			sp->pending--;
			err_wrap(&e, "%s", one->what);
			free(one);
			if (!sp->failed) {
				sp->failed = 1;
				sp->err = e;
			}
			break;
		}
	}
	json_decref(asked);
	if (sp->pending == 1 && !sp->failed) {
		stage_pulls_free(sp);
		return 0;
	}
	api_call_on_cancel(call, stage_pulls_gone, sp);
	stage_pulls_end(d, sp);
	return 1;
}

void svc_revisions_stage(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS,
		{ "document", API_T_OBJECT, offsetof(struct rev_params, document), API_MANDATORY },
		{ "pull", API_T_BOOL, offsetof(struct rev_params, pull), 0 },
		{ "plain_http", API_T_BOOL, offsetof(struct rev_params, plain_http), 0 },
		P_END,
	};
	struct rev_params p;
	struct ember_error e;
	json_t *norm;

	if (rev_begin(call, params, table, &p) < 0)
		return;
	/* Checked here too: a bad document is answered at once, in one line. */
	if (revision_doc_check(p.document, &norm, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	if (!p.pull || stage_pull_missing(ctx, call, p.namespace, norm, p.plain_http) == 0)
		rev_start(ctx, call, &stage_ops, p.namespace, json_string_value(json_object_get(norm, "id")), norm, "");
	json_decref(norm);
}

void svc_revisions_remove(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_ID, P_END };
	struct rev_params p;

	if (rev_begin(call, params, table, &p) < 0)
		return;
	rev_start(ctx, call, &remove_ops, p.namespace, p.id, NULL, "");
}

/* An update lock: the holder's name in id, Lock's reason in a document. */
void svc_revisions_lock(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_HOLDER, P_REASON, P_END };
	struct rev_params p;

	if (rev_begin(call, params, table, &p) < 0)
		return;
	json_t *doc = p.reason ? json_pack("{s:s}", "reason", p.reason) : json_object();
	rev_start(ctx, call, &lock_ops, p.namespace, p.holder, doc, "lock");
	json_decref(doc);
}

void svc_revisions_unlock(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_HOLDER, P_END };
	struct rev_params p;

	if (rev_begin(call, params, table, &p) == 0)
		rev_start(ctx, call, &lock_ops, p.namespace, p.holder, NULL, "lock");
}
