/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_GC_POLICY_H
#define EMBER_DAEMON_GC_POLICY_H

/*
 * The image removal policy ([gc] of config.toml, struct gc_policy) and the
 * disk usage report, as jobs (gc-policy.c over the model of gc-space.c).
 * Loop only.
 */

#include "daemon/daemon.h"
#include "daemon/server.h"

#ifdef CONFIG_CONTENT_STORE
/* The timer of automatic passes (when [gc] asks for any); _reconfigure
   after d->cfg.gc changed (SIGHUP). */
int gc_policy_start(struct daemon *d, struct ember_error *e);
int gc_policy_reconfigure(struct daemon *d, struct ember_error *e);
void gc_policy_stop(struct daemon *d);
/* An event was published: an image stored or a container deleted starts
   a pass (or another one after the running one). */
void gc_policy_notice(struct daemon *d, const char *topic);
/* Content.GarbageCollect: with policy, the policy's images go first
   (dry_run: nothing goes; the reply says what would). Answers the call. */
void gc_policy_call(struct daemon *d, struct api_call *call, int dry_run, int policy);
/* System.DiskUsage (ns NULL: every namespace). Answers the call. */
void gc_policy_disk_usage(struct daemon *d, struct api_call *call, const char *ns);
#else
static inline int gc_policy_start(struct daemon *d, struct ember_error *e)
{
	(void)d;
	(void)e;
	return 0;
}
static inline int gc_policy_reconfigure(struct daemon *d, struct ember_error *e)
{
	(void)d;
	(void)e;
	return 0;
}
static inline void gc_policy_stop(struct daemon *d)
{
	(void)d;
}
static inline void gc_policy_notice(struct daemon *d, const char *topic)
{
	(void)d;
	(void)topic;
}
static inline void gc_policy_disk_usage(struct daemon *d, struct api_call *call, const char *ns)
{
	(void)d;
	(void)ns;
	api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "this ember was built without a content store");
}
#endif

#endif
