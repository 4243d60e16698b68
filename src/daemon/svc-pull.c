/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Images.Pull and .Push: a job per call, with progress streamed to
   the caller; and pulls of the daemon's own (images_pull()), which report
   to a callback. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/holds.h"
#include "daemon/images.h"
#include "daemon/services.h"
#include "daemon/unpacker.h"
#include "daemon/verify.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/timestamp.h"

struct pull_call {
	struct daemon *d;
	struct api_call *call;  /* NULL: one of the daemon's (done reports) */
	images_pull_fn done;
	void *userdata;
	struct pull *pull;  /* one of these two */
	struct push *push;
	char *ns;
	struct hold *hold;      /* every blob the pull stores or finds stored */
	struct snapshotter *sn; /* unpack into it; NULL: fetch only */
	struct unpacker *unpacker;
	struct verify_policy policy; /* a pull's: its keys outlive the pull */
	struct pull_call *next;
};

static void call_cancel(struct pull_call *pc)
{
	pull_cancel(pc->pull);
	if (ENABLED(CONFIG_PUSH))
		push_cancel(pc->push);
}

static void unlink_call(struct pull_call *pc)
{
	for (struct pull_call **p = &pc->d->pulls; *p; p = &(*p)->next)
		if (*p == pc) {
			*p = pc->next;
			break;
		}
	if (pc->unpacker) {
		unpacker_detach(pc->unpacker);
		unpacker_cancel(pc->unpacker);
		unpacker_unref(pc->unpacker);
	}
	/* The record, when there is one, is written: GC may see it now. */
	hold_release(pc->hold);
	verify_policy_done(&pc->policy);
	free(pc->ns);
	free(pc);
}

static void send_progress(struct pull_call *pc, json_t *progress)
{
	if (pc->call && api_call_wants_more(pc->call))
		(void)api_notify(pc->call, progress); /* a vanished client cancels us */
	else
		json_decref(progress);
}

static void on_progress(struct pull *p, json_t *progress, void *userdata)
{
	(void)p;
	send_progress(userdata, progress);
}

static void add_resource(const char *digest, void *userdata)
{
	json_array_append_new(userdata, json_pack("{s:s, s:s}", "type", "content", "id", digest));
}

/* A fetch records no image: as containerd does, a lease keeps its blobs
   for a day, long enough to use them (or to label them gc.root). */
#define FETCH_LEASE_SECONDS (24 * 3600)
static void lease_fetched(struct pull_call *pc, struct pull *p, json_t *image)
{
	char id[32], suffix[13], now[TIMESTAMP_LEN];
	struct ember_error e;

	fs_random_suffix(suffix);
	snprintf(id, sizeof(id), "fetch-%s", suffix);
	timestamp_now(now);
	json_t *res = json_array();
	pull_foreach_digest(p, add_resource, res);
	json_t *rec = json_pack("{s:s, s:{s:s}, s:s, s:I, s:o}", "name", id, "labels", "ember.io/fetched",
				json_string_value(json_object_get(image, "name")), "created_at", now, "expires_at",
				(json_int_t)time(NULL) + FETCH_LEASE_SECONDS, "resources", res);
	if (!rec || meta_object_put(&pc->d->meta, pc->ns, "leases", id, rec, &e) < 0)
		log_warn(&pc->d->log, "fetch %s: lease: %s", json_string_value(json_object_get(image, "name")),
			 rec ? e.message : "out of memory");
	else
		json_object_set_new(image, "lease", json_string(id));
	json_decref(rec);
}

static void on_done(struct pull *p, json_t *image, const struct ember_error *err, void *userdata)
{
	struct pull_call *pc = userdata;
	struct daemon *d = pc->d;

	(void)p;
	if (!pc->call) {
		if (!err)
			log_info(&d->log, "pulled %s (namespace %s)", json_string_value(json_object_get(image, "name")),
				 pc->ns);
		pc->done(d, image, err, pc->userdata);
		json_decref(image);
	} else if (err) {
		log_warn(&d->log, "%s", err->message);
		api_error_from(pc->call, err);
	} else {
		log_info(&d->log, "pulled %s (namespace %s)", json_string_value(json_object_get(image, "name")), pc->ns);
		/* A pull of an image we had already updates it; a fetch records none. */
		int fresh = json_equal(json_object_get(image, "created_at"), json_object_get(image, "updated_at"));
		if (json_object_get(image, "created_at"))
			events_publish(d, pc->ns, fresh ? "/images/create" : "/images/update",
				       json_pack("{s:O}", "name", json_object_get(image, "name")));
		else
			lease_fetched(pc, p, image);
		api_reply(pc->call, json_pack("{s:s, s:o}", "phase", "done", "image", image));
	}
	unlink_call(pc);
}

