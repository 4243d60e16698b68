/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image removal policy ([gc] in config.toml) as jobs: a pass removes
 * the images the plan names (gc.h), then collects what they alone used;
 * a dry run removes nothing and reports what a pass would remove, from
 * the same collection code. Passes start on demand (Content.GarbageCollect),
 * after an image is stored or a container deleted, and on a timer while
 * free space is below gc.free_low. Also System.DiskUsage, from the same
 * model of the store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "daemon/gc-policy.h"
#include "daemon/images.h"
#include "daemon/jobs.h"
#include "util/err.h"
#include "util/timestamp.h"

/* Lists in a reply stop here (the counts do not). */
#define LIST_MAX 1000

struct gc_auto {
	struct loop_source *timer;
	long interval_s;
	int running; /* a pass of ours runs */
	int pending; /* something changed: pass again */
	uint64_t stuck_free; /* free space when the last pass could not reach high; 0: none */
};

struct pass {
	struct daemon *d;
	struct job *j;
	struct gc_policy pol;
	int dry_run, automatic;
	json_t *images, *blobs, *snapshots;
	struct gc_stats st;
	uint64_t removed_images;
	uint64_t free_before, free_after, low, high, expect;
	unsigned young;
	char warning[300];
};

static void pass_free(void *data)
{
	struct pass *p = data;

	json_decref(p->images);
	json_decref(p->blobs);
	json_decref(p->snapshots);
	free(p);
}

static void list_add(json_t *list, json_t *item)
{
	if (json_array_size(list) < LIST_MAX)
		json_array_append_new(list, item);
	else
		json_decref(item);
}

static void on_blob(const char *digest, int64_t size, void *userdata)
{
	struct pass *p = userdata;

	list_add(p->blobs, json_pack("{s:s, s:I}", "digest", digest, "size", (json_int_t)size));
	if (!p->dry_run)
		call_job_event(p->j, "", "/content/delete", json_pack("{s:s, s:s}", "digest", digest, "reason", "gc"));
}

static void on_snapshot(const char *snapshotter, const char *ns, const char *key, void *userdata)
{
	struct pass *p = userdata;

	list_add(p->snapshots, json_pack("{s:s, s:s, s:s}", "snapshotter", snapshotter, "namespace", ns, "key", key));
	if (!p->dry_run)
		call_job_event(p->j, ns, "/snapshot/remove", json_pack("{s:s, s:s}", "key", key, "snapshotter", snapshotter));
}

static uint64_t free_now(int root_fd)
{
	struct statvfs sv;

	return fstatvfs(root_fd, &sv) == 0 ? (uint64_t)sv.f_bavail * sv.f_frsize : 0;
}

/* Remove one image record of the plan, unless it is held by now or was
   stored again since the model read it. 1: removed. */
static int remove_image(struct pass *p, const struct space_image_info *ii)
{
	struct daemon *d = p->d;
	struct ember_error e;
	json_t *rec;
	int r = 0;

	holds_lock(d->holds);
	if (!holds_image_held(d->holds, ii->ns, ii->name) &&
	    meta_object_get(&d->meta, ii->ns, "images", "image", ii->name, &rec, &e) == 0) {
		const char *updated = json_string_value(json_object_get(rec, "updated_at")) ?: "";
		if (!strcmp(updated, ii->updated_at) && meta_object_delete(&d->meta, ii->ns, "images", "image", ii->name, &e) == 0)
			r = 1;
		if (r)
			(void)meta_object_delete(&d->meta, ii->ns, "images-used", "image", ii->name, &e);
		json_decref(rec);
	}
	holds_unlock(d->holds);
	return r;
}

