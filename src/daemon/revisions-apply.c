/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Apply, test, commit, roll back (revisions.h). One procedure per
 * namespace at a time, in the loop; what writes records runs as jobs.
 *
 * The journal is written before anything changes ("applying", with every
 * container record as it was and the ids that ran), so that whatever a
 * crash or a power cut interrupts, the next start rolls back to it. A
 * switch (to the revision, or back) is the same steps either way:
 *
 *   1. the containers whose record changes are stopped: their stop
 *      signal (SIGTERM), then SIGKILL to every process after stop_timeout;
 *   2. their tasks are deleted (state, cgroup);
 *   3. their records are written (a job): the target's, or removed;
 *   4. the containers that should run and do not are started, one after
 *      the other in the document's order.
 *
 * A container whose record is the same on both sides is not touched: it
 * keeps running, with the same pid. The old records' snapshots stay until
 * the commit, so a roll-back restarts the old containers on their own
 * data; the new revision's are removed by a roll-back.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/containers.h"
#include "daemon/daemon.h"
#include "daemon/images.h"
#include "daemon/jobs.h"
#include "daemon/networks.h"
#include "daemon/revisions.h"
#include "daemon/services.h"
#include "daemon/tasks.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/timestamp.h"

enum phase { PH_APPLYING, PH_TESTING, PH_DELAY, PH_ROLLING_BACK, PH_FINISHING };

struct rev_proc;

/* A task the switch waits for (its exit, its delete). */
struct stop_wait {
	struct rev_proc *p;
	char id[80];
	struct task_waiter *w;
	int done;
};

/* One container's health condition under test. */
struct probe {
	struct rev_proc *p;
	char id[80];
	json_t *health;
	int healthy;
	unsigned fails;
	struct task_waiter *exit_w;   /* the task's exit */
	struct task_waiter *probe_w;  /* the exec probe's exit */
	struct loop_source *timer;    /* running: its N s; exec: the next probe */
	struct loop_source *deadline; /* exec: the probe's timeout */
	pid_t probe_pid;
};

struct rev_proc {
	struct rev_proc *next;
	struct daemon *d;
	char ns[80], rev[80];
	enum phase phase;
	int refs; /* callbacks to come (tasks, jobs), and one while it lives */
	int dead;
	struct api_call *call; /* the apply's */
	struct api_call *ctl;  /* a commit's or roll-back's */
	int ctl_rollback;
	int wait;
	json_t *journal;  /* as last written */
	json_t *revision; /* the revision's record */
	/* the switch */
	json_t *target, *start; /* {id: record or null}; [ids to run] */
	json_t *changed;        /* [ids whose record changes] */
	json_t *replaced;       /* {id: its record before the switch, or null} */
	size_t next_start;
	struct stop_wait *stops;
	size_t nstops, pending;
	struct loop_source *timer; /* the stop timeout; the test's timeout; the commit delay */
	void (*switched)(struct rev_proc *p);
	char *failure; /* the switch's first */
	struct probe *probes;
	size_t nprobes;
	char *reason;
	int unexpected;
	uint64_t verdict_ms; /* when the roll-back began */
	uint64_t restored_ms; /* ... and when the old containers ran again */
	json_t *pids;         /* {id: the pid the apply started}: a restart meanwhile is an exit */
	size_t keep;         /* [revisions] keep, as the commit began (jobs do not read cfg) */
	/* the job in flight */
	int (*work)(struct rev_proc *p, struct ember_error *e);
	void (*then)(struct rev_proc *p, int rc, const struct ember_error *e);
};

static void proc_unref(struct rev_proc *p)
{
	if (--p->refs > 0)
		return;
	struct rev_proc **pp = &p->d->revs;
	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	json_decref(p->journal);
	json_decref(p->revision);
	json_decref(p->target);
	json_decref(p->start);
	json_decref(p->changed);
	json_decref(p->replaced);
	json_decref(p->pids);
	free(p->stops);
	free(p->probes);
	free(p->failure);
	free(p->reason);
	free(p);
}

static struct rev_proc *proc_find(struct daemon *d, const char *ns)
{
	for (struct rev_proc *p = d->revs; p; p = p->next)
		if (!p->dead && !strcmp(p->ns, ns))
			return p;
	return NULL;
}

int revisions_owns(struct daemon *d, const char *ns, const char *id)
{
	struct rev_proc *p = proc_find(d, ns);

	return p && (json_object_get(json_object_get(p->journal, "before"), id) || json_object_get(p->target, id));
}

static void call_gone(struct api_call *call, void *userdata)
{
	struct rev_proc *p = userdata;

	if (p->call == call)
		p->call = NULL;
	if (p->ctl == call)
		p->ctl = NULL;
}

/* A call's answer: the revision's record, or err. */
static void answer_one(struct rev_proc *p, struct api_call **call, const struct ember_error *err)
{
	struct ember_error e;
	json_t *rec;

	if (!*call)
		return;
	api_call_on_cancel(*call, NULL, NULL);
	if (err)
		api_error_from(*call, err);
	else if (revisions_get(p->d, p->ns, p->rev, &rec, &e) < 0)
		api_error_from(*call, &e);
	else
		api_reply(*call, json_pack("{s:o}", "revision", rec));
	*call = NULL;
}

static void answer(struct rev_proc *p, const struct ember_error *err)
{
	answer_one(p, &p->call, err);
}

/* ---- jobs ---------------------------------------------------------------------------------- */

static int step_run(struct job *j, void *data, struct ember_error *e)
{
	struct rev_proc *p = data;

	(void)j;
	return p->work(p, e);
}

static void step_done(struct daemon *d, void *data, int result, const struct ember_error *e)
{
	struct rev_proc *p = data;

	(void)d;
	if (!p->dead)
		p->then(p, result, e);
}

static void step_free(void *data)
{
	proc_unref(data);
}

static const struct call_job_ops step_ops = { .kind = "revision", .run = step_run, .done = step_done, .free = step_free };

/* work in a job (it reads p, which the loop leaves alone meanwhile), then
   then in the loop. */
static void step(struct rev_proc *p, int (*work)(struct rev_proc *, struct ember_error *),
		 void (*then)(struct rev_proc *, int, const struct ember_error *))
{
	p->work = work;
	p->then = then;
	p->refs++;
	if (!call_job_start(p->d, NULL, &step_ops, p, p->ns, p->rev)) {
		/* call_job_start() dropped the reference it was given (step_free). */
		struct ember_error e;
		err_set(&e, ENOMEM, "revision %s: cannot start a job", p->rev);
		then(p, -ENOMEM, &e);
	}
}

