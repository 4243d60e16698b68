/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Containers: records, created and deleted as jobs. A create reads the
 * image (small documents), builds or checks the spec and prepares the
 * container's snapshot, which a native snapshotter makes by copying the
 * image's tree: that may take long. A delete removes the snapshot, a
 * whole tree. While one of them runs, the container's id is reserved, so
 * that a second create or delete of it waits its turn (refused).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/containers.h"
#include "daemon/holds.h"
#include "daemon/images.h"
#include "daemon/jobs.h"
#include "daemon/networks.h"
#include "daemon/revisions.h"
#include "daemon/tasks.h"
#include "runtime/runtime.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/timestamp.h"

/* ---- the spec -------------------------------------------------------------------------- */

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
		{ "gid_map", JSON_ARRAY },  { "net", JSON_STRING },       { "publish", JSON_ARRAY },
		{ "dns", JSON_ARRAY },      { "add_host", JSON_ARRAY },
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
	const char *net = json_string_value(json_object_get(o, "net"));
	so->net_host = json_is_true(json_object_get(o, "net_host")) || (net && !strcmp(net, "host"));
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

int containers_options_check(json_t *options, struct ember_error *e)
{
	struct runtime_spec_options so = { 0 };
	_cleanup_(json_decrefp) json_t *mounts = NULL;

	return options_parse(options, &so, &mounts, e) < 0 ? -e->code : 0;
}