static int pass_run(struct job *j, void *data, struct ember_error *e)
{
	struct pass *p = data;
	struct daemon *d = p->d;
	struct gc_env env = d->gc;
	int r = 0;

	p->j = j;
	env.root_fd = d->root_fd;
	env.userdata = p;
	env.blob_removed = on_blob;
	env.snapshot_removed = on_snapshot;
	env.dry_run = p->dry_run;
	holds_gc_begin(d->holds);
	/* More than one round only when the estimate fell short. */
	for (int round = 0; round < 3 && r == 0 && !job_cancelled(j); round++) {
		struct space *sp;
		struct gc_plan plan;
		if ((r = space_build(&env, 0, &sp, e)) < 0)
			break;
		if ((r = gc_plan_make(sp, &p->pol, (int64_t)time(NULL), &plan, e)) < 0) {
			space_free(sp);
			break;
		}
		if (round == 0) {
			p->free_before = plan.free;
			p->low = plan.low;
			p->high = plan.high;
		}
		p->expect = plan.expect_free;
		p->young = plan.young;
		snprintf(p->warning, sizeof(p->warning), "%s", plan.warning);
		json_t *skip = json_object();
		for (size_t i = 0; skip && i < plan.n; i++) {
			struct space_image_info ii;
			char when[TIMESTAMP_LEN];
			space_image_info(sp, plan.items[i].image, &ii);
			if (!p->dry_run && !remove_image(p, &ii))
				continue;
			char *k = gc_image_key(ii.ns, ii.name);
			if (k)
				json_object_set_new(skip, k, json_true());
			free(k);
			timestamp_format((time_t)ii.last_used, when);
			p->removed_images++;
			list_add(p->images, json_pack("{s:s, s:s, s:s, s:s, s:I}", "namespace", ii.ns, "name", ii.name,
						      "reason", plan.items[i].reason, "last_used", when, "frees",
						      (json_int_t)plan.items[i].frees));
			if (!p->dry_run)
				call_job_event(j, ii.ns, "/images/delete",
					       json_pack("{s:s, s:s}", "name", ii.name, "reason", plan.items[i].reason));
		}
		size_t planned = plan.n;
		gc_plan_done(&plan);
		space_free(sp);
		if (!skip) {
			r = err_set(e, ENOMEM, "out of memory");
			break;
		}
		/* A dry run takes the plan's images as gone; a pass removed them. */
		env.skip_images = p->dry_run ? skip : NULL;
		struct gc_stats st;
		r = gc_collect(&env, &st, e);
		json_decref(skip);
		env.skip_images = NULL;
		if (r < 0)
			break;
		p->st.removed_blobs += st.removed_blobs;
		p->st.removed_bytes += st.removed_bytes;
		p->st.removed_snapshots += st.removed_snapshots;
		p->st.kept_blobs = st.kept_blobs;
		if (p->dry_run || !planned || !p->low || p->warning[0] || free_now(d->root_fd) >= p->high)
			break;
	}
	holds_gc_end(d->holds);
	p->free_after = p->dry_run ? p->expect : free_now(d->root_fd);
	if (r == 0 && !p->dry_run && p->low && p->free_after < p->high && !p->warning[0]) {
		char f[16], h[16];
		struct gc_level lf = { p->free_after, 0 }, lh = { p->high, 0 };
		config_gc_level_format(&lf, f, sizeof(f));
		config_gc_level_format(&lh, h, sizeof(h));
		if (p->free_before < p->low)
			snprintf(p->warning, sizeof(p->warning),
				 "cannot free space up to gc.free_high (%s): %s free after removing %llu image(s)", h, f,
				 (unsigned long long)p->removed_images);
	}
	if (r == 0 && !p->dry_run && (p->removed_images || p->warning[0])) {
		json_t *ev = json_pack("{s:I, s:I, s:I}", "removed_images", (json_int_t)p->removed_images, "removed_bytes",
				       (json_int_t)p->st.removed_bytes, "free", (json_int_t)p->free_after);
		if (ev && p->low)
			json_object_set_new(ev, "free_high", json_integer((json_int_t)p->high));
		if (ev && p->warning[0])
			json_object_set_new(ev, "warning", json_string(p->warning));
		call_job_event(j, "", "/gc/policy", ev);
	}
	return r;
}