static int journal_write(struct rev_proc *p, struct ember_error *e)
{
	return revisions_journal_put(p->d, p->ns, p->journal, e);
}

/* ---- the switch ---------------------------------------------------------------------------- */

static void switch_fail(struct rev_proc *p, const char *fmt, const char *id, const char *msg)
{
	char buf[600];

	snprintf(buf, sizeof(buf), fmt, id, msg);
	log_warn(&p->d->log, "revision %s/%s: %s", p->ns, p->rev, buf);
	if (!p->failure)
		p->failure = strdup(buf);
}

static void switch_start_next(struct rev_proc *p);

static void started(struct daemon *d, struct task *t, pid_t pid, int pty, const struct ember_error *err,
		    void *userdata)
{
	struct rev_proc *p = userdata;

	(void)d;
	(void)t;
	(void)pid;
	close_keep_errno(pty);
	if (!p->dead) {
		const char *id = json_string_value(json_array_get(p->start, p->next_start));
		if (err)
			switch_fail(p, "container %s: start: %s", id, err->message);
		else if (p->phase == PH_APPLYING && p->pids)
			json_object_set_new(p->pids, id, json_integer(pid));
		p->next_start++;
		switch_start_next(p);
	}
	proc_unref(p);
}

/* 4. One at a time, in order; an apply stops at the first failure, a
   roll-back starts what it can. */
static void switch_start_next(struct rev_proc *p)
{
	int none[3] = { -1, -1, -1 };
	struct ember_error e;

	for (; p->next_start < json_array_size(p->start); p->next_start++) {
		if (p->failure && p->phase == PH_APPLYING)
			break;
		const char *id = json_string_value(json_array_get(p->start, p->next_start));
		struct task *t = task_find(p->d, p->ns, id);
		if (!json_object_get(p->target, id) || json_is_null(json_object_get(p->target, id)) ||
		    (t && t->state != TASK_STOPPED))
			continue;
		p->refs++;
		if (task_start(p->d, p->ns, id, none, 0, NULL, started, p, &e) == 0)
			return;
		p->refs--;
		switch_fail(p, "container %s: start: %s", id, e.message);
	}
	p->switched(p);
}

/* 3. In a job: each changed container's record becomes the target's. */
static int switch_records(struct rev_proc *p, struct ember_error *e)
{
	json_t *v;
	size_t i;

	json_array_foreach(p->changed, i, v) {
		const char *id = json_string_value(v);
		json_t *want = json_object_get(p->target, id);
		_cleanup_(json_decrefp) json_t *cur = NULL, *rec = NULL;
		if (container_get(p->d, p->ns, id, &cur, e) < 0 && e->code != ENOENT)
			return err_wrap(e, "container %s", id);
		if (json_is_null(want) || !want) {
			if (cur && meta_object_delete(&p->d->meta, p->ns, "containers", "container", id, e) < 0 &&
			    e->code != ENOENT)
				return err_wrap(e, "container %s", id);
			continue;
		}
		if (!(rec = json_deep_copy(want)))
			return err_set(e, ENOMEM, "out of memory");
		/* A revision's snapshot a roll-back or a remove took: prepared again. */
		const char *key = json_string_value(json_object_get(rec, "snapshot_key"));
		struct snapshotter *sn;
		_cleanup_(json_decrefp) json_t *snap = NULL;
		if (key && (sn = snapshots_get(p->d, json_string_value(json_object_get(rec, "snapshotter")), e)) &&
		    snapshot_get(sn, p->ns, key, &snap, e) < 0) {
			if (e->code != ENOENT || strcmp(json_string_value(json_object_get(rec, "revision")) ?: "", p->rev))
				return err_wrap(e, "container %s", id);
			json_t *c = NULL, *x, *doc = json_object_get(p->revision, "document");
			size_t k;
			json_array_foreach(json_object_get(doc, "containers"), k, x)
				if (!strcmp(json_string_value(json_object_get(x, "id")), id))
					c = x;
			struct restart rp;
			struct container_create cc = {
				.namespace = p->ns, .id = id, .image = json_string_value(json_object_get(c, "image")),
				.snapshotter = json_string_value(json_object_get(c, "snapshotter")),
				.platform = json_string_value(json_object_get(c, "platform")),
				.restart = json_string_value(json_object_get(c, "restart")),
				.options = json_object_get(c, "options"), .labels = json_object_get(c, "labels"),
			};
			json_t *fresh;
			if (!c || restart_parse(cc.restart, &rp, e) < 0 ||
			    container_prepare(p->d, &cc, &rp, key, p->rev, &fresh, e) < 0)
				return c ? err_wrap(e, "container %s", id)
					 : err_set(e, ENOENT, "container %s: not in revision %s", id, p->rev);
			json_decref(fresh); /* the staged record says the same */
		} else if (key && !sn) {
			return err_wrap(e, "container %s", id);
		}
		/* Its address: the one it had on the same network, else a lease. */
		json_t *net = json_object_get(rec, "network"), *had = json_object_get(cur, "network");
		const char *addr = json_string_value(json_object_get(had, "address"));
		if (net && !json_object_get(net, "address")) {
			if (addr && json_equal(json_object_get(net, "network"), json_object_get(had, "network")))
				json_object_set_new(net, "address", json_string(addr));
			else if (networks_lease(p->d, p->ns, id, net, e) < 0)
				return err_wrap(e, "container %s", id);
		}
		if (meta_object_put(&p->d->meta, p->ns, "containers", id, rec, e) < 0)
			return err_wrap(e, "container %s", id);
		/* What the next switch compares: the record as written. */
		json_object_set(p->target, id, rec);
	}
	return 0;
}

static void switch_recorded(struct rev_proc *p, int rc, const struct ember_error *e)
{
	if (rc < 0) {
		switch_fail(p, "%s%s", "", e->message);
		if (p->phase == PH_APPLYING) {
			p->switched(p);
			return;
		}
	}
	p->next_start = 0;
	switch_start_next(p);
}

static void deleted(struct daemon *d, struct task *t, pid_t pid, int pty, const struct ember_error *err,
		    void *userdata)
{
	struct stop_wait *s = userdata;
	struct rev_proc *p = s->p;

	(void)d;
	(void)t;
	(void)pid;
	close_keep_errno(pty);
	if (!p->dead) {
		if (err)
			log_warn(&p->d->log, "revision %s/%s: container %s: delete its task: %s", p->ns, p->rev, s->id,
				 err->message);
		if (--p->pending == 0)
			step(p, switch_records, switch_recorded);
	}
	proc_unref(p);
}

