/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_TASKS_H
#define EMBER_DAEMON_TASKS_H

/*
 * Containers and their tasks: containers.c (records, created and deleted
 * as jobs), tasks.c (supervision), task-fsm.c (its state machine and the
 * restart policy: tables and pure functions), svc-containers.c and
 * svc-tasks.c (the API).
 *
 * A container is a record, meta/<ns>/containers/<id>.json: its OCI spec,
 * its image and active snapshot (key = the container's id) or a host
 * rootfs directory, labels and restart policy. A task is the running
 * container: `ember init` as its PID 1, a child of the daemon that cloned
 * it, or of whoever adopted it after the daemon went away. Its live state
 * is on tmpfs, <state>/tasks/<ns>/<id>/:
 *
 *   task.json   pid, start time (the pid's identity), status, exit status
 *   exit        written by `ember init` when the application ends
 *   execs.json  the execs that ended, with their statuses
 *   log.0 log.1 a detached task's output, rotated between the two
 *   rootfs/     where the rootfs is mounted, in the container's namespace
 *
 * A new daemon reads every task.json and re-adopts live tasks (pidfd_open
 * plus the start time, so a reused pid is not mistaken for the task), and
 * reports the exit of those that ended while it was away, from `exit`.
 *
 * Supervision is one state machine per task. Every event goes through
 * task_fsm_rule(): (state, event) -> (next state, action), and tasks.c
 * carries the action out; a pair the table lacks is refused. What may
 * wait — a start (clone and setup, up to 10 s), an exec, a freeze, a kill
 * of every process, the removal of a cgroup — runs as a job; meanwhile the
 * task is STARTING or busy (one such job at a time) and the loop goes on.
 */

#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "daemon/daemon.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/timestamp.h"

/* ---- the state machine (task-fsm.c, pure) ---- */

enum task_state { TASK_STOPPED, TASK_STARTING, TASK_RUNNING, TASK_PAUSED };

enum task_event {
	TEV_START,        /* a user, the boot, or a restart policy starts it */
	TEV_STARTED,      /* the start job: the application runs */
	TEV_START_FAILED, /* the start job: nothing runs */
	TEV_EXITED,       /* its PID 1 is gone */
	TEV_KILL,         /* a user's signal */
	TEV_EXEC,         /* a user's exec */
	TEV_PAUSE,        /* a user asks for a freeze ... */
	TEV_PAUSED,       /* ... done (the freeze job) */
	TEV_RESUME,
	TEV_RESUMED,
	TEV_DELETE,
	TEV_CHECKPOINT,   /* a user asks for a checkpoint ... */
	TEV_CHECKPOINTED, /* ... the dump job ended (the task may have exited: --exit) */
};

enum task_action {
	TA_NONE,         /* a late report: nothing to do */
	TA_LAUNCH,       /* start the start job */
	TA_RUN,          /* it runs: watch its pidfd, record it, a pending signal goes */
	TA_UNLAUNCH,     /* the start failed: clean up, tell the caller */
	TA_EXIT,         /* collect the exit, wake waiters, apply the restart policy */
	TA_SIGNAL,       /* send it (with every process: a job) */
	TA_PEND_SIGNAL,  /* send it once it runs */
	TA_HALT_RESTART, /* stopped: a stop cancels a pending restart (else refused) */
	TA_EXEC,         /* start an exec job */
	TA_FREEZE,       /* start a freeze job */
	TA_THAW,         /* start a thaw job */
	TA_NOTE,         /* record the new state, publish it */
	TA_REMOVE,       /* start the delete job */
	TA_DUMP,         /* start the checkpoint job */
	TA_DUMPED,       /* tell the caller, publish it */
};

struct task_rule {
	enum task_state from;
	enum task_event ev;
	enum task_state to;
	enum task_action act;
};

/* The rule for ev in state s; NULL: not allowed in that state. */
const struct task_rule *task_fsm_rule(enum task_state s, enum task_event ev);
const char *task_state_name(enum task_state s);

enum restart_policy { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS, RESTART_UNLESS_STOPPED };

struct restart {
	enum restart_policy policy;
	int max; /* on-failure:N, 0: no limit */
};

int restart_parse(const char *s, struct restart *out, struct ember_error *e);
/* "no", "on-failure:3", ... into buf. */
const char *restart_format(const struct restart *r, char buf[32]);

