/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Containers: container records, their specs and snapshots. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/services.h"
#include "daemon/images.h"
#include "snapshot/snapshot.h"
#include "daemon/tasks.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/timestamp.h"

struct create_params {
	const char *namespace, *id, *image, *snapshotter, *platform, *rootfs, *restart;
	json_t *spec, *options, *labels;
};

/* The options object (ember's run flags) into spec options. */
static int options_parse(json_t *o, struct runtime_spec_options *so, json_t **mounts, struct ember_error *e)
{
	static const struct {
		const char *name;
		int type; /* json type */
	} known[] = {
		{ "args", JSON_ARRAY },     { "entrypoint", JSON_ARRAY }, { "env", JSON_ARRAY },
		{ "cwd", JSON_STRING },     { "user", JSON_STRING },      { "hostname", JSON_STRING },
		{ "terminal", JSON_TRUE },  { "read_only", JSON_TRUE },   { "privileged", JSON_TRUE },
		{ "net_host", JSON_TRUE },  { "cap_add", JSON_ARRAY },    { "cap_drop", JSON_ARRAY },
		{ "mounts", JSON_ARRAY },   { "memory", JSON_INTEGER },   { "cpus", JSON_REAL },
		{ "pids", JSON_INTEGER },   { "seccomp_profile", JSON_OBJECT }, { "uid_map", JSON_ARRAY },
		{ "gid_map", JSON_ARRAY },
	};
	const char *key;
	json_t *v;
	char q[ERR_QUOTE_MAX];

	*mounts = NULL;
	json_object_foreach(o, key, v) {
		size_t i = 0;
		while (i < ARRAY_SIZE(known) && strcmp(known[i].name, key))
			i++;
		if (i == ARRAY_SIZE(known))
			return err_invalid(e, "options: unknown option \"%s\"", err_quote(key, q));
		int t = known[i].type, have = json_typeof(v);
		int ok = t == JSON_TRUE ? json_is_boolean(v) : t == JSON_REAL ? json_is_number(v) : have == t;
		if (!ok)
			return err_invalid(e, "options: %s: wrong type", key);
	}
	so->args = json_object_get(o, "args");
	so->entrypoint = json_object_get(o, "entrypoint");
	so->env = json_object_get(o, "env");
	so->cwd = json_string_value(json_object_get(o, "cwd"));
	so->user = json_string_value(json_object_get(o, "user"));
	so->hostname = json_string_value(json_object_get(o, "hostname"));
	so->terminal = json_is_true(json_object_get(o, "terminal"));
	so->read_only = json_is_true(json_object_get(o, "read_only"));
	so->privileged = json_is_true(json_object_get(o, "privileged"));
	so->net_host = json_is_true(json_object_get(o, "net_host"));
	so->uid_map = json_object_get(o, "uid_map");
	so->gid_map = json_object_get(o, "gid_map");
	so->cap_add = json_object_get(o, "cap_add");
	so->cap_drop = json_object_get(o, "cap_drop");
	so->memory = json_integer_value(json_object_get(o, "memory"));
	so->cpus = json_number_value(json_object_get(o, "cpus"));
	so->pids = json_integer_value(json_object_get(o, "pids"));
	json_t *ms = json_object_get(o, "mounts");
	if (ms) {
		size_t i;
		*mounts = json_array();
		if (!*mounts)
			return err_set(e, ENOMEM, "out of memory");
		json_array_foreach(ms, i, v) {
			json_t *m;
			if (!json_is_string(v))
				return err_invalid(e, "options: mounts[%zu]: must be a string", i);
			if (runtime_mount_parse(json_string_value(v), &m, e) < 0)
				return err_wrap(e, "mount");
			json_array_append_new(*mounts, m);
		}
		so->mounts = *mounts;
	}
	return 0;
}

/* The spec for a new container: the user's (checked) or one built. */
static int make_spec(const struct create_params *p, json_t *image_config, const char *root_path, json_t **out,
		     struct ember_error *e)
{
	_cleanup_(json_decrefp) json_t *mounts = NULL;

	*out = NULL;
	if (p->spec) {
		if (p->options)
			return err_invalid(e, "give a spec or options, not both");
		json_t *spec = json_deep_copy(p->spec);
		if (!spec)
			return err_set(e, ENOMEM, "out of memory");
		json_t *root = json_object_get(spec, "root");
		if (!json_is_object(root)) {
			root = json_object();
			json_object_set_new(spec, "root", root);
		}
		json_object_set_new(root, "path", json_string(root_path));
		if (runtime_spec_check(spec, e) < 0) {
			json_decref(spec);
			return -e->code;
		}
		*out = spec;
		return 0;
	}
	struct runtime_spec_options so = { .id = p->id, .rootfs = root_path, .image_config = image_config };
	if (p->options && options_parse(p->options, &so, &mounts, e) < 0)
		return -e->code;
	so.labels = p->labels;
	if (runtime_spec_build(&so, out, e) < 0)
		return -e->code;
	json_t *profile = json_object_get(p->options, "seccomp_profile");
	if (profile && !so.privileged) {
		/* The user's profile replaces the default one. */
		json_object_del(json_object_get(*out, "annotations"), RUNTIME_ANN_SECCOMP);
		json_object_set(json_object_get(*out, "linux"), "seccomp", profile);
	}
	return 0;
}