/* The spec for a new container: the user's (checked) or one built. */
static int make_spec(const struct container_create *p, json_t *image_config, const char *root_path, json_t **out,
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

/* ---- reservations ----------------------------------------------------------------------- */

static void busy_key(const char *ns, const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", ns, id);
}

/* Reserve ns/id for a create or delete; AlreadyExists/FailedPrecondition when taken. */
static int reserve(struct daemon *d, const char *ns, const char *id, const char *what, struct ember_error *e)
{
	char key[200];

	busy_key(ns, id, key, sizeof(key));
	const char *doing = json_string_value(json_object_get(d->containers_busy, key));
	if (doing)
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY, "container %s is being %s", id, doing);
	if (json_object_set_new(d->containers_busy, key, json_string(what)) < 0)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

static void release(struct daemon *d, const char *ns, const char *id)
{
	char key[200];

	busy_key(ns, id, key, sizeof(key));
	json_object_del(d->containers_busy, key);
}

/* ---- create ----------------------------------------------------------------------------- */

struct create_job {
	struct daemon *d;
	struct container_create p; /* strings and objects its own */
	struct restart rp;
	json_t *rec;
};

static void create_free(void *data)
{
	struct create_job *c = data;

	release(c->d, c->p.namespace, c->p.id);
	free((char *)c->p.namespace);
	free((char *)c->p.id);
	free((char *)c->p.image);
	free((char *)c->p.checkpoint);
	free((char *)c->p.snapshotter);
	free((char *)c->p.platform);
	free((char *)c->p.rootfs);
	json_decref(c->p.spec);
	json_decref(c->p.options);
	json_decref(c->p.labels);
	json_decref(c->rec);
	free(c);
}

int container_prepare(struct daemon *d, const struct container_create *p, const struct restart *rp, const char *key,
		      const char *revision, json_t **out, struct ember_error *e)
{
	char top[DIGEST_MAX], now[TIMESTAMP_LEN], pol[32];
	_cleanup_(json_decrefp) json_t *config = NULL, *spec = NULL, *snap = NULL, *net = NULL;
	_cleanup_free_ char *image = NULL;
	struct snapshotter *sn = NULL;

	*out = NULL;
	/* A user's spec says what it wants itself: no network of ours. */
	if (!p->spec && networks_options(p->options, &net, e) < 0)
		return -e->code;
	if (p->image) {
		if (!(image = images_normalize(p->image)))
			return err_set(e, ENOMEM, "out of memory");
		if (!(sn = snapshots_get(d, p->snapshotter, e)) ||
		    image_unpacked_top(d, sn, p->namespace, image, p->platform, top, &config, e) < 0)
			return -e->code;
	}
	if (make_spec(p, config, p->rootfs ? p->rootfs : "rootfs", &spec, e) < 0)
		return -e->code;
	timestamp_now(now);
	json_t *rec = json_pack("{s:s, s:s, s:O, s:o, s:s, s:s, s:s}", "name", p->id, "id", p->id, "spec", spec,
				"labels", p->labels ? json_deep_copy(p->labels) : json_object(), "restart",
				restart_format(rp, pol), "created_at", now, "updated_at", now);
	if (!rec)
		return err_set(e, ENOMEM, "out of memory");
	if (sn) {
		json_object_set_new(rec, "image", json_string(image));
		json_object_set_new(rec, "snapshotter", json_string(snapshot_name(sn)));
		json_object_set_new(rec, "snapshot_key", json_string(key));
	} else {
		json_object_set_new(rec, "rootfs", json_string(p->rootfs));
	}
	if (net)
		json_object_set(rec, "network", net);
	if (sn) {
		/* A snapshot with the key but no record is a leftover of a
		   create cut short: replace it. */
		json_t *labels = json_pack("{s:s}", CONTAINER_LABEL, p->id);
		if (labels && revision)
			json_object_set_new(labels, REVISION_LABEL, json_string(revision));
		if (snapshot_get(sn, p->namespace, key, &snap, e) == 0) {
			json_decref(TAKE_PTR(snap));
			(void)snapshot_remove(sn, p->namespace, key, e);
		}
		int r = snapshot_prepare(sn, p->namespace, key, top, SNAPSHOT_ACTIVE, labels, &snap, e);
		json_decref(labels);
		if (r < 0) {
			json_decref(rec);
			return err_wrap(e, "container %s: snapshot", p->id);
		}
	}
	*out = rec;
	return 0;
}

/* Undo container_prepare(): its snapshot goes. */
void container_unprepare(struct daemon *d, const char *ns, json_t *rec)
{
	const char *key = json_string_value(json_object_get(rec, "snapshot_key"));
	struct ember_error e;
	struct snapshotter *sn;

	if (key && (sn = snapshots_get(d, json_string_value(json_object_get(rec, "snapshotter")), &e)))
		(void)snapshot_remove(sn, ns, key, &e);
}

static int create_work(struct job *j, void *data, struct ember_error *e)
{
	struct create_job *c = data;
	struct daemon *d = c->d;
	const struct container_create *p = &c->p;
	struct checkpoint_image ck = { 0 };
	struct container_create from = *p;
	char path[PATH_MAX], bin[PATH_MAX];
	json_t *rec;

	/* From a checkpoint: its image is the container's image (an index
	   whose manifest is the image's), its spec the container's. */
	if (p->checkpoint) {
		if (runtime_criu_find(bin, sizeof(bin), e) < 0 ||
		    checkpoint_image_load(d, p->namespace, p->checkpoint, &ck, e) < 0 ||
		    task_checkpoint_path(d, p->namespace, p->id, path, sizeof(path), e) < 0)
			goto failed;
		if (access(path, F_OK) == 0) {
			err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EEXIST,
				     "%s exists (an earlier checkpoint: remove it, or restore under another id)", path);
			goto failed;
		}
		from.image = p->checkpoint;
		from.spec = ck.spec;
	}
	if (container_prepare(d, &from, &c->rp, p->id, NULL, &rec, e) < 0)
		goto failed;
	if (p->checkpoint) {
		json_object_set_new(rec, "checkpoint", json_string(p->checkpoint));
		if (checkpoint_image_unpack(d, p->namespace, rec, &ck, path, e) < 0) {
			container_unprepare(d, p->namespace, rec);
			json_decref(rec);
			goto failed;
		}
	}
	checkpoint_image_done(&ck);
	/* The address before the record: a crash between them leaves a lease
	   of no container, which start-up removes. */
	json_t *net = json_object_get(rec, "network");
	if (networks_lease(d, p->namespace, p->id, net, e) < 0 ||
	    meta_object_put(&d->meta, p->namespace, "containers", p->id, rec, e) < 0) {
		struct ember_error ignored;
		if (p->checkpoint)
			(void)fs_remove_tree(AT_FDCWD, path, &ignored);
		container_unprepare(d, p->namespace, rec);
		networks_release(d, p->namespace, p->id, net);
		json_decref(rec);
		return err_wrap(e, "container %s", p->id);
	}
	c->rec = rec;
	const char *image = json_string_value(json_object_get(rec, "image"));
	json_t *ev = json_pack("{s:s}", "id", p->id);
	if (ev && image)
		json_object_set_new(ev, "image", json_string(image));
	call_job_event(j, p->namespace, "/containers/create", ev);
	return 0;
failed:
	checkpoint_image_done(&ck);
	return p->checkpoint ? err_wrap(e, "container %s from checkpoint", p->id) : -e->code;
}

