/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_REVISIONS_H
#define EMBER_DAEMON_REVISIONS_H

/*
 * Revisions (DESIGN.md §7b): the whole desired set of containers of a
 * namespace, as one document an OTA agent stages, applies, and the daemon
 * tests, then commits or rolls back.
 *
 * The document (io.ember.Revisions, README "Updating devices"):
 *
 *   {"id": "2027-01-15.1",              a revision's name (an identifier)
 *    "test_timeout": 60,                seconds the health conditions have (2..86400)
 *    "commit_delay": 0,                 seconds between healthy and committed
 *    "labels": {"k": "v"},
 *    "containers": [                    at most REVISION_MAX_CONTAINERS
 *      {"id": "web",                    the container's id, unique here
 *       "image": "example.com/web:2",   an image of the namespace (pinned by
 *                                       digest when staged)
 *       "snapshotter", "platform", "restart", "labels",
 *       "options": {...},               Containers.Create's options (the run flags)
 *       "health": one of {"running": N} (N s without a restart; the default,
 *                 REVISION_DEFAULT_RUNNING), {"exited": CODE} (a one-shot
 *                 job), {"exec": {"cmd": [...], "interval", "timeout",
 *                 "retries"}}, {"healthcheck": true} (the image config's)}]}
 *
 * Records: meta/<ns>/revisions/<id>.json {"name" (the id), "state"
 * (staged, testing, committed, rolled-back, superseded), "reason" (of a
 * roll-back), "document", "images": {container id: {"name", "digest"}},
 * "containers": {container id: the container record it installs},
 * "health": {container id: its condition, an image's Healthcheck made an
 * exec probe}, "created_at", "updated_at"}, written with the store's crash
 * rules. The images a revision pins are garbage collection roots (gc.c,
 * gc-space.c). Staging prepares each container's snapshot under the key
 * ID@REVISION (labelled REVISION_LABEL), so an apply only swaps records
 * and a roll-back finds the old containers' snapshots, with their data.
 *
 * The journal, meta/<ns>/journal/revisions.json, says what a boot must
 * do (revisions-apply.c): {"committed": the revision the namespace runs,
 * "phase": idle | applying | testing | rolling-back, "pending": the
 * revision being applied, "before": {container id: its record before the
 * apply, or null}, "running": [the ids whose task ran], "reason",
 * "unexpected", "locks": {holder: {"reason", "at"}}, "history": [...]}.
 * A phase other than idle at start-up is an interrupted apply: it is
 * rolled back ("unexpected"). The commit is the one write that sets
 * phase idle and committed to the new revision.
 */

#include <jansson.h>

#include <ember/error.h>

struct daemon;
struct meta;

#define REVISION_MAX_CONTAINERS 64
#define REVISION_MAX_ARGS 256
#define REVISION_DEFAULT_TEST_TIMEOUT 60
#define REVISION_DEFAULT_RUNNING 5
#define REVISION_DEFAULT_STOP_TIMEOUT 10
#define REVISION_HISTORY 16
/* The label of a snapshot a revision prepared: its id. */
#define REVISION_LABEL "ember.io/revision"

/* The document checked: unknown keys, wrong types, bad values, duplicate
   ids are refused with one line naming the field. *out: a new copy with
   the defaults filled in. */
int revision_doc_check(json_t *doc, json_t **out, struct ember_error *e);

/* Stage: check the document, pin each container's image (it must be in
   the namespace's store), record the revision as "staged". Staging the
   same document again is a no-op that returns the record; another
   document under the same id is AlreadyExists. *out: the record. */
int revisions_stage(struct daemon *d, const char *ns, json_t *doc, json_t **out, struct ember_error *e);
/* The records of a namespace, sorted by creation. */
int revisions_list(struct daemon *d, const char *ns, json_t **out, struct ember_error *e);
int revisions_get(struct daemon *d, const char *ns, const char *id, json_t **out, struct ember_error *e);
/* A revision that is not the committed one nor being applied goes (its
   images are no longer held by it, its prepared snapshots go). */
int revisions_remove(struct daemon *d, const char *ns, const char *id, struct ember_error *e);
/* The prepared snapshots of containers (a revision's records) that no
   container record names go. */
void revisions_unprepare_unused(struct daemon *d, const char *ns, json_t *containers);
/* The definition of document entry c with its image's digest: two
   containers are the same when theirs are equal. */
json_t *revision_definition(json_t *c, const char *digest);
/* Rewrite a revision's record with state (and reason, when not NULL). */
int revisions_set_state(struct daemon *d, const char *ns, const char *id, const char *state, const char *reason,
			struct ember_error *e);

/* The namespace's journal; a new empty one when there is none. */
int revisions_journal_get(struct daemon *d, const char *ns, json_t **out, struct ember_error *e);
int revisions_journal_put(struct daemon *d, const char *ns, json_t *journal, struct ember_error *e);
/* The update locks, meta/<ns>/journal/locks.json: {holder: {"reason",
   "at"}}; an apply waits for none (or is forced). */
int revisions_locks_get(struct daemon *d, const char *ns, json_t **out, struct ember_error *e);
/* Take (lock) or give back holder's lock. */
int revisions_lock(struct daemon *d, const char *ns, const char *holder, const char *reason, int lock,
		   struct ember_error *e);

/* ---- apply, test, commit, roll back (revisions-apply.c; the loop's) ---- */

struct api_call;

/* Switch ns to the staged revision id, then test it; the call is answered
   when the test begins, or (wait) with its outcome. force: despite locks. */
void revisions_apply(struct daemon *d, struct api_call *call, const char *ns, const char *id, int wait, int force);
/* End the test of ns now: commit it, or roll back (reason: the user's). */
void revisions_commit(struct daemon *d, struct api_call *call, const char *ns);
void revisions_rollback(struct daemon *d, struct api_call *call, const char *ns, const char *reason);

#if defined(CONFIG_REVISIONS) && defined(CONFIG_RUNTIME_DAEMON) && defined(CONFIG_CONTENT_STORE)
/* Start-up, after the tasks' adoption: an apply cut short is rolled back;
   snapshots prepared for no revision go. */
int revisions_recover(struct daemon *d, struct ember_error *e);
/* Whether an apply or roll-back of ns owns container id now (start-up's
   restart policies leave it alone). */
int revisions_owns(struct daemon *d, const char *ns, const char *id);
/* Shutdown: what is in progress is dropped (the journal makes the next
   start roll it back). */
void revisions_shutdown(struct daemon *d);
#else
static inline int revisions_recover(struct daemon *d, struct ember_error *e)
{
	(void)d;
	(void)e;
	return 0;
}
static inline int revisions_owns(struct daemon *d, const char *ns, const char *id)
{
	(void)d;
	(void)ns;
	(void)id;
	return 0;
}
static inline void revisions_shutdown(struct daemon *d)
{
	(void)d;
}
#endif

/* For garbage collection: fn(ns, revision id, image name, digest) for
   each image a revision of any namespace pins; non-zero stops. */
typedef int (*revision_image_fn)(const char *ns, const char *revision, const char *name, const char *digest,
				 void *userdata);
#if defined(CONFIG_REVISIONS) && defined(CONFIG_RUNTIME_DAEMON) && defined(CONFIG_CONTENT_STORE)
int revisions_walk_images(struct meta *m, revision_image_fn fn, void *userdata, struct ember_error *e);
#else
static inline int revisions_walk_images(struct meta *m, revision_image_fn fn, void *userdata, struct ember_error *e)
{
	(void)m;
	(void)fn;
	(void)userdata;
	(void)e;
	return 0;
}
#endif

#endif