/* 2. Every stopped task's state and cgroup go. */
static void switch_delete(struct rev_proc *p)
{
	struct ember_error e;

	p->timer = loop_source_free(p->timer);
	p->pending = 1;
	for (size_t i = 0; i < p->nstops; i++) {
		struct task *t = task_find(p->d, p->ns, p->stops[i].id);
		if (!t)
			continue;
		p->refs++;
		p->pending++;
		if (task_delete(t, deleted, &p->stops[i], &e) < 0) {
			p->refs--;
			p->pending--;
			log_warn(&p->d->log, "revision %s/%s: container %s: delete its task: %s", p->ns, p->rev,
				 p->stops[i].id, e.message);
		}
	}
	if (--p->pending == 0)
		step(p, switch_records, switch_recorded);
}

static void stopped(struct task *t, void *userdata)
{
	struct stop_wait *s = userdata;

	(void)t;
	s->w = NULL;
	if (s->done)
		return;
	s->done = 1;
	if (--s->p->pending == 0)
		switch_delete(s->p);
}

static void stop_timeout(struct loop_source *src, void *userdata)
{
	struct rev_proc *p = userdata;
	struct ember_error e;

	(void)src;
	p->timer = loop_source_free(p->timer);
	for (size_t i = 0; i < p->nstops; i++) {
		struct task *t = task_find(p->d, p->ns, p->stops[i].id);
		if (p->stops[i].done || !t)
			continue;
		log_warn(&p->d->log, "revision %s/%s: container %s did not stop in time: killed", p->ns, p->rev,
			 p->stops[i].id);
		if (task_kill(t, SIGKILL, 1, NULL, NULL, &e) < 0)
			log_warn(&p->d->log, "revision %s/%s: container %s: %s", p->ns, p->rev, p->stops[i].id, e.message);
	}
}

/* 1. The target, the ids to start in order; fn when done (p->failure
   says how it went). */
static void switch_to(struct rev_proc *p, json_t *target, json_t *start, void (*fn)(struct rev_proc *p))
{
	struct ember_error e;
	const char *id;
	json_t *want;

	json_decref(p->target);
	json_decref(p->start);
	json_decref(p->changed);
	json_decref(p->replaced);
	free(p->stops);
	p->nstops = 0;
	p->target = json_deep_copy(target);
	p->start = json_incref(start);
	p->changed = json_array();
	p->replaced = json_object();
	p->switched = fn;
	p->stops = calloc(json_object_size(target) + 1, sizeof(*p->stops));
	if (!p->target || !p->changed || !p->replaced || !p->stops) {
		switch_fail(p, "%s%s", "", "out of memory");
		fn(p);
		return;
	}
	json_object_foreach(p->target, id, want) {
		json_t *cur = NULL;
		if (container_get(p->d, p->ns, id, &cur, &e) < 0 && e.code != ENOENT) {
			switch_fail(p, "container %s: %s", id, e.message);
			fn(p);
			return;
		}
		int same = cur ? json_equal(cur, want) : json_is_null(want);
		if (same) {
			json_decref(cur);
			continue;
		}
		json_object_set_new(p->replaced, id, cur ? cur : json_null());
		json_array_append_new(p->changed, json_string(id));
		struct stop_wait *s = &p->stops[p->nstops++];
		s->p = p;
		snprintf(s->id, sizeof(s->id), "%s", id);
	}
	/* Every changed container stops at once: a roll-back is as quick as
	   the slowest, not the sum. */
	p->pending = 1;
	int sig_stop = 0;
	for (size_t i = 0; i < p->nstops; i++) {
		struct stop_wait *s = &p->stops[i];
		struct task *t = task_find(p->d, p->ns, s->id);
		if (!t) {
			s->done = 1;
			continue;
		}
		task_stopped_by_user(t);
		if (t->state == TASK_STOPPED) {
			s->done = 1;
			continue;
		}
		if (task_kill(t, SIGTERM, 0, NULL, NULL, &e) < 0)
			log_warn(&p->d->log, "revision %s/%s: container %s: %s", p->ns, p->rev, s->id, e.message);
		p->pending++;
		sig_stop = 1;
		s->w = task_wait(t, stopped, s);
	}
	if (sig_stop) {
		json_int_t secs = json_integer_value(
			json_object_get(json_object_get(p->revision, "document"), "stop_timeout"));
		p->timer = loop_add_timer(p->d->loop, (uint64_t)(secs > 0 ? secs : REVISION_DEFAULT_STOP_TIMEOUT) * 1000,
					  0, stop_timeout, p, "revision stop", &e);
	}
	if (--p->pending == 0)
		switch_delete(p);
}

/* ---- roll back ----------------------------------------------------------------------------- */

static void probes_stop(struct rev_proc *p);

static void history_add(struct rev_proc *p, const char *outcome)
{
	char now[TIMESTAMP_LEN];
	json_t *h = json_object_get(p->journal, "history");

	if (!json_is_array(h)) {
		h = json_array();
		json_object_set_new(p->journal, "history", h);
	}
	timestamp_now(now);
	json_t *entry = json_pack("{s:s, s:s, s:s}", "id", p->rev, "outcome", outcome, "at", now);
	if (entry && p->reason) {
		json_object_set_new(entry, "reason", json_string(p->reason));
		json_object_set_new(entry, "unexpected", json_boolean(p->unexpected));
	}
	json_array_append_new(h, entry);
	while (json_array_size(h) > REVISION_HISTORY)
		json_array_remove(h, 0);
}

static void journal_idle(json_t *j)
{
	json_object_set_new(j, "phase", json_string("idle"));
	json_object_del(j, "pending");
	json_object_del(j, "before");
	json_object_del(j, "running");
	json_object_del(j, "reason");
	json_object_del(j, "unexpected");
	json_object_del(j, "started_at");
}

/* In a job: the journal says it is over; the revision's snapshots and
   addresses that no record uses go. */
