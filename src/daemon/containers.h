/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_CONTAINERS_H
#define EMBER_DAEMON_CONTAINERS_H

/* Containers.Create and .Delete as jobs (containers.c; see tasks.h for
   the records and the tasks). Each answers the call. */

#include <jansson.h>

#include "daemon/daemon.h"

struct api_call;

struct container_create {
	/* checkpoint: a checkpoint image (checkpoint_image_load()) instead
	   of image, spec and options: the container is made from its image
	   and spec, with its rw layer and CRIU images, for Tasks.Restore. */
	const char *namespace, *id, *image, *snapshotter, *platform, *rootfs, *restart, *checkpoint;
	json_t *spec, *options, *labels; /* borrowed; NULL when not given */
};

void containers_create(struct daemon *d, struct api_call *call, const struct container_create *p);
/* Its stopped task goes first; a running one refuses. */
void containers_delete(struct daemon *d, struct api_call *call, const char *ns, const char *id, int keep_snapshot);

struct restart;
/* In a job: the record Create would write for p (not written), with its
   snapshot prepared under key (Create's: the container's id; a
   revision's: ID@REVISION, labelled with revision) and its network's
   mode but no address yet. A leftover snapshot under key is replaced. On
   failure nothing is left. */
int container_prepare(struct daemon *d, const struct container_create *p, const struct restart *rp, const char *key,
		      const char *revision, json_t **out, struct ember_error *e);
/* Its snapshot removed (a prepare undone, or a record gone). */
void container_unprepare(struct daemon *d, const char *ns, json_t *rec);

/* Whether Create would take options (the run flags object): names what
   it would not. */
int containers_options_check(json_t *options, struct ember_error *e);

/* The label of a container's snapshot: its id. */
#define CONTAINER_LABEL "ember.io/container"

/* Start-up, before anything is served: active snapshots labelled for a
   container that has no record (a create or delete cut short) removed. */
int containers_recover(struct daemon *d, struct ember_error *e);

#endif