/* The client went away: stop the pull (what it fetched stays resumable). */
static void on_cancel(struct api_call *call, void *userdata)
{
	struct pull_call *pc = userdata;

	(void)call;
	call_cancel(pc);
	unlink_call(pc);
}

void pulls_shutdown(struct daemon *d)
{
	while (d->pulls) {
		struct pull_call *pc = d->pulls;
		struct api_call *call = pc->call;
		images_pull_fn done = pc->done;
		void *userdata = pc->userdata;
		call_cancel(pc);
		unlink_call(pc);
		struct ember_error e;
		err_set_name(&e, EMBER_ERROR_UNAVAILABLE, ESHUTDOWN,
			     "the ember daemon is shutting down (pull again to resume)");
		if (call)
			api_error_from(call, &e);
		else
			done(d, NULL, &e, userdata);
	}
}

static struct pull_call *call_new(struct daemon *d, struct api_call *call, const char *ns)
{
	struct pull_call *pc = calloc(1, sizeof(*pc));
	if (!pc || !(pc->ns = strdup(ns)) || !(pc->hold = hold_new(d->holds))) {
		if (pc)
			free(pc->ns);
		free(pc);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return NULL;
	}
	pc->d = d;
	pc->call = call;
	return pc;
}

static void call_started(struct pull_call *pc)
{
	pc->next = pc->d->pulls;
	pc->d->pulls = pc;
	if (pc->call)
		api_call_on_cancel(pc->call, on_cancel, pc);
}

static void registry_settings(const struct daemon *d, struct registry_config *rc, const char *user,
			      const char *secret, int plain_http)
{
	rc->certs_dir = d->cfg.certs_dir;
	rc->docker_config = d->cfg.docker_config;
	rc->auths = d->cfg.auths;
	rc->user = user;
	rc->secret = secret;
	rc->plain_http = plain_http;
	rc->stall_timeout_s = d->cfg.stall_timeout_s;
}

static void on_push_progress(struct push *p, json_t *progress, void *userdata)
{
	(void)p;
	send_progress(userdata, progress);
}

static void on_push_done(struct push *p, const struct ember_error *err, void *userdata)
{
	struct pull_call *pc = userdata;

	(void)p;
	if (err) {
		log_warn(&pc->d->log, "%s", err->message);
		api_error_from(pc->call, err);
	} else {
		api_reply(pc->call, json_pack("{s:s}", "phase", "done"));
	}
	unlink_call(pc);
}

/* push_start(), with a signature when a key is given (its secret is wiped
   once the push has signed: push_start() does it at once). */
static int push_signed(struct daemon *d, struct pull_call *pc, struct push_options *o, const char *pem,
		       struct ember_error *e)
{
	struct sig_private_key key;

	if (!pem)
		return push_start(&d->remote, o, &pc->push, e);
	if (!ENABLED(CONFIG_SIGNATURES))
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, ENOTSUP,
				    "push %s: this ember was built without signed images (CONFIG_SIGNATURES)", o->reference);
	if (sig_private_key_parse_pem(pem, strlen(pem), &key, e) < 0)
		return err_wrap(e, "push %s: sign_key", o->reference);
	o->sign_key = &key;
	int r = push_start(&d->remote, o, &pc->push, e);
	sig_private_key_done(&key);
	return r;
}