static int rollback_record(struct rev_proc *p, struct ember_error *e)
{
	const char *id;
	json_t *rec;

	history_add(p, "rolled-back");
	journal_idle(p->journal);
	if (journal_write(p, e) < 0)
		return -e->code;
	struct ember_error se;
	if (revisions_set_state(p->d, p->ns, p->rev, "rolled-back", p->reason, &se) < 0)
		log_warn(&p->d->log, "revision %s/%s: %s", p->ns, p->rev, se.message);
	revisions_unprepare_unused(p->d, p->ns, json_object_get(p->revision, "containers"));
	/* The addresses the revision's containers took, where the old ones
	   had others. */
	json_object_foreach(p->replaced, id, rec) {
		json_t *net = json_object_get(rec, "network");
		json_t *now = json_object_get(json_object_get(p->target, id), "network");
		if (!json_equal(json_object_get(now, "address"), json_object_get(net, "address")))
			networks_release(p->d, p->ns, id, net);
	}
	return 0;
}

static void rolled_back(struct rev_proc *p, int rc, const struct ember_error *e)
{
	struct ember_error err;

	if (rc < 0)
		log_warn(&p->d->log, "revision %s/%s: roll-back: %s", p->ns, p->rev, e->message);
	/* The figure: from the verdict to the old containers started again. */
	unsigned long long ms = (unsigned long long)(p->restored_ms - p->verdict_ms);
	log_info(&p->d->log, "revision %s/%s rolled back (the old containers ran again %llu ms after the verdict): %s",
		 p->ns, p->rev, ms, p->reason);
	events_publish(p->d, p->ns, "/revisions/rolled-back",
		       json_pack("{s:s, s:s, s:b, s:I}", "id", p->rev, "reason", p->reason, "unexpected", p->unexpected,
				 "ms", (json_int_t)ms));
	err_set_name(&err, EMBER_ERROR_FAILED_PRECONDITION, ECANCELED, "revision %s rolled back: %s", p->rev, p->reason);
	answer(p, &err);
	answer_one(p, &p->ctl, p->ctl_rollback ? NULL : &err);
	p->dead = 1;
	proc_unref(p);
}

static void rollback_switched(struct rev_proc *p)
{
	p->restored_ms = loop_now_ms();
	if (p->failure)
		log_warn(&p->d->log, "revision %s/%s: roll-back: %s", p->ns, p->rev, p->failure);
	p->phase = PH_FINISHING;
	step(p, rollback_record, rolled_back);
}

static void rollback_journaled(struct rev_proc *p, int rc, const struct ember_error *e)
{
	if (rc < 0)
		log_warn(&p->d->log, "revision %s/%s: journal: %s (rolling back all the same)", p->ns, p->rev, e->message);
	free(p->failure);
	p->failure = NULL;
	switch_to(p, json_object_get(p->journal, "before"), json_object_get(p->journal, "running"), rollback_switched);
}

static void rollback(struct rev_proc *p, const char *reason, int unexpected)
{
	probes_stop(p);
	p->timer = loop_source_free(p->timer);
	p->phase = PH_ROLLING_BACK;
	p->verdict_ms = loop_now_ms();
	free(p->reason);
	p->reason = strdup(reason);
	p->unexpected = unexpected;
	log_warn(&p->d->log, "revision %s/%s: rolling back: %s", p->ns, p->rev, reason);
	json_object_set_new(p->journal, "phase", json_string("rolling-back"));
	json_object_set_new(p->journal, "reason", json_string(reason));
	json_object_set_new(p->journal, "unexpected", json_boolean(unexpected));
	step(p, journal_write, rollback_journaled);
}

/* ---- commit -------------------------------------------------------------------------------- */

static int older_first(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return strcmp(json_string_value(json_object_get(x, "created_at")) ?: "",
		      json_string_value(json_object_get(y, "created_at")) ?: "");
}

/* Beyond [revisions] keep, the oldest that are not the committed one go. */
static void prune(struct rev_proc *p)
{
	_cleanup_(json_decrefp) json_t *list = NULL;
	struct ember_error e;
	json_t *old[256];
	size_t n = 0, i;
	json_t *r;

	if (revisions_list(p->d, p->ns, &list, &e) < 0)
		return;
	json_array_foreach(list, i, r) {
		const char *st = json_string_value(json_object_get(r, "state")) ?: "";
		if ((!strcmp(st, "superseded") || !strcmp(st, "rolled-back")) && n < ARRAY_SIZE(old))
			old[n++] = r;
	}
	qsort(old, n, sizeof(old[0]), older_first);
	size_t keep = p->keep;
	for (i = 0; n > keep && i < n - keep; i++) {
		const char *id = json_string_value(json_object_get(old[i], "name"));
		if (revisions_remove(p->d, p->ns, id, &e) < 0)
			log_warn(&p->d->log, "revision %s/%s: %s", p->ns, id, e.message);
	}
}

/* In a job: the one write that commits, then what the old revision
   leaves goes. */
static int commit_record(struct rev_proc *p, struct ember_error *e)
{
	_cleanup_(json_decrefp) json_t *before = json_incref(json_object_get(p->journal, "before"));
	_cleanup_free_ char *prev = NULL;
	struct ember_error se;
	const char *id;
	json_t *rec;

	if (json_string_value(json_object_get(p->journal, "committed")))
		prev = strdup(json_string_value(json_object_get(p->journal, "committed")));
	free(p->reason);
	p->reason = NULL;
	history_add(p, "committed");
	journal_idle(p->journal);
	json_object_set_new(p->journal, "committed", json_string(p->rev));
	if (journal_write(p, e) < 0)
		return -e->code;
	if (revisions_set_state(p->d, p->ns, p->rev, "committed", NULL, &se) < 0)
		log_warn(&p->d->log, "revision %s/%s: %s", p->ns, p->rev, se.message);
	if (prev && strcmp(prev, p->rev) && revisions_set_state(p->d, p->ns, prev, "superseded", NULL, &se) < 0 &&
	    se.code != ENOENT)
		log_warn(&p->d->log, "revision %s/%s: %s", p->ns, prev, se.message);
	/* The old containers' snapshots and addresses. */
	json_object_foreach(before, id, rec) {
		if (json_is_null(rec))
			continue;
		json_t *now = json_object_get(p->target, id);
		json_t *net = json_object_get(rec, "network");
		if (!json_equal(json_object_get(json_object_get(now, "network"), "address"), json_object_get(net, "address")))
			networks_release(p->d, p->ns, id, net);
	}
	revisions_unprepare_unused(p->d, p->ns, before);
	revisions_unprepare_unused(p->d, p->ns, json_object_get(p->revision, "containers"));
	prune(p);
	return 0;
}

