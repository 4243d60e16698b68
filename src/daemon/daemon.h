/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_H
#define EMBER_DAEMON_H

/*
 * The daemon role: state shared by the API services (svc-*.c) and the
 * domain modules under them (jobs, holds, gc, unpacker, images, tasks).
 * One struct, owned by daemon_main(); nothing here is global. Every field
 * exists whatever the configuration: a feature that is compiled out leaves
 * its fields empty, and code asks ENABLED(CONFIG_X), not #ifdef.
 *
 * Threads: the loop owns the struct. Jobs (daemon/jobs.h) read only what
 * start-up set and never changes (cfg, the stores' handles cs, meta,
 * snapshotters, gc, holds, jobs, self_fd, state_path) and use the
 * thread-safe holds and jobs; everything else is the loop's.
 */

#include <stdint.h>
#include <jansson.h>

#include "content/content.h"
#include "daemon/config.h"
#include "daemon/gc.h"
#include "daemon/jobs.h"
#include "daemon/server.h"
#include "metadata/metadata.h"
#include "remote/remote.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/timestamp.h"

struct subscriber;

struct events {
	struct subscriber *head;
};

struct holds;
struct jobs;
struct pull_call;
struct snapshotter;
struct task;
struct networks;
struct rev_proc;

#define DAEMON_SNAPSHOTTERS 3 /* room for every snapshot_backends[] entry */

struct daemon {
	struct logger log;
	struct daemon_config cfg;
	struct loop *loop;
	struct server *server;
	struct events events;
	struct meta meta;
	struct jobs *jobs;
	struct job_slots start_slots; /* container starts and execs setting up at once */
	struct holds *holds;
	struct content_store cs;   /* CONFIG_CONTENT_STORE */
	struct gc_env gc;          /* what garbage collection reads */
	struct remote remote;      /* CONFIG_PULL */
	struct pull_call *pulls;   /* pulls and pushes in progress */
	struct snapshotter *snapshotters[DAEMON_SNAPSHOTTERS]; /* by position in snapshot_backends */
	char *snapshotter_why[DAEMON_SNAPSHOTTERS]; /* why one is NULL: the store cannot hold it (btrfs) */
	struct task *tasks;        /* CONFIG_RUNTIME_DAEMON: every task known, running or stopped */
	struct networks *nets;     /* CONFIG_NET: networks, leases, NAT (its own lock: jobs use it) */
	struct gc_auto *gc_auto;   /* CONFIG_CONTENT_STORE: the [gc] policy's timer */
	struct sig_keyset *verify_keys; /* CONFIG_SIGNATURES: the keys of each cfg.verify rule */
	json_t *containers_busy;   /* "ns/id" -> what a job does to it ("created", "deleted") */
	json_t *revisions_busy;    /* "ns/id" of a revision a job stages or removes */
	struct rev_proc *revs;     /* CONFIG_REVISIONS: applies, tests, roll-backs in progress */
	int tasks_fd;              /* <state>/tasks */
	int self_fd;               /* the ember binary, for ember init; -1 */
	char *state_path;          /* the state directory, resolved */
	int images_up;             /* images_start() succeeded */
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
   ownership of payload. ns is the namespace the event concerns. Loop only. */
void events_publish(struct daemon *d, const char *ns, const char *topic, json_t *payload);
/* End every event stream (daemon shutdown). */
void events_shutdown(struct daemon *d);

/* The namespace a call names, or "default". */
const char *daemon_namespace(const char *ns);

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