void svc_images_push(struct api_call *call, json_t *params, void *ctx)
{
	struct p {
		const char *namespace, *reference, *source, *platform, *user, *secret, *sign_key;
		int plain_http;
		int64_t chunk_size;
	} p = { 0 };
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct p, namespace), 0 },
		{ "reference", API_T_STRING, offsetof(struct p, reference), API_MANDATORY },
		{ "source", API_T_STRING, offsetof(struct p, source), 0 },
		{ "platform", API_T_STRING, offsetof(struct p, platform), 0 },
		{ "plain_http", API_T_BOOL, offsetof(struct p, plain_http), 0 },
		{ "user", API_T_STRING, offsetof(struct p, user), 0 },
		{ "secret", API_T_STRING, offsetof(struct p, secret), 0 },
		{ "chunk_size", API_T_INT, offsetof(struct p, chunk_size), 0 },
		{ "sign_key", API_T_STRING, offsetof(struct p, sign_key), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct ember_error e;

	if (!ENABLED(CONFIG_PUSH)) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "this ember was built without push (CONFIG_PUSH)");
		return;
	}
	if (api_params_parse(call, params, table, &p) < 0)
		return;
	if (p.chunk_size < 0) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "chunk_size must not be negative");
		return;
	}
	const char *ns = daemon_namespace(p.namespace);
	struct pull_call *pc = call_new(d, call, ns);
	if (!pc)
		return;
	_cleanup_free_ char *source = p.source ? images_normalize(p.source) : NULL;
	struct push_options o = {
		.reference = p.reference,
		.source = source,
		.ns = ns,
		.platform = p.platform,
		.chunk_size = (uint64_t)p.chunk_size,
		.on_progress = on_push_progress,
		.on_done = on_push_done,
		.userdata = pc,
	};
	registry_settings(d, &o.registry, p.user, p.secret, p.plain_http);
	if (push_signed(d, pc, &o, p.sign_key, &e) < 0) {
		hold_release(pc->hold);
		free(pc->ns);
		free(pc);
		api_error_from(call, &e);
		return;
	}
	call_started(pc);
}

static void on_unpacked(struct unpacker *u, const struct ember_error *err, void *userdata)
{
	struct pull_call *pc = userdata;

	(void)u;
	pull_unpacked(pc->pull, err);
}

static void on_layer(struct unpacker *u, const char *digest, const char *state, void *userdata)
{
	struct pull_call *pc = userdata;

	(void)u;
	pull_blob_note(pc->pull, digest, state);
}

static int unpack_plan(struct pull *p, const struct manifest *m, const struct image_config *c, int *skip,
		       void *userdata, struct ember_error *e)
{
	struct pull_call *pc = userdata;
	struct image_layers l;

	(void)p;
	if (image_layers_from(m, c, &l, e) < 0)
		return -e->code;
	struct unpacker_options o = {
		.sn = pc->sn,
		.ns = pc->ns,
		.l = &l,
		.drop_blobs = pc->d->cfg.drop_blobs,
		.owner = pc->hold,
		.layer = on_layer,
		.done = on_unpacked,
		.userdata = pc,
	};
	int r = unpacker_start(pc->d, &o, skip, &pc->unpacker, e);
	image_layers_done(&l);
	return r;
}

static void unpack_blob(struct pull *p, const char *digest, void *userdata)
{
	struct pull_call *pc = userdata;

	(void)p;
	if (pc->unpacker)
		unpacker_blob(pc->unpacker, digest);
}

static int unpack_wait(struct pull *p, void *userdata)
{
	struct pull_call *pc = userdata;

	(void)p;
	return pc->unpacker && unpacker_busy(pc->unpacker);
}

static const struct pull_unpack_hooks unpack_hooks = { unpack_plan, unpack_blob, unpack_wait };

/* Every blob the pull looks for or stores is held first (holds.h). */
static int pull_hold(struct pull *p, const char *digest, void *userdata)
{
	struct pull_call *pc = userdata;

	(void)p;
	return hold_blob(pc->hold, digest);
}

/* The namespace's signature policy: a "require" one gives the pull its
   keys, and refuses at once what could never verify. */
static int pull_policy(struct daemon *d, struct pull_call *pc, struct pull_options *o, struct ember_error *e)
{
	if (verify_policy_get(d, pc->ns, &pc->policy, e) < 0)
		return -e->code;
	if (!pc->policy.require)
		return 0;
	if (!ENABLED(CONFIG_SIGNATURES))
		return err_set_name(e, EMBER_ERROR_PERMISSION_DENIED, EACCES,
				    "pull %s: namespace %s requires signed images, and this ember was built without "
				    "them (CONFIG_SIGNATURES)", o->reference, pc->ns);
	if (!pc->policy.keys || !pc->policy.keys->n)
		return err_set_name(e, EMBER_ERROR_PERMISSION_DENIED, EACCES,
				    "pull %s: namespace %s requires signed images but trusts no key ([verify] keys, or "
				    "the label " VERIFY_KEY_LABEL "NAME)", o->reference, pc->ns);
	o->verify = pc->policy.keys;
	return 0;
}

