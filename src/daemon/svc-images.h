/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_SVC_IMAGES_H
#define EMBER_DAEMON_SVC_IMAGES_H

/* Shared by svc-images.c, svc-pull.c and svc-content.c. */

#include "daemon/daemon.h"
#include "image/image.h"

/* The namespace a call names, or "default". */
const char *images_namespace(const char *ns);
/* A user's image name in canonical form ("busybox" -> docker.io/library/busybox:latest),
   or a copy of it when it is not a reference; malloc'd. */
char *images_normalize(const char *name);
/* Walk the image; missing gets the first blob absent from the store ("" when whole). */
int images_check_complete(struct daemon *d, const struct descriptor *target, char missing[DIGEST_MAX],
			  struct ember_error *e);

#ifdef CONFIG_PULL
/* Cancel every pull in progress (daemon shutdown). */
void pulls_shutdown(struct daemon *d);
/* Every blob running pulls have stored or will store: GC keeps them. */
void pulls_foreach_digest(const struct daemon *d, void (*fn)(const char *digest, void *userdata),
			  void *userdata);
#ifdef CONFIG_PULL_UNPACK
struct unpacker;
/* 1 when a pull other than the one that except serves stores or will
   store the blob. */
int pulls_want_blob(const struct daemon *d, const char *digest, const struct unpacker *except);
#endif
#else
static inline void pulls_foreach_digest(const struct daemon *d, void (*fn)(const char *, void *), void *u)
{
	(void)d;
	(void)fn;
	(void)u;
}
#endif

#endif
