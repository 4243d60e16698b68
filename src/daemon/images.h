/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_IMAGES_H
#define EMBER_DAEMON_IMAGES_H

/*
 * The daemon's images (images.c, images-archive.c, images-unpack.c): its
 * stores (the content store and the snapshotters), image names and
 * records, and the jobs over them: garbage collection, import (with its
 * unpack), export, and the unpack of an image already in the store. The
 * services (svc-images.c, svc-archive.c, svc-content.c, svc-snapshots.c)
 * parse parameters and reply; the work is here.
 *
 * Every function with a CONFIG_CONTENT_STORE part has a stub without it.
 */

#include <errno.h>
#include <jansson.h>

#include <ember/error.h>

#include "daemon/daemon.h"
#include "daemon/server.h"
#include "image/image.h"
#include "util/err.h"

struct api_call;
struct job;
struct snapshotter;

#ifdef CONFIG_CONTENT_STORE
/* Open the content store and every compiled-in snapshotter, recover them. */
int images_start(struct daemon *d, struct ember_error *e);
void images_stop(struct daemon *d);
#else
static inline int images_start(struct daemon *d, struct ember_error *e)
{
	(void)d;
	(void)e;
	return 0;
}
static inline void images_stop(struct daemon *d)
{
	(void)d;
}
#endif

/* Cancel every pull and push in progress, answering their calls
   (shutdown; svc-pull.c). */
/* A pull of the daemon's own ended: image (borrowed) or err. */
typedef void (*images_pull_fn)(struct daemon *d, json_t *image, const struct ember_error *err, void *userdata);
#ifdef CONFIG_PULL
void pulls_shutdown(struct daemon *d);
/* Pull reference into ns (unpacked into snapshotter, NULL: the default),
   as Images.Pull does with hosts.toml's settings; done reports in the
   loop, also at shutdown. 0: started; else nothing started. */
int images_pull(struct daemon *d, const char *ns, const char *reference, const char *snapshotter, const char *platform,
		int plain_http, images_pull_fn done, void *userdata, struct ember_error *e);
#else
static inline void pulls_shutdown(struct daemon *d)
{
	(void)d;
}
static inline int images_pull(struct daemon *d, const char *ns, const char *reference, const char *snapshotter,
			      const char *platform, int plain_http, images_pull_fn done, void *userdata,
			      struct ember_error *e)
{
	(void)d;
	(void)ns;
	(void)snapshotter;
	(void)platform;
	(void)plain_http;
	(void)done;
	(void)userdata;
	return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ENOTSUP, "%s is not here and this ember cannot pull",
			    reference);
}
#endif

/* A snapshotter by name; NULL or "": the configured default. NotFound
   names the ones compiled in. */
struct snapshotter *snapshots_get(struct daemon *d, const char *name, struct ember_error *e);

/* A user's image name in canonical form ("busybox" -> docker.io/library/busybox:latest),
   or a copy of it when it is not a reference; malloc'd, NULL when out of memory. */
char *images_normalize(const char *name);

/* The image record's target (parsed); NotFound when there is no record. */
int images_target(struct daemon *d, const char *ns, const char *name, struct descriptor *t, struct ember_error *e);

/* Note that the image was used now: a record of its own beside the
   image's (meta/<ns>/images-used/, not the image record, which a pull may
   be rewriting); failures are ignored (the policy then thinks it older). */
#ifdef CONFIG_CONTENT_STORE
void images_touch(struct daemon *d, const char *ns, const char *name);
#else
static inline void images_touch(struct daemon *d, const char *ns, const char *name)
{
	(void)d;
	(void)ns;
	(void)name;
}
#endif

/* A new image record: name, target, labels (borrowed, NULL: none), times
   (created_at kept from old when replacing one). */
json_t *images_record(const char *name, const struct descriptor *target, json_t *labels, json_t *old);

/* How many snapshotters hold l's layers (its top chain ID) in ns; their
   names appended to names when not NULL. */
int images_unpacked_in(struct daemon *d, const char *ns, const struct image_layers *l, json_t *names);
/*
 * The chain ID of the top layer of image (a name in namespace ns, for
 * platform or the host's), which must be unpacked in sn (else
 * FailedPrecondition naming `ember images unpack`); *config (may be NULL)
 * gets the image config's "config" object or NULL. Reads files: callers
 * in the loop keep it to small documents already cached.
 */
int image_unpacked_top(struct daemon *d, struct snapshotter *sn, const char *ns, const char *image,
		       const char *platform, char top[DIGEST_MAX], json_t **config, struct ember_error *e);

/* Garbage collection as a job; done runs in the loop (st NULL on error). */
typedef void (*images_gc_fn)(struct daemon *d, const struct gc_stats *st, const struct ember_error *err,
			     void *userdata);
int images_gc(struct daemon *d, images_gc_fn done, void *userdata, struct ember_error *e);

/* ---- jobs that answer a call (each answers it, also on failure) ---- */

/* Images.Check: walk (and with verify, hash) the image's blobs. */
void images_check(struct daemon *d, struct api_call *call, const char *ns, const char *name, const char *platform,
		  int all_platforms, int verify);

struct images_import_args {
	const char *ns;
	const char *base_name;  /* NULL: none */
	json_t *labels;         /* borrowed; NULL: none */
	struct snapshotter *sn; /* unpack into it; NULL: --no-unpack */
	int fd;                 /* the archive: a file or a pipe, taken */
	int runnable_only;      /* with sn: fail (store nothing) unless an image runs here */
};
void images_import(struct daemon *d, struct api_call *call, const struct images_import_args *a);
/* May images be imported into ns? (Not into one that requires signed images.) */
int images_import_allowed(struct daemon *d, const char *ns, struct ember_error *e);
/* The same, in the thread of job j (whose events it posts); *images (if
   images is not NULL): the records written. */
int images_import_in(struct job *j, struct daemon *d, const struct images_import_args *a, json_t **images,
		     struct ember_error *e);

struct images_export_args {
	const char *ns;
	json_t *names;        /* borrowed */
	const char *platform; /* NULL: every platform the images have */
	int fd;               /* a regular file, taken */
};
void images_export(struct daemon *d, struct api_call *call, const struct images_export_args *a);

/* Unpack an image already in the store into sn. */
#ifdef CONFIG_IMAGE_UNPACK
void images_unpack(struct daemon *d, struct api_call *call, const char *ns, const char *name,
		   const char *platform, struct snapshotter *sn);
#else
static inline void images_unpack(struct daemon *d, struct api_call *call, const char *ns, const char *name,
				 const char *platform, struct snapshotter *sn)
{
	(void)d;
	(void)ns;
	(void)name;
	(void)platform;
	(void)sn;
	api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "this ember was built without unpacking");
}
#endif

#endif