/* The image is held from before it is read until the container record
   names it: the GC policy does not remove it meanwhile. */
static int create_run(struct job *j, void *data, struct ember_error *e)
{
	struct create_job *c = data;
	struct hold *h = NULL;

	if (c->p.image || c->p.checkpoint) {
		_cleanup_free_ char *image = images_normalize(c->p.image ? c->p.image : c->p.checkpoint);
		if (!image || !(h = hold_new(c->d->holds)) || hold_image(h, c->p.namespace, image) < 0) {
			hold_release(h);
			return err_set(e, ENOMEM, "out of memory");
		}
	}
	int r = create_work(j, data, e);
	hold_release(h);
	return r;
}

static json_t *create_reply(struct daemon *d, void *data)
{
	struct create_job *c = data;

	(void)d;
	return json_pack("{s:O}", "container", c->rec);
}

static const struct call_job_ops create_ops = {
	.kind = "create",
	.run = create_run,
	.reply = create_reply,
	.free = create_free,
};

void containers_create(struct daemon *d, struct api_call *call, const struct container_create *p)
{
	struct ember_error e;
	struct restart rp;
	char q[ERR_QUOTE_MAX];
	json_t *old;

	if (meta_identifier_check("namespace", p->namespace, &e) < 0 || meta_identifier_check("container", p->id, &e) < 0 ||
	    (p->labels && meta_labels_check(p->labels, &e) < 0) || restart_parse(p->restart, &rp, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	if (container_get(d, p->namespace, p->id, &old, &e) == 0) {
		json_decref(old);
		api_error(call, EMBER_ERROR_ALREADY_EXISTS, NULL, "container %s already exists", p->id);
		return;
	}
	if (p->checkpoint && (p->image || p->rootfs || p->spec || p->options)) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL,
			  "a checkpoint gives the image and the spec: no image, rootfs, spec or options with it");
		return;
	}
	if (!p->checkpoint && !!p->image == !!p->rootfs) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "give an image or a rootfs directory (one of them)");
		return;
	}
	struct stat st;
	if (p->rootfs && (p->rootfs[0] != '/' || stat(p->rootfs, &st) < 0 || !S_ISDIR(st.st_mode))) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "rootfs \"%s\": not an absolute path to a directory",
			  err_quote(p->rootfs, q));
		return;
	}
	if (reserve(d, p->namespace, p->id, "created", &e) < 0) {
		if (e.code == EBUSY)
			err_set_name(&e, EMBER_ERROR_ALREADY_EXISTS, EEXIST, "container %s already exists (being created)",
				     p->id);
		api_error_from(call, &e);
		return;
	}
	struct create_job *c = calloc(1, sizeof(*c));
	int failed = !c;
	if (c) {
		c->d = d;
		c->rp = rp;
		c->p.namespace = call_job_strdup(p->namespace, &failed);
		c->p.id = call_job_strdup(p->id, &failed);
		c->p.image = call_job_strdup(p->image, &failed);
		c->p.checkpoint = call_job_strdup(p->checkpoint, &failed);
		c->p.snapshotter = call_job_strdup(p->snapshotter, &failed);
		c->p.platform = call_job_strdup(p->platform, &failed);
		c->p.rootfs = call_job_strdup(p->rootfs, &failed);
		/* The call's parameters go with the call: the job has copies. */
		c->p.spec = p->spec ? json_deep_copy(p->spec) : NULL;
		c->p.options = p->options ? json_deep_copy(p->options) : NULL;
		c->p.labels = p->labels ? json_deep_copy(p->labels) : NULL;
		failed |= (p->spec && !c->p.spec) || (p->options && !c->p.options) || (p->labels && !c->p.labels);
	}
	if (failed) {
		if (c && c->p.namespace && c->p.id)
			create_free(c);
		else
			release(d, p->namespace, p->id);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	call_job_start(d, call, &create_ops, c, c->p.namespace, c->p.id);
}