static json_t *pass_reply(struct daemon *d, void *data)
{
	struct pass *p = data;

	(void)d;
	json_t *reply = json_pack("{s:I, s:I, s:I, s:I, s:I, s:O, s:O, s:O, s:b, s:I}", "removed_blobs",
				  (json_int_t)p->st.removed_blobs, "removed_bytes", (json_int_t)p->st.removed_bytes,
				  "kept_blobs", (json_int_t)p->st.kept_blobs, "removed_snapshots",
				  (json_int_t)p->st.removed_snapshots, "removed_images", (json_int_t)p->removed_images,
				  "images", p->images, "blobs", p->blobs, "snapshots", p->snapshots, "dry_run", p->dry_run,
				  "free", (json_int_t)p->free_after);
	if (reply && p->low) {
		json_object_set_new(reply, "free_low", json_integer((json_int_t)p->low));
		json_object_set_new(reply, "free_high", json_integer((json_int_t)p->high));
	}
	if (reply && p->warning[0])
		json_object_set_new(reply, "warning", json_string(p->warning));
	return reply;
}

static void pass_done(struct daemon *d, void *data, int result, const struct ember_error *e)
{
	struct pass *p = data;
	struct gc_auto *a = d->gc_auto;
	size_t i;
	json_t *im;

	if (result < 0) {
		log_warn(&d->log, "gc policy: %s", e->message);
	} else if (!p->dry_run) {
		json_array_foreach(p->images, i, im)
			log_info(&d->log, "gc policy: removed image %s (namespace %s; %s; last used %s)",
				 json_string_value(json_object_get(im, "name")),
				 json_string_value(json_object_get(im, "namespace")),
				 json_string_value(json_object_get(im, "reason")),
				 json_string_value(json_object_get(im, "last_used")));
		if (p->removed_images)
			log_info(&d->log, "gc policy: removed %llu image(s), %llu blob(s), %llu snapshot(s); %llu bytes free",
				 (unsigned long long)p->removed_images, (unsigned long long)p->st.removed_blobs,
				 (unsigned long long)p->st.removed_snapshots, (unsigned long long)p->free_after);
		if (p->warning[0] && (!p->automatic || !a || !a->stuck_free))
			log_warn(&d->log, "gc policy: %s", p->warning);
	}
	if (!p->automatic || !a)
		return;
	a->running = 0;
	a->stuck_free = result == 0 && p->warning[0] ? (p->free_after ? p->free_after : 1) : 0;
	if (p->young)
		a->pending = 1; /* they age: look again at the next tick */
}

static const struct call_job_ops pass_ops = {
	.kind = "gc",
	.run = pass_run,
	.reply = pass_reply,
	.done = pass_done,
	.free = pass_free,
	.keep_going = 1,
};

static struct pass *pass_new(struct daemon *d, int dry_run, int policy)
{
	struct pass *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->d = d;
	p->dry_run = dry_run;
	if (policy)
		p->pol = d->cfg.gc;
	p->images = json_array();
	p->blobs = json_array();
	p->snapshots = json_array();
	if (!p->images || !p->blobs || !p->snapshots) {
		pass_free(p);
		return NULL;
	}
	return p;
}