static void container_event(struct daemon *d, const char *ns, const char *topic, const char *id, const char *image)
{
	json_t *ev = json_pack("{s:s}", "id", id);
	if (ev && image)
		json_object_set_new(ev, "image", json_string(image));
	events_publish(d, ns, topic, ev);
}

void svc_containers_create(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct create_params, namespace), 0 },
		{ "id", API_T_STRING, offsetof(struct create_params, id), API_MANDATORY },
		{ "image", API_T_STRING, offsetof(struct create_params, image), 0 },
		{ "snapshotter", API_T_STRING, offsetof(struct create_params, snapshotter), 0 },
		{ "platform", API_T_STRING, offsetof(struct create_params, platform), 0 },
		{ "rootfs", API_T_STRING, offsetof(struct create_params, rootfs), 0 },
		{ "restart", API_T_STRING, offsetof(struct create_params, restart), 0 },
		{ "spec", API_T_OBJECT, offsetof(struct create_params, spec), 0 },
		{ "options", API_T_OBJECT, offsetof(struct create_params, options), 0 },
		{ "labels", API_T_STRING_MAP, offsetof(struct create_params, labels), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct create_params p = { 0 };
	struct ember_error e;
	struct restart rp;
	char top[DIGEST_MAX], now[TIMESTAMP_LEN], q[ERR_QUOTE_MAX];
	_cleanup_(json_decrefp) json_t *config = NULL, *spec = NULL, *old = NULL, *rec = NULL, *snap = NULL;
	_cleanup_free_ char *image = NULL;
	struct snapshotter *sn = NULL;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	p.namespace = daemon_namespace(p.namespace);
	if (meta_identifier_check("namespace", p.namespace, &e) < 0 || meta_identifier_check("container", p.id, &e) < 0 ||
	    (p.labels && meta_labels_check(p.labels, &e) < 0) || restart_parse(p.restart, &rp, &e) < 0)
		goto fail;
	if (container_get(d, p.namespace, p.id, &old, &e) == 0) {
		api_error(call, EMBER_ERROR_ALREADY_EXISTS, NULL, "container %s already exists", p.id);
		return;
	}
	if (!!p.image == !!p.rootfs) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "give an image or a rootfs directory (one of them)");
		return;
	}
	if (p.rootfs) {
		struct stat st;
		if (p.rootfs[0] != '/' || stat(p.rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
			api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "rootfs \"%s\": not an absolute path to a directory",
				  err_quote(p.rootfs, q));
			return;
		}
	} else {
		if (!(image = images_normalize(p.image))) {
			err_set(&e, ENOMEM, "out of memory");
			goto fail;
		}
		if (!(sn = snapshots_get(d, p.snapshotter, &e)) ||
		    image_unpacked_top(d, sn, p.namespace, image, p.platform, top, &config, &e) < 0)
			goto fail;
	}
	if (make_spec(&p, config, p.rootfs ? p.rootfs : "rootfs", &spec, &e) < 0)
		goto fail;
	if (sn) {
		/* A snapshot with the container's key but no record is a
		   leftover of a create cut short: replace it. */
		json_t *labels = json_pack("{s:s}", "ember.io/container", p.id);
		if (snapshot_get(sn, p.namespace, p.id, &snap, &e) == 0) {
			json_decref(snap);
			snap = NULL;
			(void)snapshot_remove(sn, p.namespace, p.id, &e);
		}
		int r = snapshot_prepare(sn, p.namespace, p.id, top, SNAPSHOT_ACTIVE, labels, &snap, &e);
		json_decref(labels);
		if (r < 0) {
			err_wrap(&e, "container %s: snapshot", p.id);
			goto fail;
		}
	}
	timestamp_now(now);
	char pol[32];
	rec = json_pack("{s:s, s:s, s:o, s:O, s:s, s:s, s:s}", "name", p.id, "id", p.id, "spec", json_incref(spec),
			"labels", p.labels ? p.labels : json_object(), "restart", restart_format(&rp, pol), "created_at",
			now, "updated_at", now);
	if (!p.labels)
		json_decref(json_object_get(rec, "labels"));
	if (rec && sn) {
		json_object_set_new(rec, "image", json_string(image));
		json_object_set_new(rec, "snapshotter", json_string(snapshot_name(sn)));
		json_object_set_new(rec, "snapshot_key", json_string(p.id));
	} else if (rec) {
		json_object_set_new(rec, "rootfs", json_string(p.rootfs));
	}
	if (!rec || meta_object_put(&d->meta, p.namespace, "containers", p.id, rec, &e) < 0) {
		if (!rec)
			err_set(&e, ENOMEM, "out of memory");
		if (sn) {
			struct ember_error ignored;
			(void)snapshot_remove(sn, p.namespace, p.id, &ignored);
		}
		goto fail;
	}
	container_event(d, p.namespace, "/containers/create", p.id, image);
	api_reply(call, json_pack("{s:O}", "container", rec));
	return;