static void committed(struct rev_proc *p, int rc, const struct ember_error *e)
{
	if (rc < 0) {
		/* Not committed: the journal still says testing, so the next
		   start would roll back. Do it now. */
		char why[600];
		snprintf(why, sizeof(why), "commit: %s", e->message);
		p->phase = PH_TESTING;
		rollback(p, why, 0);
		return;
	}
	log_info(&p->d->log, "revision %s/%s committed", p->ns, p->rev);
	events_publish(p->d, p->ns, "/revisions/committed", json_pack("{s:s}", "id", p->rev));
	answer(p, NULL);
	answer_one(p, &p->ctl, NULL);
	p->dead = 1;
	proc_unref(p);
}

static void commit(struct rev_proc *p)
{
	probes_stop(p);
	p->timer = loop_source_free(p->timer);
	p->phase = PH_FINISHING;
	p->keep = (size_t)p->d->cfg.revisions_keep;
	step(p, commit_record, committed);
}

/* ---- the test ------------------------------------------------------------------------------ */

static void verdict(struct rev_proc *p, const char *fmt, ...) ERR_PRINTF(2, 3);

static void verdict(struct rev_proc *p, const char *fmt, ...)
{
	char why[600];
	va_list ap;

	if (p->phase != PH_TESTING && p->phase != PH_DELAY)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	rollback(p, why, 0);
}

static void commit_delay_over(struct loop_source *src, void *userdata)
{
	struct rev_proc *p = userdata;

	(void)src;
	p->timer = loop_source_free(p->timer);
	commit(p);
}

static void all_healthy(struct rev_proc *p);

static void healthy(struct probe *pr)
{
	struct rev_proc *p = pr->p;

	if (pr->healthy)
		return;
	pr->healthy = 1;
	pr->timer = loop_source_free(pr->timer);
	pr->deadline = loop_source_free(pr->deadline);
	events_publish(p->d, p->ns, "/revisions/healthy", json_pack("{s:s, s:s}", "id", p->rev, "container", pr->id));
	for (size_t i = 0; i < p->nprobes; i++)
		if (!p->probes[i].healthy)
			return;
	all_healthy(p);
}

/* Every condition holds: commit, after commit_delay (still watched). */
static void all_healthy(struct rev_proc *p)
{
	struct ember_error e;

	p->timer = loop_source_free(p->timer);
	json_int_t delay = json_integer_value(json_object_get(json_object_get(p->revision, "document"), "commit_delay"));
	if (delay <= 0) {
		commit(p);
		return;
	}
	/* Still watched meanwhile: an exit now is a roll-back too. */
	p->phase = PH_DELAY;
	p->timer = loop_add_timer(p->d->loop, (uint64_t)delay * 1000, 0, commit_delay_over, p, "revision commit", &e);
	if (!p->timer)
		commit(p);
}

static void task_ended(struct task *t, void *userdata)
{
	struct probe *pr = userdata;
	json_t *want = json_object_get(pr->health, "exited");

	pr->exit_w = NULL;
	if (want && !pr->healthy) {
		if (t->exit.code == json_integer_value(want))
			healthy(pr);
		else
			verdict(pr->p, "container %s exited with code %d, not %lld", pr->id, t->exit.code,
				(long long)json_integer_value(want));
		return;
	}
	if (!want)
		verdict(pr->p, "container %s exited (code %d) while revision %s was tested", pr->id, t->exit.code,
			pr->p->rev);
}

static void ran_long_enough(struct loop_source *src, void *userdata)
{
	(void)src;
	healthy(userdata);
}

static void probe_fire(struct loop_source *src, void *userdata);

static void probe_failed(struct probe *pr, const char *how)
{
	json_t *x = json_object_get(pr->health, "exec");
	json_int_t retries = json_integer_value(json_object_get(x, "retries"));

	pr->deadline = loop_source_free(pr->deadline);
	if (++pr->fails >= (unsigned)retries) {
		verdict(pr->p, "container %s: its health probe failed %u times (last: %s)", pr->id, pr->fails, how);
		return;
	}
}

static void probe_ended(struct task *t, void *userdata)
{
	struct probe *pr = userdata;
	struct task_exec *x = t ? task_exec_find(t, "revision-health") : NULL;
	char how[64];

	pr->probe_w = NULL;
	pr->probe_pid = 0;
	pr->deadline = loop_source_free(pr->deadline);
	if (pr->healthy)
		return;
	if (x && x->exit.code == 0 && !x->exit.signal) {
		healthy(pr);
		return;
	}
	snprintf(how, sizeof(how), x && x->exit.signal ? "signal %d" : "exit code %d",
		 x ? (x->exit.signal ? x->exit.signal : x->exit.code) : -1);
	probe_failed(pr, how);
}

static void probe_late(struct loop_source *src, void *userdata)
{
	struct probe *pr = userdata;

	(void)src;
	pr->deadline = loop_source_free(pr->deadline);
	/* Its exit counts the failure. */
	if (pr->probe_pid > 0)
		(void)kill(pr->probe_pid, SIGKILL);
}

static void probe_started(struct daemon *d, struct task *t, pid_t pid, int pty, const struct ember_error *err,
			  void *userdata)
{
	struct probe *pr = userdata;
	struct rev_proc *p = pr->p;
	struct ember_error e;

	(void)d;
	close_keep_errno(pty);
	if (!p->dead && !pr->healthy && (p->phase == PH_TESTING || p->phase == PH_DELAY)) {
		struct task_exec *x = t && !err ? task_exec_find(t, "revision-health") : NULL;
		if (!x) {
			probe_failed(pr, err ? err->message : "it did not start");
		} else {
			pr->probe_pid = pid;
			json_int_t to = json_integer_value(json_object_get(json_object_get(pr->health, "exec"), "timeout"));
			pr->deadline = loop_add_timer(p->d->loop, (uint64_t)to * 1000, 0, probe_late, pr, "health probe", &e);
			pr->probe_w = task_exec_wait(x, probe_ended, pr);
		}
	}
	proc_unref(p);
}