/* ---- start-up ------------------------------------------------------------------------- */

struct sweep {
	struct daemon *d;
	struct snapshotter *sn;
	json_t *gone; /* [[ns, key], ...] */
};

static int sweep_one(const char *ns, json_t *rec, void *userdata)
{
	struct sweep *w = userdata;
	const char *key = json_string_value(json_object_get(rec, "key"));
	const char *id = json_string_value(json_object_get(json_object_get(rec, "labels"), CONTAINER_LABEL));
	struct ember_error e;
	json_t *c;

	if (!key || !id || strcmp(key, id) || strcmp(json_string_value(json_object_get(rec, "kind")) ?: "", "active"))
		return 0;
	if (container_get(w->d, ns, id, &c, &e) == 0) {
		json_decref(c);
		return 0;
	}
	if (e.code == ENOENT)
		json_array_append_new(w->gone, json_pack("[s, s]", ns, key));
	return 0;
}

int containers_recover(struct daemon *d, struct ember_error *e)
{
	for (size_t i = 0; ENABLED(CONFIG_SNAPSHOTS_STORE) && i < ARRAY_SIZE(d->snapshotters); i++) {
		if (!d->snapshotters[i])
			continue;
		struct sweep w = { d, d->snapshotters[i], json_array() };
		size_t k;
		json_t *g;
		if (!w.gone || snapshot_walk_all(w.sn, sweep_one, &w, e) < 0) {
			json_decref(w.gone);
			return w.gone ? err_wrap(e, "containers' snapshots") : err_set(e, ENOMEM, "out of memory");
		}
		json_array_foreach(w.gone, k, g) {
			const char *ns = json_string_value(json_array_get(g, 0)), *key = json_string_value(json_array_get(g, 1));
			struct ember_error re;
			if (snapshot_remove(w.sn, ns, key, &re) == 0)
				log_info(&d->log, "recovery: snapshot %s/%s (%s) of no container removed (a create or delete cut short)",
					 ns, key, snapshot_name(w.sn));
			else
				log_warn(&d->log, "recovery: snapshot %s/%s of no container: %s", ns, key, re.message);
		}
		json_decref(w.gone);
	}
	return 0;
}

/* ---- delete ----------------------------------------------------------------------------- */

struct delete_job {
	struct daemon *d;
	struct api_call *call; /* while the task's delete runs first; NULL once gone */
	char *ns, *id;
	int keep_snapshot;
};

static void delete_free(void *data)
{
	struct delete_job *x = data;

	release(x->d, x->ns, x->id);
	free(x->ns);
	free(x->id);
	free(x);
}