/* What the restart policy makes of an exit. */
struct task_restart_input {
	struct restart policy;
	int failed;        /* exit code other than 0, or a signal */
	int user_stopped;  /* a user stopped it: never restarted */
	unsigned restarts; /* restarts in a row before this exit */
	uint64_t ran_ms;   /* how long the run that ended lasted */
};
enum task_restart_verdict { TASK_RESTART_NO, TASK_RESTART_AFTER, TASK_RESTART_GIVE_UP };
/* *restarts: the count in a row from now on (a run of 10 s or more
   forgets earlier ones); *delay_ms: the back-off, from 100 ms doubling up
   to 60 s. */
enum task_restart_verdict task_restart_plan(const struct task_restart_input *in, unsigned *restarts,
					    uint64_t *delay_ms);

/* ---- tasks (tasks.c) ---- */

struct task_exit {
	int code;   /* exit code, or 128 + signal */
	int signal; /* 0: exited */
	int oom;    /* the cgroup saw an OOM kill */
	int known;  /* 0: the task died while nobody could see how */
	char at[TIMESTAMP_LEN];
};

struct task_waiter;
struct runtime_cgroup;
struct task;
struct task_op;

/* A process started in a running task (ember tasks exec). */
struct task_exec {
	struct task_exec *next;
	struct task *t;
	char id[80];
	pid_t pid;
	int pidfd;
	int running;
	struct task_exit exit;
	struct loop_source *watch;
	struct task_waiter *waiters;
};
#define TASK_EXECS_MAX 64

struct task {
	struct task *next;
	struct daemon *d;
	char ns[80], id[80];
	enum task_state state;
	pid_t pid;
	int pidfd;
	uint64_t start_time;
	int is_child; /* ours to reap */
	struct task_exit exit;
	char started_at[TIMESTAMP_LEN];
	struct loop_source *watch;
	struct task_waiter *waiters;
	struct runtime_cgroup *cg;
	struct task_op *ops;  /* the jobs at work on it; one at most is exclusive
				 (start, freeze, kill, delete), execs are not */
	int detached;         /* output goes to log.0 / log.1 */
	int pty_fd;           /* detached with a terminal: the master's number in its init, else -1 */
	int user_stopped;     /* a kill asked by a user: no restart */
	int sent_kill;        /* SIGKILL was sent to its init: how it ended if init could not say */
	int pending_signal;   /* asked while it was starting */
	/* restart policy */
	struct restart restart;
	unsigned restarts;       /* in a row, for the backoff */
	uint64_t started_ms;     /* loop time of the last start */
	struct loop_source *restart_timer;
	struct task_exec *execs;
};

#define TASK_LOG_MAX_DEFAULT ((int64_t)1 << 20)

/* Start-up: the state directory, the binary for `ember init`, re-adoption
   of the tasks a previous daemon left. */
int tasks_start(struct daemon *d, struct ember_error *e);
/* Then (once preloaded images are in) the containers whose restart policy
   starts them at boot, as jobs: start-up does not wait for them. */
void tasks_boot(struct daemon *d);
void tasks_stop(struct daemon *d);

struct task *task_find(struct daemon *d, const char *ns, const char *id);

/* What an operation that ran as a job reports, in the loop: for a start
   or an exec the pid and the terminal's master (-1: none; the callee's to
   close), or the error. t is NULL when the task is gone. */
typedef void (*task_done_fn)(struct daemon *d, struct task *t, pid_t pid, int pty, const struct ember_error *err,
			     void *userdata);

struct task_size {
	unsigned rows, cols; /* the client's terminal; 0: the spec's */
};

/*
 * Start the container's task: stdio are the application's 0 1 2 (taken;
 * -1 each: detached, output to the logs); want_pty: hand the terminal's
 * master to done (the spec asks for a terminal and a client is attached).
 * Refused at once (-errno) when it runs or starts already; else done
 * reports later.
 */
int task_start(struct daemon *d, const char *ns, const char *id, int stdio[3], int want_pty,
	       const struct task_size *size, task_done_fn done, void *userdata, struct ember_error *e);

/* Send sig to the task's PID 1: 0, sent (while it starts, the signal
   waits for it). With all, every process of its cgroup, as a job: 1, and
   done (may be NULL) reports. */
int task_kill(struct task *t, int sig, int all, task_done_fn done, void *userdata, struct ember_error *e);
/* A user's stop (the stop signal, SIGTERM, SIGINT, SIGKILL): restart
   policies leave it down, unless-stopped also across reboots. */