static void probe_fire(struct loop_source *src, void *userdata)
{
	struct probe *pr = userdata;
	struct rev_proc *p = pr->p;
	struct ember_error e;
	json_t *rec = NULL;
	struct task *t = task_find(p->d, p->ns, pr->id);

	(void)src;
	if (pr->probe_w || pr->probe_pid || !t || t->state != TASK_RUNNING)
		return; /* the last one still runs; an exit is the task's waiter's */
	if (container_get(p->d, p->ns, pr->id, &rec, &e) < 0) {
		probe_failed(pr, e.message);
		return;
	}
	json_t *proc = json_deep_copy(json_object_get(json_object_get(rec, "spec"), "process"));
	json_decref(rec);
	if (!proc) {
		probe_failed(pr, "out of memory");
		return;
	}
	json_object_set(proc, "args", json_object_get(json_object_get(pr->health, "exec"), "cmd"));
	json_object_set_new(proc, "terminal", json_false());
	json_object_del(proc, "consoleSize");
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int io[3] = { null, null >= 0 ? dup(null) : -1, null >= 0 ? dup(null) : -1 };
	p->refs++;
	int r = task_exec_start(t, "revision-health", proc, NULL, io, probe_started, pr, &e);
	json_decref(proc);
	if (r < 0) {
		p->refs--;
		probe_failed(pr, e.message);
	}
}

static void test_timeout(struct loop_source *src, void *userdata)
{
	struct rev_proc *p = userdata;
	char names[400] = "";

	(void)src;
	p->timer = loop_source_free(p->timer);
	for (size_t i = 0; i < p->nprobes; i++)
		if (!p->probes[i].healthy) {
			size_t n = strlen(names);
			snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "", p->probes[i].id);
		}
	json_int_t secs = json_integer_value(json_object_get(json_object_get(p->revision, "document"), "test_timeout"));
	verdict(p, "timed out after %lld s: not healthy: %s", (long long)secs, names);
}

static void probes_stop(struct rev_proc *p)
{
	for (size_t i = 0; i < p->nprobes; i++) {
		struct probe *pr = &p->probes[i];
		struct task *t = task_find(p->d, p->ns, pr->id);
		pr->timer = loop_source_free(pr->timer);
		pr->deadline = loop_source_free(pr->deadline);
		if (pr->exit_w && t)
			task_wait_cancel(t, pr->exit_w);
		struct task_exec *x = t ? task_exec_find(t, "revision-health") : NULL;
		if (pr->probe_w && x)
			task_exec_wait_cancel(x, pr->probe_w);
		if (pr->probe_pid > 0)
			(void)kill(pr->probe_pid, SIGKILL);
		pr->exit_w = pr->probe_w = NULL;
		pr->probe_pid = 0;
	}
	free(p->probes);
	p->probes = NULL;
	p->nprobes = 0;
}

static void test_begin(struct rev_proc *p, int rc, const struct ember_error *e)
{
	json_t *doc = json_object_get(p->revision, "document"), *c;
	struct ember_error err;
	size_t i;

	if (rc < 0) {
		char why[600];
		snprintf(why, sizeof(why), "journal: %s", e->message);
		rollback(p, why, 0);
		return;
	}
	p->phase = PH_TESTING;
	p->nprobes = json_array_size(json_object_get(doc, "containers"));
	p->probes = calloc(p->nprobes + 1, sizeof(*p->probes));
	if (!p->probes) {
		p->nprobes = 0;
		rollback(p, "out of memory", 0);
		return;
	}
	events_publish(p->d, p->ns, "/revisions/testing",
		       json_pack("{s:s, s:O}", "id", p->rev, "test_timeout", json_object_get(doc, "test_timeout")));
	if (!p->wait)
		answer(p, NULL);
	json_int_t secs = json_integer_value(json_object_get(doc, "test_timeout"));
	p->timer = loop_add_timer(p->d->loop, (uint64_t)secs * 1000, 0, test_timeout, p, "revision test", &err);
	if (!p->timer) {
		rollback(p, err.message, 0);
		return;
	}
	json_array_foreach(json_object_get(doc, "containers"), i, c) {
		struct probe *pr = &p->probes[i];
		pr->p = p;
		snprintf(pr->id, sizeof(pr->id), "%s", json_string_value(json_object_get(c, "id")));
		pr->health = json_object_get(json_object_get(p->revision, "health"), pr->id);
		if (!pr->health)
			pr->health = json_object_get(c, "health");
	}
	/* Verdicts may come at once (a one-shot job already ended): each
	   probe set up before any can roll back. */
	for (i = 0; i < p->nprobes && p->phase == PH_TESTING; i++) {
		struct probe *pr = &p->probes[i];
		struct task *t = task_find(p->d, p->ns, pr->id);
		json_t *run = json_object_get(pr->health, "running"), *x = json_object_get(pr->health, "exec");
		/* Started by the apply and restarted since (its policy, after an
		   exit while the next ones started): that exit counts. */
		json_t *started_pid = json_object_get(p->pids, pr->id);
		if (t && started_pid && t->pid != (pid_t)json_integer_value(started_pid) &&
		    !json_object_get(pr->health, "exited")) {
			verdict(p, "container %s exited and was restarted while revision %s was applied", pr->id, p->rev);
			return;
		}
		if (!t || (t->state == TASK_STOPPED && !json_object_get(pr->health, "exited"))) {
			/* It ended already (while the next ones started). */
			if (t && t->exit.known)
				verdict(p, "container %s exited (code %d) while revision %s was tested", pr->id,
					t->exit.code, p->rev);
			else
				verdict(p, "container %s is not running", pr->id);
			return;
		}
		if (run)
			pr->timer = loop_add_timer(p->d->loop, (uint64_t)json_integer_value(run) * 1000, 0, ran_long_enough,
						   pr, "health", &err);
		else if (x)
			pr->timer = loop_add_timer(
				p->d->loop, (uint64_t)json_integer_value(json_object_get(x, "interval")) * 1000,
				(uint64_t)json_integer_value(json_object_get(x, "interval")) * 1000, probe_fire, pr, "health",
				&err);
		if ((run || x) && !pr->timer) {
			verdict(p, "container %s: %s", pr->id, err.message);
			return;
		}
		pr->exit_w = task_wait(t, task_ended, pr);
	}
	/* Nothing to wait for (a revision of no container): healthy now. */
	if (p->nprobes == 0 && p->phase == PH_TESTING)
		all_healthy(p);
}

static int testing_record(struct rev_proc *p, struct ember_error *e)
{
	json_object_set_new(p->journal, "phase", json_string("testing"));
	if (journal_write(p, e) < 0)
		return -e->code;
	return revisions_set_state(p->d, p->ns, p->rev, "testing", NULL, e);
}

static void apply_switched(struct rev_proc *p)
{
	if (p->failure) {
		char why[600];
		snprintf(why, sizeof(why), "%s", p->failure);
		rollback(p, why, 0);
		return;
	}
	step(p, testing_record, test_begin);
}

