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
 * Records: meta/<ns>/revisions/<id>.json {"name" (the id), "state", "document",
 * "images": {container id: {"name", "digest"}}, "created_at",
 * "updated_at"}, written with the store's crash rules. The images a
 * revision pins are garbage collection roots (gc.c, gc-space.c).
 */

#include <jansson.h>

#include <ember/error.h>

struct daemon;
struct meta;

#define REVISION_MAX_CONTAINERS 64
#define REVISION_MAX_ARGS 256
#define REVISION_DEFAULT_TEST_TIMEOUT 60
#define REVISION_DEFAULT_RUNNING 5

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
/* A staged revision goes (its images are no longer held by it). */
int revisions_remove(struct daemon *d, const char *ns, const char *id, struct ember_error *e);

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