fail:
	api_error_from(call, &e);
}

struct id_params {
	const char *namespace, *id;
	int keep_snapshot;
	json_t *labels;
};

#define P_NS { "namespace", API_T_STRING, offsetof(struct id_params, namespace), 0 }
#define P_ID { "id", API_T_STRING, offsetof(struct id_params, id), API_MANDATORY }
#define P_END { NULL, 0, 0, 0 }

static int id_begin(struct api_call *call, json_t *params, const struct api_param *table, struct id_params *p)
{
	struct ember_error e;

	memset(p, 0, sizeof(*p));
	if (api_params_parse(call, params, table, p) < 0)
		return -1;
	p->namespace = daemon_namespace(p->namespace);
	if (meta_identifier_check("namespace", p->namespace, &e) < 0 ||
	    (p->labels && meta_labels_check(p->labels, &e) < 0)) {
		api_error_from(call, &e);
		return -1;
	}
	return 0;
}

void svc_containers_list(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_END };
	struct daemon *d = ctx;
	struct id_params p;
	struct ember_error e;
	json_t *list;

	if (id_begin(call, params, table, &p) < 0)
		return;
	if (meta_object_list(&d->meta, p.namespace, "containers", &list, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	api_reply(call, json_pack("{s:o}", "containers", list));
}

void svc_containers_get(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_ID, P_END };
	struct id_params p;
	struct ember_error e;
	json_t *rec;

	if (id_begin(call, params, table, &p) < 0)
		return;
	if (container_get(ctx, p.namespace, p.id, &rec, &e) < 0)
		api_error_from(call, &e);
	else
		api_reply(call, json_pack("{s:o}", "container", rec));
}

void svc_containers_delete(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_ID, { "keep_snapshot", API_T_BOOL, offsetof(struct id_params, keep_snapshot), 0 }, P_END,
	};
	struct daemon *d = ctx;
	struct id_params p;
	struct ember_error e;
	_cleanup_(json_decrefp) json_t *rec = NULL;

	if (id_begin(call, params, table, &p) < 0)
		return;
	if (container_get(d, p.namespace, p.id, &rec, &e) < 0)
		goto fail;
	struct task *t = task_find(d, p.namespace, p.id);
	if (t && t->status != TASK_STOPPED) {
		api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL,
			  "container %s has a running task: kill it first (ember tasks kill %s)", p.id, p.id);
		return;
	}
	if (t && task_delete(t, &e) < 0)
		goto fail;
	const char *key = json_string_value(json_object_get(rec, "snapshot_key"));
	if (key && !p.keep_snapshot) {
		/* The snapshot goes first: a crash then leaves a record whose
		   start fails clearly and whose delete still works. */
		struct snapshotter *sn = snapshots_get(d, json_string_value(json_object_get(rec, "snapshotter")), &e);
		if (!sn)
			goto fail;
		if (snapshot_remove(sn, p.namespace, key, &e) < 0 && e.code != ENOENT)
			goto fail;
	}
	if (meta_object_delete(&d->meta, p.namespace, "containers", "container", p.id, &e) < 0)
		goto fail;
	container_event(d, p.namespace, "/containers/delete", p.id, NULL);
	api_reply(call, NULL);
	return;
fail:
	api_error_from(call, &e);
}

void svc_containers_set_labels(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_ID, { "labels", API_T_STRING_MAP, offsetof(struct id_params, labels), API_MANDATORY }, P_END,
	};
	struct daemon *d = ctx;
	struct id_params p;
	struct ember_error e;
	char now[TIMESTAMP_LEN];
	_cleanup_(json_decrefp) json_t *rec = NULL;
	const char *k;
	json_t *v;

	if (id_begin(call, params, table, &p) < 0)
		return;
	if (container_get(d, p.namespace, p.id, &rec, &e) < 0)
		goto fail;
	json_t *labels = json_object_get(rec, "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(rec, "labels", labels);
	}
	json_object_foreach(p.labels, k, v) {
		if (!*json_string_value(v))
			json_object_del(labels, k);
		else
			json_object_set(labels, k, v);
	}
	if (meta_labels_check(labels, &e) < 0)
		goto fail;
	timestamp_now(now);
	json_object_set_new(rec, "updated_at", json_string(now));
	if (meta_object_put(&d->meta, p.namespace, "containers", p.id, rec, &e) < 0)
		goto fail;
	container_event(d, p.namespace, "/containers/update", p.id, NULL);
	api_reply(call, json_pack("{s:O}", "container", rec));
	return;
fail:
	api_error_from(call, &e);
}