static void apply_journaled(struct rev_proc *p, int rc, const struct ember_error *e)
{
	if (rc < 0) {
		/* Nothing changed: the apply is refused. */
		answer(p, e);
		p->dead = 1;
		proc_unref(p);
		return;
	}
	events_publish(p->d, p->ns, "/revisions/applying", json_pack("{s:s}", "id", p->rev));
	p->pids = json_object();
	json_t *target = json_object(), *start = json_array(), *c;
	const char *id;
	json_t *rec;
	size_t i;
	json_object_foreach(json_object_get(p->journal, "before"), id, rec)
		json_object_set_new(target, id, json_null());
	json_array_foreach(json_object_get(json_object_get(p->revision, "document"), "containers"), i, c) {
		id = json_string_value(json_object_get(c, "id"));
		json_t *staged = json_object_get(json_object_get(p->revision, "containers"), id);
		json_t *was = json_object_get(json_object_get(p->journal, "before"), id);
		/* The same definition: the container as it is, running on. */
		int same = json_is_object(was) &&
			   json_equal(json_object_get(was, "definition"), json_object_get(staged, "definition"));
		json_object_set(target, id, same ? was : staged);
		json_array_append_new(start, json_string(id));
	}
	switch_to(p, target, start, apply_switched);
	json_decref(target);
	json_decref(start);
}

static struct rev_proc *proc_new(struct daemon *d, const char *ns, const char *id, json_t *journal, json_t *revision)
{
	struct rev_proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->d = d;
	p->refs = 1;
	snprintf(p->ns, sizeof(p->ns), "%s", ns);
	snprintf(p->rev, sizeof(p->rev), "%s", id);
	p->journal = journal;
	p->revision = revision;
	p->next = d->revs;
	d->revs = p;
	return p;
}

void revisions_apply(struct daemon *d, struct api_call *call, const char *ns, const char *id, int wait, int force)
{
	struct ember_error e;
	json_t *rev = NULL, *journal = NULL, *list = NULL, *locks = NULL, *c;
	size_t i;
	char key[200];

	struct rev_proc *busy = proc_find(d, ns);
	if (busy) {
		api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL, "namespace %s: revision %s is being applied", ns,
			  busy->rev);
		return;
	}
	snprintf(key, sizeof(key), "%s/%s", ns, id);
	if (json_object_get(d->revisions_busy, key)) {
		api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL, "revision %s is being staged or removed", id);
		return;
	}
	if (revisions_get(d, ns, id, &rev, &e) < 0 || revisions_journal_get(d, ns, &journal, &e) < 0 ||
	    revisions_locks_get(d, ns, &locks, &e) < 0 || meta_object_list(&d->meta, ns, "containers", &list, &e) < 0)
		goto fail;
	if (!strcmp(json_string_value(json_object_get(journal, "committed")) ?: "", id)) {
		err_set_name(&e, EMBER_ERROR_FAILED_PRECONDITION, EALREADY, "revision %s is the committed one already", id);
		goto fail;
	}
	if (json_object_size(locks) && !force) {
		const char *holder = json_object_iter_key(json_object_iter(locks));
		const char *why = json_string_value(json_object_get(json_object_get(locks, holder), "reason"));
		err_set_name(&e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY,
			     "namespace %s is locked for updates by %s%s%s%s: wait for `ember revisions unlock`, or "
			     "apply --force",
			     ns, holder, why ? " (" : "", why ?: "", why ? ")" : "");
		goto fail;
	}
	json_t *before = json_object(), *running = json_array();
	json_object_set_new(journal, "before", before);
	json_object_set_new(journal, "running", running);
	json_array_foreach(list, i, c) {
		const char *cid = json_string_value(json_object_get(c, "name"));
		snprintf(key, sizeof(key), "%s/%s", ns, cid ?: "");
		if (!cid || json_object_get(d->containers_busy, key)) {
			err_set_name(&e, EMBER_ERROR_FAILED_PRECONDITION, EBUSY, "container %s is being %s", cid ?: "?",
				     json_string_value(json_object_get(d->containers_busy, key)) ?: "changed");
			goto fail;
		}
		json_object_set(before, cid, c);
		struct task *t = task_find(d, ns, cid);
		if (t && t->state != TASK_STOPPED)
			json_array_append_new(running, json_string(cid));
	}
	json_array_foreach(json_object_get(json_object_get(rev, "document"), "containers"), i, c) {
		const char *cid = json_string_value(json_object_get(c, "id"));
		if (!json_object_get(before, cid))
			json_object_set_new(before, cid, json_null());
	}
	char now[TIMESTAMP_LEN];
	timestamp_now(now);
	json_object_set_new(journal, "phase", json_string("applying"));
	json_object_set_new(journal, "pending", json_string(id));
	json_object_set_new(journal, "started_at", json_string(now));
	struct rev_proc *p = proc_new(d, ns, id, journal, rev);
	if (!p) {
		err_set(&e, ENOMEM, "out of memory");
		goto fail;
	}
	json_decref(list);
	json_decref(locks);
	p->call = call;
	p->wait = wait;
	api_call_on_cancel(call, call_gone, p);
	step(p, journal_write, apply_journaled);
	return;
fail:
	json_decref(rev);
	json_decref(journal);
	json_decref(list);
	json_decref(locks);
	api_error_from(call, &e);
}

static struct rev_proc *testing(struct daemon *d, struct api_call *call, const char *ns)
{
	struct rev_proc *p = proc_find(d, ns);

	if (p && (p->phase == PH_TESTING || p->phase == PH_DELAY))
		return p;
	if (p)
		api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL, "namespace %s: revision %s is %s: try when it is tested",
			  ns, p->rev, p->phase == PH_APPLYING ? "being applied" : "finishing");
	else
		api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL, "namespace %s: no revision is being tested", ns);
	return NULL;
}

/* A manual end is answered when it is done; an apply's caller that
   waits hears the outcome too. */
static int take_call(struct rev_proc *p, struct api_call *call, int rollback)
{
	if (p->ctl) {
		api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL, "revision %s: another commit or roll-back runs",
			  p->rev);
		return -1;
	}
	p->ctl = call;
	p->ctl_rollback = rollback;
	api_call_on_cancel(call, call_gone, p);
	return 0;
}

void revisions_commit(struct daemon *d, struct api_call *call, const char *ns)
{
	struct rev_proc *p = testing(d, call, ns);

	if (!p || take_call(p, call, 0) < 0)
		return;
	commit(p);
}

