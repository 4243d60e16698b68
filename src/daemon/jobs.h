/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_JOBS_H
#define EMBER_DAEMON_JOBS_H

/*
 * Jobs: long work off the event loop (DESIGN.md §5: no call blocks the
 * loop). A job's run() executes in a thread of its own. It may read and
 * write the stores (content, records, snapshots: files, safe from any
 * thread) but never touches what the loop owns (API calls, tasks, event
 * subscribers, other services' lists): it talks to the loop by posting
 * messages, which reach ops->message() in the loop in the order posted,
 * and its end reaches ops->done() in the loop, once, after every message.
 *
 * Cancelling (the client went away, Jobs.Cancel, shutdown) sets a flag
 * that run() checks between bounded steps (job_cancelled()) and makes
 * job_cancel_fd() readable, for a run() that waits on a descriptor. A job
 * ends by returning from run(): it is never killed, so what it leaves is
 * what its own code leaves, and a crash of the daemon leaves what the
 * stores' crash rules allow (DESIGN.md §4).
 *
 * job_start() and the job_* calls may be made from any thread (an import
 * starts its unpacker from its own thread); jobs_deliver() and the
 * callbacks run in the loop.
 */

#include <pthread.h>
#include <stdint.h>
#include <jansson.h>

#include <ember/error.h>

#include "util/loop.h"

struct job;
struct jobs;

struct job_ops {
	/* In the job's thread: 0, or -errno with e filled. */
	int (*run)(struct job *j, struct ember_error *e);
	/* In the loop: a message run() posted (owned by the callee). NULL:
	   messages are dropped. */
	void (*message)(struct job *j, json_t *msg);
	/* In the loop, once, after the last message. j is freed when it
	   returns. NULL: nothing to do. */
	void (*done)(struct job *j, int result, const struct ember_error *e);
	/* Any thread, once, when the job is cancelled: wake a run() that
	   waits on something else than job_cancel_fd(). May be NULL. */
	void (*cancel)(struct job *j);
	/* Bytes of stack for run() (virtual: only what is touched counts);
	   0: 1 MiB. */
	size_t stack;
};

/* The daemon's jobs, delivered through one eventfd watched by loop. */
struct jobs *jobs_new(struct loop *loop, struct ember_error *e);
/*
 * Shutdown: cancel every job and wait up to wait_ms for their threads to
 * end, delivering what they leave (their done() runs). Returns how many
 * threads still run; then the stores they use must stay open (the
 * process exit ends them).
 */
unsigned jobs_stop(struct jobs *js, unsigned wait_ms);
void jobs_free(struct jobs *js);

/*
 * Start run() in a new thread. data is the caller's (job_data()); kind (a
 * static string: "import", "gc", ...), ns and what describe the job in
 * listings ("default", "docker.io/library/busybox:latest"). On failure
 * nothing runs and no callback is called.
 */
struct job *job_start(struct jobs *js, const struct job_ops *ops, void *data, const char *kind, const char *ns,
		      const char *what, struct ember_error *e);

void *job_data(const struct job *j);
uint64_t job_id(const struct job *j);
const char *job_ns(const struct job *j);

/* Any thread. Idempotent. */
void job_cancel(struct job *j);
int job_cancelled(const struct job *j);
/* Readable once the job is cancelled; for poll() in run(). */
int job_cancel_fd(const struct job *j);

/* From run(): a message for ops->message() (takes msg; NULL is ignored). */
void job_post(struct job *j, json_t *msg);
/* From run(): what Jobs.List shows as the job's progress, e.g.
   {"bytes": 1048576, "total": 4194304} (takes it). */
void job_progress(struct job *j, json_t *progress);

/*
 * Slots: at most n jobs of a kind do their heavy part at once (container
 * starts: each has a child setting up namespaces and mounts). The others
 * wait in their threads, asleep: on a small machine the loop and the
 * running ones keep the CPUs rather than 50 starts sharing them.
 */
struct job_slots {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	unsigned free;
};

void job_slots_init(struct job_slots *s, unsigned n);
void job_slots_done(struct job_slots *s);
/* From run(): wait for a slot; -ECANCELED (e filled) when the job is
   cancelled meanwhile. */
int job_slot_take(struct job_slots *s, struct job *j, struct ember_error *e);
void job_slot_give(struct job_slots *s);

/* The jobs of namespace ns (NULL: all), for Jobs.List: a new array. */
json_t *jobs_list(struct jobs *js, const char *ns);
/* A running job by id (NULL: none, or it has ended). Loop only. */
struct job *jobs_find(struct jobs *js, uint64_t id);
unsigned jobs_running(struct jobs *js);

/*
 * ---- jobs that answer an API call (jobs-call.c) ----
 *
 * The common shape of a service's job: the call waits for it, the client
 * going away cancels it, its progress goes to the client as "continues"
 * replies when the client asked for more, and its end is the call's reply.
 * run() posts with call_job_progress() and call_job_event(); reply()
 * builds the final reply's parameters in the loop (NULL: {}); free()
 * releases data, in the loop, last. The job runs on when the client is
 * gone only if ops->keep_going.
 */
struct api_call;
struct daemon;

struct call_job_ops {
	const char *kind;
	int (*run)(struct job *j, void *data, struct ember_error *e);
	json_t *(*reply)(struct daemon *d, void *data);
	/* In the loop once run() returned, before free (optional). */
	void (*done)(struct daemon *d, void *data, int result, const struct ember_error *e);
	void (*free)(void *data);
	int keep_going;
};

/* Start; on failure the call is answered with the error (data freed).
   call may be NULL: a job of the daemon's own (its failures are logged). */
struct job *call_job_start(struct daemon *d, struct api_call *call, const struct call_job_ops *ops, void *data,
			   const char *ns, const char *what);
/* From run(): a progress reply for the client (takes it). */
void call_job_progress(struct job *j, json_t *progress);
/* From run(): an event to publish (takes payload). */
void call_job_event(struct job *j, const char *ns, const char *topic, json_t *payload);
/* A call's parameter copied for its job's thread (NULL stays NULL); sets
   *failed when out of memory, so that one check covers several. */
char *call_job_strdup(const char *s, int *failed);

#endif
