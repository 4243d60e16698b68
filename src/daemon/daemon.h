/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_H
#define EMBER_DAEMON_H

/*
 * The daemon role: state shared by the API handlers (daemon/svc-*.c).
 * One struct, owned by daemon_main(); nothing here is global.
 */

#include <stdint.h>
#include <jansson.h>

#include "daemon/config.h"
#include "daemon/loop.h"
#include "daemon/server.h"
#include "metadata/metadata.h"
#ifdef CONFIG_CONTENT_STORE
#include "content/content.h"
#endif
#ifdef CONFIG_PULL
#include "remote/remote.h"
#endif
#include "util/log.h"
#include "util/timestamp.h"

struct subscriber;

struct events {
	struct subscriber *head;
};

struct pull_call;
struct snapshotter;
struct unpacker;
struct unpack_work;
struct task;

struct daemon {
	struct logger log;
	struct daemon_config cfg;
	struct loop *loop;
	struct server *server;
	struct events events;
	struct meta meta;
#ifdef CONFIG_CONTENT_STORE
	struct content_store cs;
#endif
#ifdef CONFIG_PULL
	struct remote remote;
	struct pull_call *pulls; /* in progress */
#endif
#ifdef CONFIG_SNAPSHOTS_STORE
	struct snapshotter *snapshotters[2]; /* by position in snapshot_backends */
#endif
#ifdef CONFIG_PULL_UNPACK
	struct unpacker *unpackers;     /* at work */
	struct unpack_work *unpack_works; /* threads running */
#endif
#ifdef CONFIG_RUNTIME_DAEMON
	struct task *tasks; /* every task the daemon knows, running or stopped */
	int tasks_fd;       /* <state>/tasks */
	int self_fd;        /* the ember binary, for ember init; -1 */
	char *state_path;   /* the state directory, resolved */
#endif
	int images_up; /* images_start() succeeded */
	int root_fd;
	int lock_fd;
	int wrote_pidfile;
	uint64_t start_ms;
	char started_at[TIMESTAMP_LEN];
};

#ifdef CONFIG_DAEMON
int daemon_main(int argc, char **argv);
#else
static inline int daemon_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 127;
}
#endif

/* Publish an event to every subscriber whose filters match; takes
   ownership of payload. ns is the namespace the event concerns. */
void events_publish(struct daemon *d, const char *ns, const char *topic, json_t *payload);
/* End every event stream (daemon shutdown). */
void events_shutdown(struct daemon *d);

#ifdef CONFIG_CONTENT_STORE
/* Start-up and shutdown of the image services (svc-images.c). */
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

/* Embedded .varlink files (generated from src/api/idl/ when
   CONFIG_API_INTROSPECTION is on): the description of an interface, or NULL. */
struct idl_file {
	const char *interface;
	const char *text;
};
#ifdef CONFIG_API_INTROSPECTION
extern const struct idl_file idl_files[];
extern const unsigned idl_files_count;
const char *idl_lookup(const char *interface);
#else
static inline const char *idl_lookup(const char *interface)
{
	(void)interface;
	return NULL;
}
#endif

#endif