void revisions_rollback(struct daemon *d, struct api_call *call, const char *ns, const char *reason)
{
	struct rev_proc *p = testing(d, call, ns);
	char why[400];

	if (!p || take_call(p, call, 1) < 0)
		return;
	snprintf(why, sizeof(why), "rolled back by a user%s%s", reason ? ": " : "", reason ?: "");
	rollback(p, why, 0);
}

/* ---- start-up and shutdown ---------------------------------------------------------------- */

static int recover_one(const char *ns, json_t *journal, void *userdata)
{
	struct daemon *d = userdata;
	const char *phase = json_string_value(json_object_get(journal, "phase")) ?: "idle";
	const char *id = json_string_value(json_object_get(journal, "pending"));
	struct ember_error e;
	json_t *rev = NULL;
	char why[300];

	if (!strcmp(phase, "idle") || !id)
		return 0;
	if (revisions_get(d, ns, id, &rev, &e) < 0) {
		/* Its containers' records are what the roll-back needs: they are
		   in the journal. An empty record serves. */
		rev = json_pack("{s:s}", "name", id);
	}
	if (!strcmp(phase, "rolling-back") && json_string_value(json_object_get(journal, "reason")))
		snprintf(why, sizeof(why), "%s", json_string_value(json_object_get(journal, "reason")));
	else
		snprintf(why, sizeof(why), "the daemon stopped while revision %s was %s (a crash, a kill or a power loss)",
			 id, !strcmp(phase, "testing") ? "tested" : "applied");
	struct rev_proc *p = rev ? proc_new(d, ns, id, json_incref(journal), rev) : NULL;
	if (!p) {
		json_decref(rev);
		return -ENOMEM;
	}
	p->phase = PH_TESTING;
	log_warn(&d->log, "revision %s/%s: %s: rolling back", ns, id, why);
	rollback(p, why, 1);
	return 0;
}

struct sweep {
	struct daemon *d;
	json_t *gone; /* [[ns, key]] */
	char ns[NAME_MAX + 1]; /* whose container keys "used" holds */
	json_t *used;	       /* {snapshot_key: true} of ns's containers */
};

/* The snapshot keys ns's containers use, listed once a namespace (the
   walk goes namespace by namespace). */
static json_t *sweep_used(struct sweep *w, const char *ns)
{
	_cleanup_(json_decrefp) json_t *list = NULL;
	struct ember_error e;
	json_t *c;
	size_t i;

	if (w->used && !strcmp(w->ns, ns))
		return w->used;
	json_decref(w->used);
	w->used = NULL;
	if (strlen(ns) >= sizeof(w->ns) || meta_object_list(&w->d->meta, ns, "containers", &list, &e) < 0 ||
	    !(w->used = json_object()))
		return NULL;
	snprintf(w->ns, sizeof(w->ns), "%s", ns);
	json_array_foreach(list, i, c) {
		const char *key = json_string_value(json_object_get(c, "snapshot_key"));
		if (key)
			json_object_set_new(w->used, key, json_true());
	}
	return w->used;
}

static int names_key(json_t *recs, const char *key)
{
	const char *id;
	json_t *rec;

	json_object_foreach(recs, id, rec)
		if (!strcmp(json_string_value(json_object_get(rec, "snapshot_key")) ?: "", key))
			return 1;
	return 0;
}

/* A revision's snapshot that no container, revision or journal names: a
   stage or remove cut short. */
static int sweep_one(const char *ns, json_t *snap, void *userdata)
{
	struct sweep *w = userdata;
	const char *key = json_string_value(json_object_get(snap, "key"));
	const char *rev = json_string_value(json_object_get(json_object_get(snap, "labels"), REVISION_LABEL));
	_cleanup_(json_decrefp) json_t *r = NULL, *j = NULL;
	struct ember_error e;
	json_t *used;

	if (!key || !rev || strcmp(json_string_value(json_object_get(snap, "kind")) ?: "", "active"))
		return 0;
	/* Unsure (the list failed): keep it. */
	if (!(used = sweep_used(w, ns)) || json_object_get(used, key))
		return 0;
	if (revisions_get(w->d, ns, rev, &r, &e) == 0 ? names_key(json_object_get(r, "containers"), key)
						      : e.code != ENOENT)
		return 0;
	if (revisions_journal_get(w->d, ns, &j, &e) < 0 || names_key(json_object_get(j, "before"), key))
		return 0;
	json_array_append_new(w->gone, json_pack("[s, s]", ns, key));
	return 0;
}

int revisions_recover(struct daemon *d, struct ember_error *e)
{
	for (size_t i = 0; ENABLED(CONFIG_SNAPSHOTS_STORE) && i < ARRAY_SIZE(d->snapshotters); i++) {
		struct snapshotter *sn = d->snapshotters[i];
		json_t *g;
		size_t k;
		if (!sn)
			continue;
		struct sweep w = { .d = d, .gone = json_array() };
		int r = w.gone ? snapshot_walk_all(sn, sweep_one, &w, e) : err_set(e, ENOMEM, "out of memory");
		json_decref(w.used);
		if (r < 0) {
			json_decref(w.gone);
			return w.gone ? err_wrap(e, "revisions' snapshots") : r;
		}
		json_array_foreach(w.gone, k, g) {
			const char *ns = json_string_value(json_array_get(g, 0)), *key = json_string_value(json_array_get(g, 1));
			struct ember_error re;
			if (snapshot_remove(sn, ns, key, &re) == 0)
				log_info(&d->log, "recovery: snapshot %s/%s of no revision removed (a stage cut short)", ns, key);
		}
		json_decref(w.gone);
	}
	if (meta_object_walk_all(&d->meta, "journal", recover_one, d, e) < 0)
		return err_wrap(e, "revisions' journals");
	return 0;
}

void revisions_shutdown(struct daemon *d)
{
	for (struct rev_proc *p = d->revs, *next; p; p = next) {
		next = p->next;
		if (p->dead)
			continue;
		probes_stop(p);
		p->timer = loop_source_free(p->timer);
		for (size_t i = 0; i < p->nstops; i++) {
			struct task *t = task_find(d, p->ns, p->stops[i].id);
			if (p->stops[i].w && t)
				task_wait_cancel(t, p->stops[i].w);
			p->stops[i].w = NULL;
		}
		if (p->call)
			api_call_on_cancel(p->call, NULL, NULL);
		if (p->ctl)
			api_call_on_cancel(p->ctl, NULL, NULL);
		p->call = p->ctl = NULL;
		p->dead = 1;
		proc_unref(p);
	}
}