struct pull_params {
	const char *namespace, *reference, *platform, *user, *secret, *snapshotter;
	int all_platforms, plain_http, content_only, no_unpack;
	json_t *labels;
};

/* Checked, then started: 0, or -1 with *e filled and nothing started. */
static int pull_begin(struct daemon *d, struct pull_call *pc, const struct pull_params *p, struct ember_error *e)
{
	struct snapshotter *sn = NULL;

	if (ENABLED(CONFIG_IMAGE_UNPACK) && !p->no_unpack && !p->content_only && !(sn = snapshots_get(d, p->snapshotter, e)))
		return -1;
	if (!ENABLED(CONFIG_IMAGE_UNPACK) && !p->no_unpack && !p->content_only && p->snapshotter) {
		err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "this ember was built without unpacking");
		return -1;
	}
	if (meta_identifier_check("namespace", pc->ns, e) < 0 || (p->labels && meta_labels_check(p->labels, e) < 0))
		return -1;
	struct pull_options o = {
		.reference = p->reference,
		.ns = pc->ns,
		.platform = p->platform,
		.all_platforms = p->all_platforms,
		.content_only = p->content_only,
		.labels = p->labels,
		.on_progress = on_progress,
		.on_done = on_done,
		.hold = pull_hold,
		.userdata = pc,
	};
	if (sn) {
		pc->sn = sn;
		o.unpack = &unpack_hooks;
		o.unpack_userdata = pc;
	}
	registry_settings(d, &o.registry, p->user, p->secret, p->plain_http);
	if (pull_policy(d, pc, &o, e) < 0 || pull_start(&d->remote, &o, &pc->pull, e) < 0)
		return -1;
	call_started(pc);
	return 0;
}

static void pull_call_free(struct pull_call *pc)
{
	hold_release(pc->hold);
	verify_policy_done(&pc->policy);
	free(pc->ns);
	free(pc);
}

void svc_images_pull(struct api_call *call, json_t *params, void *ctx)
{
	struct pull_params p = { 0 };
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct pull_params, namespace), 0 },
		{ "reference", API_T_STRING, offsetof(struct pull_params, reference), API_MANDATORY },
		{ "platform", API_T_STRING, offsetof(struct pull_params, platform), 0 },
		{ "all_platforms", API_T_BOOL, offsetof(struct pull_params, all_platforms), 0 },
		{ "content_only", API_T_BOOL, offsetof(struct pull_params, content_only), 0 },
		{ "plain_http", API_T_BOOL, offsetof(struct pull_params, plain_http), 0 },
		{ "user", API_T_STRING, offsetof(struct pull_params, user), 0 },
		{ "secret", API_T_STRING, offsetof(struct pull_params, secret), 0 },
		{ "labels", API_T_STRING_MAP, offsetof(struct pull_params, labels), 0 },
		{ "no_unpack", API_T_BOOL, offsetof(struct pull_params, no_unpack), 0 },
		{ "snapshotter", API_T_STRING, offsetof(struct pull_params, snapshotter), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct ember_error e;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	struct pull_call *pc = call_new(d, call, daemon_namespace(p.namespace));
	if (!pc)
		return;
	if (pull_begin(d, pc, &p, &e) < 0) {
		pull_call_free(pc);
		api_error_from(call, &e);
	}
}

int images_pull(struct daemon *d, const char *ns, const char *reference, const char *snapshotter, const char *platform,
		int plain_http, images_pull_fn done, void *userdata, struct ember_error *e)
{
	struct pull_params p = {
		.reference = reference, .snapshotter = snapshotter, .platform = platform, .plain_http = plain_http,
	};
	struct pull_call *pc = calloc(1, sizeof(*pc));

	if (!pc || !(pc->ns = strdup(ns)) || !(pc->hold = hold_new(d->holds))) {
		if (pc)
			free(pc->ns);
		free(pc);
		return err_set(e, ENOMEM, "out of memory");
	}
	pc->d = d;
	pc->done = done;
	pc->userdata = userdata;
	if (pull_begin(d, pc, &p, e) < 0) {
		pull_call_free(pc);
		return -e->code;
	}
	return 0;
}