void gc_policy_call(struct daemon *d, struct api_call *call, int dry_run, int policy)
{
	struct pass *p = pass_new(d, dry_run, policy);

	if (!p) {
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	call_job_start(d, call, &pass_ops, p, "", dry_run ? "content and images (dry run)" : "content and images");
}

/* ---- automatic passes ------------------------------------------------------------------ */

static int configured(const struct gc_policy *pol)
{
	return pol->free_low.n || pol->keep;
}

static void auto_start(struct daemon *d)
{
	struct gc_auto *a = d->gc_auto;

	if (a->running || !configured(&d->cfg.gc))
		return;
	struct pass *p = pass_new(d, 0, 1);
	if (!p)
		return;
	p->automatic = 1;
	a->pending = 0;
	if (call_job_start(d, NULL, &pass_ops, p, "", "image policy"))
		a->running = 1;
}

static void on_tick(struct loop_source *s, void *userdata)
{
	struct daemon *d = userdata;
	struct gc_auto *a = d->gc_auto;
	const struct gc_policy *pol = &d->cfg.gc;

	(void)s;
	if (a->running || !configured(pol))
		return;
	int below = 0;
	if (pol->free_low.n) {
		struct statvfs sv;
		if (fstatvfs(d->root_fd, &sv) == 0) {
			uint64_t free = (uint64_t)sv.f_bavail * sv.f_frsize, size = (uint64_t)sv.f_blocks * sv.f_frsize;
			/* Stuck (nothing more could go): again only when things change
			   or free space falls further. */
			below = free < config_gc_level_bytes(&pol->free_low, size) &&
				(!a->stuck_free || free + (free >> 6) < a->stuck_free);
		}
	}
	if (a->pending || below)
		auto_start(d);
}

void gc_policy_notice(struct daemon *d, const char *topic)
{
	struct gc_auto *a = d->gc_auto;

	if (!a || !configured(&d->cfg.gc))
		return;
	if (strcmp(topic, "/images/create") && strcmp(topic, "/images/update") && strcmp(topic, "/containers/delete"))
		return;
	a->stuck_free = 0;
	if (a->running)
		a->pending = 1;
	else
		auto_start(d);
}

int gc_policy_start(struct daemon *d, struct ember_error *e)
{
	struct gc_auto *a = calloc(1, sizeof(*a));

	if (!a)
		return err_set(e, ENOMEM, "out of memory");
	d->gc_auto = a;
	return gc_policy_reconfigure(d, e);
}

int gc_policy_reconfigure(struct daemon *d, struct ember_error *e)
{
	struct gc_auto *a = d->gc_auto;
	long interval = d->cfg.gc.interval_s > 0 ? d->cfg.gc.interval_s : 60;

	if (!a)
		return 0;
	a->stuck_free = 0;
	if (!configured(&d->cfg.gc)) {
		a->timer = loop_source_free(a->timer);
		return 0;
	}
	if (a->timer && a->interval_s == interval)
		return 0;
	a->timer = loop_source_free(a->timer);
	a->interval_s = interval;
	/* Every interval (the first one after start-up or a reload). */
	a->timer = loop_add_timer(d->loop, (uint64_t)interval * 1000, (uint64_t)interval * 1000, on_tick, d, "gc policy", e);
	return a->timer ? 0 : -e->code;
}

void gc_policy_stop(struct daemon *d)
{
	struct gc_auto *a = d->gc_auto;

	if (!a)
		return;
	loop_source_free(a->timer);
	free(a);
	d->gc_auto = NULL;
}

/* ---- System.DiskUsage -------------------------------------------------------------------- */

struct df {
	struct daemon *d;
	char *ns;
	json_t *report;
};

static void df_free(void *data)
{
	struct df *x = data;

	json_decref(x->report);
	free(x->ns);
	free(x);
}

static int df_run(struct job *j, void *data, struct ember_error *e)
{
	struct df *x = data;
	struct gc_env env = x->d->gc;
	struct space *sp;

	(void)j;
	env.root_fd = x->d->root_fd;
	env.state_path = ENABLED(CONFIG_RUNTIME_DAEMON) ? x->d->state_path : NULL;
	if (space_build(&env, SPACE_MEASURE, &sp, e) < 0)
		return -e->code;
	x->report = space_report(sp, x->ns);
	space_free(sp);
	return x->report ? 0 : err_set(e, ENOMEM, "out of memory");
}

static json_t *df_reply(struct daemon *d, void *data)
{
	struct df *x = data;
	const struct gc_policy *pol = &d->cfg.gc;
	json_t *reply = json_incref(x->report);

	if (pol->free_low.n || pol->keep) {
		uint64_t size = (uint64_t)json_integer_value(json_object_get(reply, "size"));
		json_t *gc = json_pack("{s:I, s:I}", "keep", (json_int_t)pol->keep, "min_age", (json_int_t)pol->min_age_s);
		if (pol->free_low.n) {
			json_object_set_new(gc, "free_low", json_integer((json_int_t)config_gc_level_bytes(&pol->free_low, size)));
			json_object_set_new(gc, "free_high", json_integer((json_int_t)config_gc_level_bytes(&pol->free_high, size)));
		}
		json_object_set_new(reply, "policy", gc);
	}
	return reply;
}

static const struct call_job_ops df_ops = { .kind = "df", .run = df_run, .reply = df_reply, .free = df_free };

void gc_policy_disk_usage(struct daemon *d, struct api_call *call, const char *ns)
{
	struct df *x = calloc(1, sizeof(*x));

	if (!x || (ns && !(x->ns = strdup(ns)))) {
		free(x);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	x->d = d;
	call_job_start(d, call, &df_ops, x, ns ? ns : "", "disk usage");
}