void task_stopped_by_user(struct task *t);
/* Freeze or thaw it (a job). */
int task_pause(struct task *t, int frozen, task_done_fn done, void *userdata, struct ember_error *e);
/*
 * Checkpoint the running task with CRIU into image_path (a job, see
 * runtime.h): a detached task without a terminal or a bridge network.
 * exit: CRIU kills it once dumped (a user's stop: no restart); else it
 * goes on running. A checkpoint that fails leaves it running; done gets
 * the one line why.
 */
struct task_checkpoint_options {
	const char *image_path; /* absolute */
	int exit, tcp_established, file_locks;
	/* An image of the checkpoint too (checkpoint_image_write()); with
	   remove, image_path goes once the image has it. */
	const char *image;
	int remove;
	/* Set by task_checkpoint, not its caller: the terminal's master's
	   number in the task's init (-1: no terminal). Init and the master
	   are dumped with the rest; ember.json keeps the number. */
	int pty_fd;
};
int task_checkpoint(struct task *t, const struct task_checkpoint_options *o, task_done_fn done, void *userdata,
		    struct ember_error *e);
/* Start the container's task from the checkpoint at image_path instead
   of its command (a job, as task_start(): done gets the pid). Detached.
   CRIU's log is image_path/restore.log, but for a container made from a
   checkpoint image restored from its default path: the CLI removes such
   a container, and those images, when the restore fails, so the log is
   written beside them, <root>/checkpoints/<ns>/<id>.restore.log, the
   path the error names. A successful restore moves it in with the images
   (it goes with the container); a failed one's stays until the next
   restore of that id replaces it or moves it in, or the user removes it. */
int task_restore(struct daemon *d, const char *ns, const char *id, const char *image_path, task_done_fn done,
		 void *userdata, struct ember_error *e);
/* The default image directory of a task: <root>/checkpoints/<ns>/<id>. */
int task_checkpoint_path(struct daemon *d, const char *ns, const char *id, char *buf, size_t size,
			 struct ember_error *e);

/* The jobs' work, in their threads (task-checkpoint.c, CONFIG_CHECKPOINT).
   dump: the task's PID 1 pid into o->image_path. restore: the container
   (spec, rootfs mounts or NULL for a host directory at rootfs) from
   image_path, its init's files from the new state directory state_dir,
   into cg; CRIU's log at log_path (NULL: image_path/restore.log), moved
   to image_path/restore.log when the restore succeeds. */
struct runtime_started;
#ifdef CONFIG_CHECKPOINT
int task_dump_run(struct daemon *d, const char *ns, const char *id, pid_t pid, int cgroup,
		  const struct task_checkpoint_options *o, struct ember_error *e);
int task_restore_run(struct daemon *d, int state_dir, json_t *spec, json_t *mounts, const char *rootfs,
		     const struct runtime_cgroup *cg, const char *image_path, const char *log_path,
		     const char *net_external, struct runtime_started *out, struct ember_error *e);
#else
static inline int task_dump_run(struct daemon *d, const char *ns, const char *id, pid_t pid, int cgroup,
				const struct task_checkpoint_options *o, struct ember_error *e)
{
	(void)d, (void)ns, (void)id, (void)pid, (void)cgroup, (void)o;
	return err_set(e, ENOTSUP, "checkpoint: not compiled in");
}
static inline int task_restore_run(struct daemon *d, int state_dir, json_t *spec, json_t *mounts, const char *rootfs,
				   const struct runtime_cgroup *cg, const char *image_path, const char *log_path,
				   const char *net_external, struct runtime_started *out, struct ember_error *e)
{
	(void)d, (void)state_dir, (void)spec, (void)mounts, (void)rootfs, (void)cg, (void)image_path, (void)log_path,
		(void)net_external, (void)out;
	return err_set(e, ENOTSUP, "restore: not compiled in");
}
#endif

/*
 * A checkpoint as an image (checkpoint-image.c; CONFIG_CHECKPOINT with
 * CONFIG_UNPACK), in containerd 1.6's layout, so that `ember push` and
 * `ember pull` move it. In job threads.
 *
 * check: whether the container rec can be written so (an image, an
 *   overlay snapshot), before anything is dumped.
 * write: the CRIU images below images_fd, the spec and the rw layer of
 *   container rec into the store, recorded as image ref.
 * load: the checkpoint image ref (an index with the CRIU images and the
 *   spec, of this device's architecture): *ck gets the spec and blobs.
 * unpack: into a new container rec, prepared from the checkpoint image:
 *   the rw layer into its snapshot, the CRIU images into images_path,
 *   which must not exist (its parent is made).
 */