static int delete_run(struct job *j, void *data, struct ember_error *e)
{
	struct delete_job *x = data;
	json_t *rec;

	if (container_get(x->d, x->ns, x->id, &rec, e) < 0)
		return -e->code;
	const char *key = json_string_value(json_object_get(rec, "snapshot_key"));
	struct snapshotter *sn = NULL;
	if (key && !(sn = snapshots_get(x->d, json_string_value(json_object_get(rec, "snapshotter")), e))) {
		json_decref(rec);
		return -e->code;
	}
	/* A kept snapshot is no longer the container's: without the label,
	   start-up's sweep (containers_recover()) leaves it alone. */
	if (sn && x->keep_snapshot) {
		json_t *unlabel = json_pack("{s:s}", CONTAINER_LABEL, "");
		int r = snapshot_set_labels(sn, x->ns, key, unlabel, NULL, e);
		json_decref(unlabel);
		if (r < 0 && e->code != ENOENT) {
			json_decref(rec);
			return -e->code;
		}
	}
	/* The record first, then the snapshot: a crash or power cut between
	   them leaves a labelled snapshot of no container, which start-up
	   removes, never a record that names a missing snapshot. */
	if (meta_object_delete(&x->d->meta, x->ns, "containers", "container", x->id, e) < 0) {
		json_decref(rec);
		return -e->code;
	}
	struct ember_error se;
	if (sn && !x->keep_snapshot && snapshot_remove(sn, x->ns, key, &se) < 0 && se.code != ENOENT)
		log_warn(&x->d->log, "container %s/%s deleted, its snapshot left to the next start-up: %s", x->ns, x->id,
			 se.message);
	/* The record first: a crash between leaves a lease of no container
	   (start-up removes it), never a container whose address is free. */
	networks_release(x->d, x->ns, x->id, json_object_get(rec, "network"));
	/* Its image was in use until now (the GC policy removes the least
	   recently used first). */
	const char *image = json_string_value(json_object_get(rec, "image"));
	if (image)
		images_touch(x->d, x->ns, image);
	/* A container made from a checkpoint image: its CRIU images were
	   unpacked for it. */
	char path[PATH_MAX];
	if (json_object_get(rec, "checkpoint") && task_checkpoint_path(x->d, x->ns, x->id, path, sizeof(path), &se) == 0)
		(void)fs_remove_tree(AT_FDCWD, path, &se);
	json_decref(rec);
	call_job_event(j, x->ns, "/containers/delete", json_pack("{s:s}", "id", x->id));
	return 0;
}

static const struct call_job_ops delete_ops = { .kind = "delete", .run = delete_run, .free = delete_free };

static void delete_call_gone(struct api_call *call, void *userdata)
{
	struct delete_job *x = userdata;

	(void)call;
	x->call = NULL;
}

/* The task's state is gone: now the container. */
static void task_deleted(struct daemon *d, struct task *t, pid_t pid, int pty, const struct ember_error *err,
			 void *userdata)
{
	struct delete_job *x = userdata;

	(void)t;
	(void)pid;
	close_keep_errno(pty);
	if (!x->call) {
		delete_free(x);
		return;
	}
	api_call_on_cancel(x->call, NULL, NULL);
	if (err) {
		api_error_from(x->call, err);
		delete_free(x);
		return;
	}
	call_job_start(d, x->call, &delete_ops, x, x->ns, x->id);
}

void containers_delete(struct daemon *d, struct api_call *call, const char *ns, const char *id, int keep_snapshot)
{
	struct ember_error e;
	_cleanup_(json_decrefp) json_t *rec = NULL;

	if (container_get(d, ns, id, &rec, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	struct task *t = task_find(d, ns, id);
	if (t && t->state != TASK_STOPPED) {
		api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL,
			  "container %s has a running task: kill it first (ember tasks kill %s)", id, id);
		return;
	}
	if (reserve(d, ns, id, "deleted", &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	struct delete_job *x = calloc(1, sizeof(*x));
	if (!x || !(x->ns = strdup(ns)) || !(x->id = strdup(id))) {
		if (x) {
			free(x->ns);
			free(x);
		}
		release(d, ns, id);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	x->d = d;
	x->call = call;
	x->keep_snapshot = keep_snapshot;
	if (!t) {
		call_job_start(d, call, &delete_ops, x, x->ns, x->id);
		return;
	}
	/* Its stopped task first (its cgroup, its state). */
	if (task_delete(t, task_deleted, x, &e) < 0) {
		delete_free(x);
		api_error_from(call, &e);
		return;
	}
	api_call_on_cancel(call, delete_call_gone, x);
}