struct checkpoint_blob {
	char digest[DIGEST_MAX]; /* "": none */
	int64_t size;
};
struct checkpoint_image {
	json_t *spec;
	struct checkpoint_blob criu, rw;
};
#if defined(CONFIG_CHECKPOINT) && defined(CONFIG_UNPACK)
int checkpoint_image_check(struct daemon *d, const char *ns, json_t *rec, struct ember_error *e);
int checkpoint_image_write(struct daemon *d, const char *ns, json_t *rec, int images_fd, const char *ref,
			   struct ember_error *e);
int checkpoint_image_load(struct daemon *d, const char *ns, const char *ref, struct checkpoint_image *ck,
			  struct ember_error *e);
int checkpoint_image_unpack(struct daemon *d, const char *ns, json_t *rec, const struct checkpoint_image *ck,
			    const char *images_path, struct ember_error *e);
void checkpoint_image_done(struct checkpoint_image *ck);
#else
static inline int checkpoint_image_unsupported(struct ember_error *e)
{
	return err_unsupported(e, "this ember is built without checkpoint images (CONFIG_CHECKPOINT, CONFIG_UNPACK)");
}
static inline int checkpoint_image_check(struct daemon *d, const char *ns, json_t *rec, struct ember_error *e)
{
	(void)d, (void)ns, (void)rec;
	return checkpoint_image_unsupported(e);
}
static inline int checkpoint_image_write(struct daemon *d, const char *ns, json_t *rec, int images_fd,
					 const char *ref, struct ember_error *e)
{
	(void)d, (void)ns, (void)rec, (void)images_fd, (void)ref;
	return checkpoint_image_unsupported(e);
}
static inline int checkpoint_image_load(struct daemon *d, const char *ns, const char *ref,
					struct checkpoint_image *ck, struct ember_error *e)
{
	(void)d, (void)ns, (void)ref, (void)ck;
	return checkpoint_image_unsupported(e);
}
static inline int checkpoint_image_unpack(struct daemon *d, const char *ns, json_t *rec,
					  const struct checkpoint_image *ck, const char *images_path,
					  struct ember_error *e)
{
	(void)d, (void)ns, (void)rec, (void)ck, (void)images_path;
	return checkpoint_image_unsupported(e);
}
static inline void checkpoint_image_done(struct checkpoint_image *ck)
{
	json_decref(ck->spec);
}
#endif

/* Remove a stopped task's state and cgroup (a job); done gets t NULL. */
int task_delete(struct task *t, task_done_fn done, void *userdata, struct ember_error *e);

json_t *task_json(const struct task *t);
/* Write task.json (a failure is logged). */
void task_save_or_log(struct task *t);
/* Wait for the exit: fn runs once, at once when stopped already. */
typedef void (*task_wait_fn)(struct task *t, void *userdata);
struct task_waiter *task_wait(struct task *t, task_wait_fn fn, void *userdata);
void task_wait_cancel(struct task *t, struct task_waiter *w);

/* Start process (an OCI process object: args, env, cwd, user,
   capabilities, terminal) in the running task t (a job), with stdio
   (taken) or a pty when process.terminal. user: names to resolve in the
   container's /etc (runtime_user_resolve()), or NULL. */
int task_exec_start(struct task *t, const char *exec_id, json_t *process, const char *user, int stdio[3],
		    task_done_fn done, void *userdata, struct ember_error *e);
struct task_exec *task_exec_find(struct task *t, const char *exec_id);
struct task_waiter *task_exec_wait(struct task_exec *x, task_wait_fn fn, void *userdata);
void task_exec_wait_cancel(struct task_exec *x, struct task_waiter *w);
json_t *task_exec_json(const struct task_exec *x);

/* ---- containers (containers.c) ---- */

/* The container's record, NotFound when there is none. */
int container_get(struct daemon *d, const char *ns, const char *id, json_t **out, struct ember_error *e);
/* Record in the container that a user stopped it (unless-stopped keeps
   it down across reboots), or started it again. */
int container_mark_stopped(struct daemon *d, const char *ns, const char *id, int stopped, struct ember_error *e);

#endif
